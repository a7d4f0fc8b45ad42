// Socket: owns one socket descriptor and closes it in its destructor. Not thread-safe in the
// sense that its owner decides which thread uses it; the calls themselves are plain syscalls.
#pragma once

#include "reactor/InetAddress.h"

namespace lars::reactor {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }

  void bindAddress(const InetAddress& addr);  // throws std::system_error
  void listen();                               // throws std::system_error
  // A non-blocking, close-on-exec connection, or -1 with errno set.
  int accept(InetAddress* peer);
  void shutdownWrite();

  void setTcpNoDelay(bool on);
  void setReuseAddr(bool on);
  void setReusePort(bool on);
  // Keep-alive probes detect half-open peers (a host that vanished without a FIN):
  // first probe after idleSeconds, then every intervalSeconds, give up after `count`.
  void setKeepAlive(bool on, int idleSeconds = 60, int intervalSeconds = 10, int count = 6);

  InetAddress localAddress() const;

 private:
  const int fd_;
};

}  // namespace lars::reactor
