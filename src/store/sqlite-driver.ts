// SqlDriver over one better-sqlite3 connection (WAL, busy timeout). better-sqlite3 is
// synchronous while the store's transactions await between statements, so the connection owns a
// queue: a transaction holds it from BEGIN to COMMIT, and statements outside a transaction wait
// for it, so nothing from another caller ever lands inside someone else's transaction.
//
// Stores opened on the same file in one process share one connection (reference-counted):
// with two connections, one waiting synchronously for the other's write lock would block the
// event loop the other needs to finish, a self-deadlock until the busy timeout. Other
// processes (the CLI beside `lars up`) are separated by SQLite's own locking.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LarsError } from '../errors.js';
import { placeholders, readSchema, type Dialect, type SqlDriver, type SqlExecutor, type SqlRow, type SqlValue } from './sql-driver.js';

const sqliteDialect: Dialect = {
  backend: 'sqlite',
  // BEGIN IMMEDIATE already holds the database's write lock.
  forUpdate: '',
  upsertNewest(table, columns, key, newest, rows) {
    const updates = columns.filter((c) => !key.includes(c)).map((c) => `${c} = excluded.${c}`);
    return (
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${placeholders(columns.length, rows)} ` +
      `ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${updates.join(', ')} WHERE excluded.${newest} >= ${table}.${newest}`
    );
  },
};

export interface SqliteDriverOptions {
  /** How long a statement waits for another process's lock, in milliseconds (default 5000). */
  readonly busyTimeoutMs?: number;
  /** Fail instead of creating a missing file. */
  readonly mustExist?: boolean;
}

class SqliteConnection implements SqlDriver {
  readonly dialect = sqliteDialect;
  readonly description: string;
  refs = 1;
  readonly db: Database.Database;
  readonly path: string;
  /** Settles when the transaction currently holding the connection (if any) has finished. */
  private tail: Promise<void> = Promise.resolve();
  /** True from BEGIN until the transaction has committed or rolled back. */
  private active = false;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string, options: SqliteDriverOptions = {}) {
    this.path = path === ':memory:' ? path : resolve(path);
    this.description = `SQLite ${this.path}`;
    if (options.mustExist === true && this.path !== ':memory:' && !existsSync(this.path)) {
      throw new LarsError('ERR_STORE_UNAVAILABLE', `there is no SQLite store at ${this.path}: run "lars db init" to create it, or set [store] sqlite_path (LARS_STORE_SQLITE_PATH)`);
    }
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      this.db = new Database(this.path, { timeout: options.busyTimeoutMs ?? 5000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
    } catch (err) {
      throw new LarsError('ERR_STORE_UNAVAILABLE', `cannot open the SQLite store ${this.path}: ${(err as Error).message}: check [store] sqlite_path (LARS_STORE_SQLITE_PATH) and its directory's permissions`, {
        cause: err,
      });
    }
  }

  private wrap(err: unknown): LarsError {
    if (err instanceof LarsError) return err;
    const message = (err as Error | undefined)?.message ?? String(err);
    const code = (err as { code?: string } | undefined)?.code ?? 'SQLITE_ERROR';
    if (/no such table/.test(message)) {
      return new LarsError('ERR_STORE', `${message} in ${this.description}: run "lars db init" to create the schema`, { cause: err });
    }
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_IOERR' || /database connection is not open/.test(message)) {
      return new LarsError('ERR_STORE_UNAVAILABLE', `${this.description} is not usable (${code}: ${message})`, { cause: err });
    }
    return new LarsError('ERR_STORE', `${this.description}: ${code}: ${message}`, { cause: err });
  }

  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      if (this.statements.size >= 256) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private readonly direct: SqlExecutor = {
    query: async <T extends SqlRow>(sql: string, params: readonly SqlValue[] = []) => {
      try {
        return this.prepare(sql).all(...params) as T[];
      } catch (err) {
        throw this.wrap(err);
      }
    },
    run: async (sql: string, params: readonly SqlValue[] = []) => {
      try {
        return this.prepare(sql).run(...params).changes;
      } catch (err) {
        throw this.wrap(err);
      }
    },
  };

  /** Resolves once no transaction holds the connection. */
  private async idle(): Promise<void> {
    while (this.active) await this.tail;
  }

  async query<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    await this.idle();
    return this.direct.query<T>(sql, params);
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    await this.idle();
    return this.direct.run(sql, params);
  }

  async transaction<T>(mode: 'read' | 'write', fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    try {
      await previous;
      this.active = true;
      try {
        this.db.exec(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN');
      } catch (err) {
        throw this.wrap(err);
      }
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw this.wrap(err);
      }
    } finally {
      this.active = false;
      release();
    }
  }

  async createSchema(): Promise<void> {
    await this.idle();
    try {
      this.db.exec(readSchema('sqlite'));
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.idle();
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}

/** Open connections by absolute path (':memory:' databases are never shared). */
const shared = new Map<string, SqliteConnection>();

/** A store's handle on the (possibly shared) connection to one SQLite file. */
export class SqliteDriver implements SqlDriver {
  readonly dialect = sqliteDialect;
  readonly description: string;
  private readonly conn: SqliteConnection;
  private closed = false;

  constructor(path: string, options: SqliteDriverOptions = {}) {
    const key = path === ':memory:' ? undefined : resolve(path);
    const existing = key === undefined ? undefined : shared.get(key);
    if (existing !== undefined) {
      existing.refs++;
      this.conn = existing;
    } else {
      this.conn = new SqliteConnection(path, options);
      if (key !== undefined) shared.set(key, this.conn);
    }
    this.description = this.conn.description;
  }

  private check(): void {
    if (this.closed) throw new LarsError('ERR_STORE_UNAVAILABLE', `${this.description} was closed`);
  }

  async query<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    this.check();
    return this.conn.query<T>(sql, params);
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    this.check();
    return this.conn.run(sql, params);
  }

  async transaction<T>(mode: 'read' | 'write', fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.check();
    return this.conn.transaction(mode, fn);
  }

  async createSchema(): Promise<void> {
    this.check();
    return this.conn.createSchema();
  }

  async ping(): Promise<void> {
    this.check();
    return this.conn.ping();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (--this.conn.refs > 0) return;
    if (shared.get(this.conn.path) === this.conn) shared.delete(this.conn.path);
    await this.conn.close();
  }
}
