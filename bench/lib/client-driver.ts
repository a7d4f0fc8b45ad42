// Runs the Python or Java client's driver (test/clients/driver.py, LarsDriver.java) as a child
// process: one command line in, one JSON line out, in order. Used by the client tests and by
// `npm run bench -- clients` (hence here, beside the other bench helpers).
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export type ClientLang = 'python' | 'java';
export const CLIENT_LANGS: readonly ClientLang[] = ['python', 'java'];

/** The repository root, whether this file runs from bench/lib (vitest) or dist/bench/lib (bench). */
function repoRoot(): string {
  const here = new URL('.', import.meta.url).pathname;
  return join(here, here.includes('/dist/') ? '../../..' : '../..');
}

const JAVA_BUILD = (): string => join(repoRoot(), 'build', 'clients', 'java');
let javaBuilt = false;

/** Builds the Java client with its script and the driver beside it (once per process). */
export function buildJavaClient(): void {
  if (javaBuilt) return;
  const root = repoRoot();
  execFileSync(join(root, 'clients', 'java', 'build.sh'), [JAVA_BUILD()], { stdio: 'pipe' });
  execFileSync('javac', ['-cp', join(JAVA_BUILD(), 'lars-client.jar'), '-d', join(JAVA_BUILD(), 'driver'), join(root, 'test', 'clients', 'LarsDriver.java')], { stdio: 'pipe' });
  javaBuilt = true;
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
      buildJavaClient();
      const cp = [join(JAVA_BUILD(), 'lars-client.jar'), join(JAVA_BUILD(), 'driver')].join(':');
      child = spawn('java', ['-cp', cp, 'lars.client.LarsDriver', ...args]);
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
