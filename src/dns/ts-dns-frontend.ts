// The pure-TypeScript DNS frontend (LARS_IMPL=ts): same behaviour as the native one, on node:net.
import type { ModuleKey } from '../store/store.js';
import { createLogger } from '../log.js';
import { TcpFrameServer, type FrameConnection } from '../net/tcp-frame-server.js';
import { MsgId, type GetRouteRequest } from '../wire/messages.js';
import { moduleKey } from '../wire/module-key.js';
import type { DnsFrontend, DnsFrontendOptions, DnsFrontendStats } from './dns-frontend.js';
import { RouteIndex } from './route-index.js';

const log = createLogger('dns');

/** LeaseRequest frames held between two drains, as the native server's queue. */
const MAX_QUEUED_LEASE_FRAMES = 65536;

export class TsDnsFrontend implements DnsFrontend {
  private index = RouteIndex.EMPTY;
  private readonly server: TcpFrameServer<typeof MsgId.GetRouteRequest>;
  /** module key → connections subscribed to it; and the reverse, to unsubscribe on close. */
  private readonly subscribers = new Map<string, Set<FrameConnection>>();
  private readonly subscriptionsOf = new Map<FrameConnection, Set<string>>();
  private subscriptionCount = 0;
  private subscriptionsRefused = 0;
  private pushes = 0;
  private leaseBodies: Buffer[] = [];
  private leaseFrames = 0;
  private leaseFramesDropped = 0;

  constructor(private readonly opts: DnsFrontendOptions) {
    this.server = new TcpFrameServer({
      ...opts,
      msgid: MsgId.GetRouteRequest,
      onMessage: (conn, req) => this.onRequest(conn, req),
      onClose: (conn) => this.unsubscribeAll(conn),
      rawMsgid: MsgId.LeaseRequest,
      onRawFrame: (body) => {
        this.leaseFrames++;
        if (this.leaseBodies.length >= MAX_QUEUED_LEASE_FRAMES) this.leaseFramesDropped++;
        else this.leaseBodies.push(Buffer.from(body));
      },
      log,
    });
  }

  listen(): Promise<number> {
    return this.server.listen();
  }

  setIndex(index: RouteIndex): void {
    this.index = index;
  }

  push(modules: readonly ModuleKey[]): void {
    for (const m of modules) {
      const subs = this.subscribers.get(moduleKey(m.modid, m.cmdid));
      if (subs === undefined) continue;
      const frame = this.index.frameFor(m.modid, m.cmdid);
      // Copy first: a send that overflows closes the connection, which edits the set.
      for (const conn of [...subs]) {
        conn.send(frame);
        this.pushes++;
      }
    }
  }

  takeLeases(): Buffer[] {
    const out = this.leaseBodies;
    this.leaseBodies = [];
    return out;
  }

  stats(): DnsFrontendStats {
    const c = this.server.counters;
    return {
      connections: this.server.connectionCount,
      subscriptions: this.subscriptionCount,
      subscriptionsRefused: this.subscriptionsRefused,
      accepted: c.accepted,
      rejectedMaxConn: c.rejectedMaxConn,
      framesIn: c.framesIn,
      framesOut: c.framesOut,
      protocolErrors: c.protocolErrors,
      badBodies: c.badBodies,
      unknownMsgIds: c.unknownMsgIds,
      pushes: this.pushes,
      outputOverflowCloses: c.outputOverflowCloses,
      leaseFrames: this.leaseFrames,
      leaseFramesDropped: this.leaseFramesDropped,
    };
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private onRequest(conn: FrameConnection, req: GetRouteRequest): void {
    this.subscribe(conn, moduleKey(req.modid, req.cmdid));
    conn.send(this.index.frameFor(req.modid, req.cmdid));
  }

  private subscribe(conn: FrameConnection, key: string): void {
    let mine = this.subscriptionsOf.get(conn);
    if (mine === undefined) this.subscriptionsOf.set(conn, (mine = new Set()));
    if (mine.has(key)) return;
    if (mine.size >= this.opts.maxSubscriptionsPerConn) {
      this.subscriptionsRefused++;
      log.limited(
        'warn',
        'subscription-cap',
        `connection from ${conn.socket.remoteAddress}:${conn.socket.remotePort} is subscribed to max_subscriptions_per_conn (${this.opts.maxSubscriptionsPerConn}) modules; further requests are answered but not subscribed (${this.subscriptionsRefused} refused so far)`,
      );
      return;
    }
    mine.add(key);
    let subs = this.subscribers.get(key);
    if (subs === undefined) this.subscribers.set(key, (subs = new Set()));
    subs.add(conn);
    this.subscriptionCount++;
  }

  private unsubscribeAll(conn: FrameConnection): void {
    const mine = this.subscriptionsOf.get(conn);
    if (mine === undefined) return;
    this.subscriptionsOf.delete(conn);
    for (const key of mine) {
      const subs = this.subscribers.get(key);
      subs?.delete(conn);
      if (subs?.size === 0) this.subscribers.delete(key);
    }
    this.subscriptionCount -= mine.size;
  }
}
