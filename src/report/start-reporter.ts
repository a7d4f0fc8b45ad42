// Assembles a Report service from its config: store, frontend (native or TS), coalescing
// buffer, batch writers, metrics and the admin endpoint.
import { adminListeningLine, maybeStartAdminServer, type AdminServer } from '../admin/admin-server.js';
import { MetricSet } from '../admin/metrics.js';
import type { ReporterConfig } from '../config/types.js';
import { implementation } from '../native/addon.js';
import { DEFAULT_OUTPUT_CAP_BYTES } from '../net/tcp-frame-server.js';
import type { RunningRole } from '../running-role.js';
import { openStore } from '../store/index.js';
import type { RowBuffer } from './report-buffer.js';
import type { ReportFrontend, ReportFrontendOptions } from './report-frontend.js';
import { ModuleStats, type ModuleAggregate } from './module-stats.js';
import { ReportWriter } from './report-writer.js';
import { TsReportFrontend } from './ts-report-frontend.js';

export interface RunningReporter extends RunningRole {
  readonly port: number;
  readonly adminPort: number;
  readonly buffer: RowBuffer;
  readonly writer: ReportWriter;
  readonly frontend: ReportFrontend;
}

async function createFrontend(impl: 'native' | 'ts', opts: ReportFrontendOptions): Promise<ReportFrontend> {
  if (impl === 'ts') return new TsReportFrontend(opts);
  const { NativeReportFrontend } = await import('./native-report-frontend.js');
  return new NativeReportFrontend(opts);
}

export async function startReporter(config: ReporterConfig): Promise<RunningReporter> {
  const impl = implementation(config.impl);
  const store = await openStore(config.store, { connections: config.reporter.dbThreadCnt });
  const frontend = await createFrontend(impl, {
    ip: config.reactor.ip,
    port: config.reactor.port,
    maxConn: config.reactor.maxConn,
    threadNum: config.reactor.threadNum,
    outputCapBytes: DEFAULT_OUTPUT_CAP_BYTES,
    bufferMaxKeys: config.reporter.bufferMaxKeys,
  });
  let port: number;
  try {
    port = await frontend.listen();
  } catch (err) {
    frontend.dispose();
    await store.close();
    throw err;
  }
  const { buffer } = frontend;
  const modules = new ModuleStats(config.reporter.bufferMaxKeys);
  const writer = new ReportWriter(store, buffer, config.reporter.dbThreadCnt, config.reporter.flushIntervalMs, (rows) => modules.observe(rows));
  writer.start();

  const metrics = new MetricSet('lars_reporter');
  const f = () => frontend.stats();
  const w = () => writer.stats();
  metrics.gaugeFrom('connections', 'Open agent connections', () => f().connections);
  metrics.counterFrom('connections_accepted_total', 'Connections accepted', () => f().accepted);
  metrics.counterFrom('connections_rejected_total', 'Connections closed at once because maxConn was reached', () => f().rejectedMaxConn);
  metrics.counterFrom('frames_in_total', 'Frames received', () => f().framesIn);
  metrics.counterFrom('protocol_errors_total', 'Connections closed for a negative or oversized frame length', () => f().protocolErrors);
  metrics.counterFrom('bad_bodies_total', 'Frames dropped because the body did not parse', () => f().badBodies);
  metrics.counterFrom('bad_rows_total', 'Result rows dropped because they cannot be stored (port out of range)', () => f().badRows);
  metrics.counterFrom('unknown_msgids_total', 'Frames ignored for an unknown msgid', () => f().unknownMsgIds);
  metrics.gaugeFrom('buffered_rows', 'Status rows waiting to be written (coalesced by key)', () => buffer.size);
  metrics.counterFrom('rows_received_total', 'Status rows accepted into the buffer', () => buffer.accepted);
  metrics.counterFrom('rows_dropped_total', 'Status rows dropped because the buffer was full', () => buffer.dropped);
  metrics.counterFrom('rows_written_total', 'Status rows written to the store', () => w().rowsWritten);
  metrics.counterFrom('store_errors_total', 'Failed batch writes', () => w().storeErrors);
  metrics.gaugeFrom('store_up', '1 while the store accepts writes', () => (w().storeUp ? 1 : 0));
  // Per module (modid, cmdid), for the modules agents reported in the last MODULE_TTL_MS.
  const mod = (m: ModuleAggregate) => ({ modid: m.modid, cmdid: m.cmdid });
  metrics.seriesFrom('counter', 'module_calls_total', 'Calls reported by agents, by result (succ, err)', ['modid', 'cmdid', 'result'], () =>
    modules.snapshot().flatMap((m): [Record<string, string | number>, number][] => [
      [{ ...mod(m), result: 'succ' }, m.succTotal],
      [{ ...mod(m), result: 'err' }, m.errTotal],
    ]),
  );
  metrics.seriesFrom('gauge', 'module_error_ratio', "Failures over calls in the nodes' current windows", ['modid', 'cmdid'], () => modules.snapshot().map((m) => [mod(m), m.errorRatio]));
  metrics.seriesFrom('gauge', 'module_nodes', 'Nodes (ip:port) agents report for the module', ['modid', 'cmdid'], () => modules.snapshot().map((m) => [mod(m), m.nodes]));
  metrics.seriesFrom('gauge', 'module_overloaded_nodes', 'Nodes at least one agent reports overloaded', ['modid', 'cmdid'], () => modules.snapshot().map((m) => [mod(m), m.overloadedNodes]));
  metrics.counterFrom('module_rows_dropped_total', 'Status rows left out of the per-module series because the module or node cap was reached', () => modules.droppedRows);
  // A daemon flushes what it holds: first no more input, then write the buffer (bounded by the
  // stop deadline; the writer logs what it could not write), and only then free it (after the
  // metrics endpoint, which reads it, has closed).
  let admin: AdminServer | undefined;
  const stopInOrder = async (): Promise<void> => {
    await frontend.close();
    await writer.stop(config.reporter.stopDeadlineMs);
    await admin?.close();
    frontend.dispose();
    await store.close();
  };
  try {
    admin = await maybeStartAdminServer(config.admin, metrics.registry, () => ({ ok: w().storeUp, buffered: buffer.size, dropped: buffer.dropped, ...w(), ...f() }));
  } catch (err) {
    // The frontend and the writer already run: stop them (writing what arrived), or they keep a
    // failed daemon alive.
    await stopInOrder();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    port,
    adminPort: admin?.port ?? 0,
    buffer,
    writer,
    frontend,
    listening: [
      `Report service (${impl}) listening on ${config.reactor.ip}:${port}, store ${store.description}`,
      adminListeningLine(config.admin, admin),
    ],
    stopDeadlineMs: config.reporter.stopDeadlineMs,
    stop() {
      stopping ??= stopInOrder();
      return stopping;
    },
  };
}
