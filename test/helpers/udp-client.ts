// A test API client of the agent over UDP: sends GetHostRequest, ReportRequest and
// API_GetRouteRequest to the port of the module ((modid + cmdid) % 3 above the base port) and
// waits for the matching reply with a timeout, as the SDK must (one request at a time). Raw
// datagrams for bad-input tests.
import { createSocket, type Socket } from 'node:dgram';
import { encodeFrame, decodeDatagram } from '../../src/wire/frame.js';
import {
  MsgId,
  decodeBody,
  encodeBody,
  type GetHostResponse,
  type GetRouteResponse,
  type MessageById,
  type RegisterRequest,
  type RegisterResponse,
  type MsgId as MsgIdType,
} from '../../src/wire/messages.js';

interface Reply {
  readonly msgid: number;
  readonly body: Buffer;
}

/** The port index of a module (PROTOCOL.md), never negative. */
export function modulePortIndex(modid: number, cmdid: number): number {
  return (((modid + cmdid) % 3) + 3) % 3;
}

export class UdpTestClient {
  private readonly replies: Reply[] = [];
  private waiters: (() => void)[] = [];
  private seq = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly basePort: number,
    private readonly host: string,
  ) {
    socket.on('message', (msg) => {
      const d = decodeDatagram(msg);
      if (d.ok) this.replies.push({ msgid: d.frame.msgid, body: Buffer.from(d.frame.body) });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** A client of the agent whose first port is `basePort`. */
  static async open(basePort: number, host = '127.0.0.1'): Promise<UdpTestClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new UdpTestClient(socket, basePort, host);
  }

  portOf(modid: number, cmdid: number): number {
    return this.basePort + modulePortIndex(modid, cmdid);
  }

  send<M extends MsgIdType>(port: number, msgid: M, message: MessageById[M]): void {
    this.sendRaw(port, encodeFrame(msgid, encodeBody(msgid, message)));
  }

  sendRaw(port: number, bytes: Buffer): void {
    this.socket.send(bytes, port, this.host);
  }

  async getHost(modid: number, cmdid: number, timeoutMs = 5_000): Promise<GetHostResponse> {
    const seq = ++this.seq;
    this.send(this.portOf(modid, cmdid), MsgId.GetHostRequest, { seq, modid, cmdid });
    return this.take(
      MsgId.GetHostResponse,
      (r: GetHostResponse) => r.seq === seq,
      `GetHostResponse seq ${seq} for ${modid}/${cmdid}`,
      timeoutMs,
    );
  }

  async getRoute(modid: number, cmdid: number, timeoutMs = 5_000): Promise<GetRouteResponse> {
    this.send(this.portOf(modid, cmdid), MsgId.ApiGetRouteRequest, { modid, cmdid });
    return this.take(
      MsgId.ApiGetRouteResponse,
      (r: GetRouteResponse) => r.modid === modid && r.cmdid === cmdid,
      `API_GetRouteResponse for ${modid}/${cmdid}`,
      timeoutMs,
    );
  }

  /** A RegisterRequest and the agent's RegisterResponse (matched by seq). */
  async register(req: RegisterRequest, timeoutMs = 5_000): Promise<RegisterResponse> {
    this.send(this.portOf(req.modid, req.cmdid), MsgId.RegisterRequest, req);
    return this.take(MsgId.RegisterResponse, (r: RegisterResponse) => r.seq === req.seq, `RegisterResponse seq ${req.seq}`, timeoutMs);
  }

  /** A call result; the agent sends no reply. `ip` as the wire's int32. */
  report(modid: number, cmdid: number, ip: number, port: number, retcode: number): void {
    this.send(this.portOf(modid, cmdid), MsgId.ReportRequest, { modid, cmdid, host: { ip, port }, retcode });
  }

  close(): void {
    this.socket.close();
  }

  /** Removes and returns the first reply of `msgid` that `match` accepts (older ones are stale and dropped). */
  private take<T>(msgid: number, match: (r: T) => boolean, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        while (this.replies.length > 0) {
          const r = this.replies.shift()!;
          if (r.msgid !== msgid) continue;
          const body = decodeBody(msgid, r.body) as T;
          if (match(body)) {
            clearTimeout(timer);
            resolve(body);
            return;
          }
        }
        this.waiters.push(check);
      };
      check();
    });
  }
}
