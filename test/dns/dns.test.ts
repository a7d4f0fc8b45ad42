// The DNS service end to end: real sockets, a real MariaDB database (and the embedded store),
// both frontends. Route edits go through the real CLI.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDns, type RunningDns } from '../../src/dns/start-dns.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { MsgId, ipToInt32, type GetRouteResponse } from '../../src/wire/messages.js';
import { tsCodec } from '../../src/wire/codec.js';
import { HEADER_SIZE } from '../../src/wire/frame.js';
import { FrameClient, eventually } from '../helpers/frame-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { storeEnv, tempSqlite, testConfig, type StoreKind } from '../helpers/roles.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { freePort } from '../helpers/free-port.js';
import { Cleanup } from '../helpers/cleanup.js';

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

  it('pushes a weight edit (route set) and a policy edit (policy set) like a route edit', async () => {
    const c = await open();
    await getRoute(c, 511, 1);
    await cli(kind, 'route', 'add', '511', '1', '10.1.2.3', '8001');
    await c.waitFor(() => c.frames.length === 2, 'the push of the new node');
    expect(c.messages<GetRouteResponse>(MsgId.GetRouteResponse)[1]).toStrictEqual({ modid: 511, cmdid: 1, host: [{ ip: ipToInt32('10.1.2.3'), port: 8001 }] });

    await cli(kind, 'route', 'set', '511', '1', '10.1.2.3', '8001', '--weight', '250', '--zone', 'az1');
    await c.waitFor(() => c.frames.length === 3, 'the push of the weight');
    expect(c.messages<GetRouteResponse>(MsgId.GetRouteResponse)[2]).toStrictEqual({
      modid: 511,
      cmdid: 1,
      host: [{ ip: ipToInt32('10.1.2.3'), port: 8001, weight: 250, zone: 'az1' }],
    });

    await cli(kind, 'policy', 'set', '511', '1', 'weighted_round_robin', '--max-ejection-percent', '50');
    await c.waitFor(() => c.frames.length === 4, 'the push of the policy');
    const withPolicy = c.messages<GetRouteResponse>(MsgId.GetRouteResponse)[3]!;
    expect(withPolicy.policy).toStrictEqual({
      name: 'weighted_round_robin',
      maxEjectionPercent: 50,
      panicThreshold: 0,
      ejectionBackoffMaxMs: 0,
      zoneOverprovision: 0,
      ringSize: 0,
    });
    expect(withPolicy.host[0]).toMatchObject({ weight: 250 });
    // A new subscriber is served the same.
    expect(await getRoute(await open(), 511, 1)).toStrictEqual(withPolicy);
  });

  it('serves a module without weights, zones or policy byte for byte as the reference encodes it', async () => {
    const demo = (await store.loadRouteTable()).modules.find((m) => m.modid === 2 && m.cmdid === 1)!;
    const c = await open();
    await getRoute(c, 2, 1);
    const reference = tsCodec.encodeFrame(MsgId.GetRouteResponse, { modid: 2, cmdid: 1, host: demo.hosts.map((h) => ({ ip: ipToInt32(h.ip), port: h.port })) });
    expect(c.frames[0]!.msgid).toBe(MsgId.GetRouteResponse);
    expect(c.frames[0]!.body.toString('hex')).toBe(reference.subarray(HEADER_SIZE).toString('hex'));
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
    // A LeaseRequest (msgid 12) goes to the lease writer (a malformed lease there: refused), not counted as unknown.
    c.sendRaw(tsCodec.encodeFrame(MsgId.LeaseRequest, { lease: [{ modid: 1, cmdid: 1, host: { ip: 1, port: 1 }, ttlMs: 3, deregister: false }] }));
    expect((await getRoute(c, 1, 1)).modid).toBe(1);
    const s1 = dns.frontend.stats();
    expect(s1.badBodies).toBe(s0.badBodies + 1);
    expect(s1.unknownMsgIds).toBe(s0.unknownMsgIds + 1);
    expect(s1.leaseFrames).toBe(s0.leaseFrames + 1);
    await eventually(() => dns.leases.stats().refusedInvalid, (n) => n >= 1, 'the malformed lease refused');
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

  it('answers past max_subscriptions_per_conn but subscribes no further, counting it in stats and /metrics', async () => {
    const cleanup = new Cleanup();
    try {
      const kind = tempSqlite();
      const store = cleanup.add(await openStore(testConfig('dns', impl, kind).store), (s) => s.close());
      await store.init();
      const adminPort = await freePort();
      const dns = cleanup.add(
        await startDns(
          testConfig('dns', impl, kind, {
            'reactor.max_subscriptions_per_conn': '3',
            'dns.poll_interval_ms': String(POLL_MS),
            'admin.ip': '127.0.0.1',
            'admin.port': String(adminPort),
          }),
        ),
        (d) => d.stop(),
      );
      const greedy = cleanup.add(await FrameClient.open(dns.port), (c) => c.close());
      for (const modid of [901, 902, 903, 904, 905]) expect((await getRoute(greedy, modid, 1)).modid).toBe(modid);
      // Asking again for a module it holds is not a new subscription, so not refused.
      expect((await getRoute(greedy, 901, 1)).modid).toBe(901);
      expect(dns.frontend.stats()).toMatchObject({ subscriptions: 3, subscriptionsRefused: 2 });
      // The cap is per connection: another one still subscribes.
      const other = cleanup.add(await FrameClient.open(dns.port), (c) => c.close());
      await getRoute(other, 904, 1);
      expect(dns.frontend.stats()).toMatchObject({ subscriptions: 4, subscriptionsRefused: 2 });

      // A refused module is not pushed; changed first, its push would arrive before the other one.
      const before = greedy.frames.length;
      await store.applyRouteChange([{ op: 'add', modid: 904, cmdid: 1, ip: '10.9.0.4', port: 9004 }]);
      await other.waitFor(() => other.frames.length === 2, 'the push to the other connection');
      await store.applyRouteChange([{ op: 'add', modid: 903, cmdid: 1, ip: '10.9.0.3', port: 9003 }]);
      await greedy.waitFor(() => greedy.frames.length > before, 'the push of a subscribed module');
      expect(greedy.frames).toHaveLength(before + 1);
      expect(greedy.messages<GetRouteResponse>(MsgId.GetRouteResponse).at(-1)).toMatchObject({ modid: 903 });

      const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      expect(metrics).toMatch(/^lars_dns_subscriptions_refused_total 2$/m);
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

describe('DNS service (native) without enough descriptors', () => {
  it('exits with a LarsError naming the limit, not SIGABRT, when its I/O threads cannot get descriptors', async () => {
    // 120 descriptors let Node load the CLI; 256 I/O threads need three each.
    const daemon = spawn(
      'bash',
      ['-c', 'ulimit -n 120; exec "$0" dist/src/cli/main.js dns --set reactor.ip=127.0.0.1 --set reactor.port=0 --set reactor.threadNum=256 --set admin.port=0', process.execPath],
      { env: { ...process.env, ...storeEnv(tempSqlite()), LARS_IMPL: 'native' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    daemon.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = (await once(daemon, 'exit')) as [number | null, NodeJS.Signals | null];
    expect(signal).toBeNull();
    expect(code).toBe(1);
    // The CLI prints "lars: <message>" for a LarsError and a stack for anything else.
    expect(stderr).toMatch(/^lars: cannot listen on 127\.0\.0\.1:0: \w+: Too many open files \(.*ulimit -n.*threadNum\)$/m);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
