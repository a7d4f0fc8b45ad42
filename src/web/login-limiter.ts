// Rate limit of login attempts per client address: at most `maxFailures` password checks that fail
// within `windowMs`, counted from the address's first attempt in the window; beyond that the
// address is refused (HTTP 429) until the window ends. An attempt counts from the moment it is
// admitted, before the slow password hash runs, so a burst of simultaneous attempts is limited
// exactly like a sequence. A success clears the address's failures and starts a new window. Time is a parameter.
// Event-loop only.

export interface LoginLimiterOptions {
  readonly maxFailures?: number;
  readonly windowMs?: number;
  readonly now?: () => number;
  /** Addresses tracked at most; the oldest windows are dropped beyond this. */
  readonly maxAddresses?: number;
}

/** An admitted attempt: it counts against its address until end() says how it went. */
export interface LoginAttempt {
  /** Call once, when the password check is done (or failed to run: pass false). */
  end(succeeded: boolean): void;
}

export type LoginAdmission = { readonly attempt: LoginAttempt } | { readonly retryAfterMs: number };

interface Window {
  start: number;
  failures: number;
  /** Admitted attempts whose password check has not ended yet. */
  inFlight: number;
}

export class LoginLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly maxAddresses: number;

  constructor(options: LoginLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.maxAddresses = options.maxAddresses ?? 100_000;
  }

  /**
   * Admits an attempt from `address` when its failures plus its attempts still in flight are
   * below the limit (each in-flight attempt may yet fail), else says how long to wait.
   */
  begin(address: string): LoginAdmission {
    let w = this.current(address);
    if (w === undefined) {
      if (this.windows.size >= this.maxAddresses) this.evictOldest();
      w = { start: this.now(), failures: 0, inFlight: 0 };
      this.windows.set(address, w);
    }
    if (w.failures + w.inFlight >= this.maxFailures) return { retryAfterMs: Math.max(1, w.start + this.windowMs - this.now()) };
    w.inFlight++;
    const window = w;
    let ended = false;
    return {
      attempt: {
        end: (succeeded) => {
          if (ended) return;
          ended = true;
          this.end(address, window, succeeded);
        },
      },
    };
  }

  private end(address: string, w: Window, succeeded: boolean): void {
    // The window may have ended while the check ran (then it restarts, and this attempt counts in
    // the new one) or been evicted (then `w` is detached and counts for nothing).
    const live = this.current(address) === w;
    w.inFlight--;
    if (!live) return;
    if (succeeded) {
      w.failures = 0;
      w.start = this.now();
    } else w.failures++;
    if (w.failures === 0 && w.inFlight === 0) this.windows.delete(address);
  }

  /** The address's window; an ended one is dropped, or restarted while attempts are in flight. */
  private current(address: string): Window | undefined {
    const w = this.windows.get(address);
    if (w === undefined || this.now() - w.start < this.windowMs) return w;
    if (w.inFlight === 0) {
      this.windows.delete(address);
      return undefined;
    }
    w.start = this.now();
    w.failures = 0;
    return w;
  }

  private evictOldest(): void {
    // Map order is insertion order: the first entries are the oldest windows.
    const drop = Math.max(1, Math.floor(this.maxAddresses / 10));
    let n = 0;
    for (const key of this.windows.keys()) {
      if (n++ >= drop) break;
      this.windows.delete(key);
    }
  }
}
