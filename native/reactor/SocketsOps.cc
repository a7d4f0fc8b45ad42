#include "reactor/SocketsOps.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "reactor/InetAddress.h"

namespace lars::reactor::sockets {

namespace {
[[noreturn]] void throwErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}
}  // namespace

int createNonblocking(int type) {
  const int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throwErrno("socket");
  return fd;
}

void bindOrThrow(int fd, const InetAddress& addr) {
  if (::bind(fd, addr.sockAddr(), sizeof(sockaddr_in)) < 0) throwErrno("bind " + addr.toIpPort());
}

void listenOrThrow(int fd) {
  if (::listen(fd, SOMAXCONN) < 0) throwErrno("listen");
}

void setOption(int fd, int level, int name, int value) {
  if (::setsockopt(fd, level, name, &value, sizeof value) < 0) throwErrno("setsockopt");
}

int accept(int listenFd, InetAddress* peer) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  const int fd = ::accept4(listenFd, reinterpret_cast<sockaddr*>(&addr), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0 && peer) peer->setSockAddrIn(addr);
  return fd;
}

void close(int fd) {
  // Linux releases the descriptor even when close reports EINTR; never retry.
  ::close(fd);
}

void shutdownWrite(int fd) { ::shutdown(fd, SHUT_WR); }

InetAddress localAddress(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return InetAddress(addr);
}

int socketError(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

}  // namespace lars::reactor::sockets
