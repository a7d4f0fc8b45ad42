// A stand-in for the agent's UDP side: three sockets on consecutive loopback ports that record
// every datagram and answer GetHostRequest / API_GetRouteRequest from a table, round robin, or
// however a test's hooks say. Tests wait for datagrams instead of sleeping.
import type { RemoteInfo, Socket } from 'node:dgram';
import { bindConsecutiveUdp, closeUdp } from '../helpers/free-port.js';
import { Waiters } from '../helpers/waiters.js';
import { decodeDatagram, encodeFrame } from '../../src/wire/frame.js';
import { moduleKey } from '../../src/wire/module-key.js';
import {
  MsgId,
  RetCode,
  decodeBody,
  encodeBody,
  ipToInt32,
  type GetHostRequest,
  type GetHostResponse,
  type GetRouteRequest,
  type GetRouteResponse,
  type MessageById,
} from '../../src/wire/messages.js';

export interface Received {
  /** 0, 1 or 2: which of the three ports it arrived on. */
  readonly index: number;
  readonly msgid: number;
  readonly raw: Buffer;
  readonly from: RemoteInfo;
}

export type Reply = <M extends typeof MsgId.GetHostResponse | typeof MsgId.ApiGetRouteResponse>(msgid: M, body: MessageById[M]) => void;

export interface FakeAgentHooks {
  /** Answers a GetHostRequest; the default picks round robin from `routes`, RET_NOEXIST without one. */
  onGetHost?: (req: GetHostRequest, reply: Reply, agent: FakeAgent) => void;
  /** Answers an API_GetRouteRequest; the default answers `routes`. */
  onGetRoute?: (req: GetRouteRequest, reply: Reply, agent: FakeAgent) => void;
}

export class FakeAgent {
  readonly received: Received[] = [];
  /** Hosts per module key `modid/cmdid`. */
  readonly routes = new Map<string, { ip: string; port: number }[]>();
  hooks: FakeAgentHooks = {};
  readonly #sockets: Socket[];
  readonly #cursor = new Map<string, number>();
  readonly #waiters = new Waiters();

  private constructor(sockets: Socket[]) {
    this.#sockets = sockets;
    sockets.forEach((s, index) => s.on('message', (raw, from) => this.#onDatagram(index, raw, from)));
  }

  static async start(): Promise<FakeAgent> {
    return new FakeAgent(await bindConsecutiveUdp(3));
  }

  get base(): number {
    return this.#sockets[0]!.address().port;
  }

  setRoute(modid: number, cmdid: number, hosts: { ip: string; port: number }[]): void {
    this.routes.set(moduleKey(modid, cmdid), hosts);
  }

  /** The decoded bodies of the datagrams received with `msgid`, in order. */
  bodies<M extends keyof MessageById>(msgid: M): MessageById[M][] {
    return this.received.filter((r) => r.msgid === msgid).map((r) => decodeBody(msgid, decodeFrame(r.raw)) as MessageById[M]);
  }

  /** Sends one raw datagram from port index `index` to `to` (e.g. garbage, or a stale reply). */
  sendRaw(index: number, bytes: Uint8Array, to: RemoteInfo): void {
    this.#sockets[index]!.send(bytes, to.port, to.address);
  }

  /** Resolves once `predicate` holds, re-checked on every datagram. */
  waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.#waiters.waitFor(predicate, what, timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.#sockets.map(closeUdp));
  }

  /** The default GetHostRequest answer: round robin over the module's hosts, RET_NOEXIST without any. */
  pick(req: GetHostRequest): GetHostResponse {
    const key = moduleKey(req.modid, req.cmdid);
    const hosts = this.routes.get(key) ?? [];
    if (hosts.length === 0) return { seq: req.seq, modid: req.modid, cmdid: req.cmdid, retcode: RetCode.NoExist };
    const i = this.#cursor.get(key) ?? 0;
    this.#cursor.set(key, i + 1);
    const h = hosts[i % hosts.length]!;
    return { seq: req.seq, modid: req.modid, cmdid: req.cmdid, retcode: RetCode.Succ, host: { ip: ipToInt32(h.ip), port: h.port } };
  }

  routeOf(req: GetRouteRequest): GetRouteResponse {
    const hosts = this.routes.get(moduleKey(req.modid, req.cmdid)) ?? [];
    return { modid: req.modid, cmdid: req.cmdid, host: hosts.map((h) => ({ ip: ipToInt32(h.ip), port: h.port })) };
  }

  #onDatagram(index: number, raw: Buffer, from: RemoteInfo): void {
    this.received.push({ index, msgid: raw.length >= 4 ? raw.readInt32LE(0) : -1, raw: Buffer.from(raw), from });
    const d = decodeDatagram(raw);
    if (d.ok) {
      const reply: Reply = (msgid, body) => this.#sockets[index]!.send(encodeFrame(msgid, encodeBody(msgid, body)), from.port, from.address);
      if (d.frame.msgid === MsgId.GetHostRequest) {
        const req = decodeBody(MsgId.GetHostRequest, d.frame.body);
        if (this.hooks.onGetHost) this.hooks.onGetHost(req, reply, this);
        else reply(MsgId.GetHostResponse, this.pick(req));
      } else if (d.frame.msgid === MsgId.ApiGetRouteRequest) {
        const req = decodeBody(MsgId.ApiGetRouteRequest, d.frame.body);
        if (this.hooks.onGetRoute) this.hooks.onGetRoute(req, reply, this);
        else reply(MsgId.ApiGetRouteResponse, this.routeOf(req));
      }
    }
    this.#waiters.wake();
  }
}

function decodeFrame(raw: Buffer): Buffer {
  const d = decodeDatagram(raw);
  if (!d.ok) throw new Error(`not one frame: ${d.reason}`);
  return d.frame.body;
}
