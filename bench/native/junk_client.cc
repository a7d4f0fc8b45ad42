// junk-client: the fault suite's flood of bad input (docs/faults.md). Sends N malformed or random
// datagrams round-robin to the agent's three UDP ports, then opens S TCP connections to each
// --tcp-ports service, writes one malformed frame on each and closes it. Every datagram and every
// stream is built so that the receiver must drop it and count it exactly once, so the runner can
// match the daemons' drop counters against what was sent:
//
//   datagram kinds: 0 short (< 8 bytes, random), 1 length field != datagram size (random bytes),
//                   2 unknown msgid with a correct length and a random body,
//                   3 a request msgid with a body that never parses (0xFF: an endless varint)
//   stream kinds:   0 oversized length, 1 negative length (both: protocol error, connection closed),
//                   2 unknown msgid, 3 a request msgid with a body that never parses
//
//   junk-client [--udp-port BASE --datagrams N [--rate PER_S]] [--tcp-ports P1,P2 --streams S] [--seed X]
//
// Prints one result line: datagrams sent (and the sends the kernel refused), streams written.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "bench_common.h"

namespace {

constexpr int kKinds = 4;
// Msgids no Lars role knows (messages use 1..8).
constexpr int32_t kUnknownMsgId = 0x4A554E4B;  // "JUNK"

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

void put_i32(std::vector<uint8_t>& out, int32_t v) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);  // little-endian hosts only, as the wire format (PROTOCOL.md)
  out.insert(out.end(), b, b + 4);
}

void random_bytes(std::mt19937& rng, std::vector<uint8_t>& out, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(uint8_t(rng()));
}

// One datagram of `kind`; request_msgid is one the agent serves (4 get_host, 6 report, 7 get_route).
void datagram(int kind, std::mt19937& rng, std::vector<uint8_t>& out) {
  out.clear();
  const size_t body = 1 + rng() % 64;
  switch (kind) {
    case 0:
      random_bytes(rng, out, rng() % 8);
      break;
    case 1:
      put_i32(out, int32_t(rng()));
      put_i32(out, int32_t(body + 1 + rng() % 1000));  // never the real body size
      random_bytes(rng, out, body);
      break;
    case 2:
      put_i32(out, kUnknownMsgId);
      put_i32(out, int32_t(body));
      random_bytes(rng, out, body);
      break;
    default: {
      static const int32_t requests[] = {4, 6, 7};
      put_i32(out, requests[rng() % 3]);
      put_i32(out, int32_t(body));
      out.insert(out.end(), body, 0xFF);
      break;
    }
  }
}

void stream_frame(int kind, std::mt19937& rng, std::vector<uint8_t>& out) {
  out.clear();
  const size_t body = 1 + rng() % 64;
  switch (kind) {
    case 0:
      put_i32(out, 1);
      put_i32(out, 70000 + int32_t(rng() % 1000000));
      break;
    case 1:
      put_i32(out, 1);
      put_i32(out, -1 - int32_t(rng() % 1000));
      break;
    case 2:
      put_i32(out, kUnknownMsgId);
      put_i32(out, int32_t(body));
      random_bytes(rng, out, body);
      break;
    default:
      // GetRouteRequest (DNS) / ReportStatusRequest (Report service): each service knows one of
      // them and counts the other as an unknown msgid; either way one count.
      put_i32(out, 1 + 2 * int32_t(rng() % 2));
      put_i32(out, int32_t(body));
      out.insert(out.end(), body, 0xFF);
      break;
  }
}

std::vector<int> parse_ports(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(int(std::strtol(item.c_str(), nullptr, 10)));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args(argc, argv);
  const int base = int(args.num("udp-port", 0));
  const long datagrams = args.num("datagrams", 0);
  const double rate = args.real("rate", 0);
  const std::vector<int> tcp_ports = parse_ports(args.str("tcp-ports", ""));
  const long streams = args.num("streams", 0);
  std::mt19937 rng(uint32_t(args.num("seed", 1)));

  uint64_t sent = 0, refused = 0;
  uint64_t by_kind[kKinds] = {};
  std::vector<uint8_t> buf;
  if (base > 0 && datagrams > 0) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to[3] = {loopback(uint16_t(base)), loopback(uint16_t(base + 1)), loopback(uint16_t(base + 2))};
    const double interval_ns = rate > 0 ? 1e9 / rate : 0;
    const uint64_t t0 = bench::mono_ns();
    for (long i = 0; i < datagrams; ++i) {
      if (interval_ns > 0) {
        // Paced in bursts of 64: the flood tests the daemons' parsing, not the kernel's buffers.
        if (i % 64 == 0) {
          const uint64_t due = t0 + uint64_t(double(i) * interval_ns);
          const uint64_t now = bench::mono_ns();
          if (due > now) {
            timespec ts{time_t((due - now) / 1000000000ull), long((due - now) % 1000000000ull)};
            nanosleep(&ts, nullptr);
          }
        }
      }
      const int kind = int(i % kKinds);
      datagram(kind, rng, buf);
      const sockaddr_in& dst = to[i % 3];
      if (::sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) < 0) {
        refused++;
        continue;
      }
      sent++;
      by_kind[kind]++;
    }
    ::close(fd);
  }

  uint64_t written = 0, failed = 0;
  for (const int port : tcp_ports) {
    const sockaddr_in addr = loopback(uint16_t(port));
    for (long s = 0; s < streams; ++s) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      timeval tv{2, 0};  // a service that never closes must not stall the flood
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      stream_frame(int(s % kKinds), rng, buf);
      bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
      ok = ok && ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL) == ssize_t(buf.size());
      if (ok) {
        // Half-close and wait for the service to close: it has then read (and counted) the frame.
        ::shutdown(fd, SHUT_WR);
        uint8_t sink[256];
        while (::recv(fd, sink, sizeof sink, 0) > 0) {
        }
      }
      ::close(fd);
      (ok ? written : failed)++;
    }
  }

  bench::emit(bench::Json()
                  .add("event", "result")
                  .add("datagrams", sent)
                  .add("refused", refused)
                  .add("short", by_kind[0])
                  .add("bad_length", by_kind[1])
                  .add("unknown_msgid", by_kind[2])
                  .add("bad_body", by_kind[3])
                  .add("streams", written)
                  .add("stream_failures", failed)
                  .str());
  return 0;
}
