#include "report/ReportServer.h"

#include "reactor/TcpConnection.h"
#include "wire/messages.h"

namespace lars::report {

ReportServer::ReportServer(const reactor::ListenOptions& options, size_t maxKeys) : rows_(maxKeys) {
  host_ = std::make_unique<reactor::TcpServerHost>(options, "lars-report", [&](reactor::TcpServer& server) {
    server.setFrameCallback([this](const reactor::TcpConnectionPtr&, int32_t msgid, const char* body, size_t len) {
      onFrameInLoop(msgid, body, len);
    });
  });
  port_ = host_->server().listenAddress().port();
}

ReportServer::~ReportServer() { host_.reset(); }

void ReportServer::stopServing() {
  if (!host_) return;
  stoppedCounters_ = host_->server().counters().snapshot();
  host_.reset();
}

void ReportServer::onFrameInLoop(int32_t msgid, const char* body, size_t len) {
  if (msgid != wire::kReportStatusRequest) {
    unknownMsgIds_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  wire::ReportStatusRequest req;
  if (!wire::decode(reinterpret_cast<const uint8_t*>(body), len, req)) {
    badBodies_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::vector<CallRow> rows;
  rows.reserve(req.results.size());
  for (const auto& r : req.results) {
    // A row the store cannot hold is dropped here, so it can never fail a whole batch later.
    if (r.port < 1 || r.port > 65535) {
      badRows_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    rows.push_back(CallRow{static_cast<uint32_t>(req.modid), static_cast<uint32_t>(req.cmdid), r.ip,
                           static_cast<uint32_t>(r.port), req.caller, r.succ, r.err, req.ts, r.overload ? 1u : 0u,
                           r.usetime_sum_us, r.usetime_max_us, r.timed_calls});
  }
  if (!rows.empty()) rows_.add(rows);
}

ReportStats ReportServer::stats() const {
  ReportStats s;
  s.reactor = host_ ? host_->server().counters().snapshot() : stoppedCounters_;
  s.connections = host_ ? host_->server().connectionCount() : 0;
  s.badBodies = badBodies_.load(std::memory_order_relaxed);
  s.badRows = badRows_.load(std::memory_order_relaxed);
  s.unknownMsgIds = unknownMsgIds_.load(std::memory_order_relaxed);
  s.buffered = rows_.size();
  s.accepted = rows_.accepted();
  s.dropped = rows_.dropped();
  return s;
}

}  // namespace lars::report
