// Route: the balancer state of one module (modid, cmdid) on one agent port.
// Owns its nodes. Not thread-safe: the Balancer that holds it is owned by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "balancer/config.h"
#include "balancer/types.h"

namespace lars::balancer {

class Route {
 public:
  // kPulling: a pull is in flight. kNew: holds DNS's nodes (pulled again when stale).
  // kEmpty: DNS answered no nodes; answers NOEXIST, pulled again only when stale.
  enum class State { kPulling, kNew, kEmpty };
  enum class Change { kNone, kToOverload, kToIdle };

  struct Node {
    int32_t ip;
    int32_t port;
    int64_t vsucc = 0;
    int64_t verr = 0;
    int64_t rsucc = 0;
    int64_t rerr = 0;
    int64_t contin_succ = 0;
    int64_t contin_err = 0;
    bool overload = false;
    int64_t idle_ts = 0;
    int64_t overload_ts = 0;
    std::list<Node*>::iterator pos;  // its place in idle_ or overload_
  };

  struct Choice {
    int32_t retcode;     // kRetSucc or kRetOverload (callers answer kRetNoExist for an empty route)
    const Node* node;    // set when kRetSucc
    bool probe;          // node came from the overload list
  };

  // A new route is empty and PULLING: its first pull is being requested.
  Route(const Config* config, int32_t modid, int32_t cmdid, int64_t now);
  Route(const Route&) = delete;
  Route& operator=(const Route&) = delete;

  // get_host on a non-empty route.
  Choice Pick();
  // False when the node is not in the route (the report is ignored).
  bool Report(int32_t ip, int32_t port, int32_t retcode, int64_t now, Change* change);
  // Replaces the host set: new hosts join idle, gone hosts leave every structure, the others keep
  // their state. Hosts with a port outside 0..65535 and duplicates are skipped. Returns the number
  // of hosts kept. Sets last_update and the state: NEW, or EMPTY when no host is kept.
  std::size_t Apply(const std::vector<HostAddr>& hosts, int64_t now);

  // Every node in the order it joined the route.
  void Hosts(std::vector<HostAddr>* out) const;
  // The per-node lines of a status report: idle list, then overload list.
  void Results(std::vector<NodeResult>* out) const;

  int32_t modid() const { return modid_; }
  int32_t cmdid() const { return cmdid_; }
  bool empty() const { return nodes_.empty(); }
  std::size_t idle_count() const { return idle_.size(); }
  std::size_t overload_count() const { return overload_.size(); }
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
  static uint64_t Key(int32_t ip, int32_t port) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(ip)) << 32) | static_cast<uint32_t>(port);
  }
  void ToIdle(Node* n, int64_t now);
  void ToOverload(Node* n, int64_t now);

  const Config* config_;
  int32_t modid_;
  int32_t cmdid_;
  std::list<Node> nodes_;  // owns the nodes, in the order they joined
  std::unordered_map<uint64_t, std::list<Node>::iterator> index_;
  std::list<Node*> idle_;      // FIFO
  std::list<Node*> overload_;  // FIFO
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
