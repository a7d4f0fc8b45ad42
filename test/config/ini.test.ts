import { describe, expect, it } from 'vitest';
import { parseIni } from '../../src/config/ini.js';
import { isLarsError } from '../../src/errors.js';

function syntaxError(text: string): Error {
  try {
    parseIni(text, 'x.conf');
  } catch (err) {
    expect(isLarsError(err, 'ERR_CONFIG')).toBe(true);
    return err as Error;
  }
  throw new Error('expected a syntax error');
}

describe('parseIni', () => {
  it('reads sections, keys and values with whitespace trimmed, skipping comments and blank lines', () => {
    const text = [
      '# a comment',
      '; another',
      '',
      '[reactor]',
      '  ip   =   0.0.0.0  ',
      'maxConn=20000',
      '   # indented comment',
      '[ mysql ]',
      'db_passwd =',
      'db_name = a=b # not a comment',
    ].join('\n');
    expect(parseIni(text, 'x.conf')).toEqual([
      { section: 'reactor', key: 'ip', value: '0.0.0.0', line: 5 },
      { section: 'reactor', key: 'maxConn', value: '20000', line: 6 },
      { section: 'mysql', key: 'db_passwd', value: '', line: 9 },
      { section: 'mysql', key: 'db_name', value: 'a=b # not a comment', line: 10 },
    ]);
  });

  it('accepts CRLF line ends and a byte-order mark', () => {
    expect(parseIni('\uFEFF[a]\r\nk = v\r\n', 'x.conf')).toEqual([{ section: 'a', key: 'k', value: 'v', line: 2 }]);
  });

  it('merges a section opened twice', () => {
    expect(parseIni('[a]\nx=1\n[b]\ny=2\n[a]\nz=3', 'f').map((e) => `${e.section}.${e.key}`)).toEqual(['a.x', 'b.y', 'a.z']);
  });

  it.each([
    ['a line that is not key = value', '[a]\nx = 1\njust words\n', 'x.conf:3', 'key = value'],
    ['an unclosed section header', '# c\n[reactor\n', 'x.conf:2', 'section header'],
    ['an empty section name', '[]\n', 'x.conf:1', 'section header'],
    ['a key outside any section', '\nport = 1\n', 'x.conf:2', 'outside any section'],
    ['an empty key', '[a]\n = 1\n', 'x.conf:2', 'malformed key'],
    ['a key with spaces', '[a]\nmy key = 1\n', 'x.conf:2', 'malformed key'],
    ['a key set twice', '[a]\nk = 1\n\nk = 2\n', 'x.conf:4', 'already set on line 2'],
  ])('reports %s with its line number', (_name, text, where, what) => {
    const err = syntaxError(text);
    expect(err.message).toContain(where);
    expect(err.message).toContain(what);
  });
});
