// One cached route as one file (docs/agent.md, "The route cache on disk", byte by byte): the
// agent writes it, the agent and the SDKs read it. The body is the GetRouteResponse protobuf as
// DNS sent it, so fields DNS adds later are cached without a new format version.
//
//   offset  size  field (integers big-endian)
//   0       4     magic "LRTC"
//   4       2     format version, 1
//   6       2     reserved, 0
//   8       8     written at, milliseconds since the Unix epoch (uint64)
//   16      4     modid (uint32)
//   20      4     cmdid (uint32)
//   24      4     body length n (uint32, at most MAX_BODY_SIZE)
//   28      n     body: GetRouteResponse protobuf
//   28+n    4     CRC-32 (IEEE, as zlib) of bytes 0 .. 27+n
import { MAX_BODY_SIZE } from '../wire/frame.js';
import { MsgId, decodeBody, type GetRouteResponse } from '../wire/messages.js';

export const CACHE_MAGIC = Buffer.from('LRTC', 'latin1');
export const CACHE_FORMAT_VERSION = 1;
export const CACHE_HEADER_SIZE = 28;
const TRAILER_SIZE = 4;

/** The agent's default cache directory, relative to its working directory ([agent] cache_dir). */
export const DEFAULT_CACHE_DIR = 'var/agent-cache';
/** Cached routes older than this are not used ([agent] cache_max_age). */
export const DEFAULT_CACHE_MAX_AGE_MS = 7 * 86_400_000;

/** Why a file is not a usable cached route. */
export type CacheFileProblem = 'foreign' | 'version' | 'truncated' | 'checksum' | 'body' | 'mismatch' | 'too_old';

export interface CachedRoute {
  readonly modid: number;
  readonly cmdid: number;
  readonly writtenAtMs: number;
  readonly route: GetRouteResponse;
}

export type DecodedCacheFile = { readonly ok: true; readonly cached: CachedRoute } | { readonly ok: false; readonly problem: CacheFileProblem };

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, the zlib / java.util.zip one). node:zlib has crc32 only from Node 20.15. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** "route-<modid>-<cmdid>.lrc", each id unsigned: one name for both spellings of an id. */
export function cacheFileName(modid: number, cmdid: number): string {
  return `route-${modid >>> 0}-${cmdid >>> 0}.lrc`;
}

const FILE_NAME = /^route-(\d{1,10})-(\d{1,10})\.lrc$/;

/** The module a cache file name stands for; undefined for any other name (temp files included). */
export function parseCacheFileName(name: string): { modid: number; cmdid: number } | undefined {
  const m = FILE_NAME.exec(name);
  if (m === null) return undefined;
  const modid = Number(m[1]);
  const cmdid = Number(m[2]);
  if (modid > 0xffffffff || cmdid > 0xffffffff || cacheFileName(modid, cmdid) !== name) return undefined;
  return { modid, cmdid };
}

export function encodeCacheFile(modid: number, cmdid: number, body: Uint8Array, writtenAtMs: number): Buffer {
  const out = Buffer.alloc(CACHE_HEADER_SIZE + body.length + TRAILER_SIZE);
  CACHE_MAGIC.copy(out, 0);
  out.writeUInt16BE(CACHE_FORMAT_VERSION, 4);
  out.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(writtenAtMs))), 8);
  out.writeUInt32BE(modid >>> 0, 16);
  out.writeUInt32BE(cmdid >>> 0, 20);
  out.writeUInt32BE(body.length, 24);
  out.set(body, CACHE_HEADER_SIZE);
  out.writeUInt32BE(crc32(out.subarray(0, CACHE_HEADER_SIZE + body.length)), CACHE_HEADER_SIZE + body.length);
  return out;
}

export interface DecodeCacheFileOptions {
  /** The module the file's name stands for: the header and the body must name it too. */
  readonly modid: number;
  readonly cmdid: number;
  /** Wall clock, milliseconds since the epoch. */
  readonly nowMs: number;
  readonly maxAgeMs: number;
}

/** Checks a whole file and decodes its route. Never throws: any bytes give a route or a problem. */
export function decodeCacheFile(data: Uint8Array, opts: DecodeCacheFileOptions): DecodedCacheFile {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < CACHE_MAGIC.length || !buf.subarray(0, CACHE_MAGIC.length).equals(CACHE_MAGIC)) return { ok: false, problem: 'foreign' };
  if (buf.length < CACHE_HEADER_SIZE + TRAILER_SIZE) return { ok: false, problem: 'truncated' };
  if (buf.readUInt16BE(4) !== CACHE_FORMAT_VERSION) return { ok: false, problem: 'version' };
  const bodyLength = buf.readUInt32BE(24);
  if (bodyLength > MAX_BODY_SIZE || buf.length !== CACHE_HEADER_SIZE + bodyLength + TRAILER_SIZE) return { ok: false, problem: 'truncated' };
  const end = CACHE_HEADER_SIZE + bodyLength;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32BE(end)) return { ok: false, problem: 'checksum' };
  const writtenAtMs = Number(buf.readBigUInt64BE(8));
  if (opts.nowMs - writtenAtMs > opts.maxAgeMs) return { ok: false, problem: 'too_old' };
  const modid = buf.readUInt32BE(16);
  const cmdid = buf.readUInt32BE(20);
  if (modid !== opts.modid >>> 0 || cmdid !== opts.cmdid >>> 0) return { ok: false, problem: 'mismatch' };
  let route: GetRouteResponse;
  try {
    route = decodeBody(MsgId.GetRouteResponse, buf.subarray(CACHE_HEADER_SIZE, end));
  } catch {
    return { ok: false, problem: 'body' };
  }
  if (route.modid >>> 0 !== modid || route.cmdid >>> 0 !== cmdid) return { ok: false, problem: 'mismatch' };
  return { ok: true, cached: { modid: route.modid, cmdid: route.cmdid, writtenAtMs, route } };
}
