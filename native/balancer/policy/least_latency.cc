#include "balancer/policy/least_latency.h"

#include "balancer/route.h"

namespace lars::balancer {

double LatencyDecay(int64_t dt_ms) {
  if (dt_ms <= 0) return 1;
  const int64_t halves = dt_ms / kLatencyHalfLifeMs;
  if (halves >= 64) return 0;
  // 2^-frac = e^(-frac ln 2) by its Taylor series: only +, × and ÷, each rounded the same in both languages.
  const double x = static_cast<double>(dt_ms - halves * kLatencyHalfLifeMs) / static_cast<double>(kLatencyHalfLifeMs) *
                   0.6931471805599453;
  double term = 1;
  double sum = 1;
  for (int k = 1; k <= 16; ++k) {
    term = term * -x / static_cast<double>(k);
    sum += term;
  }
  for (int64_t h = 0; h < halves; ++h) sum *= 0.5;
  return sum;
}

namespace {

double Cost(const Route::Node& n) {
  if (!n.has_sample) return 0;  // never measured: try it
  return n.ewma_us * static_cast<double>(n.outstanding + 1) / static_cast<double>(n.weight);
}

// Power of two choices over a peak EWMA of call times (Finagle's PeakEWMA).
class LeastLatencyPolicy final : public Policy {
 public:
  int32_t Choose(Route& route, const std::vector<int32_t>& candidates, bool, const PickInput& in) override {
    if (candidates.size() == 1) return candidates[0];
    const std::vector<Route::Node>& nodes = route.nodes();
    const int32_t a = DrawWeighted(route, candidates, in.rng);
    // The second draw, by weight among the others.
    uint32_t rest = 0;
    for (int32_t i : candidates) rest += i == a ? 0 : static_cast<uint32_t>(nodes[i].weight);
    uint32_t t = in.rng->Below(rest);
    int32_t b = Route::kNone;
    for (int32_t i : candidates) {
      if (i == a) continue;
      b = i;
      const uint32_t w = static_cast<uint32_t>(nodes[i].weight);
      if (t < w) break;
      t -= w;
    }
    return Cost(nodes[b]) < Cost(nodes[a]) ? b : a;
  }

  void OnTimedReport(Route& route, int32_t i, uint32_t usetime_us, int64_t now) override {
    Route::Node& n = route.nodes()[i];
    const double u = usetime_us;
    if (!n.has_sample || u > n.ewma_us) {
      n.ewma_us = u;  // a peak counts at once
      n.has_sample = true;
    } else {
      const double w = LatencyDecay(now - n.ewma_ts);
      n.ewma_us = n.ewma_us * w + u * (1 - w);
    }
    n.ewma_ts = now;
  }
};

}  // namespace

std::unique_ptr<Policy> MakeLeastLatencyPolicy() { return std::make_unique<LeastLatencyPolicy>(); }

}  // namespace lars::balancer
