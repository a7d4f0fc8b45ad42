// The `lars` policy (docs/spec/EXTENSIONS.md §3, docs/policies.md).
#pragma once

#include <memory>

#include "balancer/policy/policy.h"

namespace lars::balancer {

std::unique_ptr<Policy> MakeLarsPolicy();

}  // namespace lars::balancer
