#include "reactor/Socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "reactor/SocketsOps.h"

namespace lars::reactor {

Socket::~Socket() { sockets::close(fd_); }

void Socket::bindAddress(const InetAddress& addr) { sockets::bindOrThrow(fd_, addr); }

void Socket::listen() { sockets::listenOrThrow(fd_); }

int Socket::accept(InetAddress* peer) { return sockets::accept(fd_, peer); }

void Socket::shutdownWrite() { sockets::shutdownWrite(fd_); }

void Socket::setTcpNoDelay(bool on) { sockets::setOption(fd_, IPPROTO_TCP, TCP_NODELAY, on); }

void Socket::setReuseAddr(bool on) { sockets::setOption(fd_, SOL_SOCKET, SO_REUSEADDR, on); }

void Socket::setReusePort(bool on) { sockets::setOption(fd_, SOL_SOCKET, SO_REUSEPORT, on); }

void Socket::setKeepAlive(bool on, int idleSeconds, int intervalSeconds, int count) {
  sockets::setOption(fd_, SOL_SOCKET, SO_KEEPALIVE, on);
  if (!on) return;
  sockets::setOption(fd_, IPPROTO_TCP, TCP_KEEPIDLE, idleSeconds);
  sockets::setOption(fd_, IPPROTO_TCP, TCP_KEEPINTVL, intervalSeconds);
  sockets::setOption(fd_, IPPROTO_TCP, TCP_KEEPCNT, count);
}

InetAddress Socket::localAddress() const { return sockets::localAddress(fd_); }

}  // namespace lars::reactor
