// The `least_latency` policy (docs/spec/EXTENSIONS.md §3, docs/policies.md).
#pragma once

#include <cstdint>
#include <memory>

#include "balancer/policy/policy.h"

namespace lars::balancer {

std::unique_ptr<Policy> MakeLeastLatencyPolicy();

constexpr int64_t kLatencyHalfLifeMs = 10000;
// The weight of an old EWMA after dt_ms: 2^(-dt_ms / 10 s), computed identically by the TS twin.
double LatencyDecay(int64_t dt_ms);

}  // namespace lars::balancer
