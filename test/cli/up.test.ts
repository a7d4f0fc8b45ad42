// `lars up --demo` (what `npm start` runs): every role starts as a child process on the
// embedded store, the demo routes answer `lars test gethost`, and Ctrl-C stops them all.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeConsecutiveUdpBase, freePort } from '../helpers/free-port.js';

const main = resolve('dist/src/cli/main.js');

describe('lars up --demo', () => {
  it('starts DNS, Report service, agent and web admin; the demo routes answer; SIGINT stops all', async () => {
    // The DNS and Report services keep their default ports (one [reactor] port key serves both);
    // everything else moves to free ports so a running `npm start` does not collide with the test.
    const cwd = mkdtempSync(join(tmpdir(), 'lars-up-'));
    const agentBase = await freeConsecutiveUdpBase();
    const webPort = await freePort();
    const flags = ['--set', 'admin.port=0', '--set', `agent.port=${agentBase}`, '--set', `web.port=${webPort}`];
    const up = spawn(process.execPath, [main, 'up', '--demo', ...flags], { cwd, env: { ...process.env, LARS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    up.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    up.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes('Lars is up') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain('Lars is up');
      for (const role of ['DNS service', 'Report service', 'LoadBalance agent', 'web admin listening']) expect(output).toContain(role);

      const gethost = spawnSync(process.execPath, [main, 'test', 'gethost', '1', '1', '--init', '--agent-port', String(agentBase), '--timeout-ms', '1000'], { cwd, encoding: 'utf8' });
      expect(gethost.stdout).toMatch(/modid 1 cmdid 1: 127\.0\.0\.1:90\d\d \(RET_SUCC\)/);
      expect(gethost.status).toBe(0);

      const page = await fetch(`http://127.0.0.1:${webPort}/login`);
      expect(page.status).toBe(200);

      up.kill('SIGINT');
      expect(await exited).toBe(0);
      for (const role of ['dns', 'reporter', 'agent', 'web']) expect(output).toContain(`[${role}] stopped`);
    } finally {
      up.kill('SIGKILL');
    }
  });
});
