// lars_reactor tests: real sockets on 127.0.0.1, port 0. Every wait is for a condition with a
// deadline, never a fixed sleep.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "check.h"
#include "udp_test_socket.h"
#include "reactor/BatchQueue.h"
#include "reactor/Buffer.h"
#include "reactor/Counters.h"
#include "reactor/EventLoop.h"
#include "reactor/EventLoopThread.h"
#include "reactor/InetAddress.h"
#include "reactor/Log.h"
#include "reactor/TcpConnection.h"
#include "reactor/TcpServer.h"
#include "reactor/TcpServerHost.h"
#include "reactor/UdpServer.h"

using namespace lars::reactor;
using lars::test::loopback;
using lars::test::UdpTestSocket;
using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = 1500ms;

// Polls pred until it holds or the deadline passes; returns its final value.
template <typename Pred>
bool waitFor(Pred pred, std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return pred();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::string frame(int32_t msgid, const std::string& body) {
  Buffer b;
  b.appendInt32LE(msgid);
  b.appendInt32LE(static_cast<int32_t>(body.size()));
  b.append(body);
  return b.retrieveAllAsString();
}

void setTimeouts(int fd) {
  timeval tv{1, 500000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A blocking TCP client with 1.5 s read/write timeouts.
class Client {
 public:
  explicit Client(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    setTimeouts(fd_);
    const sockaddr_in a = loopback(port);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes with RST instead of FIN.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }
  void shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  bool writeAll(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool readExact(size_t n, std::string* out) {
    out->resize(n);
    size_t off = 0;
    while (off < n) {
      const ssize_t r = ::recv(fd_, &(*out)[off], n - off, 0);
      if (r <= 0) return false;
      off += static_cast<size_t>(r);
    }
    return true;
  }
  bool readFrame(int32_t* msgid, std::string* body) {
    std::string header;
    if (!readExact(8, &header)) return false;
    Buffer b;
    b.append(header);
    *msgid = b.peekInt32LE(0);
    const int32_t len = b.peekInt32LE(4);
    return len >= 0 && readExact(static_cast<size_t>(len), body);
  }
  // True when the server closed the connection (EOF or reset) before the timeout.
  bool sawClose() {
    char c;
    for (;;) {
      const ssize_t r = ::recv(fd_, &c, 1, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// One echo round trip of a frame; true when the echo matches.
bool echoes(Client& c, int32_t msgid, const std::string& body) {
  if (!c.writeAll(frame(msgid, body))) return false;
  int32_t id = 0;
  std::string got;
  return c.readFrame(&id, &got) && id == msgid && got == body;
}

// A TcpServer on a base loop thread; torn down in the base loop, as its header asks.
struct Server {
  EventLoopThread baseThread;
  EventLoop* base = nullptr;
  std::unique_ptr<TcpServer> server;

  template <typename Configure>
  Server(int threads, Configure&& configure) {
    base = baseThread.startLoop();
    server = std::make_unique<TcpServer>(base, InetAddress(0, true), "test");
    server->setThreadNum(threads);
    configure(*server);
    server->start();
  }
  ~Server() { stop(); }
  void stop() {
    if (server) base->runInLoopAndWait([this] { server.reset(); });
  }
  uint16_t port() const { return server->listenAddress().port(); }
  Counters& counters() { return server->counters(); }
};

void echoFrames(TcpServer& s) {
  s.setFrameCallback([](const TcpConnectionPtr& conn, int32_t msgid, const char* body, size_t len) {
    conn->sendFrame(msgid, body, len);
  });
}

}  // namespace

// ---------------------------------------------------------------- EventLoop

TEST(loop_runs_functors_from_another_thread) {
  EventLoopThread thread;
  EventLoop* loop = thread.startLoop();
  CHECK(!loop->isInLoopThread());
  std::vector<int> order;  // loop thread only
  std::atomic<int> outside{0};
  for (int i = 0; i < 1000; ++i) {
    loop->runInLoop([&, i] {
      if (!loop->isInLoopThread()) ++outside;
      order.push_back(i);
    });
  }
  bool inLoop = false;
  loop->runInLoopAndWait([&] { inLoop = loop->isInLoopThread() && EventLoop::ofCurrentThread() == loop; });
  CHECK(inLoop);
  CHECK_EQ(outside.load(), 0);
  CHECK_EQ(order.size(), 1000u);
  bool sorted = true;
  for (int i = 0; i < static_cast<int>(order.size()); ++i) sorted = sorted && order[i] == i;
  CHECK(sorted);
}

TEST(loop_functor_queued_from_a_functor_runs) {
  EventLoopThread thread;
  EventLoop* loop = thread.startLoop();
  std::atomic<bool> ran{false};
  loop->queueInLoop([&] { loop->queueInLoop([&] { ran = true; }); });
  CHECK(waitFor([&] { return ran.load(); }));
}

TEST(timers_fire_in_order) {
  EventLoopThread thread;
  EventLoop* loop = thread.startLoop();
  std::mutex mu;
  std::vector<std::string> fired;
  auto record = [&](std::string what) {
    return [&, what] {
      std::lock_guard<std::mutex> lock(mu);
      fired.push_back(what);
    };
  };
  const TimePoint now = Clock::now();
  loop->runAt(now + 30ms, record("30"));
  loop->runAt(now + 10ms, record("10"));
  const TimerId cancelled = loop->runAt(now + 25ms, record("25"));
  loop->runAt(now + 15ms, record("15a"));
  loop->runAt(now + 15ms, record("15b"));  // same instant: insertion order
  loop->runAt(now + 20ms, record("20"));
  loop->cancel(cancelled);
  CHECK(waitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return fired.size() == 5;
  }));
  std::lock_guard<std::mutex> lock(mu);
  CHECK(fired == (std::vector<std::string>{"10", "15a", "15b", "20", "30"}));
}

TEST(run_every_repeats_until_cancelled) {
  EventLoopThread thread;
  EventLoop* loop = thread.startLoop();
  std::atomic<int> ticks{0};
  std::atomic<bool> marker{false};
  TimerId id = 0;
  // Arm it inside the loop so the id is set before the first tick can read it.
  loop->runInLoopAndWait([&] {
    id = loop->runEvery(2ms, [&] {
      if (++ticks == 5) {
        loop->cancel(id);  // a repeating timer cancelling itself
        loop->runAfter(20ms, [&] { marker = true; });
      }
    });
  });
  CHECK(waitFor([&] { return marker.load(); }));
  CHECK_EQ(ticks.load(), 5);
}

TEST(quit_before_loop_returns_at_once) {
  std::atomic<bool> returned{false};
  std::thread t([&] {
    EventLoop loop;
    loop.quit();
    loop.loop();
    returned = true;
  });
  t.join();
  CHECK(returned.load());
}

TEST(run_in_loop_and_wait_passes_the_exception_back) {
  EventLoopThread thread;
  EventLoop* loop = thread.startLoop();
  std::string caught;
  try {
    loop->runInLoopAndWait([] { throw std::runtime_error("boom"); });
  } catch (const std::runtime_error& e) {
    caught = e.what();
  }
  CHECK_EQ(caught, std::string("boom"));
  bool ran = false;
  loop->runInLoopAndWait([&] { ran = true; });  // the loop goes on
  CHECK(ran);
}

TEST(run_in_loop_and_wait_on_a_quit_loop_throws_instead_of_blocking) {
  // The loop object outlives its loop() here, as it may for any owner that quits it first.
  std::promise<EventLoop*> made;
  std::promise<void> release;
  std::atomic<bool> loopReturned{false};
  std::thread t([&] {
    EventLoop loop;
    made.set_value(&loop);
    loop.loop();
    loopReturned = true;
    release.get_future().wait();
  });
  EventLoop* loop = made.get_future().get();
  loop->quit();
  CHECK(waitFor([&] { return loopReturned.load(); }));
  // The waiter runs on its own thread so that a regression fails the check instead of hanging.
  auto outcome = std::make_shared<std::atomic<int>>(0);  // 1 LoopQuitError, 2 returned, 3 other
  std::thread([loop, outcome] {
    try {
      loop->runInLoopAndWait([] {});
      *outcome = 2;
    } catch (const LoopQuitError&) {
      *outcome = 1;
    } catch (...) {
      *outcome = 3;
    }
  }).detach();
  CHECK(waitFor([&] { return outcome->load() != 0; }));
  CHECK_EQ(outcome->load(), 1);
  release.set_value();
  t.join();
}

namespace {

// Runs body in a forked child whose descriptor limit leaves `spare` descriptors free, and
// returns its wait status. The limit is the child's alone; the fork keeps std::terminate (an
// exception escaping a loop thread) from taking the test binary down with it.
template <typename Body>
int inChildWithDescriptors(int spare, Body body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int lowestFree = ::dup(0);
    ::close(lowestFree);
    const rlimit lim{static_cast<rlim_t>(lowestFree + spare), static_cast<rlim_t>(lowestFree + spare)};
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(10);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// 0 when fn threw std::system_error EMFILE, 1 when it returned, 2 for another exception.
template <typename Fn>
int emfileOutcome(Fn fn) {
  try {
    fn();
    return 1;
  } catch (const std::system_error& e) {
    return e.code().value() == EMFILE ? 0 : 2;
  } catch (...) {
    return 2;
  }
}

}  // namespace

TEST(loop_thread_without_descriptors_throws_to_the_starter) {
  const int status = inChildWithDescriptors(0, [] {
    return emfileOutcome([] {
      EventLoopThread thread;
      thread.startLoop();
    });
  });
  CHECK(WIFEXITED(status));  // not killed by SIGABRT
  CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
}

TEST(loop_thread_init_exception_reaches_the_starter) {
  EventLoopThread thread([](EventLoop*) { throw std::runtime_error("init failed"); });
  std::string caught;
  try {
    thread.startLoop();
  } catch (const std::runtime_error& e) {
    caught = e.what();
  }
  CHECK_EQ(caught, std::string("init failed"));
}

TEST(server_host_whose_io_loops_lack_descriptors_throws_and_joins) {
  // Room for the accepting loop and the listening socket, not for eight I/O loops.
  for (int spare : {0, 3, 6, 9}) {
    const int status = inChildWithDescriptors(spare, [] {
      return emfileOutcome([] {
        ListenOptions o;
        o.ip = "127.0.0.1";
        o.ioThreads = 8;
        TcpServerHost host(o, "test", [](TcpServer&) {});
      });
    });
    CHECK(WIFEXITED(status));
    CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
  }
}

// ---------------------------------------------------------------- Buffer, Counters, BatchQueue

TEST(buffer_regions_and_readfd) {
  Buffer b(16);
  CHECK_EQ(b.prependableBytes(), Buffer::kCheapPrepend);
  b.append("hello world", 11);
  CHECK_EQ(b.readableBytes(), 11u);
  CHECK_EQ(b.retrieveAsString(6), std::string("hello "));
  b.appendInt32LE(-2);
  CHECK_EQ(b.peekInt32LE(5), -2);
  const char hdr[2] = {'x', 'y'};
  b.prepend(hdr, 2);
  CHECK_EQ(b.retrieveAsString(7), std::string("xyworld"));

  // readFd takes more than the writable region in one call, through the stack buffer.
  int fds[2];
  CHECK(::pipe(fds) == 0);
  std::string big(40000, 'z');
  CHECK_EQ(::write(fds[1], big.data(), big.size()), static_cast<ssize_t>(big.size()));
  Buffer in(8);
  int err = 0;
  const ssize_t n = in.readFd(fds[0], &err);
  CHECK_EQ(n, static_cast<ssize_t>(big.size()));
  CHECK(in.retrieveAllAsString() == big);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(counters_export_as_a_batch) {
  Counters c;
  bump(c.frames_in, 3);
  bump(c.datagrams_dropped);
  uint64_t values[Counters::kCount];
  c.readInto(values);
  const CountersSnapshot s = c.snapshot();
  size_t i = 0;
  bool same = true;
  s.forEach([&](const char* name, uint64_t v) {
    same = same && std::strcmp(name, Counters::names()[i]) == 0 && v == values[i];
    ++i;
  });
  CHECK(same);
  CHECK_EQ(i, Counters::kCount);
  CHECK_EQ(s.frames_in, 3u);
  CHECK_EQ(s.datagrams_dropped, 1u);
}

TEST(batch_queue_notifies_once_per_batch) {
  std::atomic<int> notified{0};
  BatchQueue<int> q([&] { ++notified; }, 3);
  CHECK(q.push(1));
  CHECK(q.push(2));
  CHECK(q.push(3));
  CHECK(!q.push(4));  // full: dropped and counted
  CHECK_EQ(notified.load(), 1);
  CHECK_EQ(q.dropped(), 1u);
  CHECK(q.drain() == (std::vector<int>{1, 2, 3}));
  CHECK(q.push(5));
  CHECK_EQ(notified.load(), 2);
}

// ---------------------------------------------------------------- TCP

TEST(tcp_echo_frames_split_at_every_byte_boundary) {
  Server s(1, echoFrames);
  Client c(s.port());
  CHECK(c.connected());
  const std::string body = "route request body";
  const std::string whole = frame(7, body);
  uint64_t sent = 0;
  for (size_t split = 1; split < whole.size(); ++split) {
    // The server must see the first part alone: wait until it has read it.
    CHECK(c.writeAll(whole.substr(0, split)));
    sent += split;
    CHECK(waitFor([&] { return s.counters().bytes_in.load() == sent; }));
    CHECK(c.writeAll(whole.substr(split)));
    sent += whole.size() - split;
    int32_t id = 0;
    std::string got;
    CHECK(c.readFrame(&id, &got));
    CHECK_EQ(id, 7);
    CHECK(got == body);
  }
  CHECK_EQ(s.counters().frames_in.load(), whole.size() - 1);
  // An empty body is a frame too.
  CHECK(echoes(c, 3, ""));
}

TEST(tcp_many_frames_in_one_write) {
  Server s(2, echoFrames);
  Client c(s.port());
  std::string burst;
  for (int i = 0; i < 300; ++i) burst += frame(i, std::string(static_cast<size_t>(i % 50), 'a' + i % 26));
  CHECK(c.writeAll(burst));
  bool allMatch = true;
  for (int i = 0; i < 300; ++i) {
    int32_t id = -1;
    std::string got;
    allMatch = allMatch && c.readFrame(&id, &got) && id == i &&
               got == std::string(static_cast<size_t>(i % 50), 'a' + i % 26);
  }
  CHECK(allMatch);
  CHECK_EQ(s.counters().frames_in.load(), 300u);
  CHECK(waitFor([&] { return s.counters().frames_out.load() == 300u; }));
}

TEST(tcp_bad_length_closes_only_that_connection) {
  Server s(2, echoFrames);
  Client good(s.port());
  CHECK(echoes(good, 1, "before"));

  Client negative(s.port());
  Buffer b;
  b.appendInt32LE(1);
  b.appendInt32LE(-1);
  CHECK(negative.writeAll(b.retrieveAllAsString()));
  CHECK(negative.sawClose());

  Client oversized(s.port());
  CHECK(oversized.writeAll(frame(1, "ok") + std::string("\x01\x00\x00\x00\xf8\xff\x00\x00", 8)));  // 65528
  int32_t id = 0;
  std::string got;
  CHECK(oversized.readFrame(&id, &got));  // the good frame before the bad header was served
  CHECK(got == "ok");
  CHECK(oversized.sawClose());

  CHECK(waitFor([&] { return s.counters().protocol_errors.load() == 2u; }));
  CHECK(echoes(good, 2, "after"));
  CHECK(waitFor([&] { return s.server->connectionCount() == 1u; }));
}

TEST(tcp_max_connections_rejects_and_counts) {
  Server s(1, [](TcpServer& srv) {
    echoFrames(srv);
    srv.setMaxConnections(2);
  });
  Client a(s.port());
  Client b(s.port());
  CHECK(waitFor([&] { return s.server->connectionCount() == 2u; }));
  Client c(s.port());
  CHECK(c.connected());  // the kernel accepts; the server closes it at once
  CHECK(c.sawClose());
  CHECK_EQ(s.counters().connections_rejected_maxconn.load(), 1u);
  CHECK(echoes(a, 1, "a"));
  CHECK(echoes(b, 2, "b"));
  a.close();
  CHECK(waitFor([&] { return s.server->connectionCount() == 1u; }));
  Client d(s.port());  // the server went on
  CHECK(echoes(d, 4, "d"));
  CHECK_EQ(s.counters().connections_accepted.load(), 3u);
}

TEST(tcp_out_of_descriptors_accepts_closes_and_counts) {
  Server s(0, echoFrames);
  // The client's socket exists before the process runs out of descriptors; connect needs none.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setTimeouts(fd);
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 256);
  ::setrlimit(RLIMIT_NOFILE, &low);
  std::vector<int> hogs;
  for (int h; (h = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) hogs.push_back(h);
  const sockaddr_in a = loopback(s.port());
  CHECK(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  CHECK(waitFor([&] { return s.counters().connections_rejected_fd.load() == 1u; }));
  char c;
  const ssize_t r = ::recv(fd, &c, 1, 0);
  CHECK(r == 0 || (r < 0 && errno == ECONNRESET));  // closed by the server, not left hanging
  ::close(fd);
  for (int h : hogs) ::close(h);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  Client after(s.port());  // the server went on
  CHECK(echoes(after, 1, "fds again"));
  CHECK_EQ(s.counters().connections_accepted.load(), 1u);
}

TEST(tcp_peer_that_never_reads_is_disconnected_at_output_cap) {
  std::atomic<int> disconnects{0};
  Server s(1, [&](TcpServer& srv) {
    srv.setOutputCap(256 * 1024);
    srv.setDisconnectCallback([&](const TcpConnectionPtr&) { ++disconnects; });
    srv.setFrameCallback([](const TcpConnectionPtr& conn, int32_t, const char*, size_t) {
      const std::string chunk(60000, 'p');
      for (int i = 0; i < 2000 && conn->connected(); ++i) conn->sendFrame(2, chunk.data(), chunk.size());
    });
  });
  Client c(s.port(), 4096);
  CHECK(c.writeAll(frame(1, "flood me")));
  CHECK(waitFor([&] { return disconnects.load() == 1; }));
  CHECK_EQ(s.counters().output_overflow_closes.load(), 1u);
  CHECK(waitFor([&] { return s.server->connectionCount() == 0u; }));
}

TEST(tcp_half_close_by_peer_flushes_replies_then_closes) {
  std::atomic<int> disconnects{0};
  constexpr int kFrames = 40;
  const std::string chunk(50000, 'h');
  Server s(1, [&](TcpServer& srv) {
    srv.setOutputCap(8 * 1024 * 1024);
    srv.setDisconnectCallback([&](const TcpConnectionPtr&) { ++disconnects; });
    srv.setFrameCallback([&](const TcpConnectionPtr& conn, int32_t, const char*, size_t) {
      for (int i = 0; i < kFrames; ++i) conn->sendFrame(i, chunk.data(), chunk.size());
    });
  });
  // A small receive window keeps most of the reply pending on the server when our FIN arrives.
  Client c(s.port(), 4096);
  CHECK(c.writeAll(frame(1, "then I stop writing")));
  c.shutdownWrite();
  bool all = true;
  for (int i = 0; i < kFrames; ++i) {
    int32_t id = -1;
    std::string got;
    all = all && c.readFrame(&id, &got) && id == i && got == chunk;
  }
  CHECK(all);
  CHECK(c.sawClose());
  CHECK(waitFor([&] { return disconnects.load() == 1; }));
}

TEST(tcp_server_shutdown_half_closes_after_pending_output) {
  Server s(1, [](TcpServer& srv) {
    srv.setFrameCallback([](const TcpConnectionPtr& conn, int32_t msgid, const char* body, size_t len) {
      conn->sendFrame(msgid, body, len);
      conn->shutdown();
    });
  });
  Client c(s.port());
  CHECK(echoes(c, 9, "last words"));
  CHECK(c.sawClose());
}

TEST(tcp_close_hook_runs_once_per_connection) {
  std::mutex mu;
  std::map<uint64_t, int> downs;
  std::atomic<int> ups{0};
  {
    Server s(2, [&](TcpServer& srv) {
      srv.setConnectionCallback([&](const TcpConnectionPtr& conn) {
        CHECK(conn->connected());
        ++ups;
      });
      srv.setDisconnectCallback([&](const TcpConnectionPtr& conn) {
        CHECK(conn->disconnected());
        std::lock_guard<std::mutex> lock(mu);
        ++downs[conn->id()];
      });
      srv.setFrameCallback([](const TcpConnectionPtr& conn, int32_t msgid, const char* body, size_t len) {
        if (msgid == 99) {
          conn->forceClose();
          conn->forceClose();  // twice, from the loop thread too
        } else {
          conn->sendFrame(msgid, body, len);
        }
      });
    });
    auto downCount = [&] {
      std::lock_guard<std::mutex> lock(mu);
      int total = 0;
      for (auto& [id, n] : downs) total += n;
      return total;
    };
    {
      Client peerCloses(s.port());
      CHECK(echoes(peerCloses, 1, "x"));
    }
    CHECK(waitFor([&] { return downCount() == 1; }));
    {
      Client both(s.port());  // the server force-closes while the peer closes too
      CHECK(both.writeAll(frame(99, "")));
    }
    CHECK(waitFor([&] { return downCount() == 2; }));
    {
      Client resets(s.port());
      CHECK(echoes(resets, 1, "x"));
      resets.reset();
    }
    CHECK(waitFor([&] { return downCount() == 3; }));
    Client stillOpen1(s.port());
    Client stillOpen2(s.port());
    CHECK(echoes(stillOpen1, 1, "x"));
    CHECK(echoes(stillOpen2, 1, "x"));
    s.stop();  // tears down the two open connections
    CHECK(stillOpen1.sawClose());
    CHECK(stillOpen2.sawClose());
  }
  std::lock_guard<std::mutex> lock(mu);
  CHECK_EQ(ups.load(), 5);
  CHECK_EQ(downs.size(), 5u);
  bool once = true;
  for (auto& [id, n] : downs) once = once && n == 1;
  CHECK(once);
}

TEST(tcp_send_from_another_thread) {
  std::mutex mu;
  TcpConnectionPtr connection;
  Server s(2, [&](TcpServer& srv) {
    srv.setConnectionCallback([&](const TcpConnectionPtr& conn) {
      conn->context() = std::string("subscriptions");  // the per-connection slot
      std::lock_guard<std::mutex> lock(mu);
      connection = conn;
    });
  });
  Client c(s.port());
  CHECK(waitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return connection != nullptr;
  }));
  TcpConnectionPtr conn;
  {
    std::lock_guard<std::mutex> lock(mu);
    conn = connection;
  }
  CHECK(!conn->getLoop()->isInLoopThread());
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([conn, t] {
      for (int i = 0; i < 25; ++i) conn->sendFrame(t, "push", 4);
    });
  }
  for (auto& t : senders) t.join();
  int perThread[4] = {0, 0, 0, 0};
  bool ok = true;
  for (int i = 0; i < 100; ++i) {
    int32_t id = -1;
    std::string got;
    ok = ok && c.readFrame(&id, &got) && got == "push" && id >= 0 && id < 4;
    if (ok) ++perThread[id];
  }
  CHECK(ok);
  CHECK(perThread[0] == 25 && perThread[1] == 25 && perThread[2] == 25 && perThread[3] == 25);
  CHECK(!conn->sendFrame(1, "", 65528));  // too large for one frame: refused, nothing sent
  std::string ctx;
  conn->getLoop()->runInLoopAndWait([&] { ctx = std::any_cast<std::string>(conn->context()); });
  CHECK(ctx == "subscriptions");
  conn.reset();
  std::lock_guard<std::mutex> lock(mu);
  connection.reset();
}

TEST(tcp_idle_connection_holds_no_buffer_storage) {
  std::mutex mu;
  TcpConnectionPtr connection;
  const std::string big(2 * 1024 * 1024, 'b');
  Server s(1, [&](TcpServer& srv) {
    srv.setConnectionCallback([&](const TcpConnectionPtr& conn) {
      std::lock_guard<std::mutex> lock(mu);
      connection = conn;
    });
    srv.setFrameCallback([&](const TcpConnectionPtr& conn, int32_t msgid, const char* body, size_t len) {
      if (msgid == 2) {
        conn->send(big.data(), big.size());  // more than the socket takes: the rest is queued
      } else {
        conn->sendFrame(msgid, body, len);
      }
    });
  });
  Client c(s.port(), 4096);
  CHECK(echoes(c, 1, std::string(3000, 'r')));
  CHECK(c.writeAll(frame(2, "")));
  std::string got;
  CHECK(c.readExact(big.size(), &got));
  CHECK(got == big);
  CHECK(echoes(c, 3, "idle from here on"));
  TcpConnectionPtr conn;
  {
    std::lock_guard<std::mutex> lock(mu);
    conn = connection;
  }
  CHECK(conn != nullptr);
  // Wait for the queued output to drain on the loop, then look at both buffers there.
  size_t in = 0, out = 0;
  CHECK(waitFor([&] {
    conn->getLoop()->runInLoopAndWait([&] {
      in = conn->inputBuffer()->capacity();
      out = conn->outputBuffer()->capacity();
    });
    return in == Buffer::kCheapPrepend && out == Buffer::kCheapPrepend;
  }));
  CHECK_EQ(in, Buffer::kCheapPrepend);
  CHECK_EQ(out, Buffer::kCheapPrepend);
  conn.reset();
  std::lock_guard<std::mutex> lock(mu);
  connection.reset();
}

TEST(tcp_raw_message_callback) {
  Server s(0, [](TcpServer& srv) {
    srv.setMessageCallback([](const TcpConnectionPtr& conn, Buffer* in) {
      // Echo complete lines only.
      const std::string_view v = in->view();
      const size_t nl = v.rfind('\n');
      if (nl == std::string_view::npos) return;
      conn->send(std::string(v.substr(0, nl + 1)));
      in->retrieve(nl + 1);
    });
  });
  Client c(s.port());
  CHECK(c.writeAll("abc"));
  CHECK(c.writeAll("def\nxy"));
  std::string got;
  CHECK(c.readExact(7, &got));
  CHECK(got == "abcdef\n");
}

TEST(pool_shutdown_with_open_connections) {
  std::atomic<int> downs{0};
  std::vector<std::unique_ptr<Client>> clients;
  Server s(3, [&](TcpServer& srv) {
    echoFrames(srv);
    srv.setDisconnectCallback([&](const TcpConnectionPtr&) { ++downs; });
  });
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<Client>(s.port()));
    CHECK(echoes(*clients.back(), i, "up"));
  }
  // One of them has output pending and more in flight when the server goes away.
  CHECK(clients[0]->writeAll(frame(1, std::string(1000, 'q'))));
  CHECK_EQ(s.server->connectionCount(), 6u);
  s.stop();
  CHECK_EQ(downs.load(), 6);
  bool allClosed = true;
  for (auto& c : clients) {
    // Drain whatever echo made it out, then the close.
    allClosed = allClosed && c->sawClose();
  }
  CHECK(allClosed);
}

// ---------------------------------------------------------------- UDP

namespace {
struct Udp {
  EventLoopThread thread;
  EventLoop* loop = nullptr;
  std::unique_ptr<UdpServer> server;

  template <typename Configure>
  explicit Udp(Configure&& configure) {
    loop = thread.startLoop();
    server = std::make_unique<UdpServer>(loop, InetAddress(0, true), "udp-test");
    server->socket().setReceiveBufferSize(1 << 20);
    configure(*server);
    server->start();
  }
  ~Udp() {
    loop->runInLoopAndWait([this] { server.reset(); });
  }
  uint16_t port() const { return server->localAddress().port(); }
};
}  // namespace

TEST(udp_datagram_round_trip) {
  Udp u([](UdpServer& srv) {
    srv.setDatagramCallback([&srv](const char* data, size_t len, const InetAddress& peer) {
      CHECK(srv.getLoop()->isInLoopThread());
      CHECK_EQ(peer.toIp(), std::string("127.0.0.1"));
      srv.sendTo(data, len, peer);
    });
  });
  UdpTestSocket c;
  CHECK(c.sendTo(u.port(), "ping"));
  std::string got;
  uint16_t from = 0;
  CHECK(c.recv(&got, &from));
  CHECK(got == "ping");
  CHECK_EQ(from, u.port());
  CHECK_EQ(u.server->counters().datagrams_in.load(), 1u);
  // Bumped after sendto returns, which may be after the reply arrived.
  CHECK(waitFor([&] { return u.server->counters().datagrams_out.load() == 1u; }));
}

TEST(udp_busy_poll_answers_then_sleeps_again) {
  Udp u([](UdpServer& srv) {
    srv.setDatagramCallback(
        [&srv](const char* data, size_t len, const InetAddress& peer) { srv.sendTo(data, len, peer); });
  });
  u.loop->setBusyPoll(2ms);
  UdpTestSocket c;
  for (int i = 0; i < 50; ++i) {
    const std::string ping = "ping-" + std::to_string(i);
    CHECK(c.sendTo(u.port(), ping));
    std::string got;
    CHECK(c.recv(&got));
    CHECK(got == ping);
  }
  std::atomic<bool> ran{false};
  u.loop->queueInLoop([&] { ran = true; });
  CHECK(waitFor([&] { return ran.load(); }));
  std::atomic<bool> fired{false};
  u.loop->runAfter(1ms, [&] { fired = true; });
  CHECK(waitFor([&] { return fired.load(); }));
  // Idle again: the loop stops iterating (it sleeps in epoll_wait) once the spin window is over.
  CHECK(waitFor([&] {
    const uint64_t before = u.loop->iteration();
    std::this_thread::sleep_for(20ms);
    return u.loop->iteration() == before;
  }));
}

TEST(udp_burst_of_datagrams) {
  Udp u([](UdpServer& srv) {
    srv.setDatagramCallback(
        [&srv](const char* data, size_t len, const InetAddress& peer) { srv.sendTo(data, len, peer); });
  });
  UdpTestSocket c;
  constexpr int kBurst = 100;
  std::set<std::string> replies;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kBurst; ++i) CHECK(c.sendTo(u.port(), "dgram-" + std::to_string(round * kBurst + i)));
    for (int i = 0; i < kBurst; ++i) {
      std::string got;
      if (c.recv(&got)) replies.insert(got);
    }
  }
  CHECK_EQ(replies.size(), static_cast<size_t>(2 * kBurst));
  CHECK_EQ(u.server->counters().datagrams_in.load(), static_cast<uint64_t>(2 * kBurst));
  CHECK_EQ(u.server->counters().datagrams_dropped.load(), 0u);
}

TEST(udp_frames_malformed_datagrams_are_dropped_and_counted) {
  Udp u([](UdpServer& srv) {
    srv.setFrameCallback([&srv](int32_t msgid, const char* body, size_t len, const InetAddress& peer) {
      srv.sendFrameTo(msgid + 1, body, len, peer);
    });
  });
  UdpTestSocket c;
  CHECK(c.sendTo(u.port(), "short"));                        // < 8 bytes
  CHECK(c.sendTo(u.port(), frame(4, "body") + "trailing"));  // size != 8 + msglen
  CHECK(c.sendTo(u.port(), frame(4, "body").substr(0, 10))); // cut short
  CHECK(c.sendTo(u.port(), frame(4, "get host")));
  std::string got;
  CHECK(c.recv(&got));
  CHECK(got == frame(5, "get host"));
  CHECK(waitFor([&] { return u.server->counters().datagrams_in.load() == 4u; }));
  CHECK_EQ(u.server->counters().datagrams_dropped.load(), 3u);
}

// The native log lines match src/log.ts: the same text layout, and JSON that escapes what it must.
TEST(log_lines_in_text_and_json) {
  using lars::reactor::LogFormat;
  const int64_t t = 1767323045006;  // 2026-01-02T03:04:05.006Z
  CHECK_EQ(lars::reactor::formatLogLine(LogFormat::Text, t, "warn", "dns", "reactor", "accept: EMFILE"),
           std::string("2026-01-02T03:04:05.006Z WARN  [reactor] accept: EMFILE"));
  CHECK_EQ(lars::reactor::formatLogLine(LogFormat::Json, t, "error", "agent", "reactor", "a \"b\"\\\n\x01"),
           std::string("{\"time\":\"2026-01-02T03:04:05.006Z\",\"level\":\"error\",\"role\":\"agent\",\"component\":\"reactor\","
                       "\"msg\":\"a \\\"b\\\"\\\\\\n\\u0001\"}"));
  // Before a daemon names its role, a JSON line names the component as the role.
  CHECK_EQ(lars::reactor::formatLogLine(LogFormat::Json, t, "info", "", "dns", "x"),
           std::string("{\"time\":\"2026-01-02T03:04:05.006Z\",\"level\":\"info\",\"role\":\"dns\",\"component\":\"dns\",\"msg\":\"x\"}"));
}
