// Policy: how a route chooses one node among candidates the shared state machine (route.h) hands
// it — the healthy nodes, or every node in panic. One file pair per policy (EXTENSIONS.md §3),
// made by name once per route update (MakePolicy), called through this interface on the hot path.
// Candidates are node indices in route (join) order, never empty; zone-aware routing narrows them
// to one zone set's healthy nodes (PickInput::set), which the policies choose among as usual.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "balancer/prng.h"
#include "balancer/types.h"

namespace lars::balancer {

class Route;

// Which nodes an ordinary pick may take (zone-aware routing, docs/policies.md): any, or only the
// agent's zone (local), or only the others.
enum class ZoneSet : uint8_t { kAny, kLocal, kOther };

struct PickInput {
  HashKey key;
  Prng* rng;
  ZoneSet set = ZoneSet::kAny;
};

class Policy {
 public:
  virtual ~Policy() = default;
  // `healthy`: the candidates are exactly the healthy nodes of in.set (kAny: of the whole route).
  virtual int32_t Choose(Route& route, const std::vector<int32_t>& candidates, bool healthy, const PickInput& in) = 0;
  // The route's nodes or weights changed (and once after the policy is made).
  virtual void OnHostsChanged(const Route& route) { (void)route; }
  // A report with a measured call time (usetime_us > 0) for node i.
  virtual void OnTimedReport(Route& route, int32_t i, uint32_t usetime_us, int64_t now) {
    (void)route, (void)i, (void)usetime_us, (void)now;
  }
};

// The policy called `name`, or `lars` with *known = false.
std::unique_ptr<Policy> MakePolicy(const std::string& name, bool* known);

// A candidate drawn with probability weight / total weight (weighted_random and the others' fallback).
int32_t DrawWeighted(const Route& route, const std::vector<int32_t>& candidates, Prng* rng);

}  // namespace lars::balancer
