// One Store suite, run against both backends: MySQL (a fresh MariaDB database per run) and
// SQLite (a fresh temp file). Any difference between them is a bug.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../src/config/types.js';
import { isLarsError, type LarsErrorCode } from '../../src/errors.js';
import { openStore, type CallStatus, type RouteEdit, type RouteNode, type Store, type StoreBackend } from '../../src/store/index.js';
import { createTestDatabase, testServer, type TestDatabase } from '../helpers/mysql.js';

/** Raw SQL on the same database, bypassing the store (fault injection, reference DDL, checks). */
interface RawDb {
  exec(sql: string): Promise<void>;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** A database of its own for one backend: where it is, raw access to it, and its removal. */
interface Place {
  readonly config: StoreConfig;
  raw(): Promise<RawDb>;
  remove(): Promise<void>;
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lars-store-'));
  tempDirs.push(dir);
  return dir;
}

async function newPlace(backend: StoreBackend): Promise<Place> {
  if (backend === 'mysql') {
    const db: TestDatabase = await createTestDatabase();
    return {
      config: { mysql: db.config, sqlitePath: 'unused.sqlite', changeRetentionSec: 86400, auditRetentionDays: 90 },
      async raw() {
        const conn = await createConnection({ ...db.config, multipleStatements: true });
        return {
          exec: async (sql) => void (await conn.query(sql)),
          rows: async (sql) => (await conn.query(sql))[0] as Record<string, unknown>[],
          close: () => conn.end(),
        };
      },
      remove: () => db.drop(),
    };
  }
  const path = join(tempDir(), 'sub', 'dir', 'lars.sqlite');
  return {
    config: { mysql: undefined, sqlitePath: path, changeRetentionSec: 86400, auditRetentionDays: 90 },
    async raw() {
      mkdirSync(dirname(path), { recursive: true });
      const db = new Database(path, { timeout: 5000 });
      return {
        exec: async (sql) => void db.exec(sql),
        rows: async (sql) => db.prepare(sql).all() as Record<string, unknown>[],
        close: async () => void db.close(),
      };
    },
    remove: async () => {},
  };
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function expectLarsError(promise: Promise<unknown>, code: LarsErrorCode, message: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(isLarsError(caught, code), `expected LarsError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as Error).message).toMatch(message);
}

const nodes = (...ports: number[]): RouteNode[] => ports.map((port) => ({ ip: '127.0.0.1', port }));

describe.each(['mysql', 'sqlite'] as const)('Store on %s', (backend) => {
  let place: Place;
  let raw: RawDb;
  let store: Store;
  // The store's clock: tests move it; versions are at least its unix second.
  let nowMs = Date.UTC(2030, 0, 1);

  const count = async (sql: string): Promise<number> => Number(Object.values((await raw.rows(sql))[0] ?? {})[0]);
  /** A snapshot of everything route-related, to prove a refused edit wrote nothing. */
  const snapshot = async () => ({
    version: await store.getVersion(),
    routes: await store.listRoutes(),
    changes: await count('SELECT COUNT(*) AS n FROM RouteChange'),
  });

  beforeAll(async () => {
    place = await newPlace(backend);
    // The store first: it creates the SQLite file's directory.
    store = await openStore(place.config, { now: () => nowMs });
    raw = await place.raw();
    await store.init();
  });

  afterAll(async () => {
    await store?.close();
    await raw?.close();
    await place?.remove();
  });

  it('describes where it stores data', () => {
    expect(store.backend).toBe(backend);
    expect(store.description).toMatch(backend === 'mysql' ? /^MySQL root@127\.0\.0\.1:\d+\/lars_test_/ : /^SQLite \/.*lars\.sqlite$/);
  });

  it('creates the schema idempotently, with the version in row id 1', async () => {
    await store.init();
    await store.init();
    expect(await count('SELECT COUNT(*) AS n FROM RouteVersion')).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM RouteVersion WHERE id = 1')).toBe(1);
    for (const table of ['RouteData', 'RouteChange', 'ServerCallStatus', 'ModIDConfig', 'CmdIDConfig', 'RouteNodeAttr', 'ModulePolicy', 'RouteLease']) {
      expect(await count(`SELECT COUNT(*) AS n FROM ${table}`)).toBeGreaterThanOrEqual(0);
    }
    await store.ping();
  });

  it('seeds the demo routes once through the route-change transaction', async () => {
    const before = await store.getVersion();
    const first = await store.seedDemo();
    expect(first.previousVersion).toBe(before);
    expect(first.version).toBeGreaterThan(before);
    expect(first.changed).toEqual([
      { modid: 1, cmdid: 1 },
      { modid: 1, cmdid: 2 },
      { modid: 2, cmdid: 1 },
    ]);
    const routes = await store.listRoutes({ modid: 1, cmdid: 1 });
    expect(routes.map((r) => `${r.ip}:${r.port}`)).toEqual(['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']);
    const again = await store.seedDemo();
    expect(again).toEqual({ version: first.version, previousVersion: first.version, changed: [] });
    expect(await store.listRoutes({ modid: 1 })).toHaveLength(6);
  });

  it('adds, lists and removes nodes; refuses adding a present node or removing a missing one', async () => {
    const r1 = await store.applyRouteChange([{ op: 'add', modid: 100, cmdid: 1, ip: '10.0.0.1', port: 8000 }]);
    expect(r1.changed).toEqual([{ modid: 100, cmdid: 1 }]);
    await store.applyRouteChange([{ op: 'add', modid: 100, cmdid: 1, ip: '192.168.1.177', port: 8001 }]);
    const listed = await store.listRoutes({ modid: 100, cmdid: 1 });
    expect(listed.map(({ modid, cmdid, ip, port }) => ({ modid, cmdid, ip, port }))).toEqual([
      { modid: 100, cmdid: 1, ip: '10.0.0.1', port: 8000 },
      { modid: 100, cmdid: 1, ip: '192.168.1.177', port: 8001 },
    ]);
    expect(listed.every((r) => Number.isInteger(r.id) && r.id > 0)).toBe(true);
    // Stored as the unsigned number, as in a reference database.
    expect(await count('SELECT serverip FROM RouteData WHERE modid = 100 AND serverport = 8001')).toBe(3232235953);

    const before = await snapshot();
    await expectLarsError(store.applyRouteChange([{ op: 'add', modid: 100, cmdid: 1, ip: '10.0.0.1', port: 8000 }]), 'ERR_INVALID_INPUT', /10\.0\.0\.1:8000 is already a node of modid 100 cmdid 1/);
    await expectLarsError(store.applyRouteChange([{ op: 'remove', modid: 100, cmdid: 1, ip: '10.0.0.9', port: 8000 }]), 'ERR_INVALID_INPUT', /10\.0\.0\.9:8000 is not a node of modid 100 cmdid 1/);
    // The first edit of a batch is valid, the second is not: the whole batch is refused.
    await expectLarsError(
      store.applyRouteChange([
        { op: 'add', modid: 100, cmdid: 2, ip: '10.0.0.2', port: 1 },
        { op: 'remove', modid: 100, cmdid: 1, ip: '10.0.0.9', port: 8000 },
      ]),
      'ERR_INVALID_INPUT',
      /not a node/,
    );
    expect(await snapshot()).toEqual(before);

    const removed = await store.applyRouteChange([{ op: 'remove', modid: 100, cmdid: 1, ip: '10.0.0.1', port: 8000 }]);
    expect(removed.changed).toEqual([{ modid: 100, cmdid: 1 }]);
    expect((await store.listRoutes({ modid: 100 })).map((r) => r.port)).toEqual([8001]);
    expect((await store.listRoutes({ cmdid: 1 })).every((r) => r.cmdid === 1)).toBe(true);
  });

  it('stores weights, zones and policies through the route-change transaction, and loads them for the DNS', async () => {
    const M = { modid: 150, cmdid: 1 };
    const changes = async () => count(`SELECT COUNT(*) AS n FROM RouteChange WHERE modid = ${M.modid}`);
    const attrRows = async () => count(`SELECT COUNT(*) AS n FROM RouteNodeAttr WHERE modid = ${M.modid}`);
    const edit = async (e: RouteEdit) => {
      nowMs += 1000;
      return store.applyRouteChange([e]);
    };
    await edit({ op: 'add', ...M, ip: '10.0.0.1', port: 1, weight: 300, zone: 'az1' });
    await edit({ op: 'add', ...M, ip: '10.0.0.2', port: 1 });
    expect((await store.listRoutes(M)).map(({ ip, weight, zone }) => ({ ip, weight, zone }))).toEqual([
      { ip: '10.0.0.1', weight: 300, zone: 'az1' },
      { ip: '10.0.0.2', weight: undefined, zone: undefined },
    ]);
    expect(await attrRows()).toBe(1); // a node at the defaults has no row

    // set: one attribute at a time, each a new version with a RouteChange row; an unchanged value is no change.
    const v0 = await store.getVersion();
    const c0 = await changes();
    const r1 = await edit({ op: 'set', ...M, ip: '10.0.0.2', port: 1, zone: 'az2' });
    expect(r1.changed).toEqual([M]);
    expect(r1.version).toBeGreaterThan(v0);
    expect(await changes()).toBe(c0 + 1);
    const same = await edit({ op: 'set', ...M, ip: '10.0.0.2', port: 1, zone: 'az2' });
    expect(same.changed).toEqual([]);
    await edit({ op: 'set', ...M, ip: '10.0.0.1', port: 1, weight: 100 });
    expect((await store.listRoutes(M)).map(({ weight, zone }) => ({ weight, zone }))).toEqual([
      { weight: undefined, zone: 'az1' },
      { weight: undefined, zone: 'az2' },
    ]);
    await expectLarsError(edit({ op: 'set', ...M, ip: '10.0.0.9', port: 1, weight: 5 }), 'ERR_INVALID_INPUT', /10\.0\.0\.9:1 is not a node of modid 150 cmdid 1/);

    // replace keeps the attributes it does not mention; remove takes the node's row with it.
    await edit({ op: 'replace', ...M, hosts: [{ ip: '10.0.0.1', port: 1 }, { ip: '10.0.0.2', port: 1, weight: 7 }, { ip: '10.0.0.3', port: 1 }] });
    expect((await store.listRoutes(M)).map(({ ip, weight, zone }) => [ip, weight, zone])).toEqual([
      ['10.0.0.1', undefined, 'az1'],
      ['10.0.0.2', 7, 'az2'],
      ['10.0.0.3', undefined, undefined],
    ]);
    await edit({ op: 'remove', ...M, ip: '10.0.0.2', port: 1 });
    expect(await attrRows()).toBe(1);
    await edit({ op: 'add', ...M, ip: '10.0.0.2', port: 1 });
    expect((await store.listRoutes(M)).find((r) => r.ip === '10.0.0.2')).not.toHaveProperty('weight');

    // Policies.
    const policy = { name: 'ring_hash', maxEjectionPercent: 50, panicThreshold: 20, ejectionBackoffMaxMs: 30000, zoneOverprovision: 140, ringSize: 4096 } as const;
    expect(await store.getPolicy(M)).toBeUndefined();
    const c1 = await changes();
    expect((await edit({ op: 'setPolicy', ...M, policy })).changed).toEqual([M]);
    expect(await store.getPolicy(M)).toEqual(policy);
    expect(await store.listPolicies({ modid: M.modid })).toEqual([{ ...M, policy }]);
    expect(await store.listPolicies({ modid: M.modid, cmdid: M.cmdid + 1 })).toEqual([]);
    expect((await edit({ op: 'setPolicy', ...M, policy })).changed).toEqual([]);
    await edit({ op: 'setPolicy', ...M, policy: { ...policy, name: 'weighted_random' } });
    expect(await changes()).toBe(c1 + 2);
    const table = await store.loadRouteTable();
    expect(table.modules.find((m) => m.modid === M.modid)).toEqual({
      ...M,
      hosts: [
        { ip: '10.0.0.1', port: 1, zone: 'az1' },
        { ip: '10.0.0.2', port: 1 },
        { ip: '10.0.0.3', port: 1 },
      ],
      policy: { ...policy, name: 'weighted_random' },
    });
    expect((await edit({ op: 'removePolicy', ...M })).changed).toEqual([M]);
    expect((await edit({ op: 'removePolicy', ...M })).changed).toEqual([]);
    expect(await store.getPolicy(M)).toBeUndefined();
    expect((await store.loadRouteTable()).modules.find((m) => m.modid === M.modid)).not.toHaveProperty('policy');
    await edit({ op: 'replace', ...M, hosts: [] });
    expect(await attrRows()).toBe(0);
  });

  it('refuses bad weights, zones and policies before writing anything', async () => {
    await store.applyRouteChange([{ op: 'replace', modid: 151, cmdid: 1, hosts: nodes(1, 2) }]);
    const before = await snapshot();
    const node = { modid: 151, cmdid: 1, ip: '127.0.0.1', port: 1 };
    for (const weight of [0, 10001, 1.5, -1]) {
      await expectLarsError(store.applyRouteChange([{ op: 'set', ...node, weight }]), 'ERR_INVALID_INPUT', /^weight \(edit 1\) must be an integer from 1 to 10000/);
    }
    for (const zone of ['a'.repeat(65), 'az 1', 'zöne', 'a/b']) {
      await expectLarsError(store.applyRouteChange([{ op: 'add', ...node, port: 9, zone }]), 'ERR_INVALID_INPUT', /^zone \(edit 1\) must be at most 64 characters of A-Z a-z 0-9 \. _ -/);
    }
    await expectLarsError(store.applyRouteChange([{ op: 'set', ...node }]), 'ERR_INVALID_INPUT', /needs a weight or a zone/);
    const policy = { name: 'lars', maxEjectionPercent: 0, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 0, ringSize: 0 } as const;
    const setPolicy = (p: object) => store.applyRouteChange([{ op: 'setPolicy', modid: 151, cmdid: 1, policy: p as never }]);
    await expectLarsError(setPolicy({ ...policy, name: 'round_robin' }), 'ERR_INVALID_INPUT', /policy \(edit 1\)\.name must be one of lars, weighted_round_robin, weighted_random, least_latency, ring_hash/);
    await expectLarsError(setPolicy({ ...policy, maxEjectionPercent: 101 }), 'ERR_INVALID_INPUT', /maxEjectionPercent must be a percent from 0 to 100/);
    await expectLarsError(setPolicy({ ...policy, panicThreshold: -1 }), 'ERR_INVALID_INPUT', /panicThreshold must be a percent from 0 to 100/);
    await expectLarsError(setPolicy({ ...policy, ringSize: 2 ** 21 }), 'ERR_INVALID_INPUT', /ringSize/);
    expect(await snapshot()).toEqual(before);
    expect(await store.getPolicy({ modid: 151, cmdid: 1 })).toBeUndefined();
  });

  it('refuses a zone or weight edit that would push the route past one frame', async () => {
    // 761 worst-case nodes (weight 10000, 64-byte zone) always fit; two plain nodes more still fit,
    // but not once they get a zone and a weight too.
    const zone = 'z'.repeat(64);
    const hosts = Array.from({ length: 761 }, (_, i) => ({ ip: `200.0.${i >> 8}.${i & 255}`, port: 65535, weight: 10000, zone }));
    const more = [1, 2].map((i) => ({ ip: `201.0.0.${i}`, port: 65535 }));
    await store.applyRouteChange([{ op: 'replace', modid: 4294967295, cmdid: 4294967295, hosts: [...hosts, ...more] }]);
    const before = await snapshot();
    await expectLarsError(
      store.applyRouteChange(more.map((m) => ({ op: 'set' as const, modid: 4294967295, cmdid: 4294967295, ...m, weight: 10000, zone }))),
      'ERR_INVALID_INPUT',
      /modid 4294967295 cmdid 4294967295 would have 763 nodes, a \d+-byte GetRouteResponse frame; the limit is 65535 bytes/,
    );
    expect(await snapshot()).toEqual(before);
    await store.applyRouteChange([{ op: 'replace', modid: 4294967295, cmdid: 4294967295, hosts: [] }]);
  });

  it('keeps versions strictly increasing across rapid changes within one second', async () => {
    const versions = [await store.getVersion()];
    for (let i = 0; i < 15; i++) {
      const r = await store.applyRouteChange([{ op: 'add', modid: 200, cmdid: 1, ip: '10.1.0.1', port: 1000 + i }]);
      expect(r.previousVersion).toBe(versions.at(-1));
      versions.push(r.version);
    }
    // And concurrently, from this store and from a second store on the same database
    // (two admin processes): each change gets its own, larger version.
    const other = await openStore(place.config, { now: () => nowMs });
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : other).applyRouteChange([{ op: 'add', modid: 200, cmdid: 2, ip: '10.1.0.2', port: 2000 + i }])),
      );
      const concurrent = results.map((r) => r.version).sort((a, b) => a - b);
      expect(new Set(concurrent).size).toBe(10);
      expect(concurrent[0]).toBeGreaterThan(versions.at(-1)!);
      versions.push(...concurrent);
    } finally {
      await other.close();
    }
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
    expect(await store.getVersion()).toBe(versions.at(-1));
    expect(await store.listRoutes({ modid: 200, cmdid: 2 })).toHaveLength(10);
  });

  it('takes the unix second as the version once the clock is ahead of it', async () => {
    nowMs += 3600_000;
    const r = await store.applyRouteChange([{ op: 'add', modid: 201, cmdid: 1, ip: '10.2.0.1', port: 1 }]);
    expect(r.version).toBe(Math.floor(nowMs / 1000));
    const next = await store.applyRouteChange([{ op: 'remove', modid: 201, cmdid: 1, ip: '10.2.0.1', port: 1 }]);
    expect(next.version).toBe(r.version + 1);
  });

  it('writes one RouteChange row per changed module with the new version', async () => {
    const lastId = (await store.loadRouteTable()).lastChangeId;
    await store.applyRouteChange([{ op: 'replace', modid: 300, cmdid: 1, hosts: nodes(1, 2) }]);
    const r = await store.applyRouteChange([
      { op: 'add', modid: 300, cmdid: 2, ip: '10.3.0.1', port: 1 },
      { op: 'add', modid: 300, cmdid: 2, ip: '10.3.0.2', port: 1 },
      { op: 'replace', modid: 300, cmdid: 1, hosts: nodes(2, 1) }, // the same set: not a change
      { op: 'replace', modid: 300, cmdid: 3, hosts: nodes(5) },
      { op: 'remove', modid: 300, cmdid: 3, ip: '127.0.0.1', port: 5 }, // net no-op within the batch
      { op: 'add', modid: 301, cmdid: 1, ip: '10.3.0.3', port: 1 },
    ]);
    expect(r.changed).toEqual([
      { modid: 300, cmdid: 2 },
      { modid: 301, cmdid: 1 },
    ]);
    const changes = await store.changesSince(lastId);
    expect(changes.map(({ modid, cmdid, version }) => ({ modid, cmdid, version }))).toEqual([
      { modid: 300, cmdid: 1, version: r.previousVersion },
      { modid: 300, cmdid: 2, version: r.version },
      { modid: 301, cmdid: 1, version: r.version },
    ]);
    // replace with an empty set removes the module.
    const emptied = await store.applyRouteChange([{ op: 'replace', modid: 300, cmdid: 1, hosts: [] }]);
    expect(emptied.changed).toEqual([{ modid: 300, cmdid: 1 }]);
    expect(await store.listRoutes({ modid: 300, cmdid: 1 })).toEqual([]);
  });

  it('lets every reader consume every change by id; reading deletes nothing', async () => {
    const start = (await store.loadRouteTable()).lastChangeId;
    const readerA = { last: start, seen: [] as number[] };
    const readerB = { last: start, seen: [] as number[] };
    const read = async (reader: typeof readerA, limit: number) => {
      for (;;) {
        const batch = await store.changesSince(reader.last, limit);
        if (batch.length === 0) return;
        for (const c of batch) reader.seen.push(c.id);
        reader.last = batch.at(-1)!.id;
      }
    };
    const made: number[] = [];
    for (let i = 0; i < 5; i++) {
      await store.applyRouteChange([
        { op: 'add', modid: 400, cmdid: i, ip: '10.4.0.1', port: 1 },
        { op: 'add', modid: 401, cmdid: i, ip: '10.4.0.1', port: 1 },
      ]);
      if (i === 2) await read(readerA, 1);
    }
    for (const c of await store.changesSince(start)) made.push(c.id);
    expect(made).toHaveLength(10);
    await read(readerA, 3);
    await read(readerB, 1000);
    expect(readerA.seen).toEqual(made);
    expect(readerB.seen).toEqual(made);
    expect((await store.changesSince(start)).map((c) => c.id)).toEqual(made);
    expect((await store.loadRouteTable()).lastChangeId).toBe(made.at(-1));
    expect((await store.recentChanges(2)).map((c) => c.id)).toEqual([made[9], made[8]]);
  });

  it('loads the whole route table grouped by module with its version and last change id', async () => {
    const table = await store.loadRouteTable();
    expect(table.version).toBe(await store.getVersion());
    expect(table.lastChangeId).toBe((await store.recentChanges(1))[0]?.id ?? 0);
    const demo = table.modules.find((m) => m.modid === 1 && m.cmdid === 2);
    expect(demo?.hosts).toEqual(nodes(9011, 9012, 9013));
    const keys = table.modules.map((m) => [m.modid, m.cmdid] as const);
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(keys).toEqual(sorted);
    const all = await store.listRoutes();
    expect(table.modules.reduce((n, m) => n + m.hosts.length, 0)).toBe(all.length);
  });

  it('loads just the modules the change log names after an id, with their routes, in one snapshot', async () => {
    const A = { modid: 7101, cmdid: 1 };
    const B = { modid: 7101, cmdid: 2 };
    const edit = async (...e: RouteEdit[]) => {
      nowMs += 1000;
      return store.applyRouteChange(e);
    };
    const start = (await store.loadRouteTable()).lastChangeId;
    await edit({ op: 'replace', ...A, hosts: nodes(81, 82) }, { op: 'replace', ...B, hosts: nodes(91) });
    await edit({ op: 'set', ...A, ip: '127.0.0.1', port: 82, weight: 30, zone: 'az1' });
    const policy = { name: 'weighted_random', maxEjectionPercent: 0, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 0, ringSize: 0 } as const;
    await edit({ op: 'setPolicy', ...A, policy });
    await edit({ op: 'replace', ...B, hosts: [] });

    const delta = await store.loadRouteChanges(start, 10);
    expect(delta).toBeDefined();
    expect(delta!.version).toBe(await store.getVersion());
    expect(delta!.lastChangeId).toBe((await store.recentChanges(1))[0]!.id);
    expect(delta!.changeRows).toBe(5);
    expect([...delta!.named].sort((x, y) => x.cmdid - y.cmdid)).toEqual([A, B]);
    // B has no node left: named, but not among the loaded modules.
    expect(delta!.modules).toEqual([{ ...A, hosts: [{ ip: '127.0.0.1', port: 81 }, { ip: '127.0.0.1', port: 82, weight: 30, zone: 'az1' }], policy }]);
    // Exactly what the whole table says about A.
    expect((await store.loadRouteTable()).modules.find((m) => m.modid === A.modid && m.cmdid === A.cmdid)).toEqual(delta!.modules[0]);

    expect(await store.loadRouteChanges(start, 1)).toBeUndefined();
    expect(await store.loadRouteChanges(delta!.lastChangeId, 10)).toMatchObject({ lastChangeId: delta!.lastChangeId, changeRows: 0, named: [], modules: [] });
  });

  it('digests the route rows on MySQL per module and in all, so a check sees any edit, even one made behind the change log', async () => {
    const A = { modid: 7101, cmdid: 1 };
    const total = await store.routesDigest();
    const table = await store.loadRouteTable();
    if (backend === 'sqlite') {
      // No checksum function: the DNS reloads instead of checking.
      expect(total).toBeUndefined();
      expect(table).not.toHaveProperty('digests');
      expect(await store.loadRouteChanges(0, 1000)).not.toHaveProperty('digests');
      return;
    }
    const sum = (ds: readonly { digest: readonly number[] }[]): number[] => ds.reduce((acc, d) => acc.map((v, i) => v + (d.digest[i] ?? 0)), [0, 0, 0, 0, 0, 0]);
    expect(total).toHaveLength(6);
    // Row counts of RouteData, RouteNodeAttr and ModulePolicy, each beside its checksum sum.
    expect([total![0], total![2], total![4]]).toEqual([
      await count('SELECT COUNT(*) FROM RouteData'),
      await count('SELECT COUNT(*) FROM RouteNodeAttr'),
      await count('SELECT COUNT(*) FROM ModulePolicy'),
    ]);
    expect(sum(table.digests!)).toEqual(total);
    expect(await store.routesDigest()).toEqual(total);
    const digestOfA = async () => (await store.loadRouteChanges(0, 1000))!.digests!.find((d) => d.modid === A.modid && d.cmdid === A.cmdid)!.digest;
    expect(await digestOfA()).toEqual(table.digests!.find((d) => d.modid === A.modid && d.cmdid === A.cmdid)!.digest);

    const seen = [JSON.stringify(total)];
    // Direct SQL, as a hand edit would: each of the three tables a frame is made of.
    for (const sql of [
      'UPDATE RouteData SET serverport = serverport + 1 WHERE modid = 7101 AND cmdid = 1 AND serverport = 81',
      "INSERT INTO RouteNodeAttr (modid, cmdid, serverip, serverport, weight, zone) VALUES (7101, 1, 2130706433, 82, 31, 'az1') ON DUPLICATE KEY UPDATE weight = 31",
      "UPDATE RouteNodeAttr SET zone = 'az2' WHERE modid = 7101 AND cmdid = 1 AND serverport = 82",
      "UPDATE ModulePolicy SET policy = 'least_latency' WHERE modid = 7101 AND cmdid = 1",
    ]) {
      await raw.exec(sql);
      const next = await store.routesDigest();
      expect(seen, sql).not.toContain(JSON.stringify(next));
      seen.push(JSON.stringify(next));
      // The module's own digest moves with it, and the parts still add up.
      expect(sum((await store.loadRouteTable()).digests!)).toEqual(next);
    }
    expect(JSON.stringify(await digestOfA())).not.toBe(JSON.stringify(table.digests!.find((d) => d.modid === A.modid && d.cmdid === A.cmdid)!.digest));
  });

  it('prunes changes older than the retention, keeping the newest row', async () => {
    const base = (await store.loadRouteTable()).lastChangeId;
    await store.applyRouteChange([{ op: 'add', modid: 500, cmdid: 1, ip: '10.5.0.1', port: 1 }]);
    const oldVersion = await store.getVersion();
    nowMs += 2 * 86400_000;
    const recent = await store.applyRouteChange([{ op: 'add', modid: 500, cmdid: 2, ip: '10.5.0.1', port: 1 }]);
    expect(recent.version).toBe(Math.floor(nowMs / 1000));
    const total = await count('SELECT COUNT(*) AS n FROM RouteChange');
    const cutoff = Math.floor(nowMs / 1000) - 86400;
    const pruned = await store.pruneChanges(cutoff);
    expect(pruned).toBe(total - 1);
    expect(await count(`SELECT COUNT(*) AS n FROM RouteChange WHERE version < ${cutoff}`)).toBe(0);
    expect(oldVersion).toBeLessThan(cutoff);
    const left = await store.changesSince(base);
    expect(left.map((c) => ({ modid: c.modid, cmdid: c.cmdid }))).toEqual([{ modid: 500, cmdid: 2 }]);
    // Even when everything is old, the newest row stays, so its id is never handed out again.
    nowMs += 10 * 86400_000;
    expect(await store.pruneChanges(Math.floor(nowMs / 1000))).toBe(0);
    expect((await store.loadRouteTable()).lastChangeId).toBe(left[0]!.id);
    const after = await store.applyRouteChange([{ op: 'add', modid: 500, cmdid: 3, ip: '10.5.0.1', port: 1 }]);
    expect(after.changed).toHaveLength(1);
    expect((await store.changesSince(left[0]!.id))[0]!.id).toBeGreaterThan(left[0]!.id);
  });

  it('upserts call status in batches, latest values winning', async () => {
    const row = (port: number, succ: number, ts: number, overload = false): CallStatus => ({
      modid: 600,
      cmdid: 1,
      ip: '192.168.1.177',
      port,
      caller: '10.0.0.7',
      succCnt: succ,
      errCnt: succ % 7,
      ts,
      overload,
    });
    await store.upsertCallStatus([row(1, 1, 100), row(2, 1, 100), row(1, 5, 101, true)]);
    expect(await store.listCallStatus({ modid: 600 })).toEqual([row(1, 5, 101, true), row(2, 1, 100)]);
    await store.upsertCallStatus([row(2, 9, 102)]);
    expect(await store.listCallStatus({ modid: 600, cmdid: 1, ip: '192.168.1.177', caller: '10.0.0.7' })).toEqual([row(1, 5, 101, true), row(2, 9, 102)]);
    expect(await count('SELECT overload FROM ServerCallStatus WHERE modid = 600 AND port = 1')).toBe(1);

    // A batch bigger than one statement's chunk, with repeated keys across chunks.
    const big: CallStatus[] = [];
    for (let round = 0; round < 3; round++) for (let p = 1; p <= 700; p++) big.push({ ...row(p, round * 1000 + p, 200 + round), modid: 601, caller: '255.255.255.255' });
    await store.upsertCallStatus(big);
    const stored = await store.listCallStatus({ modid: 601 });
    expect(stored).toHaveLength(700);
    expect(stored.every((s) => s.ts === 202 && s.succCnt === 2000 + s.port && s.caller === '255.255.255.255')).toBe(true);
    expect(await store.listCallStatus({ modid: 601, limit: 5 })).toHaveLength(5);
    await store.upsertCallStatus([]);
  });

  it('stores call time in the side table ServerCallTime, newest ts winning, shown only with its own window', async () => {
    const row = (port: number, ts: number, usetime?: CallStatus['usetime']): CallStatus => ({
      modid: 620, cmdid: 1, ip: '10.62.0.1', port, caller: '10.0.0.2', succCnt: 10, errCnt: 0, ts, overload: false, ...(usetime ? { usetime } : {}),
    });
    // A sum past 2^32 µs; the older row of the same batch loses with its call time.
    const big = { sumUs: 2 ** 40 + 3, maxUs: 4_000_000_000, timedCalls: 7 };
    await store.upsertCallStatus([row(1, 100, big), row(1, 99, { sumUs: 1, maxUs: 1, timedCalls: 1 }), row(2, 100)]);
    expect(await store.listCallStatus({ modid: 620 })).toEqual([row(1, 100, big), row(2, 100)]);
    expect(await count('SELECT COUNT(*) FROM ServerCallTime WHERE modid = 620')).toBe(1);
    // An older write loses; a newer window without timed calls leaves no call time for that window.
    await store.upsertCallStatus([row(1, 98, { sumUs: 5, maxUs: 5, timedCalls: 1 })]);
    expect((await store.listCallStatus({ modid: 620 }))[0]).toEqual(row(1, 100, big));
    await store.upsertCallStatus([row(1, 101)]);
    expect((await store.listCallStatus({ modid: 620 }))[0]).toEqual(row(1, 101));
    await store.upsertCallStatus([row(1, 102, { sumUs: 30, maxUs: 20, timedCalls: 2 })]);
    expect((await store.listCallStatus({ modid: 620 }))[0]).toEqual(row(1, 102, { sumUs: 30, maxUs: 20, timedCalls: 2 }));
    await expectLarsError(store.upsertCallStatus([row(3, 1, { sumUs: 1, maxUs: 1, timedCalls: 0 })]), 'ERR_INVALID_INPUT', /usetime\.timedCalls \(call status row 1\) must be above 0/);
    await expectLarsError(store.upsertCallStatus([row(3, 1, { sumUs: -1, maxUs: 1, timedCalls: 1 })]), 'ERR_INVALID_INPUT', /usetime\.sumUs/);
  });

  it("lists each node's call status with its zone as the route has it now (RouteNodeAttr)", async () => {
    const row = (ip: string, port: number): CallStatus => ({ modid: 630, cmdid: 1, ip, port, caller: '10.0.0.3', succCnt: 1, errCnt: 0, ts: 100, overload: false });
    await store.applyRouteChange([
      { op: 'add', modid: 630, cmdid: 1, ip: '10.63.0.1', port: 1, zone: 'az1' },
      { op: 'add', modid: 630, cmdid: 1, ip: '10.63.0.2', port: 1, zone: 'az2' },
      { op: 'add', modid: 630, cmdid: 1, ip: '10.63.0.3', port: 1 },
    ]);
    // The last row's node is not in the route (any more): no zone either.
    await store.upsertCallStatus([row('10.63.0.1', 1), row('10.63.0.2', 1), row('10.63.0.3', 1), row('10.63.0.4', 1)]);
    const zones = async () => (await store.listCallStatus({ modid: 630 })).map((r) => [r.ip, r.zone]);
    expect(await zones()).toEqual([['10.63.0.1', 'az1'], ['10.63.0.2', 'az2'], ['10.63.0.3', undefined], ['10.63.0.4', undefined]]);
    await store.applyRouteChange([{ op: 'set', modid: 630, cmdid: 1, ip: '10.63.0.3', port: 1, zone: 'az2' }]);
    expect((await zones())[2]).toEqual(['10.63.0.3', 'az2']);
  });

  it('keeps the call status with the newest ts whatever order interleaved writers commit in', async () => {
    const row = (port: number, ts: number): CallStatus => ({ modid: 610, cmdid: 1, ip: '10.61.0.1', port, caller: '10.0.0.1', succCnt: ts, errCnt: ts % 7, ts, overload: ts % 2 === 1 });
    const newest = (port: number, ts: number) => ({ port, succCnt: ts, errCnt: ts % 7, ts, overload: ts % 2 === 1 });
    const stored = async () => (await store.listCallStatus({ modid: 610 })).map(({ port, succCnt, errCnt, ts, overload }) => ({ port, succCnt, errCnt, ts, overload }));
    const other = await openStore(place.config);
    try {
      // Two writers on their own connections, one writing each key's values oldest first, the
      // other newest first, batch by batch at the same time; then an old value once more, last.
      const ports = Array.from({ length: 20 }, (_, i) => i + 1);
      const tss = Array.from({ length: 8 }, (_, i) => 1000 + i);
      await Promise.all([
        (async () => {
          for (const ts of tss) await store.upsertCallStatus(ports.map((p) => row(p, ts)));
        })(),
        (async () => {
          for (const ts of [...tss].reverse()) await other.upsertCallStatus(ports.map((p) => row(p, ts)));
        })(),
      ]);
      await other.upsertCallStatus(ports.map((p) => row(p, 1000)));
      expect(await stored()).toEqual(ports.map((p) => newest(p, 1007)));

      // Within one batch as well: an older row after a newer one of the same key loses.
      await store.upsertCallStatus([row(1, 2000), row(1, 1999)]);
      // A tie goes to the later write.
      await other.upsertCallStatus([{ ...row(2, 2000), succCnt: 1 }]);
      await store.upsertCallStatus([{ ...row(2, 2000), succCnt: 2 }]);
      expect((await stored()).slice(0, 2)).toEqual([newest(1, 2000), { ...newest(2, 2000), succCnt: 2 }]);
    } finally {
      await other.close();
    }
  });

  it('lists, upserts and deletes module descriptions', async () => {
    await store.upsertDescription('modid', 1, 'live-stream lists');
    await store.upsertDescription('modid', 2, 'users');
    await store.upsertDescription('cmdid', 1, 'fetch in batch');
    await store.upsertDescription('modid', 1, 'live-stream lists (v2) — ünïcode');
    expect(await store.listDescriptions('modid')).toEqual([
      { id: 1, content: 'live-stream lists (v2) — ünïcode' },
      { id: 2, content: 'users' },
    ]);
    expect(await store.listDescriptions('cmdid')).toEqual([{ id: 1, content: 'fetch in batch' }]);
    expect(await store.deleteDescription('modid', 2)).toBe(true);
    expect(await store.deleteDescription('modid', 2)).toBe(false);
    expect(await store.listDescriptions('modid')).toEqual([{ id: 1, content: 'live-stream lists (v2) — ünïcode' }]);
    await expectLarsError(store.upsertDescription('cmdid', -1, 'x'), 'ERR_INVALID_INPUT', /cmdid must be an integer/);
    await expectLarsError(store.upsertDescription('cmdid', 1, 'x'.repeat(1025)), 'ERR_INVALID_INPUT', /content must be a string of at most 1024/);
  });

  it('audits every route change in its transaction: who, when, the nodes before and after, the diff', async () => {
    const n = (ip: string, port: number) => ({ ip, port });
    nowMs += 10_000;
    const at = nowMs;
    const add = await store.applyRouteChange(
      [
        { op: 'add', modid: 9100, cmdid: 1, ip: '10.3.0.1', port: 80 },
        { op: 'add', modid: 9100, cmdid: 1, ip: '10.3.0.2', port: 80 },
        { op: 'add', modid: 9100, cmdid: 2, ip: '10.3.0.9', port: 90 },
      ],
      'alice',
    );
    const [two, one] = await store.recentAudit(2);
    expect(one).toMatchObject({ version: add.version, modid: 9100, cmdid: 1, actor: 'alice', atMs: at, kind: 'change', before: [], after: [n('10.3.0.1', 80), n('10.3.0.2', 80)] });
    expect(one).toMatchObject({ added: [n('10.3.0.1', 80), n('10.3.0.2', 80)], removed: [], edited: [] });
    expect(two).toMatchObject({ version: add.version, modid: 9100, cmdid: 2, actor: 'alice', added: [n('10.3.0.9', 90)] });
    // An edit (one node out, one in) and a removal.
    await store.applyRouteChange([{ op: 'remove', modid: 9100, cmdid: 1, ip: '10.3.0.2', port: 80 }, { op: 'add', modid: 9100, cmdid: 1, ip: '10.3.0.3', port: 81 }], 'bob');
    const [edit] = await store.recentAudit(1);
    expect(edit).toMatchObject({ actor: 'bob', added: [], removed: [], edited: [{ from: n('10.3.0.2', 80), to: n('10.3.0.3', 81) }], before: [n('10.3.0.1', 80), n('10.3.0.2', 80)] });
    // A change that changes nothing, and a refused one, leave no audit row.
    const rows = await count('SELECT COUNT(*) AS n FROM RouteAudit');
    await store.applyRouteChange([{ op: 'replace', modid: 9100, cmdid: 1, hosts: [n('10.3.0.1', 80), n('10.3.0.3', 81)] }], 'carol');
    await expectLarsError(store.applyRouteChange([{ op: 'add', modid: 9100, cmdid: 1, ip: '10.3.0.1', port: 80 }], 'carol'), 'ERR_INVALID_INPUT', /already a node/);
    await expectLarsError(store.applyRouteChange([{ op: 'add', modid: 9100, cmdid: 1, ip: '10.3.0.7', port: 80 }], ''), 'ERR_INVALID_INPUT', /actor must be/);
    expect(await count('SELECT COUNT(*) AS n FROM RouteAudit')).toBe(rows);
    // Without an actor the row still says someone: "unknown"; the demo seed says "seed".
    await store.applyRouteChange([{ op: 'remove', modid: 9100, cmdid: 2, ip: '10.3.0.9', port: 90 }]);
    expect((await store.recentAudit(1))[0]).toMatchObject({ actor: 'unknown', modid: 9100, cmdid: 2, removed: [n('10.3.0.9', 90)], after: [] });
  });

  it('audits every module of a transaction that changes more modules than one audit statement takes', async () => {
    const edits = Array.from({ length: 230 }, (_, i) => ({ op: 'add' as const, modid: 9200, cmdid: i, ip: '10.9.2.1', port: 1000 + i }));
    const r = await store.applyRouteChange(edits, 'bulk');
    expect(r.changed).toHaveLength(230);
    const audit = (await store.recentAudit(230)).filter((a) => a.version === r.version);
    expect(audit).toHaveLength(230);
    expect(new Set(audit.map((a) => a.cmdid)).size).toBe(230);
    await store.applyRouteChange(Array.from({ length: 230 }, (_, i) => ({ op: 'replace' as const, modid: 9200, cmdid: i, hosts: [] })), 'bulk');
  });

  it('reverts a change: a new audited transaction restoring the module as it was before it', async () => {
    const n = (ip: string, port: number) => ({ ip, port });
    await store.applyRouteChange([{ op: 'replace', modid: 9101, cmdid: 1, hosts: [n('10.3.1.1', 80), n('10.3.1.2', 80)] }], 'alice');
    await store.applyRouteChange([{ op: 'add', modid: 9101, cmdid: 1, ip: '10.3.1.3', port: 80 }, { op: 'remove', modid: 9101, cmdid: 1, ip: '10.3.1.1', port: 80 }, { op: 'add', modid: 9101, cmdid: 1, ip: '10.3.1.4', port: 80 }], 'bob');
    const [bad] = await store.recentAudit(1);
    const before = await store.getVersion();
    const result = await store.revertRouteChange(bad!.id, 'carol');
    expect(result.changed).toEqual([{ modid: 9101, cmdid: 1 }]);
    expect(result.version).toBeGreaterThan(before);
    expect((await store.listRoutes({ modid: 9101 })).map((r) => `${r.ip}:${r.port}`)).toEqual(['10.3.1.1:80', '10.3.1.2:80']);
    const [revert] = await store.recentAudit(1);
    expect(revert).toMatchObject({ actor: 'carol', kind: 'revert', revertOf: bad!.id, version: result.version, added: [n('10.3.1.1', 80)], removed: [n('10.3.1.3', 80), n('10.3.1.4', 80)] });
    // Reverting again changes nothing: the module is already as it was.
    expect((await store.revertRouteChange(bad!.id, 'carol')).changed).toEqual([]);
    await expectLarsError(store.revertRouteChange(999_999, 'carol'), 'ERR_NOT_FOUND', /no audit row 999999/);
    // A row without the before-state (written by hand) is refused with the reason.
    await raw.exec(`INSERT INTO RouteAudit (version, modid, cmdid, actor, at_ms, what) VALUES (1, 9101, 1, 'dba', 0, '{"after":[]}')`);
    const [handWritten] = await store.recentAudit(1);
    expect(handWritten).toMatchObject({ actor: 'dba', after: [] });
    expect(handWritten!.before).toBeUndefined();
    await expectLarsError(store.revertRouteChange(handWritten!.id, 'carol'), 'ERR_INVALID_INPUT', /does not hold the nodes before its change/);
    expect((await store.listRoutes({ modid: 9101 })).map((r) => `${r.ip}:${r.port}`)).toEqual(['10.3.1.1:80', '10.3.1.2:80']);
  });

  it('audits weight, zone and policy edits, and a revert restores them', async () => {
    const key = { modid: 9102, cmdid: 1 };
    const policy = { name: 'ring_hash', maxEjectionPercent: 50, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 0, ringSize: 256 } as const;
    await store.applyRouteChange([{ op: 'add', ...key, ip: '10.3.2.1', port: 80 }, { op: 'add', ...key, ip: '10.3.2.2', port: 80, weight: 5 }], 'alice');
    await store.applyRouteChange(
      [{ op: 'set', ...key, ip: '10.3.2.1', port: 80, weight: 7, zone: 'az1' }, { op: 'setPolicy', ...key, policy }],
      'bob',
    );
    const [edit] = await store.recentAudit(1);
    expect(edit).toMatchObject({
      actor: 'bob',
      added: [],
      removed: [],
      edited: [{ from: { ip: '10.3.2.1', port: 80 }, to: { ip: '10.3.2.1', port: 80, weight: 7, zone: 'az1' } }],
      policy: { before: null, after: policy },
    });
    expect(edit!.before).toEqual([{ ip: '10.3.2.1', port: 80 }, { ip: '10.3.2.2', port: 80, weight: 5 }]);
    await store.revertRouteChange(edit!.id, 'carol');
    expect((await store.listRoutes({ modid: 9102 })).map(({ ip, port, weight, zone }) => ({ ip, port, weight, zone }))).toEqual([
      { ip: '10.3.2.1', port: 80, weight: undefined, zone: undefined },
      { ip: '10.3.2.2', port: 80, weight: 5, zone: undefined },
    ]);
    expect(await store.getPolicy(key)).toBeUndefined();
    const [revert] = await store.recentAudit(1);
    expect(revert).toMatchObject({ kind: 'revert', revertOf: edit!.id, policy: { before: policy, after: null } });
  });

  it('keeps per-module alarm thresholds', async () => {
    expect(await store.listAlarmThresholds()).toEqual([]);
    await store.setAlarmThreshold({ modid: 2, cmdid: 1, errorRatio: 0.25, overloadedShare: 1 });
    await store.setAlarmThreshold({ modid: 1, cmdid: 1, errorRatio: 0.5, overloadedShare: 0.5 });
    await store.setAlarmThreshold({ modid: 2, cmdid: 1, errorRatio: 0.05, overloadedShare: 0.3 });
    expect(await store.listAlarmThresholds()).toEqual([
      { modid: 1, cmdid: 1, errorRatio: 0.5, overloadedShare: 0.5 },
      { modid: 2, cmdid: 1, errorRatio: 0.05, overloadedShare: 0.3 },
    ]);
    expect(await store.deleteAlarmThreshold({ modid: 1, cmdid: 1 })).toBe(true);
    expect(await store.deleteAlarmThreshold({ modid: 1, cmdid: 1 })).toBe(false);
    await expectLarsError(store.setAlarmThreshold({ modid: 1, cmdid: 1, errorRatio: 0, overloadedShare: 0.5 }), 'ERR_INVALID_INPUT', /errorRatio must be a number above 0/);
    await expectLarsError(store.setAlarmThreshold({ modid: 1, cmdid: 1, errorRatio: 0.5, overloadedShare: 1.5 }), 'ERR_INVALID_INPUT', /overloadedShare must be/);
    expect(await store.listAlarmThresholds()).toEqual([{ modid: 2, cmdid: 1, errorRatio: 0.05, overloadedShare: 0.3 }]);
    await store.deleteAlarmThreshold({ modid: 2, cmdid: 1 });
  });

  it('refuses bad ids, ports, addresses and oversized routes before writing anything', async () => {
    const before = await snapshot();
    const statusBefore = await count('SELECT COUNT(*) AS n FROM ServerCallStatus');
    const add = (modid: number, cmdid: number, ip: string, port: number) => store.applyRouteChange([{ op: 'add', modid, cmdid, ip, port }]);
    await expectLarsError(add(-1, 1, '10.0.0.1', 80), 'ERR_INVALID_INPUT', /^modid \(edit 1\) must be an integer from 0 to 4294967295, got -1$/);
    await expectLarsError(add(4294967296, 1, '10.0.0.1', 80), 'ERR_INVALID_INPUT', /modid .* got 4294967296/);
    await expectLarsError(add(1.5, 1, '10.0.0.1', 80), 'ERR_INVALID_INPUT', /modid/);
    await expectLarsError(add(1, Number.NaN, '10.0.0.1', 80), 'ERR_INVALID_INPUT', /cmdid .* got NaN/);
    await expectLarsError(add(1, 1, '10.0.0.1', 0), 'ERR_INVALID_INPUT', /port \(edit 1\) must be a port number from 1 to 65535, got 0/);
    await expectLarsError(add(1, 1, '10.0.0.1', 65536), 'ERR_INVALID_INPUT', /port .* got 65536/);
    for (const ip of ['256.0.0.1', '10.0.0', '10.0.0.1.2', '010.0.0.1', '10.0.0.01', ' 10.0.0.1', '10.0.0.1 ', '0x0a.0.0.1', '10..0.1', '', '::1']) {
      await expectLarsError(add(1, 1, ip, 80), 'ERR_INVALID_INPUT', /^ip \(edit 1\) must be an IPv4 address in dotted-quad form/);
    }
    await expectLarsError(store.applyRouteChange([]), 'ERR_INVALID_INPUT', /non-empty/);
    await expectLarsError(
      store.applyRouteChange([{ op: 'replace', modid: 700, cmdid: 1, hosts: [...nodes(1, 2), { ip: '127.0.0.1', port: 1 }] }]),
      'ERR_INVALID_INPUT',
      /lists 127\.0\.0\.1:1 twice/,
    );
    // 4096 hosts of 16 bytes each (an ip above 127.255.255.255 travels as a 10-byte varint) is one too many:
    // 8 header + 3 (modid 700) + 2 (cmdid 1) + 4096 * 16 = 65549.
    const big = Array.from({ length: 4096 }, (_, i) => ({ ip: `200.0.${i >> 8}.${i & 255}`, port: 1000 }));
    await expectLarsError(store.applyRouteChange([{ op: 'replace', modid: 700, cmdid: 1, hosts: big }]), 'ERR_INVALID_INPUT', /65549-byte GetRouteResponse frame; the limit is 65535/);
    const bad = { modid: 1, cmdid: 1, ip: '10.0.0.1', port: 1, caller: '10.0.0.2', succCnt: 1, errCnt: 0, ts: 1, overload: false };
    await expectLarsError(store.upsertCallStatus([bad, { ...bad, caller: '10.0.0.256' }]), 'ERR_INVALID_INPUT', /caller \(call status row 2\)/);
    await expectLarsError(store.upsertCallStatus([{ ...bad, succCnt: -1 }]), 'ERR_INVALID_INPUT', /succCnt/);
    await expectLarsError(store.upsertCallStatus([{ ...bad, port: 70000 }]), 'ERR_INVALID_INPUT', /port \(call status row 1\)/);
    await expectLarsError(store.listRoutes({ modid: -5 }), 'ERR_INVALID_INPUT', /modid/);
    await expectLarsError(store.changesSince(-1), 'ERR_INVALID_INPUT', /afterId/);
    expect(await snapshot()).toEqual(before);
    expect(await count('SELECT COUNT(*) AS n FROM ServerCallStatus')).toBe(statusBefore);

    // The largest route that fits is accepted; growing it by one node is refused with nothing written.
    const fits = big.slice(0, 4095);
    const r = await store.applyRouteChange([{ op: 'replace', modid: 700, cmdid: 1, hosts: fits }]);
    expect(r.changed).toEqual([{ modid: 700, cmdid: 1 }]);
    const full = await snapshot();
    await expectLarsError(add(700, 1, '200.0.255.255', 1000), 'ERR_INVALID_INPUT', /modid 700 cmdid 1 would have 4096 nodes/);
    expect(await snapshot()).toEqual(full);
    await store.applyRouteChange([{ op: 'replace', modid: 700, cmdid: 1, hosts: [] }]);
  });

  // RouteChange: a statement midway; RouteAudit: the last one, so an edit never commits without its audit row.
  it.each(['RouteChange', 'RouteAudit'])('leaves nothing half-written when the transaction fails at its %s insert', async (table) => {
    await store.applyRouteChange([{ op: 'replace', modid: 800, cmdid: 1, hosts: nodes(1, 2) }]);
    const before = { ...(await snapshot()), audit: await count('SELECT COUNT(*) AS n FROM RouteAudit') };
    await raw.exec(
      backend === 'mysql'
        ? `CREATE TRIGGER lars_test_fail BEFORE INSERT ON ${table} FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'`
        : `CREATE TRIGGER lars_test_fail BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    );
    try {
      await expectLarsError(
        store.applyRouteChange([
          { op: 'replace', modid: 800, cmdid: 1, hosts: nodes(3) },
          { op: 'add', modid: 800, cmdid: 2, ip: '10.8.0.1', port: 1 },
        ]),
        'ERR_STORE',
        /injected failure/,
      );
    } finally {
      await raw.exec('DROP TRIGGER lars_test_fail');
    }
    expect({ ...(await snapshot()), audit: await count('SELECT COUNT(*) AS n FROM RouteAudit') }).toEqual(before);
    // And the store is still usable afterwards.
    const r = await store.applyRouteChange([{ op: 'replace', modid: 800, cmdid: 1, hosts: nodes(3) }]);
    expect(r.version).toBeGreaterThan(before.version);
    await store.applyRouteChange([{ op: 'replace', modid: 800, cmdid: 1, hosts: [] }]);
  });

  it('says to run "lars db init" when the schema is missing', async () => {
    const fresh = await newPlace(backend);
    const s = await openStore(fresh.config);
    try {
      await expectLarsError(s.listRoutes(), 'ERR_STORE', /RouteData.*run "lars db init"/);
    } finally {
      await s.close();
      await fresh.remove();
    }
  });

  it('reports an unreachable database as ERR_STORE_UNAVAILABLE, saying where', async () => {
    if (backend === 'mysql') {
      // Port 1 on localhost: nothing listens there.
      const dead = await openStore({ mysql: { ...testServer(), port: 1, database: 'lars_dns' }, sqlitePath: 'unused', changeRetentionSec: 86400, auditRetentionDays: 90 });
      try {
        await expectLarsError(dead.ping(), 'ERR_STORE_UNAVAILABLE', /cannot reach MySQL at 127\.0\.0\.1:1 \(ECONNREFUSED.*db_host \/ db_port/);
        await expectLarsError(dead.listRoutes(), 'ERR_STORE_UNAVAILABLE', /127\.0\.0\.1:1/);
        await expectLarsError(dead.applyRouteChange([{ op: 'add', modid: 1, cmdid: 1, ip: '10.0.0.1', port: 1 }]), 'ERR_STORE_UNAVAILABLE', /127\.0\.0\.1:1/);
      } finally {
        await dead.close();
      }
      // Closing while a connection to the dead server is still being opened (a daemon stopping
      // while MySQL is down) must succeed: pool.end() used to reject with that connection's error.
      const closing = await openStore({ mysql: { ...testServer(), port: 1, database: 'lars_dns' }, sqlitePath: 'unused', changeRetentionSec: 86400, auditRetentionDays: 90 });
      const pending = closing.ping().catch(() => undefined);
      await closing.close();
      await pending;
    } else {
      // A path whose "directory" is a regular file cannot be opened.
      const file = join(tempDir(), 'not-a-dir');
      writeFileSync(file, 'x');
      await expectLarsError(openStore({ mysql: undefined, sqlitePath: join(file, 'lars.sqlite'), changeRetentionSec: 86400, auditRetentionDays: 90 }), 'ERR_STORE_UNAVAILABLE', /cannot open the SQLite store .*not-a-dir\/lars\.sqlite/);
    }
  });

  it('works on a database created by the reference DDL', async () => {
    const ref = await newPlace(backend);
    const r = await ref.raw();
    try {
      // The reference's tables: no extra indexes, no unique keys, the version row made by AUTO_INCREMENT.
      const ddl =
        backend === 'mysql'
          ? `CREATE TABLE RouteData (id int(10) unsigned NOT NULL AUTO_INCREMENT, modid int(10) unsigned NOT NULL, cmdid int(10) unsigned NOT NULL,
               serverip int(10) unsigned NOT NULL, serverport int(10) unsigned NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8;
             CREATE TABLE RouteVersion (id int(10) unsigned NOT NULL AUTO_INCREMENT, version int(10) unsigned NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8;
             INSERT INTO RouteVersion (version) VALUES (0);
             CREATE TABLE RouteChange (id int(10) unsigned NOT NULL AUTO_INCREMENT, modid int(10) unsigned NOT NULL, cmdid int(10) unsigned NOT NULL,
               version bigint(20) unsigned NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8;
             CREATE TABLE ServerCallStatus (modid int(10) unsigned NOT NULL, cmdid int(10) unsigned NOT NULL, ip int(10) unsigned NOT NULL, port int(10) unsigned NOT NULL,
               caller int(10) unsigned NOT NULL, succ_cnt int(10) unsigned NOT NULL, err_cnt int(10) unsigned NOT NULL, ts bigint(20) unsigned NOT NULL,
               overload char(1) NOT NULL, PRIMARY KEY (modid, cmdid, ip, port, caller)) ENGINE=InnoDB DEFAULT CHARSET=utf8;
             CREATE TABLE ModIDConfig (id int(10) unsigned NOT NULL AUTO_INCREMENT, modid int(10) unsigned NOT NULL, content varchar(255) NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8;
             CREATE TABLE CmdIDConfig (id int(10) unsigned NOT NULL AUTO_INCREMENT, cmdid int(10) unsigned NOT NULL, content varchar(255) NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8;`
          : `CREATE TABLE RouteData (id INTEGER PRIMARY KEY AUTOINCREMENT, modid INTEGER NOT NULL, cmdid INTEGER NOT NULL, serverip INTEGER NOT NULL, serverport INTEGER NOT NULL);
             CREATE TABLE RouteVersion (id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL);
             INSERT INTO RouteVersion (version) VALUES (0);
             CREATE TABLE RouteChange (id INTEGER PRIMARY KEY AUTOINCREMENT, modid INTEGER NOT NULL, cmdid INTEGER NOT NULL, version INTEGER NOT NULL);
             CREATE TABLE ServerCallStatus (modid INTEGER NOT NULL, cmdid INTEGER NOT NULL, ip INTEGER NOT NULL, port INTEGER NOT NULL, caller INTEGER NOT NULL,
               succ_cnt INTEGER NOT NULL, err_cnt INTEGER NOT NULL, ts INTEGER NOT NULL, overload CHAR(1) NOT NULL, PRIMARY KEY (modid, cmdid, ip, port, caller));
             CREATE TABLE ModIDConfig (id INTEGER PRIMARY KEY AUTOINCREMENT, modid INTEGER NOT NULL, content TEXT NOT NULL);
             CREATE TABLE CmdIDConfig (id INTEGER PRIMARY KEY AUTOINCREMENT, cmdid INTEGER NOT NULL, content TEXT NOT NULL);`;
      await r.exec(ddl);
      // Data the reference admin wrote: a duplicated row, a version that is a unix time, an old change row.
      await r.exec(`INSERT INTO RouteData (modid, cmdid, serverip, serverport) VALUES (1, 1, 3232235953, 7777), (1, 1, 3232235953, 7777), (1, 1, 2130706433, 7778);
                    UPDATE RouteVersion SET version = 1500000000 WHERE id = 1;
                    INSERT INTO RouteChange (modid, cmdid, version) VALUES (1, 1, 1500000000);
                    INSERT INTO ModIDConfig (modid, content) VALUES (1, 'old');
                    INSERT INTO ServerCallStatus VALUES (1, 1, 3232235953, 7777, 2130706433, 10, 2, 1500000000, '0')`);
      const s = await openStore(ref.config, { now: () => nowMs });
      try {
        await s.init(); // idempotent over the existing tables, adding the tables of EXTENSIONS.md §2
        await s.init();
        for (const t of ['RouteNodeAttr', 'ModulePolicy', 'RouteLease']) expect(Number(Object.values((await r.rows(`SELECT COUNT(*) AS n FROM ${t}`))[0]!)[0])).toBe(0);
        const table = await s.loadRouteTable();
        expect(table.version).toBe(1500000000);
        expect(table.lastChangeId).toBe(1);
        expect(table.modules).toEqual([{ modid: 1, cmdid: 1, hosts: [{ ip: '127.0.0.1', port: 7778 }, { ip: '192.168.1.177', port: 7777 }] }]);
        // Removing the duplicated node removes both rows.
        const change = await s.applyRouteChange([
          { op: 'remove', modid: 1, cmdid: 1, ip: '192.168.1.177', port: 7777 },
          { op: 'add', modid: 1, cmdid: 1, ip: '10.0.0.1', port: 7779 },
        ]);
        expect(change.previousVersion).toBe(1500000000);
        expect(change.version).toBe(Math.floor(nowMs / 1000));
        expect((await s.listRoutes()).map((x) => `${x.ip}:${x.port}`)).toEqual(['10.0.0.1:7779', '127.0.0.1:7778']);
        await s.applyRouteChange([{ op: 'set', modid: 1, cmdid: 1, ip: '127.0.0.1', port: 7778, weight: 50 }]);
        expect((await s.loadRouteTable()).modules[0]!.hosts).toEqual([{ ip: '10.0.0.1', port: 7779 }, { ip: '127.0.0.1', port: 7778, weight: 50 }]);
        await s.applyRouteChange([{ op: 'set', modid: 1, cmdid: 1, ip: '127.0.0.1', port: 7778, weight: 100 }]);
        const last = await s.getVersion();
        expect((await s.changesSince(1)).map((c) => [c.modid, c.cmdid])).toEqual([[1, 1], [1, 1], [1, 1]]);
        expect((await s.changesSince(1))[0]!.version).toBe(change.version);
        expect((await r.rows('SELECT version FROM RouteVersion WHERE id = 1'))[0]).toEqual({ version: last });
        await s.upsertDescription('modid', 1, 'new');
        expect(await s.listDescriptions('modid')).toEqual([{ id: 1, content: 'new' }]);
        expect(await s.listCallStatus()).toEqual([
          { modid: 1, cmdid: 1, ip: '192.168.1.177', port: 7777, caller: '127.0.0.1', succCnt: 10, errCnt: 2, ts: 1500000000, overload: false },
        ]);
        await s.upsertCallStatus([{ modid: 1, cmdid: 1, ip: '192.168.1.177', port: 7777, caller: '127.0.0.1', succCnt: 11, errCnt: 0, ts: 1500000001, overload: true }]);
        expect((await s.listCallStatus())[0]).toMatchObject({ succCnt: 11, errCnt: 0, overload: true });
        expect(await s.pruneChanges(Math.floor(nowMs / 1000) + 10)).toBe(3); // all but the newest
      } finally {
        await s.close();
      }
    } finally {
      await r.close();
      await ref.remove();
    }
  });

  it('prunes audit rows written before a cutoff, oldest ids first, and keeps the newer ones', async () => {
    const M = { modid: 7301, cmdid: 1 };
    const cutoff = nowMs + 3 * 60_000 + 1;
    for (let i = 1; i <= 5; i++) {
      nowMs += 60_000;
      await store.applyRouteChange([{ op: 'replace', ...M, hosts: nodes(100 + i) }], 'pruner');
    }
    const total = await count('SELECT COUNT(*) FROM RouteAudit');
    const old = await count(`SELECT COUNT(*) FROM RouteAudit WHERE at_ms < ${cutoff}`);
    expect(old).toBeGreaterThanOrEqual(3);
    expect(await store.pruneAudit(cutoff)).toBe(old);
    expect(await count('SELECT COUNT(*) FROM RouteAudit')).toBe(total - old);
    expect(await count(`SELECT COUNT(*) FROM RouteAudit WHERE at_ms < ${cutoff}`)).toBe(0);
    // The two changes after the cutoff are still there, and can still be reverted.
    const mine = (await store.recentAudit(100)).filter((r) => r.modid === M.modid);
    expect(mine.map((r) => r.after)).toEqual([nodes(105), nodes(104)]);
    expect(await store.pruneAudit(cutoff)).toBe(0);
    await store.revertRouteChange(mine[0]!.id, 'pruner');
    expect((await store.listRoutes(M)).map((r) => r.port)).toEqual([104]);
    await expectLarsError(store.pruneAudit(-1), 'ERR_INVALID_INPUT', /olderThanMs/);
  });
});
