// Route: the balancer state of one module (modid, cmdid) on one agent port, and the idle/overload
// state machine of docs/spec/BALANCER.md that every policy shares (EXTENSIONS.md §3): it decides
// which nodes are healthy, probes overloaded ones every probe_num-th pick and applies the safety
// knobs; the route's Policy (policy/) only chooses among the candidates it is given.
// Nodes live in one vector (join order); the idle and overload FIFOs link them by index, so a
// pick touches a few contiguous cache lines however many routes the table holds.
// Owns its nodes and its policy. Not thread-safe: the Balancer that holds it is owned by one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "balancer/config.h"
#include "balancer/policy/policy.h"
#include "balancer/prng.h"
#include "balancer/types.h"

namespace lars::balancer {

class Route {
 public:
  // kPulling: a pull is in flight. kNew: holds DNS's nodes (pulled again when stale).
  // kEmpty: DNS answered no nodes; answers NOEXIST, pulled again only when stale.
  enum class State { kPulling, kNew, kEmpty };
  enum class Change { kNone, kToOverload, kToIdle, kCapped };

  static constexpr int32_t kNone = -1;

  struct Node {
    int32_t ip;
    int32_t port;
    int32_t weight;  // 1..10000
    int64_t vsucc = 0;
    int64_t verr = 0;
    int64_t rsucc = 0;
    int64_t rerr = 0;
    int64_t contin_succ = 0;
    int64_t contin_err = 0;
    bool overload = false;
    int64_t idle_ts = 0;
    int64_t overload_ts = 0;
    int32_t prev = kNone;  // links in idle_ or overload_
    int32_t next = kNone;
    // Call times of the current window (reset with rsucc/rerr).
    uint64_t usetime_sum_us = 0;
    uint32_t usetime_max_us = 0;
    uint32_t timed_calls = 0;
    // picks - reports since the last state change or window, never below 0 (least_latency).
    int64_t outstanding = 0;
    // Ejection backoff: overloads in a row, and when the node last came back from overload.
    int64_t eject_streak = 0;
    bool came_back = false;
    int64_t back_ts = 0;
    // Policy state that survives route updates (weighted_round_robin, least_latency).
    int64_t current = 0;
    bool has_sample = false;
    double ewma_us = 0;
    int64_t ewma_ts = 0;
    // Cumulative, never reset (per-node metrics, read on scrape): picks, reports by result, timed calls.
    uint64_t picks = 0;
    uint64_t calls_succ = 0;
    uint64_t calls_err = 0;
    uint64_t usetime_total_us = 0;
    std::array<uint64_t, kUsetimeBuckets> usetime_buckets{};
  };

  struct Choice {
    int32_t retcode;  // kRetSucc or kRetOverload (callers answer kRetNoExist for an empty route)
    int32_t node;     // index into nodes(), set when kRetSucc
    bool probe;       // node came from the overload list
    bool panic;       // chosen among all nodes (panic_threshold)
  };

  // A new route is empty and PULLING, runs `lars` with every knob off.
  Route(const Config* config, int32_t modid, int32_t cmdid, int64_t now);
  Route(const Route&) = delete;
  Route& operator=(const Route&) = delete;

  // get_host on a non-empty route.
  Choice Pick(const HashKey& key, Prng* rng);
  // False when the node is not in the route (the report is ignored). usetime_us 0 = not measured.
  bool Report(int32_t ip, int32_t port, int32_t retcode, uint32_t usetime_us, int64_t now, Change* change);
  // Replaces the host set and the policy (null: `lars`, knobs off): new hosts join idle, gone hosts
  // leave every structure, the others keep their state and take their new weight. Hosts with a port
  // outside 0..65535 and duplicates are skipped. Returns the number of hosts kept. Sets last_update
  // and the state: NEW, or EMPTY when no host is kept. *unknown_policy: the name was not known.
  std::size_t Apply(const std::vector<HostAddr>& hosts, const RoutePolicy* policy, int64_t now, bool* unknown_policy);

  // Every node in the order it joined the route.
  void Hosts(std::vector<HostAddr>* out) const;
  // The per-node lines of a status report: idle list, then overload list.
  void Results(std::vector<NodeResult>* out) const;
  // Appends every node's cumulative counters (join order) while out->values holds fewer than
  // `limit` nodes; out->total counts them all.
  void AppendNodeStats(std::size_t limit, NodeStats* out) const;

  // For policies: the nodes (join order), the healthy ones (join order), the idle FIFO's head
  // rotated to its tail (`lars`), and the policy's knobs.
  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& nodes() { return nodes_; }
  const std::vector<int32_t>& healthy();
  int32_t RotateIdle();
  // Node i's zone (nodes() order).
  const std::string& zone(std::size_t i) const { return zones_[i]; }
  // Puts node i in the idle or the overload list as another owner of the state decided (the local
  // view's reader mirrors the agent's states; it never sees reports). No-op when already there.
  void SetOverloaded(int32_t i, bool overloaded, int64_t now);
  const RoutePolicy& policy() const { return policy_; }

  int32_t modid() const { return modid_; }
  int32_t cmdid() const { return cmdid_; }
  bool empty() const { return nodes_.empty(); }
  std::size_t idle_count() const { return idle_.size; }
  std::size_t overload_count() const { return overload_.size; }
  State state() const { return state_; }
  void set_state(State s) { state_ = s; }
  int64_t last_update() const { return last_update_; }
  // Its place in the Balancer's list of routes DNS answered empty (valid while listed_empty()).
  bool listed_empty() const { return listed_empty_; }
  std::list<Route*>::iterator empty_pos() const { return empty_pos_; }
  void set_empty_pos(std::list<Route*>::iterator pos) {
    empty_pos_ = pos;
    listed_empty_ = true;
  }
  void clear_empty_pos() { listed_empty_ = false; }

  // Report-interval bookkeeping (Balancer::CollectReports).
  bool active() const { return active_; }
  bool ReportDue(int64_t now, double interval_ms) const;
  void MarkReported(int64_t now);

  static bool ValidPort(int32_t port) { return port >= 0 && port <= 65535; }

 private:
  struct List {
    int32_t head = kNone;
    int32_t tail = kNone;
    std::size_t size = 0;
  };
  static uint64_t Key(int32_t ip, int32_t port) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(ip)) << 32) | static_cast<uint32_t>(port);
  }
  void PushBack(List* list, int32_t i);
  void Unlink(List* list, int32_t i);
  void Move(List* from, List* to, int32_t i);
  int32_t Find(int32_t ip, int32_t port) const;
  void ToIdle(Node* n, int64_t now);
  void ToOverload(Node* n, int64_t now);
  // An idle node the rules overload: moved, unless max_ejection_percent forbids it.
  Change Eject(int32_t i, int64_t now);
  void Recover(int32_t i, int64_t now);
  double OverloadTimeout(const Node& n) const;

  const Config* config_;
  int32_t modid_;
  int32_t cmdid_;
  std::vector<Node> nodes_;                        // join order
  std::vector<std::string> zones_;                 // zones_[i] is nodes_[i]'s zone
  std::vector<std::pair<uint64_t, int32_t>> index_;  // (ip:port key, node), sorted by key
  List idle_;                                      // FIFO
  List overload_;                                  // FIFO
  std::vector<int32_t> healthy_;                   // idle nodes in join order, rebuilt when stale
  std::vector<int32_t> all_;                       // 0..n-1
  bool healthy_stale_ = true;
  RoutePolicy policy_;
  std::unique_ptr<Policy> chooser_;
  bool policy_known_ = true;
  int64_t access_cnt_ = 0;
  State state_ = State::kPulling;
  int64_t last_update_;
  bool listed_empty_ = false;
  std::list<Route*>::iterator empty_pos_;
  bool active_ = false;  // a report arrived since the last status report
  bool reported_ = false;
  int64_t last_report_ = 0;
};

}  // namespace lars::balancer
