// Keeps the route cache directory in step with the routes the agent holds, off the hot path:
// update() only records the route's latest body; a timer writes every route changed since the last
// write, so a burst of pushes costs one write per route per interval at most. Each write is a temp
// file renamed over the route's file, so a crash mid-write leaves the old file or the new one,
// never a mix. No fsync: a process crash cannot lose a renamed file, and what a power cut may
// truncate is caught by the checksum and skipped at the next start (DNS sends it again anyway).
//
// One RouteCacheWriter per directory, used from the event loop that created it.
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { moduleKey } from '../wire/module-key.js';
import { cacheFileName, encodeCacheFile } from './route-cache-file.js';

export interface RouteCacheWriterOptions {
  readonly dir: string;
  /** A route is written at most once per interval (default 1000 ms). */
  readonly intervalMs?: number;
  /** Wall clock for the written-at field (default Date.now). */
  readonly now?: () => number;
  /** A write or removal failed (already counted). */
  readonly onError?: (path: string, err: Error) => void;
}

export interface RouteCacheWriterStats {
  /** Files written (renamed into place) or removed. */
  readonly writes: number;
  readonly writeErrors: number;
}

/** The route's latest GetRouteResponse body; undefined: the route has no nodes, its file goes. */
interface Pending {
  readonly modid: number;
  readonly cmdid: number;
  readonly body: Uint8Array | undefined;
}

const TEMP_SUFFIX = '.tmp';
/** Files written at once by one flush. */
const WRITE_CONCURRENCY = 16;

export class RouteCacheWriter {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private dirty = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private writes = 0;
  private writeErrors = 0;

  private constructor(private readonly opts: RouteCacheWriterOptions) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Creates the directory and removes temp files a crash mid-write left behind. */
  static async open(opts: RouteCacheWriterOptions): Promise<RouteCacheWriter> {
    await mkdir(opts.dir, { recursive: true });
    for (const name of await readdir(opts.dir)) {
      if (name.endsWith(TEMP_SUFFIX)) await unlink(join(opts.dir, name)).catch(() => undefined);
    }
    return new RouteCacheWriter(opts);
  }

  /** The module's route as DNS last sent it (body: its GetRouteResponse), or undefined when it has no nodes. */
  update(modid: number, cmdid: number, body: Uint8Array | undefined): void {
    if (this.closed) return;
    this.dirty.set(moduleKey(modid, cmdid), { modid, cmdid, body });
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  stats(): RouteCacheWriterStats {
    return { writes: this.writes, writeErrors: this.writeErrors };
  }

  /** Writes what is pending now (after a flush already running). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing !== undefined) await this.flushing;
    if (this.dirty.size === 0) return;
    const batch = [...this.dirty.values()];
    this.dirty = new Map();
    this.flushing = this.writeAll(batch);
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  /** Writes what is pending and stops taking updates: a clean stop loses no route change. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private async writeAll(batch: readonly Pending[]): Promise<void> {
    for (let i = 0; i < batch.length; i += WRITE_CONCURRENCY) {
      await Promise.all(batch.slice(i, i + WRITE_CONCURRENCY).map((p) => this.writeOne(p)));
    }
  }

  private async writeOne(p: Pending): Promise<void> {
    const path = join(this.opts.dir, cacheFileName(p.modid, p.cmdid));
    const temp = `${path}.${process.pid}${TEMP_SUFFIX}`;
    try {
      if (p.body === undefined) {
        await unlink(path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
      } else {
        await writeFile(temp, encodeCacheFile(p.modid, p.cmdid, p.body, this.now()));
        await rename(temp, path);
      }
      this.writes++;
    } catch (err) {
      this.writeErrors++;
      await unlink(temp).catch(() => undefined);
      this.opts.onError?.(path, err as Error);
    }
  }
}
