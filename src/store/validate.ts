// Input checks for everything that reaches the store: ids, ports, IPv4 addresses and the size a
// route will have on the wire. Pure functions; every refusal is LarsError('ERR_INVALID_INPUT')
// naming the field, thrown before any SQL runs.
import { LarsError } from '../errors.js';
import { ipToUint32, uint32ToIp } from '../wire/ipv4.js';
import { MAX_WEIGHT, ZONE_PATTERN, ZONE_TEXT, routeFrameSize as wireRouteFrameSize } from '../wire/route-limits.js';
import { MAX_FRAME_SIZE } from '../wire/frame.js';
import { POLICY_NAMES, type ModulePolicy, type PolicyName } from './store.js';

export const UINT32_MAX = 4294967295;
/** A whole frame (8-byte header + protobuf body) must not exceed this (docs/spec/PROTOCOL.md). */
export const MAX_FRAME_BYTES = MAX_FRAME_SIZE;
/** Longest ModIDConfig/CmdIDConfig.content accepted (the column is varchar(1024)). */
export const MAX_DESCRIPTION_LENGTH = 1024;

function invalid(message: string): LarsError {
  return new LarsError('ERR_INVALID_INPUT', message);
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** An integer 0..4294967295 (modid, cmdid, counters, ip numbers). */
export function checkUint32(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    throw invalid(`${field} must be an integer from 0 to ${UINT32_MAX}, got ${show(value)}`);
  }
  return value;
}

/** An alarm threshold: a share of calls or nodes, above 0 and at most 1. */
export function checkShare(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw invalid(`${field} must be a number above 0 and at most 1, got ${show(value)}`);
  }
  return value;
}

export function checkPort(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalid(`${field} must be a port number from 1 to 65535, got ${show(value)}`);
  }
  return value;
}

/** A count that may pass 2^32 (summed microseconds): a non-negative safe integer. */
export function checkSafeCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${field} must be a non-negative integer up to ${Number.MAX_SAFE_INTEGER}, got ${show(value)}`);
  }
  return value;
}

/** Unix seconds as stored in ServerCallStatus.ts: a non-negative safe integer. */
export function checkUnixSeconds(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${field} must be a non-negative integer (unix seconds), got ${show(value)}`);
  }
  return value;
}

/**
 * Strict dotted quad (no leading zeros, which some parsers read as octal) → the unsigned
 * number a<<24|b<<16|c<<8|d stored in RouteData.serverip. The parsing is the wire module's;
 * this names the field in the error.
 */
export function parseIpv4(field: string, value: unknown): number {
  try {
    return ipToUint32(value as string);
  } catch {
    throw invalid(`${field} must be an IPv4 address in dotted-quad form like 10.0.0.1 (no leading zeros), got ${show(value)}`);
  }
}

/**
 * A number → dotted quad. Accepts the unsigned form (RouteData.serverip) and the signed int32
 * form the wire carries (HostInfo.ip), so 3232235953 and -1062731343 both give 192.168.1.177.
 */
export function formatIpv4(value: number): string {
  if (!Number.isInteger(value) || value < -2147483648 || value > UINT32_MAX) {
    throw invalid(`an IPv4 number must be an int32 or uint32 integer, got ${show(value)}`);
  }
  return uint32ToIp(value >>> 0);
}

/** RouteNodeAttr.weight: an integer 1..10000 (100 is the default). */
export function checkWeight(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_WEIGHT) {
    throw invalid(`${field} must be an integer from 1 to ${MAX_WEIGHT} (100 is the default), got ${show(value)}`);
  }
  return value;
}

/** RouteNodeAttr.zone: '' (no zone) or up to 64 bytes of letters, digits, '.', '_' and '-'. */
export function checkZone(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ZONE_PATTERN.test(value)) {
    throw invalid(`${field} must be ${ZONE_TEXT}, got ${show(value)}`);
  }
  return value;
}

function checkRange(field: string, value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be ${what}, got ${show(value)}`);
  }
  return value;
}

export const MAX_EJECTION_BACKOFF_MS = 86_400_000;
export const MAX_ZONE_OVERPROVISION = 10_000;
export const MAX_RING_SIZE = 1_048_576;

export function checkPolicyName(field: string, value: unknown): PolicyName {
  if (!(POLICY_NAMES as readonly unknown[]).includes(value)) {
    throw invalid(`${field} must be one of ${POLICY_NAMES.join(', ')}, got ${show(value)}`);
  }
  return value as PolicyName;
}

/** The numeric knobs of a ModulePolicy: their range and what a value means. */
export const POLICY_KNOBS = {
  maxEjectionPercent: { max: 100, what: 'a percent from 0 to 100 (0 = unset = 100)' },
  panicThreshold: { max: 100, what: 'a percent from 0 to 100 (0 = off)' },
  ejectionBackoffMaxMs: { max: MAX_EJECTION_BACKOFF_MS, what: `milliseconds from 0 to ${MAX_EJECTION_BACKOFF_MS} (0 = off)` },
  zoneOverprovision: { max: MAX_ZONE_OVERPROVISION, what: `a percent from 0 to ${MAX_ZONE_OVERPROVISION}, e.g. 140 (0 = zone-aware routing off)` },
  ringSize: { max: MAX_RING_SIZE, what: `an integer from 0 to ${MAX_RING_SIZE} (0 = 1024)` },
} as const;
export type PolicyKnob = keyof typeof POLICY_KNOBS;

/** One knob of a ModulePolicy (0 always means unset). */
export function checkPolicyKnob(field: string, knob: PolicyKnob, value: unknown): number {
  return checkRange(field, value, 0, POLICY_KNOBS[knob].max, POLICY_KNOBS[knob].what);
}

/** A ModulePolicy with every field checked (0 always means unset). */
export function checkPolicy(field: string, value: unknown): ModulePolicy {
  if (typeof value !== 'object' || value === null) throw invalid(`${field} must be an object with a policy name`);
  const p = value as Record<string, unknown>;
  const knob = (k: PolicyKnob): number => checkPolicyKnob(`${field}.${k}`, k, p[k]);
  return {
    name: checkPolicyName(`${field}.name`, p.name),
    maxEjectionPercent: knob('maxEjectionPercent'),
    panicThreshold: knob('panicThreshold'),
    ejectionBackoffMaxMs: knob('ejectionBackoffMaxMs'),
    zoneOverprovision: knob('zoneOverprovision'),
    ringSize: knob('ringSize'),
  };
}

/** Parses a decimal command-line argument into an integer; the range check is the caller's. */
export function parseIntegerArg(field: string, text: string): number {
  if (!/^[0-9]{1,10}$/.test(text)) throw invalid(`${field} must be a non-negative decimal integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** A node as the store holds it: ip as the unsigned number; weight and zone as the DNS sends them. */
export interface StoredNode {
  readonly ip: number;
  readonly port: number;
  readonly weight?: number;
  readonly zone?: string;
}

/**
 * The exact size of the GetRouteResponse frame (header + body) carrying this route, as the
 * store holds it: ids and ip are unsigned 32-bit numbers, sent as the int32 the wire carries,
 * so values above 2^31-1 cost a 10-byte varint each. The byte counting is the wire module's.
 */
export function routeFrameSize(modid: number, cmdid: number, hosts: readonly StoredNode[], policy?: ModulePolicy): number {
  return wireRouteFrameSize({ modid: modid | 0, cmdid: cmdid | 0, host: hosts.map((h) => ({ ...h, ip: h.ip | 0 })), policy });
}

/** Refuses a route whose GetRouteResponse (nodes, weights, zones and policy) would not fit in one frame. */
export function checkRouteFits(modid: number, cmdid: number, hosts: readonly StoredNode[], policy?: ModulePolicy): void {
  const size = routeFrameSize(modid, cmdid, hosts, policy);
  if (size > MAX_FRAME_BYTES) {
    throw invalid(
      `route modid ${modid} cmdid ${cmdid} would have ${hosts.length} nodes, a ${size}-byte GetRouteResponse frame; ` +
        `the limit is ${MAX_FRAME_BYTES} bytes: split the service into more modules, remove nodes or shorten their zones`,
    );
  }
}

export function checkDescription(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_DESCRIPTION_LENGTH) {
    throw invalid(`${field} must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  return value;
}
