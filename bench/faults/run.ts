// `npm run faults`: every fault scenario (bench/faults/scenarios.ts) on the native and the TS path,
// one table row per scenario x impl on stdout and bench/results/faults.json (docs/faults.md).
//
//   npm run faults -- [--short] [--only ID,ID] [--impl native,ts]
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { machineInfo } from '../lib/machine.js';
import { tool } from '../lib/native-tools.js';
import { IMPLS, resultsDir, type Impl } from '../lib/result.js';
import { formatNumber } from '../lib/table.js';
import { FULL, SCENARIOS, SHORT, type ScenarioResult } from './scenarios.js';

const USAGE = `usage: npm run faults -- [--short] [--only ID,ID] [--impl native,ts]

  --short   the vitest scale (a few seconds per scenario) instead of the full one
  --only    only these scenarios
  --impl    only these implementations (also LARS_IMPL)

scenarios:
${SCENARIOS.map((s) => `  ${s.id.padEnd(30)} ${s.title}`).join('\n')}

Results: bench/results/faults.json (docs/faults.md).`;

const HEAD = ['scenario', 'impl', 'result', 'calls', 'failed get_host (noexist/overload/other/timeout)', 'rows exp/stored', 'recover ms', 'notes'];

function row(r: ScenarioResult): string[] {
  const f = r.failed;
  const failed = f === null ? '—' : `${f.noexist + f.overload + f.other + f.timeouts} (${f.noexist}/${f.overload}/${f.other}/${f.timeouts})`;
  const rows = r.rowsExpected === null ? '—' : `${r.rowsExpected}/${r.rowsStored ?? '—'}`;
  const extra = Object.entries(r.figures).map(([k, v]) => `${k}=${v}`);
  return [r.scenario, r.impl, r.verdict.toUpperCase(), formatNumber(r.calls), failed, rows, r.recoverMs === null ? '—' : String(r.recoverMs), [...r.problems, ...extra].join('; ')];
}

function faultTable(results: readonly ScenarioResult[]): string {
  const all = [HEAD, ...results.map(row)];
  const widths = HEAD.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] as number))).join('  ').trimEnd();
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let scale = FULL;
  let only: string[] = [];
  let impls: Impl[] = [...IMPLS];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--short') scale = SHORT;
    else if (a === '--only') only = (argv[++i] ?? '').split(',');
    else if (a === '--impl') impls = (argv[++i] ?? '').split(',').filter((x): x is Impl => x === 'native' || x === 'ts');
    else {
      console.log(USAGE);
      return a === '--help' || a === '-h' ? 0 : 2;
    }
  }
  const env = process.env.LARS_IMPL;
  if (env === 'native' || env === 'ts') impls = [env];
  const unknown = only.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) {
    console.error(`unknown scenario ${unknown.join(', ')}\n\n${USAGE}`);
    return 2;
  }
  process.stderr.write('building bench/native tools (build/bench/) ...\n');
  tool('udp-client');
  const machine = machineInfo();
  const t0 = performance.now();
  const results: ScenarioResult[] = [];
  for (const s of SCENARIOS.filter((x) => only.length === 0 || only.includes(x.id))) {
    for (const impl of impls) {
      const started = performance.now();
      process.stderr.write(`== ${s.id} (${impl}): ${s.title}\n`);
      const r = await s.run(impl, scale);
      process.stderr.write(`   ${r.verdict} in ${((performance.now() - started) / 1000).toFixed(1)} s${r.problems.length > 0 ? `: ${r.problems.join('; ')}` : ''}\n`);
      results.push(r);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n${faultTable(results)}\n`);
  console.log(`${results.length} run(s) in ${seconds.toFixed(0)} s (${scale.name} scale); recover ms: ${[...new Set(results.map((r) => `${r.scenario}: ${r.recovery}`))].join('; ')}`);
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, 'faults.json');
  writeFileSync(file, JSON.stringify({ name: 'faults', scale, machine, durationMs: Math.round(seconds * 1000), results }, null, 2) + '\n');
  console.log(`JSON in ${file}`);
  return results.some((r) => r.verdict === 'fail') ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
