#include "report/CallRowBuffer.h"

namespace lars::report {

size_t CallRowBuffer::KeyHash::operator()(const Key& k) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the five fields
  for (uint32_t v : {k.modid, k.cmdid, k.ip, k.port, k.caller}) {
    h ^= v;
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h ^ (h >> 32));
}

CallRowBuffer::Key CallRowBuffer::keyOf(const CallRow& r) {
  return Key{r.modid, r.cmdid, static_cast<uint32_t>(r.ip), r.port, static_cast<uint32_t>(r.caller)};
}

size_t CallRowBuffer::add(const std::vector<CallRow>& rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t dropped = 0;
  for (const CallRow& row : rows) dropped += addLocked(row) ? 0 : 1;
  return dropped;
}

bool CallRowBuffer::addLocked(const CallRow& row) {
  const Key key = keyOf(row);
  const auto it = index_.find(key);
  if (it != index_.end()) {
    *it->second = row;  // latest values win; the key keeps its place in the queue
  } else if (index_.size() >= maxKeys_) {
    ++dropped_;
    return false;
  } else {
    index_.emplace(key, rows_.insert(rows_.end(), row));
  }
  ++accepted_;
  return true;
}

std::vector<CallRow> CallRowBuffer::take(size_t max) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<CallRow> out;
  out.reserve(std::min(max, rows_.size()));
  while (out.size() < max && !rows_.empty()) {
    out.push_back(rows_.front());
    index_.erase(keyOf(rows_.front()));
    rows_.pop_front();
  }
  return out;
}

void CallRowBuffer::restore(const std::vector<CallRow>& rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Back to the front in their original order; a key that came back meanwhile is newer: keep it.
  for (auto r = rows.rbegin(); r != rows.rend(); ++r) {
    const Key key = keyOf(*r);
    if (index_.count(key) != 0) continue;
    index_.emplace(key, rows_.insert(rows_.begin(), *r));
  }
}

size_t CallRowBuffer::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return index_.size();
}

uint64_t CallRowBuffer::accepted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return accepted_;
}

uint64_t CallRowBuffer::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

}  // namespace lars::report
