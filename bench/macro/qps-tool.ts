// Macro: `lars test qps` itself — the tool operators run — against the native and the TS agent
// with 1, 4 and 16 workers (worker threads of the Node SDK, each looping get_host + report).
// The C++ client of the agent benchmark measures the agent; this one measures what a Node
// business process sees through the SDK, so the client side is expected to be the bound.
import { AgentApi, agentCommandAvailable, startAgent, startServices, warmUp, type ModuleId, type RunningAgent, type Services } from '../lib/agent-stack.js';
import type { Impl } from '../lib/process.js';
import { larsTestQps } from '../lib/qps.js';
import { benchMain, implFigure, type Figure } from '../lib/result.js';

const MODULES: readonly ModuleId[] = [{ modid: 1, cmdid: 1 }];
const WORKERS = [1, 4, 16] as const;

void benchMain({
  name: 'qps-tool',
  title: 'lars test qps (Node SDK workers) against the agent',
  kind: 'macro',
  async run(ctx) {
    if (!agentCommandAvailable()) return { figures: [], notes: ['`lars agent` is not available'], status: 'skipped' };
    const seconds = ctx.quick ? 2 : 4;
    const notes: string[] = [];
    let services: Services | undefined;
    const agents = new Map<Impl, RunningAgent>();
    try {
      services = await startServices({ modules: MODULES, nodes: 10, impl: ctx.impls.includes('native') ? 'native' : 'ts' });
      for (const impl of ctx.impls) {
        const agent = await startAgent(impl, services);
        agents.set(impl, agent);
        const api = new AgentApi(agent.base);
        try {
          await warmUp(api, MODULES);
        } finally {
          api.close();
        }
      }
      const samples = new Map<string, number[]>();
      for (let r = 0; r < ctx.runs; r++) {
        for (const workers of WORKERS) {
          for (const [impl, agent] of agents) {
            // UDP: this benchmark follows the agent over the wire; the sdk benchmark measures local mode.
            const result = await larsTestQps(agent.base, workers, seconds, impl, ['--mode', 'udp']);
            samples.set(`${impl}/${workers}`, [...(samples.get(`${impl}/${workers}`) ?? []), result.median]);
            if (result.noAnswer > 0) notes.push(`${impl}, ${workers} workers: ${result.noAnswer} calls unanswered`);
            ctx.log(`run ${r + 1} ${impl} ${workers} workers: median ${result.median} calls/s`);
          }
        }
      }
      const figures: Figure[] = WORKERS.map((w) =>
        implFigure(
          { id: `qps_${w}`, label: `lars test qps ${w} worker${w > 1 ? 's' : ''}: median calls/s`, unit: 'calls/s' },
          { native: samples.get(`native/${w}`), ts: samples.get(`ts/${w}`) },
        ),
      );
      return { figures, notes, details: { seconds, workers: WORKERS, modules: MODULES } };
    } finally {
      for (const a of agents.values()) await a.daemon.stop();
      await services?.dispose();
    }
  },
});
