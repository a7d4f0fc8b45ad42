// The policies and safety knobs of docs/spec/EXTENSIONS.md §3, rule by rule, against both
// implementations; and XXH64 against the reference vectors.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BALANCER_LIMITS,
  DEFAULT_ROUTE_POLICY,
  RetCode,
  createBalancer,
  type Balancer,
  type BalancerConfig,
  type RouteHost,
  type RoutePolicy,
} from '../../src/balancer/index.js';
import { latencyDecay } from '../../src/balancer/policy/least-latency.js';
import { xxh64 } from '../../src/balancer/xxhash64.js';
import { IMPLS, SPEC_DEFAULTS, host, hosts } from './fixtures.js';

const MOD = 1;
const CMD = 2;
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('xxh64', () => {
  // Reference values from libxxhash 0.8.1 (XXH64 through ctypes).
  // Seed 0, the only seed EXTENSIONS.md uses; inputs of every tail length and the 4-lane path.
  it.each([
    ['', 0xef46db3751d8e999n],
    ['a', 0xd24ec4f1a98c6e5bn],
    ['abc', 0x44bc2cf5ad770999n],
    ['10.0.0.1:9000#0', 0x1e796dfc58f443e4n],
    ['The quick brown fox jumps over the lazy dog', 0x0b242d361fda71bcn],
  ])('XXH64(%j)', (s, want) => {
    expect(xxh64(bytes(s))).toBe(want);
  });

  // Bytes (7i + 3) mod 256 of every tail shape (8/4/1-byte steps) below and above the 32-byte lanes.
  it.each([
    [1, 0x1f25c8d0bc1f4bb6n],
    [3, 0x31d2363f52e564c9n],
    [4, 0x9bb64b7d66ee9fdan],
    [5, 0xc7608efddb7051fen],
    [7, 0x9a7b149959ce60d8n],
    [8, 0xdab99d95c6f90092n],
    [9, 0x170bb6bf975b4c02n],
    [15, 0x1b47cb8243cc8e32n],
    [16, 0x434850232b787be2n],
    [17, 0x1efa7025f1b97a7an],
    [31, 0xa2aa5f33cc4a6119n],
    [32, 0x23c3c17ef790fd97n],
    [33, 0x50a7cfc7ba588784n],
    [39, 0x880bbeea606e4b37n],
    [63, 0x5e3e54b431c7493cn],
    [64, 0x0eb64b3ef6eeb01fn],
    [65, 0xa383b724b2bd12f1n],
    [255, 0x39ae55a29989206fn],
  ])('%i bytes', (n, want) => {
    expect(xxh64(Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % 256))).toBe(want);
  });

  it('the 4-lane path over 100 bytes', () => {
    expect(xxh64(Uint8Array.from({ length: 100 }, (_, i) => i))).toBe(0x6ac1e58032166597n);
  });
});

describe('least_latency decay', () => {
  it('halves every 10 s and is 1 at 0', () => {
    expect(latencyDecay(0)).toBe(1);
    expect(latencyDecay(10_000)).toBe(0.5);
    expect(latencyDecay(20_000)).toBe(0.25);
    expect(latencyDecay(5_000)).toBeCloseTo(Math.SQRT1_2, 15);
  });
});

describe.each(IMPLS)('policies (%s)', (impl) => {
  const make = (cfg: Partial<BalancerConfig> = {}): Balancer => {
    const all = { ...SPEC_DEFAULTS, ...DEFAULT_BALANCER_LIMITS, ...cfg };
    return createBalancer(impl, all, all, cfg.seed ?? 7);
  };
  const policy = (p: Partial<RoutePolicy>): RoutePolicy => ({ ...DEFAULT_ROUTE_POLICY, ...p });
  const weighted = (ws: number[]): RouteHost[] => ws.map((weight, i) => ({ ...host(i), weight }));

  function primed(nodes: readonly RouteHost[], p?: Partial<RoutePolicy>, cfg: Partial<BalancerConfig> = {}): Balancer {
    const b = make(cfg);
    b.pick(MOD, CMD, 0);
    b.takePullRequests();
    b.applyRoute(MOD, CMD, nodes, 0, p === undefined ? undefined : policy(p));
    return b;
  }
  /** The node index of each pick, or -retcode when no node was picked. */
  const picks = (b: Balancer, n: number, now = 0, key?: Uint8Array): number[] =>
    Array.from({ length: n }, () => {
      const r = b.pick(MOD, CMD, now, key);
      return r.retcode === RetCode.SUCC ? r.port - 9000 : -r.retcode;
    });
  const report = (b: Balancer, i: number, retcode: number, now = 0, usetimeUs = 0): boolean =>
    b.report(MOD, CMD, host(i).ip, host(i).port, retcode, now, usetimeUs);

  describe('weighted_round_robin', () => {
    it.each([
      { weights: [5, 1, 1], expected: [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0] },
      { weights: [1, 1, 1], expected: [0, 1, 2, 0, 1, 2] },
      { weights: [0, 0, 300], expected: [2, 0, 2, 1, 2, 2, 0] }, // 0 = 100
    ])('weights $weights', ({ weights, expected }) => {
      expect(picks(primed(weighted(weights), { name: 'weighted_round_robin' }), expected.length)).toEqual(expected);
    });

    it('skips an overloaded node, which is still probed every probe_num-th pick', () => {
      const b = primed(weighted([5, 1, 1]), { name: 'weighted_round_robin' }, { probeNum: 3, continErrLimit: 1 });
      report(b, 0, RetCode.OVERLOAD);
      expect(picks(b, 8)).toEqual([1, 2, 1, 0, 2, 1, 2, 0]);
    });

    it('a route update keeps the sequence and takes the new weights', () => {
      const b = primed(weighted([5, 1, 1]), { name: 'weighted_round_robin' });
      expect(picks(b, 3)).toEqual([0, 0, 1]);
      b.applyRoute(MOD, CMD, weighted([5, 1, 1]), 0, policy({ name: 'weighted_round_robin' }));
      expect(picks(b, 4)).toEqual([0, 2, 0, 0]);
      b.applyRoute(MOD, CMD, weighted([1, 1, 1]), 0, policy({ name: 'weighted_round_robin' }));
      expect(new Set(picks(b, 3))).toEqual(new Set([0, 1, 2]));
    });
  });

  describe('weighted_random', () => {
    it('never picks a node of weight share 0 among the healthy, nor an overloaded one outside probes', () => {
      const b = primed(weighted([1, 10_000, 10_000]), { name: 'weighted_random' }, { continErrLimit: 1, probeNum: 1_000_000 });
      report(b, 1, RetCode.OVERLOAD);
      const got = picks(b, 2000);
      expect(got.filter((i) => i === 1)).toEqual([]);
      expect(got.filter((i) => i === 2).length).toBeGreaterThan(1900);
    });

    it('the same seed gives the same picks; another seed others', () => {
      const run = (seed: number): number[] => picks(primed(hosts(5), { name: 'weighted_random' }, { seed }), 50);
      expect(run(1)).toEqual(run(1));
      expect(run(1)).not.toEqual(run(2));
    });
  });

  describe('least_latency', () => {
    it('tries nodes without a sample, then prefers the faster', () => {
      const b = primed(hosts(2), { name: 'least_latency' });
      report(b, 0, 0, 0, 1000); // node 0 measured, node 1 not: node 1 costs 0
      expect(picks(b, 20).every((i) => i === 1)).toBe(true);
      for (let k = 0; k < 20; k++) report(b, 1, 0, 0); // settle outstanding
      report(b, 1, 0, 0, 100);
      expect(picks(b, 1)).toEqual([1]);
      report(b, 1, 0, 0);
      expect(picks(b, 1)).toEqual([1]);
    });

    it('counts outstanding calls: a busy fast node loses to an idle slower one', () => {
      const b = primed(hosts(2), { name: 'least_latency' });
      report(b, 0, 0, 0, 100);
      report(b, 1, 0, 0, 310);
      // Picks without reports pile up on node 0 until 100 × (k + 1) exceeds 310.
      expect(picks(b, 4)).toEqual([0, 0, 0, 1]);
    });

    it('a single healthy node is taken', () => {
      const b = primed(hosts(2), { name: 'least_latency' }, { continErrLimit: 1, probeNum: 1000 });
      report(b, 1, RetCode.OVERLOAD);
      expect(picks(b, 5)).toEqual([0, 0, 0, 0, 0]);
    });

    it('the EWMA decays toward lower samples with a 10 s half-life and jumps to peaks', () => {
      const b = primed(hosts(2), { name: 'least_latency' });
      report(b, 0, 0, 0, 1000);
      report(b, 1, 0, 0, 800);
      expect(picks(b, 1)).toEqual([1]);
      report(b, 1, 0, 0);
      report(b, 0, 0, 10_000, 400); // node 0: 1000 × 0.5 + 400 × 0.5 = 700 < 800
      expect(picks(b, 1, 10_000)).toEqual([0]);
      report(b, 0, 0, 10_000, 5000); // a peak counts at once
      expect(picks(b, 1, 10_000)).toEqual([1]);
    });
  });

  describe('ring_hash', () => {
    it('the same key lands on the same node; keys spread over the nodes', () => {
      const b = primed(hosts(4), { name: 'ring_hash' });
      const seen = new Set<number>();
      for (let k = 0; k < 200; k++) {
        const key = bytes(`user-${k}`);
        const first = picks(b, 1, 0, key)[0]!;
        expect(picks(b, 3, 0, key)).toEqual([first, first, first]);
        seen.add(first);
      }
      expect(seen).toEqual(new Set([0, 1, 2, 3]));
    });

    it('a key whose node is overloaded goes to the next healthy node clockwise, and comes back', () => {
      const b = primed(hosts(4), { name: 'ring_hash' }, { continErrLimit: 1, continSuccLimit: 1, probeNum: 1000 });
      const keys = Array.from({ length: 100 }, (_, k) => bytes(`k${k}`));
      const home = keys.map((key) => picks(b, 1, 0, key)[0]!);
      report(b, 2, RetCode.OVERLOAD);
      const moved = keys.map((key) => picks(b, 1, 0, key)[0]!);
      moved.forEach((n, k) => {
        expect(n).not.toBe(2);
        if (home[k] !== 2) expect(n).toBe(home[k]); // only node 2's keys move
      });
      report(b, 2, RetCode.SUCC, 20_000); // overload_timeout passed: back
      expect(keys.map((key) => picks(b, 1, 0, key)[0]!)).toEqual(home);
    });

    it('a huge ring_size from a bad update is capped, not allocated', () => {
      const b = primed(hosts(2), { name: 'ring_hash', ringSize: 0xffffffff });
      const key = bytes('k');
      expect(picks(b, 2, 0, key)).toEqual(Array(2).fill(picks(b, 1, 0, key)[0]));
    });

    it('without a key it draws by weight', () => {
      const b = primed(weighted([1, 10_000]), { name: 'ring_hash' });
      expect(picks(b, 100).filter((i) => i === 1).length).toBeGreaterThan(95);
    });
  });

  describe('safety knobs', () => {
    it('max_ejection_percent keeps nodes in service and counts the refusals', () => {
      const b = primed(hosts(4), { maxEjectionPercent: 50 }, { continErrLimit: 1 });
      for (let i = 0; i < 4; i++) report(b, i, RetCode.OVERLOAD);
      const c = b.counters();
      expect(c.overloadedNodes).toBe(2);
      expect(c.ejectionsCapped).toBe(2);
      expect(picks(b, 4).every((i) => i >= 0)).toBe(true);
    });

    it('panic_threshold: fewer healthy than P% picks among all nodes (lars: a cursor in route order)', () => {
      const b = primed(hosts(4), { panicThreshold: 50 }, { continErrLimit: 1 });
      report(b, 0, RetCode.OVERLOAD);
      report(b, 1, RetCode.OVERLOAD);
      expect(b.counters().panicPicks).toBe(0);
      expect(picks(b, 2)).toEqual([2, 3]); // 2 of 4 healthy: not below 50 %
      report(b, 2, RetCode.OVERLOAD);
      expect(picks(b, 6)).toEqual([0, 1, 2, 3, 0, 1]);
      expect(b.counters().panicPicks).toBe(6);
    });

    it('ejection_backoff_max_ms: a node overloaded again soon stays out overload_timeout × k, capped', () => {
      const b = primed(hosts(2), { ejectionBackoffMaxMs: 250 }, { continErrLimit: 1, overloadTimeoutMs: 100, idleTimeoutMs: 1000 });
      /** Overloads node 0 at t, then reports failures until the timeout lets it back; returns when. */
      const outFor = (t: number): number => {
        report(b, 0, RetCode.OVERLOAD, t);
        let now = t;
        while (b.counters().overloadedNodes === 1) report(b, 0, RetCode.OVERLOAD, ++now);
        return now - t;
      };
      expect(outFor(0)).toBe(100);
      expect(outFor(200)).toBe(200); // within idle_timeout of coming back: k = 2
      expect(outFor(500)).toBe(250); // k = 3, capped
      expect(outFor(5000)).toBe(100); // quiet for longer than idle_timeout: k resets
    });

    it('without the knob the overload timeout stays fixed', () => {
      const b = primed(hosts(2), undefined, { continErrLimit: 1, overloadTimeoutMs: 100 });
      for (const t of [0, 200, 500]) {
        report(b, 0, RetCode.OVERLOAD, t);
        report(b, 0, RetCode.OVERLOAD, t + 99);
        expect(b.counters().overloadedNodes).toBe(1);
        report(b, 0, RetCode.OVERLOAD, t + 100);
        expect(b.counters().overloadedNodes).toBe(0);
      }
    });
  });

  it('an unknown policy runs lars, counted', () => {
    const b = primed(weighted([5, 1, 1]), { name: 'fastest_first' });
    expect(picks(b, 4)).toEqual([0, 1, 2, 0]);
    expect(b.counters().unknownPolicies).toBe(1);
  });

  it('lars ignores weights', () => {
    expect(picks(primed(weighted([5, 1, 1]), { name: 'lars' }), 4)).toEqual([0, 1, 2, 0]);
  });

  it('reports carry the window call-time statistics', () => {
    const b = primed(hosts(1));
    report(b, 0, 0, 0, 100);
    report(b, 0, 0, 0, 300);
    report(b, 0, 1, 0); // not measured
    expect(b.collectReports(0, 1000)[0]?.results[0]).toMatchObject({ succ: 2, err: 1, usetimeSumUs: 400, usetimeMaxUs: 300, timedCalls: 2 });
  });
});
