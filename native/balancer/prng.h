// Prng: the balancer's source of randomness — xoshiro128** seeded through splitmix32, so that the
// TypeScript twin (src/balancer/prng.ts) draws the same numbers for the same seed, bit for bit.
// One per Balancer, seeded per agent (STYLE.md: agents across a fleet must not move in lock step).
#pragma once

#include <cstdint>

namespace lars::balancer {

class Prng {
 public:
  explicit Prng(uint32_t seed) {
    uint32_t x = seed;
    for (uint32_t& s : s_) s = SplitMix32(&x);
  }

  uint32_t Next() {
    const uint32_t result = Rotl(s_[1] * 5u, 7) * 9u;
    const uint32_t t = s_[1] << 9;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 11);
    return result;
  }

  // An integer in [0, n), n >= 1: floor(Next() / 2^32 × n) in doubles, which both languages compute
  // identically (every step is exact or one correctly rounded IEEE operation).
  uint32_t Below(uint32_t n) {
    const double x = static_cast<double>(Next()) * (1.0 / 4294967296.0) * static_cast<double>(n);
    const uint32_t i = static_cast<uint32_t>(x);
    return i < n ? i : n - 1;
  }

 private:
  static uint32_t Rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
  static uint32_t SplitMix32(uint32_t* x) {
    uint32_t z = (*x += 0x9e3779b9u);
    z = (z ^ (z >> 16)) * 0x85ebca6bu;
    z = (z ^ (z >> 13)) * 0xc2b2ae35u;
    return z ^ (z >> 16);
  }

  uint32_t s_[4];
};

}  // namespace lars::balancer
