// Bounds-checked proto3 primitives: a varint/tag writer appending to a byte vector, and a Reader
// over a borrowed byte range. Only what lars.proto needs (int32, uint32, uint64, bool, string/bytes,
// submessages), plus
// skipping unknown fields of every wire type.
//
// The Reader accepts exactly what protobufjs 8 (the TypeScript codec, src/wire/messages.ts)
// accepts, limit for limit, so that both implementations agree on every input, malformed or not:
// tags at most 5 bytes and below 2^32, lengths at most 5 bytes and below 2^31, scalar varints at
// most 10 bytes (read as their low 32 bits), field number 0 illegal, groups skipped with matching
// end tags, nesting deeper than kRecursionLimit rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lars::wire::pb {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// protoc's default recursion limit, which protobufjs uses too.
constexpr int kRecursionLimit = 100;

// ---- writing (canonical proto3) ----

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

inline void put_tag(std::vector<uint8_t>& out, uint32_t field, WireType type) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | type);
}

// proto3 int32 sign-extends to 64 bits, so a negative value is always a 10-byte varint.
inline uint64_t int32_varint(int32_t v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); }

// Scalar fields equal to their default are not written (canonical proto3).
inline void put_int32(std::vector<uint8_t>& out, uint32_t field, int32_t v) {
  if (v == 0) return;
  put_tag(out, field, kVarint);
  put_varint(out, int32_varint(v));
}

inline void put_uint32(std::vector<uint8_t>& out, uint32_t field, uint32_t v) {
  if (v == 0) return;
  put_tag(out, field, kVarint);
  put_varint(out, v);
}

inline void put_uint64(std::vector<uint8_t>& out, uint32_t field, uint64_t v) {
  if (v == 0) return;
  put_tag(out, field, kVarint);
  put_varint(out, v);
}

// A string or bytes field.
inline void put_bytes(std::vector<uint8_t>& out, uint32_t field, const std::string& v) {
  if (v.empty()) return;
  put_tag(out, field, kLengthDelimited);
  put_varint(out, v.size());
  out.insert(out.end(), v.begin(), v.end());
}

inline void put_bool(std::vector<uint8_t>& out, uint32_t field, bool v) {
  if (!v) return;
  put_tag(out, field, kVarint);
  out.push_back(1);
}

// Encoded size of a scalar field as put_* writes it (0 when omitted); fields here are < 16.
inline size_t int32_field_size(int32_t v) { return v == 0 ? 0 : 1 + varint_size(int32_varint(v)); }
inline size_t uint32_field_size(uint32_t v) { return v == 0 ? 0 : 1 + varint_size(v); }
inline size_t uint64_field_size(uint64_t v) { return v == 0 ? 0 : 1 + varint_size(v); }
inline size_t bool_field_size(bool v) { return v ? 2 : 0; }
inline size_t bytes_field_size(const std::string& v) { return v.empty() ? 0 : 1 + varint_size(v.size()) + v.size(); }

// ---- reading ----

// Reads from [data, data+len), which it does not own. Every method returns false, leaving the
// position unspecified, when the input is malformed; the caller then abandons the whole message.
class Reader {
 public:
  Reader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}

  bool done() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

  // A field key; field number 0 is illegal.
  bool read_tag(uint32_t& field, uint32_t& type);
  bool read_int32(int32_t& v);
  bool read_uint32(uint32_t& v);
  bool read_uint64(uint64_t& v);
  bool read_bool(bool& v);
  // A bytes field's value, copied.
  bool read_bytes(std::string& v);
  // A string field's value, copied; false unless it is valid UTF-8 (proto3, and protobufjs's
  // strict decoder: no overlong forms, no surrogates, nothing above U+10FFFF).
  bool read_string(std::string& v);
  // A length prefix and the bytes it covers, as a sub-reader; this reader moves past them.
  bool read_delimited(Reader& sub);
  // Skips the value of an unknown field (or a known field sent with an unexpected wire type).
  // depth: how deep the enclosing message is nested (0 at top level).
  bool skip_field(uint32_t field, uint32_t type, int depth);

 private:
  // Up to 10 bytes; the value is truncated to its low 64 bits.
  bool read_varint(uint64_t& v, bool& nonzero);
  // Up to 5 bytes whose value stays below 2^32 (2^31 when max_last is 7).
  bool read_varint32(uint32_t& v, uint8_t max_last);

  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace lars::wire::pb
