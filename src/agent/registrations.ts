// The agent's registrations (EXTENSIONS.md §4): each RegisterRequest is checked and answered at
// once, kept while its instance re-sends it, and forwarded to the DNS service as a Lease in
// batches. A registration whose instance stopped re-sending is forgotten after its ttl and never
// renewed, so its lease at the DNS expires; a deregistration is forwarded at once. Malformed
// registrations are refused here (RET_SYSTEM_ERROR); a static node or the DNS's max_leases is
// refused at the DNS, which the instance does not hear about (docs/registration.md).
import { createLogger } from '../log.js';
import { leaseProblem } from '../wire/lease.js';
import { MsgId, RetCode, decodeBody, encodeBody, type Lease, type RegisterRequest } from '../wire/messages.js';

const log = createLogger('agent');

/** Leases are collected this long before one LeaseRequest batch goes out. */
const FLUSH_DELAY_MS = 20;
/** A batch this large goes out at once, without waiting for the timer (one LeaseRequest frame's worth). */
const FLUSH_AT_LEASES = 500;
/** How often registrations past their ttl are forgotten. */
const SWEEP_EVERY_MS = 250;

export interface RegistrationsOptions {
  /** Sends one batch to the DNS service; false when it could not (disconnected: all are re-sent on connect). */
  readonly sendLeases: (leases: Lease[]) => boolean;
  readonly now?: () => number;
}

export interface RegistrationStats {
  /** Registrations held (renewed within their ttl). */
  readonly registrations: number;
  readonly accepted: number;
  readonly refused: number;
  readonly badBodies: number;
  readonly expired: number;
  readonly leasesSent: number;
  /** Leases not sent because the DNS connection was down (sent again on connect). */
  readonly leasesUnsent: number;
}

interface Held {
  readonly lease: Lease;
  expiresAt: number;
}

const keyOf = (l: { modid: number; cmdid: number; host?: { ip: number; port: number } }): string => `${l.modid}:${l.cmdid}:${l.host!.ip}:${l.host!.port}`;

export class Registrations {
  private readonly held = new Map<string, Held>();
  private pending = new Map<string, Lease>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly now: () => number;
  private accepted = 0;
  private refused = 0;
  private badBodies = 0;
  private expired = 0;
  private leasesSent = 0;
  private leasesUnsent = 0;

  constructor(private readonly opts: RegistrationsOptions) {
    this.now = opts.now ?? Date.now;
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.sweepTimer.unref();
  }

  /** A RegisterRequest body; returns the RegisterResponse body to send back (undefined: unparsable, no reply). */
  onRequest(body: Uint8Array): Uint8Array | undefined {
    let req: RegisterRequest;
    try {
      req = decodeBody(MsgId.RegisterRequest, body);
    } catch {
      this.badBodies++;
      log.limited('warn', 'register-bad-body', 'dropping an unparsable RegisterRequest');
      return undefined;
    }
    const problem = leaseProblem(req.modid, req.cmdid, req.host, req.ttlMs, req.deregister);
    if (problem !== undefined) {
      this.refused++;
      log.limited('warn', 'register-refused', `refusing a registration of modid ${req.modid} cmdid ${req.cmdid}: ${problem}`);
      return encodeBody(MsgId.RegisterResponse, { seq: req.seq, retcode: RetCode.SystemError });
    }
    this.accepted++;
    const host = { ip: req.host!.ip, port: req.host!.port, weight: req.host!.weight ?? 0, zone: req.host!.zone ?? '' };
    const lease: Lease = { modid: req.modid, cmdid: req.cmdid, host, ttlMs: req.deregister ? 0 : req.ttlMs, deregister: req.deregister };
    const key = keyOf(lease);
    if (req.deregister) this.held.delete(key);
    else this.held.set(key, { lease, expiresAt: this.now() + req.ttlMs });
    this.queue(key, lease);
    return encodeBody(MsgId.RegisterResponse, { seq: req.seq, retcode: RetCode.Succ });
  }

  /** The DNS connection is (re-)established: every registration held is sent again. */
  onDnsReconnected(): void {
    for (const [key, h] of this.held) this.queue(key, h.lease);
  }

  stats(): RegistrationStats {
    return {
      registrations: this.held.size,
      accepted: this.accepted,
      refused: this.refused,
      badBodies: this.badBodies,
      expired: this.expired,
      leasesSent: this.leasesSent,
      leasesUnsent: this.leasesUnsent,
    };
  }

  close(): void {
    clearInterval(this.sweepTimer);
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private queue(key: string, lease: Lease): void {
    this.pending.set(key, lease);
    // A full batch leaves at once: under a flood of registrations the timer alone would let
    // renewals pile up (and coalesce) for as long as the event loop is busy.
    if (this.pending.size >= FLUSH_AT_LEASES) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_DELAY_MS);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    if (batch.length === 0) return;
    if (this.opts.sendLeases(batch)) this.leasesSent += batch.length;
    else this.leasesUnsent += batch.length;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, h] of this.held) {
      if (h.expiresAt > now) continue;
      // Not renewed: forgotten, not deregistered — the lease at the DNS runs out by itself.
      this.held.delete(key);
      this.pending.delete(key);
      this.expired++;
    }
  }
}
