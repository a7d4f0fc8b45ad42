// Runs the Python or Java client's driver (test/clients/driver.py, LarsDriver.java) as a child
// process: one command line in, one JSON line out, in order. Used by the client tests and by
// `npm run bench -- clients` (hence here, beside the other bench helpers).
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export type ClientLang = 'python' | 'java';
export const CLIENT_LANGS: readonly ClientLang[] = ['python', 'java'];

/** The repository root, whether this file runs from bench/lib (vitest) or dist/bench/lib (bench). */
function repoRoot(): string {
  const here = new URL('.', import.meta.url).pathname;
  return join(here, here.includes('/dist/') ? '../../..' : '../..');
}

/** Every .java file under dir, sorted. */
function javaSources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.java'))
    .map((f) => join(dir, f))
    .sort();
}

/**
 * Builds the Java client with its script, and the driver beside it, into
 * build/clients/java-driver/<hash of the sources>; returns the classpath. Test files run in
 * parallel workers: each builds aside and renames into place, the first rename wins.
 */
export function buildJavaClient(): string {
  const root = repoRoot();
  const driverSource = join(root, 'test', 'clients', 'LarsDriver.java');
  const sources = [...javaSources(join(root, 'clients', 'java', 'src')), driverSource];
  const hash = createHash('sha256');
  for (const f of sources) hash.update(f).update(readFileSync(f));
  const parent = join(root, 'build', 'clients', 'java-driver');
  const dir = join(parent, hash.digest('hex').slice(0, 16));
  const classpath = [join(dir, 'lars-client.jar'), join(dir, 'driver')].join(':');
  if (existsSync(dir)) return classpath;
  mkdirSync(parent, { recursive: true });
  const work = mkdtempSync(join(parent, '.build-'));
  try {
    execFileSync(join(root, 'clients', 'java', 'build.sh'), [work], { stdio: 'pipe' });
    execFileSync('javac', ['-cp', join(work, 'lars-client.jar'), '-d', join(work, 'driver'), driverSource], { stdio: 'pipe' });
    renameSync(work, dir);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(dir)) throw err; // else another worker built the same sources first
  }
  return classpath;
}

export interface DriverOptions {
  /** The agent's first UDP port. */
  readonly port: number;
  readonly timeoutMs: number;
  /** The agent's route cache directory; undefined: no cache fallback. */
  readonly cacheDir?: string;
}

// Driver output is JSON whose shape depends on the command: the tests check it field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DriverReply = Record<string, any>;

export class ClientDriver {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  #waiting: ((line: string | undefined) => void) | undefined;
  #ended = false;
  #stderr = '';

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    child.stderr.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      if (this.#waiting) {
        const w = this.#waiting;
        this.#waiting = undefined;
        w(line);
      } else this.#lines.push(line);
    });
    rl.on('close', () => {
      this.#ended = true;
      this.#waiting?.(undefined);
    });
  }

  static async start(lang: ClientLang, o: DriverOptions): Promise<ClientDriver> {
    const args = [String(o.port), String(o.timeoutMs), o.cacheDir ?? '-'];
    const root = repoRoot();
    let child: ChildProcessWithoutNullStreams;
    if (lang === 'python') {
      child = spawn('python3', [join(root, 'test', 'clients', 'driver.py'), ...args], {
        env: { ...process.env, PYTHONPATH: join(root, 'clients', 'python'), PYTHONDONTWRITEBYTECODE: '1' },
      });
    } else {
      child = spawn('java', ['-cp', buildJavaClient(), 'lars.client.LarsDriver', ...args]);
    }
    const d = new ClientDriver(child);
    const ready = await d.#next();
    if (ready.ready !== true) throw new Error(`the ${lang} driver did not start: ${JSON.stringify(ready)}`);
    return d;
  }

  #next(): Promise<DriverReply> {
    const parse = (line: string | undefined): DriverReply => {
      if (line === undefined) throw new Error(`the driver exited: ${this.#stderr}`);
      return JSON.parse(line) as DriverReply;
    };
    const line = this.#lines.shift();
    if (line !== undefined || this.#ended) return Promise.resolve().then(() => parse(line));
    return new Promise((resolve, reject) => {
      this.#waiting = (l) => {
        try {
          resolve(parse(l));
        } catch (err) {
          reject(err);
        }
      };
    });
  }

  /** Sends one command (words separated by spaces) and resolves to its JSON answer. */
  cmd(...words: (string | number)[]): Promise<DriverReply> {
    this.#child.stdin.write(`${words.join(' ')}\n`);
    return this.#next();
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin.end();
    await exited;
  }
}
