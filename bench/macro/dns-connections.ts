// Macro: how many subscribed agent connections one DNS instance holds, what each costs in daemon
// memory, and how long one route change takes to reach all of them.
// The connections come from bench/native/dns-client "hold" processes (at most 9 950 each, each from
// its own 127.0.0.x source address), so the clients stay under the open-file limit (20 000 here)
// while the DNS process goes up to its own. Every connection subscribes with one GetRouteRequest.
// Memory: DNS RSS after every connection is subscribed minus RSS before the first, per connection.
// Propagation: a route change is committed through the route-change transaction; each receiver
// records the wall-clock arrival of the push; latency = arrival - commit (the DNS polls every
// 100 ms here, so up to one poll interval of it is waiting for the poll).
import { performance } from 'node:perf_hooks';
import { pushArrivals, waitForPushRound } from '../lib/dns-clients.js';
import { tool } from '../lib/native-tools.js';
import { Tool, freeTcpPort, rssKiB, scrapeMetrics, sleep, startDaemon, type Impl } from '../lib/process.js';
import { benchMain, implFigure, judge, med, type Figure } from '../lib/result.js';
import { summarize } from '../lib/stats.js';
import { createBenchStore, nodeIp, writeRoutes } from '../lib/store.js';

const MODULE = { modid: 1, cmdid: 1 };
const PER_PROCESS = 9_950;
const POLL_MS = 100;

interface ImplRun {
  attempted: number;
  held: number;
  serverConnections: number | null;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  kibPerConn: number;
  /** Per change: latency summary over receivers (ms) and how many received it. */
  changes: { p50: number; p99: number; max: number; received: number; spreadMs: number; commitMs: number }[];
}

async function measureImpl(impl: Impl, target: number, changes: number, log: (m: string) => void): Promise<ImplRun> {
  const store = await createBenchStore('sqlite');
  const clients: Tool[] = [];
  try {
    await writeRoutes(store.store, [MODULE], 10);
    const adminPort = await freeTcpPort();
    const dns = await startDaemon('dns', {
      impl,
      settings: {
        ...store.settings,
        'reactor.ip': '127.0.0.1',
        'reactor.port': '0',
        'reactor.maxConn': '1000000',
        'admin.port': String(adminPort),
        'dns.poll_interval_ms': String(POLL_MS),
      },
    });
    try {
      await sleep(500);
      const rssBeforeKiB = rssKiB(dns.pid);
      const processes = Math.ceil(target / PER_PROCESS);
      for (let p = 0; p < processes; p++) {
        const conns = Math.min(PER_PROCESS, target - p * PER_PROCESS);
        clients.push(
          Tool.start(tool('dns-client'), [
            'hold', '--port', String(dns.port), '--conns', String(conns), '--src', `127.0.0.${10 + p}`,
            '--modid', String(MODULE.modid), '--cmdid', String(MODULE.cmdid), '--timeout', '90',
          ]),
        );
      }
      let held = 0;
      for (const c of clients) held += Number((await c.next('ready', 120_000)).subscribed);
      log(`${impl}: ${held} of ${target} connections subscribed`);
      await sleep(1000);
      const rssAfterKiB = rssKiB(dns.pid);
      const metrics = await scrapeMetrics(adminPort).catch(() => new Map<string, number>());
      const serverConnections = metrics.get('lars_dns_connections') ?? null;

      const out: ImplRun['changes'] = [];
      for (let k = 1; k <= changes; k++) {
        const hosts = Array.from({ length: 10 }, (_, i) => ({ ip: nodeIp(100_000 * k + i), port: 9000 + i }));
        const t0 = performance.now();
        await store.store.applyRouteChange([{ op: 'replace', ...MODULE, hosts }]);
        const commitUs = Date.now() * 1000;
        const commitMs = performance.now() - t0;
        await waitForPushRound(clients, k, 15_000, 50);
        const arrivals = (await pushArrivals(clients, k, 60_000)).flat();
        const lat = arrivals.map((a) => (a - commitUs) / 1000);
        const s = summarize(lat);
        const spreadMs = arrivals.length > 0 ? (Math.max(...arrivals) - Math.min(...arrivals)) / 1000 : Number.NaN;
        out.push({ p50: s.p50, p99: s.p99, max: s.max, received: arrivals.length, spreadMs, commitMs });
        log(`${impl} change ${k}: ${arrivals.length} receivers, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, all ${s.max.toFixed(1)} ms, fan-out ${spreadMs.toFixed(1)} ms`);
        await sleep(Math.random() * POLL_MS);
      }
      return {
        attempted: target,
        held,
        serverConnections,
        rssBeforeKiB,
        rssAfterKiB,
        kibPerConn: held > 0 ? (rssAfterKiB - rssBeforeKiB) / held : Number.NaN,
        changes: out,
      };
    } finally {
      for (const c of clients) await c.stop();
      await dns.stop();
    }
  } finally {
    await store.dispose();
  }
}

void benchMain({
  name: 'dns-connections',
  title: 'DNS: subscribed connections, memory per connection, change fan-out',
  kind: 'macro',
  async run(ctx) {
    const target = ctx.quick ? 2_000 : 19_900;
    const changes = Math.max(3, ctx.runs);
    const runs: Partial<Record<Impl, ImplRun>> = {};
    const notes: string[] = [];
    for (const impl of ctx.impls) {
      try {
        runs[impl] = await measureImpl(impl, target, changes, ctx.log);
      } catch (err) {
        notes.push(`${impl} not measured: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    const per = (f: (r: ImplRun) => number[]): Partial<Record<Impl, number[]>> =>
      Object.fromEntries(Object.entries(runs).map(([impl, r]) => [impl, f(r)]));
    const held = implFigure({ id: 'connections_held', label: `subscribed connections held (of ${target} opened)`, unit: 'conns' }, per((r) => [r.held]));
    const kib = implFigure({ id: 'kib_per_connection', label: 'DNS memory per idle subscribed connection', unit: 'KiB' }, per((r) => [r.kibPerConn]));
    const p50 = implFigure({ id: 'change_p50_ms', label: `one change -> receivers, p50 (poll ${POLL_MS} ms)`, unit: 'ms' }, per((r) => r.changes.map((c) => c.p50)));
    const p99 = implFigure({ id: 'change_p99_ms', label: `one change -> receivers, p99 (poll ${POLL_MS} ms)`, unit: 'ms' }, per((r) => r.changes.map((c) => c.p99)));
    const all = implFigure({ id: 'change_all_ms', label: `one change -> all receivers (poll ${POLL_MS} ms)`, unit: 'ms' }, per((r) => r.changes.map((c) => c.max)));
    const fanout = implFigure({ id: 'fanout_ms', label: 'push fan-out, first to last receiver', unit: 'ms' }, per((r) => r.changes.map((c) => c.spreadMs)));
    const both = (fig: Figure, ok: (v: number) => boolean): boolean | null => {
      const verdicts = ctx.impls.map((i) => judge(fig[i], ok));
      return verdicts.includes(false) ? false : verdicts.includes(null) ? null : true;
    };
    const fullTarget = 19_900;
    const figures: Figure[] = [
      { ...held, target: `~${fullTarget}`, met: ctx.quick ? null : both(held, (v) => v >= fullTarget * 0.995) },
      { ...kib, target: '< 4', met: both(kib, (v) => v < 4) },
      p50,
      p99,
      { ...all, target: '< 1000', met: both(all, (v) => v < 1000) },
      fanout,
    ];
    if (ctx.quick) notes.push(`quick run: ${target} connections, not the ~${fullTarget} of the target`);
    return { figures, notes, details: { target, perProcess: PER_PROCESS, pollMs: POLL_MS, changes, runs } };
  },
});
