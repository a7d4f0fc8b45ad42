#include "balancer/policy/weighted_round_robin.h"

#include "balancer/route.h"

namespace lars::balancer {
namespace {

// nginx's smooth weighted round robin: weights 5,1,1 give a a b a c a a. Each node's `current`
// lives in the route's node, so a route update keeps the sequence going.
class WeightedRoundRobinPolicy final : public Policy {
 public:
  int32_t Choose(Route& route, const std::vector<int32_t>& candidates, bool, const PickInput&) override {
    std::vector<Route::Node>& nodes = route.nodes();
    int64_t total = 0;
    int32_t best = Route::kNone;
    for (int32_t i : candidates) {
      Route::Node& n = nodes[i];
      n.current += n.weight;
      total += n.weight;
      if (best == Route::kNone || n.current > nodes[best].current) best = i;  // first on ties
    }
    nodes[best].current -= total;
    return best;
  }
};

}  // namespace

std::unique_ptr<Policy> MakeWeightedRoundRobinPolicy() { return std::make_unique<WeightedRoundRobinPolicy>(); }

}  // namespace lars::balancer
