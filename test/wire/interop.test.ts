// The C++ and TypeScript codecs against each other: same bytes, each reads the other's, and the
// same verdict on malformed input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeCodec, tsCodec } from '../../src/wire/codec.js';
import { encodeFrame, HEADER_SIZE } from '../../src/wire/frame.js';
import { anyMessage, applyEdits, allMsgIds, chunksOf, mutatedBody, rawFrame, samples, splits } from './arbitraries.js';

// LARS_WIRE_RUNS raises the run count for a one-off deeper search.
const numRuns = Number(process.env.LARS_WIRE_RUNS ?? 200);
const native = nativeCodec();

describe('wire interop: native and ts', () => {
  it.each(allMsgIds)('writes identical bytes for sample msgid %i, and each decodes the other', (msgid) => {
    const fromTs = tsCodec.encodeFrame(msgid, samples[msgid]);
    const fromNative = native.encodeFrame(msgid, samples[msgid]);
    expect(fromNative.toString('hex')).toBe(fromTs.toString('hex'));
    expect(native.decodeBody(msgid, fromTs.subarray(HEADER_SIZE))).toStrictEqual(samples[msgid]);
    expect(tsCodec.decodeBody(msgid, fromNative.subarray(HEADER_SIZE))).toStrictEqual(samples[msgid]);
  });

  it('writes identical bytes for random messages, and each decodes the other', () => {
    fc.assert(
      fc.property(anyMessage, ({ msgid, msg }) => {
        const fromTs = tsCodec.encodeFrame(msgid, msg);
        const fromNative = native.encodeFrame(msgid, msg);
        expect(fromNative.equals(fromTs)).toBe(true);
        expect(native.decodeBody(msgid, fromTs.subarray(HEADER_SIZE))).toStrictEqual(msg);
        expect(tsCodec.decodeBody(msgid, fromNative.subarray(HEADER_SIZE))).toStrictEqual(msg);
      }),
      { numRuns },
    );
  });

  it('gives the same verdict on corrupted bodies', () => {
    fc.assert(
      fc.property(mutatedBody, ({ msgid, msg, edits }) => {
        const body = applyEdits(tsCodec.encodeFrame(msgid, msg).subarray(HEADER_SIZE), edits);
        expect(native.decodeBody(msgid, body)).toStrictEqual(tsCodec.decodeBody(msgid, body));
      }),
      { numRuns },
    );
  });

  it('gives the same verdict on random bytes', () => {
    fc.assert(
      fc.property(fc.constantFrom(...allMsgIds), fc.uint8Array({ maxLength: 48 }), (msgid, bytes) => {
        const body = Buffer.from(bytes);
        expect(native.decodeBody(msgid, body)).toStrictEqual(tsCodec.decodeBody(msgid, body));
      }),
      { numRuns: numRuns * 2 },
    );
  });

  it('splits random streams into the same frames and the same errors', () => {
    const stream = fc
      .record({ frames: fc.array(rawFrame, { maxLength: 6 }), tail: fc.uint8Array({ maxLength: 24 }) })
      .chain(({ frames, tail }) => {
        // Random tail bytes may start a frame with a bad length: both must fail at the same push.
        const bytes = Buffer.concat([...frames.map((f) => encodeFrame(f.msgid, f.body)), Buffer.from(tail)]);
        return fc.record({ bytes: fc.constant(bytes), cuts: splits(bytes.length) });
      });
    fc.assert(
      fc.property(stream, ({ bytes, cuts }) => {
        const a = native.newFrameDecoder();
        const b = tsCodec.newFrameDecoder();
        for (const chunk of chunksOf(bytes, cuts)) {
          const ra = a.push(chunk);
          const rb = b.push(chunk);
          expect(ra.error).toBe(rb.error);
          expect(ra.frames.map((f) => [f.msgid, f.body.toString('hex')])).toEqual(rb.frames.map((f) => [f.msgid, f.body.toString('hex')]));
          expect(a.buffered).toBe(b.buffered);
        }
      }),
      { numRuns },
    );
  });

  it('agrees on datagrams of random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -3, max: 40 }), (bytes, msglen) => {
        const d = Buffer.from(bytes);
        if (d.length >= 8) d.writeInt32LE(msglen, 4);
        const ra = native.decodeDatagram(d);
        const rb = tsCodec.decodeDatagram(d);
        expect(ra.ok).toBe(rb.ok);
        if (ra.ok && rb.ok) expect([ra.frame.msgid, ra.frame.body.toString('hex')]).toEqual([rb.frame.msgid, rb.frame.body.toString('hex')]);
        else expect(ra).toEqual(rb);
      }),
      { numRuns },
    );
  });
});
