// The agent's metrics (lars_agent_*), declared once here and read at scrape time from their
// owners: the core's per-port counters (one stats() call per scrape), the DNS and Report clients.
import { labelText, type MetricSet, type Sample } from '../admin/metrics.js';
import { NODE_STAT_FIELDS, NodeStatField as F, USETIME_BOUNDS_US, type ZoneStatus } from '../balancer/index.js';
import { int32ToIp } from '../wire/ipv4.js';
import type { AgentCore, AgentCoreStats, AgentPortStats } from './agent-core.js';
import type { AgentRouteCache } from './agent-route-cache.js';
import type { DnsClient } from './dns-client.js';
import type { ReportClient } from './report-client.js';

/** (labels, value) pairs of one labelled metric, per port. */
type Series = (p: AgentPortStats) => [Record<string, string>, number][];

export function registerAgentMetrics(
  metrics: MetricSet,
  core: AgentCore,
  dns: DnsClient,
  reporter: ReportClient,
  cache: AgentRouteCache | undefined,
  maxNodeSeries: number,
  zone: string,
): void {
  metrics.seriesFrom('gauge', 'info', 'Always 1: the agent\'s hot-path implementation and its zone ([agent] zone; empty: none)', ['impl', 'zone'], () => [[{ impl: core.impl, zone }, 1]]);

  // One core read per scrape, shared by every per-port metric of that scrape.
  let cached: { at: number; stats: AgentCoreStats } | undefined;
  const coreStats = (): AgentCoreStats => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > 100) cached = { at: now, stats: core.stats() };
    return cached.stats;
  };

  const perPort = (kind: 'counter' | 'gauge', name: string, help: string, labelNames: string[], series: Series): void =>
    metrics.seriesFrom(kind, name, help, ['port', ...labelNames], () =>
      coreStats().ports.flatMap((p) => series(p).map(([labels, value]): [Record<string, string>, number] => [{ port: String(p.port), ...labels }, value])),
    );

  perPort('counter', 'requests_total', 'API requests answered or taken, by type and result', ['type', 'result'], (p) => [
    [{ type: 'get_host', result: 'succ' }, p.getHostSucc],
    [{ type: 'get_host', result: 'overload' }, p.getHostOverload],
    [{ type: 'get_host', result: 'noexist' }, p.getHostNoExist],
    [{ type: 'report', result: 'ok' }, p.reports],
    [{ type: 'report', result: 'ignored' }, p.reportsIgnored],
    [{ type: 'get_route', result: 'ok' }, p.getRoutes],
  ]);
  perPort('counter', 'probes_total', 'get_host answers that probed an overloaded node', [], (p) => [[{}, p.probes]]);
  perPort('counter', 'datagrams_in_total', 'Datagrams received', [], (p) => [[{}, p.datagramsIn]]);
  perPort('counter', 'datagrams_out_total', 'Replies sent', [], (p) => [[{}, p.datagramsOut]]);
  perPort('counter', 'dropped_datagrams_total', 'Datagrams dropped, by reason', ['reason'], (p) => [
    [{ reason: 'malformed_frame' }, p.datagramsDropped - p.replyFailures],
    [{ reason: 'bad_body' }, p.badBodies],
    [{ reason: 'unknown_msgid' }, p.unknownMsgIds],
    [{ reason: 'unknown_node' }, p.reportsIgnored],
  ]);
  perPort('counter', 'reply_failures_total', 'Replies the kernel refused to send', [], (p) => [[{}, p.replyFailures]]);
  perPort('gauge', 'routes', 'Routes held by the port\'s balancer', [], (p) => [[{}, p.routes]]);
  perPort('gauge', 'nodes', 'Nodes held by the port\'s balancer, by state', ['state'], (p) => [
    [{ state: 'idle' }, p.idleNodes],
    [{ state: 'overloaded' }, p.overloadedNodes],
  ]);
  perPort('counter', 'state_changes_total', 'Node state changes, by the state entered', ['to'], (p) => [
    [{ to: 'overload' }, p.toOverload],
    [{ to: 'idle' }, p.toIdle],
  ]);
  perPort('counter', 'pulls_total', 'Route pulls queued by the port\'s balancer (new module, stale route, DNS reconnect)', [], (p) => [[{}, p.pulls]]);
  perPort('gauge', 'empty_routes', 'Routes DNS answered empty, kept so that their use answers NOEXIST without a pull', [], (p) => [[{}, p.emptyRoutes]]);
  perPort('counter', 'empty_routes_evicted_total', 'Empty routes dropped, oldest first, past [agent] max_empty_routes', [], (p) => [[{}, p.emptyRoutesEvicted]]);
  perPort('counter', 'new_pulls_capped_total', 'Unknown modules answered NOEXIST without a pull past [agent] max_new_pulls_per_s', [], (p) => [[{}, p.newPullsCapped]]);
  perPort('counter', 'panic_picks_total', 'Picks made among all nodes because too few were healthy (panic_threshold)', [], (p) => [[{}, p.panicPicks]]);
  perPort('counter', 'ejections_capped_total', 'Overloads refused by max_ejection_percent (the node stayed idle)', [], (p) => [[{}, p.ejectionsCapped]]);
  perPort('counter', 'unknown_policies_total', 'Route updates naming a policy this agent does not have (the route runs lars)', [], (p) => [[{}, p.unknownPolicies]]);
  perPort('counter', 'zone_picks_total', 'Ordinary picks of zone-aware modules, by target: the agent\'s zone (local) or another (other: cross-zone)', ['target'], (p) => [
    [{ target: 'local' }, p.zonePicksLocal],
    [{ target: 'other' }, p.zonePicksOther],
  ]);
  perPort('counter', 'route_updates_total', 'Host sets from DNS applied to the port\'s balancer', [], (p) => [[{}, p.routeUpdates]]);

  registerNodeMetrics(metrics, core, maxNodeSeries);
  registerZoneMetrics(metrics, core, maxNodeSeries);

  const d = () => dns.stats();
  const r = () => reporter.stats();
  metrics.gaugeFrom('dns_connected', '1 while connected to a DNS service', () => (d().connected ? 1 : 0));
  metrics.counterFrom('dns_connects_total', 'Connections established to a DNS service', () => d().connects);
  metrics.counterFrom('dns_connect_failures_total', 'Failed connection attempts to a DNS service', () => d().connectFailures);
  metrics.counterFrom('dns_requests_total', 'GetRouteRequest frames sent to DNS', () => d().requests);
  metrics.counterFrom('dns_responses_total', 'GetRouteResponse frames (replies and pushes) applied', () => d().responses);
  metrics.counterFrom('pulls_dropped_total', 'Route pulls not sent because DNS was disconnected (pulled again on connect)', () => d().pullsDropped);
  metrics.gaugeFrom('report_connected', '1 while connected to the Report service', () => (r().connected ? 1 : 0));
  metrics.counterFrom('report_connects_total', 'Connections established to the Report service', () => r().connects);
  metrics.counterFrom('reports_sent_total', 'ReportStatusRequest frames sent', () => r().reportsSent);
  metrics.counterFrom('reports_dropped_total', 'ReportStatusRequest frames dropped (Report service down or not reading)', () => r().reportsDropped);
  const c = () => cache?.stats() ?? { loaded: 0, skipped: 0, writes: 0, writeErrors: 0 };
  metrics.counterFrom('cache_routes_loaded_total', 'Routes loaded from the route cache on disk at start', () => c().loaded);
  metrics.counterFrom('cache_files_skipped_total', 'Route cache files not loaded at start: corrupt, truncated, foreign, unknown version or too old', () => c().skipped);
  metrics.counterFrom('cache_writes_total', 'Route cache files written or removed', () => c().writes);
  metrics.counterFrom('cache_write_errors_total', 'Route cache files that could not be written or removed', () => c().writeErrors);
  metrics.counterFrom('queue_dropped_total', 'Pulls and reports the core dropped because the control plane fell behind', () => {
    const s = coreStats();
    return s.pullsQueueDropped + s.reportsQueueDropped;
  });
}

/** The `le` label of each call-time bucket, rendered once. */
const LE = [...USETIME_BOUNDS_US.map(String), '+Inf'].map((le) => `,le="${le}"}`);

/** One scrape's exported nodes: their rendered labels (modid, cmdid, node, zone) and numbers. */
interface NodeScrape {
  readonly labels: string[];
  readonly values: Float64Array[];
  readonly dropped: number;
}

/** Per-node series (labels modid, cmdid, node, zone) from the balancers' cumulative node counters:
 * one nodeStats() read per scrape (one per port), at most maxNodeSeries nodes exported. Samples are
 * rendered straight to text: 20 series per node, up to 10 000 nodes. */
function registerNodeMetrics(metrics: MetricSet, core: AgentCore, maxNodeSeries: number): void {
  let cached: { at: number; scrape: NodeScrape } | undefined;
  const read = (): NodeScrape => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > 100) {
      const labels: string[] = [];
      const values: Float64Array[] = [];
      let dropped = 0;
      for (const s of core.nodeStats(maxNodeSeries)) {
        dropped += s.total - s.zones.length;
        for (let k = 0; k < s.zones.length; k++) {
          const v = s.values.subarray(k * NODE_STAT_FIELDS, (k + 1) * NODE_STAT_FIELDS);
          values.push(v);
          labels.push(labelText({ modid: String(v[F.MODID]), cmdid: String(v[F.CMDID]), node: `${int32ToIp(v[F.IP]!)}:${v[F.PORT]}`, zone: s.zones[k]! }));
        }
      }
      cached = { at: now, scrape: { labels, values, dropped } };
    }
    return cached.scrape;
  };
  const field = (f: number) => (): Sample[] => {
    const { labels, values } = read();
    return labels.map((l, k): Sample => [`{${l}}`, values[k]![f]!]);
  };

  metrics.samplesFrom('counter', 'node_calls_total', 'Call results reported per node, by result', () => {
    const { labels, values } = read();
    const out: Sample[] = [];
    for (let k = 0; k < labels.length; k++) out.push([`{${labels[k]},result="succ"}`, values[k]![F.SUCC]!], [`{${labels[k]},result="err"}`, values[k]![F.ERR]!]);
    return out;
  });
  metrics.samplesFrom('counter', 'node_picks_total', 'get_host answers that chose the node (probes included)', field(F.PICKS));
  metrics.samplesFrom('gauge', 'node_overloaded', '1 while the node is on its route\'s overload list', field(F.OVERLOAD));
  metrics.samplesFrom('histogram', 'node_call_time_us', 'Call times reported per node (usetime_us > 0), in microseconds', () => {
    const { labels, values } = read();
    const out: Sample[] = [];
    for (let k = 0; k < labels.length; k++) {
      const v = values[k]!;
      let cumulative = 0;
      for (let b = 0; b < LE.length; b++) {
        cumulative += v[F.BUCKETS + b]!;
        out.push([`_bucket{${labels[k]}${LE[b]}`, cumulative]);
      }
      out.push([`_sum{${labels[k]}}`, v[F.USETIME_SUM]!], [`_count{${labels[k]}}`, cumulative]);
    }
    return out;
  });
  metrics.gaugeFrom('node_series_dropped', 'Nodes held but not exported with per-node series, past [admin] max_node_series', () => read().dropped);
}

/** Per-module series of the zone rule (labels modid, cmdid) for the routes where it is active: one
 * zoneStatus() read per scrape, at most maxSeries routes (the per-node series' cap). */
function registerZoneMetrics(metrics: MetricSet, core: AgentCore, maxSeries: number): void {
  let cached: { at: number; routes: ZoneStatus[] } | undefined;
  const read = (): ZoneStatus[] => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > 100) cached = { at: now, routes: core.zoneStatus(maxSeries).flat() };
    return cached.routes;
  };
  const series = (value: (z: ZoneStatus) => number) => (): Sample[] =>
    read().map((z): Sample => [`{${labelText({ modid: String(z.modid), cmdid: String(z.cmdid) })}}`, value(z)]);
  metrics.samplesFrom('gauge', 'zone_spill_share', 'Probability that an ordinary pick leaves the agent\'s zone now: 1 - min(1, h * zone_overprovision / 100)', series((z) => 1 - z.localShare));
  metrics.samplesFrom('gauge', 'zone_local_healthy_share', 'h: healthy (idle) share of the module\'s nodes in the agent\'s zone; 0 when it has none there', series((z) => (z.localNodes === 0 ? 0 : z.localHealthy / z.localNodes)));
}
