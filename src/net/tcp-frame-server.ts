// The pure-TypeScript twin of the native TcpServer: a node:net listener that cuts each
// connection's byte stream into frames, enforces maxConn and an output cap, and counts
// what it refuses. The DNS and Report services' TS frontends are built on it.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { FrameDecoder } from '../wire/frame.js';

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
}

export interface TcpFrameServerOptions {
  readonly ip: string;
  readonly port: number;
  readonly maxConn: number;
  readonly outputCapBytes: number;
  /** Called for each whole frame; `body` is only valid during the call. */
  readonly onFrame: (conn: FrameConnection, msgid: number, body: Buffer) => void;
  readonly onClose?: (conn: FrameConnection) => void;
  /** A peer sent a frame header with a negative or oversized length; the connection is closed. */
  readonly onProtocolError?: (conn: FrameConnection) => void;
}

export class TcpFrameServer {
  readonly counters: TcpFrameServerCounters = {
    accepted: 0,
    closed: 0,
    rejectedMaxConn: 0,
    framesIn: 0,
    framesOut: 0,
    protocolErrors: 0,
    outputOverflowCloses: 0,
  };
  private readonly server: Server;
  private readonly connections = new Set<FrameConnection>();
  private nextId = 1;

  constructor(private readonly opts: TcpFrameServerOptions) {
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.opts.ip, port: this.opts.port, backlog: 4096 }, () => {
        this.server.off('error', reject);
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
        this.opts.onFrame(conn, f.msgid, f.body);
      }
      if (error !== undefined) {
        counters.protocolErrors++;
        this.opts.onProtocolError?.(conn);
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
}
