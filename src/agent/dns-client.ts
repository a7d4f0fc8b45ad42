// The agent's DNS client: one TCP connection to one of the configured DNS services (failing over
// along the list), GetRouteRequest for every pull the balancers want, and every GetRouteResponse
// (a reply or an unsolicited push) handed on as the module's whole host set. After every
// (re)connect it reports the new connection, so that every route is pulled again — whatever was
// in flight on the old connection, and the subscriptions it held, are gone.
import type { ModuleId } from '../balancer/index.js';
import type { Endpoint } from '../config/types.js';
import { createLogger } from '../log.js';
import { encodeFrame } from '../wire/frame.js';
import { MsgId, decodeBody, encodeBody, type GetRouteResponse, type Lease } from '../wire/messages.js';
import { moduleKey } from '../wire/module-key.js';
import type { BackoffOptions } from './backoff.js';
import { ReconnectingClient } from './reconnecting-client.js';

const log = createLogger('agent');

/** A Lease encodes to at most ~110 bytes (a 64-byte zone): 500 stay well inside one frame. */
const LEASES_PER_FRAME = 500;

export interface DnsClientOptions {
  readonly endpoints: readonly Endpoint[];
  /** The connection is up (again): pull every route. */
  readonly onConnected: () => void;
  /** A GetRouteResponse: the module's whole host set (empty: the module has no route) with weights,
   * zones and the module's policy, and the response's body as DNS sent it (for the route cache on disk). */
  readonly onRoute: (route: GetRouteResponse, body: Buffer) => void;
  readonly backoff?: BackoffOptions;
  readonly connectTimeoutMs?: number;
}

export interface DnsClientStats {
  readonly connected: boolean;
  readonly endpoint: string;
  readonly connects: number;
  readonly connectFailures: number;
  readonly disconnects: number;
  readonly protocolErrors: number;
  /** GetRouteRequest frames sent. */
  readonly requests: number;
  /** Pulls not sent because the connection was down (every route is pulled again on connect). */
  readonly pullsDropped: number;
  /** GetRouteResponse frames applied (replies and pushes). */
  readonly responses: number;
  /** Frames dropped: unparsable bodies and msgids other than GetRouteResponse. */
  readonly badFrames: number;
}

export class DnsClient {
  private readonly client: ReconnectingClient;
  private requests = 0;
  private pullsDropped = 0;
  private responses = 0;
  private badFrames = 0;

  constructor(private readonly opts: DnsClientOptions) {
    this.client = new ReconnectingClient({
      name: 'DNS service',
      endpoints: opts.endpoints,
      backoff: opts.backoff,
      connectTimeoutMs: opts.connectTimeoutMs,
      onConnect: () => opts.onConnected(),
      onFrame: (msgid, body) => this.onFrame(msgid, body),
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  start(): void {
    this.client.start();
  }

  stop(): Promise<void> {
    return this.client.stop();
  }

  /** Sends one GetRouteRequest per distinct module, in one write. Dropped (and counted) while disconnected. */
  requestRoutes(modules: readonly ModuleId[]): void {
    const seen = new Set<string>();
    const frames: Buffer[] = [];
    for (const m of modules) {
      const key = moduleKey(m.modid, m.cmdid);
      if (seen.has(key)) continue;
      seen.add(key);
      frames.push(encodeFrame(MsgId.GetRouteRequest, encodeBody(MsgId.GetRouteRequest, { modid: m.modid, cmdid: m.cmdid })));
    }
    if (frames.length === 0) return;
    if (this.client.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames))) {
      this.requests += frames.length;
    } else {
      this.pullsDropped += frames.length;
    }
  }

  /** Sends leases as LeaseRequest frames in one write; false (nothing sent) while disconnected. */
  sendLeases(leases: readonly Lease[]): boolean {
    const frames: Buffer[] = [];
    for (let i = 0; i < leases.length; i += LEASES_PER_FRAME) {
      frames.push(encodeFrame(MsgId.LeaseRequest, encodeBody(MsgId.LeaseRequest, { lease: leases.slice(i, i + LEASES_PER_FRAME) })));
    }
    return frames.length === 0 || this.client.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  stats(): DnsClientStats {
    const c = this.client.stats();
    const e = this.client.endpoint;
    return {
      connected: c.connected,
      endpoint: e === undefined ? '' : `${e.ip}:${e.port}`,
      connects: c.connects,
      connectFailures: c.connectFailures,
      disconnects: c.disconnects,
      protocolErrors: c.protocolErrors,
      requests: this.requests,
      pullsDropped: this.pullsDropped,
      responses: this.responses,
      badFrames: this.badFrames,
    };
  }

  private onFrame(msgid: number, body: Buffer): void {
    if (msgid !== MsgId.GetRouteResponse) {
      this.badFrames++;
      log.limited('warn', 'dns-unknown-msgid', `ignoring msgid ${msgid} from the DNS service`);
      return;
    }
    let rsp: GetRouteResponse;
    try {
      rsp = decodeBody(MsgId.GetRouteResponse, body);
    } catch {
      this.badFrames++;
      log.limited('warn', 'dns-bad-body', 'dropping an unparsable GetRouteResponse from the DNS service');
      return;
    }
    this.responses++;
    this.opts.onRoute(rsp, body);
  }
}
