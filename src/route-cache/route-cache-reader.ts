// Reads the route cache directory (docs/agent.md, "The route cache on disk"): the whole directory
// for the agent at start, one module's file for the SDK when the agent does not answer. Bad files
// are reported to the caller and skipped, never thrown.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheFileName, decodeCacheFile, parseCacheFileName, type CacheFileProblem, type CachedRoute } from './route-cache-file.js';

/** Why a file in the cache directory was not loaded: a format problem or an I/O error. */
export type SkipReason = CacheFileProblem | 'unreadable';

export interface LoadRouteCacheOptions {
  readonly maxAgeMs: number;
  /** Wall clock, milliseconds since the epoch (default Date.now). */
  readonly now?: () => number;
  /** One call per file skipped. */
  readonly onSkip?: (path: string, reason: SkipReason, detail?: string) => void;
}

/** Files read at once: a large cache loads quickly without opening thousands of files together. */
const READ_CONCURRENCY = 32;

/**
 * Every usable cached route in dir. Only files named route-<modid>-<cmdid>.lrc are cache files; any
 * other name (a temp file left by a crash mid-write, say) is not looked at. A missing dir holds none.
 */
export async function loadRouteCache(dir: string, opts: LoadRouteCacheOptions): Promise<CachedRoute[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') opts.onSkip?.(dir, 'unreadable', (err as Error).message);
    return [];
  }
  const now = opts.now ?? Date.now;
  const files = names.sort().flatMap((name) => {
    const module = parseCacheFileName(name);
    return module === undefined ? [] : [{ path: join(dir, name), ...module }];
  });
  const routes: CachedRoute[] = [];
  for (let i = 0; i < files.length; i += READ_CONCURRENCY) {
    const batch = files.slice(i, i + READ_CONCURRENCY);
    const read = await Promise.all(batch.map((f) => readFile(f.path).catch((err: Error) => err)));
    batch.forEach((f, k) => {
      const data = read[k]!;
      if (data instanceof Error) {
        opts.onSkip?.(f.path, 'unreadable', data.message);
        return;
      }
      const d = decodeCacheFile(data, { modid: f.modid, cmdid: f.cmdid, nowMs: now(), maxAgeMs: opts.maxAgeMs });
      if (d.ok) routes.push(d.cached);
      else opts.onSkip?.(f.path, d.problem);
    });
  }
  return routes;
}

/** Module (modid, cmdid)'s cached route, or undefined when it has none usable (missing, bad, too old). */
export async function readCachedRoute(dir: string, modid: number, cmdid: number, maxAgeMs: number, nowMs = Date.now()): Promise<CachedRoute | undefined> {
  let data: Buffer;
  try {
    data = await readFile(join(dir, cacheFileName(modid, cmdid)));
  } catch {
    return undefined;
  }
  const d = decodeCacheFile(data, { modid, cmdid, nowMs, maxAgeMs });
  return d.ok ? d.cached : undefined;
}
