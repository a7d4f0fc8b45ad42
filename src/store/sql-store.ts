// The Store, written once over SqlDriver: every query and the route-change transaction live
// here; drivers only differ in connection handling and the dialect hooks.
import { LarsError } from '../errors.js';
import { leaseProblem } from '../wire/lease.js';
import { moduleKey } from '../wire/module-key.js';
import { placeholders, type SqlDriver, type SqlExecutor, type SqlValue } from './sql-driver.js';
import type {
  CallStatus,
  CallStatusFilter,
  Description,
  DescriptionKind,
  ModuleKey,
  ModulePolicy,
  ModuleRoute,
  RouteChangeResult,
  AlarmThreshold,
  RouteAuditRow,
  RouteChangeRow,
  RouteEdit,
  RouteFilter,
  LeaseResult,
  LeaseRow,
  LeaseWrite,
  RouteNode,
  RouteRow,
  ModuleDigest,
  RouteDelta,
  RoutesDigest,
  RouteTable,
  Store,
  CallTime,
} from './store.js';
import { checkActor, readAudit, readRecentAudit, writeAudit, type AuditContext, type NumNode } from './route-audit.js';
import {
  checkDescription,
  checkPolicy,
  checkPort,
  checkShare,
  checkRouteFits,
  checkSafeCount,
  checkUint32,
  checkUnixSeconds,
  checkWeight,
  checkZone,
  formatIpv4,
  parseIpv4,
  UINT32_MAX,
  type StoredNode,
} from './validate.js';

export interface SqlStoreOptions {
  /** Milliseconds since the epoch; versions are at least the current unix second. */
  readonly now?: () => number;
}

/** The demo routes of `lars db seed`: three modules with three local nodes each. */
export const DEMO_ROUTES: readonly { readonly modid: number; readonly cmdid: number; readonly hosts: readonly RouteNode[] }[] = [
  { modid: 1, cmdid: 1, hosts: [9001, 9002, 9003].map((port) => ({ ip: '127.0.0.1', port })) },
  { modid: 1, cmdid: 2, hosts: [9011, 9012, 9013].map((port) => ({ ip: '127.0.0.1', port })) },
  { modid: 2, cmdid: 1, hosts: [9021, 9022, 9023].map((port) => ({ ip: '127.0.0.1', port })) },
];

/** Rows per multi-row statement: at 9 placeholders a row this stays far below every server's limit. */
const UPSERT_CHUNK = 2000;
const CALL_STATUS_COLUMNS = ['modid', 'cmdid', 'ip', 'port', 'caller', 'succ_cnt', 'err_cnt', 'ts', 'overload'] as const;
const CALL_STATUS_KEY = ['modid', 'cmdid', 'ip', 'port', 'caller'] as const;
const TS_INDEX = CALL_STATUS_COLUMNS.indexOf('ts');
const CALL_TIME_COLUMNS = ['modid', 'cmdid', 'ip', 'port', 'caller', 'usetime_sum_us', 'usetime_max_us', 'timed_calls', 'ts'] as const;

const DESCRIPTION_TABLES: Record<DescriptionKind, { table: string; column: string }> = {
  modid: { table: 'ModIDConfig', column: 'modid' },
  cmdid: { table: 'CmdIDConfig', column: 'cmdid' },
};

const nodeKey = (ip: number, port: number): string => `${ip}:${port}`;

function checkLimit(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new LarsError('ERR_INVALID_INPUT', `limit must be an integer from 1 to 1000000, got ${String(value)}`);
  }
  return value;
}

/** A node as edited: the stored ip number, and the weight/zone to set (undefined = leave as is). */
interface EditNode extends NumNode {
  readonly weight?: number;
  readonly zone?: string;
}

/** A route edit with its values checked and the ip converted to the stored number. */
type CheckedEdit =
  | { op: 'add' | 'remove' | 'set'; modid: number; cmdid: number; node: EditNode }
  | { op: 'replace'; modid: number; cmdid: number; hosts: EditNode[] }
  | { op: 'setPolicy'; modid: number; cmdid: number; policy: ModulePolicy }
  | { op: 'removePolicy'; modid: number; cmdid: number };

/** A node's RouteNodeAttr values; no row means DEFAULT_ATTR. */
interface Attr {
  readonly weight: number;
  readonly zone: string;
}
const DEFAULT_ATTR: Attr = { weight: 100, zone: '' };
const isDefaultAttr = (a: Attr): boolean => a.weight === DEFAULT_ATTR.weight && a.zone === DEFAULT_ATTR.zone;
const sameAttr = (a: Attr | undefined, b: Attr | undefined): boolean => a === b || (a !== undefined && b !== undefined && a.weight === b.weight && a.zone === b.zone);
const samePolicy = (a: ModulePolicy | undefined, b: ModulePolicy | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && (Object.keys(a) as (keyof ModulePolicy)[]).every((k) => a[k] === b[k]));

/** The weight and zone as a read result carries them: only when not the default, as on the wire. */
function attrFields(a: Attr | undefined): { weight?: number; zone?: string } {
  if (a === undefined) return {};
  return { ...(a.weight !== DEFAULT_ATTR.weight ? { weight: a.weight } : {}), ...(a.zone !== '' ? { zone: a.zone } : {}) };
}

function checkNode(prefix: string, at: string, n: RouteNode): EditNode {
  return {
    ip: parseIpv4(`${prefix}ip (${at})`, n.ip),
    port: checkPort(`${prefix}port (${at})`, n.port),
    ...(n.weight === undefined ? {} : { weight: checkWeight(`${prefix}weight (${at})`, n.weight) }),
    ...(n.zone === undefined ? {} : { zone: checkZone(`${prefix}zone (${at})`, n.zone) }),
  };
}

function checkEdit(edit: RouteEdit, index: number): CheckedEdit {
  const at = `edit ${index + 1}`;
  const modid = checkUint32(`modid (${at})`, edit.modid);
  const cmdid = checkUint32(`cmdid (${at})`, edit.cmdid);
  switch (edit.op) {
    case 'add':
    case 'remove':
      return { op: edit.op, modid, cmdid, node: checkNode('', at, edit) };
    case 'set': {
      const node = checkNode('', at, edit);
      if (node.weight === undefined && node.zone === undefined) throw new LarsError('ERR_INVALID_INPUT', `set (${at}) needs a weight or a zone to change`);
      return { op: 'set', modid, cmdid, node };
    }
    case 'setPolicy':
      return { op: 'setPolicy', modid, cmdid, policy: checkPolicy(`policy (${at})`, edit.policy) };
    case 'removePolicy':
      return { op: 'removePolicy', modid, cmdid };
    case 'replace': {
      if (!Array.isArray(edit.hosts)) throw new LarsError('ERR_INVALID_INPUT', `hosts (${at}) must be an array of {ip, port}`);
      const seen = new Set<string>();
      const hosts = edit.hosts.map((h, i) => {
        const node = checkNode(`hosts[${i}].`, at, h);
        const key = nodeKey(node.ip, node.port);
        if (seen.has(key)) throw new LarsError('ERR_INVALID_INPUT', `hosts (${at}) lists ${h.ip}:${h.port} twice`);
        seen.add(key);
        return node;
      });
      // Attributes left undefined are the stored ones, so this early check counts them as defaults; the
      // transaction checks the real size again.
      checkRouteFits(modid, cmdid, hosts);
      return { op: 'replace', modid, cmdid, hosts };
    }
    default:
      throw new LarsError(
        'ERR_INVALID_INPUT',
        `op (${at}) must be "add", "remove", "replace", "set", "setPolicy" or "removePolicy", got ${JSON.stringify((edit as { op: unknown }).op)}`,
      );
  }
}

interface AttrDbRow {
  serverip: number;
  serverport: number;
  weight: number;
  zone: string;
  [k: string]: unknown;
}

interface PolicyDbRow {
  modid: number;
  cmdid: number;
  policy: string;
  max_ejection_percent: number;
  panic_threshold: number;
  ejection_backoff_max_ms: number;
  zone_overprovision: number;
  ring_size: number;
  [k: string]: unknown;
}

const POLICY_COLUMNS = 'modid, cmdid, policy, max_ejection_percent, panic_threshold, ejection_backoff_max_ms, zone_overprovision, ring_size';

/** A stored policy row; the name is trusted (it was checked when written), as the agent checks what it receives. */
const toPolicy = (r: PolicyDbRow): ModulePolicy => ({
  name: String(r.policy) as ModulePolicy['name'],
  maxEjectionPercent: Number(r.max_ejection_percent),
  panicThreshold: Number(r.panic_threshold),
  ejectionBackoffMaxMs: Number(r.ejection_backoff_max_ms),
  zoneOverprovision: Number(r.zone_overprovision),
  ringSize: Number(r.ring_size),
});

/** Joins each RouteData row with its RouteNodeAttr row (if any). */
const ROUTES_WITH_ATTRS =
  'SELECT d.id, d.modid, d.cmdid, d.serverip, d.serverport, a.weight, a.zone FROM RouteData d LEFT JOIN RouteNodeAttr a ' +
  'ON a.modid = d.modid AND a.cmdid = d.cmdid AND a.serverip = d.serverip AND a.serverport = d.serverport';

const rowAttr = (r: { weight?: unknown; zone?: unknown }): Attr | undefined =>
  r.weight === null || r.weight === undefined ? undefined : { weight: Number(r.weight), zone: String(r.zone ?? '') };

/** Every table a GetRouteResponse frame is made of, with the columns that reach it, in RoutesDigest order. */
const DIGESTED: readonly (readonly [string, readonly string[]])[] = [
  ['RouteData', ['modid', 'cmdid', 'serverip', 'serverport']],
  ['RouteNodeAttr', ['modid', 'cmdid', 'serverip', 'serverport', 'weight', 'zone']],
  ['ModulePolicy', POLICY_COLUMNS.split(', ')],
];

const LEASE_COLUMNS = ['modid', 'cmdid', 'serverip', 'serverport', 'expires_at', 'registered_at', 'ttl_ms'] as const;
const LEASE_KEY = ['modid', 'cmdid', 'serverip', 'serverport'] as const;
/** RouteAudit ids deleted per statement when pruning. */
const AUDIT_PRUNE_CHUNK = 10_000;
/** Expired leases removed per reaper transaction (the next tick takes the rest). */
const REAP_CHUNK = 5000;

/** A lease with its ip as the stored number and weight/zone as RouteNodeAttr holds them. */
interface CheckedLease {
  readonly modid: number;
  readonly cmdid: number;
  readonly ip: number;
  readonly port: number;
  readonly weight: number;
  readonly zone: string;
  readonly ttlMs: number;
  readonly deregister: boolean;
}

function checkLease(l: LeaseWrite): CheckedLease | undefined {
  let ip: number;
  try {
    ip = parseIpv4('ip', l.ip);
  } catch {
    return undefined;
  }
  const weight = l.weight === undefined || l.weight === 0 ? 100 : l.weight;
  const zone = l.zone ?? '';
  if (leaseProblem(l.modid, l.cmdid, { ip, port: l.port, weight, zone }, l.ttlMs, l.deregister) !== undefined) return undefined;
  return { modid: l.modid, cmdid: l.cmdid, ip, port: l.port, weight, zone, ttlMs: l.ttlMs, deregister: l.deregister };
}

/** One module inside the route-change transaction: as read, and as the edits leave it. */
interface EditedModule {
  readonly modid: number;
  readonly cmdid: number;
  readonly before: Map<string, NumNode>;
  readonly rowIds: Map<string, number[]>;
  after: Map<string, NumNode>;
  /** RouteNodeAttr rows as read. */
  readonly attrRows: Map<string, Attr>;
  /** The attributes of the nodes in `after` as the edits leave them; missing = default. */
  attrs: Map<string, Attr>;
  readonly policyBefore: ModulePolicy | undefined;
  policyAfter: ModulePolicy | undefined;
}

/** The RouteNodeAttr row node `key` should have after the edits: none for a node gone or at the defaults. */
function desiredRow(m: EditedModule, key: string): Attr | undefined {
  const a = m.attrs.get(key);
  return m.after.has(key) && a !== undefined && !isDefaultAttr(a) ? a : undefined;
}

function parseNodeKey(key: string): NumNode {
  const [ip, port] = key.split(':');
  return { ip: Number(ip), port: Number(port) };
}

const withAttr = (current: Attr | undefined, n: EditNode): Attr => ({
  weight: n.weight ?? current?.weight ?? DEFAULT_ATTR.weight,
  zone: n.zone ?? current?.zone ?? DEFAULT_ATTR.zone,
});

/** Applies one checked edit to the module in memory; refuses an impossible one (nothing is written yet). */
function applyEdit(m: EditedModule, e: CheckedEdit): void {
  switch (e.op) {
    case 'replace': {
      const attrs = new Map<string, Attr>();
      for (const h of e.hosts) {
        const key = nodeKey(h.ip, h.port);
        attrs.set(key, withAttr(m.after.has(key) ? m.attrs.get(key) : undefined, h));
      }
      m.after = new Map(e.hosts.map((h) => [nodeKey(h.ip, h.port), { ip: h.ip, port: h.port }]));
      m.attrs = attrs;
      return;
    }
    case 'setPolicy':
      m.policyAfter = e.policy;
      return;
    case 'removePolicy':
      m.policyAfter = undefined;
      return;
    default: {
      const key = nodeKey(e.node.ip, e.node.port);
      const where = `${formatIpv4(e.node.ip)}:${e.node.port}`;
      const present = m.after.has(key);
      if (e.op === 'add' ? present : !present) {
        throw new LarsError(
          'ERR_INVALID_INPUT',
          `${where} ${e.op === 'add' ? 'is already' : 'is not'} a node of modid ${m.modid} cmdid ${m.cmdid}; nothing was changed`,
        );
      }
      if (e.op === 'remove') {
        m.after.delete(key);
        m.attrs.delete(key);
      } else {
        if (e.op === 'add') m.after.set(key, { ip: e.node.ip, port: e.node.port });
        m.attrs.set(key, withAttr(e.op === 'add' ? undefined : m.attrs.get(key), e.node));
      }
    }
  }
}

function sortNodes<T extends NumNode>(nodes: T[]): T[] {
  return nodes.sort((a, b) => a.ip - b.ip || a.port - b.port);
}

interface RouteDataRow {
  id: number;
  modid: number;
  cmdid: number;
  serverip: number;
  serverport: number;
  weight?: number | null;
  zone?: string | null;
  [k: string]: unknown;
}

interface DigestDbRow {
  /** Index into DIGESTED. */
  t: number;
  modid?: number;
  cmdid?: number;
  n: number;
  /** A DECIMAL sum: a string on MySQL. */
  s: number | string;
  [k: string]: unknown;
}

const emptyDigest = (): number[] => new Array<number>(2 * DIGESTED.length).fill(0);
/** A table's part of a digest: its row count and checksum sum, at the table's place. */
function putDigestPart(digest: number[], r: DigestDbRow): void {
  digest[2 * Number(r.t)] = Number(r.n);
  digest[2 * Number(r.t) + 1] = Number(r.s);
}

/** `(modid = ? AND cmdid = ?) OR ...`: each term a range on the module's index, in both backends. */
const matchModules = (modules: readonly ModuleKey[], prefix: string): string =>
  modules.map(() => `(${prefix}modid = ? AND ${prefix}cmdid = ?)`).join(' OR ');
const moduleParams = (modules: readonly ModuleKey[]): number[] => modules.flatMap((m) => [m.modid, m.cmdid]);

interface ChangeDbRow {
  id: number;
  modid: number;
  cmdid: number;
  version: number;
  [k: string]: unknown;
}

interface CallStatusDbRow {
  modid: number;
  cmdid: number;
  ip: number;
  port: number;
  caller: number;
  succ_cnt: number;
  err_cnt: number;
  ts: number;
  overload: string;
  /** ServerCallTime's, null when it has no row for this key and ts. */
  usetime_sum_us: number | string | null;
  usetime_max_us: number | null;
  timed_calls: number | null;
  /** RouteNodeAttr's, null when the node has none (no zone) or is no longer in the route. */
  zone: string | null;
  [k: string]: unknown;
}

const toChange = (r: ChangeDbRow): RouteChangeRow => ({ id: Number(r.id), modid: Number(r.modid), cmdid: Number(r.cmdid), version: Number(r.version) });

/** Route rows ordered by module, ip, port (with their attributes) and the modules' policies, as modules. */
function groupModules(rows: readonly RouteDataRow[], policyRows: readonly PolicyDbRow[]): ModuleRoute[] {
  const policies = new Map<string, ModulePolicy>();
  for (const p of policyRows) policies.set(moduleKey(Number(p.modid), Number(p.cmdid)), toPolicy(p));
  const modules: ModuleRoute[] = [];
  let current: { modid: number; cmdid: number; hosts: RouteNode[]; policy?: ModulePolicy } | undefined;
  let lastNode = '';
  for (const r of rows) {
    const modid = Number(r.modid);
    const cmdid = Number(r.cmdid);
    if (current === undefined || current.modid !== modid || current.cmdid !== cmdid) {
      const policy = policies.get(moduleKey(modid, cmdid));
      current = { modid, cmdid, hosts: [], ...(policy === undefined ? {} : { policy }) };
      modules.push(current);
      lastNode = '';
    }
    // Duplicate rows (possible in a hand-edited reference database) collapse into one node.
    const key = nodeKey(Number(r.serverip), Number(r.serverport));
    if (key === lastNode) continue;
    lastNode = key;
    current.hosts.push({ ip: formatIpv4(Number(r.serverip)), port: Number(r.serverport), ...attrFields(rowAttr(r)) });
  }
  return modules;
}

export class SqlStore implements Store {
  readonly backend;
  readonly description: string;
  private readonly now: () => number;

  constructor(
    private readonly db: SqlDriver,
    options: SqlStoreOptions = {},
  ) {
    this.backend = db.dialect.backend;
    this.description = db.description;
    this.now = options.now ?? Date.now;
  }

  async init(): Promise<void> {
    await this.db.createSchema();
  }

  async seedDemo(): Promise<RouteChangeResult> {
    return this.applyRouteChange(
      DEMO_ROUTES.map((r) => ({ op: 'replace', modid: r.modid, cmdid: r.cmdid, hosts: r.hosts })),
      'seed',
    );
  }

  ping(): Promise<void> {
    return this.db.ping();
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ---- routes ----------------------------------------------------------------------------

  async listRoutes(filter: RouteFilter = {}): Promise<RouteRow[]> {
    const where = whereEqual({ 'd.modid': checked(filter.modid, checkUint32, 'modid'), 'd.cmdid': checked(filter.cmdid, checkUint32, 'cmdid') });
    const rows = await this.db.query<RouteDataRow>(`${ROUTES_WITH_ATTRS}${where.sql} ORDER BY d.modid, d.cmdid, d.serverip, d.serverport, d.id`, where.params);
    return rows.map((r) => ({
      id: Number(r.id),
      modid: Number(r.modid),
      cmdid: Number(r.cmdid),
      ip: formatIpv4(Number(r.serverip)),
      port: Number(r.serverport),
      ...attrFields(rowAttr(r)),
    }));
  }

  async getPolicy(module: ModuleKey): Promise<ModulePolicy | undefined> {
    const modid = checkUint32('modid', module.modid);
    const cmdid = checkUint32('cmdid', module.cmdid);
    const rows = await this.db.query<PolicyDbRow>(`SELECT ${POLICY_COLUMNS} FROM ModulePolicy WHERE modid = ? AND cmdid = ?`, [modid, cmdid]);
    return rows[0] === undefined ? undefined : toPolicy(rows[0]);
  }

  async listPolicies(filter: RouteFilter = {}): Promise<(ModuleKey & { policy: ModulePolicy })[]> {
    const where = whereEqual({ modid: checked(filter.modid, checkUint32, 'modid'), cmdid: checked(filter.cmdid, checkUint32, 'cmdid') });
    const rows = await this.db.query<PolicyDbRow>(`SELECT ${POLICY_COLUMNS} FROM ModulePolicy${where.sql} ORDER BY modid, cmdid`, where.params);
    return rows.map((p) => ({ modid: Number(p.modid), cmdid: Number(p.cmdid), policy: toPolicy(p) }));
  }

  async loadRouteTable(): Promise<RouteTable> {
    return this.db.transaction('read', async (tx) => {
      const version = await this.readVersion(tx, false);
      const lastChangeId = await this.readLastChangeId(tx);
      const digests = await this.readModuleDigests(tx);
      const rows = await tx.query<RouteDataRow>(`${ROUTES_WITH_ATTRS} ORDER BY d.modid, d.cmdid, d.serverip, d.serverport`);
      const policies = await tx.query<PolicyDbRow>(`SELECT ${POLICY_COLUMNS} FROM ModulePolicy`);
      return { version, lastChangeId, modules: groupModules(rows, policies), ...(digests === undefined ? {} : { digests }) };
    });
  }

  async loadRouteChanges(afterChangeId: number, maxModules: number): Promise<RouteDelta | undefined> {
    const after = checkUint32('afterChangeId', afterChangeId);
    const most = checkLimit(maxModules, maxModules);
    return this.db.transaction('read', async (tx) => {
      const version = await this.readVersion(tx, false);
      const lastChangeId = await this.readLastChangeId(tx);
      const counts = await tx.query<{ modid: number; cmdid: number; n: number }>(
        `SELECT modid, cmdid, COUNT(*) AS n FROM RouteChange WHERE id > ? AND id <= ? GROUP BY modid, cmdid LIMIT ${most + 1}`,
        [after, lastChangeId],
      );
      if (counts.length > most) return undefined;
      const named = counts.map((c) => ({ modid: Number(c.modid), cmdid: Number(c.cmdid) }));
      const changeRows = counts.reduce((sum, c) => sum + Number(c.n), 0);
      if (named.length === 0) return { version, lastChangeId, changeRows, named, modules: [], ...(this.db.dialect.rowChecksum === undefined ? {} : { digests: [] }) };
      const params = moduleParams(named);
      const rows = await tx.query<RouteDataRow>(`${ROUTES_WITH_ATTRS} WHERE ${matchModules(named, 'd.')} ORDER BY d.modid, d.cmdid, d.serverip, d.serverport`, params);
      const policies = await tx.query<PolicyDbRow>(`SELECT ${POLICY_COLUMNS} FROM ModulePolicy WHERE ${matchModules(named, '')}`, params);
      const digests = await this.readModuleDigests(tx, named);
      return { version, lastChangeId, changeRows, named, modules: groupModules(rows, policies), ...(digests === undefined ? {} : { digests }) };
    });
  }

  async routesDigest(): Promise<RoutesDigest | undefined> {
    const sql = this.digestSql(false, '');
    if (sql === undefined) return undefined;
    const digest = emptyDigest();
    for (const r of await this.db.query<DigestDbRow>(sql)) putDigestPart(digest, r);
    return digest;
  }

  /** Each module's digest (of all modules, or of `only`); undefined where the dialect has no checksum. */
  private async readModuleDigests(ex: SqlExecutor, only?: readonly ModuleKey[]): Promise<ModuleDigest[] | undefined> {
    const sql = this.digestSql(true, only === undefined ? '' : ` WHERE ${matchModules(only, '')}`);
    if (sql === undefined) return undefined;
    const params = only === undefined ? [] : DIGESTED.flatMap(() => moduleParams(only));
    const byModule = new Map<string, { modid: number; cmdid: number; digest: number[] }>();
    for (const r of await ex.query<DigestDbRow>(sql, params)) {
      const modid = Number(r.modid);
      const cmdid = Number(r.cmdid);
      const key = moduleKey(modid, cmdid);
      let m = byModule.get(key);
      if (m === undefined) {
        m = { modid, cmdid, digest: emptyDigest() };
        byModule.set(key, m);
      }
      putDigestPart(m.digest, r);
    }
    return [...byModule.values()];
  }

  /**
   * One row per table of DIGESTED (per module and table when `perModule`) over the rows `where`
   * keeps: the table's index t, the row count n and the checksum sum s. Undefined without a
   * checksum function.
   */
  private digestSql(perModule: boolean, where: string): string | undefined {
    const checksum = this.db.dialect.rowChecksum;
    if (checksum === undefined) return undefined;
    const [key, group] = perModule ? [', modid, cmdid', ' GROUP BY modid, cmdid'] : ['', ''];
    return DIGESTED.map(([table, columns], t) => `SELECT ${t} AS t${key}, COUNT(*) AS n, COALESCE(SUM(${checksum(columns)}), 0) AS s FROM ${table}${where}${group}`).join(
      ' UNION ALL ',
    );
  }

  // ---- version and change log --------------------------------------------------------------

  private async readVersion(ex: SqlExecutor, lock: boolean): Promise<number> {
    const rows = await ex.query<{ version: number }>(`SELECT version FROM RouteVersion WHERE id = 1${lock ? this.db.dialect.forUpdate : ''}`);
    const row = rows[0];
    if (row === undefined) {
      throw new LarsError('ERR_STORE', `RouteVersion has no row with id = 1 in ${this.description}: run "lars db init"`);
    }
    return Number(row.version);
  }

  private async readLastChangeId(ex: SqlExecutor): Promise<number> {
    const rows = await ex.query<{ last: number | null }>('SELECT MAX(id) AS last FROM RouteChange');
    return Number(rows[0]?.last ?? 0);
  }

  getVersion(): Promise<number> {
    return this.readVersion(this.db, false);
  }

  async changesSince(afterId: number, limit?: number): Promise<RouteChangeRow[]> {
    const after = checkUint32('afterId', afterId);
    // The limit is checked to be an integer, so it can be inlined (LIMIT ? is not portable in prepared statements).
    const n = checkLimit(limit, 1000);
    const rows = await this.db.query<ChangeDbRow>(`SELECT id, modid, cmdid, version FROM RouteChange WHERE id > ? ORDER BY id LIMIT ${n}`, [after]);
    return rows.map(toChange);
  }

  async recentChanges(limit?: number): Promise<RouteChangeRow[]> {
    const n = checkLimit(limit, 100);
    const rows = await this.db.query<ChangeDbRow>(`SELECT id, modid, cmdid, version FROM RouteChange ORDER BY id DESC LIMIT ${n}`);
    return rows.map(toChange);
  }

  async pruneChanges(olderThanSec: number): Promise<number> {
    const cutoff = checkUnixSeconds('olderThanSec', olderThanSec);
    return this.db.transaction('write', async (tx) => {
      // Keeping the newest row keeps MAX(id) in place, so ids are never handed out twice even
      // where the server recomputes AUTO_INCREMENT from MAX(id) on restart.
      const last = await this.readLastChangeId(tx);
      return tx.run('DELETE FROM RouteChange WHERE version < ? AND id < ?', [cutoff, last]);
    });
  }

  async pruneAudit(olderThanMs: number): Promise<number> {
    const cutoff = checkSafeCount('olderThanMs', olderThanMs);
    // Rows get their ids in commit order and their at_ms from the committing transaction, so the
    // old rows are the low ids: find the first row kept by walking the primary key from the
    // start (past exactly the rows to delete), then delete below it in chunks of ids, each its
    // own statement, so a first prune of a big table never holds one long lock.
    const [first] = await this.db.query<{ lo: number | null; hi: number | null }>('SELECT MIN(id) AS lo, MAX(id) AS hi FROM RouteAudit');
    if (first?.lo === null || first?.lo === undefined) return 0;
    const kept = await this.db.query<{ id: number }>('SELECT id FROM RouteAudit WHERE at_ms >= ? ORDER BY id LIMIT 1', [cutoff]);
    const end = kept[0] === undefined ? Number(first.hi) + 1 : Number(kept[0].id);
    let deleted = 0;
    for (let lo = Number(first.lo); lo < end; lo += AUDIT_PRUNE_CHUNK) {
      deleted += await this.db.run('DELETE FROM RouteAudit WHERE id >= ? AND id < ? AND at_ms < ?', [lo, Math.min(lo + AUDIT_PRUNE_CHUNK, end), cutoff]);
    }
    return deleted;
  }

  // ---- THE route-change transaction ------------------------------------------------------

  async applyRouteChange(edits: readonly RouteEdit[], actor = 'unknown'): Promise<RouteChangeResult> {
    return this.changeRoutes(edits, { actor: checkActor(actor) });
  }

  async recentAudit(limit?: number): Promise<RouteAuditRow[]> {
    return readRecentAudit(this.db, checkLimit(limit, 100));
  }

  async revertRouteChange(auditId: number, actor: string): Promise<RouteChangeResult> {
    const id = checkUint32('auditId', auditId);
    const who = checkActor(actor);
    // Audit rows never change once written, so reading it before the transaction is safe.
    const row = await readAudit(this.db, id);
    if (row === undefined) throw new LarsError('ERR_NOT_FOUND', `there is no audit row ${id}`);
    if (row.before === undefined) {
      throw new LarsError('ERR_INVALID_INPUT', `audit row ${id} does not hold the nodes before its change, so it cannot be reverted; edit the route instead`);
    }
    // Attributes left out mean "keep" to a replace, so the defaults are spelled out to restore them.
    const hosts = row.before.map((n) => ({ ip: n.ip, port: n.port, weight: n.weight ?? 100, zone: n.zone ?? '' }));
    const edits: RouteEdit[] = [{ op: 'replace', modid: row.modid, cmdid: row.cmdid, hosts }];
    if (row.policy !== undefined) {
      const { modid, cmdid } = row;
      edits.push(row.policy.before === null ? { op: 'removePolicy', modid, cmdid } : { op: 'setPolicy', modid, cmdid, policy: row.policy.before });
    }
    return this.changeRoutes(edits, { actor: who, revertOf: id });
  }

  private async changeRoutes(edits: readonly RouteEdit[], audit: AuditContext): Promise<RouteChangeResult> {
    if (!Array.isArray(edits) || edits.length === 0) throw new LarsError('ERR_INVALID_INPUT', 'edits must be a non-empty array of route edits');
    const checked = edits.map(checkEdit);
    return this.db.transaction('write', async (tx) => {
      // Locking the version row first serialises route changes across every admin process.
      const previousVersion = await this.readVersion(tx, true);
      return this.routeChangeIn(tx, checked, previousVersion, new Map(), audit);
    });
  }

  /**
   * The route-change transaction's body, inside `tx` after the version row was locked. `modules`
   * may hold modules already read with readModuleForEdit in this transaction. `audit` says who
   * the RouteAudit rows name.
   */
  private async routeChangeIn(
    tx: SqlExecutor,
    checked: readonly CheckedEdit[],
    previousVersion: number,
    modules: Map<string, EditedModule>,
    audit: AuditContext,
  ): Promise<RouteChangeResult> {
    {
      // 1. Read the touched modules and apply the edits in memory, refusing impossible ones.
      for (const e of checked) {
        const mk = moduleKey(e.modid, e.cmdid);
        let m = modules.get(mk);
        if (m === undefined) {
          m = await this.readModuleForEdit(tx, e.modid, e.cmdid);
          modules.set(mk, m);
        }
        applyEdit(m, e);
      }

      // 2. Work out what differs; refuse routes too big for one frame before writing anything.
      const changed: { m: EditedModule; removedIds: number[]; added: NumNode[]; attrKeys: string[]; policyChanged: boolean }[] = [];
      for (const m of modules.values()) {
        const removedIds = [...m.rowIds].filter(([k]) => !m.after.has(k)).flatMap(([, ids]) => ids);
        const added = [...m.after].filter(([k]) => !m.before.has(k)).map(([, n]) => n);
        // RouteNodeAttr rows to rewrite: a non-default attribute has a row, a default one none.
        const attrKeys = [...new Set([...m.attrRows.keys(), ...m.after.keys()])].filter((k) => !sameAttr(m.attrRows.get(k), desiredRow(m, k)));
        const policyChanged = !samePolicy(m.policyBefore, m.policyAfter);
        if (removedIds.length === 0 && added.length === 0 && attrKeys.length === 0 && !policyChanged) continue;
        const nodes: StoredNode[] = [...m.after].map(([k, n]) => ({ ...n, ...attrFields(m.attrs.get(k)) }));
        checkRouteFits(m.modid, m.cmdid, nodes, m.policyAfter);
        changed.push({ m, removedIds: removedIds.sort((a, b) => a - b), added: sortNodes(added), attrKeys, policyChanged });
      }
      if (changed.length === 0) return { version: previousVersion, previousVersion, changed: [] };

      // 3. Write: RouteData, RouteNodeAttr, ModulePolicy, then the version, then one RouteChange row per changed module.
      const version = Math.max(previousVersion + 1, Math.floor(this.now() / 1000));
      if (version > UINT32_MAX) throw new LarsError('ERR_STORE', `the route version would exceed ${UINT32_MAX}; RouteVersion.version is unsigned 32-bit`);
      for (const { m, removedIds, added, attrKeys, policyChanged } of changed) {
        for (let i = 0; i < removedIds.length; i += UPSERT_CHUNK) {
          const chunk = removedIds.slice(i, i + UPSERT_CHUNK);
          await tx.run(`DELETE FROM RouteData WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
        }
        // A removed node's lease goes with it (a leased node an operator removes comes back on its next renewal).
        for (const [k, n] of m.before) {
          if (!m.after.has(k)) await tx.run('DELETE FROM RouteLease WHERE modid = ? AND cmdid = ? AND serverip = ? AND serverport = ?', [m.modid, m.cmdid, n.ip, n.port]);
        }
        for (let i = 0; i < added.length; i += UPSERT_CHUNK) {
          const chunk = added.slice(i, i + UPSERT_CHUNK);
          await tx.run(
            `INSERT INTO RouteData (modid, cmdid, serverip, serverport) VALUES ${placeholders(4, chunk.length)}`,
            chunk.flatMap((n) => [m.modid, m.cmdid, n.ip, n.port]),
          );
        }
        const inserts: SqlValue[][] = [];
        for (const k of attrKeys) {
          const node = m.after.get(k) ?? m.before.get(k) ?? parseNodeKey(k);
          if (m.attrRows.has(k)) {
            await tx.run('DELETE FROM RouteNodeAttr WHERE modid = ? AND cmdid = ? AND serverip = ? AND serverport = ?', [m.modid, m.cmdid, node.ip, node.port]);
          }
          const row = desiredRow(m, k);
          if (row !== undefined) inserts.push([m.modid, m.cmdid, node.ip, node.port, row.weight, row.zone]);
        }
        for (let i = 0; i < inserts.length; i += UPSERT_CHUNK) {
          const chunk = inserts.slice(i, i + UPSERT_CHUNK);
          await tx.run(`INSERT INTO RouteNodeAttr (modid, cmdid, serverip, serverport, weight, zone) VALUES ${placeholders(6, chunk.length)}`, chunk.flat());
        }
        if (policyChanged) {
          if (m.policyBefore !== undefined) await tx.run('DELETE FROM ModulePolicy WHERE modid = ? AND cmdid = ?', [m.modid, m.cmdid]);
          const p = m.policyAfter;
          if (p !== undefined) {
            await tx.run(`INSERT INTO ModulePolicy (${POLICY_COLUMNS}) VALUES ${placeholders(8, 1)}`, [
              m.modid,
              m.cmdid,
              p.name,
              p.maxEjectionPercent,
              p.panicThreshold,
              p.ejectionBackoffMaxMs,
              p.zoneOverprovision,
              p.ringSize,
            ]);
          }
        }
      }
      await tx.run('UPDATE RouteVersion SET version = ? WHERE id = 1', [version]);
      for (let i = 0; i < changed.length; i += UPSERT_CHUNK) {
        const chunk = changed.slice(i, i + UPSERT_CHUNK);
        await tx.run(`INSERT INTO RouteChange (modid, cmdid, version) VALUES ${placeholders(3, chunk.length)}`, chunk.flatMap((c) => [c.m.modid, c.m.cmdid, version]));
      }
      await writeAudit(
        tx,
        version,
        this.now(),
        audit,
        changed.map(({ m }) => ({
          modid: m.modid,
          cmdid: m.cmdid,
          before: [...m.before].map(([k, n]) => ({ ...n, ...attrFields(m.attrRows.get(k)) })),
          after: [...m.after].map(([k, n]) => ({ ...n, ...attrFields(desiredRow(m, k)) })),
          policyBefore: m.policyBefore,
          policyAfter: m.policyAfter,
        })),
      );
      return { version, previousVersion, changed: changed.map((c): ModuleKey => ({ modid: c.m.modid, cmdid: c.m.cmdid })) };
    }
  }

  // ---- leases (registration, EXTENSIONS.md §4) ------------------------------------------

  async applyLeases(leases: readonly LeaseWrite[], nowMs: number, maxLeases: number): Promise<LeaseResult> {
    // Malformed leases are counted, never thrown: one bad registration must not sink its batch.
    let refusedInvalid = 0;
    const byModule = new Map<string, { modid: number; cmdid: number; leases: Map<string, CheckedLease> }>();
    for (const l of leases) {
      const c = checkLease(l);
      if (c === undefined) {
        refusedInvalid++;
        continue;
      }
      const mk = moduleKey(c.modid, c.cmdid);
      let m = byModule.get(mk);
      if (m === undefined) byModule.set(mk, (m = { modid: c.modid, cmdid: c.cmdid, leases: new Map() }));
      m.leases.set(nodeKey(c.ip, c.port), c); // the last word on a node in one batch wins
    }
    if (byModule.size === 0) return { renewed: 0, added: 0, removed: 0, refusedStatic: 0, refusedFull: 0, refusedInvalid, change: { version: 0, previousVersion: 0, changed: [] } };
    const counts = { renewed: 0, added: 0, removed: 0, refusedStatic: 0, refusedFull: 0, refusedInvalid };
    return this.db.transaction('write', async (tx) => {
      // The version row lock serialises lease batches, reapers and route edits of every process.
      const previousVersion = await this.readVersion(tx, true);
      const { forUpdate } = this.db.dialect;
      const modules = new Map<string, EditedModule>();
      let edits: CheckedEdit[] = [];
      let upserts: SqlValue[][] = [];
      let leaseCount: number | undefined;
      for (const [mk, batch] of byModule) {
        const m = await this.readModuleForEdit(tx, batch.modid, batch.cmdid);
        modules.set(mk, m);
        const leased = new Map<string, number>();
        for (const r of await tx.query<{ serverip: number; serverport: number; registered_at: number }>(
          `SELECT serverip, serverport, registered_at FROM RouteLease WHERE modid = ? AND cmdid = ?${forUpdate}`,
          [batch.modid, batch.cmdid],
        )) {
          leased.set(nodeKey(Number(r.serverip), Number(r.serverport)), Number(r.registered_at));
        }
        for (const [key, l] of batch.leases) {
          const node = { ip: l.ip, port: l.port };
          const registeredAt = leased.get(key);
          const inRoute = m.before.has(key);
          if (registeredAt === undefined && inRoute) {
            // An operator's node: a registration never takes it over, nor removes it.
            counts.refusedStatic++;
            continue;
          }
          if (l.deregister) {
            if (inRoute) {
              edits.push({ op: 'remove', modid: l.modid, cmdid: l.cmdid, node });
              counts.removed++;
            } else if (registeredAt !== undefined) {
              await tx.run('DELETE FROM RouteLease WHERE modid = ? AND cmdid = ? AND serverip = ? AND serverport = ?', [l.modid, l.cmdid, l.ip, l.port]);
            }
            continue;
          }
          if (registeredAt === undefined) {
            leaseCount ??= Number((await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM RouteLease'))[0]?.n ?? 0);
            if (leaseCount >= maxLeases) {
              counts.refusedFull++;
              continue;
            }
            leaseCount++;
            counts.added++;
          } else {
            counts.renewed++;
          }
          const attr = m.attrs.get(key) ?? DEFAULT_ATTR;
          const want = { weight: l.weight, zone: l.zone };
          if (!inRoute) edits.push({ op: 'add', modid: l.modid, cmdid: l.cmdid, node: { ...node, ...want } });
          else if (!sameAttr(attr, want)) edits.push({ op: 'set', modid: l.modid, cmdid: l.cmdid, node: { ...node, ...want } });
          upserts.push([l.modid, l.cmdid, l.ip, l.port, nowMs + l.ttlMs, registeredAt ?? nowMs, l.ttlMs]);
        }
      }
      // First registrations that would make their route too large for one frame are refused (as
      // full), module by module, so that one crowded module never sinks the batch's renewals.
      for (const m of modules.values()) {
        const adds = edits.filter((e): e is Extract<CheckedEdit, { node: EditNode }> => e.op === 'add' && e.modid === m.modid && e.cmdid === m.cmdid);
        if (adds.length === 0) continue;
        const nodes: StoredNode[] = [...m.before].map(([k, n]) => ({ ...n, ...attrFields(m.attrs.get(k)) }));
        for (const a of adds) nodes.push({ ip: a.node.ip, port: a.node.port, ...attrFields({ weight: a.node.weight ?? 100, zone: a.node.zone ?? '' }) });
        try {
          checkRouteFits(m.modid, m.cmdid, nodes, m.policyBefore);
        } catch {
          const refused = new Set(adds.map((a) => nodeKey(a.node.ip, a.node.port)));
          edits = edits.filter((e) => !adds.includes(e as Extract<CheckedEdit, { node: EditNode }>));
          upserts = upserts.filter((u) => !(u[0] === m.modid && u[1] === m.cmdid && refused.has(nodeKey(Number(u[2]), Number(u[3])))));
          counts.added -= adds.length;
          counts.refusedFull += adds.length;
        }
      }
      for (let i = 0; i < upserts.length; i += UPSERT_CHUNK) {
        const chunk = upserts.slice(i, i + UPSERT_CHUNK);
        await tx.run(this.db.dialect.upsertNewest('RouteLease', LEASE_COLUMNS, LEASE_KEY, 'expires_at', chunk.length), chunk.flat());
      }
      const change = edits.length > 0 ? await this.routeChangeIn(tx, edits, previousVersion, modules, { actor: 'registration' }) : { version: previousVersion, previousVersion, changed: [] };
      return { ...counts, change };
    });
  }

  async reapLeases(nowMs: number): Promise<{ reaped: number; change: RouteChangeResult; nextExpiry: number | null }> {
    const none = (v: number, nextExpiry: number | null) => ({ reaped: 0, change: { version: v, previousVersion: v, changed: [] }, nextExpiry });
    // A cheap look first (one index probe), so that idle reapers never take the version lock, and
    // learn when to look next.
    const [first] = await this.db.query<{ next: number | null }>('SELECT MIN(expires_at) AS next FROM RouteLease');
    const next = first?.next === null || first?.next === undefined ? null : Number(first.next);
    if (next === null || next >= nowMs) return none(0, next);
    return this.db.transaction('write', async (tx) => {
      // Under the version lock a second reaper waits, then finds these leases gone: each is removed once.
      const previousVersion = await this.readVersion(tx, true);
      const rows = await tx.query<{ modid: number; cmdid: number; serverip: number; serverport: number }>(
        `SELECT modid, cmdid, serverip, serverport FROM RouteLease WHERE expires_at < ? ORDER BY modid, cmdid LIMIT ${REAP_CHUNK}${this.db.dialect.forUpdate}`,
        [nowMs],
      );
      if (rows.length === 0) return none(previousVersion, nowMs);
      const modules = new Map<string, EditedModule>();
      const edits: CheckedEdit[] = [];
      for (const r of rows) {
        const modid = Number(r.modid);
        const cmdid = Number(r.cmdid);
        const node = { ip: Number(r.serverip), port: Number(r.serverport) };
        const mk = moduleKey(modid, cmdid);
        let m = modules.get(mk);
        if (m === undefined) modules.set(mk, (m = await this.readModuleForEdit(tx, modid, cmdid)));
        if (m.before.has(nodeKey(node.ip, node.port))) edits.push({ op: 'remove', modid, cmdid, node });
        else await tx.run('DELETE FROM RouteLease WHERE modid = ? AND cmdid = ? AND serverip = ? AND serverport = ?', [modid, cmdid, node.ip, node.port]);
      }
      const change = edits.length > 0 ? await this.routeChangeIn(tx, edits, previousVersion, modules, { actor: 'lease expired' }) : none(previousVersion, null).change;
      return { reaped: rows.length, change, nextExpiry: nowMs };
    });
  }

  async listLeases(filter: RouteFilter = {}): Promise<LeaseRow[]> {
    const where = whereEqual({ modid: checked(filter.modid, checkUint32, 'modid'), cmdid: checked(filter.cmdid, checkUint32, 'cmdid') });
    const rows = await this.db.query<{ modid: number; cmdid: number; serverip: number; serverport: number; expires_at: number; registered_at: number; ttl_ms: number }>(
      `SELECT ${LEASE_COLUMNS.join(', ')} FROM RouteLease${where.sql} ORDER BY modid, cmdid, serverip, serverport`,
      where.params,
    );
    return rows.map((r) => ({
      modid: Number(r.modid),
      cmdid: Number(r.cmdid),
      ip: formatIpv4(Number(r.serverip)),
      port: Number(r.serverport),
      expiresAt: Number(r.expires_at),
      registeredAt: Number(r.registered_at),
      ttlMs: Number(r.ttl_ms),
    }));
  }

  async pinNode(module: ModuleKey, ip: string, port: number): Promise<boolean> {
    const modid = checkUint32('modid', module.modid);
    const cmdid = checkUint32('cmdid', module.cmdid);
    const n = await this.db.run('DELETE FROM RouteLease WHERE modid = ? AND cmdid = ? AND serverip = ? AND serverport = ?', [modid, cmdid, parseIpv4('ip', ip), checkPort('port', port)]);
    return n > 0;
  }

  /** A module's nodes, attribute rows and policy, locked for the route-change transaction. */
  private async readModuleForEdit(tx: SqlExecutor, modid: number, cmdid: number): Promise<EditedModule> {
    const { forUpdate } = this.db.dialect;
    const rows = await tx.query<RouteDataRow>(`SELECT id, serverip, serverport FROM RouteData WHERE modid = ? AND cmdid = ?${forUpdate}`, [modid, cmdid]);
    const before = new Map<string, NumNode>();
    const rowIds = new Map<string, number[]>();
    for (const r of rows) {
      const key = nodeKey(Number(r.serverip), Number(r.serverport));
      before.set(key, { ip: Number(r.serverip), port: Number(r.serverport) });
      // A hand-edited reference database may hold a node twice: removing it removes every row.
      const ids = rowIds.get(key);
      if (ids === undefined) rowIds.set(key, [Number(r.id)]);
      else ids.push(Number(r.id));
    }
    const attrRows = new Map<string, Attr>();
    for (const a of await tx.query<AttrDbRow>(`SELECT serverip, serverport, weight, zone FROM RouteNodeAttr WHERE modid = ? AND cmdid = ?${forUpdate}`, [modid, cmdid])) {
      attrRows.set(nodeKey(Number(a.serverip), Number(a.serverport)), { weight: Number(a.weight), zone: String(a.zone) });
    }
    const policyRow = (await tx.query<PolicyDbRow>(`SELECT ${POLICY_COLUMNS} FROM ModulePolicy WHERE modid = ? AND cmdid = ?${forUpdate}`, [modid, cmdid]))[0];
    const policyBefore = policyRow === undefined ? undefined : toPolicy(policyRow);
    // Attributes of the nodes in the route; a row for a node not in RouteData is ignored (and removed on the next edit).
    const attrs = new Map([...attrRows].filter(([k]) => before.has(k)));
    return { modid, cmdid, before, rowIds, after: new Map(before), attrRows, attrs, policyBefore, policyAfter: policyBefore };
  }

  // ---- module descriptions -----------------------------------------------------------------

  async listDescriptions(kind: DescriptionKind): Promise<Description[]> {
    const { table, column } = descriptionTable(kind);
    const rows = await this.db.query<{ id: number; content: string }>(`SELECT ${column} AS id, content FROM ${table} ORDER BY ${column}, id`);
    const seen = new Set<number>();
    const out: Description[] = [];
    for (const r of rows) {
      const id = Number(r.id);
      if (seen.has(id)) continue; // a reference table has no unique key; the first row wins
      seen.add(id);
      out.push({ id, content: String(r.content) });
    }
    return out;
  }

  async upsertDescription(kind: DescriptionKind, id: number, content: string): Promise<void> {
    const { table, column } = descriptionTable(kind);
    const value = checkUint32(column, id);
    const text = checkDescription('content', content);
    // UPDATE-then-INSERT rather than an upsert: a reference table has no unique key on the id.
    await this.db.transaction('write', async (tx) => {
      const existing = await tx.query(`SELECT id FROM ${table} WHERE ${column} = ?${this.db.dialect.forUpdate}`, [value]);
      if (existing.length > 0) await tx.run(`UPDATE ${table} SET content = ? WHERE ${column} = ?`, [text, value]);
      else await tx.run(`INSERT INTO ${table} (${column}, content) VALUES (?, ?)`, [value, text]);
    });
  }

  async deleteDescription(kind: DescriptionKind, id: number): Promise<boolean> {
    const { table, column } = descriptionTable(kind);
    const value = checkUint32(column, id);
    return (await this.db.run(`DELETE FROM ${table} WHERE ${column} = ?`, [value])) > 0;
  }

  // ---- alarm thresholds (ModuleAlarm) ----------------------------------------------------

  async listAlarmThresholds(): Promise<AlarmThreshold[]> {
    const rows = await this.db.query<{ modid: number; cmdid: number; error_ratio: number; overloaded_share: number }>(
      'SELECT modid, cmdid, error_ratio, overloaded_share FROM ModuleAlarm ORDER BY modid, cmdid',
    );
    return rows.map((r) => ({ modid: Number(r.modid), cmdid: Number(r.cmdid), errorRatio: Number(r.error_ratio), overloadedShare: Number(r.overloaded_share) }));
  }

  async setAlarmThreshold(threshold: AlarmThreshold): Promise<void> {
    const values = [
      checkUint32('modid', threshold.modid),
      checkUint32('cmdid', threshold.cmdid),
      checkShare('errorRatio', threshold.errorRatio),
      checkShare('overloadedShare', threshold.overloadedShare),
    ];
    // Delete-then-insert: one portable statement pair instead of two dialects' upserts.
    await this.db.transaction('write', async (tx) => {
      await tx.run('DELETE FROM ModuleAlarm WHERE modid = ? AND cmdid = ?', values.slice(0, 2));
      await tx.run('INSERT INTO ModuleAlarm (modid, cmdid, error_ratio, overloaded_share) VALUES (?, ?, ?, ?)', values);
    });
  }

  async deleteAlarmThreshold(key: ModuleKey): Promise<boolean> {
    const params = [checkUint32('modid', key.modid), checkUint32('cmdid', key.cmdid)];
    return (await this.db.run('DELETE FROM ModuleAlarm WHERE modid = ? AND cmdid = ?', params)) > 0;
  }

  // ---- call status -------------------------------------------------------------------------

  async upsertCallStatus(rows: readonly CallStatus[]): Promise<void> {
    if (!Array.isArray(rows)) throw new LarsError('ERR_INVALID_INPUT', 'call status rows must be an array');
    // Check everything first, then keep the newest row of each key (by ts; a tie goes to the
    // later row), the rule the upsert applies against the stored rows too.
    const latest = new Map<string, SqlValue[]>();
    const callTime = new Map<string, SqlValue[]>();
    rows.forEach((r, i) => {
      const at = `call status row ${i + 1}`;
      const values: SqlValue[] = [
        checkUint32(`modid (${at})`, r.modid),
        checkUint32(`cmdid (${at})`, r.cmdid),
        parseIpv4(`ip (${at})`, r.ip),
        checkPort(`port (${at})`, r.port),
        parseIpv4(`caller (${at})`, r.caller),
        checkUint32(`succCnt (${at})`, r.succCnt),
        checkUint32(`errCnt (${at})`, r.errCnt),
        checkUnixSeconds(`ts (${at})`, r.ts),
        typeof r.overload === 'boolean' ? (r.overload ? '1' : '0') : invalidOverload(at, r.overload),
      ];
      const time = r.usetime === undefined ? undefined : checkCallTime(at, r.usetime);
      const key = values.slice(0, 5).join(':');
      const held = latest.get(key);
      if (held !== undefined && (held[TS_INDEX] as number) > (values[TS_INDEX] as number)) return;
      latest.set(key, values);
      // The call time goes with its row: a newer row without timed calls leaves none for its window.
      if (time === undefined) callTime.delete(key);
      else callTime.set(key, [...values.slice(0, 5), ...time, values[TS_INDEX]!]);
    });
    if (latest.size === 0) return;
    // Sorted by key so concurrent writers lock rows in the same order and cannot deadlock each other.
    const byKey = (a: SqlValue[], b: SqlValue[]): number => {
      for (let i = 0; i < 5; i++) {
        const d = (a[i] as number) - (b[i] as number);
        if (d !== 0) return d;
      }
      return 0;
    };
    const ordered = [...latest.values()].sort(byKey);
    const timed = [...callTime.values()].sort(byKey);
    await this.db.transaction('write', async (tx) => {
      for (const [table, columns, list] of [
        ['ServerCallStatus', CALL_STATUS_COLUMNS, ordered],
        ['ServerCallTime', CALL_TIME_COLUMNS, timed],
      ] as const) {
        for (let i = 0; i < list.length; i += UPSERT_CHUNK) {
          const chunk = list.slice(i, i + UPSERT_CHUNK);
          await tx.run(this.db.dialect.upsertNewest(table, columns, CALL_STATUS_KEY, 'ts', chunk.length), chunk.flat());
        }
      }
    });
  }

  async listCallStatus(filter: CallStatusFilter = {}): Promise<CallStatus[]> {
    const where = whereEqual({
      modid: checked(filter.modid, checkUint32, 'modid'),
      cmdid: checked(filter.cmdid, checkUint32, 'cmdid'),
      ip: checked(filter.ip, parseIpv4, 'ip'),
      caller: checked(filter.caller, parseIpv4, 'caller'),
    });
    const n = checkLimit(filter.limit, 10000);
    const rows = await this.db.query<CallStatusDbRow>(
      // The call time of the same window only: an older one (its ts differs) is not shown.
      `SELECT s.modid, s.cmdid, s.ip, s.port, s.caller, s.succ_cnt, s.err_cnt, s.ts, s.overload, t.usetime_sum_us, t.usetime_max_us, t.timed_calls, a.zone ` +
        `FROM (SELECT * FROM ServerCallStatus${where.sql} ORDER BY modid, cmdid, ip, port, caller LIMIT ${n}) s ` +
        `LEFT JOIN ServerCallTime t ON t.modid = s.modid AND t.cmdid = s.cmdid AND t.ip = s.ip AND t.port = s.port AND t.caller = s.caller AND t.ts = s.ts ` +
        // The node's zone as the route has it now, so that the status page can group by zone.
        `LEFT JOIN RouteNodeAttr a ON a.modid = s.modid AND a.cmdid = s.cmdid AND a.serverip = s.ip AND a.serverport = s.port ` +
        'ORDER BY s.modid, s.cmdid, s.ip, s.port, s.caller',
      where.params,
    );
    return rows.map((r) => ({
      modid: Number(r.modid),
      cmdid: Number(r.cmdid),
      ip: formatIpv4(Number(r.ip)),
      port: Number(r.port),
      caller: formatIpv4(Number(r.caller)),
      succCnt: Number(r.succ_cnt),
      errCnt: Number(r.err_cnt),
      ts: Number(r.ts),
      // '1' is what we write; accept the other spellings a hand-written row might use.
      overload: /^[1yYtT]$/.test(String(r.overload)),
      ...(r.zone === null || r.zone === '' ? {} : { zone: r.zone }),
      ...(r.timed_calls === null || Number(r.timed_calls) === 0
        ? {}
        : { usetime: { sumUs: Number(r.usetime_sum_us), maxUs: Number(r.usetime_max_us), timedCalls: Number(r.timed_calls) } }),
    }));
  }
}

/** A filter field checked when it is set: the column's value, or undefined to leave it out. */
function checked<T>(value: T | undefined, check: (field: string, value: T) => number, field: string): number | undefined {
  return value === undefined ? undefined : check(field, value);
}

/** " WHERE a = ? AND b = ?" over the columns whose value is set, and the parameters in order. */
function whereEqual(columns: Record<string, number | undefined>): { sql: string; params: SqlValue[] } {
  const set = Object.entries(columns).filter((e): e is [string, number] => e[1] !== undefined);
  return { sql: set.length > 0 ? ` WHERE ${set.map(([c]) => `${c} = ?`).join(' AND ')}` : '', params: set.map(([, v]) => v) };
}

function descriptionTable(kind: DescriptionKind): { table: string; column: string } {
  const t = DESCRIPTION_TABLES[kind];
  if (t === undefined) throw new LarsError('ERR_INVALID_INPUT', `description kind must be "modid" or "cmdid", got ${JSON.stringify(kind)}`);
  return t;
}

/** [sum, max, timed calls] of a row's call time; `timedCalls` must be above 0 (no timed calls: no call time). */
function checkCallTime(at: string, t: CallTime): SqlValue[] {
  const timedCalls = checkUint32(`usetime.timedCalls (${at})`, t.timedCalls);
  if (timedCalls === 0) throw new LarsError('ERR_INVALID_INPUT', `usetime.timedCalls (${at}) must be above 0: a window without timed calls has no usetime`);
  return [checkSafeCount(`usetime.sumUs (${at})`, t.sumUs), checkUint32(`usetime.maxUs (${at})`, t.maxUs), timedCalls];
}

function invalidOverload(at: string, value: unknown): never {
  throw new LarsError('ERR_INVALID_INPUT', `overload (${at}) must be true or false, got ${JSON.stringify(value)}`);
}
