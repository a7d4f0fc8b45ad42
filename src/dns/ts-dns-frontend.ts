// The pure-TypeScript DNS frontend (LARS_IMPL=ts): same behaviour as the native one, on node:net.
import type { ModuleKey } from '../store/store.js';
import { createLogger } from '../log.js';
import { TcpFrameServer, type FrameConnection } from '../net/tcp-frame-server.js';
import { MsgId, decodeBody, type GetRouteRequest } from '../wire/messages.js';
import type { DnsFrontend, DnsFrontendOptions, DnsFrontendStats } from './dns-frontend.js';
import { RouteIndex, moduleKey } from './route-index.js';

const log = createLogger('dns');

export class TsDnsFrontend implements DnsFrontend {
  private index = RouteIndex.EMPTY;
  private readonly server: TcpFrameServer;
  /** module key → connections subscribed to it; and the reverse, to unsubscribe on close. */
  private readonly subscribers = new Map<string, Set<FrameConnection>>();
  private readonly subscriptionsOf = new Map<FrameConnection, Set<string>>();
  private subscriptionCount = 0;
  private badBodies = 0;
  private unknownMsgIds = 0;
  private pushes = 0;

  constructor(opts: DnsFrontendOptions) {
    this.server = new TcpFrameServer({
      ...opts,
      onFrame: (conn, msgid, body) => this.onFrame(conn, msgid, body),
      onClose: (conn) => this.unsubscribeAll(conn),
      onProtocolError: (conn) => log.limited('warn', 'bad-length', `closing ${conn.socket.remoteAddress}: frame length out of range`),
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

  stats(): DnsFrontendStats {
    const c = this.server.counters;
    return {
      connections: this.server.connectionCount,
      subscriptions: this.subscriptionCount,
      accepted: c.accepted,
      rejectedMaxConn: c.rejectedMaxConn,
      framesIn: c.framesIn,
      framesOut: c.framesOut,
      protocolErrors: c.protocolErrors,
      badBodies: this.badBodies,
      unknownMsgIds: this.unknownMsgIds,
      pushes: this.pushes,
      outputOverflowCloses: c.outputOverflowCloses,
    };
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private onFrame(conn: FrameConnection, msgid: number, body: Buffer): void {
    if (msgid !== MsgId.GetRouteRequest) {
      this.unknownMsgIds++;
      log.limited('warn', 'unknown-msgid', `ignoring msgid ${msgid} from ${conn.socket.remoteAddress}`);
      return;
    }
    let req: GetRouteRequest;
    try {
      req = decodeBody(MsgId.GetRouteRequest, body) as GetRouteRequest;
    } catch {
      this.badBodies++;
      log.limited('warn', 'bad-body', `dropping unparsable GetRouteRequest from ${conn.socket.remoteAddress}`);
      return;
    }
    this.subscribe(conn, moduleKey(req.modid, req.cmdid));
    conn.send(this.index.frameFor(req.modid, req.cmdid));
  }

  private subscribe(conn: FrameConnection, key: string): void {
    let mine = this.subscriptionsOf.get(conn);
    if (mine === undefined) this.subscriptionsOf.set(conn, (mine = new Set()));
    if (mine.has(key)) return;
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
