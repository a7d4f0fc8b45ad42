// A MariaDB/MySQL database of its own for each test file: created with a unique name, dropped
// afterwards. Point it at a server with LARS_TEST_MYSQL_HOST / _PORT / _USER / _PASSWORD.
import { randomBytes } from 'node:crypto';
import { createConnection, type Connection } from 'mysql2/promise';
import type { MysqlConfig } from '../../src/config/types.js';

export interface TestDatabase {
  readonly config: MysqlConfig;
  /** Drops the database (only the one this helper created). */
  drop(): Promise<void>;
}

/** The test server's coordinates, without a database. */
export function testServer(): Omit<MysqlConfig, 'database'> {
  const env = process.env;
  return {
    host: env.LARS_TEST_MYSQL_HOST ?? '127.0.0.1',
    port: Number(env.LARS_TEST_MYSQL_PORT ?? 3306),
    user: env.LARS_TEST_MYSQL_USER ?? 'root',
    password: env.LARS_TEST_MYSQL_PASSWORD ?? '',
  };
}

async function connect(server: Omit<MysqlConfig, 'database'>): Promise<Connection> {
  try {
    return await createConnection({ ...server, connectTimeout: 5000 });
  } catch (err) {
    throw new Error(
      `the MySQL tests need a MySQL/MariaDB server and could not reach ${server.user}@${server.host}:${server.port} ` +
        `(${(err as Error).message}). Start one, or point the tests at yours with LARS_TEST_MYSQL_HOST, ` +
        `LARS_TEST_MYSQL_PORT, LARS_TEST_MYSQL_USER and LARS_TEST_MYSQL_PASSWORD (the user needs CREATE and DROP).`,
      { cause: err },
    );
  }
}

/** Creates `lars_test_<random>` and returns its config and a drop() for afterAll. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = testServer();
  const database = `lars_test_${randomBytes(6).toString('hex')}`;
  const conn = await connect(server);
  try {
    await conn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  } finally {
    await conn.end();
  }
  let dropped = false;
  return {
    config: { ...server, database },
    async drop() {
      if (dropped) return;
      dropped = true;
      const c = await connect(server);
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${database}\``);
      } finally {
        await c.end();
      }
    },
  };
}
