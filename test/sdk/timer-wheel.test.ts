// The SDK's timer wheel on a fake clock: order of expiry, never early, cancel, one armed timer,
// re-arming after a cancelled head, timers added and cancelled from inside expire().
import { describe, expect, it } from 'vitest';
import { TimerWheel, WheelTimer, type WheelClock } from '../../src/sdk/timer-wheel.js';

/** A clock whose time moves only when advance() says; it runs its one kind of timer as Node would. */
class FakeClock implements WheelClock {
  time = 0;
  readonly armed = new Map<number, { at: number; fire: () => void; alive: boolean }>();
  #next = 1;
  setTimerCalls = 0;

  now(): number {
    return this.time;
  }

  setTimer(fire: () => void, ms: number): unknown {
    this.setTimerCalls++;
    const id = this.#next++;
    this.armed.set(id, { at: this.time + ms, fire, alive: true });
    return id;
  }

  keepAlive(timer: unknown, alive: boolean): void {
    this.armed.get(timer as number)!.alive = alive;
  }

  /** Armed timers that keep the process alive. */
  get alive(): number {
    return [...this.armed.values()].filter((t) => t.alive).length;
  }

  clearTimer(timer: unknown): void {
    this.armed.delete(timer as number);
  }

  /** Moves time to now + ms, firing due timers in order (each at its own time). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.armed].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.armed.delete(due[0]);
      this.time = Math.max(this.time, due[1].at);
      due[1].fire();
    }
    this.time = end;
  }
}

class Named extends WheelTimer {
  constructor(
    readonly name: string,
    readonly log: string[],
    readonly onExpire: () => void = () => undefined,
  ) {
    super();
  }

  expire(): void {
    this.log.push(this.name);
    this.onExpire();
  }
}

function setup(): { clock: FakeClock; wheel: TimerWheel; log: string[]; timer: (name: string, onExpire?: () => void) => Named } {
  const clock = new FakeClock();
  const log: string[] = [];
  return { clock, wheel: new TimerWheel(clock), log, timer: (name, onExpire) => new Named(name, log, onExpire) };
}

describe('TimerWheel', () => {
  it('expires timers in deadline order, none before its deadline', () => {
    const { clock, wheel, log, timer } = setup();
    wheel.add(timer('a'), 100);
    clock.advance(10);
    wheel.add(timer('b'), 100);
    wheel.add(timer('c'), 30); // shorter delay: goes before a and b
    clock.advance(29);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['c']);
    clock.advance(59);
    expect(log).toEqual(['c']);
    clock.advance(1);
    expect(log).toEqual(['c', 'a']);
    clock.advance(10);
    expect(log).toEqual(['c', 'a', 'b']);
    expect(wheel.size).toBe(0);
    expect(clock.armed.size).toBe(0);
  });

  it('keeps one timer armed however many wait with the same timeout', () => {
    const { clock, wheel, log, timer } = setup();
    for (let i = 0; i < 1000; i++) {
      wheel.add(timer(`t${i}`), 100);
      clock.advance(0.05);
    }
    expect(clock.setTimerCalls).toBe(1);
    expect(clock.armed.size).toBe(1);
    clock.advance(200);
    expect(log).toHaveLength(1000);
    expect(log.slice(0, 3)).toEqual(['t0', 't1', 't2']);
  });

  it('does not expire a cancelled timer; cancelling twice or after expiry says false', () => {
    const { clock, wheel, log, timer } = setup();
    const a = timer('a');
    const b = timer('b');
    wheel.add(a, 50);
    wheel.add(b, 60);
    expect(wheel.cancel(a)).toBe(true);
    expect(wheel.cancel(a)).toBe(false);
    // The armed timer stays at a's deadline: it fires, finds nothing due and re-arms for b.
    clock.advance(50);
    expect(log).toEqual([]);
    expect(clock.armed.size).toBe(1);
    clock.advance(10);
    expect(log).toEqual(['b']);
    expect(wheel.cancel(b)).toBe(false);
  });

  it('keeps one request at a time (a sequential client) on one armed timer, alive only while it waits', () => {
    const { clock, wheel, log, timer } = setup();
    for (let i = 0; i < 100; i++) {
      const t = timer(`t${i}`);
      wheel.add(t, 50);
      expect(clock.alive).toBe(1);
      clock.advance(0.25); // (a binary fraction: the fake clock adds it up exactly)
      wheel.cancel(t); // answered in time
      expect(clock.alive).toBe(0); // an idle client keeps nothing alive
    }
    expect(clock.setTimerCalls).toBe(1);
    // Its first deadline passes: it fires, finds nothing and is not armed again.
    clock.advance(100);
    expect(clock.armed.size).toBe(0);
    wheel.add(timer('late'), 50);
    expect(clock.setTimerCalls).toBe(2);
    clock.advance(50);
    expect(log).toEqual(['late']);
    expect(wheel.size).toBe(0);
  });

  it('re-arms when a timer only fires early (Node may round a timer down)', () => {
    const { clock, wheel, log, timer } = setup();
    wheel.add(timer('a'), 10.4);
    const [first] = [...clock.armed.values()];
    clock.armed.clear();
    clock.time = 10; // the Node timer fired at 10 ms, before the 10.4 ms deadline
    first!.fire();
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['a']);
  });

  it('lets expire() add and cancel timers', () => {
    const { clock, wheel, log, timer } = setup();
    const later = timer('later');
    wheel.add(timer('first', () => wheel.add(timer('added'), 5)), 10);
    wheel.add(timer('second', () => wheel.cancel(later)), 10);
    wheel.add(later, 12);
    clock.advance(10);
    expect(log).toEqual(['first', 'second']);
    clock.advance(10);
    expect(log).toEqual(['first', 'second', 'added']);
    expect(wheel.size).toBe(0);
  });

  it('clear() takes every timer off without expiring it, and stops the Node timer', () => {
    const { clock, wheel, log, timer } = setup();
    const a = timer('a');
    const b = timer('b');
    wheel.add(b, 20);
    wheel.add(a, 10);
    wheel.clear();
    expect(wheel.size).toBe(0);
    expect(wheel.cancel(a)).toBe(false);
    clock.advance(100);
    expect(log).toEqual([]);
    expect(clock.armed.size).toBe(0);
  });
});
