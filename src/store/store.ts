// The one storage interface every role codes against (docs/storage.md). Two backends implement
// it through the same SqlStore: MySQL (the source of truth in production) and SQLite (the
// embedded single-machine store). IPv4 addresses cross this interface as dotted-quad strings;
// the store converts them to the unsigned number the tables hold.

export type StoreBackend = 'mysql' | 'sqlite';

/** A module: one remote service. */
export interface ModuleKey {
  readonly modid: number;
  readonly cmdid: number;
}

/** A node of a route. */
export interface RouteNode {
  /** Dotted quad, e.g. "10.0.0.1". */
  readonly ip: string;
  readonly port: number;
  /**
   * RouteNodeAttr.weight, 1..10000. Read: present only when not 100 (the default, as on the wire).
   * Written by add/replace/set: undefined leaves the stored value (100 for a new node).
   */
  readonly weight?: number;
  /** RouteNodeAttr.zone, at most 64 bytes of [A-Za-z0-9._-]. Read: present only when not ''. Written: as weight. */
  readonly zone?: string;
}

/** The policy names of EXTENSIONS.md §3. */
export const POLICY_NAMES = ['lars', 'weighted_round_robin', 'weighted_random', 'least_latency', 'ring_hash'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** A ModulePolicy row; field names as the wire's RoutePolicy. Every 0 means unset (EXTENSIONS.md §1). */
export interface ModulePolicy {
  readonly name: PolicyName;
  /** 0..100 */
  readonly maxEjectionPercent: number;
  /** 0..100 */
  readonly panicThreshold: number;
  /** milliseconds, 0..86400000 */
  readonly ejectionBackoffMaxMs: number;
  /** percent, 0..10000 (e.g. 140) */
  readonly zoneOverprovision: number;
  /** 0 (= 1024) or 1..1048576 */
  readonly ringSize: number;
}

/** One RouteData row. */
export interface RouteRow extends ModuleKey, RouteNode {
  readonly id: number;
}

/** A module and all its nodes (duplicated rows collapsed), ordered by ip then port. */
export interface ModuleRoute extends ModuleKey {
  readonly hosts: readonly RouteNode[];
  /** The module's ModulePolicy row; absent = policy lars with the agent's settings. */
  readonly policy?: ModulePolicy;
}

/** Everything the DNS needs, read in one consistent snapshot. */
export interface RouteTable {
  /** RouteVersion.version (id = 1). */
  readonly version: number;
  /** The largest RouteChange.id at the time of the snapshot (0 when none): consume changes after it. */
  readonly lastChangeId: number;
  /** Ordered by modid, then cmdid. */
  readonly modules: readonly ModuleRoute[];
  /**
   * Each module's digest of its rows (every module with a row in any table a frame is made of),
   * from the same snapshot; undefined where the backend computes none (SQLite).
   */
  readonly digests?: readonly ModuleDigest[];
}

/**
 * What the database says about some route rows without shipping them: per table a frame is made
 * of (RouteData, RouteNodeAttr, ModulePolicy), the row count and the sum of the rows' checksums.
 * Six numbers that add up: a table's digest is the sum of its modules'. Equal digests = equal rows
 * (up to a checksum collision), whoever wrote them.
 */
export type RoutesDigest = readonly number[];

export interface ModuleDigest extends ModuleKey {
  readonly digest: RoutesDigest;
}

/** What the change log names after a change id, with those modules' routes, in one snapshot. */
export interface RouteDelta {
  readonly version: number;
  readonly lastChangeId: number;
  /** RouteChange rows read (a module edited twice counts twice). */
  readonly changeRows: number;
  /** Every module the rows name, once each. */
  readonly named: readonly ModuleKey[];
  /** The named modules that still have nodes; a named module missing here has none left. */
  readonly modules: readonly ModuleRoute[];
  /** The named modules' digests (one missing here has no row left); undefined where the backend computes none. */
  readonly digests?: readonly ModuleDigest[];
}

export interface RouteFilter {
  readonly modid?: number;
  readonly cmdid?: number;
}

/**
 * One edit of a route-change transaction.
 * - add: the node must not be in the route yet (else ERR_INVALID_INPUT, nothing written).
 * - remove: the node must be in the route (else ERR_INVALID_INPUT, nothing written); its weight
 *   and zone go with it.
 * - replace: the module's node set becomes exactly `hosts` (empty removes the module); a node's
 *   weight or zone left undefined keeps its stored value.
 * - set: changes the weight and/or zone of a node of the route (else ERR_INVALID_INPUT).
 * - setPolicy / removePolicy: the module's ModulePolicy row (removing a missing one changes nothing).
 */
export type RouteEdit =
  | ({ readonly op: 'add' } & ModuleKey & RouteNode)
  | ({ readonly op: 'remove' } & ModuleKey & RouteNode)
  | ({ readonly op: 'replace'; readonly hosts: readonly RouteNode[] } & ModuleKey)
  | ({ readonly op: 'set' } & ModuleKey & RouteNode)
  | ({ readonly op: 'setPolicy'; readonly policy: ModulePolicy } & ModuleKey)
  | ({ readonly op: 'removePolicy' } & ModuleKey);

export interface RouteChangeResult {
  /** The version after the transaction (unchanged when nothing changed). */
  readonly version: number;
  readonly previousVersion: number;
  /** Modules whose nodes, weights, zones or policy differ from before, in the order first edited; one RouteChange row each. */
  readonly changed: readonly ModuleKey[];
}

/** One RouteChange row. */
export interface RouteChangeRow extends ModuleKey {
  readonly id: number;
  readonly version: number;
}

/** A node of a route that an edit changed into another (same transaction, one out, one in). */
export interface NodeEdit {
  readonly from: RouteNode;
  readonly to: RouteNode;
}

/**
 * One RouteAudit row (docs/storage.md, "Audit"): who changed one module's route in one
 * route-change transaction, when, and what changed. Written in the same transaction as the change.
 */
export interface RouteAuditRow extends ModuleKey {
  readonly id: number;
  /** The version the transaction gave (the RouteChange row of this module has the same). */
  readonly version: number;
  /** The web user, "cli@<host>", "seed", or what the caller passed. */
  readonly actor: string;
  /** Milliseconds since the epoch. */
  readonly atMs: number;
  /** 'revert': the transaction restored the state before audit row `revertOf`. */
  readonly kind: 'change' | 'revert';
  readonly revertOf?: number;
  /** The module's nodes before and after, ordered by ip then port; no `before`: cannot be reverted. */
  readonly before?: readonly RouteNode[];
  readonly after: readonly RouteNode[];
  readonly added: readonly RouteNode[];
  readonly removed: readonly RouteNode[];
  /** A node replaced by another in one transaction (one out, one in: the admin's "edit"), or one
   * whose weight or zone changed. */
  readonly edited: readonly NodeEdit[];
  /** Present when the change set or removed the module's policy; null = no ModulePolicy row (`lars`). */
  readonly policy?: { readonly before: ModulePolicy | null; readonly after: ModulePolicy | null };
}

/** ModuleAlarm: one module's alarm thresholds (modules without one use the web admin's defaults). */
export interface AlarmThreshold extends ModuleKey {
  /** Failures / calls over the nodes' current windows at or above which the module is in alarm (0–1]. */
  readonly errorRatio: number;
  /** Overloaded nodes / nodes at or above which the module is in alarm (0–1]. */
  readonly overloadedShare: number;
}

/** ServerCallStatus: the latest call statistics of one node as seen by one caller. */
export interface CallStatus extends ModuleKey {
  readonly ip: string;
  readonly port: number;
  /** The reporting agent's IPv4, dotted quad. */
  readonly caller: string;
  readonly succCnt: number;
  readonly errCnt: number;
  /** Unix seconds. */
  readonly ts: number;
  readonly overload: boolean;
  /** The node's zone (RouteNodeAttr) as the route has it now: present only when it has one. */
  readonly zone?: string;
  /** The window's call time (ServerCallTime, EXTENSIONS.md §2): present only when calls were timed in it. */
  readonly usetime?: CallTime;
}

/** Call time of the timed calls of one report window, in microseconds. */
export interface CallTime {
  /** A safe integer (the wire's uint64). */
  readonly sumUs: number;
  readonly maxUs: number;
  /** Above 0: a window without timed calls has no call time. */
  readonly timedCalls: number;
}

export interface CallStatusFilter {
  readonly modid?: number;
  readonly cmdid?: number;
  readonly ip?: string;
  readonly caller?: string;
  /** At most this many rows (default 10000). */
  readonly limit?: number;
}

/** ModIDConfig rows ('modid') and CmdIDConfig rows ('cmdid'). */
export type DescriptionKind = 'modid' | 'cmdid';

export interface Description {
  /** The modid or cmdid described. */
  readonly id: number;
  readonly content: string;
}

/** A registration as the DNS writes it (EXTENSIONS.md §4); ip as a dotted quad. */
export interface LeaseWrite extends ModuleKey {
  readonly ip: string;
  readonly port: number;
  /** 1..10000; 0 or absent = 100. */
  readonly weight?: number;
  readonly zone?: string;
  /** 1000..600000 (ignored for a deregistration). */
  readonly ttlMs: number;
  readonly deregister: boolean;
}

/** What one applyLeases batch did. Refused leases change nothing stored. */
export interface LeaseResult {
  /** Leases whose expiry moved on. */
  readonly renewed: number;
  /** Nodes added by a first registration. */
  readonly added: number;
  /** Nodes removed by a deregistration. */
  readonly removed: number;
  /** Registrations naming an operator's static node (in RouteData without a RouteLease row). */
  readonly refusedStatic: number;
  /** First registrations past maxLeases, or that would make their route too large for one frame. */
  readonly refusedFull: number;
  /** Malformed leases (bad ids, address, weight, zone or ttl). */
  readonly refusedInvalid: number;
  /** The route change the batch made (no change: changed is empty). */
  readonly change: RouteChangeResult;
}

/** One RouteLease row. */
export interface LeaseRow extends ModuleKey {
  readonly ip: string;
  readonly port: number;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly registeredAt: number;
  readonly ttlMs: number;
}

/**
 * The Lars store. Methods may be called concurrently from one thread (the event loop); each is
 * atomic. Bad input throws LarsError('ERR_INVALID_INPUT') before any SQL runs; an unreachable
 * database throws 'ERR_STORE_UNAVAILABLE'; other database failures throw 'ERR_STORE'.
 */
export interface Store {
  readonly backend: StoreBackend;
  /** Where the data lives, for logs: "MySQL root@127.0.0.1:3306/lars_dns" or "SQLite /path/lars.sqlite". */
  readonly description: string;

  /** Creates the schema if missing (and, on MySQL, the database). Idempotent; never drops anything. */
  init(): Promise<void>;
  /** Loads the demo routes through the route-change transaction (idempotent: a re-seed changes nothing). */
  seedDemo(): Promise<RouteChangeResult>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** RouteData rows with their weight and zone, ordered by modid, cmdid, ip, port. */
  listRoutes(filter?: RouteFilter): Promise<RouteRow[]>;
  /** ModulePolicy rows, ordered by modid, cmdid (a module without one has policy lars). */
  listPolicies(filter?: RouteFilter): Promise<(ModuleKey & { policy: ModulePolicy })[]>;
  /** The module's ModulePolicy row, or undefined when it has none (policy lars). */
  getPolicy(module: ModuleKey): Promise<ModulePolicy | undefined>;
  /** All routes grouped by module, with weights, zones and policies, the version and last change id, in one snapshot. */
  loadRouteTable(): Promise<RouteTable>;
  /**
   * The modules RouteChange names after `afterChangeId` and their routes, in one snapshot; undefined
   * when it names more than `maxModules` (loading the whole table is then cheaper).
   */
  loadRouteChanges(afterChangeId: number, maxModules: number): Promise<RouteDelta | undefined>;
  /** The digest of all route rows now (the sum of every module's); undefined where the backend computes none. */
  routesDigest(): Promise<RoutesDigest | undefined>;

  /** RouteVersion.version of row id = 1. */
  getVersion(): Promise<number>;
  /** RouteChange rows with id > afterId, ascending by id, at most `limit` (default 1000). Deletes nothing. */
  changesSince(afterId: number, limit?: number): Promise<RouteChangeRow[]>;
  /** The newest RouteChange rows, newest first (the admin's change log). */
  recentChanges(limit?: number): Promise<RouteChangeRow[]>;
  /**
   * Deletes RouteChange rows whose version is below `olderThanSec` (unix seconds; versions are
   * at least the unix time of their change). The newest row is always kept. Returns rows deleted.
   */
  pruneChanges(olderThanSec: number): Promise<number>;
  /** Deletes RouteAudit rows written before `olderThanMs` (unix ms), a chunk per statement. Returns rows deleted. */
  pruneAudit(olderThanMs: number): Promise<number>;

  /**
   * THE route-change transaction (docs/storage.md). All edits apply, or none. `actor` (who makes
   * the change, 1–128 characters; default "unknown") goes into the RouteAudit row of each changed
   * module, written in the same transaction.
   */
  applyRouteChange(edits: readonly RouteEdit[], actor?: string): Promise<RouteChangeResult>;
  /** The newest RouteAudit rows, newest first. */
  recentAudit(limit?: number): Promise<RouteAuditRow[]>;
  /**
   * A route-change transaction that sets the module of audit row `auditId` back to its nodes
   * before that change, audited as a revert by `actor`. ERR_NOT_FOUND when there is no such row.
   */
  revertRouteChange(auditId: number, actor: string): Promise<RouteChangeResult>;

  /** ModuleAlarm rows, ordered by modid, cmdid. */
  listAlarmThresholds(): Promise<AlarmThreshold[]>;
  setAlarmThreshold(threshold: AlarmThreshold): Promise<void>;
  /** Resolves to false when the module had no thresholds of its own. */
  deleteAlarmThreshold(key: ModuleKey): Promise<boolean>;

  /**
   * Writes a batch of leases in one transaction: renewals move expires_at (no version bump); a
   * first registration adds the node (RouteData, RouteNodeAttr, RouteLease) and a deregistration
   * removes it, through the route-change transaction. A lease naming a static node, a malformed one
   * and a first registration past `maxLeases` leases are refused and counted. `nowMs`: epoch ms.
   */
  applyLeases(leases: readonly LeaseWrite[], nowMs: number, maxLeases: number): Promise<LeaseResult>;
  /**
   * Removes the leases that expired before `nowMs` and their nodes, through the route-change
   * transaction. Several DNS instances may reap at once: the version row lock decides, so each
   * lease is removed by exactly one of them. Returns the leases removed, the change, and when the
   * earliest lease left expires (null: none held; `nowMs`: expired ones may remain past this chunk).
   */
  reapLeases(nowMs: number): Promise<{ readonly reaped: number; readonly change: RouteChangeResult; readonly nextExpiry: number | null }>;
  /** RouteLease rows, ordered by modid, cmdid, ip, port. */
  listLeases(filter?: RouteFilter): Promise<LeaseRow[]>;
  /** Turns a leased node into a static one (its RouteLease row goes); false when it had no lease. */
  pinNode(module: ModuleKey, ip: string, port: number): Promise<boolean>;

  listDescriptions(kind: DescriptionKind): Promise<Description[]>;
  upsertDescription(kind: DescriptionKind, id: number, content: string): Promise<void>;
  /** Resolves to false when there was no description to delete. */
  deleteDescription(kind: DescriptionKind, id: number): Promise<boolean>;

  /**
   * Writes the latest statistics per (modid, cmdid, ip, port, caller): one multi-row upsert
   * statement per chunk of rows, all in one transaction. The row with the newest ts wins, within
   * a batch and against the stored row, whatever order writers commit in (a tie: the later write).
   * A row's call time goes, by the same rule and in the same transaction, to the side table
   * ServerCallTime (EXTENSIONS.md §2).
   */
  upsertCallStatus(rows: readonly CallStatus[]): Promise<void>;
  /** Ordered by modid, cmdid, ip, port, caller; a row carries its call time when ServerCallTime has it for the same ts. */
  listCallStatus(filter?: CallStatusFilter): Promise<CallStatus[]>;
}
