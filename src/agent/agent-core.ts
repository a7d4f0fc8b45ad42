// The agent's data plane behind one interface: three UDP ports (base, base+1, base+2), each with
// its own balancer, answering GetHostRequest, ReportRequest and API_GetRouteRequest without
// waiting on anything else. Two implementations behave the same: the native one (C++ loop threads,
// native/agent via the binding) and the TypeScript one (node:dgram + the TS Balancer).
// The control plane (DNS and Report clients, start-agent.ts) drives either through this interface.
import type { BalancerLimits, ModuleId, NodeStats, RouteReport } from '../balancer/index.js';
import type { RouteHost, RoutePolicy } from '../balancer/index.js';
import type { LoadBalanceConfig } from '../config/types.js';
import type { Implementation } from '../native/addon.js';
import type { AgentCoreStats, AgentPortStats, RegisterDatagram } from '../native/types.js';

// Both cores report the stats shape the native core returns (declared with the addon's exports).
export type { AgentCoreStats, AgentPortStats, RegisterDatagram } from '../native/types.js';

export interface AgentCoreOptions {
  readonly ip: string;
  /** The first of three consecutive UDP ports; 0 picks any three consecutive free ports. */
  readonly port: number;
  /** Each port's balancer reports routes with activity on this period (at most once per route). */
  readonly reportIntervalMs: number;
  readonly loadbalance: LoadBalanceConfig;
  /** Each port's route table limits ([agent] max_empty_routes, max_new_pulls_per_s). */
  readonly limits: BalancerLimits;
  /** [agent] view_dir: where each port publishes its local view ('' = none). The TS core ignores it. */
  readonly viewDir?: string;
  /** Modules the balancers want pulled from DNS, in batches (duplicates possible). Must not throw. */
  readonly onPulls: (modules: ModuleId[]) => void;
  /** Route reports to send to the Report service, in batches. Must not throw. */
  readonly onReports: (reports: RouteReport[]) => void;
  /** RegisterRequests as received, in batches; the control plane answers each through reply(). Must not throw. */
  readonly onRegisters: (frames: RegisterDatagram[]) => void;
}

/** A route from the agent's disk cache. */
export interface SeedRoute {
  readonly modid: number;
  readonly cmdid: number;
  readonly hosts: readonly RouteHost[];
  readonly policy?: RoutePolicy;
}

export interface AgentCore {
  readonly impl: Implementation;
  /** Binds the three ports and starts serving; resolves to them. Throws ERR_CONFIG when they are taken.
   * `seeds`: routes from the disk cache, held before the first datagram is read and served as if DNS
   * had just sent them (state NEW); the next DNS connect pulls them again. */
  listen(seeds?: readonly SeedRoute[]): Promise<readonly number[]>;
  /** A DNS reply or push: the module's whole host set and policy (absent: `lars`), for the balancer
   * of agentPortIndex(modid, cmdid). */
  applyRoute(modid: number, cmdid: number, hosts: readonly RouteHost[], policy?: RoutePolicy): void;
  /** The DNS connection is (re-)established: every balancer pulls every route it holds again. */
  onDnsReconnected(): void;
  /** Sends one frame (msgid, body) from the port `to` arrived on back to its sender. */
  reply(to: RegisterDatagram, msgid: number, body: Uint8Array): void;
  /** Every counter of every port, in one call. */
  stats(): AgentCoreStats;
  /** Each port's nodes with their cumulative counters (one read per port), at most `limit` nodes
   * over all ports (ports in order); each port's total counts them all. */
  nodeStats(limit: number): NodeStats[];
  /** Stops serving, then hands every route's activity not reported yet to onReports (whatever the
   * interval), so a clean stop loses no statistics. */
  close(): Promise<void>;
}

/** Everything dropped by the data plane: malformed datagrams, bad bodies, unknown msgids, unknown nodes. */
export function droppedOf(s: AgentPortStats): number {
  return s.datagramsDropped - s.replyFailures + s.badBodies + s.unknownMsgIds + s.reportsIgnored;
}
