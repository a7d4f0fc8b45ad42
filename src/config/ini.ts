// A small INI reader for the reference Lars `conf/*.conf` dialect: `[section]` headers,
// `key = value` lines, whole-line comments starting with `#` or `;`, blank lines.
// There are no inline comments: everything after the first `=` is the value (trimmed), so a
// password may contain `#` or `;`. Names are case-sensitive (the reference spells `maxConn`).
import { LarsError } from '../errors.js';

export interface IniEntry {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  /** 1-based line number in the source text. */
  readonly line: number;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Parses INI text into its entries, in file order. `source` names the text in error messages
 * (usually the file path). Throws ERR_CONFIG with `source:line` on a syntax error or a key
 * given twice in the same section.
 */
export function parseIni(text: string, source: string): IniEntry[] {
  const entries: IniEntry[] = [];
  const seen = new Map<string, number>();
  let section: string | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const where = `${source}:${line}`;
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    if (trimmed.startsWith('[')) {
      const name = trimmed.endsWith(']') ? trimmed.slice(1, -1).trim() : undefined;
      if (name === undefined || !NAME.test(name)) {
        throw new LarsError('ERR_CONFIG', `${where}: malformed section header "${trimmed}": expected "[name]" with letters, digits, "_", "-" or "."`);
      }
      section = name;
      return;
    }
    const eq = trimmed.indexOf('=');
    if (eq < 0) {
      throw new LarsError('ERR_CONFIG', `${where}: expected "[section]", "key = value" or a comment starting with # or ;, got "${trimmed}"`);
    }
    const key = trimmed.slice(0, eq).trim();
    if (!NAME.test(key)) {
      throw new LarsError('ERR_CONFIG', `${where}: malformed key "${key}" before "=": expected letters, digits, "_", "-" or "."`);
    }
    if (section === undefined) {
      throw new LarsError('ERR_CONFIG', `${where}: "${key}" is outside any section: put a "[section]" header above it`);
    }
    const id = `${section}.${key}`;
    const first = seen.get(id);
    if (first !== undefined) {
      throw new LarsError('ERR_CONFIG', `${where}: [${section}] ${key} is already set on line ${first}: keep one of them`);
    }
    seen.set(id, line);
    entries.push({ section, key, value: trimmed.slice(eq + 1).trim(), line });
  });
  return entries;
}
