// Balancer: the route table of one agent port — every Route it has seen, the queue of
// route pulls to send to DNS, the report-interval bookkeeping and the counters.
// Owns its routes. Not thread-safe by design (BALANCER.md): one thread owns a Balancer and
// other threads post work to that thread; there is no lock inside. Time (`now`, ms) is always a
// parameter; nothing here reads a clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "balancer/config.h"
#include "balancer/prng.h"
#include "balancer/route.h"
#include "balancer/types.h"

namespace lars::balancer {

class Balancer {
 public:
  explicit Balancer(const Config& config);
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // get_host. An unknown module gets an empty PULLING route, a pull and kRetNoExist (past
  // max_new_pulls_per_s in the current second: kRetNoExist only, counted). A NEW route that is
  // empty or older than update_timeout, or an EMPTY one older than update_timeout, is pulled
  // again (and still answers from its nodes).
  // `key`: the request's affinity key (ring_hash); empty = none.
  PickResult Pick(int32_t modid, int32_t cmdid, int64_t now, HashKey key = {});
  // A call result; usetime_us is its duration (0 = not measured). False when the route or node is
  // unknown (ignored, counted). *change (when given): the node's state change, if any.
  bool Report(int32_t modid, int32_t cmdid, int32_t ip, int32_t port, int32_t retcode, int64_t now,
              uint32_t usetime_us = 0, Route::Change* change = nullptr);
  // get_route: appends the route's hosts (join order) to *hosts; same pull rules as Pick.
  // Returns whether this call queued a pull.
  bool GetRoute(int32_t modid, int32_t cmdid, int64_t now, std::vector<HostAddr>* hosts);
  // A DNS reply or push: the whole host set (weights, zones) and the module's policy (null: `lars`
  // with every knob off; an unknown name runs `lars`, counted). An empty set makes the route EMPTY
  // (kept, at most max_empty_routes of them, the oldest dropped first). A module the table does not
  // hold is ignored (false).
  bool ApplyRoute(int32_t modid, int32_t cmdid, const std::vector<HostAddr>& hosts, int64_t now,
                  const RoutePolicy* policy = nullptr);
  // A route from the agent's disk cache: created when the table does not hold it, then applied as
  // a DNS reply (state NEW). The next DNS connect pulls it again, and DNS's answer wins.
  bool SeedRoute(int32_t modid, int32_t cmdid, const std::vector<HostAddr>& hosts, int64_t now,
                 const RoutePolicy* policy = nullptr);
  // The DNS connection is up again: whatever was in flight is lost, so every route is pulled again.
  // Returns every module (creation order) and empties the pull queue, which it includes. PULLING
  // routes become NEW: should one of these pulls be lost too, use pulls the route again.
  std::vector<ModuleId> OnDnsReconnected();
  // The pulls queued since the last call, in the order they were queued.
  std::vector<ModuleId> TakePullRequests();
  // One report per route that had reports since its last one and none in the last interval_ms.
  std::vector<RouteReport> CollectReports(int64_t now, double interval_ms);
  Counters counters() const;
  // The route of a module, or null when the table does not hold it (the agent's local view reads it).
  const Route* Find(int32_t modid, int32_t cmdid) const;
  // EMPTY routes dropped so far (cheaper than counters(), which walks every route).
  uint64_t empty_routes_evicted() const { return counters_.empty_routes_evicted; }
  // Every node's cumulative counters (NodeStats), at most `limit` nodes copied.
  NodeStats nodeStats(std::size_t limit) const;
  const Config& config() const { return config_; }

 private:
  static uint64_t Key(int32_t modid, int32_t cmdid) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(modid)) << 32) | static_cast<uint32_t>(cmdid);
  }
  // A new route (state PULLING) in the table.
  Route* Create(int32_t modid, int32_t cmdid, int64_t now);
  // Looks the module up for a pick or get_route, creating it or queuing a re-pull as the rules say.
  // Null when the module is unknown and the new-pull cap of this second is spent.
  Route* Use(int32_t modid, int32_t cmdid, int64_t now, bool* pull);
  // Whether one more module never seen may be pulled at `now` (and counts it).
  bool TakeNewPull(int64_t now);
  void QueuePull(Route* r);
  void Unlist(Route* r);
  void Erase(Route* r);

  const Config config_;
  std::list<Route> routes_;  // creation order
  std::unordered_map<uint64_t, std::list<Route>::iterator> index_;
  std::list<Route*> empty_;  // routes DNS answered empty, oldest answer first
  std::vector<ModuleId> pulls_;
  int64_t window_start_ = 0;  // the current one-second window of the new-pull cap
  int64_t window_pulls_ = 0;
  Counters counters_;
  Prng rng_;
};

}  // namespace lars::balancer
