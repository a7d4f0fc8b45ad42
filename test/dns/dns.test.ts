// The DNS service end to end: real sockets, a real MariaDB database (and the embedded store),
// both frontends. Route edits go through the real CLI.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDns, type RunningDns } from '../../src/dns/start-dns.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { MsgId, ipToInt32, type GetRouteResponse } from '../../src/wire/messages.js';
import { FrameClient, eventually } from '../helpers/frame-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { storeEnv, tempSqlite, testConfig, type StoreKind } from '../helpers/roles.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { Cleanup } from '../helpers/cleanup.js';
import { freePort } from '../helpers/free-port.js';

const run = promisify(execFile);
const POLL_MS = 100;

function cli(store: StoreKind, ...args: string[]) {
  return run(process.execPath, ['dist/src/cli/main.js', ...args], { env: { ...process.env, ...storeEnv(store), LARS_LOG_LEVEL: 'warn' } });
}

function hostsOf(r: GetRouteResponse): string[] {
  return (r.host ?? []).map((h) => `${h.ip}:${h.port}`).sort();
}

async function getRoute(client: FrameClient, modid: number, cmdid: number): Promise<GetRouteResponse> {
  const before = client.frames.length;
  client.send(MsgId.GetRouteRequest, { modid, cmdid });
  await client.waitFor(() => client.frames.length > before, `a reply for ${modid}/${cmdid}`);
  return client.messages<GetRouteResponse>(MsgId.GetRouteResponse).at(-1)!;
}

describe.each(['native', 'ts'] as const)('DNS service (%s)', (impl) => {
  let db: TestDatabase;
  let store: Store;
  let dns: RunningDns;
  let kind: StoreKind;
  const clients: FrameClient[] = [];
  const open = async (port = dns.port): Promise<FrameClient> => {
    const c = await FrameClient.open(port);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    kind = { mysql: db.config };
    store = await openStore(testConfig('dns', impl, kind).store);
    await store.init();
    await store.seedDemo();
    dns = await startDns(testConfig('dns', impl, kind, { 'dns.poll_interval_ms': String(POLL_MS) }));
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await dns?.stop();
    await store?.close();
    await db?.drop();
  });

  it('answers GetRouteRequest from the table, and an unknown module with an empty route', async () => {
    const c = await open();
    const demo = (await store.loadRouteTable()).modules[0]!;
    const reply = await getRoute(c, demo.modid, demo.cmdid);
    expect(reply.modid).toBe(demo.modid);
    expect(hostsOf(reply)).toEqual(demo.hosts.map((h) => `${ipToInt32(h.ip)}:${h.port}`).sort());
    const unknown = await getRoute(c, 4242, 7);
    expect(unknown).toMatchObject({ modid: 4242, cmdid: 7 });
    expect(unknown.host ?? []).toEqual([]);
  });

  it('pushes a CLI route edit to subscribed connections only, within two poll intervals', async () => {
    const subscribed = await open();
    const bystander = await open();
    await getRoute(subscribed, 501, 1);
    await getRoute(bystander, 502, 1);
    await cli(kind, 'route', 'add', '501', '1', '10.1.2.3', '8001');
    await subscribed.waitFor(() => subscribed.frames.length === 2, 'the push');
    const push = subscribed.messages<GetRouteResponse>(MsgId.GetRouteResponse)[1]!;
    expect(hostsOf(push)).toEqual([`${ipToInt32('10.1.2.3')}:8001`]);
    // The bystander's next reply is the first frame after its own: no push reached it.
    await getRoute(bystander, 502, 1);
    expect(bystander.frames).toHaveLength(2);
  });

  it('delivers one change to 1 000 concurrent subscribed connections', async () => {
    const many = await Promise.all(Array.from({ length: 1000 }, () => FrameClient.open(dns.port)));
    clients.push(...many);
    for (const c of many) c.send(MsgId.GetRouteRequest, { modid: 601, cmdid: 1 });
    await Promise.all(many.map((c) => c.waitFor(() => c.frames.length === 1, 'the first reply')));
    await store.applyRouteChange([{ op: 'add', modid: 601, cmdid: 1, ip: '10.6.0.1', port: 6001 }]);
    await Promise.all(many.map((c) => c.waitFor(() => c.frames.length === 2, 'the push')));
    for (const c of many) expect(hostsOf(c.messages<GetRouteResponse>(MsgId.GetRouteResponse)[1]!)).toHaveLength(1);
    for (const c of many) c.close();
  });

  it('keeps pushing while subscribers connect and disconnect', async () => {
    const stable = await open();
    await getRoute(stable, 701, 1);
    const churn = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        const c = await FrameClient.open(dns.port);
        c.send(MsgId.GetRouteRequest, { modid: 701, cmdid: 1 });
        if (i % 2 === 0) await c.waitFor(() => c.frames.length > 0, 'a reply');
        c.close();
      }
    };
    const edits = (async () => {
      for (let i = 0; i < 5; i++) await store.applyRouteChange([{ op: 'add', modid: 701, cmdid: 1, ip: '10.7.0.1', port: 7000 + i }]);
    })();
    await Promise.all([churn(), churn(), edits]);
    await stable.waitFor(
      () => hostsOf(stable.messages<GetRouteResponse>(MsgId.GetRouteResponse).at(-1)!).length === 5,
      'the push with all five nodes',
    );
  });

  it('closes a connection that sends a bad length, counts it, and serves others', async () => {
    const bad = await open();
    const good = await open();
    const before = dns.frontend.stats().protocolErrors;
    const header = Buffer.alloc(8);
    header.writeInt32LE(MsgId.GetRouteRequest, 0);
    header.writeInt32LE(-1, 4);
    bad.sendRaw(header);
    await bad.waitClosed();
    const huge = await open();
    header.writeInt32LE(1 << 30, 4);
    huge.sendRaw(header);
    await huge.waitClosed();
    expect(dns.frontend.stats().protocolErrors).toBe(before + 2);
    expect((await getRoute(good, 1, 1)).modid).toBe(1);
  });

  it('drops an unparsable body and ignores an unknown msgid, counting both, keeping the connection', async () => {
    const c = await open();
    const s0 = dns.frontend.stats();
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const frame = Buffer.alloc(8);
    frame.writeInt32LE(MsgId.GetRouteRequest, 0);
    frame.writeInt32LE(garbage.length, 4);
    c.sendRaw(Buffer.concat([frame, garbage]));
    const unknown = Buffer.alloc(8);
    unknown.writeInt32LE(99, 0);
    c.sendRaw(unknown);
    expect((await getRoute(c, 1, 1)).modid).toBe(1);
    const s1 = dns.frontend.stats();
    expect(s1.badBodies).toBe(s0.badBodies + 1);
    expect(s1.unknownMsgIds).toBe(s0.unknownMsgIds + 1);
    expect(c.closed).toBe(false);
  });

  it('is not disturbed by a half-open peer that sends half a frame and goes silent', async () => {
    const silent = await open();
    const header = Buffer.alloc(8);
    header.writeInt32LE(MsgId.GetRouteRequest, 0);
    header.writeInt32LE(4, 4);
    silent.sendRaw(header.subarray(0, 5));
    const halfClosed = await open();
    halfClosed.socket.end(header);
    const other = await open();
    expect((await getRoute(other, 1, 1)).modid).toBe(1);
    await halfClosed.waitClosed();
  });
});

describe.each(['native', 'ts'] as const)('DNS service limits and failures (%s)', (impl) => {
  it('closes connections past maxConn, counts them, and goes on serving', async () => {
    const cleanup = new Cleanup();
    try {
      const kind = tempSqlite();
      const store = cleanup.add(await openStore(testConfig('dns', impl, kind).store), (s) => s.close());
      await store.init();
      await store.seedDemo();
      const dns = cleanup.add(await startDns(testConfig('dns', impl, kind, { 'reactor.maxConn': '5' })), (d) => d.stop());
      const clients = await Promise.all(Array.from({ length: 5 }, async () => cleanup.add(await FrameClient.open(dns.port), (c) => c.close())));
      for (const c of clients) await getRoute(c, 1, 1);
      const flood = await Promise.all(Array.from({ length: 20 }, () => FrameClient.open(dns.port)));
      await Promise.all(flood.map((c) => c.waitClosed()));
      expect(dns.frontend.stats().rejectedMaxConn).toBe(20);
      expect((await getRoute(clients[0]!, 1, 1)).modid).toBe(1);
    } finally {
      await cleanup.run();
    }
  });

  it('serves the last good table while MySQL is down and picks up changes when it is back', async () => {
    const cleanup = new Cleanup();
    try {
      const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
      const proxy = cleanup.add(new TcpProxy(db.config.host, db.config.port), (p) => p.stop());
      const port = await proxy.start();
      const direct = cleanup.add(await openStore(testConfig('dns', impl, { mysql: db.config }).store), (s) => s.close());
      await direct.init();
      await direct.seedDemo();
      const dns = cleanup.add(
        await startDns(testConfig('dns', impl, { mysql: { ...db.config, host: '127.0.0.1', port } }, { 'dns.poll_interval_ms': String(POLL_MS) })),
        (d) => d.stop(),
      );
      const c = cleanup.add(await FrameClient.open(dns.port), (c) => c.close());
      await getRoute(c, 1, 1);
      await proxy.stop();
      await eventually(() => dns.service.stats(), (s) => !s.storeUp && s.storeErrors > 0, 'the DNS to notice the store is down');
      expect(hostsOf(await getRoute(c, 1, 1)).length).toBeGreaterThan(0);
      await direct.applyRouteChange([{ op: 'add', modid: 1, cmdid: 1, ip: '10.9.9.9', port: 9999 }]);
      await proxy.start();
      await c.waitFor(
        () => c.messages<GetRouteResponse>(MsgId.GetRouteResponse).some((r) => hostsOf(r).includes(`${ipToInt32('10.9.9.9')}:9999`)),
        'the push after the store came back',
        20_000,
      );
      expect(dns.service.stats().storeUp).toBe(true);
    } finally {
      await cleanup.run();
    }
  });

  it('accepts no connection before its first load from the store (a restart never answers from an empty table)', async () => {
    const cleanup = new Cleanup();
    try {
      const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
      const direct = cleanup.add(await openStore(testConfig('dns', impl, { mysql: db.config }).store), (s) => s.close());
      await direct.init();
      await direct.seedDemo();
      // A slow store stretches the first load, so a connection attempt lands inside it if it can.
      const proxy = cleanup.add(new TcpProxy(db.config.host, db.config.port), (p) => p.stop());
      const proxyPort = await proxy.start();
      proxy.slow(400);
      const port = await freePort();
      const starting = startDns(testConfig('dns', impl, { mysql: { ...db.config, host: '127.0.0.1', port: proxyPort } }, { 'reactor.port': String(port) }));
      cleanup.add(starting, async (d) => (await d).stop());
      const c = cleanup.add(await eventually(() => FrameClient.open(port).catch(() => undefined), (x) => x !== undefined, 'a connection', 20_000), (x) => x?.close());
      expect(hostsOf(await getRoute(c!, 1, 1)).length).toBeGreaterThan(0);
      await starting;
    } finally {
      await cleanup.run();
    }
  });

  it('started while MySQL is down, pushes its first load to the connections that pulled before it', async () => {
    const cleanup = new Cleanup();
    try {
      const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
      const direct = cleanup.add(await openStore(testConfig('dns', impl, { mysql: db.config }).store), (s) => s.close());
      await direct.init();
      await direct.seedDemo();
      const proxy = cleanup.add(new TcpProxy(db.config.host, db.config.port), (p) => p.stop());
      const proxyPort = await proxy.start();
      await proxy.stop();
      const dns = cleanup.add(
        await startDns(testConfig('dns', impl, { mysql: { ...db.config, host: '127.0.0.1', port: proxyPort } }, { 'dns.poll_interval_ms': String(POLL_MS) })),
        (d) => d.stop(),
      );
      const c = cleanup.add(await FrameClient.open(dns.port), (x) => x.close());
      expect(hostsOf(await getRoute(c, 1, 1))).toEqual([]);
      await proxy.start();
      await c.waitFor(
        () => c.messages<GetRouteResponse>(MsgId.GetRouteResponse).some((r) => r.modid === 1 && r.cmdid === 1 && hostsOf(r).length > 0),
        'the push of the first load',
        20_000,
      );
    } finally {
      await cleanup.run();
    }
  });

  it('two DNS instances on one database both push every change', async () => {
    const cleanup = new Cleanup();
    try {
      const db = cleanup.add(await createTestDatabase(), (d) => d.drop());
      const kind: StoreKind = { mysql: db.config };
      const store = cleanup.add(await openStore(testConfig('dns', impl, kind).store), (s) => s.close());
      await store.init();
      const cfg = testConfig('dns', impl, kind, { 'dns.poll_interval_ms': String(POLL_MS) });
      const conns: FrameClient[] = [];
      for (let i = 0; i < 2; i++) {
        const dns = cleanup.add(await startDns(cfg), (d) => d.stop());
        conns.push(cleanup.add(await FrameClient.open(dns.port), (c) => c.close()));
      }
      for (const c of conns) await getRoute(c, 801, 1);
      for (let i = 1; i <= 3; i++) {
        await store.applyRouteChange([{ op: 'add', modid: 801, cmdid: 1, ip: '10.8.0.1', port: 8000 + i }]);
        for (const c of conns) {
          await c.waitFor(
            () => c.messages<GetRouteResponse>(MsgId.GetRouteResponse).some((r) => hostsOf(r).length === i),
            `the push with ${i} nodes`,
          );
        }
      }
      expect(await store.changesSince(0)).toHaveLength(3);
    } finally {
      await cleanup.run();
    }
  });
});
