// TcpServerHost: a TcpServer together with the thread its base loop (the acceptor) runs on, for
// users that live outside any loop — a binding called from Node's main thread.
//
// Owns the base loop thread and the server. Construction binds and listens (throws like
// TcpServer), applies the ListenOptions, then `configure` sets the server's callbacks before
// it starts. A thread or descriptor the start needs and cannot get is an std::system_error
// thrown from the constructor, every thread started so far joined.
// Destruction tears the server down inside its base loop (as TcpServer requires), then joins
// the thread. Any thread may construct, use server() read-only accessors, and destroy it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "reactor/EventLoopThread.h"
#include "reactor/TcpServer.h"

namespace lars::reactor {

// Where and how a TCP service listens: the [reactor] section of its config.
struct ListenOptions {
  std::string ip;
  uint16_t port = 0;
  int ioThreads = 1;
  size_t maxConnections = 20000;
  // A connection whose unsent output passes this many bytes is closed (a peer that never reads).
  size_t outputCap = 4 << 20;
};

class TcpServerHost {
 public:
  TcpServerHost(const ListenOptions& options, const std::string& name, const std::function<void(TcpServer&)>& configure);
  ~TcpServerHost();
  TcpServerHost(const TcpServerHost&) = delete;
  TcpServerHost& operator=(const TcpServerHost&) = delete;

  TcpServer& server() { return *server_; }
  const TcpServer& server() const { return *server_; }
  // The I/O loops, known once the server has started (i.e. after the constructor).
  const std::vector<EventLoop*>& ioLoops() const { return ioLoops_; }

 private:
  std::unique_ptr<EventLoopThread> baseThread_;
  EventLoop* baseLoop_ = nullptr;
  std::unique_ptr<TcpServer> server_;
  std::vector<EventLoop*> ioLoops_;
};

}  // namespace lars::reactor
