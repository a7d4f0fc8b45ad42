// The Lars wire messages (proto/lars.proto) in TypeScript, encoded and decoded with protobufjs.
//
// encodeBody() writes canonical proto3, the same bytes as the C++ codec (native/wire/messages.cc):
// protobufjs writes every set field even when it is zero, so default-valued scalars are stripped
// first. Input is checked against the schema (integer ranges, types) before encoding, because
// protobufjs would silently wrap or coerce bad values. decodeBody() turns every malformed body
// into LarsError ERR_PROTOCOL and returns plain objects: all scalars present, repeated fields as
// arrays, a singular submessage (`host`) present only if it was on the wire.
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
}

export interface GetRouteRequest {
  modid: number;
  cmdid: number;
}

export interface GetRouteResponse {
  modid: number;
  cmdid: number;
  host: HostInfo[];
}

export interface HostCallResult {
  ip: number;
  port: number;
  /** uint32 */
  succ: number;
  /** uint32 */
  err: number;
  overload: boolean;
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
};
const bodyTypes = new Map<number, protobuf.Type>(
  Object.entries(BODY_TYPE_NAME).map(([id, name]) => [Number(id), larsProto.lookupType(`lars.${name}`)]),
);

export function isMsgId(n: number): n is MsgId {
  return bodyTypes.has(n);
}

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
    case 'bool':
      if (typeof v !== 'boolean') throw invalid(`${where} must be a boolean`);
      return v;
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
      out[field.name] = v;
    }
  }
  return out;
}

function bodyTypeFor(msgid: number): protobuf.Type {
  const type = bodyTypes.get(msgid);
  if (type === undefined) throw invalid(`unknown msgid ${msgid} (expected 1..8, see MsgId)`);
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
