// The agent's local view (EXTENSIONS.md §5) end to end: a native agent publishes each port's
// routes in <view_dir>/lars-agent-<port>.view and the addon's LocalView picks from it in this
// process, with the agent's policies and its overloaded flags. Bad files never crash a reader.
// DNS is a FakeDns the test controls; every wait is for the event.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/start-agent.js';
import { DEFAULT_ROUTE_POLICY } from '../../src/balancer/index.js';
import { loadNative } from '../../src/native/addon.js';
import type { NativeLocalView } from '../../src/native/types.js';
import { encodeFrame } from '../../src/wire/frame.js';
import { MsgId, RetCode, encodeBody, ipToInt32 } from '../../src/wire/messages.js';
import { Cleanup } from '../helpers/cleanup.js';
import { FakeDns } from '../helpers/fake-dns.js';
import { eventually } from '../helpers/frame-client.js';
import { freePort } from '../helpers/free-port.js';
import { tempSqlite, testConfig } from '../helpers/roles.js';
import { UdpTestClient } from '../helpers/udp-client.js';

const FAST_BACKOFF = { initialMs: 20, maxMs: 100 };
const HEARTBEAT_OFFSET = 32; // docs/agent.md, "The local view": header bytes 32..39

const viewFile = (dir: string, port: number): string => join(dir, `lars-agent-${port}.view`);

describe.each(['native', 'ts'] as const)('agent local view (%s)', (impl) => {
  const cleanup = new Cleanup();
  const perTest = new Cleanup();
  let dns: FakeDns;
  let reporterPort: number;
  let dir: string;

  beforeAll(async () => {
    reporterPort = await freePort();
    dns = new FakeDns();
    await dns.start();
    cleanup.add(dns, (d) => d.stop());
  });
  afterAll(() => cleanup.run());
  afterEach(() => perTest.run());

  const startTestAgent = async (): Promise<RunningAgent> => {
    dir = perTest.add(mkdtempSync(join(tmpdir(), 'lars-view-')), (d) => rmSync(d, { recursive: true, force: true }));
    const c = testConfig('agent', impl, tempSqlite(), {
      'dnsserver.ip': '127.0.0.1',
      'dnsserver.port': String(dns.port),
      'reporter.ip': '127.0.0.1',
      'reporter.port': String(reporterPort),
      'agent.view_dir': dir,
    });
    return perTest.add(await startAgent({ ...c, agent: { ...c.agent, port: 0 } }, { backoff: FAST_BACKOFF }), (a) => a.stop());
  };
  const clientOf = async (a: RunningAgent): Promise<UdpTestClient> => perTest.add(await UdpTestClient.open(a.port), (c) => c.close());
  const openView = (path: string): NativeLocalView => perTest.add(new (loadNative().LocalView)(path), (v) => v.close());
  const out = new Int32Array(2);
  const pickPort = (v: NativeLocalView, modid: number, cmdid: number): number => (v.pick(modid, cmdid, out) === RetCode.Succ ? out[1]! : -1);
  const picks = (v: NativeLocalView, modid: number, cmdid: number, n: number): Map<number, number> => {
    const seen = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const p = pickPort(v, modid, cmdid);
      seen.set(p, (seen.get(p) ?? 0) + 1);
    }
    return seen;
  };

  if (impl === 'ts') {
    it('the TypeScript agent writes no view (its SDKs use UDP)', async () => {
      await startTestAgent();
      expect(readdirSync(dir)).toEqual([]);
    });
    return;
  }

  it('publishes every port, the routes DNS sends with their policy, and removes the files on stop', async () => {
    const agent = await startTestAgent();
    const ports = [agent.port, agent.port + 1, agent.port + 2];
    for (const p of ports) expect(existsSync(viewFile(dir, p))).toBe(true);
    dns.setRoute(100, 1, [['10.1.0.1', 1], ['10.1.0.2', 2], ['10.1.0.3', 3]]);
    const client = await clientOf(agent);
    const path = viewFile(dir, client.portOf(100, 1));
    const view = openView(path);
    expect(view.state()).toBe('ok');
    expect(view.pick(100, 1, out)).toBe(-1); // not in the view: asking the agent over UDP pulls it
    expect(view.route(100, 1)).toBeNull();
    await eventually(() => client.getHost(100, 1), (r) => r.retcode === RetCode.Succ, 'a node of 100/1');
    await eventually(() => view.pick(100, 1, out), (rc) => rc === RetCode.Succ, '100/1 in the view');
    expect(Array.from(view.route(100, 1)!)).toEqual([ipToInt32('10.1.0.1'), 1, ipToInt32('10.1.0.2'), 2, ipToInt32('10.1.0.3'), 3]);
    expect(out[0]).toBe(ipToInt32('10.1.0.1'));
    // `lars`: round robin over the idle nodes, this process's own cursor.
    expect(picks(view, 100, 1, 300)).toEqual(new Map([[1, 100], [2, 100], [3, 100]]));

    // A push with weights and a policy: the local picks follow it (EXTENSIONS §3: a a b a c a a).
    const host = [['10.1.0.1', 1, 5], ['10.1.0.2', 2, 1], ['10.1.0.3', 3, 1]].map(([ip, port, weight]) => ({ ip: ipToInt32(ip as string), port: port as number, weight: weight as number }));
    dns.send(encodeFrame(MsgId.GetRouteResponse, encodeBody(MsgId.GetRouteResponse, { modid: 100, cmdid: 1, host, policy: { ...DEFAULT_ROUTE_POLICY, name: 'weighted_round_robin' } })));
    const seq = await eventually(
      () => Array.from({ length: 7 }, () => pickPort(view, 100, 1)),
      (s) => s.filter((p) => p === 1).length === 5,
      'the weighted route in the view',
    );
    expect(seq.filter((p) => p === 2).length).toBe(1);

    // The heartbeat moves on by itself.
    const beat = (): bigint => readFileSync(path).readBigInt64LE(HEARTBEAT_OFFSET);
    const first = beat();
    await eventually(beat, (b) => b > first, 'a newer heartbeat');

    await agent.stop();
    for (const p of ports) expect(existsSync(viewFile(dir, p))).toBe(false);
    expect(view.state()).toBe('closed');
    expect(view.pick(100, 1, out)).toBe(-3);
  });

  it('mirrors the agent overloading a node: local picks avoid it except the probes', async () => {
    const agent = await startTestAgent();
    dns.setRoute(200, 1, [['10.2.0.1', 1], ['10.2.0.2', 2], ['10.2.0.3', 3]]);
    const client = await clientOf(agent);
    const view = openView(viewFile(dir, client.portOf(200, 1)));
    await eventually(() => client.getHost(200, 1), (r) => r.retcode === RetCode.Succ, 'a node of 200/1');
    await eventually(() => view.pick(200, 1, out), (rc) => rc === RetCode.Succ, '200/1 in the view');
    // Failures reported to the agent (as the SDK's report batches will): it overloads node 2.
    for (let i = 0; i < 20; i++) client.report(200, 1, ipToInt32('10.2.0.2'), 2, RetCode.Overload);
    // probe_num 10: in 110 local picks the overloaded node is probed exactly 10 times.
    const seen = await eventually(() => picks(view, 200, 1, 110), (s) => s.get(2) === 10, 'node 2 overloaded in the view');
    expect((seen.get(1) ?? 0) + (seen.get(3) ?? 0)).toBe(100);
  });

  it('sees a frozen agent as stale, and never crashes on a truncated, corrupt or foreign file', async () => {
    const agent = await startTestAgent();
    dns.setRoute(300, 1, [['10.3.0.1', 1]]);
    const client = await clientOf(agent);
    const path = viewFile(dir, client.portOf(300, 1));
    await eventually(() => client.getHost(300, 1), (r) => r.retcode === RetCode.Succ, 'a node of 300/1');
    const live = openView(path);
    await eventually(() => live.pick(300, 1, out), (rc) => rc === RetCode.Succ, '300/1 in the view');

    // A copy nobody writes is an agent that stopped beating (SIGSTOP, or kill -9 before the next start).
    const frozen = join(dir, 'frozen.view');
    copyFileSync(path, frozen);
    const stale = openView(frozen);
    await eventually(() => stale.state(), (s) => s === 'stale', 'the copy to go stale');
    // pick reads the coarse clock (a tick, a few ms, behind state()'s): it follows within a tick.
    await eventually(() => stale.pick(300, 1, out), (rc) => rc === -2, 'picks from the stale copy to fall back');
    expect(live.state()).toBe('ok');

    const good = readFileSync(path);
    const bad = join(dir, 'bad.view');
    const check = (bytes: Buffer, state: string, rc: number): void => {
      writeFileSync(bad, bytes);
      const v = new (loadNative().LocalView)(bad);
      expect(v.state()).toBe(state);
      expect(v.pick(300, 1, out)).toBe(rc);
      expect(v.route(300, 1)).toBeNull();
      v.close();
    };
    check(good.subarray(0, 100), 'corrupt', -3);
    check(good.subarray(0, good.length - 1), 'corrupt', -3);
    const foreign = Buffer.from(good);
    foreign.writeUInt32LE(2, 8); // layout version 2
    check(foreign, 'layout', -3);
    const missing = new (loadNative().LocalView)(join(dir, 'nothing-here.view'));
    expect(missing.state()).toBe('missing');
    expect(missing.pick(300, 1, out)).toBe(-3);
    missing.close();

    // Random bytes past the header: every answer is a retcode or a fallback, never a crash.
    let x = 7;
    for (let round = 0; round < 50; round++) {
      const bytes = Buffer.from(good);
      for (let k = 0; k < 64; k++) {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
        bytes[256 + (x % (bytes.length - 256))] = x >>> 24;
      }
      writeFileSync(bad, bytes);
      const v = new (loadNative().LocalView)(bad);
      const rc = v.pick(300, 1, out);
      expect(rc >= -3 && rc <= 3).toBe(true);
      v.route(300, 1);
      v.close();
    }
  });
});
