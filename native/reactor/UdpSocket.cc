#include "reactor/UdpSocket.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

#include "reactor/SocketsOps.h"

namespace lars::reactor {

UdpSocket::UdpSocket() : fd_(sockets::createNonblocking(SOCK_DGRAM)) {}

UdpSocket::~UdpSocket() { sockets::close(fd_); }

void UdpSocket::bind(const InetAddress& addr, bool reusePort) {
  // No SO_REUSEADDR: for UDP on Linux it lets a second socket bind a port already in use and
  // silently take its traffic, where we want EADDRINUSE.
  if (reusePort) sockets::setOption(fd_, SOL_SOCKET, SO_REUSEPORT, 1);
  sockets::bindOrThrow(fd_, addr);
}

InetAddress UdpSocket::localAddress() const { return sockets::localAddress(fd_); }

void UdpSocket::setReceiveBufferSize(int bytes) {
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

ssize_t UdpSocket::sendTo(const void* data, size_t len, const InetAddress& peer) {
  return ::sendto(fd_, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, peer.sockAddr(), sizeof(sockaddr_in));
}

ssize_t UdpSocket::sendTo2(const void* head, size_t headLen, const void* body, size_t bodyLen,
                           const InetAddress& peer) {
  iovec iov[2];
  iov[0].iov_base = const_cast<void*>(head);
  iov[0].iov_len = headLen;
  iov[1].iov_base = const_cast<void*>(body);
  iov[1].iov_len = bodyLen;
  msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_name = const_cast<sockaddr*>(peer.sockAddr());
  msg.msg_namelen = sizeof(sockaddr_in);
  msg.msg_iov = iov;
  msg.msg_iovlen = bodyLen > 0 ? 2 : 1;
  return ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace lars::reactor
