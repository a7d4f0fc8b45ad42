// Rate limit of login attempts per client address: after `maxFailures` failed logins within
// `windowMs`, that address is refused (HTTP 429) until the window that began with its first
// failure ends. A success clears the address's count. Time is a parameter. Event-loop only.

export interface LoginLimiterOptions {
  readonly maxFailures?: number;
  readonly windowMs?: number;
  readonly now?: () => number;
  /** Addresses tracked at most; the oldest windows are dropped beyond this. */
  readonly maxAddresses?: number;
}

interface Window {
  start: number;
  failures: number;
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

  /** 0 when `address` may try to log in now, else the milliseconds until it may. */
  retryAfterMs(address: string): number {
    const w = this.current(address);
    if (w === undefined || w.failures < this.maxFailures) return 0;
    return w.start + this.windowMs - this.now();
  }

  recordFailure(address: string): void {
    let w = this.current(address);
    if (w === undefined) {
      if (this.windows.size >= this.maxAddresses) this.evictOldest();
      w = { start: this.now(), failures: 0 };
      this.windows.set(address, w);
    }
    w.failures++;
  }

  recordSuccess(address: string): void {
    this.windows.delete(address);
  }

  private current(address: string): Window | undefined {
    const w = this.windows.get(address);
    if (w !== undefined && this.now() - w.start >= this.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
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
