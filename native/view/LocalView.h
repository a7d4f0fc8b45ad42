// LocalView: a business process's read-only window on an agent port's local view (ViewLayout.h,
// EXTENSIONS.md §5), and picks from it with the agent's own policy code: per module, a private
// balancer::Route re-applied whenever the route's slot changes generation, with the agent's
// overloaded flags forced onto its nodes. Its cursors, probe counter and PRNG are this process's;
// reports are never applied here (health stays the agent's, fed by the SDK's report batches), so
// least_latency sees no call-time samples and draws its two choices at cost 0.
//
// Every offset read from the file is checked against the mapped size, and a slot is only used
// when its seqlock showed no write during the read: a corrupt, truncated or half-written view
// gives an error code, never a crash. (A file truncated by someone else *after* it was mapped
// would fault on access; the agent itself never shrinks a file: it renames a new one over it.)
//
// Not thread-safe: one owner (the SDK's JS thread). Owns its mapping.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "balancer/config.h"
#include "balancer/prng.h"
#include "balancer/route.h"
#include "balancer/types.h"
#include "view/ViewLayout.h"

namespace lars::view {

class LocalView {
 public:
  enum class Status { kOk, kMissing, kStale, kLayout, kCorrupt, kClosed };

  // Pick's negative answers: fall back to the agent over UDP.
  static constexpr int32_t kNotInView = -1;  // module not in the view (asking the agent pulls it)
  static constexpr int32_t kStaleView = -2;  // heartbeat older than kStaleMs (or the writer is stuck mid-write)
  static constexpr int32_t kNoView = -3;     // missing, closed, another layout, corrupt
  static constexpr int64_t kStaleMs = 1000;

  // Maps `path` when it is there; never throws for a missing or bad file (status() says why).
  // `seed`: this process's PRNG seed for the random policies.
  LocalView(std::string path, uint32_t seed);
  ~LocalView();
  LocalView(const LocalView&) = delete;
  LocalView& operator=(const LocalView&) = delete;

  // Checks the heartbeat against `now_ms` (MonotonicMs()) and re-opens the path when the mapped
  // file is closed, superseded, stale or absent.
  Status Check(int64_t now_ms);
  // A Lars retcode >= 0 (kRetSucc with *ip, *port; kRetOverload; kRetNoExist for a route the agent
  // holds as EMPTY) or one of the negative fallbacks above. `now_ms`: CLOCK_MONOTONIC ms, a coarse
  // reading is enough (only compared with the heartbeat).
  int32_t Pick(int32_t modid, int32_t cmdid, int64_t now_ms, const balancer::HashKey& key, int32_t* ip, int32_t* port);
  // Every node of the route in join order (with weight and zone). 0, or a negative fallback.
  int32_t Hosts(int32_t modid, int32_t cmdid, int64_t now_ms, std::vector<balancer::HostAddr>* out);
  // Unmaps; every later call answers kNoView / kClosed.
  void Close();

  const std::string& path() const { return path_; }

 private:
  // A slot as read under its seqlock, with its nodes.
  struct Snapshot {
    RouteSlot slot;
    std::vector<NodeRecord> nodes;
  };
  struct Module {
    uint32_t slot = 0;
    uint64_t generation = 0;
    bool empty = false;
    std::unique_ptr<balancer::Route> route;
  };
  enum class Read { kOk, kAbsent, kTorn, kCorrupt };

  // Opens and validates the path: the new mapping replaces the current one (and every cached
  // route) when it is a different file. Sets open_error_.
  void Reopen();
  void Unmap();
  // Status of the mapping at now_ms, re-opening (at most every kReopenMs unless forced) as needed.
  Status Refresh(int64_t now_ms, bool force);
  int32_t Fallback(Status s) const { return s == Status::kStale ? kStaleView : kNoView; }
  // The slot of (modid, cmdid) in the directory, or UINT32_MAX.
  uint32_t FindSlot(int32_t modid, int32_t cmdid) const;
  // One consistent read of slot i (generation only, or with its nodes when `with_nodes`).
  Read ReadSlot(uint32_t i, bool with_nodes, Snapshot* out) const;
  // The module's cached route, brought up to the slot's generation. Sets *rc on failure.
  Module* Sync(int32_t modid, int32_t cmdid, int64_t now_ms, int32_t* rc);

  const std::string path_;
  const char* base_ = nullptr;
  std::size_t size_ = 0;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  // The validated geometry of the mapping (copied: the file's own fields are never trusted twice).
  uint32_t slot_count_ = 0;
  uint64_t slots_offset_ = 0;
  uint32_t node_capacity_ = 0;
  uint64_t nodes_offset_ = 0;
  Status open_error_ = Status::kMissing;  // why there is no mapping
  int64_t next_reopen_ms_ = 0;
  bool closed_ = false;

  balancer::Config config_;  // probe_num from the header; Routes point at it
  balancer::Prng rng_;
  std::unordered_map<uint64_t, Module> modules_;
  Snapshot scratch_;
};

}  // namespace lars::view
