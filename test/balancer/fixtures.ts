// Shared by the balancer suites: the spec's default parameters, node addresses, a seeded PRNG.
import { SPEC_LOADBALANCE_DEFAULTS } from '../helpers/spec-defaults.js';

/** docs/spec/BALANCER.md defaults, timeouts in ms. */
export const SPEC_DEFAULTS = SPEC_LOADBALANCE_DEFAULTS;

export const IMPLS = ['native', 'ts'] as const;

/** Node i: 10.0.0.(i+1):9000+i. */
export function host(i: number): { ip: number; port: number } {
  return { ip: ((10 << 24) | (i + 1)) | 0, port: 9000 + i };
}

export function hosts(n: number): { ip: number; port: number }[] {
  return Array.from({ length: n }, (_, i) => host(i));
}

/** mulberry32: a small seeded PRNG returning [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
