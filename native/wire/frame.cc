#include "wire/frame.h"

#include <algorithm>

namespace lars::wire {

namespace {

int32_t read_le32(const uint8_t* p) {
  const uint32_t u = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                     static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
  return static_cast<int32_t>(u);
}

void write_le32(uint8_t* p, int32_t v) {
  const uint32_t u = static_cast<uint32_t>(v);
  p[0] = static_cast<uint8_t>(u);
  p[1] = static_cast<uint8_t>(u >> 8);
  p[2] = static_cast<uint8_t>(u >> 16);
  p[3] = static_cast<uint8_t>(u >> 24);
}

}  // namespace

FrameHeader read_header(const uint8_t* p) { return FrameHeader{read_le32(p), read_le32(p + 4)}; }

void write_header(uint8_t* p, int32_t msgid, int32_t msglen) {
  write_le32(p, msgid);
  write_le32(p + 4, msglen);
}

void append_header(std::vector<uint8_t>& out, int32_t msgid, int32_t msglen) {
  uint8_t h[kHeaderSize];
  write_header(h, msgid, msglen);
  out.insert(out.end(), h, h + kHeaderSize);
}

ParseStatus parse_frame(const uint8_t* data, size_t len, FrameView& out, size_t& consumed) {
  if (len < kHeaderSize) return ParseStatus::kNeedMore;
  const FrameHeader h = read_header(data);
  if (!valid_body_length(h.msglen)) return ParseStatus::kBadLength;
  const size_t body_len = static_cast<size_t>(h.msglen);
  if (len - kHeaderSize < body_len) return ParseStatus::kNeedMore;
  out = FrameView{h.msgid, data + kHeaderSize, body_len};
  consumed = kHeaderSize + body_len;
  return ParseStatus::kFrame;
}

DatagramStatus parse_datagram(const uint8_t* data, size_t len, FrameView& out) {
  if (len < kHeaderSize) return DatagramStatus::kShort;
  const FrameHeader h = read_header(data);
  if (!valid_body_length(h.msglen)) return DatagramStatus::kBadLength;
  if (len - kHeaderSize != static_cast<size_t>(h.msglen)) return DatagramStatus::kSizeMismatch;
  out = FrameView{h.msgid, data + kHeaderSize, static_cast<size_t>(h.msglen)};
  return DatagramStatus::kOk;
}

const char* to_string(DatagramStatus status) {
  switch (status) {
    case DatagramStatus::kOk: return "ok";
    case DatagramStatus::kShort: return "short";
    case DatagramStatus::kBadLength: return "bad-length";
    case DatagramStatus::kSizeMismatch: return "size-mismatch";
  }
  return "unknown";
}

bool FrameDecoder::fail() {
  failed_ = true;
  std::vector<uint8_t>().swap(pending_);
  return false;
}

FrameDecoder::Fill FrameDecoder::fill_pending(const uint8_t* data, size_t len, size_t& used) {
  used = 0;
  if (pending_.size() < kHeaderSize) {
    const size_t take = std::min(kHeaderSize - pending_.size(), len);
    pending_.insert(pending_.end(), data, data + take);
    used += take;
    if (pending_.size() < kHeaderSize) return Fill::kNeedMore;
  }
  const FrameHeader h = read_header(pending_.data());
  if (!valid_body_length(h.msglen)) return Fill::kBadLength;
  const size_t frame_len = kHeaderSize + static_cast<size_t>(h.msglen);
  const size_t take = std::min(frame_len - pending_.size(), len - used);
  pending_.insert(pending_.end(), data + used, data + used + take);
  used += take;
  return pending_.size() == frame_len ? Fill::kFrame : Fill::kNeedMore;
}

}  // namespace lars::wire
