// Macro: agent memory with 10 000 routes of 10 nodes. The routes are in the store; the agent
// learns each one from DNS when first asked (API get_route); RSS (VmRSS of /proc/<pid>/status)
// before the first route and after all of them answer with their 10 nodes.
import { AgentApi, agentCommandAvailable, startAgent, startServices, type ModuleId } from '../lib/agent-stack.js';
import { rssKiB, sleep, type Impl } from '../lib/process.js';
import { benchMain, implFigure, type Figure } from '../lib/result.js';

const NODES = 10;
/** Requests in flight while loading routes. */
const WINDOW = 100;

function modules(count: number): ModuleId[] {
  return Array.from({ length: count }, (_, i) => ({ modid: 1 + Math.floor(i / 100), cmdid: 1 + (i % 100) }));
}

/** Asks for every route until each lists all its nodes; returns how many do. */
async function loadRoutes(api: AgentApi, all: readonly ModuleId[], timeoutMs: number): Promise<number> {
  let pending = [...all];
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0 && Date.now() < deadline) {
    const next: ModuleId[] = [];
    for (let i = 0; i < pending.length; i += WINDOW) {
      const batch = pending.slice(i, i + WINDOW);
      const answers = await Promise.all(batch.map((m) => api.getRoute(m, 1000)));
      answers.forEach((r, j) => {
        if ((r?.host.length ?? 0) < NODES) next.push(batch[j] as ModuleId);
      });
    }
    pending = next;
    if (pending.length > 0) await sleep(200);
  }
  return all.length - pending.length;
}

void benchMain({
  name: 'memory',
  title: 'Agent memory with 10 000 routes x 10 nodes',
  kind: 'macro',
  async run(ctx) {
    if (!agentCommandAvailable()) {
      return { figures: [], notes: ['`lars agent` is not available in this build yet: not measured'], status: 'skipped' };
    }
    const count = ctx.quick ? 1_000 : 10_000;
    const all = modules(count);
    const services = await startServices({ modules: all, nodes: NODES, impl: ctx.impls.includes('native') ? 'native' : 'ts', reporter: false });
    const rss: Partial<Record<Impl, number[]>> = {};
    const growth: Partial<Record<Impl, number[]>> = {};
    const notes: string[] = [];
    try {
      for (let run = 0; run < ctx.runs; run++) {
        for (const impl of ctx.impls) {
          const agent = await startAgent(impl, services);
          const api = new AgentApi(agent.base);
          try {
            await sleep(1000);
            const before = rssKiB(agent.daemon.pid);
            const loaded = await loadRoutes(api, all, 120_000);
            await sleep(1500);
            const after = rssKiB(agent.daemon.pid);
            if (loaded < count) notes.push(`${impl} run ${run + 1}: only ${loaded} of ${count} routes loaded`);
            (rss[impl] ??= []).push(after / 1024);
            (growth[impl] ??= []).push(((after - before) * 1024) / loaded);
            ctx.log(`${impl} run ${run + 1}: ${loaded} routes, RSS ${(before / 1024).toFixed(1)} -> ${(after / 1024).toFixed(1)} MiB`);
          } finally {
            api.close();
            await agent.daemon.stop();
          }
        }
      }
    } finally {
      await services.dispose();
    }
    const label = count === 10_000 ? '10 000' : String(count);
    const figures: Figure[] = [
      implFigure({ id: 'rss_mib', label: `agent RSS with ${label} routes x ${NODES} nodes`, unit: 'MiB' }, rss),
      implFigure({ id: 'bytes_per_route', label: 'agent RSS growth per route', unit: 'bytes' }, growth),
    ];
    if (ctx.quick) notes.push(`quick run: ${count} routes, not 10 000`);
    return { figures, notes, details: { routes: count, nodesPerRoute: NODES } };
  },
});
