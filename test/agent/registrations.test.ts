// The agent's registration table (src/agent/registrations.ts) on its own: answers, batching,
// expiry without renewal, re-sending after a reconnect. Time is injected; batches are observed.
import { afterEach, describe, expect, it } from 'vitest';
import { Registrations } from '../../src/agent/registrations.js';
import { MsgId, RetCode, decodeBody, encodeBody, ipToInt32, type Lease } from '../../src/wire/messages.js';

const body = (port: number, extra: { ttlMs?: number; deregister?: boolean; seq?: number } = {}) =>
  encodeBody(MsgId.RegisterRequest, { seq: extra.seq ?? port, modid: 5, cmdid: 1, host: { ip: ipToInt32('10.5.0.1'), port }, ttlMs: extra.ttlMs ?? 3000, deregister: extra.deregister ?? false });
const answer = (rsp: Uint8Array | undefined) => decodeBody(MsgId.RegisterResponse, rsp!);

describe('Registrations', () => {
  let regs: Registrations | undefined;
  afterEach(() => regs?.close());

  it('answers RET_SUCC for a well-formed registration, RET_SYSTEM_ERROR for a malformed one, nothing for garbage', () => {
    regs = new Registrations({ sendLeases: () => true });
    expect(answer(regs.onRequest(body(1, { seq: 9 })))).toEqual({ seq: 9, retcode: RetCode.Succ });
    expect(answer(regs.onRequest(body(2, { ttlMs: 999 })))).toMatchObject({ retcode: RetCode.SystemError });
    expect(regs.onRequest(new Uint8Array([0xff, 0xff, 0xff]))).toBeUndefined();
    expect(regs.stats()).toMatchObject({ registrations: 1, accepted: 1, refused: 1, badBodies: 1 });
  });

  it('sends a full batch at once, without waiting for the timer', () => {
    const batches: Lease[][] = [];
    regs = new Registrations({ sendLeases: (l) => (batches.push(l), true) });
    for (let port = 1; port <= 500; port++) regs.onRequest(body(port));
    expect(batches.map((b) => b.length)).toEqual([500]);
    expect(regs.stats().leasesSent).toBe(500);
  });

  it('sends the rest after a short delay, forgets a registration not renewed within its ttl, and re-sends all after a reconnect', async () => {
    let now = 1_000_000;
    const batches: Lease[][] = [];
    regs = new Registrations({ sendLeases: (l) => (batches.push(l), true), now: () => now });
    regs.onRequest(body(1, { ttlMs: 1000 }));
    regs.onRequest(body(2, { ttlMs: 5000 }));
    await new Promise<void>((resolve) => {
      const wait = (): void => void (batches.length > 0 ? resolve() : setTimeout(wait, 5));
      wait();
    });
    expect(batches[0]!.map((l) => l.host!.port)).toEqual([1, 2]);
    now += 2000;
    await new Promise<void>((resolve) => {
      const wait = (): void => void (regs!.stats().expired > 0 ? resolve() : setTimeout(wait, 20));
      wait();
    });
    expect(regs.stats()).toMatchObject({ registrations: 1, expired: 1 });
    regs.onDnsReconnected();
    await new Promise<void>((resolve) => {
      const wait = (): void => void (batches.length > 1 ? resolve() : setTimeout(wait, 5));
      wait();
    });
    expect(batches[1]!.map((l) => l.host!.port)).toEqual([2]);
  });

  it('a deregistration is forwarded and the registration dropped', () => {
    const batches: Lease[][] = [];
    regs = new Registrations({ sendLeases: (l) => (batches.push(l), true) });
    regs.onRequest(body(1));
    regs.onRequest(body(1, { deregister: true }));
    expect(regs.stats().registrations).toBe(0);
    for (let port = 2; port <= 500; port++) regs.onRequest(body(port));
    expect(batches[0]!.find((l) => l.host!.port === 1)).toMatchObject({ deregister: true, ttlMs: 0 });
  });
});
