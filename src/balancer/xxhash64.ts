// XXH64 (https://github.com/Cyan4973/xxHash, doc/xxhash_spec.md) for ring_hash — the twin of
// native/balancer/xxhash64.cc, checked against the same reference vectors. 64-bit lanes are kept as
// two uint32 halves (products through 16-bit limbs, exact in doubles), so a pick allocates no BigInt;
// synchronous and dependency-free (xxhash-wasm would need an async start-up before the first pick).

// The primes as [hi, lo].
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

// Results of the helpers below (one pair of registers: no allocation per operation).
let rh = 0;
let rl = 0;

/** (ah:al) × (bh:bl) mod 2^64 into rh:rl. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const carry = Math.floor((a1 * b0 + a0 * b1 + Math.floor((a0 * b0) / 65536)) / 65536);
  rl = Math.imul(al, bl) >>> 0;
  rh = (a1 * b1 + carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64 into rh:rl. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  rl = lo >>> 0;
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** (h:l) rotated left by r (0 < r < 32) into rh:rl. */
function rotl(h: number, l: number, r: number): void {
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** round(acc, input) = rotl(acc + input × P2, 31) × P1, into rh:rl. */
function round(acch: number, accl: number, ih: number, il: number): void {
  mul(ih, il, P2H, P2L);
  add(acch, accl, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

function read32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** XXH64 of `data` with seed 0, as [hi, lo] uint32 halves written into `out`. */
export function xxh64Into(data: Uint8Array, out: Uint32Array): void {
  const len = data.length;
  let p = 0;
  let hh: number;
  let hl: number;
  if (len >= 32) {
    add(P1H, P1L, P2H, P2L);
    let v1h = rh, v1l = rl;
    let v2h = P2H, v2l = P2L;
    let v3h = 0, v3l = 0;
    add(0, 0, ~P1H >>> 0, ~P1L >>> 0); // -P1 = ~P1 + 1
    add(rh, rl, 0, 1);
    let v4h = rh, v4l = rl;
    for (; len - p >= 32; p += 32) {
      round(v1h, v1l, read32(data, p + 4), read32(data, p));
      v1h = rh; v1l = rl;
      round(v2h, v2l, read32(data, p + 12), read32(data, p + 8));
      v2h = rh; v2l = rl;
      round(v3h, v3l, read32(data, p + 20), read32(data, p + 16));
      v3h = rh; v3l = rl;
      round(v4h, v4l, read32(data, p + 28), read32(data, p + 24));
      v4h = rh; v4l = rl;
    }
    rotl(v1h, v1l, 1);
    let sh = rh, sl = rl;
    rotl(v2h, v2l, 7);
    add(sh, sl, rh, rl);
    sh = rh; sl = rl;
    rotl(v3h, v3l, 12);
    add(sh, sl, rh, rl);
    sh = rh; sl = rl;
    rotl(v4h, v4l, 18);
    add(sh, sl, rh, rl);
    hh = rh; hl = rl;
    for (const [vh, vl] of [[v1h, v1l], [v2h, v2l], [v3h, v3l], [v4h, v4l]] as const) {
      // merge: (h ^ round(0, v)) × P1 + P4
      round(0, 0, vh, vl);
      mul((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, P1H, P1L);
      add(rh, rl, P4H, P4L);
      hh = rh; hl = rl;
    }
  } else {
    hh = P5H;
    hl = P5L;
  }
  add(hh, hl, 0, len);
  hh = rh; hl = rl;
  for (; len - p >= 8; p += 8) {
    round(0, 0, read32(data, p + 4), read32(data, p));
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L);
    hh = rh; hl = rl;
  }
  if (len - p >= 4) {
    mul(0, read32(data, p), P1H, P1L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L);
    hh = rh; hl = rl;
    p += 4;
  }
  for (; p < len; p++) {
    mul(0, data[p]!, P5H, P5L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 11);
    mul(rh, rl, P1H, P1L);
    hh = rh; hl = rl;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hl = (hl ^ (hh >>> 1)) >>> 0;
  mul(hh, hl, P2H, P2L);
  hh = rh; hl = rl;
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0;
  hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L);
  hh = rh; hl = rl;
  hl = (hl ^ hh) >>> 0;
  out[0] = hh;
  out[1] = hl;
}

const scratch = new Uint32Array(2);

/** XXH64 of `data` with seed 0, as an unsigned 64-bit BigInt (for tests and tools). */
export function xxh64(data: Uint8Array): bigint {
  xxh64Into(data, scratch);
  return (BigInt(scratch[0]!) << 32n) | BigInt(scratch[1]!);
}
