// Route: the balancer state of one module (modid, cmdid) on one agent port, and the idle/overload
// state machine of docs/spec/BALANCER.md that every policy shares (EXTENSIONS.md §3): it decides
// which nodes are healthy, probes overloaded ones every probe_num-th pick and applies the safety
// knobs; the route's Policy (./policy/) only chooses among the candidates it is given. With
// zone-aware routing on (the agent has a zone, the policy a zone_overprovision, the nodes zones),
// an ordinary pick first chooses the local or the other zone set (docs/policies.md).
// Nodes live in one array (join order); the idle and overload FIFOs link them by index.
// The TypeScript twin of native/balancer/route.cc: same structures, same order of operations, so
// both give the same answer to every call (test/balancer/differential.test.ts).
// Not thread-safe by design: one owner (the Balancer of one agent port).
import type { LoadBalanceConfig } from '../config/types.js';
import { makePolicy, ZoneSet, type PickInput, type Policy } from './policy/policy.js';
import { DEFAULT_ROUTE_POLICY, effectiveWeight, type RouteHost, type RoutePolicy } from './policy.js';

/** Return codes of GetHostResponse / ReportRequest (docs/spec/PROTOCOL.md). */
export const RetCode = {
  SUCC: 0,
  OVERLOAD: 1,
  SYSTEM_ERROR: 2,
  NOEXIST: 3,
} as const;
export type RetCode = (typeof RetCode)[keyof typeof RetCode];

/** A node address as on the wire: ip is the IPv4 as int32 (a<<24|b<<16|c<<8|d), port 0..65535. */
export interface HostAddr {
  readonly ip: number;
  readonly port: number;
}

/** One node's line of a ReportStatusRequest (the agent adds caller and ts). */
export interface NodeResult {
  readonly ip: number;
  readonly port: number;
  /** rsucc of the current window. */
  readonly succ: number;
  /** rerr of the current window. */
  readonly err: number;
  readonly overload: boolean;
  /** Call times reported in the current window (usetime_us > 0): sum, maximum, count. */
  readonly usetimeSumUs: number;
  readonly usetimeMaxUs: number;
  readonly timedCalls: number;
}

/** PULLING: a pull is in flight. NEW: the route holds DNS's nodes (re-pulled when stale).
 * EMPTY: DNS answered no nodes; answers NOEXIST, re-pulled only when stale. */
export const RouteState = { PULLING: 0, NEW: 1, EMPTY: 2 } as const;
export type RouteState = (typeof RouteState)[keyof typeof RouteState];

/** The state change a report caused (CAPPED: an overload max_ejection_percent refused). */
export const Change = { NONE: 0, TO_OVERLOAD: 1, TO_IDLE: 2, CAPPED: 3 } as const;
export type Change = (typeof Change)[keyof typeof Change];

/** A node of a route, with its state-machine and policy state. */
export interface Node {
  readonly ip: number;
  readonly port: number;
  /** 1..10000. */
  weight: number;
  zone: string;
  vsucc: number;
  verr: number;
  rsucc: number;
  rerr: number;
  continSucc: number;
  continErr: number;
  overload: boolean;
  idleTs: number;
  overloadTs: number;
  /** Links in the idle or overload FIFO (node indices, NONE at the ends). */
  prev: number;
  next: number;
  /** Zone-aware routing: in the agent's zone; links in the idle list of its zone set while idle. */
  local: boolean;
  zprev: number;
  znext: number;
  usetimeSumUs: number;
  usetimeMaxUs: number;
  timedCalls: number;
  /** picks - reports since the last state change or window, never below 0 (least_latency). */
  outstanding: number;
  /** Ejection backoff: overloads in a row, and when the node last came back from overload. */
  ejectStreak: number;
  cameBack: boolean;
  backTs: number;
  /** Policy state that survives route updates (weighted_round_robin, least_latency). */
  current: number;
  hasSample: boolean;
  ewmaUs: number;
  ewmaTs: number;
  /** Cumulative, never reset (per-node metrics, read on scrape): picks, reports by result, timed calls. */
  picks: number;
  callsSucc: number;
  callsErr: number;
  usetimeTotalUs: number;
  /** Calls per bucket of USETIME_BOUNDS_US (not cumulative), the last one above every bound. */
  usetimeBuckets: number[];
}

/** Call-time histogram bounds (µs, Prometheus `le`); one more bucket holds longer calls. Same as native/balancer/types.h. */
export const USETIME_BOUNDS_US: readonly number[] = [100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000];

/** The bucket of a call time: the first bound it does not exceed, else the last (+Inf) bucket. */
function usetimeBucket(usetimeUs: number): number {
  let b = 0;
  while (b < USETIME_BOUNDS_US.length && usetimeUs > USETIME_BOUNDS_US[b]!) b++;
  return b;
}

/** Fields per node of NodeStats.values: these, then one count per call-time bucket. */
export const NodeStatField = { MODID: 0, CMDID: 1, IP: 2, PORT: 3, OVERLOAD: 4, PICKS: 5, SUCC: 6, ERR: 7, USETIME_SUM: 8, BUCKETS: 9 } as const;
export const NODE_STAT_FIELDS = NodeStatField.BUCKETS + USETIME_BOUNDS_US.length + 1;

/** Every node's cumulative counters, packed (routes in creation order, nodes in join order):
 * NODE_STAT_FIELDS numbers and one zone per node. */
export interface NodeStats {
  /** Nodes held, including those past the limit (not copied). */
  total: number;
  readonly values: Float64Array;
  readonly zones: string[];
}

/** A FIFO of nodes linked by index through the nodes themselves. */
interface NodeList {
  head: number;
  tail: number;
  size: number;
}

/** The link fields a NodeList threads through: the idle/overload FIFO's, or a zone set's idle list's. */
type Links = readonly ['prev', 'next'] | readonly ['zprev', 'znext'];
const FIFO_LINKS: Links = ['prev', 'next'];
const ZONE_LINKS: Links = ['zprev', 'znext'];

/** The zone rule's state of one zone-active route (docs/policies.md), read on demand. */
export interface ZoneStatus {
  readonly modid: number;
  readonly cmdid: number;
  readonly localNodes: number;
  readonly localHealthy: number;
  readonly otherNodes: number;
  readonly otherHealthy: number;
  /** The probability that an ordinary pick goes to the local set now. */
  readonly localShare: number;
}

export function validPort(port: number): boolean {
  return port >= 0 && port <= 65535;
}

/** What Route.pick answers: a node index, or NONE (every node overloaded, no probe due). */
export const NONE = -1;

/** The node map key: unique for ip int32 and port 0..65535, exact below 2^48. */
function nodeKey(ip: number, port: number): number {
  return (ip >>> 0) * 65536 + port;
}

/** What Route.pick answers besides the node. */
export interface PickFlags {
  /** The node came from the overload list. */
  probe: boolean;
  /** Chosen among all nodes (panic_threshold). */
  panic: boolean;
  /** The zone set of an ordinary pick of a zone-active route; else ANY. */
  zoneSet: ZoneSet;
}

/** What a Route reads of the balancer's config: the [loadbalance] parameters and the agent's zone ('' or absent = off). */
export type RouteConfig = LoadBalanceConfig & { readonly zone?: string };

export class Route {
  readonly modid: number;
  readonly cmdid: number;
  state: RouteState = RouteState.PULLING;
  lastUpdate: number;
  /** Every node, in the order it joined the route (for policies: read, and their own fields written). */
  nodes: Node[] = [];
  policy: RoutePolicy = DEFAULT_ROUTE_POLICY;
  private readonly config: RouteConfig;
  private index = new Map<number, number>();
  private readonly idle: NodeList = { head: NONE, tail: NONE, size: 0 };
  private readonly overloaded: NodeList = { head: NONE, tail: NONE, size: 0 };
  /** Idle nodes in join order, rebuilt when stale (also per zone set: other [0], local [1]); and 0..n-1. */
  private healthySet: number[] = [];
  private zoneHealthy: [number[], number[]] = [[], []];
  private healthyStale = true;
  private all: number[] = [];
  private chooser: Policy;
  private policyKnown = true;
  private zoneActiveFlag = false;
  /** Idle nodes of the other [0] and the local [1] zone set, in idle-FIFO order. */
  private readonly zoneIdle: [NodeList, NodeList] = [
    { head: NONE, tail: NONE, size: 0 },
    { head: NONE, tail: NONE, size: 0 },
  ];
  /** Local nodes, healthy or not. */
  private localCount = 0;
  private accessCnt = 0;
  // Report-interval bookkeeping.
  private active = false;
  private reported = false;
  private lastReport = 0;

  /** A new route is empty and PULLING, runs `lars` with every knob off. */
  constructor(config: RouteConfig, modid: number, cmdid: number, now: number) {
    this.config = config;
    this.modid = modid;
    this.cmdid = cmdid;
    this.lastUpdate = now;
    this.chooser = makePolicy(this.policy.name).policy;
  }

  get empty(): boolean {
    return this.nodes.length === 0;
  }

  get idleCount(): number {
    return this.idle.size;
  }

  get overloadCount(): number {
    return this.overloaded.size;
  }

  /** Zone-aware routing applies to this route's ordinary picks. */
  get zoneActive(): boolean {
    return this.zoneActiveFlag;
  }

  /** The first idle node of a zone set in the idle FIFO, moved to the FIFO's tail (`lars`). A zone
   * set's idle nodes are linked in idle-FIFO order, so this serves the set in the FIFO's cyclic
   * order and leaves every other node's order as it was, in O(1) (docs/policies.md). */
  rotateIdle(set: ZoneSet): number {
    return this.rotate(this.idle, set === ZoneSet.ANY ? this.idle.head : this.zoneIdle[set === ZoneSet.LOCAL ? 1 : 0].head);
  }

  /** Whether node i is in a zone set (ring_hash). */
  inZoneSet(i: number, set: ZoneSet): boolean {
    return set === ZoneSet.ANY || this.nodes[i]!.local === (set === ZoneSet.LOCAL);
  }

  /** The zone rule's state (valid when zoneActive). */
  zoneStatus(): ZoneStatus {
    return {
      modid: this.modid,
      cmdid: this.cmdid,
      localNodes: this.localCount,
      localHealthy: this.zoneIdle[1].size,
      otherNodes: this.nodes.length - this.localCount,
      otherHealthy: this.zoneIdle[0].size,
      localShare: this.localShare(),
    };
  }

  /** get_host on a non-empty route: a node index, or NONE (RET_OVERLOAD). Sets flags. */
  pick(input: PickInput, flags: PickFlags): number {
    flags.probe = false;
    flags.panic = false;
    flags.zoneSet = ZoneSet.ANY;
    input.zoneSet = ZoneSet.ANY;
    const n = this.nodes.length;
    const panic = this.policy.panicThreshold;
    let i: number;
    if (panic > 0 && this.idle.size * 100 < panic * n) {
      i = this.chooser.choose(this, this.all, false, input);
      this.nodes[i]!.outstanding++;
      this.nodes[i]!.picks++;
      flags.panic = true;
      return i;
    }
    let probe = false;
    const probeNum = this.config.probeNum;
    if (this.idle.size === 0) {
      if (this.accessCnt < probeNum) {
        this.accessCnt++;
        return NONE;
      }
      this.accessCnt = 0;
      probe = true;
    } else if (this.overloaded.size === 0) {
      // ordinary pick
    } else if (this.accessCnt >= probeNum) {
      this.accessCnt = 0;
      probe = true;
    } else {
      this.accessCnt++;
    }
    if (probe) {
      // Overloaded nodes are probed head to tail, whatever the policy and whichever zone they are in:
      // probes stay route-wide, so a zone whose nodes are all overloaded is still probed and comes
      // back within one overload_timeout (our reading of "probes per set", docs/policies.md).
      i = this.rotate(this.overloaded);
    } else {
      const allHealthy = this.healthy();
      if (this.zoneActiveFlag) input.zoneSet = this.chooseZoneSet(input);
      const candidates = input.zoneSet === ZoneSet.ANY ? allHealthy : this.zoneHealthy[input.zoneSet === ZoneSet.LOCAL ? 1 : 0];
      i = this.chooser.choose(this, candidates, true, input);
    }
    this.nodes[i]!.outstanding++;
    this.nodes[i]!.picks++;
    flags.probe = probe;
    flags.zoneSet = input.zoneSet;
    return i;
  }

  /** A call result (usetimeUs 0 = not measured); `undefined` when the node is not in the route
   * (ignored), else the state change. */
  report(ip: number, port: number, retcode: number, usetimeUs: number, now: number): Change | undefined {
    if (!validPort(port)) return undefined;
    const i = this.index.get(nodeKey(ip, port));
    if (i === undefined) return undefined;
    const n = this.nodes[i]!;
    const cfg = this.config;
    this.active = true;
    const ok = retcode === RetCode.SUCC;
    if (ok) {
      n.vsucc++;
      n.rsucc++;
      n.callsSucc++;
      n.continSucc++;
      n.continErr = 0;
    } else {
      n.verr++;
      n.rerr++;
      n.callsErr++;
      n.continErr++;
      n.continSucc = 0;
    }
    if (n.outstanding > 0) n.outstanding--;
    if (usetimeUs > 0) {
      n.usetimeSumUs += usetimeUs;
      n.usetimeMaxUs = Math.max(n.usetimeMaxUs, usetimeUs);
      n.timedCalls++;
      n.usetimeTotalUs += usetimeUs;
      n.usetimeBuckets[usetimeBucket(usetimeUs)]!++;
      this.chooser.onTimedReport(this, i, usetimeUs, now);
    }
    const total = n.vsucc + n.verr;
    if (!n.overload && !ok) {
      if (n.verr / total > cfg.errRate || n.continErr >= cfg.continErrLimit) return this.eject(i, now);
    } else if (n.overload && ok) {
      if (n.vsucc / total > cfg.succRate || n.continSucc >= cfg.continSuccLimit) {
        this.recover(i, now);
        return Change.TO_IDLE;
      }
    }
    if (!n.overload) {
      if (now - n.idleTs >= cfg.idleTimeoutMs) {
        const real = n.rsucc + n.rerr;
        if (real > 0 && n.rerr / real >= cfg.windowErrRate) return this.eject(i, now);
        this.toIdle(n, now); // a new window; the node keeps its place in the idle list
      }
    } else if (now - n.overloadTs >= this.overloadTimeout(n)) {
      this.recover(i, now);
      return Change.TO_IDLE;
    }
    return Change.NONE;
  }

  /**
   * Replaces the host set and the policy (undefined: `lars`, every knob off): new hosts join idle,
   * gone hosts leave every structure, the others keep their state and take their new weight. Hosts
   * with a port outside 0..65535 and duplicates are skipped. Returns the number of hosts kept and
   * whether the policy's name was unknown. Sets lastUpdate and the state: NEW, or EMPTY when no host is kept.
   */
  apply(hosts: readonly RouteHost[], policy: RoutePolicy | undefined, now: number): { kept: number; unknownPolicy: boolean } {
    const next = policy ?? DEFAULT_ROUTE_POLICY;
    if (next.name !== this.policy.name) {
      const made = makePolicy(next.name);
      this.chooser = made.policy;
      this.policyKnown = made.known;
    }
    this.policy = next;

    // The first occurrence of each valid address.
    const wanted = new Map<number, RouteHost>();
    for (const h of hosts) {
      const port = h.port | 0;
      if (!validPort(port)) continue;
      const key = nodeKey(h.ip | 0, port);
      if (!wanted.has(key)) wanted.set(key, h);
    }
    // Staying nodes keep their state and join order; gone nodes leave every structure.
    const old = this.nodes;
    const kept: Node[] = [];
    const remap = new Array<number>(old.length).fill(NONE);
    old.forEach((n, i) => {
      const h = wanted.get(nodeKey(n.ip, n.port));
      if (h === undefined) return;
      remap[i] = kept.length;
      n.weight = effectiveWeight(h.weight);
      n.zone = h.zone ?? '';
      kept.push(n);
    });
    const idleOrder: number[] = [];
    const overloadOrder: number[] = [];
    for (let i = this.idle.head; i !== NONE; i = old[i]!.next) if (remap[i] !== NONE) idleOrder.push(remap[i]!);
    for (let i = this.overloaded.head; i !== NONE; i = old[i]!.next) if (remap[i] !== NONE) overloadOrder.push(remap[i]!);
    for (const [key, h] of wanted) {
      if (this.index.has(key)) continue; // staying
      const n: Node = {
        ip: h.ip | 0,
        port: h.port | 0,
        weight: effectiveWeight(h.weight),
        zone: h.zone ?? '',
        vsucc: 0,
        verr: 0,
        rsucc: 0,
        rerr: 0,
        continSucc: 0,
        continErr: 0,
        overload: false,
        idleTs: 0,
        overloadTs: 0,
        prev: NONE,
        next: NONE,
        local: false,
        zprev: NONE,
        znext: NONE,
        usetimeSumUs: 0,
        usetimeMaxUs: 0,
        timedCalls: 0,
        outstanding: 0,
        ejectStreak: 0,
        cameBack: false,
        backTs: 0,
        current: 0,
        hasSample: false,
        ewmaUs: 0,
        ewmaTs: 0,
        picks: 0,
        callsSucc: 0,
        callsErr: 0,
        usetimeTotalUs: 0,
        usetimeBuckets: new Array<number>(USETIME_BOUNDS_US.length + 1).fill(0),
      };
      this.toIdle(n, now);
      idleOrder.push(kept.length);
      kept.push(n);
    }
    this.nodes = kept;
    // Zone-aware routing: the agent has a zone, the module an overprovision factor, some node a zone.
    const zone = this.config.zone ?? '';
    this.zoneActiveFlag = zone !== '' && this.policy.zoneOverprovision > 0 && kept.some((n) => n.zone !== '');
    this.localCount = 0;
    for (const n of kept) {
      n.local = this.zoneActiveFlag && n.zone === zone;
      if (n.local) this.localCount++;
    }
    for (const list of [this.idle, this.overloaded, ...this.zoneIdle]) {
      list.head = list.tail = NONE;
      list.size = 0;
    }
    for (const i of idleOrder) this.pushBack(this.idle, i);
    for (const i of overloadOrder) this.pushBack(this.overloaded, i);
    this.index = new Map();
    this.all = [];
    kept.forEach((n, i) => {
      this.index.set(nodeKey(n.ip, n.port), i);
      this.all.push(i);
    });
    this.healthyStale = true;
    this.chooser.onHostsChanged(this);

    this.lastUpdate = now;
    this.state = kept.length === 0 ? RouteState.EMPTY : RouteState.NEW;
    // An EMPTY route has no node to report on: activity of the nodes just removed is dropped with them.
    if (kept.length === 0) this.active = false;
    return { kept: kept.length, unknownPolicy: !this.policyKnown };
  }

  /** Every node, in the order it joined the route. */
  hosts(): HostAddr[] {
    return this.nodes.map((n) => ({ ip: n.ip, port: n.port }));
  }

  /** Appends every node's cumulative counters (join order) while fewer than `limit` nodes are
   * there: node k's numbers at k * NODE_STAT_FIELDS of `values` (sized for them), its zone in `zones`. */
  appendNodeStats(values: Float64Array, zones: string[], limit: number): void {
    for (const n of this.nodes) {
      if (zones.length >= limit) return;
      const at = zones.length * NODE_STAT_FIELDS;
      values[at + NodeStatField.MODID] = this.modid;
      values[at + NodeStatField.CMDID] = this.cmdid;
      values[at + NodeStatField.IP] = n.ip;
      values[at + NodeStatField.PORT] = n.port;
      values[at + NodeStatField.OVERLOAD] = n.overload ? 1 : 0;
      values[at + NodeStatField.PICKS] = n.picks;
      values[at + NodeStatField.SUCC] = n.callsSucc;
      values[at + NodeStatField.ERR] = n.callsErr;
      values[at + NodeStatField.USETIME_SUM] = n.usetimeTotalUs;
      values.set(n.usetimeBuckets, at + NodeStatField.BUCKETS);
      zones.push(n.zone);
    }
  }

  /** The per-node lines of a status report: idle list, then overload list. */
  results(): NodeResult[] {
    const out: NodeResult[] = [];
    for (const list of [this.idle, this.overloaded]) {
      for (let i = list.head; i !== NONE; i = this.nodes[i]!.next) {
        const n = this.nodes[i]!;
        out.push({
          ip: n.ip,
          port: n.port,
          succ: n.rsucc,
          err: n.rerr,
          overload: n.overload,
          usetimeSumUs: n.usetimeSumUs,
          usetimeMaxUs: n.usetimeMaxUs,
          timedCalls: n.timedCalls,
        });
      }
    }
    return out;
  }

  reportDue(now: number, intervalMs: number): boolean {
    return this.active && (!this.reported || now - this.lastReport >= intervalMs);
  }

  markReported(now: number): void {
    this.active = false;
    this.reported = true;
    this.lastReport = now;
  }

  private healthy(): number[] {
    if (this.healthyStale) {
      this.healthySet = [];
      this.zoneHealthy = [[], []];
      this.nodes.forEach((n, i) => {
        if (n.overload) return;
        this.healthySet.push(i);
        if (this.zoneActiveFlag) this.zoneHealthy[n.local ? 1 : 0].push(i);
      });
      this.healthyStale = false;
    }
    return this.healthySet;
  }

  /** min(1, h × F / 100), h = the healthy share of the local nodes (0 without local nodes). */
  private localShare(): number {
    if (this.localCount === 0) return 0;
    const h = this.zoneIdle[1].size / this.localCount;
    return Math.min(1, (h * this.policy.zoneOverprovision) / 100);
  }

  /** The zone set of an ordinary pick: local with probability localShare() (one draw only when it
   * is strictly between 0 and 1), the other set when the chosen one has no healthy node. */
  private chooseZoneSet(input: PickInput): ZoneSet {
    const p = this.localShare();
    let local: boolean;
    if (p >= 1) local = true;
    else if (p <= 0) local = false;
    else local = input.rng.next() < Math.floor(p * 4294967296);
    // E.g. every other-zone node overloaded while some local ones serve: they take the pick.
    if (this.zoneIdle[local ? 1 : 0].size === 0) local = !local;
    return local ? ZoneSet.LOCAL : ZoneSet.OTHER;
  }

  /** On idle or overloaded; idle keeps the zone sets' idle lists in step on a zone-active route. */
  private pushBack(list: NodeList, i: number): void {
    this.append(list, i, FIFO_LINKS);
    if (list === this.idle && this.zoneActiveFlag) this.append(this.zoneIdle[this.nodes[i]!.local ? 1 : 0], i, ZONE_LINKS);
  }

  private unlink(list: NodeList, i: number): void {
    this.detach(list, i, FIFO_LINKS);
    if (list === this.idle && this.zoneActiveFlag) this.detach(this.zoneIdle[this.nodes[i]!.local ? 1 : 0], i, ZONE_LINKS);
  }

  private append(list: NodeList, i: number, [prev, next]: Links): void {
    const n = this.nodes[i]!;
    n[prev] = list.tail;
    n[next] = NONE;
    if (list.tail === NONE) list.head = i;
    else this.nodes[list.tail]![next] = i;
    list.tail = i;
    list.size++;
  }

  private detach(list: NodeList, i: number, [prev, next]: Links): void {
    const n = this.nodes[i]!;
    if (n[prev] === NONE) list.head = n[next];
    else this.nodes[n[prev]]![next] = n[next];
    if (n[next] === NONE) list.tail = n[prev];
    else this.nodes[n[next]]![prev] = n[prev];
    n[prev] = n[next] = NONE;
    list.size--;
  }

  /** Moves node i (default: the head) to the tail and returns it (round robin). The list must not be empty. */
  private rotate(list: NodeList, i = list.head): number {
    if (list.size > 1) {
      this.unlink(list, i);
      this.pushBack(list, i);
    }
    return i;
  }

  private move(from: NodeList, to: NodeList, i: number): void {
    this.unlink(from, i);
    this.pushBack(to, i);
    this.healthyStale = true;
  }

  /** An idle node the rules overload: moved, unless max_ejection_percent forbids it. */
  private eject(i: number, now: number): Change {
    const n = this.nodes[i]!;
    const cap = this.policy.maxEjectionPercent === 0 ? 100 : this.policy.maxEjectionPercent;
    if ((this.overloaded.size + 1) * 100 > cap * this.nodes.length) {
      this.toIdle(n, now); // stays in service: a new window
      return Change.CAPPED;
    }
    const flapping = n.cameBack && now - n.backTs < this.config.idleTimeoutMs;
    n.ejectStreak = flapping ? n.ejectStreak + 1 : 1;
    this.toOverload(n, now);
    this.move(this.idle, this.overloaded, i);
    return Change.TO_OVERLOAD;
  }

  private recover(i: number, now: number): void {
    const n = this.nodes[i]!;
    this.toIdle(n, now);
    n.cameBack = true;
    n.backTs = now;
    this.move(this.overloaded, this.idle, i);
  }

  private overloadTimeout(n: Node): number {
    const max = this.policy.ejectionBackoffMaxMs;
    if (max === 0) return this.config.overloadTimeoutMs;
    return Math.min(this.config.overloadTimeoutMs * n.ejectStreak, max);
  }

  private toIdle(n: Node, now: number): void {
    n.vsucc = this.config.initSuccCnt;
    n.verr = 0;
    n.rsucc = n.rerr = 0;
    n.continSucc = n.continErr = 0;
    n.overload = false;
    n.idleTs = now;
    n.usetimeSumUs = n.usetimeMaxUs = n.timedCalls = 0;
    n.outstanding = 0;
  }

  private toOverload(n: Node, now: number): void {
    n.vsucc = 0;
    n.verr = this.config.initErrCnt;
    n.rsucc = n.rerr = 0;
    n.continSucc = n.continErr = 0;
    n.overload = true;
    n.overloadTs = now;
    n.usetimeSumUs = n.usetimeMaxUs = n.timedCalls = 0;
    n.outstanding = 0;
  }
}
