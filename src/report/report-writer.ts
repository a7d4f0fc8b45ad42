// Moves call statistics from the frontend's buffer to the store in batches, on `writers`
// concurrent store connections, at the pace the store takes them. The network side only ever
// adds to the buffer: it never waits on the database. A failed batch goes back into the buffer
// and the writers back off until the store answers again; state changes are logged once.
import { createLogger } from '../log.js';
import type { Store } from '../store/store.js';
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
  ) {
    this.backoffMs = flushIntervalMs;
  }

  start(): void {
    this.timer = setInterval(() => this.pump(), this.flushIntervalMs);
  }

  stats(): ReportWriterStats {
    return { storeUp: this.storeUp !== false, rowsWritten: this.rowsWritten, batchesWritten: this.batchesWritten, storeErrors: this.storeErrors };
  }

  /** Stops the timer after writing what the buffer holds (bounded by `deadlineMs`). */
  async stop(deadlineMs: number): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + deadlineMs;
    this.retryAt = 0;
    while (!this.stopped && Date.now() < deadline && (this.buffer.size > 0 || this.inFlight > 0)) {
      this.pump();
      await new Promise<void>((resolve) => this.idle.push(resolve));
      if (this.storeUp === false) break;
    }
    this.stopped = true;
    if (this.buffer.size > 0) log.error(`stopping with ${this.buffer.size} status rows unwritten: the store is unreachable`);
  }

  private pump(): void {
    if (Date.now() < this.retryAt) return;
    while (this.inFlight < this.writers && this.buffer.size > 0) {
      const rows = this.buffer.take(BATCH_ROWS);
      this.inFlight++;
      this.store.upsertCallStatus(rows).then(
        () => {
          this.rowsWritten += rows.length;
          this.batchesWritten++;
          this.mark(true);
          this.done();
          // Keep going while there is a backlog, without waiting for the timer.
          if (this.buffer.size > 0) this.pump();
        },
        (err: unknown) => {
          this.storeErrors++;
          this.buffer.restore(rows);
          this.mark(false, err);
          this.retryAt = Date.now() + this.backoffMs;
          this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
          this.done();
        },
      );
    }
  }

  private done(): void {
    this.inFlight--;
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
