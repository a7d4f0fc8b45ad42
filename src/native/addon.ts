// Loads the C++ addon, or explains how to get it. The pure-TypeScript path needs none of this:
// callers ask `implementation()` which path to take (LARS_IMPL=ts|native, or the config key).
import { createRequire } from 'node:module';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LarsError } from '../errors.js';
import { logSettings } from '../log.js';
import type { NativeAddon } from './types.js';

export type { NativeAddon } from './types.js';
export type Implementation = 'native' | 'ts';

/** The package root: two levels above src/native (also right for dist/src/native, three levels). */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('lars: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
})();

export const addonPath = join(packageRoot, 'build', 'native', 'Release', 'lars_native.node');

export function parseImplementation(value: string | undefined, source: string): Implementation | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'native' || value === 'ts') return value;
  throw new LarsError('ERR_CONFIG', `${source}: expected "native" or "ts", got "${value}"`);
}

/** LARS_IMPL wins over the configured value; native is the default. */
export function implementation(configured?: Implementation): Implementation {
  return parseImplementation(process.env.LARS_IMPL, 'LARS_IMPL') ?? configured ?? 'native';
}

const BUILD_INPUT = /(\.(cc|h)|CMakeLists\.txt)$/;

/** Directories of native/ that the addon's build never compiles: the C++ tests and the fuzz targets. */
const NOT_ADDON_INPUTS = new Set(['test', 'fuzz']);

/** The newest modification time of the addon's build inputs under `dir`. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!NOT_ADDON_INPUTS.has(entry.name)) newest = Math.max(newest, newestMtime(p));
    } else if (BUILD_INPUT.test(entry.name)) {
      newest = Math.max(newest, statSync(p).mtimeMs);
    }
  }
  return newest;
}

/**
 * Checks the addon at `path` is there and, in a source checkout (when `sourcesDir` exists), not
 * older than its sources, then loads it. Throws ERR_NATIVE_MISSING / ERR_NATIVE_STALE with the
 * command that fixes it.
 */
export function loadAddonFrom(path: string, sourcesDir: string): NativeAddon {
  if (!existsSync(path)) {
    throw new LarsError(
      'ERR_NATIVE_MISSING',
      `the native addon is not built (${path} is missing): run "npm run build:native", or set LARS_IMPL=ts to use the pure-TypeScript path`,
    );
  }
  // An addon older than its sources would run old code: refuse it.
  if (existsSync(sourcesDir)) {
    const topCmake = resolve(sourcesDir, '..', 'CMakeLists.txt');
    const newest = Math.max(newestMtime(sourcesDir), existsSync(topCmake) ? statSync(topCmake).mtimeMs : 0);
    if (newest > statSync(path).mtimeMs) {
      throw new LarsError(
        'ERR_NATIVE_STALE',
        `the native addon ${path} is older than its sources in ${sourcesDir}: run "npm run build:native" (or set LARS_IMPL=ts)`,
      );
    }
  }
  const addon = createRequire(import.meta.url)(path) as NativeAddon;
  // Once per load, as better-sqlite3 does with SqliteError: the addon throws LarsError with a code.
  addon.setErrorClass(LarsError);
  // Daemons configure logging before their servers (and so the addon) start.
  const { format, role } = logSettings();
  addon.setLogFormat(format, role ?? '');
  return addon;
}

let loaded: NativeAddon | undefined;

/** The addon of this package, loaded once (see loadAddonFrom). */
export function loadNative(): NativeAddon {
  loaded ??= loadAddonFrom(addonPath, join(packageRoot, 'native'));
  return loaded;
}
