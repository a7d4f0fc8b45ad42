// A TCP client of Lars frames that never gives up: it connects to one of a list of endpoints,
// and after a failed attempt or a dropped connection waits (with backoff, from the very first
// failure on) and tries the next endpoint in the list. The agent's DNS and Report clients are
// both built on it. The reference connected once and, if that failed, never again.
import { connect, type Socket } from 'node:net';
import type { Endpoint } from '../config/types.js';
import { createLogger, type Logger } from '../log.js';
import { FrameDecoder } from '../wire/frame.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';

/** How long stop() lets a connected socket send what it still holds. */
const STOP_GRACE_MS = 1_000;

/** Unsent bytes past which a write is refused (the peer is not reading). */
export const DEFAULT_WRITE_CAP_BYTES = 4 << 20;
export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;

export interface ReconnectingClientOptions {
  /** For logs: "DNS service", "Report service". */
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  readonly backoff?: BackoffOptions;
  readonly connectTimeoutMs?: number;
  readonly writeCapBytes?: number;
  /** Called after every successful connect, before any frame of that connection. */
  readonly onConnect?: (endpoint: Endpoint) => void;
  /** A whole frame; `body` is valid only during the call. */
  readonly onFrame?: (msgid: number, body: Buffer) => void;
  readonly onDisconnect?: () => void;
  readonly logger?: Logger;
}

export interface ReconnectingClientStats {
  readonly connected: boolean;
  /** Index in the endpoint list of the current (or next) endpoint. */
  readonly endpointIndex: number;
  readonly connects: number;
  readonly connectFailures: number;
  readonly disconnects: number;
  /** Connections closed because the peer sent a frame with a bad length. */
  readonly protocolErrors: number;
}

export class ReconnectingClient {
  private socket: Socket | undefined;
  private isConnected = false;
  private stopped = true;
  private index = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly counts = { connects: 0, connectFailures: 0, disconnects: 0, protocolErrors: 0 };

  constructor(private readonly opts: ReconnectingClientOptions) {
    this.backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF);
    this.log = opts.logger ?? createLogger('agent');
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get endpoint(): Endpoint | undefined {
    return this.opts.endpoints[this.index];
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt();
  }

  /**
   * Stops reconnecting and closes the connection: a connected socket first sends what was written
   * (the agent's last reports), for at most `graceMs`; a connecting one is dropped at once.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      if (!this.isConnected) {
        socket.destroy();
        return;
      }
      socket.end();
      setTimeout(() => socket.destroy(), graceMs).unref();
    });
  }

  /** Queues bytes on the connection. False (nothing sent) when disconnected or the peer is not reading. */
  write(bytes: Buffer): boolean {
    const s = this.socket;
    if (!this.isConnected || s === undefined) return false;
    if (s.writableLength > (this.opts.writeCapBytes ?? DEFAULT_WRITE_CAP_BYTES)) return false;
    s.write(bytes);
    return true;
  }

  stats(): ReconnectingClientStats {
    return { connected: this.isConnected, endpointIndex: this.index, ...this.counts };
  }

  private attempt(): void {
    if (this.stopped) return;
    const endpoint = this.opts.endpoints[this.index]!;
    const socket = connect({ host: endpoint.ip, port: endpoint.port, noDelay: true });
    this.socket = socket;
    const decoder = new FrameDecoder();
    let wasConnected = false;
    socket.setTimeout(this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, () => {
      if (!wasConnected) socket.destroy(new Error(`connect timed out after ${this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS} ms`));
    });
    socket.once('connect', () => {
      wasConnected = true;
      socket.setTimeout(0);
      socket.setKeepAlive(true, 10_000);
      this.isConnected = true;
      this.counts.connects++;
      this.backoff.reset();
      this.log.info(`connected to the ${this.opts.name} at ${endpoint.ip}:${endpoint.port}`);
      this.opts.onConnect?.(endpoint);
    });
    socket.on('data', (chunk: Buffer) => {
      const batch = decoder.push(chunk);
      for (const f of batch.frames) {
        if (this.socket !== socket) return;
        this.opts.onFrame?.(f.msgid, f.body);
      }
      if (batch.error !== undefined) {
        this.counts.protocolErrors++;
        this.log.limited('warn', `${this.opts.name}-bad-length`, `the ${this.opts.name} sent a frame with a bad length: reconnecting`);
        socket.destroy();
      }
    });
    socket.on('error', (err) => {
      const what = wasConnected ? 'connection to' : 'cannot connect to';
      this.log.limited('warn', `${this.opts.name}-error`, `${what} the ${this.opts.name} at ${endpoint.ip}:${endpoint.port}: ${err.message}`);
    });
    socket.once('close', () => {
      if (wasConnected) {
        this.counts.disconnects++;
        this.isConnected = false;
        this.opts.onDisconnect?.();
      } else {
        this.counts.connectFailures++;
      }
      if (this.socket !== socket || this.stopped) return;
      this.socket = undefined;
      // The next endpoint in the list, after a pause that grows with each failure in a row.
      this.index = (this.index + 1) % this.opts.endpoints.length;
      this.retryTimer = setTimeout(() => this.attempt(), this.backoff.next());
    });
  }
}
