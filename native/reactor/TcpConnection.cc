#include "reactor/TcpConnection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <system_error>

#include "reactor/Channel.h"
#include "reactor/EventLoop.h"
#include "reactor/Socket.h"
#include "reactor/SocketsOps.h"
#include "wire/frame.h"

namespace lars::reactor {

TcpConnection::TcpConnection(EventLoop* loop, uint64_t id, int sockfd, const InetAddress& localAddr,
                             const InetAddress& peerAddr, std::shared_ptr<Counters> counters)
    : loop_(loop),
      id_(id),
      socket_(std::make_unique<Socket>(sockfd)),
      channel_(std::make_unique<Channel>(loop, sockfd)),
      localAddr_(localAddr),
      peerAddr_(peerAddr),
      counters_(std::move(counters)),
      inputBuffer_(0),
      outputBuffer_(0) {
  channel_->setReadCallback([this] { handleRead(); });
  channel_->setWriteCallback([this] { handleWrite(); });
  channel_->setCloseCallback([this] { handleClose(); });
  channel_->setErrorCallback([this] { handleError(); });
}

TcpConnection::~TcpConnection() { assert(state_.load() == kDisconnected || state_.load() == kConnecting); }

void TcpConnection::connectEstablishedInLoop() {
  loop_->assertInLoopThread();
  assert(state_.load() == kConnecting);
  state_ = kConnected;
  channel_->tie(shared_from_this());
  channel_->enableReading();
  if (connectionCallback_) connectionCallback_(shared_from_this());
}

void TcpConnection::connectDestroyedInLoop() {
  loop_->assertInLoopThread();
  if (state_.load() != kDisconnected) {
    // Torn down by the server (shutdown) rather than by a close event: report it once here.
    state_ = kDisconnected;
    channel_->disableAll();
    bump(counters_->connections_closed);
    if (disconnectCallback_) disconnectCallback_(shared_from_this());
  }
  channel_->remove();
}

void TcpConnection::setTcpNoDelay(bool on) {
  try {
    socket_->setTcpNoDelay(on);
  } catch (const std::system_error&) {
    // The peer may already be gone; nothing to tune then.
  }
}

void TcpConnection::setKeepAlive(int idleSeconds, int intervalSeconds, int count) {
  try {
    socket_->setKeepAlive(true, idleSeconds, intervalSeconds, count);
  } catch (const std::system_error&) {
  }
}

// ---- reading ----

void TcpConnection::handleRead() {
  loop_->assertInLoopThread();
  if (state_.load() == kDisconnected) return;  // an error in the same wake-up closed us
  int savedErrno = 0;
  const ssize_t n = inputBuffer_.readFd(channel_->fd(), &savedErrno);
  if (n > 0) {
    bump(counters_->bytes_in, static_cast<uint64_t>(n));
    if (frameCallback_) {
      deliverFrames();
    } else if (messageCallback_) {
      messageCallback_(shared_from_this(), &inputBuffer_);
    } else {
      inputBuffer_.retrieveAll();
    }
    if (state_.load() != kDisconnected && inputBuffer_.readableBytes() > inputCap_) {
      bump(counters_->input_overflow_closes);
      forceCloseInLoop();
    }
    inputBuffer_.releaseIfEmpty();
  } else if (n == 0) {
    // The peer half-closed: nothing more will arrive. Flush what we owe it, then close.
    channel_->disableReading();
    if (outputBuffer_.readableBytes() == 0) {
      handleClose();
    } else {
      peerClosed_ = true;
    }
  } else if (savedErrno != EAGAIN && savedErrno != EWOULDBLOCK && savedErrno != EINTR) {
    handleError();
  }
}

void TcpConnection::deliverFrames() {
  const TcpConnectionPtr self = shared_from_this();
  while (state_.load() != kDisconnected) {
    wire::FrameView frame;
    size_t consumed = 0;
    const auto status = wire::parse_frame(reinterpret_cast<const uint8_t*>(inputBuffer_.peek()),
                                          inputBuffer_.readableBytes(), frame, consumed);
    if (status == wire::ParseStatus::kNeedMore) break;
    if (status == wire::ParseStatus::kBadLength) {
      bump(counters_->protocol_errors);
      inputBuffer_.retrieveAll();
      forceCloseInLoop();
      break;
    }
    bump(counters_->frames_in);
    frameCallback_(self, frame.msgid, reinterpret_cast<const char*>(frame.body), frame.body_len);
    // The callback may have closed the connection; the loop condition stops delivery then.
    inputBuffer_.retrieve(consumed);
  }
}

// ---- writing ----

void TcpConnection::send(const void* data, size_t len) {
  if (state_.load() != kConnected) return;
  if (loop_->isInLoopThread()) {
    sendInLoop(data, len);
  } else {
    std::string copy(static_cast<const char*>(data), len);
    loop_->queueInLoop([self = shared_from_this(), copy = std::move(copy)] {
      self->sendInLoop(copy.data(), copy.size());
    });
  }
}

void TcpConnection::send(std::string data) {
  if (state_.load() != kConnected) return;
  if (loop_->isInLoopThread()) {
    sendInLoop(data.data(), data.size());
  } else {
    loop_->queueInLoop([self = shared_from_this(), data = std::move(data)] {
      self->sendInLoop(data.data(), data.size());
    });
  }
}

bool TcpConnection::sendFrame(int32_t msgid, const void* body, size_t len) {
  if (len > wire::kMaxBodySize) return false;
  if (state_.load() != kConnected) return true;  // valid, but the connection is going away
  if (loop_->isInLoopThread()) {
    sendFrameInLoop(msgid, body, len);
  } else {
    std::string copy(static_cast<const char*>(body), len);
    loop_->queueInLoop([self = shared_from_this(), msgid, copy = std::move(copy)] {
      self->sendFrameInLoop(msgid, copy.data(), copy.size());
    });
  }
  return true;
}

void TcpConnection::sendInLoop(const void* data, size_t len) {
  loop_->assertInLoopThread();
  if (state_.load() == kDisconnected) return;
  size_t written = 0;
  if (!channel_->isWriting() && outputBuffer_.readableBytes() == 0) {
    // Nothing queued: write from the caller's bytes, queue only what the kernel did not take.
    ssize_t n;
    do {
      n = ::send(channel_->fd(), data, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      written = static_cast<size_t>(n);
      bump(counters_->bytes_out, written);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      handleClose();  // EPIPE, ECONNRESET, ...: the peer is gone
      return;
    }
  }
  outputBuffer_.append(static_cast<const char*>(data) + written, len - written);
  flushOrCheckCapInLoop();
}

void TcpConnection::sendFrameInLoop(int32_t msgid, const void* body, size_t len) {
  loop_->assertInLoopThread();
  if (state_.load() == kDisconnected) return;
  uint8_t header[wire::kHeaderSize];
  wire::write_header(header, msgid, static_cast<int32_t>(len));
  outputBuffer_.append(header, sizeof header);
  outputBuffer_.append(body, len);
  bump(counters_->frames_out);
  flushOrCheckCapInLoop();
}

void TcpConnection::flushOrCheckCapInLoop() {
  if (!channel_->isWriting()) {
    writeOutputInLoop();
  } else if (outputBuffer_.readableBytes() > outputCap_) {
    // Already waiting for the kernel to take more: the peer isn't reading fast enough.
    bump(counters_->output_overflow_closes);
    forceCloseInLoop();
  }
}

// Writes as much pending output as the kernel takes; keeps EPOLLOUT on while some is left.
void TcpConnection::writeOutputInLoop() {
  while (outputBuffer_.readableBytes() > 0) {
    // send + MSG_NOSIGNAL: a reset peer must not raise SIGPIPE in a process that didn't ignore it.
    const ssize_t n = ::send(channel_->fd(), outputBuffer_.peek(), outputBuffer_.readableBytes(),
                             MSG_NOSIGNAL);
    if (n > 0) {
      bump(counters_->bytes_out, static_cast<uint64_t>(n));
      outputBuffer_.retrieve(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // EPIPE, ECONNRESET, ...: the peer is gone.
    handleClose();
    return;
  }

  if (outputBuffer_.readableBytes() == 0) {
    if (channel_->isWriting()) channel_->disableWriting();
    outputBuffer_.releaseIfEmpty();
    if (writeCompleteCallback_) {
      loop_->queueInLoop([self = shared_from_this()] {
        if (self->writeCompleteCallback_) self->writeCompleteCallback_(self);
      });
    }
    if (peerClosed_) {
      handleClose();
    } else if (state_.load() == kDisconnecting) {
      socket_->shutdownWrite();
    }
    return;
  }

  if (outputBuffer_.readableBytes() > outputCap_) {
    // The peer isn't reading (or not fast enough): don't buffer without bound.
    bump(counters_->output_overflow_closes);
    forceCloseInLoop();
    return;
  }
  if (!channel_->isWriting()) channel_->enableWriting();
}

void TcpConnection::handleWrite() {
  loop_->assertInLoopThread();
  if (!channel_->isWriting()) return;
  writeOutputInLoop();
}

// ---- closing ----

void TcpConnection::shutdown() {
  int expected = kConnected;
  if (state_.compare_exchange_strong(expected, kDisconnecting)) {
    loop_->runInLoop([self = shared_from_this()] { self->shutdownInLoop(); });
  }
}

void TcpConnection::shutdownInLoop() {
  loop_->assertInLoopThread();
  // With output pending, writeOutputInLoop half-closes once it is flushed.
  if (state_.load() == kDisconnecting && !channel_->isWriting()) socket_->shutdownWrite();
}

void TcpConnection::forceClose() {
  const int state = state_.load();
  if (state == kConnected || state == kDisconnecting) {
    loop_->queueInLoop([self = shared_from_this()] { self->forceCloseInLoop(); });
  }
}

void TcpConnection::forceCloseInLoop() {
  loop_->assertInLoopThread();
  const int state = state_.load();
  if (state == kConnected || state == kDisconnecting) handleClose();
}

void TcpConnection::handleClose() {
  loop_->assertInLoopThread();
  const int state = state_.load();
  if (state == kDisconnected || state == kConnecting) return;  // once only
  state_ = kDisconnected;
  channel_->disableAll();
  outputBuffer_.retrieveAll();
  bump(counters_->connections_closed);
  const TcpConnectionPtr self = shared_from_this();
  if (disconnectCallback_) disconnectCallback_(self);
  if (closeCallback_) closeCallback_(self);  // the server forgets us; must be last
}

void TcpConnection::handleError() {
  // SO_ERROR clears the pending error; the connection is unusable either way.
  (void)sockets::socketError(channel_->fd());
  handleClose();
}

}  // namespace lars::reactor
