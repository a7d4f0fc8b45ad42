// How many hosts a route may have and still travel in one GetRouteResponse frame. The store
// validates route sizes with these before a change is committed, so that DNS never has a route
// it cannot send.
import { HEADER_SIZE, MAX_BODY_SIZE } from './frame.js';
import type { GetRouteResponse, HostInfo, RoutePolicy } from './messages.js';

/** The largest HostInfo.weight the store accepts (EXTENSIONS.md §1). */
export const MAX_WEIGHT = 10000;
/** The longest HostInfo.zone the store accepts, in bytes (EXTENSIONS.md §2). */
export const MAX_ZONE_BYTES = 64;
/** A zone as the store, a registration and `[agent] zone` accept it: '' (none) or up to
 * MAX_ZONE_BYTES of A-Z a-z 0-9 . _ - (ASCII only, so characters are bytes). */
export const ZONE_PATTERN = new RegExp(`^[A-Za-z0-9._-]{0,${MAX_ZONE_BYTES}}$`);
/** How ZONE_PATTERN reads in an error message. */
export const ZONE_TEXT = `at most ${MAX_ZONE_BYTES} characters of A-Z a-z 0-9 . _ - (like az1 or us-east-1a)`;
/** The longest policy name (`weighted_round_robin`). */
const MAX_POLICY_NAME_BYTES = 20;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size += 1;
  }
  return size;
}

// Canonical proto3 sizes (field numbers < 16, so one-byte tags): defaults are omitted and a
// negative int32 is a 10-byte varint.
function int32FieldSize(v: number): number {
  return v === 0 ? 0 : 1 + (v < 0 ? 10 : varintSize(v));
}

function uint32FieldSize(v: number | undefined): number {
  return v === undefined || v === 0 ? 0 : 1 + varintSize(v);
}

function stringFieldSize(v: string | undefined): number {
  if (v === undefined || v === '') return 0;
  const n = Buffer.byteLength(v, 'utf8');
  return 1 + varintSize(n) + n;
}

function submessageSize(body: number): number {
  return 1 + varintSize(body) + body;
}

function hostSize(h: HostInfo): number {
  return submessageSize(int32FieldSize(h.ip) + int32FieldSize(h.port) + uint32FieldSize(h.weight) + stringFieldSize(h.zone));
}

function policySize(p: RoutePolicy): number {
  return submessageSize(
    stringFieldSize(p.name) +
      uint32FieldSize(p.maxEjectionPercent) +
      uint32FieldSize(p.panicThreshold) +
      uint32FieldSize(p.ejectionBackoffMaxMs) +
      uint32FieldSize(p.zoneOverprovision) +
      uint32FieldSize(p.ringSize),
  );
}

type RouteShape = Pick<GetRouteResponse, 'modid' | 'cmdid' | 'host' | 'policy'>;

/** The exact size of the canonical GetRouteResponse body for this route. */
export function routeBodySize(route: RouteShape): number {
  let size = int32FieldSize(route.modid) + int32FieldSize(route.cmdid);
  for (const h of route.host) size += hostSize(h);
  return size + (route.policy === undefined ? 0 : policySize(route.policy));
}

/** The exact size of the whole frame (header + body) carrying this route. */
export function routeFrameSize(route: RouteShape): number {
  return HEADER_SIZE + routeBodySize(route);
}

// The worst case: negative modid and cmdid, the largest policy the store accepts (every uint32 at
// its maximum), and every host with a negative ip (any address above 127.255.255.255), a port of
// 16384 or more, weight 10000 and a 64-byte zone.
const UINT32_MAX = 0xffffffff;
const WORST_HEADER =
  2 * int32FieldSize(-1) +
  policySize({
    name: 'x'.repeat(MAX_POLICY_NAME_BYTES),
    maxEjectionPercent: UINT32_MAX,
    panicThreshold: UINT32_MAX,
    ejectionBackoffMaxMs: UINT32_MAX,
    zoneOverprovision: UINT32_MAX,
    ringSize: UINT32_MAX,
  });
const WORST_HOST = hostSize({ ip: -1, port: 65535, weight: MAX_WEIGHT, zone: 'z'.repeat(MAX_ZONE_BYTES) });
const WORST_REFERENCE_HOST = hostSize({ ip: -1, port: 65535 });

/**
 * The most hosts that always fit one frame, whatever the modid, cmdid, addresses, weights (up to
 * 10000), zones (up to 64 bytes) and policy: 761. A route with more may still fit: the store
 * refuses a route only when its actual frame (routeFrameSize) would pass 65535 bytes.
 */
export const MAX_HOSTS_PER_ROUTE: number = Math.floor((MAX_BODY_SIZE - WORST_HEADER) / WORST_HOST);

/** The same bound for routes without weights, zones or a policy, as in the reference: 3853. */
export const MAX_REFERENCE_HOSTS_PER_ROUTE: number = Math.floor((MAX_BODY_SIZE - 2 * int32FieldSize(-1)) / WORST_REFERENCE_HOST);
