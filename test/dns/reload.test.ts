// A DNS instance's reload without a database or sockets: a table that did not change costs no
// encoding and no hand-over to the frontend (every instance reloads on every edit and every
// full_reload_ms, so at dozens of instances this is most of their idle CPU).
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DnsFrontend } from '../../src/dns/dns-frontend.js';
import { DnsService } from '../../src/dns/dns-service.js';
import { RouteIndex } from '../../src/dns/route-index.js';
import type { ModuleDigest, ModuleKey, ModuleRoute, RouteChangeRow, RouteDelta, RouteTable, Store } from '../../src/store/store.js';
import { moduleKey } from '../../src/wire/module-key.js';

function table(version: number, modules: ModuleRoute[]): RouteTable {
  return { version, lastChangeId: 0, modules };
}

const a = (port: number): ModuleRoute => ({ modid: 1, cmdid: 1, hosts: [{ ip: '10.0.0.1', port }] });
const b = (port: number): ModuleRoute => ({ modid: 1, cmdid: 2, hosts: [{ ip: '10.0.0.2', port }] });

describe('RouteIndex', () => {
  it('keeps the frame of every module whose node set is unchanged and encodes only the edited ones', () => {
    const first = RouteIndex.fromTable(table(1, [a(80), b(80)]));
    const next = RouteIndex.fromTable(table(2, [a(80), b(81)]), first);
    expect(next.frameFor(1, 1)).toBe(first.frameFor(1, 1));
    expect(next.frameFor(1, 2)).not.toBe(first.frameFor(1, 2));
    expect(next.frameFor(1, 2)).toEqual(RouteIndex.fromTable(table(2, [b(81)])).frameFor(1, 2));
    expect(next.changedSince(first)).toEqual([{ modid: 1, cmdid: 2 }]);
  });
});

/**
 * A route database as the DNS sees it: the version, the change log, the routes and (like MySQL,
 * unlike SQLite) a digest of them. `edit` is the admin's transaction; `handEdit` is direct SQL.
 */
class FakeDatabase {
  version = 1;
  private readonly changes: RouteChangeRow[] = [];
  private readonly routes = new Map<string, ModuleRoute>();
  readonly reads = { full: 0, delta: 0, digest: 0 };
  /** The cutoff of every pruneAudit call. */
  readonly auditPrunes: number[] = [];
  down = false;

  constructor(
    modules: ModuleRoute[],
    private readonly withDigest: boolean,
  ) {
    for (const m of modules) this.routes.set(moduleKey(m.modid, m.cmdid), m);
  }

  edit(...modules: (ModuleRoute | ModuleKey)[]): void {
    this.version++;
    for (const m of modules) {
      this.write(m);
      this.changes.push({ id: this.changes.length + 1, modid: m.modid, cmdid: m.cmdid, version: this.version });
    }
  }

  /** Behind the change log's back; `bump` also moves the version. */
  handEdit(m: ModuleRoute | ModuleKey, bump: boolean): void {
    if (bump) this.version++;
    this.write(m);
  }

  private write(m: ModuleRoute | ModuleKey): void {
    if ('hosts' in m) this.routes.set(moduleKey(m.modid, m.cmdid), m);
    else this.routes.delete(moduleKey(m.modid, m.cmdid));
  }

  private get lastChangeId(): number {
    return this.changes.length;
  }

  /** Like the database's: per module a row count and a checksum sum, adding up to the whole. */
  private static digestOf(m: ModuleRoute): ModuleDigest {
    let sum = 0;
    for (const ch of JSON.stringify(m)) sum = (sum * 31 + ch.charCodeAt(0)) % 4_294_967_291;
    return { modid: m.modid, cmdid: m.cmdid, digest: [m.hosts.length, sum] };
  }

  private digests(of: readonly ModuleRoute[]): { digests?: ModuleDigest[] } {
    return this.withDigest ? { digests: of.map(FakeDatabase.digestOf) } : {};
  }

  private reachable<T>(value: () => T): Promise<T> {
    return this.down ? Promise.reject(new Error('connect ECONNREFUSED')) : Promise.resolve(value());
  }

  store(): Store {
    return {
      description: 'fake',
      getVersion: () => this.reachable(() => this.version),
      loadRouteTable: () =>
        this.reachable((): RouteTable => {
          this.reads.full++;
          const modules = [...this.routes.values()];
          return { version: this.version, lastChangeId: this.lastChangeId, modules, ...this.digests(modules) };
        }),
      loadRouteChanges: (after: number, most: number) =>
        this.reachable((): RouteDelta | undefined => {
          this.reads.delta++;
          const rows = this.changes.filter((c) => c.id > after);
          const named = [...new Map(rows.map((c) => [moduleKey(c.modid, c.cmdid), { modid: c.modid, cmdid: c.cmdid }])).values()];
          if (named.length > most) return undefined;
          const modules = named.flatMap((k) => this.routes.get(moduleKey(k.modid, k.cmdid)) ?? []);
          return { version: this.version, lastChangeId: this.lastChangeId, changeRows: rows.length, named, modules, ...this.digests(modules) };
        }),
      routesDigest: () =>
        this.reachable(() => {
          this.reads.digest++;
          const all = this.digests([...this.routes.values()]).digests;
          return all?.reduce((sum, m) => sum.map((v, i) => v + (m.digest[i] ?? 0)), [0, 0]);
        }),
      changesSince: (after: number) => this.reachable(() => this.changes.filter((c) => c.id > after)),
      pruneChanges: async () => 0,
      pruneAudit: async (olderThanMs: number) => {
        this.auditPrunes.push(olderThanMs);
        return 0;
      },
    } as unknown as Store;
  }
}

function recordingFrontend(): { frontend: DnsFrontend; indexes: RouteIndex[]; pushes: ModuleKey[][] } {
  const indexes: RouteIndex[] = [];
  const pushes: ModuleKey[][] = [];
  const frontend = {
    setIndex: (i: RouteIndex) => indexes.push(i),
    push: (m: readonly ModuleKey[]) => pushes.push([...m]),
  } as unknown as DnsFrontend;
  return { frontend, indexes, pushes };
}

const A = { modid: 1, cmdid: 1 };
const B = { modid: 1, cmdid: 2 };
const emptyFrame = (k: ModuleKey): Buffer => RouteIndex.EMPTY.frameFor(k.modid, k.cmdid);

describe('DnsService reload', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(db: FakeDatabase, fullReloadMs: number, auditRetentionDays = 90) {
    vi.useFakeTimers();
    const { frontend, indexes, pushes } = recordingFrontend();
    const service = new DnsService({ store: db.store(), frontend, pollIntervalMs: 1000, fullReloadMs, changeRetentionSec: 3600, auditRetentionDays });
    return { service, indexes, pushes, started: service.start() };
  }

  it('hands the frontend a new index only when a module changed, and pushes only those', async () => {
    // No digest and fullReloadMs 0: every poll reloads the whole table, as on SQLite every full_reload_ms.
    const db = new FakeDatabase([a(80), b(80)], false);
    const { service, indexes, pushes, started } = start(db, 0);
    await started;
    expect(indexes).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(3000);
    expect(service.stats().reloads).toBeGreaterThanOrEqual(4);
    expect(indexes).toHaveLength(1);

    db.edit(b(81));
    await vi.advanceTimersByTimeAsync(1000);
    expect(indexes).toHaveLength(2);
    expect(indexes[1]!.frameFor(1, 1)).toBe(indexes[0]!.frameFor(1, 1));
    expect(pushes.at(-1)).toEqual([B]);
    service.stop();
  });

  it('on a new version loads only the modules the change log names, and pushes them', async () => {
    const db = new FakeDatabase([a(80), b(80)], true);
    const { service, indexes, pushes, started } = start(db, 60_000);
    await started;
    db.edit(b(81));
    await vi.advanceTimersByTimeAsync(1000);
    expect(db.reads).toMatchObject({ full: 1, delta: 1 });
    expect(pushes.at(-1)).toEqual([B]);
    expect(indexes.at(-1)!.version).toBe(db.version);
    expect(indexes.at(-1)!.frameFor(1, 2)).toEqual(RouteIndex.fromTable(table(0, [b(81)])).frameFor(1, 2));
    expect(indexes.at(-1)!.frameFor(1, 1)).toBe(indexes[0]!.frameFor(1, 1));

    // A module with no node left: named, removed, answered with an empty host list.
    db.edit(A);
    await vi.advanceTimersByTimeAsync(1000);
    expect(pushes.at(-1)).toEqual([A]);
    expect(indexes.at(-1)!.frameFor(1, 1)).toEqual(emptyFrame(A));
    expect(indexes.at(-1)!.size).toBe(1);
    expect(service.stats()).toMatchObject({ reloads: 1, deltaLoads: 2, changesApplied: 2 });
    service.stop();
  });

  it('reloads the whole table for a version bump the change log does not explain, and pushes what differs', async () => {
    const db = new FakeDatabase([a(80), b(80)], true);
    const { service, pushes, indexes, started } = start(db, 60_000);
    await started;
    db.handEdit(a(90), true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(db.reads).toMatchObject({ full: 2, delta: 1 });
    expect(pushes.at(-1)).toEqual([A]);
    expect(indexes.at(-1)!.frameFor(1, 1)).toEqual(RouteIndex.fromTable(table(0, [a(90)])).frameFor(1, 1));
    service.stop();
  });

  it('every full_reload_ms asks the database for its digest and reloads only when it differs: a hand edit is pushed within one period', async () => {
    const db = new FakeDatabase([a(80), b(80)], true);
    const { service, pushes, started } = start(db, 10_000);
    await started;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(db.reads.full).toBe(1);
    expect(service.stats().digestChecks).toBe(3);

    // Direct SQL, no version bump: only the periodic check can see it.
    db.handEdit(b(99), false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(db.reads.full).toBe(2);
    expect(pushes.at(-1)).toEqual([B]);
    service.stop();
  });

  it('keeps the digest of its copy through the deltas it loads: no reload follows an edit, but a hand edit that slipped in beside it is caught', async () => {
    const db = new FakeDatabase([a(80), b(80)], true);
    const { service, pushes, started } = start(db, 10_000);
    await started;
    db.edit(b(81));
    await vi.advanceTimersByTimeAsync(1000);
    expect(pushes.at(-1)).toEqual([B]);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(db.reads.full).toBe(1);
    expect(service.stats().digestChecks).toBe(2);

    // A hand edit of A lands with a logged edit of B: the delta reads only B, the next check sees A.
    db.handEdit(a(70), false);
    db.edit(b(82));
    await vi.advanceTimersByTimeAsync(1000);
    expect(pushes.at(-1)).toEqual([B]);
    expect(db.reads.full).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(db.reads.full).toBe(2);
    expect(pushes.at(-1)).toEqual([A]);
    service.stop();
  });

  it('reloads the whole table on every period where the database has no digest (SQLite), as the reference does', async () => {
    const db = new FakeDatabase([a(80), b(80)], false);
    const { service, started } = start(db, 10_000);
    await started;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(db.reads.full).toBe(4);
    expect(service.stats().digestChecks).toBe(0);
    service.stop();
  });

  it('after the store was unreachable, the first good poll reloads the whole table (the log may have been pruned meanwhile)', async () => {
    const db = new FakeDatabase([a(80), b(80)], true);
    const { service, pushes, started } = start(db, 60_000);
    await started;
    db.down = true;
    await vi.advanceTimersByTimeAsync(3000);
    expect(service.stats().storeUp).toBe(false);
    db.handEdit(b(82), true);
    db.down = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(service.stats().storeUp).toBe(true);
    expect(db.reads).toMatchObject({ full: 2, delta: 0 });
    expect(pushes.at(-1)).toEqual([B]);
    service.stop();
  });

  it('prunes the audit at start and every 10 minutes by its retention in days; 0 keeps it', async () => {
    const db = new FakeDatabase([a(80)], true);
    const { service, started } = start(db, 10_000);
    await started;
    expect(db.auditPrunes).toEqual([Date.now() - 90 * 86_400_000]);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(db.auditPrunes).toHaveLength(2);
    expect(db.auditPrunes[1]).toBe(Date.now() - 90 * 86_400_000);
    service.stop();

    const keep = new FakeDatabase([a(80)], true);
    const kept = start(keep, 10_000, 0);
    await kept.started;
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(keep.auditPrunes).toEqual([]);
    kept.service.stop();
  });
});
