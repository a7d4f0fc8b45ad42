#include "balancer/policy/weighted_random.h"

#include "balancer/route.h"

namespace lars::balancer {
namespace {

class WeightedRandomPolicy final : public Policy {
 public:
  int32_t Choose(Route& route, const std::vector<int32_t>& candidates, bool, const PickInput& in) override {
    return DrawWeighted(route, candidates, in.rng);
  }
};

}  // namespace

std::unique_ptr<Policy> MakeWeightedRandomPolicy() { return std::make_unique<WeightedRandomPolicy>(); }

}  // namespace lars::balancer
