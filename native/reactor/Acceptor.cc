#include "reactor/Acceptor.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "reactor/EventLoop.h"
#include "reactor/Log.h"
#include "reactor/SocketsOps.h"

namespace lars::reactor {

Acceptor::Acceptor(EventLoop* loop, const InetAddress& listenAddr, bool reusePort,
                   std::shared_ptr<Counters> counters)
    : loop_(loop),
      socket_(sockets::createNonblocking(SOCK_STREAM)),
      channel_(loop, socket_.fd()),
      counters_(std::move(counters)) {
  socket_.setReuseAddr(true);
  if (reusePort) socket_.setReusePort(true);
  socket_.bindAddress(listenAddr);
  socket_.listen();
  listenAddr_ = socket_.localAddress();
  reopenSpareFd();
  channel_.setReadCallback([this] { handleRead(); });
}

Acceptor::~Acceptor() {
  if (listening_) {
    loop_->assertInLoopThread();
    channel_.disableAll();
    channel_.remove();
  }
  if (spareFd_ >= 0) ::close(spareFd_);
}

void Acceptor::listenInLoop() {
  loop_->assertInLoopThread();
  if (listening_) return;
  listening_ = true;
  channel_.enableReading();
}

void Acceptor::reopenSpareFd() {
  if (spareFd_ < 0) spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void Acceptor::handleRead() {
  loop_->assertInLoopThread();
  reopenSpareFd();
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    InetAddress peer;
    const int fd = socket_.accept(&peer);
    if (fd >= 0) {
      if (callback_) {
        callback_(fd, peer);
      } else {
        sockets::close(fd);
      }
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
    if (err == EMFILE || err == ENFILE) {
      if (spareFd_ < 0) return;  // nothing to free; level-triggered epoll retries soon
      ::close(spareFd_);
      spareFd_ = -1;
      const int rejected = ::accept(socket_.fd(), nullptr, nullptr);
      if (rejected >= 0) {
        bump(counters_->connections_rejected_fd);
        ::close(rejected);
      }
      reopenSpareFd();
      continue;
    }
    logLine("error", "reactor", std::string("accept: ") + std::strerror(err));
    return;
  }
}

}  // namespace lars::reactor
