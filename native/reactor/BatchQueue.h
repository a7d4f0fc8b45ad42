// BatchQueue<T>: hands events from loop threads to one consumer in batches, so a binding crosses
// into JavaScript once per batch, never once per event (the @parcel/watcher habit).
//
// Owns the queued items. push() and drain() may be called from any thread. `notify` runs on the
// pushing thread, outside the lock, only when the queue goes from empty to non-empty: the
// consumer drains everything that piled up since, so one wake-up serves the whole batch.
// When `maxPending` items are waiting, push() drops the item and counts it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

namespace lars::reactor {

template <typename T>
class BatchQueue {
 public:
  using NotifyCallback = std::function<void()>;

  explicit BatchQueue(NotifyCallback notify = {},
                      size_t maxPending = std::numeric_limits<size_t>::max())
      : notify_(std::move(notify)), maxPending_(maxPending) {}

  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // Any thread. Returns false when the item was dropped because the queue is full.
  bool push(T item) {
    bool wasEmpty;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (items_.size() >= maxPending_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      wasEmpty = items_.empty();
      items_.push_back(std::move(item));
    }
    if (wasEmpty && notify_) notify_();
    return true;
  }

  // Any thread. Takes everything queued so far, oldest first.
  std::vector<T> drain() {
    std::vector<T> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.swap(items_);
    return out;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return items_.size();
  }

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  const NotifyCallback notify_;
  const size_t maxPending_;
  mutable std::mutex mutex_;
  std::vector<T> items_;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace lars::reactor
