// The `ring_hash` policy: a consistent-hash ring over every node of the route, healthy or not, so a
// health change never moves keys between healthy nodes; built only when the nodes or weights change.
// The twin of native/balancer/policy/ring_hash.cc (XXH64 seed 0 of "a.b.c.d:port#i" per point).
import type { Route } from '../route.js';
import { xxh64Into } from '../xxhash64.js';
import { drawWeighted, type PickInput, type Policy } from './policy.js';

const encoder = new TextEncoder();

/** A larger ringSize (from a bad route update) is taken as this, so it can never exhaust memory. */
export const MAX_RING_SIZE = 1 << 16;

/** XXH64 (seed 0) of "a.b.c.d:port#i", point i of a node on the ring, as [hi, lo] into `out`. */
export function ringPointHash(ip: number, port: number, i: number, out: Uint32Array): void {
  const u = ip >>> 0;
  xxh64Into(encoder.encode(`${u >>> 24}.${(u >>> 16) & 255}.${(u >>> 8) & 255}.${u & 255}:${port}#${i}`), out);
}

export function makeRingHashPolicy(): Policy {
  // Points sorted by hash (then node): hash halves and owning node index.
  let hashHi = new Uint32Array(0);
  let hashLo = new Uint32Array(0);
  let owners = new Int32Array(0);
  const h = new Uint32Array(2);
  return {
    onHostsChanged(route: Route): void {
      const nodes = route.nodes;
      const size = route.policy.ringSize === 0 ? 1024 : Math.min(route.policy.ringSize, MAX_RING_SIZE);
      let total = 0;
      for (const n of nodes) total += n.weight;
      const points: { hi: number; lo: number; node: number }[] = [];
      nodes.forEach((n, i) => {
        const count = Math.max(1, Math.round((size * n.weight) / total));
        for (let k = 0; k < count; k++) {
          ringPointHash(n.ip, n.port, k, h);
          points.push({ hi: h[0]!, lo: h[1]!, node: i });
        }
      });
      points.sort((a, b) => a.hi - b.hi || a.lo - b.lo || a.node - b.node);
      hashHi = Uint32Array.from(points, (p) => p.hi);
      hashLo = Uint32Array.from(points, (p) => p.lo);
      owners = Int32Array.from(points, (p) => p.node);
    },
    choose(route: Route, candidates: readonly number[], healthy: boolean, input: PickInput): number {
      const key = input.key;
      if (key === undefined || key.length === 0) return drawWeighted(route, candidates, input);
      xxh64Into(key, h);
      const kh = h[0]!;
      const kl = h[1]!;
      // The first point whose hash is >= the key's.
      let lo = 0;
      let hi = owners.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const ph = hashHi[mid]!;
        if (ph < kh || (ph === kh && hashLo[mid]! < kl)) lo = mid + 1;
        else hi = mid;
      }
      const nodes = route.nodes;
      // Clockwise to the first point of a candidate: a healthy node of the pick's zone set (every
      // node when not only the healthy).
      for (let k = 0; k < owners.length; k++) {
        const node = owners[(lo + k) % owners.length]!;
        if (!healthy || (!nodes[node]!.overload && route.inZoneSet(node, input.zoneSet))) return node;
      }
      return candidates[0]!;
    },
    onTimedReport(): void {},
  };
}
