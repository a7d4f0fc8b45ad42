// The live call status behind the Call status and Alarms pages. Polls store.listCallStatus()
// (and the per-module alarm thresholds) every `intervalMs` — one query each, however many
// browsers watch —, works out which rows changed, which modules are in alarm (AlarmEvaluator),
// and keeps each module's chart history: one point per poll from the second on, the calls per
// second and the error percentage of the calls made since the poll before. The history lives
// only in this process (a restart starts the charts empty) and covers the last `historyMs`.
// Event-loop only.
import { createLogger } from '../log.js';
import type { AlarmThreshold, CallStatus, Store } from '../store/store.js';
import { moduleKey } from '../wire/module-key.js';
import { AlarmEvaluator, type AlarmDefaults, type AlarmSettings, type ModuleAlarmState } from './alarm-evaluator.js';

const log = createLogger('web');

/** A ServerCallStatus row with its key "modid/cmdid/ip:port/caller". */
export interface StatusRow extends CallStatus {
  readonly key: string;
}

export interface ModuleSeries {
  /** Unix seconds (fractions allowed) of each point. */
  readonly t: number[];
  /** Calls per second since the poll before. */
  readonly rate: number[];
  /** Failures / calls since the poll before, in percent; null when there were no calls. */
  readonly errPct: (number | null)[];
  /** Average call time of the timed calls in the module's current windows (µs); null when none were timed. */
  readonly avgUs: (number | null)[];
}

/** What a browser receives first on the WebSocket. */
export interface StatusSnapshot {
  readonly type: 'snapshot';
  readonly t: number;
  readonly storeUp: boolean;
  readonly rows: readonly StatusRow[];
  /** Keyed by "modid/cmdid". */
  readonly series: Readonly<Record<string, ModuleSeries>>;
  /** The modules in alarm now. */
  readonly alarms: readonly ModuleAlarmState[];
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
  /** This poll's chart point of each module: [calls per second, error percent or null, average call time µs or null]. */
  readonly points: Readonly<Record<string, readonly [number, number | null, number | null]>>;
  /** The modules in alarm now (the whole list, every poll). */
  readonly alarms: readonly ModuleAlarmState[];
}

export interface StatusMonitorOptions {
  readonly store: Pick<Store, 'listCallStatus' | 'listAlarmThresholds'>;
  readonly alarms: AlarmSettings;
  readonly intervalMs?: number;
  readonly historyMs?: number;
  readonly now?: () => number;
}

export const rowKey = (r: CallStatus): string => `${moduleKey(r.modid, r.cmdid)}/${r.ip}:${r.port}/${r.caller}`;

const sameTime = (a: CallStatus['usetime'], b: CallStatus['usetime']): boolean =>
  a === b || (a !== undefined && b !== undefined && a.sumUs === b.sumUs && a.maxUs === b.maxUs && a.timedCalls === b.timedCalls);

const sameRow = (a: CallStatus, b: CallStatus): boolean =>
  a.succCnt === b.succCnt && a.errCnt === b.errCnt && a.ts === b.ts && a.overload === b.overload && a.zone === b.zone && sameTime(a.usetime, b.usetime);

/**
 * Calls a row stands for since its previous reading: the counts are those of the node's current
 * window, so they grow until the window ends and restart from zero after. Counts that grew: the
 * difference; counts that fell: a new window, all its calls are new. A row seen for the first
 * time is the baseline (its window's calls were made before this process looked).
 */
function newCalls(before: CallStatus | undefined, now: CallStatus): [number, number] {
  if (before === undefined) return [0, 0];
  if (now.succCnt >= before.succCnt && now.errCnt >= before.errCnt) return [now.succCnt - before.succCnt, now.errCnt - before.errCnt];
  return [now.succCnt, now.errCnt];
}

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
  private lastPollT: number | undefined;
  private alarms: ModuleAlarmState[] = [];
  private readonly evaluator: AlarmEvaluator;

  constructor(private readonly options: StatusMonitorOptions) {
    this.evaluator = new AlarmEvaluator(options.alarms);
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
    for (const [k, s] of this.series) series[k] = { t: [...s.t], rate: [...s.rate], errPct: [...s.errPct], avgUs: [...s.avgUs] };
    return { type: 'snapshot', t: this.now() / 1000, storeUp: this.storeUp, rows: [...this.rows.values()], series, alarms: this.alarms };
  }

  /** The defaults applied to modules without thresholds of their own. */
  get alarmDefaults(): AlarmDefaults {
    return this.evaluator.defaults;
  }

  /** One poll: read, diff, extend the charts, tell the listeners. Never throws. */
  async poll(): Promise<void> {
    let list: CallStatus[];
    let thresholds: AlarmThreshold[];
    try {
      [list, thresholds] = await Promise.all([this.options.store.listCallStatus(), this.options.store.listAlarmThresholds()]);
      if (!this.storeUp) log.info('call status: the store answers again');
      this.storeUp = true;
    } catch (err) {
      if (this.storeUp) log.warn(`call status: cannot read the store (${(err as Error).message}); showing the last rows read`);
      this.storeUp = false;
      // The alarms stay as last evaluated: nothing new is known about the modules.
      this.emit({ type: 'update', t: this.now() / 1000, storeUp: false, upsert: [], remove: [], points: {}, alarms: this.alarms });
      return;
    }
    const t = this.now() / 1000;
    const next = new Map<string, StatusRow>();
    const upsert: StatusRow[] = [];
    /** Per module: new successes, new failures, summed call time and timed calls of the current windows. */
    const sums = new Map<string, [number, number, number, number]>();
    for (const r of list) {
      const key = rowKey(r);
      const row: StatusRow = { ...r, key };
      next.set(key, row);
      const before = this.rows.get(key);
      if (before === undefined || !sameRow(before, row)) upsert.push(row);
      const mk = moduleKey(r.modid, r.cmdid);
      const sum = sums.get(mk) ?? [0, 0, 0, 0];
      const [succ, err] = newCalls(before, row);
      sum[0] += succ;
      sum[1] += err;
      sum[2] += row.usetime?.sumUs ?? 0;
      sum[3] += row.usetime?.timedCalls ?? 0;
      sums.set(mk, sum);
    }
    const remove = [...this.rows.keys()].filter((k) => !next.has(k));
    this.rows = next;
    this.alarms = this.evaluator.evaluate(next.values(), thresholds, t);

    const points: Record<string, [number, number | null, number | null]> = {};
    const since = this.lastPollT;
    this.lastPollT = t;
    for (const [mk, [succ, err, sumUs, timed]] of since === undefined || t <= since ? [] : sums) {
      let s = this.series.get(mk);
      if (s === undefined) {
        s = { t: [], rate: [], errPct: [], avgUs: [] };
        this.series.set(mk, s);
      }
      const calls = succ + err;
      const point: [number, number | null, number | null] = [calls / (t - (since as number)), calls === 0 ? null : (100 * err) / calls, timed === 0 ? null : sumUs / timed];
      s.t.push(t);
      s.rate.push(point[0]);
      s.errPct.push(point[1]);
      s.avgUs.push(point[2]);
      points[mk] = point;
    }
    const oldest = t - this.historyMs / 1000;
    for (const [mk, s] of this.series) {
      let drop = 0;
      while (drop < s.t.length && (s.t[drop] as number) < oldest) drop++;
      if (drop > 0) {
        s.t.splice(0, drop);
        s.rate.splice(0, drop);
        s.errPct.splice(0, drop);
        s.avgUs.splice(0, drop);
      }
      if (s.t.length === 0) this.series.delete(mk);
    }
    this.emit({ type: 'update', t, storeUp: true, upsert, remove, points, alarms: this.alarms });
  }

  private emit(update: StatusUpdate): void {
    for (const l of this.listeners) l(update);
  }
}
