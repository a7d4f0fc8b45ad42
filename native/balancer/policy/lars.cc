#include "balancer/policy/lars.h"

#include "balancer/route.h"

namespace lars::balancer {
namespace {

// BALANCER.md: the healthy set is served head to tail of the idle FIFO, weights ignored; a zone
// set's healthy nodes in that FIFO's order too (Route::RotateIdle). Any other set (panic: every
// node) gets a round-robin cursor in route order.
class LarsPolicy final : public Policy {
 public:
  int32_t Choose(Route& route, const std::vector<int32_t>& candidates, bool healthy, const PickInput& in) override {
    if (healthy) return route.RotateIdle(in.set);
    const int32_t i = candidates[cursor_ % candidates.size()];
    ++cursor_;
    return i;
  }

 private:
  uint64_t cursor_ = 0;
};

}  // namespace

std::unique_ptr<Policy> MakeLarsPolicy() { return std::make_unique<LarsPolicy>(); }

}  // namespace lars::balancer
