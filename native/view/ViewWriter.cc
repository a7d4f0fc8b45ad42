#include "view/ViewWriter.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

namespace lars::view {

namespace lb = lars::balancer;

namespace {

uint64_t KeyOf(int32_t modid, int32_t cmdid) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(modid)) << 32) | static_cast<uint32_t>(cmdid);
}

// NUL-padded copy; a longer string is cut (zones are at most 64 bytes, policy names short).
void CopyPadded(char* dst, std::size_t size, const std::string& src) {
  std::memset(dst, 0, size);
  std::memcpy(dst, src.data(), std::min(src.size(), size));
}

std::string SysError(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

ViewWriter::ViewWriter(std::string dir, Identity id)
    : dir_(std::move(dir)), id_(std::move(id)), path_(ViewPath(dir_, id_.port)) {}

std::unique_ptr<ViewWriter> ViewWriter::Create(const std::string& dir, const Identity& id, std::string* error,
                                               Geometry geometry) {
  std::unique_ptr<ViewWriter> w(new ViewWriter(dir, id));
  std::string tmp;
  if ((geometry.slots & (geometry.slots - 1)) != 0 || geometry.slots < 2) {
    *error = "local view: the slot count must be a power of two";
    return nullptr;
  }
  if (!w->MapNew(geometry, &w->base_, &w->size_, &tmp, &w->dev_, &w->ino_)) {
    *error = w->error_;
    return nullptr;
  }
  w->slot_count_ = geometry.slots;
  w->node_capacity_ = geometry.nodes;
  w->room_.assign(geometry.slots, Room{});
  // Renamed only once the header is complete: a reader never maps a half-made file.
  if (::rename(tmp.c_str(), w->path_.c_str()) != 0) {
    *error = SysError("cannot rename the local view to", w->path_);
    ::unlink(tmp.c_str());
    ::munmap(w->base_, w->size_);
    w->base_ = nullptr;
    return nullptr;
  }
  return w;
}

ViewWriter::~ViewWriter() { Close(); }

bool ViewWriter::MapNew(Geometry geometry, char** base, std::size_t* size, std::string* tmp, dev_t* dev, ino_t* ino) {
  *tmp = dir_ + "/.lars-agent-" + std::to_string(id_.port) + ".view." + std::to_string(id_.pid) + ".tmp";
  const std::size_t bytes =
      sizeof(Header) + std::size_t{geometry.slots} * sizeof(RouteSlot) + std::size_t{geometry.nodes} * sizeof(NodeRecord);
  const int fd = ::open(tmp->c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error_ = SysError("cannot create the local view", *tmp);
    return false;
  }
  // ftruncate makes a sparse file of zeros: every slot starts free, and untouched pages cost nothing.
  void* p = ::ftruncate(fd, static_cast<off_t>(bytes)) == 0 ? ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                                                            : MAP_FAILED;
  struct stat st;
  if (p == MAP_FAILED || ::fstat(fd, &st) != 0) {
    error_ = SysError("cannot size or map the local view", *tmp);
    if (p != MAP_FAILED) ::munmap(p, bytes);
    ::close(fd);
    ::unlink(tmp->c_str());
    return false;
  }
  ::close(fd);
  *dev = st.st_dev;
  *ino = st.st_ino;
  Header* h = static_cast<Header*>(p);
  h->magic = kViewMagic;
  h->version = kViewVersion;
  h->pid = id_.pid;
  h->port = id_.port;
  h->start_time_ms = id_.start_time_ms;
  h->heartbeat_ms = MonotonicMs();
  h->probe_num = id_.probe_num;
  CopyPadded(h->zone, sizeof(h->zone), id_.zone);
  h->slot_count = geometry.slots;
  h->slot_size = sizeof(RouteSlot);
  h->slots_offset = sizeof(Header);
  h->node_size = sizeof(NodeRecord);
  h->node_capacity = geometry.nodes;
  h->nodes_offset = sizeof(Header) + std::size_t{geometry.slots} * sizeof(RouteSlot);
  h->file_size = bytes;
  AtomicState(h).store(kStateLive, std::memory_order_release);
  *base = static_cast<char*>(p);
  *size = bytes;
  return true;
}

uint32_t ViewWriter::SlotFor(int32_t modid, int32_t cmdid) {
  const uint64_t key = KeyOf(modid, cmdid);
  auto it = slot_of_.find(key);
  if (it != slot_of_.end()) return it->second;
  // At most half the slots used, so a reader's probe sequence stays short.
  if ((slots_used_ + 1) * 2 > slot_count_) return UINT32_MAX;
  const uint32_t mask = slot_count_ - 1;
  uint32_t i = SlotHash(modid, cmdid) & mask;
  while (slot(i)->used != kSlotFree) i = (i + 1) & mask;
  ++slots_used_;
  slot_of_.emplace(key, i);
  return i;
}

void ViewWriter::WriteSlot(uint32_t i, int32_t modid, int32_t cmdid, const lb::Route* route, uint32_t first) {
  RouteSlot* s = slot(i);
  std::atomic<uint64_t>& seq = AtomicSeq(s);
  const uint64_t v = seq.load(std::memory_order_relaxed);
  seq.store(v + 1, std::memory_order_relaxed);  // odd: readers retry
  std::atomic_thread_fence(std::memory_order_release);
  s->modid = modid;
  s->cmdid = cmdid;
  s->generation = ++generation_;
  const uint32_t n = route == nullptr ? 0 : static_cast<uint32_t>(route->nodes().size());
  if (route != nullptr) {
    const lb::RoutePolicy& p = route->policy();
    s->route_state = n == 0 ? kRouteEmpty : kRouteNodes;
    CopyPadded(s->policy, sizeof(s->policy), p.name);
    s->max_ejection_percent = p.max_ejection_percent;
    s->panic_threshold = p.panic_threshold;
    s->ejection_backoff_max_ms = p.ejection_backoff_max_ms;
    s->zone_overprovision = p.zone_overprovision;
    s->ring_size = p.ring_size;
    for (uint32_t k = 0; k < n; ++k) {
      const lb::Route::Node& src = route->nodes()[k];
      NodeRecord* dst = node(first + k);
      dst->ip = src.ip;
      dst->port = src.port;
      dst->weight = src.weight;
      dst->flags = src.overload ? kNodeOverloaded : 0;
      CopyPadded(dst->zone, sizeof(dst->zone), route->zone(k));
    }
  }
  s->node_count = n;
  s->node_first = first;
  // The key is in place before `used` says so (a reader probing the directory reads used first).
  reinterpret_cast<std::atomic<uint32_t>*>(&s->used)->store(route == nullptr ? kSlotGone : kSlotRoute,
                                                            std::memory_order_release);
  seq.store(v + 2, std::memory_order_release);
}

bool ViewWriter::Publish(const lb::Balancer& balancer, int32_t modid, int32_t cmdid) {
  if (base_ == nullptr) return false;
  const lb::Route* route = balancer.Find(modid, cmdid);
  const uint64_t key = KeyOf(modid, cmdid);
  auto known = slot_of_.find(key);
  if (route == nullptr) {
    if (known != slot_of_.end()) WriteSlot(known->second, modid, cmdid, nullptr, 0);
    return true;
  }
  // Never answered by DNS yet: readers ask the agent over UDP, which is what pulls it.
  if (known == slot_of_.end() && route->state() == lb::Route::State::kPulling && route->empty()) return true;
  const uint32_t i = SlotFor(modid, cmdid);
  if (i == UINT32_MAX) return Rebuild(balancer, modid, cmdid);
  const uint32_t n = static_cast<uint32_t>(route->nodes().size());
  Room& room = room_[i];
  if (n > room.size) {
    if (heap_used_ + std::size_t{n} > node_capacity_) return Rebuild(balancer, modid, cmdid);
    // The old records are left behind (reclaimed by the next rebuild): a reader may still be in them.
    room = Room{heap_used_, n};
    heap_used_ += n;
  }
  WriteSlot(i, modid, cmdid, route, room.first);
  header()->routes = slots_used_;
  return true;
}

bool ViewWriter::Rebuild(const lb::Balancer& balancer, int32_t modid, int32_t cmdid) {
  std::vector<uint64_t> keys;
  keys.reserve(slot_of_.size() + 1);
  for (const auto& [key, i] : slot_of_) keys.push_back(key);
  if (slot_of_.find(KeyOf(modid, cmdid)) == slot_of_.end()) keys.push_back(KeyOf(modid, cmdid));
  std::vector<std::pair<uint64_t, const lb::Route*>> live;
  std::size_t nodes = 0;
  for (uint64_t key : keys) {
    const lb::Route* r = balancer.Find(static_cast<int32_t>(key >> 32), static_cast<int32_t>(key & 0xffffffffu));
    if (r == nullptr) continue;  // gone routes are not carried over
    live.emplace_back(key, r);
    nodes += r->nodes().size();
  }
  Geometry g{slot_count_, node_capacity_};
  while ((live.size() + 1) * 2 > g.slots) g.slots *= 2;
  while (nodes * 2 > g.nodes) g.nodes *= 2;  // room for the routes to grow before the next rebuild
  char* base;
  std::size_t size;
  std::string tmp;
  dev_t dev;
  ino_t ino;
  if (!MapNew(g, &base, &size, &tmp, &dev, &ino)) return false;

  char* const old_base = base_;
  const std::size_t old_size = size_;
  base_ = base;
  size_ = size;
  slot_count_ = g.slots;
  node_capacity_ = g.nodes;
  slots_used_ = 0;
  heap_used_ = 0;
  slot_of_.clear();
  room_.assign(slot_count_, Room{});
  for (const auto& [key, r] : live) {
    const uint32_t i = SlotFor(static_cast<int32_t>(key >> 32), static_cast<int32_t>(key & 0xffffffffu));
    const uint32_t n = static_cast<uint32_t>(r->nodes().size());
    room_[i] = Room{heap_used_, n};
    heap_used_ += n;
    WriteSlot(i, r->modid(), r->cmdid(), r, room_[i].first);
  }
  header()->routes = slots_used_;
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    error_ = SysError("cannot rename the grown local view to", path_);
    ::unlink(tmp.c_str());
    ::munmap(base_, size_);
    base_ = old_base;  // the old file is still the published one: close it, so readers fall back
    size_ = old_size;
    return false;
  }
  dev_ = dev;
  ino_ = ino;
  AtomicState(reinterpret_cast<Header*>(old_base)).store(kStateSuperseded, std::memory_order_release);
  ::munmap(old_base, old_size);
  return true;
}

void ViewWriter::SweepGone(const lb::Balancer& balancer) {
  if (base_ == nullptr) return;
  for (const auto& [key, i] : slot_of_) {
    const int32_t modid = static_cast<int32_t>(key >> 32);
    const int32_t cmdid = static_cast<int32_t>(key & 0xffffffffu);
    if (slot(i)->used == kSlotRoute && balancer.Find(modid, cmdid) == nullptr) WriteSlot(i, modid, cmdid, nullptr, 0);
  }
}

void ViewWriter::Beat(int64_t now_ms) {
  if (base_ != nullptr) AtomicHeartbeat(header()).store(now_ms, std::memory_order_release);
}

void ViewWriter::Close() {
  if (base_ == nullptr) return;
  AtomicState(header()).store(kStateClosed, std::memory_order_release);
  // Only our own file: never one a later agent on this port has renamed over it.
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
  ::munmap(base_, size_);
  base_ = nullptr;
}

}  // namespace lars::view
