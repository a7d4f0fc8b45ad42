// The reconnect backoff of the agent's TCP clients: randomness is a parameter, so the delays are exact.
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/agent/backoff.js';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap, jittered into [1/2, 1] of it', () => {
    const top = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect(Array.from({ length: 6 }, () => top.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    const bottom = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect(Array.from({ length: 6 }, () => bottom.next())).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('starts over after a success', () => {
    const b = new Backoff({ initialMs: 10, maxMs: 10_000, random: () => 0.999999 });
    for (let i = 0; i < 5; i++) b.next();
    b.reset();
    expect(b.next()).toBe(10);
  });

  it('never overflows however long the outage', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 5000, random: () => 0.5 });
    let last = 0;
    for (let i = 0; i < 10_000; i++) last = b.next();
    expect(last).toBe(3750);
  });
});
