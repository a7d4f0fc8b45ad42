// JS <-> lars_wire conversion. Input objects are checked here (LarsError ERR_INVALID_INPUT for a
// wrong type, an out-of-range number or an oversized message) so the C++ codec can trust them.
#include "binding/wire_binding.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "binding/errors.h"
#include "wire/frame.h"
#include "wire/messages.h"

namespace lars::binding {

namespace {

using namespace lars::wire;

// ---- JS -> C++ ----

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1

std::string format_number(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

// Reads one field of a JS message object; `path` names it in error messages.
class FieldReader {
 public:
  FieldReader(Napi::Env env, Napi::Value value, std::string path) : env_(env), path_(std::move(path)) {
    if (!value.IsObject() || value.IsArray()) {
      ThrowLarsError(env_, "ERR_INVALID_INPUT", "lars wire: " + path_ + " must be an object");
    }
    obj_ = value.As<Napi::Object>();
  }

  int32_t int32(const char* name) const {
    const double d = number(name, "an int32");
    if (d < INT32_MIN || d > INT32_MAX) {
      ThrowLarsError(env_, "ERR_INVALID_INPUT", "lars wire: " + where(name) + " must be an int32 (-2147483648..2147483647), got " +
                                            format_number(d) + (d > INT32_MAX ? " (for an IPv4 address use ipToInt32)" : ""));
    }
    return static_cast<int32_t>(d);
  }

  uint32_t uint32(const char* name) const {
    const double d = number(name, "a uint32");
    if (d < 0 || d > UINT32_MAX) {
      ThrowLarsError(env_, "ERR_INVALID_INPUT", "lars wire: " + where(name) + " must be a uint32 (0..4294967295), got " + format_number(d));
    }
    return static_cast<uint32_t>(d);
  }

  // A field EXTENSIONS.md §1 adds to a reference message: undefined reads as the default.
  uint32_t optional_uint32(const char* name) const { return obj_.Get(name).IsUndefined() ? 0 : uint32(name); }

  // uint64 as a JS number: exact only up to 2^53 - 1, so larger values are refused.
  uint64_t optional_uint64(const char* name) const {
    if (obj_.Get(name).IsUndefined()) return 0;
    const double d = number(name, "a uint64");
    if (d < 0 || d > kMaxSafeInteger) {
      ThrowLarsError(env_, "ERR_INVALID_INPUT",
                     "lars wire: " + where(name) + " must be a uint64 up to 2^53 - 1 (9007199254740991), got " + format_number(d));
    }
    return static_cast<uint64_t>(d);
  }

  std::string string(const char* name) const {
    const Napi::Value v = obj_.Get(name);
    if (!v.IsString()) ThrowLarsError(env_, "ERR_INVALID_INPUT", "lars wire: " + where(name) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }

  std::string optional_string(const char* name) const { return obj_.Get(name).IsUndefined() ? std::string() : string(name); }

  std::string optional_bytes(const char* name) const {
    const Napi::Value v = obj_.Get(name);
    if (v.IsUndefined()) return std::string();
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      ThrowLarsError(env_, "ERR_INVALID_INPUT", "lars wire: " + where(name) + " must be a Uint8Array");
    }
    const Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    return std::string(reinterpret_cast<const char*>(a.Data()), a.ByteLength());
  }

  bool boolean(const char* name) const {
    const Napi::Value v = obj_.Get(name);
    if (!v.IsBoolean()) ThrowLarsError(env_, "ERR_INVALID_INPUT", "lars wire: " + where(name) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }

  // An optional submessage: absent when undefined or null.
  bool optional(const char* name, Napi::Value& out) const {
    out = obj_.Get(name);
    return !out.IsUndefined() && !out.IsNull();
  }

  Napi::Array array(const char* name) const {
    const Napi::Value v = obj_.Get(name);
    if (!v.IsArray()) ThrowLarsError(env_, "ERR_INVALID_INPUT", "lars wire: " + where(name) + " must be an array");
    return v.As<Napi::Array>();
  }

  std::string where(const char* name) const { return path_ + "." + name; }
  Napi::Env env() const { return env_; }

 private:
  double number(const char* name, const char* what) const {
    const Napi::Value v = obj_.Get(name);
    if (!v.IsNumber()) ThrowLarsError(env_, "ERR_INVALID_INPUT", "lars wire: " + where(name) + " must be " + what + " (a number)");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::trunc(d) != d) {
      ThrowLarsError(env_, "ERR_INVALID_INPUT", "lars wire: " + where(name) + " must be " + what + " (an integer)");
    }
    return d;
  }

  Napi::Env env_;
  std::string path_;
  Napi::Object obj_;
};

HostInfo to_host(Napi::Env env, Napi::Value v, const std::string& path) {
  const FieldReader r(env, v, path);
  HostInfo h;
  h.ip = r.int32("ip");
  h.port = r.int32("port");
  h.weight = r.optional_uint32("weight");
  h.zone = r.optional_string("zone");
  return h;
}

RoutePolicy to_policy(Napi::Env env, Napi::Value v, const std::string& path) {
  const FieldReader r(env, v, path);
  RoutePolicy p;
  p.name = r.string("name");
  p.max_ejection_percent = r.uint32("maxEjectionPercent");
  p.panic_threshold = r.uint32("panicThreshold");
  p.ejection_backoff_max_ms = r.uint32("ejectionBackoffMaxMs");
  p.zone_overprovision = r.uint32("zoneOverprovision");
  p.ring_size = r.uint32("ringSize");
  return p;
}

// An optional submessage field of r, converted with to(); returns whether it was present.
template <typename Message, typename Convert>
bool optional_message(const FieldReader& r, const char* name, Message& out, Convert to) {
  Napi::Value v;
  if (!r.optional(name, v)) return false;
  out = to(r.env(), v, r.where(name));
  return true;
}

// A repeated submessage field of r, converted element by element with to().
template <typename Message, typename Convert>
std::vector<Message> repeated_message(const FieldReader& r, const char* name, Convert to) {
  const Napi::Array list = r.array(name);
  const uint32_t n = list.Length();
  std::vector<Message> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) out.push_back(to(r.env(), list.Get(i), r.where(name) + "[" + std::to_string(i) + "]"));
  return out;
}

HostCallResult to_result(Napi::Env env, Napi::Value v, const std::string& path) {
  const FieldReader r(env, v, path);
  HostCallResult m;
  m.ip = r.int32("ip");
  m.port = r.int32("port");
  m.succ = r.uint32("succ");
  m.err = r.uint32("err");
  m.overload = r.boolean("overload");
  m.usetime_sum_us = r.optional_uint64("usetimeSumUs");
  m.usetime_max_us = r.optional_uint32("usetimeMaxUs");
  m.timed_calls = r.optional_uint32("timedCalls");
  return m;
}

GetRouteRequest to_route_request(const FieldReader& r) {
  GetRouteRequest m;
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  return m;
}

GetRouteResponse to_route_response(const FieldReader& r) {
  GetRouteResponse m;
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  m.host = repeated_message<HostInfo>(r, "host", to_host);
  m.has_policy = optional_message(r, "policy", m.policy, to_policy);
  return m;
}

ReportStatusRequest to_report_status(const FieldReader& r) {
  ReportStatusRequest m;
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  m.caller = r.int32("caller");
  m.results = repeated_message<HostCallResult>(r, "results", to_result);
  m.ts = r.uint32("ts");
  return m;
}

GetHostRequest to_host_request(const FieldReader& r) {
  GetHostRequest m;
  m.seq = r.uint32("seq");
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  m.hash_key = r.optional_bytes("hashKey");
  return m;
}

GetHostResponse to_host_response(const FieldReader& r) {
  GetHostResponse m;
  m.seq = r.uint32("seq");
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  m.retcode = r.int32("retcode");
  m.has_host = optional_message(r, "host", m.host, to_host);
  return m;
}

ReportRequest to_report_request(Napi::Env env, Napi::Value v, const std::string& path) {
  const FieldReader r(env, v, path);
  ReportRequest m;
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  m.has_host = optional_message(r, "host", m.host, to_host);
  m.retcode = r.int32("retcode");
  m.usetime_us = r.optional_uint32("usetimeUs");
  return m;
}

ReportBatchRequest to_report_batch(const FieldReader& r) {
  ReportBatchRequest m;
  m.report = repeated_message<ReportRequest>(r, "report", to_report_request);
  return m;
}

RegisterRequest to_register_request(const FieldReader& r) {
  RegisterRequest m;
  m.seq = r.uint32("seq");
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  m.has_host = optional_message(r, "host", m.host, to_host);
  m.ttl_ms = r.uint32("ttlMs");
  m.deregister = r.boolean("deregister");
  return m;
}

RegisterResponse to_register_response(const FieldReader& r) {
  RegisterResponse m;
  m.seq = r.uint32("seq");
  m.retcode = r.int32("retcode");
  return m;
}

Lease to_lease(Napi::Env env, Napi::Value v, const std::string& path) {
  const FieldReader r(env, v, path);
  Lease m;
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  m.has_host = optional_message(r, "host", m.host, to_host);
  m.ttl_ms = r.uint32("ttlMs");
  m.deregister = r.boolean("deregister");
  return m;
}

LeaseRequest to_lease_request(const FieldReader& r) {
  LeaseRequest m;
  m.lease = repeated_message<Lease>(r, "lease", to_lease);
  return m;
}

// ---- C++ -> JS (key order as in src/wire/messages.ts) ----

Napi::Object from_host(Napi::Env env, const HostInfo& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ip", h.ip);
  o.Set("port", h.port);
  if (h.weight != 0) o.Set("weight", h.weight);
  if (!h.zone.empty()) o.Set("zone", h.zone);
  return o;
}

Napi::Object from_policy(Napi::Env env, const RoutePolicy& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", p.name);
  o.Set("maxEjectionPercent", p.max_ejection_percent);
  o.Set("panicThreshold", p.panic_threshold);
  o.Set("ejectionBackoffMaxMs", p.ejection_backoff_max_ms);
  o.Set("zoneOverprovision", p.zone_overprovision);
  o.Set("ringSize", p.ring_size);
  return o;
}

template <typename Message, typename Convert>
Napi::Array from_list(Napi::Env env, const std::vector<Message>& list, Convert from_one) {
  Napi::Array a = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) a.Set(static_cast<uint32_t>(i), from_one(env, list[i]));
  return a;
}

Napi::Object from(Napi::Env env, const GetRouteRequest& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
  return o;
}

Napi::Object from(Napi::Env env, const GetRouteResponse& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
  o.Set("host", from_list(env, m.host, from_host));
  if (m.has_policy) o.Set("policy", from_policy(env, m.policy));
  return o;
}

Napi::Object from(Napi::Env env, const ReportStatusRequest& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
  o.Set("caller", m.caller);
  o.Set("results", from_list(env, m.results, [](Napi::Env e, const HostCallResult& r) {
    Napi::Object x = Napi::Object::New(e);
    x.Set("ip", r.ip);
    x.Set("port", r.port);
    x.Set("succ", r.succ);
    x.Set("err", r.err);
    x.Set("overload", r.overload);
    // Saturates as the TypeScript codec does: a JS number is exact only up to 2^53 - 1.
    if (r.usetime_sum_us != 0) x.Set("usetimeSumUs", std::min(static_cast<double>(r.usetime_sum_us), kMaxSafeInteger));
    if (r.usetime_max_us != 0) x.Set("usetimeMaxUs", r.usetime_max_us);
    if (r.timed_calls != 0) x.Set("timedCalls", r.timed_calls);
    return x;
  }));
  o.Set("ts", m.ts);
  return o;
}

Napi::Object from(Napi::Env env, const GetHostRequest& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("seq", m.seq);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
  if (!m.hash_key.empty()) {
    // A plain Uint8Array (not a Buffer), as the TypeScript codec returns.
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, m.hash_key.size());
    std::memcpy(buf.Data(), m.hash_key.data(), m.hash_key.size());
    o.Set("hashKey", Napi::Uint8Array::New(env, m.hash_key.size(), buf, 0));
  }
  return o;
}

Napi::Object from(Napi::Env env, const GetHostResponse& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("seq", m.seq);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
  o.Set("retcode", m.retcode);
  if (m.has_host) o.Set("host", from_host(env, m.host));
  return o;
}

Napi::Object from(Napi::Env env, const ReportRequest& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
  if (m.has_host) o.Set("host", from_host(env, m.host));
  o.Set("retcode", m.retcode);
  if (m.usetime_us != 0) o.Set("usetimeUs", m.usetime_us);
  return o;
}

Napi::Object from(Napi::Env env, const ReportBatchRequest& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("report", from_list(env, m.report, [](Napi::Env e, const ReportRequest& r) { return from(e, r); }));
  return o;
}

Napi::Object from(Napi::Env env, const RegisterRequest& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("seq", m.seq);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
  if (m.has_host) o.Set("host", from_host(env, m.host));
  o.Set("ttlMs", m.ttl_ms);
  o.Set("deregister", m.deregister);
  return o;
}

Napi::Object from(Napi::Env env, const RegisterResponse& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("seq", m.seq);
  o.Set("retcode", m.retcode);
  return o;
}

Napi::Object from_lease(Napi::Env env, const Lease& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
  if (m.has_host) o.Set("host", from_host(env, m.host));
  o.Set("ttlMs", m.ttl_ms);
  o.Set("deregister", m.deregister);
  return o;
}

Napi::Object from(Napi::Env env, const LeaseRequest& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("lease", from_list(env, m.lease, from_lease));
  return o;
}

// ---- exports ----

int32_t msgid_arg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", "lars wire: msgid must be a number");
  }
  const double d = info[0].As<Napi::Number>().DoubleValue();
  if (std::trunc(d) != d || d < INT32_MIN || d > INT32_MAX) {
    ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", "lars wire: msgid must be an int32");
  }
  return static_cast<int32_t>(d);
}

// A Buffer or any Uint8Array, borrowed for the duration of the call.
struct Bytes {
  const uint8_t* data;
  size_t len;
};

Bytes bytes_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", std::string("lars wire: ") + name + " must be a Buffer or Uint8Array");
  }
  const Napi::Uint8Array a = info[index].As<Napi::Uint8Array>();
  return Bytes{a.Data(), a.ByteLength()};
}

template <typename Message>
Napi::Value frame_of(Napi::Env env, int32_t msgid, const Message& m) {
  std::vector<uint8_t> out;
  if (!append_frame(msgid, m, out)) {
    ThrowLarsError(env, "ERR_INVALID_INPUT", "lars wire: message " + std::to_string(msgid) + " is too large for one frame (body " +
                                         std::to_string(encoded_size(m)) + " bytes > " + std::to_string(kMaxBodySize) +
                                         "): send fewer hosts or results");
  }
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

// encodeFrame(msgid, message): Buffer — header + canonical body.
Napi::Value EncodeFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t msgid = msgid_arg(info);
  const FieldReader r(env, info[1], "message");
  switch (msgid) {
    case kGetRouteRequest:
    case kApiGetRouteRequest: return frame_of(env, msgid, to_route_request(r));
    case kGetRouteResponse:
    case kApiGetRouteResponse: return frame_of(env, msgid, to_route_response(r));
    case kReportStatusRequest: return frame_of(env, msgid, to_report_status(r));
    case kGetHostRequest: return frame_of(env, msgid, to_host_request(r));
    case kGetHostResponse: return frame_of(env, msgid, to_host_response(r));
    case kReportRequest: return frame_of(env, msgid, to_report_request(env, info[1], "message"));
    case kReportBatchRequest: return frame_of(env, msgid, to_report_batch(r));
    case kRegisterRequest: return frame_of(env, msgid, to_register_request(r));
    case kRegisterResponse: return frame_of(env, msgid, to_register_response(r));
    case kLeaseRequest: return frame_of(env, msgid, to_lease_request(r));
    default: ThrowLarsError(env, "ERR_INVALID_INPUT", "lars wire: unknown msgid " + std::to_string(msgid) + " (expected 1..12)");
  }
}

template <typename Message>
Napi::Value decoded(Napi::Env env, Bytes body) {
  Message m;
  if (!decode(body.data, body.len, m)) return env.Null();
  return from(env, m);
}

// decodeBody(msgid, body): object | null — null for a malformed body or an unknown msgid.
Napi::Value DecodeBody(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t msgid = msgid_arg(info);
  const Bytes body = bytes_arg(info, 1, "body");
  switch (msgid) {
    case kGetRouteRequest:
    case kApiGetRouteRequest: return decoded<GetRouteRequest>(env, body);
    case kGetRouteResponse:
    case kApiGetRouteResponse: return decoded<GetRouteResponse>(env, body);
    case kReportStatusRequest: return decoded<ReportStatusRequest>(env, body);
    case kGetHostRequest: return decoded<GetHostRequest>(env, body);
    case kGetHostResponse: return decoded<GetHostResponse>(env, body);
    case kReportRequest: return decoded<ReportRequest>(env, body);
    case kReportBatchRequest: return decoded<ReportBatchRequest>(env, body);
    case kRegisterRequest: return decoded<RegisterRequest>(env, body);
    case kRegisterResponse: return decoded<RegisterResponse>(env, body);
    case kLeaseRequest: return decoded<LeaseRequest>(env, body);
    default: return env.Null();
  }
}

Napi::Object frame_object(Napi::Env env, const FrameView& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("msgid", f.msgid);
  o.Set("body", Napi::Buffer<uint8_t>::Copy(env, f.body, f.body_len));
  return o;
}

// decodeDatagram(buf): { ok: true, frame } | { ok: false, reason }
Napi::Value DecodeDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Bytes buf = bytes_arg(info, 0, "datagram");
  FrameView f;
  const DatagramStatus status = parse_datagram(buf.data, buf.len, f);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", status == DatagramStatus::kOk);
  if (status == DatagramStatus::kOk) {
    o.Set("frame", frame_object(env, f));
  } else {
    o.Set("reason", to_string(status));
  }
  return o;
}

// new FrameDecoder(); push(chunk) -> { frames, error? }. Owns one lars::wire::FrameDecoder.
class JsFrameDecoder : public Napi::ObjectWrap<JsFrameDecoder> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FrameDecoder",
                       {InstanceMethod<&JsFrameDecoder::Push>("push"),
                        InstanceAccessor<&JsFrameDecoder::Buffered>("buffered")});
  }

  explicit JsFrameDecoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsFrameDecoder>(info) {}

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Bytes chunk = bytes_arg(info, 0, "chunk");
    Napi::Array frames = Napi::Array::New(env);
    uint32_t n = 0;
    const bool ok = decoder_.push(chunk.data, chunk.len, [&](const FrameView& f) { frames.Set(n++, frame_object(env, f)); });
    Napi::Object result = Napi::Object::New(env);
    result.Set("frames", frames);
    if (!ok) result.Set("error", "bad-length");
    return result;
  }

  Napi::Value Buffered(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(decoder_.buffered()));
  }

  FrameDecoder decoder_;
};

}  // namespace

Napi::Object InitWire(Napi::Env env) {
  Napi::Object wire = Napi::Object::New(env);
  wire.Set("encodeFrame", Napi::Function::New<EncodeFrame>(env, "encodeFrame"));
  wire.Set("decodeBody", Napi::Function::New<DecodeBody>(env, "decodeBody"));
  wire.Set("decodeDatagram", Napi::Function::New<DecodeDatagram>(env, "decodeDatagram"));
  wire.Set("FrameDecoder", JsFrameDecoder::Define(env));
  wire.Set("headerSize", static_cast<double>(kHeaderSize));
  wire.Set("maxFrameSize", static_cast<double>(kMaxFrameSize));
  return wire;
}

}  // namespace lars::binding
