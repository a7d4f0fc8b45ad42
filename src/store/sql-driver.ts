// The small surface SqlStore needs from a database: statements, transactions, a DDL script and
// the few dialect differences. Two implementations: mysql-driver.ts and sqlite-driver.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LarsError } from '../errors.js';
import { packageRoot } from '../native/addon.js';
import type { StoreBackend } from './store.js';

export type SqlValue = number | string | null;
export type SqlRow = Record<string, unknown>;

export interface SqlExecutor {
  /** Runs a statement that returns rows. */
  query<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement that changes rows; resolves to the number of rows it affected. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface Dialect {
  readonly backend: StoreBackend;
  /** Appended to a SELECT inside a write transaction to lock the rows read ('' where the whole database is locked). */
  readonly forUpdate: string;
  /**
   * A multi-row INSERT of `rows` rows into `table` where a row whose `key` columns already exist
   * takes the new values only when its `newest` column is not newer than the new row's: the
   * newest value wins whatever order writers commit in, and a tie goes to the later write.
   */
  upsertNewest(table: string, columns: readonly string[], key: readonly string[], newest: string, rows: number): string;
  /**
   * An expression: a 32-bit checksum of a row's `columns`, computed by the server so digests of
   * many rows cost no rows shipped. Absent where the backend has no checksum function (SQLite):
   * whoever would check a digest reloads instead.
   */
  readonly rowChecksum?: (columns: readonly string[]) => string;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: Dialect;
  /** For logs and CLI output: which database this is. */
  readonly description: string;
  /**
   * Runs `fn` in one transaction on one connection: commits when it resolves, rolls back when
   * it throws. A 'read' transaction sees one consistent snapshot. Writers are isolated by the
   * database: SQLite takes its write lock at BEGIN; on MySQL the store locks the rows it reads
   * with `dialect.forUpdate`.
   */
  transaction<T>(mode: 'read' | 'write', fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Creates the database itself if the backend needs that (MySQL), then runs the dialect's schema. */
  createSchema(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `(?, ?, ?), (?, ?, ?)` for `rows` rows of `columns` values. */
export function placeholders(columns: number, rows: number): string {
  const one = `(${new Array<string>(columns).fill('?').join(', ')})`;
  return new Array<string>(rows).fill(one).join(', ');
}

/** Reads sql/<backend>/schema.sql from the package. */
export function readSchema(backend: StoreBackend): string {
  const file = join(packageRoot, 'sql', backend, 'schema.sql');
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new LarsError('ERR_STORE', `cannot read the schema ${file}: ${(err as Error).message}: reinstall lars`, { cause: err });
  }
}

/** Splits a schema file into statements: `--` comment lines dropped, a statement ends with `;` at the end of a line. */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const line of script.split('\n')) {
    if (line.trim().startsWith('--')) continue;
    current.push(line);
    if (line.trimEnd().endsWith(';')) {
      const text = current.join('\n').trim().replace(/;$/, '');
      if (text !== '') statements.push(text);
      current = [];
    }
  }
  const rest = current.join('\n').trim();
  if (rest !== '') statements.push(rest);
  return statements;
}
