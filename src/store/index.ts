// The storage module's public face: openStore() picks the backend from the config.
import type { StoreConfig } from '../config/types.js';
import type { SqlDriver } from './sql-driver.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './store.js';

export type * from './store.js';
export { DEMO_ROUTES } from './sql-store.js';
export { POLICY_NAMES } from './store.js';
export {
  checkPolicy,
  checkPort,
  checkUint32,
  checkWeight,
  checkZone,
  formatIpv4,
  parseIntegerArg,
  parseIpv4,
  routeFrameSize,
  MAX_FRAME_BYTES,
} from './validate.js';

export interface OpenStoreOptions {
  /** Milliseconds since the epoch (default Date.now); route versions are at least the current unix second. */
  readonly now?: () => number;
  /** MySQL pool size (default 4); the Report service passes its writer count. */
  readonly connections?: number;
  /** MySQL connect timeout in milliseconds (default 5000). */
  readonly connectTimeoutMs?: number;
  /**
   * Refuse to create a SQLite file that does not exist yet (ERR_STORE_UNAVAILABLE saying to run
   * "lars db init"), for tools that only use an existing store. MySQL is never created by opening.
   */
  readonly mustExist?: boolean;
}

/**
 * Opens the store: MySQL when config.mysql is set, else SQLite at config.sqlitePath (its
 * directory is created). MySQL connects lazily, so this resolves even while MySQL is down;
 * call ping() to find out. Does not create the schema: call init() (`lars db init`).
 */
export async function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Promise<Store> {
  // Each driver is loaded only when used: the CLI on SQLite need not load mysql2, and the other way round.
  let driver: SqlDriver;
  if (config.mysql !== undefined) {
    const { MysqlDriver } = await import('./mysql-driver.js');
    driver = new MysqlDriver(config.mysql, { connections: options.connections, connectTimeoutMs: options.connectTimeoutMs });
  } else {
    const { SqliteDriver } = await import('./sqlite-driver.js');
    driver = new SqliteDriver(config.sqlitePath, { mustExist: options.mustExist });
  }
  return new SqlStore(driver, { now: options.now });
}
