// A TCP proxy that a test or the fault suite puts between a daemon and MySQL, or an agent and DNS,
// to cut the link (drop open connections, refuse new ones), slow it down, make the peer hang
// (holdReplies: requests still arrive, answers wait until releaseReplies), lose what a client sends
// first on its next connection, and restore it.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Added to each chunk forwarded, in each direction. */
  private delayMs = 0;
  private dropNext = false;
  private repliesHeld = false;
  /** The answer direction of each open connection, to wake when replies are released. */
  private readonly replyPumps = new Set<() => void>();
  port = 0;
  /** Connections accepted so far. */
  accepted = 0;
  /** Client chunks lost by dropFirstChunkOfNextConnection(). */
  dropped = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  /** Listens (again on the same port after a stop). */
  async start(): Promise<number> {
    const server = createServer((client) => {
      this.accepted++;
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      const dropFirst = this.dropNext;
      this.dropNext = false;
      this.forward(client, upstream, { dropFirst, replies: false });
      this.forward(upstream, client, { dropFirst: false, replies: true });
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
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Every round trip through the proxy takes `roundTripMs` longer (half on the way in, half out); 0 restores. */
  slow(roundTripMs: number): void {
    this.delayMs = roundTripMs / 2;
  }

  /** The first chunk the next accepted client sends is lost; the rest of that connection passes. */
  dropFirstChunkOfNextConnection(): void {
    this.dropNext = true;
  }

  /** From now on the target's answers wait in the proxy (a server that stopped answering). */
  holdReplies(): void {
    this.repliesHeld = true;
  }

  /** Delivers the held answers, in order, and forwards again. */
  releaseReplies(): void {
    this.repliesHeld = false;
    for (const pump of this.replyPumps) pump();
  }

  /** Forwards `from` to `to`, each chunk (and the end) delayed by the delay set when it arrived, in order. */
  private forward(from: Socket, to: Socket, how: { dropFirst: boolean; replies: boolean }): void {
    const queue: { due: number; chunk: Buffer | null }[] = [];
    let timer: NodeJS.Timeout | undefined;
    let dropFirst = how.dropFirst;
    const pump = (): void => {
      clearTimeout(timer);
      timer = undefined;
      if (how.replies && this.repliesHeld) return;
      const now = Date.now();
      while (queue.length > 0 && (queue[0] as { due: number }).due <= now) {
        const { chunk } = queue.shift() as { chunk: Buffer | null };
        if (to.destroyed) return;
        if (chunk === null) to.end();
        else to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, (queue[0] as { due: number }).due - now);
    };
    const push = (chunk: Buffer | null): void => {
      const last = queue.at(-1)?.due ?? 0;
      queue.push({ due: Math.max(Date.now() + this.delayMs, last), chunk });
      if (timer === undefined) pump();
    };
    from.on('data', (chunk: Buffer) => {
      if (dropFirst) {
        dropFirst = false;
        this.dropped++;
        return;
      }
      push(chunk);
    });
    from.on('end', () => push(null));
    if (how.replies) this.replyPumps.add(pump);
    to.on('close', () => {
      clearTimeout(timer);
      this.replyPumps.delete(pump);
    });
  }
}
