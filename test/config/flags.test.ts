import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configFlagOptions, configOptionsFromFlags, loadConfig } from '../../src/config/index.js';
import { isLarsError } from '../../src/errors.js';

function usageError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(isLarsError(err, 'ERR_USAGE')).toBe(true);
    return err as Error;
  }
  throw new Error('expected ERR_USAGE');
}

describe('configOptionsFromFlags', () => {
  it('maps -c and repeated --set, the last --set of a key winning', () => {
    expect(configOptionsFromFlags({ config: 'conf/lars_dns.conf', set: ['mysql.db_name=lars_x', 'reactor.port=7001', 'reactor.port = 7002 '] })).toEqual({
      file: 'conf/lars_dns.conf',
      overrides: { 'mysql.db_name': 'lars_x', 'reactor.port': '7002' },
    });
  });

  it('keeps everything after the first "=" as the value, and allows an empty value', () => {
    expect(configOptionsFromFlags({ set: ['mysql.db_passwd=a=b', 'web.user='] }).overrides).toEqual({ 'mysql.db_passwd': 'a=b', 'web.user': '' });
  });

  it('leaves out what was not given and keeps the base options', () => {
    const warn = (): void => {};
    expect(configOptionsFromFlags({})).toEqual({});
    expect(configOptionsFromFlags({ set: [] }, { env: { A: 'b' }, warn })).toEqual({ env: { A: 'b' }, warn });
  });

  it.each([
    ['no "="', 'reactor.port', 'section.key=value'],
    ['no section', 'port=1', 'section.key=value'],
    ['an empty section', '.port=1', 'section.key=value'],
    ['an empty key', 'reactor.=1', 'section.key=value'],
    ['an unknown key', 'reactor.prot=1', 'unknown key [reactor] prot'],
    ['an unknown section', 'nope.port=1', 'unknown key [nope] port'],
  ])('refuses %s with ERR_USAGE', (_name, arg, message) => {
    const err = usageError(() => configOptionsFromFlags({ set: [arg] }));
    expect(err.message).toContain(`--set "${arg}"`);
    expect(err.message).toContain(message);
  });

  it('works with parseArgs and loadConfig end to end', () => {
    const { values } = parseArgs({ args: ['--set', 'reactor.port=7005', '--set', 'log.level=warn'], options: configFlagOptions, strict: true });
    const config = loadConfig('dns', configOptionsFromFlags(values, { env: {}, warn: () => {} }));
    expect(config.reactor.port).toBe(7005);
    expect(config.logLevel).toBe('warn');
  });
});
