// The network side of the DNS service, behind one interface so that the control plane
// (DnsService) drives the native reactor and the pure-TypeScript server the same way.
import type { ModuleKey } from '../store/store.js';
import type { RouteIndex } from './route-index.js';

/** Monotonic counters and current gauges, read at scrape time. */
export interface DnsFrontendStats {
  readonly connections: number;
  readonly subscriptions: number;
  /** Requests answered but not subscribed: the connection was at maxSubscriptionsPerConn. */
  readonly subscriptionsRefused: number;
  readonly accepted: number;
  readonly rejectedMaxConn: number;
  readonly framesIn: number;
  readonly framesOut: number;
  readonly protocolErrors: number;
  readonly badBodies: number;
  readonly unknownMsgIds: number;
  readonly pushes: number;
  readonly outputOverflowCloses: number;
  /** LeaseRequest frames received, and those dropped because the lease writer fell behind. */
  readonly leaseFrames: number;
  readonly leaseFramesDropped: number;
}

export interface DnsFrontend {
  /** Starts listening; resolves to the bound port. Rejects with LarsError ERR_LISTEN. */
  listen(): Promise<number>;
  /** Replaces the routes served, atomically: requests see the old or the new index, never a mix. */
  setIndex(index: RouteIndex): void;
  /** Sends each module's current frame to every connection subscribed to it. */
  push(modules: readonly ModuleKey[]): void;
  /** LeaseRequest bodies received since the last call, oldest first (undecoded). */
  takeLeases(): Buffer[];
  stats(): DnsFrontendStats;
  /** Stops accepting, closes every connection. */
  close(): Promise<void>;
}

export interface DnsFrontendOptions {
  readonly ip: string;
  readonly port: number;
  readonly maxConn: number;
  readonly threadNum: number;
  /** A connection whose unsent output passes this many bytes is closed (a peer that never reads). */
  readonly outputCapBytes: number;
  /** Modules one connection may subscribe to; past it, requests are answered but not subscribed. */
  readonly maxSubscriptionsPerConn: number;
}
