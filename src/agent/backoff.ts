// Exponential backoff with jitter for the agent's TCP clients. Randomness is a parameter (seeded
// per agent in production by Math.random), so agents across a fleet do not reconnect in lock step
// and tests can fix it.

export interface BackoffOptions {
  /** The first delay, before jitter. */
  readonly initialMs: number;
  /** The largest delay, before jitter. */
  readonly maxMs: number;
  /** A number in [0, 1). */
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5_000 };

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next attempt: initial · 2^n capped at max, then scaled into [½, 1]. */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(base * (0.5 + 0.5 * this.random()));
  }

  /** After a success: the next failure starts from the initial delay again. */
  reset(): void {
    this.attempt = 0;
  }
}
