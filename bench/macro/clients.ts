// Macro: get_host + report per second in one thread, for each client against the native agent in
// the same run: the Python client, the Java client, and `lars test qps 1` (the Node SDK). Each
// client loops get_host, then report of the node it got, for a fixed window in its own process;
// one warm-up window first (the JVM's JIT, the agent's route).
import { agentCommandAvailable, startAgent, startServices, warmUp, AgentApi, type ModuleId, type RunningAgent, type Services } from '../lib/agent-stack.js';
import { CLIENT_LANGS, ClientDriver, type ClientLang } from '../lib/client-driver.js';
import { larsTestQps } from '../lib/qps.js';
import { benchMain, valueFigure } from '../lib/result.js';

const MODULE: ModuleId = { modid: 1, cmdid: 1 };

/** get_host + report per second of one client driver over `seconds`, after a warm-up window. */
async function clientRate(lang: ClientLang, base: number, seconds: number): Promise<number> {
  const driver = await ClientDriver.start(lang, { port: base, timeoutMs: 100 });
  try {
    await driver.cmd('bench', MODULE.modid, MODULE.cmdid, 1);
    const r = await driver.cmd('bench', MODULE.modid, MODULE.cmdid, seconds);
    return Math.round((r.ops as number) / (r.seconds as number));
  } finally {
    await driver.close();
  }
}

void benchMain({
  name: 'clients',
  title: 'Python, Java and Node clients: get_host+report/s in one thread against the native agent',
  kind: 'macro',
  async run(ctx) {
    if (!agentCommandAvailable()) return { figures: [], notes: ['`lars agent` is not available'], status: 'skipped' };
    const seconds = ctx.quick ? 2 : 4;
    let services: Services | undefined;
    let agent: RunningAgent | undefined;
    try {
      services = await startServices({ modules: [MODULE], nodes: 10, impl: 'native' });
      agent = await startAgent('native', services);
      const api = new AgentApi(agent.base);
      try {
        await warmUp(api, [MODULE]);
      } finally {
        api.close();
      }
      const samples: Record<ClientLang | 'node', number[]> = { python: [], java: [], node: [] };
      for (let r = 0; r < ctx.runs; r++) {
        for (const lang of CLIENT_LANGS) {
          samples[lang].push(await clientRate(lang, agent.base, seconds));
          ctx.log(`run ${r + 1} ${lang}: ${samples[lang].at(-1)} get_host+report/s`);
        }
        samples.node.push((await larsTestQps(agent.base, 1, seconds, 'native', ['--mode', 'udp'])).median);
        ctx.log(`run ${r + 1} node (lars test qps 1): ${samples.node.at(-1)} calls/s`);
      }
      return {
        figures: [
          valueFigure({ id: 'python_1_thread', label: 'Python client, 1 thread: get_host+report/s', unit: 'calls/s' }, samples.python),
          valueFigure({ id: 'java_1_thread', label: 'Java client, 1 thread: get_host+report/s', unit: 'calls/s' }, samples.java),
          valueFigure({ id: 'node_qps_1', label: 'lars test qps 1 (Node SDK, UDP): median calls/s', unit: 'calls/s' }, samples.node),
        ],
        notes: [
          'Each client is a separate process looping get_host then report of the node it got; the agent is the native one with 10 nodes for module 1/1.',
          'Python and Java: calls over the whole window / its length; lars test qps: the median of its per-second counts.',
        ],
        details: { seconds, module: MODULE },
      };
    } finally {
      await agent?.daemon.stop();
      await services?.dispose();
    }
  },
});
