// Micro: the balancer's pick + report pairs per second for every policy, native
// (bench/native/balancer_ops.cc, the C++ Balancer in a process of its own, so no N-API crossing is
// measured) and TypeScript (the TS Balancer in this process) on the same operation sequence, on one
// route of 10 nodes and across 10 000 routes of 10 nodes (weights 1..10, a hash key per pick, a
// call time per report). Both must return the same hash for the same sequence (checked). Two more
// runs put the nodes in two zones with the agent in az1 and zone_overprovision 140 (lars and
// weighted_random), the cost of zone-aware routing.
import { spawnSync } from 'node:child_process';
import Benchmark from 'benchmark';
import { DEFAULT_ROUTE_POLICY, POLICY_NAMES, createBalancer, type Balancer, type RoutePolicy } from '../../src/balancer/index.js';
import { loadConfig } from '../../src/config/index.js';
import { BalancerOp, runOps, runnerInput } from '../lib/balancer-ops.js';
import { tool } from '../lib/native-tools.js';
import { benchMain, implFigure, type Figure, type Impl } from '../lib/result.js';

const NODES = 10;
const PAIRS_PER_BATCH = 4096;
const NOW = 1_000_000;
/** The zone runs: 5 of 10 nodes in the agent's zone, all picks local while 72 % of them are healthy. */
const ZONE_OVERPROVISION = 140;
/** Long enough that no route is pulled again while measuring. */
const UPDATE_TIMEOUT_S = 3600;

interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly routes: number;
}

const SCENARIOS: readonly Scenario[] = [
  { id: 'one_route', label: 'pick+report pairs/s, 1 route x 10 nodes', routes: 1 },
  { id: 'many_routes', label: 'pick+report pairs/s, 10 000 routes x 10 nodes', routes: 10_000 },
];

/** Node k of every route: 10.0.0.(k+1):9000+k. */
function host(k: number): { ip: number; port: number } {
  return { ip: (10 << 24) | (k + 1), port: 9000 + k };
}

/**
 * One batch: PAIRS_PER_BATCH times [PICK route key, REPORT route node retcode usetime], the route and
 * the key drawn by a seeded LCG, the node round-robin, one failure in 50, call times 1.0..1.6 ms, and
 * the clock stepping 1 ms every 256 pairs.
 */
function opSequence(routes: number, seed: number): Int32Array {
  const ops: number[] = [];
  let x = seed >>> 0;
  for (let i = 0; i < PAIRS_PER_BATCH; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const r = routes === 1 ? 0 : x % routes;
    const modid = 1 + Math.floor(r / 100);
    const cmdid = 1 + (r % 100);
    const h = host(i % NODES);
    ops.push(BalancerOp.PICK, modid, cmdid, (x >>> 8) & 0xffff);
    ops.push(BalancerOp.REPORT, modid, cmdid, h.ip, h.port, i % 50 === 49 ? 1 : 0, 1000 + (i % 7) * 100);
    if (i % 256 === 255) ops.push(BalancerOp.CLOCK, 1);
  }
  return Int32Array.from(ops);
}

/** Every route: a pick (its pull) and DNS's answer with NODES hosts, at NOW. */
function setupOps(routes: number): Int32Array {
  const ops: number[] = [];
  const hosts = Array.from({ length: NODES }, (_, k) => host(k));
  for (let r = 0; r < routes; r++) {
    const modid = 1 + Math.floor(r / 100);
    const cmdid = 1 + (r % 100);
    ops.push(BalancerOp.PICK, modid, cmdid, -1, BalancerOp.APPLY, modid, cmdid, NODES);
    hosts.forEach((h, k) => ops.push(h.ip, h.port, k + 1));
  }
  return Int32Array.from(ops);
}

function tsBalancer(setup: Int32Array, policy: RoutePolicy): Balancer {
  const { loadbalance } = loadConfig('agent', { env: {}, overrides: { 'loadbalance.update_timeout': String(UPDATE_TIMEOUT_S) } });
  const b = createBalancer('ts', policy.zoneOverprovision > 0 ? { ...loadbalance, zone: 'az1' } : loadbalance);
  runOps(b, setup, NOW, policy);
  b.takePullRequests();
  return b;
}

/** One run of the native runner: its hash of the batch and pairs per second. */
function nativeRun(setup: Int32Array, ops: Int32Array, policy: RoutePolicy, maxTime: number): { hash: number; hz: number } {
  const args = [
    '--now',
    String(NOW),
    '--update-timeout-ms',
    String(UPDATE_TIMEOUT_S * 1000),
    '--max-time-ms',
    String(maxTime * 1000),
    '--policy',
    policy.name,
    '--zone-overprovision',
    String(policy.zoneOverprovision),
  ];
  const r = spawnSync(tool('balancer-ops'), args, { input: runnerInput(setup, ops), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`balancer-ops failed (${r.status ?? r.signal}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { hash: number; batches: number; seconds: number };
  return { hash: out.hash, hz: out.batches / out.seconds };
}

function measure(fn: () => void, maxTime: number): number {
  const bench = new Benchmark({ fn, maxTime, minSamples: 5 });
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  return bench.hz;
}

void benchMain({
  name: 'balancer',
  title: 'Balancer (micro): pick + report',
  kind: 'micro',
  async run(ctx) {
    const notes: string[] = [];
    let impls = ctx.impls;
    if (impls.includes('native')) {
      try {
        tool('balancer-ops');
      } catch (err) {
        notes.push(`native skipped: ${(err as Error).message}`);
        impls = impls.filter((i) => i !== 'native');
      }
    }
    const maxTime = ctx.quick ? 0.3 : 1;
    const figures: Figure[] = [];
    const details: Record<string, unknown> = { pairsPerBatch: PAIRS_PER_BATCH, nodesPerRoute: NODES, maxTimeSec: maxTime };
    const policies: RoutePolicy[] = [
      ...POLICY_NAMES.map((name) => ({ ...DEFAULT_ROUTE_POLICY, name })),
      ...['lars', 'weighted_random'].map((name) => ({ ...DEFAULT_ROUTE_POLICY, name, zoneOverprovision: ZONE_OVERPROVISION })),
    ];
    for (const policy of policies) for (const s of SCENARIOS) {
      const name = policy.zoneOverprovision > 0 ? `${policy.name}, zones` : policy.name;
      // lars keeps the ids of earlier results.
      const id = `${policy.name === 'lars' ? s.id : `${s.id}_${policy.name}`}${policy.zoneOverprovision > 0 ? '_zones' : ''}`;
      const setup = setupOps(s.routes);
      const ops = opSequence(s.routes, 12345);
      const hashes: Partial<Record<Impl, number>> = {};
      const samples: Partial<Record<Impl, number[]>> = {};
      const ts = impls.includes('ts') ? tsBalancer(setup, policy) : undefined;
      // Same sequence on fresh balancers: the implementations must agree on every pick.
      if (ts !== undefined) hashes.ts = runOps(tsBalancer(setup, policy), ops, NOW, policy);
      // Interleave the implementations run by run, so a noisy neighbour hits both alike.
      for (let run = 0; run < ctx.runs; run++) {
        for (const impl of impls) {
          let hz: number;
          if (impl === 'native') {
            const r = nativeRun(setup, ops, policy, maxTime);
            hashes.native = r.hash;
            hz = r.hz;
          } else {
            hz = measure(() => {
              runOps(ts as Balancer, ops, NOW, policy);
            }, maxTime);
          }
          (samples[impl] ??= []).push(Math.round(hz * PAIRS_PER_BATCH));
          ctx.log(`${id} ${impl} run ${run + 1}: ${(hz * PAIRS_PER_BATCH / 1e6).toFixed(2)} M pairs/s`);
        }
      }
      const agree = new Set(Object.values(hashes)).size <= 1;
      if (!agree) notes.push(`${id}: native and ts disagree on the op sequence (hashes ${JSON.stringify(hashes)})`);
      figures.push(implFigure({ id: `${id}_pairs_per_s`, label: `${s.label}, ${name}`, unit: 'pairs/s' }, samples));
      details[id] = { routes: s.routes, policy: name, hashes, implementationsAgree: agree };
    }
    return { figures, notes, details };
  },
});
