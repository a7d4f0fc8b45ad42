// The DNS service's control plane: keeps the frontend's routes equal to the store's.
// Polls RouteVersion; on a new version reads the RouteChange rows after the last id it handled
// (never deleting them: other DNS instances read them too), loads just the modules they name and
// pushes each to its subscribers. Every fullReloadMs it makes sure nothing changed behind the
// change log's back (direct SQL): it reloads the whole table, unless the database's digest of all
// route rows equals the sum of the per-module digests its copy was loaded with (each full load
// and each delta brings those of the modules it read). K instances share one database, so
// what each one reads per edit and per period is what the database pays K times over
// (docs/capacity.md). With the store down it keeps serving the last good table and retries with backoff.
import { createLogger } from '../log.js';
import type { ModuleKey, RoutesDigest, Store } from '../store/store.js';
import { moduleKey } from '../wire/module-key.js';
import type { DnsFrontend } from './dns-frontend.js';
import { RouteIndex } from './route-index.js';

const log = createLogger('dns');

/** Longest wait between retries while the store is down. */
const MAX_BACKOFF_MS = 10_000;
/** A version change naming more modules than this loads the whole table instead. */
const MAX_DELTA_MODULES = 256;
/** How often old RouteChange rows are pruned. */
const PRUNE_EVERY_MS = 10 * 60_000;

export interface DnsServiceOptions {
  readonly store: Store;
  readonly frontend: DnsFrontend;
  readonly pollIntervalMs: number;
  readonly fullReloadMs: number;
  readonly changeRetentionSec: number;
  /** RouteAudit rows older than this many days are pruned; 0 keeps them. */
  readonly auditRetentionDays: number;
  readonly now?: () => number;
}

export interface DnsServiceStats {
  readonly storeUp: boolean;
  readonly version: number;
  readonly routes: number;
  /** Whole-table loads. */
  readonly reloads: number;
  /** Loads of just the modules a version change named. */
  readonly deltaLoads: number;
  /** Periodic checks the digest answered (nothing changed, no reload). */
  readonly digestChecks: number;
  readonly storeErrors: number;
  readonly changesApplied: number;
}

export class DnsService {
  private index = RouteIndex.EMPTY;
  /** undefined until the first poll: every change of this state is logged once. */
  private storeUp: boolean | undefined;
  private reloads = 0;
  private deltaLoads = 0;
  private digestChecks = 0;
  private storeErrors = 0;
  private changesApplied = 0;
  private lastFullCheck = 0;
  /** Per module, the digest of the rows the copy was loaded from; undefined where the store computes none. */
  private copyDigests: Map<string, RoutesDigest> | undefined;
  /** The store was unreachable: changes may have been pruned from the log meanwhile. */
  private resync = false;
  private lastPrune = 0;
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking = false;
  /** A refresh() came during a tick: poll again right after it. */
  private again = false;
  private readonly now: () => number;

  constructor(private readonly opts: DnsServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.backoffMs = opts.pollIntervalMs;
  }

  /** Loads the routes once (or starts retrying if the store is down) and starts polling. */
  async start(): Promise<void> {
    await this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** This process changed routes (a lease batch, a reap): poll now rather than at the next interval. */
  refresh(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    void this.tick();
  }

  stats(): DnsServiceStats {
    return {
      storeUp: this.storeUp === true,
      version: this.index.version,
      routes: this.index.size,
      reloads: this.reloads,
      deltaLoads: this.deltaLoads,
      digestChecks: this.digestChecks,
      storeErrors: this.storeErrors,
      changesApplied: this.changesApplied,
    };
  }

  private async tick(): Promise<void> {
    this.ticking = true;
    try {
      const version = await this.opts.store.getVersion();
      if (this.index === RouteIndex.EMPTY || this.resync) await this.reload();
      else if (version !== this.index.version) await this.loadChanges();
      else if (this.now() - this.lastFullCheck >= this.opts.fullReloadMs) await this.checkAll();
      if (this.now() - this.lastPrune >= PRUNE_EVERY_MS) await this.prune();
      this.markStore(true);
    } catch (err) {
      this.storeErrors++;
      this.resync = true;
      this.markStore(false, err);
    }
    this.ticking = false;
    if (this.stopped) return;
    const again = this.again && this.storeUp === true;
    this.again = false;
    const delay = again ? 0 : this.storeUp ? this.opts.pollIntervalMs : this.backoffMs;
    if (!this.storeUp) this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  /** The change log named modules: load just those, patch the index, push them. */
  private async loadChanges(): Promise<void> {
    const delta = await this.opts.store.loadRouteChanges(this.index.lastChangeId, MAX_DELTA_MODULES);
    // Too many modules, or a version bump the log does not explain (a hand edit): the whole table.
    if (delta === undefined || delta.named.length === 0) return this.reload();
    const before = this.index;
    const next = before.patched(delta);
    this.index = next;
    if (this.copyDigests === undefined || delta.digests === undefined) this.copyDigests = undefined;
    else {
      // From the delta's snapshot, like its routes: a hand edit of a named module is in both.
      for (const m of delta.named) this.copyDigests.delete(moduleKey(m.modid, m.cmdid));
      for (const m of delta.digests) this.copyDigests.set(moduleKey(m.modid, m.cmdid), m.digest);
    }
    this.changesApplied += delta.changeRows;
    this.deltaLoads++;
    if (next.changedSince(before).length > 0) this.opts.frontend.setIndex(next);
    this.opts.frontend.push(delta.named);
    log.info(`routes at version ${next.version}: ${delta.named.length} modules changed and pushed`);
  }

  /** Periodic: reload the whole table unless the store's digest equals the copy's. */
  private async checkAll(): Promise<void> {
    if (this.copyDigests !== undefined) {
      const digest = await this.opts.store.routesDigest();
      if (digest !== undefined && sameDigest(digest, sumDigests(this.copyDigests.values()))) {
        this.digestChecks++;
        this.lastFullCheck = this.now();
        return;
      }
    }
    await this.reload();
  }

  private async reload(): Promise<void> {
    const { store, frontend } = this.opts;
    const table = await store.loadRouteTable();
    const changed = new Map<string, ModuleKey>();
    const before = this.index;
    if (before !== RouteIndex.EMPTY) {
      // The change log names every module an admin touched since our last read, up to the snapshot.
      for (let after = this.index.lastChangeId; after < table.lastChangeId; ) {
        const rows = await store.changesSince(after);
        if (rows.length === 0) break;
        for (const row of rows) {
          if (row.id > table.lastChangeId) break;
          changed.set(moduleKey(row.modid, row.cmdid), row);
          this.changesApplied++;
        }
        after = rows[rows.length - 1]!.id;
      }
    }
    const next = RouteIndex.fromTable(table, this.index);
    // A full reload also catches edits made behind the change log's back (direct SQL).
    const edited = next.changedSince(this.index);
    for (const m of edited) changed.set(moduleKey(m.modid, m.cmdid), m);
    this.index = next;
    // The frontend's copy (for the native one, the whole table handed to C++) only when a frame differs.
    if (before === RouteIndex.EMPTY || edited.length > 0) frontend.setIndex(next);
    // Also after the first load: a DNS that started while the store was down has answered its
    // subscribers from an empty table, and they will not ask again before their routes age.
    frontend.push([...changed.values()]);
    this.reloads++;
    this.copyDigests = table.digests === undefined ? undefined : new Map(table.digests.map((m) => [moduleKey(m.modid, m.cmdid), m.digest]));
    this.resync = false;
    this.lastFullCheck = this.now();
    if (before === RouteIndex.EMPTY) log.info(`loaded routes at version ${next.version}: ${next.size} modules`);
    else if (changed.size > 0) log.info(`routes at version ${next.version}: ${next.size} modules, ${changed.size} changed and pushed`);
  }

  private async prune(): Promise<void> {
    this.lastPrune = this.now();
    const deleted = await this.opts.store.pruneChanges(Math.floor(this.now() / 1000) - this.opts.changeRetentionSec);
    if (deleted > 0) log.info(`pruned ${deleted} RouteChange rows older than ${this.opts.changeRetentionSec} s`);
    // Every registration and lease expiry is an audited route change: without a retention the
    // audit table grows with the fleet's churn for ever. Every instance prunes; after the first,
    // the others find nothing (one primary-key probe).
    const days = this.opts.auditRetentionDays;
    if (days === 0) return;
    const audited = await this.opts.store.pruneAudit(this.now() - days * 86_400_000);
    if (audited > 0) log.info(`pruned ${audited} RouteAudit rows older than ${days} days`);
  }

  private markStore(up: boolean, err?: unknown): void {
    if (up) this.backoffMs = this.opts.pollIntervalMs;
    if (up === this.storeUp) return;
    this.storeUp = up;
    if (up) log.info(`store ${this.opts.store.description} reachable: serving version ${this.index.version}`);
    else
      log.error(
        `store ${this.opts.store.description} unreachable (${(err as Error)?.message ?? err}); ` +
          `serving the last good routes (version ${this.index.version}, ${this.index.size} modules), retrying with backoff`,
      );
  }
}

function sumDigests(digests: Iterable<RoutesDigest>): number[] {
  const sum: number[] = [];
  for (const d of digests) d.forEach((v, i) => (sum[i] = (sum[i] ?? 0) + v));
  return sum;
}

/** Equal digests; a part missing on one side (no module had a row there) is 0. */
function sameDigest(a: RoutesDigest, b: RoutesDigest): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return false;
  return true;
}
