// JS <-> lars_wire conversion. Input objects are checked here (LarsError ERR_INVALID_INPUT for a
// wrong type, an out-of-range number or an oversized message) so the C++ codec can trust them.
#include "binding/wire_binding.h"

#include <cmath>
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
  return h;
}

HostCallResult to_result(Napi::Env env, Napi::Value v, const std::string& path) {
  const FieldReader r(env, v, path);
  HostCallResult m;
  m.ip = r.int32("ip");
  m.port = r.int32("port");
  m.succ = r.uint32("succ");
  m.err = r.uint32("err");
  m.overload = r.boolean("overload");
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
  const Napi::Array hosts = r.array("host");
  const uint32_t n = hosts.Length();
  m.host.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    m.host.push_back(to_host(r.env(), hosts.Get(i), r.where("host") + "[" + std::to_string(i) + "]"));
  }
  return m;
}

ReportStatusRequest to_report_status(const FieldReader& r) {
  ReportStatusRequest m;
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  m.caller = r.int32("caller");
  const Napi::Array results = r.array("results");
  const uint32_t n = results.Length();
  m.results.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    m.results.push_back(to_result(r.env(), results.Get(i), r.where("results") + "[" + std::to_string(i) + "]"));
  }
  m.ts = r.uint32("ts");
  return m;
}

GetHostRequest to_host_request(const FieldReader& r) {
  GetHostRequest m;
  m.seq = r.uint32("seq");
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  return m;
}

GetHostResponse to_host_response(const FieldReader& r) {
  GetHostResponse m;
  m.seq = r.uint32("seq");
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  m.retcode = r.int32("retcode");
  Napi::Value host;
  if (r.optional("host", host)) {
    m.has_host = true;
    m.host = to_host(r.env(), host, r.where("host"));
  }
  return m;
}

ReportRequest to_report_request(const FieldReader& r) {
  ReportRequest m;
  m.modid = r.int32("modid");
  m.cmdid = r.int32("cmdid");
  Napi::Value host;
  if (r.optional("host", host)) {
    m.has_host = true;
    m.host = to_host(r.env(), host, r.where("host"));
  }
  m.retcode = r.int32("retcode");
  return m;
}

// ---- C++ -> JS (key order as in src/wire/messages.ts) ----

Napi::Object from_host(Napi::Env env, const HostInfo& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ip", h.ip);
  o.Set("port", h.port);
  return o;
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
  Napi::Array hosts = Napi::Array::New(env, m.host.size());
  for (size_t i = 0; i < m.host.size(); ++i) hosts.Set(static_cast<uint32_t>(i), from_host(env, m.host[i]));
  o.Set("host", hosts);
  return o;
}

Napi::Object from(Napi::Env env, const ReportStatusRequest& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
  o.Set("caller", m.caller);
  Napi::Array results = Napi::Array::New(env, m.results.size());
  for (size_t i = 0; i < m.results.size(); ++i) {
    const HostCallResult& r = m.results[i];
    Napi::Object e = Napi::Object::New(env);
    e.Set("ip", r.ip);
    e.Set("port", r.port);
    e.Set("succ", r.succ);
    e.Set("err", r.err);
    e.Set("overload", r.overload);
    results.Set(static_cast<uint32_t>(i), e);
  }
  o.Set("results", results);
  o.Set("ts", m.ts);
  return o;
}

Napi::Object from(Napi::Env env, const GetHostRequest& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("seq", m.seq);
  o.Set("modid", m.modid);
  o.Set("cmdid", m.cmdid);
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
    case kReportRequest: return frame_of(env, msgid, to_report_request(r));
    default: ThrowLarsError(env, "ERR_INVALID_INPUT", "lars wire: unknown msgid " + std::to_string(msgid) + " (expected 1..8)");
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
