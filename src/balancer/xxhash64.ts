// XXH64 (https://github.com/Cyan4973/xxHash, doc/xxhash_spec.md) over BigInt, for ring_hash — the
// twin of native/balancer/xxhash64.cc, checked against the same reference vectors. Synchronous and
// dependency-free (xxhash-wasm would need an async start-up before the first pick).

const M = 0xffffffffffffffffn;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & M, 31n) * P1) & M;
const merge = (acc: bigint, v: bigint): bigint => (((acc ^ round(0n, v)) * P1 + P4) & M);

function read64(b: Uint8Array, p: number): bigint {
  const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  return (BigInt(read32(b, p + 4)) << 32n) | BigInt(lo);
}

function read32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** XXH64 of `data` with `seed`, as an unsigned 64-bit BigInt. */
export function xxh64(data: Uint8Array, seed = 0n): bigint {
  const len = data.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + P1 + P2) & M;
    let v2 = (seed + P2) & M;
    let v3 = seed & M;
    let v4 = (seed - P1) & M;
    for (; len - p >= 32; p += 32) {
      v1 = round(v1, read64(data, p));
      v2 = round(v2, read64(data, p + 8));
      v3 = round(v3, read64(data, p + 16));
      v4 = round(v4, read64(data, p + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = (seed + P5) & M;
  }
  h = (h + BigInt(len)) & M;
  for (; len - p >= 8; p += 8) h = (rotl(h ^ round(0n, read64(data, p)), 27n) * P1 + P4) & M;
  if (len - p >= 4) {
    h = (rotl(h ^ ((BigInt(read32(data, p)) * P1) & M), 23n) * P2 + P3) & M;
    p += 4;
  }
  for (; p < len; p++) h = (rotl(h ^ ((BigInt(data[p]!) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}
