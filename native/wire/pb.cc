#include "wire/pb.h"

namespace lars::wire::pb {

bool Reader::read_varint32(uint32_t& v, uint8_t max_last) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    if (p_ == end_) return false;
    const uint8_t b = *p_++;
    value |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      v = value;
      return true;
    }
  }
  // The fifth byte carries the top 4 bits; anything more would not fit (and is rejected, not truncated).
  if (p_ == end_) return false;
  const uint8_t b = *p_++;
  if (b > max_last) return false;
  v = value | static_cast<uint32_t>(b) << 28;
  return true;
}

bool Reader::read_varint(uint64_t& v, bool& nonzero) {
  uint64_t value = 0;
  bool any = false;
  for (int i = 0; i < 10; ++i) {
    if (p_ == end_) return false;
    const uint8_t b = *p_++;
    value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    any = any || (b & 0x7f) != 0;
    if (b < 0x80) {
      v = value;
      nonzero = any;
      return true;
    }
  }
  return false;  // an 11th byte: not a varint
}

bool Reader::read_tag(uint32_t& field, uint32_t& type) {
  uint32_t key = 0;
  if (!read_varint32(key, 0x0f)) return false;
  field = key >> 3;
  type = key & 7;
  return field != 0;
}

bool Reader::read_int32(int32_t& v) {
  uint64_t raw = 0;
  bool nonzero = false;
  if (!read_varint(raw, nonzero)) return false;
  v = static_cast<int32_t>(static_cast<uint32_t>(raw));
  return true;
}

bool Reader::read_uint32(uint32_t& v) {
  uint64_t raw = 0;
  bool nonzero = false;
  if (!read_varint(raw, nonzero)) return false;
  v = static_cast<uint32_t>(raw);
  return true;
}

bool Reader::read_uint64(uint64_t& v) {
  bool nonzero = false;
  return read_varint(v, nonzero);
}

bool Reader::read_bytes(std::string& v) {
  Reader sub(nullptr, 0);
  if (!read_delimited(sub)) return false;
  v.assign(reinterpret_cast<const char*>(sub.p_), sub.remaining());
  return true;
}

namespace {

bool is_valid_utf8(const uint8_t* p, size_t len) {
  const uint8_t* end = p + len;
  while (p < end) {
    const uint8_t b = *p++;
    if (b < 0x80) continue;
    int more = 0;
    uint8_t lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
    if (b >= 0xc2 && b <= 0xdf) {
      more = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      more = 2;
      if (b == 0xe0) lo = 0xa0;  // overlong
      if (b == 0xed) hi = 0x9f;  // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      more = 3;
      if (b == 0xf0) lo = 0x90;  // overlong
      if (b == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return false;
    }
    if (end - p < more) return false;
    if (*p < lo || *p > hi) return false;
    for (int i = 1; i < more; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
    }
    p += more;
  }
  return true;
}

}  // namespace

bool Reader::read_string(std::string& v) {
  Reader sub(nullptr, 0);
  if (!read_delimited(sub)) return false;
  if (!is_valid_utf8(sub.p_, sub.remaining())) return false;
  v.assign(reinterpret_cast<const char*>(sub.p_), sub.remaining());
  return true;
}

bool Reader::read_bool(bool& v) {
  uint64_t raw = 0;
  // Any set payload bit means true, even bits beyond 64 in a 10-byte varint.
  return read_varint(raw, v);
}

bool Reader::read_delimited(Reader& sub) {
  uint32_t len = 0;
  if (!read_varint32(len, 0x07)) return false;
  if (len > remaining()) return false;
  sub = Reader(p_, len);
  p_ += len;
  return true;
}

bool Reader::skip_field(uint32_t field, uint32_t type, int depth) {
  if (depth > kRecursionLimit || field == 0) return false;
  switch (type) {
    case kVarint:
      // Unknown varints are skipped to their last byte whatever their length, as protobufjs does.
      do {
        if (p_ == end_) return false;
      } while (*p_++ & 0x80);
      return true;
    case kFixed64:
      if (remaining() < 8) return false;
      p_ += 8;
      return true;
    case kFixed32:
      if (remaining() < 4) return false;
      p_ += 4;
      return true;
    case kLengthDelimited: {
      Reader ignored(nullptr, 0);
      return read_delimited(ignored);
    }
    case kStartGroup:
      for (;;) {
        uint32_t f = 0, t = 0;
        if (!read_tag(f, t)) return false;
        if (t == kEndGroup) return f == field;
        if (!skip_field(f, t, depth + 1)) return false;
      }
    default:  // a stray end-group, or wire types 6 and 7
      return false;
  }
}

}  // namespace lars::wire::pb
