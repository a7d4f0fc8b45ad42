// The public types of the SDK: client options and the results of each request.
import type { Implementation } from '../native/addon.js';
import { RetCode } from '../wire/messages.js';

export { RetCode };

export interface LarsClientOptions {
  /** The agent's address (default 127.0.0.1). An IPv4 literal avoids a name lookup per datagram. */
  readonly host?: string;
  /** The first of the agent's three UDP ports (default 8888): module (m, c) goes to port + (m + c) % 3. */
  readonly port?: number;
  /** How long a request waits for its reply before it answers RET_SYSTEM_ERROR (default 100 ms). */
  readonly timeoutMs?: number;
  /** regInit(): how many route requests to make at most (default 10). */
  readonly regInitAttempts?: number;
  /** regInit(): pause between two route requests that found no route (default 50 ms). */
  readonly regInitDelayMs?: number;
  /** Which wire codec encodes and decodes datagrams (default 'ts': no native addon needed). */
  readonly impl?: Implementation;
  /**
   * The agent's route cache on disk (its [agent] cache_dir), read when the agent does not answer
   * in time: getHost and getRoute then answer from it, with `fromCache: true`. Default
   * 'var/agent-cache' under the working directory, the agent's default; '' turns the fallback off.
   */
  readonly cacheDir?: string;
  /**
   * Where picks are made (docs/sdk.md). 'auto' (default): in this process, from the agent's view,
   * when the view is fresh and `host` is a loopback address (the view is this host's), else over UDP. 'local': the same, but a view that cannot answer is
   * logged as a warning. 'udp': always over UDP, the view is never opened.
   */
  readonly mode?: SdkMode;
  /** The agent's [agent] view_dir (default '/dev/shm', the agent's default); '': no view, UDP mode. */
  readonly viewDir?: string;
  /**
   * Whether reports go as ReportBatchRequest (at least every 5 ms or 1 000 reports, and on close).
   * Default: for a module whose agent port answers from its view (that agent speaks msgid 9);
   * true: always (an agent of this release that publishes no view); false: never.
   */
  readonly batchReports?: boolean;
}

export type SdkMode = 'auto' | 'local' | 'udp';

/** Picks sent to UDP because the view could not answer, by cause. */
export interface LocalFallbacks {
  /** The module is not in the view (yet): asked over UDP, which makes the agent pull it. */
  readonly missingModule: number;
  /** The view's heartbeat is older than 1 s. */
  readonly stale: number;
  /** No view file (or the addon has no view reader). */
  readonly missingFile: number;
  /** The view file has another layout version. */
  readonly layout: number;
  /** The view file is corrupt or truncated. */
  readonly corrupt: number;
}

/** getHost() and call() options. */
export interface GetHostOptions {
  /**
   * The request's affinity key for a module on policy `ring_hash`: the same key gets the same node
   * while that node is healthy. A string is sent as its UTF-8 bytes; at most MAX_HASH_KEY_BYTES.
   * Other policies ignore it.
   */
  readonly key?: string | Uint8Array;
}

/** report() options. */
export interface ReportOptions {
  /** How long the call took, in microseconds (1..4294967295; absent or 0: not measured). */
  readonly usetimeUs?: number;
}

/** One node of a route. */
export interface HostAddress {
  /** Dotted-quad IPv4. */
  readonly ip: string;
  readonly port: number;
}

/** The agent picked a node. */
export interface HostPicked extends HostAddress {
  readonly retcode: typeof RetCode.Succ;
  /** The agent did not answer in time: the node comes from its route cache on disk, round robin. */
  readonly fromCache?: true;
}

/**
 * No node: RET_OVERLOAD (every node is overloaded and this pick was no probe), RET_NOEXIST (the
 * agent has no route yet and has started pulling it), RET_SYSTEM_ERROR (no valid reply in time).
 */
export interface NoHost {
  readonly retcode: typeof RetCode.Overload | typeof RetCode.NoExist | typeof RetCode.SystemError;
  readonly ip?: undefined;
  readonly port?: undefined;
}

/** What getHost() resolves to; narrow on `retcode === RetCode.Succ` to get ip and port. */
export type GetHostResult = HostPicked | NoHost;

/** What getRoute() resolves to. */
export interface GetRouteResult {
  /** RET_SUCC with at least one host, RET_NOEXIST for an empty route, RET_SYSTEM_ERROR without a valid reply. */
  readonly retcode: typeof RetCode.Succ | typeof RetCode.NoExist | typeof RetCode.SystemError;
  readonly hosts: readonly HostAddress[];
  /** The agent did not answer in time: the hosts come from its route cache on disk. */
  readonly fromCache?: true;
}

/** Counters of one client, for tests and diagnostics. */
export interface LarsClientStats {
  /** Datagrams handed to the socket. */
  readonly sent: number;
  /** Replies matched to a waiting request. */
  readonly matched: number;
  /** Replies nobody waits for any more (their request timed out) or that name another module: dropped. */
  readonly stale: number;
  /** Datagrams that are not one well-formed frame, or a reply that makes no sense (RET_SUCC without a host): dropped. */
  readonly malformed: number;
  /** Datagrams from a port other than the agent's three, or with a msgid the API never receives: dropped. */
  readonly unexpected: number;
  /** Requests that got no reply within timeoutMs. */
  readonly timeouts: number;
  /** Of those, the ones answered from the agent's route cache on disk (fromCache: true). */
  readonly fromCache: number;
  /** Sends the socket refused (e.g. no route to the agent's host). */
  readonly sendErrors: number;
  /** getHost / getHostSync answered from the agent's view, in this process. */
  readonly localPicks: number;
  /** getHost requests sent over UDP. */
  readonly udpPicks: number;
  /** getHostSync calls that answered undefined (UDP mode, or the view could not answer). */
  readonly syncMisses: number;
  /** Picks and routes the view could not answer, by cause. */
  readonly fallbacks: LocalFallbacks;
  /** ReportBatchRequest datagrams sent. */
  readonly reportBatchesSent: number;
  /** Reports that went in them. */
  readonly reportsBatched: number;
}

/** What register() registers: this instance's node of module (modid, cmdid). */
export interface RegisterOptions {
  readonly modid: number;
  readonly cmdid: number;
  /** IPv4 dotted quad other services call this instance on. */
  readonly ip: string;
  readonly port: number;
  /** 1..10000 (default 100). */
  readonly weight?: number;
  /** Availability zone, e.g. az1 (default: none). */
  readonly zone?: string;
  /** Lease time to live, 1 000..600 000 ms (default 10 000): the node goes this long after the last renewal. */
  readonly ttlMs?: number;
}

/** A registration, renewed every ttl/3 until deregister() (or the client's close()). */
export interface Registration {
  readonly modid: number;
  readonly cmdid: number;
  readonly ip: string;
  readonly port: number;
  readonly ttlMs: number;
  /** Ends the registration: the node is removed at once. Resolves when the agent accepted it. Idempotent. */
  deregister(): Promise<void>;
}
