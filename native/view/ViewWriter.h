// ViewWriter: publishes one agent port's routes in its local-view file (ViewLayout.h), for
// business processes on the same host to pick from without a round trip (EXTENSIONS.md §5).
//
// Sizing: a file has a fixed geometry (route slots, node records). When a route does not fit,
// the writer builds a bigger file from the balancer, renames it over the path and marks the old
// one superseded; readers re-open the path when they see that. A route's nodes are rewritten in
// place when they fit its reserved records, else moved to fresh records at the heap's end.
//
// Owns the mapping and the file. Not thread-safe: the port's loop thread is its only user, and
// the only writer of the file. The destructor closes it (Close()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/types.h>

#include "balancer/balancer.h"
#include "view/ViewLayout.h"

namespace lars::view {

// A file's fixed sizes: the default holds 512 routes and 8192 nodes in about 800 KB of address
// space (sparse: untouched pages cost nothing).
struct ViewGeometry {
  uint32_t slots = 1024;  // a power of two; at most half of them used
  uint32_t nodes = 8192;
};

class ViewWriter {
 public:
  struct Identity {
    uint16_t port = 0;
    int32_t pid = 0;
    int64_t start_time_ms = 0;  // CLOCK_REALTIME ms
    int64_t probe_num = 10;
    std::string zone;           // the agent's zone ('' = none)
  };
  using Geometry = ViewGeometry;

  // Creates <dir>/lars-agent-<port>.view (replacing any old one: a reader of that one sees it go
  // stale). Null and *error on failure.
  static std::unique_ptr<ViewWriter> Create(const std::string& dir, const Identity& id, std::string* error,
                                            Geometry geometry = Geometry{});
  ~ViewWriter();
  ViewWriter(const ViewWriter&) = delete;
  ViewWriter& operator=(const ViewWriter&) = delete;

  // Writes the module's route as `balancer` holds it now: its nodes, their states and its policy,
  // or a gone slot when the balancer no longer holds it. A route still waiting for its first DNS
  // answer is not written. False (and error()) when a bigger file could not be made: the view
  // is then unusable and the caller drops it.
  bool Publish(const balancer::Balancer& balancer, int32_t modid, int32_t cmdid);
  // Marks gone every written route the balancer no longer holds (after it evicted EMPTY routes).
  void SweepGone(const balancer::Balancer& balancer);
  // Stores `now_ms` (MonotonicMs()) as the heartbeat.
  void Beat(int64_t now_ms);
  // Writes `closed` in the header, then unlinks and unmaps the file. Idempotent.
  void Close();

  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }
  Geometry geometry() const { return {slot_count_, node_capacity_}; }

 private:
  ViewWriter(std::string dir, Identity id);
  // Maps a fresh file of this geometry at a temporary path and fills its header; false on error.
  // (*dev, *ino: the file's identity, so that Close() unlinks only its own file.)
  bool MapNew(Geometry geometry, char** base, std::size_t* size, std::string* tmp, dev_t* dev, ino_t* ino);
  // Builds a file with room for every written route and (modid, cmdid), with slack to grow,
  // writes them all from the balancer (gone ones are dropped), renames it over the path and marks
  // the old one superseded.
  bool Rebuild(const balancer::Balancer& balancer, int32_t modid, int32_t cmdid);
  // The slot of the key, taking a free one (and setting its key) when new; UINT32_MAX when full.
  uint32_t SlotFor(int32_t modid, int32_t cmdid);
  // Writes one slot under its seqlock, its nodes from record `first` on. route null: gone.
  void WriteSlot(uint32_t slot, int32_t modid, int32_t cmdid, const balancer::Route* route, uint32_t first);
  Header* header() const { return reinterpret_cast<Header*>(base_); }
  RouteSlot* slot(uint32_t i) const { return reinterpret_cast<RouteSlot*>(base_ + sizeof(Header)) + i; }
  NodeRecord* node(uint32_t i) const {
    return reinterpret_cast<NodeRecord*>(base_ + sizeof(Header) + std::size_t{slot_count_} * sizeof(RouteSlot)) + i;
  }

  const std::string dir_;
  const Identity id_;
  const std::string path_;
  std::string error_;
  char* base_ = nullptr;
  std::size_t size_ = 0;
  uint32_t slot_count_ = 0;
  uint32_t node_capacity_ = 0;
  uint32_t heap_used_ = 0;  // records handed out, from the heap's start
  uint32_t slots_used_ = 0;
  uint64_t generation_ = 0;
  std::unordered_map<uint64_t, uint32_t> slot_of_;  // (modid, cmdid) -> slot
  // Per slot, the heap records reserved for its route (the writer's own copy: never read back).
  struct Room {
    uint32_t first = 0;
    uint32_t size = 0;
  };
  std::vector<Room> room_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace lars::view
