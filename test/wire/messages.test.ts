// TypeScript-side pieces of the wire module: ids against lars.proto, IPv4 numbers, route limits,
// errors, and the native binding's own argument checks.
import { describe, expect, it } from 'vitest';
import { LarsError } from '../../src/errors.js';
import { loadNative } from '../../src/native/addon.js';
import { MAX_BODY_SIZE } from '../../src/wire/frame.js';
import {
  decodeBody,
  encodeBody,
  int32ToIp,
  ipToInt32,
  ipToUint32,
  larsProto,
  MsgId,
  RetCode,
  uint32ToIp,
} from '../../src/wire/messages.js';
import { MAX_HOSTS_PER_ROUTE, MAX_REFERENCE_HOSTS_PER_ROUTE, routeBodySize } from '../../src/wire/route-limits.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof LarsError ? err.code : `not a LarsError: ${String(err)}`;
  }
  return undefined;
}

describe('ids', () => {
  it('MsgId matches lars.MessageId', () => {
    const proto = larsProto.lookupEnum('lars.MessageId').values;
    for (const [name, id] of Object.entries(MsgId)) {
      const protoName = name.startsWith('Api') ? `ID_API_${name.slice(3)}` : `ID_${name}`;
      expect(proto[protoName], protoName).toBe(id);
    }
    expect(Object.keys(proto)).toHaveLength(Object.keys(MsgId).length + 1); // + ID_UNKNOW
  });

  it('RetCode matches lars.LarsRetCode', () => {
    expect(larsProto.lookupEnum('lars.LarsRetCode').values).toEqual({
      RET_SUCC: RetCode.Succ,
      RET_OVERLOAD: RetCode.Overload,
      RET_SYSTEM_ERROR: RetCode.SystemError,
      RET_NOEXIST: RetCode.NoExist,
    });
  });
});

describe('IPv4 numbers', () => {
  it.each([
    ['0.0.0.0', 0, 0],
    ['127.0.0.1', 2130706433, 2130706433],
    ['127.255.255.255', 2147483647, 2147483647],
    ['128.0.0.0', 2147483648, -2147483648],
    ['192.168.1.177', 3232235953, -1062731343],
    ['255.255.255.255', 4294967295, -1],
  ])('%s is %i unsigned, %i as int32', (ip, u, i) => {
    expect(ipToUint32(ip)).toBe(u);
    expect(ipToInt32(ip)).toBe(i);
    expect(uint32ToIp(u)).toBe(ip);
    expect(int32ToIp(i)).toBe(ip);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.-4', 'a.b.c.d', '::1', '1..3.4'])(
    'refuses %j',
    (ip) => {
      expect(codeOf(() => ipToUint32(ip))).toBe('ERR_INVALID_INPUT');
    },
  );

  it.each([
    [uint32ToIp, -1],
    [uint32ToIp, 2 ** 32],
    [uint32ToIp, 1.5],
    [int32ToIp, 2 ** 31],
    [int32ToIp, -(2 ** 31) - 1],
    [int32ToIp, Number.NaN],
  ])('%o refuses %d', (fn, n) => {
    expect(codeOf(() => fn(n))).toBe('ERR_INVALID_INPUT');
  });
});

describe('messages (TypeScript)', () => {
  it('throws ERR_PROTOCOL for a malformed body or an unknown msgid', () => {
    expect(codeOf(() => decodeBody(MsgId.GetRouteResponse, Buffer.from([0x1a, 0x05, 0x08])))).toBe('ERR_PROTOCOL');
    expect(codeOf(() => decodeBody(42, Buffer.alloc(0)))).toBe('ERR_PROTOCOL');
  });

  it('throws ERR_INVALID_INPUT for a badly typed message, naming the field', () => {
    const bad = { modid: 1, cmdid: 1, host: [{ ip: 3232235953, port: 80 }] };
    expect(() => encodeBody(MsgId.GetRouteResponse, bad)).toThrow(/GetRouteResponse\.host\[0\]\.ip must be an int32 .*ipToInt32/);
    expect(codeOf(() => encodeBody(MsgId.GetRouteResponse, bad))).toBe('ERR_INVALID_INPUT');
  });

  it('returns encodeBody output as plain bytes', () => {
    expect(Buffer.from(encodeBody(MsgId.GetRouteRequest, { modid: 1, cmdid: 2 })).toString('hex')).toBe('08011002');
  });
});

describe('route limits', () => {
  it('MAX_REFERENCE_HOSTS_PER_ROUTE and MAX_HOSTS_PER_ROUTE are the largest counts whose worst case fits one frame', () => {
    const worstRefHost = 17; // tag + length + (tag + 10-byte ip) + (tag + 3-byte port)
    const worstIds = 22; // two negative int32s
    expect(worstIds + MAX_REFERENCE_HOSTS_PER_ROUTE * worstRefHost).toBeLessThanOrEqual(MAX_BODY_SIZE);
    expect(worstIds + (MAX_REFERENCE_HOSTS_PER_ROUTE + 1) * worstRefHost).toBeGreaterThan(MAX_BODY_SIZE);
    const worstHost = 17 + 3 + 66; // + weight 10000 (tag + 2) + zone (tag + length + 64)
    const worstPolicy = 2 + 22 + 5 * 6; // tag + length + name of 20 bytes + five uint32 of 5 bytes
    expect(worstIds + worstPolicy + MAX_HOSTS_PER_ROUTE * worstHost).toBeLessThanOrEqual(MAX_BODY_SIZE);
    expect(worstIds + worstPolicy + (MAX_HOSTS_PER_ROUTE + 1) * worstHost).toBeGreaterThan(MAX_BODY_SIZE);
  });

  it('routeBodySize counts exactly what encodeBody writes', () => {
    const route = { modid: 0, cmdid: 300, host: [{ ip: 0, port: 0 }, { ip: -1, port: 127 }, { ip: 1, port: 128 }, { ip: 2 ** 31 - 1, port: 16384 }] };
    expect(routeBodySize(route)).toBe(encodeBody(MsgId.GetRouteResponse, route).length);
    const extended = {
      ...route,
      host: [{ ip: 1, port: 2, weight: 10000, zone: 'zone-ü' }, { ip: 3, port: 4, weight: 1 }],
      policy: { name: 'ring_hash', maxEjectionPercent: 100, panicThreshold: 0, ejectionBackoffMaxMs: 300000, zoneOverprovision: 140, ringSize: 0 },
    };
    expect(routeBodySize(extended)).toBe(encodeBody(MsgId.GetRouteResponse, extended).length);
  });
});

describe('native binding argument checks', () => {
  const wire = loadNative().wire;

  it('throws LarsError ERR_INVALID_INPUT for wrong types and out-of-range numbers', () => {
    const invalid = expect.objectContaining({ code: 'ERR_INVALID_INPUT' });
    expect(() => wire.encodeFrame(1, { modid: '1', cmdid: 1 })).toThrow(LarsError);
    expect(() => wire.encodeFrame(1, { modid: '1', cmdid: 1 })).toThrow(invalid);
    expect(() => wire.encodeFrame(1, { modid: 1 })).toThrow(/message\.cmdid must be an int32/);
    expect(() => wire.encodeFrame(2, { modid: 1, cmdid: 1, host: [{ ip: 3232235953, port: 1 }] })).toThrow(invalid);
    expect(() => wire.encodeFrame(2, { modid: 1, cmdid: 1, host: [{ ip: 3232235953, port: 1 }] })).toThrow(/host\[0\]\.ip.*ipToInt32/);
    expect(() => wire.encodeFrame(1, [] as unknown as object)).toThrow(invalid);
    expect(() => wire.encodeFrame(99, { modid: 1, cmdid: 1 })).toThrow(/unknown msgid 99/);
    expect(() => wire.decodeBody(1, 'not bytes' as unknown as Uint8Array)).toThrow(invalid);
    expect(() => wire.decodeBody(1, new Uint16Array(2) as unknown as Uint8Array)).toThrow(invalid);
    expect(() => new wire.FrameDecoder().push(null as unknown as Uint8Array)).toThrow(invalid);
  });

  it('accepts a plain Uint8Array as well as a Buffer', () => {
    expect(wire.decodeBody(1, new Uint8Array([0x08, 0x01]))).toStrictEqual({ modid: 1, cmdid: 0 });
  });
});
