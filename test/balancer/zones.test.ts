// Zone-aware routing (docs/spec/EXTENSIONS.md §3, docs/policies.md), both implementations: the
// issue's simulation (fake clock, seeded PRNG, 100 000 picks, two zones of five nodes, the agent in
// az1, F = 140), the zone rule off reproducing today's pick sequence exactly, and every policy
// choosing inside the set the rule picked.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BALANCER_LIMITS,
  DEFAULT_ROUTE_POLICY,
  POLICY_NAMES,
  RetCode,
  createBalancer,
  type Balancer,
  type BalancerConfig,
  type RouteHost,
  type RoutePolicy,
} from '../../src/balancer/index.js';
import { IMPLS, SPEC_DEFAULTS, host, prng } from './fixtures.js';

const MOD = 1;
const CMD = 2;
const PICKS = 100_000;
/** The fake clock runs at 10 picks per ms, so 100 000 picks take 10 s: less than one overload_timeout. */
const PICKS_PER_MS = 10;
const F = 140;

/** Node i of a route whose nodes 0..local-1 are in az1 and the rest in az2; weights optional. */
function zoned(n: number, local: number, weights?: readonly number[]): RouteHost[] {
  return Array.from({ length: n }, (_, i) => ({ ...host(i), zone: i < local ? 'az1' : 'az2', ...(weights === undefined ? {} : { weight: weights[i] }) }));
}
const index = (port: number): number => port - 9000;

/** What a stretch of picks did. */
interface Tally {
  picks: number;
  /** Picks answered with a node in az1 (probes included), and with RET_OVERLOAD. */
  landedLocal: number;
  overloadAnswers: number;
  /** Picks answered with a node that failed the call. */
  failed: number;
  /** Counter deltas: ordinary picks by target set, probes. */
  zoneLocal: number;
  zoneOther: number;
  probes: number;
}

describe.each(IMPLS)('zone-aware routing (%s)', (impl) => {
  function primed(nodes: readonly RouteHost[], p: Partial<RoutePolicy>, cfg: Partial<BalancerConfig> = {}): Balancer {
    const all = { ...SPEC_DEFAULTS, ...DEFAULT_BALANCER_LIMITS, zone: 'az1', ...cfg };
    const b = createBalancer(impl, all, all, 12345);
    b.pick(MOD, CMD, 0);
    b.takePullRequests();
    b.applyRoute(MOD, CMD, nodes, 0, { ...DEFAULT_ROUTE_POLICY, ...p });
    return b;
  }

  /** The simulation: a clock at PICKS_PER_MS, each pick reported at once; nodes `failing(i)` fail
   * their calls (RET_OVERLOAD), the others succeed. Runs `picks` picks, or until `until()` holds. */
  class Sim {
    readonly b = primed(zoned(10, 5), { zoneOverprovision: F });
    now = 0;
    private k = 0;
    failing: (i: number) => boolean = () => false;

    run(picks: number, until?: () => boolean): Tally {
      const before = this.b.counters();
      const t: Tally = { picks: 0, landedLocal: 0, overloadAnswers: 0, failed: 0, zoneLocal: 0, zoneOther: 0, probes: 0 };
      for (let k = 0; k < picks && !(until?.() ?? false); k++) {
        if (++this.k % PICKS_PER_MS === 0) this.now++;
        const r = this.b.pick(MOD, CMD, this.now);
        t.picks++;
        if (r.retcode !== RetCode.SUCC) {
          t.overloadAnswers++;
          continue;
        }
        const i = index(r.port);
        if (i < 5) t.landedLocal++;
        const fails = this.failing(i);
        if (fails) t.failed++;
        this.b.report(MOD, CMD, r.ip, r.port, fails ? RetCode.OVERLOAD : RetCode.SUCC, this.now);
      }
      const after = this.b.counters();
      t.zoneLocal = after.zonePicksLocal - before.zonePicksLocal;
      t.zoneOther = after.zonePicksOther - before.zonePicksOther;
      t.probes = after.probes - before.probes;
      return t;
    }

    status() {
      const s = this.b.zoneStatus(10);
      expect(s).toHaveLength(1);
      return s[0]!;
    }
  }

  const pct = (a: number, b: number): number => (100 * a) / b;
  /** Every ordinary pick is counted in exactly one zone set. */
  const checkCounts = (t: Tally): void => {
    expect(t.zoneLocal + t.zoneOther + t.probes + t.overloadAnswers).toBe(t.picks);
  };

  it('all healthy: at least 99.9 % of the picks stay in the agent\'s zone', () => {
    const sim = new Sim();
    const t = sim.run(PICKS);
    checkCounts(t);
    expect(pct(t.landedLocal, t.picks)).toBeGreaterThanOrEqual(99.9);
    expect(t.zoneOther).toBe(0);
    expect(sim.status()).toEqual({ modid: MOD, cmdid: CMD, localNodes: 5, localHealthy: 5, otherNodes: 5, otherHealthy: 5, localShare: 1 });
    console.log(`[zones ${impl}] all healthy: ${pct(t.landedLocal, t.picks).toFixed(3)} % local`);
  });

  it('2 of 5 local nodes failing: ordinary picks settle at min(1, 0.6 × 1.4) = 84 % local ±1; probes go to the failing ones', () => {
    const sim = new Sim();
    sim.failing = (i) => i < 2;
    sim.run(PICKS, () => sim.b.counters().overloadedNodes === 2);
    expect(sim.status()).toMatchObject({ localNodes: 5, localHealthy: 3, otherHealthy: 5 });
    expect(sim.status().localShare).toBeCloseTo(0.84, 12);
    const t = sim.run(PICKS);
    checkCounts(t);
    expect(t.overloadAnswers).toBe(0);
    // They kept failing their probes: still overloaded, and every failed call was a probe.
    expect(sim.b.counters().overloadedNodes).toBe(2);
    expect(t.failed).toBe(t.probes);
    const ordinary = pct(t.zoneLocal, t.zoneLocal + t.zoneOther);
    expect(Math.abs(ordinary - 84)).toBeLessThanOrEqual(1);
    // Probes (every probe_num + 1-th pick) all land on the two overloaded local nodes, so with them
    // the local share is (ordinary local + probes) / picks, about (10 × 0.84 + 1) / 11 = 85.45 %.
    expect(t.landedLocal).toBe(t.zoneLocal + t.probes);
    const withProbes = pct(t.landedLocal, t.picks);
    expect(Math.abs(t.probes - t.picks / (SPEC_DEFAULTS.probeNum + 1))).toBeLessThanOrEqual(1);
    expect(Math.abs(withProbes - (100 * (10 * 0.84 + 1)) / 11)).toBeLessThanOrEqual(1);
    console.log(`[zones ${impl}] 2 of 5 local failing: ordinary ${ordinary.toFixed(2)} % local, with probes ${withProbes.toFixed(2)} % (${t.probes} probes in ${t.picks} picks)`);
  });

  it('every local node down: every ordinary pick goes to az2, the only failed picks are probes', () => {
    const sim = new Sim();
    sim.failing = (i) => i < 5;
    sim.run(PICKS, () => sim.b.counters().overloadedNodes === 5);
    expect(sim.status()).toMatchObject({ localHealthy: 0, otherHealthy: 5, localShare: 0 });
    const t = sim.run(PICKS);
    checkCounts(t);
    expect(t.overloadAnswers).toBe(0);
    expect(t.zoneLocal).toBe(0);
    expect(t.zoneOther).toBe(t.picks - t.probes);
    expect(t.failed).toBe(t.probes);
    expect(t.landedLocal).toBe(t.probes);
    console.log(`[zones ${impl}] all local down: ${pct(t.zoneOther, t.zoneLocal + t.zoneOther).toFixed(2)} % of ordinary picks to az2, ${t.failed} failed picks = ${t.probes} probes`);
  });

  it('the local nodes recover (their probes succeed): back to at least 99.9 % local within one overload_timeout', () => {
    const sim = new Sim();
    sim.failing = (i) => i < 5;
    sim.run(PICKS, () => sim.b.counters().overloadedNodes === 5);
    sim.run(PICKS / 10);
    sim.failing = () => false;
    const start = sim.now;
    sim.run(Infinity, () => sim.status().localHealthy === 5);
    const took = sim.now - start;
    expect(took).toBeLessThanOrEqual(SPEC_DEFAULTS.overloadTimeoutMs);
    const t = sim.run(PICKS);
    checkCounts(t);
    expect(pct(t.landedLocal, t.picks)).toBeGreaterThanOrEqual(99.9);
    expect(sim.status().localShare).toBe(1);
    console.log(`[zones ${impl}] recovery: all local healthy after ${took} ms of fake time, then ${pct(t.landedLocal, t.picks).toFixed(3)} % local`);
  });

  it('every other-zone node down while some local ones serve: the local set takes the picks the draw gave the others', () => {
    const b = primed(zoned(10, 5), { zoneOverprovision: 100 }, { continErrLimit: 1, overloadTimeoutMs: 1e12, probeNum: 1_000_000_000 });
    for (const i of [4, 5, 6, 7, 8, 9]) b.report(MOD, CMD, host(i).ip, host(i).port, RetCode.OVERLOAD, 0);
    expect(b.zoneStatus(1)[0]).toMatchObject({ localHealthy: 4, otherHealthy: 0 });
    expect(b.zoneStatus(1)[0]!.localShare).toBeCloseTo(0.8, 12);
    for (let k = 0; k < 1000; k++) {
      const r = b.pick(MOD, CMD, 0);
      expect(r.retcode).toBe(RetCode.SUCC);
      expect(index(r.port)).toBeLessThan(4);
    }
    expect(b.counters().zonePicksLocal).toBe(1000);
    expect(b.counters().zonePicksOther).toBe(0);
  });

  it('no local node at all: every ordinary pick goes to the others, counted as cross-zone', () => {
    const b = primed(zoned(4, 0), { zoneOverprovision: F });
    expect(b.zoneStatus(1)).toEqual([{ modid: MOD, cmdid: CMD, localNodes: 0, localHealthy: 0, otherNodes: 4, otherHealthy: 4, localShare: 0 }]);
    for (let k = 0; k < 100; k++) expect(b.pick(MOD, CMD, 0).retcode).toBe(RetCode.SUCC);
    expect(b.counters().zonePicksOther).toBe(100);
  });

  // Zone off in each of its three ways must be today's balancer exactly: same picks (so no extra
  // PRNG draw), same answers, no zone counters, no zone status.
  describe.each(POLICY_NAMES)('zone rule off (%s)', (name) => {
    const seq = (cfgZone: string, overprovision: number, withZones: boolean): string[] => {
      const nodes = withZones ? zoned(6, 3, [1, 2, 3, 100, 50, 7]) : zoned(6, 3, [1, 2, 3, 100, 50, 7]).map(({ zone: _zone, ...h }) => h);
      const b = primed(nodes, { name, zoneOverprovision: overprovision }, { zone: cfgZone, continErrLimit: 3, overloadTimeoutMs: 40, probeNum: 3 });
      const rnd = prng(7);
      const out: string[] = [];
      for (let k = 0; k < 20_000; k++) {
        const now = Math.floor(k / 10);
        const key = rnd() < 0.5 ? new TextEncoder().encode(`k${k % 97}`) : undefined;
        const r = b.pick(MOD, CMD, now, key);
        out.push(`${r.retcode}:${r.port}`);
        if (r.retcode === RetCode.SUCC) {
          const fails = index(r.port) === 1 ? rnd() < 0.6 : rnd() < 0.02;
          b.report(MOD, CMD, r.ip, r.port, fails ? RetCode.OVERLOAD : RetCode.SUCC, now, 100 + index(r.port) * 50);
        }
      }
      expect(b.zoneStatus(10)).toEqual([]);
      expect(b.counters()).toMatchObject({ zonePicksLocal: 0, zonePicksOther: 0 });
      return out;
    };
    it('agent without a zone, F = 0, or nodes without zones: the same pick sequence as without zones', () => {
      const today = seq('', 0, false);
      expect(seq('', F, true)).toEqual(today);
      expect(seq('az1', 0, true)).toEqual(today);
      expect(seq('az1', F, false)).toEqual(today);
      // ... while the rule on does change it (the comparison above can fail).
      expect(seq('az1', F, true)).not.toEqual(today);
    });
  });

  // F = 50 with every node healthy: each ordinary pick draws its set (p = 0.5); the counters say
  // which set each pick went to, and the node must be in it.
  describe.each(POLICY_NAMES)('the policy chooses inside the chosen set (%s)', (name) => {
    it('every pick lands in the set the rule chose, both sets are used, and each set keeps its own order', () => {
      const weights = [5, 1, 1, 2, 3, 1];
      const b = primed(zoned(6, 3, weights), { name, zoneOverprovision: 50 });
      const bySet: [number[], number[]] = [[], []];
      let local = 0;
      for (let k = 0; k < 4000; k++) {
        const key = name === 'ring_hash' ? new TextEncoder().encode(`user-${k}`) : undefined;
        const r = b.pick(MOD, CMD, 0, key);
        const c = b.counters().zonePicksLocal;
        const toLocal = c > local;
        local = c;
        const i = index(r.port);
        expect(i < 3).toBe(toLocal);
        bySet[toLocal ? 1 : 0].push(i);
        b.report(MOD, CMD, r.ip, r.port, RetCode.SUCC, 0);
      }
      expect(Math.abs(pct(bySet[1].length, 4000) - 50)).toBeLessThanOrEqual(4);
      if (name === 'lars') {
        // The idle FIFO's order within each set: round robin over it.
        expect(bySet[1].slice(0, 9)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
        expect(bySet[0].slice(0, 9)).toEqual([3, 4, 5, 3, 4, 5, 3, 4, 5]);
      }
      if (name === 'weighted_round_robin') {
        // nginx's sequence over each set's own weights: 5,1,1 → a a b a c a a; 2,3,1 → e d e f d e.
        expect(bySet[1].slice(0, 14)).toEqual([0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
        expect(bySet[0].slice(0, 6)).toEqual([4, 3, 4, 5, 3, 4]);
      }
    });
  });

  it('ring_hash: a key whose node is in the other set goes clockwise to the first node of the chosen set', () => {
    // F = 140, all healthy: every pick local; each key's node is its ring_hash home, or the first
    // local node clockwise from it, which is the home of the same key with az2's nodes overloaded.
    const keys = Array.from({ length: 2000 }, (_, k) => new TextEncoder().encode(`user-${k}`));
    const zonedB = primed(zoned(6, 3), { name: 'ring_hash', zoneOverprovision: F });
    const masked = primed(zoned(6, 3), { name: 'ring_hash' }, { continErrLimit: 1, overloadTimeoutMs: 1e12, probeNum: 1_000_000_000 });
    for (const i of [3, 4, 5]) masked.report(MOD, CMD, host(i).ip, host(i).port, RetCode.OVERLOAD, 0);
    for (const key of keys) expect(zonedB.pick(MOD, CMD, 0, key).port).toBe(masked.pick(MOD, CMD, 0, key).port);
  });
});
