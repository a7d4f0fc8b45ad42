#include "reactor/TcpServerHost.h"

#include <stdexcept>

#include "reactor/EventLoop.h"
#include "reactor/InetAddress.h"

namespace lars::reactor {

TcpServerHost::TcpServerHost(const ListenOptions& options, const std::string& name,
                             const std::function<void(TcpServer&)>& configure) {
  const auto addr = InetAddress::parse(options.ip, options.port);
  if (!addr) throw std::invalid_argument("invalid listen address " + options.ip);
  baseThread_ = std::make_unique<EventLoopThread>(nullptr, name + "-accept");
  baseLoop_ = baseThread_->startLoop();
  server_ = std::make_unique<TcpServer>(baseLoop_, *addr, name);
  server_->setThreadNum(options.ioThreads);
  server_->setMaxConnections(options.maxConnections);
  server_->setOutputCap(options.outputCap);
  configure(*server_);
  try {
    baseLoop_->runInLoopAndWait([this] {
      server_->start();
      ioLoops_ = server_->ioLoopsInLoop();
    });
  } catch (...) {
    // An I/O thread could not start (no thread, no descriptor): undo the half-started server
    // where it lives; the base thread is joined as the constructor unwinds.
    baseLoop_->runInLoopAndWait([this] { server_.reset(); });
    throw;
  }
}

TcpServerHost::~TcpServerHost() {
  baseLoop_->runInLoopAndWait([this] { server_.reset(); });
  baseThread_.reset();
}

}  // namespace lars::reactor
