#include "report/ReportServer.h"

#include <stdexcept>

#include "reactor/EventLoop.h"
#include "reactor/InetAddress.h"
#include "reactor/TcpConnection.h"
#include "wire/messages.h"

namespace lars::report {

ReportServer::ReportServer(const Options& options, std::function<void()> rowsReady)
    : rows_(std::move(rowsReady), options.maxQueuedRows) {
  auto addr = reactor::InetAddress::parse(options.ip, options.port);
  if (!addr) throw std::invalid_argument("invalid listen address " + options.ip);
  baseThread_ = std::make_unique<reactor::EventLoopThread>(nullptr, "lars-rep-accept");
  baseLoop_ = baseThread_->startLoop();
  server_ = std::make_unique<reactor::TcpServer>(baseLoop_, *addr, "lars-report");
  server_->setThreadNum(options.ioThreads);
  server_->setMaxConnections(options.maxConnections);
  server_->setOutputCap(options.outputCap);
  server_->setFrameCallback([this](const reactor::TcpConnectionPtr&, int32_t msgid, const char* body, size_t len) {
    onFrameInLoop(msgid, body, len);
  });
  baseLoop_->runInLoopAndWait([this] { server_->start(); });
}

ReportServer::~ReportServer() {
  baseLoop_->runInLoopAndWait([this] { server_.reset(); });
  baseThread_.reset();
}

uint16_t ReportServer::port() const { return server_->listenAddress().port(); }

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
  for (const auto& r : req.results) {
    // A row the store cannot hold is dropped here, so it can never fail a whole batch later.
    if (r.port < 1 || r.port > 65535) {
      badRows_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    rows_.push(CallRow{static_cast<uint32_t>(req.modid), static_cast<uint32_t>(req.cmdid), r.ip,
                       static_cast<uint32_t>(r.port), req.caller, r.succ, r.err, req.ts,
                       r.overload ? 1u : 0u});
  }
}

ReportStats ReportServer::stats() const {
  ReportStats s;
  s.reactor = server_->counters().snapshot();
  s.connections = server_->connectionCount();
  s.badBodies = badBodies_.load(std::memory_order_relaxed);
  s.badRows = badRows_.load(std::memory_order_relaxed);
  s.unknownMsgIds = unknownMsgIds_.load(std::memory_order_relaxed);
  s.queueDropped = rows_.dropped();
  return s;
}

}  // namespace lars::report
