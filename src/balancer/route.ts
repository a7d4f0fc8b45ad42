// Route: the balancer state of one module (modid, cmdid) on one agent port — the `lars` policy of
// docs/spec/BALANCER.md. The TypeScript twin of native/balancer/route.cc: same structures, same
// order of operations, so both give the same answer to every call (test/balancer/differential.test.ts).
// Not thread-safe by design: one owner (the Balancer of one agent port).
import type { LoadBalanceConfig } from '../config/types.js';

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
}

/** PULLING: a pull is in flight. NEW: the route holds DNS's nodes (re-pulled when stale).
 * EMPTY: DNS answered no nodes; answers NOEXIST, re-pulled only when stale. */
export const RouteState = { PULLING: 0, NEW: 1, EMPTY: 2 } as const;
export type RouteState = (typeof RouteState)[keyof typeof RouteState];

/** The state change a report caused. */
export const Change = { NONE: 0, TO_OVERLOAD: 1, TO_IDLE: 2 } as const;
export type Change = (typeof Change)[keyof typeof Change];

interface Node {
  readonly ip: number;
  readonly port: number;
  vsucc: number;
  verr: number;
  rsucc: number;
  rerr: number;
  continSucc: number;
  continErr: number;
  overload: boolean;
  idleTs: number;
  overloadTs: number;
  // Links in the idle or overload FIFO (intrusive: O(1) moves and removals).
  prev: Node | null;
  next: Node | null;
}

/** A FIFO of nodes linked through the nodes themselves. */
interface NodeList {
  head: Node | null;
  tail: Node | null;
  size: number;
}

function pushBack(list: NodeList, n: Node): void {
  n.prev = list.tail;
  n.next = null;
  if (list.tail === null) list.head = n;
  else list.tail.next = n;
  list.tail = n;
  list.size++;
}

function unlink(list: NodeList, n: Node): void {
  if (n.prev === null) list.head = n.next;
  else n.prev.next = n.next;
  if (n.next === null) list.tail = n.prev;
  else n.next.prev = n.prev;
  n.prev = n.next = null;
  list.size--;
}

/** Moves the head to the tail and returns it (round robin). The list must not be empty. */
function rotate(list: NodeList): Node {
  const n = list.head as Node;
  if (list.size > 1) {
    unlink(list, n);
    pushBack(list, n);
  }
  return n;
}

/** The node map key: unique for ip int32 and port 0..65535, exact below 2^48. */
function nodeKey(ip: number, port: number): number {
  return (ip >>> 0) * 65536 + port;
}

export function validPort(port: number): boolean {
  return port >= 0 && port <= 65535;
}

/** What Route.pick answers: a node (SUCC, maybe a probe of an overloaded node) or OVERLOAD. */
export interface Choice {
  readonly retcode: RetCode;
  readonly ip: number;
  readonly port: number;
  readonly probe: boolean;
}

const OVERLOADED: Choice = Object.freeze({ retcode: RetCode.OVERLOAD, ip: 0, port: 0, probe: false });

export class Route {
  readonly modid: number;
  readonly cmdid: number;
  state: RouteState = RouteState.PULLING;
  lastUpdate: number;
  private readonly config: LoadBalanceConfig;
  /** Every node, in the order it joined the route. */
  private readonly nodes = new Map<number, Node>();
  private readonly idle: NodeList = { head: null, tail: null, size: 0 };
  private readonly overloaded: NodeList = { head: null, tail: null, size: 0 };
  private accessCnt = 0;
  // Report-interval bookkeeping.
  private active = false;
  private reported = false;
  private lastReport = 0;

  /** A new route is empty and PULLING: its first pull is being requested. */
  constructor(config: LoadBalanceConfig, modid: number, cmdid: number, now: number) {
    this.config = config;
    this.modid = modid;
    this.cmdid = cmdid;
    this.lastUpdate = now;
  }

  get empty(): boolean {
    return this.nodes.size === 0;
  }

  get idleCount(): number {
    return this.idle.size;
  }

  get overloadCount(): number {
    return this.overloaded.size;
  }

  /** get_host on a non-empty route. */
  pick(): Choice {
    let from: NodeList;
    let probe = false;
    const probeNum = this.config.probeNum;
    if (this.idle.size === 0) {
      if (this.accessCnt < probeNum) {
        this.accessCnt++;
        return OVERLOADED;
      }
      this.accessCnt = 0;
      from = this.overloaded;
      probe = true;
    } else if (this.overloaded.size === 0) {
      from = this.idle;
    } else if (this.accessCnt >= probeNum) {
      this.accessCnt = 0;
      from = this.overloaded;
      probe = true;
    } else {
      this.accessCnt++;
      from = this.idle;
    }
    const n = rotate(from);
    return { retcode: RetCode.SUCC, ip: n.ip, port: n.port, probe };
  }

  /** A call result; `undefined` when the node is not in the route (ignored), else the state change. */
  report(ip: number, port: number, retcode: number, now: number): Change | undefined {
    if (!validPort(port)) return undefined;
    const n = this.nodes.get(nodeKey(ip, port));
    if (n === undefined) return undefined;
    const cfg = this.config;
    this.active = true;
    const ok = retcode === RetCode.SUCC;
    if (ok) {
      n.vsucc++;
      n.rsucc++;
      n.continSucc++;
      n.continErr = 0;
    } else {
      n.verr++;
      n.rerr++;
      n.continErr++;
      n.continSucc = 0;
    }
    const total = n.vsucc + n.verr;
    if (!n.overload && !ok) {
      if (n.verr / total > cfg.errRate || n.continErr >= cfg.continErrLimit) {
        this.toOverload(n, now);
        unlink(this.idle, n);
        pushBack(this.overloaded, n);
        return Change.TO_OVERLOAD;
      }
    } else if (n.overload && ok) {
      if (n.vsucc / total > cfg.succRate || n.continSucc >= cfg.continSuccLimit) {
        this.toIdle(n, now);
        unlink(this.overloaded, n);
        pushBack(this.idle, n);
        return Change.TO_IDLE;
      }
    }
    if (!n.overload) {
      if (now - n.idleTs >= cfg.idleTimeoutMs) {
        const real = n.rsucc + n.rerr;
        if (real > 0 && n.rerr / real >= cfg.windowErrRate) {
          this.toOverload(n, now);
          unlink(this.idle, n);
          pushBack(this.overloaded, n);
          return Change.TO_OVERLOAD;
        }
        this.toIdle(n, now); // a new window; the node keeps its place in the idle list
      }
    } else if (now - n.overloadTs >= cfg.overloadTimeoutMs) {
      this.toIdle(n, now);
      unlink(this.overloaded, n);
      pushBack(this.idle, n);
      return Change.TO_IDLE;
    }
    return Change.NONE;
  }

  /**
   * Replaces the host set: new hosts join idle, gone hosts leave every structure, the others keep
   * their state. Hosts with a port outside 0..65535 and duplicates are skipped. Returns the number
   * of hosts kept. Sets lastUpdate and the state: NEW, or EMPTY when no host is kept.
   */
  apply(hosts: readonly HostAddr[], now: number): number {
    const wanted = new Set<number>();
    for (const h of hosts) {
      const port = h.port | 0;
      if (validPort(port)) wanted.add(nodeKey(h.ip | 0, port));
    }
    for (const [key, n] of this.nodes) {
      if (wanted.has(key)) continue;
      unlink(n.overload ? this.overloaded : this.idle, n);
      this.nodes.delete(key);
    }
    for (const h of hosts) {
      const ip = h.ip | 0;
      const port = h.port | 0;
      if (!validPort(port)) continue;
      const key = nodeKey(ip, port);
      if (this.nodes.has(key)) continue; // staying node, or a duplicate in this set
      const n: Node = {
        ip,
        port,
        vsucc: 0,
        verr: 0,
        rsucc: 0,
        rerr: 0,
        continSucc: 0,
        continErr: 0,
        overload: false,
        idleTs: 0,
        overloadTs: 0,
        prev: null,
        next: null,
      };
      this.toIdle(n, now);
      pushBack(this.idle, n);
      this.nodes.set(key, n);
    }
    this.lastUpdate = now;
    this.state = this.nodes.size === 0 ? RouteState.EMPTY : RouteState.NEW;
    // An EMPTY route has no node to report on: activity of the nodes just removed is dropped with them.
    if (this.nodes.size === 0) this.active = false;
    return this.nodes.size;
  }

  /** Every node, in the order it joined the route. */
  hosts(): HostAddr[] {
    const out: HostAddr[] = [];
    for (const n of this.nodes.values()) out.push({ ip: n.ip, port: n.port });
    return out;
  }

  /** The per-node lines of a status report: idle list, then overload list. */
  results(): NodeResult[] {
    const out: NodeResult[] = [];
    for (let n = this.idle.head; n !== null; n = n.next) {
      out.push({ ip: n.ip, port: n.port, succ: n.rsucc, err: n.rerr, overload: false });
    }
    for (let n = this.overloaded.head; n !== null; n = n.next) {
      out.push({ ip: n.ip, port: n.port, succ: n.rsucc, err: n.rerr, overload: true });
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

  private toIdle(n: Node, now: number): void {
    n.vsucc = this.config.initSuccCnt;
    n.verr = 0;
    n.rsucc = n.rerr = 0;
    n.continSucc = n.continErr = 0;
    n.overload = false;
    n.idleTs = now;
  }

  private toOverload(n: Node, now: number): void {
    n.vsucc = 0;
    n.verr = this.config.initErrCnt;
    n.rsucc = n.rerr = 0;
    n.continSucc = n.continErr = 0;
    n.overload = true;
    n.overloadTs = now;
  }
}
