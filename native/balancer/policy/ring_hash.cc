#include "balancer/policy/ring_hash.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "balancer/route.h"
#include "balancer/xxhash64.h"

namespace lars::balancer {

uint64_t RingPointHash(int32_t ip, int32_t port, int64_t i) {
  const uint32_t u = static_cast<uint32_t>(ip);
  const std::string s = std::to_string(u >> 24) + "." + std::to_string((u >> 16) & 255) + "." +
                        std::to_string((u >> 8) & 255) + "." + std::to_string(u & 255) + ":" + std::to_string(port) +
                        "#" + std::to_string(i);
  return Xxh64(reinterpret_cast<const uint8_t*>(s.data()), s.size(), 0);
}

namespace {

// A consistent-hash ring over every node of the route, healthy or not, so that a health change
// never moves keys between healthy nodes; built only when the nodes or weights change.
class RingHashPolicy final : public Policy {
 public:
  void OnHostsChanged(const Route& route) override {
    const std::vector<Route::Node>& nodes = route.nodes();
    ring_.clear();
    const double size = route.policy().ring_size == 0 ? 1024 : std::min(route.policy().ring_size, kMaxRingSize);
    double total = 0;
    for (const Route::Node& n : nodes) total += n.weight;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const int64_t points = std::max<int64_t>(1, static_cast<int64_t>(std::round(size * nodes[i].weight / total)));
      for (int64_t k = 0; k < points; ++k) {
        ring_.push_back({RingPointHash(nodes[i].ip, nodes[i].port, k), static_cast<int32_t>(i)});
      }
    }
    std::sort(ring_.begin(), ring_.end(),
              [](const Point& a, const Point& b) { return a.hash != b.hash ? a.hash < b.hash : a.node < b.node; });
  }

  int32_t Choose(Route& route, const std::vector<int32_t>& candidates, bool healthy, const PickInput& in) override {
    if (in.key.size == 0) return DrawWeighted(route, candidates, in.rng);
    const uint64_t h = Xxh64(in.key.data, in.key.size, 0);
    const std::size_t start =
        std::lower_bound(ring_.begin(), ring_.end(), h, [](const Point& p, uint64_t v) { return p.hash < v; }) -
        ring_.begin();
    const std::vector<Route::Node>& nodes = route.nodes();
    // Clockwise to the first point of a candidate: a healthy node of the pick's zone set (every
    // node when not only the healthy).
    for (std::size_t k = 0; k < ring_.size(); ++k) {
      const Point& p = ring_[(start + k) % ring_.size()];
      if (!healthy || (!nodes[p.node].overload && route.InZoneSet(p.node, in.set))) return p.node;
    }
    return candidates.front();
  }

 private:
  struct Point {
    uint64_t hash;
    int32_t node;
  };
  std::vector<Point> ring_;
};

}  // namespace

std::unique_ptr<Policy> MakeRingHashPolicy() { return std::make_unique<RingHashPolicy>(); }

}  // namespace lars::balancer
