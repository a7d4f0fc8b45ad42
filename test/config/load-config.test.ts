import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, type LoadConfigOptions, type NetworkInterfaces, type Role } from '../../src/config/index.js';
import { isLarsError, type LarsError } from '../../src/errors.js';
import { checkZone } from '../../src/store/index.js';
import { SPEC_LOADBALANCE_DEFAULTS } from '../helpers/spec-defaults.js';

const dir = mkdtempSync(join(tmpdir(), 'lars-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
/** Writes an INI file into the temp dir and returns its path. */
function conf(text: string): string {
  const path = join(dir, `t${++fileNo}.conf`);
  writeFileSync(path, text);
  return path;
}

const noInterfaces = (): NetworkInterfaces => ({});
/** loadConfig isolated from the machine: empty env, no interfaces, warnings collected. */
function load<R extends Role>(role: R, opts: LoadConfigOptions = {}) {
  const warnings: string[] = [];
  const config = loadConfig(role, { env: {}, networkInterfaces: noInterfaces, warn: (m) => warnings.push(m), ...opts });
  return { config, warnings };
}

function configError(fn: () => unknown): LarsError {
  try {
    fn();
  } catch (err) {
    if (isLarsError(err, 'ERR_CONFIG')) return err;
    throw err;
  }
  throw new Error('expected ERR_CONFIG');
}

describe('role defaults', () => {
  it('dns', () => {
    const { config, warnings } = load('dns');
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      role: 'dns',
      file: undefined,
      impl: 'native',
      logLevel: 'info',
      logFormat: 'text',
      store: { mysql: undefined, sqlitePath: 'var/lars.sqlite', changeRetentionSec: 86400, auditRetentionDays: 90 },
      admin: { ip: '127.0.0.1', port: 9778 },
      reactor: { ip: '0.0.0.0', port: 7778, threadNum: 1, maxConn: 20000, maxSubscriptionsPerConn: 100000 },
      dns: { pollIntervalMs: 1000, fullReloadMs: 10000, maxLeases: 100000 },
    });
  });

  it('reporter', () => {
    const { config } = load('reporter');
    expect(config.reactor).toEqual({ ip: '0.0.0.0', port: 7779, threadNum: 1, maxConn: 20000 });
    expect(config.admin.port).toBe(9779);
    expect(config.reporter).toEqual({ dbThreadCnt: 3, bufferMaxKeys: 1_000_000, flushIntervalMs: 100, stopDeadlineMs: 10_000 });
  });

  it('agent', () => {
    const { config } = load('agent');
    expect(config.admin.port).toBe(9888);
    expect(config.agent).toEqual({
      ip: '127.0.0.1',
      port: 8888,
      callerIp: '127.0.0.1',
      reportIntervalMs: 1000,
      busyPollUs: 20,
      maxEmptyRoutes: 10_000,
      maxNewPullsPerS: 1_000,
      cacheDir: 'var/agent-cache',
      cacheMaxAgeMs: 7 * 86_400_000,
      viewDir: '/dev/shm',
      zone: '',
    });
    expect(config.dnsserver.endpoints).toEqual([{ ip: '127.0.0.1', port: 7778 }]);
    expect(config.reporter.endpoint).toEqual({ ip: '127.0.0.1', port: 7779 });
    expect(config.loadbalance).toEqual(SPEC_LOADBALANCE_DEFAULTS);
  });

  it('web has no credentials, no separate admin port, and the default alarm thresholds', () => {
    const { config } = load('web');
    expect(config.web).toEqual({ ip: '127.0.0.1', port: 8080, user: undefined, password: undefined, alarmErrorRatio: 0.1, alarmOverloadedShare: 0.5, alarmReportMaxAgeMs: 60_000 });
    expect(config.admin.port).toBe(0);
  });

  it('cli', () => {
    const { config } = load('cli');
    expect(config).toMatchObject({ role: 'cli', impl: 'native', admin: { port: 0 }, store: { mysql: undefined } });
  });

  it('gives every role a distinct admin port (0 meaning none)', () => {
    const ports = (['dns', 'reporter', 'agent'] as const).map((r) => load(r).config.admin.port);
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe('precedence: defaults < file < env < overrides', () => {
  const file = conf('[reactor]\nport = 7001\nthreadNum = 2\nmaxConn = 100\n');

  it('file over defaults', () => {
    const { config } = load('dns', { file });
    expect(config.reactor).toEqual({ ip: '0.0.0.0', port: 7001, threadNum: 2, maxConn: 100, maxSubscriptionsPerConn: 100000 });
    expect(config.file).toBe(file);
  });

  it('env over file', () => {
    const { config } = load('dns', { file, env: { LARS_REACTOR_PORT: '7002', LARS_REACTOR_MAXCONN: '200' } });
    expect(config.reactor).toMatchObject({ port: 7002, threadNum: 2, maxConn: 200 });
  });

  it('overrides over env', () => {
    const { config } = load('dns', { file, env: { LARS_REACTOR_PORT: '7002' }, overrides: { 'reactor.port': '7003' } });
    expect(config.reactor.port).toBe(7003);
  });

  it('an empty environment variable counts as unset', () => {
    const { config } = load('dns', { file, env: { LARS_REACTOR_PORT: '', LARS_MYSQL_DB_HOST: '' } });
    expect(config.reactor.port).toBe(7001);
    expect(config.store.mysql).toBeUndefined();
  });

  it('reads process.env when no env is given', () => {
    vi.stubEnv('LARS_LOADBALANCE_PROBE_NUM', '42');
    try {
      const config = loadConfig('agent', { networkInterfaces: noInterfaces, warn: () => {} });
      expect(config.loadbalance.probeNum).toBe(42);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('uses the special environment names', () => {
    const { config } = load('web', {
      env: { LARS_IMPL: 'ts', LARS_LOG_LEVEL: 'debug', LARS_WEB_USER: 'admin', LARS_WEB_PASSWORD: 's3cret#;' },
    });
    expect(config).toMatchObject({ impl: 'ts', logLevel: 'debug', web: { user: 'admin', password: 's3cret#;' } });
  });

  it('LARS_IMPL wins over [lars] impl in the file', () => {
    const f = conf('[lars]\nimpl = native\n');
    expect(load('cli', { file: f }).config.impl).toBe('native');
    expect(load('cli', { file: f, env: { LARS_IMPL: 'ts' } }).config.impl).toBe('ts');
  });

  it('converts [loadbalance] timeouts from seconds to milliseconds, fractions allowed', () => {
    const f = conf('[loadbalance]\nidle_timeout = 0.2\noverload_timeout = 1.5\n');
    const { config } = load('agent', { file: f, env: { LARS_LOADBALANCE_UPDATE_TIMEOUT: '30' } });
    expect(config.loadbalance).toMatchObject({ idleTimeoutMs: 200, overloadTimeoutMs: 1500, updateTimeoutMs: 30_000 });
  });

  it('reads [agent] busy_poll_us from the file and the environment; 0 turns the busy-poll off', () => {
    expect(load('agent', { file: conf('[agent]\nbusy_poll_us = 0\n') }).config.agent.busyPollUs).toBe(0);
    expect(load('agent', { env: { LARS_AGENT_BUSY_POLL_US: '10000' } }).config.agent.busyPollUs).toBe(10_000);
  });

  it('refuses an unknown override key', () => {
    const err = configError(() => load('dns', { overrides: { 'reactor.prot': '1' } }));
    expect(err.message).toContain('reactor.prot');
  });
});

describe('malformed values name the key, the source and what is expected', () => {
  // [role, section, key, bad value, words of the expectation]
  const cases: [Role, string, string, string, string][] = [
    ['dns', 'reactor', 'threadNum', 'two', 'an integer from 1 to 256'],
    ['dns', 'reactor', 'threadNum', '1.5', 'an integer'],
    ['dns', 'reactor', 'maxConn', '0', 'an integer from 1'],
    ['dns', 'dns', 'poll_interval_ms', '5', 'an integer from 10'],
    ['agent', 'loadbalance', 'err_rate', '1.5', 'a number from 0 to 1'],
    ['agent', 'loadbalance', 'succ_rate', 'half', 'a number'],
    ['dns', 'mysql', 'db_host', '', 'a non-empty string'],
    ['dns', 'mysql', 'db_name', 'lars dns', 'database name'],
    ['dns', 'reactor', 'ip', '256.0.0.1', 'an IPv4 address'],
    ['agent', 'agent', 'caller_ip', 'localhost', 'an IPv4 address'],
    ['dns', 'reactor', 'port', '70000', 'a port number from 0 to 65535'],
    ['dns', 'mysql', 'db_port', '0', 'a port number from 1 to 65535'],
    ['agent', 'agent', 'port', '65534', 'a port number from 1 to 65533'],
    ['agent', 'agent', 'zone', 'az 1', 'empty or a zone name of at most 64 characters of A-Z a-z 0-9 . _ -'],
    ['agent', 'agent', 'zone', 'z'.repeat(65), 'empty or a zone name'],
    ['agent', 'agent', 'busy_poll_us', '10001', 'an integer from 0'],
    ['agent', 'agent', 'busy_poll_us', '-1', 'an integer from 0'],
    ['agent', 'loadbalance', 'idle_timeout', '0', 'a duration in seconds'],
    ['agent', 'loadbalance', 'update_timeout', '15s', 'a duration in seconds'],
    ['agent', 'dnsserver', 'endpoints', '127.0.0.1', 'IPv4:port'],
    ['agent', 'dnsserver', 'endpoints', '127.0.0.1:7778,', 'IPv4:port'],
    ['agent', 'dnsserver', 'endpoints', '127.0.0.1:0', 'IPv4:port'],
    ['dns', 'log', 'level', 'verbose', 'one of debug, info, warn, error'],
    ['dns', 'lars', 'impl', 'rust', '"native" or "ts"'],
  ];

  describe.each(cases)('%s [%s] %s = "%s"', (role, section, key, bad, expected) => {
    const label = `[${section}] ${key}`;
    const envVar = section === 'lars' ? 'LARS_IMPL' : `LARS_${section.toUpperCase()}_${key.toUpperCase()}`;

    it('from the file: path and line', () => {
      const file = conf(`# header\n[${section}]\n${key} = ${bad}\n`);
      const err = configError(() => load(role, { file }));
      expect(err.message).toContain(`${file}:3`);
      expect(err.message).toContain(label);
      expect(err.message).toContain(expected);
    });

    it('from the environment: the variable', () => {
      if (bad === '') return; // an empty variable is unset, not malformed
      const err = configError(() => load(role, { env: { [envVar]: bad } }));
      expect(err.message).toContain(envVar);
      expect(err.message).toContain(label);
      expect(err.message).toContain(expected);
    });

    it('from an override: the flag', () => {
      const err = configError(() => load(role, { overrides: { [`${section}.${key}`]: bad } }));
      expect(err.message).toContain(`--set ${section}.${key}`);
      expect(err.message).toContain(label);
      expect(err.message).toContain(expected);
    });
  });

  it('does not check keys the role does not read', () => {
    const file = conf('[reactor]\nport = not-a-port\n[loadbalance]\nprobe_num = many\n');
    expect(load('web', { file }).config.web.port).toBe(8080);
  });
});

describe('unknown keys and sections', () => {
  it('warns once per unknown key and ignores it', () => {
    const file = conf('[reactor]\nport = 7001\nprot = 7002\n');
    const { config, warnings } = load('dns', { file });
    expect(config.reactor.port).toBe(7001);
    expect(warnings).toEqual([`unknown key [reactor] prot in ${file}:3 — ignored`]);
  });

  it('warns once for an unknown section, however many keys it has', () => {
    const file = conf('[reactorr]\nport = 7001\nip = 0.0.0.0\n');
    const { warnings } = load('dns', { file });
    expect(warnings).toEqual([`unknown section [reactorr] in ${file}:2 — ignored`]);
  });

  it('accepts the keys of other roles silently (one file for several roles)', () => {
    const file = conf(
      '[reactor]\nport = 7001\n[dns]\npoll_interval_ms = 500\n[reporter]\nip = 10.0.0.1\nport = 7100\ndb_thread_cnt = 4\n' +
        '[loadbalance]\nprobe_num = 3\n[web]\nport = 8081\n[agent]\nport = 9000\n[dnsserver]\nip = 10.0.0.2\n',
    );
    for (const role of ['dns', 'reporter', 'agent', 'web', 'cli'] as const) {
      expect(load(role, { file }).warnings).toEqual([]);
    }
    expect(load('agent', { file }).config.reporter.endpoint).toEqual({ ip: '10.0.0.1', port: 7100 });
    expect(load('reporter', { file }).config.reporter.dbThreadCnt).toBe(4);
  });

  it('sends warnings to the config logger when no warn function is given', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      loadConfig('dns', { file: conf('[nope]\nx = 1\n'), env: {} });
      expect(write.mock.calls.map((c) => String(c[0])).join('')).toContain('unknown section [nope]');
    } finally {
      write.mockRestore();
    }
  });
});

describe('files', () => {
  it('a missing -c file is ERR_CONFIG naming the path', () => {
    const missing = join(dir, 'nope.conf');
    const err = configError(() => load('dns', { file: missing }));
    expect(err.message).toContain(missing);
    expect(err.message).toContain('ENOENT');
  });

  it('a directory given as -c file is ERR_CONFIG', () => {
    const sub = join(dir, 'sub.conf');
    mkdirSync(sub);
    expect(configError(() => load('dns', { file: sub })).message).toContain(sub);
  });

  it('an INI syntax error is ERR_CONFIG with the line', () => {
    const file = conf('[reactor]\nport 7001\n');
    expect(configError(() => load('dns', { file })).message).toContain(`${file}:2`);
  });
});

describe('frozen result', () => {
  it('is deeply frozen: mutation throws', () => {
    const { config } = load('agent', { env: { LARS_DNSSERVER_ENDPOINTS: '10.0.0.1:1, 10.0.0.2:2' } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.loadbalance)).toBe(true);
    expect(Object.isFrozen(config.dnsserver.endpoints)).toBe(true);
    expect(Object.isFrozen(config.dnsserver.endpoints[0])).toBe(true);
    expect(() => {
      (config as { role: string }).role = 'dns';
    }).toThrow(TypeError);
    expect(() => {
      (config.loadbalance as { probeNum: number }).probeNum = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.dnsserver.endpoints as unknown as { push(e: unknown): void }).push({ ip: '1.1.1.1', port: 1 });
    }).toThrow(TypeError);
  });

  it('builds a new object each call', () => {
    expect(load('dns').config).not.toBe(load('dns').config);
  });
});

describe('[dnsserver] endpoints', () => {
  it('parses a list with or without spaces', () => {
    const file = conf('[dnsserver]\nendpoints = 127.0.0.1:7778, 127.0.0.2:7778,10.1.2.3:9000\n');
    expect(load('agent', { file }).config.dnsserver.endpoints).toEqual([
      { ip: '127.0.0.1', port: 7778 },
      { ip: '127.0.0.2', port: 7778 },
      { ip: '10.1.2.3', port: 9000 },
    ]);
  });

  it('reads the reference ip + port, each defaulting on its own', () => {
    expect(load('agent', { file: conf('[dnsserver]\nip = 10.0.0.9\nport = 7000\n') }).config.dnsserver.endpoints).toEqual([{ ip: '10.0.0.9', port: 7000 }]);
    expect(load('agent', { env: { LARS_DNSSERVER_PORT: '7001' } }).config.dnsserver.endpoints).toEqual([{ ip: '127.0.0.1', port: 7001 }]);
  });

  it('the later source wins between endpoints and ip/port', () => {
    const pair = conf('[dnsserver]\nip = 10.0.0.9\nport = 7000\n');
    const list = conf('[dnsserver]\nendpoints = 10.0.0.1:1, 10.0.0.2:2\n');
    expect(load('agent', { file: pair, env: { LARS_DNSSERVER_ENDPOINTS: '10.0.0.3:3' } }).config.dnsserver.endpoints).toEqual([{ ip: '10.0.0.3', port: 3 }]);
    expect(load('agent', { file: list, overrides: { 'dnsserver.ip': '10.0.0.4' } }).config.dnsserver.endpoints).toEqual([{ ip: '10.0.0.4', port: 7778 }]);
  });

  it('refuses endpoints and ip/port in the same source', () => {
    const file = conf('[dnsserver]\nip = 10.0.0.9\nendpoints = 10.0.0.1:1\n');
    expect(configError(() => load('agent', { file })).message).toMatch(/endpoints .*ip\/port/);
  });
});

describe('[agent] caller_ip default', () => {
  const interfaces: NetworkInterfaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: 'fe80::1', family: 'IPv6', internal: false },
      { address: '192.168.1.20', family: 'IPv4', internal: false },
    ],
    eth1: [{ address: '10.0.0.7', family: 'IPv4', internal: false }],
  };

  it('is the first non-internal IPv4 address', () => {
    expect(load('agent', { networkInterfaces: () => interfaces }).config.agent.callerIp).toBe('192.168.1.20');
  });

  it('accepts the numeric family of older Node versions', () => {
    const old: NetworkInterfaces = { eth0: [{ address: '10.1.1.1', family: 4, internal: false }] };
    expect(load('agent', { networkInterfaces: () => old }).config.agent.callerIp).toBe('10.1.1.1');
  });

  it('falls back to 127.0.0.1 when there is only loopback', () => {
    const only: NetworkInterfaces = { lo: interfaces.lo, eth0: [{ address: 'fe80::1', family: 'IPv6', internal: false }] };
    expect(load('agent', { networkInterfaces: () => only }).config.agent.callerIp).toBe('127.0.0.1');
  });

  it('is not computed when caller_ip is set', () => {
    const networkInterfaces = vi.fn(() => interfaces);
    const { config } = load('agent', { networkInterfaces, env: { LARS_AGENT_CALLER_IP: '10.9.9.9' } });
    expect(config.agent.callerIp).toBe('10.9.9.9');
    expect(networkInterfaces).not.toHaveBeenCalled();
  });

  it('uses os.networkInterfaces() when none is injected', () => {
    const config = loadConfig('agent', { env: {}, warn: () => {} });
    expect(config.agent.callerIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });
});

describe('[agent] zone', () => {
  it('takes the zone names the store accepts for RouteNodeAttr zones', () => {
    for (const zone of ['az1', 'us-east-1a', 'zone_2.b', 'z'.repeat(64)]) {
      expect(load('agent', { overrides: { 'agent.zone': zone } }).config.agent.zone).toBe(zone);
      expect(checkZone('zone', zone)).toBe(zone);
    }
  });

  it('comes from LARS_AGENT_ZONE, a file, or --set, the later winning', () => {
    const file = conf('[agent]\nzone = az1\n');
    expect(load('agent', { file }).config.agent.zone).toBe('az1');
    expect(load('agent', { file, env: { LARS_AGENT_ZONE: 'az2' } }).config.agent.zone).toBe('az2');
    expect(load('agent', { file, env: { LARS_AGENT_ZONE: 'az2' }, overrides: { 'agent.zone': 'az3' } }).config.agent.zone).toBe('az3');
    // Empty in the file turns it off; an empty variable counts as unset.
    expect(load('agent', { file: conf('[agent]\nzone =\n') }).config.agent.zone).toBe('');
    expect(load('agent', { file, env: { LARS_AGENT_ZONE: '' } }).config.agent.zone).toBe('az1');
  });
});

describe('MySQL presence', () => {
  it('is absent without any [mysql] key: the embedded store is used', () => {
    expect(load('dns').config.store.mysql).toBeUndefined();
    expect(load('dns', { file: conf('[mysql]\n; db_host = 10.0.0.1\n') }).config.store.mysql).toBeUndefined();
  });

  it('LARS_MYSQL_DB_HOST alone selects MySQL with the other defaults', () => {
    expect(load('reporter', { env: { LARS_MYSQL_DB_HOST: 'db.internal' } }).config.store.mysql).toEqual({
      host: 'db.internal',
      port: 3306,
      user: 'root',
      password: '',
      database: 'lars_dns',
    });
  });

  it('any [mysql] key in the file selects MySQL', () => {
    const file = conf('[mysql]\ndb_name = lars_test_1\n');
    expect(load('dns', { file }).config.store.mysql).toEqual({ host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'lars_test_1' });
  });

  it('an override selects MySQL', () => {
    expect(load('web', { overrides: { 'mysql.db_passwd': 'pw' } }).config.store.mysql?.password).toBe('pw');
  });

  it('keeps [store] settings either way', () => {
    const { config } = load('cli', { env: { LARS_STORE_SQLITE_PATH: '/tmp/x.sqlite', LARS_STORE_CHANGE_RETENTION_SEC: '60' } });
    expect(config.store).toEqual({ mysql: undefined, sqlitePath: '/tmp/x.sqlite', changeRetentionSec: 60, auditRetentionDays: 90 });
  });
});
