// SqlDriver over a mysql2/promise pool. Statements are prepared (`execute`); the pool replaces
// broken connections on its own, so a restarted MySQL is picked up by the next call. Every
// connection-level failure surfaces as ERR_STORE_UNAVAILABLE naming host:port.
import { createConnection, createPool, type Pool, type PoolConnection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { LarsError } from '../errors.js';
import type { MysqlConfig } from '../config/types.js';
import { placeholders, readSchema, splitStatements, type Dialect, type SqlDriver, type SqlExecutor, type SqlRow, type SqlValue } from './sql-driver.js';

/** Statements with more parameters than this are sent as text (see executor().run). */
const BULK_PARAMS = 1000;

export interface MysqlDriverOptions {
  /** Pool size (default 4). */
  readonly connections?: number;
  /** Connect timeout in milliseconds (default 5000). */
  readonly connectTimeoutMs?: number;
}

const mysqlDialect: Dialect = {
  backend: 'mysql',
  forUpdate: ' FOR UPDATE',
  upsertNewest(table, columns, key, newest, rows) {
    // MySQL assigns left to right and later conditions see earlier assignments: `newest` goes last.
    const values = columns.filter((c) => !key.includes(c) && c !== newest).concat(newest);
    const updates = values.map((c) => `${c} = IF(VALUES(${newest}) >= ${newest}, VALUES(${c}), ${c})`);
    return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${placeholders(columns.length, rows)} ON DUPLICATE KEY UPDATE ${updates.join(', ')}`;
  },
  rowChecksum(columns) {
    // Summed in a plain MVCC read (CHECKSUM TABLE would read-lock the table against the admin's writes).
    return `CRC32(CONCAT_WS(',', ${columns.join(', ')}))`;
  },
};

// Errors that mean "no usable connection", as opposed to a statement that failed.
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_SERVER_SHUTDOWN',
  'POOL_CLOSED',
]);
const DEADLOCK = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

interface MysqlError {
  code?: string;
  fatal?: boolean;
  message?: string;
}

export class MysqlDriver implements SqlDriver {
  readonly dialect = mysqlDialect;
  readonly description: string;
  private readonly pool: Pool;
  private readonly where: string;

  constructor(
    private readonly config: MysqlConfig,
    private readonly options: MysqlDriverOptions = {},
  ) {
    this.where = `${config.host}:${config.port}`;
    this.description = `MySQL ${config.user}@${this.where}/${config.database}`;
    this.pool = createPool({
      ...this.connectionOptions(),
      database: config.database,
      connectionLimit: options.connections ?? 4,
      waitForConnections: true,
      enableKeepAlive: true,
      // Evicted prepared statements are closed, keeping the server's statement count bounded.
      maxPreparedStatements: 128,
    });
    // A pool emits errors of idle connections; the next query reports the outage instead.
    (this.pool as unknown as { on(event: string, fn: () => void): void }).on('error', () => {});
  }

  private connectionOptions() {
    return {
      host: this.config.host,
      port: this.config.port,
      user: this.config.user,
      password: this.config.password,
      connectTimeout: this.options.connectTimeoutMs ?? 5000,
      charset: 'utf8mb4',
      supportBigNumbers: false,
    };
  }

  /** Turns a mysql2 error into a LarsError that says where and what to do. */
  private wrap(err: unknown): LarsError {
    if (err instanceof LarsError) return err;
    const e = (err ?? {}) as MysqlError;
    const code = e.code ?? 'UNKNOWN';
    const message = e.message ?? String(err);
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
      return new LarsError(
        'ERR_STORE_UNAVAILABLE',
        `MySQL at ${this.where} refused user "${this.config.user}" (${message}): check [mysql] db_user / db_passwd (LARS_MYSQL_DB_USER, LARS_MYSQL_DB_PASSWD)`,
        { cause: err },
      );
    }
    if (code === 'ER_BAD_DB_ERROR') {
      return new LarsError(
        'ERR_STORE_UNAVAILABLE',
        `MySQL at ${this.where} has no database "${this.config.database}": run "lars db init" to create it, or set [mysql] db_name (LARS_MYSQL_DB_NAME)`,
        { cause: err },
      );
    }
    if (UNAVAILABLE.has(code) || e.fatal === true) {
      return new LarsError(
        'ERR_STORE_UNAVAILABLE',
        `cannot reach MySQL at ${this.where} (${code}: ${message}): check that it is running and [mysql] db_host / db_port (LARS_MYSQL_DB_HOST, LARS_MYSQL_DB_PORT)`,
        { cause: err },
      );
    }
    if (code === 'ER_NO_SUCH_TABLE') {
      return new LarsError('ERR_STORE', `${message} in ${this.description}: run "lars db init" to create the schema`, { cause: err });
    }
    return new LarsError('ERR_STORE', `${this.description}: ${code}: ${message}`, { cause: err });
  }

  private static isRetryableRead(err: unknown): boolean {
    const code = (err as MysqlError | undefined)?.code;
    // A pooled connection the server closed while idle fails once; a fresh one will work.
    return code === 'PROTOCOL_CONNECTION_LOST' || code === 'ECONNRESET' || code === 'EPIPE';
  }

  private static executor(conn: Pool | PoolConnection): SqlExecutor {
    return {
      async query<T extends SqlRow>(sql: string, params: readonly SqlValue[] = []) {
        const [rows] = await conn.execute<RowDataPacket[]>(sql, params as SqlValue[]);
        return rows as unknown as T[];
      },
      async run(sql: string, params: readonly SqlValue[] = []) {
        // Preparing pays off for short statements issued again and again; a bulk statement
        // (the call-status upsert: thousands of parameters) costs more to prepare than to send,
        // so mysql2 formats it client-side, escaping every value, instead.
        const [result] =
          params.length > BULK_PARAMS
            ? await conn.query<ResultSetHeader>(sql, params as SqlValue[])
            : await conn.execute<ResultSetHeader>(sql, params as SqlValue[]);
        return result.affectedRows;
      },
    };
  }

  // Outside a transaction every statement the store issues is idempotent, so one retry on a
  // connection that died while idle is safe.
  private async withRetry<T>(fn: (ex: SqlExecutor) => Promise<T>): Promise<T> {
    const ex = MysqlDriver.executor(this.pool);
    try {
      return await fn(ex);
    } catch (err) {
      if (!MysqlDriver.isRetryableRead(err)) throw this.wrap(err);
      try {
        return await fn(ex);
      } catch (again) {
        throw this.wrap(again);
      }
    }
  }

  query<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.withRetry((ex) => ex.query<T>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.withRetry((ex) => ex.run(sql, params));
  }

  async transaction<T>(mode: 'read' | 'write', fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // A deadlock victim was rolled back by the server, so running it again is safe.
    for (let attempt = 1; ; attempt++) {
      let conn: PoolConnection;
      try {
        conn = await this.pool.getConnection();
      } catch (err) {
        throw this.wrap(err);
      }
      try {
        await conn.query(mode === 'read' ? 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY' : 'START TRANSACTION');
        const result = await fn(MysqlDriver.executor(conn));
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => {});
        const code = (err as MysqlError | undefined)?.code ?? '';
        if (!(err instanceof LarsError) && DEADLOCK.has(code) && attempt < 3) continue;
        throw this.wrap(err);
      } finally {
        conn.release();
      }
    }
  }

  async createSchema(): Promise<void> {
    await this.ensureDatabase();
    try {
      for (const statement of splitStatements(readSchema('mysql'))) {
        // DDL goes through the text protocol: not every server prepares CREATE TABLE.
        await this.pool.query(statement);
      }
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /** Creates the configured database when the server says it does not exist. */
  private async ensureDatabase(): Promise<void> {
    try {
      await this.ping();
      return;
    } catch (err) {
      if (!(err instanceof LarsError) || (err.cause as MysqlError | undefined)?.code !== 'ER_BAD_DB_ERROR') throw err;
    }
    let conn;
    try {
      conn = await createConnection(this.connectionOptions());
      await conn.query(`CREATE DATABASE IF NOT EXISTS \`${this.config.database.replace(/`/g, '``')}\``);
    } catch (err) {
      throw this.wrap(err);
    } finally {
      await conn?.end().catch(() => {});
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    try {
      await this.pool.end();
    } catch (err) {
      // A connection still being opened to a server that is gone fails pool.end() too; there is
      // nothing of it to close, and a daemon stopping while MySQL is down must still stop cleanly.
      if (!UNAVAILABLE.has((err as { code?: string }).code ?? '')) throw this.wrap(err);
    }
  }
}
