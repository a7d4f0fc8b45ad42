// The balancer's source of randomness: xoshiro128** seeded through splitmix32 — the twin of
// native/balancer/prng.h, drawing the same numbers for the same seed, bit for bit. One per Balancer,
// seeded per agent (STYLE.md: agents across a fleet must not move in lock step).

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** The next uint32. */
  next(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** An integer in [0, n), n >= 1: floor(next() / 2^32 × n) in doubles, as the C++ twin computes it. */
  below(n: number): number {
    const i = Math.floor((this.next() * (1 / 4294967296)) * n);
    return i < n ? i : n - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
