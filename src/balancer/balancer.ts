// Balancer: the route table of one agent port, in TypeScript — the twin of
// native/balancer/balancer.cc (same rules, same order of operations; see docs/spec/BALANCER.md).
// Holds every Route it has seen, the queue of route pulls for DNS, the report-interval bookkeeping
// and the counters. One owner, no locks; `now` (integer ms) is always a parameter.
import type { LoadBalanceConfig } from '../config/types.js';
import { LarsError } from '../errors.js';
import type { Balancer as BalancerApi } from './index.js';
import { ZoneSet, type PickInput } from './policy/policy.js';
import { normalizePolicy, type RouteHost, type RoutePolicy } from './policy.js';
import { Prng } from './prng.js';
import { Change, NODE_STAT_FIELDS, NONE, RetCode, Route, RouteState, type HostAddr, type NodeResult, type NodeStats, type PickFlags, type ZoneStatus } from './route.js';

export interface ModuleId {
  readonly modid: number;
  readonly cmdid: number;
}

export interface PickResult {
  /** RetCode.SUCC, OVERLOAD or NOEXIST. */
  readonly retcode: number;
  /** 0 unless SUCC. */
  readonly ip: number;
  readonly port: number;
  /** This call queued a route pull (drain the queue with takePullRequests()). */
  readonly pull: boolean;
}

export interface RouteLookup {
  /** Every node, in the order it joined the route; empty for an unknown or empty route. */
  readonly hosts: HostAddr[];
  readonly pull: boolean;
}

/** One ReportStatusRequest's worth (the agent adds caller and ts). */
export interface RouteReport {
  readonly modid: number;
  readonly cmdid: number;
  /** The idle list, then the overload list, each in list order. */
  readonly results: NodeResult[];
}

/** Event counters (monotonic) and gauges (routes, idleNodes, overloadedNodes). */
export interface BalancerCounters {
  picksSucc: number;
  picksOverload: number;
  picksNoexist: number;
  /** Picks answered from the overload list (also counted in picksSucc). */
  probes: number;
  reports: number;
  /** Reports for an unknown route or node. */
  reportsIgnored: number;
  toOverload: number;
  /** Overloaded -> idle (a window reset of an idle node is not a change). */
  toIdle: number;
  /** Route pulls queued, including those returned by onDnsReconnected(). */
  pulls: number;
  routeUpdates: number;
  /** applyRoute() for a route the table does not hold. */
  routeUpdatesIgnored: number;
  /** Unknown modules answered without a pull (maxNewPullsPerS). */
  newPullsCapped: number;
  /** EMPTY routes dropped past maxEmptyRoutes. */
  emptyRoutesEvicted: number;
  /** Picks among all nodes (panic_threshold). */
  panicPicks: number;
  /** Overloads refused by max_ejection_percent. */
  ejectionsCapped: number;
  /** Route updates naming a policy this agent lacks (they ran `lars`). */
  unknownPolicies: number;
  /** Ordinary picks of zone-active routes sent to the agent's zone, and to the others (cross-zone picks). */
  zonePicksLocal: number;
  zonePicksOther: number;
  routes: number;
  /** Routes DNS answered empty (gauge). */
  emptyRoutes: number;
  idleNodes: number;
  overloadedNodes: number;
}

/** The route table's limits ([agent] max_empty_routes, max_new_pulls_per_s; docs/spec/BALANCER.md). */
export interface BalancerLimits {
  /** EMPTY routes kept; past it the oldest is dropped. */
  readonly maxEmptyRoutes: number;
  /** Pulls per second for modules the table does not hold; past it NOEXIST without a pull. */
  readonly maxNewPullsPerS: number;
}

export const DEFAULT_BALANCER_LIMITS: BalancerLimits = Object.freeze({ maxEmptyRoutes: 10_000, maxNewPullsPerS: 1_000 });

/** What a Balancer runs on: the [loadbalance] parameters, the route table's limits, the seed of
 * its PRNG (uint32; set per agent so agents do not move in lock step; 0 when absent) and the agent's
 * zone ([agent] zone; '' or absent = zone-aware routing off). */
export type BalancerConfig = LoadBalanceConfig & BalancerLimits & { readonly seed?: number; readonly zone?: string };

const COUNT_KEYS = [
  ['probeNum', 'probe_num'],
  ['initSuccCnt', 'init_succ_cnt'],
  ['initErrCnt', 'init_err_cnt'],
  ['continErrLimit', 'contin_err_limit'],
  ['continSuccLimit', 'contin_succ_limit'],
] as const;
const LIMIT_KEYS = [
  ['maxEmptyRoutes', '[agent] max_empty_routes'],
  ['maxNewPullsPerS', '[agent] max_new_pulls_per_s'],
] as const;
const REAL_KEYS = [
  ['errRate', 'err_rate'],
  ['succRate', 'succ_rate'],
  ['windowErrRate', 'window_err_rate'],
  ['idleTimeoutMs', 'idle_timeout'],
  ['overloadTimeoutMs', 'overload_timeout'],
  ['updateTimeoutMs', 'update_timeout'],
] as const;

/**
 * Checks a balancer's config once, for both implementations: counts and limits are non-negative
 * integers, rates and timeouts non-negative finite numbers, the zone a string ('' when absent).
 * Returns a frozen copy with only those fields.
 */
export function checkBalancerConfig(
  config: LoadBalanceConfig,
  limits: BalancerLimits = DEFAULT_BALANCER_LIMITS,
  seed: number = (config as BalancerConfig).seed ?? 0,
): BalancerConfig {
  const out: Record<string, number | string> = {};
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new LarsError('ERR_CONFIG', `the balancer seed must be a uint32, got ${String(seed)}`);
  }
  out.seed = seed;
  const zone = (config as BalancerConfig).zone ?? '';
  if (typeof zone !== 'string') throw new LarsError('ERR_CONFIG', `the agent zone must be a string, got ${String(zone)}`);
  out.zone = zone;
  for (const [key, name] of LIMIT_KEYS) {
    const v = limits[key];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new LarsError('ERR_CONFIG', `${name} must be a non-negative integer, got ${String(v)}`);
    }
    out[key] = v;
  }
  for (const [key, ini] of COUNT_KEYS) {
    const v = config[key];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new LarsError('ERR_CONFIG', `[loadbalance] ${ini} must be a non-negative integer, got ${String(v)}`);
    }
    out[key] = v;
  }
  for (const [key, ini] of REAL_KEYS) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new LarsError('ERR_CONFIG', `[loadbalance] ${ini} must be a non-negative number, got ${String(v)}`);
    }
    out[key] = v;
  }
  return Object.freeze(out) as unknown as BalancerConfig;
}

function emptyCounters(): BalancerCounters {
  return {
    picksSucc: 0,
    picksOverload: 0,
    picksNoexist: 0,
    probes: 0,
    reports: 0,
    reportsIgnored: 0,
    toOverload: 0,
    toIdle: 0,
    pulls: 0,
    routeUpdates: 0,
    routeUpdatesIgnored: 0,
    newPullsCapped: 0,
    emptyRoutesEvicted: 0,
    panicPicks: 0,
    ejectionsCapped: 0,
    unknownPolicies: 0,
    zonePicksLocal: 0,
    zonePicksOther: 0,
    routes: 0,
    emptyRoutes: 0,
    idleNodes: 0,
    overloadedNodes: 0,
  };
}

export class Balancer implements BalancerApi {
  private readonly config: BalancerConfig;
  /** modid -> cmdid -> route: two numeric lookups, no key strings on the hot path. */
  private readonly index = new Map<number, Map<number, Route>>();
  /** Every route, in creation order. */
  private readonly order = new Set<Route>();
  /** Routes DNS answered empty, oldest answer first (a Set keeps insertion order). */
  private readonly emptyRoutes = new Set<Route>();
  private pulls: ModuleId[] = [];
  /** The current one-second window of the new-pull cap. */
  private windowStart = 0;
  private windowPulls = 0;
  private readonly stats = emptyCounters();
  private readonly input: PickInput;
  private readonly flags: PickFlags = { probe: false, panic: false, zoneSet: ZoneSet.ANY };

  constructor(config: BalancerConfig) {
    this.config = checkBalancerConfig(config, config);
    this.input = { key: undefined, rng: new Prng(this.config.seed ?? 0), zoneSet: ZoneSet.ANY };
  }

  private find(modid: number, cmdid: number): Route | undefined {
    return this.index.get(modid)?.get(cmdid);
  }

  private queuePull(r: Route): void {
    r.state = RouteState.PULLING;
    this.pulls.push({ modid: r.modid, cmdid: r.cmdid });
    this.stats.pulls++;
  }

  /** Whether one more module never seen may be pulled at `now` (and counts it). */
  private takeNewPull(now: number): boolean {
    if (this.windowPulls === 0 || now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowPulls = 0;
    }
    if (this.windowPulls >= this.config.maxNewPullsPerS) {
      this.stats.newPullsCapped++;
      return false;
    }
    this.windowPulls++;
    return true;
  }

  /** A new route (state PULLING) in the table. */
  private create(modid: number, cmdid: number, now: number): Route {
    const r = new Route(this.config, modid, cmdid, now);
    let byCmd = this.index.get(modid);
    if (byCmd === undefined) {
      byCmd = new Map();
      this.index.set(modid, byCmd);
    }
    byCmd.set(cmdid, r);
    this.order.add(r);
    return r;
  }

  /** Looks a module up for a pick or get_route, creating it or queuing a re-pull as the rules say.
   * No route when the module is unknown and the new-pull cap of this second is spent. */
  private use(modid: number, cmdid: number, now: number): { route: Route | undefined; pull: boolean } {
    let r = this.find(modid, cmdid);
    if (r === undefined) {
      // A client asking for modules that do not exist must not turn the agent into a flood on DNS.
      if (!this.takeNewPull(now)) return { route: undefined, pull: false };
      r = this.create(modid, cmdid, now);
      this.queuePull(r);
      return { route: r, pull: true };
    }
    const stale = now - r.lastUpdate > this.config.updateTimeoutMs;
    // A NEW route without nodes never got its answer (a pull lost around a reconnect): pull it now.
    if ((r.state === RouteState.NEW && (r.empty || stale)) || (r.state === RouteState.EMPTY && stale)) {
      this.queuePull(r);
      return { route: r, pull: true };
    }
    return { route: r, pull: false };
  }

  pick(modid: number, cmdid: number, now: number, key?: Uint8Array): PickResult {
    const { route, pull } = this.use(modid | 0, cmdid | 0, now);
    if (route === undefined || route.empty) {
      this.stats.picksNoexist++;
      return { retcode: RetCode.NOEXIST, ip: 0, port: 0, pull };
    }
    this.input.key = key;
    const i = route.pick(this.input, this.flags);
    if (i === NONE) {
      this.stats.picksOverload++;
      return { retcode: RetCode.OVERLOAD, ip: 0, port: 0, pull };
    }
    this.stats.picksSucc++;
    if (this.flags.probe) this.stats.probes++;
    if (this.flags.panic) this.stats.panicPicks++;
    if (this.flags.zoneSet === ZoneSet.LOCAL) this.stats.zonePicksLocal++;
    else if (this.flags.zoneSet === ZoneSet.OTHER) this.stats.zonePicksOther++;
    const n = route.nodes[i]!;
    return { retcode: RetCode.SUCC, ip: n.ip, port: n.port, pull };
  }

  report(modid: number, cmdid: number, ip: number, port: number, retcode: number, now: number, usetimeUs = 0): boolean {
    const r = this.find(modid | 0, cmdid | 0);
    const change = r?.report(ip | 0, port | 0, retcode | 0, usetimeUs >>> 0, now);
    if (change === undefined) {
      this.stats.reportsIgnored++;
      return false;
    }
    this.stats.reports++;
    if (change === Change.TO_OVERLOAD) this.stats.toOverload++;
    else if (change === Change.TO_IDLE) this.stats.toIdle++;
    else if (change === Change.CAPPED) this.stats.ejectionsCapped++;
    return true;
  }

  getRoute(modid: number, cmdid: number, now: number): RouteLookup {
    const { route, pull } = this.use(modid | 0, cmdid | 0, now);
    return { hosts: route === undefined ? [] : route.hosts(), pull };
  }

  applyRoute(modid: number, cmdid: number, hosts: readonly RouteHost[], now: number, policy?: RoutePolicy): boolean {
    const r = this.find(modid | 0, cmdid | 0);
    if (r === undefined) {
      this.stats.routeUpdatesIgnored++;
      return false;
    }
    this.stats.routeUpdates++;
    this.emptyRoutes.delete(r);
    const { kept, unknownPolicy } = r.apply(hosts, policy === undefined ? undefined : normalizePolicy(policy), now);
    if (unknownPolicy) this.stats.unknownPolicies++;
    if (kept !== 0) return true;
    // EMPTY: kept (and subscribed at DNS) so that its use neither pulls nor grows without bound.
    this.emptyRoutes.add(r);
    for (const oldest of this.emptyRoutes) {
      if (this.emptyRoutes.size <= this.config.maxEmptyRoutes) break;
      this.erase(oldest);
      this.stats.emptyRoutesEvicted++;
    }
    return true;
  }

  private erase(r: Route): void {
    this.emptyRoutes.delete(r);
    const byCmd = this.index.get(r.modid) as Map<number, Route>;
    byCmd.delete(r.cmdid);
    if (byCmd.size === 0) this.index.delete(r.modid);
    this.order.delete(r);
  }

  seedRoute(modid: number, cmdid: number, hosts: readonly RouteHost[], now: number, policy?: RoutePolicy): boolean {
    if (this.find(modid | 0, cmdid | 0) === undefined) this.create(modid | 0, cmdid | 0, now);
    return this.applyRoute(modid, cmdid, hosts, now, policy);
  }

  onDnsReconnected(): ModuleId[] {
    this.pulls = [];
    for (const r of this.order) {
      if (r.state === RouteState.PULLING) r.state = RouteState.NEW;
      this.pulls.push({ modid: r.modid, cmdid: r.cmdid });
      this.stats.pulls++;
    }
    return this.takePullRequests();
  }

  takePullRequests(): ModuleId[] {
    const out = this.pulls;
    this.pulls = [];
    return out;
  }

  collectReports(now: number, intervalMs: number): RouteReport[] {
    const out: RouteReport[] = [];
    for (const r of this.order) {
      if (!r.reportDue(now, intervalMs)) continue;
      out.push({ modid: r.modid, cmdid: r.cmdid, results: r.results() });
      r.markReported(now);
    }
    return out;
  }

  /** Every node's cumulative counters (NodeStats), at most `limit` nodes copied. */
  nodeStats(limit: number): NodeStats {
    let total = 0;
    for (const r of this.order) total += r.nodes.length;
    const count = Math.min(total, Math.max(0, Math.floor(limit) || 0));
    const out: NodeStats = { total, values: new Float64Array(count * NODE_STAT_FIELDS), zones: [] };
    for (const r of this.order) r.appendNodeStats(out.values, out.zones, count);
    return out;
  }

  /** The zone rule's state of each zone-active route (creation order), at most `limit` routes. */
  zoneStatus(limit: number): ZoneStatus[] {
    const out: ZoneStatus[] = [];
    const max = Math.max(0, Math.floor(limit) || 0);
    for (const r of this.order) {
      if (out.length >= max) break;
      if (r.zoneActive) out.push(r.zoneStatus());
    }
    return out;
  }

  counters(): BalancerCounters {
    const c = { ...this.stats };
    c.routes = this.order.size;
    c.emptyRoutes = this.emptyRoutes.size;
    for (const r of this.order) {
      c.idleNodes += r.idleCount;
      c.overloadedNodes += r.overloadCount;
    }
    return c;
  }
}
