// Processes of a macro benchmark: daemons started through the `lars` CLI (each in its own process,
// with a temporary INI config, ready when it sends its IPC {ready, listening} message), the C++
// tools of bench/native (JSON events, one per stdout line), and what /proc says about any of them.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../src/native/addon.js';

export type Impl = 'native' | 'ts';
export type DaemonRole = 'dns' | 'reporter' | 'agent';

export const cliPath = join(packageRoot, 'dist', 'src', 'cli', 'main.js');

/** Every child still running, killed if the benchmark exits early. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
/** Async clean-ups (drop a database, restore a sysctl, remove a directory) run on Ctrl-C before the exit. */
const interruptCleanups = new Set<() => Promise<unknown>>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const c of children) c.kill('SIGKILL');
    const pending = [...interruptCleanups].map((fn) => fn().catch((err: unknown) => process.stderr.write(`clean-up failed: ${String(err)}\n`)));
    // A clean-up that hangs must not keep the benchmark alive.
    void Promise.race([Promise.all(pending), sleep(20_000)]).then(() => process.exit(130));
  });
}

/** Runs `fn` if the benchmark is interrupted (after its children are killed); returns the unregister. */
export function onInterrupt(fn: () => Promise<unknown>): () => void {
  interruptCleanups.add(fn);
  return () => interruptCleanups.delete(fn);
}

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Environment for children: ours without LARS_* (which would override the benchmark's config). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LARS_')) env[k] = v;
  return { ...env, ...extra };
}

/** Keeps the last lines a process wrote to stderr, for error messages. */
class Tail {
  private lines: string[] = [];
  constructor(stream: NodeJS.ReadableStream | null, private readonly echo: boolean) {
    if (stream === null) return;
    createInterface({ input: stream }).on('line', (line) => {
      if (this.echo) process.stderr.write(`  | ${line}\n`);
      this.lines.push(line);
      if (this.lines.length > 40) this.lines.shift();
    });
  }
  text(): string {
    return this.lines.join('\n');
  }
}

const verbose = process.env.LARS_BENCH_VERBOSE === '1';

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within graceMs. */
export async function stopProcess(child: ChildProcess, graceMs = 6_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (!(await waitExit(child, graceMs))) {
    child.kill('SIGKILL');
    await waitExit(child, 2_000);
  }
}

export interface Daemon {
  readonly role: DaemonRole;
  readonly impl: Impl;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The lines it printed as ready ("... listening on 127.0.0.1:PORT ..."). */
  readonly listening: readonly string[];
  /** The TCP port from the first "listening on ip:port" line, if any. */
  readonly port: number | undefined;
  /** The /metrics endpoint's port, if it printed one. */
  readonly adminPort: number | undefined;
  stop(): Promise<void>;
  stderr(): string;
}

export interface DaemonOptions {
  readonly impl: Impl;
  /** "section.key" -> value, written into the temporary INI file. */
  readonly settings: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

function iniText(settings: Readonly<Record<string, string>>): string {
  const sections = new Map<string, string[]>();
  for (const [id, value] of Object.entries(settings)) {
    const dot = id.indexOf('.');
    const section = id.slice(0, dot);
    const lines = sections.get(section) ?? [];
    lines.push(`${id.slice(dot + 1)} = ${value}`);
    sections.set(section, lines);
  }
  return [...sections].map(([s, lines]) => `[${s}]\n${lines.join('\n')}\n`).join('\n');
}

/** `lars ROLE -c <temp.conf> --set lars.impl=IMPL` in its own process, resolved once it is ready. */
export async function startDaemon(role: DaemonRole, opts: DaemonOptions): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), `lars-bench-${role}-`));
  const file = join(dir, `${role}.conf`);
  writeFileSync(file, iniText({ 'log.level': 'warn', ...opts.settings }));
  const child = spawn(process.execPath, [cliPath, role, '-c', file, '--set', `lars.impl=${opts.impl}`], {
    cwd: packageRoot,
    env: cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  track(child);
  const tail = new Tail(child.stderr, verbose);
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const listening = await new Promise<string[]>((resolve, reject) => {
    const timeoutMs = opts.readyTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lars ${role} (${opts.impl}) was not ready within ${timeoutMs} ms:\n${tail.text()}`));
    }, timeoutMs);
    child.on('message', (m: unknown) => {
      const msg = m as { ready?: string; listening?: string[] };
      if (msg.ready === undefined) return;
      clearTimeout(timer);
      resolve(msg.listening ?? []);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      cleanup();
      // Let the last stderr lines (the reason) arrive before reporting.
      setTimeout(() => reject(new Error(`lars ${role} (${opts.impl}) exited (${signal ?? code}) before it was ready: ${tail.text()}`)), 200);
    });
  });
  const portOf = (re: RegExp): number | undefined => {
    for (const line of listening) {
      const m = re.exec(line);
      if (m) return Number(m[1]);
    }
    return undefined;
  };
  return {
    role,
    impl: opts.impl,
    pid: child.pid as number,
    child,
    listening,
    port: portOf(/listening on [\d.]+:(\d+)/),
    adminPort: portOf(/https?:\/\/[\d.]+:(\d+)\/metrics/),
    async stop() {
      await stopProcess(child);
      cleanup();
    },
    stderr: () => tail.text(),
  };
}

/** True when the CLI has the subcommand (e.g. `lars agent` while it is being written). */
export function cliHasCommand(name: string): boolean {
  try {
    execFileSync(process.execPath, [cliPath, name, '--help'], { stdio: 'ignore', env: cleanEnv(), timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

export type ToolEvent = Record<string, unknown> & { event?: string };

/** A C++ tool of bench/native: one JSON object per stdout line, commands on stdin. */
export class Tool {
  readonly events: ToolEvent[] = [];
  private waiters: (() => void)[] = [];
  private exited = false;
  private readonly tail: Tail;

  constructor(readonly name: string, readonly child: ChildProcess) {
    track(child);
    this.tail = new Tail(child.stderr, verbose);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as ToolEvent);
      } catch {
        if (verbose) process.stderr.write(`  ${name}| ${line}\n`);
      }
      this.wake();
    });
    child.once('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  /** Starts a tool, pinned to `cpuList` (taskset -c, which execs: same pid) when given. */
  static start(path: string, args: readonly string[], cpuList?: string): Tool {
    const [cmd, argv] = cpuList === undefined || !hasTaskset ? [path, args] : ['taskset', ['-c', cpuList, path, ...args]];
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv() });
    return new Tool(path.split('/').pop() ?? path, child);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** The next event named `name` after the first `skip` of them, waiting up to timeoutMs. */
  next(name: string, timeoutMs: number, skip = 0): Promise<ToolEvent> {
    const find = (): ToolEvent | undefined => this.events.filter((e) => e.event === name)[skip];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no "${name}" event within ${timeoutMs} ms\n${this.tail.text()}`)),
        timeoutMs,
      );
      const check = (): void => {
        const e = find();
        if (e !== undefined) {
          clearTimeout(timer);
          resolve(e);
        } else if (this.exited) {
          clearTimeout(timer);
          reject(new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before "${name}"\n${this.tail.text()}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Sends a command line and waits for the next event named `reply`. */
  async ask(command: string, reply: string, timeoutMs = 30_000): Promise<ToolEvent> {
    const skip = this.events.filter((e) => e.event === reply).length;
    this.child.stdin!.write(`${command}\n`);
    return this.next(reply, timeoutMs, skip);
  }

  async stop(): Promise<void> {
    this.child.stdin?.end();
    await stopProcess(this.child, 3_000);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

const clockTicks = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all its threads) in seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is stat field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** CPU use of a process over a window, in % of one core (above 100 with several busy threads). */
export class CpuMeter {
  private cpu0 = 0;
  private t0 = 0;
  constructor(readonly pid: number) {
    this.start();
  }
  start(): void {
    try {
      this.cpu0 = cpuSeconds(this.pid);
    } catch {
      this.cpu0 = Number.NaN;
    }
    this.t0 = performance.now();
  }
  /** NaN when the process is gone. */
  percent(): number {
    const wall = (performance.now() - this.t0) / 1000;
    let now: number;
    try {
      now = cpuSeconds(this.pid);
    } catch {
      return Number.NaN;
    }
    return wall > 0 ? Math.round((1000 * (now - this.cpu0)) / wall) / 10 : 0;
  }
}

/** Resident set size in KiB (VmRSS of /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

/** A TCP port free right now on 127.0.0.1. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      server.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

async function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive UDP ports free on 127.0.0.1 (the agent's base port). */
export async function freeUdpPorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await udpFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free UDP ports found`);
}

/** GET http://127.0.0.1:port/metrics, parsed into name -> value (labels are ignored: first wins). */
export async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  // A daemon under overload may answer late or drop the connection: retry a few times.
  let text = '';
  for (let attempt = 1; ; attempt++) {
    try {
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
      break;
    } catch (err) {
      if (attempt >= 4) throw err;
      await sleep(200);
    }
  }
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([A-Za-z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && !out.has(m[1] as string)) out.set(m[1] as string, Number(m[3]));
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const hasTaskset = ((): boolean => {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * CPU sets that give the server and the load generator a core each (server: CPU 0, client: the
 * rest), so "the server is at 100%" means it is the bottleneck. Undefined on a single core or
 * without taskset: nothing is pinned.
 */
export function cpuSplit(): { server: string; client: string } | undefined {
  const n = cpus().length;
  if (!hasTaskset || n < 2) return undefined;
  return { server: '0', client: n === 2 ? '1' : `1-${n - 1}` };
}

/** Pins every thread of a running process to `cpuList` (taskset -a -p); false if it could not. */
export function pin(pid: number, cpuList: string | undefined): boolean {
  if (cpuList === undefined) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
