// Replies a real agent never sends, from a fake agent on three UDP ports: the Python and Java
// clients drop malformed datagrams, other msgids, strangers' datagrams and stale replies (counted),
// and still take the right reply that follows them.
import { createSocket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/frame.js';
import { MsgId, RetCode, encodeBody, ipToInt32, type GetHostRequest } from '../../src/wire/messages.js';
import { CLIENT_LANGS, ClientDriver } from '../../bench/lib/client-driver.js';
import { closeUdp } from '../helpers/free-port.js';
import { FakeAgent } from '../sdk/fake-agent.js';

const TIMEOUT_MS = 300;

describe.each(CLIENT_LANGS)('%s client, replies the agent never sends', (lang) => {
  let agent: FakeAgent;
  let client: ClientDriver;

  beforeAll(async () => {
    agent = await FakeAgent.start();
    agent.setRoute(1, 1, [{ ip: '10.0.0.1', port: 9001 }]);
    client = await ClientDriver.start(lang, { port: agent.base, timeoutMs: TIMEOUT_MS });
  });
  afterEach(() => {
    agent.hooks = {};
  });
  afterAll(async () => {
    await client.close();
    await agent.close();
  });

  it('drops malformed datagrams, other msgids, strangers and replies for another module, then takes its reply', async () => {
    const stranger = createSocket('udp4');
    agent.hooks.onGetHost = (req, reply, a) => {
      const to = a.received.at(-1)!.from;
      const index = (req.modid + req.cmdid) % 3;
      a.sendRaw(index, Buffer.from('abc'), to); // shorter than a header
      a.sendRaw(index, Buffer.from('0500000064000000', 'hex'), to); // body length past the datagram
      a.sendRaw(index, encodeFrame(MsgId.GetHostResponse, Buffer.from('ff', 'hex')), to); // a body that does not parse
      a.sendRaw(index, encodeFrame(MsgId.GetHostResponse, encodeBody(MsgId.GetHostResponse, { ...req, retcode: 0 })), to); // SUCC, no host: nonsense
      stranger.send(encodeFrame(MsgId.GetHostResponse, encodeBody(MsgId.GetHostResponse, { ...req, retcode: 1 })), to.port, to.address);
      reply(MsgId.GetHostResponse, a.pick(req));
    };
    // The SUCC-without-host reply is the matched one: the client answers RET_SYSTEM_ERROR, as the TS SDK does.
    expect(await client.cmd('get_host', 1, 1)).toMatchObject({ retcode: RetCode.SystemError, from_cache: false });
    agent.hooks.onGetHost = (req, reply, a) => {
      const to = a.received.at(-1)!.from;
      const index = (req.modid + req.cmdid) % 3;
      a.sendRaw(index, Buffer.from('abc'), to);
      a.sendRaw(index, encodeFrame(MsgId.ApiGetRouteResponse, encodeBody(MsgId.ApiGetRouteResponse, { modid: 1, cmdid: 1, host: [] })), to); // another msgid
      a.sendRaw(index, encodeFrame(MsgId.GetHostResponse, encodeBody(MsgId.GetHostResponse, { ...req, modid: 2, retcode: 1 })), to); // another module
      stranger.send(encodeFrame(MsgId.GetHostResponse, encodeBody(MsgId.GetHostResponse, { ...req, retcode: 1 })), to.port, to.address);
      reply(MsgId.GetHostResponse, a.pick(req));
    };
    expect(await client.cmd('get_host', 1, 1)).toEqual({ retcode: RetCode.Succ, ip: '10.0.0.1', port: 9001, from_cache: false });
    await closeUdp(stranger);
    // malformed: 'abc' twice, the bad length, the bad body, the hostless SUCC; unexpected: the
    // route reply and the stranger twice; stale: the other module, and the first request's good
    // reply, which came after the hostless one had answered it.
    expect(await client.cmd('stats')).toMatchObject({ sent: 2, matched: 1, malformed: 5, unexpected: 3, stale: 2, timeouts: 0 });
  });

  it('drops the late reply to a request that timed out (stale), and matches the next one by seq', async () => {
    const before = await client.cmd('stats');
    let first: GetHostRequest | undefined;
    agent.hooks.onGetHost = (req, reply, a) => {
      if (first === undefined) {
        first = req; // no answer: the request times out
        return;
      }
      reply(MsgId.GetHostResponse, { seq: first.seq, modid: 1, cmdid: 1, retcode: RetCode.Succ, host: { ip: ipToInt32('10.9.9.9'), port: 1 } });
      reply(MsgId.GetHostResponse, a.pick(req));
    };
    expect(await client.cmd('get_host', 1, 1)).toMatchObject({ retcode: RetCode.SystemError });
    expect(await client.cmd('get_host', 1, 1)).toEqual({ retcode: RetCode.Succ, ip: '10.0.0.1', port: 9001, from_cache: false });
    const after = await client.cmd('stats');
    expect(after.timeouts - before.timeouts).toBe(1);
    expect(after.stale - before.stale).toBe(1);
    expect(after.matched - before.matched).toBe(1);
  });

  it('refuses bad arguments with ERR_INVALID_INPUT; once closed, answers RET_SYSTEM_ERROR without sending', async () => {
    expect(await client.cmd('report', 1, 1, '10.0.0', 9001, 0)).toEqual({ error: 'ERR_INVALID_INPUT' });
    expect(await client.cmd('register', 1, 1, '10.0.0.1', 9001, 999)).toEqual({ error: 'ERR_INVALID_INPUT' }); // ttl under 1 s
    expect(await client.cmd('register', 1, 1, '0.0.0.0', 9001, 1000)).toEqual({ error: 'ERR_INVALID_INPUT' });
    const sent = (await client.cmd('stats')).sent as number;
    expect(await client.cmd('close')).toEqual({ ok: true });
    expect(await client.cmd('get_host', 1, 1)).toEqual({ retcode: RetCode.SystemError, ip: null, port: null, from_cache: false });
    expect(await client.cmd('get_route', 1, 1)).toEqual({ retcode: RetCode.SystemError, hosts: [], from_cache: false });
    expect(await client.cmd('report', 1, 1, '10.0.0.1', 9001, 0)).toEqual({ ok: true });
    expect(await client.cmd('register', 1, 1, '10.0.0.1', 9001, 1000)).toEqual({ error: 'ERR_CLOSED' });
    expect(await client.cmd('call', 1, 1, 'ok')).toEqual({ error: 'ERR_NO_HOST' });
    expect((await client.cmd('stats')).sent).toBe(sent); // nothing left the closed client
  });
});
