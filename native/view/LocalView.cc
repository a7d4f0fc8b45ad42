#include "view/LocalView.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace lars::view {

namespace lb = lars::balancer;

namespace {

constexpr int64_t kReopenMs = 100;  // a missing or stale view is looked for again at most this often
constexpr int kMaxReadAttempts = 1000;  // a slot odd for this long: its writer is stuck (or dead)

uint64_t KeyOf(int32_t modid, int32_t cmdid) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(modid)) << 32) | static_cast<uint32_t>(cmdid);
}

std::string Padded(const char* s, std::size_t size) { return std::string(s, strnlen(s, size)); }

// off + count * each <= size, without overflow.
bool Fits(uint64_t off, uint64_t count, uint64_t each, uint64_t size) {
  return off <= size && count <= (size - off) / each;
}

}  // namespace

LocalView::LocalView(std::string path, uint32_t seed) : path_(std::move(path)), rng_(seed) { Reopen(); }

LocalView::~LocalView() { Unmap(); }

void LocalView::Unmap() {
  if (base_ != nullptr) ::munmap(const_cast<char*>(base_), size_);
  base_ = nullptr;
  size_ = 0;
  modules_.clear();  // generations belong to one file
}

void LocalView::Close() {
  Unmap();
  closed_ = true;
}

void LocalView::Reopen() {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (base_ == nullptr) open_error_ = Status::kMissing;
    return;  // keep what is mapped: its own state says closed or stale
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || (base_ != nullptr && st.st_dev == dev_ && st.st_ino == ino_)) {
    ::close(fd);
    return;  // the same file
  }
  Unmap();
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < sizeof(Header)) {
    ::close(fd);
    open_error_ = Status::kCorrupt;
    return;
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    open_error_ = Status::kMissing;
    return;
  }
  Header h;
  std::memcpy(&h, p, sizeof(h));
  Status error = Status::kOk;
  if (h.magic != kViewMagic || h.version != kViewVersion) {
    error = Status::kLayout;
  } else if (h.slot_size != sizeof(RouteSlot) || h.node_size != sizeof(NodeRecord) || h.slot_count == 0 ||
             (h.slot_count & (h.slot_count - 1)) != 0 || h.slots_offset < sizeof(Header) || h.slots_offset % 8 != 0 ||
             h.nodes_offset % 8 != 0 || !Fits(h.slots_offset, h.slot_count, sizeof(RouteSlot), size) ||
             !Fits(h.nodes_offset, h.node_capacity, sizeof(NodeRecord), size)) {
    error = Status::kCorrupt;
  }
  if (error != Status::kOk) {
    ::munmap(p, size);
    open_error_ = error;
    return;
  }
  base_ = static_cast<const char*>(p);
  size_ = size;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  slot_count_ = h.slot_count;
  slots_offset_ = h.slots_offset;
  node_capacity_ = h.node_capacity;
  nodes_offset_ = h.nodes_offset;
  config_.probe_num = std::clamp<int64_t>(h.probe_num, 0, INT32_MAX);
}

LocalView::Status LocalView::Refresh(int64_t now_ms, bool force) {
  if (closed_) return Status::kClosed;
  for (int pass = 0;; ++pass) {
    Status s = open_error_;
    if (base_ != nullptr) {
      const Header* h = reinterpret_cast<const Header*>(base_);
      const uint32_t state = AtomicState(h).load(std::memory_order_acquire);
      const int64_t beat = AtomicHeartbeat(h).load(std::memory_order_acquire);
      s = state == kStateClosed ? Status::kClosed
          : state == kStateSuperseded || now_ms - beat > kStaleMs ? Status::kStale
                                                                  : Status::kOk;
      if (s == Status::kOk) return s;
      if (state == kStateSuperseded) force = true;  // its successor is already at the path
    }
    // Not usable: a new agent (or a bigger file) may be at the path by now.
    if (pass > 0 || !(force || now_ms >= next_reopen_ms_)) return s;
    next_reopen_ms_ = now_ms + kReopenMs;
    Reopen();
  }
}

LocalView::Status LocalView::Check(int64_t now_ms) { return Refresh(now_ms, true); }

uint32_t LocalView::FindSlot(int32_t modid, int32_t cmdid) const {
  const RouteSlot* slots = reinterpret_cast<const RouteSlot*>(base_ + slots_offset_);
  const uint32_t mask = slot_count_ - 1;
  uint32_t i = SlotHash(modid, cmdid) & mask;
  for (uint32_t n = 0; n < slot_count_; ++n, i = (i + 1) & mask) {
    const RouteSlot* s = &slots[i];
    // A slot's key never changes once `used` is set (with release, after the key).
    if (reinterpret_cast<const std::atomic<uint32_t>*>(&s->used)->load(std::memory_order_acquire) == kSlotFree) break;
    if (s->modid == modid && s->cmdid == cmdid) return i;
  }
  return UINT32_MAX;
}

LocalView::Read LocalView::ReadSlot(uint32_t i, bool with_nodes, Snapshot* out) const {
  const RouteSlot* s = reinterpret_cast<const RouteSlot*>(base_ + slots_offset_) + i;
  const NodeRecord* heap = reinterpret_cast<const NodeRecord*>(base_ + nodes_offset_);
  for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
    const uint64_t before = AtomicSeq(s).load(std::memory_order_acquire);
    if ((before & 1) != 0) {
      if (attempt >= 16) sched_yield();
      continue;
    }
    std::memcpy(&out->slot, s, sizeof(RouteSlot));
    bool corrupt = false;
    if (with_nodes && out->slot.used == kSlotRoute) {
      const uint32_t n = out->slot.node_count;
      const uint32_t first = out->slot.node_first;
      // Checked against the mapping before any record is touched (values from a torn read included).
      corrupt = n > kMaxNodesPerRoute || first > node_capacity_ || n > node_capacity_ - first;
      if (!corrupt) {
        out->nodes.resize(n);
        if (n > 0) std::memcpy(out->nodes.data(), heap + first, std::size_t{n} * sizeof(NodeRecord));
      }
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (AtomicSeq(s).load(std::memory_order_relaxed) != before) continue;  // torn: the writer was inside
    return corrupt ? Read::kCorrupt : Read::kOk;
  }
  return Read::kTorn;
}

LocalView::Module* LocalView::Sync(int32_t modid, int32_t cmdid, int64_t now_ms, int32_t* rc) {
  const uint64_t key = KeyOf(modid, cmdid);
  auto it = modules_.find(key);
  if (it == modules_.end()) {
    const uint32_t slot = FindSlot(modid, cmdid);
    if (slot == UINT32_MAX) {
      *rc = kNotInView;
      return nullptr;
    }
    it = modules_.emplace(key, Module{}).first;
    it->second.slot = slot;
  }
  Module* m = &it->second;
  Read r = ReadSlot(m->slot, false, &scratch_);
  if (r == Read::kOk && (scratch_.slot.modid != modid || scratch_.slot.cmdid != cmdid)) r = Read::kCorrupt;
  if (r == Read::kOk && scratch_.slot.used != kSlotRoute) {
    *rc = kNotInView;  // the agent dropped it; asking it over UDP pulls it again
    return nullptr;
  }
  if (r == Read::kOk && scratch_.slot.generation == m->generation) return m;
  if (r == Read::kOk) r = ReadSlot(m->slot, true, &scratch_);
  if (r == Read::kOk && (scratch_.slot.used != kSlotRoute || scratch_.slot.modid != modid || scratch_.slot.cmdid != cmdid)) {
    r = Read::kTorn;  // changed between the two reads: the next pick reads it again
  }
  if (r != Read::kOk) {
    *rc = r == Read::kTorn ? kStaleView : kNoView;
    if (r == Read::kCorrupt) modules_.erase(it);
    return nullptr;
  }
  const RouteSlot& s = scratch_.slot;
  m->empty = s.route_state == kRouteEmpty || scratch_.nodes.empty();
  if (!m->empty) {
    std::vector<lb::HostAddr> hosts;
    hosts.reserve(scratch_.nodes.size());
    for (const NodeRecord& n : scratch_.nodes) hosts.emplace_back(n.ip, n.port, n.weight, Padded(n.zone, sizeof(n.zone)));
    lb::RoutePolicy policy;
    policy.name = Padded(s.policy, sizeof(s.policy));
    policy.max_ejection_percent = s.max_ejection_percent;
    policy.panic_threshold = s.panic_threshold;
    policy.ejection_backoff_max_ms = s.ejection_backoff_max_ms;
    policy.zone_overprovision = s.zone_overprovision;
    policy.ring_size = s.ring_size;
    // Nodes that stay keep their cursor state; the view's order is the agent's join order, so the
    // private route's must match it node for node, else it is built afresh.
    auto matches = [&](const lb::Route& route) {
      if (route.nodes().size() != hosts.size()) return false;
      for (std::size_t k = 0; k < hosts.size(); ++k) {
        if (route.nodes()[k].ip != hosts[k].ip || route.nodes()[k].port != hosts[k].port) return false;
      }
      return true;
    };
    bool unknown_policy;
    if (m->route) m->route->Apply(hosts, &policy, now_ms, &unknown_policy);
    if (!m->route || !matches(*m->route)) {
      m->route = std::make_unique<lb::Route>(&config_, modid, cmdid, now_ms);
      m->route->Apply(hosts, &policy, now_ms, &unknown_policy);
      if (!matches(*m->route)) {  // duplicates or bad ports: not something the agent writes
        modules_.erase(it);
        *rc = kNoView;
        return nullptr;
      }
    }
    for (std::size_t k = 0; k < scratch_.nodes.size(); ++k) {
      m->route->SetOverloaded(static_cast<int32_t>(k), (scratch_.nodes[k].flags & kNodeOverloaded) != 0, now_ms);
    }
  }
  m->generation = s.generation;
  return m;
}

int32_t LocalView::Pick(int32_t modid, int32_t cmdid, int64_t now_ms, const lb::HashKey& key, int32_t* ip,
                        int32_t* port) {
  const Status st = Refresh(now_ms, false);
  if (st != Status::kOk) return Fallback(st);
  int32_t rc;
  Module* m = Sync(modid, cmdid, now_ms, &rc);
  if (m == nullptr) return rc;
  if (m->empty) return lb::kRetNoExist;
  const lb::Route::Choice c = m->route->Pick(key, &rng_);
  if (c.retcode != lb::kRetSucc) return c.retcode;
  const lb::Route::Node& n = m->route->nodes()[c.node];
  *ip = n.ip;
  *port = n.port;
  return lb::kRetSucc;
}

int32_t LocalView::Hosts(int32_t modid, int32_t cmdid, int64_t now_ms, std::vector<lb::HostAddr>* out) {
  const Status st = Refresh(now_ms, false);
  if (st != Status::kOk) return Fallback(st);
  int32_t rc;
  Module* m = Sync(modid, cmdid, now_ms, &rc);
  if (m == nullptr) return rc;
  if (!m->empty) m->route->Hosts(out);
  return 0;
}

}  // namespace lars::view
