// CallRowBuffer: coalescing by key, the bound, take order and restore, as src/report/report-buffer.ts.
// ReportServer: a stop that keeps the buffer, rows decoded with their call time (real sockets on 127.0.0.1, port 0).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "check.h"
#include "report/CallRowBuffer.h"
#include "report/ReportServer.h"
#include "wire/messages.h"

using lars::report::CallRow;
using lars::report::CallRowBuffer;
using lars::report::ReportServer;

namespace {

// Polls pred until it holds or 1.5 s pass; returns its final value.
template <typename Pred>
bool waitFor(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A blocking connection to 127.0.0.1:port; -1 when refused.
int connectLoopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return fd;
  ::close(fd);
  return -1;
}

CallRow row(uint32_t port, uint32_t succ, int32_t caller = 1) {
  return CallRow{7, 1, -1062731343, port, caller, succ, 0, 1700000000, 0};
}

}  // namespace

TEST(latest_values_of_a_key_win_and_keep_its_place) {
  CallRowBuffer buf(10);
  buf.add({row(80, 1), row(81, 1), row(80, 2)});
  CHECK_EQ(buf.size(), size_t{2});
  CHECK_EQ(buf.accepted(), uint64_t{3});
  const auto rows = buf.take(10);
  CHECK_EQ(rows.size(), size_t{2});
  CHECK_EQ(rows[0].port, uint32_t{80});
  CHECK_EQ(rows[0].succ, uint32_t{2});
  CHECK_EQ(rows[1].port, uint32_t{81});
  CHECK_EQ(buf.size(), size_t{0});
}

TEST(past_the_bound_new_keys_are_dropped_known_keys_still_update) {
  CallRowBuffer buf(2);
  CHECK_EQ(buf.add({row(80, 1), row(81, 1), row(82, 1)}), size_t{1});
  CHECK_EQ(buf.add({row(80, 5)}), size_t{0});
  CHECK_EQ(buf.dropped(), uint64_t{1});
  CHECK_EQ(buf.size(), size_t{2});
  const auto taken = buf.take(1);
  CHECK_EQ(taken[0].succ, uint32_t{5});
}

TEST(take_returns_at_most_max_oldest_first) {
  CallRowBuffer buf(100);
  for (uint32_t p = 1; p <= 5; ++p) buf.add({row(p, p)});
  const auto first = buf.take(2);
  CHECK_EQ(first.size(), size_t{2});
  CHECK_EQ(first[0].port, uint32_t{1});
  CHECK_EQ(first[1].port, uint32_t{2});
  CHECK_EQ(buf.take(100).size(), size_t{3});
}

TEST(restore_puts_rows_back_first_unless_a_newer_value_arrived) {
  CallRowBuffer buf(100);
  buf.add({row(80, 1), row(81, 1)});
  const auto failed = buf.take(2);
  buf.add({row(90, 1), row(81, 9)});  // 81 came back with newer values
  buf.restore(failed);
  const auto rows = buf.take(10);
  CHECK_EQ(rows.size(), size_t{3});
  CHECK_EQ(rows[0].port, uint32_t{80});  // restored ahead of the rest
  CHECK_EQ(rows[1].port, uint32_t{90});
  CHECK_EQ(rows[2].port, uint32_t{81});
  CHECK_EQ(rows[2].succ, uint32_t{9});  // the newer value, not the restored one
}

TEST(callers_are_part_of_the_key) {
  CallRowBuffer buf(100);
  buf.add({row(80, 1, 1), row(80, 1, 2)});
  CHECK_EQ(buf.size(), size_t{2});
}

TEST(stop_serving_closes_the_listener_and_keeps_the_held_rows) {
  ReportServer server(lars::reactor::ListenOptions{"127.0.0.1", 0, 1, 100, 1 << 20}, 100);
  const int fd = connectLoopback(server.port());
  CHECK(fd >= 0);
  lars::wire::ReportStatusRequest req;
  req.modid = 7;
  req.cmdid = 1;
  req.caller = 1;
  req.ts = 1700000000;
  for (int32_t port : {80, 81}) req.results.push_back(lars::wire::HostCallResult{0x0A000001, port, 1, 0, false});
  // The second node's window had timed calls: its row carries the call time, a sum past 2^32 µs included.
  req.results[1].usetime_sum_us = (uint64_t{1} << 33) + 5;
  req.results[1].usetime_max_us = 4000000000u;
  req.results[1].timed_calls = 3;
  std::vector<uint8_t> frame;
  lars::wire::append_frame(lars::wire::kReportStatusRequest, req, frame);
  CHECK(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size()));
  CHECK(waitFor([&] { return server.buffer().size() == 2; }));

  server.stopServing();
  const uint16_t port = server.port();
  CHECK(connectLoopback(port) < 0);
  CHECK_EQ(server.stats().reactor.frames_in, uint64_t{1});
  CHECK_EQ(server.stats().connections, uint64_t{0});
  const auto rows = server.buffer().take(10);
  CHECK_EQ(rows.size(), size_t{2});
  CHECK_EQ(rows[0].timedCalls, uint32_t{0});
  CHECK_EQ(rows[1].usetimeSumUs, (uint64_t{1} << 33) + 5);
  CHECK_EQ(rows[1].usetimeMaxUs, uint32_t{4000000000u});
  CHECK_EQ(rows[1].timedCalls, uint32_t{3});
  server.stopServing();
  ::close(fd);
}
