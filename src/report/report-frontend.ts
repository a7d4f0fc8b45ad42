// The network side of the Report service, behind one interface for the native reactor and the
// pure-TypeScript server. Either one decodes ReportStatusRequest frames into rows coalesced by
// key in its bounded buffer, which the writers drain; neither ever waits on the store.
import type { CallStatus } from '../store/store.js';
import { int32ToIp } from '../wire/messages.js';
import type { RowBuffer } from './report-buffer.js';

export interface ReportFrontendStats {
  readonly connections: number;
  readonly accepted: number;
  readonly rejectedMaxConn: number;
  readonly framesIn: number;
  readonly protocolErrors: number;
  readonly badBodies: number;
  readonly badRows: number;
  readonly unknownMsgIds: number;
}

export interface ReportFrontend {
  /** The rows received and not yet written. */
  readonly buffer: RowBuffer;
  listen(): Promise<number>;
  stats(): ReportFrontendStats;
  /** Stops accepting and closes every connection; the buffer stays, for the writers to drain. */
  close(): Promise<void>;
  /** Frees the buffer, once the writers are done with it. */
  dispose(): void;
}

export interface ReportFrontendOptions {
  readonly ip: string;
  readonly port: number;
  readonly maxConn: number;
  readonly threadNum: number;
  readonly outputCapBytes: number;
  /** [reporter] buffer_max_keys: the bound of the buffer. */
  readonly bufferMaxKeys: number;
}

/** One node's result inside a ReportStatusRequest, with addresses still as wire int32s. */
export interface WireCallResult {
  readonly modid: number;
  readonly cmdid: number;
  readonly caller: number;
  readonly ts: number;
  readonly ip: number;
  readonly port: number;
  readonly succ: number;
  readonly err: number;
  readonly overload: boolean;
  /** The window's call time; absent or timedCalls 0 = none measured. */
  readonly usetimeSumUs?: number;
  readonly usetimeMaxUs?: number;
  readonly timedCalls?: number;
}

/**
 * The store row for one wire result, or undefined when the row cannot be stored (a port
 * outside 1–65535): such rows are dropped and counted, never allowed to fail a whole batch.
 */
export function callStatusFromWire(r: WireCallResult): CallStatus | undefined {
  if (!(r.port >= 1 && r.port <= 65535)) return undefined;
  return {
    modid: r.modid >>> 0,
    cmdid: r.cmdid >>> 0,
    ip: int32ToIp(r.ip),
    port: r.port,
    caller: int32ToIp(r.caller),
    succCnt: r.succ >>> 0,
    errCnt: r.err >>> 0,
    ts: r.ts >>> 0,
    overload: r.overload,
    // Only a window with timed calls has a call time (a ServerCallTime row).
    ...(r.timedCalls ? { usetime: { sumUs: Math.min(r.usetimeSumUs ?? 0, Number.MAX_SAFE_INTEGER), maxUs: (r.usetimeMaxUs ?? 0) >>> 0, timedCalls: r.timedCalls >>> 0 } } : {}),
  };
}
