#include "reactor/UdpServer.h"

#include <cerrno>
#include <cstring>

#include "reactor/EventLoop.h"
#include "reactor/Log.h"
#include "wire/frame.h"

namespace lars::reactor {

UdpServer::UdpServer(EventLoop* loop, const InetAddress& bindAddr, std::string name, bool reusePort,
                     std::shared_ptr<Counters> counters)
    : loop_(loop),
      name_(std::move(name)),
      counters_(counters ? std::move(counters) : std::make_shared<Counters>()),
      channel_(loop, socket_.fd()),
      buffers_(kBatch * kDatagramCap),
      msgs_(kBatch),
      iovecs_(kBatch),
      addrs_(kBatch) {
  socket_.bind(bindAddr, reusePort);
  localAddr_ = socket_.localAddress();
  channel_.setReadCallback([this] { handleRead(); });
}

UdpServer::~UdpServer() {
  if (reading_) {
    loop_->assertInLoopThread();
    channel_.disableAll();
    channel_.remove();
  }
}

void UdpServer::start() {
  if (started_.exchange(true)) return;
  loop_->runInLoop([this] {
    reading_ = true;
    channel_.enableReading();
  });
}

bool UdpServer::sendTo(const void* data, size_t len, const InetAddress& peer) {
  if (socket_.sendTo(data, len, peer) < 0) {
    bump(counters_->datagrams_dropped);
    return false;
  }
  bump(counters_->datagrams_out);
  return true;
}

bool UdpServer::sendFrameTo(int32_t msgid, const void* body, size_t len, const InetAddress& peer) {
  if (len > wire::kMaxBodySize) return false;
  uint8_t header[wire::kHeaderSize];
  wire::write_header(header, msgid, static_cast<int32_t>(len));
  if (socket_.sendTo2(header, sizeof header, body, len, peer) < 0) {
    bump(counters_->datagrams_dropped);
    return false;
  }
  bump(counters_->datagrams_out);
  return true;
}

void UdpServer::handleRead() {
  loop_->assertInLoopThread();
  int handled = 0;
  while (handled < kMaxPerWakeup) {
    for (int i = 0; i < kBatch; ++i) {
      iovecs_[i].iov_base = buffers_.data() + static_cast<size_t>(i) * kDatagramCap;
      iovecs_[i].iov_len = kDatagramCap;
      std::memset(&msgs_[i], 0, sizeof(mmsghdr));
      msgs_[i].msg_hdr.msg_name = &addrs_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      msgs_[i].msg_hdr.msg_iov = &iovecs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(socket_.fd(), msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: drained. Other errors (e.g. ECONNREFUSED queued by an ICMP reply to an earlier
      // send) concern no datagram; level-triggered epoll brings us back if data is waiting.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) {
        logLine("error", "reactor", name_ + " recvmmsg: " + std::strerror(errno));
      }
      return;
    }
    for (int i = 0; i < n; ++i) {
      const InetAddress peer(addrs_[i]);
      dispatch(static_cast<const char*>(iovecs_[i].iov_base), msgs_[i].msg_len,
               (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0, peer);
    }
    handled += n;
    if (n < kBatch) return;  // the socket is drained
  }
}

void UdpServer::dispatch(const char* data, size_t len, bool truncated, const InetAddress& peer) {
  bump(counters_->datagrams_in);
  if (truncated) {
    bump(counters_->datagrams_dropped);
    return;
  }
  if (frameCallback_) {
    wire::FrameView frame;
    if (wire::parse_datagram(reinterpret_cast<const uint8_t*>(data), len, frame) !=
        wire::DatagramStatus::kOk) {
      bump(counters_->datagrams_dropped);
      return;
    }
    frameCallback_(frame.msgid, reinterpret_cast<const char*>(frame.body), frame.body_len, peer);
  } else if (datagramCallback_) {
    datagramCallback_(data, len, peer);
  }
}

}  // namespace lars::reactor
