// Acceptor: accepts TCP connections on a listening socket and hands each one to a callback.
//
// Owns the listening Socket, its Channel and a spare descriptor kept open for EMFILE: when the
// process runs out of descriptors it closes the spare, accepts the pending connection, closes it
// at once (counted as connections_rejected_fd) and reopens the spare — so a full process neither
// spins on a readable listening socket nor leaves clients hanging.
// The constructor binds and listens at once (throws std::system_error), any thread; listenInLoop,
// the callback and the destructor belong to the loop thread (or the loop is not running).
#pragma once

#include <functional>
#include <memory>

#include "reactor/Channel.h"
#include "reactor/Counters.h"
#include "reactor/InetAddress.h"
#include "reactor/Socket.h"

namespace lars::reactor {

class EventLoop;

class Acceptor {
 public:
  // Takes ownership of sockfd (non-blocking, close-on-exec).
  using NewConnectionCallback = std::function<void(int sockfd, const InetAddress& peer)>;

  Acceptor(EventLoop* loop, const InetAddress& listenAddr, bool reusePort,
           std::shared_ptr<Counters> counters);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void setNewConnectionCallback(NewConnectionCallback cb) { callback_ = std::move(cb); }
  // Starts accepting. Loop thread.
  void listenInLoop();
  bool listening() const { return listening_; }
  // The bound address (the real port when asked for port 0). Any thread.
  const InetAddress& listenAddress() const { return listenAddr_; }

 private:
  // Accepting in a burst amortises the wake-up; the cap keeps other channels served.
  static constexpr int kMaxAcceptsPerEvent = 64;

  void handleRead();
  void reopenSpareFd();

  EventLoop* const loop_;
  Socket socket_;
  InetAddress listenAddr_;
  Channel channel_;
  std::shared_ptr<Counters> counters_;
  NewConnectionCallback callback_;
  bool listening_ = false;
  int spareFd_ = -1;
};

}  // namespace lars::reactor
