// The `weighted_round_robin` policy: nginx's smooth weighted round robin (weights 5,1,1 give
// a a b a c a a). Each node's `current` lives in the route's node, so a route update keeps the sequence.
import type { Route } from '../route.js';
import { stateless, type Policy } from './policy.js';

export function makeWeightedRoundRobinPolicy(): Policy {
  return {
    ...stateless,
    choose(route: Route, candidates: readonly number[]): number {
      const nodes = route.nodes;
      let total = 0;
      let best = -1;
      for (const i of candidates) {
        const n = nodes[i]!;
        n.current += n.weight;
        total += n.weight;
        if (best < 0 || n.current > nodes[best]!.current) best = i; // first on ties
      }
      nodes[best]!.current -= total;
      return best;
    },
  };
}
