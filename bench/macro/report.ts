// Macro: ServerCallStatus rows per second the Report service stores, from 100 agent connections
// (bench/native/report-load: ReportStatusRequest frames of 10 results each, keys that never repeat
// within a run, so coalescing cannot hide rows), into MariaDB and into the embedded store (SQLite),
// with the native and the TypeScript network side.
//
// The offer rises step by step until the rows the service holds start to grow: from there on the
// service, not the generator, is the limit, and what it writes is its sustained rate. A window
// counts only when it lies wholly inside the steady load of its step: the generator was running
// at both ends, lost no connection, and really offered (wrote to its sockets) the step's rate.
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { performance } from 'node:perf_hooks';
import { tool } from '../lib/native-tools.js';
import { CpuMeter, Tool, freeTcpPort, scrapeMetrics, sleep, startDaemon, type Impl } from '../lib/process.js';
import { benchMain, implFigure, judge, type Figure } from '../lib/result.js';
import { median } from '../lib/stats.js';
import { createBenchStore, type BenchStore } from '../lib/store.js';

const CONNS = 100;
const KINDS = ['mysql', 'sqlite'] as const;
type Kind = (typeof KINDS)[number];
const RESULTS_PER_FRAME = 10;
/** Offered rows/s, one step after the other, until held rows grow. */
const OFFER_STEPS = [10_000, 20_000, 40_000, 60_000, 80_000, 100_000, 130_000, 160_000, 200_000];
/** Seconds at each new offer before its windows start (the buffer and the writers adapt). */
const SETTLE_S = 1;
/**
 * A window is inside the steady load when the generator offered at least this share of the step's
 * rate (on a shared machine the generator is sometimes late by a few percent within a window).
 */
const STEADY_SHARE = 0.8;
/**
 * Held rows grow when over a step's windows the service wrote less than this share of what it
 * was offered (the rest stays in its buffer; socket buffers only hold a bounded amount).
 */
const KEEPS_UP_SHARE = 0.9;
/** A process this busy (% of a core) is the limit; the service below it waits on its store. */
const BUSY_PERCENT = 90;

/** Counters at one moment: from the table, the generator and /proc. */
interface Sample {
  readonly t: number;
  readonly rowsInTable: number;
  readonly rowsSent: number;
  readonly closed: number;
}

interface Window {
  readonly offeredRowsPerS: number;
  readonly writtenRowsPerS: number;
  readonly reporterCpu: number;
  readonly generatorCpu: number;
  /** Wholly inside the steady load of its step; only such windows give figures. */
  readonly steady: boolean;
  readonly excluded?: string;
}

interface Step {
  readonly offerRowsPerS: number;
  readonly windows: Window[];
  /** Over the steady windows: written / offered; null without a steady window. */
  readonly writtenShare: number | null;
}

interface ComboRun {
  readonly steps: Step[];
  /** The first offer at which held rows grew; null when they never did. */
  readonly growthOffer: number | null;
  /** Why the ramp ended. */
  readonly limit: string;
  /** The steady windows of the step the figures come from. */
  readonly measured: Window[];
  /** Rows in the table at the end: equal to `written` unless keys repeated (then the table undercounts). */
  readonly rowsInTable: number;
  /** The service's own counters at the end (null when its /metrics did not answer). */
  readonly received: number | null;
  readonly written: number | null;
  readonly dropped: number | null;
}

/**
 * Counts ServerCallStatus rows from outside the service. Keys never repeat within a run, so rows in
 * the table = rows written; and unlike the service's /metrics this still answers when the service's
 * event loop is saturated.
 */
async function rowCounter(store: BenchStore): Promise<{ count(): Promise<number>; close(): Promise<void> }> {
  const s = store.settings;
  if (store.kind === 'sqlite') {
    const db = new Database(s['store.sqlite_path'] as string, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const stmt = db.prepare('SELECT COUNT(*) AS n FROM ServerCallStatus');
    return { count: async () => Number((stmt.get() as { n: number }).n), close: async () => {
        db.close();
      } };
  }
  const c = await createConnection({ host: s['mysql.db_host'], port: Number(s['mysql.db_port']), user: s['mysql.db_user'], password: s['mysql.db_passwd'], database: s['mysql.db_name'] });
  return {
    async count() {
      const [rows] = await c.query('SELECT COUNT(*) AS n FROM ServerCallStatus');
      return Number((rows as { n: number }[])[0]?.n ?? 0);
    },
    close: () => c.end(),
  };
}

/** Judges one window between two samples of a step offering `offer` rows/s. */
function judgeWindow(a: Sample, b: Sample, offer: number, reporterCpu: number, generatorCpu: number): Window {
  const s = (b.t - a.t) / 1000;
  const offeredRowsPerS = (b.rowsSent - a.rowsSent) / s;
  const writtenRowsPerS = (b.rowsInTable - a.rowsInTable) / s;
  let excluded: string | undefined;
  if (b.closed > a.closed) excluded = `the generator lost ${b.closed - a.closed} connection(s)`;
  else if (offeredRowsPerS < STEADY_SHARE * offer) excluded = `offered ${Math.round(offeredRowsPerS)} of ${offer} rows/s`;
  return { offeredRowsPerS, writtenRowsPerS, reporterCpu, generatorCpu, steady: excluded === undefined, ...(excluded ? { excluded } : {}) };
}

async function measureCombo(impl: Impl, kind: Kind, windows: number, windowS: number, warmS: number, log: (m: string) => void): Promise<ComboRun> {
  const store = await createBenchStore(kind);
  try {
    const adminPort = await freeTcpPort();
    const reporter = await startDaemon('reporter', {
      impl,
      settings: { ...store.settings, 'reactor.ip': '127.0.0.1', 'reactor.port': '0', 'admin.port': String(adminPort) },
    });
    const first = OFFER_STEPS[0] as number;
    const load = Tool.start(tool('report-load'), [
      '--port', String(reporter.port), '--conns', String(CONNS), '--results', String(RESULTS_PER_FRAME),
      '--seconds', '3600', '--rate', String(first / RESULTS_PER_FRAME),
    ]);
    const counter = await rowCounter(store);
    try {
      await load.next('ready', 20_000);
      // MariaDB starts slowly on a fresh table: warm up at the lowest offer.
      await sleep(warmS * 1000);
      const sample = async (): Promise<Sample> => {
        const [stats, rowsInTable] = await Promise.all([load.ask('stats', 'stats'), counter.count()]);
        return { t: performance.now(), rowsInTable, rowsSent: Number(stats.rows_sent), closed: Number(stats.closed) };
      };
      const steps: Step[] = [];
      let limit = `held rows never grew up to the highest offer, ${OFFER_STEPS.at(-1)} rows/s`;
      for (const offer of OFFER_STEPS) {
        load.child.stdin!.write(`rate ${offer / RESULTS_PER_FRAME}\n`);
        await sleep(SETTLE_S * 1000);
        const step: Window[] = [];
        let prev = await sample();
        for (let w = 0; w < windows; w++) {
          const cpu = new CpuMeter(reporter.pid);
          const genCpu = new CpuMeter(load.pid);
          await sleep(windowS * 1000);
          const next = await sample();
          const win = judgeWindow(prev, next, offer, cpu.percent(), genCpu.percent());
          step.push(win);
          log(
            `${impl} ${kind} offer ${offer}: offered ${Math.round(win.offeredRowsPerS)}, written ${Math.round(win.writtenRowsPerS)} rows/s, ` +
              `reporter ${win.reporterCpu}% CPU, generator ${win.generatorCpu}%${win.excluded ? ` (excluded: ${win.excluded})` : ''}`,
          );
          prev = next;
        }
        const steady = step.filter((w) => w.steady);
        const offered = steady.reduce((n, w) => n + w.offeredRowsPerS, 0);
        const writtenShare = steady.length === 0 ? null : steady.reduce((n, w) => n + w.writtenRowsPerS, 0) / offered;
        steps.push({ offerRowsPerS: offer, windows: step, writtenShare });
        if (writtenShare !== null && writtenShare < KEEPS_UP_SHARE) {
          const cpu = median(steady.map((w) => w.reporterCpu));
          limit =
            `held rows grow from ${offer} offered rows/s: the service is the limit` +
            (cpu >= BUSY_PERCENT ? ` (its CPU at ${cpu}%)` : ` (its writers wait on the store: the service's CPU at ${cpu}%)`);
          break;
        }
        if (steady.length === 0) {
          // The offer was not reached at all: say whose limit that is, and stop raising it.
          const genBusy = median(step.map((w) => w.generatorCpu)) >= BUSY_PERCENT;
          limit = genBusy
            ? `the generator could not offer ${offer} rows/s (its CPU at ${BUSY_PERCENT}% or more): a lower bound`
            : `the service did not read ${offer} offered rows/s (the generator was not busy): its network side is the limit`;
          break;
        }
      }
      const last = steps.at(-1);
      const growthOffer = last !== undefined && last.writtenShare !== null && last.writtenShare < KEEPS_UP_SHARE ? last.offerRowsPerS : null;
      // The figures: the last step with steady windows (where the service was the limit, if it was).
      const measured = [...steps].reverse().map((s) => s.windows.filter((w) => w.steady)).find((w) => w.length > 0) ?? [];
      await load.stop();
      const final = await scrapeMetrics(adminPort).catch(() => new Map<string, number>());
      const written = final.get('lars_reporter_rows_written_total') ?? null;
      // Written rows the table does not show were updates of keys already there: the count no
      // longer measures writes (as when the generator's keys wrapped around).
      const rowsInTable = await counter.count();
      if (written !== null && rowsInTable < written) limit += `; but ${written - rowsInTable} written rows repeated a key, so the table undercounts`;
      return {
        steps,
        rowsInTable,
        growthOffer,
        limit,
        measured,
        received: final.get('lars_reporter_rows_received_total') ?? null,
        written,
        dropped: final.get('lars_reporter_rows_dropped_total') ?? null,
      };
    } finally {
      await counter.close();
      await load.stop();
      await reporter.stop();
    }
  } finally {
    await store.dispose();
  }
}

void benchMain({
  name: 'report',
  title: 'Report service: ServerCallStatus rows/s stored',
  kind: 'macro',
  async run(ctx) {
    const windowS = ctx.quick ? 1 : 2;
    const notes: string[] = [];
    const results: Record<string, ComboRun> = {};
    for (const kind of KINDS) {
      for (const impl of ctx.impls) {
        try {
          const r = await measureCombo(impl, kind, ctx.runs, windowS, ctx.quick ? 1 : 3, ctx.log);
          results[`${impl}/${kind}`] = r;
          notes.push(`${impl} into ${kind}: ${r.limit}`);
          if ((r.dropped ?? 0) > 0) notes.push(`${impl} into ${kind}: the service dropped ${r.dropped} rows (buffer full)`);
        } catch (err) {
          notes.push(`${impl} into ${kind} not measured: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    const samples = (kind: Kind, f: (w: Window) => number): Partial<Record<Impl, number[]>> =>
      Object.fromEntries(ctx.impls.map((impl) => [impl, (results[`${impl}/${kind}`]?.measured ?? []).map(f)]));
    const growth = (kind: Kind): Partial<Record<Impl, number[]>> =>
      Object.fromEntries(ctx.impls.map((impl) => {
        const g = results[`${impl}/${kind}`]?.growthOffer;
        return [impl, g === null || g === undefined ? [] : [g]];
      }));
    const name = { mysql: 'MariaDB', sqlite: 'SQLite' } as const;
    const figures: Figure[] = [];
    for (const kind of KINDS) {
      const rows = implFigure(
        { id: `${kind}_rows_per_s`, label: `sustained rows/s written to ${name[kind]} (${CONNS} agent conns)`, unit: 'rows/s' },
        samples(kind, (w) => w.writtenRowsPerS),
      );
      figures.push(
        kind === 'mysql' ? { ...rows, target: '>= 50 000', met: judge(Math.max(rows.native ?? -1, rows.ts ?? -1), (v) => v >= 50_000) } : rows,
        implFigure({ id: `${kind}_growth_offer`, label: `offered rows/s at which held rows start to grow (${name[kind]})`, unit: 'rows/s' }, growth(kind)),
        implFigure({ id: `reporter_cpu_${kind}`, label: `Report service CPU at that rate (${name[kind]})`, unit: '% core' }, samples(kind, (w) => w.reporterCpu)),
      );
    }
    notes.push(
      `offers rise through ${OFFER_STEPS.join(', ')} rows/s; a figure comes only from windows wholly inside one step's steady load ` +
        `(the generator running, no connection lost, >= ${STEADY_SHARE * 100}% of the offer written to its sockets), ` +
        `from the step where held rows began to grow (written < ${KEEPS_UP_SHARE * 100}% of offered), or else the last steady step (then "at least")`,
    );
    return {
      figures,
      notes,
      details: { conns: CONNS, resultsPerFrame: RESULTS_PER_FRAME, offerSteps: OFFER_STEPS, settleSeconds: SETTLE_S, windowSeconds: windowS, combos: results },
    };
  },
});
