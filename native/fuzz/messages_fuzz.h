// The checks and seeds the message, datagram and frame targets share.
//
// check_message<M>(bytes) runs the real decode and, when it accepts the bytes, asserts:
//  - encode(m) is exactly encoded_size(m) bytes (the size pass and the write pass agree);
//  - decode(encode(m)) succeeds and equals m (the canonical encoding round-trips);
//  - the bytes followed by one unknown field (number 15, every wire type in turn) decode to m
//    too (unknown fields are skipped, whatever follows them).
// Rejected bytes carry no property beyond "no crash, no leak, no undefined behaviour".
#pragma once

#include <climits>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz.h"
#include "wire/messages.h"

namespace lars::fuzz {

// Field 15 is unused by every Lars message; one example of each wire type, tag included.
inline const std::vector<Bytes>& unknown_fields() {
  static const std::vector<Bytes> fields = {
      {15 << 3 | 0, 0x96, 0x01},                      // varint
      {15 << 3 | 1, 1, 2, 3, 4, 5, 6, 7, 8},          // fixed64
      {15 << 3 | 2, 3, 'a', 'b', 'c'},                // length-delimited
      {15 << 3 | 3, 14 << 3 | 0, 1, 15 << 3 | 4},     // group holding a varint (field 14)
      {15 << 3 | 5, 1, 2, 3, 4},                      // fixed32
  };
  return fields;
}

template <typename M>
void check_message(const uint8_t* data, size_t size) {
  M m;
  if (!wire::decode(data, size, m)) return;
  Bytes canonical;
  wire::encode(m, canonical);
  FUZZ_CHECK(canonical.size() == wire::encoded_size(m));
  M again;
  FUZZ_CHECK(wire::decode(canonical.data(), canonical.size(), again));
  FUZZ_CHECK(again == m);
  for (const Bytes& field : unknown_fields()) {
    Bytes longer(data, data + size);
    longer.insert(longer.end(), field.begin(), field.end());
    M with_unknown;
    FUZZ_CHECK(wire::decode(longer.data(), longer.size(), with_unknown));
    FUZZ_CHECK(with_unknown == m);
  }
}

// Calls f(M{}) with the message type a frame of this msgid carries, as its receiver decodes it
// (agent: 4, 6, 7; DNS: 1; Report service: 3; the clients through the binding: 2, 5, 8).
// False for an unknown msgid.
template <typename F>
bool visit_msgid(int32_t msgid, F&& f) {
  switch (msgid) {
    case wire::kGetRouteRequest:
    case wire::kApiGetRouteRequest: f(wire::GetRouteRequest{}); return true;
    case wire::kGetRouteResponse:
    case wire::kApiGetRouteResponse: f(wire::GetRouteResponse{}); return true;
    case wire::kReportStatusRequest: f(wire::ReportStatusRequest{}); return true;
    case wire::kGetHostRequest: f(wire::GetHostRequest{}); return true;
    case wire::kGetHostResponse: f(wire::GetHostResponse{}); return true;
    case wire::kReportRequest: f(wire::ReportRequest{}); return true;
  }
  return false;
}

inline void check_body(int32_t msgid, const uint8_t* body, size_t len) {
  visit_msgid(msgid, [&](auto tag) { check_message<decltype(tag)>(body, len); });
}

// ---- seeds: a few valid messages of each type, extremes included ----

inline std::vector<wire::HostInfo> samples(wire::HostInfo) {
  return {{}, {0x7f000001, 8080}, {INT32_MIN, 65535}, {-1062731519 /* 192.168.0.1 */, 1}};
}
inline std::vector<wire::GetRouteRequest> samples(wire::GetRouteRequest) {
  return {{}, {1, 1}, {INT32_MAX, INT32_MIN}};
}
inline std::vector<wire::GetRouteResponse> samples(wire::GetRouteResponse) {
  return {{}, {1, 2, {}}, {3, 4, samples(wire::HostInfo{})}, {-5, 6, {{0x0a000001, 9000}}}};
}
inline std::vector<wire::HostCallResult> samples(wire::HostCallResult) {
  return {{}, {0x7f000001, 8080, 10, 2, false}, {INT32_MIN, -1, UINT32_MAX, UINT32_MAX, true}};
}
inline std::vector<wire::ReportStatusRequest> samples(wire::ReportStatusRequest) {
  return {{}, {1, 2, 3, samples(wire::HostCallResult{}), 1700000000}, {-1, INT32_MAX, -7, {}, UINT32_MAX}};
}
inline std::vector<wire::GetHostRequest> samples(wire::GetHostRequest) {
  return {{}, {1, 2, 3}, {UINT32_MAX, INT32_MIN, -1}};
}
inline std::vector<wire::GetHostResponse> samples(wire::GetHostResponse) {
  return {{}, {7, 1, 2, wire::kRetSucc, true, {0x7f000001, 8080}}, {8, 1, 2, wire::kRetNoExist, false, {}},
          {UINT32_MAX, -1, -2, wire::kRetOverload, true, {}}};
}
inline std::vector<wire::ReportRequest> samples(wire::ReportRequest) {
  return {{}, {1, 2, true, {0x7f000001, 8080}, wire::kRetSucc}, {-1, -2, true, {INT32_MIN, -1}, wire::kRetSystemError},
          {3, 4, false, {}, wire::kRetOverload}};
}

// The canonical encoding of each sample, and each again followed by every unknown field.
template <typename M>
std::vector<Bytes> message_seeds() {
  std::vector<Bytes> out;
  for (const M& m : samples(M{})) {
    Bytes canonical;
    wire::encode(m, canonical);
    Bytes extended = canonical;
    for (const Bytes& field : unknown_fields()) extended.insert(extended.end(), field.begin(), field.end());
    out.push_back(std::move(canonical));
    out.push_back(std::move(extended));
  }
  return out;
}

// One whole frame (header + canonical body) per sample of every msgid.
inline std::vector<Bytes> frame_seeds() {
  std::vector<Bytes> out;
  for (int32_t msgid = wire::kGetRouteRequest; msgid <= wire::kApiGetRouteResponse; ++msgid) {
    visit_msgid(msgid, [&](auto tag) {
      for (const auto& m : samples(tag)) {
        Bytes frame;
        wire::append_frame(msgid, m, frame);
        out.push_back(std::move(frame));
      }
    });
  }
  return out;
}

}  // namespace lars::fuzz

// A message target is this one line: its seeds and its LLVMFuzzerTestOneInput.
#define LARS_MESSAGE_FUZZ_TARGET(Message)                                                          \
  std::vector<lars::fuzz::Bytes> lars::fuzz::seeds() { return message_seeds<Message>(); }         \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {                        \
    lars::fuzz::check_message<Message>(data, size);                                                \
    return 0;                                                                                      \
  }
