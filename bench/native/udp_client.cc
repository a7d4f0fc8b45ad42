// udp-client: the API side of the agent benchmark. Each thread is one client doing blocking
// get_host + report loops over UDP, as the reference API does: send GetHostRequest, read until
// the reply with its own seq arrives (or time out), and when a node came back send a
// ReportRequest for it (no reply). Module of thread t: (modid, cmdids[t % n]), sent to port
// base + (modid + cmdid) % 3 (docs/spec/PROTOCOL.md).
//
//   udp-client --port BASE --threads N --seconds S [--warmup-ms W] [--rate OPS_PER_S]
//              [--modid M] [--cmdids 1,2,3] [--timeout-ms T] [--multiplex]
//
// --multiplex drives the N clients from ONE thread with epoll: each client still has one
// get_host outstanding at a time and reports before its next call, but no thread blocks, so the
// generator spends its core on datagrams instead of context switches and can offer the server
// more than N blocking threads on one core could.
//
// The window also ends early when a line "stop" (or the end of input) arrives on stdin, so a
// runner can keep the load on for as long as a scenario takes (--seconds 0: until stopped).
//
// Prints {"event":"measure"} when the window starts and one result line at its end:
// get_host calls answered per second, retcode counts, get_host latency p50/p99 (µs) and this
// process's CPU over the window (% of one core, from /proc/self/stat).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <cstring>
#include <iostream>
#include <thread>

#include "bench_common.h"
#include "wire/messages.h"

using namespace lars;

namespace {

std::atomic<bool> g_measuring{false};
std::atomic<bool> g_stop{false};

struct ThreadResult {
  uint64_t calls = 0, succ = 0, noexist = 0, overload = 0, other = 0, timeouts = 0, stale = 0;
  std::vector<uint32_t> latencies_us;
};

int open_socket(uint16_t port, int timeout_ms) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    std::exit(1);
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

void client(int index, uint16_t port, int32_t modid, int32_t cmdid, double interval_ns, int timeout_ms,
            ThreadResult* out) {
  const int fd = open_socket(port, timeout_ms);
  std::vector<uint8_t> frame;
  uint8_t rbuf[65536];
  uint32_t seq = uint32_t(index) << 24;
  double next_send = double(bench::mono_ns());
  while (!g_stop.load(std::memory_order_relaxed)) {
    if (interval_ns > 0) {
      const uint64_t now = bench::mono_ns();
      if (double(now) < next_send) {
        const uint64_t wait = uint64_t(next_send - double(now));
        timespec ts{time_t(wait / 1000000000ull), long(wait % 1000000000ull)};
        nanosleep(&ts, nullptr);
      }
      next_send += interval_ns;
    }
    const bool measuring = g_measuring.load(std::memory_order_relaxed);
    wire::GetHostRequest req;
    req.seq = ++seq;
    req.modid = modid;
    req.cmdid = cmdid;
    frame.clear();
    wire::append_frame(wire::kGetHostRequest, req, frame);
    const uint64_t t0 = bench::mono_ns();
    if (::send(fd, frame.data(), frame.size(), 0) < 0) continue;
    wire::GetHostResponse resp;
    bool got = false;
    for (;;) {
      const ssize_t n = ::recv(fd, rbuf, sizeof rbuf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // timeout (or the port is closed): give up on this seq
      }
      wire::FrameView view;
      if (wire::parse_datagram(rbuf, size_t(n), view) != wire::DatagramStatus::kOk ||
          view.msgid != wire::kGetHostResponse || !wire::decode(view.body, view.body_len, resp)) {
        continue;
      }
      if (resp.seq != req.seq) {
        if (measuring) out->stale++;
        continue;
      }
      got = true;
      break;
    }
    const uint64_t t1 = bench::mono_ns();
    if (!got) {
      if (measuring) out->timeouts++;
      continue;
    }
    if (resp.retcode == wire::kRetSucc && resp.has_host) {
      wire::ReportRequest rep;
      rep.modid = modid;
      rep.cmdid = cmdid;
      rep.has_host = true;
      rep.host = resp.host;
      rep.retcode = wire::kRetSucc;
      frame.clear();
      wire::append_frame(wire::kReportRequest, rep, frame);
      ::send(fd, frame.data(), frame.size(), 0);
    }
    if (!measuring) continue;
    out->calls++;
    out->latencies_us.push_back(uint32_t((t1 - t0) / 1000));
    switch (resp.retcode) {
      case wire::kRetSucc: out->succ++; break;
      case wire::kRetNoExist: out->noexist++; break;
      case wire::kRetOverload: out->overload++; break;
      default: out->other++; break;
    }
  }
  ::close(fd);
}

// One thread, `clients` sockets, each a sequential get_host + report client (see --multiplex).
void multiplexed(int clients, int base, int32_t modid, const std::vector<int32_t>& cmdids, int timeout_ms, ThreadResult* out) {
  struct Client {
    int fd;
    int32_t cmdid;
    uint32_t seq;
    uint64_t sent_ns;
  };
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Client> cs(static_cast<size_t>(clients));
  std::vector<uint8_t> frame;
  const auto send_get_host = [&](Client& c) {
    wire::GetHostRequest req;
    req.seq = ++c.seq;
    req.modid = modid;
    req.cmdid = c.cmdid;
    frame.clear();
    wire::append_frame(wire::kGetHostRequest, req, frame);
    c.sent_ns = bench::mono_ns();
    ::send(c.fd, frame.data(), frame.size(), 0);
  };
  for (int i = 0; i < clients; ++i) {
    Client& c = cs[size_t(i)];
    c.cmdid = cmdids[size_t(i) % cmdids.size()];
    c.fd = open_socket(uint16_t(base + (modid + c.cmdid) % 3), 0);
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    c.seq = uint32_t(i) << 24;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = uint32_t(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    send_get_host(c);
  }
  uint8_t rbuf[65536];
  epoll_event events[64];
  const uint64_t timeout_ns = uint64_t(timeout_ms) * 1000000ull;
  while (!g_stop.load(std::memory_order_relaxed)) {
    const int n = ::epoll_wait(ep, events, 64, 10);
    const bool measuring = g_measuring.load(std::memory_order_relaxed);
    for (int e = 0; e < n; ++e) {
      Client& c = cs[events[e].data.u32];
      for (;;) {
        const ssize_t len = ::recv(c.fd, rbuf, sizeof rbuf, 0);
        if (len < 0) break;  // EAGAIN: drained
        wire::FrameView view;
        wire::GetHostResponse resp;
        if (wire::parse_datagram(rbuf, size_t(len), view) != wire::DatagramStatus::kOk ||
            view.msgid != wire::kGetHostResponse || !wire::decode(view.body, view.body_len, resp)) {
          continue;
        }
        if (resp.seq != c.seq) {
          if (measuring) out->stale++;
          continue;
        }
        const uint64_t now = bench::mono_ns();
        if (resp.retcode == wire::kRetSucc && resp.has_host) {
          wire::ReportRequest rep;
          rep.modid = modid;
          rep.cmdid = c.cmdid;
          rep.has_host = true;
          rep.host = resp.host;
          rep.retcode = wire::kRetSucc;
          frame.clear();
          wire::append_frame(wire::kReportRequest, rep, frame);
          ::send(c.fd, frame.data(), frame.size(), 0);
        }
        if (measuring) {
          out->calls++;
          out->latencies_us.push_back(uint32_t((now - c.sent_ns) / 1000));
          switch (resp.retcode) {
            case wire::kRetSucc: out->succ++; break;
            case wire::kRetNoExist: out->noexist++; break;
            case wire::kRetOverload: out->overload++; break;
            default: out->other++; break;
          }
        }
        send_get_host(c);
      }
    }
    // A lost datagram must not stall its client: give up on that seq and send the next.
    const uint64_t now = bench::mono_ns();
    for (Client& c : cs) {
      if (now - c.sent_ns < timeout_ns) continue;
      if (measuring) out->timeouts++;
      send_get_host(c);
    }
  }
  for (Client& c : cs) ::close(c.fd);
  ::close(ep);
}

std::vector<int32_t> parse_list(const std::string& s) {
  std::vector<int32_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(int32_t(std::strtol(item.c_str(), nullptr, 10)));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args(argc, argv);
  const int base = int(args.num("port", 8888));
  const int threads = int(args.num("threads", 1));
  const double seconds = args.real("seconds", 3);
  const long warmup_ms = args.num("warmup-ms", 500);
  const double rate = args.real("rate", 0);
  const int timeout_ms = int(args.num("timeout-ms", 200));
  const int32_t modid = int32_t(args.num("modid", 1));
  const std::vector<int32_t> cmdids = parse_list(args.str("cmdids", "1,2,3"));
  const double interval_ns = rate > 0 ? 1e9 * threads / rate : 0;

  const bool multiplex = args.num("multiplex", 0) != 0;
  std::vector<ThreadResult> results(static_cast<size_t>(multiplex ? 1 : threads));
  std::vector<std::thread> pool;
  if (multiplex) {
    pool.emplace_back(multiplexed, threads, base, modid, std::cref(cmdids), timeout_ms, &results[0]);
  } else {
    for (int t = 0; t < threads; ++t) {
      const int32_t cmdid = cmdids[size_t(t) % cmdids.size()];
      const uint16_t port = uint16_t(base + (modid + cmdid) % 3);
      pool.emplace_back(client, t, port, modid, cmdid, interval_ns, timeout_ms, &results[size_t(t)]);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(warmup_ms));
  bench::CpuWindow cpu;
  cpu.start();
  const uint64_t t0 = bench::mono_ns();
  g_measuring = true;
  bench::emit(bench::Json().add("event", "measure").str());
  std::atomic<bool> stop_asked{false};
  std::thread([&stop_asked] {
    std::string line;
    while (std::getline(std::cin, line) && line != "stop") {
    }
    stop_asked = true;
  }).detach();
  while (!stop_asked.load() && (seconds <= 0 || double(bench::mono_ns() - t0) / 1e9 < seconds)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  g_measuring = false;
  const double wall = double(bench::mono_ns() - t0) / 1e9;
  const double cpu_percent = cpu.percent();
  g_stop = true;
  for (auto& th : pool) th.join();

  ThreadResult sum;
  for (auto& r : results) {
    sum.calls += r.calls;
    sum.succ += r.succ;
    sum.noexist += r.noexist;
    sum.overload += r.overload;
    sum.other += r.other;
    sum.timeouts += r.timeouts;
    sum.stale += r.stale;
    sum.latencies_us.insert(sum.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  bench::emit(bench::Json()
                  .add("event", "result")
                  .add("threads", threads)
                  .add("multiplex", multiplex ? 1 : 0)
                  .add("seconds", wall)
                  .add("calls", sum.calls)
                  .add("succ", sum.succ)
                  .add("noexist", sum.noexist)
                  .add("overload", sum.overload)
                  .add("other", sum.other)
                  .add("timeouts", sum.timeouts)
                  .add("stale", sum.stale)
                  .add("rps", double(sum.calls) / wall)
                  .add("p50_us", bench::percentile(sum.latencies_us, 0.5))
                  .add("p99_us", bench::percentile(sum.latencies_us, 0.99))
                  .add("cpu_percent", cpu_percent)
                  .str());
  return 0;
}
