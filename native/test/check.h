// A minimal test framework: TEST(name) registers a case, CHECK* record failures.
// Each test binary answers `--list` (one case per line) so CMake registers every
// case with ctest individually, and runs one named case or all of them.
#pragma once

#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace lars::test {

struct Case {
  const char* name;
  void (*fn)();
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

inline int& failures() {
  static int n = 0;
  return n;
}

struct Registrar {
  Registrar(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what.c_str());
}

template <typename A, typename B>
std::string describe(const char* ea, const char* eb, const A& a, const B& b) {
  std::ostringstream os;
  os << ea << " == " << eb << " (" << a << " vs " << b << ")";
  return os.str();
}

}  // namespace lars::test

#define TEST(name)                                                   \
  static void name();                                                \
  static ::lars::test::Registrar name##_registrar(#name, &name);     \
  static void name()

#define CHECK(cond) \
  do { if (!(cond)) ::lars::test::fail(__FILE__, __LINE__, #cond); } while (0)

#define CHECK_EQ(a, b)                                                                          \
  do {                                                                                          \
    const auto& check_a_ = (a);                                                                 \
    const auto& check_b_ = (b);                                                                 \
    if (!(check_a_ == check_b_))                                                                \
      ::lars::test::fail(__FILE__, __LINE__, ::lars::test::describe(#a, #b, check_a_, check_b_)); \
  } while (0)
