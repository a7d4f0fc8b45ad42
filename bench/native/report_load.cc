// report-load: agents flooding the Report service. Opens C TCP connections and writes
// ReportStatusRequest frames on each as fast as the service reads them (epoll, one thread).
// Every frame carries R results (nodes 10.0.0.1.. port 8000) and a modid that walks through
// --modids values per connection, cmdid = connection number: with the defaults no key
// (modid, cmdid, ip, port, caller) repeats within a run, so coalescing cannot hide rows.
//
//   report-load --port P [--conns 100] [--results 10] [--modids 100000] [--seconds S] [--rate FRAMES_PER_S]
//
// --rate caps the frames offered per second over all connections (0: as fast as the service reads).
//
// Prints {"event":"ready"} once every connection is up, and a result line when it stops (after
// S seconds, or at the end of its input): frames and rows written, and its own CPU (% of a core).
// Commands on stdin, one a line:
//   rate F   offer F frames/s from now on (0: as fast as the service reads)
//   stats    -> {"event":"stats","frames_sent":N,"rows_sent":N*R,"closed":N}: frames wholly
//            written to a socket so far (what the service was offered), connections lost
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>
#include <deque>
#include <string>

#include "bench_common.h"
#include "wire/messages.h"

using namespace lars;

namespace {

struct Conn {
  int fd = -1;
  int index = 0;
  uint64_t next = 0;          // frames generated on this connection
  uint64_t nextAtRateT0 = 0;  // `next` when the current rate took effect
  std::vector<uint8_t> out;   // generated, not yet written
  size_t off = 0;
  std::deque<size_t> ends;    // where each frame in `out` ends, to count frames wholly written
  uint64_t sent = 0;          // frames wholly written
  bool dead = false;
};

void generate(Conn& c, int results, uint64_t modids, std::vector<uint8_t>& scratch) {
  wire::ReportStatusRequest m;
  m.modid = int32_t(1 + c.next % modids);
  m.cmdid = c.index + 1;
  m.caller = int32_t(0x7F000001);
  m.ts = uint32_t(std::time(nullptr));
  for (int r = 0; r < results; ++r) {
    wire::HostCallResult h;
    h.ip = int32_t(0x0A000001 + r);
    h.port = 8000;
    h.succ = uint32_t(c.next % 1000 + 1);
    h.err = uint32_t(c.next % 7);
    h.overload = false;
    m.results.push_back(h);
  }
  scratch.clear();
  wire::append_frame(wire::kReportStatusRequest, m, scratch);
  c.out.insert(c.out.end(), scratch.begin(), scratch.end());
  c.ends.push_back(c.out.size());
  c.next++;
}

// Commands from the runner; false at the end of its input (stop).
class Commands {
 public:
  // Reads what stdin has; runs every complete line.
  template <typename OnLine>
  bool readAvailable(OnLine&& onLine) {
    char buf[256];
    const ssize_t r = ::read(0, buf, sizeof buf);
    if (r <= 0) return false;
    input_.append(buf, size_t(r));
    for (size_t nl; (nl = input_.find('\n')) != std::string::npos;) {
      onLine(input_.substr(0, nl));
      input_.erase(0, nl + 1);
    }
    return true;
  }

 private:
  std::string input_;
};

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args(argc, argv);
  const uint16_t port = uint16_t(args.num("port", 7779));
  const int conns = int(args.num("conns", 100));
  const int results = int(args.num("results", 10));
  const uint64_t modids = uint64_t(args.num("modids", 100000));
  const double seconds = args.real("seconds", 5);
  const double initialRate = args.real("rate", 0);

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> all(static_cast<size_t>(conns));
  for (int i = 0; i < conns; ++i) {
    Conn& c = all[size_t(i)];
    c.index = i;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("connect");
      return 1;
    }
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int flags = O_NONBLOCK;
    ::fcntl(c.fd, F_SETFL, flags);
    epoll_event ev{};
    ev.events = EPOLLOUT;  // level-triggered: write whenever there is room
    ev.data.ptr = &c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }
  {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  }
  bench::emit(bench::Json().add("event", "ready").add("conns", conns).str());

  bench::CpuWindow cpu;
  cpu.start();
  const uint64_t t0 = bench::mono_ns();
  const uint64_t end = t0 + uint64_t(seconds * 1e9);
  uint64_t bytes = 0, closed = 0;
  std::vector<uint8_t> scratch;
  std::vector<epoll_event> events(256);
  bool stop = false;
  // The rate holds from rateT0 on: frames allowed = rate × time since, minus those generated since;
  // each connection gets its share (else the first writable socket takes the whole allowance,
  // and one connection's keys would repeat long before the run ends).
  double rate = initialRate;
  uint64_t rateT0 = t0, generatedAtRateT0 = 0;
  uint64_t generated = 0;
  const auto allowance = [&](const Conn& c) -> int64_t {
    if (rate <= 0) return INT64_MAX;
    return int64_t(rate / conns * double(bench::mono_ns() - rateT0) / 1e9) - int64_t(c.next - c.nextAtRateT0);
  };
  Commands commands;
  const auto onCommand = [&](const std::string& cmd) {
    if (cmd.rfind("rate ", 0) == 0) {
      rate = std::strtod(cmd.c_str() + 5, nullptr);
      rateT0 = bench::mono_ns();
      generatedAtRateT0 = generated;
      for (auto& c : all) c.nextAtRateT0 = c.next;
    } else if (cmd == "stats") {
      uint64_t sent = 0;
      for (const auto& c : all) sent += c.sent;
      bench::emit(bench::Json()
                      .add("event", "stats")
                      .add("frames_sent", sent)
                      .add("rows_sent", sent * uint64_t(results))
                      .add("closed", closed)
                      .str());
    }
  };
  const auto readCommands = [&] {
    if (!commands.readAvailable(onCommand)) stop = true;
  };
  while (!stop && bench::mono_ns() < end) {
    // Frames the rate allows right now; with none left, wait for the clock (or a command) instead
    // of the sockets.
    int64_t budget = INT64_MAX;
    if (rate > 0) {
      budget = int64_t(rate * double(bench::mono_ns() - rateT0) / 1e9) - int64_t(generated - generatedAtRateT0);
      if (budget <= 0) {
        pollfd in{0, POLLIN, 0};
        if (::poll(&in, 1, 1) > 0) readCommands();
        continue;
      }
    }
    const int n = epoll_wait(ep, events.data(), int(events.size()), 20);
    bool progressed = false;
    for (int i = 0; i < n; ++i) {
      if (events[size_t(i)].data.ptr == nullptr) {
        readCommands();
        continue;
      }
      Conn& c = *static_cast<Conn*>(events[size_t(i)].data.ptr);
      if (c.dead) continue;
      // At most 256 KiB per connection per wake-up, so one fast reader cannot starve the rest.
      for (size_t sent = 0; sent < (256u << 10);) {
        if (c.off == c.out.size()) {
          int64_t own = std::min(budget, allowance(c));
          if (own <= 0) break;
          c.out.clear();
          c.off = 0;
          while (c.out.size() < 16384 && own > 0) {
            generate(c, results, modids, scratch);
            ++generated;
            --budget;
            --own;
          }
        }
        const ssize_t w = ::write(c.fd, c.out.data() + c.off, c.out.size() - c.off);
        if (w > 0) {
          c.off += size_t(w);
          sent += size_t(w);
          bytes += uint64_t(w);
          progressed = true;
          while (!c.ends.empty() && c.ends.front() <= c.off) {
            c.ends.pop_front();
            ++c.sent;
          }
          continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) break;
        c.dead = true;
        ++closed;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        break;
      }
    }
    if (!progressed && n > 0) {
      // Writable sockets but none with an allowance left (others are behind): wait for the clock.
      pollfd in{0, POLLIN, 0};
      if (::poll(&in, 1, 1) > 0) readCommands();
    }
  }
  const double wall = double(bench::mono_ns() - t0) / 1e9;
  uint64_t frames = 0, sent = 0;
  for (auto& c : all) {
    frames += c.next;
    sent += c.sent;
  }
  bench::emit(bench::Json()
                  .add("event", "result")
                  .add("seconds", wall)
                  .add("frames_generated", frames)
                  .add("rows_generated", frames * uint64_t(results))
                  .add("frames_sent", sent)
                  .add("bytes_written", bytes)
                  .add("closed", closed)
                  .add("cpu_percent", cpu.percent())
                  .str());
  for (auto& c : all) ::close(c.fd);
  return 0;
}
