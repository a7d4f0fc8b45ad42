// The `ring_hash` policy (docs/spec/EXTENSIONS.md §3, docs/policies.md).
#pragma once

#include <cstdint>
#include <memory>

#include "balancer/policy/policy.h"

namespace lars::balancer {

std::unique_ptr<Policy> MakeRingHashPolicy();

// A larger ring_size (from a bad route update) is taken as this, so it can never exhaust memory.
constexpr uint32_t kMaxRingSize = 1u << 16;

// XXH64 (seed 0) of "a.b.c.d:port#i", point i of a node on the ring.
uint64_t RingPointHash(int32_t ip, int32_t port, int64_t i);

}  // namespace lars::balancer
