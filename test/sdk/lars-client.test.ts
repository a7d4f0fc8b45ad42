// The SDK against a fake agent on three real UDP ports: matching by seq, stale and malformed
// replies, timeouts, port selection, the bytes of each datagram, call() and close(). Once with
// each wire codec: they must behave the same.
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheFileName, encodeCacheFile } from '../../src/route-cache/index.js';
import { LarsError } from '../../src/errors.js';
import { LarsClient, MAX_HASH_KEY_BYTES, RetCode, agentPortIndex, type GetHostResult } from '../../src/sdk/index.js';
import { encodeFrame } from '../../src/wire/frame.js';
import { MsgId, decodeBody, encodeBody, ipToInt32, type GetHostRequest } from '../../src/wire/messages.js';
import { FakeAgent } from './fake-agent.js';
import { freeConsecutiveUdpBase } from '../helpers/free-port.js';

const TIMEOUT_MS = 150;
const NODES = [
  { ip: '10.0.0.1', port: 9001 },
  { ip: '192.168.1.177', port: 9002 },
];

describe.each(['ts', 'native'] as const)('LarsClient (%s codec)', (impl) => {
  let agent: FakeAgent;
  let client: LarsClient;
  const clients: LarsClient[] = [];
  const newClient = (opts: ConstructorParameters<typeof LarsClient>[0] = {}): LarsClient => {
    // No route cache unless a test gives one: the default directory is under the working directory.
    const c = new LarsClient({ host: '127.0.0.1', port: agent.base, timeoutMs: TIMEOUT_MS, impl, cacheDir: '', ...opts });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    agent = await FakeAgent.start();
    agent.setRoute(1, 1, NODES);
    client = newClient();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await agent.close();
  });

  it('gets the node the agent picks, asking with increasing seqs', async () => {
    expect(await client.getHost(1, 1)).toEqual({ retcode: RetCode.Succ, ip: '10.0.0.1', port: 9001 });
    expect(await client.getHost(1, 1)).toEqual({ retcode: RetCode.Succ, ip: '192.168.1.177', port: 9002 });
    expect(await client.getHost(7, 7)).toEqual({ retcode: RetCode.NoExist });
    expect(agent.bodies(MsgId.GetHostRequest)).toEqual([
      { seq: 0, modid: 1, cmdid: 1 },
      { seq: 1, modid: 1, cmdid: 1 },
      { seq: 2, modid: 7, cmdid: 7 },
    ]);
    expect(client.stats).toMatchObject({ sent: 3, matched: 3, stale: 0, timeouts: 0 });
  });

  it('sends everything about (modid, cmdid) to port base + (modid + cmdid) % 3', async () => {
    const modules: [number, number][] = [
      [1, 1],
      [1, 2],
      [2, 2],
      [0, 0],
      [100, 7],
    ];
    for (const [m, c] of modules) {
      await client.getHost(m, c);
      await client.getRoute(m, c);
      client.report(m, c, '10.0.0.1', 9001, RetCode.Succ);
    }
    await agent.waitFor(() => agent.received.length === modules.length * 3, 'every datagram');
    const expected = modules.flatMap(([m, c]) => Array(3).fill((m + c) % 3));
    expect(agent.received.map((r) => r.index)).toEqual(expected);
    expect(agentPortIndex(1, 1)).toBe(2);
    expect(client.portFor(1, 2)).toBe(agent.base);
    expect(agentPortIndex(-1, 0)).toBe(2); // never negative
    // One socket for every port and request.
    expect(new Set(agent.received.map((r) => r.from.port)).size).toBe(1);
  });

  it('matches concurrent replies by seq, whatever order they come back in', async () => {
    const held: [GetHostRequest, (r: ReturnType<FakeAgent['pick']>) => void][] = [];
    agent.setRoute(1, 1, [{ ip: '10.0.0.1', port: 1 }]);
    agent.setRoute(1, 4, [{ ip: '10.0.0.4', port: 4 }]);
    agent.setRoute(1, 7, [{ ip: '10.0.0.7', port: 7 }]);
    agent.hooks.onGetHost = (req, reply) => {
      held.push([req, (body) => reply(MsgId.GetHostResponse, body)]);
      if (held.length === 3) for (const [r, send] of held.reverse()) send(agent.pick(r));
    };
    // (1,1), (1,4) and (1,7) share port index 2, so they reach the same agent socket.
    const results = await Promise.all([client.getHost(1, 1), client.getHost(1, 4), client.getHost(1, 7)]);
    expect(results.map((r) => r.port)).toEqual([1, 4, 7]);
    expect(client.stats.matched).toBe(3);
  });

  it('discards a late reply to a request that timed out, and a reply naming another module', async () => {
    const requests: GetHostRequest[] = [];
    agent.hooks.onGetHost = (req, reply, a) => {
      requests.push(req);
      if (requests.length === 1) return; // silent: this one times out
      // First the stale reply to request 1 (an older seq), then one with the right seq but another module, then the real one.
      const old = requests[0]!;
      reply(MsgId.GetHostResponse, { seq: old.seq, modid: 1, cmdid: 1, retcode: RetCode.Succ, host: { ip: ipToInt32('10.9.9.9'), port: 9999 } });
      reply(MsgId.GetHostResponse, { seq: req.seq, modid: 5, cmdid: 5, retcode: RetCode.Succ, host: { ip: ipToInt32('10.8.8.8'), port: 8888 } });
      reply(MsgId.GetHostResponse, a.pick(req));
    };
    expect(await client.getHost(1, 1)).toEqual({ retcode: RetCode.SystemError });
    expect(await client.getHost(1, 1)).toEqual({ retcode: RetCode.Succ, ip: '10.0.0.1', port: 9001 });
    expect(requests.map((r) => r.seq)).toEqual([0, 1]);
    expect(client.stats).toMatchObject({ timeouts: 1, stale: 2, matched: 1 });
  });

  it('drops a reply from a port other than the agent\'s three', async () => {
    const stranger = createSocket('udp4');
    agent.hooks.onGetHost = (req, reply, a) => {
      const from = agent.received.at(-1)!.from;
      const forged = { seq: req.seq, modid: 1, cmdid: 1, retcode: RetCode.Succ, host: { ip: ipToInt32('6.6.6.6'), port: 666 } };
      // The agent answers once the forged reply has been handed to the kernel, so it arrives first.
      stranger.send(encodeFrame(MsgId.GetHostResponse, encodeBody(MsgId.GetHostResponse, forged)), from.port, from.address, () =>
        reply(MsgId.GetHostResponse, a.pick(req)),
      );
    };
    try {
      expect(await client.getHost(1, 1)).toEqual({ retcode: RetCode.Succ, ip: '10.0.0.1', port: 9001 });
      expect(client.stats.unexpected).toBe(1);
    } finally {
      stranger.close();
    }
  });

  it('drops datagrams that are not one well-formed frame, and still gets its reply', async () => {
    agent.hooks.onGetHost = (req, reply, a) => {
      const from = agent.received.at(-1)!.from;
      a.sendRaw(2, Buffer.from([1, 2, 3]), from); // short
      a.sendRaw(2, Buffer.from([5, 0, 0, 0, 9, 0, 0, 0, 1]), from); // length mismatch
      a.sendRaw(2, encodeFrame(MsgId.GetHostResponse, Buffer.from([0xff, 0xff])), from); // body does not parse
      a.sendRaw(2, encodeFrame(MsgId.GetHostResponse, encodeBody(MsgId.GetHostResponse, { seq: req.seq, modid: 1, cmdid: 1, retcode: 0 })), from); // SUCC without a host
      reply(MsgId.GetHostResponse, a.pick(req));
    };
    const r = await client.getHost(1, 1);
    // The SUCC-without-host reply answered the request (as a system error): the agent's reply came after it.
    expect(r).toEqual({ retcode: RetCode.SystemError });
    expect(client.stats.malformed).toBe(4);
    agent.hooks.onGetHost = undefined;
    expect(await client.getHost(1, 1)).toMatchObject({ retcode: RetCode.Succ });
  });

  it('answers RET_SYSTEM_ERROR within the timeout when the agent is silent', async () => {
    agent.hooks.onGetHost = () => undefined;
    agent.hooks.onGetRoute = () => undefined;
    const t0 = performance.now();
    expect(await client.getHost(1, 1)).toEqual({ retcode: RetCode.SystemError });
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 500);
    expect(await client.getRoute(1, 1)).toEqual({ retcode: RetCode.SystemError, hosts: [] });
    const quick = newClient({ regInitAttempts: 2, regInitDelayMs: 1 });
    expect(await quick.regInit(1, 1)).toBe(RetCode.SystemError);
    expect(client.stats.timeouts).toBe(2);
  });

  it('answers RET_SYSTEM_ERROR within the timeout when no agent listens', async () => {
    const down = newClient({ port: await freeConsecutiveUdpBase() });
    const t0 = performance.now();
    const [host, route] = await Promise.all([down.getHost(1, 1), down.getRoute(1, 1)]);
    expect(performance.now() - t0).toBeLessThan(TIMEOUT_MS + 500);
    expect(host).toEqual({ retcode: RetCode.SystemError });
    expect(route).toEqual({ retcode: RetCode.SystemError, hosts: [] });
    await expect(down.call(1, 1, () => 'never')).rejects.toMatchObject({ code: 'ERR_TIMEOUT', message: expect.stringMatching(/did not answer/) });
  });

  describe('when the agent does not answer, the agent\'s route cache on disk', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'lars-sdk-cache-'));
      const host = NODES.map((n) => ({ ip: ipToInt32(n.ip), port: n.port }));
      writeFileSync(join(dir, cacheFileName(1, 1)), encodeCacheFile(1, 1, encodeBody(MsgId.GetRouteResponse, { modid: 1, cmdid: 1, host }), Date.now()));
      writeFileSync(join(dir, cacheFileName(3, 3)), Buffer.from('not a cache file'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const silent = (): void => {
      agent.hooks.onGetHost = () => undefined;
      agent.hooks.onGetRoute = () => undefined;
    };

    it('answers getHost round robin over the cached nodes, fromCache, counted; getRoute too', async () => {
      silent();
      const c = newClient({ cacheDir: dir });
      const picks: GetHostResult[] = [];
      for (let i = 0; i < 3; i++) picks.push(await c.getHost(1, 1));
      expect(picks).toEqual([NODES[0], NODES[1], NODES[0]].map((n) => ({ retcode: RetCode.Succ, ...n, fromCache: true })));
      expect(await c.getRoute(1, 1)).toEqual({ retcode: RetCode.Succ, hosts: NODES, fromCache: true });
      expect(c.stats).toMatchObject({ timeouts: 4, fromCache: 4 });
      expect(await c.call(1, 1, (node) => node.port)).toBe(NODES[1]!.port);
    });

    it('answers RET_SYSTEM_ERROR as before for a module it has no usable file of', async () => {
      silent();
      const c = newClient({ cacheDir: dir });
      expect(await c.getHost(2, 2)).toEqual({ retcode: RetCode.SystemError });
      expect(await c.getHost(3, 3)).toEqual({ retcode: RetCode.SystemError }); // corrupt
      expect(await c.getRoute(2, 2)).toEqual({ retcode: RetCode.SystemError, hosts: [] });
      expect(await newClient({ cacheDir: '' }).getHost(1, 1)).toEqual({ retcode: RetCode.SystemError });
      expect(c.stats).toMatchObject({ timeouts: 3, fromCache: 0 });
    });

    it('serves when no agent listens at all', async () => {
      const down = newClient({ port: await freeConsecutiveUdpBase(), cacheDir: dir });
      expect(await down.getHost(1, 1)).toEqual({ retcode: RetCode.Succ, ...NODES[0], fromCache: true });
    });

    it('is left as soon as the agent answers again', async () => {
      silent();
      const c = newClient({ cacheDir: dir });
      expect(await c.getHost(1, 1)).toMatchObject({ fromCache: true });
      agent.hooks = {};
      agent.setRoute(1, 1, [{ ip: '10.9.9.9', port: 9999 }]);
      expect(await c.getHost(1, 1)).toEqual({ retcode: RetCode.Succ, ip: '10.9.9.9', port: 9999 });
      expect(await c.getRoute(1, 1)).toEqual({ retcode: RetCode.Succ, hosts: [{ ip: '10.9.9.9', port: 9999 }] });
      expect(c.stats).toMatchObject({ fromCache: 1, matched: 2 });
    });

    it('defaults to the agent\'s default directory under the working directory', async () => {
      silent();
      const cwd = process.cwd();
      const work = mkdtempSync(join(tmpdir(), 'lars-sdk-cwd-'));
      try {
        const cacheDir = join(work, 'var', 'agent-cache');
        mkdirSync(cacheDir, { recursive: true });
        copyFileSync(join(dir, cacheFileName(1, 1)), join(cacheDir, cacheFileName(1, 1)));
        process.chdir(work);
        const c = new LarsClient({ host: '127.0.0.1', port: agent.base, timeoutMs: TIMEOUT_MS, impl });
        clients.push(c);
        process.chdir(cwd);
        expect(await c.getHost(1, 1)).toMatchObject({ fromCache: true });
      } finally {
        process.chdir(cwd);
        rmSync(work, { recursive: true, force: true });
      }
    });
  });

  it('sends report as the canonical ReportRequest frame, addresses above 127.x as negative int32', async () => {
    client.report(1, 1, '192.168.1.177', 9002, RetCode.Overload);
    client.report(1, 1, '10.0.0.1', 9001, RetCode.Succ);
    await agent.waitFor(() => agent.received.length === 2, 'two reports');
    const canonical = (ip: string, port: number, retcode: number) =>
      encodeFrame(MsgId.ReportRequest, encodeBody(MsgId.ReportRequest, { modid: 1, cmdid: 1, host: { ip: ipToInt32(ip), port }, retcode }));
    expect(agent.received[0]!.raw).toEqual(canonical('192.168.1.177', 9002, 1));
    expect(agent.received[1]!.raw).toEqual(canonical('10.0.0.1', 9001, 0));
    expect(agent.bodies(MsgId.ReportRequest)[0]).toEqual({ modid: 1, cmdid: 1, host: { ip: -1062731343, port: 9002 }, retcode: 1 });
    expect(agent.received.every((r) => r.index === 2)).toBe(true);
  });

  it('sends getHost and getRoute as the canonical request frames', async () => {
    await client.getHost(1, 1);
    await client.getRoute(2, 3);
    expect(agent.received[0]!.raw).toEqual(encodeFrame(MsgId.GetHostRequest, encodeBody(MsgId.GetHostRequest, { seq: 0, modid: 1, cmdid: 1 })));
    expect(agent.received[1]!.raw).toEqual(encodeFrame(MsgId.ApiGetRouteRequest, encodeBody(MsgId.ApiGetRouteRequest, { modid: 2, cmdid: 3 })));
  });

  it('takes a reply out of the hot path\'s reach (a zone in its host) through the codec', async () => {
    agent.hooks.onGetHost = (req, reply) =>
      reply(MsgId.GetHostResponse, { seq: req.seq, modid: 1, cmdid: 1, retcode: RetCode.Succ, host: { ip: ipToInt32('10.1.2.3'), port: 7, zone: 'az1' } });
    expect(await client.getHost(1, 1)).toEqual({ retcode: RetCode.Succ, ip: '10.1.2.3', port: 7 });
    expect(client.stats).toMatchObject({ matched: 1, malformed: 0 });
  });

  it('decodes getRoute replies; an empty route is RET_NOEXIST', async () => {
    expect(await client.getRoute(1, 1)).toEqual({ retcode: RetCode.Succ, hosts: NODES });
    expect(await client.getRoute(4, 4)).toEqual({ retcode: RetCode.NoExist, hosts: [] });
  });

  it('regInit asks for the route until the agent has it', async () => {
    let asked = 0;
    agent.hooks.onGetRoute = (req, reply, a) => {
      asked++;
      reply(MsgId.ApiGetRouteResponse, asked < 3 ? { modid: req.modid, cmdid: req.cmdid, host: [] } : a.routeOf(req));
    };
    const c = newClient({ regInitDelayMs: 5 });
    expect(await c.regInit(1, 1)).toBe(RetCode.Succ);
    expect(asked).toBe(3);
    asked = -100;
    expect(await newClient({ regInitAttempts: 4, regInitDelayMs: 1 }).regInit(1, 1)).toBe(RetCode.NoExist);
    expect(asked).toBe(-96);
  });

  describe('call()', () => {
    it('runs the function on the picked node and reports success', async () => {
      const result = await client.call(1, 1, async ({ ip, port }) => `${ip}:${port}`);
      expect(result).toBe('10.0.0.1:9001');
      await agent.waitFor(() => agent.bodies(MsgId.ReportRequest).length === 1, 'the report');
      expect(agent.bodies(MsgId.ReportRequest)).toEqual([
        { modid: 1, cmdid: 1, host: { ip: ipToInt32('10.0.0.1'), port: 9001 }, retcode: RetCode.Succ, usetimeUs: expect.any(Number) },
      ]);
    });

    it('reports how long the function took as usetimeUs, on success and on failure', async () => {
      /** Runs ~2 ms of fn's own time, timed from inside; the call's time lies between that and the outside time. */
      const timed = async (fail: boolean): Promise<[number, number]> => {
        let inner = 0n;
        const outerStart = process.hrtime.bigint();
        await client
          .call(1, 1, async () => {
            const start = process.hrtime.bigint();
            await Promise.resolve();
            while (process.hrtime.bigint() - start < 2_000_000n);
            inner = process.hrtime.bigint() - start;
            if (fail) throw new Error('boom');
          })
          .catch(() => undefined);
        return [Number(inner / 1000n), Number((process.hrtime.bigint() - outerStart) / 1000n)];
      };
      const ok = await timed(false);
      const failed = await timed(true);
      await agent.waitFor(() => agent.bodies(MsgId.ReportRequest).length === 2, 'both reports');
      const [r0, r1] = agent.bodies(MsgId.ReportRequest);
      expect(r0!.retcode).toBe(RetCode.Succ);
      expect(r1!.retcode).toBe(RetCode.Overload);
      for (const [r, [inner, outer]] of [[r0!, ok], [r1!, failed]] as const) {
        expect(r.usetimeUs).toBeGreaterThanOrEqual(inner);
        expect(r.usetimeUs).toBeLessThanOrEqual(outer);
      }
    });

    it('asks for the node with options.key', async () => {
      await client.call(1, 1, () => undefined, { key: 'user-42' });
      expect(Buffer.from(agent.bodies(MsgId.GetHostRequest)[0]!.hashKey!).toString()).toBe('user-42');
    });

    it('reports RET_OVERLOAD and rethrows when the function fails', async () => {
      const boom = new Error('boom');
      await expect(
        client.call(1, 1, () => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      await agent.waitFor(() => agent.bodies(MsgId.ReportRequest).length === 1, 'the report');
      expect(agent.bodies(MsgId.ReportRequest)[0]).toMatchObject({ host: { port: 9001 }, retcode: RetCode.Overload });
    });

    it('rejects with a clear LarsError, without calling the function, when there is no node', async () => {
      let called = false;
      const fn = () => {
        called = true;
      };
      const noRoute = await client.call(8, 8, fn).catch((e: unknown) => e);
      expect(noRoute).toBeInstanceOf(LarsError);
      expect(noRoute).toMatchObject({ code: 'ERR_NO_HOST', message: expect.stringMatching(/no route .*RET_NOEXIST.*regInit\(8, 8\)/) });
      agent.hooks.onGetHost = (req, reply) => reply(MsgId.GetHostResponse, { seq: req.seq, modid: req.modid, cmdid: req.cmdid, retcode: RetCode.Overload });
      await expect(client.call(1, 1, fn)).rejects.toMatchObject({ code: 'ERR_NO_HOST', message: expect.stringMatching(/every node is overloaded/) });
      expect(called).toBe(false);
      expect(agent.bodies(MsgId.ReportRequest)).toEqual([]);
    });
  });

  it('sends getHost\'s key as hash_key: a string as UTF-8, bytes as they are, none without one', async () => {
    await client.getHost(1, 1, { key: 'clé' });
    await client.getHost(1, 1, { key: new Uint8Array([0, 255, 7]) });
    await client.getHost(1, 1, { key: '' });
    await client.getHost(1, 1);
    const keys = agent.bodies(MsgId.GetHostRequest).map((b) => (b.hashKey === undefined ? undefined : [...b.hashKey]));
    expect(keys).toEqual([[...Buffer.from('clé', 'utf8')], [0, 255, 7], undefined, undefined]);
    expect(agent.received[1]!.raw).toEqual(
      encodeFrame(MsgId.GetHostRequest, encodeBody(MsgId.GetHostRequest, { seq: 1, modid: 1, cmdid: 1, hashKey: new Uint8Array([0, 255, 7]) })),
    );
  });

  it('sends report\'s usetimeUs as usetime_us (none when 0 or absent)', async () => {
    client.report(1, 1, '10.0.0.1', 9001, RetCode.Succ, { usetimeUs: 1500 });
    client.report(1, 1, '10.0.0.1', 9001, RetCode.Succ, { usetimeUs: 0xffffffff });
    client.report(1, 1, '10.0.0.1', 9001, RetCode.Succ, { usetimeUs: 0 });
    await agent.waitFor(() => agent.received.length === 3, 'three reports');
    expect(agent.bodies(MsgId.ReportRequest).map((b) => b.usetimeUs)).toEqual([1500, 0xffffffff, undefined]);
  });

  it('close() answers waiting requests at once, and later ones without sending', async () => {
    agent.hooks.onGetHost = () => undefined;
    const waiting = client.getHost(1, 1);
    const waitingRoute = client.getRoute(1, 1);
    await agent.waitFor(() => agent.received.length === 2, 'both requests');
    const t0 = performance.now();
    await client.close();
    const [host, route] = await Promise.all([waiting, waitingRoute]);
    expect(performance.now() - t0).toBeLessThan(TIMEOUT_MS);
    expect(host).toEqual({ retcode: RetCode.SystemError });
    expect(route).toEqual({ retcode: RetCode.SystemError, hosts: [] });
    expect(client.closed).toBe(true);
    const sent = client.stats.sent;
    expect(await client.getHost(1, 1)).toEqual({ retcode: RetCode.SystemError });
    expect(await client.regInit(1, 1)).toBe(RetCode.SystemError);
    await expect(client.call(1, 1, () => 1)).rejects.toThrow(/the client is closed/);
    client.report(1, 1, '10.0.0.1', 9001, 0);
    expect(client.stats.sent).toBe(sent);
    await client.close(); // idempotent
  });

  it('throws ERR_INVALID_INPUT for bad arguments, before sending anything', () => {
    const bad = (f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code: 'ERR_INVALID_INPUT' }));
    bad(() => client.report(1, 1, '10.0.0.256', 1, 0));
    bad(() => client.report(1, 1, '10.0.0.1', 70000, 0));
    bad(() => client.getHost(1.5, 1));
    bad(() => client.getRoute(1, 2 ** 32));
    bad(() => client.getHost(1, 1, { key: 'k'.repeat(MAX_HASH_KEY_BYTES + 1) }));
    bad(() => client.getHost(1, 1, { key: 42 as unknown as string }));
    bad(() => client.report(1, 1, '10.0.0.1', 1, 0, { usetimeUs: -1 }));
    bad(() => client.report(1, 1, '10.0.0.1', 1, 0, { usetimeUs: 2 ** 32 }));
    bad(() => client.report(1, 1, '10.0.0.1', 1, 0, { usetimeUs: 1.5 }));
    bad(() => new LarsClient({ port: 65534 }));
    bad(() => new LarsClient({ timeoutMs: 0 }));
    bad(() => new LarsClient({ mode: 'shm' as 'local' }));
    bad(() => new LarsClient({ viewDir: 7 as unknown as string }));
    bad(() => new LarsClient({ batchReports: 'yes' as unknown as boolean }));
    bad(() => client.getHostSync(1, 1.5));
    expect(client.stats.sent).toBe(0);
  });

  describe('modes without a view', () => {
    it('udp never opens the view: getHostSync answers undefined, counted, and no fallback is counted', async () => {
      const udp = newClient({ mode: 'udp' });
      expect(udp.getHostSync(1, 1)).toBeUndefined();
      expect(await udp.getHost(1, 1)).toMatchObject({ retcode: RetCode.Succ });
      expect(udp.stats).toMatchObject({ syncMisses: 1, localPicks: 0, udpPicks: 1, fallbacks: { missingModule: 0, stale: 0, missingFile: 0, layout: 0, corrupt: 0 } });
    });

    it('auto with no view file (or viewDir \'\', or an agent not on loopback) is UDP mode', async () => {
      const empty = mkdtempSync(join(tmpdir(), 'lars-no-views-'));
      try {
        const auto = newClient({ viewDir: empty });
        expect(auto.getHostSync(1, 1)).toBeUndefined();
        expect(await auto.getHost(1, 1)).toMatchObject({ retcode: RetCode.Succ });
        expect(auto.stats).toMatchObject({ syncMisses: 1, udpPicks: 1, fallbacks: { missingFile: 2 } });
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
      const off = newClient({ viewDir: '' });
      expect(off.getHostSync(1, 1)).toBeUndefined();
      expect(off.stats.fallbacks.missingFile).toBe(0);
      const remote = new LarsClient({ host: '10.255.255.1', mode: 'auto', cacheDir: '' });
      clients.push(remote);
      expect(remote.getHostSync(1, 1)).toBeUndefined();
      expect(remote.stats.fallbacks.missingFile).toBe(0);
    });

    it('batchReports: true sends the reports as ReportBatchRequests per agent port, in order, within 5 ms', async () => {
      const batching = newClient({ mode: 'udp', batchReports: true });
      const rows: [number, number, string, number, number][] = [
        [1, 1, '10.0.0.1', 9001, RetCode.Overload],
        [1, 2, '10.0.0.2', 9002, RetCode.Succ],
        [1, 1, '192.168.1.177', 9002, RetCode.Succ],
        [1, 1, '10.0.0.1', 9001, RetCode.Succ],
      ];
      for (const [m, c, ip, port, rc] of rows) batching.report(m, c, ip, port, rc, { usetimeUs: port });
      await agent.waitFor(() => agent.received.length === 2, 'two batches');
      const batches = agent.received.map((r) => ({ index: r.index, reports: decodeBody(MsgId.ReportBatchRequest, r.raw.subarray(8)).report }));
      expect(batches.map((b) => b.index).sort()).toEqual([agentPortIndex(1, 1), agentPortIndex(1, 2)].sort());
      for (const b of batches) {
        const expected = rows
          .filter(([m, c]) => agentPortIndex(m, c) === b.index)
          .map(([modid, cmdid, ip, port, retcode]) => ({ modid, cmdid, host: { ip: ipToInt32(ip), port }, retcode, usetimeUs: port }));
        expect(b.reports).toEqual(expected);
      }
      expect(batching.stats).toMatchObject({ reportBatchesSent: 2, reportsBatched: 4, sent: 2 });
    });

    it('close() sends the reports still queued', async () => {
      const batching = newClient({ mode: 'udp', batchReports: true });
      batching.report(1, 1, '10.0.0.1', 9001, RetCode.Succ);
      await batching.close();
      await agent.waitFor(() => agent.received.length === 1, 'the batch');
      expect(agent.received[0]!.msgid).toBe(MsgId.ReportBatchRequest);
    });
  });

  it('sends uint32 module ids as the same 32 bits', async () => {
    const big = 2 ** 31 + 5; // -2147483643 as int32
    agent.setRoute(big | 0, 1, [{ ip: '10.0.0.9', port: 9 }]);
    const r: GetHostResult = await client.getHost(big, 1);
    expect(r).toEqual({ retcode: RetCode.Succ, ip: '10.0.0.9', port: 9 });
    expect(agent.received[0]!.index).toBe(agentPortIndex(big, 1));
  });
});
