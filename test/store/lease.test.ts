// The store's leases (EXTENSIONS.md §4) on both backends: batched renewals without a version bump,
// first registrations and deregistrations through the route-change transaction, refusals that
// change nothing, and reapers on several connections removing each expired lease exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../src/config/types.js';
import { openStore, type LeaseWrite, type Store, type StoreBackend } from '../../src/store/index.js';
import { createTestDatabase } from '../helpers/mysql.js';

const T0 = 1_800_000_000_000;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function place(backend: StoreBackend): Promise<{ config: StoreConfig; remove: () => Promise<void> }> {
  if (backend === 'mysql') {
    const db = await createTestDatabase();
    return { config: { mysql: db.config, sqlitePath: 'unused.sqlite', changeRetentionSec: 86400, auditRetentionDays: 90 }, remove: () => db.drop() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'lars-lease-'));
  dirs.push(dir);
  return { config: { mysql: undefined, sqlitePath: join(dir, 'lars.sqlite'), changeRetentionSec: 86400, auditRetentionDays: 90 }, remove: async () => {} };
}

const lease = (modid: number, port: number, extra: Partial<LeaseWrite> = {}): LeaseWrite => ({ modid, cmdid: 1, ip: '10.2.0.1', port, ttlMs: 1000, deregister: false, ...extra });

describe.each(['mysql', 'sqlite'] as const)('leases in the store (%s)', (backend) => {
  it('adds a node on its first registration, renews without a version bump, removes it on deregistration', async () => {
    const p = await place(backend);
    const store = await openStore(p.config);
    try {
      await store.init();
      const first = await store.applyLeases([lease(1, 1, { weight: 300, zone: 'az2' }), lease(1, 2)], T0, 100);
      expect(first).toMatchObject({ added: 2, renewed: 0, refusedStatic: 0 });
      expect(first.change.changed).toEqual([{ modid: 1, cmdid: 1 }]);
      const v1 = await store.getVersion();
      expect((await store.listRoutes({ modid: 1 })).map((r) => [r.port, r.weight, r.zone])).toEqual([[1, 300, 'az2'], [2, undefined, undefined]]);
      const renew = await store.applyLeases([lease(1, 1, { weight: 300, zone: 'az2', ttlMs: 5000 }), lease(1, 2)], T0 + 500, 100);
      expect(renew).toMatchObject({ added: 0, renewed: 2 });
      expect(await store.getVersion()).toBe(v1);
      expect((await store.listLeases()).map((l) => [l.port, l.expiresAt, l.registeredAt, l.ttlMs])).toEqual([
        [1, T0 + 5500, T0, 5000],
        [2, T0 + 1500, T0, 1000],
      ]);
      const gone = await store.applyLeases([lease(1, 2, { deregister: true, ttlMs: 0 })], T0 + 600, 100);
      expect(gone).toMatchObject({ removed: 1 });
      expect((await store.listRoutes({ modid: 1 })).map((r) => r.port)).toEqual([1]);
      expect((await store.listLeases()).map((l) => l.port)).toEqual([1]);
    } finally {
      await store.close();
      await p.remove();
    }
  });

  it('refuses a static node, malformed leases and first registrations past maxLeases, changing nothing', async () => {
    const p = await place(backend);
    const store = await openStore(p.config);
    try {
      await store.init();
      await store.applyRouteChange([{ op: 'add', modid: 2, cmdid: 1, ip: '10.2.0.1', port: 9 }]);
      const v = await store.getVersion();
      const r = await store.applyLeases(
        [lease(2, 9), lease(2, 9, { deregister: true }), lease(2, 10, { ttlMs: 5 }), lease(2, 11, { zone: 'no spaces' }), lease(2, 12, { ip: '0.0.0.0' })],
        T0,
        100,
      );
      expect(r).toMatchObject({ refusedStatic: 1, refusedInvalid: 3, added: 0 });
      expect(await store.getVersion()).toBe(v);
      expect(await store.listLeases()).toEqual([]);
      expect((await store.listRoutes({ modid: 2 })).map((x) => x.port)).toEqual([9]);
      const full = await store.applyLeases([lease(3, 1), lease(3, 2), lease(3, 3)], T0, 2);
      expect(full).toMatchObject({ added: 2, refusedFull: 1 });
      expect(await store.listLeases({ modid: 3 })).toHaveLength(2);
      // Pinning turns a leased node into a static one: it never expires and a registration is refused.
      expect(await store.pinNode({ modid: 3, cmdid: 1 }, '10.2.0.1', 1)).toBe(true);
      expect((await store.reapLeases(T0 + 10_000)).reaped).toBe(1);
      expect((await store.listRoutes({ modid: 3 })).map((x) => x.port)).toEqual([1]);
      expect((await store.applyLeases([lease(3, 1)], T0 + 10_000, 100)).refusedStatic).toBe(1);
    } finally {
      await store.close();
      await p.remove();
    }
  });

  it('tells the reaper when the earliest lease expires, so idle reapers look rarely', async () => {
    const p = await place(backend);
    const store = await openStore(p.config);
    try {
      await store.init();
      expect((await store.reapLeases(T0)).nextExpiry).toBeNull();
      await store.applyLeases([lease(4, 1, { ttlMs: 3000 }), lease(4, 2, { ttlMs: 9000 })], T0, 100);
      expect(await store.reapLeases(T0 + 1000)).toMatchObject({ reaped: 0, nextExpiry: T0 + 3000 });
      // One expired: reaped, and the reaper is told to look again at once (more may be left).
      expect(await store.reapLeases(T0 + 5000)).toMatchObject({ reaped: 1, nextExpiry: T0 + 5000 });
      expect(await store.reapLeases(T0 + 5000)).toMatchObject({ reaped: 0, nextExpiry: T0 + 9000 });
    } finally {
      await store.close();
      await p.remove();
    }
  });

  it('refuses first registrations that would make their route too large for one frame, and still renews the rest of the batch', async () => {
    const p = await place(backend);
    const store = await openStore(p.config);
    try {
      await store.init();
      const zone = 'z'.repeat(64);
      await store.applyLeases([lease(30, 1)], T0, 100_000);
      // About 800 nodes with 64-byte zones fill a frame: 2000 cannot all fit.
      const crowd = Array.from({ length: 2000 }, (_, i) => lease(31, 1 + i, { zone }));
      const r = await store.applyLeases([lease(30, 1, { ttlMs: 9000 }), ...crowd], T0 + 100, 100_000);
      expect(r).toMatchObject({ renewed: 1, added: 0, refusedFull: 2000 });
      expect((await store.listLeases({ modid: 30 }))[0]!.expiresAt).toBe(T0 + 9100);
      expect(await store.listRoutes({ modid: 31 })).toEqual([]);
    } finally {
      await store.close();
      await p.remove();
    }
  });

  it('two reapers on one database remove each expired lease exactly once', async () => {
    const p = await place(backend);
    const a = await openStore(p.config);
    const b = await openStore(p.config);
    try {
      await a.init();
      const n = 400;
      const leases = Array.from({ length: n }, (_, i) => lease(10 + (i % 4), 1000 + i));
      expect((await a.applyLeases(leases, T0, 100_000)).added).toBe(n);
      // One lease still alive, so reaping is selective.
      await a.applyLeases([lease(10, 1000, { ttlMs: 600_000 })], T0 + 1, 100_000);
      const changesBefore = (await a.recentChanges(1000)).length;
      const results = await Promise.all([a.reapLeases(T0 + 5000), b.reapLeases(T0 + 5000), a.reapLeases(T0 + 5000), b.reapLeases(T0 + 5000)]);
      expect(results.reduce((s, r) => s + r.reaped, 0)).toBe(n - 1);
      // Every route change that removed nodes was written by one reaper: at most one per module per reaping transaction.
      const changes = (await a.recentChanges(1000)).length - changesBefore;
      expect(changes).toBe(results.reduce((s, r) => s + r.change.changed.length, 0));
      expect(await a.listLeases()).toHaveLength(1);
      expect((await a.listRoutes()).map((r) => `${r.modid}:${r.port}`)).toEqual(['10:1000']);
    } finally {
      await a.close();
      await b.close();
      await p.remove();
    }
  });
});
