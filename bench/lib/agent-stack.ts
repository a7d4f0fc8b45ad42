// What an agent benchmark needs around the agent: a store holding the routes, a DNS service and
// a Report service (each `lars` in its own process), the agent itself, and a small UDP client of
// the agent's API for warm-up and for watching routes change (the load itself comes from
// bench/native/udp-client).
import { createSocket, type Socket } from 'node:dgram';
import { HEADER_SIZE, encodeFrame } from '../../src/wire/frame.js';
import { MsgId, RetCode, decodeBody, encodeBody, type GetHostResponse, type GetRouteResponse } from '../../src/wire/messages.js';
import { cliHasCommand, freeTcpPort, freeUdpPorts, startDaemon, sleep, type Daemon, type Impl } from './process.js';
import { createBenchStore, writeRoutes, type BenchStore } from './store.js';

export interface ModuleId {
  readonly modid: number;
  readonly cmdid: number;
}

export interface Services {
  readonly store: BenchStore;
  readonly dns: Daemon;
  readonly reporter: Daemon | undefined;
  dispose(): Promise<void>;
}

export interface ServicesOptions {
  readonly modules: readonly ModuleId[];
  readonly nodes: number;
  /** Implementation of the DNS and Report services (not what is measured). */
  readonly impl: Impl;
  /** [dns] poll_interval_ms (default 1000). */
  readonly pollMs?: number;
  readonly reporter?: boolean;
}

/** A SQLite store with the routes, a DNS service on it and (optionally) a Report service. */
export async function startServices(opts: ServicesOptions): Promise<Services> {
  const store = await createBenchStore('sqlite');
  const started: Daemon[] = [];
  try {
    await writeRoutes(store.store, opts.modules, opts.nodes);
    const dns = await startDaemon('dns', {
      impl: opts.impl,
      settings: {
        ...store.settings,
        'reactor.ip': '127.0.0.1',
        'reactor.port': '0',
        'admin.port': String(await freeTcpPort()),
        'dns.poll_interval_ms': String(opts.pollMs ?? 1000),
      },
    });
    started.push(dns);
    let reporter: Daemon | undefined;
    if (opts.reporter !== false) {
      reporter = await startDaemon('reporter', {
        impl: opts.impl,
        settings: { ...store.settings, 'reactor.ip': '127.0.0.1', 'reactor.port': '0', 'admin.port': String(await freeTcpPort()) },
      });
      started.push(reporter);
    }
    return {
      store,
      dns,
      reporter,
      async dispose() {
        for (const d of started.reverse()) await d.stop();
        await store.dispose();
      },
    };
  } catch (err) {
    for (const d of started.reverse()) await d.stop();
    await store.dispose();
    throw err;
  }
}

let agentAvailable: boolean | undefined;

/** Whether `lars agent` exists yet (it is being written beside this suite). */
export function agentCommandAvailable(): boolean {
  agentAvailable ??= cliHasCommand('agent');
  return agentAvailable;
}

export interface RunningAgent {
  readonly daemon: Daemon;
  /** First of its three UDP ports. */
  readonly base: number;
}

export async function startAgent(impl: Impl, services: Services, extra: Record<string, string> = {}): Promise<RunningAgent> {
  const base = await freeUdpPorts(3);
  const settings: Record<string, string> = {
    'agent.ip': '127.0.0.1',
    'agent.port': String(base),
    'agent.caller_ip': '127.0.0.1',
    'dnsserver.ip': '127.0.0.1',
    'dnsserver.port': String(services.dns.port),
    'admin.port': String(await freeTcpPort()),
    // No route cache: a run must not start from the routes of the previous one (cwd is the repo).
    'agent.cache_dir': '',
    ...extra,
  };
  if (services.reporter !== undefined) {
    settings['reporter.ip'] = '127.0.0.1';
    settings['reporter.port'] = String(services.reporter.port);
  }
  return { daemon: await startDaemon('agent', { impl, settings }), base };
}

/** The agent's API over UDP (one socket): get_host and get_route with a timeout. */
export class AgentApi {
  private readonly socket: Socket;
  private seq = 0;
  private readonly waiters = new Set<(msgid: number, body: Buffer) => boolean>();

  constructor(readonly base: number) {
    this.socket = createSocket('udp4');
    this.socket.on('message', (msg: Buffer) => {
      if (msg.length < HEADER_SIZE) return;
      const msgid = msg.readInt32LE(0);
      const body = msg.subarray(HEADER_SIZE);
      for (const w of this.waiters) if (w(msgid, body)) this.waiters.delete(w);
    });
  }

  portOf(m: ModuleId): number {
    return this.base + ((m.modid + m.cmdid) % 3);
  }

  private request<T>(port: number, frame: Buffer, match: (msgid: number, body: Buffer) => T | undefined, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const waiter = (msgid: number, body: Buffer): boolean => {
        const v = match(msgid, body);
        if (v === undefined) return false;
        clearTimeout(timer);
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.add(waiter);
      this.socket.send(frame, port, '127.0.0.1');
    });
  }

  getHost(m: ModuleId, timeoutMs = 500): Promise<GetHostResponse | undefined> {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const frame = encodeFrame(MsgId.GetHostRequest, encodeBody(MsgId.GetHostRequest, { seq, modid: m.modid, cmdid: m.cmdid }));
    return this.request(
      this.portOf(m),
      frame,
      (msgid, body) => {
        if (msgid !== MsgId.GetHostResponse) return undefined;
        const r = decodeBody(MsgId.GetHostResponse, body);
        return r.seq === seq ? r : undefined;
      },
      timeoutMs,
    );
  }

  getRoute(m: ModuleId, timeoutMs = 500): Promise<GetRouteResponse | undefined> {
    const frame = encodeFrame(MsgId.ApiGetRouteRequest, encodeBody(MsgId.ApiGetRouteRequest, { modid: m.modid, cmdid: m.cmdid }));
    return this.request(
      this.portOf(m),
      frame,
      (msgid, body) => {
        if (msgid !== MsgId.ApiGetRouteResponse) return undefined;
        const r = decodeBody(MsgId.ApiGetRouteResponse, body);
        return r.modid === m.modid && r.cmdid === m.cmdid ? r : undefined;
      },
      timeoutMs,
    );
  }

  close(): void {
    this.socket.close();
  }
}

/** Asks for every module until each answers with a node (the first ask starts the pull from DNS). */
export async function warmUp(api: AgentApi, modules: readonly ModuleId[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const m of modules) {
    for (;;) {
      const r = await api.getHost(m);
      if (r?.retcode === RetCode.Succ) break;
      if (Date.now() > deadline) {
        throw new Error(`agent on ${api.base}: module ${m.modid}/${m.cmdid} still answers ${r === undefined ? 'nothing' : `retcode ${r.retcode}`} after ${timeoutMs} ms`);
      }
      await sleep(20);
    }
  }
}
