// The web admin's pure pieces, with time as a parameter: credentials, login resolution,
// sessions, the login rate limit, the status monitor's diff and chart history, the router,
// HTML escaping.
import { describe, expect, it } from 'vitest';
import { isLarsError } from '../../src/errors.js';
import type { CallStatus } from '../../src/store/store.js';
import { Credentials, resolveLogin } from '../../src/web/credentials.js';
import { escapeHtml, parseCookies } from '../../src/web/http.js';
import { checkNodeInput } from '../../src/web/input.js';
import { LoginLimiter } from '../../src/web/login-limiter.js';
import { Router } from '../../src/web/router.js';
import { SessionStore } from '../../src/web/session-store.js';
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
  const row = (port: number, succCnt: number, errCnt: number, modid = 1): CallStatus => ({
    modid, cmdid: 1, ip: '10.0.0.1', port, caller: '10.0.0.9', succCnt, errCnt, ts: 1, overload: false,
  });

  it('sends what changed and one chart point per module per poll; forgets points older than the history', async () => {
    let rows: CallStatus[] = [row(1, 10, 1), row(2, 20, 2), row(3, 5, 0, 2)];
    let t = 0;
    const monitor = new StatusMonitor({ store: { listCallStatus: async () => rows }, now: () => t, historyMs: 3000 });
    const updates: StatusUpdate[] = [];
    monitor.onUpdate((u) => updates.push(u));
    await monitor.poll();
    expect(updates[0]!.upsert.map((r) => r.key)).toEqual(['1/1/10.0.0.1:1/10.0.0.9', '1/1/10.0.0.1:2/10.0.0.9', '2/1/10.0.0.1:3/10.0.0.9']);
    expect(updates[0]!.points).toEqual({ '1/1': [30, 3], '2/1': [5, 0] });

    t = 1000;
    rows = [row(1, 10, 1), row(2, 25, 2)];
    await monitor.poll();
    expect(updates[1]!.upsert.map((r) => r.port)).toEqual([2]);
    expect(updates[1]!.remove).toEqual(['2/1/10.0.0.1:3/10.0.0.9']);
    expect(monitor.snapshot().series['1/1']).toEqual({ t: [0, 1], succ: [30, 35], err: [3, 3] });

    t = 4000;
    await monitor.poll();
    expect(updates[2]!.upsert).toEqual([]);
    expect(monitor.snapshot().series).toEqual({ '1/1': { t: [1, 4], succ: [35, 35], err: [3, 3] } });
  });

  it('keeps the last rows when the store fails, and says so', async () => {
    let fail = false;
    const monitor = new StatusMonitor({ store: { listCallStatus: async () => (fail ? Promise.reject(new Error('down')) : [row(1, 1, 1)]) } });
    await monitor.poll();
    fail = true;
    const updates: StatusUpdate[] = [];
    monitor.onUpdate((u) => updates.push(u));
    await monitor.poll();
    expect(updates[0]).toMatchObject({ storeUp: false, upsert: [], remove: [] });
    expect(monitor.snapshot()).toMatchObject({ storeUp: false, rows: [expect.objectContaining({ port: 1 })] });
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
