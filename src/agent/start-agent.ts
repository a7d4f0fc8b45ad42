// Assembles a LoadBalance agent from its config: the core (native or TS) on three UDP ports, the
// DNS client feeding it routes, the Report client taking its reports, metrics and the admin
// endpoint. Serving starts at once and never waits on DNS, the Report service or MySQL: routes
// come from the route cache on disk until DNS answers.
import { resolve } from 'node:path';
import { adminListeningLine, maybeStartAdminServer } from '../admin/admin-server.js';
import { MetricSet } from '../admin/metrics.js';
import type { AgentConfig } from '../config/types.js';
import { implementation, type Implementation } from '../native/addon.js';
import type { RunningRole } from '../running-role.js';
import { MsgId, ipToInt32 } from '../wire/messages.js';
import type { AgentCore, AgentCoreOptions } from './agent-core.js';
import { registerAgentMetrics } from './agent-metrics.js';
import { AgentRouteCache } from './agent-route-cache.js';
import type { BackoffOptions } from './backoff.js';
import { DnsClient } from './dns-client.js';
import { Registrations } from './registrations.js';
import { ReportClient } from './report-client.js';
import { TsAgentCore } from './ts-agent-core.js';

export interface RunningAgent extends RunningRole {
  /** The base port (the first of the three). */
  readonly port: number;
  /** [base, base + 1, base + 2]; a module's port is ports[(modid + cmdid) % 3]. */
  readonly ports: readonly number[];
  readonly adminPort: number;
  readonly core: AgentCore;
  readonly dns: DnsClient;
  readonly reporter: ReportClient;
  readonly registrations: Registrations;
  readonly metrics: MetricSet;
  /** The route cache on disk; undefined when [agent] cache_dir is empty (or unusable). */
  readonly cache: AgentRouteCache | undefined;
}

export interface StartAgentOptions {
  /** Reconnect backoff of both TCP clients (default: 100 ms doubling to 5 s, jittered). */
  readonly backoff?: BackoffOptions;
}

/** Where SDKs on this host find the local view, or why there is none. */
function viewLine(impl: Implementation, viewDir: string, ports: readonly number[]): string {
  if (viewDir === '') return 'no local view ([agent] view_dir is empty): SDKs use UDP';
  if (impl === 'ts') return 'no local view (the TypeScript agent does not write one): SDKs use UDP';
  return `local view in ${resolve(viewDir)}/lars-agent-{${ports.join(',')}}.view`;
}

async function createCore(impl: Implementation, opts: AgentCoreOptions): Promise<AgentCore> {
  if (impl === 'ts') return new TsAgentCore(opts);
  const { NativeAgentCore } = await import('./native-agent-core.js');
  return new NativeAgentCore(opts);
}

export async function startAgent(config: AgentConfig, options: StartAgentOptions = {}): Promise<RunningAgent> {
  const impl = implementation(config.impl);
  // Read before the core exists, so that cached routes are held before it answers anything.
  const cache = config.agent.cacheDir === '' ? undefined : await AgentRouteCache.open(resolve(config.agent.cacheDir), config.agent.cacheMaxAgeMs);
  // The clients and the core refer to each other only through these callbacks.
  let core: AgentCore | undefined;
  let registrations: Registrations | undefined;
  const dns = new DnsClient({
    endpoints: config.dnsserver.endpoints,
    backoff: options.backoff,
    onConnected: () => {
      core?.onDnsReconnected();
      registrations?.onDnsReconnected();
    },
    onRoute: (route, body) => {
      core?.applyRoute(route.modid, route.cmdid, route.host, route.policy);
      cache?.onRoute(route.modid, route.cmdid, route.host, body);
    },
  });
  const reporter = new ReportClient({
    endpoint: config.reporter.endpoint,
    caller: ipToInt32(config.agent.callerIp),
    backoff: options.backoff,
  });
  const regs = new Registrations({ sendLeases: (leases) => dns.sendLeases(leases) });
  registrations = regs;
  core = await createCore(impl, {
    ip: config.agent.ip,
    port: config.agent.port,
    reportIntervalMs: config.agent.reportIntervalMs,
    busyPollUs: config.agent.busyPollUs,
    loadbalance: config.loadbalance,
    zone: config.agent.zone,
    limits: { maxEmptyRoutes: config.agent.maxEmptyRoutes, maxNewPullsPerS: config.agent.maxNewPullsPerS },
    viewDir: config.agent.viewDir === '' ? '' : resolve(config.agent.viewDir),
    onPulls: (modules) => dns.requestRoutes(modules),
    onReports: (reports) => reporter.send(reports),
    onRegisters: (frames) => {
      for (const f of frames) {
        const rsp = regs.onRequest(f.body);
        if (rsp !== undefined) core?.reply(f, MsgId.RegisterResponse, rsp);
      }
    },
  });
  // The cached routes are held before the first datagram is read; the first DNS connect pulls them again.
  const ports = await core.listen(cache?.takeSeeds() ?? []);
  dns.start();
  reporter.start();

  const metrics = new MetricSet('lars_agent');
  registerAgentMetrics(metrics, core, dns, reporter, cache, config.admin.maxNodeSeries, config.agent.zone);
  const r = () => regs.stats();
  metrics.gaugeFrom('registrations', 'Registrations held (renewed by their instance within their ttl)', () => r().registrations);
  metrics.counterFrom('registers_accepted_total', 'RegisterRequests accepted (registrations, renewals, deregistrations)', () => r().accepted);
  metrics.counterFrom('registers_refused_total', 'RegisterRequests refused as malformed (answered RET_SYSTEM_ERROR)', () => r().refused + r().badBodies);
  metrics.counterFrom('registrations_expired_total', 'Registrations forgotten because their instance stopped renewing', () => r().expired);
  metrics.counterFrom('leases_sent_total', 'Leases sent to the DNS service in LeaseRequest batches', () => r().leasesSent);
  metrics.counterFrom('leases_unsent_total', 'Leases not sent while the DNS connection was down or backed up (all re-sent on connect)', () => r().leasesUnsent);
  const running = core;
  let admin;
  try {
    // Serving does not depend on DNS or the Report service, so neither makes the agent unhealthy.
    admin = await maybeStartAdminServer(config.admin, metrics.registry, () => {
      const s = running.stats();
      return {
        ok: true,
        impl,
        ports,
        routes: s.ports.reduce((n, p) => n + p.routes, 0),
        dns: dns.stats(),
        reporter: reporter.stats(),
      };
    });
  } catch (err) {
    regs.close();
    await Promise.all([dns.stop(), reporter.stop(), running.close(), cache?.close()]);
    throw err;
  }
  const endpoints = config.dnsserver.endpoints.map((e) => `${e.ip}:${e.port}`).join(', ');
  return {
    port: ports[0]!,
    ports,
    adminPort: admin?.port ?? 0,
    core: running,
    dns,
    reporter,
    registrations: regs,
    metrics,
    cache,
    listening: [
      `LoadBalance agent (${impl}) listening on UDP ${config.agent.ip}:${ports.join(', ')}; caller ${config.agent.callerIp}; ${config.agent.zone === '' ? 'no zone' : `zone ${config.agent.zone}`}`,
      `DNS service ${endpoints}; Report service ${config.reporter.endpoint.ip}:${config.reporter.endpoint.port}; reports every ${config.agent.reportIntervalMs} ms`,
      adminListeningLine(config.admin, admin),
      cache ? `route cache in ${resolve(config.agent.cacheDir)} (${cache.stats().loaded} routes loaded)` : 'no route cache on disk ([agent] cache_dir is empty or unusable)',
      viewLine(impl, config.agent.viewDir, ports),
    ],
    async stop() {
      regs.close();
      await dns.stop();
      // No more routes arrive: a clean stop writes every route change still pending.
      await cache?.close();
      // Closing the core hands its last reports to the Report client, which sends them as it closes.
      await running.close();
      await reporter.stop();
      await admin?.close();
    },
  };
}
