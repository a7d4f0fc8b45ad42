// `npm run bench [-- NAME ...] [--quick] [--runs N] [--impl native,ts]`: runs each benchmark
// program in its own process (bench/micro, bench/macro), prints one table, and writes
// bench/results/latest.json and latest.md from every bench/results/<name>.json present.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './lib/machine.js';
import { tool } from './lib/native-tools.js';
import { resultsDir, type BenchResult } from './lib/result.js';
import { markdownTable, textTable } from './lib/table.js';

const here = dirname(fileURLToPath(import.meta.url));

const BENCHMARKS = [
  { name: 'balancer', file: 'micro/balancer-ops.js', what: 'balancer pick+report pairs/s per policy, 1 route and 10 000 routes' },
  { name: 'local-view', file: 'micro/local-view.js', what: 'LocalView.pick from Node (the agent\'s shared-memory view): ns per pick' },
  { name: 'agent', file: 'macro/agent-udp.js', what: 'agent get_host+report over UDP vs a C++ echo server; latency; CPU' },
  { name: 'qps-tool', file: 'macro/qps-tool.js', what: 'lars test qps (Node SDK workers) against the native and TS agent' },
  { name: 'sdk', file: 'macro/sdk.js', what: 'Node SDK local mode (agent view) vs UDP: pairs/s, getHostSync ns, agent CPU per million reports' },
  { name: 'clients', file: 'macro/clients.js', what: 'Python, Java and Node clients: get_host+report/s, one thread, native agent' },
  { name: 'dns-rps', file: 'macro/dns-rps.js', what: 'DNS GetRoute requests/s over persistent TCP' },
  { name: 'dns-connections', file: 'macro/dns-connections.js', what: 'DNS subscribed connections, memory each, change fan-out' },
  // Holds a million sockets for minutes: only when named.
  { name: 'dns-cluster', file: 'macro/dns-cluster.js', what: 'K DNS instances on one MariaDB: 100k/500k/1M subscribed connections, one edit to all', explicit: true },
  { name: 'report', file: 'macro/report.js', what: 'Report service rows/s into MariaDB and SQLite' },
  { name: 'propagation', file: 'macro/propagation.js', what: 'route change -> agent get_route, poll 1 s and 100 ms' },
  { name: 'registration', file: 'macro/registration.js', what: 'register -> get_host p50/p99; leases renewed/s per DNS with MySQL statements/s' },
  { name: 'memory', file: 'macro/agent-memory.js', what: 'agent RSS with 10 000 routes x 10 nodes' },
] as const;
const ALIASES: Record<string, readonly string[]> = { dns: ['dns-rps', 'dns-connections'] };

const USAGE = `usage: npm run bench -- [NAME ...] [--quick] [--runs N] [--impl native,ts]

  NAME      run only these (default: all but dns-cluster); dns = dns-rps + dns-connections
  --quick   short smoke run (1 run, short windows, fewer connections/routes/changes)
  --runs N  repetitions behind every median (default 3)
  --impl    only these implementations (also LARS_IMPL)

benchmarks:
${BENCHMARKS.map((b) => `  ${b.name.padEnd(16)} ${b.what}`).join('\n')}

Results: bench/results/<name>.json, latest.json, latest.md (docs/benchmarks.md).`;

function readResult(name: string): BenchResult | undefined {
  const file = join(resultsDir, `${name}.json`);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  } catch {
    return undefined;
  }
}

function main(argv: string[]): number {
  const names: string[] = [];
  const pass: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      return 0;
    }
    if (a === '--quick') pass.push(a);
    else if (a === '--runs' || a === '--impl') pass.push(a, argv[++i] ?? '');
    else if (a.startsWith('-')) {
      console.error(`unknown option ${a}\n\n${USAGE}`);
      return 2;
    } else names.push(...(ALIASES[a] ?? [a]));
  }
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}\n\n${USAGE}`);
    return 2;
  }
  const selected = BENCHMARKS.filter((b) => (names.length === 0 ? !('explicit' in b) : names.includes(b.name)));
  if (selected.some((b) => b.file.startsWith('macro/'))) {
    process.stderr.write('building bench/native tools (build/bench/) ...\n');
    tool('udp-client');
  }
  const t0 = performance.now();
  const ran: BenchResult[] = [];
  for (const b of selected) {
    process.stderr.write(`\n== ${b.name}: ${b.what}\n`);
    const started = Date.now();
    const r = spawnSync(process.execPath, [join(here, b.file), ...pass], { stdio: ['ignore', 'inherit', 'inherit'] });
    const result = readResult(b.name);
    if (result === undefined || Date.parse(result.machine.timestamp) < started - 1000) {
      console.error(`${b.name}: no result written (exit ${r.status ?? r.signal})`);
      continue;
    }
    ran.push(result);
  }
  const seconds = (performance.now() - t0) / 1000;

  console.log(`\n${textTable(ran)}\n`);
  for (const r of ran) for (const n of r.notes) console.log(`- ${r.name}: ${n}`);
  console.log(`\n${ran.length} benchmark(s) in ${seconds.toFixed(0)} s; JSON in ${resultsDir}`);

  // latest.*: every benchmark's most recent result, whichever run produced it.
  const latest = BENCHMARKS.map((b) => readResult(b.name)).filter((r): r is BenchResult => r !== undefined);
  const machine = machineInfo();
  writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify({ generatedAt: machine.timestamp, machine, results: latest }, null, 2) + '\n');
  const stamps = latest.map((r) => `- \`${r.name}\`: ${r.machine.timestamp}, commit ${r.machine.gitCommit?.slice(0, 10) ?? 'unknown'}${r.machine.gitDirty ? ' (dirty)' : ''}, ${r.runs} run(s)${r.quick ? ', quick' : ''}, load average ${r.machine.loadavg.join(' / ')}`);
  const notes = latest.flatMap((r) => r.notes.map((n) => `- \`${r.name}\`: ${n}`));
  const m = latest[0]?.machine ?? machine;
  const md = [
    `Measured on ${m.cpuModel}, ${m.cores} cores, ${Math.round(m.memoryMiB / 1024)} GiB, Node ${m.node}, ${m.os}.`,
    'Figures are medians of the runs listed; "ref/value" holds the C++ echo server (agent rows) or an implementation-independent value (ratios).',
    '',
    markdownTable(latest),
    '',
    'Runs:',
    ...stamps,
    ...(notes.length > 0 ? ['', 'Notes:', ...notes] : []),
    '',
    'How to run and read these: docs/benchmarks.md.',
    '',
  ].join('\n');
  writeFileSync(join(resultsDir, 'latest.md'), md);
  return ran.length === selected.length ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
