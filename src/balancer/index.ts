// The agent's balancer (docs/spec/BALANCER.md; policies: EXTENSIONS.md §3, docs/policies.md): one interface, two implementations
// that must agree on every call — the C++ one (native/balancer via native/binding/balancer_binding.cc)
// and the TypeScript twin (./balancer.ts). One Balancer per agent port, owned by one thread.
import type { LoadBalanceConfig } from '../config/types.js';
import { loadNative, type Implementation } from '../native/addon.js';
import {
  Balancer as TsBalancer,
  checkBalancerConfig,
  DEFAULT_BALANCER_LIMITS,
  type BalancerCounters,
  type BalancerLimits,
  type ModuleId,
  type PickResult,
  type RouteLookup,
  type RouteReport,
} from './balancer.js';
import { packHosts, type RouteHost, type RoutePolicy } from './policy.js';
import type { HostAddr, NodeStats, ZoneStatus } from './route.js';

export { Balancer as TsBalancer, DEFAULT_BALANCER_LIMITS, checkBalancerConfig } from './balancer.js';
export type { BalancerConfig, BalancerCounters, BalancerLimits, ModuleId, PickResult, RouteLookup, RouteReport } from './balancer.js';
export { RetCode } from './route.js';
export { DEFAULT_ROUTE_POLICY, POLICY_NAMES, packHosts } from './policy.js';
export type { RouteHost, RoutePolicy } from './policy.js';
export type { HostAddr, NodeResult, NodeStats, ZoneStatus } from './route.js';
export { NODE_STAT_FIELDS, NodeStatField, USETIME_BOUNDS_US } from './route.js';
export type { NativeBalancerModule } from '../native/types.js';

/**
 * The balancer of one agent port. `now` is the caller's clock in integer milliseconds; modid, cmdid,
 * ip, port and retcode are int32 as the wire codec delivers them (ip: a<<24|b<<16|c<<8|d).
 */
export interface Balancer {
  /** get_host. Unknown module: creates a PULLING route, queues a pull, answers NOEXIST (past
   * maxNewPullsPerS in the current second: NOEXIST only, counted). A NEW route that is empty or
   * older than updateTimeoutMs, or an EMPTY one older than updateTimeoutMs, is pulled again and
   * still answers from its nodes. */
  pick(modid: number, cmdid: number, now: number, key?: Uint8Array): PickResult;
  /** A call result (retcode 0 = success; usetimeUs: its duration, 0 = not measured). False when the
   * route or node is unknown (ignored, counted). */
  report(modid: number, cmdid: number, ip: number, port: number, retcode: number, now: number, usetimeUs?: number): boolean;
  /** get_route: every node (join order); same pull rules as pick; empty hosts when unknown. */
  getRoute(modid: number, cmdid: number, now: number): RouteLookup;
  /** A DNS reply or push with the whole host set and the module's policy (absent: `lars`, every knob
   * off; an unknown name runs `lars`, counted): new hosts join idle, gone hosts are removed everywhere,
   * the others keep their state and take their new weight; an empty set makes the route EMPTY (at
   * most maxEmptyRoutes are kept, the oldest dropped first). False (ignored) for an unknown route. */
  applyRoute(modid: number, cmdid: number, hosts: readonly RouteHost[], now: number, policy?: RoutePolicy): boolean;
  /** A route from the agent's disk cache: created when the table does not hold it, then applied as
   * a DNS reply (state NEW). It is pulled again on the next DNS connect, and DNS's answer wins. */
  seedRoute(modid: number, cmdid: number, hosts: readonly RouteHost[], now: number, policy?: RoutePolicy): boolean;
  /** The DNS connection is up again: every route must be pulled again. Returns every module (creation
   * order) and empties the pull queue, which the list includes. PULLING routes become NEW, so that a
   * route whose pull is lost again is pulled on use rather than waiting forever. */
  onDnsReconnected(): ModuleId[];
  /** Pulls queued since the last call, in queue order. */
  takePullRequests(): ModuleId[];
  /** One report per route that had reports since its last one and none within the last intervalMs.
   * Batching by interval replaces the reference's one report per call (BALANCER.md). */
  collectReports(now: number, intervalMs: number): RouteReport[];
  counters(): BalancerCounters;
  /** Every node's cumulative counters (picks, calls by result, call-time histogram) and state,
   * packed; at most `limit` nodes copied, all counted in `total`. */
  nodeStats(limit: number): NodeStats;
  /** The zone rule's state of each zone-active route (creation order; docs/policies.md): its local
   * and other nodes, how many of each are healthy, and localShare, the probability that an ordinary
   * pick goes local now. At most `limit` routes. */
  zoneStatus(limit: number): ZoneStatus[];
}

/**
 * A balancer of the chosen implementation; the config is checked once here for both. `seed` seeds
 * its PRNG (uint32; default: config.seed, else 0) — the agent passes a random one.
 */
export function createBalancer(
  impl: Implementation,
  config: LoadBalanceConfig,
  limits: BalancerLimits = DEFAULT_BALANCER_LIMITS,
  seed?: number,
): Balancer {
  const checked = checkBalancerConfig(config, limits, seed);
  if (impl === 'ts') return new TsBalancer(checked);
  return new NativeBalancer(new (loadNative().balancer.Balancer)(checked));
}

/** The C++ balancer with hosts packed for it (one N-API crossing per route update). */
class NativeBalancer implements Balancer {
  constructor(private readonly native: NativeBalancerObject) {}
  pick(modid: number, cmdid: number, now: number, key?: Uint8Array): PickResult {
    return this.native.pick(modid, cmdid, now, key);
  }
  report(modid: number, cmdid: number, ip: number, port: number, retcode: number, now: number, usetimeUs?: number): boolean {
    return this.native.report(modid, cmdid, ip, port, retcode, now, usetimeUs);
  }
  getRoute(modid: number, cmdid: number, now: number): RouteLookup {
    return this.native.getRoute(modid, cmdid, now);
  }
  applyRoute(modid: number, cmdid: number, hosts: readonly RouteHost[], now: number, policy?: RoutePolicy): boolean {
    const { flat, zones } = packHosts(hosts);
    return this.native.applyRoutePacked(modid, cmdid, flat, zones, now, policy);
  }
  seedRoute(modid: number, cmdid: number, hosts: readonly RouteHost[], now: number, policy?: RoutePolicy): boolean {
    const { flat, zones } = packHosts(hosts);
    return this.native.seedRoutePacked(modid, cmdid, flat, zones, now, policy);
  }
  onDnsReconnected(): ModuleId[] {
    return this.native.onDnsReconnected();
  }
  takePullRequests(): ModuleId[] {
    return this.native.takePullRequests();
  }
  collectReports(now: number, intervalMs: number): RouteReport[] {
    return this.native.collectReports(now, intervalMs);
  }
  counters(): BalancerCounters {
    return this.native.counters();
  }
  nodeStats(limit: number): NodeStats {
    return this.native.nodeStats(limit);
  }
  zoneStatus(limit: number): ZoneStatus[] {
    return this.native.zoneStatus(limit);
  }
}

/** What native/binding/balancer_binding.cc's Balancer objects offer. */
export interface NativeBalancerObject extends Omit<Balancer, 'applyRoute' | 'seedRoute'> {
  /** Hosts packed by packHosts. */
  applyRoutePacked(modid: number, cmdid: number, flat: Int32Array, zones: string[], now: number, policy?: RoutePolicy): boolean;
  seedRoutePacked(modid: number, cmdid: number, flat: Int32Array, zones: string[], now: number, policy?: RoutePolicy): boolean;
}
