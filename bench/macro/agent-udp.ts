// Macro: the agent's UDP API under load. Sequential get_host + report loops from a C++ client
// (bench/native/udp-client: N clients, each with one call outstanding, multiplexed on one thread
// with epoll so the generator does not spend its core switching between blocked threads; the
// latency window uses one blocking thread per client) with 1, 4 and 16 clients against the native
// agent, the TypeScript agent and a minimal C++ UDP echo server on the same three ports (the
// machine's ceiling); the same with 1, 4 and 16 blocking client threads, where each round trip
// waits for the server to wake up, also against a native agent with [agent] busy_poll_us = 0 (it
// always sleeps: the wake-up path before the busy-poll, in the same run); get_host latency at a fixed moderate load; CPU% of server and client from
// /proc/<pid>/stat over every window, so a figure limited by the client shows as such.
import { RetCode } from '../../src/wire/messages.js';
import {
  AgentApi,
  agentCommandAvailable,
  startAgent,
  startServices,
  warmUp,
  type ModuleId,
  type RunningAgent,
  type Services,
} from '../lib/agent-stack.js';
import { tool } from '../lib/native-tools.js';
import { CpuMeter, Tool, cpuSplit, freeUdpPorts, pin, stopProcess, type Impl } from '../lib/process.js';
import { benchMain, implFigure, judge, med, type Figure } from '../lib/result.js';

/** (1, 1..3): one module per port (port = base + (modid + cmdid) % 3). */
const MODULES: readonly ModuleId[] = [1, 2, 3].map((cmdid) => ({ modid: 1, cmdid }));
const NODES = 10;
const CLIENTS = [1, 4, 16] as const;
/**
 * Blocking client threads, one call outstanding each, as the reference API and the SDK's UDP mode
 * use the agent: each round trip waits for the server to wake up, so these measure its wake-up
 * path where the multiplexed clients measure its work.
 */
const BLOCKING = [1, 4, 16] as const;
const LATENCY_RATE = 5_000;
const LATENCY_CLIENTS = 4;
/** A server at or above this share of one core is the bottleneck. */
const SERVER_BOUND_CPU = 90;

/** The native agent with the busy-poll off: blocking windows only, as the reference for the knob. */
const SLEEPING = 'native-sleep';
type Target = Impl | 'echo' | typeof SLEEPING;

interface Window {
  rps: number;
  p50Us: number;
  p99Us: number;
  serverCpu: number;
  clientCpu: number;
  timeouts: number;
  noexist: number;
  overload: number;
}

const split = cpuSplit();

async function clientWindow(base: number, serverPid: number, args: string[], seconds: number): Promise<Window> {
  const client = Tool.start(tool('udp-client'), ['--port', String(base), '--seconds', String(seconds), ...args], split?.client);
  try {
    await client.next('measure', 20_000);
    const cpu = new CpuMeter(serverPid);
    const r = await client.next('result', seconds * 1000 + 20_000);
    return {
      rps: Number(r.rps),
      p50Us: Number(r.p50_us),
      p99Us: Number(r.p99_us),
      serverCpu: cpu.percent(),
      clientCpu: Math.round(Number(r.cpu_percent) * 10) / 10,
      timeouts: Number(r.timeouts),
      noexist: Number(r.noexist),
      overload: Number(r.overload),
    };
  } finally {
    await client.stop();
  }
}

void benchMain({
  name: 'agent',
  title: 'Agent: get_host + report over UDP',
  kind: 'macro',
  async run(ctx) {
    const notes: string[] = [];
    const seconds = ctx.quick ? 1 : 3;
    const warmupMs = ctx.quick ? 300 : 700;
    const servers = new Map<Target, { pid: number; base: number }>();
    const agents: RunningAgent[] = [];
    let services: Services | undefined;
    const echoBase = await freeUdpPorts(3);
    const echo = Tool.start(tool('udp-echo'), ['--port', String(echoBase)]);
    try {
      await echo.next('ready', 10_000);
      servers.set('echo', { pid: echo.pid, base: echoBase });
      pin(echo.pid, split?.server);
      if (!agentCommandAvailable()) {
        notes.push('`lars agent` is not available in this build yet: agent figures not measured, the echo ceiling only');
      } else {
        services = await startServices({ modules: MODULES, nodes: NODES, impl: ctx.impls.includes('native') ? 'native' : 'ts' });
        const variants: { target: Target; impl: Impl; extra: Record<string, string> }[] = ctx.impls.map((impl) => ({ target: impl, impl, extra: {} }));
        if (ctx.impls.includes('native')) variants.push({ target: SLEEPING, impl: 'native', extra: { 'agent.busy_poll_us': '0' } });
        for (const { target, impl, extra } of variants) {
          try {
            const agent = await startAgent(impl, services, extra);
            agents.push(agent);
            const api = new AgentApi(agent.base);
            try {
              await warmUp(api, MODULES);
            } finally {
              api.close();
            }
            servers.set(target, { pid: agent.daemon.pid, base: agent.base });
            pin(agent.daemon.pid, split?.server);
          } catch (err) {
            notes.push(`${target} agent not measured: ${(err as Error).message.split('\n')[0]}`);
          }
        }
      }
      const targets = [...servers.keys()].filter((t) => t !== SLEEPING);
      const blockingTargets = [...servers.keys()];
      const windows = new Map<string, Window[]>();
      const keep = (key: string, w: Window): void => {
        windows.set(key, [...(windows.get(key) ?? []), w]);
      };
      // Interleaved run by run, so noise from neighbours lands on every target alike.
      for (let run = 0; run < ctx.runs; run++) {
        for (const clients of CLIENTS) {
          for (const t of targets) {
            const s = servers.get(t)!;
            const w = await clientWindow(s.base, s.pid, ['--threads', String(clients), '--multiplex', '--warmup-ms', String(warmupMs)], seconds);
            keep(`${t}/${clients}`, w);
            ctx.log(`run ${run + 1} ${t} ${clients} clients: ${Math.round(w.rps)} calls/s, server ${w.serverCpu}% client ${w.clientCpu}% CPU`);
          }
        }
        for (const clients of BLOCKING) {
          for (const t of blockingTargets) {
            const s = servers.get(t)!;
            const w = await clientWindow(s.base, s.pid, ['--threads', String(clients), '--warmup-ms', String(warmupMs)], seconds);
            keep(`${t}/blocking-${clients}`, w);
            ctx.log(`run ${run + 1} ${t} ${clients} blocking threads: ${Math.round(w.rps)} calls/s, server ${w.serverCpu}% client ${w.clientCpu}% CPU`);
          }
        }
        for (const t of targets) {
          const s = servers.get(t)!;
          const w = await clientWindow(
            s.base,
            s.pid,
            ['--threads', String(LATENCY_CLIENTS), '--rate', String(LATENCY_RATE), '--warmup-ms', String(warmupMs)],
            seconds,
          );
          keep(`${t}/latency`, w);
          ctx.log(`run ${run + 1} ${t} latency at ${LATENCY_RATE}/s: p50 ${w.p50Us} us, p99 ${w.p99Us} us`);
        }
      }

      const pick = (t: Target, key: string | number, f: (w: Window) => number): number[] => (windows.get(`${t}/${key}`) ?? []).map(f);
      const row = (id: string, label: string, unit: string, key: string | number, f: (w: Window) => number): Figure => ({
        ...implFigure({ id, label, unit }, { native: pick('native', key, f), ts: pick('ts', key, f) }),
        value: med(pick('echo', key, f)),
        samples: { native: pick('native', key, f), ts: pick('ts', key, f), value: pick('echo', key, f) },
      });
      /** Per-run ratio a/b (same run, so shared noise cancels), median over runs. */
      const ratio = (a: Target, b: Target, clients: number | string): number[] => {
        const x = pick(a, clients, (w) => w.rps);
        const y = pick(b, clients, (w) => w.rps);
        return x.map((v, i) => v / (y[i] as number)).filter((v) => Number.isFinite(v));
      };
      const figures: Figure[] = [];
      for (const c of CLIENTS) {
        figures.push(row(`calls_per_s_${c}`, `get_host+report calls/s, ${c} client${c > 1 ? 's' : ''} (ref: echo)`, 'calls/s', c, (w) => w.rps));
      }
      for (const c of [4, 16]) {
        const v = med(ratio('native', 'echo', c));
        figures.push({ id: `native_vs_echo_${c}`, label: `native agent / echo, ${c} clients`, unit: 'x', value: v, samples: { value: ratio('native', 'echo', c) }, target: '>= 0.8', met: judge(v, (x) => x >= 0.8) });
      }
      {
        const v = med(ratio('native', 'ts', 16));
        figures.push({ id: 'native_vs_ts_16', label: 'native agent / TS agent, 16 clients', unit: 'x', value: v, samples: { value: ratio('native', 'ts', 16) }, target: '>= 3', met: judge(v, (x) => x >= 3) });
      }
      for (const c of BLOCKING) {
        const key = `blocking-${c}`;
        figures.push(row(`blocking_calls_per_s_${c}`, `get_host+report calls/s, ${c} blocking thread${c > 1 ? 's' : ''} (ref: echo)`, 'calls/s', key, (w) => w.rps));
        const v = med(ratio('native', 'echo', key));
        figures.push({
          id: `native_vs_echo_blocking_${c}`,
          label: `native agent / echo, ${c} blocking thread${c > 1 ? 's' : ''}`,
          unit: 'x',
          value: v,
          samples: { value: ratio('native', 'echo', key) },
          ...(c === 4 && { target: '>= 0.8', met: judge(v, (x) => x >= 0.8) }),
        });
        figures.push(row(`server_cpu_blocking_${c}`, `server CPU, ${c} blocking thread${c > 1 ? 's' : ''} (ref: echo)`, '% core', key, (w) => w.serverCpu));
        const before = ratio(SLEEPING, 'echo', key);
        figures.push({
          id: `native_sleep_vs_echo_blocking_${c}`,
          label: `native agent, busy_poll_us = 0 / echo, ${c} blocking thread${c > 1 ? 's' : ''}`,
          unit: 'x',
          value: med(before),
          samples: { value: before },
        });
        const sleepCpu = pick(SLEEPING, key, (w) => w.serverCpu);
        figures.push({ id: `native_sleep_server_cpu_blocking_${c}`, label: `native agent, busy_poll_us = 0: CPU, ${c} blocking thread${c > 1 ? 's' : ''}`, unit: '% core', value: med(sleepCpu), samples: { value: sleepCpu } });
      }
      figures.push(row('latency_p50_us', `get_host p50 at ${LATENCY_RATE} calls/s (ref: echo)`, 'us', 'latency', (w) => w.p50Us));
      figures.push(row('latency_p99_us', `get_host p99 at ${LATENCY_RATE} calls/s (ref: echo)`, 'us', 'latency', (w) => w.p99Us));
      figures.push(row('server_cpu_16', 'server CPU at 16 clients (ref: echo)', '% core', 16, (w) => w.serverCpu));
      figures.push(row('client_cpu_16', 'client CPU at 16 clients (ref: echo)', '% core', 16, (w) => w.clientCpu));

      const serverBound: Record<string, boolean | null> = {};
      for (const t of targets) {
        for (const c of CLIENTS) {
          const cpu = med(pick(t, c, (w) => w.serverCpu));
          serverBound[`${t}/${c}`] = judge(cpu, (x) => x >= SERVER_BOUND_CPU);
        }
        const problems = CLIENTS.flatMap((c) => pick(t, c, (w) => w.timeouts + w.noexist)).reduce((a, b) => a + b, 0);
        if (problems > 0) notes.push(`${t}: ${problems} timeouts or NOEXIST answers during the windows (see details)`);
      }
      const notBound = Object.entries(serverBound).filter(([k, v]) => v === false && !k.endsWith('/1'));
      if (notBound.length > 0) {
        notes.push(
          `server below ${SERVER_BOUND_CPU}% of its core for ${notBound.map(([k]) => k).join(', ')}: the client or other ` +
            'processes on the machine limited those figures, not the server',
        );
      }
      return {
        figures,
        notes,
        details: {
          modules: MODULES,
          nodesPerRoute: NODES,
          windowSeconds: seconds,
          latencyRate: LATENCY_RATE,
          latencyClients: LATENCY_CLIENTS,
          serverBoundCpuPercent: SERVER_BOUND_CPU,
          pinnedCpus: split ?? 'not pinned',
          serverBound,
          windows: Object.fromEntries(windows),
          retcodeSucc: RetCode.Succ,
        },
      };
    } finally {
      await stopProcess(echo.child);
      for (const a of agents) await a.daemon.stop();
      await services?.dispose();
    }
  },
});
