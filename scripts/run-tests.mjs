#!/usr/bin/env node
// `npm test`: builds the TypeScript (and type-checks the tests), builds and runs the C++ unit tests under
// AddressSanitizer (ctest), runs the vitest suites, and ends with one line
// "N passed, N failed" over every suite, also written to test/artifacts/summary.txt.
// `--pack` (npm run test:pack) runs only test/pack, the package installed from its tarball (its
// `prepack` builds), and writes test/artifacts/pack-summary.txt.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const artifacts = join(root, 'test', 'artifacts');
mkdirSync(artifacts, { recursive: true });
const jobs = String(availableParallelism());
const pack = process.argv[2] === '--pack';
const vitestArgs = process.argv.slice(pack ? 3 : 2);

function run(cmd, args, opts = {}) {
  console.log(`\n> ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

let passed = 0;
let failed = 0;
let broken = false;

// 1. TypeScript and the web admin's assets (tests of daemons spawn the built CLI).
if (!pack && run('npm', ['run', '--silent', 'build']) !== 0) {
  console.error('lars test: build failed');
  broken = true;
}

// The tests are TypeScript too: vitest only strips their types, so check them here.
if (!pack && run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json']) !== 0) {
  console.error('lars test: the tests do not type-check');
  broken = true;
}

// 2. C++ unit tests, ASan + UBSan, in their own build tree (no Node headers involved).
if (vitestArgs.length === 0 && !pack) {
  const build = join(root, 'build', 'native-tests');
  const junit = join(artifacts, 'ctest.xml');
  const ok =
    run('cmake', ['-S', root, '-B', build, '-DLARS_NATIVE_TESTS=ON', '-DLARS_ASAN=ON', '-DCMAKE_BUILD_TYPE=Debug'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }) === 0 && run('cmake', ['--build', build, '--parallel', jobs]) === 0;
  if (!ok) {
    console.error('lars test: C++ test build failed');
    broken = true;
  } else {
    run('ctest', ['--test-dir', build, '--output-on-failure', '--output-junit', junit, '--parallel', jobs]);
    if (existsSync(junit)) {
      const xml = readFileSync(junit, 'utf8');
      const m = /<testsuite[^>]*\btests="(\d+)"[^>]*\bfailures="(\d+)"/.exec(xml);
      const errors = /<testsuite[^>]*\berrors="(\d+)"/.exec(xml);
      if (m) {
        const total = Number(m[1]);
        const bad = Number(m[2]) + Number(errors?.[1] ?? 0);
        passed += total - bad;
        failed += bad;
      } else broken = true;
    } else broken = true;
  }
}

// 3. vitest.
const vitestJson = join(artifacts, pack ? 'vitest-pack.json' : 'vitest.json');
run(process.execPath, [
  join(root, 'node_modules', 'vitest', 'vitest.mjs'),
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${vitestJson}`,
  ...(pack ? ['--config', join(root, 'vitest.pack.config.ts')] : []),
  ...vitestArgs,
]);
if (existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // A suite that failed to load has no failed tests but must still fail the run.
  if (report.numFailedTestSuites > 0 && report.numFailedTests === 0) failed += report.numFailedTestSuites;
} else broken = true;

const summary = `${passed} passed, ${failed} failed`;
writeFileSync(join(artifacts, pack ? 'pack-summary.txt' : 'summary.txt'), summary + '\n');
console.log(`\n${summary}`);
process.exit(failed > 0 || broken ? 1 : 0);
