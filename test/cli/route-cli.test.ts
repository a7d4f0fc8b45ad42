// `lars db` and `lars route` as a user runs them: the built CLI (dist/) in a child process,
// against a fresh MariaDB database and a fresh SQLite file, configured through LARS_* variables.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { checkBuild, cleanEnv, runCli, type CliRun } from '../helpers/cli.js';
import { createTestDatabase, testServer, type TestDatabase } from '../helpers/mysql.js';

function run(env: NodeJS.ProcessEnv, args: string[]): Promise<CliRun> {
  return runCli(args, env, 30_000);
}

const versionOf = (out: string): number => Number(/route version (\d+)/.exec(out)?.[1] ?? Number.NaN);

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(['mysql', 'sqlite'] as const)('lars db / lars route on %s', (backend) => {
  let db: TestDatabase | undefined;
  let env: NodeJS.ProcessEnv;
  let where: RegExp;
  let sqlitePath = '';
  const lars = (...args: string[]) => run(env, args);

  beforeAll(async () => {
    checkBuild(['src/cli/commands/db.ts', 'src/cli/commands/route.ts', 'src/cli/commands/policy.ts', 'src/store/sql-store.ts', 'src/store/validate.ts']);
    if (backend === 'mysql') {
      db = await createTestDatabase();
      const c = db.config;
      env = cleanEnv({
        LARS_MYSQL_DB_HOST: c.host,
        LARS_MYSQL_DB_PORT: String(c.port),
        LARS_MYSQL_DB_USER: c.user,
        LARS_MYSQL_DB_PASSWD: c.password,
        LARS_MYSQL_DB_NAME: c.database,
      });
      where = new RegExp(`^store: MySQL ${c.user}@${c.host.replace(/\./g, '\\.')}:${c.port}/${c.database}$`, 'm');
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'lars-cli-'));
      tempDirs.push(dir);
      sqlitePath = join(dir, 'var', 'lars.sqlite');
      env = cleanEnv({ LARS_STORE_SQLITE_PATH: sqlitePath });
      where = new RegExp(`^store: SQLite ${sqlitePath.replace(/[.]/g, '\\.')}$`, 'm');
    }
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('tells to run "lars db init" before the schema exists', async () => {
    const r = await lars('route', 'ls');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(backend === 'mysql' ? /RouteData.*run "lars db init"/ : /there is no SQLite store at .*lars\.sqlite: run "lars db init"/);
    if (backend === 'sqlite') expect(existsSync(sqlitePath)).toBe(false); // a read-only command creates nothing
  });

  it('db init creates the schema, twice without harm, and says which store it used', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await lars('db', 'init');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(where);
      expect(r.stdout).toMatch(/^schema ready$/m);
    }
    if (backend === 'sqlite') expect(existsSync(sqlitePath)).toBe(true);
  });

  it('db seed loads the demo routes once; route ls prints them as a table', async () => {
    const seeded = await lars('db', 'seed');
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toMatch(/demo routes loaded: route version \d+ \(was 0\); changed modules \(modid\/cmdid\): 1\/1, 1\/2, 2\/1/);
    const again = await lars('db', 'seed');
    expect(again.stdout).toMatch(/demo routes loaded: nothing changed; route version (\d+)/);
    expect(versionOf(again.stdout)).toBe(versionOf(seeded.stdout));

    const ls = await lars('route', 'ls');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(where);
    expect(ls.stdout).toContain(`route version ${versionOf(seeded.stdout)}`);
    expect(ls.stdout).toMatch(/^MODID {2}CMDID {2}IP {9}PORT {2}WEIGHT {2}ZONE {2}LEASE$/m);
    expect(ls.stdout).toMatch(/^ {4}1 {6}2 {2}127\.0\.0\.1 {2}9012 {5}100 {2}- {5}-$/m);
    expect(ls.stdout).toMatch(/^9 nodes in 3 modules$/m);
    const one = await lars('route', 'ls', '2', '1');
    expect(one.stdout).toMatch(/^3 nodes in 1 module$/m);
    expect(one.stdout).not.toMatch(/9001/);
  });

  it('route add and rm change one node each, printing the new version', async () => {
    const before = versionOf((await lars('route', 'ls')).stdout);
    const add = await lars('route', 'add', '5', '1', '192.168.1.177', '8080');
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(where);
    expect(add.stdout).toMatch(/^added 192\.168\.1\.177:8080 to modid 5 cmdid 1$/m);
    expect(add.stdout).toMatch(new RegExp(`^route version \\d+ \\(was ${before}\\); changed module \\(modid/cmdid\\): 5/1$`, 'm'));
    expect(versionOf(add.stdout)).toBeGreaterThan(before);
    expect((await lars('route', 'ls', '5')).stdout).toMatch(/^ {4}5 {6}1 {2}192\.168\.1\.177 {2}8080 {5}100 {2}- {5}-$/m);

    const dup = await lars('route', 'add', '5', '1', '192.168.1.177', '8080');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^lars: 192\.168\.1\.177:8080 is already a node of modid 5 cmdid 1; nothing was changed$/m);

    const rm = await lars('route', 'rm', '5', '1', '192.168.1.177', '8080');
    expect(rm.code).toBe(0);
    expect(rm.stdout).toMatch(/^removed 192\.168\.1\.177:8080 from modid 5 cmdid 1$/m);
    expect(versionOf(rm.stdout)).toBeGreaterThan(versionOf(add.stdout));
    const missing = await lars('route', 'rm', '5', '1', '192.168.1.177', '8080');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/is not a node of modid 5 cmdid 1/);
    expect((await lars('route', 'ls', '5')).stdout).toMatch(/^no routes for modid 5$/m);
    // Both edits are audited as made by the CLI on this host.
    const store = await openStore(db === undefined ? { mysql: undefined, sqlitePath, changeRetentionSec: 86400, auditRetentionDays: 90 } : { mysql: db.config, sqlitePath: 'unused', changeRetentionSec: 86400, auditRetentionDays: 90 });
    try {
      const audit = await store.recentAudit(2);
      expect(audit.map((a) => [a.actor, a.modid, a.version])).toEqual([
        [`cli@${hostname()}`, 5, versionOf(rm.stdout)],
        [`cli@${hostname()}`, 5, versionOf(add.stdout)],
      ]);
    } finally {
      await store.close();
    }
  });

  it('route add --weight --zone and route set change weights and zones, each a new version; ls shows them', async () => {
    const add = await lars('route', 'add', '7', '1', '10.7.0.1', '80', '--weight', '300', '--zone', 'az1');
    expect(add.stderr).toBe('');
    expect(add.stdout).toMatch(/^added 10\.7\.0\.1:80 to modid 7 cmdid 1 \(weight 300, zone az1\)$/m);
    await lars('route', 'add', '7', '1', '10.7.0.2', '80');
    const set = await lars('route', 'set', '7', '1', '10.7.0.2', '80', '--weight', '5');
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^set weight 5 of 10\.7\.0\.2:80 in modid 7 cmdid 1$/m);
    expect(versionOf(set.stdout)).toBeGreaterThan(versionOf(add.stdout));
    const zone = await lars('route', 'set', '7', '1', '10.7.0.1', '80', '--zone', '');
    expect(zone.stdout).toMatch(/^set zone '' of 10\.7\.0\.1:80/m);
    const ls = (await lars('route', 'ls', '7')).stdout;
    expect(ls).toMatch(/^ {4}7 {6}1 {2}10\.7\.0\.1 {4}80 {5}300 {2}- {5}-$/m);
    expect(ls).toMatch(/^ {4}7 {6}1 {2}10\.7\.0\.2 {4}80 {7}5 {2}- {5}-$/m);
    const same = await lars('route', 'set', '7', '1', '10.7.0.2', '80', '--weight', '5');
    expect(same.stdout).toMatch(/nothing changed/);
  });

  it('policy set, show and rm a module policy through the route-change transaction', async () => {
    const none = await lars('policy', 'show', '7', '1');
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/^policy: lars \(none set/m);
    const set = await lars('policy', 'set', '7', '1', 'ring_hash', '--ring-size', '4096', '--max-ejection-percent', '50', '--zone-overprovision', '140');
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^route version \d+ \(was \d+\); changed module \(modid\/cmdid\): 7\/1$/m);
    const show = await lars('policy', 'show', '7', '1');
    expect(show.stdout).toContain(
      'policy: ring_hash\nmax-ejection-percent: 50\npanic-threshold: 0\nejection-backoff-max: 0\nzone-overprovision: 140\nring-size: 4096',
    );
    const rm = await lars('policy', 'rm', '7', '1');
    expect(rm.stdout).toMatch(/^removed the policy of modid 7 cmdid 1: it uses lars again$/m);
    expect(versionOf(rm.stdout)).toBeGreaterThan(versionOf(set.stdout));
    expect((await lars('policy', 'rm', '7', '1')).stdout).toMatch(/had no policy set/);
  });

  it('gives every one of several concurrent edits from separate processes its own version', async () => {
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => lars('route', 'add', '6', '1', '10.6.0.1', String(1000 + i))));
    for (const r of runs) expect(r, r.stderr).toMatchObject({ code: 0 });
    const versions = runs.map((r) => versionOf(r.stdout));
    expect(new Set(versions).size).toBe(6);
    expect((await lars('route', 'ls', '6', '1')).stdout).toMatch(/^6 nodes in 1 module$/m);
  });

  it('refuses bad values with exit 1 and a message naming the argument, writing nothing', async () => {
    const before = (await lars('route', 'ls')).stdout;
    const cases: [string[], RegExp][] = [
      [['route', 'add', '1', '1', '10.0.0.256', '80'], /^lars: IP must be an IPv4 address in dotted-quad form/m],
      [['route', 'add', '1', '1', '010.0.0.1', '80'], /IP must be an IPv4 address .* got "010\.0\.0\.1"/],
      [['route', 'add', '1', '1', '10.0.0.1', '70000'], /^lars: PORT must be a port number from 1 to 65535, got 70000$/m],
      [['route', 'add', '1', '1', '10.0.0.1', '0'], /PORT must be a port number/],
      [['route', 'add', '4294967296', '1', '10.0.0.1', '80'], /^lars: MODID must be an integer from 0 to 4294967295, got 4294967296$/m],
      [['route', 'rm', '1', 'x', '10.0.0.1', '80'], /^lars: CMDID must be a non-negative decimal integer, got "x"$/m],
      [['route', 'ls', '1.5'], /MODID must be a non-negative decimal integer/],
      [['route', 'add', '1', '1', '10.0.0.1', '80', '--weight', '0'], /^lars: --weight must be an integer from 1 to 10000 \(100 is the default\), got 0$/m],
      [['route', 'set', '1', '1', '127.0.0.1', '9001', '--weight', '10001'], /--weight must be an integer from 1 to 10000/],
      [['route', 'set', '1', '1', '127.0.0.1', '9001', '--zone', 'z'.repeat(65)], /^lars: --zone must be at most 64 characters of A-Z a-z 0-9 \. _ -/m],
      [['route', 'set', '1', '1', '127.0.0.1', '9001', '--zone', 'a b'], /--zone must be/],
      [['route', 'set', '1', '1', '10.9.9.9', '9001', '--weight', '5'], /^lars: 10\.9\.9\.9:9001 is not a node of modid 1 cmdid 1; nothing was changed$/m],
      [['policy', 'set', '1', '1', 'round_robin'], /^lars: policy\.name must be one of lars, weighted_round_robin, weighted_random, least_latency, ring_hash, got "round_robin"$/m],
      [['policy', 'set', '1', '1', 'lars', '--max-ejection-percent', '101'], /policy\.maxEjectionPercent must be a percent from 0 to 100/],
      [['policy', 'set', '1', '1', 'lars', '--panic-threshold', '200'], /policy\.panicThreshold must be a percent from 0 to 100/],
      [['policy', 'set', '1', '1', 'ring_hash', '--ring-size', 'big'], /--ring-size must be a non-negative decimal integer/],
    ];
    for (const [args, message] of cases) {
      const r = await lars(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect((await lars('route', 'ls')).stdout).toBe(before);
    expect((await lars('policy', 'show', '1', '1')).stdout).toMatch(/^policy: lars \(none set/m);
  });

  it('answers usage errors with exit 2 and the usage, and --help with exit 0', async () => {
    const usageCases: string[][] = [
      ['route'],
      ['route', 'frob'],
      ['route', 'add', '1', '1', '10.0.0.1'],
      ['route', 'rm', '1', '1', '10.0.0.1', '80', '9'],
      ['route', 'ls', '1', '2', '3'],
      ['route', 'ls', '--bogus'],
      ['route', 'add', '-1', '1', '10.0.0.1', '80'],
      ['route', 'set', '1', '1', '127.0.0.1', '9001'],
      ['route', 'rm', '1', '1', '127.0.0.1', '9001', '--weight', '5'],
      ['policy'],
      ['policy', 'set', '1', '1'],
      ['policy', 'show', '1', '1', '--ring-size', '5'],
      ['db'],
      ['db', 'drop'],
      ['db', 'init', 'extra'],
    ];
    for (const args of usageCases) {
      const r = await lars(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: lars (route|db|policy) /);
      expect(r.stdout).toBe('');
    }
    const badSet = await lars('route', 'ls', '--set', 'nosuchkey=1');
    expect(badSet.code).toBe(2);
    expect(badSet.stderr).toMatch(/^lars: --set "nosuchkey=1": expected section\.key=value/);
    for (const cmd of ['route', 'db', 'policy']) {
      const r = await lars(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: lars ${cmd} `));
      expect(r.stdout).toContain('--set section.key=VALUE');
    }
  });

  it('takes the store from -c FILE and --set as well', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lars-cli-conf-'));
    tempDirs.push(dir);
    const conf = join(dir, 'lars.conf');
    const fromFile = join(dir, 'from-file.sqlite');
    writeFileSync(
      conf,
      db === undefined
        ? `[store]\nsqlite_path = ${fromFile}\n`
        : `[mysql]\ndb_host = ${db.config.host}\ndb_port = ${db.config.port}\ndb_user = ${db.config.user}\ndb_passwd = ${db.config.password}\ndb_name = ${db.config.database}\n`,
    );
    const viaFile = await run(cleanEnv({}), ['route', 'ls', '-c', conf, '1', '1']);
    if (db === undefined) {
      expect(viaFile.code).toBe(1); // no store there yet
      expect(viaFile.stderr).toContain(`there is no SQLite store at ${fromFile}`);
    } else {
      expect(viaFile.code).toBe(0);
      expect(viaFile.stdout).toMatch(where);
      expect(viaFile.stdout).toMatch(/^3 nodes in 1 module$/m);
    }
    if (backend === 'sqlite') {
      const other = join(dirname(sqlitePath), 'other', 'lars.sqlite');
      const r = await lars('db', 'seed', '--set', `store.sqlite_path=${other}`);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`store: SQLite ${other}`);
      expect(existsSync(other)).toBe(true);
    } else {
      // db init creates a database that does not exist yet (named here, dropped afterwards).
      const name = `lars_test_${randomBytes(6).toString('hex')}`;
      try {
        const r = await lars('db', 'init', '--set', `mysql.db_name=${name}`);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`/${name}`);
        expect((await lars('route', 'ls', '--set', `mysql.db_name=${name}`)).stdout).toMatch(/^no routes$/m);
      } finally {
        const conn = await createConnection(testServer());
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await conn.end();
      }
    }
  });

  it('route ls shows a registered node with its lease expiry; route pin makes it static; rm of a leased node says it comes back', async () => {
    const config = backend === 'mysql' ? { mysql: db!.config, sqlitePath: 'unused.sqlite', changeRetentionSec: 86400, auditRetentionDays: 90 } : { mysql: undefined, sqlitePath, changeRetentionSec: 86400, auditRetentionDays: 90 };
    const store = await openStore(config);
    try {
      await store.applyLeases(
        [1, 2].map((port) => ({ modid: 44, cmdid: 1, ip: '10.4.4.1', port, ttlMs: 600_000, deregister: false })),
        Date.now(),
        100,
      );
    } finally {
      await store.close();
    }
    const ls = await lars('route', 'ls', '44');
    expect(ls.stdout).toMatch(/^ {3}44 {6}1 {2}10\.4\.4\.1 {5}1 {5}100 {2}- {5}expires in \d+\.\d s$/m);
    const pin = await lars('route', 'pin', '44', '1', '10.4.4.1', '1');
    expect(pin.code).toBe(0);
    expect(pin.stdout).toMatch(/^pinned 10\.4\.4\.1:1 in modid 44 cmdid 1: it is a static node now/m);
    expect((await lars('route', 'ls', '44')).stdout).toMatch(/^ {3}44 {6}1 {2}10\.4\.4\.1 {5}1 {5}100 {2}- {5}-$/m);
    expect((await lars('route', 'pin', '44', '1', '10.4.4.1', '1')).code).toBe(1);
    const rm = await lars('route', 'rm', '44', '1', '10.4.4.1', '2');
    expect(rm.code).toBe(0);
    expect(rm.stdout).toMatch(/^note: 10\.4\.4\.1:2 was registered by its instance: its next renewal adds it again/m);
  });

  it('says where the store was expected when it cannot be used', async () => {
    if (backend === 'mysql') {
      const r = await run({ ...env, LARS_MYSQL_DB_PORT: '1' }, ['route', 'ls']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^lars: cannot reach MySQL at 127\.0\.0\.1:1 \(ECONNREFUSED/m);
      expect(r.stderr).toMatch(/LARS_MYSQL_DB_HOST, LARS_MYSQL_DB_PORT/);
    } else {
      // The store's "directory" is a regular file.
      const file = join(dirname(dirname(sqlitePath)), 'not-a-dir');
      writeFileSync(file, 'x');
      const r = await run({ ...env, LARS_STORE_SQLITE_PATH: join(file, 'lars.sqlite') }, ['db', 'init']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^lars: cannot open the SQLite store .*not-a-dir\/lars\.sqlite: .*LARS_STORE_SQLITE_PATH/m);
    }
  });
});
