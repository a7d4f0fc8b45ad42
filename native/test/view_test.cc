// lars_view tests: the agent port's local view, written by ViewWriter from a real Balancer and
// read by LocalView as a business process would (same process here; the file is shared memory
// either way), plus a real AgentServer publishing one. Bad files are made by hand.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "agent/AgentServer.h"
#include "balancer/balancer.h"
#include "check.h"
#include "view/LocalView.h"
#include "view/ViewLayout.h"
#include "view/ViewWriter.h"

using namespace lars;
using namespace std::chrono_literals;
using balancer::Balancer;
using balancer::HostAddr;
using view::LocalView;
using view::ViewWriter;

namespace {

constexpr int32_t kIp = 0x0a000001;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/lars-view-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

ViewWriter::Identity identity(uint16_t port = 7000) {
  ViewWriter::Identity id;
  id.port = port;
  id.pid = static_cast<int32_t>(::getpid());
  id.start_time_ms = 1;
  id.probe_num = 10;
  return id;
}

// A balancer with routes applied, and a writer publishing them: the agent port's side.
struct Agent {
  balancer::Config config;
  Balancer b{config};
  TempDir dir;
  std::unique_ptr<ViewWriter> w;

  explicit Agent(ViewWriter::Geometry g = {}, balancer::Config c = {}) : config(c) {
    std::string error;
    w = ViewWriter::Create(dir.path, identity(), &error, g);
    CHECK(w != nullptr);
  }
  std::string path() const { return w->path(); }
  void apply(int32_t modid, int32_t cmdid, const std::vector<HostAddr>& hosts, const balancer::RoutePolicy* p = nullptr) {
    b.SeedRoute(modid, cmdid, hosts, 0, p);
    CHECK(w->Publish(b, modid, cmdid));
  }
  // Errors until the node is overloaded (err_rate), published as the agent's loop does.
  void overload(int32_t modid, int32_t cmdid, int32_t ip, int32_t port) {
    balancer::Route::Change change = balancer::Route::Change::kNone;
    for (int i = 0; i < 100 && change != balancer::Route::Change::kToOverload; ++i) {
      b.Report(modid, cmdid, ip, port, balancer::kRetOverload, 0, 0, &change);
    }
    CHECK(change == balancer::Route::Change::kToOverload);
    CHECK(w->Publish(b, modid, cmdid));
  }
};

int32_t pickPort(LocalView& v, int32_t modid, int32_t cmdid, int32_t* rc = nullptr) {
  int32_t ip = 0, port = -1;
  const int32_t r = v.Pick(modid, cmdid, view::MonotonicMs(), {}, &ip, &port);
  if (rc != nullptr) *rc = r;
  return r == balancer::kRetSucc ? port : -1;
}

}  // namespace

TEST(view_reader_picks_round_robin_in_join_order_and_lists_the_route) {
  Agent a;
  a.apply(1, 2, {{kIp, 1}, {kIp, 2}, {kIp, 3}});
  LocalView v(a.path(), 1);
  CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kOk);
  std::vector<int32_t> ports;
  for (int i = 0; i < 6; ++i) ports.push_back(pickPort(v, 1, 2));
  CHECK((ports == std::vector<int32_t>{1, 2, 3, 1, 2, 3}));
  std::vector<HostAddr> hosts;
  CHECK_EQ(v.Hosts(1, 2, view::MonotonicMs(), &hosts), 0);
  CHECK_EQ(hosts.size(), 3u);
  CHECK_EQ(hosts[2].port, 3);
}

TEST(view_reader_answers_unknown_empty_and_gone_routes) {
  Agent a;
  a.b.Pick(5, 5, 0);  // PULLING: not yet answered, so not in the view
  CHECK(a.w->Publish(a.b, 5, 5));
  a.apply(6, 6, {});  // EMPTY
  LocalView v(a.path(), 1);
  int32_t rc;
  pickPort(v, 5, 5, &rc);
  CHECK_EQ(rc, LocalView::kNotInView);
  pickPort(v, 9, 9, &rc);
  CHECK_EQ(rc, LocalView::kNotInView);
  pickPort(v, 6, 6, &rc);
  CHECK_EQ(rc, static_cast<int32_t>(balancer::kRetNoExist));

  // Past max_empty_routes the balancer drops the oldest EMPTY route; the sweep marks it gone.
  balancer::Config one;
  one.max_empty_routes = 1;
  Agent small({}, one);
  small.apply(6, 6, {});
  small.apply(7, 7, {});
  small.w->SweepGone(small.b);
  LocalView s(small.path(), 1);
  pickPort(s, 6, 6, &rc);
  CHECK_EQ(rc, LocalView::kNotInView);
  pickPort(s, 7, 7, &rc);
  CHECK_EQ(rc, static_cast<int32_t>(balancer::kRetNoExist));
}

TEST(view_reader_avoids_overloaded_nodes_except_probes) {
  Agent a;
  a.apply(1, 1, {{kIp, 1}, {kIp, 2}, {kIp, 3}});
  LocalView v(a.path(), 1);
  CHECK_EQ(pickPort(v, 1, 1), 1);  // cached before the change: the generation brings it up to date
  a.overload(1, 1, kIp, 2);
  std::map<int32_t, int> seen;
  for (int i = 0; i < 110; ++i) ++seen[pickPort(v, 1, 1)];
  // probe_num 10: every 11th pick probes the overloaded node.
  CHECK_EQ(seen[2], 10);
  CHECK_EQ(seen[1] + seen[3], 100);

  // Every node overloaded: OVERLOAD, except the probes.
  a.overload(1, 1, kIp, 1);
  a.overload(1, 1, kIp, 3);
  int overloads = 0;
  for (int i = 0; i < 11; ++i) {
    int32_t rc;
    pickPort(v, 1, 1, &rc);
    overloads += rc == balancer::kRetOverload;
  }
  CHECK_EQ(overloads, 10);
}

TEST(view_reader_follows_the_policy_and_weights) {
  Agent a;
  balancer::RoutePolicy p;
  p.name = "weighted_round_robin";
  a.apply(3, 4, {{kIp, 1, 5}, {kIp, 2, 1}, {kIp, 3, 1}}, &p);
  LocalView v(a.path(), 1);
  std::vector<int32_t> ports;
  for (int i = 0; i < 7; ++i) ports.push_back(pickPort(v, 3, 4));
  CHECK((ports == std::vector<int32_t>{1, 1, 2, 1, 3, 1, 1}));  // a a b a c a a (EXTENSIONS §3)
}

TEST(view_writer_grows_into_a_new_file_and_readers_follow) {
  Agent a(ViewWriter::Geometry{4, 4});
  a.apply(1, 1, {{kIp, 1}, {kIp, 2}});
  LocalView v(a.path(), 1);
  CHECK_EQ(pickPort(v, 1, 1), 1);
  for (int32_t m = 2; m < 40; ++m) a.apply(m, m, {{kIp, m}, {kIp, m + 1000}, {kIp, m + 2000}});
  a.apply(1, 1, {{kIp, 1}, {kIp, 2}, {kIp, 3}, {kIp, 4}, {kIp, 5}});  // more nodes than it had room for
  CHECK(a.w->geometry().slots >= 64);
  CHECK_EQ(pickPort(v, 39, 39), 39);  // the old file says superseded: the reader re-opened the path
  std::vector<HostAddr> hosts;
  CHECK_EQ(v.Hosts(1, 1, view::MonotonicMs(), &hosts), 0);
  CHECK_EQ(hosts.size(), 5u);
  int found = 0;
  for (int32_t m = 2; m < 39; ++m) found += pickPort(v, m, m) == m;  // each module's first pick
  CHECK_EQ(found, 37);
}

TEST(view_reader_never_sees_a_torn_route_while_the_writer_rewrites_it) {
  Agent a;
  const std::vector<HostAddr> setA = {{kIp, 1}, {kIp, 2}, {kIp, 3}};
  const std::vector<HostAddr> setB = {{kIp, 11}, {kIp, 12}, {kIp, 13}, {kIp, 14}, {kIp, 15}};
  a.apply(1, 1, setA);
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  // The writer side from another thread (it is the only user of the balancer and the writer there).
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      a.b.ApplyRoute(1, 1, i % 2 == 0 ? setB : setA, 0);
      a.w->Publish(a.b, 1, 1);
      writes.fetch_add(1);
    }
  });
  LocalView v(a.path(), 1);
  int bad = 0, reads = 0;
  while (writes.load() < 20000 && reads < 2000000) {
    std::vector<HostAddr> hosts;
    const int32_t rc = v.Hosts(1, 1, view::MonotonicMs(), &hosts);
    ++reads;
    if (rc != 0) continue;  // a read that kept colliding with writes: the caller falls back
    bool isA = hosts.size() == 3, isB = hosts.size() == 5;
    for (std::size_t k = 0; k < hosts.size(); ++k) {
      isA = isA && hosts[k].port == setA[k].port;
      isB = isB && hosts[k].port == setB[k].port;
    }
    bad += !(isA || isB);
  }
  stop = true;
  writer.join();
  CHECK_EQ(bad, 0);
  CHECK(writes.load() > 0);
}

TEST(view_reader_reports_stale_missing_closed_and_the_next_agent) {
  TempDir dir;
  const std::string path = view::ViewPath(dir.path, 7000);
  LocalView v(path, 1);
  CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kMissing);
  int32_t rc;
  pickPort(v, 1, 1, &rc);
  CHECK_EQ(rc, LocalView::kNoView);

  balancer::Config config;
  Balancer b(config);
  b.SeedRoute(1, 1, {{kIp, 1}}, 0);
  std::string error;
  auto w = ViewWriter::Create(dir.path, identity(), &error);
  CHECK(w->Publish(b, 1, 1));
  CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kOk);  // found once it is there
  CHECK_EQ(pickPort(v, 1, 1), 1);

  // No heartbeat for more than a second (a frozen or killed agent).
  CHECK(v.Check(view::MonotonicMs() + 1500) == LocalView::Status::kStale);
  CHECK_EQ(v.Pick(1, 1, view::MonotonicMs() + 1500, {}, &rc, &rc), LocalView::kStaleView);
  w->Beat(view::MonotonicMs() + 1500);
  CHECK(v.Check(view::MonotonicMs() + 1500) == LocalView::Status::kOk);

  w->Close();
  CHECK(!exists(path));
  CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kClosed);

  // The next agent on the port: a new file with its own routes, found on the next check.
  Balancer b2(config);
  b2.SeedRoute(1, 1, {{kIp, 77}}, 0);
  auto w2 = ViewWriter::Create(dir.path, identity(), &error);
  CHECK(w2->Publish(b2, 1, 1));
  CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kOk);
  CHECK_EQ(pickPort(v, 1, 1), 77);
  v.Close();
  CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kClosed);
}

TEST(view_reader_refuses_another_layout) {
  Agent a;
  a.apply(1, 1, {{kIp, 1}});
  std::string bytes = readAll(a.path());
  const std::string copy = a.dir.path + "/copy.view";
  bytes[0] ^= 1;  // magic
  writeAll(copy, bytes);
  CHECK(LocalView(copy, 1).Check(view::MonotonicMs()) == LocalView::Status::kLayout);
  bytes[0] ^= 1;
  bytes[offsetof(view::Header, version)] = 2;
  writeAll(copy, bytes);
  LocalView v(copy, 1);
  CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kLayout);
  int32_t rc;
  pickPort(v, 1, 1, &rc);
  CHECK_EQ(rc, LocalView::kNoView);
}

TEST(view_reader_survives_truncated_and_corrupt_files) {
  Agent a;
  for (int32_t m = 0; m < 50; ++m) a.apply(m, 1, {{kIp, 1}, {kIp, 2}, {kIp, 3}});
  const std::string good = readAll(a.path());
  const std::string copy = a.dir.path + "/copy.view";
  // Truncated anywhere: refused at open (the geometry does not fit), never read past the end.
  for (std::size_t len : {std::size_t{0}, std::size_t{10}, sizeof(view::Header) - 1, sizeof(view::Header),
                          sizeof(view::Header) + 1000, good.size() - 1}) {
    writeAll(copy, good.substr(0, len));
    LocalView v(copy, 1);
    CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kCorrupt);
    int32_t rc;
    pickPort(v, 1, 1, &rc);
    CHECK_EQ(rc, LocalView::kNoView);
  }
  // A slot pointing past the heap: that module fails, the view stays usable for the others.
  {
    std::string bytes = good;
    view::Header h;
    std::memcpy(&h, bytes.data(), sizeof(h));
    for (uint32_t i = 0; i < h.slot_count; ++i) {
      view::RouteSlot s;
      char* at = bytes.data() + h.slots_offset + i * sizeof(view::RouteSlot);
      std::memcpy(&s, at, sizeof(s));
      if (s.used != view::kSlotRoute || s.modid != 7) continue;
      s.node_first = 0xfffffff0u;
      s.generation += 1000;
      std::memcpy(at, &s, sizeof(s));
    }
    writeAll(copy, bytes);
    LocalView v(copy, 1);
    int32_t rc;
    pickPort(v, 7, 1, &rc);
    CHECK_EQ(rc, LocalView::kNoView);
    CHECK_EQ(pickPort(v, 8, 1), 1);
  }
  // Random bytes over the directory and the heap (the header kept valid): no crash, no hang.
  uint32_t x = 12345;
  for (int round = 0; round < 200; ++round) {
    std::string bytes = good;
    for (int k = 0; k < 64; ++k) {
      x = x * 1664525u + 1013904223u;
      bytes[sizeof(view::Header) + x % (bytes.size() - sizeof(view::Header))] = static_cast<char>(x >> 24);
    }
    // Keep every seqlock even, else the reader would rightly wait for a writer that never comes.
    view::Header h;
    std::memcpy(&h, bytes.data(), sizeof(h));
    for (uint32_t i = 0; i < h.slot_count; ++i) bytes[h.slots_offset + i * sizeof(view::RouteSlot)] &= ~1;
    writeAll(copy, bytes);
    LocalView v(copy, static_cast<uint32_t>(round));
    for (int32_t m = 0; m < 50; ++m) {
      int32_t rc;
      pickPort(v, m, 1, &rc);
      CHECK(rc >= -3 && rc <= 3);
      std::vector<HostAddr> hosts;
      v.Hosts(m, 1, view::MonotonicMs(), &hosts);
    }
  }
}

TEST(view_reader_gives_up_on_a_slot_whose_writer_died_mid_write) {
  Agent a;
  a.apply(1, 1, {{kIp, 1}});
  std::string bytes = readAll(a.path());
  view::Header h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  for (uint32_t i = 0; i < h.slot_count; ++i) bytes[h.slots_offset + i * sizeof(view::RouteSlot)] |= 1;
  const std::string copy = a.dir.path + "/copy.view";
  writeAll(copy, bytes);
  LocalView v(copy, 1);
  int32_t rc;
  pickPort(v, 1, 1, &rc);
  CHECK_EQ(rc, LocalView::kStaleView);
}

TEST(agent_publishes_its_routes_and_heartbeat_and_removes_the_view_on_stop) {
  TempDir dir;
  agent::AgentOptions o;
  o.viewDir = dir.path;
  agent::SeedRoute seed;
  seed.modid = 30;
  seed.cmdid = 40;
  seed.hosts = {{kIp, 9009}, {kIp, 9010}};
  o.seeds.push_back(seed);
  auto server = std::make_unique<agent::AgentServer>(o, [] {}, [] {});
  const uint16_t port = server->port(agent::AgentServer::portIndex(30, 40));
  const std::string path = view::ViewPath(dir.path, port);
  for (int i = 0; i < agent::AgentServer::kPorts; ++i) CHECK(exists(view::ViewPath(dir.path, server->port(i))));
  LocalView v(path, 1);
  CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kOk);
  CHECK_EQ(pickPort(v, 30, 40), 9009);  // the seeded route, before any DNS answer

  // A DNS push: visible once the loop applied it.
  server->applyRoute(30, 40, {{kIp, 9011}});
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (pickPort(v, 30, 40) != 9011 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  CHECK_EQ(pickPort(v, 30, 40), 9011);

  // The heartbeat moves on by itself.
  auto beat = [&] {
    view::Header h;
    std::memcpy(&h, readAll(path).data(), sizeof(h));
    return h.heartbeat_ms;
  };
  const int64_t first = beat();
  while (beat() == first && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  CHECK(beat() > first);

  server->stop();
  CHECK(!exists(path));
  CHECK(v.Check(view::MonotonicMs()) == LocalView::Status::kClosed);
}

TEST(agent_without_a_usable_view_dir_serves_anyway) {
  agent::AgentOptions o;
  o.viewDir = "/nonexistent/lars-view-dir";
  auto server = std::make_unique<agent::AgentServer>(o, [] {}, [] {});
  CHECK(server->port(0) > 0);
}
