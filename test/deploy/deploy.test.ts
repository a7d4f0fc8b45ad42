// What deploy/ ships, checked the way an operator's tools will read it: the alert rules with
// promtool, the systemd units with systemd-analyze, the Grafana dashboard as JSON; and every
// metric the rules and the dashboard query exists on the /metrics of live daemons. A missing
// tool fails the test (CI installs it): a skipped check would pass unchecked files.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { checkBuild, cleanEnv, root } from '../helpers/cli.js';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { freeConsecutiveUdpBase, freePort } from '../helpers/free-port.js';
import { storeEnv, tempSqlite, testConfig } from '../helpers/roles.js';

const deploy = join(root, 'deploy');
const ROLES = ['dns', 'reporter', 'agent', 'web'] as const;

/** Runs a tool that CI installs; fails with what to install when it is missing. */
function runTool(tool: string, debianPackage: string, args: readonly string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8', cwd: root });
  if (r.error !== undefined) {
    throw new Error(`${tool} is needed for this test and could not run (${r.error.message}): install the Debian package "${debianPackage}" (.ci/run does)`);
  }
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

interface Dashboard {
  schemaVersion: number;
  title: string;
  uid: string;
  panels: { id: number; type: string; title: string; gridPos: object; targets?: { expr: string }[] }[];
}

const dashboard = (): Dashboard => JSON.parse(readFileSync(join(deploy, 'grafana', 'lars.json'), 'utf8')) as Dashboard;

/** The PromQL expressions of the alert rules (each `expr:` scalar or block). */
function ruleExprs(): string[] {
  const text = readFileSync(join(deploy, 'prometheus', 'alerts.yml'), 'utf8');
  const exprs: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
    if (m === null) continue;
    if (m[2] !== '|' && m[2] !== '>') {
      exprs.push(m[2]!);
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || lines[i + 1]!.search(/\S/) > m[1]!.length)) block.push(lines[++i]!);
    exprs.push(block.join('\n'));
  }
  return exprs;
}

// PromQL's own words: aggregations, functions, keywords.
const PROMQL_WORDS = new Set(
  'sum min max avg count count_values stddev stdvar topk bottomk quantile group by without on ignoring group_left group_right and or unless bool offset rate irate increase delta idelta deriv vector scalar abs absent clamp_min clamp_max histogram_quantile label_replace time timestamp'.split(' '),
);
/** Synthesised by Prometheus for every target, never on a /metrics page. */
const PROMETHEUS_SERIES = new Set(['up']);

/** The metric names a PromQL expression selects. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, Grafana variables inside them)
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // label lists
  const names = bare.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? [];
  return names.filter((n) => !PROMQL_WORDS.has(n) && !PROMETHEUS_SERIES.has(n));
}

describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', () => {
    const r = runTool('promtool', 'prometheus', ['check', 'rules', join(deploy, 'prometheus', 'alerts.yml')]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('alerts on what the issue lists', () => {
    const text = readFileSync(join(deploy, 'prometheus', 'alerts.yml'), 'utf8');
    for (const alert of ['LarsModuleErrorRatioHigh', 'LarsModuleNodesOverloaded', 'LarsDnsStoreDown', 'LarsReportRowsDropped', 'LarsAgentWithoutDns', 'LarsNodeOverloaded']) {
      expect(text).toContain(`alert: ${alert}`);
    }
  });
});

describe('deploy/grafana/lars.json', () => {
  it('is a Grafana dashboard whose panels query Prometheus', () => {
    const d = dashboard();
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(d.uid).toMatch(/^[a-z0-9-]+$/);
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const queried = d.panels.filter((p) => p.type !== 'row');
    expect(queried.length).toBeGreaterThan(10);
    for (const p of queried) {
      expect(p.gridPos, p.title).toBeDefined();
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(metricNames(t.expr).length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
    }
    expect(d.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual(['Fleet overview', 'Per module ($modid/$cmdid)', 'Per agent ($agent)', 'Per node ($modid/$cmdid, agents $agent)', 'Zones ($modid/$cmdid, agents $agent)']);
  });

  it("has queries promtool parses (each one checked as a recording rule, Grafana's variables filled in)", () => {
    const exprs = dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const filled = exprs.map((e) => e.replaceAll('$__rate_interval', '5m').replace(/\$\w+/g, '.*'));
    const rules = { groups: [{ name: 'dashboard', rules: filled.map((expr, i) => ({ record: `lars:dashboard_query_${i}`, expr })) }] };
    const file = join(mkdtempSync(join(tmpdir(), 'lars-dash-')), 'dashboard-queries.yml');
    // JSON is YAML: no YAML library needed.
    writeFileSync(file, JSON.stringify(rules));
    const r = runTool('promtool', 'prometheus', ['check', 'rules', file]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it('finds the metric names of an expression and nothing else', () => {
    expect(metricNames('sum by (modid, cmdid) (rate(lars_x_total{result="err", modid=~"$modid"}[5m])) / max(lars_y) > 0.1 and up == 0')).toEqual(['lars_x_total', 'lars_y']);
  });
});

describe('deploy/systemd', () => {
  const units = (): string[] => readdirSync(join(deploy, 'systemd')).filter((f) => f.endsWith('.service'));

  it('has one unit per role, each starting that role with its packaged config file', () => {
    expect(units().sort()).toEqual(ROLES.map((r) => `lars-${r}.service`).sort());
    for (const role of ROLES) {
      const text = readFileSync(join(deploy, 'systemd', `lars-${role}.service`), 'utf8');
      const exec = /^ExecStart=\/usr\/bin\/env lars (\S+) -c \/etc\/lars\/(\S+)$/m.exec(text);
      expect(exec, text).not.toBeNull();
      expect(exec![1]).toBe(role);
      expect(existsSync(join(root, 'conf', exec![2]!)), `conf/${exec![2]}`).toBe(true);
    }
  });

  it('passes systemd-analyze verify without a warning', () => {
    const r = runTool('systemd-analyze', 'systemd', ['verify', ...units().map((u) => join(deploy, 'systemd', u))]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe('');
  });
});

describe('metric names in deploy/', () => {
  const daemons: DaemonProcess[] = [];
  const adminPorts: number[] = [];

  beforeAll(async () => {
    checkBuild(['src/report/start-reporter.ts', 'src/dns/start-dns.ts', 'src/agent/agent-metrics.ts']);
    const kind = tempSqlite();
    const store = await openStore(testConfig('dns', 'ts', kind).store);
    await store.init();
    await store.close();
    const start = async (role: string, flags: string[]): Promise<DaemonProcess> => {
      const adminPort = await freePort();
      adminPorts.push(adminPort);
      const d = spawnDaemon(role, ['--set', `admin.port=${adminPort}`, ...flags], cleanEnv({ ...storeEnv(kind), LARS_LOG_LEVEL: 'info' }));
      daemons.push(d);
      await d.waitFor(/metrics on http/);
      return d;
    };
    const listenPort = async (d: DaemonProcess): Promise<string> => (await d.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]!;
    const server = ['--set', 'reactor.ip=127.0.0.1', '--set', 'reactor.port=0'];
    const dnsPort = await listenPort(await start('dns', server));
    const reporterPort = await listenPort(await start('reporter', server));
    const base = await freeConsecutiveUdpBase();
    await start('agent', ['--set', `agent.port=${base}`, '--set', `dnsserver.port=${dnsPort}`, '--set', `reporter.port=${reporterPort}`, '--set', 'agent.cache_dir=']);
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop('SIGTERM')));
  });

  it('are all on the /metrics of a live DNS, Report service and agent', async () => {
    const served = new Set<string>();
    for (const port of adminPorts) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      // A histogram's TYPE line names it; queries select its _bucket, _sum and _count series.
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)/gm)) {
        served.add(m[1]!);
        if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) served.add(m[1]! + suffix);
      }
    }
    const used = new Map<string, string>();
    for (const expr of ruleExprs()) for (const n of metricNames(expr)) used.set(n, `alerts.yml: ${expr}`);
    for (const p of dashboard().panels) for (const t of p.targets ?? []) for (const n of metricNames(t.expr)) used.set(n, `lars.json "${p.title}": ${t.expr}`);
    expect(used.size).toBeGreaterThan(20);
    const missing = [...used].filter(([n]) => !served.has(n)).map(([n, where]) => `${n} (${where})`);
    expect(missing).toEqual([]);
  });
});
