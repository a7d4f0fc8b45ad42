// The SDK end to end in both modes against the native agent (a real DNS service, Report service
// and MariaDB database): the same behaviour whether picks come from the agent's view in this
// process (local) or over UDP, the overload round trip included; then local mode's fallbacks
// (EXTENSIONS §5) against real view files. Every wait is for the event, never a fixed sleep.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentPortStats } from '../../src/agent/agent-core.js';
import { startAgent, type RunningAgent } from '../../src/agent/start-agent.js';
import { startDns, type RunningDns } from '../../src/dns/start-dns.js';
import { startReporter, type RunningReporter } from '../../src/report/start-reporter.js';
import { LarsClient, RetCode, type SdkMode } from '../../src/sdk/index.js';
import { viewPath } from '../../src/sdk/local-picker.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { agentPortIndex } from '../../src/wire/agent-ports.js';
import { Cleanup } from '../helpers/cleanup.js';
import { spawnDaemon } from '../helpers/daemon-process.js';
import { eventually } from '../helpers/frame-client.js';
import { freeConsecutiveUdpBase } from '../helpers/free-port.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { storeEnv, testConfig, type StoreKind } from '../helpers/roles.js';

const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

describe('SDK against the native agent', () => {
  const cleanup = new Cleanup();
  let db: TestDatabase;
  let kind: StoreKind;
  let store: Store;
  let dns: RunningDns;
  let reporter: RunningReporter;
  let agent: RunningAgent;
  let viewDir: string;

  const tempDir = (): string => cleanup.add(mkdtempSync(join(tmpdir(), 'lars-views-')), (d) => rmSync(d, { recursive: true, force: true }));
  const newAgent = async (dir: string): Promise<RunningAgent> => {
    const c = testConfig('agent', 'native', kind, {
      'dnsserver.ip': '127.0.0.1',
      'dnsserver.port': String(dns.port),
      'reporter.ip': '127.0.0.1',
      'reporter.port': String(reporter.port),
      'agent.report_interval_ms': '50',
      'agent.view_dir': dir,
      'loadbalance.overload_timeout': '60',
    });
    return cleanup.add(await startAgent({ ...c, agent: { ...c.agent, port: 0 } }, { backoff: FAST_BACKOFF }), (a) => a.stop());
  };
  const portStats = (modid: number, cmdid: number): AgentPortStats => agent.core.stats().ports[agentPortIndex(modid, cmdid)]!;
  const addRoute = (modid: number, cmdid: number, nodes: [string, number][]) =>
    store.applyRouteChange(nodes.map(([ip, port]) => ({ op: 'add' as const, modid, cmdid, ip, port })));
  const sdk = (mode: SdkMode, opts: { port?: number; viewDir?: string } = {}): LarsClient =>
    cleanup.add(new LarsClient({ port: opts.port ?? agent.port, mode, viewDir: opts.viewDir ?? viewDir, timeoutMs: 2_000, cacheDir: '' }), (c) => c.close());
  /** regInit, then (local mode) until the view answers the module in this process. */
  const ready = async (client: LarsClient, modid: number, cmdid: number): Promise<void> => {
    expect(await client.regInit(modid, cmdid)).toBe(RetCode.Succ);
    if (client.mode === 'local') await eventually(() => client.getHostSync(modid, cmdid), (r) => r?.retcode === RetCode.Succ, `${modid}/${cmdid} in the view`);
  };

  beforeAll(async () => {
    db = cleanup.add(await createTestDatabase(), (d) => d.drop());
    kind = { mysql: db.config };
    store = cleanup.add(await openStore(testConfig('dns', 'native', kind).store), (s) => s.close());
    await store.init();
    dns = cleanup.add(await startDns(testConfig('dns', 'native', kind, { 'dns.poll_interval_ms': '100' })), (d) => d.stop());
    reporter = cleanup.add(await startReporter(testConfig('reporter', 'native', kind, { 'reporter.flush_interval_ms': '20' })), (r) => r.stop());
    viewDir = tempDir();
    agent = await newAgent(viewDir);
  });
  afterAll(() => cleanup.run());

  describe.each(['local', 'udp'] as const)('in %s mode', (mode) => {
    // Module ids apart per mode: both run against one agent.
    const m0 = mode === 'local' ? 6000 : 7000;

    it('gets nodes round robin and the route; local mode answers them in this process', async () => {
      const [m, c] = [m0 + 1, 1];
      await addRoute(m, c, [['10.0.1.1', 1], ['10.0.1.2', 2]]);
      const client = sdk(mode);
      await ready(client, m, c);
      const before = client.stats;
      const ports = [];
      for (let i = 0; i < 4; i++) ports.push((await client.getHost(m, c)).port);
      expect(ports.sort()).toEqual([1, 1, 2, 2]);
      expect(await client.getRoute(m, c)).toEqual({ retcode: RetCode.Succ, hosts: [{ ip: '10.0.1.1', port: 1 }, { ip: '10.0.1.2', port: 2 }] });
      const s = client.stats;
      if (mode === 'local') {
        expect([s.localPicks - before.localPicks, s.udpPicks - before.udpPicks, s.sent - before.sent]).toEqual([4, 0, 0]);
        expect(client.getHostSync(m, c)).toMatchObject({ retcode: RetCode.Succ });
      } else {
        expect([s.localPicks, s.udpPicks - before.udpPicks]).toEqual([0, 4]);
        expect(client.getHostSync(m, c)).toBeUndefined();
        expect(client.stats.syncMisses).toBe(1);
      }
    });

    it('overloads a node that fails every call: the SDK moves away from it but for probes, and successes bring it back', async () => {
      const [m, c] = [m0 + 2, 1];
      await addRoute(m, c, [['10.0.2.1', 1], ['10.0.2.2', 2]]);
      const client = sdk(mode);
      await ready(client, m, c);
      const s0 = portStats(m, c);
      // contin_err_limit (15) failures in a row overload it.
      for (let i = 0; i < 15; i++) client.report(m, c, '10.0.2.1', 1, RetCode.Overload, { usetimeUs: 900 });
      await eventually(() => portStats(m, c), (s) => s.toOverload === s0.toOverload + 1, 'the node to be overloaded');
      // probe_num (10): of 22 picks, the overloaded node gets only the probes.
      const picks: number[] = [];
      for (let i = 0; i < 22; i++) picks.push((await client.getHost(m, c)).port!);
      const probes = picks.filter((p) => p === 1).length;
      expect(probes).toBeGreaterThanOrEqual(1);
      expect(probes).toBeLessThanOrEqual(3);
      // Successes bring it back: vsucc / (vsucc + init_err_cnt) passes succ_rate after 6.
      for (let i = 0; i < 6; i++) client.report(m, c, '10.0.2.1', 1, RetCode.Succ);
      await eventually(() => portStats(m, c), (s) => s.toIdle === s0.toIdle + 1, 'the node to be idle again');
      await eventually(
        async () => new Set([(await client.getHost(m, c)).port, (await client.getHost(m, c)).port]).size,
        (n) => n === 2,
        'both nodes picked again',
      );
      const s = client.stats;
      if (mode === 'local') {
        expect(s.reportsBatched).toBe(21);
        expect(s.reportBatchesSent).toBeGreaterThanOrEqual(2);
      } else {
        expect(s.reportBatchesSent).toBe(0);
      }
    });

    it('delivers the reports made just before close()', async () => {
      const [m, c] = [m0 + 3, 1];
      await addRoute(m, c, [['10.0.3.1', 1]]);
      const client = new LarsClient({ port: agent.port, mode, viewDir, timeoutMs: 2_000, cacheDir: '' });
      await ready(client, m, c);
      const s0 = portStats(m, c);
      for (let i = 0; i < 3; i++) client.report(m, c, '10.0.3.1', 1, RetCode.Succ);
      await client.close();
      await eventually(() => portStats(m, c), (s) => s.reports === s0.reports + 3, 'the three reports');
    });
  });

  describe('local mode falls back to UDP', () => {
    it('for a module not in the view: asked over UDP (the agent pulls it), then answered from the view', async () => {
      const [m, c] = [8001, 1];
      await addRoute(m, c, [['10.0.81.1', 1]]);
      const client = sdk('local');
      expect(client.getHostSync(m, c)).toBeUndefined();
      expect(client.stats).toMatchObject({ syncMisses: 1, fallbacks: { missingModule: 1 } });
      // The UDP request makes the agent pull the route; the view has it once the pull is answered.
      await eventually(() => client.getHost(m, c), (r) => r.retcode === RetCode.Succ, 'a node');
      expect(client.stats.udpPicks).toBeGreaterThanOrEqual(1);
      await eventually(() => client.getHostSync(m, c), (r) => r?.retcode === RetCode.Succ, 'the module in the view');
    });

    it('when there is no view file, counted as missingFile', async () => {
      const [m, c] = [8002, 1];
      await addRoute(m, c, [['10.0.82.1', 1]]);
      const client = sdk('local', { viewDir: tempDir() });
      // regInit's route requests go over UDP too (each counted).
      expect(await client.regInit(m, c)).toBe(RetCode.Succ);
      const before = client.stats.fallbacks.missingFile;
      expect(await client.getHost(m, c)).toEqual({ retcode: RetCode.Succ, ip: '10.0.82.1', port: 1 });
      expect(client.getHostSync(m, c)).toBeUndefined();
      expect(client.stats).toMatchObject({ localPicks: 0, udpPicks: 1, syncMisses: 1, fallbacks: { missingFile: before + 2, stale: 0, layout: 0, corrupt: 0 } });
    });

    it('when the view file is garbage, counted as corrupt or layout, and never crashes', async () => {
      const [m, c] = [8003, 1];
      await addRoute(m, c, [['10.0.83.1', 1]]);
      const dir = tempDir();
      const base = agent.port;
      // Garbage of a few sizes, one per port: shorter than any header, a page of noise, zeros.
      writeFileSync(viewPath(dir, base), Buffer.from('not a view'));
      writeFileSync(viewPath(dir, base + 1), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff)));
      writeFileSync(viewPath(dir, base + 2), Buffer.alloc(65_536));
      const client = sdk('local', { viewDir: dir });
      expect(await client.regInit(m, c)).toBe(RetCode.Succ);
      const bad = () => client.stats.fallbacks.corrupt + client.stats.fallbacks.layout;
      const before = bad();
      for (const [mm, cc] of [[8003, 0], [8003, 1], [8003, 2]] as const) expect(client.getHostSync(mm, cc)).toBeUndefined();
      expect(await client.getHost(m, c)).toEqual({ retcode: RetCode.Succ, ip: '10.0.83.1', port: 1 });
      expect(bad()).toBe(before + 4);
      const f = client.stats.fallbacks;
      expect(f.missingFile + f.stale + f.missingModule).toBe(0);
    });

    it('while the heartbeat is stale (the agent stopped), counted as stale; back to local once it runs again', async () => {
      const [m, c] = [8004, 1];
      await addRoute(m, c, [['10.0.84.1', 1]]);
      const dir = tempDir();
      const base = await freeConsecutiveUdpBase();
      const env = { ...process.env, ...storeEnv(kind), LARS_IMPL: 'native', LARS_LOG_LEVEL: 'info' };
      const daemon = cleanup.add(
        spawnDaemon('agent', ['--set', `agent.port=${base}`, '--set', 'admin.port=0', '--set', `dnsserver.port=${dns.port}`, '--set', `agent.view_dir=${dir}`, '--set', 'agent.cache_dir='], env),
        (d) => d.stop('SIGKILL'),
      );
      await daemon.waitFor(/listening on UDP/);
      const client = sdk('local', { port: base, viewDir: dir });
      await ready(client, m, c);
      daemon.child.kill('SIGSTOP');
      try {
        await eventually(() => client.getHostSync(m, c), (r) => r === undefined, 'the stale heartbeat noticed', 10_000);
        expect(client.stats.fallbacks.stale).toBeGreaterThanOrEqual(1);
      } finally {
        daemon.child.kill('SIGCONT');
      }
      await eventually(() => client.getHostSync(m, c), (r) => r?.retcode === RetCode.Succ, 'local mode again', 10_000);
      await daemon.stop();
    });
  });
});
