// Registration with leases (EXTENSIONS.md §4) end to end: real DNS services, agents and MariaDB,
// the SDK and the `lars register` sidecar, both implementations. Every wait is for the event.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/start-agent.js';
import type { AgentConfig } from '../../src/config/types.js';
import { startDns, type RunningDns } from '../../src/dns/start-dns.js';
import { isLarsError } from '../../src/errors.js';
import { LarsClient } from '../../src/sdk/lars-client.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { MsgId, RetCode, int32ToIp, ipToInt32 } from '../../src/wire/messages.js';
import { Cleanup } from '../helpers/cleanup.js';
import { checkBuild, cleanEnv, cliPath, root, runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/frame-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { testConfig, type StoreKind } from '../helpers/roles.js';
import { UdpTestClient } from '../helpers/udp-client.js';

const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

describe.each(['native', 'ts'] as const)('registration with leases (%s)', (impl) => {
  const cleanup = new Cleanup();
  let db: TestDatabase;
  let kind: StoreKind;
  let store: Store;
  let dns: RunningDns;
  let agent: RunningAgent;
  let watcher: RunningAgent;
  let watch: UdpTestClient;
  let sdk: LarsClient;

  const agentConfig = (dnsPort: number): AgentConfig => {
    const c = testConfig('agent', impl, kind, { 'dnsserver.ip': '127.0.0.1', 'dnsserver.port': String(dnsPort), 'reporter.ip': '127.0.0.1', 'reporter.port': '1' });
    return { ...c, agent: { ...c.agent, port: 0 } };
  };
  const newAgent = async (): Promise<RunningAgent> => cleanup.add(await startAgent(agentConfig(dns.port), { backoff: FAST_BACKOFF }), (a) => a.stop());
  /** The nodes another agent (subscribed to the module) serves, as ip:port. */
  const nodesSeen = async (c: UdpTestClient, modid: number, cmdid: number): Promise<string[]> =>
    ((await c.getRoute(modid, cmdid)).host ?? []).map((h: { ip: number; port: number }) => `${int32ToIp(h.ip)}:${h.port}`).sort();
  const waitNodes = (modid: number, cmdid: number, want: string[], what: string) =>
    eventually(() => nodesSeen(watch, modid, cmdid), (n) => JSON.stringify(n) === JSON.stringify(want), what);

  beforeAll(async () => {
    db = cleanup.add(await createTestDatabase(), (d) => d.drop());
    kind = { mysql: db.config };
    store = cleanup.add(await openStore(testConfig('dns', impl, kind).store), (s) => s.close());
    await store.init();
    dns = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': '100', 'dns.max_leases': '50' })), (d) => d.stop());
    agent = await newAgent();
    watcher = await newAgent();
    watch = cleanup.add(await UdpTestClient.open(watcher.port), (c) => c.close());
    sdk = cleanup.add(new LarsClient({ port: agent.port, impl, cacheDir: '', timeoutMs: 500 }), (c) => c.close());
  });

  afterAll(() => cleanup.run());

  it('register: the node reaches a subscribed agent and the lease is stored; deregister: it is gone at once', async () => {
    const [m, c] = [3001, 1];
    expect(await nodesSeen(watch, m, c)).toEqual([]);
    const reg = await sdk.register({ modid: m, cmdid: c, ip: '10.1.0.1', port: 7001, weight: 200, zone: 'az1', ttlMs: 3000 });
    await waitNodes(m, c, ['10.1.0.1:7001'], 'the registered node at the watching agent');
    const [lease] = await store.listLeases({ modid: m, cmdid: c });
    expect(lease).toMatchObject({ ip: '10.1.0.1', port: 7001, ttlMs: 3000 });
    expect((await store.listRoutes({ modid: m, cmdid: c }))[0]).toMatchObject({ ip: '10.1.0.1', port: 7001, weight: 200, zone: 'az1' });
    await reg.deregister();
    await waitNodes(m, c, [], 'the node gone after deregister');
    expect(await store.listLeases({ modid: m, cmdid: c })).toEqual([]);
  });

  it('renews while the SDK renews: the lease outlives its ttl', async () => {
    const [m, c] = [3002, 1];
    const reg = await sdk.register({ modid: m, cmdid: c, ip: '10.1.0.2', port: 7002, ttlMs: 1000 });
    await waitNodes(m, c, ['10.1.0.2:7002'], 'the registered node');
    const first = (await store.listLeases({ modid: m, cmdid: c }))[0]!;
    // Several ttls later the node is still there and its expiry has moved on.
    const later = await eventually(() => store.listLeases({ modid: m, cmdid: c }), (l) => l.length === 1 && l[0]!.expiresAt > first.expiresAt + 3000, 'renewals past three ttls');
    expect(later[0]!.registeredAt).toBe(first.registeredAt);
    expect(await nodesSeen(watch, m, c)).toEqual(['10.1.0.2:7002']);
    await reg.deregister();
    await waitNodes(m, c, [], 'the node gone');
  });

  it('a sidecar killed with -9: the node disappears when its lease expires; SIGTERM deregisters', async () => {
    checkBuild(['src/cli/commands/register.ts', 'src/sdk/lars-client.ts']);
    const [m, c] = [3003, 1];
    const sidecar = (port: number): ChildProcess =>
      spawn(process.execPath, [cliPath, 'register', String(m), String(c), '10.1.0.3', String(port), '--ttl', '1000', '--agent-ip', '127.0.0.1', '--agent-port', String(agent.port), '--set', `lars.impl=${impl}`], {
        env: cleanEnv(),
        cwd: root,
        stdio: 'ignore',
      });
    const killed = sidecar(7003);
    const termed = sidecar(7004);
    const exited = (p: ChildProcess) => new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    try {
      await waitNodes(m, c, ['10.1.0.3:7003', '10.1.0.3:7004'], 'both sidecars registered');
      killed.kill('SIGKILL');
      await waitNodes(m, c, ['10.1.0.3:7004'], 'the killed sidecar gone after its ttl');
      const code = exited(termed);
      termed.kill('SIGTERM');
      expect(await code).toBe(0);
      await waitNodes(m, c, [], 'the terminated sidecar deregistered');
    } finally {
      killed.kill('SIGKILL');
      termed.kill('SIGKILL');
    }
  });

  it('the agent stopped: its registrations are no longer renewed and their leases expire', async () => {
    const [m, c] = [3004, 1];
    const doomed = await startAgent(agentConfig(dns.port), { backoff: FAST_BACKOFF });
    const client = new LarsClient({ port: doomed.port, impl, cacheDir: '', timeoutMs: 500 });
    try {
      await client.register({ modid: m, cmdid: c, ip: '10.1.0.4', port: 7005, ttlMs: 1000 });
      await waitNodes(m, c, ['10.1.0.4:7005'], 'the registered node');
      await doomed.stop();
      await waitNodes(m, c, [], 'the lease expired');
      await eventually(() => dns.leases.stats().reaped, (n) => n > 0, 'the reaper counted it');
    } finally {
      await client.close();
      await doomed.stop();
    }
  });

  it('re-sends every registration after a DNS failover', async () => {
    const [m, c] = [3005, 1];
    const second = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': '100' })), (d) => d.stop());
    // Stopped by the test itself: the agent fails over from it to `second`.
    const failing = await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': '100' }));
    const cfg = testConfig('agent', impl, kind, { 'dnsserver.endpoints': `127.0.0.1:${failing.port},127.0.0.1:${second.port}`, 'reporter.ip': '127.0.0.1', 'reporter.port': '1' });
    const a = cleanup.add(await startAgent({ ...cfg, agent: { ...cfg.agent, port: 0 } }, { backoff: FAST_BACKOFF }), (x) => x.stop());
    const client = cleanup.add(new LarsClient({ port: a.port, impl, cacheDir: '', timeoutMs: 500 }), (x) => x.close());
    await eventually(() => a.dns.stats().connected, (up) => up, 'the agent connected');
    try {
      await client.register({ modid: m, cmdid: c, ip: '10.1.0.5', port: 7006, ttlMs: 60_000 });
    } catch (err) {
      await failing.stop();
      throw err;
    }
    await waitNodes(m, c, ['10.1.0.5:7006'], 'the registered node');
    const sentBefore = a.registrations.stats().leasesSent;
    await failing.stop();
    await eventually(() => a.registrations.stats().leasesSent, (n) => n > sentBefore && a.dns.stats().connects >= 2, 'the registration re-sent after the failover');
    await eventually(() => second.leases.stats().renewed, (n) => n > 0, 'the lease renewed through the second DNS');
    await client.close();
    await waitNodes(m, c, [], 'close() deregisters');
  });

  it('refuses a static node, a full table and malformed registrations, changing nothing stored', async () => {
    const [m, c] = [3006, 1];
    await store.applyRouteChange([{ op: 'add', modid: m, cmdid: c, ip: '10.1.0.6', port: 7007 }]);
    const version = await store.getVersion();
    const s0 = dns.leases.stats();
    const reg = await sdk.register({ modid: m, cmdid: c, ip: '10.1.0.6', port: 7007, ttlMs: 1000 });
    await eventually(() => dns.leases.stats().refusedStatic, (n) => n > s0.refusedStatic, 'the static node refused');
    await reg.deregister();
    await eventually(() => dns.leases.stats().refusedStatic, (n) => n > s0.refusedStatic + 1, 'its deregistration refused too');
    expect(await store.listRoutes({ modid: m, cmdid: c })).toHaveLength(1);
    expect(await store.listLeases({ modid: m, cmdid: c })).toEqual([]);
    expect(await store.getVersion()).toBe(version);

    // Malformed: the SDK refuses before sending; the agent answers a raw one RET_SYSTEM_ERROR.
    await expect(sdk.register({ modid: m, cmdid: c, ip: '10.1.0.6', port: 7008, ttlMs: 10 })).rejects.toSatisfy((e) => isLarsError(e, 'ERR_INVALID_INPUT'));
    const raw = cleanup.add(await UdpTestClient.open(agent.port), (x) => x.close());
    const rsp = await raw.register({ seq: 77, modid: m, cmdid: c, host: { ip: ipToInt32('10.1.0.6'), port: 7008 }, ttlMs: 10, deregister: false });
    expect(rsp).toMatchObject({ seq: 77, retcode: RetCode.SystemError });
    expect(agent.registrations.stats().refused).toBeGreaterThan(0);

    // max_leases (50 in this DNS): past it first registrations are refused.
    const many = await Promise.all(Array.from({ length: 60 }, (_, i) => sdk.register({ modid: 3007, cmdid: 1, ip: '10.1.1.1', port: 1000 + i, ttlMs: 60_000 })));
    await eventually(() => dns.leases.stats().refusedFull, (n) => n >= 10, 'registrations past max_leases refused');
    expect((await store.listLeases()).length).toBeLessThanOrEqual(50);
    await Promise.all(many.map((r) => r.deregister()));
    await eventually(() => store.listLeases({ modid: 3007, cmdid: 1 }), (l) => l.length === 0, 'all deregistered');
  });

  it('two DNS instances reaping one database: every expired lease is removed exactly once', async () => {
    const other = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': '100' })), (d) => d.stop());
    const n = 300;
    const reapedBefore = dns.leases.stats().reaped + other.leases.stats().reaped;
    const changesBefore = (await store.recentChanges(100_000)).length;
    // Written straight to the store, already expired when the reapers look.
    await store.applyLeases(
      Array.from({ length: n }, (_, i) => ({ modid: 3100 + (i % 3), cmdid: 1, ip: '10.3.1.1', port: 1 + i, ttlMs: 1000, deregister: false })),
      Date.now() - 5000,
      100_000,
    );
    // The counters move just after each reaping transaction commits: wait for them, not for the rows.
    const reaped = () => dns.leases.stats().reaped + other.leases.stats().reaped - reapedBefore;
    await eventually(reaped, (r) => r >= n, 'every expired lease reaped', 30_000);
    expect(reaped()).toBe(n);
    expect((await store.listLeases()).filter((x) => x.modid >= 3100 && x.modid <= 3102)).toEqual([]);
    expect(await store.listRoutes({ modid: 3100 })).toEqual([]);
    // One RouteChange row per module per reaping transaction, plus the three of the insertion.
    const changes = (await store.recentChanges(100_000)).length - changesBefore;
    expect(changes).toBeGreaterThanOrEqual(3 + 3);
    expect(changes).toBeLessThanOrEqual(3 + n);
  }, 120_000);

  it('register() without an agent: ERR_TIMEOUT', async () => {
    const lonely = new LarsClient({ port: 9, impl, cacheDir: '', timeoutMs: 50 });
    try {
      await expect(lonely.register({ modid: 1, cmdid: 1, ip: '10.0.0.1', port: 1 })).rejects.toSatisfy((e) => isLarsError(e, 'ERR_TIMEOUT'));
    } finally {
      await lonely.close();
    }
  });
});

describe.each(['native', 'ts'] as const)('a registration storm (%s)', (impl) => {
  const AGENTS = 10;
  const PER_AGENT = 1000;
  const MODULES = 10;
  const cleanup = new Cleanup();
  afterAll(() => cleanup.run());

  it('10 000 instances across 10 agents: batched lease writes, every node shows up', async () => {
    const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
    const kind: StoreKind = { mysql: db.config };
    const store = cleanup.add(await openStore(testConfig('dns', impl, kind).store), (s) => s.close());
    await store.init();
    const dns = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': '100' })), (d) => d.stop());
    const agents: RunningAgent[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const c = testConfig('agent', impl, kind, { 'dnsserver.ip': '127.0.0.1', 'dnsserver.port': String(dns.port), 'reporter.ip': '127.0.0.1', 'reporter.port': '1' });
      agents.push(cleanup.add(await startAgent({ ...c, agent: { ...c.agent, port: 0 } }, { backoff: FAST_BACKOFF }), (a) => a.stop()));
    }
    // Each agent's instances are simulated from one socket: distinct ip:port per instance.
    const senders = await Promise.all(agents.map(async (a) => cleanup.add(await UdpTestClient.open(a.port), (c) => c.close())));
    const batchesBefore = dns.leases.stats().batches;
    senders.forEach((s, ai) => {
      for (let k = 0; k < PER_AGENT; k++) {
        const modid = 4000 + (k % MODULES);
        const host = { ip: ipToInt32(`10.50.${ai}.1`), port: 1000 + k };
        s.send(s.portOf(modid, 1), MsgId.RegisterRequest, { seq: k, modid, cmdid: 1, host, ttlMs: 600_000, deregister: false });
      }
    });
    await eventually(() => agents.map((a) => a.registrations.stats().accepted), (n) => n.every((x) => x === PER_AGENT), 'every registration accepted');
    const total = AGENTS * PER_AGENT;
    await eventually(() => store.listLeases(), (l) => l.length === total, 'every lease stored', 60_000);
    // The writer counts a batch once its transaction's promise resolves, which can come after this
    // test's own connection already sees the committed rows: wait for the count, don't read it once.
    await eventually(() => dns.leases.stats().added, (n) => n === total, 'every lease counted as added');
    const s = dns.leases.stats();
    // Batched: far fewer store transactions than leases.
    expect(s.batches - batchesBefore).toBeLessThan(total / 20);
    const watch = cleanup.add(await UdpTestClient.open(agents[0]!.port), (c) => c.close());
    for (let m = 0; m < MODULES; m++) {
      await eventually(() => watch.getRoute(4000 + m, 1), (r) => (r.host ?? []).length === total / MODULES, `all ${total / MODULES} nodes of module ${4000 + m}`, 60_000);
    }
  });
});

describe('lars register usage', () => {
  it('bad arguments exit 2 with the usage; no agent exits 1 saying so', async () => {
    checkBuild(['src/cli/commands/register.ts']);
    const bad = await runCli(['register', '1', '1', '10.0.0.256', '80'], cleanEnv());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/usage: lars register MODID CMDID IP PORT/);
    const ttl = await runCli(['register', '1', '1', '10.0.0.1', '80', '--ttl', '10'], cleanEnv());
    expect(ttl.code).toBe(2);
    const none = await runCli(['register', '1', '1', '10.0.0.1', '80', '--agent-port', '9', '--timeout-ms', '50'], cleanEnv());
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no agent answered the registration of 10\.0\.0\.1:80/);
  });
});
