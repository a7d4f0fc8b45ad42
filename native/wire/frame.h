// Lars framing (docs/spec/PROTOCOL.md): an 8-byte header — int32 msgid, int32 msglen, both
// little-endian — then msglen bytes of protobuf body; header + body at most 65535 bytes.
//
// parse_frame() and parse_datagram() look at caller-owned bytes and copy nothing. FrameDecoder
// turns a TCP byte stream into frames whatever the chunk boundaries; it owns only the front of
// the one frame that a chunk left incomplete. None of this is thread-safe; a decoder belongs to
// the one thread that reads its connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lars::wire {

constexpr size_t kHeaderSize = 8;
constexpr size_t kMaxFrameSize = 65535;
constexpr size_t kMaxBodySize = kMaxFrameSize - kHeaderSize;  // 65527

struct FrameHeader {
  int32_t msgid = 0;
  int32_t msglen = 0;  // untrusted until valid_body_length() says otherwise
};

// p must hold kHeaderSize bytes.
FrameHeader read_header(const uint8_t* p);
void write_header(uint8_t* p, int32_t msgid, int32_t msglen);
// Appends a header to out.
void append_header(std::vector<uint8_t>& out, int32_t msgid, int32_t msglen);

// A negative or oversized msglen is a protocol error: the connection must be closed.
inline bool valid_body_length(int32_t msglen) {
  return msglen >= 0 && static_cast<size_t>(msglen) <= kMaxBodySize;
}

// One frame; body points into memory the FrameView does not own.
struct FrameView {
  int32_t msgid = 0;
  const uint8_t* body = nullptr;
  size_t body_len = 0;
};

enum class ParseStatus {
  kNeedMore,   // fewer bytes than one whole frame: wait for more
  kFrame,      // out holds the first frame; consumed = kHeaderSize + its body length
  kBadLength,  // the header's msglen is negative or too large: close the connection
};

// Parses the frame at the front of [data, data+len) in place, for callers that keep their own
// input buffer (muduo-style). A bad length is reported as soon as the header is complete.
ParseStatus parse_frame(const uint8_t* data, size_t len, FrameView& out, size_t& consumed);

enum class DatagramStatus {
  kOk,
  kShort,         // fewer than kHeaderSize bytes
  kBadLength,     // msglen negative or too large
  kSizeMismatch,  // the datagram is not exactly kHeaderSize + msglen bytes
};

// UDP carries exactly one frame per datagram.
DatagramStatus parse_datagram(const uint8_t* data, size_t len, FrameView& out);
const char* to_string(DatagramStatus status);

// Reassembles frames from a TCP byte stream. Frames wholly inside one chunk are handed out
// without copying; only a frame split across chunks is gathered in pending_, which grows with
// the bytes that actually arrived (never reserved from the untrusted msglen) and never exceeds
// kMaxFrameSize. After a bad length the decoder stays failed: the caller closes the connection.
class FrameDecoder {
 public:
  // Calls on_frame(const FrameView&) for each complete frame, in order. The view is valid only
  // during that call, and on_frame must not throw or push into this decoder. Returns false when a bad length was seen (now or earlier); frames before
  // it in the same chunk have already been delivered.
  template <typename OnFrame>
  bool push(const uint8_t* data, size_t len, OnFrame&& on_frame);

  bool failed() const { return failed_; }
  // Bytes held of an incomplete frame.
  size_t buffered() const { return pending_.size(); }

 private:
  enum class Fill { kNeedMore, kFrame, kBadLength };
  // Moves bytes from [data, data+len) into pending_ until it holds one whole frame or the input
  // runs out; used tells how many bytes it took.
  Fill fill_pending(const uint8_t* data, size_t len, size_t& used);
  // Marks the stream broken and drops what was buffered; returns false for push().
  bool fail();

  std::vector<uint8_t> pending_;
  bool failed_ = false;
};

template <typename OnFrame>
bool FrameDecoder::push(const uint8_t* data, size_t len, OnFrame&& on_frame) {
  if (failed_) return false;
  if (!pending_.empty()) {
    size_t used = 0;
    const Fill fill = fill_pending(data, len, used);
    if (fill == Fill::kBadLength) return fail();
    if (fill == Fill::kNeedMore) return true;  // all of the chunk went into pending_
    const FrameHeader h = read_header(pending_.data());
    on_frame(FrameView{h.msgid, pending_.data() + kHeaderSize, pending_.size() - kHeaderSize});
    pending_.clear();
    data += used;
    len -= used;
  }
  for (;;) {
    FrameView frame;
    size_t consumed = 0;
    switch (parse_frame(data, len, frame, consumed)) {
      case ParseStatus::kFrame:
        on_frame(frame);
        data += consumed;
        len -= consumed;
        break;
      case ParseStatus::kBadLength:
        return fail();
      case ParseStatus::kNeedMore:
        pending_.assign(data, data + len);
        return true;
    }
  }
}

}  // namespace lars::wire
