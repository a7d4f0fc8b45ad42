#!/usr/bin/env node
// `npm run fuzz [-- --seconds N] [target ...]`: builds the libFuzzer targets of native/fuzz with
// clang under ASan + UBSan (build/fuzz), writes each target's seed corpus from the real encoder,
// runs the targets one after another for N seconds each (default 60, or LARS_FUZZ_SECONDS), and
// prints one row per target: executions per second, coverage, crashes. Writes the figures to
// bench/results/fuzz.json and "N passed, N failed" (a target that ran without a crash passes) to
// test/artifacts/fuzz-summary.txt, which .ci/run adds to the test totals. Exits non-zero on a
// crash or a build failure; a crashing input stays in build/fuzz/crashes/<target>/.
// With --coverage it then replays every corpus through a second build instrumented for llvm-cov
// (build/fuzz-coverage) and reports the line and branch coverage of native/wire by all of them.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const build = join(root, 'build', 'fuzz');
const artifacts = join(root, 'test', 'artifacts');
const summaryFile = join(artifacts, 'fuzz-summary.txt');
const resultsFile = join(root, 'bench', 'results', 'fuzz.json');
// Inputs as large as the largest frame, so the length limits themselves get exercised.
const maxLen = 65600;

const usage = 'npm run fuzz -- [--seconds N] [--coverage] [target ...]';

function parseArgs(argv) {
  let seconds = Number(process.env.LARS_FUZZ_SECONDS ?? 60);
  let coverage = false;
  const only = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--coverage') coverage = true;
    else if (argv[i] === '--seconds') seconds = Number(argv[++i]);
    else if (argv[i].startsWith('--seconds=')) seconds = Number(argv[i].slice('--seconds='.length));
    else if (argv[i].startsWith('-')) throw new Error(`unknown option ${argv[i]} (usage: ${usage})`);
    else only.push(argv[i]);
  }
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error('--seconds must be a positive whole number');
  return { seconds, coverage, only };
}

function run(cmd, args, opts = {}) {
  console.log(`> ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts }).status ?? 1;
}

function writeSummary(passed, failed) {
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(summaryFile, `${passed} passed, ${failed} failed\n`);
}

// --help, not --version: llvm-profdata only answers the former with success.
function works(cmd) {
  return spawnSync(cmd, ['--help'], { stdio: 'ignore' }).status === 0;
}

// Builds every fuzz target into dir (build/fuzz, or the coverage build with its extra option).
function buildTargets(dir, options = []) {
  if (!works('clang++')) {
    console.error('lars fuzz: clang++ not found. On Debian: apt-get install -y clang libclang-rt-14-dev');
    return false;
  }
  const configure = ['-S', root, '-B', dir, '-DLARS_FUZZ=ON', ...options];
  configure.push('-DCMAKE_CXX_COMPILER=clang++', '-DCMAKE_BUILD_TYPE=Debug');
  return (
    run('cmake', configure, { stdio: ['ignore', 'ignore', 'inherit'] }) === 0 &&
    run('cmake', ['--build', dir, '--target', 'lars_fuzz', '--parallel', '2']) === 0
  );
}

// The figures of one libFuzzer run, from its stderr.
function parseLog(log) {
  const last = (re) => {
    let m = null;
    for (const x of log.matchAll(re)) m = x;
    return m;
  };
  const status = last(/^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\d+)\//gm);
  const counters = /Loaded 1 modules\s+\((\d+) inline 8-bit counters\)/.exec(log);
  const execs = /stat::average_exec_per_sec:\s+(\d+)/.exec(log);
  const units = /stat::number_of_executed_units:\s+(\d+)/.exec(log);
  // -print_coverage: of the native/wire functions this target reached, how many of their edges ran.
  let wireCovered = 0;
  let wireTotal = 0;
  for (const m of log.matchAll(/^COVERED_FUNC: hits: \d+ edges: (\d+)\/(\d+) .* (\S+):\d+$/gm)) {
    if (!m[3].includes('/native/wire/')) continue;
    wireCovered += Number(m[1]);
    wireTotal += Number(m[2]);
  }
  return {
    runs: units ? Number(units[1]) : status ? Number(status[1]) : null,
    execsPerSec: execs ? Number(execs[1]) : null,
    cov: status ? Number(status[2]) : null,
    ft: status ? Number(status[3]) : null,
    corpus: status ? Number(status[4]) : null,
    counters: counters ? Number(counters[1]) : null,
    wireEdges: wireTotal > 0 ? { covered: wireCovered, total: wireTotal } : null,
  };
}

function fuzzOne(target, seconds) {
  const exe = join(build, 'native', 'fuzz', `${target}_fuzz`);
  const corpus = join(build, 'corpus', target);
  const crashes = join(build, 'crashes', target);
  const logs = join(build, 'logs');
  for (const dir of [corpus, crashes, logs]) mkdirSync(dir, { recursive: true });
  const seeded = spawnSync(exe, [], { env: { ...process.env, LARS_FUZZ_SEED_DIR: corpus }, stdio: 'inherit' });
  if (seeded.status !== 0) return { target, error: 'seed generation failed', crashes: 1 };

  console.log(`lars fuzz: ${target} for ${seconds} s`);
  const r = spawnSync(
    exe,
    [
      `-max_total_time=${seconds}`,
      `-max_len=${maxLen}`,
      '-timeout=10',
      '-print_final_stats=1',
      '-print_coverage=1',
      `-artifact_prefix=${crashes}/`,
      corpus,
    ],
    { encoding: 'utf8', maxBuffer: 512 * 2 ** 20, env: { ...process.env, UBSAN_OPTIONS: 'print_stacktrace=1' } },
  );
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const logFile = join(logs, `${target}.log`);
  writeFileSync(logFile, log);
  const figures = parseLog(log);
  const crashed = r.status !== 0;
  const artifact = /Test unit written to (\S+)/.exec(log)?.[1] ?? null;
  if (crashed) {
    const reason = /^(==\d+==ERROR: .*|fuzz property failed: .*|SUMMARY: .*)$/m.exec(log)?.[1] ?? `exit ${r.status}`;
    console.error(`lars fuzz: ${target} CRASHED: ${reason}`);
    console.error(`  input: ${artifact ?? '(none written)'}; log: ${relative(root, logFile)}`);
    if (artifact) console.error(`  reproduce: ${relative(root, exe)} ${artifact}`);
  }
  return { target, seconds, ...figures, crashes: crashed ? 1 : 0, artifact, log: relative(root, logFile) };
}

function printTable(rows) {
  const header = ['target', 'exec/s', 'runs', 'cov', 'ft', 'wire edges', 'corpus', 'crashes'];
  const cells = rows.map((r) => [
    r.target,
    String(r.execsPerSec ?? '-'),
    String(r.runs ?? '-'),
    String(r.cov ?? '-'),
    String(r.ft ?? '-'),
    r.wireEdges ? `${r.wireEdges.covered}/${r.wireEdges.total}` : '-',
    String(r.corpus ?? '-'),
    String(r.crashes),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  console.log(`\n${line(header)}\n${cells.map(line).join('\n')}`);
}

// Replays each target's corpus (-runs=0: the inputs only, no fuzzing) through the llvm-cov build
// and sums the coverage of the native/wire sources over all targets. An HTML report of every line
// is left in build/fuzz-coverage/html.
function measureCoverage(targets) {
  const dir = join(root, 'build', 'fuzz-coverage');
  const tool = (name) => [name, `${name}-14`].find(works);
  const [llvmCov, llvmProfdata] = [tool('llvm-cov'), tool('llvm-profdata')];
  if (!llvmCov || !llvmProfdata) throw new Error('--coverage needs llvm-cov and llvm-profdata (Debian: llvm-14)');
  if (!buildTargets(dir, ['-DLARS_FUZZ_COVERAGE=ON'])) throw new Error('coverage build failed');
  const profiles = join(dir, 'profiles');
  rmSync(profiles, { recursive: true, force: true });
  mkdirSync(profiles, { recursive: true });
  const exes = targets.map((t) => join(dir, 'native', 'fuzz', `${t}_fuzz`));
  targets.forEach((t, i) => {
    const r = spawnSync(exes[i], ['-runs=0', join(build, 'corpus', t)], {
      stdio: 'ignore',
      env: { ...process.env, LLVM_PROFILE_FILE: join(profiles, `${t}.profraw`) },
    });
    if (r.status !== 0) throw new Error(`replaying the ${t} corpus failed (exit ${r.status})`);
  });
  const merged = join(dir, 'merged.profdata');
  const raw = targets.map((t) => join(profiles, `${t}.profraw`));
  if (run(llvmProfdata, ['merge', '-sparse', ...raw, '-o', merged]) !== 0) throw new Error('llvm-profdata merge failed');
  const binaries = [exes[0], ...exes.slice(1).flatMap((e) => ['-object', e])];
  const wire = join(root, 'native', 'wire');
  const html = join(dir, 'html');
  const report = (args, opts) => spawnSync(llvmCov, [...args, `-instr-profile=${merged}`, ...binaries, wire], opts);
  const exported = report(['export', '-summary-only'], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (exported.status !== 0) throw new Error(`llvm-cov export failed: ${exported.stderr}`);
  report(['show', '-format=html', `-output-dir=${html}`], { stdio: 'ignore' });
  const files = JSON.parse(exported.stdout).data[0].files.map((f) => ({
    file: relative(root, f.filename),
    lines: ratio(f.summary.lines.covered, f.summary.lines.count),
    branches: ratio(f.summary.branches.covered, f.summary.branches.count),
  }));
  const total = (kind) => ratio(...['covered', 'count'].map((k) => files.reduce((n, f) => n + f[kind][k], 0)));
  return { scope: 'native/wire', lines: total('lines'), branches: total('branches'), files, html: relative(root, html) };
}

function ratio(covered, count) {
  return { covered, count, percent: count > 0 ? Math.round((1000 * covered) / count) / 10 : null };
}

function printCoverage(c) {
  console.log(`\nllvm-cov, all corpora together (${c.scope}):`);
  const cell = (x) => `${`${x.covered}/${x.count}`.padStart(8)} ${(x.percent === null ? '-' : `${x.percent}%`).padStart(6)}`;
  const row = (name, x) => console.log(`  ${name.padEnd(28)} lines ${cell(x.lines)}   branches ${cell(x.branches)}`);
  for (const f of c.files) row(f.file, f);
  row('total', c);
  console.log(`  line by line: ${c.html}/index.html`);
}

async function machine() {
  // The same record every benchmark keeps, when the TypeScript is built (npm run build).
  try {
    const { machineInfo } = await import(pathToFileURL(join(root, 'dist', 'bench', 'lib', 'machine.js')).href);
    return machineInfo();
  } catch {
    return null;
  }
}

async function main() {
  const { seconds, coverage, only } = parseArgs(process.argv.slice(2));
  if (!buildTargets(build)) {
    console.error('lars fuzz: build failed');
    writeSummary(0, 1);
    return 1;
  }
  const all = readFileSync(join(build, 'fuzz-targets.txt'), 'utf8').split('\n').filter(Boolean);
  const unknown = only.filter((t) => !all.includes(t));
  if (unknown.length > 0) throw new Error(`unknown fuzz target(s) ${unknown.join(', ')}; known: ${all.join(', ')}`);
  const targets = only.length > 0 ? only : all;
  const info = await machine();
  const rows = targets.map((t) => fuzzOne(t, seconds));
  printTable(rows);
  const failed = rows.filter((r) => r.crashes > 0).length;
  writeSummary(rows.length - failed, failed);
  const sourceCoverage = coverage ? measureCoverage(targets) : null;
  if (sourceCoverage) printCoverage(sourceCoverage);
  mkdirSync(dirname(resultsFile), { recursive: true });
  const title = 'libFuzzer targets of the native decoders (ASan + UBSan)';
  const result = { name: 'fuzz', title, seconds, machine: info, targets: rows, sourceCoverage };
  writeFileSync(resultsFile, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nlars fuzz: ${rows.length - failed} passed, ${failed} failed; figures in ${relative(root, resultsFile)}`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`lars fuzz: ${err.message}`);
    writeSummary(0, 1);
    process.exit(1);
  },
);
