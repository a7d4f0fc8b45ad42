// `lars up --demo` (what `npm start` runs): every role starts as a child process on the
// embedded store, the demo routes answer `lars test gethost`, and Ctrl-C stops them all, each
// daemon getting exactly one signal.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeConsecutiveUdpBase, freePort } from '../helpers/free-port.js';
import { Waiters } from '../helpers/waiters.js';

const main = resolve('dist/src/cli/main.js');
const ROLES = ['dns', 'reporter', 'agent', 'web'];

interface Up {
  readonly process: ChildProcess;
  readonly cwd: string;
  readonly agentBase: number;
  readonly webPort: number;
  output(): string;
  readonly waiters: Waiters;
  readonly exited: Promise<number | null>;
}

/** `lars up --demo`, in a process group of its own (as a shell runs a foreground job), once it is up. */
async function startUp(): Promise<Up> {
  // The DNS and Report services keep their default ports (one [reactor] port key serves both);
  // everything else moves to free ports so a running `npm start` does not collide with the test.
  const cwd = mkdtempSync(join(tmpdir(), 'lars-up-'));
  const agentBase = await freeConsecutiveUdpBase();
  const webPort = await freePort();
  const flags = ['--set', 'admin.port=0', '--set', `agent.port=${agentBase}`, '--set', `web.port=${webPort}`];
  const up = spawn(process.execPath, [main, 'up', '--demo', ...flags], {
    cwd,
    env: { ...process.env, LARS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const waiters = new Waiters();
  let output = '';
  const append = (d: Buffer): void => {
    output += d.toString();
    waiters.wake();
  };
  up.stdout!.on('data', append);
  up.stderr!.on('data', append);
  const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
  try {
    await waiters.waitFor(() => output.includes('Lars is up') || up.exitCode !== null, 'Lars is up', 30_000);
  } catch (err) {
    up.kill('SIGKILL');
    throw err;
  }
  expect(output).toContain('Lars is up');
  return { process: up, cwd, agentBase, webPort, output: () => output, waiters, exited };
}

/** Each daemon logged exactly one stop request, for `signal`, and stopped. */
function expectOneSignalEach(output: string, signal: string): void {
  for (const role of ROLES) {
    expect(output.match(new RegExp(`\\[${role}\\] SIG[A-Z]+: stop`, 'g')), `${role}:\n${output}`).toEqual([`[${role}] ${signal}: stop`]);
    expect(output).toContain(`[${role}] stopped`);
  }
}

describe('lars up --demo', () => {
  it('starts DNS, Report service, agent and web admin; the demo routes answer; Ctrl-C stops each once', async () => {
    const up = await startUp();
    try {
      for (const role of ['DNS service', 'Report service', 'LoadBalance agent', 'web admin listening']) expect(up.output()).toContain(role);

      const gethost = spawnSync(process.execPath, [main, 'test', 'gethost', '1', '1', '--init', '--agent-port', String(up.agentBase), '--timeout-ms', '1000'], { cwd: up.cwd, encoding: 'utf8' });
      expect(gethost.stdout).toMatch(/modid 1 cmdid 1: 127\.0\.0\.1:90\d\d \(RET_SUCC\)/);
      expect(gethost.status).toBe(0);

      const page = await fetch(`http://127.0.0.1:${up.webPort}/login`);
      expect(page.status).toBe(200);

      // Ctrl-C on a terminal: SIGINT to the whole foreground process group.
      process.kill(-up.process.pid!, 'SIGINT');
      expect(await up.exited).toBe(0);
      expectOneSignalEach(up.output(), 'SIGINT');
    } finally {
      up.process.kill('SIGKILL');
    }
  });

  it('passes a SIGTERM sent to `lars up` alone on to each daemon once', async () => {
    const up = await startUp();
    try {
      up.process.kill('SIGTERM');
      expect(await up.exited).toBe(0);
      expectOneSignalEach(up.output(), 'SIGTERM');
    } finally {
      up.process.kill('SIGKILL');
    }
  });

  it('the daemons stop by themselves when `lars up` is killed without passing a signal on', async () => {
    const up = await startUp();
    up.process.kill('SIGKILL');
    // Their output still comes through the pipes they inherited from `up`.
    await up.waiters.waitFor(() => ROLES.every((role) => up.output().includes(`[${role}] stopped`)), 'every daemon to stop', 20_000);
    for (const role of ROLES) expect(up.output()).toContain(`[${role}] parent process gone: stopping`);
  });
});

