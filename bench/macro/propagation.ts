// Macro: route change propagation — from the store write (the route-change transaction, as the CLI
// and the web admin make it) to a running agent answering get_route with the new node, over 50
// changes, with the DNS polling RouteVersion every 1 s (the default) and every 100 ms. The native
// and the TypeScript agent run side by side on the same DNS and see the same changes.
import { performance } from 'node:perf_hooks';
import { AgentApi, agentCommandAvailable, startAgent, startServices, warmUp, type RunningAgent } from '../lib/agent-stack.js';
import { sleep, type Impl } from '../lib/process.js';
import { benchMain, implFigure, judge, type Figure } from '../lib/result.js';
import { percentile } from '../lib/stats.js';
import { nodeIp } from '../lib/store.js';
import { ipToInt32 } from '../../src/wire/messages.js';

const MODULE = { modid: 7, cmdid: 1 };
const NODES = 10;
const POLLS = [1000, 100] as const;
const TARGET_P99_MS: Record<(typeof POLLS)[number], number> = { 1000: 1500, 100: 300 };
/** How often the agents are asked while a change is on its way. */
const PROBE_MS = 5;

interface PollRun {
  /** ms from commit to the agent answering with the new node, per change. */
  latencies: Partial<Record<Impl, number[]>>;
  commitMs: number[];
  missed: Partial<Record<Impl, number>>;
}

async function measurePoll(impls: readonly Impl[], pollMs: number, changes: number, log: (m: string) => void): Promise<PollRun> {
  const services = await startServices({ modules: [MODULE], nodes: NODES, impl: impls.includes('native') ? 'native' : 'ts', pollMs });
  const agents = new Map<Impl, { agent: RunningAgent; api: AgentApi }>();
  try {
    for (const impl of impls) {
      const agent = await startAgent(impl, services);
      const api = new AgentApi(agent.base);
      agents.set(impl, { agent, api });
      await warmUp(api, [MODULE]);
    }
    const base = Array.from({ length: NODES }, (_, k) => ({ ip: nodeIp(k + 1), port: 9000 + k }));
    const run: PollRun = { latencies: {}, commitMs: [], missed: {} };
    for (let i = 0; i < changes; i++) {
      const fresh = { ip: nodeIp(50_000 + i), port: 9500 };
      const wanted = ipToInt32(fresh.ip);
      const t0 = performance.now();
      await services.store.store.applyRouteChange([{ op: 'replace', ...MODULE, hosts: [...base, fresh] }]);
      const committed = performance.now();
      run.commitMs.push(committed - t0);
      await Promise.all(
        [...agents].map(async ([impl, { api }]) => {
          const deadline = committed + 10_000;
          for (;;) {
            const r = await api.getRoute(MODULE, 200);
            if (r?.host.some((h) => h.ip === wanted && h.port === fresh.port)) {
              (run.latencies[impl] ??= []).push(performance.now() - committed);
              return;
            }
            if (performance.now() > deadline) {
              run.missed[impl] = (run.missed[impl] ?? 0) + 1;
              return;
            }
            await sleep(PROBE_MS);
          }
        }),
      );
      // A random pause, so changes land at every phase of the DNS poll.
      await sleep(Math.random() * pollMs);
    }
    for (const impl of impls) {
      const l = run.latencies[impl] ?? [];
      log(`poll ${pollMs} ms, ${impl}: p50 ${percentile(l, 0.5).toFixed(0)} ms, p99 ${percentile(l, 0.99).toFixed(0)} ms over ${l.length} changes`);
    }
    return run;
  } finally {
    for (const { agent, api } of agents.values()) {
      api.close();
      await agent.daemon.stop();
    }
    await services.dispose();
  }
}

void benchMain({
  name: 'propagation',
  title: 'Route change propagation: store write -> agent get_route',
  kind: 'macro',
  async run(ctx) {
    if (!agentCommandAvailable()) {
      return { figures: [], notes: ['`lars agent` is not available in this build yet: not measured'], status: 'skipped' };
    }
    const changes = ctx.quick ? 10 : 50;
    const figures: Figure[] = [];
    const details: Record<string, unknown> = { changes, probeMs: PROBE_MS, module: MODULE };
    const notes: string[] = [];
    for (const pollMs of POLLS) {
      const run = await measurePoll(ctx.impls, pollMs, changes, ctx.log);
      details[`poll_${pollMs}`] = run;
      const of = (q: number): Partial<Record<Impl, number[]>> =>
        Object.fromEntries(Object.entries(run.latencies).map(([impl, l]) => [impl, [percentile(l, q)]]));
      const p99 = implFigure({ id: `p99_ms_poll_${pollMs}`, label: `change -> agent, p99 over ${changes} (DNS poll ${pollMs} ms)`, unit: 'ms' }, of(0.99));
      const target = TARGET_P99_MS[pollMs];
      const verdicts = ctx.impls.map((i) => judge(p99[i], (v) => v < target));
      figures.push(implFigure({ id: `p50_ms_poll_${pollMs}`, label: `change -> agent, p50 over ${changes} (DNS poll ${pollMs} ms)`, unit: 'ms' }, of(0.5)));
      figures.push({ ...p99, target: `< ${target}`, met: verdicts.includes(false) ? false : verdicts.includes(null) ? null : true });
      for (const [impl, n] of Object.entries(run.missed)) notes.push(`poll ${pollMs} ms: the ${impl} agent never showed ${n} of the changes within 10 s`);
    }
    notes.push(`latency = first get_route (asked every ${PROBE_MS} ms) that lists the new node, minus the commit; the p50/p99 are over the changes of one run`);
    return { figures, notes, details };
  },
});
