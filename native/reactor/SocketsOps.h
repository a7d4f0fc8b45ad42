// Thin wrappers over the socket system calls the reactor needs. Stateless; any thread.
// Functions that set up a socket throw std::system_error (so a binding can turn it into a
// LarsError with a stable code); the per-I/O ones return -1 and leave errno alone.
#pragma once

#include <sys/types.h>

namespace lars::reactor {

class InetAddress;

namespace sockets {

// A non-blocking, close-on-exec AF_INET socket of `type` (SOCK_STREAM or SOCK_DGRAM). Throws.
int createNonblocking(int type);
void bindOrThrow(int fd, const InetAddress& addr);
void listenOrThrow(int fd);
void setOption(int fd, int level, int name, int value);  // throws

// Non-blocking, close-on-exec accepted socket, or -1 with errno set.
int accept(int listenFd, InetAddress* peer);
void close(int fd);
void shutdownWrite(int fd);

InetAddress localAddress(int fd);
int socketError(int fd);  // SO_ERROR

}  // namespace sockets
}  // namespace lars::reactor
