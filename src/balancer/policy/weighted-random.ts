// The `weighted_random` policy: a healthy node at random, with probability weight / total.
import type { Route } from '../route.js';
import { drawWeighted, stateless, type PickInput, type Policy } from './policy.js';

export function makeWeightedRandomPolicy(): Policy {
  return {
    ...stateless,
    choose: (route: Route, candidates: readonly number[], _healthy: boolean, input: PickInput): number =>
      drawWeighted(route, candidates, input),
  };
}
