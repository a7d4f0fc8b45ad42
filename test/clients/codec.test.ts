// The Python and Java clients' hand-written protobuf codecs against the TypeScript codec (src/wire):
// every message they send, byte for byte, and every reply the agent sends, decoded to the same
// values; malformed bodies are refused, never misread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/frame.js';
import { MsgId, encodeBody, ipToInt32, type MessageById } from '../../src/wire/messages.js';
import { CLIENT_LANGS, ClientDriver } from '../../bench/lib/client-driver.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const frameHex = <M extends MsgId>(msgid: M, body: MessageById[M]): string => hex(encodeFrame(msgid, encodeBody(msgid, body)));
const bodyHex = <M extends MsgId>(msgid: M, body: MessageById[M]): string => hex(encodeBody(msgid, body));

describe.each(CLIENT_LANGS)('%s client codec', (lang) => {
  let driver: ClientDriver;
  beforeAll(async () => {
    driver = await ClientDriver.start(lang, { port: 1, timeoutMs: 1 });
  });
  afterAll(() => driver.close());

  const encoded = async (...words: (string | number)[]): Promise<string> => (await driver.cmd('encode', ...words)).hex as string;

  it('encodes GetHostRequest, with and without a hash key, as the TS codec does', async () => {
    const key = Buffer.from('user-42é');
    const cases: [(string | number)[], MessageById[4]][] = [
      [[0, 0, 0], { seq: 0, modid: 0, cmdid: 0 }],
      [[7, 1001, 1], { seq: 7, modid: 1001, cmdid: 1 }],
      [[4294967295, -1, -2147483648], { seq: 4294967295, modid: -1, cmdid: -2147483648 }],
      [[300, 2147483647, 3, hex(key)], { seq: 300, modid: 2147483647, cmdid: 3, hashKey: key }],
    ];
    for (const [words, msg] of cases) expect(await encoded('get_host', ...words)).toBe(frameHex(MsgId.GetHostRequest, msg));
  });

  it('encodes ReportRequest, with and without usetime_us, as the TS codec does', async () => {
    const cases: [(string | number)[], MessageById[6]][] = [
      [[1, 1, '10.0.0.1', 9001, 0, 0], { modid: 1, cmdid: 1, host: { ip: ipToInt32('10.0.0.1'), port: 9001 }, retcode: 0 }],
      [[5, 6, '192.168.1.177', 80, 1, 0], { modid: 5, cmdid: 6, host: { ip: ipToInt32('192.168.1.177'), port: 80 }, retcode: 1 }],
      [[0, 0, '0.0.0.0', 0, 0, 0], { modid: 0, cmdid: 0, host: { ip: 0, port: 0 }, retcode: 0 }],
      [[-5, 2, '255.255.255.255', 65535, 1, 4294967295], { modid: -5, cmdid: 2, host: { ip: ipToInt32('255.255.255.255'), port: 65535 }, retcode: 1, usetimeUs: 4294967295 }],
      [[3, 4, '10.1.2.3', 8080, 0, 1234], { modid: 3, cmdid: 4, host: { ip: ipToInt32('10.1.2.3'), port: 8080 }, retcode: 0, usetimeUs: 1234 }],
    ];
    for (const [words, msg] of cases) expect(await encoded('report', ...words)).toBe(frameHex(MsgId.ReportRequest, msg));
  });

  it('encodes API_GetRouteRequest as the TS codec does', async () => {
    for (const [m, c] of [[0, 0], [1001, 1], [-1, 2147483647]] as const) {
      expect(await encoded('route', m, c)).toBe(frameHex(MsgId.ApiGetRouteRequest, { modid: m, cmdid: c }));
    }
  });

  it('encodes RegisterRequest, registering and deregistering, as the TS codec does', async () => {
    const host = (ip: string, port: number, weight?: number, zone?: string) => ({ ip: ipToInt32(ip), port, ...(weight ? { weight } : {}), ...(zone ? { zone } : {}) });
    const cases: [(string | number)[], MessageById[10]][] = [
      [[0, 2001, 1, '10.0.0.9', 7001, 0, '-', 9000, 0], { seq: 0, modid: 2001, cmdid: 1, host: host('10.0.0.9', 7001), ttlMs: 9000, deregister: false }],
      [[12, 2001, 1, '172.16.0.1', 7001, 250, 'az1', 30000, 1], { seq: 12, modid: 2001, cmdid: 1, host: host('172.16.0.1', 7001, 250, 'az1'), ttlMs: 30000, deregister: true }],
      [[4294967295, -7, 0, '200.1.1.1', 1, 10000, '-', 3, 1], { seq: 4294967295, modid: -7, cmdid: 0, host: host('200.1.1.1', 1, 10000), ttlMs: 3, deregister: true }],
    ];
    for (const [words, msg] of cases) expect(await encoded('register', ...words)).toBe(frameHex(MsgId.RegisterRequest, msg));
  });

  it('decodes every GetHostResponse the TS codec encodes, weight and zone skipped', async () => {
    const cases: [MessageById[5], object][] = [
      [{ seq: 3, modid: 1001, cmdid: 1, retcode: 0, host: { ip: ipToInt32('192.168.1.177'), port: 9002 } }, { host: { ip: '192.168.1.177', port: 9002 } }],
      [{ seq: 4294967295, modid: -1, cmdid: 7, retcode: 3 }, { host: null }],
      [{ seq: 0, modid: 0, cmdid: 0, retcode: 1 }, { host: null }],
      [{ seq: 9, modid: 5, cmdid: 5, retcode: 0, host: { ip: ipToInt32('10.0.0.1'), port: 1, weight: 500, zone: 'az-2' } }, { host: { ip: '10.0.0.1', port: 1 } }],
    ];
    for (const [msg, expected] of cases) {
      expect(await driver.cmd('decode', MsgId.GetHostResponse, bodyHex(MsgId.GetHostResponse, msg))).toEqual({
        seq: msg.seq, modid: msg.modid, cmdid: msg.cmdid, retcode: msg.retcode, ...expected,
      });
    }
  });

  it('decodes every API_GetRouteResponse the TS codec encodes, policy skipped', async () => {
    const hosts = [
      { ip: ipToInt32('10.0.0.1'), port: 1 },
      { ip: ipToInt32('255.0.0.255'), port: 65535, weight: 3, zone: 'z' },
      { ip: 0, port: 0 },
    ];
    const policy = { name: 'ring_hash', maxEjectionPercent: 50, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 140, ringSize: 64 };
    expect(await driver.cmd('decode', MsgId.ApiGetRouteResponse, bodyHex(MsgId.ApiGetRouteResponse, { modid: 4, cmdid: -4, host: hosts, policy }))).toEqual({
      modid: 4, cmdid: -4, hosts: ['10.0.0.1:1', '255.0.0.255:65535', '0.0.0.0:0'],
    });
    expect(await driver.cmd('decode', MsgId.ApiGetRouteResponse, bodyHex(MsgId.ApiGetRouteResponse, { modid: 0, cmdid: 0, host: [] }))).toEqual({ modid: 0, cmdid: 0, hosts: [] });
  });

  it('decodes every RegisterResponse the TS codec encodes', async () => {
    for (const msg of [{ seq: 0, retcode: 0 }, { seq: 77, retcode: 2 }, { seq: 4294967295, retcode: -1 }]) {
      expect(await driver.cmd('decode', MsgId.RegisterResponse, bodyHex(MsgId.RegisterResponse, msg))).toEqual(msg);
    }
  });

  it('skips unknown fields of every wire type, and refuses malformed bodies', async () => {
    const good = Buffer.from(encodeBody(MsgId.GetHostResponse, { seq: 5, modid: 1, cmdid: 2, retcode: 3 }));
    // Unknown fields 9 (varint), 10 (fixed64), 11 (length-delimited) and 12 (fixed32) around the known ones.
    const unknown = Buffer.concat([Buffer.from('4801', 'hex'), Buffer.from('510102030405060708', 'hex'), good, Buffer.from('5a03616263', 'hex'), Buffer.from('6501020304', 'hex')]);
    expect(await driver.cmd('decode', MsgId.GetHostResponse, unknown.toString('hex'))).toEqual({ seq: 5, modid: 1, cmdid: 2, retcode: 3, host: null });
    const malformed = [
      'ff', // a varint that never ends
      '08', // a key without its value
      '2a05', // host: 5 bytes announced, none there
      '0a0100', // seq as a length-delimited field: wrong wire type
      '0b', // a group (wire type 3)
      '2a021081', // host whose port varint is cut short
      '00', // field number 0
      '2a03220261', // host with a zone announced past its end
      '2a032201ff', // host with a zone that is not UTF-8
    ];
    for (const m of malformed) expect(await driver.cmd('decode', MsgId.GetHostResponse, m), m).toEqual({ malformed: true });
  });
});
