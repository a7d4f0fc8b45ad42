// Macro: ServerCallStatus rows per second the Report service stores, from 100 agent connections
// (bench/native/report-load: ReportStatusRequest frames of 10 results each, keys that never repeat
// within a run, so coalescing cannot hide rows), into MariaDB and into the embedded store (SQLite),
// with the native and the TypeScript network side. Rows written = rows counted in the table over
// consecutive windows of one steady load (the service's own counters are kept in the details).
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { performance } from 'node:perf_hooks';
import { tool } from '../lib/native-tools.js';
import { CpuMeter, Tool, freeTcpPort, scrapeMetrics, sleep, startDaemon, type Impl } from '../lib/process.js';
import { benchMain, implFigure, judge, type Figure } from '../lib/result.js';
import { createBenchStore, type BenchStore } from '../lib/store.js';

const CONNS = 100;
const KINDS = ['mysql', 'sqlite'] as const;
type Kind = (typeof KINDS)[number];
const RESULTS_PER_FRAME = 10;
/**
 * Frames offered per second over all connections: three times the MariaDB target, and more than
 * SQLite takes here. (An unlimited flood measures the service's overload behaviour instead: its
 * network side then spends the CPU the writers need.)
 */
const OFFERED_FRAMES_PER_S: Record<Kind, number> = { mysql: 15_000, sqlite: 15_000 };

interface Window {
  rowsWrittenPerS: number;
  reporterCpu: number;
}

/** The service's own counters at the end (null when its /metrics did not answer). */
interface ComboRun {
  windows: Window[];
  received: number | null;
  written: number | null;
  dropped: number | null;
  /** Rows the network side refused (bad port, or its queue to the writer full). */
  refusedByFrontend: number | null;
  generatorCpu: number;
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

async function measureCombo(impl: Impl, kind: Kind, runs: number, windowS: number, warmS: number, log: (m: string) => void): Promise<ComboRun> {
  const store = await createBenchStore(kind);
  try {
    const adminPort = await freeTcpPort();
    const reporter = await startDaemon('reporter', {
      impl,
      settings: { ...store.settings, 'reactor.ip': '127.0.0.1', 'reactor.port': '0', 'admin.port': String(adminPort) },
    });
    const load = Tool.start(tool('report-load'), [
      '--port', String(reporter.port), '--conns', String(CONNS), '--results', String(RESULTS_PER_FRAME),
      '--seconds', '3600', '--rate', String(OFFERED_FRAMES_PER_S[kind]),
    ]);
    try {
      await load.next('ready', 20_000);
      const genCpu = new CpuMeter(load.pid);
      await sleep(warmS * 1000);
      const windows: Window[] = [];
      const counter = await rowCounter(store);
      try {
        let prev = await counter.count();
        let t = performance.now();
        for (let r = 0; r < runs; r++) {
          const cpu = new CpuMeter(reporter.pid);
          await sleep(windowS * 1000);
          const rows = await counter.count();
          const t1 = performance.now();
          const w = { rowsWrittenPerS: (rows - prev) / ((t1 - t) / 1000), reporterCpu: cpu.percent() };
          windows.push(w);
          log(`${impl} ${kind} window ${r + 1}: ${Math.round(w.rowsWrittenPerS)} rows/s written, reporter ${w.reporterCpu}% CPU`);
          prev = rows;
          t = t1;
        }
      } finally {
        await counter.close();
      }
      const generatorCpu = genCpu.percent();
      await load.stop();
      const final = await scrapeMetrics(adminPort).catch(() => new Map<string, number>());
      await reporter.stop();
      return {
        windows,
        received: final.get('lars_reporter_rows_received_total') ?? null,
        written: final.get('lars_reporter_rows_written_total') ?? null,
        dropped: final.get('lars_reporter_rows_dropped_total') ?? null,
        refusedByFrontend: final.get('lars_reporter_bad_rows_total') ?? null,
        generatorCpu,
      };
    } finally {
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
    const windowS = ctx.quick ? 1 : 3;
    const notes: string[] = [];
    const results: Record<string, ComboRun> = {};
    for (const kind of KINDS) {
      for (const impl of ctx.impls) {
        try {
          results[`${impl}/${kind}`] = await measureCombo(impl, kind, ctx.runs, windowS, ctx.quick ? 1 : 3, ctx.log);
        } catch (err) {
          notes.push(`${impl} into ${kind} not measured: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    const samples = (kind: Kind, f: (w: Window) => number): Partial<Record<Impl, number[]>> =>
      Object.fromEntries(ctx.impls.map((impl) => [impl, (results[`${impl}/${kind}`]?.windows ?? []).map(f)]));
    const mysql = implFigure({ id: 'mysql_rows_per_s', label: `rows/s written to MariaDB (${CONNS} agent conns)`, unit: 'rows/s' }, samples('mysql', (w) => w.rowsWrittenPerS));
    const figures: Figure[] = [
      { ...mysql, target: '>= 50 000', met: judge(Math.max(mysql.native ?? -1, mysql.ts ?? -1), (v) => v >= 50_000) },
      implFigure({ id: 'sqlite_rows_per_s', label: `rows/s written to SQLite (${CONNS} agent conns)`, unit: 'rows/s' }, samples('sqlite', (w) => w.rowsWrittenPerS)),
      implFigure({ id: 'reporter_cpu_mysql', label: 'Report service CPU while writing to MariaDB', unit: '% core' }, samples('mysql', (w) => w.reporterCpu)),
    ];
    notes.push(
      `the load offers ${OFFERED_FRAMES_PER_S.mysql * RESULTS_PER_FRAME} rows/s (MariaDB) and ${OFFERED_FRAMES_PER_S.sqlite * RESULTS_PER_FRAME} rows/s (SQLite); ` +
        'what a store cannot take yet is buffered (bounded by buffer_max_keys, the rest counted as dropped), so a figure near the offer means "at least"',
    );
    return { figures, notes, details: { conns: CONNS, resultsPerFrame: RESULTS_PER_FRAME, offeredFramesPerS: OFFERED_FRAMES_PER_S, windowSeconds: windowS, combos: results } };
  },
});
