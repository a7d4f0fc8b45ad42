// The same spec against both wire codecs: round trips, framing, limits and bad input.
import { describe, expect, it } from 'vitest';
import { isLarsError } from '../../src/errors.js';
import { codecFor, type WireCodec } from '../../src/wire/codec.js';
import { HEADER_SIZE, MAX_BODY_SIZE, MAX_FRAME_SIZE } from '../../src/wire/frame.js';
import { MsgId, type GetRouteResponse } from '../../src/wire/messages.js';
import { MAX_HOSTS_PER_ROUTE, MAX_REFERENCE_HOSTS_PER_ROUTE, MAX_WEIGHT, MAX_ZONE_BYTES, routeFrameSize } from '../../src/wire/route-limits.js';
import { allMsgIds, samples } from './arbitraries.js';

function header(msgid: number, msglen: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeInt32LE(msgid, 0);
  h.writeInt32LE(msglen, 4);
  return h;
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function expectInvalidInput(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isLarsError(caught, 'ERR_INVALID_INPUT'), String(caught)).toBe(true);
}

/** The worst-case reference route: negative modid/cmdid and, per host, a negative ip and a 3-byte port. */
function worstRoute(hosts: number): GetRouteResponse {
  return { modid: -1, cmdid: -2147483648, host: Array.from({ length: hosts }, (_, i) => ({ ip: -1 - i, port: 65535 - (i % 1000) })) };
}

/** The worst case with EXTENSIONS.md §1: also weight 10000, a 64-byte zone and the largest policy. */
function worstExtendedRoute(hosts: number): GetRouteResponse {
  const u = 0xffffffff;
  return {
    ...worstRoute(hosts),
    host: worstRoute(hosts).host.map((h) => ({ ...h, weight: MAX_WEIGHT, zone: 'z'.repeat(MAX_ZONE_BYTES) })),
    policy: { name: 'weighted_round_robin', maxEjectionPercent: u, panicThreshold: u, ejectionBackoffMaxMs: u, zoneOverprovision: u, ringSize: u },
  };
}

describe.each(['native', 'ts'] as const)('wire codec: %s', (impl) => {
  const codec: WireCodec = codecFor(impl);

  describe('messages', () => {
    it.each(allMsgIds)('round-trips msgid %i', (msgid) => {
      const frame = codec.encodeFrame(msgid, samples[msgid]);
      expect(frame.readInt32LE(0)).toBe(msgid);
      expect(frame.readInt32LE(4)).toBe(frame.length - HEADER_SIZE);
      expect(codec.decodeBody(msgid, frame.subarray(HEADER_SIZE))).toStrictEqual(samples[msgid]);
    });

    it('writes canonical bytes: field order, defaults omitted, negative int32 as 10 bytes', () => {
      const frame = codec.encodeFrame(MsgId.GetRouteResponse, {
        modid: 1,
        cmdid: 2,
        host: [{ ip: -1062731343, port: 9000 }, { ip: 0x7f000001, port: 80 }, { ip: 0, port: 0 }],
      });
      expect(frame.subarray(HEADER_SIZE).toString('hex')).toBe(
        '08011002' + '1a0e' + '08b183a085fcffffffff01' + '10a846' + '1a08' + '088180' + '80f807' + '1050' + '1a00',
      );
      const report = codec.encodeFrame(MsgId.ReportRequest, { modid: 0, cmdid: 2, host: { ip: 5, port: 0 }, retcode: 1 });
      expect(report.subarray(HEADER_SIZE).toString('hex')).toBe('1002' + '1a020805' + '2001');
    });

    it('encodes an all-default message as an empty body and decodes it back with defaults', () => {
      const frame = codec.encodeFrame(MsgId.GetHostRequest, { seq: 0, modid: 0, cmdid: 0 });
      expect(frame).toStrictEqual(header(MsgId.GetHostRequest, 0));
      expect(codec.decodeBody(MsgId.ReportStatusRequest, Buffer.alloc(0))).toStrictEqual({ modid: 0, cmdid: 0, caller: 0, results: [], ts: 0 });
      expect(codec.decodeBody(MsgId.GetHostResponse, Buffer.alloc(0))).toStrictEqual({ seq: 0, modid: 0, cmdid: 0, retcode: 0 });
    });

    it('keeps an all-zero host present, and leaves an absent host out', () => {
      const withHost = codec.encodeFrame(MsgId.GetHostResponse, { seq: 1, modid: 1, cmdid: 1, retcode: 0, host: { ip: 0, port: 0 } });
      expect(withHost.subarray(HEADER_SIZE).toString('hex')).toBe('0801' + '1001' + '1801' + '2a00');
      expect(codec.decodeBody(MsgId.GetHostResponse, withHost.subarray(HEADER_SIZE))).toStrictEqual({
        seq: 1,
        modid: 1,
        cmdid: 1,
        retcode: 0,
        host: { ip: 0, port: 0 },
      });
      const noHost = codec.encodeFrame(MsgId.ReportRequest, { modid: 1, cmdid: 1, retcode: 3 });
      expect(codec.decodeBody(MsgId.ReportRequest, noHost.subarray(HEADER_SIZE))).toStrictEqual({ modid: 1, cmdid: 1, retcode: 3 });
    });

    it('carries an empty route', () => {
      const frame = codec.encodeFrame(MsgId.GetRouteResponse, { modid: 1, cmdid: 1, host: [] });
      expect(frame.length).toBe(HEADER_SIZE + 4);
      expect(codec.decodeBody(MsgId.GetRouteResponse, frame.subarray(HEADER_SIZE))).toStrictEqual({ modid: 1, cmdid: 1, host: [] });
    });

    it('carries negative int32 IPs (addresses above 127.255.255.255)', () => {
      const host = [{ ip: -1062731343, port: 1 }, { ip: -2147483648, port: 2 }, { ip: -1, port: 3 }];
      const frame = codec.encodeFrame(MsgId.ApiGetRouteResponse, { modid: 1, cmdid: 1, host });
      expect(codec.decodeBody(MsgId.ApiGetRouteResponse, frame.subarray(HEADER_SIZE))).toStrictEqual({ modid: 1, cmdid: 1, host });
    });
  });

  describe('compatibility with reference peers (EXTENSIONS.md §1)', () => {
    it('writes a route without weights, zones or policy byte for byte as before, and reads it back without them', () => {
      // The bytes of the reference encoding (checked against the test above, which predates §1).
      const route = { modid: 1, cmdid: 2, host: [{ ip: -1062731343, port: 9000 }, { ip: 0x7f000001, port: 80 }] };
      const reference = '08011002' + '1a0e' + '08b183a085fcffffffff01' + '10a846' + '1a08' + '088180' + '80f807' + '1050';
      expect(codec.encodeFrame(MsgId.GetRouteResponse, route).subarray(HEADER_SIZE).toString('hex')).toBe(reference);
      // Weight 0 and zone '' are the defaults: also not written.
      const zeroed = { ...route, host: route.host.map((h) => ({ ...h, weight: 0, zone: '' })) };
      expect(codec.encodeFrame(MsgId.GetRouteResponse, zeroed).subarray(HEADER_SIZE).toString('hex')).toBe(reference);
      expect(codec.decodeBody(MsgId.GetRouteResponse, hex(reference))).toStrictEqual(route);
    });

    it('reads requests and reports of a reference peer (no hash key, no usetime) as before', () => {
      expect(codec.decodeBody(MsgId.GetHostRequest, hex('0807' + '1001' + '1802'))).toStrictEqual({ seq: 7, modid: 1, cmdid: 2 });
      expect(codec.decodeBody(MsgId.ReportRequest, hex('0801' + '1002' + '1a0408051006' + '2001'))).toStrictEqual({
        modid: 1,
        cmdid: 2,
        host: { ip: 5, port: 6 },
        retcode: 1,
      });
      expect(codec.encodeFrame(MsgId.ReportRequest, { modid: 1, cmdid: 2, host: { ip: 5, port: 6 }, retcode: 1 }).subarray(HEADER_SIZE).toString('hex')).toBe(
        '0801' + '1002' + '1a0408051006' + '2001',
      );
    });

    it('writes the new fields after the reference ones, so a reference decoder skips them', () => {
      const frame = codec.encodeFrame(MsgId.GetRouteResponse, {
        modid: 1,
        cmdid: 0,
        host: [{ ip: 1, port: 2, weight: 300, zone: 'az1' }],
        policy: { name: 'lars', maxEjectionPercent: 50, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 0, ringSize: 0 },
      });
      expect(frame.subarray(HEADER_SIZE).toString('hex')).toBe('0801' + '1a0c' + '0801' + '1002' + '18ac02' + '2203' + '617a31' + '2208' + '0a046c617273' + '1032');
    });
  });

  describe('route size limit', () => {
    it.each([
      ['reference', MAX_REFERENCE_HOSTS_PER_ROUTE, 3853, worstRoute],
      ['weighted, zoned, with a policy', MAX_HOSTS_PER_ROUTE, 761, worstExtendedRoute],
    ] as const)('fits the bound of worst-case %s hosts in one frame, and not one more', (_, bound, expected, worst) => {
      expect(bound).toBe(expected);
      const fits = worst(bound);
      const frame = codec.encodeFrame(MsgId.GetRouteResponse, fits);
      expect(frame.length).toBe(routeFrameSize(fits));
      expect(frame.length).toBeLessThanOrEqual(MAX_FRAME_SIZE);
      const back = codec.decodeBody(MsgId.GetRouteResponse, frame.subarray(HEADER_SIZE));
      expect(back?.host).toHaveLength(bound);
      expect(back).toStrictEqual(fits);

      const tooMany = worst(bound + 1);
      expect(routeFrameSize(tooMany)).toBeGreaterThan(MAX_FRAME_SIZE);
      expectInvalidInput(() => codec.encodeFrame(MsgId.GetRouteResponse, tooMany));
    });

    it('accepts a body of exactly the maximum size and frames it at 65535 bytes', () => {
      const decoder = codec.newFrameDecoder();
      const body = Buffer.alloc(MAX_BODY_SIZE, 0);
      const { frames, error } = decoder.push(Buffer.concat([header(2, MAX_BODY_SIZE), body]));
      expect(error).toBeUndefined();
      expect(frames).toHaveLength(1);
      expect(frames[0]!.body.length).toBe(MAX_FRAME_SIZE - HEADER_SIZE);
    });
  });

  describe('stream frame decoder', () => {
    const stream = Buffer.concat([
      codec.encodeFrame(MsgId.GetRouteResponse, samples[2]),
      codec.encodeFrame(MsgId.GetRouteRequest, { modid: 0, cmdid: 0 }),
      codec.encodeFrame(MsgId.ReportStatusRequest, samples[3]),
    ]);

    it('decodes at every split point', () => {
      for (let a = 0; a <= stream.length; a++) {
        for (let b = a; b <= stream.length; b += 7) {
          const d = codec.newFrameDecoder();
          const frames = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)].flatMap((chunk) => {
            const r = d.push(Buffer.from(chunk));
            expect(r.error).toBeUndefined();
            return r.frames;
          });
          expect(frames.map((f) => f.msgid)).toEqual([2, 1, 3]);
          expect(frames[1]!.body.length).toBe(0);
          expect(codec.decodeBody(3, frames[2]!.body)).toStrictEqual(samples[3]);
          expect(d.buffered).toBe(0);
        }
      }
    });

    it('returns many frames from one chunk', () => {
      const many = Buffer.concat(Array.from({ length: 500 }, (_, seq) => codec.encodeFrame(MsgId.GetHostRequest, { seq, modid: 1, cmdid: 1 })));
      const { frames, error } = codec.newFrameDecoder().push(many);
      expect(error).toBeUndefined();
      expect(frames).toHaveLength(500);
      expect(codec.decodeBody(MsgId.GetHostRequest, frames[499]!.body)).toStrictEqual({ seq: 499, modid: 1, cmdid: 1 });
    });

    it.each([
      ['negative', -1],
      ['most negative', -2147483648],
      ['one past the maximum', MAX_BODY_SIZE + 1],
      ['huge', 0x7fffffff],
    ])('reports a %s length as an error and stays failed', (_, msglen) => {
      const good = codec.encodeFrame(MsgId.GetRouteRequest, { modid: 1, cmdid: 2 });
      const d = codec.newFrameDecoder();
      // The bad header arrives split: the error shows once its 8 bytes are in, before any body.
      const first = d.push(Buffer.concat([good, header(1, msglen).subarray(0, 5)]));
      expect(first.error).toBeUndefined();
      expect(first.frames).toHaveLength(1);
      const second = d.push(Buffer.concat([header(1, msglen).subarray(5), Buffer.alloc(16)]));
      expect(second).toEqual({ frames: [], error: 'bad-length' });
      expect(d.push(good)).toEqual({ frames: [], error: 'bad-length' });
      expect(d.buffered).toBe(0);
    });
  });

  describe('datagrams', () => {
    const frame = codec.encodeFrame(MsgId.GetHostRequest, { seq: 1, modid: 2, cmdid: 3 });

    it('accepts exactly one frame', () => {
      const r = codec.decodeDatagram(frame);
      expect(r.ok).toBe(true);
      if (r.ok) {
        expect(r.frame.msgid).toBe(MsgId.GetHostRequest);
        expect(codec.decodeBody(MsgId.GetHostRequest, r.frame.body)).toStrictEqual({ seq: 1, modid: 2, cmdid: 3 });
      }
    });

    it.each([
      ['short', frame.subarray(0, 7)],
      ['size-mismatch', frame.subarray(0, frame.length - 1)],
      ['size-mismatch', Buffer.concat([frame, Buffer.from([0])])],
      ['size-mismatch', Buffer.concat([frame, frame])],
      ['bad-length', Buffer.concat([header(4, -1), Buffer.alloc(4)])],
      ['bad-length', header(4, MAX_BODY_SIZE + 1)],
    ])('rejects %s', (reason, datagram) => {
      expect(codec.decodeDatagram(datagram)).toEqual({ ok: false, reason });
    });
  });

  describe('bad bodies and bad messages', () => {
    // Non-canonical but valid encodings: both codecs must read them the same way.
    it.each([
      ['fields out of order, zeros present, last one wins', MsgId.GetHostRequest, '1805 1000 0801 0802 9000 09', { seq: 2, modid: 9, cmdid: 5 }],
      ['a later zero resets a field', MsgId.GetRouteRequest, '0805 0800', { modid: 0, cmdid: 0 }],
      ['negative int32 as 5 bytes', MsgId.GetRouteRequest, '08ffffffff0f', { modid: -1, cmdid: 0 }],
      ['unknown fields of every wire type', MsgId.GetRouteRequest, '0801 a00696 01 3901020304050607 08 4203616263 4d01020304 5308015b5c54 1002', { modid: 1, cmdid: 2 }],
      ['a known field with another wire type is unknown', MsgId.GetRouteRequest, '0a020801 1501000000', { modid: 0, cmdid: 0 }],
      ['an over-long unknown varint is skipped', MsgId.GetRouteRequest, '18ffffffffffffffffffffff01 0803', { modid: 3, cmdid: 0 }],
      ['a singular submessage sent twice is merged', MsgId.GetHostResponse, '2a020805 2a021006', { seq: 0, modid: 0, cmdid: 0, retcode: 0, host: { ip: 5, port: 6 } }],
      ['bool with only high bits set is true', MsgId.ReportStatusRequest, '2206 28 8080808010', { modid: 0, cmdid: 0, caller: 0, ts: 0, results: [{ ip: 0, port: 0, succ: 0, err: 0, overload: true }] }],
    ])('reads %s', (_, msgid, bytes, expected) => {
      expect(codec.decodeBody(msgid, hex(bytes))).toStrictEqual(expected);
    });

    it.each([
      ['a length past the end', MsgId.GetRouteResponse, '1a050801'],
      ['a submessage cut inside', MsgId.GetRouteResponse, '1a0208'],
      ['a missing value', MsgId.GetRouteRequest, '08'],
      ['field number 0', MsgId.GetRouteRequest, '0001'],
      ['wire type 6', MsgId.GetRouteRequest, '0e01'],
      ['wire type 7', MsgId.GetRouteRequest, '0f'],
      ['a stray end-group', MsgId.GetRouteRequest, '0c'],
      ['an unterminated group', MsgId.GetRouteRequest, '530801'],
      ['a group ended by another field', MsgId.GetRouteRequest, '5364'],
      ['a truncated fixed64', MsgId.GetRouteRequest, '390102'],
      ['an 11-byte varint on a known field', MsgId.GetRouteRequest, '08ffffffffffffffffffff01'],
      ['a tag above 2^32', MsgId.GetRouteRequest, '8080808010 00'],
      ['a length of 2^31', MsgId.GetRouteRequest, '428080808008'],
      ['garbage', MsgId.ReportStatusRequest, 'ffffffff'],
    ])('returns null for %s', (_, msgid, bytes) => {
      expect(codec.decodeBody(msgid, hex(bytes))).toBeNull();
    });

    it.each([
      ['a zone that is not UTF-8', MsgId.GetRouteResponse, '1a06' + '0801' + '2202c328'],
      ['an overlong UTF-8 zone', MsgId.GetRouteResponse, '1a06' + '0801' + '2202c0af'],
      ['a UTF-8 surrogate in a policy name', MsgId.GetRouteResponse, '2205' + '0a03eda080'],
      ['a truncated hash key', MsgId.GetHostRequest, '2205' + '0102'],
    ])('returns null for %s', (_, msgid, bytes) => {
      expect(codec.decodeBody(msgid, hex(bytes))).toBeNull();
    });

    it('reads a uint64 above 2^53-1 as 2^53-1', () => {
      // usetime_sum_us = 2^64 - 1
      const body = hex('2213' + '0801' + '1001' + '30ffffffffffffffffff01' + '3801' + '4001');
      expect(codec.decodeBody(MsgId.ReportStatusRequest, body)).toStrictEqual({
        modid: 0,
        cmdid: 0,
        caller: 0,
        results: [{ ip: 1, port: 1, succ: 0, err: 0, overload: false, usetimeSumUs: Number.MAX_SAFE_INTEGER, usetimeMaxUs: 1, timedCalls: 1 }],
        ts: 0,
      });
    });

    it('returns null for an unknown msgid', () => {
      expect(codec.decodeBody(0, Buffer.alloc(0))).toBeNull();
      expect(codec.decodeBody(13, Buffer.alloc(0))).toBeNull();
    });

    it('rejects groups nested past the recursion limit, like protobufjs', () => {
      const nested = (n: number) => Buffer.concat([Buffer.alloc(n, 0x53), Buffer.alloc(n, 0x54)]);
      expect(codec.decodeBody(MsgId.GetRouteRequest, nested(101))).toStrictEqual({ modid: 0, cmdid: 0 });
      expect(codec.decodeBody(MsgId.GetRouteRequest, nested(102))).toBeNull();
    });

    it.each([
      ['an unsigned IP in an int32 field', MsgId.GetRouteResponse, { modid: 1, cmdid: 1, host: [{ ip: 3232235953, port: 1 }] }],
      ['a fraction', MsgId.GetRouteRequest, { modid: 1.5, cmdid: 1 }],
      ['NaN', MsgId.GetRouteRequest, { modid: Number.NaN, cmdid: 1 }],
      ['a string', MsgId.GetRouteRequest, { modid: '1', cmdid: 1 }],
      ['a missing field', MsgId.GetRouteRequest, { modid: 1 }],
      ['a negative uint32', MsgId.GetHostRequest, { seq: -1, modid: 1, cmdid: 1 }],
      ['a uint32 above 2^32-1', MsgId.ReportStatusRequest, { modid: 1, cmdid: 1, caller: 0, results: [], ts: 2 ** 32 }],
      ['a number for a bool', MsgId.ReportStatusRequest, { modid: 1, cmdid: 1, caller: 0, results: [{ ip: 1, port: 1, succ: 0, err: 0, overload: 1 }], ts: 0 }],
      ['hosts that are not an array', MsgId.GetRouteResponse, { modid: 1, cmdid: 1, host: { ip: 1, port: 1 } }],
      ['a host that is not an object', MsgId.GetHostResponse, { seq: 1, modid: 1, cmdid: 1, retcode: 0, host: 5 }],
      ['not an object', MsgId.GetRouteRequest, null],
      ['an unknown msgid', 13, { modid: 1, cmdid: 1 }],
      ['a weight above 2^32-1', MsgId.GetRouteResponse, { modid: 1, cmdid: 1, host: [{ ip: 1, port: 1, weight: 2 ** 32 }] }],
      ['a number for a zone', MsgId.GetRouteResponse, { modid: 1, cmdid: 1, host: [{ ip: 1, port: 1, zone: 5 }] }],
      ['a lone surrogate in a zone', MsgId.GetRouteResponse, { modid: 1, cmdid: 1, host: [{ ip: 1, port: 1, zone: 'a\ud800' }] }],
      ['a policy without a name', MsgId.GetRouteResponse, { modid: 1, cmdid: 1, host: [], policy: { maxEjectionPercent: 0, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 0, ringSize: 0 } }],
      ['a string for a hash key', MsgId.GetHostRequest, { seq: 1, modid: 1, cmdid: 1, hashKey: 'k' }],
      ['a uint64 above 2^53-1', MsgId.ReportStatusRequest, { modid: 1, cmdid: 1, caller: 0, results: [{ ip: 1, port: 1, succ: 0, err: 0, overload: false, usetimeSumUs: 2 ** 53 }], ts: 0 }],
      ['a register request without ttlMs', MsgId.RegisterRequest, { seq: 1, modid: 1, cmdid: 1, deregister: false }],
    ])('refuses to encode %s', (_, msgid, msg) => {
      expectInvalidInput(() => codec.encodeFrame(msgid as MsgId, msg as never));
    });
  });
});
