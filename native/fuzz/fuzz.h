// What every libFuzzer target shares: FUZZ_CHECK for the properties it asserts (a failed
// property aborts, which libFuzzer records as a crash with its input), and seeds(), the valid
// inputs the target's corpus starts from. seed_hook.cc writes them out (LARS_FUZZ_SEED_DIR).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define FUZZ_CHECK(cond)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace lars::fuzz {

using Bytes = std::vector<uint8_t>;

// Defined by each target: valid inputs built with the real encoder.
std::vector<Bytes> seeds();

}  // namespace lars::fuzz
