// dns-client: the agent side of the DNS benchmarks, over persistent TCP connections on one epoll
// thread.
//
//   dns-client rps  --port P --conns C --depth D --seconds S [--warmup-ms W] [--modid M] [--cmdids 1,2,3]
//     Keeps D GetRouteRequests in flight on each of C connections and sends another for every
//     reply. Prints {"event":"measure"} when the window starts, then replies/s and its own CPU.
//
//   dns-client hold --port P --conns N --src 127.0.0.X [--modid M] [--cmdid C] [--inflight K]
//                   [--extra E --modules R]
//     Opens N connections from source address X (so several processes and addresses can go past
//     one process's descriptor limit and one address's ephemeral ports), subscribes each with
//     one GetRouteRequest for (M, C) and, as agents do, E more for modules (M, 1..R) spread over
//     the connections, and prints {"event":"ready","subscribed":..} once every connection has
//     all its replies or failed. Then it records the wall-clock arrival (µs since the epoch) of
//     every later frame (a push) per connection, and answers commands on stdin:
//       count  -> {"event":"count","open":..,"rounds":[connections with >= 1 push, >= 2, ...]}
//       dump   -> {"event":"dump","arrivals":[[round 1 arrivals],[round 2 arrivals],...]}
//       quit (or end of input) -> exit
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "bench_common.h"
#include "wire/messages.h"

using namespace lars;

namespace {

struct Conn {
  int fd = -1;
  bool connected = false;
  bool subscribed = false;
  int replies = 0;  // subscription replies so far
  bool closed = false;
  wire::FrameDecoder decoder;
  std::vector<uint8_t> out;  // bytes not yet written
  std::vector<int64_t> pushes;
};

std::vector<uint8_t> request_frame(int32_t modid, int32_t cmdid) {
  wire::GetRouteRequest req;
  req.modid = modid;
  req.cmdid = cmdid;
  std::vector<uint8_t> f;
  wire::append_frame(wire::kGetRouteRequest, req, f);
  return f;
}

// Connects to 127.0.0.1:port, from `src` when given. With src, the local port is bound here, the
// next free one from *next_port up: letting connect() choose searches the ephemeral range for a
// free 4-tuple on every call, which grows slow as ten thousand ports from one address fill up.
// SO_REUSEADDR lets a port still in TIME_WAIT from an earlier run be bound again.
int connect_to(uint16_t port, const std::string& src, int* next_port = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!src.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, src.c_str(), &local.sin_addr);
    int bound = -1;
    if (next_port != nullptr) {
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      while (bound != 0 && *next_port <= 65535) {
        local.sin_port = htons(uint16_t((*next_port)++));
        bound = ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
      }
    } else {
      ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      bound = ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
    if (bound != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Writes what it can of c.out; false when the connection failed.
bool flush(Conn& c) {
  size_t off = 0;
  while (off < c.out.size()) {
    const ssize_t n = ::write(c.fd, c.out.data() + off, c.out.size() - off);
    if (n > 0) {
      off += size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else {
      return false;
    }
  }
  c.out.erase(c.out.begin(), c.out.begin() + long(off));
  return true;
}

// Reads everything available and calls on_frame for each whole frame; false on close or error.
template <typename OnFrame>
bool drain(Conn& c, OnFrame&& on_frame) {
  static uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n > 0) {
      if (!c.decoder.push(buf, size_t(n), on_frame)) return false;
      // A short read emptied the socket: skip the read that would only say EAGAIN (edge-triggered
      // epoll reports the next arrival anew). Halves the client's syscalls in a push storm.
      if (size_t(n) < sizeof buf) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

int run_rps(const bench::Args& args) {
  const uint16_t port = uint16_t(args.num("port", 7778));
  const int conns = int(args.num("conns", 16));
  const int depth = int(args.num("depth", 8));
  const double seconds = args.real("seconds", 3);
  const long warmup_ms = args.num("warmup-ms", 500);
  const int32_t modid = int32_t(args.num("modid", 1));
  const int ncmd = int(args.num("ncmd", 3));

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::unique_ptr<Conn>> all;
  for (int i = 0; i < conns; ++i) {
    auto c = std::make_unique<Conn>();
    c->fd = connect_to(port, "");
    if (c->fd < 0) {
      std::perror("connect");
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.ptr = c.get();
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    const auto req = request_frame(modid, 1 + i % ncmd);
    for (int d = 0; d < depth; ++d) c->out.insert(c->out.end(), req.begin(), req.end());
    all.push_back(std::move(c));
  }
  uint64_t replies = 0, measured = 0, errors = 0;
  bool measuring = false;
  bench::CpuWindow cpu;
  const uint64_t start = bench::mono_ns();
  uint64_t t0 = 0;
  const uint64_t warm_ns = uint64_t(warmup_ms) * 1000000ull;
  const uint64_t window_ns = uint64_t(seconds * 1e9);
  std::vector<epoll_event> events(256);
  for (;;) {
    const uint64_t now = bench::mono_ns();
    if (!measuring && now - start >= warm_ns) {
      measuring = true;
      t0 = now;
      cpu.start();
      bench::emit(bench::Json().add("event", "measure").str());
    }
    if (measuring && now - t0 >= window_ns) break;
    const int n = epoll_wait(ep, events.data(), int(events.size()), 10);
    for (int i = 0; i < n; ++i) {
      Conn& c = *static_cast<Conn*>(events[size_t(i)].data.ptr);
      if (c.closed) continue;
      bool ok = true;
      if (events[size_t(i)].events & EPOLLIN) {
        int got = 0;
        ok = drain(c, [&](const wire::FrameView& f) {
          if (f.msgid == wire::kGetRouteResponse) ++got;
        });
        replies += uint64_t(got);
        if (measuring) measured += uint64_t(got);
        if (got > 0) {
          const auto frame = request_frame(modid, 1 + int(replies % uint64_t(ncmd)));
          for (int k = 0; k < got; ++k) c.out.insert(c.out.end(), frame.begin(), frame.end());
        }
      }
      if (ok && !c.out.empty()) ok = flush(c);
      if (!ok || (events[size_t(i)].events & (EPOLLHUP | EPOLLERR))) {
        c.closed = true;
        ++errors;
        ::close(c.fd);
      }
    }
  }
  const double wall = double(bench::mono_ns() - t0) / 1e9;
  bench::emit(bench::Json()
                  .add("event", "result")
                  .add("conns", conns)
                  .add("depth", depth)
                  .add("seconds", wall)
                  .add("replies", measured)
                  .add("rps", double(measured) / wall)
                  .add("closed", errors)
                  .add("cpu_percent", cpu.percent())
                  .str());
  return 0;
}

int run_hold(const bench::Args& args) {
  const uint16_t port = uint16_t(args.num("port", 7778));
  const int conns = int(args.num("conns", 1000));
  const std::string src = args.str("src", "127.0.0.1");
  const int32_t modid = int32_t(args.num("modid", 1));
  const int32_t cmdid = int32_t(args.num("cmdid", 1));
  const int inflight_max = int(args.num("inflight", 256));
  const double timeout_s = args.real("timeout", 60);
  const int extra = int(args.num("extra", 0));
  const int modules = std::max(1, int(args.num("modules", 1)));
  // Connection i's extra modules: consecutive cmdids from a per-connection start, skipping C.
  auto subscription = [&](int i) {
    std::vector<uint8_t> out = request_frame(modid, cmdid);
    for (int j = 0; j < extra; ++j) {
      int32_t other = int32_t(1 + (i * 7 + j) % modules);
      if (other == cmdid) other = int32_t(1 + (other % modules));
      const auto f = request_frame(modid, other);
      out.insert(out.end(), f.begin(), f.end());
    }
    return out;
  };

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // stdin
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  }
  std::vector<std::unique_ptr<Conn>> all;
  all.reserve(size_t(conns));
  int next_port = 1024;
  int started = 0, inflight = 0, subscribed = 0, failed = 0, open = 0;
  bool ready = false;
  const uint64_t deadline = bench::mono_ns() + uint64_t(timeout_s * 1e9);
  std::string input;
  std::vector<epoll_event> events(1024);

  auto fail = [&](Conn& c) {
    if (c.closed) return;
    c.closed = true;
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    if (c.subscribed) {
      --open;
    } else {
      ++failed;
      --inflight;
    }
  };

  for (;;) {
    while (!ready && started < conns && inflight < inflight_max) {
      auto c = std::make_unique<Conn>();
      ++started;
      c->fd = connect_to(port, src, &next_port);
      if (c->fd < 0) {
        ++failed;
        continue;
      }
      c->out = subscription(started - 1);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
      ev.data.ptr = c.get();
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
      ++inflight;
      all.push_back(std::move(c));
    }
    if (!ready && (subscribed + failed >= conns || bench::mono_ns() > deadline)) {
      ready = true;
      bench::emit(bench::Json()
                      .add("event", "ready")
                      .add("src", src)
                      .add("attempted", started)
                      .add("subscribed", subscribed)
                      .add("failed", failed)
                      .add("open", open)
                      .str());
    }
    const int n = epoll_wait(ep, events.data(), int(events.size()), 50);
    for (int i = 0; i < n; ++i) {
      if (events[size_t(i)].data.ptr == nullptr) {
        char buf[4096];
        const ssize_t r = ::read(0, buf, sizeof buf);
        if (r <= 0) return 0;
        input.append(buf, size_t(r));
        size_t nl;
        while ((nl = input.find('\n')) != std::string::npos) {
          const std::string cmd = input.substr(0, nl);
          input.erase(0, nl + 1);
          if (cmd == "quit") return 0;
          size_t rounds = 0;
          for (auto& c : all) rounds = std::max(rounds, c->pushes.size());
          if (cmd == "count") {
            std::string list = "[";
            for (size_t k = 0; k < rounds; ++k) {
              int have = 0;
              for (auto& c : all) have += c->pushes.size() > k ? 1 : 0;
              list += (k ? "," : "") + std::to_string(have);
            }
            bench::emit(bench::Json().add("event", "count").add("open", open).raw("rounds", list + "]").str());
          } else if (cmd == "dump") {
            std::string list = "[";
            for (size_t k = 0; k < rounds; ++k) {
              list += k ? ",[" : "[";
              bool first = true;
              for (auto& c : all) {
                if (c->pushes.size() <= k) continue;
                list += (first ? "" : ",") + std::to_string(c->pushes[k]);
                first = false;
              }
              list += "]";
            }
            bench::emit(bench::Json().add("event", "dump").raw("arrivals", list + "]").str());
          }
        }
        continue;
      }
      Conn& c = *static_cast<Conn*>(events[size_t(i)].data.ptr);
      if (c.closed) continue;
      bool ok = true;
      if (events[size_t(i)].events & EPOLLIN) {
        ok = drain(c, [&](const wire::FrameView& f) {
          if (f.msgid != wire::kGetRouteResponse) return;
          if (!c.subscribed) {
            if (++c.replies < 1 + extra) return;
            c.subscribed = true;
            ++subscribed;
            ++open;
            --inflight;
          } else {
            c.pushes.push_back(bench::wall_us());
          }
        });
      }
      if (ok && !c.out.empty()) ok = flush(c);
      if (!ok || (events[size_t(i)].events & (EPOLLHUP | EPOLLERR))) fail(c);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "rps") return run_rps(args);
  if (mode == "hold") return run_hold(args);
  std::fprintf(stderr, "usage: dns-client rps|hold --port P ...\n");
  return 2;
}
