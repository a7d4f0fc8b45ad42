// The agent's balancer (docs/spec/BALANCER.md, policy `lars`): one interface, two implementations
// that must agree on every call — the C++ one (native/balancer via native/binding/balancer_binding.cc)
// and the TypeScript twin (./balancer.ts). One Balancer per agent port, owned by one thread.
import type { LoadBalanceConfig } from '../config/types.js';
import { loadNative, type Implementation } from '../native/addon.js';
import {
  Balancer as TsBalancer,
  checkBalancerConfig,
  type BalancerCounters,
  type ModuleId,
  type PickResult,
  type RouteLookup,
  type RouteReport,
  type RunOpsSummary,
} from './balancer.js';
import type { HostAddr } from './route.js';

export { Balancer as TsBalancer, BalancerOp, checkBalancerConfig } from './balancer.js';
export type { BalancerCounters, ModuleId, PickResult, RouteLookup, RouteReport, RunOpsSummary } from './balancer.js';
export { RetCode } from './route.js';
export type { HostAddr, NodeResult } from './route.js';
export type { NativeBalancerModule } from '../native/types.js';

/**
 * The balancer of one agent port. `now` is the caller's clock in integer milliseconds; modid, cmdid,
 * ip, port and retcode are int32 as the wire codec delivers them (ip: a<<24|b<<16|c<<8|d).
 */
export interface Balancer {
  /** get_host. Unknown module: creates a PULLING route, queues a pull, answers NOEXIST. A NEW route
   * that is empty or older than updateTimeoutMs is pulled again and still answers from its nodes. */
  pick(modid: number, cmdid: number, now: number): PickResult;
  /** A call result (retcode 0 = success). False when the route or node is unknown (ignored, counted). */
  report(modid: number, cmdid: number, ip: number, port: number, retcode: number, now: number): boolean;
  /** get_route: every node (join order); same pull rules as pick; empty hosts when unknown. */
  getRoute(modid: number, cmdid: number, now: number): RouteLookup;
  /** A DNS reply or push with the whole host set: new hosts join idle, gone hosts are removed everywhere,
   * the others keep their state; an empty set deletes the route. False (ignored) for an unknown route. */
  applyRoute(modid: number, cmdid: number, hosts: readonly HostAddr[], now: number): boolean;
  /** A route from the agent's disk cache: created when the table does not hold it, then applied as
   * a DNS reply (state NEW). It is pulled again on the next DNS connect, and DNS's answer wins. */
  seedRoute(modid: number, cmdid: number, hosts: readonly HostAddr[], now: number): boolean;
  /** The DNS connection is up again: every route must be pulled again. Returns every module (creation
   * order) and empties the pull queue, which the list includes; every route is PULLING afterwards. */
  onDnsReconnected(): ModuleId[];
  /** Pulls queued since the last call, in queue order. */
  takePullRequests(): ModuleId[];
  /** One report per route that had reports since its last one and none within the last intervalMs.
   * Batching by interval replaces the reference's one report per call (BALANCER.md). */
  collectReports(now: number, intervalMs: number): RouteReport[];
  counters(): BalancerCounters;
  /** A batch of picks, reports and clock steps in one call (encoding: BalancerOp). */
  runOps(ops: Int32Array, now: number, out?: Int32Array): RunOpsSummary;
}

/** A balancer of the chosen implementation; the config is checked once here for both. */
export function createBalancer(impl: Implementation, config: LoadBalanceConfig): Balancer {
  const checked = checkBalancerConfig(config);
  if (impl === 'ts') return new TsBalancer(checked);
  return new (loadNative().balancer.Balancer)(checked);
}
