// ReportServer: the Report service's network side. Decodes ReportStatusRequest frames on the
// reactor's I/O threads into flat CallRow records and queues them for the consumer (the
// binding, which hands them to TypeScript in batches: one crossing per batch, not per frame).
//
// Owns its base loop thread, the TcpServer (and the I/O threads) and the row queue. Every
// public method may be called from any thread; the destructor stops everything.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "reactor/BatchQueue.h"
#include "reactor/Counters.h"
#include "reactor/TcpServerHost.h"

namespace lars::report {

// One node's result as it came off the wire (addresses as the wire's int32 numbers).
struct CallRow {
  uint32_t modid, cmdid;
  int32_t ip;
  uint32_t port;
  int32_t caller;
  uint32_t succ, err, ts;
  uint32_t overload;
  static constexpr size_t kFields = 9;
};

struct ReportStats {
  reactor::CountersSnapshot reactor;
  uint64_t connections = 0;
  uint64_t badBodies = 0;
  uint64_t badRows = 0;
  uint64_t unknownMsgIds = 0;
  uint64_t queueDropped = 0;
};

class ReportServer {
 public:
  // Rows waiting for the consumer at most; past it rows are dropped and counted.
  static constexpr size_t kMaxQueuedRows = 1 << 20;

  // `rowsReady` runs on an I/O thread when rows arrive in an empty queue: the consumer should
  // then call drainRows() (from any thread).
  ReportServer(const reactor::ListenOptions& options, std::function<void()> rowsReady);
  ~ReportServer();
  ReportServer(const ReportServer&) = delete;
  ReportServer& operator=(const ReportServer&) = delete;

  uint16_t port() const;
  std::vector<CallRow> drainRows() { return rows_.drain(); }
  ReportStats stats() const;

 private:
  void onFrameInLoop(int32_t msgid, const char* body, size_t len);

  reactor::BatchQueue<CallRow> rows_;
  std::atomic<uint64_t> badBodies_{0};
  std::atomic<uint64_t> badRows_{0};
  std::atomic<uint64_t> unknownMsgIds_{0};
  // Last: destroyed first, so no I/O thread runs while the state above goes away.
  std::unique_ptr<reactor::TcpServerHost> host_;
};

}  // namespace lars::report
