// InetAddress: an IPv4 address and port (the Lars protocol is IPv4-only). A value type; any thread.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lars::reactor {

class InetAddress {
 public:
  // 0.0.0.0:0
  InetAddress();
  // INADDR_ANY:port, or 127.0.0.1:port when loopbackOnly.
  explicit InetAddress(uint16_t port, bool loopbackOnly = false);
  explicit InetAddress(const sockaddr_in& addr) : addr_(addr) {}

  // Parses a dotted-quad IPv4 address; nullopt when it is not one.
  static std::optional<InetAddress> parse(std::string_view ip, uint16_t port);
  // From the 32-bit number a<<24 | b<<16 | c<<8 | d that HostInfo.ip carries.
  static InetAddress fromHostOrder(uint32_t ip, uint16_t port);

  std::string toIp() const;
  std::string toIpPort() const;
  uint16_t port() const;
  // a<<24 | b<<16 | c<<8 | d, as in HostInfo.ip (docs/spec/PROTOCOL.md).
  uint32_t ipHostOrder() const;

  const sockaddr* sockAddr() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  const sockaddr_in& sockAddrIn() const { return addr_; }
  void setSockAddrIn(const sockaddr_in& addr) { addr_ = addr; }

  bool operator==(const InetAddress& o) const {
    return addr_.sin_addr.s_addr == o.addr_.sin_addr.s_addr && addr_.sin_port == o.addr_.sin_port;
  }

 private:
  sockaddr_in addr_;
};

}  // namespace lars::reactor
