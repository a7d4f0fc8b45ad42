// The package as a user gets it: `npm pack`, then `npm install ./lars-*.tgz` in an empty folder
// (the install builds the addon from the packed C++ sources; dist/ comes built), then
// `npx lars up --demo` there answers `lars test gethost`. Run by `npm run test:pack`.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, root } from '../helpers/cli.js';
import { freeConsecutiveUdpBase, freePort } from '../helpers/free-port.js';
import { Waiters } from '../helpers/waiters.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error !== undefined || r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('the packed tarball', () => {
  let out: string;
  let tarball: string;
  let files: string[];
  let app: string;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'lars-pack-'));
    ok(spawnSync(npm, ['pack', '--pack-destination', out], { cwd: root, encoding: 'utf8' }), 'npm pack');
    tarball = join(out, readdirSync(out).find((f) => /^lars-.*\.tgz$/.test(f))!);
    files = ok(spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' }), 'tar tzf').split('\n').filter((f) => f !== '').map((f) => f.replace(/^package\//, ''));
    app = mkdtempSync(join(tmpdir(), 'lars-app-'));
  });

  afterAll(() => {
    for (const dir of [out, app]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('carries what installing and running need, and no tests, benchmarks or TypeScript sources', () => {
    for (const f of ['package.json', 'README.md', 'CMakeLists.txt', 'dist/src/cli/main.js', 'dist/src/index.d.ts', 'native/binding/CMakeLists.txt', 'proto/lars.proto', 'sql/mysql/schema.sql', 'sql/sqlite/schema.sql', 'conf/lars_dns.conf', 'deploy/grafana/lars.json', 'deploy/prometheus/alerts.yml', 'deploy/systemd/lars-dns.service', 'scripts/install.mjs', 'scripts/build-native.mjs', 'dist/src/web/static/app.js', 'dist/src/web/static/vendor/uPlot.iife.min.js']) {
      expect(files, f).toContain(f);
    }
    const unwanted = files.filter((f) => /^(test|bench|dist\/bench|native\/test|native\/fuzz|build|node_modules)\//.test(f) || /(^|\/)results\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.map'));
    expect(unwanted).toEqual([]);
  });

  it('installs into an empty folder, building the addon there; `npx lars up --demo` then answers', async () => {
    ok(spawnSync(npm, ['init', '-y'], { cwd: app, encoding: 'utf8' }), 'npm init');
    ok(spawnSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, encoding: 'utf8' }), 'npm install of the tarball');
    expect(existsSync(join(app, 'node_modules', 'lars', 'build', 'native', 'Release', 'lars_native.node'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'lars', 'src'))).toBe(false);

    // The DNS and Report services keep their default ports (one [reactor] port key serves both).
    const agentBase = await freeConsecutiveUdpBase();
    const flags = ['--set', 'admin.port=0', '--set', `agent.port=${agentBase}`, '--set', `web.port=${await freePort()}`];
    const env = cleanEnv({ LARS_LOG_LEVEL: 'info' });
    const up = spawn(npx, ['--no-install', 'lars', 'up', '--demo', ...flags], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const waiters = new Waiters();
    let output = '';
    const append = (d: Buffer): void => {
      output += d.toString();
      waiters.wake();
    };
    up.stdout.on('data', append);
    up.stderr.on('data', append);
    const exited = new Promise<string>((r) => up.on('exit', (code, signal) => r(signal ?? `code ${code}`)));
    try {
      await waiters.waitFor(() => output.includes('Lars is up') || up.exitCode !== null, 'Lars is up', 60_000);
      expect(output).toContain('Lars is up');
      const gethost = spawnSync(npx, ['--no-install', 'lars', 'test', 'gethost', '1', '1', '--init', '--agent-port', String(agentBase), '--timeout-ms', '1000'], { cwd: app, env, encoding: 'utf8' });
      expect(gethost.stdout, gethost.stderr).toMatch(/modid 1 cmdid 1: 127\.0\.0\.1:90\d\d \(RET_SUCC\)/);
      // Ctrl-C: SIGINT to the foreground group, npx included (which then ends by the signal).
      process.kill(-up.pid!, 'SIGINT');
      expect(['code 0', 'SIGINT']).toContain(await exited);
      for (const role of ['dns', 'reporter', 'agent', 'web']) expect(output).toContain(`[${role}] stopped`);
      expect(output).not.toMatch(/did not stop cleanly|exited \(/);
    } finally {
      try {
        process.kill(-up.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
});
