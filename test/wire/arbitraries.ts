// Sample messages and fast-check arbitraries for the wire suites.
import fc from 'fast-check';
import {
  MsgId,
  type GetHostResponse,
  type HostCallResult,
  type HostInfo,
  type Lease,
  type MessageById,
  type RegisterRequest,
  type ReportRequest,
  type RoutePolicy,
  type WireMessage,
} from '../../src/wire/messages.js';

export const INT32_MIN = -0x80000000;
export const INT32_MAX = 0x7fffffff;
export const UINT32_MAX = 0xffffffff;

/** One sample of every msgid, with negative IPs (addresses above 127.255.255.255) and extremes. */
export const samples: { [M in MsgId]: MessageById[M] } = {
  1: { modid: 1, cmdid: 2 },
  2: {
    modid: 10,
    cmdid: 20,
    host: [
      { ip: -1062731343, port: 9000 }, // 192.168.1.177
      { ip: 0x7f000001, port: 80 },
      { ip: -1, port: 65535, weight: 10000, zone: 'az1' }, // 255.255.255.255
      { ip: 0, port: 0, weight: 1 },
      { ip: 1, port: 2, zone: 'zone-ü' },
    ],
    policy: { name: 'ring_hash', maxEjectionPercent: 50, panicThreshold: 0, ejectionBackoffMaxMs: 30000, zoneOverprovision: 140, ringSize: 4096 },
  },
  3: {
    modid: 1,
    cmdid: 1,
    caller: -1062731343,
    results: [
      { ip: -1062731343, port: 9000, succ: 10, err: 2, overload: true },
      { ip: 16777343, port: 1, succ: UINT32_MAX, err: 0, overload: false, usetimeSumUs: Number.MAX_SAFE_INTEGER, usetimeMaxUs: UINT32_MAX, timedCalls: 3 },
    ],
    ts: 1_700_000_000,
  },
  4: { seq: UINT32_MAX, modid: INT32_MAX, cmdid: INT32_MIN, hashKey: new Uint8Array([0, 1, 255]) },
  5: { seq: 7, modid: 1, cmdid: 2, retcode: 0, host: { ip: -1062731343, port: 9000 } },
  6: { modid: 1, cmdid: 2, host: { ip: -2, port: 8080 }, retcode: 1, usetimeUs: 1234 },
  7: { modid: -5, cmdid: 0 },
  8: { modid: 3, cmdid: 4, host: [] },
  9: { report: [{ modid: 1, cmdid: 2, host: { ip: -2, port: 8080 }, retcode: 0, usetimeUs: 5 }, { modid: 1, cmdid: 2, retcode: 1 }] },
  10: { seq: 9, modid: 1, cmdid: 2, host: { ip: 0x7f000001, port: 9000, weight: 200, zone: 'az2' }, ttlMs: 3000, deregister: false },
  11: { seq: 9, retcode: 3 },
  12: {
    lease: [
      { modid: 1, cmdid: 2, host: { ip: 0x7f000001, port: 9000 }, ttlMs: 3000, deregister: false },
      { modid: -1, cmdid: 0, ttlMs: 0, deregister: true },
    ],
  },
};

export const allMsgIds = Object.values(MsgId);

// Boundaries first: zero (omitted on the wire), one-byte/two-byte varint edges, signs.
const int32 = fc.oneof(
  fc.constantFrom(0, 1, -1, 127, 128, 16383, 16384, INT32_MAX, INT32_MIN),
  fc.integer({ min: INT32_MIN, max: INT32_MAX }),
);
const uint32 = fc.oneof(fc.constantFrom(0, 1, 127, 128, 0x7fffffff, 0x80000000, UINT32_MAX), fc.integer({ min: 0, max: UINT32_MAX }));

// Plain objects (fast-check's default is a null prototype), optionally with only some keys required.
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }, requiredKeys?: (keyof T)[]): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true, ...(requiredKeys === undefined ? {} : { requiredKeys }) }) as fc.Arbitrary<T>;
}

// The fields EXTENSIONS.md §1 adds to reference messages: absent, or set to a non-default value
// (a default one is left out when encoding, so it would not round-trip as a present key).
const nonZeroUint32 = fc.oneof(fc.constantFrom(1, 100, 10000, UINT32_MAX), fc.integer({ min: 1, max: UINT32_MAX }));
const safeUint64 = fc.oneof(fc.constantFrom(1, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const text = fc.string({ unit: 'grapheme', maxLength: 16 });
const nonEmptyText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 });
const bytes = fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b) => new Uint8Array(b));

export const hostInfo: fc.Arbitrary<HostInfo> = record({ ip: int32, port: int32, weight: nonZeroUint32, zone: nonEmptyText }, ['ip', 'port']);
/** A HostInfo as a reference peer sends it: no weight, no zone. */
export const referenceHostInfo: fc.Arbitrary<HostInfo> = record({ ip: int32, port: int32 });
const hostCallResult: fc.Arbitrary<HostCallResult> = record(
  { ip: int32, port: int32, succ: uint32, err: uint32, overload: fc.boolean(), usetimeSumUs: safeUint64, usetimeMaxUs: nonZeroUint32, timedCalls: nonZeroUint32 },
  ['ip', 'port', 'succ', 'err', 'overload'],
);
export const routePolicy: fc.Arbitrary<RoutePolicy> = record({
  name: fc.oneof(fc.constantFrom('lars', 'weighted_round_robin', 'weighted_random', 'least_latency', 'ring_hash'), text),
  maxEjectionPercent: uint32,
  panicThreshold: uint32,
  ejectionBackoffMaxMs: uint32,
  zoneOverprovision: uint32,
  ringSize: uint32,
});
const reportRequest = record({ modid: int32, cmdid: int32, host: hostInfo, retcode: int32, usetimeUs: nonZeroUint32 }, ['modid', 'cmdid', 'retcode']) as fc.Arbitrary<ReportRequest>;
const lease = record({ modid: int32, cmdid: int32, host: hostInfo, ttlMs: uint32, deregister: fc.boolean() }, ['modid', 'cmdid', 'ttlMs', 'deregister']) as fc.Arbitrary<Lease>;
const routeResponse = record({ modid: int32, cmdid: int32, host: fc.array(hostInfo, { maxLength: 20 }), policy: routePolicy }, ['modid', 'cmdid', 'host']);

const arbitraries: { [M in MsgId]: fc.Arbitrary<MessageById[M]> } = {
  1: record({ modid: int32, cmdid: int32 }),
  2: routeResponse,
  3: record({ modid: int32, cmdid: int32, caller: int32, results: fc.array(hostCallResult, { maxLength: 10 }), ts: uint32 }),
  4: record({ seq: uint32, modid: int32, cmdid: int32, hashKey: bytes }, ['seq', 'modid', 'cmdid']),
  5: record(
    { seq: uint32, modid: int32, cmdid: int32, retcode: int32, host: hostInfo },
    ['seq', 'modid', 'cmdid', 'retcode'],
  ) as fc.Arbitrary<GetHostResponse>,
  6: reportRequest,
  7: record({ modid: int32, cmdid: int32 }),
  8: routeResponse,
  9: record({ report: fc.array(reportRequest, { maxLength: 8 }) }),
  10: record({ seq: uint32, modid: int32, cmdid: int32, host: hostInfo, ttlMs: uint32, deregister: fc.boolean() }, [
    'seq',
    'modid',
    'cmdid',
    'ttlMs',
    'deregister',
  ]) as fc.Arbitrary<RegisterRequest>,
  11: record({ seq: uint32, retcode: int32 }),
  12: record({ lease: fc.array(lease, { maxLength: 8 }) }),
};

export interface AnyMessage {
  msgid: MsgId;
  msg: WireMessage;
}

/** A random msgid with a random message of its body type. */
export const anyMessage: fc.Arbitrary<AnyMessage> = fc
  .constantFrom(...allMsgIds)
  .chain((msgid) => (arbitraries[msgid] as fc.Arbitrary<WireMessage>).map((msg) => ({ msgid, msg })));

/** A random frame as raw parts: any int32 msgid, any body bytes. */
export const rawFrame = fc.record({ msgid: int32, body: fc.uint8Array({ maxLength: 300 }) });

/** Cut points for splitting a byte stream of length n into chunks (possibly empty ones). */
export function splits(n: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: n }), { maxLength: 12 }).map((cuts) => [...cuts].sort((a, b) => a - b));
}

export function chunksOf(bytes: Uint8Array, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(Buffer.from(bytes.subarray(prev, c))); // fresh copies, like socket chunks
    prev = c;
  }
  return out;
}

/** A valid body with a few random byte edits: mostly malformed, sometimes still valid. */
export const mutatedBody = anyMessage.chain(({ msgid, msg }) =>
  fc.record({
    msgid: fc.constant(msgid),
    msg: fc.constant(msg),
    edits: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom('set', 'insert', 'delete') }), {
      minLength: 1,
      maxLength: 4,
    }),
  }),
);

export function applyEdits(body: Uint8Array, edits: { at: number; byte: number; kind: 'set' | 'insert' | 'delete' }[]): Buffer {
  const bytes = [...body];
  for (const e of edits) {
    const at = bytes.length === 0 ? 0 : e.at % (bytes.length + (e.kind === 'insert' ? 1 : 0));
    if (e.kind === 'insert' || bytes.length === 0) bytes.splice(at, 0, e.byte);
    else if (e.kind === 'set') bytes[at] = e.byte;
    else bytes.splice(at, 1);
  }
  return Buffer.from(bytes);
}
