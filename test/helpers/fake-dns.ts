// A DNS service the tests control: answers GetRouteRequest from a table the test edits, pushes a
// route (or a burst of versions of it) on demand, and can go down and come back on the same port.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { FrameDecoder, encodeFrame } from '../../src/wire/frame.js';
import { MsgId, decodeBody, encodeBody, ipToInt32 } from '../../src/wire/messages.js';
import { moduleKey } from '../../src/wire/module-key.js';

export class FakeDns {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly routes = new Map<string, [string, number][]>();
  /** Every GetRouteRequest received, as moduleKey(). */
  readonly requests: string[] = [];
  port = 0;

  setRoute(modid: number, cmdid: number, nodes: [string, number][]): void {
    this.routes.set(moduleKey(modid, cmdid), nodes);
  }

  /** The GetRouteResponse frame of a route. */
  frame(modid: number, cmdid: number, nodes = this.routes.get(moduleKey(modid, cmdid)) ?? []): Buffer {
    const host = nodes.map(([ip, port]) => ({ ip: ipToInt32(ip), port }));
    return encodeFrame(MsgId.GetRouteResponse, encodeBody(MsgId.GetRouteResponse, { modid, cmdid, host }));
  }

  /** Sends bytes (frames) to every connected agent. */
  send(bytes: Buffer): void {
    for (const s of this.sockets) s.write(bytes);
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Listens (again on the same port after a stop). */
  async start(): Promise<number> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      const decoder = new FrameDecoder();
      socket.on('data', (chunk) => {
        for (const f of decoder.push(chunk).frames) {
          if (f.msgid !== MsgId.GetRouteRequest) continue;
          const { modid, cmdid } = decodeBody(MsgId.GetRouteRequest, f.body);
          this.requests.push(moduleKey(modid, cmdid));
          socket.write(this.frame(modid, cmdid));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Refuses new connections and cuts the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
