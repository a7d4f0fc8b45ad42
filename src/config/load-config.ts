// Builds the one frozen config object of a role: defaults < INI file (-c) < LARS_* environment
// < command-line overrides, each value checked against the key table (keys.ts) once, here.
import { readFileSync } from 'node:fs';
import { networkInterfaces as osNetworkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { LarsError } from '../errors.js';
import { createLogger } from '../log.js';
import type { Implementation } from '../native/addon.js';
import { parseIni } from './ini.js';
import { CONFIG_KEYS, KEYS_BY_ID, defaultText, envName, isKnownSection, keyId, parseValue, type ConfigValue, type DefaultContext } from './keys.js';
import type {
  AgentConfig,
  CliConfig,
  DnsConfig,
  Endpoint,
  LoadConfigOptions,
  ReporterConfig,
  Role,
  RoleConfigs,
  StoreConfig,
  WebConfig,
} from './types.js';

const logger = createLogger('config');

/** Later layers win. */
const Layer = { Default: 0, File: 1, Env: 2, Override: 3 } as const;
type Layer = (typeof Layer)[keyof typeof Layer];

interface RawValue {
  readonly text: string;
  /** Where the text came from, for error messages. */
  readonly source: string;
  readonly layer: Layer;
}

/**
 * The configuration of `role`, deep-frozen. Throws ERR_CONFIG for a missing or unreadable
 * file, an INI syntax error, a malformed value or an unknown override key; unknown keys and
 * sections in the file are reported through `opts.warn` and ignored.
 */
export function loadConfig<R extends Role>(role: R, opts: LoadConfigOptions = {}): RoleConfigs[R] {
  const warn = opts.warn ?? ((msg: string) => logger.warn(msg));
  const env = opts.env ?? process.env;
  const raw = new Map<string, RawValue>();

  let file: string | undefined;
  if (opts.file !== undefined) {
    file = resolve(opts.file);
    readFileLayer(opts.file, raw, warn);
  }

  for (const spec of CONFIG_KEYS) {
    const name = envName(spec);
    const text = env[name];
    // An empty variable counts as unset, so `LARS_MYSQL_DB_HOST= lars up` stays on the embedded store.
    if (text !== undefined && text !== '') raw.set(keyId(spec), { text, source: `environment variable ${name}`, layer: Layer.Env });
  }

  for (const [id, text] of Object.entries(opts.overrides ?? {})) {
    if (!KEYS_BY_ID.has(id)) {
      throw new LarsError('ERR_CONFIG', `override "${id}": unknown key; expected "section.key" of a key listed in docs/configuration.md`);
    }
    raw.set(id, { text, source: `--set ${id}`, layer: Layer.Override });
  }

  const ctx: DefaultContext = { role, networkInterfaces: opts.networkInterfaces ?? osNetworkInterfaces };
  const values = new Map<string, ConfigValue>();
  for (const spec of CONFIG_KEYS) {
    if (!spec.roles.includes(role)) continue;
    const id = keyId(spec);
    const given = raw.get(id);
    const text = given?.text ?? defaultText(spec, ctx);
    if (text !== undefined) values.set(id, parseValue(spec, text, given?.source ?? 'default'));
  }

  return deepFreeze(build(role, file, raw, values)) as RoleConfigs[R];
}

function readFileLayer(path: string, raw: Map<string, RawValue>, warn: (msg: string) => void): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new LarsError('ERR_CONFIG', `cannot read config file ${path} (${reason}): check the -c path`, { cause: err });
  }
  const warnedSections = new Set<string>();
  for (const entry of parseIni(text, path)) {
    const id = `${entry.section}.${entry.key}`;
    if (KEYS_BY_ID.has(id)) {
      raw.set(id, { text: entry.value, source: `${path}:${entry.line}`, layer: Layer.File });
    } else if (!isKnownSection(entry.section)) {
      if (!warnedSections.has(entry.section)) {
        warnedSections.add(entry.section);
        warn(`unknown section [${entry.section}] in ${path}:${entry.line} — ignored`);
      }
    } else {
      warn(`unknown key [${entry.section}] ${entry.key} in ${path}:${entry.line} — ignored`);
    }
  }
}

type AnyConfig = DnsConfig | ReporterConfig | AgentConfig | WebConfig | CliConfig;

function build(role: Role, file: string | undefined, raw: ReadonlyMap<string, RawValue>, values: ReadonlyMap<string, ConfigValue>): AnyConfig {
  const num = (id: string): number => values.get(id) as number;
  const str = (id: string): string => values.get(id) as string;
  const optional = (id: string): string | undefined => (values.get(id) as string | undefined) || undefined;

  const mysqlConfigured = [...raw.keys()].some((id) => id.startsWith('mysql.'));
  const store: StoreConfig = {
    mysql: mysqlConfigured
      ? { host: str('mysql.db_host'), port: num('mysql.db_port'), user: str('mysql.db_user'), password: str('mysql.db_passwd'), database: str('mysql.db_name') }
      : undefined,
    sqlitePath: str('store.sqlite_path'),
    changeRetentionSec: num('store.change_retention_sec'),
    auditRetentionDays: num('store.audit_retention_days'),
  };
  const common = {
    file,
    impl: str('lars.impl') as Implementation,
    logLevel: str('log.level') as DnsConfig['logLevel'],
    logFormat: str('log.format') as DnsConfig['logFormat'],
    store,
    admin: { ip: str('admin.ip'), port: num('admin.port') },
  };
  const reactor = (): ReporterConfig['reactor'] => ({
    ip: str('reactor.ip'),
    port: num('reactor.port'),
    threadNum: num('reactor.threadNum'),
    maxConn: num('reactor.maxConn'),
  });

  switch (role) {
    case 'dns':
      return {
        role, ...common, reactor: { ...reactor(), maxSubscriptionsPerConn: num('reactor.max_subscriptions_per_conn') },
        dns: { pollIntervalMs: num('dns.poll_interval_ms'), fullReloadMs: num('dns.full_reload_ms'), maxLeases: num('dns.max_leases') },
      };
    case 'reporter':
      return {
        role, ...common, reactor: reactor(),
        reporter: {
          dbThreadCnt: num('reporter.db_thread_cnt'),
          bufferMaxKeys: num('reporter.buffer_max_keys'),
          flushIntervalMs: num('reporter.flush_interval_ms'),
          stopDeadlineMs: num('reporter.stop_deadline_ms'),
        },
      };
    case 'agent':
      return {
        role, ...common,
        admin: { ...common.admin, maxNodeSeries: num('admin.max_node_series') },
        agent: {
          ip: str('agent.ip'),
          port: num('agent.port'),
          callerIp: str('agent.caller_ip'),
          reportIntervalMs: num('agent.report_interval_ms'),
          busyPollUs: num('agent.busy_poll_us'),
          maxEmptyRoutes: num('agent.max_empty_routes'),
          maxNewPullsPerS: num('agent.max_new_pulls_per_s'),
          cacheDir: str('agent.cache_dir'),
          cacheMaxAgeMs: num('agent.cache_max_age'),
          viewDir: str('agent.view_dir'),
          zone: str('agent.zone'),
        },
        dnsserver: { endpoints: dnsEndpoints(raw, values) },
        reporter: { endpoint: { ip: str('reporter.ip'), port: num('reporter.port') } },
        loadbalance: {
          probeNum: num('loadbalance.probe_num'),
          initSuccCnt: num('loadbalance.init_succ_cnt'),
          initErrCnt: num('loadbalance.init_err_cnt'),
          errRate: num('loadbalance.err_rate'),
          succRate: num('loadbalance.succ_rate'),
          continErrLimit: num('loadbalance.contin_err_limit'),
          continSuccLimit: num('loadbalance.contin_succ_limit'),
          windowErrRate: num('loadbalance.window_err_rate'),
          idleTimeoutMs: num('loadbalance.idle_timeout'),
          overloadTimeoutMs: num('loadbalance.overload_timeout'),
          updateTimeoutMs: num('loadbalance.update_timeout'),
        },
      };
    case 'web':
      return {
        role, ...common,
        web: {
          ip: str('web.ip'),
          port: num('web.port'),
          user: optional('web.user'),
          password: optional('web.password'),
          alarmErrorRatio: num('web.alarm_error_ratio'),
          alarmOverloadedShare: num('web.alarm_overloaded_share'),
          alarmReportMaxAgeMs: num('web.alarm_report_max_age'),
        },
      };
    case 'cli':
      return { role, ...common };
  }
}

/**
 * [dnsserver] is either `endpoints` (ours) or `ip` + `port` (reference). The one set in the
 * later layer wins; both in the same layer is ambiguous and refused.
 */
function dnsEndpoints(raw: ReadonlyMap<string, RawValue>, values: ReadonlyMap<string, ConfigValue>): readonly Endpoint[] {
  const list = raw.get('dnsserver.endpoints');
  const pairLayer: number = Math.max(raw.get('dnsserver.ip')?.layer ?? Layer.Default, raw.get('dnsserver.port')?.layer ?? Layer.Default);
  if (list !== undefined && list.layer === pairLayer) {
    throw new LarsError(
      'ERR_CONFIG',
      `${list.source}: [dnsserver] endpoints and [dnsserver] ip/port are both set at the same level: keep endpoints (a failover list) or ip + port, not both`,
    );
  }
  if (list !== undefined && list.layer > pairLayer) return values.get('dnsserver.endpoints') as readonly Endpoint[];
  return [{ ip: values.get('dnsserver.ip') as string, port: values.get('dnsserver.port') as number }];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
