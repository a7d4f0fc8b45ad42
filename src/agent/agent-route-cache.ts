// The agent's side of the route cache on disk (src/route-cache, docs/agent.md): loads the cached
// routes at start, before the core answers anything, and keeps the files in step with every DNS
// reply or push. It sits in the control plane, between the DNS client and the core, so one
// writer serves both cores and both write the same files.
import type { HostAddr } from '../balancer/route.js';
import { createLogger } from '../log.js';
import { RouteCacheWriter, loadRouteCache, type CachedRoute, type SkipReason } from '../route-cache/index.js';
import type { SeedRoute } from './agent-core.js';

const log = createLogger('agent');

const SKIP_MEANING: Record<SkipReason, string> = {
  foreign: 'not a Lars route cache file (bad magic)',
  version: 'written by an unknown format version',
  truncated: 'truncated or of the wrong length',
  checksum: 'checksum mismatch (corrupt)',
  body: 'its route does not decode',
  mismatch: 'it names another module than its file name',
  too_old: 'older than [agent] cache_max_age',
  unreadable: 'unreadable',
};

export interface AgentRouteCacheStats {
  readonly loaded: number;
  readonly skipped: number;
  readonly writes: number;
  readonly writeErrors: number;
}

export class AgentRouteCache {
  private loaded = 0;

  private constructor(
    private readonly writer: RouteCacheWriter,
    /** Loaded, not handed to the core yet. */
    private routes: readonly CachedRoute[],
    private readonly skipped: number,
  ) {}

  /**
   * Opens dir (created if missing) and reads every cached route not older than maxAgeMs. Bad files
   * are skipped, one log line each. Undefined when the directory cannot be used: the agent then
   * runs without a cache rather than not at all.
   */
  static async open(dir: string, maxAgeMs: number): Promise<AgentRouteCache | undefined> {
    let skipped = 0;
    let writer: RouteCacheWriter;
    try {
      writer = await RouteCacheWriter.open({
        dir,
        onError: (path, err) => log.limited('warn', 'route-cache-write', `route cache: cannot write ${path}: ${err.message}`),
      });
    } catch (err) {
      log.error(`route cache: cannot use ${dir} (${(err as Error).message}); running without a route cache: fix [agent] cache_dir`);
      return undefined;
    }
    const routes = await loadRouteCache(dir, {
      maxAgeMs,
      onSkip: (path, reason, detail) => {
        skipped++;
        log.limited('warn', 'route-cache-skip', `route cache: skipping ${path}: ${SKIP_MEANING[reason]}${detail === undefined ? '' : ` (${detail})`}`, 100);
      },
    });
    return new AgentRouteCache(writer, routes, skipped);
  }

  /** Hands every loaded route to the core (once), as if DNS had just sent it. */
  /** The loaded routes, for AgentCore.listen (once: they are handed over and forgotten). */
  takeSeeds(): SeedRoute[] {
    const seeds = this.routes.map((r): SeedRoute => ({ modid: r.modid, cmdid: r.cmdid, hosts: r.route.host, ...(r.route.policy === undefined ? {} : { policy: r.route.policy }) }));
    this.loaded += seeds.length;
    if (seeds.length > 0) log.info(`route cache: serving ${seeds.length} cached routes until DNS answers`);
    this.routes = [];
    return seeds;
  }

  /** A DNS reply or push as applied to the core; body is its GetRouteResponse as DNS sent it. */
  onRoute(modid: number, cmdid: number, hosts: readonly HostAddr[], body: Uint8Array): void {
    this.writer.update(modid, cmdid, hosts.length > 0 ? body : undefined);
  }

  stats(): AgentRouteCacheStats {
    return { loaded: this.loaded, skipped: this.skipped, ...this.writer.stats() };
  }

  /** Writes the route changes still pending. */
  close(): Promise<void> {
    return this.writer.close();
  }
}
