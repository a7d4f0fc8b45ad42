#include "balancer/policy/policy.h"

#include "balancer/policy/lars.h"
#include "balancer/policy/least_latency.h"
#include "balancer/policy/ring_hash.h"
#include "balancer/policy/weighted_random.h"
#include "balancer/policy/weighted_round_robin.h"
#include "balancer/route.h"

namespace lars::balancer {

std::unique_ptr<Policy> MakePolicy(const std::string& name, bool* known) {
  static const struct {
    const char* name;
    std::unique_ptr<Policy> (*make)();
  } kPolicies[] = {
      {"lars", MakeLarsPolicy},
      {"weighted_round_robin", MakeWeightedRoundRobinPolicy},
      {"weighted_random", MakeWeightedRandomPolicy},
      {"least_latency", MakeLeastLatencyPolicy},
      {"ring_hash", MakeRingHashPolicy},
  };
  for (const auto& p : kPolicies) {
    if (name == p.name) {
      *known = true;
      return p.make();
    }
  }
  *known = false;
  return MakeLarsPolicy();
}

int32_t DrawWeighted(const Route& route, const std::vector<int32_t>& candidates, Prng* rng) {
  const std::vector<Route::Node>& nodes = route.nodes();
  uint32_t total = 0;
  for (int32_t i : candidates) total += static_cast<uint32_t>(nodes[i].weight);
  uint32_t t = rng->Below(total);
  for (int32_t i : candidates) {
    const uint32_t w = static_cast<uint32_t>(nodes[i].weight);
    if (t < w) return i;
    t -= w;
  }
  return candidates.back();
}

}  // namespace lars::balancer
