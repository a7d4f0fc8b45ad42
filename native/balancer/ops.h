// RunOps: executes a batch of encoded operations against a Balancer in one call, so benchmarks
// and differential tests do not cross the N-API boundary once per operation.
// The TypeScript twin (src/balancer/balancer.ts, runOps) follows the same encoding:
//   [kOpClock, dt]                                   the batch clock advances by dt ms (dt >= 0)
//   [kOpPick, modid, cmdid]                          Pick at the batch clock
//   [kOpReport, modid, cmdid, ip, port, retcode]     Report at the batch clock
// For every pick, out (when given) receives retcode, ip, port.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "balancer/balancer.h"

namespace lars::balancer {

enum Op : int32_t { kOpClock = 0, kOpPick = 1, kOpReport = 2 };

struct OpsSummary {
  uint64_t ops = 0;
  uint64_t picks = 0;
  uint64_t succ = 0;
  uint64_t overload = 0;
  uint64_t noexist = 0;
  uint64_t reports = 0;
  uint64_t ignored = 0;  // reports for an unknown route or node
  uint64_t pulls = 0;    // picks that queued a pull
  int64_t now = 0;       // the batch clock after the last op
  uint32_t hash = 2166136261u;  // FNV-1a over (retcode, ip, port) of every pick, one int32 at a time
};

// Checks the whole batch first: on a malformed batch nothing runs, *error says why, returns false.
// out_len is in int32 elements; out may be null (then out_len must be 0).
bool RunOps(Balancer* b, const int32_t* ops, size_t n, int64_t now, int32_t* out, size_t out_len,
            OpsSummary* summary, std::string* error);

}  // namespace lars::balancer
