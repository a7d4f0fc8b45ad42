// Native and TypeScript balancers driven side by side through long random sequences of picks (with
// and without hash keys), reports (with and without call times), route updates (empty ones too,
// random weights, zones and policies with random knobs, zone_overprovision included, under a random
// agent zone), DNS answers to queued pulls, reconnects,
// report collection, floods of unknown modules and clock steps: every answer and every counter must
// be identical at every step (docs/spec/BALANCER.md: "any difference is a bug").
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BALANCER_LIMITS,
  createBalancer,
  type Balancer,
  type BalancerConfig,
  type BalancerCounters,
  type HostAddr,
  type RouteHost,
  type RoutePolicy,
} from '../../src/balancer/index.js';
import { SPEC_DEFAULTS, prng } from './fixtures.js';

const MODULES = [
  [1, 2],
  [1, 3],
  [-7, 2147483647],
  [4, 0],
  [-2147483648, -1],
] as const;

// Includes addresses above 127.255.255.255 (negative int32), port edges, and one never routed.
const POOL: HostAddr[] = [
  { ip: 167772161, port: 80 },
  { ip: 167772162, port: 80 },
  { ip: 167772161, port: 81 },
  { ip: -1062731343, port: 65535 }, // 192.168.1.177
  { ip: -1, port: 0 },
  { ip: 0, port: 1 },
  { ip: 2130706433, port: 8080 },
  { ip: 2130706433, port: 8081 },
];
const STRANGER: HostAddr = { ip: 42, port: 42 };
const FAIL_P = [0, 0.02, 0.1, 0.4, 0.9, 1, 0.2, 0.05];

const POLICY_NAMES = ['lars', 'weighted_round_robin', 'weighted_random', 'least_latency', 'ring_hash', 'nope'] as const;
const WEIGHTS = [0, 1, 2, 50, 100, 333, 10_000, 20_000, -5];
const KEYS = ['', 'a', 'user-1', 'user-2', 'a much longer request affinity key, past 32 bytes'].map((k) => new TextEncoder().encode(k));
const USETIMES = [0, 0, 1, 150, 1000, 20_000, 4_000_000_000];

const pickOf = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

/** Modules a flood asks for: more than the small limits below let the table hold. */
const FLOOD_MODULES = 40;

const configArb: fc.Arbitrary<BalancerConfig> = fc.record({
  probeNum: fc.integer({ min: 0, max: 6 }),
  initSuccCnt: fc.integer({ min: 0, max: 30 }),
  initErrCnt: fc.integer({ min: 0, max: 10 }),
  errRate: fc.constantFrom(0, 0.05, 0.1, 0.3, 0.5, 1),
  succRate: fc.constantFrom(0, 0.1, 0.5, 0.7, 1),
  continErrLimit: fc.integer({ min: 0, max: 8 }),
  continSuccLimit: fc.integer({ min: 0, max: 8 }),
  windowErrRate: fc.constantFrom(0, 0.3, 0.5, 0.7, 1),
  idleTimeoutMs: fc.constantFrom(0, 1, 50, 300, 1000, 15_000),
  overloadTimeoutMs: fc.constantFrom(0, 1, 50, 300, 1000, 15_000),
  updateTimeoutMs: fc.constantFrom(0, 1, 50, 300, 1000, 15_000),
  maxEmptyRoutes: fc.integer({ min: 0, max: 6 }),
  maxNewPullsPerS: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer({ min: 0, max: 0xffffffff }),
  zone: fc.constantFrom('', 'az1', 'az2'),
});

/** Runs `steps` random steps on both; throws with the recent history on the first difference.
 * Returns the final counters. Without `policies`, every route runs the reference (`lars`, no knobs). */
function drive(config: BalancerConfig, seed: number, steps: number, policies = true): BalancerCounters {
  const native = createBalancer('native', config, config, config.seed);
  const ts = createBalancer('ts', config, config, config.seed);
  const rnd = prng(seed);
  const history: string[] = [];
  let now = 1_000_000;

  const same = (what: string, call: (b: Balancer) => unknown): void => {
    const a = call(native);
    const b = call(ts);
    history.push(`${now} ${what}`);
    if (history.length > 40) history.shift();
    if (!isDeepStrictEqual(a, b)) {
      throw new Error(
        `seed ${seed}, ${JSON.stringify(config)}: implementations differ on ${what}\n` +
          `native: ${JSON.stringify(a)}\nts:     ${JSON.stringify(b)}\nlast steps:\n  ${history.join('\n  ')}`,
      );
    }
  };

  const randomHosts = (): RouteHost[] => {
    const hosts: RouteHost[] = [];
    if (rnd() > 0.15) {
      for (const h of POOL) {
        if (rnd() >= 0.5) continue;
        const y = rnd();
        hosts.push(y < 0.3 ? h : y < 0.6 ? { ...h, weight: pickOf(rnd, WEIGHTS) } : { ...h, weight: pickOf(rnd, WEIGHTS), zone: pickOf(rnd, ['az1', 'az2', 'az3', '']) });
      }
      if (rnd() < 0.2 && hosts.length > 0) hosts.push(pickOf(rnd, hosts)); // duplicate
      if (rnd() < 0.1) hosts.push({ ip: 5, port: 70_000 }); // invalid port: skipped
      for (let i = hosts.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [hosts[i], hosts[j]] = [hosts[j] as RouteHost, hosts[i] as RouteHost];
      }
    }
    return hosts;
  };
  const show = (hosts: RouteHost[]): string => `[${hosts.map((h) => `${h.ip}:${h.port}/${h.weight ?? ''}/${h.zone ?? ''}`).join(' ')}]`;
  // Mostly one policy per module, so a run stays on it long enough to matter; sometimes none.
  const modulePolicy = new Map<number, RoutePolicy | undefined>();
  const randomPolicy = (): RoutePolicy | undefined => {
    if (!policies || rnd() < 0.15) return undefined;
    return {
      name: pickOf(rnd, POLICY_NAMES),
      maxEjectionPercent: pickOf(rnd, [0, 0, 30, 50, 100]),
      panicThreshold: pickOf(rnd, [0, 0, 20, 50, 100]),
      ejectionBackoffMaxMs: pickOf(rnd, [0, 0, 100, 1000, 60_000]),
      zoneOverprovision: pickOf(rnd, [0, 0, 1, 50, 100, 140, 400]),
      ringSize: pickOf(rnd, [0, 0, 1, 7, 64]),
    };
  };
  const policyOf = (m: number): RoutePolicy | undefined => {
    if (!modulePolicy.has(m) || rnd() < 0.1) modulePolicy.set(m, randomPolicy());
    return modulePolicy.get(m);
  };
  const showPolicy = (p: RoutePolicy | undefined): string => (p === undefined ? '-' : JSON.stringify(p));

  for (let step = 0; step < steps; step++) {
    const x = rnd();
    const [m, c] = pickOf(rnd, MODULES);
    if (x < 0.33) {
      const key = rnd() < 0.5 ? pickOf(rnd, KEYS) : undefined;
      same(`pick ${m}/${c} ${key === undefined ? '' : new TextDecoder().decode(key)}`, (b) => b.pick(m, c, now, key));
    } else if (x < 0.68) {
      const i = Math.floor(rnd() * (POOL.length + 1));
      const h = i === POOL.length ? STRANGER : (POOL[i] as HostAddr);
      const retcode = rnd() < (FAIL_P[i] ?? 0.5) ? pickOf(rnd, [1, 1, 2, 3, -1]) : 0;
      const usetime = pickOf(rnd, USETIMES) * (i + 1);
      same(`report ${m}/${c} ${h.ip}:${h.port} ${retcode} ${usetime}us`, (b) => b.report(m, c, h.ip, h.port, retcode, now, usetime));
    } else if (x < 0.8) {
      const y = rnd();
      now += y < 0.3 ? 0 : y < 0.5 ? 1 : y < 0.95 ? Math.floor(rnd() * 400) : Math.floor(rnd() * 20_000);
    } else if (x < 0.87) {
      const hosts = randomHosts();
      const p = policyOf(m * 31 + c);
      same(`applyRoute ${m}/${c} ${show(hosts)} ${showPolicy(p)}`, (b) => b.applyRoute(m, c, hosts, now, p));
    } else if (x < 0.91) {
      same(`getRoute ${m}/${c}`, (b) => b.getRoute(m, c, now));
    } else if (x < 0.92) {
      same('takePullRequests', (b) => b.takePullRequests());
    } else if (x < 0.94) {
      // DNS answers every queued pull; missing modules (a third) answer empty and become EMPTY.
      let pulled: { modid: number; cmdid: number }[] = [];
      same('takePullRequests (answered)', (b) => (pulled = b.takePullRequests()));
      for (const p of pulled) {
        const hosts = rnd() < 0.33 ? [] : randomHosts();
        const pol = policyOf(p.modid * 31 + p.cmdid);
        same(`answer ${p.modid}/${p.cmdid} ${show(hosts)} ${showPolicy(pol)}`, (b) => b.applyRoute(p.modid, p.cmdid, hosts, now, pol));
      }
    } else if (x < 0.97) {
      const interval = pickOf(rnd, [0, 100, 1000]);
      same(`collectReports ${interval}`, (b) => b.collectReports(now, interval));
    } else if (x < 0.98) {
      same('onDnsReconnected', (b) => b.onDnsReconnected());
    } else {
      // A client flooding modules that mostly do not exist: the new-pull cap and the EMPTY routes at work.
      for (let i = 0; i < 10; i++) {
        const mod = 1000 + Math.floor(rnd() * FLOOD_MODULES);
        same(`pick ${mod}/1 (flood)`, (b) => b.pick(mod, 1, now));
        if (rnd() < 0.3) now += Math.floor(rnd() * 300);
      }
    }
    same('counters', (b) => b.counters());
    // Every node's cumulative counters, sometimes past a small node limit.
    same('nodeStats', (b) => b.nodeStats(step % 5 === 0 ? step % 4 : Infinity));
    same('zoneStatus', (b) => b.zoneStatus(step % 7 === 0 ? step % 3 : Infinity));
  }
  return ts.counters();
}

describe('native and TypeScript balancers agree', () => {
  it('on random sequences with random configs (fast-check)', () => {
    fc.assert(
      fc.property(configArb, fc.integer(), (config, seed) => {
        drive(config, seed, 1500);
      }),
      { numRuns: 60 },
    );
  });

  it('on one long run with the spec defaults', () => {
    const c = drive({ ...SPEC_DEFAULTS, ...DEFAULT_BALANCER_LIMITS }, 1, 60_000, false);
    // The run must reach the interesting states, or agreement proves little.
    expect(c.toOverload).toBeGreaterThan(10);
    expect(c.toIdle).toBeGreaterThan(10);
    expect(c.probes).toBeGreaterThan(10);
    expect(c.picksOverload).toBeGreaterThan(10);
  });

  it('on one long run with a hair-trigger config', () => {
    const c = drive(
      { ...SPEC_DEFAULTS, maxEmptyRoutes: 3, maxNewPullsPerS: 4, probeNum: 2, initSuccCnt: 3, initErrCnt: 2, continErrLimit: 2, continSuccLimit: 2, idleTimeoutMs: 200, overloadTimeoutMs: 500, updateTimeoutMs: 1000 },
      7,
      60_000,
    );
    expect(c.toOverload).toBeGreaterThan(100);
    expect(c.toIdle).toBeGreaterThan(100);
    expect(c.routeUpdates).toBeGreaterThan(100);
    // ... and the route lifecycle's limits.
    expect(c.emptyRoutesEvicted).toBeGreaterThan(10);
    expect(c.newPullsCapped).toBeGreaterThan(10);
    // ... and the policies' knobs.
    expect(c.panicPicks).toBeGreaterThan(10);
    expect(c.ejectionsCapped).toBeGreaterThan(10);
    expect(c.unknownPolicies).toBeGreaterThan(0);
  });

  it('on one long run with zones: an agent in az1, zoned routes and zone_overprovision', () => {
    const c = drive(
      { ...SPEC_DEFAULTS, maxEmptyRoutes: 3, maxNewPullsPerS: 4, probeNum: 3, initSuccCnt: 5, initErrCnt: 2, continErrLimit: 3, continSuccLimit: 3, idleTimeoutMs: 300, overloadTimeoutMs: 800, updateTimeoutMs: 2000, zone: 'az1' },
      11,
      60_000,
    );
    // Both sets were taken, with and without a draw, and the routes went through overloads.
    expect(c.zonePicksLocal).toBeGreaterThan(100);
    expect(c.zonePicksOther).toBeGreaterThan(100);
    expect(c.toOverload).toBeGreaterThan(100);
    expect(c.probes).toBeGreaterThan(10);
  });
});
