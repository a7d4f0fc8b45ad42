// LocalView, as a business process runs it over an agent's local-view file: the input is the
// file's bytes. Magic, version, state and heartbeat are set so that the reader gets past its
// open checks into the directory and the node heap; every other byte is the fuzzer's (geometry,
// offsets, seqlocks, slots, node records). Properties: Check, Pick and Hosts answer without a
// crash or a sanitizer report; a pick is a Lars retcode or one of the three fallbacks; a node a
// pick names is one Hosts lists.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "balancer/balancer.h"
#include "fuzz/fuzz.h"
#include "view/LocalView.h"
#include "view/ViewWriter.h"

namespace lb = lars::balancer;
namespace view = lars::view;
using lars::fuzz::Bytes;

namespace {

// One directory per fuzzing process; the file is rewritten for every input.
const std::string& Dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/lars-view-fuzz-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    FUZZ_CHECK(made != nullptr);
    return std::string(made);
  }();
  return dir;
}

// A real file from the agent's writer, small geometry: routes with weights, zones, a policy, an
// overloaded node and an EMPTY route.
Bytes WrittenView(bool with_policy) {
  lb::Config config;
  lb::Balancer b{config};
  view::ViewWriter::Identity id;
  id.port = with_policy ? 7001 : 7002;
  id.pid = static_cast<int32_t>(::getpid());
  id.zone = "az1";
  std::string error;
  auto w = view::ViewWriter::Create(Dir(), id, &error, view::ViewGeometry{8, 32});
  FUZZ_CHECK(w != nullptr);
  const int32_t ip = 0x0a000001;
  b.SeedRoute(1, 1, {{ip, 1}, {ip, 2}, {ip, 3}}, 0);
  lb::RoutePolicy policy;
  policy.name = "ring_hash";
  policy.ring_size = 64;
  b.SeedRoute(1, 2, {{ip, 4, 300, "az1"}, {ip, 5, 50, "az2"}}, 0, with_policy ? &policy : nullptr);
  b.SeedRoute(1, 3, {}, 0);
  for (int32_t cmdid = 1; cmdid <= 3; ++cmdid) FUZZ_CHECK(w->Publish(b, 1, cmdid));
  lb::Route::Change change = lb::Route::Change::kNone;
  for (int i = 0; i < 100 && change != lb::Route::Change::kToOverload; ++i) b.Report(1, 1, ip, 2, lb::kRetOverload, 0, 0, &change);
  FUZZ_CHECK(w->Publish(b, 1, 1));
  w->Beat(view::MonotonicMs());
  std::ifstream in(w->path(), std::ios::binary);
  Bytes bytes((std::istreambuf_iterator<char>(in)), {});
  w->Close();
  return bytes;
}

void WriteFile(const std::string& path, const Bytes& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

}  // namespace

std::vector<Bytes> lars::fuzz::seeds() { return {WrittenView(true), WrittenView(false)}; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes file(data, data + size);
  if (file.size() < sizeof(view::Header)) file.resize(sizeof(view::Header));
  view::Header h;
  std::memcpy(&h, file.data(), sizeof(h));
  h.magic = view::kViewMagic;
  h.version = view::kViewVersion;
  h.state = view::kStateLive;
  h.heartbeat_ms = view::MonotonicMs();
  std::memcpy(file.data(), &h, sizeof(h));
  const std::string path = Dir() + "/input.view";
  WriteFile(path, file);

  // The modules to ask for: the seeds' keys, and the keys of the first slots where the header
  // says they are (when that is inside the file).
  std::vector<std::pair<int32_t, int32_t>> keys = {{1, 1}, {1, 2}, {1, 3}};
  for (uint64_t i = 0; i < std::min<uint64_t>(h.slot_count, 32); ++i) {
    const uint64_t at = h.slots_offset + i * sizeof(view::RouteSlot);
    if (h.slots_offset > file.size() || at + sizeof(view::RouteSlot) > file.size()) break;
    view::RouteSlot s;
    std::memcpy(&s, file.data() + at, sizeof(s));
    keys.emplace_back(s.modid, s.cmdid);
  }

  view::LocalView reader(path, 1);
  reader.Check(view::MonotonicMs());
  for (const auto& [modid, cmdid] : keys) {
    int32_t ip = 0, port = 0;
    const uint8_t key_bytes[4] = {1, 2, 3, 4};
    const int32_t rc = reader.Pick(modid, cmdid, view::MonotonicMs(), lb::HashKey{key_bytes, sizeof(key_bytes)}, &ip, &port);
    FUZZ_CHECK(rc >= 0 || rc == view::LocalView::kNotInView || rc == view::LocalView::kStaleView ||
               rc == view::LocalView::kNoView);
    std::vector<lb::HostAddr> hosts;
    const int32_t listed = reader.Hosts(modid, cmdid, view::MonotonicMs(), &hosts);
    if (rc == lb::kRetSucc && listed == 0) {
      bool found = false;
      for (const lb::HostAddr& n : hosts) found = found || (n.ip == ip && n.port == port);
      FUZZ_CHECK(found);
    }
  }
  reader.Close();
  return 0;
}
