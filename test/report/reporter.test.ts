// The Report service end to end: real sockets, a real MariaDB database (and the embedded
// store), both frontends; MySQL cut off behind a proxy to show nothing that arrived is lost.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startReporter, type RunningReporter } from '../../src/report/start-reporter.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { MsgId, ipToInt32, type ReportStatusRequest } from '../../src/wire/messages.js';
import { FrameClient, eventually } from '../helpers/frame-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { storeEnv, tempSqlite, testConfig, type StoreKind } from '../helpers/roles.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { Cleanup } from '../helpers/cleanup.js';
import { checkBuild, cleanEnv, cliPath } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';

type Result = { ip: string; port: number; succ: number; err: number; overload?: boolean; usetimeSumUs?: number; usetimeMaxUs?: number; timedCalls?: number };

function report(modid: number, caller: string, results: Result[]): ReportStatusRequest {
  return {
    modid,
    cmdid: 1,
    caller: ipToInt32(caller),
    ts: 1_700_000_000,
    results: results.map((r) => ({ ...r, ip: ipToInt32(r.ip), overload: r.overload ?? false })),
  };
}

async function withStore(kind: StoreKind, impl: 'native' | 'ts'): Promise<Store> {
  const store = await openStore(testConfig('reporter', impl, kind).store);
  await store.init();
  return store;
}

describe.each(['native', 'ts'] as const)('Report service (%s)', (impl) => {
  let db: TestDatabase;
  let store: Store;
  let reporter: RunningReporter;
  const clients: FrameClient[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await withStore({ mysql: db.config }, impl);
    reporter = await startReporter(testConfig('reporter', impl, { mysql: db.config }, { 'reporter.flush_interval_ms': '20' }));
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await reporter?.stop();
    await store?.close();
    await db?.drop();
  });

  it('stores 10 000 results sent by 50 connections as the right rows', async () => {
    const conns = await Promise.all(Array.from({ length: 50 }, () => FrameClient.open(reporter.port)));
    clients.push(...conns);
    conns.forEach((c, n) => {
      for (let frame = 0; frame < 20; frame++) {
        const results = Array.from({ length: 10 }, (_, i) => ({ ip: `10.1.${frame}.${i + 1}`, port: 9000 + n, succ: n + frame, err: i, overload: i === 0 }));
        c.send(MsgId.ReportStatusRequest, report(100, `192.168.0.${n + 1}`, results));
      }
    });
    const rows = await eventually(() => store.listCallStatus({ modid: 100, limit: 20_000 }), (r) => r.length === 10_000, '10 000 rows');
    const one = rows.find((r) => r.caller === '192.168.0.7' && r.ip === '10.1.3.5')!;
    expect(one).toMatchObject({ modid: 100, cmdid: 1, port: 9006, succCnt: 9, errCnt: 4, overload: false, ts: 1_700_000_000 });
    expect(rows.filter((r) => r.overload)).toHaveLength(1000);
  });

  it('keeps the latest values of a key', async () => {
    const c = await FrameClient.open(reporter.port);
    clients.push(c);
    for (let i = 1; i <= 50; i++) c.send(MsgId.ReportStatusRequest, report(200, '10.0.0.1', [{ ip: '10.2.0.1', port: 80, succ: i, err: 0 }]));
    await eventually(() => store.listCallStatus({ modid: 200 }), (r) => r.length === 1 && r[0]!.succCnt === 50, 'the latest value');
  });

  it('stores the call time of a window with timed calls (ServerCallTime), none for a window without', async () => {
    const c = await FrameClient.open(reporter.port);
    clients.push(c);
    // A sum past 2^32 µs crosses the native binding in two halves.
    const sumUs = 2 ** 33 + 12345;
    c.send(MsgId.ReportStatusRequest, report(210, '10.0.0.3', [
      { ip: '10.21.0.1', port: 80, succ: 9, err: 1, usetimeSumUs: sumUs, usetimeMaxUs: 3_000_000_000, timedCalls: 10 },
      { ip: '10.21.0.2', port: 80, succ: 4, err: 0 },
    ]));
    const rows = await eventually(() => store.listCallStatus({ modid: 210 }), (r) => r.length === 2, 'both rows');
    expect(rows[0]!.usetime).toEqual({ sumUs, maxUs: 3_000_000_000, timedCalls: 10 });
    expect(rows[1]).not.toHaveProperty('usetime');
  });

  it('drops malformed frames and unstorable rows, counts them, and keeps serving', async () => {
    const c = await FrameClient.open(reporter.port);
    clients.push(c);
    const s0 = reporter.frontend.stats();
    const garbage = Buffer.alloc(8 + 3);
    garbage.writeInt32LE(MsgId.ReportStatusRequest, 0);
    garbage.writeInt32LE(3, 4);
    garbage.fill(0xff, 8);
    c.sendRaw(garbage);
    const unknown = Buffer.alloc(8);
    unknown.writeInt32LE(42, 0);
    c.sendRaw(unknown);
    c.send(MsgId.ReportStatusRequest, report(300, '10.0.0.1', [{ ip: '10.3.0.1', port: 0, succ: 1, err: 0 }, { ip: '10.3.0.2', port: 81, succ: 1, err: 0 }]));
    await eventually(() => store.listCallStatus({ modid: 300 }), (r) => r.length === 1, 'the storable row');
    const s1 = reporter.frontend.stats();
    expect(s1.badBodies).toBe(s0.badBodies + 1);
    expect(s1.unknownMsgIds).toBe(s0.unknownMsgIds + 1);
    expect(s1.badRows).toBe(s0.badRows + 1);

    const bad = await FrameClient.open(reporter.port);
    const header = Buffer.alloc(8);
    header.writeInt32LE(MsgId.ReportStatusRequest, 0);
    header.writeInt32LE(70_000, 4);
    bad.sendRaw(header);
    await bad.waitClosed();
    expect(reporter.frontend.stats().protocolErrors).toBe(s0.protocolErrors + 1);
    expect(c.closed).toBe(false);
  });
});

describe.each(['native', 'ts'] as const)('Report service with the store down (%s)', (impl) => {
  it('holds what arrives while MySQL is unreachable and writes it when MySQL is back', async () => {
    const cleanup = new Cleanup();
    try {
      const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
      const store = cleanup.add(await withStore({ mysql: db.config }, impl), (s) => s.close());
      const proxy = cleanup.add(new TcpProxy(db.config.host, db.config.port), (p) => p.stop());
      const port = await proxy.start();
      const reporter = cleanup.add(
        await startReporter(testConfig('reporter', impl, { mysql: { ...db.config, host: '127.0.0.1', port } }, { 'reporter.flush_interval_ms': '20' })),
        (r) => r.stop(),
      );
      const c = cleanup.add(await FrameClient.open(reporter.port), (c) => c.close());
      c.send(MsgId.ReportStatusRequest, report(400, '10.0.0.1', [{ ip: '10.4.0.1', port: 80, succ: 1, err: 0 }]));
      await eventually(() => store.listCallStatus({ modid: 400 }), (r) => r.length === 1, 'the first row');
      await proxy.stop();
      for (let i = 0; i < 100; i++) c.send(MsgId.ReportStatusRequest, report(400, '10.0.0.1', [{ ip: '10.4.1.1', port: 1000 + i, succ: i, err: 1 }]));
      await eventually(() => reporter.writer.stats(), (s) => !s.storeUp, 'the writer to notice the store is down');
      // A batch still in flight on a dead connection is back in the buffer only once it fails too.
      await eventually(() => reporter.buffer.size, (n) => n > 0, 'rows held in the buffer');
      await proxy.start();
      const rows = await eventually(() => store.listCallStatus({ modid: 400 }), (r) => r.length === 101, 'every held row', 30_000);
      expect(rows.find((r) => r.port === 1099)).toMatchObject({ succCnt: 99, errCnt: 1 });
      expect(reporter.buffer.dropped).toBe(0);
    } finally {
      await cleanup.run();
    }
  });

  /** A reporter writing to the test database through a proxy the test cuts, with the proxy down and 100 rows held. */
  async function holdingRows(cleanup: Cleanup, modid: number, extra: Record<string, string> = {}) {
    const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
    const store = cleanup.add(await withStore({ mysql: db.config }, impl), (s) => s.close());
    const proxy = cleanup.add(new TcpProxy(db.config.host, db.config.port), (p) => p.stop());
    const port = await proxy.start();
    const reporter = cleanup.add(
      await startReporter(testConfig('reporter', impl, { mysql: { ...db.config, host: '127.0.0.1', port } }, { 'reporter.flush_interval_ms': '20', ...extra })),
      (r) => r.stop(),
    );
    await proxy.stop();
    const c = cleanup.add(await FrameClient.open(reporter.port), (c) => c.close());
    for (let i = 0; i < 100; i++) c.send(MsgId.ReportStatusRequest, report(modid, '10.0.0.1', [{ ip: '10.7.0.1', port: 1000 + i, succ: i, err: 0 }]));
    await eventually(() => reporter.buffer.accepted, (n) => n === 100, '100 rows received');
    await eventually(() => reporter.writer.stats(), (s) => !s.storeUp, 'the writer to notice the store is down');
    return { store, proxy, reporter };
  }

  it('writes every held row when stopped right after MySQL is back', async () => {
    const cleanup = new Cleanup();
    try {
      const { store, proxy, reporter } = await holdingRows(cleanup, 700);
      await proxy.start();
      await reporter.stop();
      expect(await store.listCallStatus({ modid: 700 })).toHaveLength(100);
    } finally {
      await cleanup.run();
    }
  });

  it('with MySQL still down, stops at the stop deadline and logs how many rows it could not write', async () => {
    const cleanup = new Cleanup();
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      const { reporter } = await holdingRows(cleanup, 710, { 'reporter.stop_deadline_ms': '300' });
      expect(reporter.stopDeadlineMs).toBe(300);
      await reporter.stop();
      const lines = stderr.mock.calls.map((c) => String(c[0]));
      expect(lines.filter((l) => l.includes('could not write 100 held rows'))).toHaveLength(1);
    } finally {
      stderr.mockRestore();
      await cleanup.run();
    }
  });

  it('as a process: SIGTERM right after MySQL is back writes every held row', async () => {
    checkBuild(['src/report/start-reporter.ts', 'src/report/report-writer.ts', 'src/cli/daemon.ts']);
    const cleanup = new Cleanup();
    try {
      const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
      const store = cleanup.add(await withStore({ mysql: db.config }, impl), (s) => s.close());
      const proxy = cleanup.add(new TcpProxy(db.config.host, db.config.port), (p) => p.stop());
      const port = await proxy.start();
      const adminPort = await freePort();
      const env = cleanEnv({
        ...storeEnv({ mysql: { ...db.config, host: '127.0.0.1', port } }),
        LARS_IMPL: impl,
        LARS_LOG_LEVEL: 'info',
        LARS_ADMIN_PORT: String(adminPort),
        LARS_REPORTER_FLUSH_INTERVAL_MS: '20',
      });
      const child = spawn(process.execPath, [cliPath, 'reporter', '--set', 'reactor.ip=127.0.0.1', '--set', 'reactor.port=0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      cleanup.add(child, (c) => c.kill('SIGKILL'));
      let output = '';
      for (const s of [child.stdout, child.stderr]) s.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const listening = await eventually(() => /listening on 127\.0\.0\.1:(\d+)/.exec(output), (m) => m !== null, 'the reporter to listen');
      const metric = async (name: string): Promise<number> => {
        const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
        return Number(new RegExp(`^lars_reporter_${name} (\\S+)$`, 'm').exec(text)?.[1]);
      };
      await proxy.stop();
      const c = cleanup.add(await FrameClient.open(Number(listening![1])), (c) => c.close());
      for (let i = 0; i < 100; i++) c.send(MsgId.ReportStatusRequest, report(720, '10.0.0.1', [{ ip: '10.7.2.1', port: 1000 + i, succ: i, err: 0 }]));
      await eventually(() => metric('rows_received_total'), (n) => n === 100, '100 rows received');
      await eventually(() => metric('store_up'), (up) => up === 0, 'the reporter to notice the store is down');
      await proxy.start();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await store.listCallStatus({ modid: 720 })).toHaveLength(100);
    } finally {
      await cleanup.run();
    }
  });

  it('past buffer_max_keys drops new keys and counts them', async () => {
    const cleanup = new Cleanup();
    try {
      const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
      const proxy = new TcpProxy(db.config.host, db.config.port);
      const port = await proxy.start();
      await proxy.stop();
      const reporter = cleanup.add(
        await startReporter(testConfig('reporter', impl, { mysql: { ...db.config, host: '127.0.0.1', port } }, { 'reporter.buffer_max_keys': '10', 'reporter.stop_deadline_ms': '1' })),
        (r) => r.stop(),
      );
      const c = cleanup.add(await FrameClient.open(reporter.port), (c) => c.close());
      c.send(MsgId.ReportStatusRequest, report(500, '10.0.0.1', Array.from({ length: 25 }, (_, i) => ({ ip: '10.5.0.1', port: 100 + i, succ: 1, err: 0 }))));
      await eventually(() => reporter.buffer.dropped, (d) => d === 15, '15 dropped rows');
      expect(reporter.buffer.size).toBe(10);
    } finally {
      await cleanup.run();
    }
  });
});

describe.each(['native', 'ts'] as const)('Report service on the embedded store (%s)', (impl) => {
  it('writes rows into SQLite', async () => {
    const kind = tempSqlite();
    const cleanup = new Cleanup();
    try {
      const store = cleanup.add(await withStore(kind, impl), (s) => s.close());
      const reporter = cleanup.add(await startReporter(testConfig('reporter', impl, kind, { 'reporter.flush_interval_ms': '20' })), (r) => r.stop());
      const c = cleanup.add(await FrameClient.open(reporter.port), (c) => c.close());
      c.send(MsgId.ReportStatusRequest, report(600, '10.0.0.2', [{ ip: '10.6.0.1', port: 80, succ: 3, err: 2, overload: true, usetimeSumUs: 900, usetimeMaxUs: 500, timedCalls: 5 }]));
      const rows = await eventually(() => store.listCallStatus({ modid: 600 }), (r) => r.length === 1, 'the row');
      expect(rows[0]).toMatchObject({ caller: '10.0.0.2', succCnt: 3, errCnt: 2, overload: true, usetime: { sumUs: 900, maxUs: 500, timedCalls: 5 } });
    } finally {
      await cleanup.run();
    }
  });
});
