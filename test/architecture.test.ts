// The layout is the architecture (docs/architecture.md, "Who may import whom"): a static check of
// every import under src/.
//  - A role folder (src/dns, src/report, src/agent, src/web, src/sdk) imports only itself and the
//    shared modules. What two roles share moves to a shared module beside them in src/.
//  - src/cli starts the roles, so it may import any of them; no role imports src/cli.
//  - Shared modules (every other folder and file under src/) import no role folder.
//  - src/index.ts, the package's public face, re-exports the SDK.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const ROLES = ['dns', 'report', 'agent', 'web', 'sdk', 'cli'] as const;
type Role = (typeof ROLES)[number];

/** What each importing area may import besides itself and the shared modules. */
const ALSO_ALLOWED: Readonly<Partial<Record<string, readonly Role[]>>> = {
  cli: ['dns', 'report', 'agent', 'web', 'sdk'],
  'index.ts': ['sdk'],
};

/** The top-level entry under src/ a path belongs to: a folder name, or a file name such as "log.ts". */
const areaOf = (absPath: string): string => relative(SRC, absPath).split(/[\\/]/)[0] as string;
const isRole = (area: string): area is Role => (ROLES as readonly string[]).includes(area);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(e.name) ? [path] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
function relativeImports(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) found.push(m[1] as string);
  return found;
}

/** "from-file -> imported-file" for every import that crosses into a role folder it may not use. */
function violations(): string[] {
  const out: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = areaOf(file);
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      const to = areaOf(target);
      if (to === from || !isRole(to) || ALSO_ALLOWED[from]?.includes(to)) continue;
      out.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
    }
  }
  return out;
}

describe('architecture', () => {
  it('finds the imports it checks (static, re-export, type-only, dynamic)', () => {
    expect(
      relativeImports(
        "import { a } from './a.js';\nimport type { B } from '../b/b.js';\nexport * from './c.js';\nconst d = await import('../d.js');\nimport './e.js';\nimport x from 'node:fs';",
      ),
    ).toEqual(['./a.js', '../b/b.js', './c.js', '../d.js', './e.js']);
    expect(sourceFiles(SRC).length).toBeGreaterThan(50);
  });

  it('no role imports another role, no role imports src/cli, no shared module imports a role', () => {
    expect(violations()).toEqual([]);
  });
});
