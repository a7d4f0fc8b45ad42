// Counters: the reactor's statistics, one std::atomic<uint64_t> each, declared once in
// LARS_REACTOR_COUNTERS and exported from that list (names, snapshot, batch read).
//
// Any thread may read or bump them (relaxed atomics: each value is exact, a snapshot is not
// a consistent cut across counters). A server owns its Counters through a shared_ptr so that
// several servers (e.g. an agent's three UDP ports) can share one block, and connections that
// outlive their server still have somewhere to count.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace lars::reactor {

#define LARS_REACTOR_COUNTERS(X)                                                       \
  X(connections_accepted)   /* TCP connections admitted */                             \
  X(connections_closed)     /* TCP connections closed, for any reason */               \
  X(connections_rejected_maxconn) /* accepted and closed at once: over maxConnections */ \
  X(connections_rejected_fd)      /* accepted and closed at once: out of descriptors */  \
  X(frames_in)              /* whole frames delivered to a frame callback */            \
  X(frames_out)             /* frames queued with sendFrame */                          \
  X(bytes_in)               /* TCP bytes read */                                        \
  X(bytes_out)              /* TCP bytes written */                                     \
  X(protocol_errors)        /* connections closed for a bad frame length */             \
  X(output_overflow_closes) /* connections closed: pending output passed the cap */     \
  X(input_overflow_closes)  /* connections closed: unconsumed input passed the cap */   \
  X(datagrams_in)           /* datagrams received (before any frame check) */           \
  X(datagrams_out)          /* datagrams sent */                                        \
  X(datagrams_dropped)      /* datagrams dropped: truncated, malformed frame, send failed */

struct CountersSnapshot {
#define LARS_X(name) uint64_t name = 0;
  LARS_REACTOR_COUNTERS(LARS_X)
#undef LARS_X

  // Calls f(const char* name, uint64_t value) for every counter, in declaration order.
  template <typename F>
  void forEach(F&& f) const {
#define LARS_X(name) f(#name, name);
    LARS_REACTOR_COUNTERS(LARS_X)
#undef LARS_X
  }
};

struct Counters {
#define LARS_X(name) std::atomic<uint64_t> name{0};
  LARS_REACTOR_COUNTERS(LARS_X)
#undef LARS_X

#define LARS_X(name) +1
  static constexpr size_t kCount = 0 LARS_REACTOR_COUNTERS(LARS_X);
#undef LARS_X

  // The counter names in declaration order (the order readInto writes).
  static const char* const* names() {
#define LARS_X(name) #name,
    static const char* const kNames[] = {LARS_REACTOR_COUNTERS(LARS_X)};
#undef LARS_X
    return kNames;
  }

  // Copies all counters into out[0..kCount) in declaration order: one call per batch for a binding.
  void readInto(uint64_t* out) const {
    size_t i = 0;
#define LARS_X(name) out[i++] = name.load(std::memory_order_relaxed);
    LARS_REACTOR_COUNTERS(LARS_X)
#undef LARS_X
  }

  CountersSnapshot snapshot() const {
    CountersSnapshot s;
#define LARS_X(name) s.name = name.load(std::memory_order_relaxed);
    LARS_REACTOR_COUNTERS(LARS_X)
#undef LARS_X
    return s;
  }
};

inline void bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace lars::reactor
