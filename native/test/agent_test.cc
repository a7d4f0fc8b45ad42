// lars_agent tests: a real AgentServer on 127.0.0.1 (three UDP ports), driven over real UDP
// sockets as an API client would. Every wait is for a condition with a deadline, never a fixed sleep.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "agent/AgentServer.h"
#include "check.h"
#include "udp_test_socket.h"
#include "wire/messages.h"

using namespace lars;
using namespace std::chrono_literals;
using agent::AgentServer;

namespace {

constexpr auto kDeadline = 5000ms;

template <typename Pred>
bool waitFor(Pred pred, std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

template <typename Message>
std::string frameOf(int32_t msgid, const Message& m) {
  std::vector<uint8_t> out;
  wire::append_frame(msgid, m, out);
  return std::string(out.begin(), out.end());
}

std::string rawFrame(int32_t msgid, const std::string& body) {
  std::vector<uint8_t> out;
  wire::append_header(out, msgid, static_cast<int32_t>(body.size()));
  return std::string(out.begin(), out.end()) + body;
}

// An API client of the agent over a UDP test socket (its reads time out, so a
// missing reply fails the test instead of hanging it.
struct Client {
  lars::test::UdpTestSocket socket;
  uint32_t seq = 0;

  bool send(uint16_t port, const std::string& bytes) { return socket.sendTo(port, bytes); }

  // The next datagram, as (msgid, body); false on timeout or a malformed reply.
  bool recvFrame(int32_t* msgid, std::vector<uint8_t>* body) {
    std::string datagram;
    if (!socket.recv(&datagram)) return false;
    wire::FrameView f;
    const auto* bytes = reinterpret_cast<const uint8_t*>(datagram.data());
    if (wire::parse_datagram(bytes, datagram.size(), f) != wire::DatagramStatus::kOk) return false;
    *msgid = f.msgid;
    body->assign(f.body, f.body + f.body_len);
    return true;
  }

  // Sends a GetHostRequest and reads replies until the one with its seq.
  wire::GetHostResponse getHost(uint16_t port, int32_t modid, int32_t cmdid) {
    wire::GetHostRequest req;
    req.seq = ++seq;
    req.modid = modid;
    req.cmdid = cmdid;
    send(port, frameOf(wire::kGetHostRequest, req));
    for (;;) {
      int32_t msgid = 0;
      std::vector<uint8_t> body;
      wire::GetHostResponse rsp;
      if (!recvFrame(&msgid, &body)) {
        rsp.retcode = -1;  // timed out
        return rsp;
      }
      if (msgid != wire::kGetHostResponse || !wire::decode(body.data(), body.size(), rsp)) continue;
      if (rsp.seq == req.seq) return rsp;
    }
  }

  bool getRoute(uint16_t port, int32_t modid, int32_t cmdid, wire::GetRouteResponse* out) {
    wire::GetRouteRequest req;
    req.modid = modid;
    req.cmdid = cmdid;
    send(port, frameOf(wire::kApiGetRouteRequest, req));
    int32_t msgid = 0;
    std::vector<uint8_t> body;
    return recvFrame(&msgid, &body) && msgid == wire::kApiGetRouteResponse && wire::decode(body.data(), body.size(), *out);
  }

  void report(uint16_t port, int32_t modid, int32_t cmdid, int32_t ip, int32_t hostPort, int32_t retcode) {
    wire::ReportRequest req;
    req.modid = modid;
    req.cmdid = cmdid;
    req.has_host = true;
    req.host = {ip, hostPort};
    req.retcode = retcode;
    send(port, frameOf(wire::kReportRequest, req));
  }
};

// An agent with the consumer side of its queues recorded.
struct Agent {
  std::atomic<int> pullNotifies{0};
  std::atomic<int> reportNotifies{0};
  std::atomic<int> registerNotifies{0};
  std::unique_ptr<AgentServer> server;

  explicit Agent(agent::AgentOptions options = {}) {
    server = std::make_unique<AgentServer>(
        options, [this] { ++pullNotifies; }, [this] { ++reportNotifies; }, [this] { ++registerNotifies; });
  }
  uint16_t portFor(int32_t modid, int32_t cmdid) const { return server->port(AgentServer::portIndex(modid, cmdid)); }

  // Waits until the pulls drained so far include (modid, cmdid).
  bool waitPull(int32_t modid, int32_t cmdid) {
    return waitFor([&] {
      for (const auto& m : server->drainPulls()) pulled.insert({m.modid, m.cmdid});
      return pulled.count({modid, cmdid}) != 0;
    });
  }
  std::set<std::pair<int32_t, int32_t>> pulled;
};

agent::AgentOptions fastOptions() {
  agent::AgentOptions o;
  o.reportIntervalMs = 10;
  return o;
}

uint64_t dropped(const agent::PortStats& s) {
  return s.reactor.datagrams_dropped + s.badBodies + s.unknownMsgIds + s.balancer.reports_ignored;
}

}  // namespace

TEST(port_index_follows_the_protocol_and_is_never_negative) {
  CHECK_EQ(AgentServer::portIndex(1, 1), 2);
  CHECK_EQ(AgentServer::portIndex(3, 3), 0);
  CHECK_EQ(AgentServer::portIndex(1, 0), 1);
  CHECK_EQ(AgentServer::portIndex(-1, 0), 2);
  CHECK_EQ(AgentServer::portIndex(INT32_MAX, INT32_MAX), static_cast<int>((2LL * INT32_MAX) % 3));
  CHECK_EQ(AgentServer::portIndex(INT32_MIN, INT32_MIN), static_cast<int>(((2LL * INT32_MIN) % 3 + 3) % 3));
}

TEST(binds_three_consecutive_ports) {
  Agent a;
  const uint16_t base = a.server->port(0);
  CHECK(base != 0);
  CHECK_EQ(a.server->port(1), static_cast<uint16_t>(base + 1));
  CHECK_EQ(a.server->port(2), static_cast<uint16_t>(base + 2));
  const agent::AgentStats s = a.server->stats();
  for (int i = 0; i < 3; ++i) CHECK_EQ(s.ports[i].port, static_cast<uint16_t>(base + i));
}

TEST(a_taken_port_is_an_error_not_a_shared_port) {
  Agent first;
  agent::AgentOptions o;
  o.basePort = static_cast<uint16_t>(first.server->port(0) + 1);  // overlaps ports 1 and 2 of the first
  bool threw = false;
  try {
    AgentServer second(o, nullptr, nullptr);
  } catch (const std::system_error& e) {
    threw = e.code().value() == EADDRINUSE;
  }
  CHECK(threw);
  // The first agent still answers.
  Client c;
  CHECK_EQ(c.getHost(first.portFor(5, 5), 5, 5).retcode, static_cast<int32_t>(wire::kRetNoExist));
}

TEST(unknown_module_answers_noexist_then_a_node_after_the_route_arrives) {
  Agent a;
  Client c;
  const uint16_t port = a.portFor(10, 20);
  const wire::GetHostResponse first = c.getHost(port, 10, 20);
  CHECK_EQ(first.retcode, static_cast<int32_t>(wire::kRetNoExist));
  CHECK_EQ(first.seq, c.seq);
  CHECK_EQ(first.modid, 10);
  CHECK_EQ(first.cmdid, 20);
  CHECK(!first.has_host);
  CHECK(a.waitPull(10, 20));
  CHECK(waitFor([&] { return a.pullNotifies.load() >= 1; }));  // notified after the queue unlocks
  // Still pulling: no second pull for the same module.
  CHECK_EQ(c.getHost(port, 10, 20).retcode, static_cast<int32_t>(wire::kRetNoExist));

  a.server->applyRoute(10, 20, {{0x0a000001, 8001}, {static_cast<int32_t>(0xc0a801b1), 8002}});
  wire::GetHostResponse rsp;
  CHECK(waitFor([&] { return (rsp = c.getHost(port, 10, 20)).retcode == wire::kRetSucc; }));
  CHECK(rsp.has_host);
  CHECK(rsp.host.port == 8001 || rsp.host.port == 8002);
  CHECK(a.server->drainPulls().empty());

  wire::GetRouteResponse route;
  CHECK(c.getRoute(port, 10, 20, &route));
  CHECK_EQ(route.modid, 10);
  CHECK_EQ(route.host.size(), 2u);
  CHECK_EQ(route.host[1].ip, static_cast<int32_t>(0xc0a801b1));
}

TEST(seeded_routes_answer_the_very_first_get_host_without_a_pull) {
  // The disk cache's routes are in the balancers before the ports read: no NOEXIST window at start.
  agent::AgentOptions o;
  agent::SeedRoute seed;
  seed.modid = 30;
  seed.cmdid = 40;
  seed.hosts = {{0x0a000009, 9009}};
  o.seeds.push_back(seed);
  Agent a(o);
  Client c;
  const wire::GetHostResponse first = c.getHost(a.portFor(30, 40), 30, 40);
  CHECK_EQ(first.retcode, static_cast<int32_t>(wire::kRetSucc));
  CHECK(first.has_host);
  CHECK_EQ(first.host.port, 9009);
  CHECK(a.server->drainPulls().empty());
}

TEST(round_robin_over_idle_nodes) {
  Agent a;
  Client c;
  const uint16_t port = a.portFor(1, 1);
  c.getHost(port, 1, 1);
  a.server->applyRoute(1, 1, {{0x7f000001, 1}, {0x7f000001, 2}, {0x7f000001, 3}});
  CHECK(waitFor([&] { return c.getHost(port, 1, 1).retcode == wire::kRetSucc; }));
  std::map<int32_t, int> counts;
  for (int i = 0; i < 30; ++i) {
    const wire::GetHostResponse r = c.getHost(port, 1, 1);
    CHECK_EQ(r.retcode, static_cast<int32_t>(wire::kRetSucc));
    ++counts[r.host.port];
  }
  CHECK_EQ(counts.size(), 3u);
  for (const auto& [hostPort, n] : counts) CHECK_EQ(n, 10);
}

TEST(routes_live_on_the_port_of_their_index) {
  Agent a;
  Client c;
  // (2 + 2) % 3 == 1: the route belongs to port 1; port 0 has its own, separate, balancer.
  c.getHost(a.server->port(1), 2, 2);
  a.server->applyRoute(2, 2, {{0x7f000001, 9}});
  CHECK(waitFor([&] { return c.getHost(a.server->port(1), 2, 2).retcode == wire::kRetSucc; }));
  CHECK_EQ(c.getHost(a.server->port(0), 2, 2).retcode, static_cast<int32_t>(wire::kRetNoExist));
  const agent::AgentStats s = a.server->stats();
  CHECK_EQ(s.ports[1].balancer.routes, 1u);
  CHECK_EQ(s.ports[0].balancer.routes, 1u);  // created by the pick, PULLING
  CHECK_EQ(s.ports[2].balancer.routes, 0u);
}

TEST(failing_node_is_overloaded_and_reports_are_collected) {
  agent::AgentOptions o = fastOptions();
  o.balancer.contin_err_limit = 3;
  o.balancer.err_rate = 1.0;  // only consecutive failures overload, for a short test
  Agent a(o);
  Client c;
  const uint16_t port = a.portFor(7, 8);
  c.getHost(port, 7, 8);
  a.server->applyRoute(7, 8, {{0x7f000001, 100}, {0x7f000001, 200}});
  CHECK(waitFor([&] { return c.getHost(port, 7, 8).retcode == wire::kRetSucc; }));
  for (int i = 0; i < 3; ++i) c.report(port, 7, 8, 0x7f000001, 100, wire::kRetOverload);
  c.report(port, 7, 8, 0x7f000001, 200, wire::kRetSucc);
  CHECK(waitFor([&] { return a.server->stats().ports[AgentServer::portIndex(7, 8)].balancer.to_overload == 1; }));
  // Now every ordinary pick goes to the idle node (a probe every probe_num picks may not).
  int to200 = 0;
  for (int i = 0; i < 10; ++i) to200 += c.getHost(port, 7, 8).host.port == 200 ? 1 : 0;
  CHECK_EQ(to200, 10);
  const agent::PortStats ps = a.server->stats().ports[AgentServer::portIndex(7, 8)];
  CHECK_EQ(ps.balancer.overloaded_nodes, 1u);
  CHECK_EQ(ps.balancer.idle_nodes, 1u);

  // Reports may have gone out between the reports above: wait for one showing the final state.
  std::vector<balancer::RouteReport> reports;
  auto finalState = [](const balancer::RouteReport& r) {
    return r.modid == 7 && r.results.size() == 2 && r.results[0].port == 200 && r.results[0].succ == 1 &&
           !r.results[0].overload && r.results[1].port == 100 && r.results[1].overload;
  };
  CHECK(waitFor([&] {
    for (auto& r : a.server->drainReports()) reports.push_back(std::move(r));
    return !reports.empty() && finalState(reports.back());
  }));
  // The queue notifies after releasing its lock, so the drain above can win the race with the
  // notification of the batch it took: wait for it rather than read it once.
  CHECK(waitFor([&] { return a.reportNotifies.load() >= 1; }));
}

TEST(a_report_batch_is_applied_in_order_like_single_reports_and_a_malformed_one_not_at_all) {
  agent::AgentOptions o = fastOptions();
  o.balancer.contin_err_limit = 3;
  o.balancer.err_rate = 1.0;
  Agent a(o);
  Client c;
  const uint16_t port = a.portFor(7, 8);
  const size_t index = static_cast<size_t>(AgentServer::portIndex(7, 8));
  c.getHost(port, 7, 8);
  a.server->applyRoute(7, 8, {{0x7f000001, 100}, {0x7f000001, 200}});
  CHECK(waitFor([&] { return c.getHost(port, 7, 8).retcode == wire::kRetSucc; }));
  auto reportOf = [](int32_t hostPort, int32_t retcode) {
    wire::ReportRequest r;
    r.modid = 7;
    r.cmdid = 8;
    r.has_host = true;
    r.host = {0x7f000001, hostPort};
    r.retcode = retcode;
    return r;
  };
  // Three failures overload node 100; in this order the success for 200 leaves it overloaded.
  wire::ReportBatchRequest batch;
  for (int i = 0; i < 3; ++i) batch.report.push_back(reportOf(100, wire::kRetOverload));
  batch.report.push_back(reportOf(200, wire::kRetSucc));
  const std::string frame = frameOf(wire::kReportBatchRequest, batch);
  // The same batch cut short inside its last report: no report of it may be applied.
  c.send(port, rawFrame(wire::kReportBatchRequest, frame.substr(wire::kHeaderSize, frame.size() - wire::kHeaderSize - 2)));
  c.send(port, frame);
  CHECK(waitFor([&] { return a.server->stats().ports[index].balancer.reports == 4; }));
  const agent::PortStats ps = a.server->stats().ports[index];
  CHECK_EQ(ps.badBodies, 1u);
  CHECK_EQ(ps.balancer.to_overload, 1u);
  CHECK_EQ(ps.balancer.overloaded_nodes, 1u);
  for (int i = 0; i < 5; ++i) CHECK_EQ(c.getHost(port, 7, 8).host.port, 200);
}

TEST(reports_are_batched_per_interval_not_sent_per_call) {
  agent::AgentOptions o;
  o.reportIntervalMs = 60'000;  // the first report of a route goes out on the first tick only
  Agent a(o);
  Client c;
  const uint16_t port = a.portFor(4, 4);
  c.getHost(port, 4, 4);
  a.server->applyRoute(4, 4, {{0x7f000001, 1}});
  CHECK(waitFor([&] { return c.getHost(port, 4, 4).retcode == wire::kRetSucc; }));
  for (int i = 0; i < 50; ++i) c.report(port, 4, 4, 0x7f000001, 1, wire::kRetSucc);
  CHECK(waitFor([&] { return a.server->stats().ports[AgentServer::portIndex(4, 4)].balancer.reports == 50; }));
  CHECK(a.server->drainReports().empty());
  CHECK_EQ(a.reportNotifies.load(), 0);
}

TEST(dns_reconnect_pulls_every_route_again) {
  Agent a;
  Client c;
  const std::vector<std::pair<int32_t, int32_t>> modules = {{1, 1}, {1, 2}, {1, 3}, {9, 9}};
  for (const auto& [m, k] : modules) c.getHost(a.portFor(m, k), m, k);
  for (const auto& [m, k] : modules) CHECK(a.waitPull(m, k));
  a.server->applyRoute(1, 1, {{0x7f000001, 1}});
  CHECK(waitFor([&] { return c.getHost(a.portFor(1, 1), 1, 1).retcode == wire::kRetSucc; }));
  a.pulled.clear();
  a.server->onDnsReconnected();
  for (const auto& [m, k] : modules) CHECK(a.waitPull(m, k));
  // The route already known is still served while it is pulled again.
  CHECK_EQ(c.getHost(a.portFor(1, 1), 1, 1).retcode, static_cast<int32_t>(wire::kRetSucc));
}

TEST(an_empty_host_set_deletes_the_route) {
  Agent a;
  Client c;
  const uint16_t port = a.portFor(3, 1);
  c.getHost(port, 3, 1);
  a.server->applyRoute(3, 1, {{0x7f000001, 1}});
  CHECK(waitFor([&] { return c.getHost(port, 3, 1).retcode == wire::kRetSucc; }));
  a.server->applyRoute(3, 1, {});
  CHECK(waitFor([&] { return c.getHost(port, 3, 1).retcode == wire::kRetNoExist; }));
}

TEST(bad_datagrams_are_dropped_and_counted_while_valid_requests_are_answered) {
  Agent a;
  Client c;
  Client flood;
  const uint16_t port = a.portFor(6, 6);
  const int idx = AgentServer::portIndex(6, 6);
  c.getHost(port, 6, 6);
  a.server->applyRoute(6, 6, {{0x7f000001, 1}});
  CHECK(waitFor([&] { return c.getHost(port, 6, 6).retcode == wire::kRetSucc; }));
  const agent::PortStats before = a.server->stats().ports[idx];

  wire::GetHostRequest req;
  req.seq = 1;
  req.modid = 6;
  req.cmdid = 6;
  const std::string valid = frameOf(wire::kGetHostRequest, req);
  constexpr int kRounds = 200;
  for (int i = 0; i < kRounds; ++i) {
    flood.send(port, "xyz");                                                  // shorter than a header
    flood.send(port, valid + "trailing");                                     // size != 8 + msglen
    flood.send(port, rawFrame(wire::kGetHostRequest, "\xff\xff\xff\xff\xff"));  // garbage body
    flood.send(port, rawFrame(99, ""));                                       // unknown msgid
    flood.send(port, rawFrame(wire::kGetHostResponse, ""));                   // a reply sent to the agent
    wire::ReportRequest rep;
    rep.modid = 6;
    rep.cmdid = 6;
    rep.has_host = true;
    rep.host = {0x7f000001, 4242};  // not a node of the route
    flood.send(port, frameOf(wire::kReportRequest, rep));
    if (i % 20 == 0) CHECK_EQ(c.getHost(port, 6, 6).retcode, static_cast<int32_t>(wire::kRetSucc));
  }
  CHECK(waitFor([&] {
    const agent::PortStats s = a.server->stats().ports[idx];
    return s.reactor.datagrams_in - before.reactor.datagrams_in >= 6u * kRounds + kRounds / 20;
  }));
  const agent::PortStats after = a.server->stats().ports[idx];
  CHECK_EQ(after.reactor.datagrams_dropped - before.reactor.datagrams_dropped, 2u * kRounds);
  CHECK_EQ(after.badBodies - before.badBodies, static_cast<uint64_t>(kRounds));
  CHECK_EQ(after.unknownMsgIds - before.unknownMsgIds, 2u * kRounds);
  CHECK_EQ(after.balancer.reports_ignored - before.balancer.reports_ignored, static_cast<uint64_t>(kRounds));
  CHECK_EQ(dropped(after) - dropped(before), 6u * kRounds);
  CHECK_EQ(after.balancer.picks_succ - before.balancer.picks_succ, static_cast<uint64_t>(kRounds / 20));
  CHECK_EQ(c.getHost(port, 6, 6).retcode, static_cast<int32_t>(wire::kRetSucc));
}

TEST(control_plane_calls_from_many_threads_while_serving) {
  Agent a;
  Client c;
  const uint16_t port = a.portFor(5, 1);
  c.getHost(port, 5, 1);
  a.server->applyRoute(5, 1, {{0x7f000001, 1}});
  CHECK(waitFor([&] { return c.getHost(port, 5, 1).retcode == wire::kRetSucc; }));
  std::atomic<bool> stop{false};
  std::vector<std::thread> control;
  for (int t = 0; t < 3; ++t) {
    control.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        a.server->applyRoute(5, 1, {{0x7f000001, 1}, {0x7f000001, 2 + (i + t) % 3}});
        if (i % 10 == 0) a.server->onDnsReconnected();
        (void)a.server->stats();
        a.server->drainPulls();
      }
    });
  }
  int succ = 0;
  for (int i = 0; i < 300; ++i) succ += c.getHost(port, 5, 1).retcode == wire::kRetSucc ? 1 : 0;
  stop = true;
  for (auto& t : control) t.join();
  CHECK_EQ(succ, 300);
}

TEST(register_requests_are_handed_to_the_control_plane_which_replies_from_the_same_port) {
  Agent a;
  Client c;
  const uint16_t port = a.portFor(5, 1);
  wire::RegisterRequest req;
  req.seq = 42;
  req.modid = 5;
  req.cmdid = 1;
  req.has_host = true;
  req.host.ip = 0x0a000001;
  req.host.port = 7001;
  req.ttl_ms = 3000;
  const std::string frame = frameOf(wire::kRegisterRequest, req);
  c.send(port, frame);
  std::vector<agent::RegisterFrame> got;
  CHECK(waitFor([&] {
    for (auto& f : a.server->drainRegisters()) got.push_back(std::move(f));
    return !got.empty();
  }));
  CHECK_EQ(got.size(), 1u);
  CHECK_EQ(got[0].port, AgentServer::portIndex(5, 1));
  CHECK(got[0].body == frame.substr(8));
  CHECK(waitFor([&] { return a.registerNotifies.load() >= 1; }));  // notified after the queue unlocks
  const agent::PortStats stats = a.server->stats().ports[AgentServer::portIndex(5, 1)];
  CHECK_EQ(stats.unknownMsgIds, 0u);

  wire::RegisterResponse rsp;
  rsp.seq = 42;
  std::vector<uint8_t> body;
  wire::encode(rsp, body);
  CHECK(a.server->reply(got[0].port, wire::kRegisterResponse, body.data(), body.size(), got[0].peer));
  int32_t msgid = 0;
  std::vector<uint8_t> back;
  CHECK(c.recvFrame(&msgid, &back));
  CHECK_EQ(msgid, static_cast<int32_t>(wire::kRegisterResponse));
  wire::RegisterResponse decoded;
  CHECK(wire::decode(back.data(), back.size(), decoded));
  CHECK_EQ(decoded.seq, 42u);
}
