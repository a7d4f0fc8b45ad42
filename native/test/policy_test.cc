// The policies, the safety knobs, XXH64 and the PRNG of the C++ balancer (docs/spec/EXTENSIONS.md §3).
// The table-driven suites and the simulations run against both implementations in test/balancer/.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/policy/least_latency.h"
#include "balancer/prng.h"
#include "balancer/xxhash64.h"
#include "check.h"

namespace lb = lars::balancer;

namespace {

constexpr int32_t kMod = 1;
constexpr int32_t kCmd = 2;

uint64_t Xxh(const std::string& s, uint64_t seed = 0) {
  return lb::Xxh64(reinterpret_cast<const uint8_t*>(s.data()), s.size(), seed);
}

std::vector<lb::HostAddr> Weighted(const std::vector<int32_t>& weights) {
  std::vector<lb::HostAddr> h;
  for (size_t i = 0; i < weights.size(); ++i) {
    h.push_back({0x0a000001 + static_cast<int32_t>(i), 9000 + static_cast<int32_t>(i), weights[i], ""});
  }
  return h;
}

lb::RoutePolicy Policy(const std::string& name) {
  lb::RoutePolicy p;
  p.name = name;
  return p;
}

void Prime(lb::Balancer* b, const std::vector<lb::HostAddr>& hosts, const lb::RoutePolicy& p) {
  b->Pick(kMod, kCmd, 0);
  b->TakePullRequests();
  b->ApplyRoute(kMod, kCmd, hosts, 0, &p);
}

std::vector<int32_t> Picks(lb::Balancer* b, int n, int64_t now = 0, lb::HashKey key = {}) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const lb::PickResult r = b->Pick(kMod, kCmd, now, key);
    out.push_back(r.retcode == lb::kRetSucc ? r.port - 9000 : -r.retcode);
  }
  return out;
}

void Fail(lb::Balancer* b, int i, int64_t now = 0) { b->Report(kMod, kCmd, 0x0a000001 + i, 9000 + i, 1, now); }

}  // namespace

// Reference values from libxxhash 0.8.1.
TEST(xxh64_reference_vectors) {
  CHECK_EQ(Xxh(""), 0xEF46DB3751D8E999ULL);
  CHECK_EQ(Xxh("a"), 0xD24EC4F1A98C6E5BULL);
  CHECK_EQ(Xxh("abc"), 0x44BC2CF5AD770999ULL);
  CHECK_EQ(Xxh("10.0.0.1:9000#0"), 0x1E796DFC58F443E4ULL);
  CHECK_EQ(Xxh("The quick brown fox jumps over the lazy dog"), 0x0B242D361FDA71BCULL);
  CHECK_EQ(Xxh("", 2654435761ULL), 0xAC75FDA2929B17EFULL);
  CHECK_EQ(Xxh("abc", 2654435761ULL), 0x1318DF30094A85FDULL);
  std::string hundred(100, '\0');
  for (int i = 0; i < 100; ++i) hundred[i] = static_cast<char>(i);
  CHECK_EQ(Xxh(hundred), 0x6AC1E58032166597ULL);  // the 4-lane path
  CHECK_EQ(Xxh(hundred, 2654435761ULL), 0x8832442A88284F11ULL);
}

TEST(prng_below_stays_in_range_and_depends_on_the_seed) {
  lb::Prng a(1), b(1), c(2);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const uint32_t x = a.Below(7);
    CHECK(x < 7);
    CHECK_EQ(x, b.Below(7));
    differs = differs || c.Below(7) != x;
  }
  CHECK(differs);
}

TEST(latency_decay_halves_every_ten_seconds) {
  CHECK_EQ(lb::LatencyDecay(0), 1.0);
  CHECK_EQ(lb::LatencyDecay(10000), 0.5);
  CHECK_EQ(lb::LatencyDecay(20000), 0.25);
}

TEST(weighted_round_robin_is_smooth) {
  lb::Balancer b{lb::Config{}};
  Prime(&b, Weighted({5, 1, 1}), Policy("weighted_round_robin"));
  CHECK(Picks(&b, 7) == (std::vector<int32_t>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(weighted_random_follows_weights) {
  lb::Balancer b{lb::Config{}};
  Prime(&b, Weighted({1, 2, 7}), Policy("weighted_random"));
  int counts[3] = {0, 0, 0};
  for (int32_t i : Picks(&b, 10000)) ++counts[i];
  CHECK(counts[0] > 800 && counts[0] < 1200);
  CHECK(counts[2] > 6700 && counts[2] < 7300);
}

TEST(least_latency_prefers_the_faster_and_tries_the_unmeasured) {
  lb::Balancer b{lb::Config{}};
  Prime(&b, Weighted({100, 100}), Policy("least_latency"));
  b.Report(kMod, kCmd, 0x0a000001, 9000, 0, 0, 1000);
  CHECK(Picks(&b, 3) == (std::vector<int32_t>{1, 1, 1}));  // node 1 has no sample: cost 0
  for (int i = 0; i < 3; ++i) b.Report(kMod, kCmd, 0x0a000002, 9001, 0, 0);
  b.Report(kMod, kCmd, 0x0a000002, 9001, 0, 0, 3000);
  CHECK(Picks(&b, 1) == (std::vector<int32_t>{0}));
}

TEST(ring_hash_keeps_a_key_on_its_node_and_skips_the_overloaded) {
  lb::Config cfg;
  cfg.contin_err_limit = 1;
  cfg.probe_num = 1000;
  lb::Balancer b{cfg};
  Prime(&b, Weighted({0, 0, 0, 0}), Policy("ring_hash"));
  const std::string key = "user-42";
  const lb::HashKey k{reinterpret_cast<const uint8_t*>(key.data()), key.size()};
  const int32_t home = Picks(&b, 1, 0, k)[0];
  CHECK(Picks(&b, 3, 0, k) == (std::vector<int32_t>{home, home, home}));
  Fail(&b, home);
  const int32_t away = Picks(&b, 1, 0, k)[0];
  CHECK(away != home && away >= 0);
  CHECK(Picks(&b, 2, 0, k) == (std::vector<int32_t>{away, away}));
}

TEST(max_ejection_percent_caps_the_overloaded_share) {
  lb::Config cfg;
  cfg.contin_err_limit = 1;
  lb::Balancer b{cfg};
  lb::RoutePolicy p = Policy("lars");
  p.max_ejection_percent = 50;
  Prime(&b, Weighted({0, 0, 0, 0}), p);
  for (int i = 0; i < 4; ++i) Fail(&b, i);
  CHECK_EQ(b.counters().overloaded_nodes, 2u);
  CHECK_EQ(b.counters().ejections_capped, 2u);
}

TEST(panic_threshold_picks_among_all_nodes) {
  lb::Config cfg;
  cfg.contin_err_limit = 1;
  lb::Balancer b{cfg};
  lb::RoutePolicy p = Policy("lars");
  p.panic_threshold = 50;
  Prime(&b, Weighted({0, 0, 0, 0}), p);
  for (int i = 0; i < 3; ++i) Fail(&b, i);
  CHECK(Picks(&b, 5) == (std::vector<int32_t>{0, 1, 2, 3, 0}));
  CHECK_EQ(b.counters().panic_picks, 5u);
}

TEST(ejection_backoff_grows_with_flapping_up_to_the_cap) {
  lb::Config cfg;
  cfg.contin_err_limit = 1;
  cfg.overload_timeout_ms = 100;
  cfg.idle_timeout_ms = 1000;
  lb::Balancer b{cfg};
  lb::RoutePolicy p = Policy("lars");
  p.ejection_backoff_max_ms = 250;
  Prime(&b, Weighted({0, 0}), p);
  auto out_for = [&](int64_t t) {
    Fail(&b, 0, t);
    int64_t now = t;
    while (b.counters().overloaded_nodes == 1) Fail(&b, 0, ++now);
    return now - t;
  };
  CHECK_EQ(out_for(0), 100);
  CHECK_EQ(out_for(200), 200);
  CHECK_EQ(out_for(500), 250);
  CHECK_EQ(out_for(5000), 100);
}

TEST(unknown_policy_runs_lars_and_is_counted) {
  lb::Balancer b{lb::Config{}};
  Prime(&b, Weighted({5, 1, 1}), Policy("fastest_first"));
  CHECK(Picks(&b, 4) == (std::vector<int32_t>{0, 1, 2, 0}));
  CHECK_EQ(b.counters().unknown_policies, 1u);
}

namespace {

// Nodes 0..local-1 in az1, the rest in az2, weights 100.
std::vector<lb::HostAddr> Zoned(int n, int local) {
  std::vector<lb::HostAddr> h = Weighted(std::vector<int32_t>(static_cast<size_t>(n), 0));
  for (int i = 0; i < n; ++i) h[static_cast<size_t>(i)].zone = i < local ? "az1" : "az2";
  return h;
}

}  // namespace

TEST(zone_rule_keeps_picks_local_and_spills_by_the_healthy_share) {
  lb::Config cfg;
  cfg.zone = "az1";
  cfg.contin_err_limit = 1;
  cfg.probe_num = 1000000;
  lb::Balancer b{cfg};
  lb::RoutePolicy p = Policy("lars");
  p.zone_overprovision = 140;
  Prime(&b, Zoned(5, 3), p);
  // All healthy: p = 1, no draw; `lars` serves the local set in idle-FIFO order.
  CHECK(Picks(&b, 6) == (std::vector<int32_t>{0, 1, 2, 0, 1, 2}));
  CHECK_EQ(b.counters().zone_picks_local, 6u);
  // One local node out: p = 2/3 × 1.4 < 1, each pick draws; both sets keep their own FIFO order.
  Fail(&b, 0);
  const std::vector<lb::ZoneStatus> z = b.zoneStatus(10);
  CHECK_EQ(z.size(), 1u);
  CHECK_EQ(z[0].local_nodes, 3u);
  CHECK_EQ(z[0].local_healthy, 2u);
  CHECK_EQ(z[0].other_nodes, 2u);
  CHECK_EQ(z[0].other_healthy, 2u);
  CHECK(z[0].local_share == std::min(1.0, 2.0 / 3.0 * 140 / 100.0));
  std::vector<int32_t> local, other;
  for (int32_t i : Picks(&b, 400)) (i < 3 ? local : other).push_back(i);
  CHECK(local.size() > 300 && other.size() > 10);
  for (size_t k = 0; k < local.size(); ++k) CHECK_EQ(local[k], k % 2 == 0 ? 1 : 2);
  for (size_t k = 0; k < other.size(); ++k) CHECK_EQ(other[k], k % 2 == 0 ? 3 : 4);
  CHECK_EQ(b.counters().zone_picks_local, 6u + local.size());
  CHECK_EQ(b.counters().zone_picks_other, other.size());
  // The whole local zone out: p = 0, everything to az2 without a draw.
  Fail(&b, 1);
  Fail(&b, 2);
  CHECK(Picks(&b, 4) == (std::vector<int32_t>{3, 4, 3, 4}));
  CHECK(b.zoneStatus(10)[0].local_share == 0.0);
}

TEST(zone_rule_is_off_without_an_agent_zone) {
  lb::Balancer b{lb::Config{}};
  lb::RoutePolicy p = Policy("lars");
  p.zone_overprovision = 140;
  Prime(&b, Zoned(4, 2), p);
  CHECK(Picks(&b, 5) == (std::vector<int32_t>{0, 1, 2, 3, 0}));
  CHECK(b.zoneStatus(10).empty());
  CHECK_EQ(b.counters().zone_picks_local + b.counters().zone_picks_other, 0u);
}
