// The bytes of an agent port's local view (EXTENSIONS.md §5, docs/agent.md "The local view"),
// shared by its one writer (ViewWriter, in the agent) and its readers (LocalView, in business
// processes). A file is a header, a route directory (open addressing on modid/cmdid, each slot
// guarded by its own seqlock) and a node heap that slots point into. Everything is little-endian
// host order: writer and readers are on the same host by definition.
//
// Layout version 1. Any change to these structs bumps kViewVersion; readers refuse other versions.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>

namespace lars::view {

inline constexpr uint64_t kViewMagic = 0x574549565352414cULL;  // the bytes "LARSVIEW"
inline constexpr uint32_t kViewVersion = 1;
inline constexpr std::size_t kZoneBytes = 64;        // RouteNodeAttr.zone is at most 64 bytes
inline constexpr std::size_t kPolicyNameBytes = 32;  // policy names are short identifiers
// A route slot never claims more nodes than this; a bigger count is corrupt.
inline constexpr uint32_t kMaxNodesPerRoute = 1 << 20;

// Header.state
enum ViewState : uint32_t {
  kStateLive = 0,
  kStateClosed = 1,      // the agent stopped cleanly (the file is unlinked right after)
  kStateSuperseded = 2,  // a bigger file was renamed over this one: re-open the path
};

// RouteSlot.used
enum SlotUse : uint32_t {
  kSlotFree = 0,  // ends a probe sequence
  kSlotRoute = 1,
  kSlotGone = 2,  // the agent dropped the route (an evicted EMPTY route); keeps probing going
};

// RouteSlot.route_state
enum RouteState : uint32_t {
  kRouteNodes = 0,  // the agent holds nodes for it (answers from them)
  kRouteEmpty = 1,  // DNS answered no nodes: NOEXIST
};

// NodeRecord.flags
inline constexpr uint32_t kNodeOverloaded = 1;

struct alignas(8) Header {
  uint64_t magic;
  uint32_t version;
  uint32_t state;            // ViewState, atomic
  int32_t pid;               // the agent's
  uint32_t port;             // the UDP port this file serves
  int64_t start_time_ms;     // the agent's start, CLOCK_REALTIME ms (with pid: which agent)
  int64_t heartbeat_ms;      // CLOCK_MONOTONIC ms, atomic; bumped at least every 100 ms
  int64_t probe_num;         // [loadbalance] probe_num of the agent
  char zone[kZoneBytes];     // [agent] zone, NUL-padded ('' until the agent has zones)
  uint32_t slot_count;       // a power of two
  uint32_t slot_size;        // sizeof(RouteSlot)
  uint64_t slots_offset;
  uint32_t node_size;        // sizeof(NodeRecord)
  uint32_t node_capacity;    // records in the heap
  uint64_t nodes_offset;
  uint64_t file_size;
  uint64_t routes;           // slots in use (informational)
  uint8_t reserved[256 - 160];
};

struct alignas(8) RouteSlot {
  uint64_t seq;         // seqlock, atomic: odd while the writer is inside
  uint32_t used;        // SlotUse
  int32_t modid;
  int32_t cmdid;
  uint32_t route_state; // RouteState
  uint64_t generation;  // changes whenever anything below changes
  char policy[kPolicyNameBytes];  // RoutePolicy.name, NUL-padded
  uint32_t max_ejection_percent;
  uint32_t panic_threshold;
  uint32_t ejection_backoff_max_ms;
  uint32_t zone_overprovision;
  uint32_t ring_size;
  uint32_t node_count;
  uint32_t node_first;  // index of its first record in the heap
  uint32_t node_room;   // records reserved for it there (writer bookkeeping, >= node_count)
  uint8_t reserved[128 - 96];
};

struct alignas(8) NodeRecord {
  int32_t ip;
  int32_t port;
  int32_t weight;  // 1..10000, as the agent uses it
  uint32_t flags;  // kNodeOverloaded
  char zone[kZoneBytes];  // NUL-padded
};

static_assert(sizeof(Header) == 256);
static_assert(offsetof(Header, heartbeat_ms) == 32);
static_assert(offsetof(Header, zone) == 48);
static_assert(offsetof(Header, slot_count) == 112);
static_assert(offsetof(Header, routes) == 152);
static_assert(sizeof(RouteSlot) == 128);
static_assert(offsetof(RouteSlot, policy) == 32);
static_assert(offsetof(RouteSlot, node_count) == 84);
static_assert(sizeof(NodeRecord) == 80);

// The atomics of the mapped memory: lock-free 32/64-bit atomics are address-free, so the same
// bytes work as std::atomic in every process that maps them.
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t) && sizeof(std::atomic<int64_t>) == sizeof(int64_t));
inline std::atomic<uint64_t>& AtomicSeq(RouteSlot* s) { return *reinterpret_cast<std::atomic<uint64_t>*>(&s->seq); }
inline const std::atomic<uint64_t>& AtomicSeq(const RouteSlot* s) {
  return *reinterpret_cast<const std::atomic<uint64_t>*>(&s->seq);
}
inline std::atomic<int64_t>& AtomicHeartbeat(Header* h) { return *reinterpret_cast<std::atomic<int64_t>*>(&h->heartbeat_ms); }
inline const std::atomic<int64_t>& AtomicHeartbeat(const Header* h) {
  return *reinterpret_cast<const std::atomic<int64_t>*>(&h->heartbeat_ms);
}
inline std::atomic<uint32_t>& AtomicState(Header* h) { return *reinterpret_cast<std::atomic<uint32_t>*>(&h->state); }
inline const std::atomic<uint32_t>& AtomicState(const Header* h) {
  return *reinterpret_cast<const std::atomic<uint32_t>*>(&h->state);
}

// The slot a key probes first; linear probing from there.
inline uint32_t SlotHash(int32_t modid, int32_t cmdid) {
  uint64_t k = (static_cast<uint64_t>(static_cast<uint32_t>(modid)) << 32) | static_cast<uint32_t>(cmdid);
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return static_cast<uint32_t>(k);
}

// The heartbeat clock, the same for writer and readers: CLOCK_MONOTONIC in ms.
inline int64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// The same clock at tick resolution (a few ms), without even the vDSO's fine read: what a reader
// compares with the heartbeat on every pick.
inline int64_t CoarseMonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// The file of an agent port in `dir`.
inline std::string ViewPath(const std::string& dir, uint16_t port) {
  return dir + "/lars-agent-" + std::to_string(port) + ".view";
}

}  // namespace lars::view
