// The Lars wire messages (proto/lars.proto) as plain structs, with a hand-written proto3 codec.
//
// encode() writes canonical proto3, byte for byte what the TypeScript codec writes: fields in
// field-number order, scalars equal to their default omitted, negative int32 as 10-byte varints,
// submessages length-delimited, repeated submessages unpacked. The fields EXTENSIONS.md §1 adds to
// reference messages are written only when set, so a message without them encodes as in the reference. decode() accepts any well-formed
// proto3 (defaults present, fields out of order, unknown fields of every wire type, repeated
// scalars: last one wins, a singular submessage sent twice: merged) and returns false on malformed
// input. Each struct owns its data; decode() never keeps a pointer into its input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "wire/frame.h"
#include "wire/ids.h"

namespace lars::wire {

struct HostInfo {
  int32_t ip = 0;  // IPv4 as a<<24|b<<16|c<<8|d, so addresses above 127.255.255.255 are negative
  int32_t port = 0;
  uint32_t weight = 0;  // 1..10000; 0 means 100
  std::string zone;     // empty = unknown
};

// A module's scheduling policy (EXTENSIONS.md §3); every 0 means unset.
struct RoutePolicy {
  std::string name;
  uint32_t max_ejection_percent = 0;
  uint32_t panic_threshold = 0;
  uint32_t ejection_backoff_max_ms = 0;
  uint32_t zone_overprovision = 0;
  uint32_t ring_size = 0;
};

struct GetRouteRequest {  // kGetRouteRequest, kApiGetRouteRequest
  int32_t modid = 0;
  int32_t cmdid = 0;
};

struct GetRouteResponse {  // kGetRouteResponse, kApiGetRouteResponse
  int32_t modid = 0;
  int32_t cmdid = 0;
  std::vector<HostInfo> host;
  bool has_policy = false;  // absent = policy lars with the agent's settings
  RoutePolicy policy;
};

struct HostCallResult {
  int32_t ip = 0;
  int32_t port = 0;
  uint32_t succ = 0;
  uint32_t err = 0;
  bool overload = false;
  uint64_t usetime_sum_us = 0;
  uint32_t usetime_max_us = 0;
  uint32_t timed_calls = 0;
};

struct ReportStatusRequest {  // kReportStatusRequest
  int32_t modid = 0;
  int32_t cmdid = 0;
  int32_t caller = 0;
  std::vector<HostCallResult> results;
  uint32_t ts = 0;
};

struct GetHostRequest {  // kGetHostRequest
  uint32_t seq = 0;
  int32_t modid = 0;
  int32_t cmdid = 0;
  std::string hash_key;  // bytes; empty = none
};

struct GetHostResponse {  // kGetHostResponse
  uint32_t seq = 0;
  int32_t modid = 0;
  int32_t cmdid = 0;
  int32_t retcode = 0;
  bool has_host = false;  // proto3 message fields have presence; host is meaningful only if set
  HostInfo host;
};

struct ReportRequest {  // kReportRequest
  int32_t modid = 0;
  int32_t cmdid = 0;
  bool has_host = false;
  HostInfo host;
  int32_t retcode = 0;
  uint32_t usetime_us = 0;  // 0 = not measured
};

struct ReportBatchRequest {  // kReportBatchRequest
  std::vector<ReportRequest> report;
};

struct RegisterRequest {  // kRegisterRequest
  uint32_t seq = 0;
  int32_t modid = 0;
  int32_t cmdid = 0;
  bool has_host = false;
  HostInfo host;
  uint32_t ttl_ms = 0;
  bool deregister = false;
};

struct RegisterResponse {  // kRegisterResponse
  uint32_t seq = 0;
  int32_t retcode = 0;
};

struct Lease {
  int32_t modid = 0;
  int32_t cmdid = 0;
  bool has_host = false;
  HostInfo host;
  uint32_t ttl_ms = 0;
  bool deregister = false;
};

struct LeaseRequest {  // kLeaseRequest
  std::vector<Lease> lease;
};

// Size of the canonical encoding.
size_t encoded_size(const HostInfo& m);
size_t encoded_size(const GetRouteRequest& m);
size_t encoded_size(const GetRouteResponse& m);
size_t encoded_size(const HostCallResult& m);
size_t encoded_size(const ReportStatusRequest& m);
size_t encoded_size(const GetHostRequest& m);
size_t encoded_size(const GetHostResponse& m);
size_t encoded_size(const ReportRequest& m);
size_t encoded_size(const RoutePolicy& m);
size_t encoded_size(const ReportBatchRequest& m);
size_t encoded_size(const RegisterRequest& m);
size_t encoded_size(const RegisterResponse& m);
size_t encoded_size(const Lease& m);
size_t encoded_size(const LeaseRequest& m);

// Appends the canonical encoding to out.
void encode(const HostInfo& m, std::vector<uint8_t>& out);
void encode(const GetRouteRequest& m, std::vector<uint8_t>& out);
void encode(const GetRouteResponse& m, std::vector<uint8_t>& out);
void encode(const HostCallResult& m, std::vector<uint8_t>& out);
void encode(const ReportStatusRequest& m, std::vector<uint8_t>& out);
void encode(const GetHostRequest& m, std::vector<uint8_t>& out);
void encode(const GetHostResponse& m, std::vector<uint8_t>& out);
void encode(const ReportRequest& m, std::vector<uint8_t>& out);
void encode(const RoutePolicy& m, std::vector<uint8_t>& out);
void encode(const ReportBatchRequest& m, std::vector<uint8_t>& out);
void encode(const RegisterRequest& m, std::vector<uint8_t>& out);
void encode(const RegisterResponse& m, std::vector<uint8_t>& out);
void encode(const Lease& m, std::vector<uint8_t>& out);
void encode(const LeaseRequest& m, std::vector<uint8_t>& out);

// Replaces out with the message in [data, data+len); false if the bytes are malformed.
bool decode(const uint8_t* data, size_t len, HostInfo& out);
bool decode(const uint8_t* data, size_t len, GetRouteRequest& out);
bool decode(const uint8_t* data, size_t len, GetRouteResponse& out);
bool decode(const uint8_t* data, size_t len, HostCallResult& out);
bool decode(const uint8_t* data, size_t len, ReportStatusRequest& out);
bool decode(const uint8_t* data, size_t len, GetHostRequest& out);
bool decode(const uint8_t* data, size_t len, GetHostResponse& out);
bool decode(const uint8_t* data, size_t len, ReportRequest& out);
bool decode(const uint8_t* data, size_t len, RoutePolicy& out);
bool decode(const uint8_t* data, size_t len, ReportBatchRequest& out);
bool decode(const uint8_t* data, size_t len, RegisterRequest& out);
bool decode(const uint8_t* data, size_t len, RegisterResponse& out);
bool decode(const uint8_t* data, size_t len, Lease& out);
bool decode(const uint8_t* data, size_t len, LeaseRequest& out);

// Appends one whole frame (header + canonical body). Returns false, appending nothing, when the
// body would exceed kMaxBodySize.
template <typename Message>
bool append_frame(int32_t msgid, const Message& m, std::vector<uint8_t>& out) {
  const size_t body_len = encoded_size(m);
  if (body_len > kMaxBodySize) return false;
  out.reserve(out.size() + kHeaderSize + body_len);
  append_header(out, msgid, static_cast<int32_t>(body_len));
  encode(m, out);
  return true;
}

bool operator==(const HostInfo& a, const HostInfo& b);
bool operator==(const GetRouteRequest& a, const GetRouteRequest& b);
bool operator==(const GetRouteResponse& a, const GetRouteResponse& b);
bool operator==(const HostCallResult& a, const HostCallResult& b);
bool operator==(const ReportStatusRequest& a, const ReportStatusRequest& b);
bool operator==(const GetHostRequest& a, const GetHostRequest& b);
bool operator==(const GetHostResponse& a, const GetHostResponse& b);
bool operator==(const ReportRequest& a, const ReportRequest& b);
bool operator==(const RoutePolicy& a, const RoutePolicy& b);
bool operator==(const ReportBatchRequest& a, const ReportBatchRequest& b);
bool operator==(const RegisterRequest& a, const RegisterRequest& b);
bool operator==(const RegisterResponse& a, const RegisterResponse& b);
bool operator==(const Lease& a, const Lease& b);
bool operator==(const LeaseRequest& a, const LeaseRequest& b);

}  // namespace lars::wire
