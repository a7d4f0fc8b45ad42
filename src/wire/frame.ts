// Lars framing (docs/spec/PROTOCOL.md): an 8-byte header — int32 msgid, int32 msglen, both
// little-endian — then msglen bytes of protobuf body; header + body at most 65535 bytes.
// Same semantics as native/wire/frame.h, which the reactor uses.
import { LarsError } from '../errors.js';

export const HEADER_SIZE = 8;
export const MAX_FRAME_SIZE = 65535;
export const MAX_BODY_SIZE = MAX_FRAME_SIZE - HEADER_SIZE; // 65527

export interface Frame {
  msgid: number;
  /** May share memory with the chunk or datagram it came from: copy it before reusing that. */
  body: Buffer;
}

/** What FrameDecoder.push found. After `error`, close the connection: the stream is out of step. */
export interface FrameBatch {
  frames: Frame[];
  error?: 'bad-length';
}

export type DatagramReject = 'short' | 'bad-length' | 'size-mismatch';
export type DatagramResult = { ok: true; frame: Frame } | { ok: false; reason: DatagramReject };

/** A negative or oversized msglen is a protocol error. */
export function isValidBodyLength(msglen: number): boolean {
  return msglen >= 0 && msglen <= MAX_BODY_SIZE;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Header + body. Throws ERR_INVALID_INPUT when the body does not fit one frame. */
export function encodeFrame(msgid: number, body: Uint8Array): Buffer {
  if (!Number.isInteger(msgid) || msgid < -0x80000000 || msgid > 0x7fffffff) {
    throw new LarsError('ERR_INVALID_INPUT', `lars wire: msgid must be an int32, got ${msgid}`);
  }
  if (body.length > MAX_BODY_SIZE) {
    throw new LarsError(
      'ERR_INVALID_INPUT',
      `lars wire: message ${msgid} is too large for one frame (body ${body.length} bytes > ${MAX_BODY_SIZE}): send fewer hosts or results`,
    );
  }
  const frame = Buffer.allocUnsafe(HEADER_SIZE + body.length);
  frame.writeInt32LE(msgid, 0);
  frame.writeInt32LE(body.length, 4);
  frame.set(body, HEADER_SIZE);
  return frame;
}

/**
 * Reassembles frames from a TCP byte stream, whatever the chunk boundaries. Frames wholly inside
 * a chunk are views into it; a frame split across chunks is gathered from copies of the bytes
 * that actually arrived (never allocated from the untrusted msglen). After a bad length every
 * push reports the error again.
 */
export class FrameDecoder {
  // The frame in progress: headLen bytes of its header, then body pieces totalling bodyLen.
  readonly #head = Buffer.alloc(HEADER_SIZE);
  #headLen = 0;
  #body: Buffer[] = [];
  #bodyLen = 0;
  #failed = false;

  /** Bytes held of an incomplete frame. */
  get buffered(): number {
    return this.#headLen + this.#bodyLen;
  }

  push(chunk: Uint8Array): FrameBatch {
    const frames: Frame[] = [];
    if (this.#failed) return { frames, error: 'bad-length' };
    const buf = asBuffer(chunk);
    let off = 0;
    if (this.#headLen > 0) {
      const take = Math.min(HEADER_SIZE - this.#headLen, buf.length);
      buf.copy(this.#head, this.#headLen, 0, take);
      this.#headLen += take;
      off = take;
      if (this.#headLen < HEADER_SIZE) return { frames };
      const msglen = this.#head.readInt32LE(4);
      if (!isValidBodyLength(msglen)) return this.#fail(frames);
      const part = Math.min(msglen - this.#bodyLen, buf.length - off);
      if (part > 0) {
        this.#body.push(Buffer.from(buf.subarray(off, off + part))); // a copy: the caller may reuse chunk
        this.#bodyLen += part;
        off += part;
      }
      if (this.#bodyLen < msglen) return { frames };
      frames.push({ msgid: this.#head.readInt32LE(0), body: Buffer.concat(this.#body, msglen) });
      this.#headLen = 0;
      this.#body = [];
      this.#bodyLen = 0;
    }
    for (;;) {
      const rest = buf.length - off;
      if (rest < HEADER_SIZE) {
        buf.copy(this.#head, 0, off);
        this.#headLen = rest;
        return { frames };
      }
      const msglen = buf.readInt32LE(off + 4);
      if (!isValidBodyLength(msglen)) return this.#fail(frames);
      if (rest - HEADER_SIZE < msglen) {
        buf.copy(this.#head, 0, off, off + HEADER_SIZE);
        this.#headLen = HEADER_SIZE;
        if (rest > HEADER_SIZE) {
          this.#body.push(Buffer.from(buf.subarray(off + HEADER_SIZE)));
          this.#bodyLen = rest - HEADER_SIZE;
        }
        return { frames };
      }
      frames.push({ msgid: buf.readInt32LE(off), body: buf.subarray(off + HEADER_SIZE, off + HEADER_SIZE + msglen) });
      off += HEADER_SIZE + msglen;
    }
  }

  #fail(frames: Frame[]): FrameBatch {
    this.#failed = true;
    this.#body = [];
    this.#bodyLen = 0;
    this.#headLen = 0;
    return { frames, error: 'bad-length' };
  }
}

/** UDP carries exactly one frame per datagram; anything else is dropped (and counted) by the caller. */
export function decodeDatagram(datagram: Uint8Array): DatagramResult {
  const buf = asBuffer(datagram);
  if (buf.length < HEADER_SIZE) return { ok: false, reason: 'short' };
  const msglen = buf.readInt32LE(4);
  if (!isValidBodyLength(msglen)) return { ok: false, reason: 'bad-length' };
  if (buf.length - HEADER_SIZE !== msglen) return { ok: false, reason: 'size-mismatch' };
  return { ok: true, frame: { msgid: buf.readInt32LE(0), body: buf.subarray(HEADER_SIZE) } };
}
