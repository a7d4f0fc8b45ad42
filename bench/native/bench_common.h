// What the benchmark tools share: --key value arguments, clocks, the process's own CPU time
// from /proc/self/stat, percentiles and one-line JSON output. Header-only; no state.
#pragma once

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string k = argv[i];
      if (k.rfind("--", 0) != 0) continue;
      k = k.substr(2);
      if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        values_[k] = argv[++i];
      } else {
        values_[k] = "1";
      }
    }
  }
  std::string str(const std::string& k, const std::string& def) const {
    auto it = values_.find(k);
    return it == values_.end() ? def : it->second;
  }
  long num(const std::string& k, long def) const {
    auto it = values_.find(k);
    return it == values_.end() ? def : std::strtol(it->second.c_str(), nullptr, 10);
  }
  double real(const std::string& k, double def) const {
    auto it = values_.find(k);
    return it == values_.end() ? def : std::strtod(it->second.c_str(), nullptr);
  }

 private:
  std::map<std::string, std::string> values_;
};

inline uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Wall clock in microseconds since the epoch: comparable with Date.now() in the runner.
inline int64_t wall_us() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// utime + stime of this process, in seconds (/proc/self/stat fields 14 and 15).
inline double self_cpu_seconds() {
  std::ifstream f("/proc/self/stat");
  std::string line;
  std::getline(f, line);
  const size_t close = line.rfind(')');
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// CPU use of this process over a window, in % of one core.
class CpuWindow {
 public:
  void start() {
    cpu0_ = self_cpu_seconds();
    t0_ = mono_ns();
  }
  double percent() const {
    const double wall = double(mono_ns() - t0_) / 1e9;
    return wall > 0 ? 100.0 * (self_cpu_seconds() - cpu0_) / wall : 0;
  }

 private:
  double cpu0_ = 0;
  uint64_t t0_ = 0;
};

// q in [0, 1]; sorts v.
template <typename T>
double percentile(std::vector<T>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
  return double(v[i]);
}

// Prints one line and flushes, so the runner sees events as they happen.
inline void emit(const std::string& json) {
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

class Json {
 public:
  Json& add(const char* k, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return raw(k, buf);
  }
  Json& add(const char* k, uint64_t v) { return raw(k, std::to_string(v)); }
  Json& add(const char* k, int64_t v) { return raw(k, std::to_string(v)); }
  Json& add(const char* k, int v) { return raw(k, std::to_string(v)); }
  Json& add(const char* k, const std::string& v) { return raw(k, "\"" + v + "\""); }
  Json& add(const char* k, const char* v) { return add(k, std::string(v)); }
  Json& raw(const char* k, const std::string& v) {
    s_ += s_.empty() ? "{" : ",";
    s_ += "\"";
    s_ += k;
    s_ += "\":";
    s_ += v;
    return *this;
  }
  std::string str() const { return s_.empty() ? "{}" : s_ + "}"; }

 private:
  std::string s_;
};

}  // namespace bench
