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
  /** A table set before listen(), handed to the server as soon as it exists. */
  private firstTable: Buffer | undefined;

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
    if (this.firstTable !== undefined) this.server.setTable(this.firstTable);
    this.firstTable = undefined;
    return this.server.port();
  }

  /** Before listen() too: the DNS service loads its first table before it accepts connections. */
  setIndex(index: RouteIndex): void {
    const table = index.toNativeTable();
    if (this.server === undefined) this.firstTable = table;
    else this.server.setTable(table);
  }

  push(modules: readonly ModuleKey[]): void {
    // Before listen() nobody is subscribed.
    if (modules.length === 0 || this.server === undefined) return;
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
