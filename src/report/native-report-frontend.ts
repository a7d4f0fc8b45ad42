// The native Report frontend: frames are read, decoded and coalesced by key by C++ on the
// reactor's threads (native/report); the writers take rows from that buffer in batches, one
// call per batch, at the pace the store accepts them.
import { LarsError } from '../errors.js';
import { loadNative } from '../native/addon.js';
import type { CallStatus } from '../store/store.js';
import { ipToUint32 } from '../wire/messages.js';
import type { RowBuffer } from './report-buffer.js';
import { callStatusFromWire, type ReportFrontend, type ReportFrontendOptions, type ReportFrontendStats } from './report-frontend.js';

type NativeReportServer = InstanceType<ReturnType<typeof loadNative>['servers']['ReportServer']>;

/** Numbers per row in a batch from the native side (see NativeServers.ReportServer and CallRow::kFields). */
const ROW_FIELDS = 13;
/** The call-time sum crosses as two uint32 halves (low, high). */
const HIGH = 2 ** 32;

/** The native CallRowBuffer seen as a RowBuffer: rows cross as one Uint32Array per batch. */
class NativeRowBuffer implements RowBuffer {
  constructor(private readonly server: () => NativeReportServer | undefined) {}

  get size(): number {
    return this.server()?.buffered() ?? 0;
  }

  get accepted(): number {
    return this.server()?.stats().accepted ?? 0;
  }

  get dropped(): number {
    return this.server()?.stats().dropped ?? 0;
  }

  take(max: number): CallStatus[] {
    const flat = this.server()?.take(max);
    const rows: CallStatus[] = [];
    if (flat === undefined) return rows;
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
        usetimeSumUs: flat[i + 9]! + flat[i + 10]! * HIGH,
        usetimeMaxUs: flat[i + 11]!,
        timedCalls: flat[i + 12]!,
      });
      if (row !== undefined) rows.push(row);
    }
    return rows;
  }

  restore(rows: readonly CallStatus[]): void {
    const flat = new Uint32Array(rows.length * ROW_FIELDS);
    rows.forEach((r, n) => {
      const t = r.usetime ?? { sumUs: 0, maxUs: 0, timedCalls: 0 };
      flat.set(
        [r.modid, r.cmdid, ipToUint32(r.ip), r.port, ipToUint32(r.caller), r.succCnt, r.errCnt, r.ts, r.overload ? 1 : 0, t.sumUs % HIGH, Math.floor(t.sumUs / HIGH), t.maxUs, t.timedCalls],
        n * ROW_FIELDS,
      );
    });
    this.server()?.restore(flat);
  }
}

export class NativeReportFrontend implements ReportFrontend {
  readonly buffer: RowBuffer = new NativeRowBuffer(() => this.server);
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
      this.opts.bufferMaxKeys,
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
      badRows: s.badRows,
      unknownMsgIds: s.unknownMsgIds,
    };
  }

  async close(): Promise<void> {
    this.server?.stopServing();
  }

  dispose(): void {
    this.server?.close();
    this.server = undefined;
  }

  private running(): NativeReportServer {
    if (this.server === undefined) throw new LarsError('ERR_USAGE', 'the Report frontend is not listening: call listen() first');
    return this.server;
  }
}
