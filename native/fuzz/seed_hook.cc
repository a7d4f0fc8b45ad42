// Linked into every fuzz target. With LARS_FUZZ_SEED_DIR set, the target writes its seeds() there
// (seed-0, seed-1, ...) and exits instead of fuzzing, so the seed corpus is generated from the
// codec at run time rather than committed as binary files.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("LARS_FUZZ_SEED_DIR");
  if (dir == nullptr) return 0;
  const std::vector<lars::fuzz::Bytes> all = lars::fuzz::seeds();
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string path = std::string(dir) + "/seed-" + std::to_string(i);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(all[i].data(), 1, all[i].size(), f) != all[i].size()) {
      std::perror(path.c_str());
      std::exit(1);
    }
    std::fclose(f);
  }
  std::exit(0);
}
