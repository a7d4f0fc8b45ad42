// The web admin's JSON API against a real MariaDB database: every endpoint's success, its
// validation errors (naming the fields), and refusal without a session or without the CSRF token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDns, type RunningDns } from '../../src/dns/start-dns.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import type { RunningWeb } from '../../src/web/start-web.js';
import { MsgId, int32ToIp, type GetRouteResponse } from '../../src/wire/messages.js';
import { eventually, FrameClient } from '../helpers/frame-client.js';
import { Cleanup } from '../helpers/cleanup.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { testConfig } from '../helpers/roles.js';
import { LiveClient, startTestWeb, USER, WebClient } from './web-client.js';

let db: TestDatabase;
let store: Store;
let web: RunningWeb;
let client: WebClient;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore(testConfig('web', 'ts', { mysql: db.config }).store);
  await store.init();
  await store.seedDemo();
  web = await startTestWeb({ mysql: db.config });
  client = new WebClient(web.port);
  expect((await client.login()).status).toBe(200);
});

afterAll(async () => {
  await web?.stop();
  await store?.close();
  await db?.drop();
});

/** Every endpoint, with a body valid enough to reach access control. */
const ENDPOINTS: readonly { method: string; path: string; body?: unknown }[] = [
  { method: 'POST', path: '/api/logout' },
  { method: 'GET', path: '/api/session' },
  { method: 'GET', path: '/api/routes' },
  { method: 'POST', path: '/api/routes/nodes', body: { modid: 9, cmdid: 9, ip: '10.9.9.9', port: 9999 } },
  { method: 'PUT', path: '/api/routes/nodes/1/1/127.0.0.1/9001', body: { ip: '10.9.9.9', port: 9999 } },
  { method: 'DELETE', path: '/api/routes/nodes/1/1/127.0.0.1/9001' },
  { method: 'POST', path: '/api/routes/nodes/1/1/127.0.0.1/9001/pin' },
  { method: 'PUT', path: '/api/routes/1/1', body: { hosts: [] } },
  { method: 'GET', path: '/api/routes/1/1/policy' },
  { method: 'PUT', path: '/api/routes/1/1/policy', body: { name: 'ring_hash', ringSize: 64 } },
  { method: 'DELETE', path: '/api/routes/1/1/policy' },
  { method: 'GET', path: '/api/descriptions' },
  { method: 'GET', path: '/api/descriptions/modid' },
  { method: 'POST', path: '/api/descriptions/modid', body: { id: 99, content: 'x' } },
  { method: 'PUT', path: '/api/descriptions/modid/99', body: { content: 'x' } },
  { method: 'DELETE', path: '/api/descriptions/modid/1' },
  { method: 'GET', path: '/api/history' },
  { method: 'POST', path: '/api/history/1/revert' },
  { method: 'GET', path: '/api/status' },
  { method: 'GET', path: '/api/alarms' },
  { method: 'PUT', path: '/api/alarms/thresholds/1/1', body: { errorRatio: 0.5, overloadedShare: 0.5 } },
  { method: 'DELETE', path: '/api/alarms/thresholds/1/1' },
];

describe('access control', () => {
  it.each(ENDPOINTS)('$method $path without a session: 401, nothing changed', async ({ method, path, body }) => {
    const before = await store.loadRouteTable();
    const res = await client.send(method, path, { body, cookie: false });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('ERR_UNAUTHENTICATED');
    expect(await store.loadRouteTable()).toEqual(before);
  });

  it.each(ENDPOINTS.filter((e) => e.method !== 'GET'))('$method $path without the CSRF token: 403, nothing changed', async ({ method, path, body }) => {
    const before = await store.loadRouteTable();
    const descriptions = await store.listDescriptions('modid');
    const res = await client.send(method, path, { body, csrf: false });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('ERR_CSRF');
    expect(await store.loadRouteTable()).toEqual(before);
    expect(await store.listDescriptions('modid')).toEqual(descriptions);
  });

  it('refuses a wrong CSRF token and a tampered session cookie', async () => {
    const wrong = await client.post('/api/routes/nodes', { modid: 9, cmdid: 9, ip: '10.9.9.9', port: 9999 }, { headers: { 'x-csrf-token': 'x'.repeat(32) } });
    expect(wrong.status).toBe(403);
    const tampered = await client.get('/api/session', { cookie: false, headers: { cookie: `${client.cookie!}x` } });
    expect(tampered.status).toBe(401);
  });

  it('the WebSocket refuses a client without a session', async () => {
    const live = await LiveClient.open(web.port);
    expect(live.status).toBe(401);
  });

  it('unknown endpoints are 404 and wrong methods 405, as JSON', async () => {
    const missing = await client.get('/api/nope');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('ERR_NOT_FOUND');
    const wrong = await client.send('PATCH', '/api/routes');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET');
  });
});

describe('session', () => {
  it('POST /api/login: a session cookie (HttpOnly, SameSite=Strict, expiring) and a CSRF token', async () => {
    const c = new WebClient(web.port);
    const res = await c.login();
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ user: 'operator', csrfToken: expect.any(String), expiresAt: expect.any(String) });
    const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0]!;
    expect(cookie).toMatch(/^lars_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect((await c.get('/api/session')).json.user).toBe('operator');
  });

  it('POST /api/login: missing fields are named; a wrong password is 401; the body must be JSON', async () => {
    const c = new WebClient(web.port);
    const missing = await c.post('/api/login', { user: 'operator' });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatchObject({ code: 'ERR_INVALID_INPUT', fields: { password: 'password is required' } });
    const wrong = await c.post('/api/login', { user: 'operator', password: 'nope' }, { localAddress: '127.0.0.9' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('ERR_LOGIN_FAILED');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const form = await c.send('POST', '/api/login', { raw: 'user=operator&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
  });

  it('GET /api/session: the user and the CSRF token', async () => {
    const res = await client.get('/api/session');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ user: 'operator', csrfToken: client.csrfToken });
  });

  it('POST /api/logout: the session ends at once, its live WebSocket too', async () => {
    const c = new WebClient(web.port);
    await c.login();
    const live = await LiveClient.open(web.port, { cookie: c.cookie });
    expect(live.status).toBe(101);
    const res = await c.post('/api/logout');
    expect(res.status).toBe(204);
    await eventually(() => live.closed, (closed) => closed, 'the live socket to close');
    expect(([] as string[]).concat(res.headers['set-cookie'] ?? [])[0]).toMatch(/^lars_session=; .*Max-Age=0/);
    expect((await c.get('/api/session')).status).toBe(401);
  });
});

describe('routes', () => {
  it('GET /api/routes: the version and every module with its nodes; filters by modid and cmdid', async () => {
    const all = await client.get('/api/routes');
    expect(all.status).toBe(200);
    expect(all.json.version).toBe(await store.getVersion());
    expect(all.json.modules.map((m: { modid: number; cmdid: number }) => `${m.modid}/${m.cmdid}`)).toEqual(['1/1', '1/2', '2/1']);
    const one = await client.get('/api/routes?modid=1&cmdid=2');
    expect(one.json.modules).toEqual([{ modid: 1, cmdid: 2, hosts: [9011, 9012, 9013].map((port) => ({ ip: '127.0.0.1', port })) }]);
  });

  it('GET /api/routes: a bad filter names the field', async () => {
    const res = await client.get('/api/routes?modid=abc&cmdid=-1');
    expect(res.status).toBe(400);
    expect(Object.keys(res.json.error.fields).sort()).toEqual(['cmdid', 'modid']);
  });

  it('POST /api/routes/nodes: adds through the route-change transaction (new version, one change row)', async () => {
    const before = await store.getVersion();
    const res = await client.post('/api/routes/nodes', { modid: 5, cmdid: 7, ip: '10.0.0.5', port: '9000' });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ version: expect.any(Number), previousVersion: before, changed: [{ modid: 5, cmdid: 7 }] });
    expect(res.json.version).toBeGreaterThan(before);
    expect((await store.listRoutes({ modid: 5, cmdid: 7 })).map((r) => `${r.ip}:${r.port}`)).toEqual(['10.0.0.5:9000']);
    expect((await store.recentChanges(1))[0]).toMatchObject({ modid: 5, cmdid: 7, version: res.json.version });
  });

  it('POST /api/routes/nodes: every bad field is named and nothing is written', async () => {
    const version = await store.getVersion();
    const res = await client.post('/api/routes/nodes', { modid: 'x', cmdid: 1, ip: '10.0.0.256', port: 70000 });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('ERR_INVALID_INPUT');
    expect(res.json.error.fields).toEqual({
      modid: expect.stringContaining('modid must be'),
      ip: expect.stringContaining('ip must be an IPv4 address'),
      port: expect.stringContaining('port must be a port number'),
    });
    const missing = await client.post('/api/routes/nodes', { modid: 1, cmdid: 1, port: 1, extra: true });
    expect(missing.json.error.fields).toEqual({ ip: 'ip is required', extra: expect.stringContaining('unknown field') });
    expect(await store.getVersion()).toBe(version);
  });

  it('POST /api/routes/nodes: a node already there is a 409 and nothing changes', async () => {
    const version = await store.getVersion();
    const res = await client.post('/api/routes/nodes', { modid: 1, cmdid: 1, ip: '127.0.0.1', port: 9001 });
    expect(res.status).toBe(409);
    expect(res.json.error).toMatchObject({ code: 'ERR_CONFLICT', message: expect.stringContaining('already a node') });
    expect(await store.getVersion()).toBe(version);
  });

  it('PUT /api/routes/nodes/…: moves a node in one transaction', async () => {
    const before = await store.getVersion();
    const res = await client.put('/api/routes/nodes/5/7/10.0.0.5/9000', { ip: '10.0.0.6', port: 9001 });
    expect(res.status).toBe(200);
    expect(res.json.changed).toEqual([{ modid: 5, cmdid: 7 }]);
    expect(res.json.version).toBeGreaterThan(before);
    expect((await store.listRoutes({ modid: 5, cmdid: 7 })).map((r) => `${r.ip}:${r.port}`)).toEqual(['10.0.0.6:9001']);
    expect((await store.changesSince(0)).filter((c) => c.version === res.json.version)).toHaveLength(1);
  });

  it('PUT /api/routes/nodes/…: bad fields named; a missing node is 404; a taken target is 409 with nothing half-written', async () => {
    const bad = await client.put('/api/routes/nodes/5/7/10.0.0.6/9001', { ip: 'ten', port: 0 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.json.error.fields).sort()).toEqual(['ip', 'port']);
    const missing = await client.put('/api/routes/nodes/5/7/10.0.0.99/9001', { ip: '10.0.0.7', port: 1 });
    expect(missing.status).toBe(404);
    await client.post('/api/routes/nodes', { modid: 5, cmdid: 7, ip: '10.0.0.7', port: 9002 });
    const version = await store.getVersion();
    const taken = await client.put('/api/routes/nodes/5/7/10.0.0.6/9001', { ip: '10.0.0.7', port: 9002 });
    expect(taken.status).toBe(409);
    expect((await store.listRoutes({ modid: 5, cmdid: 7 })).map((r) => `${r.ip}:${r.port}`)).toEqual(['10.0.0.6:9001', '10.0.0.7:9002']);
    expect(await store.getVersion()).toBe(version);
  });

  it('DELETE /api/routes/nodes/…: removes the node; a missing one is 404; a bad path names the field', async () => {
    const res = await client.del('/api/routes/nodes/5/7/10.0.0.7/9002');
    expect(res.status).toBe(200);
    expect(res.json.changed).toEqual([{ modid: 5, cmdid: 7 }]);
    expect((await store.listRoutes({ modid: 5, cmdid: 7 })).map((r) => `${r.ip}:${r.port}`)).toEqual(['10.0.0.6:9001']);
    expect((await client.del('/api/routes/nodes/5/7/10.0.0.7/9002')).status).toBe(404);
    const bad = await client.del('/api/routes/nodes/5/7/10.0.0.07/9002');
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields.ip).toContain('no leading zeros');
  });

  it('GET /api/routes marks a registered node with its lease; POST …/pin makes it static (409 when it has no lease)', async () => {
    const now = Date.now();
    await store.applyLeases([{ modid: 6, cmdid: 1, ip: '10.6.0.1', port: 1, ttlMs: 600_000, deregister: false }], now, 100);
    await store.applyRouteChange([{ op: 'add', modid: 6, cmdid: 1, ip: '10.6.0.2', port: 2 }]);
    const hosts = (await client.get('/api/routes?modid=6')).json.modules[0].hosts;
    expect(hosts).toEqual([
      { ip: '10.6.0.1', port: 1, lease: { expiresAt: new Date(now + 600_000).toISOString(), ttlMs: 600_000 } },
      { ip: '10.6.0.2', port: 2 },
    ]);
    expect((await client.post('/api/routes/nodes/6/1/10.6.0.1/1/pin', {})).status).toBe(200);
    expect((await client.get('/api/routes?modid=6')).json.modules[0].hosts[0]).toEqual({ ip: '10.6.0.1', port: 1 });
    const again = await client.post('/api/routes/nodes/6/1/10.6.0.1/1/pin', {});
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('ERR_NOT_LEASED');
  });

  it('PUT /api/routes/:modid/:cmdid: replaces the node set; bad hosts are named by index', async () => {
    const res = await client.put('/api/routes/5/7', { hosts: [{ ip: '10.1.0.1', port: 1 }, { ip: '10.1.0.2', port: 2 }] });
    expect(res.status).toBe(200);
    expect((await store.listRoutes({ modid: 5, cmdid: 7 })).map((r) => `${r.ip}:${r.port}`)).toEqual(['10.1.0.1:1', '10.1.0.2:2']);
    const bad = await client.put('/api/routes/5/7', { hosts: [{ ip: '10.1.0.1', port: 1 }, { ip: '10.1.0.2', port: 'two' }] });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.json.error.fields)).toEqual(['hosts[1].port']);
    const notList = await client.put('/api/routes/5/x', { hosts: 'all' });
    expect(notList.status).toBe(400);
    expect(notList.json.error.fields).toHaveProperty('cmdid');
    const emptied = await client.put('/api/routes/5/7', { hosts: [] });
    expect(emptied.status).toBe(200);
    expect(await store.listRoutes({ modid: 5, cmdid: 7 })).toEqual([]);
  });
});

describe('weights, zones and policies', () => {
  it('POST /api/routes/nodes with a weight and a zone; GET /api/routes shows them (absent = 100 and no zone)', async () => {
    const res = await client.post('/api/routes/nodes', { modid: 8, cmdid: 1, ip: '10.8.0.1', port: '1', weight: '250', zone: 'az1' });
    expect(res.status).toBe(201);
    await client.post('/api/routes/nodes', { modid: 8, cmdid: 1, ip: '10.8.0.2', port: 2, weight: '', zone: '' });
    const rows = await store.listRoutes({ modid: 8, cmdid: 1 });
    expect(rows.map(({ ip, port, weight, zone }) => ({ ip, port, weight, zone }))).toEqual([
      { ip: '10.8.0.1', port: 1, weight: 250, zone: 'az1' },
      { ip: '10.8.0.2', port: 2, weight: undefined, zone: undefined },
    ]);
    expect((await client.get('/api/routes?modid=8')).json.modules).toEqual([
      { modid: 8, cmdid: 1, hosts: [{ ip: '10.8.0.1', port: 1, weight: 250, zone: 'az1' }, { ip: '10.8.0.2', port: 2 }] },
    ]);
  });

  it('a bad weight or zone is named with the store\'s message and nothing is written', async () => {
    const version = await store.getVersion();
    const res = await client.post('/api/routes/nodes', { modid: 8, cmdid: 1, ip: '10.8.0.3', port: 3, weight: 0, zone: 'a b' });
    expect(res.status).toBe(400);
    expect(res.json.error.fields).toEqual({
      weight: expect.stringContaining('weight must be an integer from 1 to 10000'),
      zone: expect.stringContaining('zone must be at most 64 characters'),
    });
    const edit = await client.put('/api/routes/nodes/8/1/10.8.0.1/1', { ip: '10.8.0.1', port: 1, weight: '10001' });
    expect(Object.keys(edit.json.error.fields)).toEqual(['weight']);
    expect(await store.getVersion()).toBe(version);
  });

  it('PUT /api/routes/nodes/…: same address changes the weight and zone (audited); a move keeps those not given', async () => {
    const res = await client.put('/api/routes/nodes/8/1/10.8.0.2/2', { ip: '10.8.0.2', port: 2, weight: 50, zone: 'az2' });
    expect(res.status).toBe(200);
    expect(res.json.changed).toEqual([{ modid: 8, cmdid: 1 }]);
    expect((await store.listRoutes({ modid: 8, cmdid: 1 }))[1]).toMatchObject({ ip: '10.8.0.2', weight: 50, zone: 'az2' });
    expect((await store.recentAudit(1))[0]).toMatchObject({ modid: 8, cmdid: 1, actor: USER });
    const cleared = await client.put('/api/routes/nodes/8/1/10.8.0.2/2', { ip: '10.8.0.2', port: 2, zone: '' });
    expect(cleared.status).toBe(200);
    const after = (await store.listRoutes({ modid: 8, cmdid: 1 }))[1];
    expect(after).toMatchObject({ ip: '10.8.0.2', port: 2, weight: 50 });
    expect(after).not.toHaveProperty('zone');
    const moved = await client.put('/api/routes/nodes/8/1/10.8.0.1/1', { ip: '10.8.0.9', port: 9 });
    expect(moved.status).toBe(200);
    expect((await store.listRoutes({ modid: 8, cmdid: 1 })).find((r) => r.port === 9)).toMatchObject({ ip: '10.8.0.9', port: 9, weight: 250, zone: 'az1' });
  });

  it('PUT, GET and DELETE /api/routes/:modid/:cmdid/policy: set with knobs (absent = 0), shown in GET /api/routes, reset; audited', async () => {
    expect((await client.get('/api/routes/8/1/policy')).json).toEqual({ modid: 8, cmdid: 1, policy: null });
    const before = await store.getVersion();
    const set = await client.put('/api/routes/8/1/policy', { name: 'ring_hash', ringSize: '4096', maxEjectionPercent: 50, panicThreshold: '' });
    expect(set.status).toBe(200);
    expect(set.json.changed).toEqual([{ modid: 8, cmdid: 1 }]);
    expect(set.json.version).toBeGreaterThan(before);
    const policy = { name: 'ring_hash', maxEjectionPercent: 50, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 0, ringSize: 4096 };
    expect(await store.getPolicy({ modid: 8, cmdid: 1 })).toEqual(policy);
    expect((await client.get('/api/routes/8/1/policy')).json.policy).toEqual(policy);
    expect((await client.get('/api/routes?modid=8')).json.modules[0].policy).toEqual(policy);
    expect((await store.recentAudit(1))[0]).toMatchObject({ modid: 8, cmdid: 1, actor: USER, policy: { before: null, after: policy } });
    const reset = await client.del('/api/routes/8/1/policy');
    expect(reset.status).toBe(200);
    expect(reset.json.changed).toEqual([{ modid: 8, cmdid: 1 }]);
    expect(await store.getPolicy({ modid: 8, cmdid: 1 })).toBeUndefined();
    expect((await client.get('/api/routes?modid=8')).json.modules[0]).not.toHaveProperty('policy');
    const again = await client.del('/api/routes/8/1/policy');
    expect(again.json.changed).toEqual([]);
  });

  it('PUT …/policy: a bad name, knob or unknown field is named and nothing is written', async () => {
    const version = await store.getVersion();
    const res = await client.put('/api/routes/8/1/policy', { name: 'fastest', maxEjectionPercent: 101, ringSize: -1, zoneOverprovision: 'x', color: 'red' });
    expect(res.status).toBe(400);
    expect(res.json.error.fields).toEqual({
      color: expect.stringContaining('unknown field'),
      name: expect.stringContaining('name must be one of lars, weighted_round_robin'),
      maxEjectionPercent: expect.stringContaining('maxEjectionPercent must be a percent from 0 to 100'),
      ringSize: expect.stringContaining('ringSize must be an integer from 0 to 1048576'),
      zoneOverprovision: expect.stringContaining('zoneOverprovision must be a percent from 0 to 10000'),
    });
    const badKey = await client.put('/api/routes/8/x/policy', { name: 'lars' });
    expect(badKey.json.error.fields).toHaveProperty('cmdid');
    expect(await store.getVersion()).toBe(version);
  });
});

describe('module descriptions', () => {
  it('POST then GET /api/descriptions and /api/descriptions/:kind', async () => {
    const res = await client.post('/api/descriptions/modid', { id: 1, content: 'live-stream lists' });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ id: 1, content: 'live-stream lists' });
    await client.post('/api/descriptions/cmdid', { id: '2', content: 'fetch in batch' });
    const all = await client.get('/api/descriptions');
    expect(all.json).toEqual({ modid: [{ id: 1, content: 'live-stream lists' }], cmdid: [{ id: 2, content: 'fetch in batch' }] });
    const one = await client.get('/api/descriptions/cmdid');
    expect(one.json).toEqual({ cmdid: [{ id: 2, content: 'fetch in batch' }] });
    expect((await client.get('/api/descriptions/other')).status).toBe(404);
  });

  it('POST /api/descriptions/:kind: bad fields named; an existing id is 409', async () => {
    const bad = await client.post('/api/descriptions/modid', { content: 'x'.repeat(1025) });
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields).toEqual({ id: 'id is required', content: expect.stringContaining('at most 1024 characters') });
    const dup = await client.post('/api/descriptions/modid', { id: 1, content: 'again' });
    expect(dup.status).toBe(409);
    expect(dup.json.error.fields).toHaveProperty('id');
    expect((await store.listDescriptions('modid'))[0]?.content).toBe('live-stream lists');
  });

  it('PUT /api/descriptions/:kind/:id: edits (or creates); bad fields named', async () => {
    const res = await client.put('/api/descriptions/modid/1', { content: 'live-stream lists, v2' });
    expect(res.status).toBe(200);
    expect((await store.listDescriptions('modid'))[0]).toEqual({ id: 1, content: 'live-stream lists, v2' });
    const bad = await client.put('/api/descriptions/modid/x', { content: 5 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.json.error.fields).sort()).toEqual(['content', 'id']);
  });

  it('DELETE /api/descriptions/:kind/:id: 204, then 404; a bad id is named', async () => {
    expect((await client.del('/api/descriptions/cmdid/2')).status).toBe(204);
    expect(await store.listDescriptions('cmdid')).toEqual([]);
    expect((await client.del('/api/descriptions/cmdid/2')).status).toBe(404);
    const bad = await client.del('/api/descriptions/cmdid/4294967296');
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields).toHaveProperty('id');
  });
});

describe('history and call status', () => {
  it('GET /api/history: the current version and the change log, newest first', async () => {
    const res = await client.get('/api/history?limit=3');
    expect(res.status).toBe(200);
    expect(res.json.version).toBe(await store.getVersion());
    expect(res.json.changes.map(({ audit: _, ...c }: { audit: unknown }) => c)).toEqual(await store.recentChanges(3));
    expect(res.json.changes[0].id).toBeGreaterThan(res.json.changes[2].id);
    const bad = await client.get('/api/history?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields).toHaveProperty('limit');
  });

  it('GET /api/history: each change says who made it and what changed', async () => {
    await client.post('/api/routes/nodes', { modid: 41, cmdid: 1, ip: '10.4.1.1', port: 80 });
    await client.put('/api/routes/nodes/41/1/10.4.1.1/80', { ip: '10.4.1.2', port: 81 });
    const [edit, add] = (await client.get('/api/history?limit=2')).json.changes;
    expect(add).toMatchObject({ modid: 41, cmdid: 1, audit: { actor: USER, kind: 'change', before: [], added: [{ ip: '10.4.1.1', port: 80 }] } });
    expect(edit).toMatchObject({ modid: 41, cmdid: 1, audit: { actor: USER, edited: [{ from: { ip: '10.4.1.1', port: 80 }, to: { ip: '10.4.1.2', port: 81 } }] } });
    expect(edit.audit.version).toBe(edit.version);
  });

  it('POST /api/history/:auditId/revert: restores the module as it was before that change, audited as a revert', async () => {
    await client.put('/api/routes/42/1', { hosts: [{ ip: '10.4.2.1', port: 80 }] });
    await client.put('/api/routes/42/1', { hosts: [{ ip: '10.4.2.7', port: 80 }, { ip: '10.4.2.8', port: 80 }] });
    const [bad] = (await client.get('/api/history?limit=1')).json.changes;
    const res = await client.post(`/api/history/${bad.audit.id}/revert`);
    expect(res.status).toBe(200);
    expect(res.json.changed).toEqual([{ modid: 42, cmdid: 1 }]);
    expect((await store.listRoutes({ modid: 42 })).map((r) => `${r.ip}:${r.port}`)).toEqual(['10.4.2.1:80']);
    const [revert] = (await client.get('/api/history?limit=1')).json.changes;
    expect(revert.audit).toMatchObject({ actor: USER, kind: 'revert', revertOf: bad.audit.id, version: res.json.version });
    // Again: nothing left to change. Unknown and malformed ids are refused by name.
    expect((await client.post(`/api/history/${bad.audit.id}/revert`)).json.changed).toEqual([]);
    const missing = await client.post('/api/history/4000000000/revert');
    expect(missing.status).toBe(404);
    expect(missing.json.error.message).toMatch(/no audit row 4000000000/);
    const malformed = await client.post('/api/history/x/revert');
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.fields).toHaveProperty('auditId');
  });

  it('GET /api/status and the live WebSocket: rows as reported; per module per poll the calls/s and error % since the poll before', async () => {
    const live = await LiveClient.open(web.port, { cookie: client.cookie });
    expect(live.status).toBe(101);
    await eventually(() => live.messages.length, (n) => n > 0, 'the snapshot');
    expect(live.messages[0]).toMatchObject({ type: 'snapshot', rows: [] });
    // Reported now: the alarms leave out rows older than [web] alarm_report_max_age.
    const now = Math.floor(Date.now() / 1000);
    await store.upsertCallStatus([
      { modid: 1, cmdid: 1, ip: '127.0.0.1', port: 9001, caller: '10.0.0.1', succCnt: 90, errCnt: 10, ts: now, overload: false },
      { modid: 1, cmdid: 1, ip: '127.0.0.1', port: 9002, caller: '10.0.0.1', succCnt: 5, errCnt: 40, ts: now, overload: true },
    ]);
    const update = await eventually(
      () => live.messages.find((m) => m.type === 'update' && m.upsert.length === 2),
      (m) => m !== undefined,
      'an update with the two rows',
    );
    // Rows seen for the first time are the baseline: no calls counted yet.
    expect(update.points['1/1']).toEqual([0, null, null]);
    expect(update.upsert.map((r: { key: string }) => r.key)).toEqual(['1/1/127.0.0.1:9001/10.0.0.1', '1/1/127.0.0.1:9002/10.0.0.1']);
    // The windows grow: 10 more successes on one node, 10 more failures on the other.
    await store.upsertCallStatus([
      { modid: 1, cmdid: 1, ip: '127.0.0.1', port: 9001, caller: '10.0.0.1', succCnt: 100, errCnt: 10, ts: now + 1, overload: false },
      { modid: 1, cmdid: 1, ip: '127.0.0.1', port: 9002, caller: '10.0.0.1', succCnt: 5, errCnt: 50, ts: now + 1, overload: true },
    ]);
    const grown = await eventually(
      () => live.messages.find((m) => m.type === 'update' && m.upsert.some((r: { succCnt: number }) => r.succCnt === 100)),
      (m) => m !== undefined,
      'an update with the grown rows',
    );
    expect(grown.points['1/1'][0]).toBeGreaterThan(0);
    expect(grown.points['1/1'][1]).toBe(50);
    // 60 failures of 165 calls and one of two nodes overloaded: over the default thresholds.
    expect(grown.alarms).toEqual([expect.objectContaining({ key: '1/1', calls: 165, errors: 60, overloadedNodes: 1, nodes: 2 })]);
    live.close();

    const res = await client.get('/api/status?modid=1');
    expect(res.status).toBe(200);
    expect(res.json.rows).toHaveLength(2);
    expect(res.json.rows[1]).toMatchObject({ ip: '127.0.0.1', port: 9002, caller: '10.0.0.1', succCnt: 5, errCnt: 50, overload: true });
    expect(res.json.series['1/1'].errPct).toContain(50);
    expect((await client.get('/api/status?modid=2')).json.rows).toEqual([]);
    const bad = await client.get('/api/status?cmdid=x');
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields).toHaveProperty('cmdid');
  });

  it('GET /api/alarms: the defaults, the modules\' own thresholds and the modules in alarm; PUT and DELETE a module\'s thresholds', async () => {
    const res = await client.get('/api/alarms');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ defaults: { errorRatio: 0.1, overloadedShare: 0.5 }, thresholds: [], alarms: [expect.objectContaining({ key: '1/1' })] });
    // Form fields arrive as text: accepted as numbers.
    const put = await client.put('/api/alarms/thresholds/1/1', { errorRatio: '0.5', overloadedShare: 0.75 });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ modid: 1, cmdid: 1, errorRatio: 0.5, overloadedShare: 0.75 });
    expect((await client.get('/api/alarms')).json.thresholds).toEqual([{ modid: 1, cmdid: 1, errorRatio: 0.5, overloadedShare: 0.75 }]);
    // With them 1/1 (36% errors, half its nodes overloaded) is clear from the next poll on.
    await eventually(async () => (await client.get('/api/alarms')).json.alarms, (a) => a.length === 0, 'module 1/1 out of alarm');
    const bad = await client.put('/api/alarms/thresholds/1/x', { errorRatio: 0, overloadedShare: 'lots', extra: 1 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.json.error.fields).sort()).toEqual(['cmdid', 'errorRatio', 'extra', 'overloadedShare']);
    expect(bad.json.error.fields.errorRatio).toMatch(/above 0 and at most 1/);
    expect((await client.del('/api/alarms/thresholds/1/1')).status).toBe(204);
    const again = await client.del('/api/alarms/thresholds/1/1');
    expect(again.status).toBe(404);
    expect(again.json.error.message).toMatch(/uses the defaults/);
    expect(await store.listAlarmThresholds()).toEqual([]);
  });

  it('GET /healthz answers without a session', async () => {
    const res = await client.get('/healthz', { cookie: false });
    expect(res.status).toBe(200);
    expect(res.json.ok).toBe(true);
  });
});

describe('agents receive web edits', () => {
  let dns: RunningDns;
  let agent: FrameClient;

  afterAll(async () => {
    agent?.close();
    await dns?.stop();
  });

  it('a node added in the web admin is pushed by the DNS service to a subscribed agent', async () => {
    dns = await startDns(testConfig('dns', 'ts', { mysql: db.config }, { 'dns.poll_interval_ms': '50' }));
    agent = await FrameClient.open(dns.port);
    agent.send(MsgId.GetRouteRequest, { modid: 2, cmdid: 1 });
    await agent.waitFor(() => agent.frames.length === 1, 'the first reply');
    const res = await client.post('/api/routes/nodes', { modid: 2, cmdid: 1, ip: '10.2.0.1', port: 7000 });
    expect(res.status).toBe(201);
    await agent.waitFor(() => agent.frames.length === 2, 'the push');
    const push = agent.messages<GetRouteResponse>(MsgId.GetRouteResponse)[1]!;
    expect(push.host.map((h) => `${int32ToIp(h.ip)}:${h.port}`)).toContain('10.2.0.1:7000');
  });
});

describe('with the database down', () => {
  it('answers 503 ERR_STORE_UNAVAILABLE, stays up, and serves again once the database is back', async () => {
    const cleanup = new Cleanup();
    try {
      const proxy = cleanup.add(new TcpProxy(db.config.host, db.config.port), (p) => p.stop());
      const port = await proxy.start();
      const cut = cleanup.add(await startTestWeb({ mysql: { ...db.config, host: '127.0.0.1', port } }), (w) => w.stop());
      const c = new WebClient(cut.port);
      expect((await c.login()).status).toBe(200);
      expect((await c.send('GET', '/api/routes')).status).toBe(200);
      await proxy.stop();
      const down = await c.send('GET', '/api/routes');
      expect(down.status).toBe(503);
      expect(down.json.error.code).toBe('ERR_STORE_UNAVAILABLE');
      const refused = await c.send('POST', '/api/routes/nodes', { body: { modid: 77, cmdid: 1, ip: '10.7.7.7', port: 7 } });
      expect(refused.status).toBe(503);
      await proxy.start();
      await eventually(() => c.send('GET', '/api/routes'), (r) => r.status === 200, 'the admin to serve again');
      expect((await store.listRoutes({ modid: 77 })).length).toBe(0);
    } finally {
      await cleanup.run();
    }
  });
});
