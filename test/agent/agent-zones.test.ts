// The agent's zone reaches both agent cores' balancers (the native one through the binding's
// Config), and their zone counters and zone status come back through the cores: get_host over UDP
// on a zoned route (docs/policies.md "Zone-aware routing"). Config loading of [agent] zone is
// tested with the config.
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentCore, AgentCoreOptions } from '../../src/agent/agent-core.js';
import { NativeAgentCore } from '../../src/agent/native-agent-core.js';
import { TsAgentCore } from '../../src/agent/ts-agent-core.js';
import { DEFAULT_BALANCER_LIMITS, DEFAULT_ROUTE_POLICY, RetCode } from '../../src/balancer/index.js';
import { SPEC_LOADBALANCE_DEFAULTS } from '../helpers/spec-defaults.js';
import { UdpTestClient, modulePortIndex } from '../helpers/udp-client.js';

const MOD = 7;
const CMD = 1;
const ip = (i: number): number => ((10 << 24) | (i + 1)) | 0;

describe.each(['native', 'ts'] as const)('agent core with a zone (%s)', (impl) => {
  let core: AgentCore | undefined;
  let client: UdpTestClient | undefined;
  afterEach(async () => {
    client?.close();
    await core?.close();
    core = client = undefined;
  });

  it('keeps get_host in its zone, counts the picks by target set and reports the route\'s zone status', async () => {
    const opts: AgentCoreOptions = {
      ip: '127.0.0.1',
      port: 0,
      reportIntervalMs: 60_000,
      busyPollUs: 0,
      loadbalance: SPEC_LOADBALANCE_DEFAULTS,
      zone: 'az1',
      limits: DEFAULT_BALANCER_LIMITS,
      onPulls: () => {},
      onReports: () => {},
      onRegisters: () => {},
    };
    core = impl === 'ts' ? new TsAgentCore(opts) : new NativeAgentCore(opts);
    const hosts = [0, 1, 2, 3].map((i) => ({ ip: ip(i), port: 9000 + i, zone: i < 2 ? 'az1' : 'az2' }));
    const ports = await core.listen([{ modid: MOD, cmdid: CMD, hosts, policy: { ...DEFAULT_ROUTE_POLICY, zoneOverprovision: 140 } }]);
    client = await UdpTestClient.open(ports[0]!);
    for (let k = 0; k < 20; k++) {
      const r = await client.getHost(MOD, CMD);
      expect(r.retcode).toBe(RetCode.SUCC);
      expect([9000, 9001]).toContain(r.host?.port);
    }
    const at = modulePortIndex(MOD, CMD);
    expect(core.stats().ports[at]).toMatchObject({ zonePicksLocal: 20, zonePicksOther: 0 });
    const status = core.zoneStatus(10);
    expect(status).toHaveLength(3);
    expect(status[at]).toEqual([{ modid: MOD, cmdid: CMD, localNodes: 2, localHealthy: 2, otherNodes: 2, otherHealthy: 2, localShare: 1 }]);
    expect(core.zoneStatus(0).flat()).toEqual([]);
  });
});
