// A test peer speaking Lars frames over TCP: sends requests and records every frame it
// receives, so tests can wait for the event they expect instead of sleeping.
import { connect, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from '../../src/wire/frame.js';
import { Waiters } from './waiters.js';
import { decodeBody, encodeBody, type MessageById, type MsgId } from '../../src/wire/messages.js';

export interface ReceivedFrame {
  readonly msgid: number;
  readonly body: Buffer;
}

export class FrameClient {
  readonly frames: ReceivedFrame[] = [];
  closed = false;
  private readonly waiters = new Waiters();

  private constructor(readonly socket: Socket) {
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk).frames) this.frames.push({ msgid: f.msgid, body: Buffer.from(f.body) });
      this.waiters.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, host = '127.0.0.1', localAddress?: string): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, localAddress, noDelay: true });
      socket.once('connect', () => resolve(new FrameClient(socket)));
      socket.once('error', reject);
    });
  }

  send<M extends MsgId>(msgid: M, message: MessageById[M]): void {
    this.socket.write(encodeFrame(msgid, encodeBody(msgid, message)));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Decoded bodies of the frames received with `msgid`, in order. */
  messages<T>(msgid: number): T[] {
    return this.frames.filter((f) => f.msgid === msgid).map((f) => decodeBody(msgid, f.body) as T);
  }

  /** Resolves once `predicate` holds, re-checked on every frame and on close. */
  waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.waiters.waitFor(predicate, what, timeoutMs);
  }

  waitClosed(timeoutMs = 10_000): Promise<void> {
    return this.waitFor(() => this.closed, 'the server to close the connection', timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Polls `predicate` (for state outside a socket, e.g. a database) until it holds. */
export async function eventually<T>(probe: () => Promise<T> | T, ok: (v: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
