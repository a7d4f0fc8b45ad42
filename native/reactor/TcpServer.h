// TcpServer: listens on one address, accepts connections on its base loop and hands each to an
// I/O loop of its EventLoopThreadPool (round-robin; with threadNum 0 the base loop does all).
//
// Owns the Acceptor, the pool (so the I/O threads) and its map of live connections; shares its
// Counters. The constructor binds and listens at once (throws std::system_error) so the real
// port is known before start(). Thread rules:
//  - any thread, before start(): the setters;
//  - any thread: start(), listenAddress(), counters(), connectionCount();
//  - the destructor runs in the base loop thread (or when the base loop isn't running); it closes
//    every connection (their DisconnectCallback runs in their loop), then quits and joins the pool.
//    From another thread: baseLoop->runInLoopAndWait([&] { server.reset(); }).
// Over maxConnections, new connections are accepted and closed at once (connections_rejected_maxconn);
// the server goes on.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "reactor/Callbacks.h"
#include "reactor/Counters.h"
#include "reactor/EventLoopThreadPool.h"
#include "reactor/InetAddress.h"

namespace lars::reactor {

class Acceptor;
class EventLoop;

class TcpServer {
 public:
  using ThreadInitCallback = EventLoopThreadPool::ThreadInitCallback;

  TcpServer(EventLoop* loop, const InetAddress& listenAddr, std::string name, bool reusePort = false,
            std::shared_ptr<Counters> counters = nullptr);
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Before start().
  void setThreadNum(int n) { threadPool_->setThreadNum(n); }
  void setThreadInitCallback(ThreadInitCallback cb) { threadInitCallback_ = std::move(cb); }
  void setMaxConnections(size_t n) { maxConnections_ = n; }
  void setOutputCap(size_t bytes) { outputCap_ = bytes; }
  void setInputCap(size_t bytes) { inputCap_ = bytes; }
  void setTcpNoDelay(bool on) { tcpNoDelay_ = on; }
  // Keep-alive probes on accepted connections (half-open peers); 0 idleSeconds turns them off.
  void setKeepAlive(int idleSeconds, int intervalSeconds, int count);
  // Called in the connection's loop when it is established.
  void setConnectionCallback(ConnectionCallback cb) { connectionCallback_ = std::move(cb); }
  // Called once per connection, in its loop, when it goes down for any reason.
  void setDisconnectCallback(DisconnectCallback cb) { disconnectCallback_ = std::move(cb); }
  // Frames (preferred) or raw bytes; with a FrameCallback the MessageCallback is not used.
  void setFrameCallback(FrameCallback cb) { frameCallback_ = std::move(cb); }
  void setMessageCallback(MessageCallback cb) { messageCallback_ = std::move(cb); }
  void setWriteCompleteCallback(WriteCompleteCallback cb) { writeCompleteCallback_ = std::move(cb); }

  // Any thread; idempotent. Starts the pool and accepting (in the base loop).
  void start();

  EventLoop* getLoop() const { return loop_; }
  const std::string& name() const { return name_; }
  const InetAddress& listenAddress() const { return listenAddr_; }
  Counters& counters() { return *counters_; }
  const std::shared_ptr<Counters>& sharedCounters() const { return counters_; }
  // Live connections. Any thread.
  size_t connectionCount() const { return connectionCount_.load(std::memory_order_relaxed); }
  // The I/O loops (the base loop when threadNum is 0). Base loop thread, after start().
  std::vector<EventLoop*> ioLoopsInLoop() { return threadPool_->getAllLoops(); }

 private:
  void newConnectionInLoop(int sockfd, const InetAddress& peer);
  void removeConnectionInLoop(const TcpConnectionPtr& conn);

  EventLoop* const loop_;
  const std::string name_;
  const std::shared_ptr<Counters> counters_;
  std::unique_ptr<Acceptor> acceptor_;
  InetAddress listenAddr_;
  std::unique_ptr<EventLoopThreadPool> threadPool_;
  // Expires with the server: connections closing concurrently with ~TcpServer check it
  // (in the base loop) before touching the server.
  std::shared_ptr<char> alive_;
  ThreadInitCallback threadInitCallback_;
  ConnectionCallback connectionCallback_;
  DisconnectCallback disconnectCallback_;
  FrameCallback frameCallback_;
  MessageCallback messageCallback_;
  WriteCompleteCallback writeCompleteCallback_;
  size_t maxConnections_ = std::numeric_limits<size_t>::max();
  size_t outputCap_;
  size_t inputCap_;
  bool tcpNoDelay_ = true;
  int keepAliveIdle_ = 60;
  int keepAliveInterval_ = 10;
  int keepAliveCount_ = 6;
  std::atomic<bool> started_{false};
  uint64_t nextConnId_ = 1;
  std::atomic<size_t> connectionCount_{0};
  std::map<uint64_t, TcpConnectionPtr> connections_;  // base loop only
};

}  // namespace lars::reactor
