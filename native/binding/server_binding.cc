#include "binding/server_binding.h"

#include <memory>
#include <string>
#include <system_error>

#include "binding/errors.h"
#include "dns/DnsServer.h"
#include "report/ReportServer.h"

namespace lars::binding {

namespace {

// The listener options both servers take; JS has validated them (src/config).
reactor::ListenOptions readListenOptions(const Napi::Value& value) {
  if (!value.IsObject()) ThrowLarsError(value.Env(), "ERR_CONFIG", "expected an options object");
  const auto o = value.As<Napi::Object>();
  return reactor::ListenOptions{o.Get("ip").As<Napi::String>().Utf8Value(),
                       static_cast<uint16_t>(o.Get("port").As<Napi::Number>().Uint32Value()),
                       static_cast<int>(o.Get("ioThreads").As<Napi::Number>().Int32Value()),
                       static_cast<size_t>(o.Get("maxConnections").As<Napi::Number>().Int64Value()),
                       static_cast<size_t>(o.Get("outputCap").As<Napi::Number>().Int64Value())};
}

void setCounters(Napi::Object& out, const reactor::CountersSnapshot& counters) {
  Napi::Env env = out.Env();
  counters.forEach([&](const char* name, uint64_t value) { out.Set(name, Napi::Number::New(env, static_cast<double>(value))); });
}

template <typename T>
T* checkOpen(const Napi::CallbackInfo& info, const std::unique_ptr<T>& server) {
  if (!server) ThrowLarsError(info.Env(), "ERR_CLOSED", "the server is closed");
  return server.get();
}

// Starting a server can fail on the address (in use, not ours) or on the threads and
// descriptors its loops need (EMFILE, EAGAIN): either way the service cannot listen.
template <typename Server, typename... Args>
std::unique_ptr<Server> startServer(const Napi::CallbackInfo& info, const reactor::ListenOptions& o, Args... args) {
  try {
    return std::make_unique<Server>(o, args...);
  } catch (const std::exception& e) {
    std::string message = "cannot listen on " + o.ip + ":" + std::to_string(o.port) + ": " + e.what();
    const auto* se = dynamic_cast<const std::system_error*>(&e);
    const std::error_code code = se != nullptr ? se->code() : std::error_code();
    if (code == std::errc::too_many_files_open || code == std::errc::too_many_files_open_in_system ||
        code == std::errc::resource_unavailable_try_again) {
      message += " (each I/O thread needs 3 descriptors: raise the open-file limit, ulimit -n, or lower [reactor] threadNum)";
    }
    ThrowLarsError(info.Env(), "ERR_LISTEN", message);
  }
}

class DnsServerWrap : public Napi::ObjectWrap<DnsServerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DnsServer",
                       {InstanceMethod<&DnsServerWrap::Port>("port"), InstanceMethod<&DnsServerWrap::SetTable>("setTable"),
                        InstanceMethod<&DnsServerWrap::Push>("push"), InstanceMethod<&DnsServerWrap::Stats>("stats"),
                        InstanceMethod<&DnsServerWrap::TakeLeases>("takeLeases"),
                        InstanceMethod<&DnsServerWrap::Close>("close")});
  }

  // new DnsServer(options, maxSubscriptionsPerConn)
  explicit DnsServerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DnsServerWrap>(info) {
    const reactor::ListenOptions o = readListenOptions(info[0]);
    if (!info[1].IsNumber()) ThrowLarsError(info.Env(), "ERR_CONFIG", "DnsServer expects maxSubscriptionsPerConn");
    server_ = startServer<dns::DnsServer>(info, o, static_cast<size_t>(info[1].As<Napi::Number>().Int64Value()));
  }

 private:
  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), checkOpen(info, server_)->port()); }

  // setTable(Buffer): the whole table, serialised by src/dns/route-index.ts.
  void SetTable(const Napi::CallbackInfo& info) {
    if (!info[0].IsBuffer()) ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", "setTable expects a Buffer");
    const auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    auto table = dns::RouteTable::parse(buf.Data(), buf.Length());
    if (!table) ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", "setTable: malformed route table buffer");
    checkOpen(info, server_)->setTable(std::move(table));
  }

  // push(Uint32Array [modid, cmdid, modid, cmdid, ...])
  void Push(const Napi::CallbackInfo& info) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
      ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", "push expects a Uint32Array of modid, cmdid pairs");
    const auto pairs = info[0].As<Napi::Uint32Array>();
    std::vector<uint64_t> modules;
    modules.reserve(pairs.ElementLength() / 2);
    for (size_t i = 0; i + 1 < pairs.ElementLength(); i += 2) modules.push_back(dns::moduleKey(pairs[i], pairs[i + 1]));
    checkOpen(info, server_)->push(std::move(modules));
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    const dns::DnsStats s = checkOpen(info, server_)->stats();
    Napi::Object out = Napi::Object::New(info.Env());
    setCounters(out, s.reactor);
    out.Set("connections", Napi::Number::New(info.Env(), static_cast<double>(s.connections)));
    out.Set("subscriptions", Napi::Number::New(info.Env(), static_cast<double>(s.subscriptions)));
    out.Set("subscriptionsRefused", Napi::Number::New(info.Env(), static_cast<double>(s.subscriptionsRefused)));
    out.Set("replies", Napi::Number::New(info.Env(), static_cast<double>(s.replies)));
    out.Set("pushes", Napi::Number::New(info.Env(), static_cast<double>(s.pushes)));
    out.Set("badBodies", Napi::Number::New(info.Env(), static_cast<double>(s.badBodies)));
    out.Set("unknownMsgIds", Napi::Number::New(info.Env(), static_cast<double>(s.unknownMsgIds)));
    out.Set("leaseFrames", Napi::Number::New(info.Env(), static_cast<double>(s.leaseFrames)));
    out.Set("leaseFramesDropped", Napi::Number::New(info.Env(), static_cast<double>(s.leaseFramesDropped)));
    return out;
  }

  // takeLeases() -> Buffer[]: the LeaseRequest bodies received since the last call.
  Napi::Value TakeLeases(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::vector<std::string> frames = checkOpen(info, server_)->takeLeaseFrames();
    Napi::Array out = Napi::Array::New(env, frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      out.Set(static_cast<uint32_t>(i),
              Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(frames[i].data()), frames[i].size()));
    }
    return out;
  }

  void Close(const Napi::CallbackInfo&) { server_.reset(); }

  std::unique_ptr<dns::DnsServer> server_;
};

class ReportServerWrap : public Napi::ObjectWrap<ReportServerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ReportServer",
                       {InstanceMethod<&ReportServerWrap::Port>("port"), InstanceMethod<&ReportServerWrap::Take>("take"),
                        InstanceMethod<&ReportServerWrap::Restore>("restore"), InstanceMethod<&ReportServerWrap::Buffered>("buffered"),
                        InstanceMethod<&ReportServerWrap::Stats>("stats"),
                        InstanceMethod<&ReportServerWrap::StopServing>("stopServing"),
                        InstanceMethod<&ReportServerWrap::Close>("close")});
  }

  // new ReportServer(options, maxKeys)
  explicit ReportServerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReportServerWrap>(info) {
    const reactor::ListenOptions o = readListenOptions(info[0]);
    if (!info[1].IsNumber()) ThrowLarsError(info.Env(), "ERR_CONFIG", "ReportServer expects maxKeys");
    server_ = startServer<report::ReportServer>(info, o, static_cast<size_t>(info[1].As<Napi::Number>().Int64Value()));
  }

 private:
  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), checkOpen(info, server_)->port()); }

  // take(max): Uint32Array of up to max rows, CallRow::kFields numbers each (ip and caller as uint32,
  // the call-time sum as its low and high halves).
  Napi::Value Take(const Napi::CallbackInfo& info) {
    const auto max = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
    const std::vector<report::CallRow> rows = checkOpen(info, server_)->buffer().take(max);
    auto flat = Napi::Uint32Array::New(info.Env(), rows.size() * report::CallRow::kFields);
    size_t i = 0;
    for (const auto& r : rows) {
      for (uint32_t v : {r.modid, r.cmdid, static_cast<uint32_t>(r.ip), r.port, static_cast<uint32_t>(r.caller), r.succ, r.err,
                         r.ts, r.overload, static_cast<uint32_t>(r.usetimeSumUs), static_cast<uint32_t>(r.usetimeSumUs >> 32),
                         r.usetimeMaxUs, r.timedCalls}) {
        flat[i++] = v;
      }
    }
    return flat;
  }

  // restore(Uint32Array): rows as take() returned them, put back after a failed write.
  void Restore(const Napi::CallbackInfo& info) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
      ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", "restore expects the Uint32Array take() returned");
    const auto flat = info[0].As<Napi::Uint32Array>();
    std::vector<report::CallRow> rows;
    rows.reserve(flat.ElementLength() / report::CallRow::kFields);
    for (size_t i = 0; i + report::CallRow::kFields <= flat.ElementLength(); i += report::CallRow::kFields) {
      rows.push_back(report::CallRow{flat[i], flat[i + 1], static_cast<int32_t>(flat[i + 2]), flat[i + 3],
                                     static_cast<int32_t>(flat[i + 4]), flat[i + 5], flat[i + 6], flat[i + 7], flat[i + 8],
                                     uint64_t{flat[i + 9]} | (uint64_t{flat[i + 10]} << 32), flat[i + 11], flat[i + 12]});
    }
    checkOpen(info, server_)->buffer().restore(rows);
  }

  // buffered(): keys waiting to be written — what the writers check between batches.
  Napi::Value Buffered(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(checkOpen(info, server_)->buffer().size()));
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    const report::ReportStats s = checkOpen(info, server_)->stats();
    Napi::Object out = Napi::Object::New(info.Env());
    setCounters(out, s.reactor);
    for (const auto& [name, value] : {std::pair<const char*, uint64_t>{"connections", s.connections},
                                      {"badBodies", s.badBodies},
                                      {"badRows", s.badRows},
                                      {"unknownMsgIds", s.unknownMsgIds},
                                      {"buffered", s.buffered},
                                      {"accepted", s.accepted},
                                      {"dropped", s.dropped}}) {
      out.Set(name, Napi::Number::New(info.Env(), static_cast<double>(value)));
    }
    return out;
  }

  // stopServing(): no more connections or frames; take(), restore() and stats() still work.
  void StopServing(const Napi::CallbackInfo& info) { checkOpen(info, server_)->stopServing(); }

  // close(): frees the server and its buffer.
  void Close(const Napi::CallbackInfo&) { server_.reset(); }

  std::unique_ptr<report::ReportServer> server_;
};

}  // namespace

Napi::Object InitServers(Napi::Env env) {
  Napi::Object exports = Napi::Object::New(env);
  exports.Set("DnsServer", DnsServerWrap::Define(env));
  exports.Set("ReportServer", ReportServerWrap::Define(env));
  return exports;
}

}  // namespace lars::binding
