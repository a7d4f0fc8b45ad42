// The `lars` policy (docs/spec/BALANCER.md), rule by rule, against both implementations.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BALANCER_LIMITS,
  NODE_STAT_FIELDS,
  NodeStatField as F,
  RetCode,
  USETIME_BOUNDS_US,
  createBalancer,
  type Balancer,
  type BalancerConfig,
  type NodeStats,
} from '../../src/balancer/index.js';
import { IMPLS, SPEC_DEFAULTS, host, hosts, prng } from './fixtures.js';

/** The call-time fields of a node no report measured. */
const UNTIMED = { usetimeSumUs: 0, usetimeMaxUs: 0, timedCalls: 0 };

const MOD = 1;
const CMD = 2;

describe.each(IMPLS)('balancer (%s)', (impl) => {
  const make = (cfg: Partial<BalancerConfig> = {}): Balancer => {
    const all = { ...SPEC_DEFAULTS, ...DEFAULT_BALANCER_LIMITS, ...cfg };
    return createBalancer(impl, all, all);
  };

  /** A balancer whose route (MOD, CMD) holds n nodes, applied at `now`. */
  function primed(n: number, cfg: Partial<BalancerConfig> = {}, now = 0): Balancer {
    const b = make(cfg);
    b.pick(MOD, CMD, now);
    b.takePullRequests();
    b.applyRoute(MOD, CMD, hosts(n), now);
    return b;
  }
  const fail = (b: Balancer, i: number, now = 0, times = 1): void => {
    for (let k = 0; k < times; k++) b.report(MOD, CMD, host(i).ip, host(i).port, RetCode.OVERLOAD, now);
  };
  const succeed = (b: Balancer, i: number, now = 0, times = 1): void => {
    for (let k = 0; k < times; k++) b.report(MOD, CMD, host(i).ip, host(i).port, RetCode.SUCC, now);
  };
  /** The node index of each pick, or -retcode when no node was picked. */
  const picks = (b: Balancer, n: number, now = 0): number[] =>
    Array.from({ length: n }, () => {
      const r = b.pick(MOD, CMD, now);
      return r.retcode === RetCode.SUCC ? r.port - 9000 : -r.retcode;
    });
  const overloaded = (b: Balancer): number => b.counters().overloadedNodes;

  describe('pick', () => {
    it.each([
      { nodes: 1, expected: [0, 0, 0] },
      { nodes: 3, expected: [0, 1, 2, 0, 1, 2, 0] },
      { nodes: 4, expected: [0, 1, 2, 3, 0, 1] },
    ])('round robin over $nodes idle nodes', ({ nodes, expected }) => {
      expect(picks(primed(nodes), expected.length)).toEqual(expected);
    });

    // access_cnt starts at 0: exactly probe_num ordinary picks precede the first probe.
    it.each([
      { probeNum: 2, nodes: 3, down: [0], expected: [1, 2, 0, 1, 2, 0, 1, 2, 0] },
      { probeNum: 3, nodes: 3, down: [1], expected: [0, 2, 0, 1, 2, 0, 2, 1] },
      { probeNum: 1, nodes: 4, down: [0, 1], expected: [2, 0, 3, 1, 2, 0] },
      { probeNum: 0, nodes: 2, down: [1], expected: [1, 1, 1] },
      { probeNum: 10, nodes: 2, down: [0], expected: [...Array<number>(10).fill(1), 0, 1] },
    ])('probe_num=$probeNum, overloaded $down: probes after probe_num picks', ({ probeNum, nodes, down, expected }) => {
      const b = primed(nodes, { probeNum, continErrLimit: 1 });
      for (const i of down) fail(b, i);
      expect(overloaded(b)).toBe(down.length);
      expect(picks(b, expected.length)).toEqual(expected);
      expect(b.counters().probes).toBe(expected.filter((i) => down.includes(i)).length);
    });

    it.each([
      { probeNum: 3, expected: [-1, -1, -1, 0, -1, -1, -1, 1, -1, -1, -1, 0] },
      { probeNum: 0, expected: [0, 1, 0, 1] },
      { probeNum: 1, expected: [-1, 0, -1, 1] },
    ])('all overloaded (probe_num=$probeNum): RET_OVERLOAD except every probe', ({ probeNum, expected }) => {
      const b = primed(2, { probeNum, continErrLimit: 1 });
      fail(b, 0);
      fail(b, 1);
      expect(picks(b, expected.length)).toEqual(expected);
      const c = b.counters();
      expect(c.picksOverload).toBe(expected.filter((x) => x < 0).length);
      expect(c.picksSucc).toBe(expected.filter((x) => x >= 0).length);
    });

    it('an overloaded pick names no node', () => {
      const b = primed(1, { continErrLimit: 1 });
      fail(b, 0);
      expect(b.pick(MOD, CMD, 0)).toEqual({ retcode: RetCode.OVERLOAD, ip: 0, port: 0, pull: false });
    });
  });

  describe('report', () => {
    it.each([
      // verr/(vsucc+verr) > err_rate: 2/20 = 0.1 is not above, 3/21 is.
      { cfg: { initSuccCnt: 18, continErrLimit: 1000 }, failuresToOverload: 3 },
      // default limits: 15 consecutive failures come before the rate (21 failures).
      { cfg: {}, failuresToOverload: 15 },
      { cfg: { continErrLimit: 1000 }, failuresToOverload: 21 },
      { cfg: { continErrLimit: 1 }, failuresToOverload: 1 },
      { cfg: { initSuccCnt: 0, continErrLimit: 1000 }, failuresToOverload: 1 },
    ])('an idle node overloads after $failuresToOverload failures ($cfg)', ({ cfg, failuresToOverload }) => {
      const b = primed(2, cfg);
      fail(b, 0, 0, failuresToOverload - 1);
      expect(overloaded(b)).toBe(0);
      fail(b, 0);
      expect(overloaded(b)).toBe(1);
      expect(b.counters().toOverload).toBe(1);
      expect(picks(b, 3)).toEqual([1, 1, 1]);
    });

    it('a success breaks the run of consecutive failures; any non-zero retcode is a failure', () => {
      const b = primed(1, { continErrLimit: 3, initSuccCnt: 1000 });
      fail(b, 0, 0, 2);
      succeed(b, 0);
      fail(b, 0, 0, 2);
      expect(overloaded(b)).toBe(0);
      b.report(MOD, CMD, host(0).ip, host(0).port, RetCode.NOEXIST, 0);
      expect(overloaded(b)).toBe(1);
    });

    it.each([
      // after overload: vsucc 0, verr 5. 5/10 is not above 0.5, 6/11 is.
      { cfg: { continSuccLimit: 1000 }, successesToIdle: 6 },
      { cfg: { initErrCnt: 1000, continSuccLimit: 15 }, successesToIdle: 15 },
      { cfg: { initErrCnt: 1000, continSuccLimit: 2 }, successesToIdle: 2 },
      { cfg: { initErrCnt: 0, continSuccLimit: 1000 }, successesToIdle: 1 },
    ])('an overloaded node recovers after $successesToIdle successes ($cfg)', ({ cfg, successesToIdle }) => {
      const b = primed(2, { continErrLimit: 1, ...cfg });
      fail(b, 0);
      succeed(b, 0, 0, successesToIdle - 1);
      expect(overloaded(b)).toBe(1);
      succeed(b, 0);
      expect(overloaded(b)).toBe(0);
      expect(b.counters().toIdle).toBe(1);
      // It rejoined at the tail of the idle list.
      expect(picks(b, 3)).toEqual([1, 0, 1]);
    });

    it('a failure resets the run of consecutive successes of an overloaded node', () => {
      const b = primed(1, { continErrLimit: 1, initErrCnt: 1000, continSuccLimit: 3 });
      fail(b, 0);
      succeed(b, 0, 0, 2);
      fail(b, 0);
      succeed(b, 0, 0, 2);
      expect(overloaded(b)).toBe(1);
      succeed(b, 0);
      expect(overloaded(b)).toBe(0);
    });

    const windowCfg = { initSuccCnt: 1_000_000, continErrLimit: 1_000_000, windowErrRate: 0.5, idleTimeoutMs: 100 };
    it.each([
      { name: 'rerr/real >= window_err_rate at the window end overloads', reports: [[0, 10], [1, 100]], overloaded: 1 },
      { name: 'below window_err_rate the window restarts', reports: [[1, 10], [0, 50], [0, 100]], overloaded: 0 },
      { name: 'the window is measured from idle_ts', reports: [[1, 10], [1, 99]], overloaded: 0 },
      // The new window starts at 100 with zeroed real counts: 1 failure at 199 is before its end.
      { name: 'a reset window starts again', reports: [[1, 10], [0, 50], [0, 100], [1, 199]], overloaded: 0 },
      { name: 'a reset window ends idle_timeout later', reports: [[1, 10], [0, 50], [0, 100], [1, 200]], overloaded: 1 },
    ])('idle window: $name', ({ reports, overloaded: expected }) => {
      const b = primed(1, windowCfg);
      for (const [code, now] of reports as [number, number][]) b.report(MOD, CMD, host(0).ip, host(0).port, code, now);
      expect(overloaded(b)).toBe(expected);
    });

    it('a window reset zeroes the real counts the Report service sees', () => {
      const b = primed(1, windowCfg);
      fail(b, 0, 10);
      succeed(b, 0, 50);
      succeed(b, 0, 100);
      expect(b.collectReports(100, 1000)[0]?.results).toEqual([{ ...host(0), succ: 0, err: 0, overload: false, ...UNTIMED }]);
    });

    it.each([
      { at: 59, overloaded: 1 },
      { at: 60, overloaded: 0 },
    ])('overload_timeout: a report at $at (overloaded at 10, timeout 50)', ({ at, overloaded: expected }) => {
      const b = primed(1, { continErrLimit: 1, initErrCnt: 1000, overloadTimeoutMs: 50 });
      fail(b, 0, 10);
      fail(b, 0, at); // even a failure: the timeout gives the node another chance
      expect(overloaded(b)).toBe(expected);
    });

    it('ignores and counts reports for unknown routes and nodes', () => {
      const b = primed(2);
      expect(b.report(MOD, CMD + 1, host(0).ip, host(0).port, 0, 0)).toBe(false);
      expect(b.report(MOD, CMD, host(5).ip, host(5).port, 0, 0)).toBe(false);
      expect(b.report(MOD, CMD, host(0).ip, host(1).port, 0, 0)).toBe(false);
      expect(b.report(MOD, CMD, host(0).ip, 70000, 0, 0)).toBe(false);
      expect(b.report(MOD, CMD, host(0).ip, host(0).port, 0, 0)).toBe(true);
      const c = b.counters();
      expect(c.reportsIgnored).toBe(4);
      expect(c.reports).toBe(1);
      expect(c.routes).toBe(1); // a report never creates a route
    });
  });

  describe('route lifecycle', () => {
    it('unknown module: NOEXIST, one pull, then the nodes', () => {
      const b = make();
      expect(b.pick(MOD, CMD, 0)).toEqual({ retcode: RetCode.NOEXIST, ip: 0, port: 0, pull: true });
      expect(b.pick(MOD, CMD, 1)).toEqual({ retcode: RetCode.NOEXIST, ip: 0, port: 0, pull: false });
      expect(b.getRoute(MOD, CMD, 2)).toEqual({ hosts: [], pull: false });
      expect(b.takePullRequests()).toEqual([{ modid: MOD, cmdid: CMD }]);
      expect(b.takePullRequests()).toEqual([]);
      expect(b.applyRoute(MOD, CMD, hosts(2), 3)).toBe(true);
      expect(b.pick(MOD, CMD, 4)).toEqual({ retcode: RetCode.SUCC, ...host(0), pull: false });
      expect(b.getRoute(MOD, CMD, 5)).toEqual({ hosts: hosts(2), pull: false });
      expect(b.counters()).toMatchObject({ picksNoexist: 2, picksSucc: 1, pulls: 1, routes: 1, idleNodes: 2 });
    });

    it('get_route of an unknown module pulls it', () => {
      const b = make();
      expect(b.getRoute(7, 8, 0)).toEqual({ hosts: [], pull: true });
      expect(b.takePullRequests()).toEqual([{ modid: 7, cmdid: 8 }]);
    });

    it('seedRoute (the disk cache) creates a route that answers at once, and the next reconnect pulls it', () => {
      const b = make();
      expect(b.applyRoute(MOD, CMD, hosts(2), 0)).toBe(false); // a DNS answer nobody asked for is ignored
      expect(b.seedRoute(MOD, CMD, hosts(2), 0)).toBe(true);
      expect(b.pick(MOD, CMD, 1)).toEqual({ retcode: RetCode.SUCC, ...host(0), pull: false });
      expect(b.takePullRequests()).toEqual([]);
      expect(b.onDnsReconnected()).toEqual([{ modid: MOD, cmdid: CMD }]);
      expect(b.seedRoute(MOD, CMD, hosts(3), 2)).toBe(true); // a route held already: a plain update
      expect(b.getRoute(MOD, CMD, 3).hosts).toEqual(hosts(3));
      expect(b.counters()).toMatchObject({ routes: 1, routeUpdates: 2, routeUpdatesIgnored: 1, pulls: 1 });
    });

    it('keeps modules apart, including negative and extreme ids', () => {
      const b = make();
      const mods = [[1, 2], [2, 1], [-1, 2], [2147483647, -2147483648]] as const;
      for (const [m, c] of mods) b.pick(m, c, 0);
      expect(b.takePullRequests()).toEqual(mods.map(([modid, cmdid]) => ({ modid, cmdid })));
      mods.forEach(([m, c], i) => b.applyRoute(m, c, [host(i)], 0));
      mods.forEach(([m, c], i) => expect(b.pick(m, c, 0).port).toBe(host(i).port));
    });

    it.each([
      { use: 'pick' as const },
      { use: 'getRoute' as const },
    ])('a route older than update_timeout is pulled again on $use and still answers', ({ use }) => {
      const b = primed(2, { updateTimeoutMs: 100 });
      const call = (now: number) => (use === 'pick' ? b.pick(MOD, CMD, now) : b.getRoute(MOD, CMD, now));
      expect(call(100).pull).toBe(false); // not older than update_timeout yet
      const r = call(101);
      expect(r.pull).toBe(true);
      if (use === 'pick') expect(r).toMatchObject({ retcode: RetCode.SUCC });
      else expect(r).toMatchObject({ hosts: hosts(2) });
      expect(call(5000).pull).toBe(false); // PULLING: no duplicate
      expect(b.takePullRequests()).toEqual([{ modid: MOD, cmdid: CMD }]);
      b.applyRoute(MOD, CMD, hosts(2), 5000);
      expect(call(5100).pull).toBe(false);
      expect(call(5101).pull).toBe(true);
    });

    it('a route update keeps surviving nodes\' state and removes gone nodes from every structure', () => {
      const b = primed(4, { continErrLimit: 1 });
      fail(b, 0); // 0 overloaded
      fail(b, 1); // 1 overloaded
      succeed(b, 2);
      // 1 and 3 go, 0 and 2 stay, 5 joins; duplicates and invalid ports are skipped.
      const next = [host(0), host(2), host(5), host(5), { ip: host(6).ip, port: 65536 }, { ip: host(7).ip, port: -1 }];
      expect(b.applyRoute(MOD, CMD, next, 10)).toBe(true);
      expect(b.getRoute(MOD, CMD, 10).hosts).toEqual([host(0), host(2), host(5)]);
      expect(b.counters()).toMatchObject({ idleNodes: 2, overloadedNodes: 1, routeUpdates: 2 });
      // Removed nodes are never picked nor reported; survivors keep counters.
      const seen = new Set(picks(b, 30, 10));
      expect([...seen].sort()).toEqual([0, 2, 5]);
      expect(b.report(MOD, CMD, host(1).ip, host(1).port, 0, 10)).toBe(false);
      expect(b.report(MOD, CMD, host(3).ip, host(3).port, 0, 10)).toBe(false);
      const results = b.collectReports(10, 1000)[0]?.results;
      expect(results?.find((r) => r.port === host(2).port)).toMatchObject({ succ: 1, err: 0, overload: false });
      expect(results?.find((r) => r.port === host(0).port)).toMatchObject({ overload: true });
      expect(results?.map((r) => r.port).sort()).toEqual([host(0).port, host(2).port, host(5).port]);
      // Re-adding a removed node works and it starts fresh (idle).
      expect(b.applyRoute(MOD, CMD, hosts(4), 20)).toBe(true);
      expect(b.getRoute(MOD, CMD, 20).hosts).toEqual([host(0), host(2), host(1), host(3)]);
      expect(b.counters()).toMatchObject({ idleNodes: 3, overloadedNodes: 1 });
      expect(b.report(MOD, CMD, host(1).ip, host(1).port, 0, 20)).toBe(true);
    });

    it('applying the same set again changes nothing but the update time', () => {
      const b = primed(3, { continErrLimit: 1, updateTimeoutMs: 100 });
      fail(b, 1);
      const before = picks(b, 5);
      const b2 = primed(3, { continErrLimit: 1, updateTimeoutMs: 100 });
      fail(b2, 1);
      b2.applyRoute(MOD, CMD, [host(2), host(1), host(0)], 50);
      expect(picks(b2, 5)).toEqual(before);
      expect(b2.pick(MOD, CMD, 150).pull).toBe(false);
    });

    it('an empty host set makes the route EMPTY: NOEXIST without a pull until update_timeout, a push revives it', () => {
      const b = primed(2, { updateTimeoutMs: 100 });
      expect(b.applyRoute(MOD, CMD, [], 1)).toBe(true);
      expect(b.counters()).toMatchObject({ routes: 1, emptyRoutes: 1, idleNodes: 0 });
      for (let now = 1; now <= 101; now++) {
        expect(b.pick(MOD, CMD, now)).toEqual({ retcode: RetCode.NOEXIST, ip: 0, port: 0, pull: false });
      }
      expect(b.getRoute(MOD, CMD, 101)).toEqual({ hosts: [], pull: false });
      expect(b.takePullRequests()).toEqual([]);
      // Still subscribed at DNS: a push with nodes serves at once.
      expect(b.applyRoute(MOD, CMD, hosts(1), 50)).toBe(true);
      expect(b.pick(MOD, CMD, 51)).toEqual({ retcode: RetCode.SUCC, ...host(0), pull: false });
      expect(b.counters()).toMatchObject({ routes: 1, emptyRoutes: 0, routeUpdatesIgnored: 0 });
    });

    it('an EMPTY route is pulled again once older than update_timeout, once', () => {
      const b = primed(2, { updateTimeoutMs: 100 });
      b.applyRoute(MOD, CMD, [], 0);
      expect(b.pick(MOD, CMD, 100).pull).toBe(false);
      expect(b.pick(MOD, CMD, 101)).toMatchObject({ retcode: RetCode.NOEXIST, pull: true });
      expect(b.getRoute(MOD, CMD, 102).pull).toBe(false); // PULLING: no duplicate
      expect(b.takePullRequests()).toEqual([{ modid: MOD, cmdid: CMD }]);
      b.applyRoute(MOD, CMD, [], 150);
      expect(b.pick(MOD, CMD, 250).pull).toBe(false);
      expect(b.getRoute(MOD, CMD, 251).pull).toBe(true);
    });

    it('a host set of only invalid ports makes the route EMPTY', () => {
      const b = primed(2);
      b.applyRoute(MOD, CMD, [{ ip: 1, port: 70000 }], 1);
      expect(b.counters()).toMatchObject({ routes: 1, emptyRoutes: 1, idleNodes: 0 });
      expect(b.pick(MOD, CMD, 2)).toMatchObject({ retcode: RetCode.NOEXIST, pull: false });
    });

    it('an EMPTY route drops the activity of its removed nodes from the reports', () => {
      const b = primed(2);
      succeed(b, 0);
      b.applyRoute(MOD, CMD, [], 1);
      expect(b.collectReports(2, 0)).toEqual([]);
    });

    it('keeps at most max_empty_routes EMPTY routes, dropping the oldest answer first', () => {
      const b = make({ maxEmptyRoutes: 2 });
      for (const m of [1, 2, 3, 4]) b.pick(m, 0, 0);
      b.takePullRequests();
      b.applyRoute(1, 0, [], 1);
      b.applyRoute(2, 0, [], 2);
      b.applyRoute(1, 0, [], 3); // answered again: now the newest
      b.applyRoute(4, 0, hosts(1), 3); // routes with nodes do not count
      b.applyRoute(3, 0, [], 4);
      expect(b.counters()).toMatchObject({ routes: 3, emptyRoutes: 2, emptyRoutesEvicted: 1 });
      expect(b.pick(1, 0, 5).pull).toBe(false);
      expect(b.pick(3, 0, 5).pull).toBe(false);
      expect(b.applyRoute(2, 0, hosts(1), 5)).toBe(false); // dropped: its update is ignored
      expect(b.pick(2, 0, 6)).toMatchObject({ retcode: RetCode.NOEXIST, pull: true }); // and its use starts over
      expect(b.pick(4, 0, 6).retcode).toBe(RetCode.SUCC);
    });

    it('max_empty_routes = 0 keeps none', () => {
      const b = primed(1, { maxEmptyRoutes: 0 });
      b.applyRoute(MOD, CMD, [], 1);
      expect(b.counters()).toMatchObject({ routes: 0, emptyRoutes: 0, emptyRoutesEvicted: 1 });
      expect(b.pick(MOD, CMD, 2).pull).toBe(true);
    });

    it('caps pulls for modules never seen at max_new_pulls_per_s, per second of the clock', () => {
      const b = make({ maxNewPullsPerS: 2 });
      expect(b.pick(1, 0, 1000).pull).toBe(true);
      expect(b.getRoute(2, 0, 1500).pull).toBe(true);
      expect(b.pick(3, 0, 1999)).toEqual({ retcode: RetCode.NOEXIST, ip: 0, port: 0, pull: false });
      expect(b.getRoute(4, 0, 1999)).toEqual({ hosts: [], pull: false });
      expect(b.pick(1, 0, 1999).pull).toBe(false); // known modules are not capped, and stay PULLING
      expect(b.counters()).toMatchObject({ newPullsCapped: 2, routes: 2, picksNoexist: 3, pulls: 2 });
      expect(b.pick(3, 0, 2000).pull).toBe(true); // a new second
      expect(b.pick(4, 0, 2000).pull).toBe(true);
      expect(b.pick(5, 0, 2999).pull).toBe(false);
      expect(b.takePullRequests().map((m) => m.modid)).toEqual([1, 2, 3, 4]);
    });

    it.each([
      { calls: 72_720, modules: 1, maxPulls: 1 },
      { calls: 30_000, modules: 30_000, maxPulls: 3_000 },
    ])('a flood of $calls get_host for $modules missing module(s) over 3 s makes at most $maxPulls pulls', ({ calls, modules, maxPulls }) => {
      const b = make({ maxEmptyRoutes: 1_000 });
      let pulls = 0;
      for (let i = 0; i < calls; i++) {
        const now = Math.floor((i * 3000) / calls);
        const r = b.pick(100 + (i % modules), 1, now);
        expect(r.retcode).toBe(RetCode.NOEXIST);
        // DNS answers every pull at once: the module has no nodes.
        for (const m of b.takePullRequests()) {
          pulls++;
          b.applyRoute(m.modid, m.cmdid, [], now);
        }
      }
      expect(pulls).toBeLessThanOrEqual(maxPulls);
      const c = b.counters();
      expect(c.emptyRoutes).toBeLessThanOrEqual(1_000);
      expect(c.routes).toBeLessThanOrEqual(1_000);
      if (modules > 1) expect(c.newPullsCapped).toBe(calls - pulls);
    });

    it('after a DNS reconnect every route is pulled again, pulling ones too', () => {
      const b = primed(2);
      b.pick(7, 8, 0); // PULLING: its reply was lost with the connection
      b.pick(9, 9, 0); // queued, not yet sent
      b.pick(5, 5, 0);
      b.applyRoute(5, 5, [], 0); // EMPTY
      expect(b.onDnsReconnected()).toEqual([
        { modid: MOD, cmdid: CMD },
        { modid: 7, cmdid: 8 },
        { modid: 9, cmdid: 9 },
        { modid: 5, cmdid: 5 },
      ]);
      expect(b.takePullRequests()).toEqual([]); // the reconnect list included the queue
      // Routes keep answering while the pulls are in flight, and a fresh route queues no duplicate.
      expect(b.pick(MOD, CMD, 1)).toMatchObject({ retcode: RetCode.SUCC, pull: false });
      expect(b.pick(5, 5, 1)).toMatchObject({ retcode: RetCode.NOEXIST, pull: false });
      b.applyRoute(7, 8, hosts(1), 2);
      expect(b.pick(7, 8, 3)).toMatchObject({ retcode: RetCode.SUCC, pull: false });
      expect(b.onDnsReconnected()).toHaveLength(4);
      expect(b.counters().pulls).toBe(4 + 4 + 4);
    });

    it('a pull lost after a DNS reconnect does not leave the route waiting forever', () => {
      const b = primed(2, { updateTimeoutMs: 100 });
      expect(b.pick(MOD, CMD, 101).pull).toBe(true); // stale: PULLING
      b.pick(7, 8, 101); // PULLING, never answered
      b.takePullRequests();
      expect(b.onDnsReconnected()).toHaveLength(2); // ... and these pulls are lost too (full queue, write cap)
      // PULLING went back to NEW: the stale route and the unanswered one are pulled again on use.
      expect(b.pick(MOD, CMD, 102)).toMatchObject({ retcode: RetCode.SUCC, pull: true });
      expect(b.getRoute(7, 8, 102)).toEqual({ hosts: [], pull: true });
      expect(b.pick(7, 8, 103).pull).toBe(false);
      expect(b.takePullRequests()).toEqual([
        { modid: MOD, cmdid: CMD },
        { modid: 7, cmdid: 8 },
      ]);
    });
  });

  describe('reports to the Report service', () => {
    it('one per active route, at most once per interval', () => {
      const b = primed(2);
      b.pick(5, 5, 0);
      b.applyRoute(5, 5, hosts(1), 0);
      expect(b.collectReports(0, 1000)).toEqual([]); // no activity yet
      succeed(b, 0, 0);
      fail(b, 0, 0);
      expect(b.collectReports(10, 1000)).toEqual([
        {
          modid: MOD,
          cmdid: CMD,
          results: [
            { ...host(0), succ: 1, err: 1, overload: false, ...UNTIMED },
            { ...host(1), succ: 0, err: 0, overload: false, ...UNTIMED },
          ],
        },
      ]);
      succeed(b, 1, 20);
      b.report(5, 5, host(0).ip, host(0).port, 0, 20);
      // Route 5/5 was never reported: due now; MOD/CMD reported at 10: not before 1010.
      expect(b.collectReports(500, 1000).map((r) => r.modid)).toEqual([5]);
      expect(b.collectReports(1009, 1000)).toEqual([]);
      expect(b.collectReports(1010, 1000).map((r) => r.modid)).toEqual([MOD]);
      expect(b.collectReports(9999, 1000)).toEqual([]); // nothing new
    });

    it('lists idle nodes, then overloaded ones, with the overload flag', () => {
      const b = primed(3, { continErrLimit: 1 });
      fail(b, 0);
      const [rep] = b.collectReports(0, 1000);
      expect(rep?.results.map((r) => [r.port - 9000, r.overload])).toEqual([
        [1, false],
        [2, false],
        [0, true],
      ]);
    });

    it('ignored reports are not activity', () => {
      const b = primed(1);
      b.report(MOD, CMD, host(3).ip, host(3).port, 0, 0);
      expect(b.collectReports(0, 1000)).toEqual([]);
    });
  });

  describe('node stats (per-node metrics)', () => {
    /** Node k of a NodeStats as named fields, buckets as a list. */
    const nodeOf = (s: NodeStats, k: number) => {
      const v = Array.from(s.values.subarray(k * NODE_STAT_FIELDS, (k + 1) * NODE_STAT_FIELDS));
      return {
        modid: v[F.MODID], cmdid: v[F.CMDID], ip: v[F.IP], port: v[F.PORT], overload: v[F.OVERLOAD],
        picks: v[F.PICKS], succ: v[F.SUCC], err: v[F.ERR], usetimeSum: v[F.USETIME_SUM], buckets: v.slice(F.BUCKETS), zone: s.zones[k],
      };
    };
    const noBuckets = (): number[] => new Array<number>(USETIME_BOUNDS_US.length + 1).fill(0);

    it('counts picks, calls by result and call times cumulatively, across report windows and state changes', () => {
      const b = primed(2, { continErrLimit: 2 });
      b.applyRoute(MOD, CMD, [{ ...host(0), zone: 'az1' }, host(1)], 0);
      expect(picks(b, 3)).toEqual([0, 1, 0]);
      b.report(MOD, CMD, host(0).ip, host(0).port, RetCode.SUCC, 0, 100); // le=100
      b.report(MOD, CMD, host(0).ip, host(0).port, RetCode.SUCC, 0, 101); // le=250
      b.report(MOD, CMD, host(0).ip, host(0).port, RetCode.SUCC, 0, 5_000_000); // +Inf
      b.collectReports(0, 0); // a report window ends: the cumulative counters stay
      fail(b, 1, 0, 2); // overloads node 1
      const s = b.nodeStats(Infinity);
      expect(s.total).toBe(2);
      const buckets0 = noBuckets();
      buckets0[0] = 1;
      buckets0[1] = 1;
      buckets0[USETIME_BOUNDS_US.length] = 1;
      expect(nodeOf(s, 0)).toEqual({ modid: MOD, cmdid: CMD, ...host(0), overload: 0, picks: 2, succ: 3, err: 0, usetimeSum: 5_000_201, buckets: buckets0, zone: 'az1' });
      expect(nodeOf(s, 1)).toEqual({ modid: MOD, cmdid: CMD, ...host(1), overload: 1, picks: 1, succ: 0, err: 2, usetimeSum: 0, buckets: noBuckets(), zone: '' });
    });

    it('copies at most `limit` nodes and counts them all', () => {
      const b = primed(3);
      b.pick(5, 5, 0);
      b.applyRoute(5, 5, hosts(2), 0);
      const s = b.nodeStats(4);
      expect(s.total).toBe(5);
      expect(s.zones).toHaveLength(4);
      expect(s.values).toHaveLength(4 * NODE_STAT_FIELDS);
      expect(nodeOf(s, 3)).toMatchObject({ modid: 5, cmdid: 5, ...host(0) });
      expect(b.nodeStats(0)).toEqual({ total: 5, values: new Float64Array(0), zones: [] });
    });
  });

  it('rejects an invalid config', () => {
    expect(() => make({ probeNum: -1 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => make({ errRate: Number.NaN })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => make({ initSuccCnt: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => make({ maxEmptyRoutes: -1 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => make({ maxNewPullsPerS: 0.5 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });

  // Envoy-style: many picks over a fake clock against a fault-injecting fleet, then the spread.
  describe('simulation: 100 000 picks over 10 nodes', () => {
    // Failure probability per node: 0-5 healthy, 6 flaky (5 %), 7 mostly failing, 8-9 down.
    const failP = [0, 0, 0, 0, 0, 0, 0.05, 0.8, 1, 1];
    const N = 100_000;
    function simulate(): { share: number[]; failures: number; counters: ReturnType<Balancer['counters']> } {
      const b = primed(10);
      const rnd = prng(12345);
      const count = new Array<number>(10).fill(0);
      let failures = 0;
      let now = 0;
      for (let i = 0; i < N; i++) {
        now += 1; // 1 ms per call: 100 s in all, several idle/overload windows
        const r = b.pick(MOD, CMD, now);
        expect(r.retcode).toBe(RetCode.SUCC); // six healthy nodes: never all overloaded
        const node = r.port - 9000;
        count[node]!++;
        const failed = rnd() < failP[node]!;
        if (failed) failures++;
        b.report(MOD, CMD, r.ip, r.port, failed ? RetCode.OVERLOAD : RetCode.SUCC, now);
        if (i % 997 === 0) b.collectReports(now, 1000);
      }
      return { share: count.map((c) => c / N), failures, counters: b.counters() };
    }

    it('spreads evenly over healthy nodes and masks failing ones', () => {
      const { share, failures, counters } = simulate();
      const healthy = share.slice(0, 7);
      for (const s of healthy) {
        expect(s).toBeGreaterThan(0.115);
        expect(s).toBeLessThan(0.135);
      }
      expect(Math.max(...healthy) - Math.min(...healthy)).toBeLessThan(0.01);
      // Failing nodes only see probes (1 in probe_num+1 picks) and a short trial after each overload_timeout.
      const failing = share[7]! + share[8]! + share[9]!;
      expect(failing).toBeGreaterThan(0.05);
      expect(failing).toBeLessThan(0.1);
      // Without masking 28.5 % of calls would fail.
      expect(failures / N).toBeLessThan(0.1);
      expect(counters.picksSucc).toBe(N);
      expect(counters.reports).toBe(N);
      expect(counters.toOverload).toBeGreaterThanOrEqual(3);
      expect(counters.toOverload - counters.toIdle).toBe(counters.overloadedNodes);
      expect(counters.idleNodes + counters.overloadedNodes).toBe(10);
    });
  });
});
