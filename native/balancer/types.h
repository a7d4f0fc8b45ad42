// Plain values the balancer takes and hands back. Addresses are as on the wire
// (docs/spec/PROTOCOL.md): ip is the IPv4 as int32 (a<<24|b<<16|c<<8|d), port 0..65535.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lars::balancer {

// Return codes of GetHostResponse / ReportRequest (PROTOCOL.md).
enum RetCode : int32_t {
  kRetSucc = 0,
  kRetOverload = 1,
  kRetSystemError = 2,
  kRetNoExist = 3,
};

struct HostAddr {
  HostAddr() = default;
  // {ip, port} stays the short form for a node with the default weight and no zone.
  HostAddr(int32_t ip_, int32_t port_, int32_t weight_ = 0, std::string zone_ = {})
      : ip(ip_), port(port_), weight(weight_), zone(std::move(zone_)) {}

  int32_t ip = 0;
  int32_t port = 0;
  int32_t weight = 0;  // 1..10000 (larger values count as 10000); 0 or less means 100
  std::string zone;    // availability zone; empty = unknown
};

// A module's policy (EXTENSIONS.md §1 RoutePolicy). Zero knobs are off, so the default is the reference.
struct RoutePolicy {
  std::string name = "lars";  // an unknown name runs `lars` (counted)
  uint32_t max_ejection_percent = 0;  // 0 = 100
  uint32_t panic_threshold = 0;       // percent of nodes; 0 = off
  uint32_t ejection_backoff_max_ms = 0;  // 0 = off
  uint32_t zone_overprovision = 0;    // percent; 0 = zone-aware routing off
  uint32_t ring_size = 0;             // 0 = 1024
};

// The request affinity key of a pick (ring_hash); empty = none.
struct HashKey {
  const uint8_t* data = nullptr;
  std::size_t size = 0;
};

struct ModuleId {
  int32_t modid;
  int32_t cmdid;
};

struct PickResult {
  int32_t retcode;  // kRetSucc, kRetOverload or kRetNoExist
  int32_t ip;       // 0 unless kRetSucc
  int32_t port;     // 0 unless kRetSucc
  bool pull;        // this call queued a route pull (drain with Balancer::TakePullRequests)
};

// One node's line of a ReportStatusRequest (the agent adds caller and ts).
struct NodeResult {
  int32_t ip;
  int32_t port;
  int64_t succ;  // rsucc of the current window
  int64_t err;   // rerr of the current window
  bool overload;
  uint64_t usetime_sum_us = 0;  // call times reported in the current window (usetime_us > 0)
  uint32_t usetime_max_us = 0;
  uint32_t timed_calls = 0;
};

struct RouteReport {
  int32_t modid;
  int32_t cmdid;
  std::vector<NodeResult> results;  // idle list, then overload list, each in list order
};

// Call-time histogram bounds (µs, Prometheus `le`), and one more bucket for longer calls.
inline constexpr uint32_t kUsetimeBoundsUs[] = {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};
inline constexpr std::size_t kUsetimeBuckets = sizeof(kUsetimeBoundsUs) / sizeof(kUsetimeBoundsUs[0]) + 1;

// The bucket of a call time: the first bound it does not exceed, else the last (+Inf) bucket.
inline std::size_t UsetimeBucket(uint32_t usetime_us) {
  std::size_t b = 0;
  while (b < kUsetimeBuckets - 1 && usetime_us > kUsetimeBoundsUs[b]) ++b;
  return b;
}

// Every node's cumulative counters, packed for one copy across threads and into JS: per node
// kNodeStatFields numbers (NodeStatField order, then kUsetimeBuckets per-bucket counts, not cumulative)
// and its zone. Routes in creation order, nodes in join order.
enum NodeStatField : std::size_t { kStatModid, kStatCmdid, kStatIp, kStatPort, kStatOverload, kStatPicks, kStatSucc, kStatErr, kStatUsetimeSum, kStatBuckets };
inline constexpr std::size_t kNodeStatFields = kStatBuckets + kUsetimeBuckets;

struct NodeStats {
  uint64_t total = 0;  // nodes held, including those past the limit (not copied)
  std::vector<double> values;
  std::vector<std::string> zones;
};

// The zone rule's state of one zone-active route (docs/policies.md), read on demand.
struct ZoneStatus {
  int32_t modid;
  int32_t cmdid;
  uint32_t local_nodes;
  uint32_t local_healthy;
  uint32_t other_nodes;
  uint32_t other_healthy;
  double local_share;  // the probability that an ordinary pick goes to the local set now
};

// Event counters (monotonic) and gauges (routes, idle_nodes, overloaded_nodes).
struct Counters {
  uint64_t picks_succ = 0;
  uint64_t picks_overload = 0;
  uint64_t picks_noexist = 0;
  uint64_t probes = 0;  // picks answered from the overload list (also counted in picks_succ)
  uint64_t reports = 0;
  uint64_t reports_ignored = 0;  // unknown route or node
  uint64_t to_overload = 0;
  uint64_t to_idle = 0;  // overloaded -> idle (a window reset of an idle node is not a change)
  uint64_t pulls = 0;    // route pulls queued (including those returned by OnDnsReconnected)
  uint64_t route_updates = 0;
  uint64_t route_updates_ignored = 0;  // ApplyRoute for a route the table does not hold
  uint64_t new_pulls_capped = 0;       // unknown modules answered without a pull (max_new_pulls_per_s)
  uint64_t empty_routes_evicted = 0;   // EMPTY routes dropped past max_empty_routes
  uint64_t panic_picks = 0;            // picks among all nodes (panic_threshold)
  uint64_t ejections_capped = 0;       // overloads refused by max_ejection_percent
  uint64_t unknown_policies = 0;       // route updates naming a policy this agent lacks (ran `lars`)
  uint64_t zone_picks_local = 0;       // ordinary picks of zone-active routes sent to the agent's zone
  uint64_t zone_picks_other = 0;       // ... and to the other zones (cross-zone picks)
  uint64_t routes = 0;
  uint64_t empty_routes = 0;  // routes DNS answered empty (gauge)
  uint64_t idle_nodes = 0;
  uint64_t overloaded_nodes = 0;
};

}  // namespace lars::balancer
