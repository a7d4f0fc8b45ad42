// The TCP framing: parse_frame (TcpConnection's loop over its input buffer) and FrameDecoder (the
// binding's stream decoder), on the same byte stream. Input: one byte that seeds how the stream
// is cut into chunks, then the stream. Properties: parse_frame reports frames that lie inside
// the input and are consumed whole; FrameDecoder, fed the stream in those chunks, hands out the
// very same frames in the same order, fails exactly when parse_frame meets a bad length, stays
// failed after, and otherwise holds exactly the bytes of the incomplete last frame.
#include <algorithm>
#include <cstring>

#include "fuzz/messages_fuzz.h"

namespace wire = lars::wire;
using lars::fuzz::Bytes;

namespace {

struct Frame {
  int32_t msgid;
  Bytes body;
  bool operator==(const Frame& o) const { return msgid == o.msgid && body == o.body; }
};

Frame copy(const wire::FrameView& f) { return Frame{f.msgid, Bytes(f.body, f.body + f.body_len)}; }

// Chunk lengths from a small xorshift generator: mostly short (0 included, so empty pushes are
// exercised), sometimes a large share of what is left.
class Chunker {
 public:
  explicit Chunker(uint8_t seed) : state_(0x9E3779B9u ^ (uint32_t{seed} * 0x01000193u)) {}
  size_t next(size_t left) {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    const size_t n = state_ % 8 == 0 ? state_ % (left + 1) : state_ % 16;
    return std::min(n, left);
  }

 private:
  uint32_t state_;
};

}  // namespace

std::vector<Bytes> lars::fuzz::seeds() {
  const std::vector<Bytes> frames = frame_seeds();
  Bytes all;
  for (const Bytes& f : frames) all.insert(all.end(), f.begin(), f.end());
  std::vector<Bytes> out;
  for (uint8_t chunk_seed : {0, 1, 42}) {
    Bytes whole{chunk_seed};
    whole.insert(whole.end(), all.begin(), all.end());
    out.push_back(whole);
    Bytes cut(whole.begin(), whole.end() - 3);  // ends inside a frame
    out.push_back(std::move(cut));
  }
  Bytes bad{7};  // two frames, then a negative length
  bad.insert(bad.end(), frames[0].begin(), frames[0].end());
  bad.insert(bad.end(), frames[1].begin(), frames[1].end());
  wire::append_header(bad, wire::kGetRouteRequest, -1);
  out.push_back(std::move(bad));
  return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Chunker chunker(data[0]);
  const uint8_t* stream = data + 1;
  const size_t len = size - 1;

  std::vector<Frame> expected;
  size_t at = 0;
  bool bad = false;
  for (;;) {
    wire::FrameView f;
    size_t consumed = 0;
    const wire::ParseStatus status = wire::parse_frame(stream + at, len - at, f, consumed);
    if (status == wire::ParseStatus::kNeedMore) break;
    if (status == wire::ParseStatus::kBadLength) {
      bad = true;
      break;
    }
    FUZZ_CHECK(consumed == wire::kHeaderSize + f.body_len && consumed <= len - at);
    FUZZ_CHECK(f.body == stream + at + wire::kHeaderSize);
    expected.push_back(copy(f));
    at += consumed;
  }

  wire::FrameDecoder decoder;
  std::vector<Frame> got;
  bool ok = true;
  for (size_t pos = 0; pos < len && ok;) {
    const size_t n = chunker.next(len - pos);
    ok = decoder.push(stream + pos, n, [&](const wire::FrameView& f) { got.push_back(copy(f)); });
    pos += n;
  }
  FUZZ_CHECK(got == expected);
  FUZZ_CHECK(ok == !bad && decoder.failed() == bad);
  if (bad) {
    bool delivered = false;
    FUZZ_CHECK(!decoder.push(stream, len, [&](const wire::FrameView&) { delivered = true; }) && !delivered);
    FUZZ_CHECK(decoder.buffered() == 0);
  } else {
    FUZZ_CHECK(decoder.buffered() == len - at);
  }
  return 0;
}
