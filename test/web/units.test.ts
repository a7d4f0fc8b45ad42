// The web admin's pure pieces, with time as a parameter: credentials, login resolution,
// sessions, the login rate limit, the status monitor's diff and chart history, the router,
// HTML escaping.
import { describe, expect, it } from 'vitest';
import { isLarsError } from '../../src/errors.js';
import type { AlarmThreshold, CallStatus } from '../../src/store/store.js';
import { Credentials, resolveLogin } from '../../src/web/credentials.js';
import { escapeHtml, parseCookies } from '../../src/web/http.js';
import { checkNodeInput } from '../../src/web/input.js';
import { LoginLimiter } from '../../src/web/login-limiter.js';
import { Router } from '../../src/web/router.js';
import { SessionStore } from '../../src/web/session-store.js';
import { AlarmEvaluator } from '../../src/web/alarm-evaluator.js';
import { StatusMonitor, type StatusUpdate } from '../../src/web/status-monitor.js';

describe('Credentials', () => {
  it('accepts only the right user and password', async () => {
    const c = await Credentials.create('ops', 's3cret');
    expect(await c.verify('ops', 's3cret')).toBe(true);
    expect(await c.verify('ops', 's3cret ')).toBe(false);
    expect(await c.verify('Ops', 's3cret')).toBe(false);
    expect(await c.verify('', '')).toBe(false);
  });

  it('keeps no plain text', async () => {
    const c = await Credentials.create('ops', 'plain-text-password');
    expect(JSON.stringify(Object.values(c))).not.toContain('plain-text-password');
  });
});

describe('resolveLogin', () => {
  const fixed = (n: number): Buffer => Buffer.alloc(n, 7);
  it('uses the configured login', () => {
    expect(resolveLogin({ ip: '0.0.0.0', user: 'ops', password: 'pw' })).toEqual({ user: 'ops', password: 'pw', generated: false });
  });
  it('generates a password on loopback when none is set, for user admin by default', () => {
    expect(resolveLogin({ ip: '127.0.0.1', user: undefined, password: undefined }, fixed)).toEqual({ user: 'admin', password: fixed(12).toString('base64url'), generated: true });
    expect(resolveLogin({ ip: '127.0.0.1', user: 'ops', password: '' }, fixed).user).toBe('ops');
  });
  it.each([
    [undefined, 'pw', 'user (LARS_WEB_USER)'],
    ['ops', undefined, 'password (LARS_WEB_PASSWORD)'],
    [undefined, undefined, 'user (LARS_WEB_USER) and password (LARS_WEB_PASSWORD)'],
  ])('refuses a non-loopback address without user %s / password %s', (user, password, missing) => {
    let err: unknown;
    try {
      resolveLogin({ ip: '10.0.0.1', user, password });
    } catch (e) {
      err = e;
    }
    expect(isLarsError(err, 'ERR_CONFIG')).toBe(true);
    expect((err as Error).message).toContain(`set [web] ${missing}`);
  });
});

describe('SessionStore', () => {
  let t = 1_000_000;
  const sessions = new SessionStore({ now: () => t, ttlMs: 1000 });

  it('finds a session by its signed cookie until it expires', () => {
    const { session, cookie } = sessions.create('ops');
    expect(sessions.lookup(cookie)).toBe(session);
    t += 999;
    expect(sessions.lookup(cookie)).toBe(session);
    t += 1;
    expect(sessions.lookup(cookie)).toBeUndefined();
  });

  it('refuses forged, altered and ended sessions', () => {
    const { session, cookie } = sessions.create('ops');
    const [id, exp, mac] = cookie.split('.') as [string, string, string];
    expect(sessions.lookup(`${id}.${Number(exp) + 100000}.${mac}`)).toBeUndefined();
    expect(sessions.lookup(`${id}x.${exp}.${mac}`)).toBeUndefined();
    expect(sessions.lookup(`${id}.${exp}`)).toBeUndefined();
    expect(sessions.lookup(undefined)).toBeUndefined();
    const other = new SessionStore({ now: () => t });
    expect(other.lookup(cookie)).toBeUndefined();
    sessions.destroy(session.id);
    expect(sessions.lookup(cookie)).toBeUndefined();
  });

  it('checks the CSRF token', () => {
    const { session } = sessions.create('ops');
    expect(sessions.checkCsrf(session, session.csrfToken)).toBe(true);
    expect(sessions.checkCsrf(session, undefined)).toBe(false);
    expect(sessions.checkCsrf(session, '')).toBe(false);
    expect(sessions.checkCsrf(session, `${session.csrfToken}x`)).toBe(false);
  });

  it('sets HttpOnly, SameSite=Strict cookies that expire', () => {
    expect(sessions.setCookieHeader('v')).toBe('lars_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=1');
  });
});

describe('LoginLimiter', () => {
  /** Begins an attempt from `address` and ends it with `succeeded`; the retry wait when refused. */
  const attempt = (limiter: LoginLimiter, address: string, succeeded: boolean): number => {
    const admission = limiter.begin(address);
    if ('retryAfterMs' in admission) return admission.retryAfterMs;
    admission.attempt.end(succeeded);
    return 0;
  };

  it('blocks an address after maxFailures within the window, until the window ends', () => {
    let t = 0;
    const limiter = new LoginLimiter({ now: () => t, maxFailures: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(attempt(limiter, 'a', false)).toBe(0);
      t += 1000;
    }
    expect(attempt(limiter, 'a', true)).toBe(57_000);
    expect(attempt(limiter, 'b', false)).toBe(0);
    t = 60_000;
    expect(attempt(limiter, 'a', true)).toBe(0);
  });

  it('counts attempts in flight: a burst is admitted only up to the limit, like a sequence', () => {
    let t = 0;
    const limiter = new LoginLimiter({ now: () => t, maxFailures: 5, windowMs: 60_000 });
    const admissions = Array.from({ length: 40 }, () => limiter.begin('a'));
    const admitted = admissions.flatMap((a) => ('attempt' in a ? [a.attempt] : []));
    expect(admitted).toHaveLength(5);
    expect(admissions.filter((a) => 'retryAfterMs' in a && a.retryAfterMs === 60_000)).toHaveLength(35);
    for (const a of admitted) a.end(false);
    admitted[0]?.end(true); // a second end() is ignored
    expect(attempt(limiter, 'a', true)).toBe(60_000);
    t = 60_000;
    expect(attempt(limiter, 'a', true)).toBe(0);
  });

  it('frees the slot of an attempt in flight that succeeds, and of one whose window ended meanwhile', () => {
    let t = 0;
    const limiter = new LoginLimiter({ now: () => t, maxFailures: 2, windowMs: 60_000 });
    const first = limiter.begin('a');
    const second = limiter.begin('a');
    expect('retryAfterMs' in limiter.begin('a')).toBe(true);
    if (!('attempt' in first) || !('attempt' in second)) throw new Error('both should be admitted');
    first.attempt.end(true);
    expect(attempt(limiter, 'a', false)).toBe(0);
    t = 60_000;
    second.attempt.end(false); // counts in the window that began when the old one ended
    expect(attempt(limiter, 'a', false)).toBe(0);
    expect(attempt(limiter, 'a', false)).toBe(60_000);
  });

  it('a success clears the count; the table is bounded', () => {
    const limiter = new LoginLimiter({ now: () => 0, maxFailures: 2, maxAddresses: 10 });
    attempt(limiter, 'a', false);
    attempt(limiter, 'a', true);
    attempt(limiter, 'a', false);
    expect(attempt(limiter, 'a', false)).toBe(0);
    for (let i = 0; i < 100; i++) attempt(limiter, `x${i}`, false);
    expect((limiter as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThanOrEqual(10);
  });
});

describe('StatusMonitor', () => {
  const row = (port: number, succCnt: number, errCnt: number, modid = 1, overload = false): CallStatus => ({
    modid, cmdid: 1, ip: '10.0.0.1', port, caller: '10.0.0.9', succCnt, errCnt, ts: 1, overload,
  });
  const DEFAULTS = { errorRatio: 0.1, overloadedShare: 0.5 };
  const noThresholds = async (): Promise<AlarmThreshold[]> => [];

  it('sends what changed, and per module per poll the calls per second and the error percent since the poll before', async () => {
    let rows: CallStatus[] = [row(1, 10, 1), row(2, 20, 2), row(3, 5, 0, 2)];
    let t = 0;
    const monitor = new StatusMonitor({ store: { listCallStatus: async () => rows, listAlarmThresholds: noThresholds }, alarms: { defaults: DEFAULTS, maxReportAgeSec: 60 }, now: () => t, historyMs: 5000 });
    const updates: StatusUpdate[] = [];
    monitor.onUpdate((u) => updates.push(u));
    await monitor.poll();
    expect(updates[0]!.upsert.map((r) => r.key)).toEqual(['1/1/10.0.0.1:1/10.0.0.9', '1/1/10.0.0.1:2/10.0.0.9', '2/1/10.0.0.1:3/10.0.0.9']);
    // The first reading is the baseline: the calls in it were made before the monitor looked.
    expect(updates[0]!.points).toEqual({});

    t = 2000;
    // Node 1's window grew by 6 calls (2 failed); node 2's window ended and a new one holds 4; module 2 left.
    rows = [row(1, 14, 3), row(2, 3, 1)];
    await monitor.poll();
    expect(updates[1]!.upsert.map((r) => r.port)).toEqual([1, 2]);
    expect(updates[1]!.remove).toEqual(['2/1/10.0.0.1:3/10.0.0.9']);
    expect(updates[1]!.points).toEqual({ '1/1': [5, 30, null] });

    t = 3000;
    await monitor.poll();
    // Nothing reported in between: no calls, no error percentage.
    expect(updates[2]!.upsert).toEqual([]);
    expect(updates[2]!.points).toEqual({ '1/1': [0, null, null] });
    expect(monitor.snapshot().series['1/1']).toEqual({ t: [2, 3], rate: [5, 0], errPct: [30, null], avgUs: [null, null] });

    t = 7500;
    await monitor.poll();
    expect(monitor.snapshot().series).toEqual({ '1/1': { t: [3, 7.5], rate: [0, 0], errPct: [null, null], avgUs: [null, null] } });
  });

  it('sends a row again when only its call time changed; charts the module\'s average call time', async () => {
    let rows: CallStatus[] = [row(1, 10, 1)];
    let t = 0;
    const monitor = new StatusMonitor({ store: { listCallStatus: async () => rows, listAlarmThresholds: noThresholds }, alarms: { defaults: DEFAULTS, maxReportAgeSec: 60 }, now: () => t });
    const updates: StatusUpdate[] = [];
    monitor.onUpdate((u) => updates.push(u));
    await monitor.poll();
    rows = [{ ...row(1, 10, 1), usetime: { sumUs: 900, maxUs: 400, timedCalls: 3 } }, { ...row(2, 5, 0), usetime: { sumUs: 100, maxUs: 100, timedCalls: 1 } }];
    t = 1000;
    await monitor.poll();
    expect(updates[1]!.upsert.map((r) => r.usetime)).toEqual([{ sumUs: 900, maxUs: 400, timedCalls: 3 }, { sumUs: 100, maxUs: 100, timedCalls: 1 }]);
    // The chart's call time: the module's timed calls over its current windows, (900 + 100) / (3 + 1) µs.
    expect(updates[1]!.points['1/1']![2]).toBe(250);
    t = 2000;
    await monitor.poll();
    expect(updates[2]!.upsert).toEqual([]);
  });

  it('sends a row again when only its node\'s zone changed (the status page groups by zone)', async () => {
    let rows: CallStatus[] = [row(1, 10, 1)];
    const monitor = new StatusMonitor({ store: { listCallStatus: async () => rows, listAlarmThresholds: noThresholds }, alarms: { defaults: DEFAULTS, maxReportAgeSec: 60 } });
    const updates: StatusUpdate[] = [];
    monitor.onUpdate((u) => updates.push(u));
    await monitor.poll();
    rows = [{ ...row(1, 10, 1), zone: 'az1' }];
    await monitor.poll();
    expect(updates[1]!.upsert.map((r) => r.zone)).toEqual(['az1']);
    await monitor.poll();
    expect(updates[2]!.upsert).toEqual([]);
  });

  it('keeps the last rows and alarms when the store fails, and says so', async () => {
    let fail = false;
    const monitor = new StatusMonitor({
      store: { listCallStatus: async () => (fail ? Promise.reject(new Error('down')) : [row(1, 1, 1)]), listAlarmThresholds: noThresholds },
      alarms: { defaults: DEFAULTS, maxReportAgeSec: 60 },
      now: () => 0,
    });
    await monitor.poll();
    fail = true;
    const updates: StatusUpdate[] = [];
    monitor.onUpdate((u) => updates.push(u));
    await monitor.poll();
    expect(updates[0]).toMatchObject({ storeUp: false, upsert: [], remove: [], alarms: [expect.objectContaining({ key: '1/1' })] });
    expect(monitor.snapshot()).toMatchObject({ storeUp: false, rows: [expect.objectContaining({ port: 1 })] });
  });

  it('sends the modules in alarm with every update, since the first poll that found them so, until they recover', async () => {
    let rows: CallStatus[] = [row(1, 100, 0), row(2, 100, 0)];
    let own: AlarmThreshold[] = [];
    let t = 1000;
    const monitor = new StatusMonitor({ store: { listCallStatus: async () => rows, listAlarmThresholds: async () => own }, alarms: { defaults: DEFAULTS, maxReportAgeSec: 60 }, now: () => t });
    const updates: StatusUpdate[] = [];
    monitor.onUpdate((u) => updates.push(u));
    await monitor.poll();
    expect(updates.at(-1)!.alarms).toEqual([]);
    t = 2000;
    rows = [row(1, 10, 90, 1, true), row(2, 100, 0)];
    await monitor.poll();
    t = 3000;
    await monitor.poll();
    expect(updates.at(-1)!.alarms).toEqual([expect.objectContaining({ key: '1/1', since: 2, errorRatio: 0.45, overloadedNodes: 1, nodes: 2 })]);
    expect(monitor.snapshot().alarms).toEqual(updates.at(-1)!.alarms);
    // A module's own thresholds apply from the next poll.
    own = [{ modid: 1, cmdid: 1, errorRatio: 0.5, overloadedShare: 0.6 }];
    t = 4000;
    await monitor.poll();
    expect(updates.at(-1)!.alarms).toEqual([]);
    own = [];
    rows = [row(1, 100, 0), row(2, 100, 0)];
    t = 5000;
    await monitor.poll();
    expect(updates.at(-1)!.alarms).toEqual([]);
  });
});

describe('AlarmEvaluator', () => {
  const at = (port: number, succCnt: number, errCnt: number, overload = false, caller = '10.0.0.9', modid = 1): CallStatus => ({
    modid, cmdid: 1, ip: '10.0.0.1', port, caller, succCnt, errCnt, ts: 1, overload,
  });

  it.each([
    { name: 'healthy', rows: [at(1, 90, 9), at(2, 100, 0)], reasons: [] },
    { name: 'error ratio at the threshold', rows: [at(1, 90, 10), at(2, 90, 10)], reasons: ['error ratio 10% ≥ 10%'] },
    { name: 'no calls at all is not an error ratio', rows: [at(1, 0, 0), at(2, 0, 0)], reasons: [] },
    { name: 'one of two nodes overloaded: share 50%', rows: [at(1, 100, 0, true), at(2, 100, 0)], reasons: ['1 of 2 nodes overloaded (50% ≥ 50%)'] },
    { name: 'one of three nodes overloaded', rows: [at(1, 100, 0, true), at(2, 100, 0), at(3, 100, 0)], reasons: [] },
    { name: 'a node is overloaded when any caller sees it so', rows: [at(1, 100, 0, true), at(1, 100, 0, false, '10.0.0.8'), at(2, 100, 0)], reasons: ['1 of 2 nodes overloaded (50% ≥ 50%)'] },
    { name: 'both', rows: [at(1, 10, 90, true), at(2, 100, 0)], reasons: ['error ratio 45% ≥ 10%', '1 of 2 nodes overloaded (50% ≥ 50%)'] },
  ])('$name', ({ rows, reasons }) => {
    const alarms = new AlarmEvaluator({ defaults: { errorRatio: 0.1, overloadedShare: 0.5 }, maxReportAgeSec: 60 }).evaluate(rows, [], 7);
    expect(alarms.map((a) => a.reasons)).toEqual(reasons.length === 0 ? [] : [reasons]);
  });

  it('leaves out rows reported longer ago than the max age: a node nobody calls any more holds no alarm', () => {
    const e = new AlarmEvaluator({ defaults: { errorRatio: 0.1, overloadedShare: 0.5 }, maxReportAgeSec: 60 });
    const rows = [{ ...at(1, 0, 100, true), ts: 1000 }, { ...at(2, 100, 0), ts: 1060 }];
    expect(e.evaluate(rows, [], 1060).map((a) => a.reasons)).toEqual([['error ratio 50% ≥ 10%', '1 of 2 nodes overloaded (50% ≥ 50%)']]);
    expect(e.evaluate(rows, [], 1060.5)).toEqual([]);
  });

  it('uses a module\'s own thresholds over the defaults; keeps "since" while in alarm and forgets it once clear', () => {
    const e = new AlarmEvaluator({ defaults: { errorRatio: 0.1, overloadedShare: 0.5 }, maxReportAgeSec: 60 });
    const failing = [at(1, 80, 20), at(1, 80, 20, false, '10.0.0.1', 2)];
    expect(e.evaluate(failing, [], 10).map((a) => [a.key, a.since, a.thresholds.own])).toEqual([['1/1', 10, false], ['2/1', 10, false]]);
    const own = [{ modid: 2, cmdid: 1, errorRatio: 0.3, overloadedShare: 1 }];
    expect(e.evaluate(failing, own, 11).map((a) => [a.key, a.since])).toEqual([['1/1', 10]]);
    expect(e.evaluate([at(1, 100, 0)], own, 12)).toEqual([]);
    expect(e.evaluate(failing, [], 13).map((a) => [a.key, a.since])).toEqual([['1/1', 13], ['2/1', 13]]);
  });
});

describe('Router', () => {
  const handler = () => ({ status: 200 });
  const router = new Router([
    { method: 'GET', path: '/api/x/:a/:b', access: 'public', kind: 'api', handler },
    { method: 'DELETE', path: '/api/x/:a/:b', access: 'public', kind: 'api', handler },
  ]);
  it('matches parameters, decoded', () => {
    const m = router.match('GET', '/api/x/1/10.0.0.1%3A80');
    expect(m.found && m.params).toEqual(['1', '10.0.0.1:80']);
  });
  it('reports the allowed methods, empty segments and bad encoding', () => {
    expect(router.match('PUT', '/api/x/1/2')).toEqual({ found: false, allowed: ['GET', 'DELETE'], badEncoding: false });
    expect(router.match('GET', '/api/x/1/').found).toBe(false);
    expect(router.match('GET', '/api/x/1/%E0%A4%A')).toMatchObject({ found: false, badEncoding: true });
  });
});

describe('input and output', () => {
  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
  it('parses cookies; the first of a name wins', () => {
    expect(parseCookies('a=1; b=2=3; a=4; junk')).toEqual(new Map([['a', '1'], ['b', '2=3']]));
  });
  it('accepts decimal strings for numbers, nothing looser', () => {
    expect(checkNodeInput({ modid: '1', cmdid: 2, ip: ' 10.0.0.1 ', port: '80' })).toEqual({ ok: true, value: { modid: 1, cmdid: 2, ip: '10.0.0.1', port: 80 } });
    const bad = checkNodeInput({ modid: '1e3', cmdid: 1.5, ip: '1.2.3', port: '' });
    expect(bad.ok).toBe(false);
    expect(Object.keys((bad as { fields: object }).fields).sort()).toEqual(['cmdid', 'ip', 'modid', 'port']);
  });
});
