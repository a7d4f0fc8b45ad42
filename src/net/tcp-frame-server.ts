// The pure-TypeScript twin of the native TcpServer: a node:net listener that cuts each
// connection's byte stream into frames, decodes the one request type it serves, enforces
// maxConn and an output cap, and counts (and logs, rate-limited) what it refuses. The DNS and
// Report services' TS frontends are built on it.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { LarsError } from '../errors.js';
import type { Logger } from '../log.js';
import { FrameDecoder } from '../wire/frame.js';
import { decodeBody, type BodyOf, type MsgId } from '../wire/messages.js';

export interface FrameConnection {
  readonly id: number;
  readonly socket: Socket;
  /** Queues a whole frame; closes the connection instead when the peer is not reading. */
  send(frame: Buffer): void;
}

export interface TcpFrameServerCounters {
  accepted: number;
  closed: number;
  rejectedMaxConn: number;
  framesIn: number;
  framesOut: number;
  protocolErrors: number;
  outputOverflowCloses: number;
  /** Frames of the served msgid whose body did not parse: dropped. */
  badBodies: number;
  /** Frames of any other msgid: ignored. */
  unknownMsgIds: number;
}

/** 4 MiB: room for 64 full-size route pushes queued to one slow reader. Both the DNS and the
 * Report services' frontends (native and TS) cap connections' unsent output at this. */
export const DEFAULT_OUTPUT_CAP_BYTES = 4 << 20;

export interface TcpFrameServerOptions<M extends MsgId> {
  readonly ip: string;
  readonly port: number;
  readonly maxConn: number;
  readonly outputCapBytes: number;
  /** The request this server serves; frames of other ids are ignored and counted. */
  readonly msgid: M;
  /** Called for each request that decoded. */
  readonly onMessage: (conn: FrameConnection, message: BodyOf<M>) => void;
  readonly onClose?: (conn: FrameConnection) => void;
  /** One-way frames of this msgid are handed over undecoded (the DNS's LeaseRequest). */
  readonly rawMsgid?: number;
  readonly onRawFrame?: (body: Buffer) => void;
  readonly log: Logger;
}

export class TcpFrameServer<M extends MsgId> {
  readonly counters: TcpFrameServerCounters = {
    accepted: 0,
    closed: 0,
    rejectedMaxConn: 0,
    framesIn: 0,
    framesOut: 0,
    protocolErrors: 0,
    outputOverflowCloses: 0,
    badBodies: 0,
    unknownMsgIds: 0,
  };
  private readonly server: Server;
  private readonly connections = new Set<FrameConnection>();
  private nextId = 1;

  constructor(private readonly opts: TcpFrameServerOptions<M>) {
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Resolves to the bound port; rejects with LarsError ERR_LISTEN (address in use, EMFILE, ...). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException): void => {
        const hint = err.code === 'EMFILE' || err.code === 'ENFILE' ? ' (raise the open-file limit, ulimit -n)' : '';
        reject(new LarsError('ERR_LISTEN', `cannot listen on ${this.opts.ip}:${this.opts.port}: ${err.message}${hint}`, { cause: err }));
      };
      this.server.once('error', fail);
      this.server.listen({ host: this.opts.ip, port: this.opts.port, backlog: 4096 }, () => {
        this.server.off('error', fail);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    for (const conn of this.connections) conn.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.connections.size >= this.opts.maxConn) {
      this.counters.rejectedMaxConn++;
      socket.destroy();
      return;
    }
    this.counters.accepted++;
    socket.setKeepAlive(true, 30_000);
    const counters = this.counters;
    const cap = this.opts.outputCapBytes;
    const conn: FrameConnection = {
      id: this.nextId++,
      socket,
      send(frame) {
        if (socket.destroyed) return;
        if (socket.writableLength + frame.length > cap) {
          counters.outputOverflowCloses++;
          socket.destroy();
          return;
        }
        counters.framesOut++;
        socket.write(frame);
      },
    };
    this.connections.add(conn);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = decoder.push(chunk);
      for (const f of frames) {
        counters.framesIn++;
        this.deliver(conn, f.msgid, f.body);
      }
      if (error !== undefined) {
        counters.protocolErrors++;
        this.opts.log.limited('warn', 'bad-length', `closing ${socket.remoteAddress}: frame length out of range`);
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (!this.connections.delete(conn)) return;
      counters.closed++;
      this.opts.onClose?.(conn);
    });
  }

  private deliver(conn: FrameConnection, msgid: number, body: Buffer): void {
    const { log } = this.opts;
    if (msgid === this.opts.rawMsgid && this.opts.rawMsgid !== undefined) {
      this.opts.onRawFrame?.(body);
      return;
    }
    if (msgid !== this.opts.msgid) {
      this.counters.unknownMsgIds++;
      log.limited('warn', 'unknown-msgid', `ignoring msgid ${msgid} from ${conn.socket.remoteAddress}`);
      return;
    }
    let message: BodyOf<M>;
    try {
      message = decodeBody(this.opts.msgid, body);
    } catch {
      this.counters.badBodies++;
      log.limited('warn', 'bad-body', `dropping an unparsable msgid ${msgid} body from ${conn.socket.remoteAddress}`);
      return;
    }
    this.opts.onMessage(conn, message);
  }
}
