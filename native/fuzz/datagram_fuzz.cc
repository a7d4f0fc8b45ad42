// wire::parse_datagram, as UdpServer runs it on every datagram the agent receives, then the body's
// decode by msgid (messages_fuzz.h). Properties of an accepted datagram: it is exactly one frame
// (parse_frame agrees and consumes all of it), its body is the bytes after the header, and the
// header written back from (msgid, body length) is the header received. A rejected one is
// rejected for the reason its status names.
#include <cstring>

#include "fuzz/messages_fuzz.h"

namespace wire = lars::wire;

std::vector<lars::fuzz::Bytes> lars::fuzz::seeds() { return frame_seeds(); }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wire::FrameView frame;
  const wire::DatagramStatus status = wire::parse_datagram(data, size, frame);
  FUZZ_CHECK(wire::to_string(status) != nullptr);
  switch (status) {
    case wire::DatagramStatus::kShort:
      FUZZ_CHECK(size < wire::kHeaderSize);
      return 0;
    case wire::DatagramStatus::kBadLength:
      FUZZ_CHECK(size >= wire::kHeaderSize && !wire::valid_body_length(wire::read_header(data).msglen));
      return 0;
    case wire::DatagramStatus::kSizeMismatch:
      FUZZ_CHECK(size >= wire::kHeaderSize &&
                 static_cast<size_t>(wire::read_header(data).msglen) != size - wire::kHeaderSize);
      return 0;
    case wire::DatagramStatus::kOk:
      break;
  }
  FUZZ_CHECK(frame.body == data + wire::kHeaderSize && frame.body_len == size - wire::kHeaderSize);
  wire::FrameView as_frame;
  size_t consumed = 0;
  FUZZ_CHECK(wire::parse_frame(data, size, as_frame, consumed) == wire::ParseStatus::kFrame);
  FUZZ_CHECK(consumed == size && as_frame.msgid == frame.msgid);
  uint8_t header[wire::kHeaderSize];
  wire::write_header(header, frame.msgid, static_cast<int32_t>(frame.body_len));
  FUZZ_CHECK(std::memcmp(header, data, wire::kHeaderSize) == 0);
  lars::fuzz::check_body(frame.msgid, frame.body, frame.body_len);
  return 0;
}
