// Which modules are in alarm, from the call status rows the StatusMonitor reads each poll
// (docs/web.md, "Alarms"). A module is in alarm when, over its rows as last reported,
//   failures / calls (the nodes' current windows) >= its error-ratio threshold, or
//   overloaded nodes / nodes >= its overloaded-share threshold,
// with the thresholds of its ModuleAlarm row, else the [web] alarm_* defaults. Rows reported more
// than `maxReportAgeSec` before the evaluation are left out: a node nobody calls any more (removed,
// or its callers gone) keeps its last row in the table forever, and must not hold an alarm. "Since" is the
// first evaluation that found it in alarm; it is forgotten the first evaluation that does not.
// Event-loop only; the state lives in this process.
import type { AlarmThreshold, CallStatus } from '../store/store.js';
import { moduleKey } from '../wire/module-key.js';

export interface AlarmDefaults {
  readonly errorRatio: number;
  readonly overloadedShare: number;
}

export interface AlarmSettings {
  /** Thresholds of modules without their own ModuleAlarm row ([web] alarm_*). */
  readonly defaults: AlarmDefaults;
  /** [web] alarm_report_max_age, in seconds. */
  readonly maxReportAgeSec: number;
}

/** A module in alarm, as the Alarms page and the WebSocket show it. */
export interface ModuleAlarmState {
  /** "modid/cmdid". */
  readonly key: string;
  readonly modid: number;
  readonly cmdid: number;
  /** Unix seconds (fractions allowed) of the first evaluation that found the module in alarm. */
  readonly since: number;
  readonly calls: number;
  readonly errors: number;
  readonly errorRatio: number;
  readonly nodes: number;
  readonly overloadedNodes: number;
  readonly overloadedShare: number;
  /** The thresholds applied; `own` when they come from the module's ModuleAlarm row. */
  readonly thresholds: AlarmDefaults & { readonly own: boolean };
  /** Which thresholds are crossed, in words. */
  readonly reasons: readonly string[];
}

const percent = (x: number): string => `${Math.round(x * 1000) / 10}%`;

export class AlarmEvaluator {
  private readonly since = new Map<string, number>();

  constructor(private readonly settings: AlarmSettings) {}

  get defaults(): AlarmDefaults {
    return this.settings.defaults;
  }

  /** The modules in alarm now, ordered by modid, cmdid; `t` in unix seconds. */
  evaluate(rows: Iterable<CallStatus>, own: readonly AlarmThreshold[], t: number): ModuleAlarmState[] {
    const modules = new Map<string, { modid: number; cmdid: number; calls: number; errors: number; nodes: Map<string, boolean> }>();
    const oldest = t - this.settings.maxReportAgeSec;
    for (const r of rows) {
      if (r.ts < oldest) continue;
      const mk = moduleKey(r.modid, r.cmdid);
      let m = modules.get(mk);
      if (m === undefined) modules.set(mk, (m = { modid: r.modid, cmdid: r.cmdid, calls: 0, errors: 0, nodes: new Map() }));
      m.calls += r.succCnt + r.errCnt;
      m.errors += r.errCnt;
      // A node is overloaded when any caller currently sees it overloaded.
      const node = `${r.ip}:${r.port}`;
      m.nodes.set(node, (m.nodes.get(node) ?? false) || r.overload);
    }
    const ownByKey = new Map(own.map((o) => [moduleKey(o.modid, o.cmdid), o]));
    const alarms: ModuleAlarmState[] = [];
    for (const [mk, m] of modules) {
      const o = ownByKey.get(mk);
      const thresholds = { errorRatio: o?.errorRatio ?? this.defaults.errorRatio, overloadedShare: o?.overloadedShare ?? this.defaults.overloadedShare, own: o !== undefined };
      const errorRatio = m.calls === 0 ? 0 : m.errors / m.calls;
      const overloadedNodes = [...m.nodes.values()].filter(Boolean).length;
      const overloadedShare = overloadedNodes / m.nodes.size;
      const reasons: string[] = [];
      if (m.calls > 0 && errorRatio >= thresholds.errorRatio) reasons.push(`error ratio ${percent(errorRatio)} ≥ ${percent(thresholds.errorRatio)}`);
      if (overloadedNodes > 0 && overloadedShare >= thresholds.overloadedShare) {
        reasons.push(`${overloadedNodes} of ${m.nodes.size} nodes overloaded (${percent(overloadedShare)} ≥ ${percent(thresholds.overloadedShare)})`);
      }
      if (reasons.length === 0) continue;
      let since = this.since.get(mk);
      if (since === undefined) this.since.set(mk, (since = t));
      alarms.push({ key: mk, modid: m.modid, cmdid: m.cmdid, since, calls: m.calls, errors: m.errors, errorRatio, nodes: m.nodes.size, overloadedNodes, overloadedShare, thresholds, reasons });
    }
    const inAlarm = new Set(alarms.map((a) => a.key));
    for (const mk of this.since.keys()) if (!inAlarm.has(mk)) this.since.delete(mk);
    return alarms.sort((a, b) => a.modid - b.modid || a.cmdid - b.cmdid);
  }
}
