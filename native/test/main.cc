// Test runner shared by every C++ test binary: `--list`, one case by name, or all cases.
#include <cstring>

#include "check.h"

int main(int argc, char** argv) {
  auto& cases = lars::test::registry();
  if (argc > 1 && std::strcmp(argv[1], "--list") == 0) {
    for (const auto& c : cases) std::printf("%s\n", c.name);
    return 0;
  }
  int ran = 0;
  for (const auto& c : cases) {
    if (argc > 1 && std::strcmp(argv[1], c.name) != 0) continue;
    const int before = lars::test::failures();
    c.fn();
    ++ran;
    std::printf("%s %s\n", lars::test::failures() == before ? "ok  " : "FAIL", c.name);
  }
  if (ran == 0) {
    std::fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "(any)");
    return 2;
  }
  return lars::test::failures() == 0 ? 0 : 1;
}
