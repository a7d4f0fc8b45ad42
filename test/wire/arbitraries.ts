// Sample messages and fast-check arbitraries for the wire suites.
import fc from 'fast-check';
import {
  MsgId,
  type GetHostResponse,
  type HostCallResult,
  type HostInfo,
  type MessageById,
  type ReportRequest,
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
      { ip: -1, port: 65535 }, // 255.255.255.255
      { ip: 0, port: 0 },
    ],
  },
  3: {
    modid: 1,
    cmdid: 1,
    caller: -1062731343,
    results: [
      { ip: -1062731343, port: 9000, succ: 10, err: 2, overload: true },
      { ip: 16777343, port: 1, succ: UINT32_MAX, err: 0, overload: false },
    ],
    ts: 1_700_000_000,
  },
  4: { seq: UINT32_MAX, modid: INT32_MAX, cmdid: INT32_MIN },
  5: { seq: 7, modid: 1, cmdid: 2, retcode: 0, host: { ip: -1062731343, port: 9000 } },
  6: { modid: 1, cmdid: 2, host: { ip: -2, port: 8080 }, retcode: 1 },
  7: { modid: -5, cmdid: 0 },
  8: { modid: 3, cmdid: 4, host: [] },
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

export const hostInfo: fc.Arbitrary<HostInfo> = record({ ip: int32, port: int32 });
const hostCallResult: fc.Arbitrary<HostCallResult> = record({ ip: int32, port: int32, succ: uint32, err: uint32, overload: fc.boolean() });

const arbitraries: { [M in MsgId]: fc.Arbitrary<MessageById[M]> } = {
  1: record({ modid: int32, cmdid: int32 }),
  2: record({ modid: int32, cmdid: int32, host: fc.array(hostInfo, { maxLength: 20 }) }),
  3: record({ modid: int32, cmdid: int32, caller: int32, results: fc.array(hostCallResult, { maxLength: 10 }), ts: uint32 }),
  4: record({ seq: uint32, modid: int32, cmdid: int32 }),
  5: record(
    { seq: uint32, modid: int32, cmdid: int32, retcode: int32, host: hostInfo },
    ['seq', 'modid', 'cmdid', 'retcode'],
  ) as fc.Arbitrary<GetHostResponse>,
  6: record({ modid: int32, cmdid: int32, host: hostInfo, retcode: int32 }, ['modid', 'cmdid', 'retcode']) as fc.Arbitrary<ReportRequest>,
  7: record({ modid: int32, cmdid: int32 }),
  8: record({ modid: int32, cmdid: int32, host: fc.array(hostInfo, { maxLength: 20 }) }),
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
