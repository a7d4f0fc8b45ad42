// The one table of every configuration key: section, key, type, default, roles, meaning.
// loadConfig(), the `--set` flag check, docs/configuration.md and conf/*.conf all follow it
// (test/config checks the docs and the shipped files against it).
import { LarsError } from '../errors.js';
import { parseImplementation } from '../native/addon.js';
import { ZONE_PATTERN, ZONE_TEXT } from '../wire/route-limits.js';
import type { Endpoint, NetworkInterfaces, Role } from './types.js';

export type ValueType =
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'float'; readonly min: number; readonly max: number }
  | { readonly kind: 'string'; readonly allowEmpty: boolean; readonly pattern?: RegExp; readonly patternText?: string }
  | { readonly kind: 'ipv4' }
  | { readonly kind: 'port'; readonly min: number; readonly max: number }
  | { readonly kind: 'bool' }
  /** Seconds in the file (fractions allowed), milliseconds in the config object. */
  | { readonly kind: 'seconds'; readonly min: number; readonly max: number }
  /** "ip:port, ip:port" */
  | { readonly kind: 'endpoints' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  /** [lars] impl: "native" | "ts", checked by parseImplementation(). */
  | { readonly kind: 'impl' };

export type ConfigValue = number | string | boolean | readonly Endpoint[];

export interface DefaultContext {
  readonly role: Role;
  readonly networkInterfaces: () => NetworkInterfaces;
}

export interface KeySpec {
  readonly section: string;
  readonly key: string;
  readonly type: ValueType;
  /** Roles that read this key; for any other role the key is silently accepted and ignored. */
  readonly roles: readonly Role[];
  /**
   * The default, written as it would be in the file (so it goes through the same parser):
   * one text for every role, one per role, or computed; undefined means "not set".
   */
  readonly default: string | Readonly<Partial<Record<Role, string>>> | ((ctx: DefaultContext) => string) | undefined;
  /** How the default reads in docs when it is computed. */
  readonly defaultDoc?: string;
  /** Environment variable, when it is not LARS_<SECTION>_<KEY>. */
  readonly env?: string;
  readonly doc: string;
}

const ALL: readonly Role[] = ['dns', 'reporter', 'agent', 'web', 'cli'];
const SERVERS: readonly Role[] = ['dns', 'reporter'];
const AGENT: readonly Role[] = ['agent'];

const int = (min: number, max: number): ValueType => ({ kind: 'int', min, max });
const float = (min: number, max: number): ValueType => ({ kind: 'float', min, max });
const seconds = (min: number, max: number): ValueType => ({ kind: 'seconds', min, max });
const port = (min = 1, max = 65535): ValueType => ({ kind: 'port', min, max });
const text: ValueType = { kind: 'string', allowEmpty: true };
const nonEmpty: ValueType = { kind: 'string', allowEmpty: false };
const ipv4: ValueType = { kind: 'ipv4' };

/** The first non-internal IPv4 address of this host, else 127.0.0.1. */
export function firstExternalIpv4(interfaces: NetworkInterfaces): string {
  for (const list of Object.values(interfaces)) {
    for (const i of list ?? []) {
      if ((i.family === 'IPv4' || i.family === 4) && !i.internal) return i.address;
    }
  }
  return '127.0.0.1';
}

export const CONFIG_KEYS: readonly KeySpec[] = [
  // [lars], [log]: every role
  { section: 'lars', key: 'impl', type: { kind: 'impl' }, roles: ALL, default: 'native', env: 'LARS_IMPL', doc: 'hot-path implementation: native (C++ addon) or ts (pure TypeScript)' },
  { section: 'log', key: 'level', type: { kind: 'enum', values: ['debug', 'info', 'warn', 'error'] }, roles: ALL, default: 'info', doc: 'least severe level written to stderr' },
  { section: 'log', key: 'format', type: { kind: 'enum', values: ['text', 'json'] }, roles: ALL, default: 'text', doc: 'text: one readable line per event; json: one JSON object per line (time, level, role, component, msg and the fields of the event)' },

  // [admin]: each daemon's /metrics and /healthz endpoint
  { section: 'admin', key: 'ip', type: ipv4, roles: ALL, default: '127.0.0.1', doc: 'address of the /metrics and /healthz HTTP endpoint' },
  {
    section: 'admin', key: 'port', type: port(0), roles: ALL,
    default: { dns: '9778', reporter: '9779', agent: '9888', web: '0', cli: '0' },
    doc: 'port of the /metrics and /healthz endpoint; 0 disables it (the web admin serves its own)',
  },
  {
    section: 'admin', key: 'max_node_series', type: int(0, 10_000_000), roles: AGENT, default: '10000',
    doc: 'nodes exported with per-node series on the agent\'s /metrics (lars_agent_node_*); past it they are counted in lars_agent_node_series_dropped',
  },

  // [mysql]: setting any of these selects MySQL; otherwise the embedded store is used
  { section: 'mysql', key: 'db_host', type: nonEmpty, roles: ALL, default: '127.0.0.1', doc: 'MySQL host name or address (setting any [mysql] key selects MySQL)' },
  { section: 'mysql', key: 'db_port', type: port(), roles: ALL, default: '3306', doc: 'MySQL port' },
  { section: 'mysql', key: 'db_user', type: nonEmpty, roles: ALL, default: 'root', doc: 'MySQL user' },
  { section: 'mysql', key: 'db_passwd', type: text, roles: ALL, default: '', doc: 'MySQL password (empty: none)' },
  {
    section: 'mysql', key: 'db_name', type: { kind: 'string', allowEmpty: false, pattern: /^[A-Za-z0-9_$]{1,64}$/, patternText: 'a database name of up to 64 letters, digits, "_" or "$"' },
    roles: ALL, default: 'lars_dns', doc: 'MySQL database holding the Lars tables',
  },

  // [store]
  { section: 'store', key: 'sqlite_path', type: nonEmpty, roles: ALL, default: 'var/lars.sqlite', doc: 'file of the embedded store (used when no [mysql] key is set)' },
  { section: 'store', key: 'change_retention_sec', type: int(1, 10 * 365 * 86400), roles: ALL, default: '86400', doc: 'RouteChange rows older than this many seconds are pruned' },
  { section: 'store', key: 'audit_retention_days', type: int(0, 100 * 365), roles: ALL, default: '90', doc: 'RouteAudit rows older than this many days are pruned by the DNS service; 0 keeps them forever' },

  // [reactor]: the TCP listener of the DNS and Report services (camelCase keys as in the reference)
  { section: 'reactor', key: 'ip', type: ipv4, roles: SERVERS, default: '0.0.0.0', doc: 'address the DNS / Report service listens on' },
  { section: 'reactor', key: 'port', type: port(0), roles: SERVERS, default: { dns: '7778', reporter: '7779' }, doc: 'TCP port of the DNS / Report service (0: any free port)' },
  { section: 'reactor', key: 'threadNum', type: int(1, 256), roles: SERVERS, default: '1', doc: 'I/O threads of the reactor' },
  { section: 'reactor', key: 'maxConn', type: int(1, 10_000_000), roles: SERVERS, default: '20000', doc: 'connections accepted at most; more are closed at once' },
  {
    section: 'reactor', key: 'max_subscriptions_per_conn', type: int(1, 100_000_000), roles: ['dns'], default: '100000',
    doc: 'modules one connection may subscribe to; past it requests are answered but not subscribed (counted and logged)',
  },

  // [dns]: the DNS service
  { section: 'dns', key: 'poll_interval_ms', type: int(10, 3_600_000), roles: ['dns'], default: '1000', doc: 'how often RouteVersion is polled for a new version' },
  { section: 'dns', key: 'max_leases', type: int(0, 10_000_000), roles: ['dns'], default: '100000', doc: 'registered (leased) nodes the store holds at most; first registrations past it are refused' },
  { section: 'dns', key: 'full_reload_ms', type: int(10, 86_400_000), roles: ['dns'], default: '10000', doc: "every route is checked this often even without a new version: reloaded where the database's digest of the route rows differs (MySQL) or always (SQLite)" },

  // [reporter]: the Report service's own keys ...
  { section: 'reporter', key: 'db_thread_cnt', type: int(1, 64), roles: ['reporter'], default: '3', doc: 'database writer connections of the Report service' },
  { section: 'reporter', key: 'buffer_max_keys', type: int(1, 100_000_000), roles: ['reporter'], default: '1000000', doc: 'distinct (modid, cmdid, ip, port, caller) keys held while the database is slow or down; more are dropped and counted' },
  { section: 'reporter', key: 'flush_interval_ms', type: int(1, 60_000), roles: ['reporter'], default: '100', doc: 'how often held reports are written in a batch' },
  { section: 'reporter', key: 'stop_deadline_ms', type: int(1, 600_000), roles: ['reporter'], default: '10000', doc: 'on a stop, how long writing the held rows may take before the rest is logged as not written' },
  // ... and where the agent finds it
  { section: 'reporter', key: 'ip', type: ipv4, roles: AGENT, default: '127.0.0.1', doc: 'address of the Report service (agent)' },
  { section: 'reporter', key: 'port', type: port(), roles: AGENT, default: '7779', doc: 'TCP port of the Report service (agent)' },

  // [dnsserver]: where the agent finds DNS — ip + port (reference) or a failover list (ours)
  { section: 'dnsserver', key: 'ip', type: ipv4, roles: AGENT, default: '127.0.0.1', doc: 'address of the DNS service (agent)' },
  { section: 'dnsserver', key: 'port', type: port(), roles: AGENT, default: '7778', doc: 'TCP port of the DNS service (agent)' },
  {
    section: 'dnsserver', key: 'endpoints', type: { kind: 'endpoints' }, roles: AGENT, default: undefined, defaultDoc: '(ip:port)',
    doc: 'DNS services tried in order for failover, "ip:port, ip:port"; replaces ip and port',
  },

  // [agent]
  { section: 'agent', key: 'ip', type: ipv4, roles: AGENT, default: '127.0.0.1', doc: 'address of the agent\'s three UDP ports' },
  { section: 'agent', key: 'port', type: port(1, 65533), roles: AGENT, default: '8888', doc: 'first of the three UDP ports (port, port+1, port+2)' },
  {
    section: 'agent', key: 'caller_ip', type: ipv4, roles: AGENT,
    default: (ctx) => firstExternalIpv4(ctx.networkInterfaces()), defaultDoc: 'first non-internal IPv4 of the host, else 127.0.0.1',
    doc: 'this host\'s IPv4, reported as the caller of every call',
  },
  { section: 'agent', key: 'report_interval_ms', type: int(10, 3_600_000), roles: AGENT, default: '1000', doc: 'how often call statistics are sent to the Report service' },
  {
    section: 'agent', key: 'busy_poll_us', type: int(0, 10_000), roles: AGENT, default: '20',
    doc: 'native agent: each port keeps polling without sleeping this many microseconds after its last datagram (faster round trips for clients with one request outstanding, for some CPU after each burst, none while idle); 0 = always sleep',
  },
  { section: 'agent', key: 'max_empty_routes', type: int(0, 10_000_000), roles: AGENT, default: '10000', doc: 'routes DNS answered empty kept per port (they answer NOEXIST without pulling); past it the oldest is dropped' },
  { section: 'agent', key: 'max_new_pulls_per_s', type: int(1, 1_000_000), roles: AGENT, default: '1000', doc: 'pulls per second and port for modules the agent does not hold; past it get_host answers NOEXIST without a pull' },
  { section: 'agent', key: 'cache_dir', type: text, roles: AGENT, default: 'var/agent-cache', doc: 'directory of the route cache on disk, relative to the working directory; empty: no cache' },
  { section: 'agent', key: 'view_dir', type: text, roles: AGENT, default: '/dev/shm', doc: 'directory of the local view files (lars-agent-<port>.view) that SDKs on this host pick from in-process; empty: no view (SDKs use UDP); the TypeScript agent never writes one' },
  {
    section: 'agent', key: 'zone', type: { kind: 'string', allowEmpty: true, pattern: ZONE_PATTERN, patternText: `empty or a zone name of ${ZONE_TEXT}` },
    roles: AGENT, default: '',
    doc: 'availability zone of this host, as nodes carry it in RouteNodeAttr; with a module\'s zone_overprovision above 0 the agent prefers nodes of its own zone (docs/zones.md); empty: no zone',
  },
  { section: 'agent', key: 'cache_max_age', type: seconds(1, 10 * 365 * 86400), roles: AGENT, default: '604800', doc: 'cached routes older than this many seconds are not loaded at start' },

  // [loadbalance]: docs/spec/BALANCER.md
  { section: 'loadbalance', key: 'probe_num', type: int(0, 1_000_000), roles: AGENT, default: '10', doc: 'after this many ordinary picks the next pick probes an overloaded node' },
  { section: 'loadbalance', key: 'init_succ_cnt', type: int(0, 1_000_000), roles: AGENT, default: '180', doc: 'virtual successes a node starts with (and gets again when idle)' },
  { section: 'loadbalance', key: 'init_err_cnt', type: int(0, 1_000_000), roles: AGENT, default: '5', doc: 'virtual failures a node gets when it becomes overloaded' },
  { section: 'loadbalance', key: 'err_rate', type: float(0, 1), roles: AGENT, default: '0.1', doc: 'virtual failure rate above which an idle node is overloaded' },
  { section: 'loadbalance', key: 'succ_rate', type: float(0, 1), roles: AGENT, default: '0.5', doc: 'virtual success rate above which an overloaded node is idle again' },
  { section: 'loadbalance', key: 'contin_err_limit', type: int(1, 1_000_000), roles: AGENT, default: '15', doc: 'consecutive failures that overload an idle node' },
  { section: 'loadbalance', key: 'contin_succ_limit', type: int(1, 1_000_000), roles: AGENT, default: '15', doc: 'consecutive successes that bring an overloaded node back' },
  { section: 'loadbalance', key: 'window_err_rate', type: float(0, 1), roles: AGENT, default: '0.7', doc: 'real failure rate over a whole idle window that overloads the node' },
  { section: 'loadbalance', key: 'idle_timeout', type: seconds(0.001, 86_400), roles: AGENT, default: '15', doc: 'length of an idle node\'s window, in seconds' },
  { section: 'loadbalance', key: 'overload_timeout', type: seconds(0.001, 86_400), roles: AGENT, default: '15', doc: 'longest stay of a node in the overload list, in seconds' },
  { section: 'loadbalance', key: 'update_timeout', type: seconds(0.001, 86_400), roles: AGENT, default: '15', doc: 'a route older than this many seconds is pulled again from DNS' },

  // [web]: the web admin
  { section: 'web', key: 'ip', type: ipv4, roles: ['web'], default: '127.0.0.1', doc: 'address of the web admin' },
  { section: 'web', key: 'port', type: port(0), roles: ['web'], default: '8080', doc: 'HTTP port of the web admin (0: any free port)' },
  { section: 'web', key: 'user', type: text, roles: ['web'], default: undefined, defaultDoc: '(none)', doc: 'login user; unset on a loopback address: admin' },
  { section: 'web', key: 'password', type: text, roles: ['web'], default: undefined, defaultDoc: '(none)', doc: 'login password (prefer the environment variable); unset on loopback: one is generated at each start and printed; required on any other address' },
  { section: 'web', key: 'alarm_error_ratio', type: float(0.001, 1), roles: ['web'], default: '0.1', doc: "a module is in alarm when failures / calls over its nodes' current windows reach this (default for modules without their own threshold)" },
  { section: 'web', key: 'alarm_report_max_age', type: seconds(1, 86_400), roles: ['web'], default: '60', doc: "call status rows reported longer ago than this many seconds are left out of the alarms (a node no longer called keeps its last row)" },
  { section: 'web', key: 'alarm_overloaded_share', type: float(0.001, 1), roles: ['web'], default: '0.5', doc: 'a module is in alarm when overloaded nodes / nodes reach this (default for modules without their own threshold)' },
];

/** `section.key` → spec, for every key of every role. */
export const KEYS_BY_ID: ReadonlyMap<string, KeySpec> = new Map(CONFIG_KEYS.map((s) => [keyId(s), s]));

export function keyId(spec: { readonly section: string; readonly key: string }): string {
  return `${spec.section}.${spec.key}`;
}

export function envName(spec: KeySpec): string {
  return spec.env ?? `LARS_${spec.section.toUpperCase()}_${spec.key.toUpperCase()}`;
}

export function isKnownSection(section: string): boolean {
  return CONFIG_KEYS.some((s) => s.section === section);
}

/** The default text of `spec` for `ctx.role`, or undefined when it has none. */
export function defaultText(spec: KeySpec, ctx: DefaultContext): string | undefined {
  const d = spec.default;
  if (d === undefined || typeof d === 'string') return d;
  if (typeof d === 'function') return d(ctx);
  return d[ctx.role];
}

/** How the default reads in docs and messages. */
export function defaultDoc(spec: KeySpec): string {
  if (spec.defaultDoc !== undefined) return spec.defaultDoc;
  const d = spec.default;
  if (d === undefined) return '(none)';
  if (typeof d === 'string') return d === '' ? '(empty)' : d;
  if (typeof d === 'function') return '(computed)';
  return Object.entries(d).map(([role, v]) => `${v} (${role})`).join(', ');
}

export function expectation(type: ValueType): string {
  switch (type.kind) {
    case 'int':
      return `an integer from ${type.min} to ${type.max}`;
    case 'float':
      return `a number from ${type.min} to ${type.max}`;
    case 'string':
      return type.patternText ?? (type.allowEmpty ? 'a string' : 'a non-empty string');
    case 'ipv4':
      return 'an IPv4 address such as 127.0.0.1';
    case 'port':
      return `a port number from ${type.min} to ${type.max}`;
    case 'bool':
      return 'true or false (or yes/no, on/off, 1/0)';
    case 'seconds':
      return `a duration in seconds from ${type.min} to ${type.max} (fractions allowed, e.g. 0.2)`;
    case 'endpoints':
      return 'a comma-separated list of IPv4:port, e.g. "127.0.0.1:7778, 127.0.0.2:7778"';
    case 'enum':
      return `one of ${type.values.join(', ')}`;
    case 'impl':
      return '"native" or "ts"';
  }
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

function parseEndpoint(s: string): Endpoint | undefined {
  const colon = s.lastIndexOf(':');
  if (colon < 0) return undefined;
  const ip = s.slice(0, colon).trim();
  const p = s.slice(colon + 1).trim();
  if (!IPV4.test(ip) || !INT.test(p)) return undefined;
  const port = Number(p);
  return port >= 1 && port <= 65535 ? { ip, port } : undefined;
}

/** The value of `text` as `type`, or undefined when it is malformed. */
function convert(type: ValueType, text: string): ConfigValue | undefined {
  switch (type.kind) {
    case 'int':
    case 'port': {
      if (!INT.test(text)) return undefined;
      const n = Number(text);
      return n >= type.min && n <= type.max ? n : undefined;
    }
    case 'float': {
      if (!FLOAT.test(text)) return undefined;
      const n = Number(text);
      return n >= type.min && n <= type.max ? n : undefined;
    }
    case 'seconds': {
      if (!FLOAT.test(text)) return undefined;
      const s = Number(text);
      return s >= type.min && s <= type.max ? Math.max(1, Math.round(s * 1000)) : undefined;
    }
    case 'string':
      if (!type.allowEmpty && text === '') return undefined;
      return type.pattern === undefined || type.pattern.test(text) ? text : undefined;
    case 'ipv4':
      return IPV4.test(text) ? text : undefined;
    case 'bool': {
      const t = text.toLowerCase();
      if (t === 'true' || t === 'yes' || t === 'on' || t === '1') return true;
      if (t === 'false' || t === 'no' || t === 'off' || t === '0') return false;
      return undefined;
    }
    case 'endpoints': {
      const list = text.split(',').map((part) => parseEndpoint(part.trim()));
      return list.length > 0 && list.every((e) => e !== undefined) ? (list as Endpoint[]) : undefined;
    }
    case 'enum':
      return type.values.includes(text) ? text : undefined;
    case 'impl':
      return undefined; // handled by parseValue
  }
}

/**
 * Parses the text of one key. `source` says where the text came from ("conf/x.conf:12",
 * "environment variable LARS_X", "--set a.b", "default"). Throws ERR_CONFIG naming the
 * source, the key and what is expected.
 */
export function parseValue(spec: KeySpec, text: string, source: string): ConfigValue {
  const label = `${source}: [${spec.section}] ${spec.key}`;
  if (spec.type.kind === 'impl' && text !== '') {
    const impl = parseImplementation(text, label);
    if (impl !== undefined) return impl;
  }
  const value = convert(spec.type, text);
  if (value !== undefined) return value;
  const fallback = spec.default === undefined ? 'to leave it unset' : `to use the default (${defaultDoc(spec)})`;
  throw new LarsError(
    'ERR_CONFIG',
    `${label}: expected ${expectation(spec.type)}, got "${text}" — fix the value, or remove it ${fallback}`,
  );
}
