// The DNS service's lease writer and reaper (EXTENSIONS.md §4). LeaseRequest bodies the frontend
// received are decoded and written in one store batch per tick; expired leases are reaped on
// another timer. A batch or reap that changed routes asks the DnsService to reload at once, so the
// change is pushed like any edit. Refused leases (static node, malformed, max_leases) are counted
// and logged, rate-limited; a failed batch is dropped (its instances renew within ttl/3).
import { createLogger } from '../log.js';
import type { LeaseWrite, Store } from '../store/store.js';
import { MsgId, decodeBody, int32ToIp, type LeaseRequest } from '../wire/messages.js';
import type { DnsFrontend } from './dns-frontend.js';

const log = createLogger('dns');

/** How often received leases are written. */
const WRITE_EVERY_MS = 50;
/**
 * Expired leases are looked for when the earliest lease the last look saw expires, but not sooner
 * than REAP_MIN_MS after it nor later than REAP_MAX_MS: leases other instances add meanwhile may
 * expire earlier, so an expired lease goes within REAP_MAX_MS at worst. Every DNS instance reaps,
 * so a fixed fast cadence would cost MySQL K looks per tick (53 instances every 250 ms: 212 q/s).
 */
const REAP_MIN_MS = 250;
const REAP_MAX_MS = 2000;

export interface LeaseWriterOptions {
  readonly store: Store;
  readonly frontend: DnsFrontend;
  readonly maxLeases: number;
  /** Routes changed: reload and push now. */
  readonly onRoutesChanged: () => void;
  readonly now?: () => number;
}

export interface LeaseWriterStats {
  readonly batches: number;
  readonly leasesWritten: number;
  readonly renewed: number;
  readonly added: number;
  readonly removed: number;
  readonly reaped: number;
  readonly refusedStatic: number;
  readonly refusedFull: number;
  readonly refusedInvalid: number;
  readonly badBodies: number;
  readonly storeErrors: number;
}

type Counts = { -readonly [K in keyof LeaseWriterStats]: number };

export class LeaseWriter {
  private readonly counts: Counts = {
    batches: 0,
    leasesWritten: 0,
    renewed: 0,
    added: 0,
    removed: 0,
    reaped: 0,
    refusedStatic: 0,
    refusedFull: 0,
    refusedInvalid: 0,
    badBodies: 0,
    storeErrors: 0,
  };
  private writeTimer: NodeJS.Timeout | undefined;
  private reapTimer: NodeJS.Timeout | undefined;
  /** One store operation at a time: batches keep their order. */
  private busy: Promise<void> = Promise.resolve();
  /** Operations queued and not started: a slow store never piles up more than one of each. */
  private readonly queued = new Set<string>();
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly opts: LeaseWriterOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.writeTimer = setInterval(() => this.enqueue('write', () => this.write()), WRITE_EVERY_MS);
    this.scheduleReap(REAP_MIN_MS);
  }

  /** Stops the timers and waits for the operation in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.writeTimer);
    clearTimeout(this.reapTimer);
    await this.busy;
  }

  stats(): LeaseWriterStats {
    return { ...this.counts };
  }

  private enqueue(name: string, op: () => Promise<void>): void {
    if (this.queued.has(name)) return;
    this.queued.add(name);
    this.busy = this.busy.then(async () => {
      this.queued.delete(name);
      if (this.stopped) return;
      try {
        await op();
      } catch (err) {
        this.counts.storeErrors++;
        log.limited('warn', 'lease-store', `lease write or reap failed: ${(err as Error).message}; instances renew within ttl/3`);
      }
    });
  }

  private async write(): Promise<void> {
    const leases: LeaseWrite[] = [];
    for (const body of this.opts.frontend.takeLeases()) {
      let req: LeaseRequest;
      try {
        req = decodeBody(MsgId.LeaseRequest, body);
      } catch {
        this.counts.badBodies++;
        log.limited('warn', 'lease-bad-body', 'dropping an unparsable LeaseRequest');
        continue;
      }
      for (const l of req.lease) {
        leases.push({
          modid: l.modid,
          cmdid: l.cmdid,
          ip: l.host === undefined ? '' : int32ToIp(l.host.ip),
          port: l.host?.port ?? 0,
          weight: l.host?.weight,
          zone: l.host?.zone,
          ttlMs: l.ttlMs,
          deregister: l.deregister,
        });
      }
    }
    if (leases.length === 0) return;
    const r = await this.opts.store.applyLeases(leases, this.now(), this.opts.maxLeases);
    const c = this.counts;
    c.batches++;
    c.leasesWritten += leases.length;
    c.renewed += r.renewed;
    c.added += r.added;
    c.removed += r.removed;
    c.refusedStatic += r.refusedStatic;
    c.refusedFull += r.refusedFull;
    c.refusedInvalid += r.refusedInvalid;
    if (r.refusedStatic > 0) log.limited('warn', 'lease-static', `refused ${r.refusedStatic} registrations naming an operator's static node (${c.refusedStatic} so far)`);
    if (r.refusedFull > 0) log.limited('warn', 'lease-full', `refused ${r.refusedFull} first registrations: [dns] max_leases (${this.opts.maxLeases}) reached, or their route would not fit one frame (${c.refusedFull} so far)`);
    if (r.refusedInvalid > 0) log.limited('warn', 'lease-invalid', `refused ${r.refusedInvalid} malformed leases (${c.refusedInvalid} so far)`);
    if (r.change.changed.length > 0) this.opts.onRoutesChanged();
  }

  private scheduleReap(delayMs: number): void {
    if (this.stopped) return;
    this.reapTimer = setTimeout(() => this.enqueue('reap', () => this.reap()), delayMs);
  }

  private async reap(): Promise<void> {
    let nextExpiry: number | null = null;
    try {
      const now = this.now();
      const r = await this.opts.store.reapLeases(now);
      nextExpiry = r.nextExpiry === null ? null : r.nextExpiry - now;
      this.counts.reaped += r.reaped;
      if (r.change.changed.length > 0) this.opts.onRoutesChanged();
    } finally {
      this.scheduleReap(nextExpiry === null ? REAP_MAX_MS : Math.min(REAP_MAX_MS, Math.max(REAP_MIN_MS, nextExpiry)));
    }
  }
}
