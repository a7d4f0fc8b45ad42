// One interface over both wire codecs, so callers and tests pick an implementation by name
// (`describe.each(['native', 'ts'])`). Both accept and produce the same bytes and objects;
// any difference is a bug.
import { LarsError } from '../errors.js';
import { loadNative, type Implementation } from '../native/addon.js';
import { decodeDatagram, encodeFrame, FrameDecoder, type DatagramResult, type FrameBatch } from './frame.js';
import { decodeBody, encodeBody, validateMessage, type BodyOf, type MessageById, type MsgId } from './messages.js';

export interface StreamFrameDecoder {
  /** Frames completed by this chunk; `error` means close the connection. */
  push(chunk: Uint8Array): FrameBatch;
  /** Bytes held of an incomplete frame. */
  readonly buffered: number;
}

export interface WireCodec {
  readonly name: Implementation;
  /** A whole frame: header + canonical body. Throws ERR_INVALID_INPUT for a bad or oversized message. */
  encodeFrame<M extends MsgId>(msgid: M, msg: MessageById[M]): Buffer;
  /** null for an unknown msgid or a malformed body. */
  decodeBody<M extends number>(msgid: M, body: Uint8Array): BodyOf<M> | null;
  decodeDatagram(datagram: Uint8Array): DatagramResult;
  newFrameDecoder(): StreamFrameDecoder;
}

export const tsCodec: WireCodec = {
  name: 'ts',
  encodeFrame: (msgid, msg) => encodeFrame(msgid, encodeBody(msgid, msg)),
  decodeBody<M extends number>(msgid: M, body: Uint8Array): BodyOf<M> | null {
    try {
      return decodeBody(msgid, body);
    } catch (err) {
      if (err instanceof LarsError && err.code === 'ERR_PROTOCOL') return null;
      throw err;
    }
  },
  decodeDatagram,
  newFrameDecoder: () => new FrameDecoder(),
};

let native: WireCodec | undefined;

/** The C++ codec (native/wire) through the addon. Throws ERR_NATIVE_MISSING / ERR_NATIVE_STALE. */
export function nativeCodec(): WireCodec {
  if (native !== undefined) return native;
  const wire = loadNative().wire;
  native = {
    name: 'native',
    encodeFrame(msgid, msg) {
      // Checked here so both codecs reject bad input with the same message; the binding checks
      // again for direct callers (and the frame size), throwing the same LarsError code.
      validateMessage(msgid, msg);
      return wire.encodeFrame(msgid, msg);
    },
    decodeBody: <M extends number>(msgid: M, body: Uint8Array) => wire.decodeBody(msgid, body) as BodyOf<M> | null,
    decodeDatagram: (datagram) => wire.decodeDatagram(datagram),
    newFrameDecoder: () => new wire.FrameDecoder(),
  };
  return native;
}

export function codecFor(impl: Implementation): WireCodec {
  return impl === 'native' ? nativeCodec() : tsCodec;
}
