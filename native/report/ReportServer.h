// ReportServer: the Report service's network side. Decodes ReportStatusRequest frames on the
// reactor's I/O threads into CallRow records, coalesced by key in a bounded CallRowBuffer that
// the writers (TypeScript, through the binding) drain in batches at the database's pace.
//
// Owns its base loop thread, the TcpServer (and the I/O threads) and the buffer. Every public
// method may be called from any thread; the destructor stops everything.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "reactor/Counters.h"
#include "reactor/TcpServerHost.h"
#include "report/CallRowBuffer.h"

namespace lars::report {

struct ReportStats {
  reactor::CountersSnapshot reactor;
  uint64_t connections = 0;
  uint64_t badBodies = 0;
  uint64_t badRows = 0;
  uint64_t unknownMsgIds = 0;
  uint64_t buffered = 0;   // keys waiting to be written
  uint64_t accepted = 0;   // rows taken into the buffer (new keys and updates)
  uint64_t dropped = 0;    // rows dropped because the buffer was full
};

class ReportServer {
 public:
  // `maxKeys` bounds the buffer ([reporter] buffer_max_keys).
  ReportServer(const reactor::ListenOptions& options, size_t maxKeys);
  ~ReportServer();
  ReportServer(const ReportServer&) = delete;
  ReportServer& operator=(const ReportServer&) = delete;

  uint16_t port() const;
  CallRowBuffer& buffer() { return rows_; }
  ReportStats stats() const;

 private:
  void onFrameInLoop(int32_t msgid, const char* body, size_t len);

  CallRowBuffer rows_;
  std::atomic<uint64_t> badBodies_{0};
  std::atomic<uint64_t> badRows_{0};
  std::atomic<uint64_t> unknownMsgIds_{0};
  // Last: destroyed first, so no I/O thread runs while the state above goes away.
  std::unique_ptr<reactor::TcpServerHost> host_;
};

}  // namespace lars::report
