// XXH64 (https://github.com/Cyan4973/xxHash, spec doc/xxhash_spec.md), for ring_hash: ring points
// and request keys (docs/spec/EXTENSIONS.md §3). A small own implementation rather than libxxhash,
// so the addon needs no extra system package; checked against the reference vectors in
// native/test/balancer_test.cc, like its TypeScript twin src/balancer/xxhash64.ts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lars::balancer {

uint64_t Xxh64(const uint8_t* data, std::size_t len, uint64_t seed);

}  // namespace lars::balancer
