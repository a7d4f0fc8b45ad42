// The agent's Report client: one TCP connection to the Report service (reconnecting with backoff
// from the first failure on), and one ReportStatusRequest per route report the balancers hand
// over — at most one per route per report interval, where the reference sent one after every
// call. Nothing is held while the connection is down: reports are dropped and counted, and the
// next interval's report carries the node's current window anyway.
import type { RouteReport } from '../balancer/index.js';
import type { Endpoint } from '../config/types.js';
import { encodeFrame } from '../wire/frame.js';
import { MsgId, encodeBody, type HostCallResult } from '../wire/messages.js';
import type { BackoffOptions } from './backoff.js';
import { ReconnectingClient } from './reconnecting-client.js';

/** Results per ReportStatusRequest: a route too large for one frame is split over several. */
export const MAX_RESULTS_PER_FRAME = 1000;
const UINT32_MAX = 0xffffffff;

export interface ReportClientOptions {
  readonly endpoint: Endpoint;
  /** The agent's IPv4 as the wire's int32 (ReportStatusRequest.caller). */
  readonly caller: number;
  /** Unix seconds for ReportStatusRequest.ts (defaults to the wall clock). */
  readonly unixSeconds?: () => number;
  readonly backoff?: BackoffOptions;
  readonly connectTimeoutMs?: number;
}

export interface ReportClientStats {
  readonly connected: boolean;
  readonly connects: number;
  readonly connectFailures: number;
  readonly disconnects: number;
  /** ReportStatusRequest frames sent. */
  readonly reportsSent: number;
  /** Frames not sent: the connection was down or the Report service was not reading. */
  readonly reportsDropped: number;
}

function clampU32(n: number): number {
  return n > UINT32_MAX ? UINT32_MAX : n;
}

export class ReportClient {
  private readonly client: ReconnectingClient;
  private readonly unixSeconds: () => number;
  private sent = 0;
  private dropped = 0;

  constructor(private readonly opts: ReportClientOptions) {
    this.unixSeconds = opts.unixSeconds ?? (() => Math.floor(Date.now() / 1000));
    this.client = new ReconnectingClient({
      name: 'Report service',
      endpoints: [opts.endpoint],
      backoff: opts.backoff,
      connectTimeoutMs: opts.connectTimeoutMs,
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  start(): void {
    this.client.start();
  }

  stop(): Promise<void> {
    return this.client.stop();
  }

  /** Sends a batch of route reports in one write, or drops and counts them. */
  send(reports: readonly RouteReport[]): void {
    const ts = this.unixSeconds();
    const frames: Buffer[] = [];
    for (const r of reports) {
      const results: HostCallResult[] = r.results.map((n) => ({
        ip: n.ip,
        port: n.port,
        succ: clampU32(n.succ),
        err: clampU32(n.err),
        overload: n.overload,
        // The wire codec refuses sums past 2^53 - 1 µs; only a flood of absurd usetime_us gets there.
        usetimeSumUs: Math.min(n.usetimeSumUs, Number.MAX_SAFE_INTEGER),
        usetimeMaxUs: clampU32(n.usetimeMaxUs),
        timedCalls: clampU32(n.timedCalls),
      }));
      for (let i = 0; i === 0 || i < results.length; i += MAX_RESULTS_PER_FRAME) {
        const body = encodeBody(MsgId.ReportStatusRequest, {
          modid: r.modid,
          cmdid: r.cmdid,
          caller: this.opts.caller,
          results: results.slice(i, i + MAX_RESULTS_PER_FRAME),
          ts,
        });
        frames.push(encodeFrame(MsgId.ReportStatusRequest, body));
      }
    }
    if (frames.length === 0) return;
    if (this.client.write(Buffer.concat(frames))) this.sent += frames.length;
    else this.dropped += frames.length;
  }

  stats(): ReportClientStats {
    const c = this.client.stats();
    return {
      connected: c.connected,
      connects: c.connects,
      connectFailures: c.connectFailures,
      disconnects: c.disconnects,
      reportsSent: this.sent,
      reportsDropped: this.dropped,
    };
  }
}
