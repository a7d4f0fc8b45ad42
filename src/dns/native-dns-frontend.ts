// The native DNS frontend: requests, subscriptions and replies are handled by C++ on the
// reactor's threads (native/dns/DnsServer). TypeScript only hands it whole tables and lists
// of changed modules.
import { LarsError } from '../errors.js';
import { loadNative } from '../native/addon.js';
import type { ModuleKey } from '../store/store.js';
import type { DnsFrontend, DnsFrontendOptions, DnsFrontendStats } from './dns-frontend.js';
import type { RouteIndex } from './route-index.js';

type NativeDnsServer = InstanceType<ReturnType<typeof loadNative>['servers']['DnsServer']>;

export class NativeDnsFrontend implements DnsFrontend {
  private server: NativeDnsServer | undefined;

  constructor(private readonly opts: DnsFrontendOptions) {}

  async listen(): Promise<number> {
    const { DnsServer } = loadNative().servers;
    this.server = new DnsServer(
      {
        ip: this.opts.ip,
        port: this.opts.port,
        ioThreads: this.opts.threadNum,
        maxConnections: this.opts.maxConn,
        outputCap: this.opts.outputCapBytes,
      },
      this.opts.maxSubscriptionsPerConn,
    );
    return this.server.port();
  }

  setIndex(index: RouteIndex): void {
    this.running().setTable(index.toNativeTable());
  }

  push(modules: readonly ModuleKey[]): void {
    if (modules.length === 0) return;
    const pairs = new Uint32Array(modules.length * 2);
    modules.forEach((m, i) => {
      pairs[2 * i] = m.modid;
      pairs[2 * i + 1] = m.cmdid;
    });
    this.running().push(pairs);
  }

  takeLeases(): Buffer[] {
    return this.server?.takeLeases() ?? [];
  }

  stats(): DnsFrontendStats {
    const s = this.running().stats();
    return {
      connections: s.connections,
      subscriptions: s.subscriptions,
      subscriptionsRefused: s.subscriptionsRefused,
      accepted: s.connections_accepted,
      rejectedMaxConn: s.connections_rejected_maxconn + s.connections_rejected_fd,
      framesIn: s.frames_in,
      framesOut: s.replies + s.pushes,
      protocolErrors: s.protocol_errors,
      badBodies: s.badBodies,
      unknownMsgIds: s.unknownMsgIds,
      pushes: s.pushes,
      outputOverflowCloses: s.output_overflow_closes,
      leaseFrames: s.leaseFrames,
      leaseFramesDropped: s.leaseFramesDropped,
    };
  }

  async close(): Promise<void> {
    this.server?.close();
    this.server = undefined;
  }

  private running(): NativeDnsServer {
    if (this.server === undefined) throw new LarsError('ERR_USAGE', 'the DNS frontend is not listening: call listen() first');
    return this.server;
  }
}
