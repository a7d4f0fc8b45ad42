// Micro: LocalView.pick from Node — one N-API call into the addon's reader of the agent's local
// view (docs/agent.md "The local view"), which picks with the agent's policy code in this process.
// A real native AgentServer (no DNS: the route is a seed) publishes one route of 10 nodes in a
// temporary view_dir; the figure is ns per pick, the median over batches of 10 000 picks, and the
// p99 batch. Native only: the TypeScript agent writes no view.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ROUTE_POLICY, checkBalancerConfig, packHosts } from '../../src/balancer/index.js';
import { loadConfig } from '../../src/config/index.js';
import { loadNative } from '../../src/native/addon.js';
import { benchMain, judge, med, valueFigure, type Figure } from '../lib/result.js';
import { percentile } from '../lib/stats.js';

const NODES = 10;
const BATCH = 10_000;
const MODID = 1;
const CMDID = 1;
const POLICIES = ['lars', 'weighted_round_robin', 'ring_hash'] as const;

/** ns per pick of each batch, for `ms` milliseconds of picking. */
function measure(pick: () => number, ms: number): number[] {
  const perBatch: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) pick();
    perBatch.push(Number(process.hrtime.bigint() - t0) / BATCH);
  }
  return perBatch;
}

void benchMain({
  name: 'local-view',
  title: 'Local view (micro): LocalView.pick from Node',
  kind: 'micro',
  async run(ctx) {
    if (!ctx.impls.includes('native')) return { figures: [], notes: ['native only: the TS agent writes no view'], status: 'skipped' };
    const addon = loadNative();
    const { loadbalance } = loadConfig('agent', { env: {}, overrides: {} });
    const dir = mkdtempSync(join(tmpdir(), 'lars-bench-view-'));
    const figures: Figure[] = [];
    const details: Record<string, unknown> = { nodes: NODES, batch: BATCH };
    try {
      const hosts = Array.from({ length: NODES }, (_, k) => ({ ip: (10 << 24) | (k + 1), port: 9000 + k, weight: k + 1 }));
      for (const name of POLICIES) {
        const server = new addon.agent.AgentServer(
          {
            ip: '127.0.0.1',
            port: 0,
            reportIntervalMs: 1000,
            loadbalance: checkBalancerConfig(loadbalance, undefined, 1),
            viewDir: dir,
            seeds: [{ modid: MODID, cmdid: CMDID, ...packHosts(hosts), policy: { ...DEFAULT_ROUTE_POLICY, name } }],
          },
          () => {},
          () => {},
          () => {},
        );
        const ports = server.ports();
        const view = new addon.LocalView(join(dir, `lars-agent-${ports[(MODID + CMDID) % 3]}.view`));
        const out = new Int32Array(2);
        const key = new Uint8Array(8);
        const pick = name === 'ring_hash'
          ? () => {
              key[0] = (key[0]! + 1) & 0xff;
              return view.pick(MODID, CMDID, out, key);
            }
          : () => view.pick(MODID, CMDID, out);
        if (pick() !== 0) throw new Error(`the seeded route is not in the view (state ${view.state()})`);
        measure(pick, 200); // warm-up: JIT and the route's private copy
        const samples: number[] = [];
        const p99s: number[] = [];
        for (let run = 0; run < ctx.runs; run++) {
          const perBatch = measure(pick, ctx.quick ? 300 : 1000);
          samples.push(percentile(perBatch, 0.5));
          p99s.push(percentile(perBatch, 0.99));
          ctx.log(`${name} run ${run + 1}: p50 ${samples.at(-1)!.toFixed(0)} ns/pick over ${perBatch.length} batches`);
        }
        const label = `LocalView.pick ns (p50 of ${BATCH}-pick batches), ${name}, 10 nodes`;
        figures.push(valueFigure({ id: `pick_ns_p50_${name}`, label, unit: 'ns', target: '<= 2000 ns', met: judge(med(samples), (v) => v <= 2000) }, samples));
        figures.push(valueFigure({ id: `pick_ns_p99_${name}`, label: `LocalView.pick ns (p99 batch), ${name}, 10 nodes`, unit: 'ns' }, p99s));
        view.close();
        server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { figures, details, notes: ['one Node thread; the machine is shared (loaded): figures are upper bounds'] };
  },
});
