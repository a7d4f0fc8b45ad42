#include "reactor/InetAddress.h"

#include <arpa/inet.h>

#include <cstring>

namespace lars::reactor {

InetAddress::InetAddress() {
  std::memset(&addr_, 0, sizeof addr_);
  addr_.sin_family = AF_INET;
}

InetAddress::InetAddress(uint16_t port, bool loopbackOnly) : InetAddress() {
  addr_.sin_addr.s_addr = htonl(loopbackOnly ? INADDR_LOOPBACK : INADDR_ANY);
  addr_.sin_port = htons(port);
}

std::optional<InetAddress> InetAddress::parse(std::string_view ip, uint16_t port) {
  InetAddress a;
  const std::string s(ip);  // inet_pton needs a terminated string
  if (::inet_pton(AF_INET, s.c_str(), &a.addr_.sin_addr) != 1) return std::nullopt;
  a.addr_.sin_port = htons(port);
  return a;
}

InetAddress InetAddress::fromHostOrder(uint32_t ip, uint16_t port) {
  InetAddress a;
  a.addr_.sin_addr.s_addr = htonl(ip);
  a.addr_.sin_port = htons(port);
  return a;
}

std::string InetAddress::toIp() const {
  char buf[INET_ADDRSTRLEN] = "";
  ::inet_ntop(AF_INET, &addr_.sin_addr, buf, sizeof buf);
  return buf;
}

std::string InetAddress::toIpPort() const { return toIp() + ":" + std::to_string(port()); }

uint16_t InetAddress::port() const { return ntohs(addr_.sin_port); }

uint32_t InetAddress::ipHostOrder() const { return ntohl(addr_.sin_addr.s_addr); }

}  // namespace lars::reactor
