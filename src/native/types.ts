// The shape of the C++ addon's exports (native/binding). Each binding module adds its part here.

import type { BalancerConfig, NativeBalancerObject, NodeStats, RoutePolicy } from '../balancer/index.js';
import type { LarsErrorCode } from '../errors.js';
import type { DatagramResult, FrameBatch } from '../wire/frame.js';
import type { WireMessage } from '../wire/messages.js';

/** native/binding/balancer_binding.cc: the C++ balancer. Construct it through createBalancer('native',
 * config), which validates the config first and packs route updates for it. */
export interface NativeBalancerModule {
  readonly Balancer: new (config: BalancerConfig) => NativeBalancerObject;
}

/** native/binding/wire_binding.cc: the C++ wire codec (native/wire), for tests and tools; the hot
 * path calls it from C++. Callers normally go through nativeCodec() in src/wire/codec.ts. */
export interface NativeWire {
  /** Header + canonical body. LarsError ERR_INVALID_INPUT for a badly typed or oversized message. */
  encodeFrame(msgid: number, message: object): Buffer;
  /** null for an unknown msgid or a malformed body. */
  decodeBody(msgid: number, body: Uint8Array): WireMessage | null;
  decodeDatagram(datagram: Uint8Array): DatagramResult;
  /** Frame bodies it returns are copies. */
  readonly FrameDecoder: new () => { push(chunk: Uint8Array): FrameBatch; readonly buffered: number };
  readonly headerSize: number;
  readonly maxFrameSize: number;
}

/** Listener options of the native TCP servers; validated by src/config before they get here. */
export interface NativeListenOptions {
  readonly ip: string;
  readonly port: number;
  readonly ioThreads: number;
  readonly maxConnections: number;
  readonly outputCap: number;
}

/** The reactor's counters (native/reactor/Counters.h) plus each server's own. */
export interface NativeReactorCounters {
  readonly connections_accepted: number;
  readonly connections_closed: number;
  readonly connections_rejected_maxconn: number;
  readonly connections_rejected_fd: number;
  readonly frames_in: number;
  readonly frames_out: number;
  readonly bytes_in: number;
  readonly bytes_out: number;
  readonly protocol_errors: number;
  readonly output_overflow_closes: number;
  readonly input_overflow_closes: number;
  readonly connections: number;
  readonly badBodies: number;
  readonly unknownMsgIds: number;
}

/** native/binding/server_binding.cc: the DNS and Report services' network sides on the reactor. */
export interface NativeServers {
  /** Serves GetRouteRequest and subscriptions in C++ on its own threads. close() stops them.
   * LarsError ERR_LISTEN when it cannot start (address in use, no thread or descriptor left). */
  readonly DnsServer: new (options: NativeListenOptions, maxSubscriptionsPerConn: number) => {
    port(): number;
    /** The whole table, as RouteIndex.toNativeTable() serialises it. */
    setTable(table: Buffer): void;
    /** modid, cmdid pairs of the modules to push. */
    push(modules: Uint32Array): void;
    /** LeaseRequest bodies received since the last call (bounded queue; past it frames are dropped and counted). */
    takeLeases(): Buffer[];
    stats(): NativeReactorCounters & {
      readonly leaseFrames: number;
      readonly leaseFramesDropped: number;
      readonly subscriptions: number;
      readonly subscriptionsRefused: number;
      readonly replies: number;
      readonly pushes: number;
    };
    close(): void;
  };
  /** Decodes ReportStatusRequest on its own threads into a buffer coalesced by key and bounded
   * by maxKeys; take() and restore() move rows as 13 numbers each (modid, cmdid, ip, port, caller,
   * succ, err, ts, overload, usetime sum low and high halves, usetime max, timed calls; ip and caller as uint32). */
  readonly ReportServer: new (
    options: NativeListenOptions,
    maxKeys: number,
  ) => {
    port(): number;
    take(max: number): Uint32Array;
    restore(rows: Uint32Array): void;
    /** Keys waiting to be written (a cheap read, unlike stats()). */
    buffered(): number;
    stats(): NativeReactorCounters & { readonly badRows: number; readonly buffered: number; readonly accepted: number; readonly dropped: number };
    /** Closes the listener and every connection; the buffer (take, restore, buffered) and stats() stay. */
    stopServing(): void;
    /** Frees the server and its buffer. */
    close(): void;
  };
}

/** Options of the native agent; validated by src/config and checkBalancerConfig before they get here. */
export interface NativeAgentOptions {
  readonly ip: string;
  /** First of three consecutive UDP ports; 0 picks any free three. */
  readonly port: number;
  readonly reportIntervalMs: number;
  /** The [loadbalance] parameters and the route table's limits, checked by checkBalancerConfig. */
  readonly loadbalance: BalancerConfig;
  /** Routes from the disk cache (hosts packed by packHosts), held before the ports read a datagram. */
  readonly seeds?: readonly { modid: number; cmdid: number; flat: Int32Array; zones: string[]; policy?: RoutePolicy }[];
  /** [agent] view_dir (resolved): each port writes <viewDir>/lars-agent-<port>.view; '' = none. */
  readonly viewDir?: string;
}

/** One agent port's counters: events are monotonic, routes and nodes are gauges. The TS agent core
 * (src/agent/ts-agent-core.ts) fills in the same shape. */
export interface AgentPortStats {
  readonly port: number;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  /** Datagrams that were not exactly one valid frame (or truncated), and replies the kernel refused. */
  readonly datagramsDropped: number;
  /** Valid frames whose body did not parse: dropped. */
  readonly badBodies: number;
  /** Valid frames of a msgid the agent does not serve: dropped. */
  readonly unknownMsgIds: number;
  /** Replies that could not be sent (also counted in datagramsDropped). */
  readonly replyFailures: number;
  readonly getHostSucc: number;
  readonly getHostOverload: number;
  readonly getHostNoExist: number;
  /** Picks answered from the overload list (also in getHostSucc). */
  readonly probes: number;
  readonly reports: number;
  /** Reports for a route or node the balancer does not hold (or without a host): dropped. */
  readonly reportsIgnored: number;
  readonly getRoutes: number;
  readonly toOverload: number;
  readonly toIdle: number;
  /** Route pulls queued by this port's balancer (including DNS reconnects). */
  readonly pulls: number;
  readonly routeUpdates: number;
  readonly routeUpdatesIgnored: number;
  /** Unknown modules answered NOEXIST without a pull (max_new_pulls_per_s). */
  readonly newPullsCapped: number;
  /** EMPTY routes dropped past max_empty_routes. */
  readonly emptyRoutesEvicted: number;
  /** Picks made among all nodes because too few were healthy (panic_threshold). */
  readonly panicPicks: number;
  /** Overloads refused because max_ejection_percent of the route's nodes were overloaded already. */
  readonly ejectionsCapped: number;
  /** Route updates naming a policy this agent does not have (the route runs `lars`). */
  readonly unknownPolicies: number;
  readonly routes: number;
  /** Routes DNS answered empty (kept so that their use does not pull). */
  readonly emptyRoutes: number;
  readonly idleNodes: number;
  readonly overloadedNodes: number;
}

export interface AgentCoreStats {
  readonly ports: readonly AgentPortStats[];
  /** Pulls / reports dropped because the control plane stopped draining its queue. */
  readonly pullsQueueDropped: number;
  readonly reportsQueueDropped: number;
  /** RegisterRequests dropped because the control plane stopped draining its queue. */
  readonly registersQueueDropped: number;
}

/** A RegisterRequest as received on port index `port` from ip:peerPort (the body not yet decoded). */
export interface RegisterDatagram {
  readonly port: number;
  readonly ip: string;
  readonly peerPort: number;
  readonly body: Buffer;
}

/** An instance of native/binding/agent_binding.cc's AgentServer. */
export interface NativeAgentServer {
  /** [base, base + 1, base + 2] */
  ports(): number[];
  /** The module's whole host set packed by packHosts, and its policy; applied by the balancer of
   * (modid + cmdid) % 3. */
  applyRoute(modid: number, cmdid: number, flat: Int32Array, zones: string[], policy?: RoutePolicy): void;
  onDnsReconnected(): void;
  /** Sends one frame from port index `port` to ip:peerPort; false when it could not be sent. */
  reply(port: number, ip: string, peerPort: number, msgid: number, body: Uint8Array): boolean;
  /** Read in each port's loop thread. */
  stats(): AgentCoreStats;
  /** Each port's nodes (NodeStats), read in its loop thread; at most `limit` nodes over all ports. */
  nodeStats(limit: number): NodeStats[];
  /** Stops the loop threads, releases the callbacks and returns the route reports not yet handed
   * out (the onReports format); idempotent (then empty). */
  close(): Float64Array;
}

/** native/binding/agent_binding.cc: the agent's three UDP ports served in C++ (native/agent).
 * Construct it through NativeAgentCore (src/agent/native-agent-core.ts). Callbacks get batches:
 * onPulls modid, cmdid pairs; onReports per route modid, cmdid, n, then n × (ip, port, succ, err, overload). */
export interface NativeAgentModule {
  readonly AgentServer: new (
    options: NativeAgentOptions,
    onPulls: (pairs: Int32Array) => void,
    onReports: (flat: Float64Array) => void,
    onRegisters: (frames: RegisterDatagram[]) => void,
  ) => NativeAgentServer;
}

/** Why a LocalView cannot be picked from, or 'ok'. */
export type LocalViewState = 'ok' | 'missing' | 'stale' | 'layout' | 'corrupt' | 'closed';

/** native/binding/view_binding.cc: an agent port's local view (docs/agent.md "The local view"),
 * mapped read-only; picks in-process with the agent's policy code and a per-process cursor. */
export interface NativeLocalView {
  /** Checks the heartbeat now (re-opening the file when a new agent replaced it). */
  state(): LocalViewState;
  /** A Lars retcode >= 0 (0 SUCC: out[0] = ip as int32, out[1] = port; 1 OVERLOAD; 3 NOEXIST for a route
   * the agent holds as EMPTY) or a fallback to UDP: -1 module not in the view, -2 stale heartbeat,
   * -3 missing, closed, another layout or corrupt. */
  pick(modid: number, cmdid: number, out: Int32Array, key?: Uint8Array): number;
  /** Every node of the route in join order as [ip0, port0, ip1, port1, ...]; null when not in the view. */
  route(modid: number, cmdid: number): Int32Array | null;
  close(): void;
}

export interface NativeAddon {
  /** Every error the addon throws is an instance of this class (LarsError), with a code. */
  setErrorClass(errorClass: new (code: LarsErrorCode, message: string) => Error): void;
  /** The format and role of the lines C++ logs (native/reactor/Log.h), as [log] format says. */
  setLogFormat(format: 'text' | 'json', role: string): void;
  readonly balancer: NativeBalancerModule;
  readonly wire: NativeWire;
  readonly servers: NativeServers;
  readonly agent: NativeAgentModule;
  /** Never throws for a missing or bad file: state() says why. */
  readonly LocalView: new (path: string) => NativeLocalView;
}
