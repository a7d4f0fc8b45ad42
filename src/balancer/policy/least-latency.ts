// The `least_latency` policy: power of two choices over a peak EWMA of call times (Finagle's
// PeakEWMA) — the twin of native/balancer/policy/least_latency.cc, same formulas, same operation order.
import type { Node, Route } from '../route.js';
import { drawWeighted, type PickInput, type Policy } from './policy.js';

export const LATENCY_HALF_LIFE_MS = 10_000;

/** The weight of an old EWMA after dtMs: 2^(-dtMs / 10 s). Whole half-lives by halving, the rest by
 * the Taylor series of e^(-x ln 2): only +, × and ÷, each rounded as in C++. */
export function latencyDecay(dtMs: number): number {
  if (dtMs <= 0) return 1;
  const halves = Math.floor(dtMs / LATENCY_HALF_LIFE_MS);
  if (halves >= 64) return 0;
  const x = ((dtMs - halves * LATENCY_HALF_LIFE_MS) / LATENCY_HALF_LIFE_MS) * 0.6931471805599453;
  let term = 1;
  let sum = 1;
  for (let k = 1; k <= 16; k++) {
    term = (term * -x) / k;
    sum += term;
  }
  for (let h = 0; h < halves; h++) sum *= 0.5;
  return sum;
}

function cost(n: Node): number {
  if (!n.hasSample) return 0; // never measured: try it
  return (n.ewmaUs * (n.outstanding + 1)) / n.weight;
}

export function makeLeastLatencyPolicy(): Policy {
  return {
    choose(route: Route, candidates: readonly number[], _healthy: boolean, input: PickInput): number {
      if (candidates.length === 1) return candidates[0]!;
      const nodes = route.nodes;
      const a = drawWeighted(route, candidates, input);
      // The second draw, by weight among the others.
      let rest = 0;
      for (const i of candidates) rest += i === a ? 0 : nodes[i]!.weight;
      let t = input.rng.below(rest);
      let b = -1;
      for (const i of candidates) {
        if (i === a) continue;
        b = i;
        const w = nodes[i]!.weight;
        if (t < w) break;
        t -= w;
      }
      return cost(nodes[b]!) < cost(nodes[a]!) ? b : a;
    },
    onHostsChanged(): void {},
    onTimedReport(route: Route, i: number, usetimeUs: number, now: number): void {
      const n = route.nodes[i]!;
      if (!n.hasSample || usetimeUs > n.ewmaUs) {
        n.ewmaUs = usetimeUs; // a peak counts at once
        n.hasSample = true;
      } else {
        const w = latencyDecay(now - n.ewmaTs);
        n.ewmaUs = n.ewmaUs * w + usetimeUs * (1 - w);
      }
      n.ewmaTs = now;
    },
  };
}
