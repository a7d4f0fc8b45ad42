// The pure-TypeScript Report frontend (LARS_IMPL=ts), on node:net.
import { createLogger } from '../log.js';
import { TcpFrameServer } from '../net/tcp-frame-server.js';
import type { CallStatus } from '../store/store.js';
import { ReportBuffer } from './report-buffer.js';
import { MsgId, type ReportStatusRequest } from '../wire/messages.js';
import { callStatusFromWire, type ReportFrontend, type ReportFrontendOptions, type ReportFrontendStats } from './report-frontend.js';

const log = createLogger('reporter');

export class TsReportFrontend implements ReportFrontend {
  readonly buffer: ReportBuffer;
  private readonly server: TcpFrameServer<typeof MsgId.ReportStatusRequest>;
  private badRows = 0;

  constructor(opts: ReportFrontendOptions) {
    this.buffer = new ReportBuffer(opts.bufferMaxKeys);
    this.server = new TcpFrameServer({
      ...opts,
      msgid: MsgId.ReportStatusRequest,
      onMessage: (_conn, req) => this.onReport(req),
      log,
    });
  }

  private onReport(req: ReportStatusRequest): void {
    const rows: CallStatus[] = [];
    for (const r of req.results ?? []) {
      const row = callStatusFromWire({ modid: req.modid, cmdid: req.cmdid, caller: req.caller, ts: req.ts, ...r });
      if (row === undefined) this.badRows++;
      else rows.push(row);
    }
    this.buffer.add(rows);
  }

  listen(): Promise<number> {
    return this.server.listen();
  }

  stats(): ReportFrontendStats {
    const c = this.server.counters;
    return {
      connections: this.server.connectionCount,
      accepted: c.accepted,
      rejectedMaxConn: c.rejectedMaxConn,
      framesIn: c.framesIn,
      protocolErrors: c.protocolErrors,
      badBodies: c.badBodies,
      badRows: this.badRows,
      unknownMsgIds: c.unknownMsgIds,
    };
  }

  close(): Promise<void> {
    return this.server.close();
  }

  dispose(): void {
    // The buffer is plain memory, freed with this object.
  }
}
