// The daemons as operators run them: `lars dns` and `lars reporter` as processes, their
// /metrics and /healthz, and a clean stop on SIGTERM and SIGINT.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { freePort } from '../helpers/free-port.js';
import { storeEnv, tempSqlite, testConfig } from '../helpers/roles.js';

function startDaemon(role: string, env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['dist/src/cli/main.js', role, '--set', 'reactor.port=0', '--set', 'reactor.ip=127.0.0.1'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { text += `[exit ${code}]`; resolve(code); }));
  return { child, output: () => text, exited };
}

async function waitForOutput(output: () => string, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = output().match(pattern);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each([
  ['dns', 'lars_dns_connections', 'SIGTERM'],
  ['reporter', 'lars_reporter_rows_written_total', 'SIGINT'],
] as const)('lars %s as a process', (role, metric, signal) => {
  it(`prints where it listens, serves /metrics and /healthz, and stops on ${signal}`, async () => {
    const kind = tempSqlite();
    const store = await openStore(testConfig(role, 'ts', kind).store);
    await store.init();
    await store.close();
    const adminPort = await freePort();
    const daemon = startDaemon(role, { ...storeEnv(kind), LARS_ADMIN_PORT: String(adminPort), LARS_LOG_LEVEL: 'info' });
    try {
      await waitForOutput(daemon.output, /listening on 127\.0\.0\.1:\d+/);
      await waitForOutput(daemon.output, new RegExp(`metrics on http://127\\.0\\.0\\.1:${adminPort}/metrics`));
      const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      expect(metrics).toContain(metric);
      const health = await fetch(`http://127.0.0.1:${adminPort}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ ok: true });
      daemon.child.kill(signal);
      expect(await daemon.exited).toBe(0);
      expect(daemon.output()).toContain('stopped');
    } finally {
      daemon.child.kill('SIGKILL');
    }
  });
});

describe('daemon start-up errors', () => {
  it('refuses a malformed config value, naming the key', async () => {
    const daemon = startDaemon('dns', { LARS_REACTOR_MAXCONN: 'lots', ...storeEnv(tempSqlite()) });
    expect(await daemon.exited).toBe(1);
    expect(daemon.output()).toMatch(/LARS_REACTOR_MAXCONN/);
  });

  // The admin endpoint starts last: what started before it (listeners, pollers, writer threads)
  // used to keep a daemon whose [admin] port was taken alive, neither ready nor stoppable.
  it.each(['dns', 'reporter', 'agent'] as const)('lars %s whose [admin] port is taken stops what it started and exits 1, naming the port', async (role) => {
    const kind = tempSqlite();
    const store = await openStore(testConfig('dns', 'ts', kind).store);
    await store.init();
    await store.close();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const env: Record<string, string> = { ...storeEnv(kind), LARS_ADMIN_PORT: String(port), LARS_AGENT_CACHE_DIR: '', LARS_AGENT_VIEW_DIR: '', LARS_AGENT_PORT: String(await freePort()) };
      const daemon = startDaemon(role, env);
      try {
        expect(await daemon.exited).toBe(1);
        expect(daemon.output()).toContain(`cannot serve /metrics on 127.0.0.1:${port} ([admin] port): EADDRINUSE`);
      } finally {
        daemon.child.kill('SIGKILL');
      }
    } finally {
      taken.close();
    }
  });
});
