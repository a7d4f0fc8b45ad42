// The RouteAudit side table: one row per module per route-change transaction, saying who made the
// change, when, and the module's nodes before and after (docs/storage.md, "Audit"). The
// transaction calls writeAudit() with the node sets it already holds, so an edit and its audit
// row commit together; nothing here runs outside a caller's transaction except the reads.
import { LarsError } from '../errors.js';
import { placeholders, type SqlExecutor, type SqlValue } from './sql-driver.js';
import type { ModulePolicy, NodeEdit, RouteAuditRow, RouteNode } from './store.js';
import { formatIpv4 } from './validate.js';

/** Longest actor accepted (the column is varchar(128)). */
export const MAX_ACTOR_LENGTH = 128;
/**
 * A multi-row INSERT takes at most this many rows and about this much JSON: a row holds a module's
 * whole node lists (up to ~1 MB for a route that fills a frame), and the statement must stay
 * below the server's max_allowed_packet (16 MiB by default on MariaDB).
 */
const AUDIT_CHUNK_ROWS = 100;
const AUDIT_CHUNK_CHARS = 4_000_000;

/** A node as the tables hold it: the ip as an unsigned number. */
export interface NumNode {
  readonly ip: number;
  readonly port: number;
}

/** A node with the attributes it has (weight and zone only when not the default, as read). */
export interface AuditNode extends NumNode {
  readonly weight?: number;
  readonly zone?: string;
}

/** What the transaction tells the audit about one changed module. */
export interface AuditEntry {
  readonly modid: number;
  readonly cmdid: number;
  readonly before: readonly AuditNode[];
  readonly after: readonly AuditNode[];
  /** The module's policy before and after (undefined: no ModulePolicy row, i.e. `lars`). */
  readonly policyBefore: ModulePolicy | undefined;
  readonly policyAfter: ModulePolicy | undefined;
}

/** Who made a change and why: every audit row of one transaction shares it. */
export interface AuditContext {
  readonly actor: string;
  readonly revertOf?: number;
}

/** The JSON in RouteAudit.what. */
interface AuditWhat {
  kind: 'change' | 'revert';
  revertOf?: number;
  before: RouteNode[];
  after: RouteNode[];
  added: RouteNode[];
  removed: RouteNode[];
  edited: NodeEdit[];
  /** Present when the transaction changed the module's policy; null = no ModulePolicy row. */
  policy?: { before: ModulePolicy | null; after: ModulePolicy | null };
}

export function checkActor(actor: unknown): string {
  if (typeof actor !== 'string' || actor.trim() === '' || actor.length > MAX_ACTOR_LENGTH || /[\u0000-\u001f\u007f]/.test(actor)) {
    throw new LarsError('ERR_INVALID_INPUT', `actor must be 1 to ${MAX_ACTOR_LENGTH} printable characters, got ${JSON.stringify(actor)}`);
  }
  return actor;
}

const byIpPort = (a: NumNode, b: NumNode): number => a.ip - b.ip || a.port - b.port;
const shown = (n: AuditNode): RouteNode => ({
  ip: formatIpv4(n.ip),
  port: n.port,
  ...(n.weight === undefined ? {} : { weight: n.weight }),
  ...(n.zone === undefined ? {} : { zone: n.zone }),
});
const show = (nodes: readonly AuditNode[]): RouteNode[] => [...nodes].sort(byIpPort).map(shown);
const samePolicy = (a: ModulePolicy | undefined, b: ModulePolicy | undefined): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * The per-module diff: added and removed nodes; one out and one in is an edit of that node, and so
 * is a node that stays with another weight or zone. A policy change is recorded whole.
 */
export function auditDiff(entry: AuditEntry, context: AuditContext): AuditWhat {
  const key = (n: NumNode): string => `${n.ip}:${n.port}`;
  const beforeByKey = new Map(entry.before.map((n) => [key(n), n]));
  const afterKeys = new Set(entry.after.map(key));
  let added = show(entry.after.filter((n) => !beforeByKey.has(key(n))));
  let removed = show(entry.before.filter((n) => !afterKeys.has(key(n))));
  const edited: NodeEdit[] = [];
  if (added.length === 1 && removed.length === 1) {
    edited.push({ from: removed[0] as RouteNode, to: added[0] as RouteNode });
    added = [];
    removed = [];
  }
  for (const n of [...entry.after].sort(byIpPort)) {
    const old = beforeByKey.get(key(n));
    if (old !== undefined && (old.weight !== n.weight || old.zone !== n.zone)) edited.push({ from: shown(old), to: shown(n) });
  }
  const policyChanged = !samePolicy(entry.policyBefore, entry.policyAfter);
  return {
    kind: context.revertOf === undefined ? 'change' : 'revert',
    ...(context.revertOf === undefined ? {} : { revertOf: context.revertOf }),
    before: show(entry.before),
    after: show(entry.after),
    added,
    removed,
    edited,
    ...(policyChanged ? { policy: { before: entry.policyBefore ?? null, after: entry.policyAfter ?? null } } : {}),
  };
}

/** Writes one RouteAudit row per changed module, inside the caller's route-change transaction. */
export async function writeAudit(tx: SqlExecutor, version: number, atMs: number, context: AuditContext, entries: readonly AuditEntry[]): Promise<void> {
  let chunk: SqlValue[][] = [];
  let chars = 0;
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    await tx.run(`INSERT INTO RouteAudit (version, modid, cmdid, actor, at_ms, what) VALUES ${placeholders(6, chunk.length)}`, chunk.flat());
    chunk = [];
    chars = 0;
  };
  for (const e of entries) {
    const what = JSON.stringify(auditDiff(e, context));
    if (chunk.length === AUDIT_CHUNK_ROWS || (chunk.length > 0 && chars + what.length > AUDIT_CHUNK_CHARS)) await flush();
    chunk.push([version, e.modid, e.cmdid, context.actor, atMs, what]);
    chars += what.length;
  }
  await flush();
}

interface AuditDbRow {
  id: number;
  version: number;
  modid: number;
  cmdid: number;
  actor: string;
  at_ms: number;
  what: string;
  [k: string]: unknown;
}

const AUDIT_COLUMNS = 'id, version, modid, cmdid, actor, at_ms, what';

/** The newest `limit` rows (limit already checked), newest first. */
export async function readRecentAudit(ex: SqlExecutor, limit: number): Promise<RouteAuditRow[]> {
  const rows = await ex.query<AuditDbRow>(`SELECT ${AUDIT_COLUMNS} FROM RouteAudit ORDER BY id DESC LIMIT ${limit}`);
  return rows.map(toAuditRow);
}

export async function readAudit(ex: SqlExecutor, id: number): Promise<RouteAuditRow | undefined> {
  const rows = await ex.query<AuditDbRow>(`SELECT ${AUDIT_COLUMNS} FROM RouteAudit WHERE id = ?`, [id]);
  return rows[0] === undefined ? undefined : toAuditRow(rows[0]);
}

function toAuditRow(r: AuditDbRow): RouteAuditRow {
  const base = { id: Number(r.id), version: Number(r.version), modid: Number(r.modid), cmdid: Number(r.cmdid), actor: String(r.actor), atMs: Number(r.at_ms) };
  let what: Partial<AuditWhat>;
  try {
    what = JSON.parse(String(r.what)) as Partial<AuditWhat>;
  } catch {
    // A hand-edited row: show who and when; without the before-state it cannot be reverted.
    what = {};
  }
  const nodes = (v: unknown): RouteNode[] => (Array.isArray(v) ? (v as RouteNode[]) : []);
  return {
    ...base,
    kind: what.kind === 'revert' ? 'revert' : 'change',
    ...(typeof what.revertOf === 'number' ? { revertOf: what.revertOf } : {}),
    ...(Array.isArray(what.before) ? { before: what.before } : {}),
    after: nodes(what.after),
    added: nodes(what.added),
    removed: nodes(what.removed),
    edited: Array.isArray(what.edited) ? what.edited : [],
    ...(what.policy !== undefined && what.policy !== null && typeof what.policy === 'object' ? { policy: what.policy } : {}),
  } as RouteAuditRow;
}
