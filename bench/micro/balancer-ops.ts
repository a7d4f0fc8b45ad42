// Micro: Balancer.runOps — pick + report pairs per second, native (one N-API call per batch of
// thousands of operations, so the crossing is not what is measured) and TypeScript on the same
// operation sequence, on one route of 10 nodes and across 10 000 routes of 10 nodes.
// Both implementations must return the same summary hash for the same sequence (checked).
import Benchmark from 'benchmark';
import { createBalancer, BalancerOp, type Balancer } from '../../src/balancer/index.js';
import { loadConfig } from '../../src/config/index.js';
import { loadNative } from '../../src/native/addon.js';
import { benchMain, implFigure, type Figure, type Impl } from '../lib/result.js';

const NODES = 10;
const PAIRS_PER_BATCH = 4096;
const NOW = 1_000_000;

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
 * One batch: PAIRS_PER_BATCH times [PICK route, REPORT route node retcode], the route drawn by a
 * seeded LCG, the node round-robin, one failure in 50, and the clock stepping 1 ms every 256 pairs.
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
    ops.push(BalancerOp.PICK, modid, cmdid);
    ops.push(BalancerOp.REPORT, modid, cmdid, h.ip, h.port, i % 50 === 49 ? 1 : 0);
    if (i % 256 === 255) ops.push(BalancerOp.CLOCK, 1);
  }
  return Int32Array.from(ops);
}

function setup(impl: Impl, routes: number): Balancer {
  const { loadbalance } = loadConfig('agent', { env: {}, overrides: { 'loadbalance.update_timeout': '3600' } });
  const b = createBalancer(impl, loadbalance);
  const hosts = Array.from({ length: NODES }, (_, k) => host(k));
  for (let r = 0; r < routes; r++) {
    const modid = 1 + Math.floor(r / 100);
    const cmdid = 1 + (r % 100);
    b.pick(modid, cmdid, NOW);
    b.applyRoute(modid, cmdid, hosts, NOW);
  }
  b.takePullRequests();
  return b;
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
        loadNative();
      } catch (err) {
        notes.push(`native skipped: ${(err as Error).message}`);
        impls = impls.filter((i) => i !== 'native');
      }
    }
    const maxTime = ctx.quick ? 0.3 : 1.5;
    const figures: Figure[] = [];
    const details: Record<string, unknown> = { pairsPerBatch: PAIRS_PER_BATCH, nodesPerRoute: NODES, maxTimeSec: maxTime };
    for (const s of SCENARIOS) {
      const ops = opSequence(s.routes, 12345);
      // Same sequence on fresh balancers: the implementations must agree on every pick.
      const hashes = Object.fromEntries(impls.map((impl) => [impl, setup(impl, s.routes).runOps(ops, NOW).hash]));
      const agree = new Set(Object.values(hashes)).size <= 1;
      if (!agree) notes.push(`${s.id}: native and ts disagree on the op sequence (hashes ${JSON.stringify(hashes)})`);
      const balancers = Object.fromEntries(impls.map((impl) => [impl, setup(impl, s.routes)])) as Record<Impl, Balancer>;
      const samples: Partial<Record<Impl, number[]>> = {};
      // Interleave the implementations run by run, so a noisy neighbour hits both alike.
      for (let run = 0; run < ctx.runs; run++) {
        for (const impl of impls) {
          const b = balancers[impl];
          const hz = measure(() => {
            b.runOps(ops, NOW);
          }, maxTime);
          (samples[impl] ??= []).push(Math.round(hz * PAIRS_PER_BATCH));
          ctx.log(`${s.id} ${impl} run ${run + 1}: ${(hz * PAIRS_PER_BATCH / 1e6).toFixed(2)} M pairs/s`);
        }
      }
      figures.push(implFigure({ id: `${s.id}_pairs_per_s`, label: s.label, unit: 'pairs/s' }, samples));
      details[s.id] = { routes: s.routes, hashes, implementationsAgree: agree };
    }
    return { figures, notes, details };
  },
});
