#!/usr/bin/env node
// Builds the native addon (build/native/Release/lars_native.node) with cmake-js.
// Checks the toolchain first so that a missing compiler gives one clear message
// instead of a page of CMake errors.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, utimesSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

const missing = [];
if (!has('cmake')) missing.push('cmake');
if (!has(process.env.CXX ?? 'c++') && !has('g++') && !has('clang++')) missing.push('a C++17 compiler (g++)');
if (!has('make') && !has('ninja')) missing.push('make');
if (missing.length > 0) {
  console.error(
    `lars: cannot build the native addon: ${missing.join(', ')} not found.\n` +
      `  Install them, e.g. on Debian/Ubuntu: apt-get install -y cmake g++ make\n` +
      `  then run: npm run build:native\n` +
      `  (Lars can also run without the addon: LARS_IMPL=ts)`,
  );
  process.exit(1);
}

// Resolved like any dependency: in an installed package cmake-js sits in the parent node_modules.
const cmakeJs = join(dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const out = join(root, 'build', 'native');
mkdirSync(out, { recursive: true });
const compile = [cmakeJs, 'compile', '--out', out, '--parallel', String(availableParallelism()), '--log-level', 'warn'];
// Two builds at once in one tree corrupt each other; flock (util-linux) serialises them.
const r = has('flock', ['--version'])
  ? spawnSync('flock', [join(out, '.lock'), process.execPath, ...compile], { cwd: root, stdio: 'inherit' })
  : spawnSync(process.execPath, compile, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('lars: native addon build failed (see the compiler output above).');
  process.exit(r.status ?? 1);
}
// The addon refuses to load when it is older than a file under native/ (src/native/addon.ts). A
// build that found nothing to relink (only a CMakeLists.txt edit that changed no flag, say) leaves
// the old file's time; it is current all the same, so the command the refusal names must cure it.
const addon = join(out, 'Release', 'lars_native.node');
if (existsSync(addon)) {
  const now = new Date();
  utimesSync(addon, now, now);
}
