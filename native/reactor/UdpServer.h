// UdpServer: a bound UDP socket served by one EventLoop. On each readable event it drains the
// socket in batches with recvmmsg until EAGAIN (bounded per wake-up so other channels get a
// turn) and hands every datagram to a callback.
//
// Owns its UdpSocket, Channel and receive buffers; shares its Counters. The constructor binds at
// once (throws std::system_error), any thread. Thread rules: setters before start(); start(),
// sendTo and sendFrameTo from any thread; callbacks run in the loop thread; destroy it in the
// loop thread (or when the loop isn't running).
// With a DatagramFrameCallback each datagram must be exactly one frame (8 + msglen bytes, msglen
// valid); anything else is dropped and counted (datagrams_dropped) and the server goes on.
// Truncated datagrams (longer than any frame) are always dropped and counted.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "reactor/Callbacks.h"
#include "reactor/Channel.h"
#include "reactor/Counters.h"
#include "reactor/UdpSocket.h"

namespace lars::reactor {

class EventLoop;

class UdpServer {
 public:
  // Datagrams per recvmmsg call, and the most handled per wake-up.
  static constexpr int kBatch = 16;
  static constexpr int kMaxPerWakeup = 1024;
  // Larger than any frame (65535), so a truncated datagram is never a valid one.
  static constexpr size_t kDatagramCap = 65536;

  UdpServer(EventLoop* loop, const InetAddress& bindAddr, std::string name, bool reusePort = false,
            std::shared_ptr<Counters> counters = nullptr);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  // Before start(). A frame callback, when set, takes precedence.
  void setDatagramCallback(DatagramCallback cb) { datagramCallback_ = std::move(cb); }
  void setFrameCallback(DatagramFrameCallback cb) { frameCallback_ = std::move(cb); }

  // Any thread; idempotent.
  void start();

  // Any thread. False when the kernel refused the datagram (counted as dropped).
  bool sendTo(const void* data, size_t len, const InetAddress& peer);
  // Any thread. Header + body as one datagram; false when len > kMaxBodySize or refused.
  bool sendFrameTo(int32_t msgid, const void* body, size_t len, const InetAddress& peer);

  EventLoop* getLoop() const { return loop_; }
  const std::string& name() const { return name_; }
  const InetAddress& localAddress() const { return localAddr_; }
  UdpSocket& socket() { return socket_; }
  Counters& counters() { return *counters_; }
  const std::shared_ptr<Counters>& sharedCounters() const { return counters_; }

 private:
  void handleRead();
  void dispatch(const char* data, size_t len, bool truncated, const InetAddress& peer);

  EventLoop* const loop_;
  const std::string name_;
  const std::shared_ptr<Counters> counters_;
  UdpSocket socket_;
  InetAddress localAddr_;
  Channel channel_;
  DatagramCallback datagramCallback_;
  DatagramFrameCallback frameCallback_;
  std::atomic<bool> started_{false};
  bool reading_ = false;  // loop thread
  // recvmmsg scratch space: kBatch buffers of kDatagramCap bytes.
  std::vector<char> buffers_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovecs_;
  std::vector<sockaddr_in> addrs_;
};

}  // namespace lars::reactor
