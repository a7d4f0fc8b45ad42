// How many hosts a route may have and still travel in one GetRouteResponse frame. The store
// validates route sizes with these before a change is committed, so that DNS never has a route
// it cannot send.
import { HEADER_SIZE, MAX_BODY_SIZE } from './frame.js';
import type { GetRouteResponse, HostInfo } from './messages.js';

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

function hostSize(h: HostInfo): number {
  const body = int32FieldSize(h.ip) + int32FieldSize(h.port);
  return 1 + varintSize(body) + body;
}

/** The exact size of the canonical GetRouteResponse body for this route. */
export function routeBodySize(route: Pick<GetRouteResponse, 'modid' | 'cmdid' | 'host'>): number {
  let size = int32FieldSize(route.modid) + int32FieldSize(route.cmdid);
  for (const h of route.host) size += hostSize(h);
  return size;
}

/** The exact size of the whole frame (header + body) carrying this route. */
export function routeFrameSize(route: Pick<GetRouteResponse, 'modid' | 'cmdid' | 'host'>): number {
  return HEADER_SIZE + routeBodySize(route);
}

// The worst case: negative modid and cmdid, every host with a negative ip (any address above
// 127.255.255.255) and a port of 16384 or more.
const WORST_HEADER = 2 * int32FieldSize(-1);
const WORST_HOST = hostSize({ ip: -1, port: 65535 });

/**
 * The most hosts that always fit one frame, whatever the modid, cmdid and addresses, for ports
 * 0..65535: 3853. A route with more may still fit: the store refuses a route only when its
 * actual frame (routeFrameSize) would pass 65535 bytes.
 */
export const MAX_HOSTS_PER_ROUTE: number = Math.floor((MAX_BODY_SIZE - WORST_HEADER) / WORST_HOST);
