// Macro: GetRoute requests per second the DNS service answers over persistent TCP connections,
// native and TypeScript side by side. The load is bench/native/dns-client (one epoll thread,
// 16 connections, 8 requests in flight on each); server and client are pinned to a core each and
// their CPU% over every window is recorded, so a client-bound figure shows as such.
import { tool } from '../lib/native-tools.js';
import { CpuMeter, Tool, cpuSplit, freeTcpPort, pin, startDaemon, type Daemon } from '../lib/process.js';
import { benchMain, implFigure, judge, med, type Figure, type Impl } from '../lib/result.js';
import { createBenchStore, writeRoutes } from '../lib/store.js';

const MODULES = [1, 2, 3].map((cmdid) => ({ modid: 1, cmdid }));
const NODES = 10;
const CONNS = 16;
const DEPTH = 8;
const SERVER_BOUND_CPU = 90;

interface Window {
  rps: number;
  serverCpu: number;
  clientCpu: number;
}

void benchMain({
  name: 'dns-rps',
  title: 'DNS: GetRoute requests/s over persistent TCP',
  kind: 'macro',
  async run(ctx) {
    const split = cpuSplit();
    const seconds = ctx.quick ? 1 : 3;
    const store = await createBenchStore('sqlite');
    const daemons = new Map<Impl, Daemon>();
    const notes: string[] = [];
    try {
      await writeRoutes(store.store, MODULES, NODES);
      for (const impl of ctx.impls) {
        const d = await startDaemon('dns', {
          impl,
          settings: { ...store.settings, 'reactor.ip': '127.0.0.1', 'reactor.port': '0', 'admin.port': String(await freeTcpPort()) },
        });
        daemons.set(impl, d);
        pin(d.pid, split?.server);
      }
      const windows: Partial<Record<Impl, Window[]>> = {};
      for (let run = 0; run < ctx.runs; run++) {
        for (const [impl, d] of daemons) {
          const client = Tool.start(
            tool('dns-client'),
            ['rps', '--port', String(d.port), '--conns', String(CONNS), '--depth', String(DEPTH), '--seconds', String(seconds), '--ncmd', '3', '--warmup-ms', '500'],
            split?.client,
          );
          try {
            await client.next('measure', 20_000);
            const cpu = new CpuMeter(d.pid);
            const r = await client.next('result', seconds * 1000 + 20_000);
            const w = { rps: Number(r.rps), serverCpu: cpu.percent(), clientCpu: Math.round(Number(r.cpu_percent) * 10) / 10 };
            if (Number(r.closed) > 0) notes.push(`${impl}: ${String(r.closed)} connections closed during a window`);
            (windows[impl] ??= []).push(w);
            ctx.log(`run ${run + 1} ${impl}: ${Math.round(w.rps)} req/s, server ${w.serverCpu}% client ${w.clientCpu}% CPU`);
          } finally {
            await client.stop();
          }
        }
      }
      const s = (impl: Impl, f: (w: Window) => number): number[] => (windows[impl] ?? []).map(f);
      const ratios = s('native', (w) => w.rps).map((v, i) => v / (s('ts', (w) => w.rps)[i] as number)).filter(Number.isFinite);
      const figures: Figure[] = [
        implFigure({ id: 'requests_per_s', label: `GetRoute requests/s (${CONNS} conns x ${DEPTH} in flight)`, unit: 'req/s' }, { native: s('native', (w) => w.rps), ts: s('ts', (w) => w.rps) }),
        { id: 'native_vs_ts', label: 'native DNS / TS DNS', unit: 'x', value: med(ratios), samples: { value: ratios } },
        implFigure({ id: 'server_cpu', label: 'DNS server CPU', unit: '% core' }, { native: s('native', (w) => w.serverCpu), ts: s('ts', (w) => w.serverCpu) }),
        implFigure({ id: 'client_cpu', label: 'client CPU', unit: '% core' }, { native: s('native', (w) => w.clientCpu), ts: s('ts', (w) => w.clientCpu) }),
      ];
      const serverBound = Object.fromEntries(ctx.impls.map((i) => [i, judge(med(s(i, (w) => w.serverCpu)), (x) => x >= SERVER_BOUND_CPU)]));
      for (const [impl, bound] of Object.entries(serverBound)) {
        if (bound === false) notes.push(`${impl}: the DNS server stayed below ${SERVER_BOUND_CPU}% of its core: the client or other load limited the figure`);
      }
      return {
        figures,
        notes,
        details: { conns: CONNS, depth: DEPTH, windowSeconds: seconds, pinnedCpus: split ?? 'not pinned', serverBound, windows },
      };
    } finally {
      for (const d of daemons.values()) await d.stop();
      await store.dispose();
    }
  },
});
