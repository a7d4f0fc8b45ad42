// UdpSocket: a non-blocking, close-on-exec UDP socket. Owns the descriptor.
// sendTo may be called from any thread (a datagram send is atomic in the kernel); the receive
// calls belong to whichever thread reads the socket (UdpServer: its loop thread).
#pragma once

#include <sys/types.h>

#include "reactor/InetAddress.h"

namespace lars::reactor {

class UdpSocket {
 public:
  UdpSocket();  // unbound; throws std::system_error
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  int fd() const { return fd_; }
  void bind(const InetAddress& addr, bool reusePort = false);  // throws std::system_error
  InetAddress localAddress() const;
  void setReceiveBufferSize(int bytes);  // best effort (capped by net.core.rmem_max)

  // Any thread. Bytes sent, or -1 with errno (EAGAIN when the send buffer is full).
  ssize_t sendTo(const void* data, size_t len, const InetAddress& peer);
  // Header and body gathered into one datagram without copying.
  ssize_t sendTo2(const void* head, size_t headLen, const void* body, size_t bodyLen,
                  const InetAddress& peer);

 private:
  const int fd_;
};

}  // namespace lars::reactor
