// Core rules of the `lars` policy (docs/spec/BALANCER.md) on the C++ balancer.
// The full table-driven suite runs against both implementations in test/balancer/.
#include <string>
#include <vector>

#include "balancer/balancer.h"
#include "check.h"

using lars::balancer::Balancer;
using lars::balancer::Config;
using lars::balancer::HostAddr;
using lars::balancer::ModuleId;
using lars::balancer::PickResult;
using lars::balancer::kRetNoExist;
using lars::balancer::kRetOverload;
using lars::balancer::kRetSucc;

namespace {

constexpr int32_t kMod = 1;
constexpr int32_t kCmd = 2;

std::vector<HostAddr> Hosts(int n) {
  std::vector<HostAddr> h;
  for (int i = 0; i < n; ++i) h.push_back({0x0a000001 + i, 9000 + i});
  return h;
}

// A balancer whose route (kMod, kCmd) holds n nodes, created at time 0.
void Prime(Balancer* b, int n, int64_t now = 0) {
  b->Pick(kMod, kCmd, now);
  b->TakePullRequests();
  b->ApplyRoute(kMod, kCmd, Hosts(n), now);
}

std::vector<int32_t> Ports(Balancer* b, int picks, int64_t now = 0) {
  std::vector<int32_t> out;
  for (int i = 0; i < picks; ++i) out.push_back(b->Pick(kMod, kCmd, now).port);
  return out;
}

}  // namespace

TEST(unknown_module_pulls_and_answers_noexist) {
  Balancer b{Config{}};
  PickResult r = b.Pick(kMod, kCmd, 5);
  CHECK_EQ(r.retcode, kRetNoExist);
  CHECK(r.pull);
  r = b.Pick(kMod, kCmd, 6);  // still PULLING: no second pull
  CHECK_EQ(r.retcode, kRetNoExist);
  CHECK(!r.pull);
  std::vector<ModuleId> pulls = b.TakePullRequests();
  CHECK_EQ(pulls.size(), 1u);
  CHECK_EQ(pulls[0].modid, kMod);
  CHECK_EQ(pulls[0].cmdid, kCmd);
  CHECK(b.TakePullRequests().empty());
  CHECK(b.ApplyRoute(kMod, kCmd, Hosts(2), 7));
  r = b.Pick(kMod, kCmd, 8);
  CHECK_EQ(r.retcode, kRetSucc);
  CHECK_EQ(r.port, 9000);
  CHECK_EQ(b.counters().picks_noexist, 2u);
  CHECK_EQ(b.counters().routes, 1u);
}

TEST(seed_route_creates_a_route_that_answers_and_is_pulled_on_reconnect) {
  Balancer b{Config{}};
  CHECK(!b.ApplyRoute(kMod, kCmd, Hosts(2), 0));  // a DNS answer nobody asked for is ignored
  CHECK(b.SeedRoute(kMod, kCmd, Hosts(2), 0));
  PickResult r = b.Pick(kMod, kCmd, 1);
  CHECK_EQ(r.retcode, kRetSucc);
  CHECK(!r.pull);
  CHECK(b.TakePullRequests().empty());
  CHECK_EQ(b.OnDnsReconnected().size(), 1u);
  CHECK(b.SeedRoute(kMod, kCmd, Hosts(3), 2));  // held already: a plain update
  CHECK_EQ(b.counters().routes, 1u);
  CHECK_EQ(b.counters().idle_nodes, 3u);
}

TEST(round_robin_over_idle) {
  Balancer b{Config{}};
  Prime(&b, 3);
  CHECK(Ports(&b, 7) == (std::vector<int32_t>{9000, 9001, 9002, 9000, 9001, 9002, 9000}));
}

TEST(probe_after_probe_num_picks) {
  Config c;
  c.probe_num = 2;
  c.contin_err_limit = 1;
  Balancer b{c};
  Prime(&b, 3);
  CHECK(b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0));  // 9000 overloaded
  CHECK_EQ(b.counters().to_overload, 1u);
  // access_cnt starts at 0: two idle picks, then the probe, then again.
  CHECK(Ports(&b, 6) == (std::vector<int32_t>{9001, 9002, 9000, 9001, 9002, 9000}));
  CHECK_EQ(b.counters().probes, 2u);
}

TEST(all_overloaded_answers_overload_except_probes) {
  Config c;
  c.probe_num = 3;
  c.contin_err_limit = 1;
  Balancer b{c};
  Prime(&b, 2);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  b.Report(kMod, kCmd, 0x0a000002, 9001, 1, 0);
  std::vector<int32_t> codes;
  for (int i = 0; i < 8; ++i) codes.push_back(b.Pick(kMod, kCmd, 0).retcode);
  CHECK(codes == (std::vector<int32_t>{1, 1, 1, 0, 1, 1, 1, 0}));
  CHECK_EQ(b.counters().picks_overload, 6u);
}

TEST(err_rate_overloads) {
  Config c;
  c.init_succ_cnt = 18;  // 2 failures: 2/20 = 0.1 not above; 3: 3/21 above
  c.contin_err_limit = 100;
  Balancer b{c};
  Prime(&b, 1);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  CHECK_EQ(b.counters().overloaded_nodes, 0u);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  CHECK_EQ(b.counters().overloaded_nodes, 1u);
  CHECK_EQ(b.Pick(kMod, kCmd, 0).retcode, kRetOverload);
}

TEST(contin_err_limit_overloads) {
  Config c;
  c.contin_err_limit = 3;
  c.init_succ_cnt = 1000;
  Balancer b{c};
  Prime(&b, 1);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 0, 0);  // resets the run
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  CHECK_EQ(b.counters().overloaded_nodes, 0u);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 2, 0);  // any non-zero retcode is a failure
  CHECK_EQ(b.counters().overloaded_nodes, 1u);
}

TEST(succ_rate_and_contin_succ_recover) {
  Config c;
  c.contin_err_limit = 1;
  c.init_err_cnt = 5;
  c.succ_rate = 0.5;
  c.contin_succ_limit = 100;
  Balancer b{c};
  Prime(&b, 1);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  for (int i = 0; i < 5; ++i) b.Report(kMod, kCmd, 0x0a000001, 9000, 0, 0);  // 5/10 not above 0.5
  CHECK_EQ(b.counters().idle_nodes, 0u);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 0, 0);  // 6/11
  CHECK_EQ(b.counters().idle_nodes, 1u);
  CHECK_EQ(b.counters().to_idle, 1u);

  Config c2 = c;
  c2.contin_succ_limit = 2;
  c2.init_err_cnt = 100;
  Balancer b2{c2};
  Prime(&b2, 1);
  b2.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  b2.Report(kMod, kCmd, 0x0a000001, 9000, 0, 0);
  CHECK_EQ(b2.counters().idle_nodes, 0u);
  b2.Report(kMod, kCmd, 0x0a000001, 9000, 0, 0);
  CHECK_EQ(b2.counters().idle_nodes, 1u);
}

TEST(idle_window_reset_and_window_err_rate) {
  Config c;
  c.init_succ_cnt = 1000000;
  c.contin_err_limit = 1000;
  c.window_err_rate = 0.5;
  c.idle_timeout_ms = 100;
  Balancer b{c};
  Prime(&b, 1);
  // Window 1 (from 0): 1 success, 1 failure at 100 → 1/2 >= 0.5 → overload.
  b.Report(kMod, kCmd, 0x0a000001, 9000, 0, 10);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 100);
  CHECK_EQ(b.counters().overloaded_nodes, 1u);

  Balancer b2{c};
  Prime(&b2, 1);
  b2.Report(kMod, kCmd, 0x0a000001, 9000, 1, 10);
  b2.Report(kMod, kCmd, 0x0a000001, 9000, 0, 50);
  b2.Report(kMod, kCmd, 0x0a000001, 9000, 0, 100);  // 1/3 < 0.5: new window from 100
  CHECK_EQ(b2.counters().idle_nodes, 1u);
  std::vector<lars::balancer::RouteReport> reps = b2.CollectReports(100, 1000);
  CHECK_EQ(reps.size(), 1u);
  CHECK_EQ(reps[0].results[0].succ, 0);  // window counts were reset
  CHECK_EQ(reps[0].results[0].err, 0);
  b2.Report(kMod, kCmd, 0x0a000001, 9000, 1, 199);  // same window: 1/1 but not yet due
  CHECK_EQ(b2.counters().idle_nodes, 1u);
  b2.Report(kMod, kCmd, 0x0a000001, 9000, 1, 200);  // 2/2 at the window end
  CHECK_EQ(b2.counters().overloaded_nodes, 1u);
}

TEST(overload_timeout_recovers) {
  Config c;
  c.contin_err_limit = 1;
  c.overload_timeout_ms = 50;
  c.init_err_cnt = 1000;
  Balancer b{c};
  Prime(&b, 1);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 10);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 59);
  CHECK_EQ(b.counters().overloaded_nodes, 1u);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 60);  // even a failure: the timeout gives a new chance
  CHECK_EQ(b.counters().idle_nodes, 1u);
  CHECK_EQ(b.counters().to_idle, 1u);
}

TEST(apply_keeps_state_and_removes_gone_nodes) {
  Config c;
  c.contin_err_limit = 1;
  Balancer b{c};
  Prime(&b, 3);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);  // 9000 overloaded
  std::vector<HostAddr> next{{0x0a000001, 9000}, {0x0a000003, 9002}, {0x0a000009, 9009}, {0x0a000009, 9009}};
  CHECK(b.ApplyRoute(kMod, kCmd, next, 10));
  std::vector<HostAddr> hosts;
  b.GetRoute(kMod, kCmd, 10, &hosts);
  CHECK_EQ(hosts.size(), 3u);
  CHECK_EQ(hosts[0].port, 9000);
  CHECK_EQ(hosts[1].port, 9002);
  CHECK_EQ(hosts[2].port, 9009);
  CHECK_EQ(b.counters().overloaded_nodes, 1u);  // 9000 kept its state
  CHECK_EQ(b.counters().idle_nodes, 2u);
  CHECK(!b.Report(kMod, kCmd, 0x0a000002, 9001, 0, 10));  // removed node: ignored
  CHECK_EQ(b.counters().reports_ignored, 1u);
  // Re-adding works and starts idle.
  CHECK(b.ApplyRoute(kMod, kCmd, Hosts(3), 20));
  hosts.clear();
  b.GetRoute(kMod, kCmd, 20, &hosts);
  CHECK_EQ(hosts.size(), 3u);
  CHECK_EQ(hosts[2].port, 9001);
  CHECK(b.Report(kMod, kCmd, 0x0a000002, 9001, 0, 20));
}

TEST(empty_set_makes_an_empty_route_that_answers_without_pulling) {
  Config c;
  c.update_timeout_ms = 100;
  Balancer b{c};
  Prime(&b, 2);
  CHECK(b.ApplyRoute(kMod, kCmd, {}, 1));
  CHECK_EQ(b.counters().routes, 1u);
  CHECK_EQ(b.counters().empty_routes, 1u);
  for (int64_t t = 1; t <= 101; ++t) {
    PickResult r = b.Pick(kMod, kCmd, t);
    CHECK_EQ(r.retcode, kRetNoExist);
    CHECK(!r.pull);
  }
  CHECK(b.TakePullRequests().empty());
  // Still subscribed: a push with nodes makes it a normal route at once.
  CHECK(b.ApplyRoute(kMod, kCmd, Hosts(1), 50));
  CHECK_EQ(b.Pick(kMod, kCmd, 51).retcode, kRetSucc);
  CHECK_EQ(b.counters().empty_routes, 0u);
}

TEST(empty_route_is_pulled_again_only_when_stale) {
  Config c;
  c.update_timeout_ms = 100;
  Balancer b{c};
  b.Pick(kMod, kCmd, 0);
  b.TakePullRequests();
  b.ApplyRoute(kMod, kCmd, {}, 0);
  CHECK(!b.Pick(kMod, kCmd, 100).pull);
  CHECK(b.Pick(kMod, kCmd, 101).pull);
  CHECK(!b.Pick(kMod, kCmd, 102).pull);  // PULLING
  CHECK_EQ(b.TakePullRequests().size(), 1u);
  b.ApplyRoute(kMod, kCmd, {}, 150);
  CHECK(!b.Pick(kMod, kCmd, 250).pull);
  CHECK(b.Pick(kMod, kCmd, 251).pull);
}

TEST(max_empty_routes_drops_the_oldest) {
  Config c;
  c.max_empty_routes = 2;
  Balancer b{c};
  for (int32_t m = 1; m <= 3; ++m) b.Pick(m, 0, 0);
  b.TakePullRequests();
  b.ApplyRoute(1, 0, {}, 1);
  b.ApplyRoute(2, 0, {}, 2);
  b.ApplyRoute(1, 0, {}, 3);  // answered again: now the newest
  b.ApplyRoute(3, 0, {}, 4);
  CHECK_EQ(b.counters().empty_routes, 2u);
  CHECK_EQ(b.counters().empty_routes_evicted, 1u);
  CHECK_EQ(b.counters().routes, 2u);
  CHECK(!b.Pick(1, 0, 5).pull);
  CHECK(!b.Pick(3, 0, 5).pull);
  CHECK(b.Pick(2, 0, 5).pull);  // dropped: starts over
  CHECK(!b.ApplyRoute(9, 9, {}, 6));
}

TEST(new_pulls_are_capped_per_second) {
  Config c;
  c.max_new_pulls_per_s = 2;
  Balancer b{c};
  CHECK(b.Pick(1, 0, 1000).pull);
  CHECK(b.Pick(2, 0, 1500).pull);
  PickResult r = b.Pick(3, 0, 1999);
  CHECK_EQ(r.retcode, kRetNoExist);
  CHECK(!r.pull);
  std::vector<HostAddr> hosts;
  CHECK(!b.GetRoute(4, 0, 1999, &hosts));
  CHECK(hosts.empty());
  CHECK_EQ(b.counters().new_pulls_capped, 2u);
  CHECK_EQ(b.counters().routes, 2u);
  CHECK(!b.Pick(1, 0, 1999).pull);  // known modules are not capped
  CHECK(b.Pick(3, 0, 2000).pull);   // a new second
  CHECK_EQ(b.TakePullRequests().size(), 3u);
}

TEST(stale_route_pulls_again) {
  Config c;
  c.update_timeout_ms = 100;
  Balancer b{c};
  Prime(&b, 1);
  CHECK(!b.Pick(kMod, kCmd, 100).pull);
  PickResult r = b.Pick(kMod, kCmd, 101);
  CHECK(r.pull);
  CHECK_EQ(r.retcode, kRetSucc);  // still answers from its nodes
  CHECK(!b.Pick(kMod, kCmd, 500).pull);
  CHECK_EQ(b.TakePullRequests().size(), 1u);
  b.ApplyRoute(kMod, kCmd, Hosts(1), 500);
  CHECK(!b.Pick(kMod, kCmd, 600).pull);
}

TEST(reconnect_pulls_every_route) {
  Balancer b{Config{}};
  Prime(&b, 1);
  b.Pick(7, 8, 0);  // PULLING, reply lost
  std::vector<ModuleId> all = b.OnDnsReconnected();
  CHECK_EQ(all.size(), 2u);
  CHECK_EQ(all[0].modid, kMod);
  CHECK_EQ(all[1].modid, 7);
  CHECK(b.TakePullRequests().empty());  // included in the reconnect list
  CHECK_EQ(b.Pick(kMod, kCmd, 1).retcode, kRetSucc);
}

TEST(reconnect_pull_lost_again_is_retried_on_use) {
  Config c;
  c.update_timeout_ms = 100;
  Balancer b{c};
  Prime(&b, 1);
  CHECK(b.Pick(kMod, kCmd, 101).pull);  // stale: PULLING
  b.Pick(7, 8, 101);                     // PULLING, never answered
  b.TakePullRequests();
  CHECK_EQ(b.OnDnsReconnected().size(), 2u);  // and these pulls are lost too
  // PULLING went back to NEW: use pulls again instead of waiting forever.
  PickResult r = b.Pick(kMod, kCmd, 102);
  CHECK(r.pull);
  CHECK_EQ(r.retcode, kRetSucc);
  CHECK(b.Pick(7, 8, 102).pull);
  CHECK(!b.Pick(7, 8, 103).pull);
  CHECK_EQ(b.TakePullRequests().size(), 2u);
}

TEST(report_interval_batching) {
  Balancer b{Config{}};
  Prime(&b, 2);
  CHECK(b.CollectReports(0, 1000).empty());  // no activity
  b.Report(kMod, kCmd, 0x0a000001, 9000, 0, 0);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 1, 0);
  std::vector<lars::balancer::RouteReport> reps = b.CollectReports(10, 1000);
  CHECK_EQ(reps.size(), 1u);
  CHECK_EQ(reps[0].results.size(), 2u);
  CHECK_EQ(reps[0].results[0].succ, 1);
  CHECK_EQ(reps[0].results[0].err, 1);
  b.Report(kMod, kCmd, 0x0a000001, 9000, 0, 20);
  CHECK(b.CollectReports(500, 1000).empty());  // within the interval
  CHECK_EQ(b.CollectReports(1010, 1000).size(), 1u);
  CHECK(b.CollectReports(5000, 1000).empty());  // nothing new
}

// Per-node cumulative counters (the agent's lars_agent_node_* metrics): they survive report windows,
// call times land in the first bucket whose bound they do not exceed, and the copy stops at `limit`.
TEST(node_stats_count_picks_calls_and_call_times_cumulatively) {
  using lars::balancer::NodeStats;
  using lars::balancer::UsetimeBucket;
  using lars::balancer::kUsetimeBuckets;
  using namespace lars::balancer;
  CHECK_EQ(UsetimeBucket(1), 0u);
  CHECK_EQ(UsetimeBucket(100), 0u);
  CHECK_EQ(UsetimeBucket(101), 1u);
  CHECK_EQ(UsetimeBucket(1000000), kUsetimeBuckets - 2);
  CHECK_EQ(UsetimeBucket(UINT32_MAX), kUsetimeBuckets - 1);

  Balancer b{Config{}};
  Prime(&b, 2);
  Ports(&b, 3);  // 9000, 9001, 9000
  b.Report(kMod, kCmd, 0x0a000001, 9000, kRetSucc, 0, 300);
  b.CollectReports(0, 0);  // a window ends; the cumulative counters stay
  b.Report(kMod, kCmd, 0x0a000001, 9000, kRetOverload, 0, 0);
  const NodeStats s = b.nodeStats(100);
  CHECK_EQ(s.total, 2u);
  CHECK_EQ(s.zones.size(), 2u);
  CHECK_EQ(s.values.size(), 2 * kNodeStatFields);
  const double* n0 = s.values.data();
  CHECK_EQ(n0[kStatPort], 9000.0);
  CHECK_EQ(n0[kStatPicks], 2.0);
  CHECK_EQ(n0[kStatSucc], 1.0);
  CHECK_EQ(n0[kStatErr], 1.0);
  CHECK_EQ(n0[kStatUsetimeSum], 300.0);
  CHECK_EQ(n0[kStatBuckets + 2], 1.0);  // le=500
  CHECK_EQ(n0[kStatBuckets + 1], 0.0);
  CHECK_EQ(s.values[kNodeStatFields + kStatPicks], 1.0);

  const NodeStats one = b.nodeStats(1);
  CHECK_EQ(one.total, 2u);
  CHECK_EQ(one.zones.size(), 1u);
  CHECK_EQ(one.values.size(), kNodeStatFields);
}
