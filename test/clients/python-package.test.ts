// `pip install clients/python` works with nothing but the standard library and no network: the
// package carries its own PEP 517 backend (clients/python/_build/lars_build.py).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const target = mkdtempSync(join(tmpdir(), 'lars-pip-'));
afterAll(() => rmSync(target, { recursive: true, force: true }));

it('installs offline with pip, and the installed package imports', () => {
  execFileSync('python3', ['-m', 'pip', 'install', '--no-index', '--no-cache-dir', '--disable-pip-version-check', '--target', target, 'clients/python'], {
    stdio: 'pipe',
    env: { ...process.env, PIP_NO_INDEX: '1' },
  });
  const out = execFileSync('python3', ['-c', 'import lars_client, importlib.metadata as m; print(lars_client.LarsClient.__name__, m.version("lars-client"))'], {
    cwd: target,
    env: { ...process.env, PYTHONPATH: target },
  }).toString();
  expect(out.trim()).toBe('LarsClient 0.1.0');
});
