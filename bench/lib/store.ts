// Stores for macro benchmarks: a temporary embedded (SQLite) store, or a MariaDB bench database,
// with the schema created and routes written through the one route-change transaction.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoreConfig } from '../../src/config/types.js';
import { openStore, type RouteEdit, type Store } from '../../src/store/index.js';
import { createBenchDatabase } from './mysql.js';

export interface BenchStore {
  readonly kind: 'sqlite' | 'mysql';
  /** The store keys for a daemon's config. */
  readonly settings: Record<string, string>;
  /** Our own connection to it (schema created). */
  readonly store: Store;
  /** Closes our connection and removes the file / drops the database. */
  dispose(): Promise<void>;
}

export async function createBenchStore(kind: 'sqlite' | 'mysql'): Promise<BenchStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'lars-bench-store-'));
    const sqlitePath = join(dir, 'lars.sqlite');
    const store = await openStore({ mysql: undefined, sqlitePath, changeRetentionSec: 86400, auditRetentionDays: 90 });
    await store.init();
    return {
      kind,
      settings: { 'store.sqlite_path': sqlitePath },
      store,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = await createBenchDatabase();
  const config: StoreConfig = { mysql: db.config, sqlitePath: '', changeRetentionSec: 86400, auditRetentionDays: 90 };
  let store: Store | undefined;
  try {
    store = await openStore(config);
    await store.init();
  } catch (err) {
    await store?.close().catch(() => undefined);
    await db.drop();
    throw err;
  }
  const opened = store;
  return {
    kind,
    settings: db.settings,
    store: opened,
    async dispose() {
      await opened.close().catch(() => undefined);
      await db.drop();
    },
  };
}

/** IPv4 of node `n` (0-based) of a benchmark route: 10.x.y.z, distinct for n < 2^24. */
export function nodeIp(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** Replaces the node set of each (modid, cmdid) with `nodes` nodes, in transactions of `perTx` modules. */
export async function writeRoutes(
  store: Store,
  modules: readonly { modid: number; cmdid: number }[],
  nodes: number,
  perTx = 1000,
): Promise<void> {
  for (let i = 0; i < modules.length; i += perTx) {
    const edits: RouteEdit[] = modules.slice(i, i + perTx).map((m, j) => ({
      op: 'replace',
      modid: m.modid,
      cmdid: m.cmdid,
      hosts: Array.from({ length: nodes }, (_, k) => ({ ip: nodeIp(((i + j) * nodes + k + 1) % 2 ** 24), port: 9000 + k })),
    }));
    await store.applyRouteChange(edits);
  }
}
