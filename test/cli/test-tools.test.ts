// `lars test …` as a user runs it: the built CLI in a child process, first against a fake agent
// (three UDP sockets in this process) to pin down the datagrams and the output, then end to end
// against a real agent, DNS service and Report service on the seeded demo routes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/start-agent.js';
import type { RunningDns } from '../../src/dns/start-dns.js';
import type { RunningReporter } from '../../src/report/start-reporter.js';
import { startDns } from '../../src/dns/start-dns.js';
import { startReporter } from '../../src/report/start-reporter.js';
import { setLogLevel } from '../../src/log.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { encodeFrame } from '../../src/wire/frame.js';
import { MsgId, RetCode, encodeBody, ipToInt32 } from '../../src/wire/messages.js';
import { checkBuild, cleanEnv, runCli, type CliRun } from '../helpers/cli.js';
import { eventually } from '../helpers/frame-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { tempSqlite, testConfig, type StoreKind } from '../helpers/roles.js';
import { FakeAgent } from '../sdk/fake-agent.js';
import { freeConsecutiveUdpBase } from '../helpers/free-port.js';

function run(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(['test', ...args], cleanEnv(env));
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

beforeAll(() => checkBuild(['src/cli/main.ts', 'src/cli/commands/test.ts', 'src/cli/commands/test-qps-worker.ts', 'src/sdk/lars-client.ts']));

describe('lars test against a fake agent', () => {
  let agent: FakeAgent;
  const lars = (...args: string[]) => run([...args, '--agent-ip', '127.0.0.1', '--agent-port', String(agent.base)], { LARS_IMPL: 'ts' });

  beforeEach(async () => {
    agent = await FakeAgent.start();
    agent.setRoute(1, 1, [
      { ip: '10.0.0.1', port: 9001 },
      { ip: '192.168.1.177', port: 9002 },
    ]);
  });
  afterEach(() => agent.close());

  it('gethost prints the picked node; without one it says why and exits 3', async () => {
    const ok = await lars('gethost', '1', '1');
    expect(ok).toMatchObject({ code: 0, stdout: 'modid 1 cmdid 1: 10.0.0.1:9001 (RET_SUCC)\n' });
    const json = await lars('gethost', '1', '1', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ modid: 1, cmdid: 1, retcode: 0, ret: 'RET_SUCC', ip: '192.168.1.177', port: 9002 });
    const none = await lars('gethost', '5', '5');
    expect(none.code).toBe(3);
    expect(none.stdout).toMatch(/^modid 5 cmdid 5: no node \(RET_NOEXIST\): the agent has no route for it yet/);
    expect(agent.bodies(MsgId.GetHostRequest).map((r) => [r.modid, r.cmdid])).toEqual([
      [1, 1],
      [1, 1],
      [5, 5],
    ]);
  });

  it('getroute lists the nodes; an empty route exits 3', async () => {
    const ok = await lars('getroute', '1', '1');
    expect(ok).toMatchObject({ code: 0, stdout: 'modid 1 cmdid 1: 2 nodes\n  10.0.0.1:9001\n  192.168.1.177:9002\n' });
    const none = await lars('getroute', '2', '9', '--json');
    expect(none.code).toBe(3);
    expect(JSON.parse(none.stdout)).toMatchObject({ retcode: RetCode.NoExist, hosts: [] });
  });

  it('report sends the canonical ReportRequest datagram to port base + (modid + cmdid) % 3', async () => {
    const r = await lars('report', '1', '2', '192.168.1.177', '9002', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/reported a failure \(RET_OVERLOAD\) of 192\.168\.1\.177:9002 for modid 1 cmdid 2/);
    await agent.waitFor(() => agent.received.length === 1, 'the report');
    expect(agent.received[0]!.index).toBe(0);
    expect(agent.received[0]!.raw).toEqual(
      encodeFrame(MsgId.ReportRequest, encodeBody(MsgId.ReportRequest, { modid: 1, cmdid: 2, host: { ip: ipToInt32('192.168.1.177'), port: 9002 }, retcode: 1 })),
    );
  });

  it('simulator fails errRate/10 of the calls, reports each, and prints per-node counts and overloaded picks', async () => {
    let picks = 0;
    // Every fourth pick finds every node overloaded.
    agent.hooks.onGetHost = (req, reply, a) => {
      picks++;
      reply(MsgId.GetHostResponse, picks % 4 === 0 ? { seq: req.seq, modid: 1, cmdid: 1, retcode: RetCode.Overload } : a.pick(req));
    };
    const clean = await lars('simulator', '1', '1', '0', '40');
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/^10\.0\.0\.1:9001\s+15\s+0$/m);
    expect(clean.stdout).toMatch(/^192\.168\.1\.177:9002\s+15\s+0$/m);
    expect(clean.stdout).toMatch(/picks with every node overloaded \(RET_OVERLOAD\): 10$/m);
    await agent.waitFor(() => agent.bodies(MsgId.ReportRequest).length === 30, '30 reports');
    expect(agent.bodies(MsgId.ReportRequest).every((r) => r.retcode === RetCode.Succ)).toBe(true);

    picks = 0;
    const failing = await lars('simulator', '1', '1', '10', '8', '--json');
    expect(JSON.parse(failing.stdout)).toEqual({
      modid: 1,
      cmdid: 1,
      errRate: 10,
      queries: 8,
      nodes: { '10.0.0.1:9001': { succ: 0, err: 3 }, '192.168.1.177:9002': { succ: 0, err: 3 } },
      overloaded: 2,
      noRoute: 0,
      noAnswer: 0,
    });
    await agent.waitFor(() => agent.bodies(MsgId.ReportRequest).length === 36, '6 more reports');
    expect(agent.bodies(MsgId.ReportRequest).slice(30).every((r) => r.retcode === RetCode.Overload)).toBe(true);
  });

  it('qps prints calls per second each second and the median, or one JSON object', async () => {
    const text = await lars('qps', '1', '2');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^second 1: \d+ calls\/s \(1 thread\)\nsecond 2: \d+ calls\/s \(1 thread\)\nmedian: \d+(\.5)? calls\/s over 2 s/);
    const json = await lars('qps', '2', '1', '--json');
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as { threads: number; perSecond: number[]; median: number; total: number };
    expect(result).toMatchObject({ threads: 2, seconds: 1, modid: 1, cmdid: 1 });
    expect(result.perSecond).toHaveLength(1);
    expect(result.median).toBeGreaterThan(0);
    expect(agent.bodies(MsgId.ReportRequest).length).toBeGreaterThan(0);
  });

  it('qps --mode says which mode ran and why it fell back: no view here, so UDP', async () => {
    const viewDir = mkdtempSync(join(tmpdir(), 'lars-test-views-'));
    tempDirs.push(viewDir);
    const auto = await lars('qps', '1', '1', '--view-dir', viewDir);
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stdout).toMatch(/\nmode: udp \(asked auto; 0 picks from the agent's view, \d+ over UDP; 0 reports in 0 batches\)\nfallbacks to UDP: missingFile \d+\n$/);
    const udp = await lars('qps', '1', '1', '--mode', 'udp', '--json');
    expect(udp.code, udp.stderr).toBe(0);
    expect(JSON.parse(udp.stdout)).toMatchObject({ mode: 'udp', ran: 'udp', localPicks: 0, fallbacks: {}, reportBatchesSent: 0 });
  });

  it('finds the agent through -c FILE, --set and LARS_AGENT_PORT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lars-test-tools-'));
    tempDirs.push(dir);
    const file = join(dir, 'agent.conf');
    writeFileSync(file, `[agent]\nip = 127.0.0.1\nport = ${agent.base}\n`);
    expect((await run(['gethost', '1', '1', '-c', file], { LARS_IMPL: 'ts' })).code).toBe(0);
    expect((await run(['gethost', '1', '1', '--set', `agent.port=${agent.base}`], { LARS_IMPL: 'ts' })).code).toBe(0);
    expect((await run(['getroute', '1', '1'], { LARS_IMPL: 'ts', LARS_AGENT_PORT: String(agent.base) })).code).toBe(0);
    expect(agent.received.map((r) => r.msgid)).toEqual([MsgId.GetHostRequest, MsgId.GetHostRequest, MsgId.ApiGetRouteRequest]);
  });

  it('exits 1 with a message when the agent does not answer', async () => {
    const base = String(await freeConsecutiveUdpBase());
    const down = (...args: string[]) => run([...args, '--agent-port', base, '--timeout-ms', '100'], { LARS_IMPL: 'ts' });
    for (const args of [['gethost', '1', '1'], ['getroute', '1', '1'], ['simulator', '1', '1', '2', '5'], ['qps', '1', '1']]) {
      const r = await down(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/lars: test: the agent at 127\.0\.0\.1:\d+ did not answer within 100 ms \(RET_SYSTEM_ERROR\): is "lars agent" running/);
    }
  });

  it('gethost --key sends the key as hash_key; report --usetime-us sends usetime_us', async () => {
    const ok = await lars('gethost', '1', '1', '--key', 'user-42');
    expect(ok).toMatchObject({ code: 0, stdout: 'modid 1 cmdid 1 key "user-42": 10.0.0.1:9001 (RET_SUCC)\n' });
    expect(Buffer.from(agent.bodies(MsgId.GetHostRequest)[0]!.hashKey!).toString()).toBe('user-42');
    const r = await lars('report', '1', '1', '10.0.0.1', '9001', '0', '--usetime-us', '1500', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ retcode: 0, usetimeUs: 1500 });
    await agent.waitFor(() => agent.bodies(MsgId.ReportRequest).length === 1, 'the report');
    expect(agent.bodies(MsgId.ReportRequest)[0]).toEqual({ modid: 1, cmdid: 1, host: { ip: ipToInt32('10.0.0.1'), port: 9001 }, retcode: 0, usetimeUs: 1500 });
  });

  it('exits 2 with the usage for bad arguments', async () => {
    for (const args of [
      [],
      ['nope'],
      ['gethost', '1'],
      ['simulator', '1', '1', '11'],
      ['report', '1', '1', '10.0.0.256', '1', '0'],
      ['report', '1', '1', '10.0.0.1', '1', '0', '--usetime-us', '-5'],
      ['report', '1', '1', '10.0.0.1', '1', '0', '--usetime-us', '4294967296'],
      ['gethost', '1', '1', '--key', 'k'.repeat(4097)],
      ['qps', '0'],
      ['qps', '1', '1', '--mode', 'shm'],
    ]) {
      const r = await lars(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/usage: lars test gethost/);
    }
    const named = await run(['gethost', '1', '1', '--agent-ip', 'localhost']);
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/--agent-ip must be an IPv4 address/);
    expect(agent.received).toEqual([]);
  });
});

describe.each([
  ['native', 'mysql'],
  ['ts', 'sqlite'],
] as const)('lars test against a real agent (%s, %s store)', (impl, storeKind) => {
  let db: TestDatabase | undefined;
  let kind: StoreKind;
  let store: Store;
  let dns: RunningDns;
  let reporter: RunningReporter;
  let agent: RunningAgent;
  let base = 0;
  const lars = (...args: string[]) => run([...args, '--agent-port', String(base), '--timeout-ms', '1000'], { LARS_IMPL: impl });

  beforeAll(async () => {
    setLogLevel('warn');
    if (storeKind === 'mysql') {
      db = await createTestDatabase();
      kind = { mysql: db.config };
    } else kind = tempSqlite();
    store = await openStore(testConfig('dns', impl, kind).store);
    await store.init();
    await store.seedDemo();
    dns = await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': '100' }));
    reporter = await startReporter(testConfig('reporter', impl, kind, { 'reporter.flush_interval_ms': '50' }));
    // The three ports must be free together; another process may take one between look and bind.
    for (let attempt = 1; ; attempt++) {
      base = await freeConsecutiveUdpBase();
      try {
        agent = await startAgent(
          testConfig('agent', impl, kind, {
            'agent.ip': '127.0.0.1',
            'agent.port': String(base),
            'agent.caller_ip': '127.0.0.1',
            'agent.report_interval_ms': '100',
            'dnsserver.ip': '127.0.0.1',
            'dnsserver.port': String(dns.port),
            'reporter.ip': '127.0.0.1',
            'reporter.port': String(reporter.port),
          }),
        );
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
  });

  afterAll(async () => {
    await agent?.stop();
    await reporter?.stop();
    await dns?.stop();
    await store?.close();
    await db?.drop();
  });

  const demo11 = ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003'];

  it('gethost answers RET_NOEXIST first, then a node of the seeded route', async () => {
    const first = await lars('gethost', '1', '1');
    expect(first.code, first.stderr).toBe(3);
    expect(first.stdout).toMatch(/RET_NOEXIST/);
    const later = await eventually(() => lars('gethost', '1', '1', '--json'), (r) => r.code === 0, 'a node of 1/1');
    const picked = JSON.parse(later.stdout) as { ip: string; port: number };
    expect(demo11).toContain(`${picked.ip}:${picked.port}`);
    const route = await lars('getroute', '1', '1', '--json');
    expect((JSON.parse(route.stdout) as { hosts: { ip: string; port: number }[] }).hosts.map((h) => `${h.ip}:${h.port}`).sort()).toEqual(demo11);
  });

  it('simulator prints per-node counts, and the reports reach the Report service', async () => {
    const r = await lars('simulator', '1', '2', '2', '300');
    expect(r.code, r.stderr).toBe(0);
    for (const port of [9011, 9012, 9013]) expect(r.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port}\\s+\\d+\\s+\\d+$`, 'm'));
    const counts = [...r.stdout.matchAll(/^127\.0\.0\.1:\d+\s+(\d+)\s+(\d+)$/gm)].map((m) => Number(m[1]) + Number(m[2]));
    const overloaded = Number(/every node overloaded \(RET_OVERLOAD\): (\d+)/.exec(r.stdout)?.[1]);
    expect(counts.reduce((a, b) => a + b, 0) + overloaded).toBe(300);
    const rows = await eventually(
      () => store.listCallStatus({ modid: 1, cmdid: 2 }),
      (rows) => rows.length === 3 && rows.some((row) => row.succCnt > 0),
      'call status rows of 1/2',
    );
    expect(rows.map((row) => row.port).sort()).toEqual([9011, 9012, 9013]);
  });

  it('qps 2 1 prints calls per second', async () => {
    const r = await lars('qps', '2', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { median: number; perSecond: number[] };
    expect(result.perSecond).toHaveLength(1);
    expect(result.median).toBeGreaterThan(0);
    const text = await lars('qps', '2', '1');
    expect(text.stdout).toMatch(/^second 1: \d+ calls\/s \(2 threads\)\nmedian: \d+/);
  });
});
