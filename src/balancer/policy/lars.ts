// The `lars` policy (docs/spec/BALANCER.md): the healthy set is served head to tail of the idle
// FIFO, weights ignored, and a zone set's healthy nodes in that FIFO's order too (Route.rotateIdle);
// any other set (panic: every node) gets a round-robin cursor in route order.
import type { Route } from '../route.js';
import { stateless, type PickInput, type Policy } from './policy.js';

export function makeLarsPolicy(): Policy {
  let cursor = 0;
  return {
    ...stateless,
    choose(route: Route, candidates: readonly number[], healthy: boolean, input: PickInput): number {
      if (healthy) return route.rotateIdle(input.zoneSet);
      const i = candidates[cursor % candidates.length]!;
      cursor++;
      return i;
    },
  };
}
