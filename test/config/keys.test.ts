import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, envName, parseValue, type KeySpec, type Role } from '../../src/config/index.js';
import { defaultText } from '../../src/config/keys.js';
import { isLarsError } from '../../src/errors.js';

const ROLES: readonly Role[] = ['dns', 'reporter', 'agent', 'web', 'cli'];

describe('the key table', () => {
  it('has each section.key once and distinct environment names', () => {
    const ids = CONFIG_KEYS.map((s) => `${s.section}.${s.key}`);
    expect(new Set(ids).size).toBe(ids.length);
    const envs = CONFIG_KEYS.map(envName);
    expect(new Set(envs).size).toBe(envs.length);
  });

  it('names environment variables LARS_<SECTION>_<KEY>, with LARS_IMPL for [lars] impl', () => {
    const env = (section: string, key: string) => envName(CONFIG_KEYS.find((s) => s.section === section && s.key === key)!);
    expect(env('mysql', 'db_name')).toBe('LARS_MYSQL_DB_NAME');
    expect(env('loadbalance', 'probe_num')).toBe('LARS_LOADBALANCE_PROBE_NUM');
    expect(env('reactor', 'maxConn')).toBe('LARS_REACTOR_MAXCONN');
    expect(env('lars', 'impl')).toBe('LARS_IMPL');
    expect(env('web', 'user')).toBe('LARS_WEB_USER');
    expect(env('web', 'password')).toBe('LARS_WEB_PASSWORD');
    expect(env('log', 'level')).toBe('LARS_LOG_LEVEL');
  });

  it('has defaults that parse, for every role that reads the key', () => {
    for (const spec of CONFIG_KEYS) {
      for (const role of spec.roles) {
        const text = defaultText(spec, { role, networkInterfaces: () => ({}) });
        if (text !== undefined) expect(() => parseValue(spec, text, 'default')).not.toThrow();
      }
    }
  });

  it('uses only known roles', () => {
    for (const spec of CONFIG_KEYS) for (const role of spec.roles) expect(ROLES).toContain(role);
  });
});

describe('parseValue: bool', () => {
  const spec: KeySpec = { section: 'x', key: 'flag', type: { kind: 'bool' }, roles: ['cli'], default: 'false', doc: '' };

  it.each([
    ['true', true], ['yes', true], ['on', true], ['1', true], ['TRUE', true],
    ['false', false], ['no', false], ['off', false], ['0', false],
  ])('%s → %s', (text, value) => {
    expect(parseValue(spec, text, 'default')).toBe(value);
  });

  it('refuses anything else, naming the key and source', () => {
    try {
      parseValue(spec, 'maybe', 'f.conf:3');
      expect.unreachable();
    } catch (err) {
      expect(isLarsError(err, 'ERR_CONFIG')).toBe(true);
      expect((err as Error).message).toContain('f.conf:3: [x] flag: expected true or false');
    }
  });
});

describe('parseValue: numbers', () => {
  const int: KeySpec = { section: 's', key: 'n', type: { kind: 'int', min: -5, max: 5 }, roles: ['cli'], default: '0', doc: '' };
  const secs: KeySpec = { section: 's', key: 't', type: { kind: 'seconds', min: 0.001, max: 10 }, roles: ['cli'], default: '1', doc: '' };

  it('reads signed integers within the range only', () => {
    expect(parseValue(int, '-5', 'x')).toBe(-5);
    expect(parseValue(int, '+5', 'x')).toBe(5);
    for (const bad of ['6', '0x1', '1e0', ' ', '']) expect(() => parseValue(int, bad, 'x')).toThrow(/an integer from -5 to 5/);
  });

  it('turns seconds into whole milliseconds', () => {
    expect(parseValue(secs, '0.2', 'x')).toBe(200);
    expect(parseValue(secs, '.5', 'x')).toBe(500);
    expect(parseValue(secs, '0.001', 'x')).toBe(1);
    expect(parseValue(secs, '1e1', 'x')).toBe(10_000);
    expect(() => parseValue(secs, '11', 'x')).toThrow(/seconds/);
  });
});
