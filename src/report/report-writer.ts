// Moves call statistics from the frontend's buffer to the store in batches, on `writers`
// concurrent store connections, at the pace the store takes them. The network side only ever
// adds to the buffer: it never waits on the database. A failed batch goes back into the buffer
// and the writers back off until the store answers again; state changes are logged once.
import { createLogger } from '../log.js';
import type { CallStatus, Store } from '../store/store.js';
import type { RowBuffer } from './report-buffer.js';

const log = createLogger('reporter');

/** Rows per upsert statement batch. */
export const BATCH_ROWS = 2000;
const MAX_BACKOFF_MS = 5_000;

export interface ReportWriterStats {
  readonly storeUp: boolean;
  readonly rowsWritten: number;
  readonly batchesWritten: number;
  readonly storeErrors: number;
}

export class ReportWriter {
  private inFlight = 0;
  private inFlightRows = 0;
  private storeUp: boolean | undefined;
  private backoffMs: number;
  private retryAt = 0;
  private rowsWritten = 0;
  private batchesWritten = 0;
  private storeErrors = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly buffer: RowBuffer,
    private readonly writers: number,
    private readonly flushIntervalMs: number,
    /** Sees every batch taken from the buffer (the per-module aggregates). */
    private readonly onTaken: (rows: readonly CallStatus[]) => void = () => {},
  ) {
    this.backoffMs = flushIntervalMs;
  }

  start(): void {
    this.timer = setInterval(() => this.pump(), this.flushIntervalMs);
  }

  stats(): ReportWriterStats {
    return { storeUp: this.storeUp !== false, rowsWritten: this.rowsWritten, batchesWritten: this.batchesWritten, storeErrors: this.storeErrors };
  }

  /**
   * Writes what the buffer holds, retrying a failing store with the usual backoff, until nothing
   * is left or `deadlineMs` has passed; then stops for good. Call it once the network side no
   * longer adds rows. Logs how many held rows it could not write (rows of a batch still in
   * flight at the deadline count as not written), and resolves to that number.
   */
  async stop(deadlineMs: number): Promise<number> {
    clearInterval(this.timer);
    const deadline = Date.now() + deadlineMs;
    this.retryAt = 0; // the store may be back already: try at once, not after the backoff
    while (Date.now() < deadline && (this.buffer.size > 0 || this.inFlight > 0)) {
      this.pump();
      // With a batch in flight, wake when it ends; in a backoff, when the next try is due.
      await this.wake(Math.min(this.inFlight > 0 ? deadline : this.retryAt, deadline) - Date.now());
    }
    this.stopped = true;
    const unwritten = this.buffer.size + this.inFlightRows;
    if (unwritten > 0) {
      log.error(`could not write ${unwritten} held rows within the stop deadline of ${deadlineMs} ms: store ${this.store.description} did not take them`);
    }
    return unwritten;
  }

  private wake(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private pump(): void {
    if (this.stopped || Date.now() < this.retryAt) return;
    while (this.inFlight < this.writers && this.buffer.size > 0) {
      const rows = this.buffer.take(BATCH_ROWS);
      this.onTaken(rows);
      this.inFlight++;
      this.inFlightRows += rows.length;
      this.store.upsertCallStatus(rows).then(
        () => {
          this.rowsWritten += rows.length;
          this.batchesWritten++;
          this.mark(true);
          this.done(rows.length);
          // Keep going while there is a backlog, without waiting for the timer.
          if (this.buffer.size > 0) this.pump();
        },
        (err: unknown) => {
          this.storeErrors++;
          this.buffer.restore(rows);
          this.mark(false, err);
          this.retryAt = Date.now() + this.backoffMs;
          this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
          this.done(rows.length);
        },
      );
    }
  }

  private done(rows: number): void {
    this.inFlight--;
    this.inFlightRows -= rows;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private mark(up: boolean, err?: unknown): void {
    if (up) this.backoffMs = this.flushIntervalMs;
    if (up === this.storeUp) return;
    this.storeUp = up;
    if (up) log.info(`store ${this.store.description} reachable: writing call status`);
    else
      log.error(
        `store ${this.store.description} unavailable (${(err as Error)?.message ?? err}); ` +
          `holding ${this.buffer.size} status rows (coalesced by key) and retrying with backoff`,
      );
  }
}
