// A TCP proxy the tests can cut: stands between a daemon and MySQL (or the agent and DNS) so a
// test can make the peer unreachable (stop: drops connections and refuses new ones) and bring it
// back, make it hang (holdReplies: requests still arrive, answers wait until releaseReplies), and
// lose what a client sends first on its next connection.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private dropNext = false;
  port = 0;
  /** Client chunks lost by dropFirstChunkOfNextConnection(). */
  dropped = 0;
  /** Each connection's target side and the client its answers go to. */
  private readonly replies = new Map<Socket, Socket>();
  private repliesHeld = false;
  /** Connections accepted so far. */
  accepted = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  /** Listens (again on the same port after a stop). */
  async start(): Promise<number> {
    const server = createServer((client) => {
      this.accepted++;
      const upstream = connect(this.targetPort, this.targetHost);
      this.replies.set(upstream, client);
      upstream.on('close', () => this.replies.delete(upstream));
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      if (this.dropNext) {
        this.dropNext = false;
        client.once('data', () => {
          this.dropped++;
          client.pipe(upstream);
        });
      } else {
        client.pipe(upstream);
      }
      if (!this.repliesHeld) upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** The first chunk the next accepted client sends is lost; the rest of that connection passes. */
  dropFirstChunkOfNextConnection(): void {
    this.dropNext = true;
  }

  /** Refuses new connections and cuts the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** From now on the target's answers wait in the proxy (a server that stopped answering). */
  holdReplies(): void {
    this.repliesHeld = true;
    for (const [upstream, client] of this.replies) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Delivers the held answers and forwards again. */
  releaseReplies(): void {
    this.repliesHeld = false;
    for (const [upstream, client] of this.replies) upstream.pipe(client);
  }
}
