// The native Report frontend: frames are read and decoded by C++ on the reactor's threads
// (native/report/ReportServer); rows reach TypeScript in batches, one call per batch.
import { loadNative } from '../native/addon.js';
import type { CallStatus } from '../store/store.js';
import { callStatusFromWire, type ReportFrontend, type ReportFrontendOptions, type ReportFrontendStats } from './report-frontend.js';

type NativeReportServer = InstanceType<ReturnType<typeof loadNative>['servers']['ReportServer']>;

/** Numbers per row in a batch from the native side (see NativeServers.ReportServer). */
const ROW_FIELDS = 9;

export class NativeReportFrontend implements ReportFrontend {
  private server: NativeReportServer | undefined;

  constructor(private readonly opts: ReportFrontendOptions) {}

  async listen(): Promise<number> {
    const { ReportServer } = loadNative().servers;
    this.server = new ReportServer(
      {
        ip: this.opts.ip,
        port: this.opts.port,
        ioThreads: this.opts.threadNum,
        maxConnections: this.opts.maxConn,
        outputCap: this.opts.outputCapBytes,
      },
      (flat) => this.opts.onRows(rowsFromFlat(flat)),
    );
    return this.server.port();
  }

  stats(): ReportFrontendStats {
    const s = this.running().stats();
    return {
      connections: s.connections,
      accepted: s.connections_accepted,
      rejectedMaxConn: s.connections_rejected_maxconn + s.connections_rejected_fd,
      framesIn: s.frames_in,
      protocolErrors: s.protocol_errors,
      badBodies: s.badBodies,
      badRows: s.badRows + s.queueDropped,
      unknownMsgIds: s.unknownMsgIds,
    };
  }

  async close(): Promise<void> {
    this.server?.close();
    this.server = undefined;
  }

  private running(): NativeReportServer {
    if (this.server === undefined) throw new Error('the Report frontend is not listening');
    return this.server;
  }
}

function rowsFromFlat(flat: Uint32Array): CallStatus[] {
  const rows: CallStatus[] = [];
  for (let i = 0; i + ROW_FIELDS <= flat.length; i += ROW_FIELDS) {
    // The native side already dropped rows with a port out of range, so this never skips.
    const row = callStatusFromWire({
      modid: flat[i]!,
      cmdid: flat[i + 1]!,
      ip: flat[i + 2]! | 0,
      port: flat[i + 3]!,
      caller: flat[i + 4]! | 0,
      succ: flat[i + 5]!,
      err: flat[i + 6]!,
      ts: flat[i + 7]!,
      overload: flat[i + 8] === 1,
    });
    if (row !== undefined) rows.push(row);
  }
  return rows;
}
