// The `ring_hash` policy: a consistent-hash ring over every node of the route, healthy or not, so a
// health change never moves keys between healthy nodes; built only when the nodes or weights change.
// The twin of native/balancer/policy/ring_hash.cc (XXH64 seed 0 of "a.b.c.d:port#i" per point).
import type { Route } from '../route.js';
import { xxh64 } from '../xxhash64.js';
import { drawWeighted, type PickInput, type Policy } from './policy.js';

const encoder = new TextEncoder();

/** A larger ringSize (from a bad route update) is taken as this, so it can never exhaust memory. */
export const MAX_RING_SIZE = 1 << 16;

/** XXH64 (seed 0) of "a.b.c.d:port#i", point i of a node on the ring. */
export function ringPointHash(ip: number, port: number, i: number): bigint {
  const u = ip >>> 0;
  return xxh64(encoder.encode(`${u >>> 24}.${(u >>> 16) & 255}.${(u >>> 8) & 255}.${u & 255}:${port}#${i}`));
}

export function makeRingHashPolicy(): Policy {
  let hashes = new BigUint64Array(0);
  let owners = new Int32Array(0);
  return {
    onHostsChanged(route: Route): void {
      const nodes = route.nodes;
      const size = route.policy.ringSize === 0 ? 1024 : Math.min(route.policy.ringSize, MAX_RING_SIZE);
      let total = 0;
      for (const n of nodes) total += n.weight;
      const points: { hash: bigint; node: number }[] = [];
      nodes.forEach((n, i) => {
        const count = Math.max(1, Math.round((size * n.weight) / total));
        for (let k = 0; k < count; k++) points.push({ hash: ringPointHash(n.ip, n.port, k), node: i });
      });
      points.sort((a, b) => (a.hash !== b.hash ? (a.hash < b.hash ? -1 : 1) : a.node - b.node));
      hashes = BigUint64Array.from(points, (p) => p.hash);
      owners = Int32Array.from(points, (p) => p.node);
    },
    choose(route: Route, candidates: readonly number[], healthy: boolean, input: PickInput): number {
      const key = input.key;
      if (key === undefined || key.length === 0) return drawWeighted(route, candidates, input);
      const h = xxh64(key);
      let lo = 0;
      let hi = hashes.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (hashes[mid]! < h) lo = mid + 1;
        else hi = mid;
      }
      const nodes = route.nodes;
      // Clockwise to the first point of a node in the set (every node when not only the healthy).
      for (let k = 0; k < owners.length; k++) {
        const node = owners[(lo + k) % owners.length]!;
        if (!healthy || !nodes[node]!.overload) return node;
      }
      return candidates[0]!;
    },
    onTimedReport(): void {},
  };
}
