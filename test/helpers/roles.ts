// Builds role configs for tests: everything on loopback, free ports, short intervals,
// and the store either a test MySQL database or a temporary SQLite file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import type { MysqlConfig, Role, RoleConfigs } from '../../src/config/types.js';

export type StoreKind = { mysql: MysqlConfig } | { sqlitePath: string };

export function tempSqlite(): StoreKind {
  return { sqlitePath: join(mkdtempSync(join(tmpdir(), 'lars-test-')), 'lars.sqlite') };
}

export function storeOverrides(store: StoreKind): Record<string, string> {
  if ('sqlitePath' in store) return { 'store.sqlite_path': store.sqlitePath };
  const m = store.mysql;
  return {
    'mysql.db_host': m.host,
    'mysql.db_port': String(m.port),
    'mysql.db_user': m.user,
    'mysql.db_passwd': m.password,
    'mysql.db_name': m.database,
  };
}

/** The same settings as environment variables, for spawning the CLI. */
export function storeEnv(store: StoreKind): Record<string, string> {
  return Object.fromEntries(
    Object.entries(storeOverrides(store)).map(([k, v]) => [`LARS_${k.replace('.', '_').toUpperCase()}`, v]),
  );
}

export function testConfig<R extends Exclude<Role, 'cli'>>(
  role: R,
  impl: 'native' | 'ts',
  store: StoreKind,
  extra: Record<string, string> = {},
): RoleConfigs[R] {
  const ports: Record<string, string> = role === 'dns' || role === 'reporter' ? { 'reactor.ip': '127.0.0.1', 'reactor.port': '0' } : {};
  // No route cache and no local view unless a test asks: their defaults are the working directory and /dev/shm.
  const cache: Record<string, string> = role === 'agent' ? { 'agent.cache_dir': '', 'agent.view_dir': '' } : {};
  return loadConfig(role, {
    env: {},
    overrides: { 'lars.impl': impl, 'admin.port': '0', 'log.level': 'warn', ...ports, ...cache, ...storeOverrides(store), ...extra },
  });
}
