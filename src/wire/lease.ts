// What a registration (RegisterRequest, Lease) must look like (EXTENSIONS.md §4). One check
// serves the SDK (before sending), the agent (before accepting) and the DNS (before writing).
import type { HostInfo } from './messages.js';
import { MAX_WEIGHT, ZONE_PATTERN, ZONE_TEXT } from './route-limits.js';

export const DEFAULT_LEASE_TTL_MS = 10_000;
export const MIN_LEASE_TTL_MS = 1_000;
export const MAX_LEASE_TTL_MS = 600_000;

/** Why a registration is malformed, or undefined when it is well formed. A deregistration needs no ttl. */
export function leaseProblem(modid: number, cmdid: number, host: HostInfo | undefined, ttlMs: number, deregister: boolean): string | undefined {
  if (!Number.isInteger(modid) || modid < 0 || !Number.isInteger(cmdid) || cmdid < 0) return `modid and cmdid must be integers >= 0, got ${modid} ${cmdid}`;
  if (host === undefined) return 'the registration names no host';
  if (!Number.isInteger(host.ip) || host.ip === 0) return 'the host ip must be a non-zero IPv4 address';
  if (!Number.isInteger(host.port) || host.port < 1 || host.port > 65535) return `the host port must be 1..65535, got ${host.port}`;
  if (deregister) return undefined;
  const weight = host.weight ?? 0;
  if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) return `the weight must be 1..${MAX_WEIGHT} (0 = 100), got ${weight}`;
  const zone = host.zone ?? '';
  if (!ZONE_PATTERN.test(zone)) return `the zone must be ${ZONE_TEXT}, got ${JSON.stringify(zone)}`;
  if (!Number.isInteger(ttlMs) || ttlMs < MIN_LEASE_TTL_MS || ttlMs > MAX_LEASE_TTL_MS) return `the ttl must be ${MIN_LEASE_TTL_MS}..${MAX_LEASE_TTL_MS} ms, got ${ttlMs}`;
  return undefined;
}
