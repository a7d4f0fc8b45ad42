// The pure-TypeScript Report frontend (LARS_IMPL=ts), on node:net.
import { createLogger } from '../log.js';
import { TcpFrameServer } from '../net/tcp-frame-server.js';
import type { CallStatus } from '../store/store.js';
import { MsgId, decodeBody, type ReportStatusRequest } from '../wire/messages.js';
import { callStatusFromWire, type ReportFrontend, type ReportFrontendOptions, type ReportFrontendStats } from './report-frontend.js';

const log = createLogger('reporter');

export class TsReportFrontend implements ReportFrontend {
  private readonly server: TcpFrameServer;
  private badBodies = 0;
  private badRows = 0;
  private unknownMsgIds = 0;

  constructor(private readonly opts: ReportFrontendOptions) {
    this.server = new TcpFrameServer({
      ...opts,
      onFrame: (conn, msgid, body) => {
        if (msgid !== MsgId.ReportStatusRequest) {
          this.unknownMsgIds++;
          log.limited('warn', 'unknown-msgid', `ignoring msgid ${msgid} from ${conn.socket.remoteAddress}`);
          return;
        }
        let req: ReportStatusRequest;
        try {
          req = decodeBody(MsgId.ReportStatusRequest, body) as ReportStatusRequest;
        } catch {
          this.badBodies++;
          log.limited('warn', 'bad-body', `dropping unparsable ReportStatusRequest from ${conn.socket.remoteAddress}`);
          return;
        }
        const rows: CallStatus[] = [];
        for (const r of req.results ?? []) {
          const row = callStatusFromWire({ modid: req.modid, cmdid: req.cmdid, caller: req.caller, ts: req.ts, ...r });
          if (row === undefined) this.badRows++;
          else rows.push(row);
        }
        if (rows.length > 0) this.opts.onRows(rows);
      },
      onProtocolError: (conn) => log.limited('warn', 'bad-length', `closing ${conn.socket.remoteAddress}: frame length out of range`),
    });
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
      badBodies: this.badBodies,
      badRows: this.badRows,
      unknownMsgIds: this.unknownMsgIds,
    };
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
