// The store's input checks and route-size arithmetic, pure functions; the frame size is checked
// against the bytes the wire codec really produces.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLarsError } from '../../src/errors.js';
import { checkPolicy, checkPort, checkUint32, checkWeight, checkZone, formatIpv4, parseIntegerArg, parseIpv4, routeFrameSize } from '../../src/store/validate.js';
import type { ModulePolicy } from '../../src/store/store.js';
import { encodeBody, encodeFrame, MsgId } from '../../src/wire/index.js';

function refused(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isLarsError(caught, 'ERR_INVALID_INPUT'), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(message);
}

/** The real frame for a route as the store holds it (unsigned ids and ip → the wire's int32). */
function encodedLength(modid: number, cmdid: number, hosts: { ip: number; port: number; weight?: number; zone?: string }[], policy?: ModulePolicy): number {
  const body = encodeBody(MsgId.GetRouteResponse, { modid: modid | 0, cmdid: cmdid | 0, host: hosts.map((h) => ({ ...h, ip: h.ip | 0 })), policy });
  return encodeFrame(MsgId.GetRouteResponse, body).length;
}

describe('store input checks', () => {
  it('accepts unsigned 32-bit ids and refuses the rest, naming the field', () => {
    for (const v of [0, 1, 2147483648, 4294967295]) expect(checkUint32('modid', v)).toBe(v);
    for (const v of [-1, 4294967296, 1.5, Number.NaN, Infinity, '1', null, undefined]) refused(() => checkUint32('cmdid', v), /^cmdid must be an integer from 0 to 4294967295/);
  });

  it('accepts ports 1..65535', () => {
    expect(checkPort('port', 1)).toBe(1);
    expect(checkPort('port', 65535)).toBe(65535);
    for (const v of [0, 65536, -80, 80.5, '80']) refused(() => checkPort('port', v), /^port must be a port number from 1 to 65535/);
  });

  it('parses strict dotted quads to the unsigned number and back', () => {
    expect(parseIpv4('ip', '192.168.1.177')).toBe(3232235953);
    expect(parseIpv4('ip', '0.0.0.0')).toBe(0);
    expect(parseIpv4('ip', '255.255.255.255')).toBe(4294967295);
    expect(formatIpv4(3232235953)).toBe('192.168.1.177');
    expect(formatIpv4(-1062731343)).toBe('192.168.1.177'); // the wire's int32 form
    for (const v of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.04', '1.2.3.4 ', '+1.2.3.4', '1.2.3.-4', 'a.b.c.d', '', 3232235953]) {
      refused(() => parseIpv4('serverip', v), /^serverip must be an IPv4 address in dotted-quad form/);
    }
    fc.assert(fc.property(fc.ipV4(), (ip) => formatIpv4(parseIpv4('ip', ip)) === ip));
    fc.assert(fc.property(fc.nat({ max: 4294967295 }), (n) => parseIpv4('ip', formatIpv4(n)) === n));
  });

  it('parses decimal command-line integers only', () => {
    expect(parseIntegerArg('MODID', '42')).toBe(42);
    for (const v of ['', '-1', '1e3', '0x10', '4.2', ' 1', '12345678901']) refused(() => parseIntegerArg('MODID', v), /^MODID must be a non-negative decimal integer/);
  });
});

describe('routeFrameSize', () => {
  it('counts header, ids and each host exactly', () => {
    expect(routeFrameSize(0, 0, [])).toBe(8);
    expect(routeFrameSize(1, 1, [])).toBe(8 + 2 + 2);
    expect(routeFrameSize(700, 1, [])).toBe(8 + 3 + 2);
    // An id above 2^31-1 is a negative int32: tag + 10-byte varint.
    expect(routeFrameSize(4294967295, 2147483648, [])).toBe(8 + 11 + 11);
    // 127.0.0.1 (2130706433 → 5-byte varint), port 9001 (2 bytes): host = tag + len + (1+5) + (1+2).
    expect(routeFrameSize(1, 1, [{ ip: 2130706433, port: 9001 }])).toBe(12 + 2 + 6 + 3);
    // 200.0.0.1 travels as a negative int32: host = tag + len + (1+10) + (1+2) = 16 bytes.
    expect(routeFrameSize(1, 1, [{ ip: parseIpv4('ip', '200.0.0.1'), port: 1000 }])).toBe(12 + 16);
    // ip 0 is omitted from the HostInfo.
    expect(routeFrameSize(1, 1, [{ ip: 0, port: 80 }])).toBe(12 + 2 + 2);
  });

  it('equals the length of the frame the wire codec encodes', () => {
    const cases: [number, number, { ip: number; port: number }[]][] = [
      [1, 1, []],
      [1, 2, [9001, 9002, 9003].map((port) => ({ ip: 2130706433, port }))],
      [4294967295, 0, [{ ip: 4294967295, port: 65535 }, { ip: 0, port: 1 }]],
      [700, 1, Array.from({ length: 4095 }, (_, i) => ({ ip: parseIpv4('ip', `200.0.${i >> 8}.${i & 255}`), port: 1000 }))],
    ];
    for (const [modid, cmdid, hosts] of cases) expect(routeFrameSize(modid, cmdid, hosts)).toBe(encodedLength(modid, cmdid, hosts));
    expect(routeFrameSize(700, 1, cases[3]![2])).toBe(65533);
    fc.assert(
      fc.property(
        fc.nat({ max: 4294967295 }),
        fc.nat({ max: 4294967295 }),
        fc.array(fc.record({ ip: fc.nat({ max: 4294967295 }), port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 50 }),
        (modid, cmdid, hosts) => routeFrameSize(modid, cmdid, hosts) === encodedLength(modid, cmdid, hosts),
      ),
    );
  });

  it('counts weights, zones and the policy exactly as the codec writes them', () => {
    const policy = fc.record({
      name: fc.constantFrom('lars', 'weighted_round_robin', 'ring_hash'),
      maxEjectionPercent: fc.nat({ max: 100 }),
      panicThreshold: fc.nat({ max: 100 }),
      ejectionBackoffMaxMs: fc.nat({ max: 86_400_000 }),
      zoneOverprovision: fc.nat({ max: 10_000 }),
      ringSize: fc.nat({ max: 1_048_576 }),
    }) as fc.Arbitrary<ModulePolicy>;
    const host = fc.record(
      { ip: fc.nat({ max: 4294967295 }), port: fc.integer({ min: 1, max: 65535 }), weight: fc.integer({ min: 1, max: 10000 }), zone: fc.stringMatching(/^[a-z0-9._-]{1,64}$/) },
      { requiredKeys: ['ip', 'port'] },
    );
    fc.assert(
      fc.property(fc.nat({ max: 4294967295 }), fc.array(host, { maxLength: 30 }), fc.option(policy, { nil: undefined }), (modid, hosts, p) => {
        expect(routeFrameSize(modid, 1, hosts, p)).toBe(encodedLength(modid, 1, hosts, p));
      }),
    );
  });
});

describe('weight, zone and policy checks', () => {
  it('accepts weights 1..10000 and zones of [A-Za-z0-9._-] up to 64 characters, refusing the rest', () => {
    for (const w of [1, 100, 10000]) expect(checkWeight('weight', w)).toBe(w);
    for (const w of [0, 10001, 1.5, -1, '5', Number.NaN]) refused(() => checkWeight('weight', w), /^weight must be an integer from 1 to 10000/);
    for (const z of ['', 'az1', 'us-east-1a', 'A.b_c-9', 'z'.repeat(64)]) expect(checkZone('zone', z)).toBe(z);
    for (const z of ['z'.repeat(65), 'a b', 'zöne', 'a/b', 5, null]) refused(() => checkZone('zone', z), /^zone must be at most 64 characters of A-Z a-z 0-9/);
  });

  it('accepts the five policy names and knobs in range, refusing the rest', () => {
    const ok = { name: 'least_latency', maxEjectionPercent: 100, panicThreshold: 0, ejectionBackoffMaxMs: 86_400_000, zoneOverprovision: 140, ringSize: 0 };
    expect(checkPolicy('p', ok)).toEqual(ok);
    refused(() => checkPolicy('p', { ...ok, name: 'LARS' }), /^p\.name must be one of lars, weighted_round_robin/);
    refused(() => checkPolicy('p', { ...ok, maxEjectionPercent: 101 }), /^p\.maxEjectionPercent must be a percent from 0 to 100/);
    refused(() => checkPolicy('p', { ...ok, panicThreshold: -1 }), /^p\.panicThreshold/);
    refused(() => checkPolicy('p', { ...ok, ejectionBackoffMaxMs: 86_400_001 }), /^p\.ejectionBackoffMaxMs/);
    refused(() => checkPolicy('p', { ...ok, zoneOverprovision: 10_001 }), /^p\.zoneOverprovision/);
    refused(() => checkPolicy('p', { ...ok, ringSize: 1_048_577 }), /^p\.ringSize/);
    refused(() => checkPolicy('p', null), /^p must be an object/);
  });
});
