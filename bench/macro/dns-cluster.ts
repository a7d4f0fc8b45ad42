// Macro: a fleet of subscribed agent connections held by K stateless DNS instances on one MariaDB
// database, and one route edit pushed to every one of them.
//
// First, on the same table and before any load: the CPU each store call a poller makes costs
// MariaDB and the caller (version poll, delta load, digest check, full load), the inputs of the
// capacity model in docs/capacity.md.
// Per size C (100 000, 500 000, 1 000 000 native; 100 000 for the TS twin): K = ceil(C / 19 000)
// DNS processes (the open-file cap of one process here is 20 000) share one fresh database with R
// modules. Beside each instance runs one bench/native/dns-client "hold" process (under the same
// cap) from its own 127.0.x.y source address, opening C / K connections; each connection
// subscribes to the shared module (1, 1) and to EXTRA others, as an agent does. Then:
//  - idle: per instance RSS and CPU, connections held (/metrics); machine socket memory
//    (/proc/net/sockstat, Slab); MariaDB queries/s and CPU over a window with the K pollers
//    running, minus the same window before they started;
//  - EDITS times: one route edit of (1, 1) through the route-change transaction; latency from
//    its commit to each connection's arrival (the clients stamp wall-clock µs), p50/p99/max.
// Each size is torn down (clients, instances, database, sockets back to the baseline) before the
// next; so is an interrupted run. Sysctls the run needs are raised, printed and restored. A size
// is aborted (and said so) when MemAvailable drops below MIN_AVAILABLE_MIB.
// LARS_BENCH_CLUSTER_SIZES=20000,50000 overrides the native sizes (development runs).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'mysql2/promise';
import { pushArrivals, waitForPushRound } from '../lib/dns-clients.js';
import { tool } from '../lib/native-tools.js';
import { Tool, cpuSeconds, freeTcpPort, onInterrupt, rssKiB, scrapeMetrics, sleep, startDaemon, type Daemon, type Impl } from '../lib/process.js';
import { benchMain, judge, valueFigure, type Figure } from '../lib/result.js';
import { summarize } from '../lib/stats.js';
import { createBenchStore, nodeIp, writeRoutes, type BenchStore } from '../lib/store.js';

const PER_INSTANCE = 19_000;
const MODULES = 1000;
const NODES = 10;
const EXTRA = 2;
const POLL_MS = 1000;
const SHARED = { modid: 1, cmdid: 1 };
const MIN_AVAILABLE_MIB = 2048;
const MYSQL_WINDOW_MS = 10_000;
/** Instances started at once (each is a Node process: starting 53 together starves the machine). */
const START_BATCH = 6;

const SYSCTLS: readonly [string, number][] = [
  ['fs/file-max', 4_000_000],
  ['net/core/somaxconn', 8192],
  ['net/ipv4/tcp_max_syn_backlog', 8192],
  // Loopback packets queue per CPU up to this many: at the default 1000, bursts of keepalive
  // probes over a million sockets are dropped and the kernel aborts ~30 % of the connections.
  ['net/core/netdev_max_backlog', 100_000],
];

class SizeAborted extends Error {}

function log(m: string): void {
  process.stderr.write(`[dns-cluster] ${m}\n`);
}

/** Raises each sysctl below its target; returns the restore. */
function raiseSysctls(changed: string[]): () => void {
  const saved: [string, string][] = [];
  for (const [key, want] of SYSCTLS) {
    const file = `/proc/sys/${key}`;
    try {
      const was = readFileSync(file, 'utf8').trim();
      if (Number(was) >= want) continue;
      writeFileSync(file, String(want));
      saved.push([file, was]);
      changed.push(`${key.replaceAll('/', '.')} ${was} -> ${want}`);
      log(`sysctl ${key.replaceAll('/', '.')}: ${was} -> ${want} (restored afterwards)`);
    } catch (err) {
      log(`sysctl ${key} left as is (${(err as Error).message})`);
    }
  }
  return () => {
    for (const [file, was] of saved.splice(0)) {
      try {
        writeFileSync(file, was);
        log(`sysctl ${file.slice(10).replaceAll('/', '.')} restored to ${was}`);
      } catch (err) {
        log(`could not restore ${file}: ${(err as Error).message}`);
      }
    }
  };
}

function meminfoMiB(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1] as string] = Number(m[2]) / 1024;
  }
  return out;
}

interface MachineSockets {
  tcpInuse: number;
  tcpMemMiB: number;
  slabMiB: number;
  sunreclaimMiB: number;
  availableMiB: number;
}

function machineSockets(): MachineSockets {
  const sockstat = readFileSync('/proc/net/sockstat', 'utf8');
  const tcp = /TCP: inuse (\d+) .* mem (\d+)/.exec(sockstat);
  const mem = meminfoMiB();
  return {
    tcpInuse: Number(tcp?.[1] ?? Number.NaN),
    tcpMemMiB: (Number(tcp?.[2] ?? Number.NaN) * 4096) / 2 ** 20,
    slabMiB: mem.Slab ?? Number.NaN,
    sunreclaimMiB: mem.SUnreclaim ?? Number.NaN,
    availableMiB: mem.MemAvailable ?? Number.NaN,
  };
}

function mariadbPid(): number | undefined {
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      const pid = Number(execFileSync('pidof', ['-s', name], { encoding: 'utf8' }).trim());
      if (pid > 0) return pid;
    } catch {
      // not this name
    }
  }
  return undefined;
}

/** The server's query counter and its process's CPU seconds (NaN when not local). */
async function mysqlSample(store: BenchStore): Promise<{ queries: number; cpu: number; at: number }> {
  const db = store.settings;
  const conn = await createConnection({
    host: db['mysql.db_host'],
    port: Number(db['mysql.db_port']),
    user: db['mysql.db_user'],
    password: db['mysql.db_passwd'],
    connectTimeout: 30_000,
  });
  try {
    const [rows] = await conn.query("SHOW GLOBAL STATUS LIKE 'Queries'");
    const pid = mariadbPid();
    return {
      // Our own SHOW counts one query; the window subtracts a baseline sampled the same way.
      queries: Number((rows as { Value: string }[])[0]?.Value ?? Number.NaN),
      cpu: pid === undefined ? Number.NaN : cpuSeconds(pid),
      at: performance.now(),
    };
  } finally {
    await conn.end();
  }
}

async function mysqlWindow(store: BenchStore): Promise<{ qps: number; cpuPercent: number }> {
  const a = await mysqlSample(store);
  await sleep(MYSQL_WINDOW_MS);
  const b = await mysqlSample(store);
  const s = (b.at - a.at) / 1000;
  return { qps: (b.queries - a.queries) / s, cpuPercent: (100 * (b.cpu - a.cpu)) / s };
}

async function ensureMysqlConnections(store: BenchStore, needed: number, changed: string[]): Promise<() => Promise<void>> {
  const db = store.settings;
  const conn = await createConnection({ host: db['mysql.db_host'], port: Number(db['mysql.db_port']), user: db['mysql.db_user'], password: db['mysql.db_passwd'] });
  try {
    const [rows] = await conn.query("SHOW GLOBAL VARIABLES LIKE 'max_connections'");
    const was = Number((rows as { Value: string }[])[0]?.Value);
    if (!(was < needed)) return async () => undefined;
    await conn.query(`SET GLOBAL max_connections = ${needed}`);
    changed.push(`MariaDB max_connections ${was} -> ${needed}`);
    log(`MariaDB max_connections: ${was} -> ${needed} (restored afterwards)`);
    return async () => {
      const c = await createConnection({ host: db['mysql.db_host'], port: Number(db['mysql.db_port']), user: db['mysql.db_user'], password: db['mysql.db_passwd'] });
      await c.query(`SET GLOBAL max_connections = ${was}`).finally(() => c.end());
      log(`MariaDB max_connections restored to ${was}`);
    };
  } finally {
    await conn.end();
  }
}

/** 127.0.x.y for client i: distinct source addresses, each with its own ephemeral port space. */
function sourceAddress(i: number): string {
  return `127.0.${Math.floor(i / 200)}.${10 + (i % 200)}`;
}

interface InstanceFigures {
  port: number;
  held: number;
  serverConnections: number | null;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  bytesPerConn: number;
  /** CPU seconds spent accepting and subscribing its connections. */
  setupCpuSeconds: number;
  /** CPU % of one core while idle-holding (pollers only), and CPU seconds per edit's push. */
  idleCpuPercent: number;
  /** CPU seconds of loading one edit without a push (an edit of a module nobody subscribes to). */
  reloadCpuSeconds: number;
  pushCpuSeconds: number[];
}

interface EditFigures {
  p50: number;
  p99: number;
  max: number;
  received: number;
  open: number;
  commitMs: number;
  instanceFirstLastMs: [number, number][];
}

interface SizeRun {
  impl: Impl;
  target: number;
  instances: number;
  perInstance: number;
  held: number;
  setupSeconds: number;
  edits: EditFigures[];
  perInstanceFigures: InstanceFigures[];
  machineBefore: MachineSockets;
  machineHeld: MachineSockets;
  mysqlBaseline: { qps: number; cpuPercent: number };
  mysqlPolling: { qps: number; cpuPercent: number };
  /** MariaDB CPU seconds for every instance's load of one edit. */
  reloadDbCpuSeconds: number;
  clientCpuSeconds: number;
  aborted?: string;
}

function watchMemory(): { check(): void; stop(): void } {
  let low: string | undefined;
  const timer = setInterval(() => {
    const avail = meminfoMiB().MemAvailable ?? Number.POSITIVE_INFINITY;
    if (avail < MIN_AVAILABLE_MIB && low === undefined) {
      low = `MemAvailable ${avail.toFixed(0)} MiB < ${MIN_AVAILABLE_MIB} MiB`;
      log(`aborting this size: ${low}`);
    }
  }, 500);
  return {
    check() {
      if (low !== undefined) throw new SizeAborted(low);
    },
    stop: () => clearInterval(timer),
  };
}

async function measureSize(impl: Impl, target: number, edits: number): Promise<SizeRun> {
  const instances = Math.ceil(target / PER_INSTANCE);
  const perInstance = Math.ceil(target / instances);
  log(`${impl} C=${target}: ${instances} instances x ${perInstance} connections`);
  const machineBefore = machineSockets();
  const store = await createBenchStore('mysql');
  const daemons: Daemon[] = [];
  const clients: Tool[] = [];
  const memory = watchMemory();
  const teardown = async (): Promise<void> => {
    memory.stop();
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    await store.dispose();
  };
  const unregister = onInterrupt(teardown);
  try {
    await writeRoutes(store.store, Array.from({ length: MODULES }, (_, i) => ({ modid: SHARED.modid, cmdid: i + 1 })), NODES);
    const mysqlBaseline = await mysqlWindow(store);
    log(`MariaDB before the pollers: ${mysqlBaseline.qps.toFixed(1)} queries/s, ${mysqlBaseline.cpuPercent.toFixed(1)} % CPU`);

    for (let i = 0; i < instances; i += START_BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(START_BATCH, instances - i) }, async () => {
          // A free port can be taken by a sibling's port-0 listener before this instance binds it:
          // the instance then exits naming the port, and gets another one.
          for (let attempt = 1; ; attempt++) {
            try {
              return await startDaemon('dns', {
                impl,
                readyTimeoutMs: 120_000,
                settings: {
                  ...store.settings,
                  'reactor.ip': '127.0.0.1',
                  'reactor.port': '0',
                  'reactor.maxConn': '1000000',
                  'admin.port': String(await freeTcpPort()),
                  'dns.poll_interval_ms': String(POLL_MS),
                },
              });
            } catch (err) {
              if (attempt >= 3 || !String(err).includes('EADDRINUSE')) throw err;
            }
          }
        }),
      );
      daemons.push(...batch);
      memory.check();
    }
    await sleep(1000);
    const rssBefore = daemons.map((d) => rssKiB(d.pid));
    log(`${instances} instances up (RSS ${(rssBefore.reduce((a, b) => a + b, 0) / 1024).toFixed(0)} MiB in all)`);

    const t0 = performance.now();
    const cpu0 = daemons.map((d) => cpuSeconds(d.pid));
    daemons.forEach((d, i) => {
      clients.push(
        Tool.start(tool('dns-client'), [
          'hold', '--port', String(d.port), '--conns', String(Math.min(perInstance, target - i * perInstance)),
          '--src', sourceAddress(i), '--modid', String(SHARED.modid), '--cmdid', String(SHARED.cmdid),
          '--extra', String(EXTRA), '--modules', String(MODULES), '--timeout', '900',
        ]),
      );
    });
    let held = 0;
    for (const c of clients) {
      for (;;) {
        memory.check();
        try {
          held += Number((await c.next('ready', 2_000)).subscribed);
          break;
        } catch (err) {
          if (!/no "ready" event/.test((err as Error).message)) throw err;
        }
      }
    }
    const setupSeconds = (performance.now() - t0) / 1000;
    log(`${impl}: ${held} of ${target} connections subscribed in ${setupSeconds.toFixed(1)} s`);
    await sleep(2000);
    const rssAfter = daemons.map((d) => rssKiB(d.pid));
    const machineHeld = machineSockets();
    const idle0 = daemons.map((d) => cpuSeconds(d.pid));
    const mysqlPolling = await mysqlWindow(store);
    const idleCpu = daemons.map((d, i) => (100 * (cpuSeconds(d.pid) - (idle0[i] as number))) / (MYSQL_WINDOW_MS / 1000));
    log(`MariaDB with ${instances} pollers: ${mysqlPolling.qps.toFixed(1)} queries/s, ${mysqlPolling.cpuPercent.toFixed(1)} % CPU`);
    const connections = await Promise.all(
      daemons.map(async (d) => (d.adminPort === undefined ? null : ((await scrapeMetrics(d.adminPort).catch(() => new Map<string, number>())).get('lars_dns_connections') ?? null))),
    );
    const setupCpu = daemons.map((d, i) => (idle0[i] as number) - (cpu0[i] as number));

    // An edit of a module nobody subscribes to: what every instance's load of the change costs
    // (its CPU, and MariaDB's), without a push. Window: two polls and a margin, idle CPU removed.
    const reloadWindowMs = 2 * POLL_MS + 1000;
    const unsub0 = daemons.map((d) => cpuSeconds(d.pid));
    const unsubDb0 = await mysqlSample(store);
    await store.store.applyRouteChange([{ op: 'replace', modid: SHARED.modid + 1, cmdid: 1, hosts: [{ ip: nodeIp(7), port: 9000 }] }]);
    await sleep(reloadWindowMs);
    const unsubDb1 = await mysqlSample(store);
    const reloadCpu = daemons.map((d, i) => cpuSeconds(d.pid) - (unsub0[i] as number) - ((idleCpu[i] as number) / 100) * (reloadWindowMs / 1000));
    const reloadDbCpuSeconds = unsubDb1.cpu - unsubDb0.cpu - (mysqlPolling.cpuPercent / 100) * ((unsubDb1.at - unsubDb0.at) / 1000);
    log(`load per edit: instance CPU ${(1000 * mean(reloadCpu)).toFixed(0)} ms each; MariaDB ${(1000 * reloadDbCpuSeconds).toFixed(0)} ms for all ${instances}`);

    const heldBy = clients.map((c) => Number(c.events.find((e) => e.event === 'ready')?.subscribed ?? 0));
    const pushCpu: number[][] = daemons.map(() => []);
    const out: EditFigures[] = [];
    for (let k = 1; k <= edits; k++) {
      memory.check();
      const before = daemons.map((d) => cpuSeconds(d.pid));
      const hosts = Array.from({ length: NODES }, (_, i) => ({ ip: nodeIp(100_000 * k + i), port: 9000 + i }));
      const t = performance.now();
      await store.store.applyRouteChange([{ op: 'replace', ...SHARED, hosts }]);
      const commitUs = Date.now() * 1000;
      const commitMs = performance.now() - t;
      const open = await waitForPushRound(clients, k, 30_000, 250);
      daemons.forEach((d, i) => pushCpu[i]!.push(cpuSeconds(d.pid) - (before[i] as number)));
      const lat: number[] = [];
      // Per instance: its first and last arrival (the poll's wait, then its fan-out).
      const span: [number, number][] = [];
      for (const arrivals of await pushArrivals(clients, k, 120_000)) {
        let first = Number.POSITIVE_INFINITY;
        let last = Number.NEGATIVE_INFINITY;
        for (const a of arrivals) {
          const ms = (a - commitUs) / 1000;
          lat.push(ms);
          first = Math.min(first, ms);
          last = Math.max(last, ms);
        }
        span.push([Math.round(first), Math.round(last)]);
      }
      const s = summarize(lat);
      out.push({ p50: s.p50, p99: s.p99, max: s.max, received: lat.length, open, commitMs, instanceFirstLastMs: span });
      log(`  per instance first..last ms: ${span.map(([a, b]) => `${a}..${b}`).join(' ')}`);
      log(`${impl} C=${target} edit ${k}: ${lat.length} of ${open} open connections pushed, p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms, max ${s.max.toFixed(0)} ms`);
      await sleep(1500 + Math.random() * POLL_MS);
    }
    const clientCpuSeconds = clients.reduce((sum, c) => sum + cpuSeconds(c.pid), 0);
    return {
      impl,
      target,
      instances,
      perInstance,
      held,
      setupSeconds,
      edits: out,
      perInstanceFigures: daemons.map((d, i) => ({
        port: d.port as number,
        held: heldBy[i] as number,
        serverConnections: connections[i] ?? null,
        rssBeforeMiB: (rssBefore[i] as number) / 1024,
        rssAfterMiB: (rssAfter[i] as number) / 1024,
        bytesPerConn: ((rssAfter[i] as number) - (rssBefore[i] as number)) * 1024 / Math.max(1, heldBy[i] as number),
        setupCpuSeconds: setupCpu[i] as number,
        idleCpuPercent: idleCpu[i] as number,
        reloadCpuSeconds: reloadCpu[i] as number,
        pushCpuSeconds: pushCpu[i] as number[],
      })),
      machineBefore,
      machineHeld,
      mysqlBaseline,
      mysqlPolling,
      reloadDbCpuSeconds,
      clientCpuSeconds,
    };
  } catch (err) {
    log(`${impl} C=${target} failed: ${(err as Error).stack ?? String(err)}`);
    throw err;
  } finally {
    // A teardown error must not hide the measurement's own; the database drop is retried.
    await teardown().catch(async (err: unknown) => {
      log(`teardown: ${(err as Error).message}; retrying the database drop`);
      for (let attempt = 1; attempt <= 5; attempt++) {
        await sleep(5000);
        if (await store.dispose().then(() => true, () => false)) return;
      }
      log('the database could not be dropped: drop it by hand');
    });
    unregister();
    // The kernel frees a million sockets in the background: wait until it has, so the next size
    // starts from the same baseline.
    const deadline = Date.now() + 60_000;
    while (machineSockets().tcpInuse > machineBefore.tcpInuse + 1000 && Date.now() < deadline) await sleep(500);
    log(`torn down: TCP sockets in use ${machineSockets().tcpInuse} (before: ${machineBefore.tcpInuse})`);
  }
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
const worst = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : Math.max(...xs));

/** One store call an instance makes, measured alone: CPU per call of MariaDB and of the caller. */
interface StoreCallCost {
  readonly call: string;
  readonly calls: number;
  readonly dbMs: number;
  readonly callerMs: number;
}

/**
 * What each poller asks of MariaDB, call by call, without the load of the sizes: the inputs of
 * the capacity model (docs/capacity.md). On the same table as the sizes, before them.
 */
async function measureStoreCalls(quick: boolean): Promise<StoreCallCost[]> {
  const bench = await createBenchStore('mysql');
  const pid = mariadbPid();
  try {
    const { store } = bench;
    await writeRoutes(store, Array.from({ length: MODULES }, (_, i) => ({ modid: SHARED.modid, cmdid: i + 1 })), NODES);
    const before = (await store.loadRouteTable()).lastChangeId;
    await store.applyRouteChange([{ op: 'replace', ...SHARED, hosts: Array.from({ length: NODES }, (_, i) => ({ ip: nodeIp(900_000 + i), port: 9000 + i })) }]);
    const scale = quick ? 0.2 : 1;
    const calls: [string, number, () => Promise<unknown>][] = [
      ['version poll (RouteVersion)', 2000, () => store.getVersion()],
      [`delta load (1 edited module of ${NODES} nodes)`, 500, () => store.loadRouteChanges(before, 256)],
      [`digest check (${MODULES * NODES} rows)`, 300, () => store.routesDigest()],
      [`full load (${MODULES * NODES} rows, with module digests)`, 100, () => store.loadRouteTable()],
    ];
    const out: StoreCallCost[] = [];
    for (const [call, n0, fn] of calls) {
      const n = Math.max(10, Math.round(n0 * scale));
      await fn();
      const db0 = pid === undefined ? Number.NaN : cpuSeconds(pid);
      const me0 = process.cpuUsage();
      for (let i = 0; i < n; i++) await fn();
      const me = process.cpuUsage(me0);
      const db = pid === undefined ? Number.NaN : cpuSeconds(pid) - db0;
      out.push({ call, calls: n, dbMs: (1000 * db) / n, callerMs: (me.user + me.system) / 1000 / n });
      log(`${call}: MariaDB ${((1000 * db) / n).toFixed(2)} ms, caller ${((me.user + me.system) / 1000 / n).toFixed(2)} ms per call (${n} calls)`);
    }
    return out;
  } finally {
    await bench.dispose();
  }
}

function storeCallFigures(costs: readonly StoreCallCost[]): Figure[] {
  return costs.flatMap((c, i) => [
    valueFigure({ id: `store_call_${i}_db_ms`, label: `one poller's ${c.call}, alone: MariaDB CPU per call`, unit: 'ms' }, [c.dbMs]),
    valueFigure({ id: `store_call_${i}_caller_ms`, label: `one poller's ${c.call}, alone: instance CPU per call`, unit: 'ms' }, [c.callerMs]),
  ]);
}

function sizeFigures(r: SizeRun): Figure[] {
  const tag = `${r.impl} C=${r.target} K=${r.instances}`;
  const id = `${r.impl}_${r.target}`;
  const per = r.perInstanceFigures;
  const pushSeconds = per.map((p) => mean(p.pushCpuSeconds));
  const pushes = r.edits.length > 0 ? mean(r.edits.map((e) => e.received)) : Number.NaN;
  const kernelBytes = ((r.machineHeld.slabMiB - r.machineBefore.slabMiB) * 2 ** 20) / Math.max(1, r.held);
  const f = (fid: string, label: string, unit: string, samples: number[], extra: Partial<Figure> = {}): Figure => ({
    ...valueFigure({ id: `${id}_${fid}`, label: `${tag}: ${label}`, unit }, samples),
    ...extra,
  });
  const full = r.target === 1_000_000;
  return [
    f('held', 'subscribed connections held', 'conns', [r.held], full ? { target: '1 000 000', met: judge(r.held, (v) => v >= 1_000_000) } : {}),
    f('p50_ms', 'one edit -> every connection, p50', 'ms', r.edits.map((e) => e.p50)),
    f('p99_ms', 'one edit -> every connection, p99 (worst edit)', 'ms', [worst(r.edits.map((e) => e.p99))], { target: '< 1500', met: judge(worst(r.edits.map((e) => e.p99)), (v) => v < 1500) }),
    f('max_ms', 'one edit -> every connection, max (worst edit)', 'ms', [worst(r.edits.map((e) => e.max))], { target: '< 2000', met: judge(worst(r.edits.map((e) => e.max)), (v) => v < 2000) }),
    f('bytes_per_conn', 'instance user-space bytes per idle subscribed connection', 'B', per.map((p) => p.bytesPerConn), r.impl === 'native' ? { target: '< 2048', met: judge(mean(per.map((p) => p.bytesPerConn)), (v) => v < 2048) } : {}),
    f('kernel_bytes_per_conn', 'kernel slab bytes per connection (both ends)', 'B', [kernelBytes]),
    f('instance_base_mib', 'instance RSS before connections', 'MiB', per.map((p) => p.rssBeforeMiB)),
    f('instance_rss_mib', 'instance RSS holding its connections', 'MiB', per.map((p) => p.rssAfterMiB)),
    f('reload_cpu_ms', 'instance CPU per edit for loading it (no push)', 'ms', per.map((p) => 1000 * p.reloadCpuSeconds)),
    f('reload_db_cpu_ms', `MariaDB CPU per edit for ${r.instances} instances' loads`, 'ms', [1000 * r.reloadDbCpuSeconds]),
    f('push_cpu_us', 'instance CPU per pushed connection (load removed)', 'us', [(1e6 * pushSeconds.reduce((a, b, i) => a + b - (per[i]?.reloadCpuSeconds ?? 0), 0)) / pushes]),
    f('setup_cpu_us', 'instance CPU per accepted and subscribed connection', 'us', [(1e6 * per.reduce((a, p) => a + p.setupCpuSeconds, 0)) / Math.max(1, r.held)]),
    f('idle_cpu_pct', 'instance CPU while holding (poller), % of a core', '%', per.map((p) => p.idleCpuPercent)),
    f('mysql_qps', `MariaDB queries/s caused by ${r.instances} pollers`, 'q/s', [r.mysqlPolling.qps - r.mysqlBaseline.qps]),
    f('mysql_cpu_pct', `MariaDB CPU caused by ${r.instances} pollers, % of a core`, '%', [r.mysqlPolling.cpuPercent - r.mysqlBaseline.cpuPercent], { target: '< 5', met: judge(r.mysqlPolling.cpuPercent - r.mysqlBaseline.cpuPercent, (v) => v < 5) }),
  ];
}

void benchMain({
  name: 'dns-cluster',
  title: 'DNS cluster: K instances on one MariaDB, C subscribed connections, one edit to all',
  kind: 'macro',
  async run(ctx) {
    const env = process.env.LARS_BENCH_CLUSTER_SIZES;
    const nativeSizes = env ? env.split(',').map(Number) : ctx.quick ? [20_000] : [100_000, 500_000, 1_000_000];
    const tsSizes = env ? nativeSizes.slice(0, 1) : ctx.quick ? [20_000] : [100_000];
    const edits = ctx.quick ? 1 : Math.max(3, ctx.runs);
    const sysctls: string[] = [];
    const restoreSysctls = raiseSysctls(sysctls);
    const unregister = onInterrupt(async () => restoreSysctls());
    const notes: string[] = [];
    const runs: SizeRun[] = [];
    const storeCalls = await measureStoreCalls(ctx.quick);
    let restoreMysql: () => Promise<void> = async () => undefined;
    try {
      const plan: [Impl, number][] = [
        ...(ctx.impls.includes('native') ? nativeSizes.map((c): [Impl, number] => ['native', c]) : []),
        ...(ctx.impls.includes('ts') ? tsSizes.map((c): [Impl, number] => ['ts', c]) : []),
      ];
      const maxInstances = Math.max(...plan.map(([, c]) => Math.ceil(c / PER_INSTANCE)));
      {
        const probe = await createBenchStore('mysql');
        try {
          restoreMysql = await ensureMysqlConnections(probe, maxInstances * 4 + 50, sysctls);
        } finally {
          await probe.dispose();
        }
      }
      const unregisterMysql = onInterrupt(() => restoreMysql());
      let skipNative = false;
      for (const [impl, target] of plan) {
        if (impl === 'native' && skipNative) {
          notes.push(`${impl} C=${target} not run: a smaller size was aborted`);
          continue;
        }
        try {
          runs.push(await measureSize(impl, target, edits));
        } catch (err) {
          const why = (err as Error).message.split('\n')[0];
          notes.push(`${impl} C=${target} aborted: ${why}`);
          log(`${impl} C=${target} aborted: ${why}`);
          if (impl === 'native') skipNative = true;
        }
      }
      unregisterMysql();
    } finally {
      await restoreMysql().catch((err: unknown) => log(`could not restore max_connections: ${String(err)}`));
      restoreSysctls();
      unregister();
    }
    if (sysctls.length > 0) notes.push(`raised for the run and restored after: ${sysctls.join('; ')}`);
    notes.push(`${EXTRA + 1} subscriptions per connection (module (1,1) shared by all, ${EXTRA} of ${MODULES} others); pollers every ${POLL_MS} ms; ${edits} edit(s) per size`);
    for (const r of runs) {
      const e = r.edits;
      notes.push(
        `${r.impl} C=${r.target}: ${r.held} held by ${r.instances} instances in ${r.setupSeconds.toFixed(0)} s; ` +
          `edits p99 ${e.map((x) => x.p99.toFixed(0)).join('/')} ms, max ${e.map((x) => x.max.toFixed(0)).join('/')} ms; ` +
          `kernel: TCP sockets ${r.machineHeld.tcpInuse}, slab +${(r.machineHeld.slabMiB - r.machineBefore.slabMiB).toFixed(0)} MiB, ` +
          `MemAvailable ${r.machineBefore.availableMiB.toFixed(0)} -> ${r.machineHeld.availableMiB.toFixed(0)} MiB`,
      );
    }
    return {
      figures: [...storeCallFigures(storeCalls), ...runs.flatMap(sizeFigures)],
      notes,
      details: { perInstance: PER_INSTANCE, modules: MODULES, nodes: NODES, extraSubscriptions: EXTRA, pollMs: POLL_MS, edits, sysctls, storeCalls, runs },
      status: runs.length === 0 ? 'failed' : notes.some((n) => / aborted| not run/.test(n)) ? 'partial' : 'ok',
    };
  },
});
