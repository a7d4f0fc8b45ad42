// The deadlines of every request a LarsClient waits on, behind ONE Node timer: a per-request
// setTimeout/clearTimeout pair costs more than the rest of a get_host on the hot path.
//
// A timer wheel cut down to what the SDK has: nearly every deadline is "now + timeoutMs", so
// deadlines arrive in order and one sorted doubly-linked list is the whole wheel. Adding at or
// after the tail and cancelling are O(1); a rarer shorter delay walks back from the tail. The Node
// timer is armed for the head only; cancelling the head leaves it armed (it fires, finds nothing
// due, re-arms), so a request answered in time never touches it, even when it was the only one:
// an empty wheel only unrefs its timer, so it keeps the process alive only while something waits,
// as one setTimeout per request did.
//
// Entries are the callers' own objects (they extend WheelTimer), so scheduling allocates nothing.
// One event loop: not thread-safe.

/** What the wheel reads the time from and arms its one timer with: a fake in tests. */
export interface WheelClock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(fire: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
  /** Whether the timer keeps the process alive (Node's ref/unref). */
  keepAlive(timer: unknown, alive: boolean): void;
}

export const systemClock: WheelClock = {
  now: () => performance.now(),
  setTimer: (fire, ms) => setTimeout(fire, ms),
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
  keepAlive: (timer, alive) => void (alive ? (timer as NodeJS.Timeout).ref() : (timer as NodeJS.Timeout).unref()),
};

/** Something with a deadline: expire() runs once the deadline has passed, unless it was cancelled. */
export abstract class WheelTimer {
  /** When it expires, in WheelClock.now() milliseconds; meaningful while scheduled. */
  deadline = 0;
  prev: WheelTimer | undefined = undefined;
  next: WheelTimer | undefined = undefined;
  scheduled = false;
  abstract expire(): void;
}

export class TimerWheel {
  readonly #clock: WheelClock;
  #head: WheelTimer | undefined;
  #tail: WheelTimer | undefined;
  #size = 0;
  #timer: unknown;
  /** The deadline the Node timer is armed for; Infinity when it is not armed. */
  #armedFor = Infinity;
  /** The armed timer keeps the process alive (something waits). */
  #alive = false;

  constructor(clock: WheelClock = systemClock) {
    this.#clock = clock;
  }

  /** Timers waiting. */
  get size(): number {
    return this.#size;
  }

  /** Schedules t to expire delayMs from now. t must not be scheduled already. */
  add(t: WheelTimer, delayMs: number): void {
    t.deadline = this.#clock.now() + delayMs;
    t.scheduled = true;
    let after = this.#tail;
    while (after !== undefined && after.deadline > t.deadline) after = after.prev;
    t.prev = after;
    t.next = after === undefined ? this.#head : after.next;
    if (t.next === undefined) this.#tail = t;
    else t.next.prev = t;
    if (after === undefined) this.#head = t;
    else after.next = t;
    this.#size++;
    if (t.deadline < this.#armedFor) this.#arm(t.deadline);
    else this.#keepAlive(true);
  }

  /** Takes t off the wheel; false when it was not scheduled (already expired or cancelled). */
  cancel(t: WheelTimer): boolean {
    if (!t.scheduled) return false;
    this.#unlink(t);
    // Left armed: the next request reuses it instead of arming one of its own.
    if (this.#size === 0) this.#keepAlive(false);
    return true;
  }

  /** Cancels every timer without expiring it and stops the Node timer (a client's close()). */
  clear(): void {
    while (this.#head !== undefined) this.#unlink(this.#head);
    this.#disarm();
  }

  #unlink(t: WheelTimer): void {
    if (t.prev === undefined) this.#head = t.next;
    else t.prev.next = t.next;
    if (t.next === undefined) this.#tail = t.prev;
    else t.next.prev = t.prev;
    t.prev = t.next = undefined;
    t.scheduled = false;
    this.#size--;
  }

  #arm(deadline: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#armedFor = deadline;
    // Whole milliseconds, rounded up; should it still fire early, #fire re-arms for the rest.
    this.#timer = this.#clock.setTimer(() => this.#fire(), Math.max(1, Math.ceil(deadline - this.#clock.now())));
    this.#alive = true;
  }

  #keepAlive(alive: boolean): void {
    if (this.#timer === undefined || this.#alive === alive) return;
    this.#alive = alive;
    this.#clock.keepAlive(this.#timer, alive);
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
    this.#alive = false;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    this.#alive = false;
    const now = this.#clock.now();
    // Expire callbacks may add and cancel timers: take each due head afresh.
    while (this.#head !== undefined && this.#head.deadline <= now) {
      const t = this.#head;
      this.#unlink(t);
      t.expire();
    }
    if (this.#head !== undefined && this.#head.deadline < this.#armedFor) this.#arm(this.#head.deadline);
  }
}
