// lars_wire: varints, frame header, the stream decoder at every split point, datagrams, and the
// message codec (canonical bytes, non-canonical input, malformed input).
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "wire/frame.h"
#include "wire/messages.h"
#include "wire/pb.h"

using namespace lars::wire;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes hex(const char* s) {
  Bytes out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (const char* p = s; *p;) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    out.push_back(static_cast<uint8_t>(nib(p[0]) << 4 | nib(p[1])));
    p += 2;
  }
  return out;
}

std::string to_hex(const Bytes& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    if (!s.empty()) s += ' ';
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

template <typename M>
Bytes enc(const M& m) {
  Bytes out;
  encode(m, out);
  CHECK_EQ(out.size(), encoded_size(m));
  return out;
}

template <typename M>
bool dec(const Bytes& b, M& m) {
  return decode(b.data(), b.size(), m);
}

Bytes frame(int32_t msgid, const Bytes& body) {
  Bytes out;
  append_header(out, msgid, static_cast<int32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

struct Collected {
  int32_t msgid;
  Bytes body;
};

bool push_all(FrameDecoder& d, const uint8_t* p, size_t n, std::vector<Collected>& got) {
  return d.push(p, n, [&](const FrameView& f) { got.push_back({f.msgid, Bytes(f.body, f.body + f.body_len)}); });
}

GetRouteResponse sample_route() {
  GetRouteResponse r;
  r.modid = 1;
  r.cmdid = 2;
  r.host = {{-1062731343, 9000}, {0x7f000001, 80}, {0, 0}};
  return r;
}

}  // namespace

// ---- varints ----

TEST(varint_sizes_and_bytes) {
  const uint64_t values[] = {0, 1, 127, 128, 300, 16383, 16384, 0xffffffffULL, ~0ULL};
  const size_t sizes[] = {1, 1, 1, 2, 2, 2, 3, 5, 10};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); ++i) {
    Bytes b;
    pb::put_varint(b, values[i]);
    CHECK_EQ(b.size(), sizes[i]);
    CHECK_EQ(pb::varint_size(values[i]), sizes[i]);
  }
  Bytes b;
  pb::put_varint(b, 300);
  CHECK_EQ(to_hex(b), std::string("ac 02"));
}

TEST(negative_int32_is_ten_bytes) {
  GetRouteRequest m;
  m.modid = -1;
  CHECK_EQ(to_hex(enc(m)), std::string("08 ff ff ff ff ff ff ff ff ff 01"));
  GetRouteRequest back;
  CHECK(dec(enc(m), back));
  CHECK_EQ(back.modid, -1);
  m.modid = INT32_MIN;
  CHECK_EQ(to_hex(enc(m)), std::string("08 80 80 80 80 f8 ff ff ff ff 01"));
  CHECK(dec(enc(m), back));
  CHECK_EQ(back.modid, INT32_MIN);
}

TEST(int32_accepts_five_byte_negative) {
  // Some encoders write negative int32 as 5 bytes; the low 32 bits are what counts.
  GetRouteRequest m;
  CHECK(dec(hex("08 ff ff ff ff 0f"), m));
  CHECK_EQ(m.modid, -1);
}

TEST(varint_longer_than_ten_bytes_rejected) {
  GetRouteRequest m;
  CHECK(!dec(hex("08 ff ff ff ff ff ff ff ff ff ff 01"), m));
  CHECK(!dec(hex("08 ff ff"), m));  // truncated
}

TEST(bool_any_payload_bit_is_true) {
  HostCallResult m;
  CHECK(dec(hex("28 80 80 80 80 10"), m));  // 2^32: low 32 bits zero, still true
  CHECK(m.overload);
  CHECK(dec(hex("28 00"), m));
  CHECK(!m.overload);
}

// ---- header ----

TEST(header_little_endian) {
  uint8_t h[kHeaderSize];
  write_header(h, 2, 0x01020304);
  CHECK_EQ(to_hex(Bytes(h, h + 8)), std::string("02 00 00 00 04 03 02 01"));
  const FrameHeader back = read_header(h);
  CHECK_EQ(back.msgid, 2);
  CHECK_EQ(back.msglen, 0x01020304);
  write_header(h, -5, -1);
  CHECK_EQ(read_header(h).msgid, -5);
  CHECK_EQ(read_header(h).msglen, -1);
  CHECK_EQ(kMaxBodySize, size_t{65527});
  CHECK(valid_body_length(0));
  CHECK(valid_body_length(65527));
  CHECK(!valid_body_length(65528));
  CHECK(!valid_body_length(-1));
}

// ---- stream decoder ----

TEST(decoder_every_split_point) {
  Bytes stream;
  const Bytes b1 = enc(sample_route());
  const Bytes f1 = frame(2, b1), f2 = frame(1, {}), f3 = frame(5, hex("08 07"));
  for (const Bytes* f : {&f1, &f2, &f3}) stream.insert(stream.end(), f->begin(), f->end());
  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); b += 3) {
      FrameDecoder d;
      std::vector<Collected> got;
      CHECK(push_all(d, stream.data(), a, got));
      CHECK(push_all(d, stream.data() + a, b - a, got));
      CHECK(push_all(d, stream.data() + b, stream.size() - b, got));
      CHECK_EQ(got.size(), size_t{3});
      if (got.size() != 3) return;
      CHECK_EQ(got[0].msgid, 2);
      CHECK(got[0].body == b1);
      CHECK_EQ(got[1].msgid, 1);
      CHECK(got[1].body.empty());
      CHECK(got[2].body == hex("08 07"));
      CHECK_EQ(d.buffered(), size_t{0});
    }
  }
}

TEST(decoder_byte_at_a_time) {
  const Bytes f = frame(8, enc(sample_route()));
  FrameDecoder d;
  std::vector<Collected> got;
  for (size_t i = 0; i < f.size(); ++i) {
    CHECK(push_all(d, &f[i], 1, got));
    CHECK_EQ(got.size(), i + 1 == f.size() ? size_t{1} : size_t{0});
  }
}

TEST(decoder_many_frames_per_chunk) {
  Bytes stream;
  for (int i = 0; i < 1000; ++i) {
    GetHostRequest m;
    m.seq = static_cast<uint32_t>(i);
    m.modid = 1;
    const Bytes f = frame(4, enc(m));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameDecoder d;
  std::vector<Collected> got;
  CHECK(push_all(d, stream.data(), stream.size(), got));
  CHECK_EQ(got.size(), size_t{1000});
  GetHostRequest last;
  CHECK(dec(got.back().body, last));
  CHECK_EQ(last.seq, uint32_t{999});
}

TEST(decoder_largest_frame_split) {
  const Bytes body(kMaxBodySize, 0);
  const Bytes f = frame(2, body);
  CHECK_EQ(f.size(), kMaxFrameSize);
  FrameDecoder d;
  std::vector<Collected> got;
  for (size_t off = 0; off < f.size(); off += 4096) {
    CHECK(push_all(d, f.data() + off, std::min<size_t>(4096, f.size() - off), got));
  }
  CHECK_EQ(got.size(), size_t{1});
  CHECK(d.buffered() == 0);
}

TEST(decoder_negative_length_fails_and_stays_failed) {
  Bytes stream = frame(1, hex("08 01"));
  uint8_t bad[kHeaderSize];
  write_header(bad, 1, -1);
  stream.insert(stream.end(), bad, bad + kHeaderSize);
  FrameDecoder d;
  std::vector<Collected> got;
  CHECK(!push_all(d, stream.data(), stream.size(), got));
  CHECK_EQ(got.size(), size_t{1});  // the frame before the bad header was delivered
  CHECK(d.failed());
  const Bytes good = frame(1, {});
  CHECK(!push_all(d, good.data(), good.size(), got));
  CHECK_EQ(got.size(), size_t{1});
}

TEST(decoder_oversized_length_fails_on_split_header) {
  uint8_t bad[kHeaderSize];
  write_header(bad, 2, static_cast<int32_t>(kMaxBodySize + 1));
  for (size_t split = 1; split < kHeaderSize; ++split) {
    FrameDecoder d;
    std::vector<Collected> got;
    CHECK(push_all(d, bad, split, got));
    CHECK(!push_all(d, bad + split, kHeaderSize - split, got));
    CHECK(d.failed());
    CHECK(d.buffered() <= kHeaderSize);  // nothing allocated from the untrusted length
  }
  write_header(bad, 2, INT32_MAX);
  FrameDecoder d;
  std::vector<Collected> got;
  CHECK(!push_all(d, bad, kHeaderSize, got));
}

TEST(parse_frame_in_place) {
  const Bytes f = frame(3, hex("08 01"));
  FrameView v;
  size_t consumed = 0;
  CHECK(parse_frame(f.data(), 7, v, consumed) == ParseStatus::kNeedMore);
  CHECK(parse_frame(f.data(), f.size() - 1, v, consumed) == ParseStatus::kNeedMore);
  CHECK(parse_frame(f.data(), f.size(), v, consumed) == ParseStatus::kFrame);
  CHECK_EQ(consumed, f.size());
  CHECK_EQ(v.msgid, 3);
  CHECK(v.body == f.data() + kHeaderSize);
}

// ---- datagrams ----

TEST(datagram_checks) {
  const Bytes f = frame(4, hex("08 01 10 02"));
  FrameView v;
  CHECK(parse_datagram(f.data(), f.size(), v) == DatagramStatus::kOk);
  CHECK_EQ(v.body_len, size_t{4});
  CHECK(parse_datagram(f.data(), 5, v) == DatagramStatus::kShort);
  CHECK(parse_datagram(f.data(), f.size() - 1, v) == DatagramStatus::kSizeMismatch);
  Bytes longer = f;
  longer.push_back(0);
  CHECK(parse_datagram(longer.data(), longer.size(), v) == DatagramStatus::kSizeMismatch);
  uint8_t bad[kHeaderSize];
  write_header(bad, 4, -8);
  CHECK(parse_datagram(bad, kHeaderSize, v) == DatagramStatus::kBadLength);
  CHECK_EQ(std::string(to_string(DatagramStatus::kSizeMismatch)), std::string("size-mismatch"));
}

// ---- messages: canonical encoding ----

TEST(canonical_bytes_route_response) {
  // 192.168.1.177 = -1062731343 as int32; the expected bytes are protobufjs's encoding.
  CHECK_EQ(to_hex(enc(sample_route())),
           std::string("08 01 10 02 1a 0e 08 b1 83 a0 85 fc ff ff ff ff 01 10 a8 46 "
                       "1a 08 08 81 80 80 f8 07 10 50 1a 00"));
}

TEST(defaults_are_omitted) {
  CHECK(enc(GetRouteRequest{}).empty());
  CHECK(enc(GetRouteResponse{}).empty());
  CHECK(enc(ReportStatusRequest{}).empty());
  CHECK(enc(GetHostRequest{}).empty());
  CHECK(enc(GetHostResponse{}).empty());
  CHECK(enc(ReportRequest{}).empty());
  GetHostResponse r;
  r.has_host = true;  // present but all defaults: an empty submessage
  CHECK_EQ(to_hex(enc(r)), std::string("2a 00"));
}

TEST(field_order_report_request) {
  ReportRequest r;
  r.modid = 1;
  r.cmdid = 2;
  r.has_host = true;
  r.host = {5, 6};
  r.retcode = 1;
  CHECK_EQ(to_hex(enc(r)), std::string("08 01 10 02 1a 04 08 05 10 06 20 01"));
}

TEST(extension_fields_round_trip_and_default_to_reference_bytes) {
  GetRouteResponse r;
  r.modid = 1;
  HostInfo h;
  h.ip = 1;
  h.port = 2;
  r.host.push_back(h);
  CHECK_EQ(to_hex(enc(r)), std::string("08 01 1a 04 08 01 10 02"));  // as in the reference
  r.host[0].weight = 300;
  r.host[0].zone = "az1";
  r.has_policy = true;
  r.policy.name = "lars";
  r.policy.max_ejection_percent = 50;
  CHECK_EQ(to_hex(enc(r)), std::string("08 01 1a 0c 08 01 10 02 18 ac 02 22 03 61 7a 31 22 08 0a 04 6c 61 72 73 10 32"));
  GetRouteResponse back;
  CHECK(dec(enc(r), back) && back == r);
  // The reference decoder's view: only ip and port matter, the rest is skipped.
  HostInfo ref;
  CHECK(decode(enc(r).data() + 4, 12, ref) && ref.ip == 1 && ref.port == 2 && ref.weight == 300);

  ReportBatchRequest batch, batch2;
  ReportRequest one;
  one.modid = 1;
  one.usetime_us = 77;
  batch.report = {one, one};
  CHECK(dec(enc(batch), batch2) && batch2 == batch);
  LeaseRequest leases, leases2;
  Lease l;
  l.has_host = true;
  l.host = h;
  l.ttl_ms = 3000;
  leases.lease = {l};
  CHECK(dec(enc(leases), leases2) && leases2 == leases);
  HostCallResult c, c2;
  c.usetime_sum_us = 0xffffffffffffffffull;
  c.timed_calls = 2;
  CHECK(dec(enc(c), c2) && c2 == c);
  GetHostRequest g, g2;
  g.hash_key = std::string("\0\xff", 2);
  CHECK(dec(enc(g), g2) && g2 == g);
}

TEST(string_fields_must_be_utf8) {
  HostInfo h;
  CHECK(dec(hex("22 02 c3 a9"), h) && h.zone == "\xc3\xa9");
  CHECK(!dec(hex("22 02 c3 28"), h));        // bad continuation
  CHECK(!dec(hex("22 02 c0 af"), h));        // overlong
  CHECK(!dec(hex("22 03 ed a0 80"), h));     // a surrogate
  CHECK(!dec(hex("22 04 f4 90 80 80"), h));  // above U+10FFFF
  CHECK(!dec(hex("22 01 e2"), h));           // truncated
  GetHostRequest g;
  CHECK(dec(hex("22 02 c3 28"), g) && g.hash_key.size() == 2);  // bytes are not UTF-8 checked
}

TEST(round_trip_all_messages) {
  GetRouteRequest a{7, -3}, a2;
  CHECK(dec(enc(a), a2) && a2 == a);
  GetRouteResponse b = sample_route(), b2;
  CHECK(dec(enc(b), b2) && b2 == b);
  ReportStatusRequest c, c2;
  c.modid = 1;
  c.cmdid = 1;
  c.caller = -1062731343;
  c.results = {{1, 2, 3, 4, true}, {-1, 65535, 0xffffffffu, 0, false}};
  c.ts = 0xfffffff0u;
  CHECK(dec(enc(c), c2) && c2 == c);
  GetHostRequest d{0xffffffffu, 1, 2}, d2;
  CHECK(dec(enc(d), d2) && d2 == d);
  GetHostResponse e, e2;
  e.seq = 9;
  e.modid = 1;
  e.cmdid = 2;
  e.retcode = kRetNoExist;
  CHECK(dec(enc(e), e2) && e2 == e && !e2.has_host);
  e.has_host = true;
  e.host = {-2, 8080};
  CHECK(dec(enc(e), e2) && e2 == e && e2.has_host);
  ReportRequest f, f2;
  f.modid = 3;
  f.has_host = true;
  f.host = {1, 2};
  f.retcode = kRetOverload;
  CHECK(dec(enc(f), f2) && f2 == f);
}

TEST(append_frame_limits) {
  GetRouteResponse r;
  r.modid = -1;
  r.cmdid = -1;
  // Worst-case host: negative ip (10-byte varint), port 65535: 17 bytes per entry.
  r.host.assign(3853, HostInfo{-1, 65535, 0, {}});
  Bytes out;
  CHECK(append_frame(kGetRouteResponse, r, out));
  CHECK(out.size() <= kMaxFrameSize);
  r.host.push_back(HostInfo{-1, 65535, 0, {}});
  Bytes out2{1, 2, 3};
  CHECK(!append_frame(kGetRouteResponse, r, out2));
  CHECK_EQ(out2.size(), size_t{3});
}

// ---- messages: non-canonical and malformed input ----

TEST(accepts_non_canonical) {
  GetHostRequest m;
  // Fields out of order, zeros present, a repeated scalar (last wins), a 2-byte tag.
  CHECK(dec(hex("18 05 10 00 08 01 08 02 90 00 09"), m));
  CHECK_EQ(m.seq, uint32_t{2});
  CHECK_EQ(m.modid, 9);
  CHECK_EQ(m.cmdid, 5);
  // A later zero resets to the default.
  CHECK(dec(hex("10 05 10 00"), m));
  CHECK_EQ(m.modid, 0);
}

TEST(singular_submessage_merges) {
  GetHostResponse m;
  CHECK(dec(hex("2a 02 08 05 2a 02 10 06"), m));
  CHECK(m.has_host);
  CHECK_EQ(m.host.ip, 5);
  CHECK_EQ(m.host.port, 6);
}

TEST(skips_unknown_fields_of_every_wire_type) {
  GetRouteRequest m;
  const Bytes b = hex(
      "08 01"                      // modid 1
      "a0 06 96 01"                // field 100 varint
      "39 01 02 03 04 05 06 07 08" // field 7 fixed64
      "42 03 61 62 63"             // field 8 bytes
      "4d 01 02 03 04"             // field 9 fixed32
      "53 08 01 5b 5c 54"          // field 10 group holding a varint and an empty group 11
      "10 02"                      // cmdid 2
      "80 80 80 80 08 00"          // field 2^28, 5-byte tag
  );
  CHECK(dec(b, m));
  CHECK_EQ(m.modid, 1);
  CHECK_EQ(m.cmdid, 2);
  // A known field number with another wire type is an unknown field.
  CHECK(dec(hex("0a 02 08 01 15 01 00 00 00"), m));
  CHECK_EQ(m.modid, 0);
  // An unknown varint may be longer than 10 bytes (skipped like protobufjs does).
  CHECK(dec(hex("18 ff ff ff ff ff ff ff ff ff ff ff 01 08 03"), m));
  CHECK_EQ(m.modid, 3);
  // Unknown fields inside a submessage.
  GetRouteResponse r;
  CHECK(dec(hex("1a 06 08 01 f8 01 07 10"), r) == false);  // submessage length 6 ends mid-field
  CHECK(dec(hex("1a 05 08 01 f8 01 07"), r));
  CHECK_EQ(r.host.size(), size_t{1});
  CHECK_EQ(r.host[0].ip, 1);
}

TEST(rejects_malformed) {
  GetRouteResponse r;
  CHECK(!dec(hex("1a 05 08 01"), r));          // length past the end
  CHECK(!dec(hex("1a 02 08"), r));             // submessage truncated inside
  CHECK(!dec(hex("08"), r));                   // value missing
  CHECK(!dec(hex("00 01"), r));                // field number 0
  CHECK(!dec(hex("0e 01"), r));                // wire type 6
  CHECK(!dec(hex("0f"), r));                   // wire type 7
  CHECK(!dec(hex("0c"), r));                   // stray end-group
  CHECK(!dec(hex("53 08 01"), r));             // group never ended
  CHECK(!dec(hex("53 64"), r));                // group ended with another field's end tag
  CHECK(!dec(hex("39 01 02"), r));             // fixed64 truncated
  CHECK(!dec(hex("4d 01"), r));                // fixed32 truncated
  CHECK(!dec(hex("80 80 80 80 10 00"), r));    // tag above 2^32
  CHECK(!dec(hex("80 80 80 80 80 01"), r));    // 6-byte tag
  CHECK(!dec(hex("42 80 80 80 80 08"), r));    // length >= 2^31
  CHECK(!dec(hex("ff ff ff ff"), r));
  CHECK(r.host.empty());
}

TEST(group_nesting_limit) {
  // Groups nested past the recursion limit are rejected, as by protobufjs; shallower ones skip.
  auto nested = [](int levels) {
    Bytes b;
    for (int i = 0; i < levels; ++i) b.push_back(0x53);  // start group 10
    for (int i = 0; i < levels; ++i) b.push_back(0x54);  // end group 10
    return b;
  };
  GetRouteRequest m;
  CHECK(dec(nested(101), m));
  CHECK(!dec(nested(102), m));
}

TEST(truncations_of_valid_messages_never_crash) {
  ReportStatusRequest c;
  c.modid = 1;
  c.caller = -1;
  c.results = {{1, 2, 3, 4, true}, {-1, 65535, 7, 8, false}};
  c.ts = 1700000000;
  const Bytes full = enc(c);
  for (size_t n = 0; n < full.size(); ++n) {
    ReportStatusRequest out;
    decode(full.data(), n, out);  // must not read past n (ASan checks)
  }
  // Every single-byte corruption either decodes or is rejected, never crashes.
  for (size_t i = 0; i < full.size(); ++i) {
    for (int v : {0x00, 0x7f, 0x80, 0xff}) {
      Bytes b = full;
      b[i] = static_cast<uint8_t>(v);
      ReportStatusRequest out;
      decode(b.data(), b.size(), out);
    }
  }
}
