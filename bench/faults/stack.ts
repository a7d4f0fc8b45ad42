// The system a fault scenario runs against: a fresh MariaDB database behind a TCP proxy the
// scenario can cut or slow down, one or two DNS services and a Report service (each `lars` in its
// own process, on fixed ports so that a restart comes back where the agent looks), an agent, the
// C++ load generator, and the readings a scenario needs (metrics, ServerCallStatus rows).
import { createConnection, type Connection } from 'mysql2/promise';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentApi, warmUp, type ModuleId } from '../lib/agent-stack.js';
import { tool } from '../lib/native-tools.js';
import { Tool, freeTcpPort, freeUdpPorts, onInterrupt, startDaemon, type Daemon, type DaemonRole, type Impl } from '../lib/process.js';
import { createBenchStore, writeRoutes, type BenchStore } from '../lib/store.js';
import { TcpProxy } from '../lib/tcp-proxy.js';
import { int32ToIp } from '../../src/wire/ipv4.js';

export interface StackOptions {
  readonly impl: Impl;
  readonly modules: number;
  readonly nodes: number;
  /** DNS services in the agent's [dnsserver] endpoints list, tried in order. */
  readonly dnsCount?: number;
  readonly reportIntervalMs: number;
  /** A directory of its own for [agent] cache_dir (removed at dispose); unset: the key is not written. */
  readonly agentCache?: boolean;
}

/** What the C++ load generator counted over its window. */
export interface LoadResult {
  readonly calls: number;
  readonly succ: number;
  readonly noexist: number;
  readonly overload: number;
  readonly other: number;
  readonly timeouts: number;
  readonly p99Us: number;
}

export function failedCalls(r: LoadResult): number {
  return r.noexist + r.overload + r.other + r.timeouts;
}

/** Sum of every series of a metric whose labels contain all of `labels`. */
export async function metric(adminPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Polls `probe` until it returns a value other than undefined; throws after timeoutMs. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined;
    try {
      v = await probe();
    } catch {
      v = undefined; // a daemon restarting does not answer yet
    }
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** SIGKILL (kill -9) or SIGTERM, and the exit: code (null after a signal) and how long it took. */
export async function signalAndWait(d: Daemon, signal: 'SIGKILL' | 'SIGTERM', timeoutMs = 20_000): Promise<{ code: number | null; signal: string | null; ms: number }> {
  const t0 = Date.now();
  const child = d.child;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = sleep(timeoutMs).then(() => 'timeout' as const);
    if ((await Promise.race([exited, timer])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`lars ${d.role} (${d.impl}) did not exit within ${timeoutMs} ms of ${signal}`);
    }
  }
  return { code: child.exitCode, signal: child.signalCode, ms: Date.now() - t0 };
}

/** Whether this build has the agent's route cache on disk (issue 10 parts 1-2). */
interface Role {
  readonly role: DaemonRole;
  readonly settings: Record<string, string>;
  readonly adminPort: number;
  daemon: Daemon | undefined;
}

export class FaultStack {
  readonly modules: readonly ModuleId[];
  /** Base UDP port of the agent. */
  agentBase = 0;
  api: AgentApi | undefined;
  cacheDir: string | undefined;
  private store: BenchStore | undefined;
  private proxyInstance: TcpProxy | undefined;
  private sql: Connection | undefined;
  private readonly dnsRoles: Role[] = [];
  private reporterRole: Role | undefined;
  private agentRole: Role | undefined;
  private loads = new Set<Tool>();

  private constructor(readonly opts: StackOptions) {
    this.modules = Array.from({ length: opts.modules }, (_, i) => ({ modid: 1, cmdid: i + 1 }));
  }

  /** Starts everything, warms the agent up (every module answers); disposes what started on failure. */
  static async start(opts: StackOptions): Promise<FaultStack> {
    const s = new FaultStack(opts);
    s.forgetInterrupt = onInterrupt(() => s.dispose());
    try {
      await s.boot();
      return s;
    } catch (err) {
      await s.dispose();
      throw err;
    }
  }

  private forgetInterrupt: () => void = () => undefined;

  get proxy(): TcpProxy {
    return this.proxyInstance as TcpProxy;
  }

  get dns(): readonly Role[] {
    return this.dnsRoles;
  }

  get reporter(): Role {
    return this.reporterRole as Role;
  }

  get agent(): Role {
    return this.agentRole as Role;
  }

  /** Keys (modid, cmdid, ip, port, caller) the load reports: one ServerCallStatus row each. */
  get expectedRows(): number {
    return this.opts.modules * this.opts.nodes;
  }

  private async boot(): Promise<void> {
    const { impl } = this.opts;
    this.store = await createBenchStore('mysql');
    await writeRoutes(this.store.store, this.modules, this.opts.nodes);
    const db = this.store.settings;
    this.sql = await createConnection({ host: db['mysql.db_host'], port: Number(db['mysql.db_port']), user: db['mysql.db_user'], password: db['mysql.db_passwd'], database: db['mysql.db_name'] });
    this.proxyInstance = new TcpProxy(db['mysql.db_host'] as string, Number(db['mysql.db_port']));
    const proxied = { ...db, 'mysql.db_host': '127.0.0.1', 'mysql.db_port': String(await this.proxy.start()) };

    const server = async (role: DaemonRole, extra: Record<string, string>): Promise<Role> => {
      const adminPort = await freeTcpPort();
      const r: Role = {
        role,
        adminPort,
        daemon: undefined,
        settings: { ...proxied, 'reactor.ip': '127.0.0.1', 'reactor.port': String(await freeTcpPort()), 'admin.port': String(adminPort), ...extra },
      };
      await this.restart(r);
      return r;
    };
    for (let i = 0; i < (this.opts.dnsCount ?? 1); i++) this.dnsRoles.push(await server('dns', { 'dns.poll_interval_ms': '100' }));
    this.reporterRole = await server('reporter', {});

    this.agentBase = await freeUdpPorts(3);
    const agentAdmin = await freeTcpPort();
    const agent: Record<string, string> = {
      'agent.ip': '127.0.0.1',
      'agent.port': String(this.agentBase),
      'agent.caller_ip': '127.0.0.1',
      'agent.report_interval_ms': String(this.opts.reportIntervalMs),
      'dnsserver.endpoints': this.dnsRoles.map((d) => `127.0.0.1:${d.settings['reactor.port']}`).join(', '),
      'reporter.ip': '127.0.0.1',
      'reporter.port': this.reporter.settings['reactor.port'] as string,
      'admin.port': String(agentAdmin),
    };
    if (this.opts.agentCache === true) {
      this.cacheDir = mkdtempSync(join(tmpdir(), 'lars-faults-cache-'));
      agent['agent.cache_dir'] = this.cacheDir;
    } else {
      // No cache unless asked for: the default dir is under the repo and would outlive the scenario.
      agent['agent.cache_dir'] = '';
    }
    this.agentRole = { role: 'agent', adminPort: agentAdmin, daemon: undefined, settings: agent };
    await this.restart(this.agentRole);
    this.api = new AgentApi(this.agentBase);
    await warmUp(this.api, this.modules);
  }

  /** Starts the role's daemon again with the same config (same ports). */
  async restart(r: Role): Promise<Daemon> {
    r.daemon = await startDaemon(r.role, { impl: this.opts.impl, settings: r.settings });
    return r.daemon;
  }

  /** The C++ load generator: get_host + report on every module, until stopLoad(). */
  startLoad(scale: { readonly loadThreads: number; readonly loadRate: number; readonly callTimeoutMs: number }): Tool {
    const { loadThreads: threads, loadRate: rate, callTimeoutMs } = scale;
    // Thread t calls module t % modules: whole rounds of modules, so every module has load.
    const n = this.modules.length;
    const load = Tool.start(tool('udp-client'), [
      '--port', String(this.agentBase), '--threads', String(Math.max(1, Math.ceil(threads / n)) * n), '--rate', String(rate),
      '--seconds', '0', '--warmup-ms', '0', '--timeout-ms', String(callTimeoutMs),
      '--modid', '1', '--cmdids', this.modules.map((m) => m.cmdid).join(','),
    ]);
    this.loads.add(load);
    return load;
  }

  async stopLoad(load: Tool): Promise<LoadResult> {
    await load.next('measure', 10_000);
    const r = await load.ask('stop', 'result', 30_000);
    this.loads.delete(load);
    await load.stop();
    return {
      calls: Number(r.calls), succ: Number(r.succ), noexist: Number(r.noexist), overload: Number(r.overload),
      other: Number(r.other), timeouts: Number(r.timeouts), p99Us: Number(r.p99_us),
    };
  }

  /** Route change through the one route-change transaction (the admin's path). */
  async addNode(m: ModuleId, ip: string, port: number): Promise<void> {
    await (this.store as BenchStore).store.applyRouteChange([{ op: 'add', modid: m.modid, cmdid: m.cmdid, ip, port }]);
  }

  /** Waits until the agent's get_route for `m` lists ip:port. */
  async routeHas(m: ModuleId, ip: string, port: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(`the agent to serve ${ip}:${port} in ${m.modid}/${m.cmdid}`, async () => {
      const r = await (this.api as AgentApi).getRoute(m, 300);
      return r?.host.some((h) => int32ToIp(h.ip) === ip && h.port === port) === true ? true : undefined;
    }, timeoutMs);
  }

  /** ServerCallStatus rows whose latest report is from unix second `sinceSec` or later. */
  async rowsSince(sinceSec: number): Promise<number> {
    const [rows] = await (this.sql as Connection).query('SELECT COUNT(*) AS n FROM ServerCallStatus WHERE ts >= ?', [sinceSec]);
    return Number((rows as { n: number }[])[0]?.n ?? 0);
  }

  /** ts of the latest stored report of module 1/1 (null before any). */
  async latestTs(): Promise<number | null> {
    const [rows] = await (this.sql as Connection).query('SELECT MAX(ts) AS t FROM ServerCallStatus WHERE modid = 1 AND cmdid = 1');
    const t = (rows as { t: number | null }[])[0]?.t;
    return t === null || t === undefined ? null : Number(t);
  }

  async warm(): Promise<void> {
    await warmUp(this.api as AgentApi, this.modules);
  }

  /** Stops everything it started, drops the database, removes its temp dirs; never throws. */
  async dispose(): Promise<void> {
    for (const l of this.loads) await l.stop().catch(() => undefined);
    this.api?.close();
    const roles = [this.agentRole, this.reporterRole, ...this.dnsRoles];
    for (const r of roles) await r?.daemon?.stop().catch(() => undefined);
    await this.proxyInstance?.stop().catch(() => undefined);
    await this.sql?.end().catch(() => undefined);
    await this.store?.dispose().catch(() => undefined);
    if (this.cacheDir !== undefined) rmSync(this.cacheDir, { recursive: true, force: true });
    this.forgetInterrupt();
  }
}

/** UDP datagrams the kernel dropped for full receive buffers, host-wide (/proc/net/snmp). */
export function udpRcvbufErrors(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const head = (lines[0] ?? '').split(/\s+/);
    const values = (lines[1] ?? '').split(/\s+/);
    return Number(values[head.indexOf('RcvbufErrors')] ?? 0);
  } catch {
    return 0;
  }
}
