#include "reactor/TcpServer.h"

#include <cassert>
#include <system_error>

#include "reactor/Acceptor.h"
#include "reactor/EventLoop.h"
#include "reactor/SocketsOps.h"
#include "reactor/TcpConnection.h"

namespace lars::reactor {

TcpServer::TcpServer(EventLoop* loop, const InetAddress& listenAddr, std::string name, bool reusePort,
                     std::shared_ptr<Counters> counters)
    : loop_(loop),
      name_(std::move(name)),
      counters_(counters ? std::move(counters) : std::make_shared<Counters>()),
      acceptor_(std::make_unique<Acceptor>(loop, listenAddr, reusePort, counters_)),
      listenAddr_(acceptor_->listenAddress()),
      threadPool_(std::make_unique<EventLoopThreadPool>(loop, name_)),
      alive_(std::make_shared<char>(0)),
      outputCap_(TcpConnection::kDefaultOutputCap),
      inputCap_(TcpConnection::kDefaultInputCap) {
  acceptor_->setNewConnectionCallback(
      [this](int sockfd, const InetAddress& peer) { newConnectionInLoop(sockfd, peer); });
}

TcpServer::~TcpServer() {
  if (started_) loop_->assertInLoopThread();
  alive_.reset();
  acceptor_.reset();
  for (auto& [id, conn] : connections_) {
    conn->getLoop()->runInLoop([conn = conn] { conn->connectDestroyedInLoop(); });
  }
  connections_.clear();
  connectionCount_ = 0;
  // Quits and joins the I/O loops; each runs the tear-down queued above before it exits.
  threadPool_.reset();
}

void TcpServer::setKeepAlive(int idleSeconds, int intervalSeconds, int count) {
  keepAliveIdle_ = idleSeconds;
  keepAliveInterval_ = intervalSeconds;
  keepAliveCount_ = count;
}

void TcpServer::start() {
  if (started_.exchange(true)) return;
  loop_->runInLoop([this] {
    threadPool_->start(threadInitCallback_);
    acceptor_->listenInLoop();
  });
}

void TcpServer::newConnectionInLoop(int sockfd, const InetAddress& peer) {
  loop_->assertInLoopThread();
  if (connections_.size() >= maxConnections_) {
    bump(counters_->connections_rejected_maxconn);  // before the peer can see the close
    sockets::close(sockfd);
    return;
  }
  bump(counters_->connections_accepted);
  EventLoop* ioLoop = threadPool_->getNextLoop();
  const uint64_t id = nextConnId_++;
  auto conn = std::make_shared<TcpConnection>(ioLoop, id, sockfd, sockets::localAddress(sockfd),
                                              peer, counters_);
  conn->setTcpNoDelay(tcpNoDelay_);
  if (keepAliveIdle_ > 0) conn->setKeepAlive(keepAliveIdle_, keepAliveInterval_, keepAliveCount_);
  conn->setConnectionCallback(connectionCallback_);
  conn->setDisconnectCallback(disconnectCallback_);
  conn->setFrameCallback(frameCallback_);
  conn->setMessageCallback(messageCallback_);
  conn->setWriteCompleteCallback(writeCompleteCallback_);
  conn->setOutputCap(outputCap_);
  conn->setInputCap(inputCap_);
  // Runs in the I/O loop; hops to the base loop, where the server may meanwhile be gone.
  conn->setCloseCallback([baseLoop = loop_, weakAlive = std::weak_ptr<char>(alive_), this](
                             const TcpConnectionPtr& c) {
    baseLoop->runInLoop([weakAlive, this, c] {
      if (weakAlive.lock()) removeConnectionInLoop(c);
    });
  });
  connections_[id] = conn;
  connectionCount_.store(connections_.size(), std::memory_order_relaxed);
  ioLoop->runInLoop([conn] { conn->connectEstablishedInLoop(); });
}

void TcpServer::removeConnectionInLoop(const TcpConnectionPtr& conn) {
  loop_->assertInLoopThread();
  if (connections_.erase(conn->id()) == 0) return;
  connectionCount_.store(connections_.size(), std::memory_order_relaxed);
  // Queue (not run): the I/O loop may still be inside this connection's event handler.
  conn->getLoop()->queueInLoop([conn] { conn->connectDestroyedInLoop(); });
}

}  // namespace lars::reactor
