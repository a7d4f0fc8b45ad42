// Assembles a DNS service from its config: store, frontend (native or TS), control plane,
// metrics and the admin endpoint.
import { adminListeningLine, maybeStartAdminServer, type AdminServer } from '../admin/admin-server.js';
import { MetricSet } from '../admin/metrics.js';
import type { DnsConfig } from '../config/types.js';
import { implementation } from '../native/addon.js';
import { DEFAULT_OUTPUT_CAP_BYTES } from '../net/tcp-frame-server.js';
import type { RunningRole } from '../running-role.js';
import { openStore } from '../store/index.js';
import { type DnsFrontend, type DnsFrontendOptions } from './dns-frontend.js';
import { DnsService } from './dns-service.js';
import { LeaseWriter } from './lease-writer.js';
import { TsDnsFrontend } from './ts-dns-frontend.js';

export interface RunningDns extends RunningRole {
  readonly port: number;
  readonly adminPort: number;
  readonly service: DnsService;
  readonly frontend: DnsFrontend;
  readonly leases: LeaseWriter;
}

async function createFrontend(impl: 'native' | 'ts', opts: DnsFrontendOptions): Promise<DnsFrontend> {
  if (impl === 'ts') return new TsDnsFrontend(opts);
  const { NativeDnsFrontend } = await import('./native-dns-frontend.js');
  return new NativeDnsFrontend(opts);
}

function registerMetrics(metrics: MetricSet, service: DnsService, frontend: DnsFrontend, leases: LeaseWriter): void {
  const l = () => leases.stats();
  metrics.counterFrom('lease_frames_total', 'LeaseRequest frames received from agents', () => frontend.stats().leaseFrames);
  metrics.counterFrom('lease_frames_dropped_total', 'LeaseRequest frames dropped because the lease writer fell behind', () => frontend.stats().leaseFramesDropped);
  metrics.counterFrom('lease_batches_total', 'Lease batches written (one store transaction each)', () => l().batches);
  metrics.counterFrom('leases_renewed_total', 'Leases renewed', () => l().renewed);
  metrics.counterFrom('leases_added_total', 'Nodes added by a first registration', () => l().added);
  metrics.counterFrom('leases_removed_total', 'Nodes removed by a deregistration', () => l().removed);
  metrics.counterFrom('leases_reaped_total', 'Expired leases removed by this instance', () => l().reaped);
  metrics.counterFrom('leases_refused_static_total', "Registrations refused: they named an operator's static node", () => l().refusedStatic);
  metrics.counterFrom('leases_refused_full_total', 'Registrations refused: [dns] max_leases reached', () => l().refusedFull);
  metrics.counterFrom('leases_refused_invalid_total', 'Leases refused: malformed', () => l().refusedInvalid + l().badBodies);
  metrics.counterFrom('lease_store_errors_total', 'Lease batches or reaps that failed in the store', () => l().storeErrors);
  const f = () => frontend.stats();
  const s = () => service.stats();
  metrics.gaugeFrom('connections', 'Open agent connections', () => f().connections);
  metrics.gaugeFrom('subscriptions', 'Module subscriptions over all connections', () => f().subscriptions);
  metrics.counterFrom(
    'subscriptions_refused_total',
    'Requests answered but not subscribed: the connection was at [reactor] max_subscriptions_per_conn',
    () => f().subscriptionsRefused,
  );
  metrics.counterFrom('connections_accepted_total', 'Connections accepted', () => f().accepted);
  metrics.counterFrom('connections_rejected_total', 'Connections closed at once because maxConn was reached', () => f().rejectedMaxConn);
  metrics.counterFrom('frames_in_total', 'Frames received', () => f().framesIn);
  metrics.counterFrom('frames_out_total', 'Frames sent (replies and pushes)', () => f().framesOut);
  metrics.counterFrom('protocol_errors_total', 'Connections closed for a negative or oversized frame length', () => f().protocolErrors);
  metrics.counterFrom('bad_bodies_total', 'Frames dropped because the body did not parse', () => f().badBodies);
  metrics.counterFrom('unknown_msgids_total', 'Frames ignored for an unknown msgid', () => f().unknownMsgIds);
  metrics.counterFrom('pushes_total', 'Route pushes sent to subscribers', () => f().pushes);
  metrics.counterFrom('output_overflow_closes_total', 'Connections closed because the peer did not read', () => f().outputOverflowCloses);
  metrics.gaugeFrom('routes', 'Modules in the served route table', () => s().routes);
  metrics.gaugeFrom('route_version', 'RouteVersion of the served table', () => s().version);
  metrics.gaugeFrom('store_up', '1 while the store answers, 0 while serving the last good table', () => (s().storeUp ? 1 : 0));
  metrics.counterFrom('reloads_total', 'Whole route table loads', () => s().reloads);
  metrics.counterFrom('delta_loads_total', 'Loads of just the modules a new version named', () => s().deltaLoads);
  metrics.counterFrom('digest_checks_total', 'Periodic checks the database digest answered without a reload', () => s().digestChecks);
  metrics.counterFrom('changes_total', 'RouteChange rows read from the change log', () => s().changesApplied);
  metrics.counterFrom('store_errors_total', 'Failed store polls', () => s().storeErrors);
}

export async function startDns(config: DnsConfig): Promise<RunningDns> {
  const impl = implementation(config.impl);
  const store = await openStore(config.store);
  const frontend = await createFrontend(impl, {
    ip: config.reactor.ip,
    port: config.reactor.port,
    maxConn: config.reactor.maxConn,
    threadNum: config.reactor.threadNum,
    outputCapBytes: DEFAULT_OUTPUT_CAP_BYTES,
    maxSubscriptionsPerConn: config.reactor.maxSubscriptionsPerConn,
  });
  const service = new DnsService({
    store,
    frontend,
    pollIntervalMs: config.dns.pollIntervalMs,
    fullReloadMs: config.dns.fullReloadMs,
    changeRetentionSec: config.store.changeRetentionSec,
    auditRetentionDays: config.store.auditRetentionDays,
  });
  const leases = new LeaseWriter({ store, frontend, maxLeases: config.dns.maxLeases, onRoutesChanged: () => service.refresh() });
  // Load before listening: a connection accepted earlier would be answered from an empty table
  // (an agent reconnecting to a restarted DNS would serve NOEXIST until its next pull).
  await service.start();
  let port: number;
  try {
    port = await frontend.listen();
  } catch (err) {
    // The poller is already running: stop it, or its timers keep a failed daemon alive.
    service.stop();
    await store.close();
    throw err;
  }
  leases.start();
  const metrics = new MetricSet('lars_dns');
  registerMetrics(metrics, service, frontend, leases);
  let admin: AdminServer | undefined;
  const stopAll = async (): Promise<void> => {
    await leases.stop();
    service.stop();
    await admin?.close();
    await frontend.close();
    await store.close();
  };
  try {
    admin = await maybeStartAdminServer(config.admin, metrics.registry, () => ({ ok: service.stats().storeUp, ...service.stats(), ...frontend.stats() }));
  } catch (err) {
    // Everything started so far keeps a failed daemon alive (threads, timers): stop it all.
    await stopAll();
    throw err;
  }
  return {
    port,
    adminPort: admin?.port ?? 0,
    service,
    frontend,
    leases,
    listening: [
      `DNS service (${impl}) listening on ${config.reactor.ip}:${port}, store ${store.description}`,
      adminListeningLine(config.admin, admin),
    ],
    stop: stopAll,
  };
}
