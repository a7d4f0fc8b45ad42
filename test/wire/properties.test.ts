// Property tests over random messages, frames and split points, for both codecs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codecFor, type WireCodec } from '../../src/wire/codec.js';
import { encodeFrame, HEADER_SIZE, MAX_BODY_SIZE, type Frame } from '../../src/wire/frame.js';
import { routeBodySize } from '../../src/wire/route-limits.js';
import { MsgId, type GetRouteResponse } from '../../src/wire/messages.js';
import { anyMessage, applyEdits, chunksOf, mutatedBody, rawFrame, splits } from './arbitraries.js';

// LARS_WIRE_RUNS raises the run count for a one-off deeper search.
const numRuns = Number(process.env.LARS_WIRE_RUNS ?? 200);

function pushAll(codec: WireCodec, chunks: Buffer[]): { frames: Frame[]; errors: number } {
  const d = codec.newFrameDecoder();
  const frames: Frame[] = [];
  let errors = 0;
  for (const c of chunks) {
    const r = d.push(c);
    frames.push(...r.frames.map((f) => ({ msgid: f.msgid, body: Buffer.from(f.body) })));
    if (r.error !== undefined) errors++;
  }
  return { frames, errors };
}

describe.each(['native', 'ts'] as const)('wire properties: %s', (impl) => {
  const codec = codecFor(impl);

  it('decode(encode(m)) is m, for random messages of every msgid', () => {
    fc.assert(
      fc.property(anyMessage, ({ msgid, msg }) => {
        const frame = codec.encodeFrame(msgid, msg);
        expect(frame.readInt32LE(0)).toBe(msgid);
        expect(frame.readInt32LE(4)).toBe(frame.length - HEADER_SIZE);
        expect(codec.decodeBody(msgid, frame.subarray(HEADER_SIZE))).toStrictEqual(msg);
        if (msgid === MsgId.GetRouteResponse || msgid === MsgId.ApiGetRouteResponse) {
          expect(frame.length - HEADER_SIZE).toBe(routeBodySize(msg as GetRouteResponse));
        }
      }),
      { numRuns },
    );
  });

  it('reassembles random frames split at random points', () => {
    const stream = fc.array(rawFrame, { maxLength: 8 }).chain((frames) => {
      const bytes = Buffer.concat(frames.map((f) => encodeFrame(f.msgid, f.body)));
      return fc.record({ frames: fc.constant(frames), bytes: fc.constant(bytes), cuts: splits(bytes.length) });
    });
    fc.assert(
      fc.property(stream, ({ frames, bytes, cuts }) => {
        const got = pushAll(codec, chunksOf(bytes, cuts));
        expect(got.errors).toBe(0);
        expect(got.frames).toEqual(frames.map((f) => ({ msgid: f.msgid, body: Buffer.from(f.body) })));
      }),
      { numRuns },
    );
  });

  it('delivers the frames before a bad length, then reports the error on every push', () => {
    const badLength = fc.oneof(fc.integer({ min: -0x80000000, max: -1 }), fc.integer({ min: MAX_BODY_SIZE + 1, max: 0x7fffffff }));
    const stream = fc.record({ frames: fc.array(rawFrame, { maxLength: 4 }), badLength, tail: fc.uint8Array({ maxLength: 40 }) }).chain((s) => {
      const bad = Buffer.alloc(HEADER_SIZE);
      bad.writeInt32LE(1, 0);
      bad.writeInt32LE(s.badLength, 4);
      const good = Buffer.concat(s.frames.map((f) => encodeFrame(f.msgid, f.body)));
      const bytes = Buffer.concat([good, bad, s.tail]);
      return fc.record({ s: fc.constant(s), bytes: fc.constant(bytes), badEnd: fc.constant(good.length + HEADER_SIZE), cuts: splits(bytes.length) });
    });
    fc.assert(
      fc.property(stream, ({ s, bytes, badEnd, cuts }) => {
        const chunks = chunksOf(bytes, cuts);
        const got = pushAll(codec, chunks);
        expect(got.frames).toEqual(s.frames.map((f) => ({ msgid: f.msgid, body: Buffer.from(f.body) })));
        // Every chunk from the one completing the bad header onwards reports the error.
        let seen = 0;
        const firstBad = chunks.findIndex((c) => {
          seen += c.length;
          return seen >= badEnd;
        });
        expect(got.errors).toBe(chunks.length - firstBad);
      }),
      { numRuns },
    );
  });

  it('never throws on corrupted bodies: null or a message', () => {
    fc.assert(
      fc.property(mutatedBody, ({ msgid, msg, edits }) => {
        const body = applyEdits(codec.encodeFrame(msgid, msg).subarray(HEADER_SIZE), edits);
        const decoded = codec.decodeBody(msgid, body);
        expect(decoded === null || typeof decoded === 'object').toBe(true);
      }),
      { numRuns },
    );
  });
});
