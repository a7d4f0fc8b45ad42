// ReportServer: the Report service's network side. Decodes ReportStatusRequest frames on the
// reactor's I/O threads into CallRow records, coalesced by key in a bounded CallRowBuffer that
// the writers (TypeScript, through the binding) drain in batches at the database's pace.
//
// Owns its base loop thread, the TcpServer (and the I/O threads) and the buffer. A stop comes in
// two steps: stopServing() closes the listener and every connection but keeps the buffer, so the
// writers can still drain what it holds; the destructor frees the rest. stopServing() and the
// destructor belong to the owner's thread (never an I/O thread); every other public method may
// be called from any thread, though not while stopServing() runs.
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

  uint16_t port() const { return port_; }
  CallRowBuffer& buffer() { return rows_; }
  ReportStats stats() const;
  // Closes the listener and every connection and joins the I/O threads; the buffer stays, and
  // stats() keeps the reactor's last counters. Idempotent.
  void stopServing();

 private:
  void onFrameInLoop(int32_t msgid, const char* body, size_t len);

  CallRowBuffer rows_;
  std::atomic<uint64_t> badBodies_{0};
  std::atomic<uint64_t> badRows_{0};
  std::atomic<uint64_t> unknownMsgIds_{0};
  uint16_t port_ = 0;
  reactor::CountersSnapshot stoppedCounters_;  // the reactor's counters as stopServing() left them
  // Last: destroyed first, so no I/O thread runs while the state above goes away.
  std::unique_ptr<reactor::TcpServerHost> host_;
};

}  // namespace lars::report
