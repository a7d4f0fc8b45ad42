// Protobuf varints written by hand into a buffer, as the canonical proto3 encoding has them
// (negative int32s sign-extended to ten bytes, zero fields left out): the one writer of the SDK's
// hand-made frames (udp-frames.ts: get_host and report; report-batcher.ts: ReportBatchRequest).

/** The longest varint: an int32 below zero, sign-extended to 64 bits. */
export const MAX_VARINT = 10;

/** Bytes the varint of v takes: int32 (negative: 10) or uint32, as protobuf writes it. */
function varintSize(v: number, signed: boolean): number {
  if (signed && v < 0) return MAX_VARINT;
  v >>>= 0;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes v as a varint at off; returns the offset after it. */
function writeVarint(buf: Uint8Array, off: number, v: number, signed: boolean): number {
  if (signed && v < 0) {
    let lo = v >>> 0;
    for (let i = 0; i < 4; i++) {
      buf[off++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    // Bits 28..31 of the value, then the sign extension: bits 32..63 all ones.
    buf[off++] = lo | 0xf0;
    buf[off++] = 0xff;
    buf[off++] = 0xff;
    buf[off++] = 0xff;
    buf[off++] = 0xff;
    buf[off++] = 0x01;
    return off;
  }
  v >>>= 0;
  while (v >= 0x80) {
    buf[off++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[off++] = v;
  return off;
}

/** The bytes writeField takes: tag + varint of a non-zero field, nothing for zero (proto3 leaves it out). */
export function fieldSize(v: number, signed: boolean): number {
  return v === 0 ? 0 : 1 + varintSize(v, signed);
}

export function writeField(buf: Uint8Array, off: number, tag: number, v: number, signed: boolean): number {
  if (v === 0) return off;
  buf[off++] = tag;
  return writeVarint(buf, off, v, signed);
}
