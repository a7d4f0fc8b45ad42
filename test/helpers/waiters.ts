// Waiting for an event in tests without sleeping: whoever receives something calls wake(), and
// every pending waitFor() re-checks its predicate.
export class Waiters {
  private pending: (() => void)[] = [];

  /** Resolves once `predicate` holds, re-checked on every wake(); rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      const check = (): void => {
        if (predicate()) {
          clearTimeout(timer);
          resolve();
        } else this.pending.push(check);
      };
      this.pending.push(check);
    });
  }

  wake(): void {
    for (const w of this.pending.splice(0)) w();
  }
}
