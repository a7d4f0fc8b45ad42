// The live call status behind the Call status page. Polls store.listCallStatus() every
// `intervalMs` (one query, however many browsers watch), works out which rows changed, and keeps
// each module's chart history: one point per poll, the sum of succ_cnt and of err_cnt over the
// module's rows as the agents last reported them. The history lives only in this process (a
// restart starts the charts empty) and covers the last `historyMs`. Event-loop only.
import { createLogger } from '../log.js';
import type { CallStatus, Store } from '../store/store.js';
import { moduleKey } from '../wire/module-key.js';

const log = createLogger('web');

/** A ServerCallStatus row with its key "modid/cmdid/ip:port/caller". */
export interface StatusRow extends CallStatus {
  readonly key: string;
}

export interface ModuleSeries {
  /** Unix seconds (fractions allowed) of each point. */
  readonly t: number[];
  readonly succ: number[];
  readonly err: number[];
}

/** What a browser receives first on the WebSocket. */
export interface StatusSnapshot {
  readonly type: 'snapshot';
  readonly t: number;
  readonly storeUp: boolean;
  readonly rows: readonly StatusRow[];
  /** Keyed by "modid/cmdid". */
  readonly series: Readonly<Record<string, ModuleSeries>>;
}

/** What every browser receives after each poll. */
export interface StatusUpdate {
  readonly type: 'update';
  readonly t: number;
  readonly storeUp: boolean;
  /** Rows that are new or differ from the previous poll. */
  readonly upsert: readonly StatusRow[];
  /** Keys of rows gone since the previous poll. */
  readonly remove: readonly string[];
  /** This poll's chart point of each module: [succ, err]. */
  readonly points: Readonly<Record<string, readonly [number, number]>>;
}

export interface StatusMonitorOptions {
  readonly store: Pick<Store, 'listCallStatus'>;
  readonly intervalMs?: number;
  readonly historyMs?: number;
  readonly now?: () => number;
}

export const rowKey = (r: CallStatus): string => `${moduleKey(r.modid, r.cmdid)}/${r.ip}:${r.port}/${r.caller}`;

const sameRow = (a: CallStatus, b: CallStatus): boolean =>
  a.succCnt === b.succCnt && a.errCnt === b.errCnt && a.ts === b.ts && a.overload === b.overload;

export class StatusMonitor {
  private rows = new Map<string, StatusRow>();
  private readonly series = new Map<string, ModuleSeries>();
  private readonly listeners = new Set<(u: StatusUpdate) => void>();
  private readonly intervalMs: number;
  private readonly historyMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private storeUp = true;

  constructor(private readonly options: StatusMonitorOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.historyMs = options.historyMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
  }

  onUpdate(listener: (u: StatusUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Polls at once, then every intervalMs (never two polls at a time). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = (): void => {
      this.running = this.poll().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.intervalMs);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  snapshot(): StatusSnapshot {
    const series: Record<string, ModuleSeries> = {};
    for (const [k, s] of this.series) series[k] = { t: [...s.t], succ: [...s.succ], err: [...s.err] };
    return { type: 'snapshot', t: this.now() / 1000, storeUp: this.storeUp, rows: [...this.rows.values()], series };
  }

  /** One poll: read, diff, extend the charts, tell the listeners. Never throws. */
  async poll(): Promise<void> {
    let list: CallStatus[];
    try {
      list = await this.options.store.listCallStatus();
      if (!this.storeUp) log.info('call status: the store answers again');
      this.storeUp = true;
    } catch (err) {
      if (this.storeUp) log.warn(`call status: cannot read the store (${(err as Error).message}); showing the last rows read`);
      this.storeUp = false;
      this.emit({ type: 'update', t: this.now() / 1000, storeUp: false, upsert: [], remove: [], points: {} });
      return;
    }
    const t = this.now() / 1000;
    const next = new Map<string, StatusRow>();
    const upsert: StatusRow[] = [];
    const sums = new Map<string, [number, number]>();
    for (const r of list) {
      const key = rowKey(r);
      const row: StatusRow = { ...r, key };
      next.set(key, row);
      const before = this.rows.get(key);
      if (before === undefined || !sameRow(before, row)) upsert.push(row);
      const mk = moduleKey(r.modid, r.cmdid);
      const sum = sums.get(mk) ?? [0, 0];
      sum[0] += r.succCnt;
      sum[1] += r.errCnt;
      sums.set(mk, sum);
    }
    const remove = [...this.rows.keys()].filter((k) => !next.has(k));
    this.rows = next;

    const points: Record<string, [number, number]> = {};
    for (const [mk, [succ, err]] of sums) {
      let s = this.series.get(mk);
      if (s === undefined) {
        s = { t: [], succ: [], err: [] };
        this.series.set(mk, s);
      }
      s.t.push(t);
      s.succ.push(succ);
      s.err.push(err);
      points[mk] = [succ, err];
    }
    const oldest = t - this.historyMs / 1000;
    for (const [mk, s] of this.series) {
      let drop = 0;
      while (drop < s.t.length && (s.t[drop] as number) < oldest) drop++;
      if (drop > 0) {
        s.t.splice(0, drop);
        s.succ.splice(0, drop);
        s.err.splice(0, drop);
      }
      if (s.t.length === 0) this.series.delete(mk);
    }
    this.emit({ type: 'update', t, storeUp: true, upsert, remove, points });
  }

  private emit(update: StatusUpdate): void {
    for (const l of this.listeners) l(update);
  }
}
