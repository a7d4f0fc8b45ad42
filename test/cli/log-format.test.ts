// [log] format and level as every daemon honours them: each role spawned with text and with JSON
// lines, its whole log parsed line by line.
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../src/log.js';
import { checkBuild, cleanEnv } from '../helpers/cli.js';
import { spawnDaemon } from '../helpers/daemon-process.js';
import { freeConsecutiveUdpBase } from '../helpers/free-port.js';
import { storeEnv, tempSqlite } from '../helpers/roles.js';
import { FrameClient } from '../helpers/frame-client.js';
import { MsgId } from '../../src/wire/messages.js';

const TEXT_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) \[[\w-]+\] \S/;

describe('log lines', () => {
  it('carry the fields of an event: JSON keys after the fixed ones, key=value pairs in text', () => {
    const t = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    expect(JSON.parse(formatLogLine('json', t, 'warn', 'agent', 'balancer', 'node overloaded', { node: '10.0.0.1:80', msg: 'not this' }))).toEqual({
      node: '10.0.0.1:80',
      time: '2026-01-02T03:04:05.006Z',
      level: 'warn',
      role: 'agent',
      component: 'balancer',
      msg: 'node overloaded',
    });
    expect(formatLogLine('text', t, 'info', 'agent', 'agent', 'pulled', { modid: 1, why: 'a b' })).toBe('2026-01-02T03:04:05.006Z INFO  [agent] pulled modid=1 why="a b"');
  });
});

describe.each(['dns', 'reporter', 'agent', 'web'] as const)('lars %s logs', (role) => {
  checkBuild(['src/log.ts', 'src/cli/daemon.ts', 'src/cli/main.ts', 'src/web/start-web.ts']);

  async function run(flags: readonly string[], env: Record<string, string> = {}): Promise<string[]> {
    const roleFlags: Record<string, string[]> = {
      dns: ['--set', 'reactor.ip=127.0.0.1', '--set', 'reactor.port=0'],
      reporter: ['--set', 'reactor.ip=127.0.0.1', '--set', 'reactor.port=0'],
      // No DNS or Report service to reach: the agent logs its failed connects as well.
      agent: ['--set', `agent.port=${await freeConsecutiveUdpBase()}`, '--set', 'dnsserver.port=1', '--set', 'reporter.port=1', '--set', 'agent.cache_dir='],
      web: ['--set', 'web.ip=127.0.0.1', '--set', 'web.port=0'],
    };
    const daemon = spawnDaemon(role, ['--set', 'admin.port=0', ...roleFlags[role]!, ...flags], cleanEnv({ ...storeEnv(tempSqlite()), LARS_LOG_LEVEL: 'info', ...env }));
    try {
      await daemon.waitFor(/listening on/);
      expect(await daemon.stop('SIGTERM')).toBe(0);
    } finally {
      daemon.child.kill('SIGKILL');
    }
    return daemon.stderr().split('\n').filter((l) => l !== '');
  }

  it('writes readable text lines by default', async () => {
    const lines = await run([]);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).toMatch(TEXT_LINE);
    expect(lines.some((l) => l.includes('listening on'))).toBe(true);
  });

  it.each([
    ['[log] format = json', ['--set', 'log.format=json'], {}],
    ['LARS_LOG_FORMAT=json', [], { LARS_LOG_FORMAT: 'json' }],
  ])('writes one JSON object per line with %s', async (_how, flags, env) => {
    const lines = await run(flags, env);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry).toMatchObject({ role, level: expect.stringMatching(/^(debug|info|warn|error)$/), msg: expect.any(String), component: expect.any(String) });
      expect(new Date(entry.time as string).toISOString()).toBe(entry.time);
    }
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('stopped');
  });
});

describe.each(['native', 'ts'] as const)('lars dns (%s) logs what its server refuses', (impl) => {
  it('in the configured format, the native server\'s own lines included', async () => {
    const daemon = spawnDaemon(
      'dns',
      ['--set', 'admin.port=0', '--set', 'reactor.ip=127.0.0.1', '--set', 'reactor.port=0', '--set', 'reactor.max_subscriptions_per_conn=1', '--set', 'log.format=json'],
      cleanEnv({ ...storeEnv(tempSqlite()), LARS_LOG_LEVEL: 'info', LARS_IMPL: impl }),
    );
    try {
      const port = Number((await daemon.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
      const client = await FrameClient.open(port);
      client.send(MsgId.GetRouteRequest, { modid: 1, cmdid: 1 });
      client.send(MsgId.GetRouteRequest, { modid: 2, cmdid: 1 });
      await daemon.waitFor(/max_subscriptions_per_conn \(1\)/);
      client.close();
      expect(await daemon.stop('SIGTERM')).toBe(0);
    } finally {
      daemon.child.kill('SIGKILL');
    }
    const entries = daemon.stderr().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, string>);
    expect(entries.find((e) => e.msg?.includes('max_subscriptions_per_conn'))).toMatchObject({ role: 'dns', level: 'warn' });
  });
});
