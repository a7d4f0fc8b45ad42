// The LoadBalance agent end to end: a real DNS service, Report service and MariaDB database,
// the agent's three UDP ports driven by a UDP client, both implementations. Every wait is for
// the event (eventually / a reply with a timeout), never a fixed sleep.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { droppedOf, type AgentPortStats } from '../../src/agent/agent-core.js';
import { startAgent, type RunningAgent } from '../../src/agent/start-agent.js';
import type { AgentConfig } from '../../src/config/types.js';
import { startDns, type RunningDns } from '../../src/dns/start-dns.js';
import { startReporter, type RunningReporter } from '../../src/report/start-reporter.js';
import { openStore } from '../../src/store/index.js';
import type { ModulePolicy, PolicyName, Store } from '../../src/store/store.js';
import { LarsClient } from '../../src/sdk/index.js';
import { FrameDecoder, encodeFrame } from '../../src/wire/frame.js';
import { MsgId, RetCode, decodeBody, encodeBody, int32ToIp, ipToInt32, type ReportStatusRequest } from '../../src/wire/messages.js';
import { Cleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/frame-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { testConfig, type StoreKind } from '../helpers/roles.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { UdpTestClient, modulePortIndex } from '../helpers/udp-client.js';
import { Waiters } from '../helpers/waiters.js';

const POLL_MS = 100;
const CALLER = '10.9.8.7';
const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

/** A TCP port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function hostsOf(r: { host?: { ip: number; port: number }[] }): string[] {
  return (r.host ?? []).map((h) => `${int32ToIp(h.ip)}:${h.port}`).sort();
}

describe.each(['native', 'ts'] as const)('LoadBalance agent (%s)', (impl) => {
  const cleanup = new Cleanup();
  let db: TestDatabase;
  let kind: StoreKind;
  let store: Store;
  let dns: RunningDns;
  let reporter: RunningReporter;
  let agent: RunningAgent;
  let client: UdpTestClient;

  /** An agent config on any three free ports (the config file insists on a real port). */
  const agentConfig = (extra: Record<string, string> = {}): AgentConfig => {
    const dnsKeys: Record<string, string> =
      'dnsserver.endpoints' in extra ? {} : { 'dnsserver.ip': '127.0.0.1', 'dnsserver.port': String(dns.port) };
    const c = testConfig('agent', impl, kind, {
      ...dnsKeys,
      'reporter.ip': '127.0.0.1',
      'reporter.port': String(reporter.port),
      'agent.caller_ip': CALLER,
      'agent.report_interval_ms': '50',
      'loadbalance.overload_timeout': '0.2',
      ...extra,
    });
    return { ...c, agent: { ...c.agent, port: 0 } };
  };
  const newAgent = async (extra: Record<string, string> = {}): Promise<RunningAgent> =>
    cleanup.add(await startAgent(agentConfig(extra), { backoff: FAST_BACKOFF }), (a) => a.stop());
  const newClient = async (a: RunningAgent): Promise<UdpTestClient> => cleanup.add(await UdpTestClient.open(a.port), (c) => c.close());
  const portStats = (a: RunningAgent, modid: number, cmdid: number): AgentPortStats =>
    a.core.stats().ports[modulePortIndex(modid, cmdid)]!;
  const addRoute = (modid: number, cmdid: number, nodes: [string, number][]) =>
    store.applyRouteChange(nodes.map(([ip, port]) => ({ op: 'add' as const, modid, cmdid, ip, port })));
  /** get_host until the agent has the route (the first answer to a new module is NOEXIST). */
  const waitForRoute = (c: UdpTestClient, modid: number, cmdid: number) =>
    eventually(() => c.getHost(modid, cmdid), (r) => r.retcode === RetCode.Succ, `a node of ${modid}/${cmdid}`);

  beforeAll(async () => {
    db = cleanup.add(await createTestDatabase(), (d) => d.drop());
    kind = { mysql: db.config };
    store = cleanup.add(await openStore(testConfig('dns', impl, kind).store), (s) => s.close());
    await store.init();
    dns = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': String(POLL_MS) })), (d) => d.stop());
    reporter = cleanup.add(
      await startReporter(testConfig('reporter', impl, kind, { 'reporter.flush_interval_ms': '20' })),
      (r) => r.stop(),
    );
    agent = await newAgent();
    client = await newClient(agent);
  });

  afterAll(() => cleanup.run());

  it('listens on three consecutive UDP ports', () => {
    expect(agent.ports).toEqual([agent.port, agent.port + 1, agent.port + 2]);
    expect(agent.core.impl).toBe(impl);
  });

  it('answers a new module NOEXIST, then with a node once DNS replied', async () => {
    await addRoute(1001, 1, [['10.0.1.1', 8001]]);
    const first = await client.getHost(1001, 1);
    expect(first).toMatchObject({ modid: 1001, cmdid: 1, retcode: RetCode.NoExist });
    expect(first.host).toBeUndefined();
    const r = await waitForRoute(client, 1001, 1);
    expect(r.host).toEqual({ ip: ipToInt32('10.0.1.1'), port: 8001 });
    expect(hostsOf(await client.getRoute(1001, 1))).toEqual(['10.0.1.1:8001']);
  });

  it('answers a module DNS does not know NOEXIST, and again after the empty reply', async () => {
    expect((await client.getHost(4040, 4)).retcode).toBe(RetCode.NoExist);
    const before = agent.dns.stats().responses;
    await eventually(() => agent.dns.stats().responses, (n) => n > before, 'the DNS reply');
    expect((await client.getHost(4040, 4)).retcode).toBe(RetCode.NoExist);
    expect((await client.getRoute(4040, 4)).host).toEqual([]);
  });

  it('goes round robin over idle nodes', async () => {
    await addRoute(1002, 1, [['10.0.2.1', 1], ['10.0.2.2', 2], ['10.0.2.3', 3]]);
    await client.getHost(1002, 1);
    await eventually(() => client.getRoute(1002, 1), (r) => r.host.length === 3, 'all three nodes');
    const counts = new Map<number, number>();
    for (let i = 0; i < 30; i++) {
      const r = await client.getHost(1002, 1);
      expect(r.retcode).toBe(RetCode.Succ);
      counts.set(r.host!.port, (counts.get(r.host!.port) ?? 0) + 1);
    }
    expect([...counts.entries()].sort()).toEqual([[1, 10], [2, 10], [3, 10]]);
  });

  it('answers and balances the same with the busy-poll off and long ([agent] busy_poll_us 0 and 5000)', async () => {
    await addRoute(1077, 1, [['10.0.77.1', 1], ['10.0.77.2', 2]]);
    for (const busyPollUs of ['0', '5000']) {
      const a = await newAgent({ 'agent.busy_poll_us': busyPollUs });
      const c = await newClient(a);
      await waitForRoute(c, 1077, 1);
      const ports: number[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await c.getHost(1077, 1);
        ports.push(r.host!.port);
        c.report(1077, 1, r.host!.ip, r.host!.port, RetCode.Succ);
      }
      expect(ports.sort()).toEqual([1, 1, 1, 2, 2, 2]);
      await eventually(() => portStats(a, 1077, 1), (s) => s.reports >= 6, 'the six reports');
    }
  });

  it('overloads a node that fails every call: only probes reach it until it recovers', async () => {
    const [m, c] = [1003, 1];
    await addRoute(m, c, [['10.0.3.1', 1], ['10.0.3.2', 2]]);
    await client.getHost(m, c);
    await eventually(() => client.getRoute(m, c), (r) => r.host.length === 2, 'both nodes');
    const bad = ipToInt32('10.0.3.1');
    const s0 = portStats(agent, m, c);
    // contin_err_limit (15) failures in a row overload it.
    for (let i = 0; i < 15; i++) client.report(m, c, bad, 1, RetCode.Overload);
    await eventually(() => portStats(agent, m, c), (s) => s.toOverload === s0.toOverload + 1, 'the node to be overloaded');
    expect(portStats(agent, m, c).overloadedNodes).toBe(s0.overloadedNodes + 1);

    // probe_num (10) ordinary picks go to the idle node, then one probe to the overloaded one.
    const picks: number[] = [];
    for (let i = 0; i < 22; i++) picks.push((await client.getHost(m, c)).host!.port);
    expect(picks.filter((p) => p === 1)).toHaveLength(2);
    expect(picks[10]).toBe(1);
    expect(picks[21]).toBe(1);
    expect(portStats(agent, m, c).probes).toBe(s0.probes + 2);

    // Successes bring it back: vsucc / (vsucc + init_err_cnt) passes succ_rate after 6.
    for (let i = 0; i < 6; i++) client.report(m, c, bad, 1, RetCode.Succ);
    await eventually(() => portStats(agent, m, c), (s) => s.toIdle === s0.toIdle + 1, 'the node to be idle again');

    // Overloaded again, it comes back by itself once overload_timeout (0.2 s) has passed: the
    // next report for it after that moves it, whatever the report says.
    for (let i = 0; i < 15; i++) client.report(m, c, bad, 1, RetCode.Overload);
    await eventually(() => portStats(agent, m, c), (s) => s.toOverload === s0.toOverload + 2, 'the second overload');
    await eventually(
      () => {
        client.report(m, c, bad, 1, RetCode.Overload);
        return portStats(agent, m, c);
      },
      (s) => s.toIdle === s0.toIdle + 2,
      'the overload timeout to give the node another chance',
    );
    const ports = new Set<number>();
    for (let i = 0; i < 4; i++) ports.add((await client.getHost(m, c)).host!.port);
    expect([...ports].sort()).toEqual([1, 2]);
  });

  /** The reports of `pattern` (f: RET_OVERLOAD, s: RET_SUCC) against one node, as ReportRequests. */
  const reportsOf = (modid: number, cmdid: number, ip: string, port: number, pattern: string) =>
    [...pattern].map((r) => ({ modid, cmdid, host: { ip: ipToInt32(ip), port }, retcode: r === 'f' ? RetCode.Overload : RetCode.Succ }));
  /** Where (modid, cmdid)'s next `n` picks go, by port. */
  const picksOf = async (modid: number, cmdid: number, n: number): Promise<number[]> => {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) ports.push((await client.getHost(modid, cmdid)).host!.port);
    return ports;
  };

  it('applies a ReportBatchRequest in order, exactly as the same reports sent one by one', async () => {
    // Two modules with the same two nodes on the same agent port: one gets single reports, the
    // other one batch of the same reports. 15 failures overload, 6 successes bring the node back,
    // 15 failures overload it again: in another order the node would end elsewhere.
    const [single, batched] = [[1050, 0], [1053, 0]] as const;
    expect(modulePortIndex(...single)).toBe(modulePortIndex(...batched));
    const pattern = 'f'.repeat(15) + 's'.repeat(6) + 'f'.repeat(15);
    for (const [m, c] of [single, batched]) {
      await addRoute(m, c, [['10.0.50.1', 1], ['10.0.50.2', 2]]);
      await client.getHost(m, c);
      await eventually(() => client.getRoute(m, c), (r) => r.host.length === 2, 'both nodes');
    }
    const port = client.portOf(...single);
    const s0 = portStats(agent, ...single);
    for (const r of reportsOf(...single, '10.0.50.1', 1, pattern)) client.send(port, MsgId.ReportRequest, r);
    const s1 = await eventually(() => portStats(agent, ...single), (s) => s.reports - s0.reports === pattern.length, 'the single reports');
    client.send(port, MsgId.ReportBatchRequest, { report: reportsOf(...batched, '10.0.50.1', 1, pattern) });
    const s2 = await eventually(() => portStats(agent, ...single), (s) => s.reports - s1.reports === pattern.length, 'the batch');
    expect([s1.toOverload - s0.toOverload, s1.toIdle - s0.toIdle]).toEqual([2, 1]);
    expect([s2.toOverload - s1.toOverload, s2.toIdle - s1.toIdle]).toEqual([2, 1]);
    expect(s2.badBodies).toBe(s0.badBodies);
    // Both end with node 1 overloaded: probe_num (10) picks of node 2, then a probe of node 1.
    const expected = [...Array(10).fill(2), 1];
    expect(await picksOf(...single, 11)).toEqual(expected);
    expect(await picksOf(...batched, 11)).toEqual(expected);
  });

  it('drops a malformed or oversized ReportBatchRequest, counted, and applies the largest one a datagram holds', async () => {
    const [m, c] = [1056, 1];
    await addRoute(m, c, [['10.0.56.1', 1]]);
    await client.getHost(m, c);
    await waitForRoute(client, m, c);
    const port = client.portOf(m, c);
    const s0 = portStats(agent, m, c);
    const body = (n: number) => encodeBody(MsgId.ReportBatchRequest, { report: reportsOf(m, c, '10.0.56.9', 9, 's'.repeat(n)) });
    // A batch cut short inside its last report: its frame is well formed, its body is not.
    const cut = body(10).subarray(0, body(10).length - 3);
    client.sendRaw(port, encodeFrame(MsgId.ReportBatchRequest, cut));
    // A header announcing more body than the datagram carries.
    const whole = encodeFrame(MsgId.ReportBatchRequest, body(10));
    whole.writeInt32LE(whole.length, 4);
    client.sendRaw(port, whole);
    // As many reports (of a node the route does not have) as one datagram holds: 65 507 bytes on IPv4.
    const perReport = body(2).length - body(1).length;
    const most = Math.floor((65_507 - 8 - body(0).length) / perReport);
    const largest = encodeFrame(MsgId.ReportBatchRequest, body(most));
    expect(largest.length).toBeLessThanOrEqual(65_507);
    client.sendRaw(port, largest);
    const s1 = await eventually(
      () => portStats(agent, m, c),
      (s) => s.badBodies - s0.badBodies === 1 && s.datagramsDropped - s0.datagramsDropped === 1 && s.reportsIgnored - s0.reportsIgnored === most,
      'the bad batches counted and the largest applied',
    );
    expect(s1.reports).toBe(s0.reports);
    expect((await client.getHost(m, c)).retcode).toBe(RetCode.Succ);
  });

  it('picks up a route edit made in the store (a DNS push)', async () => {
    await addRoute(1004, 1, [['10.0.4.1', 1]]);
    await client.getHost(1004, 1);
    await waitForRoute(client, 1004, 1);
    await store.applyRouteChange([
      { op: 'add', modid: 1004, cmdid: 1, ip: '10.0.4.2', port: 2 },
      { op: 'remove', modid: 1004, cmdid: 1, ip: '10.0.4.1', port: 1 },
    ]);
    await eventually(() => client.getRoute(1004, 1), (r) => hostsOf(r).join() === '10.0.4.2:2', 'the edited route');
    expect((await client.getHost(1004, 1)).host).toEqual({ ip: ipToInt32('10.0.4.2'), port: 2 });
  });

  it('sends call statistics to the Report service, with its caller IP, batched per interval', async () => {
    const [m, c] = [1005, 1];
    await addRoute(m, c, [['10.0.5.1', 1], ['10.0.5.2', 2]]);
    await client.getHost(m, c);
    await waitForRoute(client, m, c);
    const sent0 = agent.reporter.stats().reportsSent;
    for (let i = 0; i < 40; i++) client.report(m, c, ipToInt32('10.0.5.1'), 1, RetCode.Succ);
    client.report(m, c, ipToInt32('10.0.5.2'), 2, RetCode.Overload);
    const rows = await eventually(
      () => store.listCallStatus({ modid: m, caller: CALLER }),
      (r) => r.length === 2 && r.find((x) => x.port === 1)?.succCnt === 40 && r.find((x) => x.port === 2)?.errCnt === 1,
      'the status rows',
    );
    expect(rows.map((r) => r.caller)).toEqual([CALLER, CALLER]);
    expect(rows.find((r) => r.port === 2)).toMatchObject({ ip: '10.0.5.2', succCnt: 0, overload: false });
    // 41 reports became a handful of ReportStatusRequests, not 41.
    expect(agent.reporter.stats().reportsSent - sent0).toBeLessThan(41);
  });

  it('sends the activity it has not reported yet when it stops, whatever the interval', async () => {
    const [m, c] = [1020, 1];
    await addRoute(m, c, [['10.0.6.1', 1]]);
    const quiet = await startAgent(agentConfig({ 'agent.report_interval_ms': '3600000' }), { backoff: FAST_BACKOFF });
    const qc = await newClient(quiet);
    await qc.getHost(m, c);
    await waitForRoute(qc, m, c);
    for (let i = 0; i < 5; i++) qc.report(m, c, ipToInt32('10.0.6.1'), 1, RetCode.Succ);
    await eventually(() => portStats(quiet, m, c).reports, (n) => n === 5, 'the agent to take the 5 reports');
    expect(await store.listCallStatus({ modid: m })).toHaveLength(0);
    await quiet.stop();
    const rows = await eventually(() => store.listCallStatus({ modid: m }), (r) => r.length === 1, 'the last report');
    expect(rows[0]).toMatchObject({ ip: '10.0.6.1', port: 1, succCnt: 5, caller: CALLER });
  });

  it('drops bad datagrams and counts them while valid requests are answered', async () => {
    const [m, c] = [1006, 1];
    await addRoute(m, c, [['10.0.6.1', 1]]);
    await client.getHost(m, c);
    await waitForRoute(client, m, c);
    const port = client.portOf(m, c);
    const s0 = portStats(agent, m, c);
    const valid = encodeFrame(MsgId.GetHostRequest, encodeBody(MsgId.GetHostRequest, { seq: 1, modid: m, cmdid: c }));
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]);
    const badBody = Buffer.concat([Buffer.from([MsgId.GetHostRequest, 0, 0, 0, garbage.length, 0, 0, 0]), garbage]);
    const unknown = Buffer.from([99, 0, 0, 0, 0, 0, 0, 0]);
    const rounds = 100;
    for (let i = 0; i < rounds; i++) {
      client.sendRaw(port, Buffer.from('xyz')); // shorter than a header
      client.sendRaw(port, Buffer.concat([valid, Buffer.from('trailing')])); // size != 8 + msglen
      client.sendRaw(port, badBody);
      client.sendRaw(port, unknown);
      client.report(m, c, ipToInt32('10.0.6.9'), 9, RetCode.Succ); // not a node of the route
      if (i % 10 === 0) expect((await client.getHost(m, c)).retcode).toBe(RetCode.Succ);
    }
    const s1 = await eventually(() => portStats(agent, m, c), (s) => droppedOf(s) - droppedOf(s0) === 5 * rounds, 'every bad datagram counted');
    expect(s1.datagramsDropped - s0.datagramsDropped).toBe(2 * rounds);
    expect(s1.badBodies - s0.badBodies).toBe(rounds);
    expect(s1.unknownMsgIds - s0.unknownMsgIds).toBe(rounds);
    expect(s1.reportsIgnored - s0.reportsIgnored).toBe(rounds);
    expect(s1.getHostSucc - s0.getHostSucc).toBe(rounds / 10);
    expect((await client.getHost(m, c)).retcode).toBe(RetCode.Succ);
    const text = await agent.metrics.registry.metrics();
    expect(text).toMatch(new RegExp(`lars_agent_dropped_datagrams_total\\{port="${port}",reason="bad_body"\\} ${s1.badBodies}`));
  });

  it('takes routes with weights, zones and a policy, and API frames with the EXTENSIONS §1 fields; a ReportBatchRequest is applied, a RegisterRequest is answered', async () => {
    const [m, c] = [1030, 1];
    await store.applyRouteChange([
      { op: 'add', modid: m, cmdid: c, ip: '10.0.30.1', port: 1, weight: 300, zone: 'az1' },
      { op: 'add', modid: m, cmdid: c, ip: '10.0.30.2', port: 2 },
      { op: 'setPolicy', modid: m, cmdid: c, policy: { name: 'lars', maxEjectionPercent: 0, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 0, ringSize: 0 } },
    ]);
    await client.getHost(m, c);
    await eventually(() => client.getRoute(m, c), (r) => hostsOf(r).length === 2, 'both nodes');
    const port = client.portOf(m, c);
    const s0 = portStats(agent, m, c);
    const frame = <M extends MsgId>(id: M, body: Parameters<typeof encodeBody<M>>[1]) => encodeFrame(id, encodeBody(id, body));
    const rounds = 10;
    for (let i = 0; i < rounds; i++) {
      client.sendRaw(port, frame(MsgId.GetHostRequest, { seq: 1000 + i, modid: m, cmdid: c, hashKey: new Uint8Array([1, 2, 3]) }));
      client.sendRaw(port, frame(MsgId.ReportRequest, { modid: m, cmdid: c, host: { ip: ipToInt32('10.0.30.1'), port: 1 }, retcode: RetCode.Succ, usetimeUs: 1500 }));
      client.sendRaw(port, frame(MsgId.ReportBatchRequest, { report: [{ modid: m, cmdid: c, retcode: 0 }] }));
      // A malformed registration (ttl too short): answered RET_SYSTEM_ERROR, nothing registered.
      client.sendRaw(port, frame(MsgId.RegisterRequest, { seq: 1, modid: m, cmdid: c, host: { ip: 1, port: 1 }, ttlMs: 3, deregister: false }));
    }
    const s1 = await eventually(
      () => portStats(agent, m, c),
      // The batch's one report names no node: ignored and counted, as a single one would be.
      (s) => s.reportsIgnored - s0.reportsIgnored === rounds && s.getHostSucc - s0.getHostSucc === rounds && agent.registrations.stats().refused >= rounds,
      'the batches applied and the requests answered',
    );
    expect(s1.badBodies).toBe(s0.badBodies);
    expect(s1.unknownMsgIds).toBe(s0.unknownMsgIds);
    expect((await client.getHost(m, c)).retcode).toBe(RetCode.Succ);
  });

  const policy = (name: PolicyName, knobs: Partial<Omit<ModulePolicy, 'name'>> = {}): ModulePolicy => ({
    name,
    maxEjectionPercent: 0,
    panicThreshold: 0,
    ejectionBackoffMaxMs: 0,
    zoneOverprovision: 0,
    ringSize: 0,
    ...knobs,
  });
  /** A route with weighted nodes [ip, port, weight] and a policy, written in the store; resolves once the agent holds every node. */
  const addPolicyRoute = async (modid: number, cmdid: number, nodes: [string, number, number][], p: ModulePolicy) => {
    await store.applyRouteChange([
      ...nodes.map(([ip, port, weight]) => ({ op: 'add' as const, modid, cmdid, ip, port, weight })),
      { op: 'setPolicy', modid, cmdid, policy: p },
    ]);
    await eventually(() => client.getRoute(modid, cmdid), (r) => r.host.length === nodes.length, 'every node');
  };
  const sdkClient = () => cleanup.add(new LarsClient({ port: agent.port, timeoutMs: 2_000, cacheDir: '' }), (c) => c.close());

  it('picks by the request\'s hash_key on a ring_hash module: one key one node, keys spread (SDK getHost key)', async () => {
    const [m, c] = [1040, 1];
    await addPolicyRoute(m, c, [['10.0.40.1', 1, 100], ['10.0.40.2', 2, 100], ['10.0.40.3', 3, 100], ['10.0.40.4', 4, 100]], policy('ring_hash'));
    const sdk = sdkClient();
    const nodeOf = async (key: string) => {
      const r = await sdk.getHost(m, c, { key });
      expect(r.retcode).toBe(RetCode.Succ);
      return r.port;
    };
    const byKey = new Map<string, number>();
    for (let i = 0; i < 40; i++) byKey.set(`user-${i}`, (await nodeOf(`user-${i}`))!);
    for (let round = 0; round < 3; round++) {
      for (const [key, port] of byKey) expect(await nodeOf(key)).toBe(port);
    }
    expect(new Set(byKey.values()).size).toBeGreaterThanOrEqual(3);
  });

  it('follows the weights of a weighted_round_robin module over UDP: 5,1,1 picks a a b a c a a', async () => {
    const [m, c] = [1041, 1];
    await addPolicyRoute(m, c, [['10.0.41.1', 1, 5], ['10.0.41.2', 2, 1], ['10.0.41.3', 3, 1]], policy('weighted_round_robin'));
    const picks: number[] = [];
    for (let i = 0; i < 14; i++) picks.push((await client.getHost(m, c)).host!.port);
    expect(picks).toEqual([1, 1, 2, 1, 3, 1, 1, 1, 1, 2, 1, 3, 1, 1]);
  });

  it('sends reported call times to the Report service (HostCallResult usetime_sum_us, usetime_max_us, timed_calls)', async () => {
    const [m, c] = [1042, 1];
    await addPolicyRoute(m, c, [['10.0.42.1', 1, 100], ['10.0.42.2', 2, 100]], policy('least_latency'));
    // A fake Report service that keeps every ReportStatusRequest it is sent.
    const received: ReportStatusRequest[] = [];
    const waiters = new Waiters();
    const fake = createServer((sock) => {
      const decoder = new FrameDecoder();
      sock.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk).frames) {
          if (f.msgid === MsgId.ReportStatusRequest) received.push(decodeBody(MsgId.ReportStatusRequest, Buffer.from(f.body)));
        }
        waiters.wake();
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    cleanup.add(fake, (f) => new Promise<void>((resolve) => f.close(() => resolve())));
    const a = await newAgent({ 'reporter.port': String((fake.address() as AddressInfo).port) });
    const sdk = cleanup.add(new LarsClient({ port: a.port, timeoutMs: 2_000, cacheDir: '' }), (x) => x.close());
    expect(await sdk.regInit(m, c)).toBe(RetCode.Succ);
    sdk.report(m, c, '10.0.42.1', 1, RetCode.Succ, { usetimeUs: 1000 });
    sdk.report(m, c, '10.0.42.1', 1, RetCode.Succ, { usetimeUs: 3000 });
    sdk.report(m, c, '10.0.42.1', 1, RetCode.Succ); // not measured: counted, not timed
    sdk.report(m, c, '10.0.42.2', 2, RetCode.Overload, { usetimeUs: 500 });
    const resultsOf = (ip: string) => received.filter((r) => r.modid === m).flatMap((r) => r.results).filter((x) => x.ip === ipToInt32(ip));
    await waiters.waitFor(() => resultsOf('10.0.42.1').length > 0 && resultsOf('10.0.42.2').length > 0, 'the route report');
    expect(resultsOf('10.0.42.1')[0]).toMatchObject({ succ: 3, err: 0, usetimeSumUs: 4000, usetimeMaxUs: 3000, timedCalls: 2 });
    expect(resultsOf('10.0.42.2')[0]).toMatchObject({ succ: 0, err: 1, usetimeSumUs: 500, usetimeMaxUs: 500, timedCalls: 1 });
  });

  /** The value of one sample line of a /metrics text, undefined when absent. */
  const sampleOf = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const nodeSeries = (m: number, c: number, node: string, zone = '') => `modid="${m}",cmdid="${c}",node="${node}",zone="${zone}"`;

  it('exports per-node calls by result, picks, overload state and a call-time histogram (lars_agent_node_*), from SDK picks and reports', async () => {
    const [m, c] = [1044, 1];
    await store.applyRouteChange([
      { op: 'add', modid: m, cmdid: c, ip: '10.0.44.1', port: 1, zone: 'az1' },
      { op: 'add', modid: m, cmdid: c, ip: '10.0.44.2', port: 2 },
    ]);
    await eventually(() => client.getRoute(m, c), (r) => r.host.length === 2, 'every node');
    const a = nodeSeries(m, c, '10.0.44.1:1', 'az1');
    const b = nodeSeries(m, c, '10.0.44.2:2');
    const scrape = () => agent.metrics.registry.metrics();
    const sdk = sdkClient();
    expect(await sdk.regInit(m, c)).toBe(RetCode.Succ);
    const before = await scrape();
    const picksBefore = [sampleOf(before, `lars_agent_node_picks_total{${a}}`) ?? 0, sampleOf(before, `lars_agent_node_picks_total{${b}}`) ?? 0];
    for (let i = 0; i < 4; i++) expect((await sdk.getHost(m, c)).retcode).toBe(RetCode.Succ);
    sdk.report(m, c, '10.0.44.1', 1, RetCode.Succ, { usetimeUs: 100 });
    sdk.report(m, c, '10.0.44.1', 1, RetCode.Succ, { usetimeUs: 3000 });
    sdk.report(m, c, '10.0.44.1', 1, RetCode.Succ); // not measured: a call, not in the histogram
    for (let i = 0; i < 15; i++) sdk.report(m, c, '10.0.44.2', 2, RetCode.Overload, { usetimeUs: 500 });
    const text = await eventually(scrape, (t) => sampleOf(t, `lars_agent_node_calls_total{${b},result="err"}`) === 15 && sampleOf(t, `lars_agent_node_calls_total{${a},result="succ"}`) === 3, 'every report counted');
    // Round robin over two idle nodes: two picks each.
    expect(sampleOf(text, `lars_agent_node_picks_total{${a}}`)! - picksBefore[0]!).toBe(2);
    expect(sampleOf(text, `lars_agent_node_picks_total{${b}}`)! - picksBefore[1]!).toBe(2);
    expect(sampleOf(text, `lars_agent_node_calls_total{${a},result="err"}`)).toBe(0);
    expect(sampleOf(text, `lars_agent_node_calls_total{${b},result="succ"}`)).toBe(0);
    expect(sampleOf(text, `lars_agent_node_overloaded{${a}}`)).toBe(0);
    expect(sampleOf(text, `lars_agent_node_overloaded{${b}}`)).toBe(1);
    const bucket = (node: string, le: string) => sampleOf(text, `lars_agent_node_call_time_us_bucket{${node},le="${le}"}`);
    expect([bucket(a, '100'), bucket(a, '2500'), bucket(a, '5000'), bucket(a, '+Inf')]).toEqual([1, 1, 2, 2]);
    expect(sampleOf(text, `lars_agent_node_call_time_us_sum{${a}}`)).toBe(3100);
    expect(sampleOf(text, `lars_agent_node_call_time_us_count{${a}}`)).toBe(2);
    expect([bucket(b, '250'), bucket(b, '500'), bucket(b, '+Inf')]).toEqual([0, 15, 15]);
    expect(sampleOf(text, `lars_agent_node_call_time_us_sum{${b}}`)).toBe(7500);
    expect(text).toContain('# TYPE lars_agent_node_call_time_us histogram');
    expect(sampleOf(text, 'lars_agent_node_series_dropped')).toBe(0);
  });

  it('exports at most [admin] max_node_series nodes and counts the others in lars_agent_node_series_dropped', async () => {
    const [m, c] = [1045, 1];
    await addRoute(m, c, [['10.0.45.1', 1], ['10.0.45.2', 2], ['10.0.45.3', 3]]);
    const a = await newAgent({ 'admin.max_node_series': '1' });
    await waitForRoute(await newClient(a), m, c);
    const text = await eventually(() => a.metrics.registry.metrics(), (t) => sampleOf(t, 'lars_agent_node_series_dropped') === 2, 'two nodes dropped');
    const exported = text.split('\n').filter((l) => l.startsWith('lars_agent_node_overloaded{'));
    expect(exported).toHaveLength(1);
    expect(exported[0]).toMatch(new RegExp(`^lars_agent_node_overloaded\\{modid="${m}",cmdid="${c}",node="10\\.0\\.45\\.[123]:[123]",zone=""\\} 0$`));
    expect(text).toContain('# TYPE lars_agent_node_series_dropped gauge');
  });

  it('counts panic picks, capped ejections and unknown policies, in stats and /metrics', async () => {
    const [m, c] = [1043, 1];
    await addPolicyRoute(m, c, [['10.0.43.1', 1, 100], ['10.0.43.2', 2, 100]], policy('lars', { maxEjectionPercent: 50, panicThreshold: 60 }));
    const s0 = portStats(agent, m, c);
    for (let i = 0; i < 15; i++) client.report(m, c, ipToInt32('10.0.43.1'), 1, RetCode.Overload);
    await eventually(() => portStats(agent, m, c), (s) => s.toOverload === s0.toOverload + 1, 'the first node overloaded');
    // One of two nodes healthy (50 % < 60 %): every pick is a panic pick, over both nodes.
    const ports = new Set<number>();
    for (let i = 0; i < 4; i++) ports.add((await client.getHost(m, c)).host!.port);
    expect([...ports].sort()).toEqual([1, 2]);
    // Overloading the second would overload 100 % > 50 %: refused.
    for (let i = 0; i < 15; i++) client.report(m, c, ipToInt32('10.0.43.2'), 2, RetCode.Overload);
    await eventually(() => portStats(agent, m, c), (s) => s.ejectionsCapped > s0.ejectionsCapped, 'the capped ejection');
    // A policy this agent does not know (a newer DNS): the route runs lars, counted.
    agent.core.applyRoute(m, c, [{ ip: ipToInt32('10.0.43.1'), port: 1 }], { ...policy('lars'), name: 'from_the_future' });
    const s1 = await eventually(() => portStats(agent, m, c), (s) => s.unknownPolicies === s0.unknownPolicies + 1, 'the unknown policy');
    expect(s1.panicPicks - s0.panicPicks).toBe(4);
    expect(s1.toOverload).toBe(s0.toOverload + 1);
    const port = client.portOf(m, c);
    const text = await agent.metrics.registry.metrics();
    expect(text).toContain(`lars_agent_panic_picks_total{port="${port}"} ${s1.panicPicks}`);
    expect(text).toContain(`lars_agent_ejections_capped_total{port="${port}"} ${s1.ejectionsCapped}`);
    expect(text).toContain(`lars_agent_unknown_policies_total{port="${port}"} ${s1.unknownPolicies}`);
  });

  it('exports its counters as lars_agent_* metrics', async () => {
    const text = await agent.metrics.registry.metrics();
    for (const name of [
      'requests_total',
      'routes',
      'nodes',
      'state_changes_total',
      'dropped_datagrams_total',
      'pulls_total',
      'dns_connected',
      'report_connected',
      'reports_sent_total',
      'reports_dropped_total',
      'pulls_dropped_total',
    ]) {
      expect(text).toContain(`# TYPE lars_agent_${name} `);
    }
    expect(text).toMatch(/lars_agent_requests_total\{port="\d+",type="get_host",result="succ"\} [1-9]/);
    expect(text).toContain('lars_agent_dns_connected 1');
  });

  it('serves /healthz and /metrics on its admin port', async () => {
    const a = await newAgent({ 'admin.ip': '127.0.0.1', 'admin.port': String(await deadPort()) });
    await eventually(() => a.dns.connected && a.reporter.connected, (up) => up, 'both clients to connect');
    const health = await fetch(`http://127.0.0.1:${a.adminPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, impl, ports: a.ports, dns: { connected: true }, reporter: { connected: true } });
    const metrics = await (await fetch(`http://127.0.0.1:${a.adminPort}/metrics`)).text();
    expect(metrics).toContain('lars_agent_report_connected 1');
  });

  it('keeps serving known routes while DNS is down, then reconnects to it on the same port and pulls again', async () => {
    let ownStopped = false;
    const own = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': String(POLL_MS) })), (d) =>
      ownStopped ? undefined : d.stop(),
    );
    const dnsPort = own.port;
    const a = await newAgent({ 'dnsserver.port': String(dnsPort) });
    const c = await newClient(a);
    await addRoute(1007, 1, [['10.0.7.1', 1]]);
    await c.getHost(1007, 1);
    await waitForRoute(c, 1007, 1);
    ownStopped = true;
    await own.stop();
    await eventually(() => a.dns.connected, (up) => !up, 'the agent to notice DNS is gone');
    for (let i = 0; i < 5; i++) expect((await c.getHost(1007, 1)).retcode).toBe(RetCode.Succ);
    expect(hostsOf(await c.getRoute(1007, 1))).toEqual(['10.0.7.1:1']);

    const pulls0 = portStats(a, 1007, 1).pulls;
    const again = cleanup.add(
      await startDns(testConfig('dns', impl, kind, { 'reactor.port': String(dnsPort), 'dns.poll_interval_ms': String(POLL_MS) })),
      (d) => d.stop(),
    );
    await eventually(() => a.dns.stats(), (s) => s.connected && s.connects === 2, 'the agent to reconnect');
    await eventually(() => portStats(a, 1007, 1).pulls, (n) => n > pulls0, 'the route to be pulled again');
    // The new connection is subscribed again: an edit is pushed to the agent.
    await addRoute(1007, 1, [['10.0.7.2', 2]]);
    await eventually(() => c.getRoute(1007, 1), (r) => r.host.length === 2, 'the pushed edit');
    expect(again.frontend.stats().subscriptions).toBeGreaterThan(0);
  });

  it('pulls a route again on use when its pull is lost right after a DNS reconnect', async () => {
    const proxy = cleanup.add(new TcpProxy('127.0.0.1', dns.port), (p) => p.stop());
    await proxy.start();
    const a = await newAgent({ 'dnsserver.port': String(proxy.port), 'loadbalance.update_timeout': '0.3' });
    const c = await newClient(a);
    await addRoute(1012, 1, [['10.0.12.1', 1]]);
    await c.getHost(1012, 1);
    await waitForRoute(c, 1012, 1);
    await proxy.stop();
    await eventually(() => a.dns.connected, (up) => !up, 'the agent to notice DNS is gone');
    // The reconnect's pull of every route is lost on the way: the new connection holds no subscription.
    proxy.dropFirstChunkOfNextConnection();
    await proxy.start();
    await eventually(() => ({ connects: a.dns.stats().connects, dropped: proxy.dropped }), (s) => s.connects === 2 && s.dropped === 1, 'the lost reconnect pull');
    // Not PULLING forever: once stale the route is pulled again on use, and the edit arrives.
    await addRoute(1012, 1, [['10.0.12.2', 2]]);
    await eventually(() => c.getRoute(1012, 1), (r) => r.host.length === 2, 'the route pulled again after the lost pull');
    expect((await c.getHost(1012, 1)).retcode).toBe(RetCode.Succ);
  });

  it('a client calling a missing module in a loop makes a handful of pulls; the module is served by a push once created', async () => {
    const own = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': String(POLL_MS) })), (d) => d.stop());
    // update_timeout far away: only a push can bring the module's nodes.
    const a = await newAgent({ 'dnsserver.port': String(own.port), 'loadbalance.update_timeout': '3600' });
    const c = await newClient(a);
    await eventually(() => a.dns.connected, (up) => up, 'the agent to connect to DNS');
    const [m, cmd] = [1013, 1];
    expect((await c.getHost(m, cmd)).retcode).toBe(RetCode.NoExist);
    await eventually(() => a.dns.stats().responses, (n) => n === 1, 'the empty answer');
    const calls = 3_000;
    for (let i = 0; i < calls; i++) expect((await c.getHost(m, cmd)).retcode).toBe(RetCode.NoExist);
    const s = portStats(a, m, cmd);
    expect(s.getHostNoExist).toBe(calls + 1);
    expect(s.pulls).toBe(1);
    expect(s.emptyRoutes).toBe(1);
    expect(a.dns.stats().requests).toBe(1);
    expect(own.frontend.stats().framesIn).toBe(1); // what reached DNS
    await addRoute(m, cmd, [['10.0.13.1', 1]]);
    expect((await waitForRoute(c, m, cmd)).host).toEqual({ ip: ipToInt32('10.0.13.1'), port: 1 });
    expect(a.dns.stats().requests).toBe(1); // served by the push, not by a pull
  });

  it('caps pulls of distinct unknown modules per second and the empty routes it keeps', async () => {
    const own = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': String(POLL_MS) })), (d) => d.stop());
    const a = await newAgent({
      'dnsserver.port': String(own.port),
      'loadbalance.update_timeout': '3600',
      'agent.max_new_pulls_per_s': '40',
      'agent.max_empty_routes': '25',
    });
    const c = await newClient(a);
    await eventually(() => a.dns.connected, (up) => up, 'the agent to connect to DNS');
    const calls = 600;
    const started = Date.now();
    // Modules 3k/0 all belong to port 0.
    for (let k = 0; k < calls; k++) expect((await c.getHost(30_000 + 3 * k, 0)).retcode).toBe(RetCode.NoExist);
    // Every one-second window of the balancer's clock lets 40 new modules through, no more.
    const windows = Math.floor((Date.now() - started) / 1000) + 2;
    const s0 = a.core.stats().ports[0]!;
    expect(s0.pulls + s0.newPullsCapped).toBe(calls);
    expect(s0.pulls).toBeLessThanOrEqual(40 * windows);
    const s = await eventually(() => a.core.stats().ports[0]!, (p) => p.routes === p.emptyRoutes, 'every pull answered empty');
    expect(s.emptyRoutes).toBeLessThanOrEqual(25);
    expect(s.emptyRoutesEvicted).toBe(s.pulls - s.emptyRoutes);
    const text = await a.metrics.registry.metrics();
    expect(text).toContain(`lars_agent_new_pulls_capped_total{port="${a.port}"} ${s.newPullsCapped}`);
    expect(text).toContain(`lars_agent_empty_routes{port="${a.port}"} ${s.emptyRoutes}`);
    expect(text).toContain(`lars_agent_empty_routes_evicted_total{port="${a.port}"} ${s.emptyRoutesEvicted}`);
  });

  it('fails over to the next DNS endpoint when the first is dead', async () => {
    const dead = await deadPort();
    const a = await newAgent({ 'dnsserver.endpoints': `127.0.0.1:${dead}, 127.0.0.1:${dns.port}` });
    const c = await newClient(a);
    await eventually(() => a.dns.stats(), (s) => s.connected && s.endpoint === `127.0.0.1:${dns.port}`, 'the second endpoint');
    expect(a.dns.stats().connectFailures).toBeGreaterThan(0);
    await addRoute(1008, 1, [['10.0.8.1', 1]]);
    await c.getHost(1008, 1);
    expect((await waitForRoute(c, 1008, 1)).host).toEqual({ ip: ipToInt32('10.0.8.1'), port: 1 });
  });

  it('serves at once and counts dropped reports while the Report service is unreachable', async () => {
    const a = await newAgent({ 'reporter.port': String(await deadPort()) });
    const c = await newClient(a);
    await addRoute(1009, 1, [['10.0.9.1', 1]]);
    await c.getHost(1009, 1);
    await waitForRoute(c, 1009, 1);
    c.report(1009, 1, ipToInt32('10.0.9.1'), 1, RetCode.Succ);
    await eventually(() => a.reporter.stats(), (s) => s.reportsDropped > 0 && s.connectFailures > 1, 'a dropped report and retries');
    expect(a.reporter.connected).toBe(false);
  });
});

describe.each(['native', 'ts'] as const)('lars agent command (%s)', (impl) => {
  it('starts in the zone --zone names, answers on its ports and stops on SIGTERM', async () => {
    const cleanup = new Cleanup();
    try {
      // The CLI needs a real base port: try a random one, again if it is taken.
      let child: ReturnType<typeof spawn> | undefined;
      let base = 0;
      let output = '';
      for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
        base = 20_000 + Math.floor(Math.random() * 40_000);
        const proc = spawn(
          process.execPath,
          ['dist/src/cli/main.js', 'agent', '--zone', 'az9', '--set', `agent.port=${base}`, '--set', 'admin.port=0', '--set', 'dnsserver.port=1'],
          { env: { ...process.env, LARS_IMPL: impl, LARS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        output = '';
        proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
        const started = await eventually(
          () => (proc.exitCode !== null ? 'exited' : output.includes('listening on UDP') ? 'up' : ''),
          (s) => s !== '',
          'the agent to start or fail',
        );
        if (started === 'up') child = cleanup.add(proc, (p) => p.kill('SIGKILL'));
      }
      expect(child, output).toBeDefined();
      expect(output).toContain(`${base}, ${base + 1}, ${base + 2}`);
      // --zone stands for --set agent.zone: the start line says it.
      expect(output).toContain('; zone az9');
      const c = cleanup.add(await UdpTestClient.open(base), (x) => x.close());
      expect((await c.getHost(5, 5)).retcode).toBe(RetCode.NoExist);
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child!.once('exit', (code, signal) => resolve({ code, signal })),
      );
      child!.kill('SIGTERM');
      // The output says how a failed stop went (a crash shows as a signal, a hang as code 1).
      expect(await exited, output).toEqual({ code: 0, signal: null });
    } finally {
      await cleanup.run();
    }
  });
});
