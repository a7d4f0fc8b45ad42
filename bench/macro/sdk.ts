// Macro: the Node SDK in its two modes (docs/sdk.md, EXTENSIONS §5) against the native agent with
// a 10-node route, in one run:
// - get_host+report pairs/s through `lars test qps` (worker threads, each its own client) with 1
//   and 4 workers: local mode (getHostSync from the agent's view, batched reports), UDP mode, and
//   UDP against the TS agent;
// - getHostSync latency in this process, each call timed on its own (the clock read, ~30-50 ns,
//   is in the figure);
// - the agent's CPU per million reports, sent one datagram each and as ReportBatchRequests
//   (utime + stime from /proc/<pid>/stat, less the agent's idle CPU over the same time).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LarsClient, RetCode } from '../../src/sdk/index.js';
import { AgentApi, agentCommandAvailable, startAgent, startServices, warmUp, type ModuleId, type RunningAgent, type Services } from '../lib/agent-stack.js';
import { cpuSeconds, sleep, type Impl } from '../lib/process.js';
import { larsTestQps } from '../lib/qps.js';
import { benchMain, implFigure, judge, med, valueFigure, type Figure } from '../lib/result.js';
import { summarize } from '../lib/stats.js';

const MODULE: ModuleId = { modid: 1, cmdid: 1 };
const WORKERS = [1, 4] as const;
/** Reports sent between two turns of the event loop when they go one datagram each. */
const SINGLE_CHUNK = 200;

/** The agent's applied and ignored reports, summed over its ports (its /metrics). */
async function agentReports(adminPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^lars_agent_requests_total\{[^}]*type="report"[^}]*\} (\S+)$/gm)) n += Number(m[1]);
  return n;
}

/** Until the counter stops moving (every datagram read, or the rest dropped by the kernel). */
async function settled(read: () => Promise<number>): Promise<number> {
  let last = await read();
  for (;;) {
    await sleep(200);
    const now = await read();
    if (now === last) return now;
    last = now;
  }
}

/** A local-mode client of the agent, once its view answers. */
async function localClient(agent: RunningAgent, viewDir: string): Promise<LarsClient> {
  const client = new LarsClient({ port: agent.base, mode: 'local', viewDir, cacheDir: '' });
  const deadline = Date.now() + 10_000;
  while (client.getHostSync(MODULE.modid, MODULE.cmdid)?.retcode !== RetCode.Succ) {
    if (Date.now() > deadline) {
      await client.close();
      throw new Error(`the agent's view in ${viewDir} does not answer module 1/1 (stats ${JSON.stringify(client.stats)})`);
    }
    await sleep(50);
  }
  return client;
}

/** getHostSync latencies in ns, each call timed. */
function syncLatencies(client: LarsClient, calls: number): number[] {
  const out: number[] = new Array<number>(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    client.getHostSync(MODULE.modid, MODULE.cmdid);
    out[i] = Number(process.hrtime.bigint() - t0);
  }
  return out;
}

/**
 * Agent CPU seconds per million reports applied: `reports` of the route's nodes through a UDP-mode
 * client, batched or one datagram each, less the agent's idle CPU over the same wall time.
 */
async function agentCpuPerMillion(agent: RunningAgent, batched: boolean, reports: number, idleCpuPerS: number): Promise<{ cpuPerM: number; applied: number }> {
  const client = new LarsClient({ port: agent.base, mode: 'udp', cacheDir: '', batchReports: batched });
  const nodes = (await client.getRoute(MODULE.modid, MODULE.cmdid)).hosts;
  if (nodes.length === 0) throw new Error('no route for 1/1');
  const adminPort = agent.daemon.adminPort!;
  const before = await agentReports(adminPort);
  const cpu0 = cpuSeconds(agent.daemon.pid);
  const t0 = performance.now();
  for (let i = 0; i < reports; i++) {
    const n = nodes[i % nodes.length]!;
    client.report(MODULE.modid, MODULE.cmdid, n.ip, n.port, RetCode.Succ);
    if (!batched && i % SINGLE_CHUNK === SINGLE_CHUNK - 1) await nextTurn();
  }
  await client.close();
  const applied = (await settled(() => agentReports(adminPort))) - before;
  const cpu = cpuSeconds(agent.daemon.pid) - cpu0 - (idleCpuPerS * (performance.now() - t0)) / 1000;
  return { cpuPerM: (Math.max(cpu, 0) * 1e6) / Math.max(applied, 1), applied };
}

void benchMain({
  name: 'sdk',
  title: 'Node SDK: local mode (agent view) vs UDP, getHostSync latency, agent CPU per report',
  kind: 'macro',
  async run(ctx) {
    if (!agentCommandAvailable()) return { figures: [], notes: ['`lars agent` is not available'], status: 'skipped' };
    const seconds = ctx.quick ? 2 : 4;
    const syncCalls = ctx.quick ? 100_000 : 1_000_000;
    const cpuReports = ctx.quick ? 100_000 : 500_000;
    const notes: string[] = [];
    const viewDir = mkdtempSync(join(tmpdir(), 'lars-bench-views-'));
    let services: Services | undefined;
    const agents = new Map<Impl, RunningAgent>();
    const samples = new Map<string, number[]>();
    const add = (key: string, v: number): void => void samples.set(key, [...(samples.get(key) ?? []), v]);
    try {
      services = await startServices({ modules: [MODULE], nodes: 10, impl: 'native' });
      agents.set('native', await startAgent('native', services, { 'agent.view_dir': viewDir }));
      if (ctx.impls.includes('ts')) agents.set('ts', await startAgent('ts', services));
      for (const agent of agents.values()) {
        const api = new AgentApi(agent.base);
        try {
          await warmUp(api, [MODULE]);
        } finally {
          api.close();
        }
      }
      const native = agents.get('native')!;
      const local = await localClient(native, viewDir);

      for (let r = 0; r < ctx.runs; r++) {
        for (const w of WORKERS) {
          const runs: [string, Impl, string[]][] = [
            [`local/${w}`, 'native', ['--mode', 'local', '--view-dir', viewDir]],
            [`udp/${w}`, 'native', ['--mode', 'udp']],
            ...(agents.has('ts') ? [[`udp-ts/${w}`, 'ts', ['--mode', 'udp']] as [string, Impl, string[]]] : []),
          ];
          for (const [key, impl, extra] of runs) {
            const result = await larsTestQps(agents.get(impl)!.base, w, seconds, 'native', extra);
            add(key, result.median);
            const asked = extra[1]!;
            if (result.ran !== asked) notes.push(`${key}: ran ${result.ran}, fallbacks ${JSON.stringify(result.fallbacks)}`);
            if (result.noAnswer > 0) notes.push(`${key}: ${result.noAnswer} calls unanswered`);
            ctx.log(`run ${r + 1} ${key}: median ${result.median} pairs/s (${result.ran})`);
          }
        }
        syncLatencies(local, syncCalls / 10); // warm-up: the JIT, the view's pages
        const ns = summarize(syncLatencies(local, syncCalls));
        add('sync/p50', ns.p50);
        add('sync/p99', ns.p99);
        ctx.log(`run ${r + 1} getHostSync p50 ${ns.p50} ns, p99 ${ns.p99} ns`);

        const cpu0 = cpuSeconds(native.daemon.pid);
        await sleep(1000);
        const idleCpuPerS = cpuSeconds(native.daemon.pid) - cpu0;
        for (const batched of [false, true]) {
          const { cpuPerM, applied } = await agentCpuPerMillion(native, batched, cpuReports, idleCpuPerS);
          add(batched ? 'cpu/batched' : 'cpu/single', cpuPerM);
          if (applied < cpuReports) notes.push(`${batched ? 'batched' : 'single'} reports, run ${r + 1}: the agent read ${applied} of ${cpuReports} (the rest dropped by the kernel)`);
          ctx.log(`run ${r + 1} agent CPU ${cpuPerM.toFixed(3)} s per million reports, ${batched ? 'batched' : 'single'} (${applied} applied)`);
        }
      }
      const localStats = local.stats;
      await local.close();

      const pairs = (id: string, label: string, key: string, target?: { text: string; ok: (v: number) => boolean }): Figure => {
        const f = implFigure({ id, label, unit: 'pairs/s', ...(target && { target: target.text }) }, key.startsWith('udp/') ? { native: samples.get(key), ts: samples.get(key.replace('udp/', 'udp-ts/')) } : { native: samples.get(key) });
        return target ? { ...f, met: judge(med(samples.get(key)), target.ok) } : f;
      };
      const figures: Figure[] = [
        pairs('local_1', 'local mode, 1 worker: get_host+report/s', 'local/1', { text: '>= 1 000 000', ok: (v) => v >= 1_000_000 }),
        pairs('local_4', 'local mode, 4 workers: get_host+report/s', 'local/4'),
        pairs('udp_1', 'UDP mode, 1 worker: get_host+report/s (ts: against the TS agent)', 'udp/1', { text: '>= 24 000', ok: (v) => v >= 24_000 }),
        pairs('udp_4', 'UDP mode, 4 workers: get_host+report/s (ts: against the TS agent)', 'udp/4'),
        { ...valueFigure({ id: 'sync_p50_ns', label: 'getHostSync p50', unit: 'ns', target: '<= 2 000' }, samples.get('sync/p50') ?? []), met: judge(med(samples.get('sync/p50')), (v) => v <= 2000) },
        valueFigure({ id: 'sync_p99_ns', label: 'getHostSync p99', unit: 'ns' }, samples.get('sync/p99') ?? []),
        valueFigure({ id: 'agent_cpu_single', label: 'agent CPU per million reports, one datagram each', unit: 'CPU s' }, samples.get('cpu/single') ?? []),
        valueFigure({ id: 'agent_cpu_batched', label: 'agent CPU per million reports, ReportBatchRequest', unit: 'CPU s' }, samples.get('cpu/batched') ?? []),
      ];
      // Local mode has no TS column (the TS agent writes no view): partial only when a measured figure is missing.
      const missing = ['local/1', 'udp/1', 'sync/p50', 'cpu/single', 'cpu/batched'].filter((k) => med(samples.get(k)) === null);
      return {
        figures,
        notes,
        status: missing.length === 0 ? 'ok' : 'partial',
        details: { seconds, workers: WORKERS, syncCalls, cpuReports, nodes: 10, localClientStats: localStats },
      };
    } finally {
      for (const a of agents.values()) await a.daemon.stop();
      await services?.dispose();
      rmSync(viewDir, { recursive: true, force: true });
    }
  },
});
