// The docs and the shipped example configs follow the key table in src/config/keys.ts.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, defaultDoc, envName, loadConfig, parseIni, type Role } from '../../src/config/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const docs = readFileSync(`${root}docs/configuration.md`, 'utf8');

const shipped: Record<string, Role> = {
  'lars_dns.conf': 'dns',
  'lars_reporter.conf': 'reporter',
  'lars_lb_agent.conf': 'agent',
  'lars_web.conf': 'web',
};

describe('docs/configuration.md', () => {
  it.each(CONFIG_KEYS.map((s) => [`[${s.section}] ${s.key}`, s] as const))('documents %s with its default and environment variable', (_id, spec) => {
    const row = docs.split('\n').find((line) => line.startsWith(`| [${spec.section}] | \`${spec.key}\` |`));
    expect(row, `no table row for [${spec.section}] ${spec.key}`).toBeDefined();
    expect(row).toContain(`| ${defaultDoc(spec)} |`);
    expect(row).toContain(`\`${envName(spec)}\``);
    expect(row).toContain(spec.doc);
  });

  it('has no row for a key the code does not know', () => {
    const rows = docs.split('\n').filter((l) => /^\| \[\w+\] \| `/.test(l));
    expect(rows.length).toBe(CONFIG_KEYS.length);
  });
});

describe('conf/*.conf', () => {
  it('ships one example per role, with the reference file names', () => {
    expect(readdirSync(`${root}conf`).filter((f) => f.endsWith('.conf')).sort()).toEqual(Object.keys(shipped).sort());
  });

  describe.each(Object.entries(shipped))('%s', (name, role) => {
    const file = `${root}conf/${name}`;

    it(`loads for ${role} without warnings and equals the defaults`, () => {
      const warnings: string[] = [];
      const opts = { env: {}, networkInterfaces: () => ({}), warn: (m: string) => warnings.push(m) };
      const fromFile = loadConfig(role, { ...opts, file });
      expect(warnings).toEqual([]);
      expect({ ...fromFile, file: undefined }).toEqual(loadConfig(role, opts));
      expect(fromFile.store.mysql).toBeUndefined();
    });

    it(`mentions every key ${role} reads, set or commented out`, () => {
      const text = readFileSync(file, 'utf8');
      // Uncomment the ";key = value" lines and check that every key of the role is there.
      const uncommented = text.replace(/^;(\w+\s*=)/gm, '$1');
      const present = new Set(parseIni(uncommented, name).map((e) => `${e.section}.${e.key}`));
      const mine = CONFIG_KEYS.filter((s) => s.roles.includes(role) && !(role === 'agent' && (s.section === 'store' || s.section === 'mysql')));
      for (const s of mine) expect(present, `${name} lacks [${s.section}] ${s.key}`).toContain(`${s.section}.${s.key}`);
    });

    it('mentions environment overrides in its header', () => {
      expect(readFileSync(file, 'utf8').split('\n').slice(0, 8).join('\n')).toMatch(/LARS_<SECTION>_<KEY>/);
    });
  });
});
