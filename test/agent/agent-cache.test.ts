// The agent's route cache on disk, end to end, both implementations: routes DNS sent are written
// (coalesced), an agent restarted while DNS is down serves them at once, and DNS's answer wins as
// soon as it is back. DNS is a FakeDns the test controls; every wait is for the event.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/start-agent.js';
import { cacheFileName, decodeCacheFile, encodeCacheFile } from '../../src/route-cache/index.js';
import { MsgId, RetCode, encodeBody, int32ToIp, ipToInt32 } from '../../src/wire/messages.js';
import { Cleanup } from '../helpers/cleanup.js';
import { FakeDns } from '../helpers/fake-dns.js';
import { eventually } from '../helpers/frame-client.js';
import { freePort } from '../helpers/free-port.js';
import { tempSqlite, testConfig } from '../helpers/roles.js';
import { UdpTestClient } from '../helpers/udp-client.js';

const FAST_BACKOFF = { initialMs: 20, maxMs: 100 };
const WEEK_MS = 7 * 86_400_000;

const hostsOf = (r: { host?: { ip: number; port: number }[] }): string[] => (r.host ?? []).map((h) => `${int32ToIp(h.ip)}:${h.port}`).sort();

describe.each(['native', 'ts'] as const)('agent route cache (%s)', (impl) => {
  const cleanup = new Cleanup();
  const perTest = new Cleanup();
  let dns: FakeDns;
  let reporterPort: number;
  let dir: string;

  beforeAll(async () => {
    reporterPort = await freePort(); // no Report service: the agent serves without one
  });
  afterAll(() => cleanup.run());
  afterEach(() => perTest.run());

  const startTestAgent = async (dnsPort = dns.port): Promise<RunningAgent> => {
    const c = testConfig('agent', impl, tempSqlite(), {
      'dnsserver.ip': '127.0.0.1',
      'dnsserver.port': String(dnsPort),
      'reporter.ip': '127.0.0.1',
      'reporter.port': String(reporterPort),
      'agent.cache_dir': dir,
      // Only the reconnect pull can bring a cached route up to date within a test.
      'loadbalance.update_timeout': '3600',
    });
    return perTest.add(await startAgent({ ...c, agent: { ...c.agent, port: 0 } }, { backoff: FAST_BACKOFF }), (a) => a.stop());
  };
  const clientOf = async (a: RunningAgent): Promise<UdpTestClient> => perTest.add(await UdpTestClient.open(a.port), (c) => c.close());
  const cachedHosts = (modid: number, cmdid: number): string[] => {
    let data: Buffer;
    try {
      data = readFileSync(join(dir, cacheFileName(modid, cmdid)));
    } catch {
      return [];
    }
    const d = decodeCacheFile(data, { modid, cmdid, nowMs: Date.now(), maxAgeMs: WEEK_MS });
    return d.ok ? hostsOf(d.cached.route) : [];
  };
  const metric = async (a: RunningAgent, name: string): Promise<number> => {
    const text = await a.metrics.registry.metrics();
    const m = new RegExp(`^lars_agent_${name} (\\d+)$`, 'm').exec(text);
    return m === null ? NaN : Number(m[1]);
  };

  beforeAll(async () => {
    dns = new FakeDns();
    await dns.start();
    cleanup.add(dns, (d) => d.stop());
  });

  it('writes each route DNS sent, a burst of pushes in one or two writes, and removes a route DNS answers empty', async () => {
    dir = cleanup.add(mkdtempSync(join(tmpdir(), 'lars-agent-cache-')), (d) => rmSync(d, { recursive: true, force: true }));
    dns.setRoute(100, 1, [['10.1.0.1', 1]]);
    const agent = await startTestAgent();
    const client = await clientOf(agent);
    await eventually(() => client.getHost(100, 1), (r) => r.retcode === RetCode.Succ, 'a node of 100/1');
    // The file is in place a moment before the writer counts it: wait for both.
    const written = () => ({ writes: agent.cache!.stats().writes, hosts: cachedHosts(100, 1) });
    await eventually(written, (v) => v.writes === 1 && v.hosts.length === 1, 'the cache file of 100/1');

    // 50 versions of the route in one burst: the last one is written, once (twice if a timer tick splits the burst).
    const burst = Array.from({ length: 50 }, (_, i) => dns.frame(100, 1, [['10.1.0.1', 1], ['10.1.1.1', i + 1]]));
    dns.send(Buffer.concat(burst));
    const last = await eventually(written, (v) => v.writes >= 2 && v.hosts.includes('10.1.1.1:50'), 'the last version in the cache');
    const writes = last.writes - 1;
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(2);
    expect(await metric(agent, 'cache_writes_total')).toBe(agent.cache!.stats().writes);

    dns.send(dns.frame(100, 1, []));
    await eventually(() => readdirSync(dir), (names) => names.length === 0, 'the file of the emptied route removed');
    expect(await metric(agent, 'cache_write_errors_total')).toBe(0);
  });

  it('runs without a cache, and still serves, when cache_dir cannot be used', async () => {
    const parent = cleanup.add(mkdtempSync(join(tmpdir(), 'lars-agent-cache-')), (d) => rmSync(d, { recursive: true, force: true }));
    dir = join(parent, 'a-file');
    writeFileSync(dir, 'not a directory');
    dns.setRoute(150, 1, [['10.1.5.1', 1]]);
    const agent = await startTestAgent();
    expect(agent.cache).toBeUndefined();
    const client = await clientOf(agent);
    await eventually(() => client.getHost(150, 1), (r) => r.retcode === RetCode.Succ, 'a node of 150/1');
  });

  it('restarted while DNS is down, serves the cached routes at once; DNS back, its answer wins', async () => {
    dir = cleanup.add(mkdtempSync(join(tmpdir(), 'lars-agent-cache-')), (d) => rmSync(d, { recursive: true, force: true }));
    dns.setRoute(200, 1, [['10.2.0.1', 1], ['10.2.0.2', 2]]);
    dns.setRoute(201, 2, [['10.2.1.1', 1]]);
    const first = await startTestAgent();
    const c1 = await clientOf(first);
    for (const [m, c] of [[200, 1], [201, 2]] as const) await eventually(() => c1.getHost(m, c), (r) => r.retcode === RetCode.Succ, `a node of ${m}/${c}`);
    await dns.stop(); // DNS goes down, then the agent restarts: a clean stop writes what is pending
    await first.stop();
    expect([cachedHosts(200, 1), cachedHosts(201, 2)]).toEqual([['10.2.0.1:1', '10.2.0.2:2'], ['10.2.1.1:1']]);

    // Bad files beside the good ones are skipped, counted, and harm nothing.
    const body = encodeBody(MsgId.GetRouteResponse, { modid: 300, cmdid: 1, host: [{ ip: ipToInt32('10.3.0.1'), port: 1 }] });
    writeFileSync(join(dir, cacheFileName(300, 1)), Buffer.from('garbage'));
    writeFileSync(join(dir, cacheFileName(301, 1)), encodeCacheFile(301, 1, body, Date.now()).subarray(0, 20));
    writeFileSync(join(dir, cacheFileName(302, 1)), encodeCacheFile(302, 1, body, Date.now() - 8 * 86_400_000));
    writeFileSync(join(dir, `${cacheFileName(200, 1)}.1.tmp`), Buffer.from('a write cut short'));

    const second = await startTestAgent();
    const c2 = await clientOf(second);
    expect(second.cache?.stats()).toMatchObject({ loaded: 2, skipped: 3 });
    expect(await metric(second, 'cache_routes_loaded_total')).toBe(2);
    expect(await metric(second, 'cache_files_skipped_total')).toBe(3);
    // The very first request is answered from the cache: no NOEXIST while DNS is away.
    expect(await c2.getHost(200, 1)).toMatchObject({ retcode: RetCode.Succ });
    expect(await c2.getHost(201, 2)).toMatchObject({ retcode: RetCode.Succ, host: { ip: ipToInt32('10.2.1.1'), port: 1 } });
    expect(hostsOf(await c2.getRoute(200, 1))).toEqual(['10.2.0.1:1', '10.2.0.2:2']);
    expect(second.dns.stats().connected).toBe(false);

    // A node edited while the agent was down: DNS comes back, the reconnect pulls every cached route.
    dns.setRoute(200, 1, [['10.2.0.9', 9]]);
    const before = dns.requests.length;
    await dns.start();
    await eventually(() => c2.getRoute(200, 1), (r) => hostsOf(r).join() === '10.2.0.9:9', 'DNS\'s answer for 200/1');
    expect(dns.requests.slice(before)).toEqual(expect.arrayContaining(['200/1', '201/2']));
    await eventually(() => cachedHosts(200, 1), (h) => h.join() === '10.2.0.9:9', 'the cache file rewritten from DNS');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('serves a cached route with its weights and policy (weighted_round_robin 5,1,1: a a b a c a a) before DNS answers', async () => {
    dir = cleanup.add(mkdtempSync(join(tmpdir(), 'lars-agent-cache-')), (d) => rmSync(d, { recursive: true, force: true }));
    const [m, c] = [210, 1];
    const body = encodeBody(MsgId.GetRouteResponse, {
      modid: m,
      cmdid: c,
      host: [
        { ip: ipToInt32('10.21.0.1'), port: 1, weight: 5 },
        { ip: ipToInt32('10.21.0.2'), port: 2, weight: 1 },
        { ip: ipToInt32('10.21.0.3'), port: 3, weight: 1 },
      ],
      policy: { name: 'weighted_round_robin', maxEjectionPercent: 0, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 0, ringSize: 0 },
    });
    writeFileSync(join(dir, cacheFileName(m, c)), encodeCacheFile(m, c, body, Date.now()));
    const a = await startTestAgent(await freePort()); // no DNS at all: only the cache knows the route
    const client = await clientOf(a);
    const picks: number[] = [];
    for (let i = 0; i < 7; i++) picks.push((await client.getHost(m, c)).host!.port);
    expect(picks).toEqual([1, 1, 2, 1, 3, 1, 1]);
  });
});
