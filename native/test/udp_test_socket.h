// Test-side UDP plumbing shared by the reactor and agent tests: loopback addresses and a client
// socket on an ephemeral loopback port whose reads time out, so a missing reply fails the test
// instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace lars::test {

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

class UdpTestSocket {
 public:
  UdpTestSocket() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int big = 1 << 20;  // bursts of hundreds of datagrams must not overflow the receive queue
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    const sockaddr_in a = loopback(0);
    ::bind(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  ~UdpTestSocket() { ::close(fd_); }
  UdpTestSocket(const UdpTestSocket&) = delete;
  UdpTestSocket& operator=(const UdpTestSocket&) = delete;

  int fd() const { return fd_; }

  bool sendTo(uint16_t port, const std::string& bytes) {
    const sockaddr_in a = loopback(port);
    return ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a) ==
           static_cast<ssize_t>(bytes.size());
  }

  // The next datagram; false on timeout.
  bool recv(std::string* out, uint16_t* fromPort = nullptr) {
    char buf[65536];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return false;
    out->assign(buf, static_cast<size_t>(n));
    if (fromPort != nullptr) *fromPort = ntohs(from.sin_port);
    return true;
  }

 private:
  int fd_;
};

}  // namespace lars::test
