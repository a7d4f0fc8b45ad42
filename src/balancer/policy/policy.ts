// Policy: how a route chooses one node among candidates the shared state machine (../route.ts)
// hands it — the healthy nodes, or every node in panic. One file per policy (EXTENSIONS.md §3), made
// by name once per route update (makePolicy), called through this interface on the hot path. The
// twin of native/balancer/policy/. Candidates are node indices in route (join) order, never empty;
// zone-aware routing narrows them to one zone set's healthy nodes (PickInput.zoneSet), which the
// policies choose among as usual.
import type { Prng } from '../prng.js';
import type { Route } from '../route.js';
import { makeLarsPolicy } from './lars.js';
import { makeLeastLatencyPolicy } from './least-latency.js';
import { makeRingHashPolicy } from './ring-hash.js';
import { makeWeightedRandomPolicy } from './weighted-random.js';
import { makeWeightedRoundRobinPolicy } from './weighted-round-robin.js';

/** Which nodes an ordinary pick may take (zone-aware routing, docs/policies.md): any, or only the
 * agent's zone (local), or only the others. */
export const ZoneSet = { ANY: 0, LOCAL: 1, OTHER: 2 } as const;
export type ZoneSet = (typeof ZoneSet)[keyof typeof ZoneSet];

export interface PickInput {
  /** The request's affinity key (ring_hash); undefined or empty = none. */
  key: Uint8Array | undefined;
  readonly rng: Prng;
  /** Set by the route for each pick. */
  zoneSet: ZoneSet;
}

export interface Policy {
  /** `healthy`: the candidates are exactly the healthy nodes of input.zoneSet (ANY: of the whole route). */
  choose(route: Route, candidates: readonly number[], healthy: boolean, input: PickInput): number;
  /** The route's nodes or weights changed (and once after the policy is made). */
  onHostsChanged(route: Route): void;
  /** A report with a measured call time (usetimeUs > 0) for node i. */
  onTimedReport(route: Route, i: number, usetimeUs: number, now: number): void;
}

const POLICIES: Readonly<Record<string, () => Policy>> = Object.freeze({
  lars: makeLarsPolicy,
  weighted_round_robin: makeWeightedRoundRobinPolicy,
  weighted_random: makeWeightedRandomPolicy,
  least_latency: makeLeastLatencyPolicy,
  ring_hash: makeRingHashPolicy,
});

/** The policy called `name`; `lars` (known: false) for a name this agent lacks. */
export function makePolicy(name: string): { policy: Policy; known: boolean } {
  const make = Object.hasOwn(POLICIES, name) ? POLICIES[name] : undefined;
  return make === undefined ? { policy: makeLarsPolicy(), known: false } : { policy: make(), known: true };
}

/** A candidate drawn with probability weight / total weight (weighted_random and the others' fallback). */
export function drawWeighted(route: Route, candidates: readonly number[], input: PickInput): number {
  const nodes = route.nodes;
  let total = 0;
  for (const i of candidates) total += nodes[i]!.weight;
  let t = input.rng.below(total);
  for (const i of candidates) {
    const w = nodes[i]!.weight;
    if (t < w) return i;
    t -= w;
  }
  return candidates[candidates.length - 1]!;
}

/** The no-op hooks, for policies that keep no state of their own. */
export const stateless = {
  onHostsChanged(): void {},
  onTimedReport(): void {},
};
