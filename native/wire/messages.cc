#include "wire/messages.h"

#include "wire/pb.h"

namespace lars::wire {

using pb::Reader;

namespace {

// Field numbers, from proto/lars.proto.
namespace f {
constexpr uint32_t kIp = 1, kPort = 2;                                     // HostInfo
constexpr uint32_t kModid = 1, kCmdid = 2, kHost = 3;                      // GetRoute*
constexpr uint32_t kSucc = 3, kErr = 4, kOverload = 5;                     // HostCallResult
constexpr uint32_t kCaller = 3, kResults = 4, kTs = 5;                     // ReportStatusRequest
constexpr uint32_t kSeq = 1, kReqModid = 2, kReqCmdid = 3;                 // GetHost*
constexpr uint32_t kRetcode = 4, kRespHost = 5;                            // GetHostResponse
constexpr uint32_t kRepHost = 3, kRepRetcode = 4, kUsetimeUs = 5;          // ReportRequest
constexpr uint32_t kWeight = 3, kZone = 4;                                 // HostInfo
constexpr uint32_t kPolicy = 4;                                            // GetRouteResponse
constexpr uint32_t kName = 1, kMaxEjection = 2, kPanic = 3, kBackoffMax = 4, kZoneOver = 5, kRingSize = 6;  // RoutePolicy
constexpr uint32_t kUsetimeSum = 6, kUsetimeMax = 7, kTimedCalls = 8;      // HostCallResult
constexpr uint32_t kHashKey = 4;                                           // GetHostRequest
constexpr uint32_t kReport = 1;                                            // ReportBatchRequest
constexpr uint32_t kRegHost = 4, kTtlMs = 5, kDeregister = 6;              // RegisterRequest
constexpr uint32_t kRegRetcode = 2;                                        // RegisterResponse
constexpr uint32_t kLeaseHost = 3, kLeaseTtlMs = 4, kLeaseDeregister = 5;  // Lease
constexpr uint32_t kLease = 1;                                             // LeaseRequest
}  // namespace f

// Every message decoder, declared before the templates that reach them through submessages.
bool decode_message(pb::Reader& r, int depth, HostInfo& m);
bool decode_message(pb::Reader& r, int depth, RoutePolicy& m);
bool decode_message(pb::Reader& r, int depth, HostCallResult& m);
bool decode_message(pb::Reader& r, int depth, ReportRequest& m);
bool decode_message(pb::Reader& r, int depth, Lease& m);

size_t submessage_size(size_t body) { return 1 + pb::varint_size(body) + body; }

template <typename Message>
void put_submessage(std::vector<uint8_t>& out, uint32_t field, const Message& m) {
  pb::put_tag(out, field, pb::kLengthDelimited);
  pb::put_varint(out, encoded_size(m));
  encode(m, out);
}

// Decodes fields until the reader is exhausted. on_field(reader, field, type) returns
// 1 when it read the field, 0 when it does not know it (skipped here), -1 when malformed.
template <typename OnField>
bool decode_fields(Reader& r, int depth, OnField&& on_field) {
  while (!r.done()) {
    uint32_t field = 0, type = 0;
    if (!r.read_tag(field, type)) return false;
    const int read = on_field(r, field, type);
    if (read < 0) return false;
    if (read == 0 && !r.skip_field(field, type, depth)) return false;
  }
  return true;
}

// A varint field: 1 if read, -1 if malformed. A known field number with another wire type is
// an unknown field (0), as in protobufjs and libprotobuf.
int int32_field(Reader& r, uint32_t type, int32_t& v) {
  if (type != pb::kVarint) return 0;
  return r.read_int32(v) ? 1 : -1;
}
int uint32_field(Reader& r, uint32_t type, uint32_t& v) {
  if (type != pb::kVarint) return 0;
  return r.read_uint32(v) ? 1 : -1;
}
int uint64_field(Reader& r, uint32_t type, uint64_t& v) {
  if (type != pb::kVarint) return 0;
  return r.read_uint64(v) ? 1 : -1;
}
int bool_field(Reader& r, uint32_t type, bool& v) {
  if (type != pb::kVarint) return 0;
  return r.read_bool(v) ? 1 : -1;
}
int bytes_field(Reader& r, uint32_t type, std::string& v) {
  if (type != pb::kLengthDelimited) return 0;
  return r.read_bytes(v) ? 1 : -1;
}
int string_field(Reader& r, uint32_t type, std::string& v) {
  if (type != pb::kLengthDelimited) return 0;
  return r.read_string(v) ? 1 : -1;
}

bool decode_message(Reader& r, int depth, HostInfo& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kIp: return int32_field(in, type, m.ip);
      case f::kPort: return int32_field(in, type, m.port);
      case f::kWeight: return uint32_field(in, type, m.weight);
      case f::kZone: return string_field(in, type, m.zone);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, RoutePolicy& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kName: return string_field(in, type, m.name);
      case f::kMaxEjection: return uint32_field(in, type, m.max_ejection_percent);
      case f::kPanic: return uint32_field(in, type, m.panic_threshold);
      case f::kBackoffMax: return uint32_field(in, type, m.ejection_backoff_max_ms);
      case f::kZoneOver: return uint32_field(in, type, m.zone_overprovision);
      case f::kRingSize: return uint32_field(in, type, m.ring_size);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, HostCallResult& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kIp: return int32_field(in, type, m.ip);
      case f::kPort: return int32_field(in, type, m.port);
      case f::kSucc: return uint32_field(in, type, m.succ);
      case f::kErr: return uint32_field(in, type, m.err);
      case f::kOverload: return bool_field(in, type, m.overload);
      case f::kUsetimeSum: return uint64_field(in, type, m.usetime_sum_us);
      case f::kUsetimeMax: return uint32_field(in, type, m.usetime_max_us);
      case f::kTimedCalls: return uint32_field(in, type, m.timed_calls);
      default: return 0;
    }
  });
}

// A submessage field decoded into m (merging, for a singular field sent twice).
template <typename Message>
int submessage_field(Reader& r, uint32_t type, int depth, Message& m) {
  if (type != pb::kLengthDelimited) return 0;
  Reader sub(nullptr, 0);
  if (!r.read_delimited(sub)) return -1;
  if (depth + 1 > pb::kRecursionLimit) return -1;
  return decode_message(sub, depth + 1, m) ? 1 : -1;
}

// An optional singular submessage: sets has on success.
template <typename Message>
int optional_field(Reader& r, uint32_t type, int depth, Message& m, bool& has) {
  const int read = submessage_field(r, type, depth, m);
  if (read > 0) has = true;
  return read;
}

template <typename Message>
int repeated_field(Reader& r, uint32_t type, int depth, std::vector<Message>& list) {
  if (type != pb::kLengthDelimited) return 0;
  list.emplace_back();
  return submessage_field(r, type, depth, list.back());
}

bool decode_message(Reader& r, int depth, GetRouteRequest& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kModid: return int32_field(in, type, m.modid);
      case f::kCmdid: return int32_field(in, type, m.cmdid);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, GetRouteResponse& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kModid: return int32_field(in, type, m.modid);
      case f::kCmdid: return int32_field(in, type, m.cmdid);
      case f::kHost: return repeated_field(in, type, depth, m.host);
      case f::kPolicy: return optional_field(in, type, depth, m.policy, m.has_policy);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, ReportStatusRequest& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kModid: return int32_field(in, type, m.modid);
      case f::kCmdid: return int32_field(in, type, m.cmdid);
      case f::kCaller: return int32_field(in, type, m.caller);
      case f::kResults: return repeated_field(in, type, depth, m.results);
      case f::kTs: return uint32_field(in, type, m.ts);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, GetHostRequest& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kSeq: return uint32_field(in, type, m.seq);
      case f::kReqModid: return int32_field(in, type, m.modid);
      case f::kReqCmdid: return int32_field(in, type, m.cmdid);
      case f::kHashKey: return bytes_field(in, type, m.hash_key);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, GetHostResponse& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kSeq: return uint32_field(in, type, m.seq);
      case f::kReqModid: return int32_field(in, type, m.modid);
      case f::kReqCmdid: return int32_field(in, type, m.cmdid);
      case f::kRetcode: return int32_field(in, type, m.retcode);
      case f::kRespHost: {
        const int read = submessage_field(in, type, depth, m.host);
        if (read > 0) m.has_host = true;
        return read;
      }
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, ReportRequest& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kModid: return int32_field(in, type, m.modid);
      case f::kCmdid: return int32_field(in, type, m.cmdid);
      case f::kRepHost: {
        const int read = submessage_field(in, type, depth, m.host);
        if (read > 0) m.has_host = true;
        return read;
      }
      case f::kRepRetcode: return int32_field(in, type, m.retcode);
      case f::kUsetimeUs: return uint32_field(in, type, m.usetime_us);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, ReportBatchRequest& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    return field == f::kReport ? repeated_field(in, type, depth, m.report) : 0;
  });
}

bool decode_message(Reader& r, int depth, RegisterRequest& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kSeq: return uint32_field(in, type, m.seq);
      case f::kReqModid: return int32_field(in, type, m.modid);
      case f::kReqCmdid: return int32_field(in, type, m.cmdid);
      case f::kRegHost: return optional_field(in, type, depth, m.host, m.has_host);
      case f::kTtlMs: return uint32_field(in, type, m.ttl_ms);
      case f::kDeregister: return bool_field(in, type, m.deregister);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, RegisterResponse& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kSeq: return uint32_field(in, type, m.seq);
      case f::kRegRetcode: return int32_field(in, type, m.retcode);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, Lease& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    switch (field) {
      case f::kModid: return int32_field(in, type, m.modid);
      case f::kCmdid: return int32_field(in, type, m.cmdid);
      case f::kLeaseHost: return optional_field(in, type, depth, m.host, m.has_host);
      case f::kLeaseTtlMs: return uint32_field(in, type, m.ttl_ms);
      case f::kLeaseDeregister: return bool_field(in, type, m.deregister);
      default: return 0;
    }
  });
}

bool decode_message(Reader& r, int depth, LeaseRequest& m) {
  return decode_fields(r, depth, [&](Reader& in, uint32_t field, uint32_t type) {
    return field == f::kLease ? repeated_field(in, type, depth, m.lease) : 0;
  });
}

template <typename Message>
bool decode_top(const uint8_t* data, size_t len, Message& out) {
  out = Message{};
  Reader r(data, len);
  return decode_message(r, 0, out);
}

}  // namespace

// ---- sizes ----

size_t encoded_size(const HostInfo& m) {
  return pb::int32_field_size(m.ip) + pb::int32_field_size(m.port) + pb::uint32_field_size(m.weight) +
         pb::bytes_field_size(m.zone);
}

size_t encoded_size(const RoutePolicy& m) {
  return pb::bytes_field_size(m.name) + pb::uint32_field_size(m.max_ejection_percent) +
         pb::uint32_field_size(m.panic_threshold) + pb::uint32_field_size(m.ejection_backoff_max_ms) +
         pb::uint32_field_size(m.zone_overprovision) + pb::uint32_field_size(m.ring_size);
}

size_t encoded_size(const GetRouteRequest& m) {
  return pb::int32_field_size(m.modid) + pb::int32_field_size(m.cmdid);
}

size_t encoded_size(const GetRouteResponse& m) {
  size_t n = pb::int32_field_size(m.modid) + pb::int32_field_size(m.cmdid);
  for (const HostInfo& h : m.host) n += submessage_size(encoded_size(h));
  return n + (m.has_policy ? submessage_size(encoded_size(m.policy)) : 0);
}

size_t encoded_size(const HostCallResult& m) {
  return pb::int32_field_size(m.ip) + pb::int32_field_size(m.port) + pb::uint32_field_size(m.succ) +
         pb::uint32_field_size(m.err) + pb::bool_field_size(m.overload) + pb::uint64_field_size(m.usetime_sum_us) +
         pb::uint32_field_size(m.usetime_max_us) + pb::uint32_field_size(m.timed_calls);
}

size_t encoded_size(const ReportStatusRequest& m) {
  size_t n = pb::int32_field_size(m.modid) + pb::int32_field_size(m.cmdid) + pb::int32_field_size(m.caller);
  for (const HostCallResult& r : m.results) n += submessage_size(encoded_size(r));
  return n + pb::uint32_field_size(m.ts);
}

size_t encoded_size(const GetHostRequest& m) {
  return pb::uint32_field_size(m.seq) + pb::int32_field_size(m.modid) + pb::int32_field_size(m.cmdid) +
         pb::bytes_field_size(m.hash_key);
}

size_t encoded_size(const GetHostResponse& m) {
  return pb::uint32_field_size(m.seq) + pb::int32_field_size(m.modid) + pb::int32_field_size(m.cmdid) +
         pb::int32_field_size(m.retcode) + (m.has_host ? submessage_size(encoded_size(m.host)) : 0);
}

size_t encoded_size(const ReportRequest& m) {
  return pb::int32_field_size(m.modid) + pb::int32_field_size(m.cmdid) +
         (m.has_host ? submessage_size(encoded_size(m.host)) : 0) + pb::int32_field_size(m.retcode) +
         pb::uint32_field_size(m.usetime_us);
}

size_t encoded_size(const ReportBatchRequest& m) {
  size_t n = 0;
  for (const ReportRequest& r : m.report) n += submessage_size(encoded_size(r));
  return n;
}

size_t encoded_size(const RegisterRequest& m) {
  return pb::uint32_field_size(m.seq) + pb::int32_field_size(m.modid) + pb::int32_field_size(m.cmdid) +
         (m.has_host ? submessage_size(encoded_size(m.host)) : 0) + pb::uint32_field_size(m.ttl_ms) +
         pb::bool_field_size(m.deregister);
}

size_t encoded_size(const RegisterResponse& m) {
  return pb::uint32_field_size(m.seq) + pb::int32_field_size(m.retcode);
}

size_t encoded_size(const Lease& m) {
  return pb::int32_field_size(m.modid) + pb::int32_field_size(m.cmdid) +
         (m.has_host ? submessage_size(encoded_size(m.host)) : 0) + pb::uint32_field_size(m.ttl_ms) +
         pb::bool_field_size(m.deregister);
}

size_t encoded_size(const LeaseRequest& m) {
  size_t n = 0;
  for (const Lease& l : m.lease) n += submessage_size(encoded_size(l));
  return n;
}

// ---- encoding: fields in field-number order ----

void encode(const HostInfo& m, std::vector<uint8_t>& out) {
  pb::put_int32(out, f::kIp, m.ip);
  pb::put_int32(out, f::kPort, m.port);
  pb::put_uint32(out, f::kWeight, m.weight);
  pb::put_bytes(out, f::kZone, m.zone);
}

void encode(const RoutePolicy& m, std::vector<uint8_t>& out) {
  pb::put_bytes(out, f::kName, m.name);
  pb::put_uint32(out, f::kMaxEjection, m.max_ejection_percent);
  pb::put_uint32(out, f::kPanic, m.panic_threshold);
  pb::put_uint32(out, f::kBackoffMax, m.ejection_backoff_max_ms);
  pb::put_uint32(out, f::kZoneOver, m.zone_overprovision);
  pb::put_uint32(out, f::kRingSize, m.ring_size);
}

void encode(const GetRouteRequest& m, std::vector<uint8_t>& out) {
  pb::put_int32(out, f::kModid, m.modid);
  pb::put_int32(out, f::kCmdid, m.cmdid);
}

void encode(const GetRouteResponse& m, std::vector<uint8_t>& out) {
  pb::put_int32(out, f::kModid, m.modid);
  pb::put_int32(out, f::kCmdid, m.cmdid);
  for (const HostInfo& h : m.host) put_submessage(out, f::kHost, h);
  if (m.has_policy) put_submessage(out, f::kPolicy, m.policy);
}

void encode(const HostCallResult& m, std::vector<uint8_t>& out) {
  pb::put_int32(out, f::kIp, m.ip);
  pb::put_int32(out, f::kPort, m.port);
  pb::put_uint32(out, f::kSucc, m.succ);
  pb::put_uint32(out, f::kErr, m.err);
  pb::put_bool(out, f::kOverload, m.overload);
  pb::put_uint64(out, f::kUsetimeSum, m.usetime_sum_us);
  pb::put_uint32(out, f::kUsetimeMax, m.usetime_max_us);
  pb::put_uint32(out, f::kTimedCalls, m.timed_calls);
}

void encode(const ReportStatusRequest& m, std::vector<uint8_t>& out) {
  pb::put_int32(out, f::kModid, m.modid);
  pb::put_int32(out, f::kCmdid, m.cmdid);
  pb::put_int32(out, f::kCaller, m.caller);
  for (const HostCallResult& r : m.results) put_submessage(out, f::kResults, r);
  pb::put_uint32(out, f::kTs, m.ts);
}

void encode(const GetHostRequest& m, std::vector<uint8_t>& out) {
  pb::put_uint32(out, f::kSeq, m.seq);
  pb::put_int32(out, f::kReqModid, m.modid);
  pb::put_int32(out, f::kReqCmdid, m.cmdid);
  pb::put_bytes(out, f::kHashKey, m.hash_key);
}

void encode(const GetHostResponse& m, std::vector<uint8_t>& out) {
  pb::put_uint32(out, f::kSeq, m.seq);
  pb::put_int32(out, f::kReqModid, m.modid);
  pb::put_int32(out, f::kReqCmdid, m.cmdid);
  pb::put_int32(out, f::kRetcode, m.retcode);
  if (m.has_host) put_submessage(out, f::kRespHost, m.host);
}

void encode(const ReportRequest& m, std::vector<uint8_t>& out) {
  pb::put_int32(out, f::kModid, m.modid);
  pb::put_int32(out, f::kCmdid, m.cmdid);
  if (m.has_host) put_submessage(out, f::kRepHost, m.host);
  pb::put_int32(out, f::kRepRetcode, m.retcode);
  pb::put_uint32(out, f::kUsetimeUs, m.usetime_us);
}

void encode(const ReportBatchRequest& m, std::vector<uint8_t>& out) {
  for (const ReportRequest& r : m.report) put_submessage(out, f::kReport, r);
}

void encode(const RegisterRequest& m, std::vector<uint8_t>& out) {
  pb::put_uint32(out, f::kSeq, m.seq);
  pb::put_int32(out, f::kReqModid, m.modid);
  pb::put_int32(out, f::kReqCmdid, m.cmdid);
  if (m.has_host) put_submessage(out, f::kRegHost, m.host);
  pb::put_uint32(out, f::kTtlMs, m.ttl_ms);
  pb::put_bool(out, f::kDeregister, m.deregister);
}

void encode(const RegisterResponse& m, std::vector<uint8_t>& out) {
  pb::put_uint32(out, f::kSeq, m.seq);
  pb::put_int32(out, f::kRegRetcode, m.retcode);
}

void encode(const Lease& m, std::vector<uint8_t>& out) {
  pb::put_int32(out, f::kModid, m.modid);
  pb::put_int32(out, f::kCmdid, m.cmdid);
  if (m.has_host) put_submessage(out, f::kLeaseHost, m.host);
  pb::put_uint32(out, f::kLeaseTtlMs, m.ttl_ms);
  pb::put_bool(out, f::kLeaseDeregister, m.deregister);
}

void encode(const LeaseRequest& m, std::vector<uint8_t>& out) {
  for (const Lease& l : m.lease) put_submessage(out, f::kLease, l);
}

// ---- decoding ----

bool decode(const uint8_t* data, size_t len, HostInfo& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, GetRouteRequest& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, GetRouteResponse& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, HostCallResult& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, ReportStatusRequest& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, GetHostRequest& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, GetHostResponse& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, ReportRequest& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, RoutePolicy& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, ReportBatchRequest& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, RegisterRequest& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, RegisterResponse& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, Lease& out) { return decode_top(data, len, out); }
bool decode(const uint8_t* data, size_t len, LeaseRequest& out) { return decode_top(data, len, out); }

// ---- equality (tests, and callers that compare route sets) ----

bool operator==(const HostInfo& a, const HostInfo& b) {
  return a.ip == b.ip && a.port == b.port && a.weight == b.weight && a.zone == b.zone;
}

bool operator==(const RoutePolicy& a, const RoutePolicy& b) {
  return a.name == b.name && a.max_ejection_percent == b.max_ejection_percent && a.panic_threshold == b.panic_threshold &&
         a.ejection_backoff_max_ms == b.ejection_backoff_max_ms && a.zone_overprovision == b.zone_overprovision &&
         a.ring_size == b.ring_size;
}

bool operator==(const GetRouteRequest& a, const GetRouteRequest& b) {
  return a.modid == b.modid && a.cmdid == b.cmdid;
}

bool operator==(const GetRouteResponse& a, const GetRouteResponse& b) {
  return a.modid == b.modid && a.cmdid == b.cmdid && a.host == b.host && a.has_policy == b.has_policy &&
         (!a.has_policy || a.policy == b.policy);
}

bool operator==(const HostCallResult& a, const HostCallResult& b) {
  return a.ip == b.ip && a.port == b.port && a.succ == b.succ && a.err == b.err && a.overload == b.overload &&
         a.usetime_sum_us == b.usetime_sum_us && a.usetime_max_us == b.usetime_max_us && a.timed_calls == b.timed_calls;
}

bool operator==(const ReportStatusRequest& a, const ReportStatusRequest& b) {
  return a.modid == b.modid && a.cmdid == b.cmdid && a.caller == b.caller && a.results == b.results &&
         a.ts == b.ts;
}

bool operator==(const GetHostRequest& a, const GetHostRequest& b) {
  return a.seq == b.seq && a.modid == b.modid && a.cmdid == b.cmdid && a.hash_key == b.hash_key;
}

bool operator==(const GetHostResponse& a, const GetHostResponse& b) {
  return a.seq == b.seq && a.modid == b.modid && a.cmdid == b.cmdid && a.retcode == b.retcode &&
         a.has_host == b.has_host && (!a.has_host || a.host == b.host);
}

bool operator==(const ReportRequest& a, const ReportRequest& b) {
  return a.modid == b.modid && a.cmdid == b.cmdid && a.has_host == b.has_host &&
         (!a.has_host || a.host == b.host) && a.retcode == b.retcode && a.usetime_us == b.usetime_us;
}

bool operator==(const ReportBatchRequest& a, const ReportBatchRequest& b) { return a.report == b.report; }

bool operator==(const RegisterRequest& a, const RegisterRequest& b) {
  return a.seq == b.seq && a.modid == b.modid && a.cmdid == b.cmdid && a.has_host == b.has_host &&
         (!a.has_host || a.host == b.host) && a.ttl_ms == b.ttl_ms && a.deregister == b.deregister;
}

bool operator==(const RegisterResponse& a, const RegisterResponse& b) { return a.seq == b.seq && a.retcode == b.retcode; }

bool operator==(const Lease& a, const Lease& b) {
  return a.modid == b.modid && a.cmdid == b.cmdid && a.has_host == b.has_host && (!a.has_host || a.host == b.host) &&
         a.ttl_ms == b.ttl_ms && a.deregister == b.deregister;
}

bool operator==(const LeaseRequest& a, const LeaseRequest& b) { return a.lease == b.lease; }

}  // namespace lars::wire
