// How a daemon process answers SIGTERM: at the instant it says it listens (50 times in a row),
// while it is still starting, and again while a stop is under way (a second signal is logged and
// changes nothing, a third forces the exit). Both implementations; the built CLI as operators run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forcedExitAfterMs } from '../../src/cli/daemon.js';
import { openStore } from '../../src/store/index.js';
import { MsgId, ipToInt32, type ReportStatusRequest } from '../../src/wire/messages.js';
import { checkBuild, cleanEnv, cliPath } from '../helpers/cli.js';
import { Cleanup } from '../helpers/cleanup.js';
import { FrameClient, eventually } from '../helpers/frame-client.js';
import { freeConsecutiveUdpBase, freePort } from '../helpers/free-port.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { storeEnv, testConfig } from '../helpers/roles.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { Waiters } from '../helpers/waiters.js';

type Impl = 'native' | 'ts';

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

class DaemonProcess {
  output = '';
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;
  private readonly waiters = new Waiters();
  private readonly child: ChildProcess;

  constructor(role: string, impl: Impl, env: Record<string, string>, flags: readonly string[] = []) {
    this.child = spawn(process.execPath, [cliPath, role, ...flags], {
      env: cleanEnv({ LARS_IMPL: impl, LARS_LOG_LEVEL: 'info', LARS_ADMIN_PORT: '0', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const append = (d: Buffer): void => {
      this.output += d.toString();
      this.waiters.wake();
    };
    this.child.stdout!.on('data', append);
    this.child.stderr!.on('data', append);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        this.waiters.wake();
        resolve(this.exit);
      }),
    );
  }

  /** Resolves once `pattern` is in the output (or the process has exited: check `exit`). */
  async waitFor(pattern: RegExp | string): Promise<void> {
    const seen = (): boolean => (typeof pattern === 'string' ? this.output.includes(pattern) : pattern.test(this.output));
    await this.waiters.waitFor(() => seen() || this.exit !== undefined, `${pattern} in the output`, 20_000);
    if (!seen()) throw new Error(`exited (${JSON.stringify(this.exit)}) before printing ${pattern}:\n${this.output}`);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** Starts an agent and sends SIGTERM on the very chunk of output that says it listens. */
async function termAgentAtListening(impl: Impl): Promise<{ exit: Exit; output: string }> {
  for (;;) {
    const agent = new DaemonProcess('agent', impl, {}, ['--set', `agent.port=${await freeConsecutiveUdpBase()}`, '--set', 'dnsserver.port=1']);
    // Waiters re-check on every chunk of output, so the signal goes out as soon as the line is read.
    const signalled = agent.waitFor('listening on UDP').then(
      () => agent.kill('SIGTERM'),
      () => undefined,
    );
    const exit = await agent.exited;
    await signalled;
    // Another process took one of the three UDP ports first: try elsewhere.
    if (exit.code === 1 && agent.output.includes("cannot bind the agent's UDP ports")) continue;
    return { exit, output: agent.output };
  }
}

const RUNS = 50;
/** Agents started at once, to keep the 50 runs short without crowding the 2-core machine. */
const LANES = 3;

beforeAll(() => checkBuild(['src/cli/daemon.ts']));

// The agent is where the race showed (its native threads answer UDP while the main thread is
// still starting); every daemon runs in the same wrapper (src/cli/daemon.ts).
describe.each(['native', 'ts'] as const)('lars agent (%s) and SIGTERM', (impl) => {
  it(`stops cleanly when SIGTERM comes the instant it says it listens, ${RUNS} times in a row`, async () => {
    const failures: string[] = [];
    let started = 0;
    const lane = async (): Promise<void> => {
      while (started < RUNS) {
        started++;
        const { exit, output } = await termAgentAtListening(impl);
        if (exit.code !== 0 || exit.signal !== null || !output.includes('[agent] stopped')) failures.push(`${JSON.stringify(exit)}:\n${output}`);
      }
    };
    await Promise.all(Array.from({ length: LANES }, lane));
    expect(failures.length, failures[0]).toBe(0);
  }, 180_000);
});

function report(modid: number, nodeIp: string): ReportStatusRequest {
  return { modid, cmdid: 1, caller: ipToInt32('10.0.0.1'), ts: 1_700_000_000, results: [{ ip: ipToInt32(nodeIp), port: 80, succ: 1, err: 0, overload: false }] };
}

describe.each(['native', 'ts'] as const)('daemon stop on signals, MySQL behind a proxy (%s)', (impl) => {
  let db: TestDatabase;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    db = cleanup.add(await createTestDatabase(), (d) => d.drop());
    const store = await openStore(testConfig('dns', impl, { mysql: db.config }).store);
    try {
      await store.init();
    } finally {
      await store.close();
    }
  });
  afterAll(() => cleanup.run());

  async function throughProxy(c: Cleanup): Promise<{ proxy: TcpProxy; env: Record<string, string> }> {
    const proxy = new TcpProxy(db.config.host, db.config.port);
    await proxy.start();
    c.add(proxy, (p) => p.stop());
    return { proxy, env: storeEnv({ mysql: { ...db.config, host: '127.0.0.1', port: proxy.port } }) };
  }

  it('a SIGTERM while the DNS service is still starting (waiting on MySQL) stops it cleanly once started', async () => {
    const c = new Cleanup();
    try {
      const { proxy, env } = await throughProxy(c);
      proxy.holdReplies();
      const dns = c.add(new DaemonProcess('dns', impl, env, ['--set', 'reactor.port=0', '--set', 'reactor.ip=127.0.0.1']), (d) => d.kill('SIGKILL'));
      // The start's first store poll has connected: the daemon is inside start(), its frontend up.
      await eventually(() => proxy.accepted, (n) => n > 0, 'the DNS service to connect to MySQL');
      dns.kill('SIGTERM');
      await dns.waitFor('SIGTERM: stopping once started');
      proxy.releaseReplies();
      expect(await dns.exited, dns.output).toEqual({ code: 0, signal: null });
      expect(dns.output).toMatch(/listening on 127\.0\.0\.1:\d+[^]*\[dns\] stopped/);
    } finally {
      await c.run();
    }
  });

  /** A Report service whose stop hangs on a row write MySQL does not answer, until releaseReplies. */
  async function reporterStoppingSlowly(c: Cleanup): Promise<{ proxy: TcpProxy; reporter: DaemonProcess }> {
    const { proxy, env } = await throughProxy(c);
    const adminPort = await freePort();
    // One writer connection: the second row goes out on the connection the first row opened.
    const reporter = c.add(
      new DaemonProcess('reporter', impl, { ...env, LARS_ADMIN_PORT: String(adminPort) }, ['--set', 'reactor.port=0', '--set', 'reactor.ip=127.0.0.1', '--set', 'reporter.db_thread_cnt=1']),
      (d) => d.kill('SIGKILL'),
    );
    await reporter.waitFor(/listening on 127\.0\.0\.1:\d+/);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(reporter.output)![1]);
    const client = c.add(await FrameClient.open(port), (x) => x.close());
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      return Number(new RegExp(`^lars_reporter_${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    };
    client.send(MsgId.ReportStatusRequest, report(700, '10.7.0.1'));
    await eventually(() => metric('rows_written_total'), (n) => n === 1, 'the first row written');
    proxy.holdReplies();
    client.send(MsgId.ReportStatusRequest, report(700, '10.7.0.2'));
    // Taken from the buffer but not written: its write is out, waiting for MySQL's answer.
    await eventually(
      async () => [await metric('rows_received_total'), await metric('buffered_rows'), await metric('rows_written_total')],
      ([received, buffered, written]) => received === 2 && buffered === 0 && written === 1,
      'the second row being written',
    );
    return { proxy, reporter };
  }

  it('a second SIGTERM during a slow stop is logged and does not cut the stop short', async () => {
    const c = new Cleanup();
    try {
      const { proxy, reporter } = await reporterStoppingSlowly(c);
      reporter.kill('SIGTERM');
      await reporter.waitFor('SIGTERM: stopping');
      reporter.kill('SIGTERM');
      await reporter.waitFor('SIGTERM: stop already in progress; send it again to force the exit');
      proxy.releaseReplies();
      expect(await reporter.exited, reporter.output).toEqual({ code: 0, signal: null });
      expect(reporter.output).toContain('[reporter] stopped');
      expect(reporter.output).not.toContain('status rows unwritten');
    } finally {
      await c.run();
    }
  });

  it('a third SIGTERM forces the exit, with a non-zero code and a log line that says so', async () => {
    const c = new Cleanup();
    try {
      const { reporter } = await reporterStoppingSlowly(c);
      reporter.kill('SIGTERM');
      await reporter.waitFor('SIGTERM: stopping');
      reporter.kill('SIGTERM');
      await reporter.waitFor('stop already in progress');
      reporter.kill('SIGTERM');
      expect(await reporter.exited, reporter.output).toEqual({ code: 128 + 15, signal: null });
      expect(reporter.output).toContain('SIGTERM: forced exit before the stop completed');
      expect(reporter.output).not.toContain('[reporter] stopped');
    } finally {
      await c.run();
    }
  });
});

describe('the forced-exit deadline of a stop', () => {
  it("is the role's own stop deadline plus a margin, or 5 s for a role that does not declare one", () => {
    expect(forcedExitAfterMs({})).toBe(5_000);
    expect(forcedExitAfterMs({ stopDeadlineMs: 10_000 })).toBe(12_000);
    expect(forcedExitAfterMs({ stopDeadlineMs: 0 })).toBe(2_000);
  });
});

