// Macro: registration with leases (EXTENSIONS.md §4), DNS and agents as daemons on MariaDB.
// 1. register -> get_host: a RegisterRequest for a node of a module the agent already asked for,
//    then get_host every PROBE_MS until it returns that node (agent -> DNS lease batch -> store
//    route-change transaction -> DNS reload -> push -> agent); p50/p99 per agent implementation.
// 2. renewal throughput: LEASES registrations re-sent in rounds for WINDOW_S; the DNS's own
//    lars_dns_leases_renewed_total per second, beside MariaDB's Com_* statement counters (global
//    to the server: anything else running on it is counted too).
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { createConnection } from 'mysql2/promise';
import { AgentApi, agentCommandAvailable, type ModuleId } from '../lib/agent-stack.js';
import { createBenchStore } from '../lib/store.js';
import { freeTcpPort, freeUdpPorts, scrapeMetrics, sleep, startDaemon, type Daemon, type Impl } from '../lib/process.js';
import { benchMain, implFigure, type Figure } from '../lib/result.js';
import { percentile } from '../lib/stats.js';
import { encodeFrame } from '../../src/wire/frame.js';
import { MsgId, encodeBody, ipToInt32 } from '../../src/wire/messages.js';

const PROBE_MS = 2;
const STATEMENTS = ['Com_select', 'Com_insert', 'Com_update', 'Com_delete', 'Com_commit'];

function registerFrame(modid: number, cmdid: number, ip: string, port: number, ttlMs: number, seq = 0): Buffer {
  return encodeFrame(MsgId.RegisterRequest, encodeBody(MsgId.RegisterRequest, { seq, modid, cmdid, host: { ip: ipToInt32(ip), port }, ttlMs, deregister: false }));
}

async function statements(config: Parameters<typeof createConnection>[0]): Promise<number> {
  const conn = await createConnection(config);
  try {
    const [rows] = await conn.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${STATEMENTS.map((s) => `'${s}'`).join(', ')})`);
    return (rows as { Value: string }[]).reduce((n, r) => n + Number(r.Value), 0);
  } finally {
    await conn.end();
  }
}

/** The connection options of the bench database, from its daemon settings. */
function mysqlOf(settings: Record<string, string>) {
  return { host: settings['mysql.db_host'], port: Number(settings['mysql.db_port']), user: settings['mysql.db_user'], password: settings['mysql.db_passwd'] };
}

async function startAgentDaemon(impl: Impl, dnsPort: number): Promise<{ daemon: Daemon; base: number }> {
  const base = await freeUdpPorts(3);
  const daemon = await startDaemon('agent', {
    impl,
    settings: {
      'agent.ip': '127.0.0.1',
      'agent.port': String(base),
      'agent.caller_ip': '127.0.0.1',
      'agent.cache_dir': '',
      'dnsserver.ip': '127.0.0.1',
      'dnsserver.port': String(dnsPort),
      'admin.port': String(await freeTcpPort()),
    },
  });
  return { daemon, base };
}

void benchMain({
  name: 'registration',
  title: 'Registration with leases: register -> get_host, renewals per DNS instance',
  kind: 'macro',
  async run(ctx) {
    if (!agentCommandAvailable()) return { figures: [], notes: ['`lars agent` is not available in this build: not measured'], status: 'skipped' };
    const registers = ctx.quick ? 10 : 50;
    const leases = ctx.quick ? 2000 : 10_000;
    const windowS = ctx.quick ? 3 : 10;
    const bench = await createBenchStore('mysql');
    const dbConfig = mysqlOf(bench.settings);
    const daemons: Daemon[] = [];
    const sender = createSocket('udp4');
    try {
      const dnsAdmin = await freeTcpPort();
      const dns = await startDaemon('dns', {
        impl: ctx.impls.includes('native') ? 'native' : 'ts',
        settings: { ...bench.settings, 'reactor.ip': '127.0.0.1', 'reactor.port': '0', 'admin.port': String(dnsAdmin), 'dns.poll_interval_ms': '1000' },
      });
      daemons.push(dns);
      const latency: Partial<Record<Impl, number[]>> = {};
      const renewRate: Partial<Record<Impl, number[]>> = {};
      const stmtRate: Partial<Record<Impl, number[]>> = {};
      const details: Record<string, unknown> = { registers, leases, windowS, probeMs: PROBE_MS };
      for (const impl of ctx.impls) {
        const agent = await startAgentDaemon(impl, dns.port!);
        daemons.push(agent.daemon);
        const api = new AgentApi(agent.base);
        try {
          // 1. register -> get_host, one fresh module per registration (subscribed first).
          const samples: number[] = [];
          for (let i = 0; i < registers; i++) {
            const m: ModuleId = { modid: impl === 'native' ? 8000 + i : 9000 + i, cmdid: 1 };
            await api.getHost(m);
            await sleep(20); // the (empty) route pulled and subscribed before the registration
            const t0 = performance.now();
            sender.send(registerFrame(m.modid, m.cmdid, '10.80.0.1', 7000 + i, 600_000), api.portOf(m), '127.0.0.1');
            for (;;) {
              const r = await api.getHost(m, 200);
              if (r?.retcode === 0) break;
              if (performance.now() - t0 > 10_000) throw new Error(`the ${impl} agent never returned the registered node of module ${m.modid}`);
              await sleep(PROBE_MS);
            }
            samples.push(performance.now() - t0);
          }
          latency[impl] = samples;
          ctx.log(`${impl}: register -> get_host p50 ${percentile(samples, 0.5).toFixed(1)} ms, p99 ${percentile(samples, 0.99).toFixed(1)} ms`);

          // 2. renewals: every lease re-sent each round (as instances renew every ttl/3).
          const frames = Array.from({ length: leases }, (_, k) => ({
            frame: registerFrame(impl === 'native' ? 8500 : 9500, 1 + (k % 10), '10.81.0.1', 1000 + Math.floor(k / 10), 60_000),
            port: api.portOf({ modid: impl === 'native' ? 8500 : 9500, cmdid: 1 + (k % 10) }),
          }));
          const sendAll = async () => {
            for (let k = 0; k < frames.length; k++) {
              sender.send(frames[k]!.frame, frames[k]!.port, '127.0.0.1');
              if (k % 500 === 499) await new Promise((r) => setImmediate(r));
            }
          };
          // First registrations (nodes added through the route-change transaction): not measured.
          const addedBefore = (await scrapeMetrics(dnsAdmin)).get('lars_dns_leases_added_total') ?? 0;
          const addDeadline = performance.now() + 60_000;
          await sendAll();
          while (((await scrapeMetrics(dnsAdmin)).get('lars_dns_leases_added_total') ?? 0) - addedBefore < leases && performance.now() < addDeadline) {
            await sleep(200);
            await sendAll();
          }
          const m0 = await scrapeMetrics(dnsAdmin);
          const s0 = await statements(dbConfig);
          const t0 = performance.now();
          while (performance.now() - t0 < windowS * 1000) {
            await sendAll();
            await sleep(100);
          }
          await sleep(200);
          const seconds = (performance.now() - t0) / 1000;
          const m1 = await scrapeMetrics(dnsAdmin);
          const a1 = agent.daemon.adminPort === undefined ? new Map<string, number>() : await scrapeMetrics(agent.daemon.adminPort);
          const s1 = await statements(dbConfig);
          const renewed = (m1.get('lars_dns_leases_renewed_total') ?? 0) - (m0.get('lars_dns_leases_renewed_total') ?? 0);
          const batches = (m1.get('lars_dns_lease_batches_total') ?? 0) - (m0.get('lars_dns_lease_batches_total') ?? 0);
          renewRate[impl] = [renewed / seconds];
          stmtRate[impl] = [(s1 - s0) / seconds];
          details[`${impl}_renewal`] = {
            renewed,
            batches,
            statements: s1 - s0,
            seconds,
            agentAccepted: a1.get('lars_agent_registers_accepted_total'),
            agentLeasesSent: a1.get('lars_agent_leases_sent_total'),
            agentLeasesUnsent: a1.get('lars_agent_leases_unsent_total'),
          };
          ctx.log(`${impl} agent: ${(renewed / seconds).toFixed(0)} leases renewed/s in ${batches} batches, ${((s1 - s0) / seconds).toFixed(0)} MySQL statements/s; agent ${JSON.stringify(details[`${impl}_renewal`])}`);
        } finally {
          api.close();
          const errors = agent.daemon.stderr().split('\n').filter((l) => / (ERROR|WARN) /.test(l) && !l.includes('Report service'));
          if (errors.length > 0) details[`${impl}_agent_log`] = errors.slice(-20);
        }
      }
      const figures: Figure[] = [
        implFigure({ id: 'register_to_get_host_p50_ms', label: `register -> get_host, p50 over ${registers} (the agent's implementation)`, unit: 'ms' }, { native: latency.native && [percentile(latency.native, 0.5)], ts: latency.ts && [percentile(latency.ts, 0.5)] }),
        implFigure({ id: 'register_to_get_host_p99_ms', label: `register -> get_host, p99 over ${registers}`, unit: 'ms' }, { native: latency.native && [percentile(latency.native, 0.99)], ts: latency.ts && [percentile(latency.ts, 0.99)] }),
        implFigure({ id: 'leases_renewed_per_s', label: `leases renewed/s by one DNS instance (${leases} leases re-sent through the agent)`, unit: '1/s' }, renewRate),
        implFigure({ id: 'mysql_statements_per_s', label: 'MySQL statements/s meanwhile (Com_select+insert+update+delete+commit, server-wide)', unit: '1/s' }, stmtRate),
      ];
      return {
        figures,
        details,
        notes: [
          'register -> get_host: from sending the RegisterRequest to the first get_host (every 2 ms) answering the node; the module was subscribed first',
          'renewals are offered as fast as the agent takes them (all leases each round, 100 ms apart); the DNS writes them in one transaction per 50 ms batch',
          'the DNS runs the native implementation when native is measured; the agent implementation is the column',
        ],
      };
    } finally {
      sender.close();
      for (const d of daemons.reverse()) await d.stop();
      await bench.dispose();
    }
  },
});
