#!/usr/bin/env node
// `npm install` of Lars: builds the native addon from the packaged C++ sources, then the
// TypeScript, but only in a source checkout. A packed tarball carries dist/ already built (by
// `prepack`) and no TypeScript sources, so installing it needs neither tsc nor src/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function run(args) {
  const r = spawnSync(args[0], args.slice(1), { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run([process.execPath, join(root, 'scripts', 'build-native.mjs')]);
if (existsSync(join(root, 'src', 'index.ts'))) run([process.platform === 'win32' ? 'npm.cmd' : 'npm', 'run', 'build']);
