// The C++ and TypeScript codecs against each other: same bytes, each reads the other's, and the
// same verdict on malformed input.
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { nativeCodec, tsCodec } from '../../src/wire/codec.js';
import { encodeFrame, HEADER_SIZE } from '../../src/wire/frame.js';
import { MsgId } from '../../src/wire/messages.js';
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

// The reference Lars tools and agents decode with the reference lars.proto (libprotobuf, proto3):
// fields they do not know are skipped. This decoder is that schema, so frames we send with the
// new fields must still give them every reference field unchanged.
describe('wire compatibility: a reference-schema decoder reads frames with the new fields', () => {
  const reference = protobuf.parse(`
    syntax = "proto3";
    message HostInfo { int32 ip = 1; int32 port = 2; }
    message GetRouteResponse { int32 modid = 1; int32 cmdid = 2; repeated HostInfo host = 3; }
    message GetHostRequest { uint32 seq = 1; int32 modid = 2; int32 cmdid = 3; }
    message ReportRequest { int32 modid = 1; int32 cmdid = 2; HostInfo host = 3; int32 retcode = 4; }
    message HostCallResult { int32 ip = 1; int32 port = 2; uint32 succ = 3; uint32 err = 4; bool overload = 5; }
    message ReportStatusRequest { int32 modid = 1; int32 cmdid = 2; int32 caller = 3; repeated HostCallResult results = 4; uint32 ts = 5; }
  `).root;
  const plain = (type: string, body: Uint8Array) => {
    const t = reference.lookupType(type);
    return t.toObject(t.decode(body), { defaults: true });
  };
  const strip = <T extends object>(o: T, keys: string[]): T => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as T;

  it.each(['native', 'ts'] as const)('%s: GetRouteResponse, GetHostRequest, ReportRequest, ReportStatusRequest', (impl) => {
    const codec = impl === 'native' ? native : tsCodec;
    const route = samples[MsgId.GetRouteResponse];
    expect(plain('GetRouteResponse', codec.encodeFrame(MsgId.GetRouteResponse, route).subarray(HEADER_SIZE))).toStrictEqual({
      modid: route.modid,
      cmdid: route.cmdid,
      host: route.host.map((h) => ({ ip: h.ip, port: h.port })),
    });
    const req = samples[MsgId.GetHostRequest];
    expect(plain('GetHostRequest', codec.encodeFrame(MsgId.GetHostRequest, req).subarray(HEADER_SIZE))).toStrictEqual(strip(req, ['hashKey']));
    const rep = samples[MsgId.ReportRequest];
    expect(plain('ReportRequest', codec.encodeFrame(MsgId.ReportRequest, rep).subarray(HEADER_SIZE))).toStrictEqual(strip(rep, ['usetimeUs']));
    const status = samples[MsgId.ReportStatusRequest];
    expect(plain('ReportStatusRequest', codec.encodeFrame(MsgId.ReportStatusRequest, status).subarray(HEADER_SIZE))).toStrictEqual({
      ...status,
      results: status.results.map((r) => strip(r, ['usetimeSumUs', 'usetimeMaxUs', 'timedCalls'])),
    });
  });
});
