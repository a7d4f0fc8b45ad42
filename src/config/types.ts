// The typed, frozen configuration each role runs with. Built once at start-up by
// loadConfig() from the INI file, then LARS_<SECTION>_<KEY> variables, then flags
// (docs/spec/ROLES.md); the rest of the code trusts it.
import type { Implementation } from '../native/addon.js';

export type Role = 'dns' | 'reporter' | 'agent' | 'web' | 'cli';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/** [mysql] — present only when MySQL is configured; otherwise the embedded store is used. */
export interface MysqlConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** [mysql] + [store]: where route data, versions, changes and call status live. */
export interface StoreConfig {
  readonly mysql: MysqlConfig | undefined;
  /** [store] sqlite_path: the embedded store's file (default var/lars.sqlite). */
  readonly sqlitePath: string;
  /** [store] change_retention_sec: RouteChange rows older than this are pruned (default 86400). */
  readonly changeRetentionSec: number;
  /** [store] audit_retention_days: RouteAudit rows older than this are pruned; 0 keeps them (default 90). */
  readonly auditRetentionDays: number;
}

/** [reactor]: the TCP listener of the DNS (7778) or Report (7779) service. */
export interface ReactorConfig {
  readonly ip: string;
  readonly port: number;
  readonly threadNum: number;
  readonly maxConn: number;
}

/** [admin]: the HTTP endpoint with /metrics and /healthz (port 0 disables it). */
export interface AdminConfig {
  readonly ip: string;
  readonly port: number;
}

/** [loadbalance]: docs/spec/BALANCER.md. Timeouts are in seconds in the file, milliseconds here. */
export interface LoadBalanceConfig {
  readonly probeNum: number;
  readonly initSuccCnt: number;
  readonly initErrCnt: number;
  readonly errRate: number;
  readonly succRate: number;
  readonly continErrLimit: number;
  readonly continSuccLimit: number;
  readonly windowErrRate: number;
  readonly idleTimeoutMs: number;
  readonly overloadTimeoutMs: number;
  readonly updateTimeoutMs: number;
}

interface CommonConfig {
  readonly role: Role;
  /** The INI file read, if any. */
  readonly file: string | undefined;
  /** [lars] impl, overridden by LARS_IMPL. */
  readonly impl: Implementation;
  /** [log] level. */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** [log] format. */
  readonly logFormat: 'text' | 'json';
  readonly store: StoreConfig;
  readonly admin: AdminConfig;
}

export interface DnsConfig extends CommonConfig {
  readonly role: 'dns';
  /** [reactor] max_subscriptions_per_conn (100000): one connection's subscriptions at most. */
  readonly reactor: ReactorConfig & { readonly maxSubscriptionsPerConn: number };
  /** [dns] poll_interval_ms (1000), full_reload_ms (10000), max_leases (100000). */
  readonly dns: { readonly pollIntervalMs: number; readonly fullReloadMs: number; readonly maxLeases: number };
}

export interface ReporterConfig extends CommonConfig {
  readonly role: 'reporter';
  readonly reactor: ReactorConfig;
  /** [reporter] db_thread_cnt (writer connections), buffer_max_keys, flush_interval_ms, stop_deadline_ms. */
  readonly reporter: { readonly dbThreadCnt: number; readonly bufferMaxKeys: number; readonly flushIntervalMs: number; readonly stopDeadlineMs: number };
}

export interface AgentConfig extends CommonConfig {
  readonly role: 'agent';
  /** [admin] as for every role, plus max_node_series (the per-node series cap of /metrics). */
  readonly admin: AdminConfig & { readonly maxNodeSeries: number };
  /** [agent] ip, port (first of three UDP ports), caller_ip, report_interval_ms, busy_poll_us,
   * max_empty_routes, max_new_pulls_per_s, cache_dir ('' = off), cache_max_age, view_dir ('' = off),
   * zone ('' = none: zone-aware routing off). */
  readonly agent: {
    readonly ip: string;
    readonly port: number;
    readonly callerIp: string;
    readonly reportIntervalMs: number;
    readonly busyPollUs: number;
    readonly maxEmptyRoutes: number;
    readonly maxNewPullsPerS: number;
    readonly cacheDir: string;
    readonly cacheMaxAgeMs: number;
    readonly viewDir: string;
    readonly zone: string;
  };
  /** [dnsserver] ip, port — or `endpoints = ip:port, ip:port` for failover. */
  readonly dnsserver: { readonly endpoints: readonly Endpoint[] };
  /** [reporter] ip, port of the Report service. */
  readonly reporter: { readonly endpoint: Endpoint };
  readonly loadbalance: LoadBalanceConfig;
}

export interface WebConfig extends CommonConfig {
  readonly role: 'web';
  /** [web] ip, port, user, password (also LARS_WEB_USER / LARS_WEB_PASSWORD), the default alarm thresholds. */
  readonly web: {
    readonly ip: string;
    readonly port: number;
    readonly user: string | undefined;
    readonly password: string | undefined;
    readonly alarmErrorRatio: number;
    readonly alarmOverloadedShare: number;
    /** Milliseconds. */
    readonly alarmReportMaxAgeMs: number;
  };
}

export interface CliConfig extends CommonConfig {
  readonly role: 'cli';
}

export interface RoleConfigs {
  dns: DnsConfig;
  reporter: ReporterConfig;
  agent: AgentConfig;
  web: WebConfig;
  cli: CliConfig;
}

export interface LoadConfigOptions {
  /** -c FILE; when absent no file is read (defaults + env + flags). */
  readonly file?: string;
  /** Defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Command-line overrides as "section.key" → value (e.g. from --set mysql.db_name=x). */
  readonly overrides?: Readonly<Record<string, string>>;
  /** Where unknown-key warnings go (defaults to the config logger). */
  readonly warn?: (msg: string) => void;
  /** Source of the [agent] caller_ip default (defaults to os.networkInterfaces). */
  readonly networkInterfaces?: () => NetworkInterfaces;
}

/** The part of os.networkInterfaces() the config reads (injectable for tests). */
export type NetworkInterfaces = Readonly<
  Record<string, readonly { readonly address: string; readonly family: string | number; readonly internal: boolean }[] | undefined>
>;
