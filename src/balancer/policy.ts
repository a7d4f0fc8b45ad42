// What a route update carries beyond addresses (docs/spec/EXTENSIONS.md §1): per-node weight and
// zone, and the module's policy. The same names as the wire messages (src/wire/messages.ts), so the
// agent hands decoded messages straight to the balancer.

/** A node of a route update. weight 1..10000, 0 or absent = 100; zone empty or absent = unknown. */
export interface RouteHost {
  readonly ip: number;
  readonly port: number;
  readonly weight?: number;
  readonly zone?: string;
}

/** A module's policy (EXTENSIONS.md §1 RoutePolicy); zero knobs are off. Absent: `lars`, every knob off. */
export interface RoutePolicy {
  /** lars | weighted_round_robin | weighted_random | least_latency | ring_hash; another name runs `lars` (counted). */
  readonly name: string;
  /** 0 = 100: every node may be overloaded (the reference). */
  readonly maxEjectionPercent: number;
  /** Percent of nodes; below that share of healthy nodes, pick among all. 0 = off. */
  readonly panicThreshold: number;
  /** Cap of the ejection backoff; 0 = off (fixed overload_timeout). */
  readonly ejectionBackoffMaxMs: number;
  /** Zone-aware routing: percent, e.g. 140; 0 = off (docs/policies.md). */
  readonly zoneOverprovision: number;
  /** ring_hash points in all; 0 = 1024. */
  readonly ringSize: number;
}

export const POLICY_NAMES = ['lars', 'weighted_round_robin', 'weighted_random', 'least_latency', 'ring_hash'] as const;

export const DEFAULT_ROUTE_POLICY: RoutePolicy = Object.freeze({
  name: 'lars',
  maxEjectionPercent: 0,
  panicThreshold: 0,
  ejectionBackoffMaxMs: 0,
  zoneOverprovision: 0,
  ringSize: 0,
});

/** A policy as both balancers read it: knobs as uint32 (the native side's conversion), name a string. */
export function normalizePolicy(p: RoutePolicy): RoutePolicy {
  return {
    name: typeof p.name === 'string' ? p.name : '',
    maxEjectionPercent: p.maxEjectionPercent >>> 0,
    panicThreshold: p.panicThreshold >>> 0,
    ejectionBackoffMaxMs: p.ejectionBackoffMaxMs >>> 0,
    zoneOverprovision: p.zoneOverprovision >>> 0,
    ringSize: p.ringSize >>> 0,
  };
}

/** A node's weight as the balancer uses it: 1..10000, 100 for 0 or absent. */
export function effectiveWeight(w: number | undefined): number {
  const v = (w ?? 0) | 0;
  return v <= 0 ? 100 : Math.min(v, 10_000);
}

/** Hosts packed for the native balancer: (ip, port, weight, zone index or -1) per host, and the
 * distinct zones — so a route crosses N-API once, never once per node. */
export function packHosts(hosts: readonly RouteHost[]): { flat: Int32Array; zones: string[] } {
  const flat = new Int32Array(hosts.length * 4);
  const zones: string[] = [];
  hosts.forEach((h, i) => {
    flat[4 * i] = h.ip;
    flat[4 * i + 1] = h.port;
    flat[4 * i + 2] = h.weight ?? 0;
    let z = -1;
    if (h.zone !== undefined && h.zone !== '') {
      z = zones.indexOf(h.zone);
      if (z < 0) z = zones.push(h.zone) - 1;
    }
    flat[4 * i + 3] = z;
  });
  return { flat, zones };
}
