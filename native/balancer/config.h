// Parameters of the balancer: the `lars` state machine (docs/spec/BALANCER.md, [loadbalance] section).
// Parsed and validated once at the edge (TypeScript); the balancer trusts them.
#pragma once

#include <cstdint>
#include <string>

namespace lars::balancer {

struct Config {
  int64_t probe_num = 10;
  int64_t init_succ_cnt = 180;
  int64_t init_err_cnt = 5;
  double err_rate = 0.1;
  double succ_rate = 0.5;
  int64_t contin_err_limit = 15;
  int64_t contin_succ_limit = 15;
  double window_err_rate = 0.7;
  // Milliseconds. Kept as double so comparisons match the TypeScript twin bit for bit.
  double idle_timeout_ms = 15000;
  double overload_timeout_ms = 15000;
  double update_timeout_ms = 15000;
  // [agent] max_empty_routes: EMPTY routes kept, the oldest dropped past it.
  int64_t max_empty_routes = 10000;
  // [agent] max_new_pulls_per_s: pulls for modules the table does not hold, per second.
  int64_t max_new_pulls_per_s = 1000;
  // Seed of the balancer's PRNG (random policies); set per agent.
  uint32_t seed = 0;
  // [agent] zone: the agent's availability zone; empty = zone-aware routing off (docs/policies.md).
  std::string zone;
};

}  // namespace lars::balancer
