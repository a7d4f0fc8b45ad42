// The web admin in a real browser (playwright-core driving the system's Chromium) against a
// MariaDB database: log in, add / edit / delete a node, descriptions shown as text, the change
// log, and a call-status row appearing live when a report is stored. Leaves screenshots of the
// pages in test/artifacts/ (zones-status.png is the one docs/zones.md shows, copied to docs/img/).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import type { CallStatus, Store } from '../../src/store/store.js';
import type { RunningWeb } from '../../src/web/start-web.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mysql.js';
import { testConfig } from '../helpers/roles.js';
import { PASSWORD, startTestWeb, USER } from './web-client.js';

const CHROMIUM = process.env.LARS_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

let db: TestDatabase;
let store: Store;
let web: RunningWeb;
let browser: Browser;
let page: Page;
let base: string;
/** Console errors (CSP violations among them) and script errors seen by the page. */
const pageErrors: string[] = [];
/** Every URL the page asked for that was not there. */
const notFound: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the browser tests need Chromium at ${CHROMIUM} and it is not there: install it with "apt-get install -y chromium" ` +
        '(.ci/run does this when it is missing), or point LARS_TEST_CHROMIUM at another Chromium binary',
    );
  }
  db = await createTestDatabase();
  store = await openStore(testConfig('web', 'ts', { mysql: db.config }).store);
  await store.init();
  await store.seedDemo();
  web = await startTestWeb({ mysql: db.config });
  base = `http://127.0.0.1:${web.port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('response', (r) => {
    if (r.status() === 404) notFound.push(r.url());
  });
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await store?.close();
  await db?.drop();
});

const nodes = async (modid: number, cmdid: number): Promise<string[]> => (await store.listRoutes({ modid, cmdid })).map((r) => `${r.ip}:${r.port}`);

describe('web admin in Chromium', () => {
  it('sends an unauthenticated visitor to the login page and shows a failed login', async () => {
    await page.goto(`${base}/routes`);
    await page.waitForURL(`${base}/login`);
    await page.fill('#login-form input[name=user]', USER);
    await page.fill('#login-form input[name=password]', 'wrong');
    await page.click('#login-form button[type=submit]');
    await expect.poll(() => page.textContent('#login-form .form-error')).toBe('wrong user or password');
  });

  it('logs in', async () => {
    await page.fill('#login-form input[name=password]', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${base}/routes`);
    await page.waitForSelector('tr[data-node="1/1/127.0.0.1:9001"]');
    expect(await page.textContent('header nav .user')).toBe(USER);
  });

  it('adds a node and lists it', async () => {
    await page.fill('#add-node input[name=modid]', '7');
    await page.fill('#add-node input[name=cmdid]', '1');
    await page.fill('#add-node input[name=ip]', '10.0.0.1');
    await page.fill('#add-node input[name=port]', '8000');
    await page.click('#add-node button[type=submit]');
    await page.waitForSelector('tr[data-node="7/1/10.0.0.1:8000"]');
    expect(await nodes(7, 1)).toEqual(['10.0.0.1:8000']);
    expect(await page.textContent('#flash')).toContain('Added 10.0.0.1:8000 to modid 7 cmdid 1');
  });

  it('shows a validation error next to the field and writes nothing', async () => {
    const version = await store.getVersion();
    await page.fill('#add-node input[name=ip]', '10.0.0.2');
    await page.fill('#add-node input[name=port]', '99999');
    await page.click('#add-node button[type=submit]');
    await expect.poll(() => page.textContent('#add-node .field-error[data-for=port]')).toContain('port must be a port number from 1 to 65535');
    expect(await page.getAttribute('#add-node input[name=port]', 'aria-invalid')).toBe('true');
    expect(await page.textContent('#add-node .field-error[data-for=ip]')).toBe('');
    expect(await store.getVersion()).toBe(version);
  });

  it('edits the node', async () => {
    const row = 'tr[data-node="7/1/10.0.0.1:8000"]';
    await page.click(`${row} button:text("Edit")`);
    await page.fill(`${row} input[name=port]`, '8001');
    await page.click(`${row} button:text("Save")`);
    await page.waitForSelector('tr[data-node="7/1/10.0.0.1:8001"]');
    expect(await page.$(row)).toBeNull();
    expect(await nodes(7, 1)).toEqual(['10.0.0.1:8001']);
  });

  it('shows an edit error in the row', async () => {
    const row = 'tr[data-node="7/1/10.0.0.1:8001"]';
    await page.click(`${row} button:text("Edit")`);
    await page.fill(`${row} input[name=ip]`, '10.0.0.300');
    await page.click(`${row} button:text("Save")`);
    await expect.poll(() => page.textContent(`${row} .field-error[data-for=ip]`)).toContain('ip must be an IPv4 address');
    await page.click(`${row} button:text("Cancel")`);
    expect(await nodes(7, 1)).toEqual(['10.0.0.1:8001']);
  });

  it('deletes the node', async () => {
    const row = 'tr[data-node="7/1/10.0.0.1:8001"]';
    await page.click(`${row} button:text("Delete")`);
    await page.click(`${row} button:text("Confirm delete")`);
    await page.waitForSelector(row, { state: 'detached' });
    expect(await nodes(7, 1)).toEqual([]);
  });

  it('adds a node with a weight and a zone, and edits them', async () => {
    await page.fill('#add-node input[name=ip]', '10.0.0.3');
    await page.fill('#add-node input[name=port]', '8003');
    await page.fill('#add-node input[name=weight]', '250');
    await page.fill('#add-node input[name=zone]', 'az1');
    await page.click('#add-node button[type=submit]');
    const row = 'tr[data-node="7/1/10.0.0.3:8003"]';
    await page.waitForSelector(row);
    expect(await page.$$eval(`${row} td`, (tds) => tds.slice(4, 6).map((td) => td.textContent))).toEqual(['250', 'az1']);
    expect(await store.listRoutes({ modid: 7, cmdid: 1 })).toMatchObject([{ ip: '10.0.0.3', port: 8003, weight: 250, zone: 'az1' }]);
    await page.click(`${row} button:text("Edit")`);
    await page.fill(`${row} input[name=weight]`, '0');
    await page.click(`${row} button:text("Save")`);
    await expect.poll(() => page.textContent(`${row} .field-error[data-for=weight]`)).toContain('weight must be an integer from 1 to 10000');
    await page.fill(`${row} input[name=weight]`, '50');
    await page.fill(`${row} input[name=zone]`, 'az2');
    await page.click(`${row} button:text("Save")`);
    await expect.poll(() => page.$$eval(`${row} td`, (tds) => tds.slice(4, 6).map((td) => td.textContent))).toEqual(['50', 'az2']);
    expect(await store.listRoutes({ modid: 7, cmdid: 1 })).toMatchObject([{ ip: '10.0.0.3', port: 8003, weight: 50, zone: 'az2' }]);
  });

  it('sets a module policy with knobs in the form, shows it, and resets it', async () => {
    const form = '#set-policy';
    await page.fill(`${form} input[name=modid]`, '7');
    await page.fill(`${form} input[name=cmdid]`, '1');
    await page.selectOption(`${form} select[name=name]`, 'ring_hash');
    await page.fill(`${form} input[name=maxEjectionPercent]`, '101');
    await page.fill(`${form} input[name=ringSize]`, '4096');
    await page.click(`${form} button[type=submit]`);
    await expect.poll(() => page.textContent(`${form} .field-error[data-for=maxEjectionPercent]`)).toContain('maxEjectionPercent must be a percent from 0 to 100');
    expect(await store.getPolicy({ modid: 7, cmdid: 1 })).toBeUndefined();
    await page.fill(`${form} input[name=maxEjectionPercent]`, '50');
    await page.click(`${form} button[type=submit]`);
    const row = '#policies-table tr[data-module="7/1"]';
    await page.waitForSelector(row);
    expect(await page.$$eval(`${row} td`, (tds) => tds.slice(0, 8).map((td) => td.textContent))).toEqual(['7', '1', 'ring_hash', '50', '–', '–', '–', '4096']);
    expect(await store.getPolicy({ modid: 7, cmdid: 1 })).toEqual({ name: 'ring_hash', maxEjectionPercent: 50, panicThreshold: 0, ejectionBackoffMaxMs: 0, zoneOverprovision: 0, ringSize: 4096 });
    expect(await page.textContent('#flash')).toContain('Set policy ring_hash on modid 7 cmdid 1');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'policies.png'), fullPage: true, animations: 'disabled' });
    await page.click(`${row} button:text("Reset")`);
    await page.click(`${row} button:text("Confirm reset to lars")`);
    await page.waitForSelector(row, { state: 'detached' });
    expect(await store.getPolicy({ modid: 7, cmdid: 1 })).toBeUndefined();
    expect(await page.isVisible('#policies-empty')).toBe(true);
  });

  it('filters by modid and cmdid', async () => {
    await page.fill('#route-filter input[name=modid]', '1');
    await page.fill('#route-filter input[name=cmdid]', '2');
    await page.click('#route-filter button[type=submit]');
    await page.waitForSelector('tr[data-node="1/1/127.0.0.1:9001"]', { state: 'detached' });
    const shown = await page.$$eval('#routes-table tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.node));
    expect(shown).toEqual(['1/2/127.0.0.1:9011', '1/2/127.0.0.1:9012', '1/2/127.0.0.1:9013']);
    expect(page.url()).toBe(`${base}/routes?modid=1&cmdid=2`);
  });

  it('shows a description holding markup as text', async () => {
    const evil = '<script>window.__pwned = 1</script><b>bold</b> & "quotes"';
    await page.goto(`${base}/modules`);
    await page.fill('#add-modid input[name=id]', '1');
    await page.fill('#add-modid input[name=content]', evil);
    await page.click('#add-modid button[type=submit]');
    await page.waitForSelector('#modid-table tr[data-id="1"]');
    expect(await page.textContent('#modid-table tr[data-id="1"] td.content')).toBe(evil);
    expect(await page.$('#modid-table b, #modid-table script')).toBeNull();
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.fill('#add-cmdid input[name=id]', 'x');
    await page.click('#add-cmdid button[type=submit]');
    await expect.poll(() => page.textContent('#add-cmdid .field-error[data-for=id]')).toContain('id must be');
  });

  it('shows the version and the change log', async () => {
    await page.goto(`${base}/history`);
    const version = String(await store.getVersion());
    await expect.poll(() => page.textContent('#history-version')).toBe(version);
    const first = await page.$$eval('#history-table tbody tr:first-child td', (tds) => tds.map((td) => td.textContent));
    const newest = (await store.recentChanges(1))[0]!;
    expect(first.slice(0, 4)).toEqual([String(newest.id), '7', '1', String(newest.version)]);
  });

  it('shows who changed what on the History page and reverts a change', async () => {
    // Someone removes two of module 2/1's nodes and moves the third.
    await store.applyRouteChange(
      [
        { op: 'remove', modid: 2, cmdid: 1, ip: '127.0.0.1', port: 9021 },
        { op: 'remove', modid: 2, cmdid: 1, ip: '127.0.0.1', port: 9022 },
      ],
      'cli@elsewhere',
    );
    const bad = (await store.recentChanges(1))[0]!;
    await page.click('#history-refresh');
    const row = `#history-table tr[data-change="${bad.id}"]`;
    await page.waitForSelector(row);
    expect(await page.textContent(`${row} td.who`)).toBe('cli@elsewhere');
    expect(await page.$$eval(`${row} td.diff .diff-remove`, (d) => d.map((x) => x.textContent))).toEqual(['− 127.0.0.1:9021', '− 127.0.0.1:9022']);
    await page.click(`${row} button:text("Revert this change")`);
    await page.click(`${row} button:text("Confirm revert")`);
    await expect.poll(() => page.textContent('#flash')).toContain(`Reverted change ${bad.id}`);
    expect(await nodes(2, 1)).toEqual(['127.0.0.1:9021', '127.0.0.1:9022', '127.0.0.1:9023']);
    const revert = (await store.recentChanges(1))[0]!;
    const revertRow = `#history-table tr[data-change="${revert.id}"]`;
    await page.waitForSelector(revertRow);
    expect(await page.textContent(`${revertRow} td.who`)).toBe(USER);
    expect(await page.textContent(`${revertRow} td.diff .diff-note`)).toMatch(/^revert of audit #\d+$/);
    expect(await page.$$eval(`${revertRow} td.diff .diff-add`, (d) => d.map((x) => x.textContent))).toEqual(['+ 127.0.0.1:9021', '+ 127.0.0.1:9022']);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'history.png'), fullPage: true, animations: 'disabled' });
  });

  it('shows call status rows as they are reported, live, with a chart per module', async () => {
    await page.goto(`${base}/status`);
    await expect.poll(() => page.textContent('#live-state')).toBe('live');
    await page.waitForSelector('#status-empty:not([hidden])');
    const ts = Math.floor(Date.now() / 1000);
    const row = (modid: number, cmdid: number, port: number, caller: string, succCnt: number, errCnt: number, overload = false): CallStatus => ({
      modid, cmdid, ip: '127.0.0.1', port, caller, succCnt, errCnt, ts, overload,
    });
    await store.upsertCallStatus([{ ...row(1, 1, 9001, '10.0.0.11', 120, 3), usetime: { sumUs: 36_000, maxUs: 2_500_000, timedCalls: 120 } }]);
    await page.waitForSelector('tr[data-key="1/1/127.0.0.1:9001/10.0.0.11"]');
    // The average (sum / timed calls) and the maximum call time of the window.
    expect(await page.$$eval('tr[data-key="1/1/127.0.0.1:9001/10.0.0.11"] td', (tds) => tds.map((t) => t.textContent))).toEqual(
      expect.arrayContaining(['127.0.0.1:9001', '10.0.0.11', '120', '3', '300 µs', '2.50 s', 'no']),
    );
    // A run of reports, each awaited on the page, so the charts have a history to draw.
    for (let i = 1; i <= 12; i++) {
      const failing = 5 + i * 6;
      await store.upsertCallStatus([
        row(1, 1, 9001, '10.0.0.11', 120 + i * 9, 3),
        row(1, 1, 9002, '10.0.0.11', 100 + i * 4, failing, failing > 40),
        row(1, 1, 9003, '10.0.0.12', 80 + (i % 4) * 15, 1),
        row(2, 1, 9021, '10.0.0.12', 60 + i * 3, i % 3),
      ]);
      await page.waitForSelector(`tr[data-key="1/1/127.0.0.1:9002/10.0.0.11"] td:nth-child(4):text-is("${failing}")`);
    }
    await page.waitForSelector('section.module[data-module="2/1"] .uplot canvas');
    await page.waitForSelector('section.module[data-module="1/1"] .uplot canvas');
    expect(await page.textContent('tr[data-key="1/1/127.0.0.1:9002/10.0.0.11"] .badge')).toBe('yes');
    expect(await page.textContent('section.module[data-module="1/1"] h2')).toContain('modid 1 · cmdid 1');
    const modules = await page.$$eval('section.module', (s) => s.map((x) => (x as HTMLElement).dataset.module));
    expect(modules).toEqual(['1/1', '2/1']);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'status.png'), fullPage: true, animations: 'disabled' });
  });

  it('lists a module in alarm when its nodes fail, live, and clears it when they recover', async () => {
    let ts = Math.floor(Date.now() / 1000) + 100; // newer than every row written before
    const report = (modid: number, ports: number[], succCnt: number, errCnt: number, overload: boolean) =>
      store.upsertCallStatus(ports.map((port) => ({ modid, cmdid: 1, ip: '127.0.0.1', port, caller: '10.0.0.11', succCnt, errCnt, ts, overload })));
    // Every node healthy first.
    await report(1, [9001, 9002, 9003], 100, 0, false);
    await report(3, [9031, 9032, 9033], 100, 0, false);
    await page.goto(`${base}/alarms`);
    await expect.poll(() => page.textContent('#live-state')).toBe('live');
    await page.waitForSelector('#alarms-empty:not([hidden])');
    expect(await page.textContent('#default-error-ratio')).toBe('10%');

    // Two of module 3/1's three nodes fail and are overloaded.
    ts += 1;
    await report(3, [9031, 9032], 20, 80, true);
    const row = '#alarms-table tr[data-module="3/1"]';
    await page.waitForSelector(row);
    expect(await page.$$eval(`${row} td.reasons div`, (d) => d.map((x) => x.textContent))).toEqual(['error ratio 53.3% ≥ 10%', '2 of 3 nodes overloaded (66.7% ≥ 50%)']);
    expect(await page.textContent(`${row} td:first-child`)).toContain('modid 3 · cmdid 1');
    expect(await page.textContent(`${row} td.time`)).toMatch(/^\d\d:\d\d:\d\d UTC \(\d+ s\)$/);
    expect(await page.$('#alarms-table tr[data-module="1/1"]')).toBeNull();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'alarms.png'), fullPage: true, animations: 'disabled' });

    // They recover: a new window without failures.
    ts += 1;
    await report(3, [9031, 9032], 50, 0, false);
    await page.waitForSelector(row, { state: 'detached' });
    await page.waitForSelector('#alarms-empty:not([hidden])');
  });

  it('sets and removes a module\'s own alarm thresholds', async () => {
    await page.fill('#set-threshold input[name=modid]', '2');
    await page.fill('#set-threshold input[name=cmdid]', '1');
    await page.fill('#set-threshold input[name=errorRatio]', '1.5');
    await page.fill('#set-threshold input[name=overloadedShare]', '0.9');
    await page.click('#set-threshold button[type=submit]');
    await expect.poll(() => page.textContent('#set-threshold .field-error[data-for=errorRatio]')).toContain('above 0 and at most 1');
    await page.fill('#set-threshold input[name=errorRatio]', '0.25');
    await page.click('#set-threshold button[type=submit]');
    const row = '#thresholds-table tr[data-module="2/1"]';
    await page.waitForSelector(row);
    expect(await page.$$eval(`${row} td`, (tds) => tds.slice(0, 4).map((t) => t.textContent))).toEqual(['2', '1', '25%', '90%']);
    expect(await store.listAlarmThresholds()).toEqual([{ modid: 2, cmdid: 1, errorRatio: 0.25, overloadedShare: 0.9 }]);
    await page.click(`${row} button:text("Use defaults")`);
    await page.click(`${row} button:text("Confirm delete")`);
    await page.waitForSelector(row, { state: 'detached' });
    expect(await store.listAlarmThresholds()).toEqual([]);
  });

  it("groups a zoned route's nodes by zone, each zone with its healthy share (docs/zones.md's screenshot)", async () => {
    const [modid, cmdid] = [12, 1];
    const node = (port: number, zone: string) => ({ op: 'add' as const, modid, cmdid, ip: '10.0.12.1', port, zone });
    await store.applyRouteChange([node(9101, 'az1'), node(9102, 'az1'), node(9201, 'az2'), node(9202, 'az2')]);
    await page.goto(`${base}/status`);
    await expect.poll(() => page.textContent('#live-state')).toBe('live');
    // After az1's nodes failed: the az1 agent (caller 10.0.1.1) reports them overloaded and now
    // sends its calls to az2, beside the az2 agent (10.0.2.1).
    const ts = Math.floor(Date.now() / 1000);
    const row = (port: number, caller: string, succCnt: number, errCnt: number, overload: boolean): CallStatus => ({
      modid, cmdid, ip: '10.0.12.1', port, caller, succCnt, errCnt, ts, overload, usetime: { sumUs: 1_200 * (succCnt + errCnt), maxUs: 9_800, timedCalls: succCnt + errCnt },
    });
    await store.upsertCallStatus([
      row(9101, '10.0.1.1', 2, 41, true),
      row(9102, '10.0.1.1', 3, 38, true),
      row(9201, '10.0.1.1', 412, 0, false),
      row(9202, '10.0.1.1', 405, 1, false),
      row(9201, '10.0.2.1', 398, 0, false),
      row(9202, '10.0.2.1', 401, 0, false),
    ]);
    const section = `section.module[data-module="${modid}/${cmdid}"]`;
    await page.waitForSelector(`${section} tr[data-key="${modid}/${cmdid}/10.0.12.1:9202/10.0.2.1"]`);
    // Each zone's line, then its rows, in table order.
    const lines = await page.$$eval(`${section} table.status tbody tr`, (trs) =>
      trs.map((tr) => ((tr as HTMLElement).dataset.zone !== undefined ? `[${tr.textContent}]` : (tr as HTMLElement).dataset.key)),
    );
    expect(lines).toEqual([
      '[zone az1 0% healthy 0 of 2 nodes]',
      `${modid}/${cmdid}/10.0.12.1:9101/10.0.1.1`,
      `${modid}/${cmdid}/10.0.12.1:9102/10.0.1.1`,
      '[zone az2 100% healthy 2 of 2 nodes]',
      `${modid}/${cmdid}/10.0.12.1:9201/10.0.1.1`,
      `${modid}/${cmdid}/10.0.12.1:9201/10.0.2.1`,
      `${modid}/${cmdid}/10.0.12.1:9202/10.0.1.1`,
      `${modid}/${cmdid}/10.0.12.1:9202/10.0.2.1`,
    ]);
    // One az1 node recovers: half the zone is healthy.
    await store.upsertCallStatus([row(9102, '10.0.1.1', 30, 0, false)].map((r) => ({ ...r, ts: ts + 1 })));
    await expect.poll(() => page.textContent(`${section} tr[data-zone="az1"]`)).toBe('zone az1 50% healthy 1 of 2 nodes');
    await store.upsertCallStatus([row(9102, '10.0.1.1', 3, 44, true)].map((r) => ({ ...r, ts: ts + 2 })));
    await expect.poll(() => page.textContent(`${section} tr[data-zone="az1"]`)).toBe('zone az1 0% healthy 0 of 2 nodes');
    // A route without zones keeps its plain table.
    expect(await page.$$('section.module[data-module="1/1"] tr.zone-head')).toHaveLength(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator(section).screenshot({ path: join(ARTIFACTS, 'zones-status.png'), animations: 'disabled' });
  });

  it('ran without script errors or CSP violations', () => {
    // The API's refusals (401 for the wrong password, 400 for bad input) are logged as failed loads: expected.
    expect(pageErrors.filter((e) => !/^Failed to load resource: the server responded with a status of 40[01]/.test(e))).toEqual([]);
    expect(notFound).toEqual([]);
  });
});
