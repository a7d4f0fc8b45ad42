// Balancer: the route table of one agent port, in TypeScript — the twin of
// native/balancer/balancer.cc (same rules, same order of operations; see docs/spec/BALANCER.md).
// Holds every Route it has seen, the queue of route pulls for DNS, the report-interval bookkeeping
// and the counters. One owner, no locks; `now` (integer ms) is always a parameter.
import type { LoadBalanceConfig } from '../config/types.js';
import { LarsError } from '../errors.js';
import type { Balancer as BalancerApi } from './index.js';
import { Change, RetCode, Route, RouteState, type HostAddr, type NodeResult } from './route.js';

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
  routes: number;
  idleNodes: number;
  overloadedNodes: number;
}

/**
 * runOps encoding (native/balancer/ops.h), one Int32Array:
 *   [CLOCK, dt]                                  the batch clock advances by dt ms (dt >= 0)
 *   [PICK, modid, cmdid]                         pick at the batch clock
 *   [REPORT, modid, cmdid, ip, port, retcode]    report at the batch clock
 * For every pick, `out` (when given) receives retcode, ip, port.
 */
export const BalancerOp = { CLOCK: 0, PICK: 1, REPORT: 2 } as const;

export interface RunOpsSummary {
  ops: number;
  picks: number;
  succ: number;
  overload: number;
  noexist: number;
  reports: number;
  /** Reports for an unknown route or node. */
  ignored: number;
  /** Picks that queued a pull. */
  pulls: number;
  /** The batch clock after the last op. */
  now: number;
  /** FNV-1a (32-bit) over retcode, ip, port of every pick, one int32 at a time. */
  hash: number;
}

const COUNT_KEYS = [
  ['probeNum', 'probe_num'],
  ['initSuccCnt', 'init_succ_cnt'],
  ['initErrCnt', 'init_err_cnt'],
  ['continErrLimit', 'contin_err_limit'],
  ['continSuccLimit', 'contin_succ_limit'],
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
 * Checks a LoadBalanceConfig once, for both implementations: counts are non-negative integers,
 * rates and timeouts non-negative finite numbers. Returns a frozen copy with only those fields.
 */
export function checkBalancerConfig(config: LoadBalanceConfig): LoadBalanceConfig {
  const out: Record<string, number> = {};
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
  return Object.freeze(out) as unknown as LoadBalanceConfig;
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
    routes: 0,
    idleNodes: 0,
    overloadedNodes: 0,
  };
}

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 16777619) >>> 0;
}

export class Balancer implements BalancerApi {
  private readonly config: LoadBalanceConfig;
  /** modid -> cmdid -> route: two numeric lookups, no key strings on the hot path. */
  private readonly index = new Map<number, Map<number, Route>>();
  /** Every route, in creation order. */
  private readonly order = new Set<Route>();
  private pulls: ModuleId[] = [];
  private readonly stats = emptyCounters();

  constructor(config: LoadBalanceConfig) {
    this.config = checkBalancerConfig(config);
  }

  private find(modid: number, cmdid: number): Route | undefined {
    return this.index.get(modid)?.get(cmdid);
  }

  private queuePull(r: Route): void {
    r.state = RouteState.PULLING;
    this.pulls.push({ modid: r.modid, cmdid: r.cmdid });
    this.stats.pulls++;
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

  /** Looks a module up for a pick or get_route, creating it or queuing a re-pull as the rules say. */
  private use(modid: number, cmdid: number, now: number): { route: Route; pull: boolean } {
    let r = this.find(modid, cmdid);
    if (r === undefined) {
      r = this.create(modid, cmdid, now);
      this.queuePull(r);
      return { route: r, pull: true };
    }
    // An empty NEW route cannot answer and would wait forever: pull it too (a reference defect).
    if (r.state === RouteState.NEW && (r.empty || now - r.lastUpdate > this.config.updateTimeoutMs)) {
      this.queuePull(r);
      return { route: r, pull: true };
    }
    return { route: r, pull: false };
  }

  pick(modid: number, cmdid: number, now: number): PickResult {
    const { route, pull } = this.use(modid | 0, cmdid | 0, now);
    if (route.empty) {
      this.stats.picksNoexist++;
      return { retcode: RetCode.NOEXIST, ip: 0, port: 0, pull };
    }
    const c = route.pick();
    if (c.retcode !== RetCode.SUCC) {
      this.stats.picksOverload++;
      return { retcode: c.retcode, ip: 0, port: 0, pull };
    }
    this.stats.picksSucc++;
    if (c.probe) this.stats.probes++;
    return { retcode: RetCode.SUCC, ip: c.ip, port: c.port, pull };
  }

  report(modid: number, cmdid: number, ip: number, port: number, retcode: number, now: number): boolean {
    const r = this.find(modid | 0, cmdid | 0);
    const change = r?.report(ip | 0, port | 0, retcode | 0, now);
    if (change === undefined) {
      this.stats.reportsIgnored++;
      return false;
    }
    this.stats.reports++;
    if (change === Change.TO_OVERLOAD) this.stats.toOverload++;
    else if (change === Change.TO_IDLE) this.stats.toIdle++;
    return true;
  }

  getRoute(modid: number, cmdid: number, now: number): RouteLookup {
    const { route, pull } = this.use(modid | 0, cmdid | 0, now);
    return { hosts: route.hosts(), pull };
  }

  applyRoute(modid: number, cmdid: number, hosts: readonly HostAddr[], now: number): boolean {
    modid |= 0;
    cmdid |= 0;
    const r = this.find(modid, cmdid);
    if (r === undefined) {
      this.stats.routeUpdatesIgnored++;
      return false;
    }
    this.stats.routeUpdates++;
    if (r.apply(hosts, now) === 0) {
      const byCmd = this.index.get(modid) as Map<number, Route>;
      byCmd.delete(cmdid);
      if (byCmd.size === 0) this.index.delete(modid);
      this.order.delete(r);
    }
    return true;
  }

  seedRoute(modid: number, cmdid: number, hosts: readonly HostAddr[], now: number): boolean {
    if (this.find(modid | 0, cmdid | 0) === undefined) this.create(modid | 0, cmdid | 0, now);
    return this.applyRoute(modid, cmdid, hosts, now);
  }

  onDnsReconnected(): ModuleId[] {
    this.pulls = [];
    for (const r of this.order) this.queuePull(r);
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

  counters(): BalancerCounters {
    const c = { ...this.stats };
    c.routes = this.order.size;
    for (const r of this.order) {
      c.idleNodes += r.idleCount;
      c.overloadedNodes += r.overloadCount;
    }
    return c;
  }

  runOps(ops: Int32Array, now: number, out?: Int32Array): RunOpsSummary {
    if (!(ops instanceof Int32Array)) throw new LarsError('ERR_INVALID_INPUT', 'runOps: ops must be an Int32Array');
    if (out !== undefined && !(out instanceof Int32Array)) {
      throw new LarsError('ERR_INVALID_INPUT', 'runOps: out must be an Int32Array');
    }
    // Check the whole batch first: a malformed batch runs nothing.
    const n = ops.length;
    let picks = 0;
    for (let i = 0; i < n; ) {
      const op = ops[i] as number;
      const len = op === BalancerOp.CLOCK ? 2 : op === BalancerOp.PICK ? 3 : op === BalancerOp.REPORT ? 6 : 0;
      if (len === 0) throw new LarsError('ERR_INVALID_INPUT', `runOps: unknown opcode ${op} at index ${i}`);
      if (n - i < len) throw new LarsError('ERR_INVALID_INPUT', `runOps: truncated operation at index ${i}`);
      if (op === BalancerOp.CLOCK && (ops[i + 1] as number) < 0) {
        throw new LarsError('ERR_INVALID_INPUT', `runOps: negative clock step at index ${i}`);
      }
      if (op === BalancerOp.PICK) picks++;
      i += len;
    }
    if (out !== undefined && out.length < picks * 3) {
      throw new LarsError('ERR_INVALID_INPUT', `runOps: out holds ${out.length} values; the batch needs ${picks * 3}`);
    }
    const s: RunOpsSummary = { ops: 0, picks: 0, succ: 0, overload: 0, noexist: 0, reports: 0, ignored: 0, pulls: 0, now, hash: 2166136261 };
    let o = 0;
    for (let i = 0; i < n; ) {
      s.ops++;
      const op = ops[i];
      if (op === BalancerOp.CLOCK) {
        now += ops[i + 1] as number;
        i += 2;
      } else if (op === BalancerOp.PICK) {
        const r = this.pick(ops[i + 1] as number, ops[i + 2] as number, now);
        s.picks++;
        if (r.retcode === RetCode.SUCC) s.succ++;
        else if (r.retcode === RetCode.OVERLOAD) s.overload++;
        else s.noexist++;
        if (r.pull) s.pulls++;
        s.hash = mix(mix(mix(s.hash, r.retcode), r.ip), r.port);
        if (out !== undefined) {
          out[o++] = r.retcode;
          out[o++] = r.ip;
          out[o++] = r.port;
        }
        i += 3;
      } else {
        const ok = this.report(
          ops[i + 1] as number,
          ops[i + 2] as number,
          ops[i + 3] as number,
          ops[i + 4] as number,
          ops[i + 5] as number,
          now,
        );
        if (ok) s.reports++;
        else s.ignored++;
        i += 6;
      }
    }
    s.now = now;
    return s;
  }
}
