// The Lars wire messages (proto/lars.proto) in TypeScript, encoded and decoded with protobufjs.
//
// encodeBody() writes canonical proto3, the same bytes as the C++ codec (native/wire/messages.cc):
// protobufjs writes every set field even when it is zero, so default-valued scalars are stripped
// first. Input is checked against the schema (integer ranges, types) before encoding, because
// protobufjs would silently wrap or coerce bad values. decodeBody() turns every malformed body
// into LarsError ERR_PROTOCOL and returns plain objects: all scalars present, repeated fields as
// arrays, a singular submessage (`host`, `policy`) present only if it was on the wire.
//
// The fields EXTENSIONS.md §1 adds to reference messages (HostInfo.weight, HostInfo.zone, ...) are
// optional here: left out of a decoded object when at their default, and may be left out when
// encoding, so a message without them is the same object and the same bytes as in the reference.
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { LarsError } from '../errors.js';
import { packageRoot } from '../native/addon.js';

export { ipToInt32, ipToUint32, int32ToIp, uint32ToIp } from './ipv4.js';

/** Frame msgids (docs/spec/PROTOCOL.md). */
export const MsgId = {
  GetRouteRequest: 1,
  GetRouteResponse: 2,
  ReportStatusRequest: 3,
  GetHostRequest: 4,
  GetHostResponse: 5,
  ReportRequest: 6,
  ApiGetRouteRequest: 7,
  ApiGetRouteResponse: 8,
  ReportBatchRequest: 9,
  RegisterRequest: 10,
  RegisterResponse: 11,
  LeaseRequest: 12,
} as const;
export type MsgId = (typeof MsgId)[keyof typeof MsgId];

/** GetHostResponse.retcode and ReportRequest.retcode. */
export const RetCode = {
  Succ: 0,
  Overload: 1,
  SystemError: 2,
  NoExist: 3,
} as const;
export type RetCode = (typeof RetCode)[keyof typeof RetCode];

export interface HostInfo {
  /** IPv4 as a<<24|b<<16|c<<8|d in an int32: see ipToInt32. */
  ip: number;
  port: number;
  /** uint32, 1..10000; absent (0) means 100. */
  weight?: number;
  /** Availability zone; absent ('') = unknown. */
  zone?: string;
}

/** A module's scheduling policy (EXTENSIONS.md §3); every 0 means unset. All uint32. */
export interface RoutePolicy {
  /** lars | weighted_round_robin | weighted_random | least_latency | ring_hash */
  name: string;
  /** 0 = unset = 100 */
  maxEjectionPercent: number;
  /** percent of nodes; 0 = off */
  panicThreshold: number;
  /** 0 = off */
  ejectionBackoffMaxMs: number;
  /** percent, e.g. 140; 0 = zone-aware routing off */
  zoneOverprovision: number;
  /** 0 = 1024 */
  ringSize: number;
}

export interface GetRouteRequest {
  modid: number;
  cmdid: number;
}

export interface GetRouteResponse {
  modid: number;
  cmdid: number;
  host: HostInfo[];
  /** Absent = policy `lars` with the agent's [loadbalance] settings. */
  policy?: RoutePolicy;
}

export interface HostCallResult {
  ip: number;
  port: number;
  /** uint32 */
  succ: number;
  /** uint32 */
  err: number;
  overload: boolean;
  /**
   * uint64 on the wire, a number here: exact up to 2^53 - 1 µs (285 years of summed call time, far
   * beyond any window). Larger values are refused when encoding and read as 2^53 - 1.
   */
  usetimeSumUs?: number;
  /** uint32 */
  usetimeMaxUs?: number;
  /** uint32 */
  timedCalls?: number;
}

export interface ReportStatusRequest {
  modid: number;
  cmdid: number;
  /** The reporting agent's IPv4, encoded like HostInfo.ip. */
  caller: number;
  results: HostCallResult[];
  /** uint32 unix seconds */
  ts: number;
}

export interface GetHostRequest {
  /** uint32 */
  seq: number;
  modid: number;
  cmdid: number;
  /** Request affinity key for ring_hash; absent when empty. */
  hashKey?: Uint8Array;
}

export interface GetHostResponse {
  /** uint32 */
  seq: number;
  modid: number;
  cmdid: number;
  retcode: number;
  /** Absent when no host was chosen (retcode other than Succ). */
  host?: HostInfo;
}

export interface ReportRequest {
  modid: number;
  cmdid: number;
  host?: HostInfo;
  retcode: number;
  /** uint32 microseconds; absent (0) = not measured. */
  usetimeUs?: number;
}

export interface ReportBatchRequest {
  /** Applied in order, exactly as that many ReportRequests. */
  report: ReportRequest[];
}

export interface RegisterRequest {
  /** uint32 */
  seq: number;
  modid: number;
  cmdid: number;
  host?: HostInfo;
  /** uint32 */
  ttlMs: number;
  deregister: boolean;
}

export interface RegisterResponse {
  /** uint32 */
  seq: number;
  retcode: number;
}

export interface Lease {
  modid: number;
  cmdid: number;
  host?: HostInfo;
  /** uint32 */
  ttlMs: number;
  deregister: boolean;
}

export interface LeaseRequest {
  lease: Lease[];
}

/** The body type each msgid carries. */
export interface MessageById {
  1: GetRouteRequest;
  2: GetRouteResponse;
  3: ReportStatusRequest;
  4: GetHostRequest;
  5: GetHostResponse;
  6: ReportRequest;
  7: GetRouteRequest;
  8: GetRouteResponse;
  9: ReportBatchRequest;
  10: RegisterRequest;
  11: RegisterResponse;
  12: LeaseRequest;
}
export type WireMessage = MessageById[MsgId];
/** The body type of msgid M; the union of all when M is not a literal msgid. */
export type BodyOf<M extends number> = M extends MsgId ? MessageById[M] : WireMessage;

export const protoPath = join(packageRoot, 'proto', 'lars.proto');
/** The parsed lars.proto; tests compare MsgId and RetCode with its enums. */
export const larsProto: protobuf.Root = protobuf.loadSync(protoPath);
larsProto.resolveAll();

const BODY_TYPE_NAME: Record<MsgId, string> = {
  1: 'GetRouteRequest',
  2: 'GetRouteResponse',
  3: 'ReportStatusRequest',
  4: 'GetHostRequest',
  5: 'GetHostResponse',
  6: 'ReportRequest',
  7: 'GetRouteRequest',
  8: 'GetRouteResponse',
  9: 'ReportBatchRequest',
  10: 'RegisterRequest',
  11: 'RegisterResponse',
  12: 'LeaseRequest',
};
const bodyTypes = new Map<number, protobuf.Type>(
  Object.entries(BODY_TYPE_NAME).map(([id, name]) => [Number(id), larsProto.lookupType(`lars.${name}`)]),
);

export function isMsgId(n: number): n is MsgId {
  return bodyTypes.has(n);
}

/** The fields EXTENSIONS.md §1 adds to reference messages: optional, absent when at their default. */
const OPTIONAL_FIELDS = new Set([
  'HostInfo.weight',
  'HostInfo.zone',
  'GetHostRequest.hashKey',
  'ReportRequest.usetimeUs',
  'HostCallResult.usetimeSumUs',
  'HostCallResult.usetimeMaxUs',
  'HostCallResult.timedCalls',
]);
const isOptional = (type: protobuf.Type, field: protobuf.Field): boolean => OPTIONAL_FIELDS.has(`${type.name}.${field.name}`);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

type Plain = Record<string, unknown>;

function invalid(message: string): LarsError {
  return new LarsError('ERR_INVALID_INPUT', `lars wire: ${message}`);
}

/**
 * Checks `value` against `type` and returns the object protobufjs should encode: scalars equal to
 * their default left out (canonical proto3), submessages present only when given.
 */
function toWire(type: protobuf.Type, value: unknown, path: string): Plain {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${path} must be an object`);
  const input = value as Plain;
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    const v = input[field.name];
    const where = `${path}.${field.name}`;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
    if (field.repeated) {
      if (!Array.isArray(v)) throw invalid(`${where} must be an array`);
      if (sub === null) throw invalid(`${where}: repeated scalars are not supported`);
      if (v.length > 0) out[field.name] = v.map((e: unknown, i) => toWire(sub, e, `${where}[${i}]`));
    } else if (sub !== null) {
      if (v !== undefined && v !== null) out[field.name] = toWire(sub, v, where);
    } else if (v === undefined && isOptional(type, field)) {
      continue;
    } else if (checkScalar(field.type, v, where)) {
      out[field.name] = v;
    }
  }
  return out;
}

/** Throws unless v fits the scalar type; returns whether it differs from the default. */
function checkScalar(type: string, v: unknown, where: string): boolean {
  switch (type) {
    case 'int32':
      if (typeof v !== 'number') throw invalid(`${where} must be an int32 (a number)`);
      if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
        throw invalid(
          `${where} must be an int32 (-2147483648..2147483647), got ${v}` + (v > INT32_MAX ? ' (for an IPv4 address use ipToInt32)' : ''),
        );
      }
      return v !== 0;
    case 'uint32':
      if (typeof v !== 'number') throw invalid(`${where} must be a uint32 (a number)`);
      if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) throw invalid(`${where} must be a uint32 (0..4294967295), got ${v}`);
      return v !== 0;
    case 'uint64':
      if (typeof v !== 'number') throw invalid(`${where} must be a uint64 (a number)`);
      if (!Number.isSafeInteger(v) || v < 0) throw invalid(`${where} must be a uint64 up to 2^53 - 1 (9007199254740991), got ${v}`);
      return v !== 0;
    case 'bool':
      if (typeof v !== 'boolean') throw invalid(`${where} must be a boolean`);
      return v;
    case 'string':
      if (typeof v !== 'string') throw invalid(`${where} must be a string`);
      // A lone surrogate has no UTF-8 form: refused rather than replaced, so both codecs write the same bytes.
      if (LONE_SURROGATE.test(v)) throw invalid(`${where} must be well-formed Unicode (no lone surrogates)`);
      return v !== '';
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw invalid(`${where} must be a Uint8Array`);
      return v.length > 0;
    default:
      throw invalid(`${where}: unsupported field type ${type}`);
  }
}

/** A decoded protobufjs message as a plain object: defaults filled in, absent submessages left out. */
function fromWire(type: protobuf.Type, decoded: Plain): Plain {
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    const v = decoded[field.name];
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
    if (field.repeated) {
      out[field.name] = ((v ?? []) as Plain[]).map((e) => (sub === null ? e : fromWire(sub, e)));
    } else if (sub !== null) {
      if (v !== undefined && v !== null) out[field.name] = fromWire(sub, v as Plain);
    } else {
      const value = scalarFromWire(field.type, v);
      if (isOptional(type, field) && isDefault(value)) continue;
      out[field.name] = value;
    }
  }
  return out;
}

const isDefault = (v: unknown): boolean => v === 0 || v === '' || (v instanceof Uint8Array && v.length === 0);

/** uint64 as a number (saturating at 2^53 - 1, as the C++ binding does); bytes as a plain Uint8Array copy. */
function scalarFromWire(type: string, v: unknown): unknown {
  if (type === 'uint64') {
    const n = typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
    return n > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : n;
  }
  if (type === 'bytes') return new Uint8Array(v as Uint8Array);
  return v;
}

function bodyTypeFor(msgid: number): protobuf.Type {
  const type = bodyTypes.get(msgid);
  if (type === undefined) throw invalid(`unknown msgid ${msgid} (expected 1..12, see MsgId)`);
  return type;
}

/** Throws ERR_INVALID_INPUT unless msg is a well-typed body for msgid. */
export function validateMessage(msgid: number, msg: unknown): void {
  const type = bodyTypeFor(msgid);
  toWire(type, msg, type.name);
}

/** The canonical proto3 body of msg (no frame header). Throws ERR_INVALID_INPUT on a bad message. */
export function encodeBody<M extends MsgId>(msgid: M, msg: MessageById[M]): Uint8Array {
  const type = bodyTypeFor(msgid);
  return type.encode(toWire(type, msg, type.name)).finish();
}

/** Decodes a frame body. Throws ERR_PROTOCOL for an unknown msgid or a malformed body. */
export function decodeBody<M extends number>(msgid: M, body: Uint8Array): BodyOf<M> {
  const type = bodyTypes.get(msgid);
  if (type === undefined) throw new LarsError('ERR_PROTOCOL', `lars wire: unknown msgid ${msgid}: ignore the frame`);
  let decoded: protobuf.Message;
  try {
    // A string field that is not valid UTF-8 makes the body malformed (proto3), in both codecs.
    decoded = type.decode(body);
  } catch (err) {
    throw new LarsError(
      'ERR_PROTOCOL',
      `lars wire: malformed ${type.name} body (${body.length} bytes): ${(err as Error).message}; drop the datagram or close the connection`,
      { cause: err },
    );
  }
  return fromWire(type, decoded as unknown as Plain) as unknown as BodyOf<M>;
}
