// Zone-aware routing end to end (EXTENSIONS.md §3, docs/zones.md): a MariaDB database, one DNS
// service, one Report service and two agents on this machine, on distinct ports, in zones az1 and
// az2. One module has two nodes in each zone and zone_overprovision 140. Each agent's picks stay in
// its own zone; failures reported to the az1 agent overload az1's nodes one by one, and its picks
// spill to az2 as min(1, h × 1.4) says, while the az2 agent does not notice; the nodes recover and
// the picks come home. Both implementations. The shares measured are printed (docs/zones.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentPortStats } from '../../src/agent/agent-core.js';
import { startAgent, type RunningAgent } from '../../src/agent/start-agent.js';
import { startDns, type RunningDns } from '../../src/dns/start-dns.js';
import { startReporter, type RunningReporter } from '../../src/report/start-reporter.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { RetCode, int32ToIp, ipToInt32 } from '../../src/wire/messages.js';
import { Cleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/frame-client.js';
import { createTestDatabase } from '../helpers/mysql.js';
import { testConfig, type StoreKind } from '../helpers/roles.js';
import { UdpTestClient, modulePortIndex } from '../helpers/udp-client.js';

const [M, C] = [1201, 1];
/** node → zone, as RouteNodeAttr holds them. */
const NODES: Readonly<Record<string, string>> = {
  '10.0.12.1:9101': 'az1',
  '10.0.12.2:9102': 'az1',
  '10.0.12.3:9201': 'az2',
  '10.0.12.4:9202': 'az2',
};
/** Picks per measured phase: enough for a share within a few points (binomial σ ≈ 1.5 % at 1 000). */
const PICKS = 1000;
const PROBE_NUM = 10;

interface Phase {
  /** Picks answered by each zone's nodes (probes included). */
  readonly byZone: Record<string, number>;
  /** Ordinary picks of the zone rule, from the balancer's counters, and the probes. */
  readonly local: number;
  readonly other: number;
  readonly probes: number;
}

const share = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)} %`;

describe.each(['native', 'ts'] as const)('two zones, an agent in each (%s)', (impl) => {
  const cleanup = new Cleanup();
  let store: Store;
  let dns: RunningDns;
  let reporter: RunningReporter;
  const agents: Record<string, { agent: RunningAgent; client: UdpTestClient }> = {};
  const figures: string[] = [];

  const startZoneAgent = async (kind: StoreKind, zone: string, caller: string): Promise<void> => {
    const c = testConfig('agent', impl, kind, {
      'dnsserver.ip': '127.0.0.1',
      'dnsserver.port': String(dns.port),
      'reporter.ip': '127.0.0.1',
      'reporter.port': String(reporter.port),
      'agent.caller_ip': caller,
      'agent.zone': zone,
      'agent.report_interval_ms': '50',
      'loadbalance.probe_num': String(PROBE_NUM),
      // Overloaded nodes stay so while a phase is measured, however slow the machine.
      'loadbalance.overload_timeout': '600',
    });
    const agent = cleanup.add(await startAgent({ ...c, agent: { ...c.agent, port: 0 } }, { backoff: { initialMs: 20, maxMs: 200 } }), (a) => a.stop());
    const client = cleanup.add(await UdpTestClient.open(agent.port), (x) => x.close());
    agents[zone] = { agent, client };
  };
  const portStats = (zone: string): AgentPortStats => agents[zone]!.agent.core.stats().ports[modulePortIndex(M, C)]!;

  /** `PICKS` get_hosts through the zone's agent: where they went, and the zone rule's counters. */
  const measure = async (zone: string): Promise<Phase> => {
    const before = portStats(zone);
    const byZone: Record<string, number> = { az1: 0, az2: 0 };
    for (let i = 0; i < PICKS; i++) {
      const r = await agents[zone]!.client.getHost(M, C);
      expect(r.retcode).toBe(RetCode.Succ);
      byZone[NODES[`${int32ToIp(r.host!.ip)}:${r.host!.port}`]!]! += 1;
    }
    const after = portStats(zone);
    return {
      byZone,
      local: after.zonePicksLocal - before.zonePicksLocal,
      other: after.zonePicksOther - before.zonePicksOther,
      probes: after.probes - before.probes,
    };
  };
  const record = (what: string, zone: string, p: Phase): void => {
    figures.push(
      `${impl} ${what}, ${zone} agent: ${share(p.byZone[zone]!, PICKS)} of ${PICKS} picks in ${zone}; ordinary picks local ${share(p.local, p.local + p.other)} ` +
        `(${p.local}/${p.local + p.other}), probes ${p.probes}`,
    );
  };
  /** Reports failures for a node to the az1 agent until it is overloaded (contin_err_limit in a row). */
  const fail = async (node: string): Promise<void> => {
    const [ip, port] = node.split(':');
    const before = portStats('az1').toOverload;
    for (let i = 0; i < 15; i++) agents.az1!.client.report(M, C, ipToInt32(ip!), Number(port), RetCode.Overload);
    await eventually(() => portStats('az1').toOverload, (n) => n === before + 1, `${node} to be overloaded`);
  };
  const scrape = (zone: string) => agents[zone]!.agent.metrics.registry.metrics();
  const sampleOf = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const moduleSeries = `{modid="${M}",cmdid="${C}"}`;
  /** Waits for a series of the zone's agent to read `value` (a scrape reuses a read of the last 100 ms). */
  const expectMetric = (zone: string, series: string, value: number) =>
    eventually(async () => sampleOf(await scrape(zone), series), (v) => v !== undefined && Math.abs(v - value) < 1e-9, `${series} to be ${value}`);

  beforeAll(async () => {
    const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
    const kind: StoreKind = { mysql: db.config };
    store = cleanup.add(await openStore(testConfig('dns', impl, kind).store), (s) => s.close());
    await store.init();
    await store.applyRouteChange([
      ...Object.entries(NODES).map(([node, zone]) => {
        const [ip, port] = node.split(':');
        return { op: 'add' as const, modid: M, cmdid: C, ip: ip!, port: Number(port), zone };
      }),
      {
        op: 'setPolicy',
        modid: M,
        cmdid: C,
        policy: { name: 'lars', maxEjectionPercent: 0, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 140, ringSize: 0 },
      },
    ]);
    dns = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': '100' })), (d) => d.stop());
    reporter = cleanup.add(await startReporter(testConfig('reporter', impl, kind, { 'reporter.flush_interval_ms': '20' })), (r) => r.stop());
    await startZoneAgent(kind, 'az1', '10.0.1.1');
    await startZoneAgent(kind, 'az2', '10.0.2.1');
    for (const { client } of Object.values(agents)) {
      await client.getHost(M, C);
      await eventually(() => client.getRoute(M, C), (r) => r.host.length === 4, 'the agent to hold all four nodes');
    }
  });

  afterAll(async () => {
    // The figures docs/zones.md quotes.
    console.log(figures.join('\n'));
    await cleanup.run();
  });

  it('each agent says its zone at start and in lars_agent_info', async () => {
    for (const [zone, { agent }] of Object.entries(agents)) {
      expect(agent.listening[0]).toContain(`zone ${zone}`);
      await expectMetric(zone, `lars_agent_info{impl="${impl}",zone="${zone}"}`, 1);
    }
  });

  it('all nodes healthy: every pick of each agent stays in its own zone', async () => {
    for (const zone of ['az1', 'az2']) {
      const p = await measure(zone);
      record('all healthy', zone, p);
      expect(p.byZone[zone]).toBe(PICKS);
      expect(p).toMatchObject({ local: PICKS, other: 0, probes: 0 });
    }
    await expectMetric('az1', `lars_agent_zone_spill_share${moduleSeries}`, 0);
    await expectMetric('az1', `lars_agent_zone_local_healthy_share${moduleSeries}`, 1);
  });

  it('one az1 node down: the az1 agent keeps min(1, 0.5 × 1.4) = 70 % of its ordinary picks local', async () => {
    await fail('10.0.12.1:9101');
    const p = await measure('az1');
    record('one az1 node overloaded', 'az1', p);
    // Every probe_num ordinary picks, one probe (to the overloaded az1 node, outside the zone rule).
    expect(p.local + p.other + p.probes).toBe(PICKS);
    expect(Math.abs(p.probes - PICKS / (PROBE_NUM + 1))).toBeLessThanOrEqual(1);
    expect(p.local / (p.local + p.other)).toBeGreaterThan(0.64);
    expect(p.local / (p.local + p.other)).toBeLessThan(0.76);
    expect(p.byZone.az1).toBe(p.local + p.probes);
    await expectMetric('az1', `lars_agent_zone_spill_share${moduleSeries}`, 0.3);
    await expectMetric('az1', `lars_agent_zone_local_healthy_share${moduleSeries}`, 0.5);
  });

  it('both az1 nodes down: every ordinary pick of the az1 agent goes to az2; the az2 agent does not notice', async () => {
    await fail('10.0.12.2:9102');
    const p = await measure('az1');
    record('both az1 nodes overloaded', 'az1', p);
    expect(p.local).toBe(0);
    expect(p.other).toBe(PICKS - p.probes);
    // What still reaches az1 is the probes, which bring its nodes back when they recover.
    expect(p.byZone.az1).toBe(p.probes);
    await expectMetric('az1', `lars_agent_zone_spill_share${moduleSeries}`, 1);
    await expectMetric('az1', `lars_agent_zone_local_healthy_share${moduleSeries}`, 0);
    const port = agents.az1!.agent.ports[modulePortIndex(M, C)];
    await expectMetric('az1', `lars_agent_zone_picks_total{port="${port}",target="other"}`, portStats('az1').zonePicksOther);
    await expectMetric('az1', `lars_agent_zone_picks_total{port="${port}",target="local"}`, portStats('az1').zonePicksLocal);

    const b = await measure('az2');
    record('both az1 nodes overloaded', 'az2', b);
    expect(b).toMatchObject({ byZone: { az1: 0, az2: PICKS }, local: PICKS, other: 0, probes: 0 });
  });

  it('the az1 nodes recover: the az1 agent picks in az1 again', async () => {
    const before = portStats('az1').toIdle;
    // Successes bring an overloaded node back (succ_rate over its virtual counts after 6).
    for (const node of ['10.0.12.1:9101', '10.0.12.2:9102']) {
      const [ip, port] = node.split(':');
      for (let i = 0; i < 6; i++) agents.az1!.client.report(M, C, ipToInt32(ip!), Number(port), RetCode.Succ);
    }
    await eventually(() => portStats('az1').toIdle, (n) => n === before + 2, 'both az1 nodes to be idle again');
    const p = await measure('az1');
    record('az1 nodes recovered', 'az1', p);
    expect(p).toMatchObject({ byZone: { az1: PICKS, az2: 0 }, local: PICKS, other: 0, probes: 0 });
  });
});
