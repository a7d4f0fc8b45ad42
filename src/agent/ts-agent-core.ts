// The pure-TypeScript agent core (LARS_IMPL=ts): the same behaviour as the native one, on
// node:dgram. Three sockets, one TS Balancer each; everything runs on the event loop, so the
// balancers have one owner by construction.
import { randomInt } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import {
  createBalancer,
  type Balancer,
  type ModuleId,
  type RouteHost,
  type RoutePolicy,
  type RouteReport,
} from '../balancer/index.js';
import { RetCode, type HostAddr, type NodeStats, type ZoneStatus } from '../balancer/route.js';
import { LarsError } from '../errors.js';
import { createLogger } from '../log.js';
import { AGENT_PORT_COUNT, agentPortIndex } from '../wire/agent-ports.js';
import { decodeDatagram, encodeFrame } from '../wire/frame.js';
import { MsgId, decodeBody, encodeBody, type GetHostResponse, type GetRouteRequest, type ReportBatchRequest, type ReportRequest, type GetHostRequest } from '../wire/messages.js';
import { portBalancerConfig, type AgentCore, type AgentCoreOptions, type AgentCoreStats, type AgentPortStats, type RegisterDatagram, type SeedRoute } from './agent-core.js';

const log = createLogger('agent');

/** SO_RCVBUF asked for each port (best effort), as the native core does. */
const RECEIVE_BUFFER_BYTES = 4 << 20;
/** Attempts at finding three consecutive free ports when the base port is 0. */
const BIND_ATTEMPTS = 64;

/** The balancer's clock: monotonic milliseconds. */
function nowMs(): number {
  return Math.floor(performance.now());
}

interface PortCounters {
  datagramsIn: number;
  datagramsOut: number;
  datagramsDropped: number;
  badBodies: number;
  unknownMsgIds: number;
  replyFailures: number;
  getRoutes: number;
}

interface Port {
  readonly socket: Socket;
  readonly balancer: Balancer;
  readonly counters: PortCounters;
}

function bindSocket(ip: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // reuseAddr stays off: a port someone else holds is an error, never a shared port.
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address: ip, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** One report, single or from a batch: without a host it names no node, ignored and counted like an unknown node. */
function applyReport(balancer: Balancer, req: ReportRequest, now: number): void {
  balancer.report(req.modid, req.cmdid, req.host?.ip ?? 0, req.host?.port ?? -1, req.retcode, now, req.usetimeUs);
}

function isAddressInUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
}

export class TsAgentCore implements AgentCore {
  readonly impl = 'ts' as const;
  private ports: Port[] = [];
  private pendingPulls: ModuleId[] = [];
  private pullsScheduled = false;
  private reportTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: AgentCoreOptions) {}

  async listen(seeds: readonly SeedRoute[] = []): Promise<readonly number[]> {
    const config = portBalancerConfig(this.opts);
    let sockets: Socket[];
    try {
      sockets = await this.bindPorts();
    } catch (err) {
      const base = this.opts.port;
      throw new LarsError(
        'ERR_CONFIG',
        `cannot bind the agent's UDP ports ${this.opts.ip}:${base}-${base + 2}: ${(err as Error).message}; ` +
          'choose another [agent] port (three consecutive UDP ports are needed) or stop what holds them',
        { cause: err },
      );
    }
    this.ports = sockets.map((socket) => ({
      socket,
      // A random seed per agent port: agents across a fleet must not draw in lock step.
      balancer: createBalancer('ts', config, config, randomInt(0, 2 ** 32)),
      counters: { datagramsIn: 0, datagramsOut: 0, datagramsDropped: 0, badBodies: 0, unknownMsgIds: 0, replyFailures: 0, getRoutes: 0 },
    }));
    // Before any 'message' listener exists: the cached routes are in place for the first datagram.
    const now = nowMs();
    for (const r of seeds) this.ports[agentPortIndex(r.modid, r.cmdid)]?.balancer.seedRoute(r.modid, r.cmdid, r.hosts, now, r.policy);
    for (const p of this.ports) {
      try {
        p.socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
      } catch {
        // best effort, capped by net.core.rmem_max
      }
      p.socket.on('message', (msg, rinfo) => this.onDatagram(p, msg, rinfo));
      p.socket.on('error', (err) => log.limited('warn', 'agent-socket', `agent UDP socket error: ${err.message}`));
    }
    // Half an interval of slack, as in the native core: a tick that fires a little early does not
    // push a route's report to the tick after.
    this.reportTimer = setInterval(() => this.collectReports(this.opts.reportIntervalMs / 2), this.opts.reportIntervalMs);
    return this.ports.map((p) => p.socket.address().port);
  }

  applyRoute(modid: number, cmdid: number, hosts: readonly RouteHost[], policy?: RoutePolicy): void {
    if (this.closed) return;
    this.ports[agentPortIndex(modid, cmdid)]?.balancer.applyRoute(modid, cmdid, hosts, nowMs(), policy);
  }

  onDnsReconnected(): void {
    if (this.closed) return;
    for (const p of this.ports) this.queuePulls(p.balancer.onDnsReconnected());
  }

  nodeStats(limit: number): NodeStats[] {
    let left = limit;
    return this.ports.map((p) => {
      const s = p.balancer.nodeStats(left);
      left -= s.zones.length;
      return s;
    });
  }

  zoneStatus(limit: number): ZoneStatus[][] {
    let left = limit;
    return this.ports.map((p) => {
      const s = p.balancer.zoneStatus(left);
      left -= s.length;
      return s;
    });
  }

  stats(): AgentCoreStats {
    return {
      ports: this.ports.map((p): AgentPortStats => {
        const b = p.balancer.counters();
        return {
          port: p.socket.address().port,
          ...p.counters,
          getHostSucc: b.picksSucc,
          getHostOverload: b.picksOverload,
          getHostNoExist: b.picksNoexist,
          probes: b.probes,
          reports: b.reports,
          reportsIgnored: b.reportsIgnored,
          toOverload: b.toOverload,
          toIdle: b.toIdle,
          pulls: b.pulls,
          routeUpdates: b.routeUpdates,
          routeUpdatesIgnored: b.routeUpdatesIgnored,
          newPullsCapped: b.newPullsCapped,
          emptyRoutesEvicted: b.emptyRoutesEvicted,
          panicPicks: b.panicPicks,
          ejectionsCapped: b.ejectionsCapped,
          unknownPolicies: b.unknownPolicies,
          zonePicksLocal: b.zonePicksLocal,
          zonePicksOther: b.zonePicksOther,
          routes: b.routes,
          emptyRoutes: b.emptyRoutes,
          idleNodes: b.idleNodes,
          overloadedNodes: b.overloadedNodes,
        };
      }),
      pullsQueueDropped: 0,
      reportsQueueDropped: 0,
      registersQueueDropped: 0,
    };
  }

  reply(to: RegisterDatagram, msgid: number, body: Uint8Array): void {
    const p = this.ports[to.port];
    if (this.closed || p === undefined) return;
    this.sendFrom(p, encodeFrame(msgid, body), { address: to.ip, port: to.peerPort });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.reportTimer);
    await Promise.all(this.ports.map((p) => new Promise<void>((resolve) => p.socket.close(() => resolve()))));
    this.collectReports(0);
  }

  private async bindPorts(): Promise<Socket[]> {
    for (let attempt = 0; ; attempt++) {
      const bound: Socket[] = [];
      try {
        bound.push(await bindSocket(this.opts.ip, this.opts.port));
        const base = bound[0]!.address().port;
        if (base + AGENT_PORT_COUNT - 1 > 65535) throw Object.assign(new Error('no room above port'), { code: 'EADDRINUSE' });
        for (let i = 1; i < AGENT_PORT_COUNT; i++) bound.push(await bindSocket(this.opts.ip, base + i));
        return bound;
      } catch (err) {
        for (const s of bound) s.close();
        if (this.opts.port === 0 && isAddressInUse(err) && attempt < BIND_ATTEMPTS) continue;
        throw err;
      }
    }
  }

  private onDatagram(p: Port, msg: Buffer, rinfo: RemoteInfo): void {
    const c = p.counters;
    c.datagramsIn++;
    const d = decodeDatagram(msg);
    if (!d.ok) {
      c.datagramsDropped++;
      return;
    }
    const { msgid, body } = d.frame;
    switch (msgid) {
      case MsgId.GetHostRequest: {
        const req = this.decode<GetHostRequest>(p, MsgId.GetHostRequest, body);
        if (req === undefined) return;
        const r = p.balancer.pick(req.modid, req.cmdid, nowMs(), req.hashKey);
        const rsp: GetHostResponse = { seq: req.seq, modid: req.modid, cmdid: req.cmdid, retcode: r.retcode };
        if (r.retcode === RetCode.SUCC) rsp.host = { ip: r.ip, port: r.port };
        this.sendFrom(p, encodeFrame(MsgId.GetHostResponse, encodeBody(MsgId.GetHostResponse, rsp)), rinfo);
        if (r.pull) this.queuePulls(p.balancer.takePullRequests());
        return;
      }
      case MsgId.ReportRequest: {
        const req = this.decode<ReportRequest>(p, MsgId.ReportRequest, body);
        if (req !== undefined) applyReport(p.balancer, req, nowMs());
        return;
      }
      case MsgId.ReportBatchRequest: {
        // Decoded whole before any is applied: a malformed batch changes nothing.
        const batch = this.decode<ReportBatchRequest>(p, MsgId.ReportBatchRequest, body);
        if (batch === undefined) return;
        const now = nowMs();
        for (const req of batch.report) applyReport(p.balancer, req, now);
        return;
      }
      case MsgId.ApiGetRouteRequest: {
        const req = this.decode<GetRouteRequest>(p, MsgId.ApiGetRouteRequest, body);
        if (req === undefined) return;
        const r = p.balancer.getRoute(req.modid, req.cmdid, nowMs());
        c.getRoutes++;
        let frame: Buffer;
        try {
          frame = encodeFrame(MsgId.ApiGetRouteResponse, encodeBody(MsgId.ApiGetRouteResponse, { modid: req.modid, cmdid: req.cmdid, host: r.hosts }));
        } catch {
          // Too large for one datagram (the store refuses such routes): no reply, as the native core.
          c.replyFailures++;
          c.datagramsDropped++;
          frame = Buffer.alloc(0);
        }
        if (frame.length > 0) this.sendFrom(p, frame, rinfo);
        if (r.pull) this.queuePulls(p.balancer.takePullRequests());
        return;
      }
      case MsgId.RegisterRequest:
        // Handed over like the native core does: the control plane keeps registrations.
        this.opts.onRegisters([{ port: this.ports.indexOf(p), ip: rinfo.address, peerPort: rinfo.port, body: Buffer.from(body) }]);
        return;
      default:
        c.unknownMsgIds++;
    }
  }

  private decode<T>(p: Port, msgid: number, body: Buffer): T | undefined {
    try {
      return decodeBody(msgid, body) as T;
    } catch {
      p.counters.badBodies++;
      return undefined;
    }
  }

  private sendFrom(p: Port, frame: Buffer, rinfo: Pick<RemoteInfo, 'address' | 'port'>): void {
    p.socket.send(frame, rinfo.port, rinfo.address, (err) => {
      if (err) {
        p.counters.replyFailures++;
        p.counters.datagramsDropped++;
      } else {
        p.counters.datagramsOut++;
      }
    });
  }

  /** Pulls go out in one batch per turn of the event loop, as the native core's queue does. */
  private queuePulls(modules: ModuleId[]): void {
    if (modules.length === 0) return;
    this.pendingPulls.push(...modules);
    if (this.pullsScheduled) return;
    this.pullsScheduled = true;
    setImmediate(() => {
      this.pullsScheduled = false;
      const batch = this.pendingPulls;
      this.pendingPulls = [];
      if (this.closed || batch.length === 0) return;
      this.opts.onPulls(batch);
    });
  }

  /** Reports of routes whose last report is `minAgeMs` old or more (0 at close: every route with activity). */
  private collectReports(minAgeMs: number): void {
    const now = nowMs();
    const batch: RouteReport[] = [];
    for (const p of this.ports) batch.push(...p.balancer.collectReports(now, minAgeMs));
    if (batch.length > 0) this.opts.onReports(batch);
  }
}
