// balancer-ops: the native half of the balancer micro benchmark (bench/micro/balancer-ops.ts).
// Runs batches of encoded operations against a lars::balancer::Balancer in this process, so no
// N-API crossing is measured. The TypeScript twin of the runner is bench/lib/balancer-ops.ts;
// both follow the same encoding (int32 values):
//   [kClock, dt]                                          the batch clock advances by dt ms (dt >= 0)
//   [kPick, modid, cmdid, key]                            Pick at the batch clock; key >= 0: its 4
//                                                         little-endian bytes are the hash key, -1: none
//   [kReport, modid, cmdid, ip, port, retcode, usetime]   Report at the batch clock (usetime in µs)
//   [kApply, modid, cmdid, n, ip, port, weight, ...]      ApplyRoute of n hosts at the batch clock,
//                                                         with the policy of --policy
// With --zone-overprovision F > 0 the agent is in az1 and an APPLY's first half of hosts (2k < n)
// is in az1, the rest in az2 (zone-aware routing).
//
//   balancer-ops --now MS --update-timeout-ms MS --max-time-ms MS [--policy NAME] [--zone-overprovision F]
//                < setup_len setup... batch_len batch...
//
// Runs the setup once and the batch once (its FNV-1a hash over every pick's retcode, ip, port is
// what both implementations must agree on), then the batch again and again for max-time-ms.
// Prints {"hash":...,"batches":...,"seconds":...}.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "balancer/balancer.h"
#include "bench_common.h"

namespace lb = lars::balancer;

namespace {

enum Op : int32_t { kClock = 0, kPick = 1, kReport = 2, kApply = 3 };

inline uint32_t Mix(uint32_t h, int32_t v) { return (h ^ static_cast<uint32_t>(v)) * 16777619u; }

// Length of the op at ops[i], or 0 when it is malformed.
size_t OpLength(const std::vector<int32_t>& ops, size_t i) {
  const size_t left = ops.size() - i;
  size_t len = 0;
  switch (ops[i]) {
    case kClock: len = left >= 2 && ops[i + 1] >= 0 ? 2 : 0; break;
    case kPick: len = 4; break;
    case kReport: len = 7; break;
    case kApply: len = left >= 4 && ops[i + 3] >= 0 ? 4 + 3 * static_cast<size_t>(ops[i + 3]) : 0; break;
    default: return 0;
  }
  return len <= left ? len : 0;
}

// Runs a batch checked by Valid(); returns the hash of its picks and advances *now.
uint32_t Run(lb::Balancer* b, const std::vector<int32_t>& ops, const lb::RoutePolicy& policy, int64_t* now) {
  uint32_t hash = 2166136261u;
  std::vector<lb::HostAddr> hosts;
  for (size_t i = 0; i < ops.size();) {
    const int32_t* op = &ops[i];
    switch (op[0]) {
      case kClock:
        *now += op[1];
        i += 2;
        break;
      case kPick: {
        uint8_t key[4];
        std::memcpy(key, &op[3], sizeof key);  // little-endian hosts, as the TypeScript runner's bytes
        const lb::PickResult r = b->Pick(op[1], op[2], *now, op[3] >= 0 ? lb::HashKey{key, sizeof key} : lb::HashKey{});
        hash = Mix(Mix(Mix(hash, r.retcode), r.ip), r.port);
        i += 4;
        break;
      }
      case kReport:
        b->Report(op[1], op[2], op[3], op[4], op[5], *now, static_cast<uint32_t>(op[6]));
        i += 7;
        break;
      default:  // kApply
        hosts.clear();
        for (int32_t k = 0; k < op[3]; ++k) {
          const char* zone = policy.zone_overprovision == 0 ? "" : 2 * k < op[3] ? "az1" : "az2";
          hosts.push_back({op[4 + 3 * k], op[5 + 3 * k], op[6 + 3 * k], zone});
        }
        b->ApplyRoute(op[1], op[2], hosts, *now, &policy);
        i += 4 + 3 * static_cast<size_t>(op[3]);
        break;
    }
  }
  return hash;
}

bool Valid(const std::vector<int32_t>& ops) {
  for (size_t i = 0; i < ops.size();) {
    const size_t len = OpLength(ops, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool ReadBatch(std::vector<int32_t>* out) {
  int32_t n;
  if (std::fread(&n, sizeof n, 1, stdin) != 1 || n < 0) return false;
  out->resize(static_cast<size_t>(n));
  return std::fread(out->data(), sizeof(int32_t), out->size(), stdin) == out->size() && Valid(*out);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  std::vector<int32_t> setup, batch;
  if (!ReadBatch(&setup) || !ReadBatch(&batch)) {
    std::fprintf(stderr, "balancer-ops: stdin must hold two well-formed batches (setup, then the measured one)\n");
    return 2;
  }
  lb::Config config;
  config.update_timeout_ms = args.real("update-timeout-ms", config.update_timeout_ms);
  const double max_ns = args.real("max-time-ms", 1000) * 1e6;
  lb::RoutePolicy policy;
  policy.name = args.str("policy", "lars");
  policy.zone_overprovision = static_cast<uint32_t>(args.num("zone-overprovision", 0));
  if (policy.zone_overprovision > 0) config.zone = "az1";
  lb::Balancer b{config};
  int64_t now = args.num("now", 0);
  Run(&b, setup, policy, &now);
  const int64_t start = now;
  const uint32_t hash = Run(&b, batch, policy, &now);
  // Every batch starts at the same clock, as the TypeScript runner's do.
  uint64_t batches = 0;
  const uint64_t t0 = bench::mono_ns();
  uint64_t elapsed = 0;
  do {
    now = start;
    Run(&b, batch, policy, &now);
    ++batches;
    elapsed = bench::mono_ns() - t0;
  } while (static_cast<double>(elapsed) < max_ns);
  std::printf("{\"hash\":%u,\"batches\":%llu,\"seconds\":%.6f}\n", hash, static_cast<unsigned long long>(batches),
              static_cast<double>(elapsed) / 1e9);
  return 0;
}
