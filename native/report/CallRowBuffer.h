// CallRowBuffer: the Report service's rows between their arrival and their write, coalesced by
// key (modid, cmdid, ip, port, caller) so only the latest values of each key are kept, and
// bounded: past maxKeys a NEW key is dropped and counted (a known key is always updated). The
// native twin of src/report/report-buffer.ts; the writers pull from it at the database's pace,
// so a flood of reports costs a map update each, not a trip through JavaScript.
//
// Owns its rows. Thread-safe: I/O threads add(), the consumer take()s and restore()s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace lars::report {

// One node's result as it came off the wire (addresses as the wire's int32 numbers).
struct CallRow {
  uint32_t modid, cmdid;
  int32_t ip;
  uint32_t port;
  int32_t caller;
  uint32_t succ, err, ts;
  uint32_t overload;
  // The window's call time (timedCalls 0: none measured).
  uint64_t usetimeSumUs = 0;
  uint32_t usetimeMaxUs = 0, timedCalls = 0;
  // Numbers per row in the binding's Uint32Array (the sum as two halves, low first).
  static constexpr size_t kFields = 13;
};

class CallRowBuffer {
 public:
  explicit CallRowBuffer(size_t maxKeys) : maxKeys_(maxKeys) {}

  // Adds the rows of one report (one lock); returns how many were dropped because the buffer is full.
  size_t add(const std::vector<CallRow>& rows);
  // Removes and returns up to `max` rows, oldest keys first.
  std::vector<CallRow> take(size_t max);
  // Puts back rows whose write failed, ahead of the rest, unless a newer value of the key
  // arrived meanwhile.
  void restore(const std::vector<CallRow>& rows);

  size_t size() const;
  uint64_t accepted() const;
  uint64_t dropped() const;

 private:
  struct Key {
    uint32_t modid, cmdid, ip, port, caller;
    bool operator==(const Key& o) const {
      return modid == o.modid && cmdid == o.cmdid && ip == o.ip && port == o.port && caller == o.caller;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  static Key keyOf(const CallRow& r);
  bool addLocked(const CallRow& row);

  const size_t maxKeys_;
  mutable std::mutex mutex_;
  std::list<CallRow> rows_;  // oldest key first
  std::unordered_map<Key, std::list<CallRow>::iterator, KeyHash> index_;
  uint64_t accepted_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace lars::report
