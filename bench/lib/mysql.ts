// A MariaDB/MySQL database for one benchmark: created with a unique name (lars_bench_<hex>) and
// dropped afterwards. Nothing else on the server is touched. Server coordinates: 127.0.0.1:3306,
// root without a password, unless LARS_BENCH_MYSQL_HOST / _PORT / _USER / _PASSWORD say otherwise.
import { randomBytes } from 'node:crypto';
import { createConnection, type Connection } from 'mysql2/promise';
import type { MysqlConfig } from '../../src/config/types.js';

export interface BenchDatabase {
  readonly config: MysqlConfig;
  /** The [mysql] keys for a daemon's config. */
  readonly settings: Record<string, string>;
  /** Drops the database this helper created (idempotent). */
  drop(): Promise<void>;
}

function server(): Omit<MysqlConfig, 'database'> {
  const env = process.env;
  return {
    host: env.LARS_BENCH_MYSQL_HOST ?? '127.0.0.1',
    port: Number(env.LARS_BENCH_MYSQL_PORT ?? 3306),
    user: env.LARS_BENCH_MYSQL_USER ?? 'root',
    password: env.LARS_BENCH_MYSQL_PASSWORD ?? '',
  };
}

async function connect(s: Omit<MysqlConfig, 'database'>): Promise<Connection> {
  try {
    // Generous: a benchmark tearing down a million sockets keeps the machine busy for a while.
    return await createConnection({ ...s, connectTimeout: 30_000 });
  } catch (err) {
    throw new Error(
      `MariaDB/MySQL unreachable at ${s.user}@${s.host}:${s.port} (${(err as Error).message}); ` +
        'start it or set LARS_BENCH_MYSQL_HOST/_PORT/_USER/_PASSWORD',
      { cause: err },
    );
  }
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const s = server();
  const database = `lars_bench_${randomBytes(6).toString('hex')}`;
  const conn = await connect(s);
  try {
    await conn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  } finally {
    await conn.end();
  }
  let dropped = false;
  return {
    config: { ...s, database },
    settings: {
      'mysql.db_host': s.host,
      'mysql.db_port': String(s.port),
      'mysql.db_user': s.user,
      'mysql.db_passwd': s.password,
      'mysql.db_name': database,
    },
    async drop() {
      if (dropped) return;
      const c = await connect(s);
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${database}\``);
        dropped = true; // only now: a failed drop can be tried again
      } finally {
        await c.end();
      }
    },
  };
}
