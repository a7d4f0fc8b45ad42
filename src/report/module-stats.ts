// Per-module aggregates of the call status the Report service passes to its store, for
// Prometheus: calls by result (counters, so Prometheus computes calls/s), the error ratio of the
// nodes' current windows, and how many nodes are overloaded. Fed with each batch the writers
// take from either frontend's buffer, so one code path serves the native and the TS frontend.
//
// Agents report per node the real counts of the node's CURRENT window (BALANCER.md): they grow
// within a window and fall back to 0 when the window rolls or the node changes state. A count
// lower than the last one seen therefore starts a new window, and counts as calls from 0. Calls
// made between the last report of a window and its roll are not seen; the counters are a slight
// undercount, never an overcount.
import { moduleKey } from '../wire/module-key.js';
import type { CallStatus } from '../store/store.js';

/** A module no agent has reported for this long leaves /metrics. */
export const MODULE_TTL_MS = 5 * 60_000;
/** At most this many modules get series; reports for more are counted as dropped. */
export const MAX_MODULE_SERIES = 1000;
/**
 * While full, expired entries are looked for at most this often. A look visits every entry: once
 * per row that does not fit, a stream of new keys made the Report service spend a whole core here
 * (quadratic in the entries) and write 4 000 rows/s instead of 23 000.
 */
export const FULL_EXPIRY_EVERY_MS = 1000;

interface NodeView {
  succ: number;
  err: number;
  overload: boolean;
  seenAt: number;
}

interface ModuleView {
  readonly modid: number;
  readonly cmdid: number;
  succTotal: number;
  errTotal: number;
  /** The latest report of each (node, caller): `ip:port/caller`. */
  readonly nodes: Map<string, NodeView>;
}

export interface ModuleAggregate {
  readonly modid: number;
  readonly cmdid: number;
  readonly succTotal: number;
  readonly errTotal: number;
  /** Failures over calls in the nodes' current windows, 0 without calls. */
  readonly errorRatio: number;
  /** Distinct nodes (ip:port) reported. */
  readonly nodes: number;
  /** Distinct nodes that at least one agent reports overloaded. */
  readonly overloadedNodes: number;
}

export class ModuleStats {
  private readonly modules = new Map<string, ModuleView>();
  private nodeEntries = 0;
  /** When a full table may next look for expired entries. */
  private nextFullExpiry = 0;
  /** Rows not aggregated because the module or node cap was reached. */
  droppedRows = 0;

  /** `maxNodes` bounds the (node, caller) entries over all modules (the Report buffer's bound). */
  constructor(
    private readonly maxNodes: number,
    private readonly now: () => number = Date.now,
    private readonly maxModules = MAX_MODULE_SERIES,
    private readonly ttlMs = MODULE_TTL_MS,
  ) {}

  observe(rows: readonly CallStatus[]): void {
    const t = this.now();
    for (const r of rows) {
      const key = moduleKey(r.modid, r.cmdid);
      const nodeKey = `${r.ip}:${r.port}/${r.caller}`;
      let m = this.modules.get(key);
      const last = m?.nodes.get(nodeKey);
      if (last === undefined && !this.hasRoom(m === undefined, t)) {
        this.droppedRows++;
        continue;
      }
      m = this.modules.get(key); // expiring to make room may have removed it
      if (m === undefined) {
        m = { modid: r.modid, cmdid: r.cmdid, succTotal: 0, errTotal: 0, nodes: new Map() };
        this.modules.set(key, m);
      }
      if (last === undefined) this.nodeEntries++;
      const newWindow = last === undefined || r.succCnt < last.succ || r.errCnt < last.err;
      m.succTotal += newWindow ? r.succCnt : r.succCnt - last.succ;
      m.errTotal += newWindow ? r.errCnt : r.errCnt - last.err;
      m.nodes.set(nodeKey, { succ: r.succCnt, err: r.errCnt, overload: r.overload, seenAt: t });
    }
  }

  /** The modules reported within the TTL, read at scrape time. */
  snapshot(): ModuleAggregate[] {
    this.expire(this.now());
    return [...this.modules.values()].map((m) => {
      let succ = 0;
      let err = 0;
      const nodes = new Set<string>();
      const overloaded = new Set<string>();
      for (const [key, n] of m.nodes) {
        const node = key.slice(0, key.indexOf('/'));
        succ += n.succ;
        err += n.err;
        nodes.add(node);
        if (n.overload) overloaded.add(node);
      }
      return {
        modid: m.modid,
        cmdid: m.cmdid,
        succTotal: m.succTotal,
        errTotal: m.errTotal,
        errorRatio: succ + err > 0 ? err / (succ + err) : 0,
        nodes: nodes.size,
        overloadedNodes: overloaded.size,
      };
    });
  }

  /** Whether a new entry (and a new module) fits, after expiring old ones (at most every FULL_EXPIRY_EVERY_MS) if it would not. */
  private hasRoom(newModule: boolean, t: number): boolean {
    const fits = (): boolean => this.nodeEntries < this.maxNodes && (!newModule || this.modules.size < this.maxModules);
    if (fits()) return true;
    if (t < this.nextFullExpiry) return false;
    this.nextFullExpiry = t + FULL_EXPIRY_EVERY_MS;
    this.expire(t);
    return fits();
  }

  private expire(t: number): void {
    for (const [key, m] of this.modules) {
      for (const [nodeKey, n] of m.nodes) {
        if (t - n.seenAt < this.ttlMs) continue;
        m.nodes.delete(nodeKey);
        this.nodeEntries--;
      }
      if (m.nodes.size === 0) this.modules.delete(key);
    }
  }
}
