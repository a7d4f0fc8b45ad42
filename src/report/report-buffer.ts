// Holds call statistics between their arrival and their write, coalesced by key: only the
// latest values of each (modid, cmdid, ip, port, caller) are ever stored, so the load on the
// database is bounded by the number of keys, not by how often agents report. Bounded: past
// maxKeys a NEW key is dropped and counted (an existing key is always updated in place).
// ReportBuffer is the TypeScript one; native/report/CallRowBuffer is its native twin.
import type { CallStatus } from '../store/store.js';
import { moduleKey } from '../wire/module-key.js';

/** What the writers drain: either buffer, behind one interface. */
export interface RowBuffer {
  /** Keys waiting to be written. */
  readonly size: number;
  /** Rows taken in (new keys and updates). */
  readonly accepted: number;
  /** Rows dropped because the buffer was full. */
  readonly dropped: number;
  /** Removes and returns up to `max` rows (oldest keys first). */
  take(max: number): CallStatus[];
  /** Puts back rows whose write failed, ahead of the rest, unless a newer value of the key arrived meanwhile. */
  restore(rows: readonly CallStatus[]): void;
}

function keyOf(r: CallStatus): string {
  return `${moduleKey(r.modid, r.cmdid)}/${r.ip}/${r.port}/${r.caller}`;
}

export class ReportBuffer implements RowBuffer {
  private pending = new Map<string, CallStatus>();
  /** Rows accepted into the buffer (new keys and updates). */
  accepted = 0;
  /** Rows dropped because the buffer was full. */
  dropped = 0;

  constructor(private readonly maxKeys: number) {}

  get size(): number {
    return this.pending.size;
  }

  add(rows: Iterable<CallStatus>): void {
    for (const row of rows) {
      const key = keyOf(row);
      if (this.pending.size >= this.maxKeys && !this.pending.has(key)) {
        this.dropped++;
        continue;
      }
      this.pending.set(key, row);
      this.accepted++;
    }
  }

  /** Removes and returns up to `max` rows (oldest keys first). */
  take(max: number): CallStatus[] {
    const out: CallStatus[] = [];
    for (const [key, row] of this.pending) {
      if (out.length >= max) break;
      out.push(row);
      this.pending.delete(key);
    }
    return out;
  }

  /** Puts back rows whose write failed, unless a newer value for the key arrived meanwhile. */
  restore(rows: readonly CallStatus[]): void {
    const fresher = this.pending;
    this.pending = new Map();
    for (const row of rows) {
      const key = keyOf(row);
      if (!fresher.has(key)) this.pending.set(key, row);
    }
    for (const [key, row] of fresher) this.pending.set(key, row);
    // Restoring can only return to the size before take(); the bound still holds for new keys.
  }
}
