// The Python and Java clients end to end: a real DNS service, Report service and agent (both
// implementations) on a fresh MariaDB database, each client driven through its driver program
// (test/clients/driver.py, LarsDriver.java). Every wait is for the event, never a fixed sleep.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentPortStats } from '../../src/agent/agent-core.js';
import { startAgent, type RunningAgent } from '../../src/agent/start-agent.js';
import { startDns, type RunningDns } from '../../src/dns/start-dns.js';
import { startReporter, type RunningReporter } from '../../src/report/start-reporter.js';
import { cacheFileName } from '../../src/route-cache/index.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { agentPortIndex } from '../../src/wire/agent-ports.js';
import { RetCode } from '../../src/wire/messages.js';
import { CLIENT_LANGS, ClientDriver, type ClientLang } from '../../bench/lib/client-driver.js';
import { Cleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/frame-client.js';
import { freeConsecutiveUdpBase } from '../helpers/free-port.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { testConfig, type StoreKind } from '../helpers/roles.js';

const TIMEOUT_MS = 300;
const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };
/** Module ids of each client, so both run against one agent without sharing a route. */
const MODID_BASE: Record<ClientLang, number> = { python: 3000, java: 4000 };

describe.each(['native', 'ts'] as const)('clients against the %s agent', (impl) => {
  const cleanup = new Cleanup();
  let db: TestDatabase;
  let kind: StoreKind;
  let store: Store;
  let dns: RunningDns;
  let reporter: RunningReporter;
  let agent: RunningAgent;

  const newAgent = async (extra: Record<string, string> = {}): Promise<RunningAgent> => {
    const c = testConfig('agent', impl, kind, {
      'dnsserver.ip': '127.0.0.1',
      'dnsserver.port': String(dns.port),
      'reporter.ip': '127.0.0.1',
      'reporter.port': String(reporter.port),
      'agent.report_interval_ms': '50',
      'loadbalance.overload_timeout': '60',
      ...extra,
    });
    return cleanup.add(await startAgent({ ...c, agent: { ...c.agent, port: 0 } }, { backoff: FAST_BACKOFF }), (a) => a.stop());
  };
  const portStats = (a: RunningAgent, modid: number, cmdid: number): AgentPortStats => a.core.stats().ports[agentPortIndex(modid, cmdid)]!;
  const addRoute = (modid: number, cmdid: number, nodes: [string, number][]) =>
    store.applyRouteChange(nodes.map(([ip, port]) => ({ op: 'add' as const, modid, cmdid, ip, port })));

  beforeAll(async () => {
    db = cleanup.add(await createTestDatabase(), (d) => d.drop());
    kind = { mysql: db.config };
    store = cleanup.add(await openStore(testConfig('dns', impl, kind).store), (s) => s.close());
    await store.init();
    dns = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': '100' })), (d) => d.stop());
    reporter = cleanup.add(await startReporter(testConfig('reporter', impl, kind, { 'reporter.flush_interval_ms': '20' })), (r) => r.stop());
    agent = await newAgent();
  });
  afterAll(() => cleanup.run());

  describe.each(CLIENT_LANGS)('%s client', (lang) => {
    const m0 = MODID_BASE[lang];
    let client: ClientDriver;
    const drivers = new Cleanup();
    const newDriver = async (port: number, cacheDir?: string): Promise<ClientDriver> =>
      drivers.add(await ClientDriver.start(lang, { port, timeoutMs: TIMEOUT_MS, cacheDir }), (d) => d.close());

    beforeAll(async () => {
      client = await newDriver(agent.port);
    });
    afterAll(() => drivers.run());

    it('answers NOEXIST for a new module, then a node once the agent has the route', async () => {
      const m = m0 + 1;
      await addRoute(m, 1, [['10.0.1.1', 8001]]);
      expect(await client.cmd('get_host', m, 1)).toMatchObject({ retcode: RetCode.NoExist, ip: null });
      expect(await client.cmd('reg_init', m, 1)).toEqual({ retcode: RetCode.Succ });
      expect(await client.cmd('get_host', m, 1)).toEqual({ retcode: RetCode.Succ, ip: '10.0.1.1', port: 8001, from_cache: false });
      expect(await client.cmd('stats')).toMatchObject({ timeouts: 0, malformed: 0, stale: 0 });
    });

    it('goes round robin over idle nodes, and gets the route', async () => {
      const m = m0 + 2;
      await addRoute(m, 1, [['10.0.2.1', 1], ['10.0.2.2', 2], ['10.0.2.3', 3]]);
      expect(await client.cmd('reg_init', m, 1)).toEqual({ retcode: RetCode.Succ });
      await eventually(() => client.cmd('get_route', m, 1), (r) => r.hosts.length === 3, 'all three nodes');
      expect(await client.cmd('get_route', m, 1)).toEqual({ retcode: RetCode.Succ, hosts: ['10.0.2.1:1', '10.0.2.2:2', '10.0.2.3:3'], from_cache: false });
      const counts = new Map<number, number>();
      for (let i = 0; i < 30; i++) {
        const r = await client.cmd('get_host', m, 1);
        counts.set(r.port as number, (counts.get(r.port as number) ?? 0) + 1);
      }
      expect([...counts.entries()].sort()).toEqual([[1, 10], [2, 10], [3, 10]]);
      expect(await client.cmd('get_route', m0 + 99, 1)).toEqual({ retcode: RetCode.NoExist, hosts: [], from_cache: false });
    });

    it('overloads a node after reported failures: only the other one is picked until a probe', async () => {
      const m = m0 + 3;
      await addRoute(m, 1, [['10.0.3.1', 1], ['10.0.3.2', 2]]);
      expect(await client.cmd('reg_init', m, 1)).toEqual({ retcode: RetCode.Succ });
      await eventually(() => client.cmd('get_route', m, 1), (r) => r.hosts.length === 2, 'both nodes');
      const s0 = portStats(agent, m, 1);
      // contin_err_limit (15) failures in a row overload it.
      for (let i = 0; i < 15; i++) await client.cmd('report', m, 1, '10.0.3.1', 1, RetCode.Overload, 1500);
      await eventually(() => portStats(agent, m, 1), (s) => s.toOverload === s0.toOverload + 1, 'the node to be overloaded');
      // probe_num (10) ordinary picks go to the idle node.
      for (let i = 0; i < 10; i++) expect(await client.cmd('get_host', m, 1)).toMatchObject({ retcode: RetCode.Succ, ip: '10.0.3.2', port: 2 });
    });

    it('call() picks, runs, and reports success or failure to the agent', async () => {
      const m = m0 + 4;
      await addRoute(m, 1, [['10.0.4.1', 1]]);
      expect(await client.cmd('reg_init', m, 1)).toEqual({ retcode: RetCode.Succ });
      const s0 = portStats(agent, m, 1);
      expect(await client.cmd('call', m, 1, 'ok')).toEqual({ ok: true, node: '10.0.4.1:1' });
      expect(await client.cmd('call', m, 1, 'fail')).toEqual({ ok: false, error: 'fn' });
      await eventually(() => portStats(agent, m, 1), (s) => s.reports === s0.reports + 2, 'both reports');
      expect(await client.cmd('call', m0 + 98, 1, 'ok')).toEqual({ error: 'ERR_NO_HOST' });
    });

    it('answers RET_SYSTEM_ERROR within its timeout when no agent listens, and ERR_TIMEOUT from call()', async () => {
      const down = await newDriver(await freeConsecutiveUdpBase());
      expect(await down.cmd('get_host', m0 + 5, 1)).toEqual({ retcode: RetCode.SystemError, ip: null, port: null, from_cache: false });
      expect(await down.cmd('get_route', m0 + 5, 1)).toEqual({ retcode: RetCode.SystemError, hosts: [], from_cache: false });
      expect(await down.cmd('call', m0 + 5, 1, 'ok')).toEqual({ error: 'ERR_TIMEOUT' });
      // register() tries three times before it gives up.
      expect(await down.cmd('register', m0 + 5, 1, '127.0.0.1', 7005, 1200)).toEqual({ error: 'ERR_TIMEOUT' });
      expect(await down.cmd('stats')).toMatchObject({ sent: 6, timeouts: 6, matched: 0, from_cache: 0 });
    });

    it('is thread-safe: threads sharing one client each get their own module\'s node', async () => {
      const m = m0 + 8;
      const threads = 4;
      for (let t = 0; t < threads; t++) await addRoute(m + t, 1, [[`10.0.8.${t + 1}`, 8000 + t]]);
      for (let t = 0; t < threads; t++) expect(await client.cmd('reg_init', m + t, 1)).toEqual({ retcode: RetCode.Succ });
      // Each thread asks 100 times for module m + t, whose only node is 10.0.8.(t+1):8000+t.
      expect(await client.cmd('threads', m, threads, 100)).toEqual({ right: threads * 100, wrong: 0 });
    });

    it("answers from the agent's disk cache, round robin, once the agent is down", async () => {
      const m = m0 + 6;
      const dir = cleanup.add(mkdtempSync(join(tmpdir(), 'lars-client-cache-')), (d) => rmSync(d, { recursive: true, force: true }));
      const cached = await newAgent({ 'agent.cache_dir': dir });
      await addRoute(m, 1, [['10.0.6.1', 1], ['10.0.6.2', 2]]);
      const c = await newDriver(cached.port, dir);
      expect(await c.cmd('reg_init', m, 1)).toEqual({ retcode: RetCode.Succ });
      await eventually(() => c.cmd('get_route', m, 1), (r) => r.hosts.length === 2, 'both nodes');
      await eventually(() => existsSync(join(dir, cacheFileName(m, 1))), (v) => v, 'the cache file');
      await cached.stop();
      const picks = [];
      for (let i = 0; i < 4; i++) picks.push(await c.cmd('get_host', m, 1));
      expect(picks).toEqual([1, 2, 1, 2].map((p) => ({ retcode: RetCode.Succ, ip: `10.0.6.${p}`, port: p, from_cache: true })));
      expect(await c.cmd('get_route', m, 1)).toEqual({ retcode: RetCode.Succ, hosts: ['10.0.6.1:1', '10.0.6.2:2'], from_cache: true });
      // A module the cache does not hold: RET_SYSTEM_ERROR.
      expect(await c.cmd('get_host', m0 + 97, 1)).toMatchObject({ retcode: RetCode.SystemError, from_cache: false });
      expect(await c.cmd('stats')).toMatchObject({ timeouts: 6, from_cache: 5 });
    });

    it('registers a node through the agent, renews it every ttl/3, and deregisters it', async () => {
      const m = m0 + 7;
      // ttl 1 200 ms, the shortest the agent takes is 1 000: renewed every 400 ms.
      expect(await client.cmd('register', m, 1, '127.0.0.1', 7007, 1200)).toEqual({ ok: true });
      await eventually(() => client.cmd('get_route', m, 1), (r) => r.hosts.includes('127.0.0.1:7007'), 'the registered node in the route');
      await eventually(() => client.cmd('renewals'), (r) => r.renewals >= 2 && r.failures === 0, 'two renewals');
      expect(await client.cmd('deregister')).toEqual({ retcode: RetCode.Succ });
      await eventually(() => client.cmd('get_route', m, 1), (r) => !r.hosts.includes('127.0.0.1:7007'), 'the node gone from the route');
    });
  });
});
