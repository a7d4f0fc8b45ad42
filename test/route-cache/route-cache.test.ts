// The route cache on disk (src/route-cache): the file format byte by byte, the reader against
// every kind of bad file (and random bytes), and the writer's coalescing and atomic writes.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CACHE_HEADER_SIZE,
  RouteCacheWriter,
  cacheFileName,
  crc32,
  decodeCacheFile,
  encodeCacheFile,
  loadRouteCache,
  parseCacheFileName,
  readCachedRoute,
  type SkipReason,
} from '../../src/route-cache/index.js';
import { MsgId, encodeBody, ipToInt32, type GetRouteResponse } from '../../src/wire/messages.js';

const NOW = 1_700_000_000_000;
const DAY = 86_400_000;
const MAX_AGE = 7 * DAY;

const route = (modid: number, cmdid: number, n = 2): GetRouteResponse => ({
  modid,
  cmdid,
  host: Array.from({ length: n }, (_, i) => ({ ip: ipToInt32(`10.0.0.${i + 1}`), port: 8000 + i })),
});
const bodyOf = (r: GetRouteResponse): Uint8Array => encodeBody(MsgId.GetRouteResponse, r);
const fileOf = (r: GetRouteResponse, at = NOW): Buffer => encodeCacheFile(r.modid, r.cmdid, bodyOf(r), at);
const decode = (data: Uint8Array, modid = 7, cmdid = 1) => decodeCacheFile(data, { modid, cmdid, nowMs: NOW, maxAgeMs: MAX_AGE });

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'lars-cache-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('route cache file', () => {
  it('is CRC-32 as zlib computes it', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });

  it('lays out header, body and checksum as docs/agent.md says', () => {
    const r = route(7, 1);
    const body = bodyOf(r);
    const f = fileOf(r, 0x0102030405);
    expect(f.subarray(0, 4).toString('latin1')).toBe('LRTC');
    expect(f.readUInt16BE(4)).toBe(1);
    expect(f.readUInt16BE(6)).toBe(0);
    expect(f.readBigUInt64BE(8)).toBe(0x0102030405n);
    expect([f.readUInt32BE(16), f.readUInt32BE(20), f.readUInt32BE(24)]).toEqual([7, 1, body.length]);
    expect(f.subarray(CACHE_HEADER_SIZE, CACHE_HEADER_SIZE + body.length)).toEqual(Buffer.from(body));
    expect(f.readUInt32BE(f.length - 4)).toBe(crc32(f.subarray(0, f.length - 4)));
    expect(f.length).toBe(CACHE_HEADER_SIZE + body.length + 4);
  });

  it('round-trips, negative ids as their unsigned spelling in header and name', () => {
    const r = route(-1, -2147483648, 3);
    const d = decodeCacheFile(fileOf(r), { modid: 4294967295, cmdid: 2147483648, nowMs: NOW, maxAgeMs: MAX_AGE });
    expect(d).toEqual({ ok: true, cached: { modid: -1, cmdid: -2147483648, writtenAtMs: NOW, route: r } });
    expect(cacheFileName(-1, -2147483648)).toBe('route-4294967295-2147483648.lrc');
    expect(parseCacheFileName('route-4294967295-2147483648.lrc')).toEqual({ modid: 4294967295, cmdid: 2147483648 });
  });

  it.each(['route-1-2.lrc.123.tmp', 'route-01-2.lrc', 'route-4294967296-1.lrc', 'README', 'route-1-2.LRC'])('%s is not a cache file name', (name) => {
    expect(parseCacheFileName(name)).toBeUndefined();
  });

  const good = fileOf(route(7, 1));
  const withCrc = (f: Buffer): Buffer => {
    f.writeUInt32BE(crc32(f.subarray(0, f.length - 4)), f.length - 4);
    return f;
  };
  it.each<[string, () => Uint8Array, string]>([
    ['empty', () => Buffer.alloc(0), 'foreign'],
    ['foreign (wrong magic)', () => Buffer.concat([Buffer.from('PK\x03\x04'), good.subarray(4)]), 'foreign'],
    ['a header only', () => good.subarray(0, CACHE_HEADER_SIZE), 'truncated'],
    ['truncated body', () => good.subarray(0, good.length - 5), 'truncated'],
    ['trailing bytes', () => Buffer.concat([good, Buffer.from([0])]), 'truncated'],
    ['wrong version', () => {
      const f = Buffer.from(good);
      f.writeUInt16BE(2, 4);
      return withCrc(f);
    }, 'version'],
    ['a flipped body bit', () => Buffer.from(good).fill(good[CACHE_HEADER_SIZE + 1]! ^ 1, CACHE_HEADER_SIZE + 1, CACHE_HEADER_SIZE + 2), 'checksum'],
    ['too old', () => fileOf(route(7, 1), NOW - MAX_AGE - 1), 'too_old'],
    ['another module than its name', () => fileOf(route(7, 2)), 'mismatch'],
    ['a header naming its module around a body of another', () => encodeCacheFile(7, 1, bodyOf(route(8, 1)), NOW), 'mismatch'],
    ['a body that is no protobuf', () => encodeCacheFile(7, 1, Buffer.from([0xff, 0xff, 0xff]), NOW), 'body'],
  ])('skips %s', (_, bytes, problem) => {
    expect(decode(bytes())).toEqual({ ok: false, problem });
  });

  it('accepts a file exactly cache_max_age old', () => {
    expect(decode(fileOf(route(7, 1), NOW - MAX_AGE)).ok).toBe(true);
  });

  it('never throws on random bytes or on a good file cut or flipped anywhere', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(decode(bytes).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), fc.boolean(), (at, xor, cut) => {
        const bad = cut ? good.subarray(0, at) : Buffer.from(good).fill(good[at]! ^ xor, at, at + 1);
        expect(decode(bad).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('loadRouteCache', () => {
  it('loads the good files and skips every bad one once, with its reason', async () => {
    const dir = tempDir();
    const write = (name: string, data: Uint8Array): void => writeFileSync(join(dir, name), data);
    write(cacheFileName(1, 1), fileOf(route(1, 1)));
    write(cacheFileName(2, 1), fileOf(route(2, 1, 3)));
    write(cacheFileName(3, 1), Buffer.from('garbage, not a cache file'));
    write(cacheFileName(4, 1), fileOf(route(4, 1)).subarray(0, 30));
    write(cacheFileName(5, 1), fileOf(route(5, 1), NOW - 8 * DAY));
    // A crash mid-write leaves a partial temp file: not a cache file, never read.
    write(`${cacheFileName(6, 1)}.4242.tmp`, fileOf(route(6, 1)).subarray(0, 10));
    write('notes.txt', Buffer.from('hello'));
    const skipped: [string, SkipReason][] = [];
    const routes = await loadRouteCache(dir, { maxAgeMs: MAX_AGE, now: () => NOW, onSkip: (p, r) => skipped.push([p, r]) });
    expect(routes.map((r) => r.route)).toEqual([route(1, 1), route(2, 1, 3)]);
    expect(skipped).toEqual([
      [join(dir, cacheFileName(3, 1)), 'foreign'],
      [join(dir, cacheFileName(4, 1)), 'truncated'],
      [join(dir, cacheFileName(5, 1)), 'too_old'],
    ]);
  });

  it('finds no route in a missing directory', async () => {
    const skipped: string[] = [];
    expect(await loadRouteCache(join(tempDir(), 'none'), { maxAgeMs: MAX_AGE, onSkip: (p) => skipped.push(p) })).toEqual([]);
    expect(skipped).toEqual([]);
  });

  it('reads one module for the SDK, undefined when missing or bad', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, cacheFileName(1, 1)), fileOf(route(1, 1)));
    writeFileSync(join(dir, cacheFileName(2, 1)), Buffer.from('junk'));
    expect((await readCachedRoute(dir, 1, 1, MAX_AGE, NOW))?.route).toEqual(route(1, 1));
    expect(await readCachedRoute(dir, 2, 1, MAX_AGE, NOW)).toBeUndefined();
    expect(await readCachedRoute(dir, 3, 1, MAX_AGE, NOW)).toBeUndefined();
    expect(await readCachedRoute(dir, 1, 1, DAY, NOW + 2 * DAY)).toBeUndefined();
  });
});

describe('RouteCacheWriter', () => {
  const open = (dir: string, intervalMs = 60_000) => RouteCacheWriter.open({ dir, intervalMs, now: () => NOW });
  const load = (dir: string) => loadRouteCache(dir, { maxAgeMs: MAX_AGE, now: () => NOW });

  it('coalesces a burst of updates into one write per route, the last one', async () => {
    const dir = tempDir();
    const w = await open(dir);
    for (let n = 1; n <= 50; n++) w.update(7, 1, bodyOf(route(7, 1, n)));
    w.update(8, 1, bodyOf(route(8, 1)));
    expect(readdirSync(dir)).toEqual([]); // nothing written on the caller's path
    await w.flush();
    expect(w.stats()).toEqual({ writes: 2, writeErrors: 0 });
    expect((await load(dir)).map((r) => r.route)).toEqual([route(7, 1, 50), route(8, 1)]);
    expect(readdirSync(dir).sort()).toEqual([cacheFileName(7, 1), cacheFileName(8, 1)]); // no temp file left
  });

  it('writes on its own after the interval', async () => {
    const dir = tempDir();
    const w = await open(dir, 10);
    w.update(7, 1, bodyOf(route(7, 1)));
    const waitForFile = async (): Promise<void> => {
      while (w.stats().writes === 0) await new Promise((r) => setTimeout(r, 5));
    };
    await waitForFile();
    expect(readdirSync(dir)).toEqual([cacheFileName(7, 1)]);
    await w.close();
  });

  it('removes the file of a route DNS answered empty', async () => {
    const dir = tempDir();
    const w = await open(dir);
    w.update(7, 1, bodyOf(route(7, 1)));
    await w.flush();
    w.update(7, 1, undefined);
    w.update(9, 1, undefined); // never written: nothing to remove, no error
    await w.flush();
    expect(readdirSync(dir)).toEqual([]);
    expect(w.stats()).toEqual({ writes: 3, writeErrors: 0 });
  });

  it('flushes what is pending on close, then takes no more', async () => {
    const dir = tempDir();
    const w = await open(dir);
    w.update(7, 1, bodyOf(route(7, 1)));
    await w.close();
    w.update(8, 1, bodyOf(route(8, 1)));
    await w.flush();
    expect(readdirSync(dir)).toEqual([cacheFileName(7, 1)]);
  });

  it('removes temp files a crash mid-write left, and keeps the last whole file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, cacheFileName(7, 1)), fileOf(route(7, 1)));
    writeFileSync(join(dir, `${cacheFileName(7, 1)}.999.tmp`), fileOf(route(7, 1, 5)).subarray(0, 20));
    await open(dir);
    expect(readdirSync(dir)).toEqual([cacheFileName(7, 1)]);
    expect((await load(dir)).map((r) => r.route)).toEqual([route(7, 1)]);
  });

  it('counts a failed write and goes on', async () => {
    const dir = tempDir();
    const errors: string[] = [];
    const w = await RouteCacheWriter.open({ dir, intervalMs: 60_000, onError: (p) => errors.push(p) });
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'a file where the directory was');
    w.update(7, 1, bodyOf(route(7, 1)));
    await w.flush();
    expect(w.stats()).toEqual({ writes: 0, writeErrors: 1 });
    expect(errors).toEqual([join(dir, cacheFileName(7, 1))]);
    expect(readFileSync(dir, 'utf8')).toBe('a file where the directory was');
  });
});
