// The web admin's defences, one test each: security headers, CSRF (token and Origin), escaped
// output, parameterised SQL, login rate limit per address, expiring signed sessions, no default
// password off loopback, and bounded request bodies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLarsError } from '../../src/errors.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { startWeb, type RunningWeb } from '../../src/web/start-web.js';
import { testConfig, tempSqlite, type StoreKind } from '../helpers/roles.js';
import { LiveClient, PASSWORD, startTestWeb, USER, WebClient } from './web-client.js';

const kind: StoreKind = tempSqlite();
let store: Store;
let web: RunningWeb;
let client: WebClient;
let clock = Date.now();
const now = (): number => clock;

beforeAll(async () => {
  store = await openStore(testConfig('web', 'ts', kind).store);
  await store.init();
  await store.seedDemo();
  web = await startTestWeb(kind, { sessions: { now, ttlMs: 3600_000 }, loginLimit: { now, maxFailures: 5, windowMs: 60_000 } });
  client = new WebClient(web.port);
  await client.login();
});

afterAll(async () => {
  await web?.stop();
  await store?.close();
});

describe('security headers', () => {
  it.each([
    ['a page', '/routes', 200],
    ['the login page', '/login', 200],
    ['an API answer', '/api/routes', 200],
    ['an API error', '/api/nope', 404],
    ['a static file', '/static/app.js', 200],
    ['the chart library', '/static/vendor/uPlot.iife.min.js', 200],
  ])('on %s', async (_what, path, status) => {
    const res = await client.get(path, { cookie: path !== '/login' });
    expect(res.status).toBe(status);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it('pages have no inline script or style for the CSP to need', async () => {
    for (const path of ['/login', '/routes', '/modules', '/history', '/status']) {
      const html = (await client.get(path, { cookie: path !== '/login' })).text;
      expect(html).toContain('<script type="module" src="/static/app.js">');
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
  });
});

describe('CSRF', () => {
  it('a state-changing request without the token is refused', async () => {
    const res = await client.post('/api/descriptions/modid', { id: 7, content: 'x' }, { csrf: false });
    expect(res.status).toBe(403);
    expect(await store.listDescriptions('modid')).toEqual([]);
  });

  it("another session's token does not work", async () => {
    const other = new WebClient(web.port);
    await other.login();
    const res = await client.post('/api/descriptions/modid', { id: 7, content: 'x' }, { headers: { 'x-csrf-token': other.csrfToken! } });
    expect(res.status).toBe(403);
  });

  it('a request from another origin is refused even with the token', async () => {
    const res = await client.post('/api/descriptions/modid', { id: 7, content: 'x' }, { headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('ERR_CSRF');
    const login = await new WebClient(web.port).post('/api/login', { user: USER, password: PASSWORD }, { headers: { origin: 'http://evil.example' } });
    expect(login.status).toBe(403);
  });

  it('the live WebSocket refuses another origin', async () => {
    const evil = await LiveClient.open(web.port, { cookie: client.cookie, origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    const same = await LiveClient.open(web.port, { cookie: client.cookie, origin: `http://127.0.0.1:${web.port}` });
    expect(same.status).toBe(101);
    same.close();
  });

  it('a plain HTML form post (not JSON) is refused', async () => {
    const res = await client.send('POST', '/api/routes/nodes', { raw: 'modid=1&cmdid=1&ip=10.0.0.1&port=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
  });
});

describe('escaping and SQL', () => {
  it('the user name is escaped in pages', async () => {
    const evil = await startTestWeb(kind, {}, { 'web.user': '<img src=x onerror=alert(1)>' });
    try {
      const c = new WebClient(evil.port);
      expect((await c.login('<img src=x onerror=alert(1)>')).status).toBe(200);
      const html = (await c.get('/routes')).text;
      expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
      expect(html).not.toContain('<img');
    } finally {
      await evil.stop();
    }
  });

  it('a description with markup and SQL is stored and returned verbatim, as JSON', async () => {
    const content = `<script>alert(1)</script>'); DROP TABLE ModIDConfig; --`;
    expect((await client.post('/api/descriptions/modid', { id: 42, content })).status).toBe(201);
    const res = await client.get('/api/descriptions/modid');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json.modid).toEqual([{ id: 42, content }]);
    expect(await store.listDescriptions('modid')).toEqual([{ id: 42, content }]);
  });

  it('SQL in numbers and addresses is refused as bad input', async () => {
    const filter = await client.get(`/api/routes?modid=${encodeURIComponent('1 OR 1=1')}`);
    expect(filter.status).toBe(400);
    expect(filter.json.error.fields).toHaveProperty('modid');
    const path = await client.del(`/api/routes/nodes/1/1/${encodeURIComponent("127.0.0.1' OR '1'='1")}/9001`);
    expect(path.status).toBe(400);
    expect(path.json.error.fields).toHaveProperty('ip');
    expect((await store.listRoutes()).length).toBe(9);
  });
});

describe('login', () => {
  it('is rate-limited per address: after 5 failures even the right password waits, other addresses do not', async () => {
    const c = new WebClient(web.port);
    for (let i = 0; i < 5; i++) expect((await c.login(USER, 'wrong', '127.0.0.5')).status).toBe(401);
    const limited = await c.login(USER, PASSWORD, '127.0.0.5');
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await new WebClient(web.port).login(USER, PASSWORD, '127.0.0.6')).status).toBe(200);
    clock += 60_000;
    expect((await c.login(USER, PASSWORD, '127.0.0.5')).status).toBe(200);
  });

  it('limits a burst like a sequence: of 40 simultaneous wrong passwords only 5 get a password check', async () => {
    const c = new WebClient(web.port);
    const replies = await Promise.all(Array.from({ length: 40 }, () => c.login(USER, 'wrong', '127.0.0.7')));
    const count = (status: number): number => replies.filter((r) => r.status === status).length;
    expect({ 401: count(401), 429: count(429) }).toEqual({ 401: 5, 429: 35 });
    expect((await c.login(USER, PASSWORD, '127.0.0.7')).status).toBe(429);
    clock += 60_000;
    expect((await c.login(USER, PASSWORD, '127.0.0.7')).status).toBe(200);
  });

  it('sessions expire', async () => {
    const c = new WebClient(web.port);
    await c.login();
    expect((await c.get('/api/session')).status).toBe(200);
    clock += 3600_000;
    expect((await c.get('/api/session')).status).toBe(401);
    expect((await c.get('/routes')).headers.location).toBe('/login');
    await client.login();
  });

  it('refuses to start off loopback without a configured password', async () => {
    const config = testConfig('web', 'ts', kind, { 'web.ip': '0.0.0.0', 'web.port': '0', 'web.user': 'ops' });
    const err = await startWeb(config).catch((e: unknown) => e);
    expect(isLarsError(err, 'ERR_CONFIG')).toBe(true);
    expect((err as Error).message).toContain('password (LARS_WEB_PASSWORD)');
  });

  it('on loopback without a password, generates one and announces it', async () => {
    const lines: string[] = [];
    const config = testConfig('web', 'ts', kind, { 'web.port': '0' });
    const gen = await startWeb(config, { announce: (l) => lines.push(l) });
    try {
      expect(gen.user).toBe('admin');
      expect(gen.generatedPassword).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(lines).toEqual([`web admin: user admin, password ${gen.generatedPassword} (set LARS_WEB_PASSWORD to choose one)`]);
      const c = new WebClient(gen.port);
      expect((await c.login('admin', '')).status).toBe(400);
      expect((await c.login('admin', gen.generatedPassword)).status).toBe(200);
    } finally {
      await gen.stop();
    }
  });
});

it('bounds request bodies', async () => {
  const res = await client.send('POST', '/api/routes/nodes', { raw: 'x'.repeat(2 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(413);
});
