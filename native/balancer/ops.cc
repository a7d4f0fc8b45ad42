#include "balancer/ops.h"

namespace lars::balancer {
namespace {

inline uint32_t Mix(uint32_t h, int32_t v) { return (h ^ static_cast<uint32_t>(v)) * 16777619u; }

}  // namespace

bool RunOps(Balancer* b, const int32_t* ops, size_t n, int64_t now, int32_t* out, size_t out_len,
            OpsSummary* summary, std::string* error) {
  size_t picks = 0;
  for (size_t i = 0; i < n;) {
    size_t len;
    switch (ops[i]) {
      case kOpClock: len = 2; break;
      case kOpPick: len = 3; ++picks; break;
      case kOpReport: len = 6; break;
      default:
        *error = "unknown opcode " + std::to_string(ops[i]) + " at index " + std::to_string(i);
        return false;
    }
    if (n - i < len) {
      *error = "truncated operation at index " + std::to_string(i);
      return false;
    }
    if (ops[i] == kOpClock && ops[i + 1] < 0) {
      *error = "negative clock step at index " + std::to_string(i);
      return false;
    }
    i += len;
  }
  if (out != nullptr && out_len < picks * 3) {
    *error = "out holds " + std::to_string(out_len) + " values; the batch needs " + std::to_string(picks * 3);
    return false;
  }
  OpsSummary s;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    ++s.ops;
    switch (ops[i]) {
      case kOpClock:
        now += ops[i + 1];
        i += 2;
        break;
      case kOpPick: {
        const PickResult r = b->Pick(ops[i + 1], ops[i + 2], now);
        ++s.picks;
        if (r.retcode == kRetSucc) ++s.succ;
        else if (r.retcode == kRetOverload) ++s.overload;
        else ++s.noexist;
        if (r.pull) ++s.pulls;
        s.hash = Mix(Mix(Mix(s.hash, r.retcode), r.ip), r.port);
        if (out != nullptr) {
          out[o++] = r.retcode;
          out[o++] = r.ip;
          out[o++] = r.port;
        }
        i += 3;
        break;
      }
      default:  // kOpReport
        if (b->Report(ops[i + 1], ops[i + 2], ops[i + 3], ops[i + 4], ops[i + 5], now)) ++s.reports;
        else ++s.ignored;
        i += 6;
        break;
    }
  }
  s.now = now;
  *summary = s;
  return true;
}

}  // namespace lars::balancer
