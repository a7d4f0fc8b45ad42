#include "binding/server_binding.h"

#include <memory>
#include <string>

#include "dns/DnsServer.h"
#include "report/ReportServer.h"

namespace lars::binding {

namespace {

// The listener options both servers take; JS has validated them (src/config).
reactor::ListenOptions readListenOptions(const Napi::Value& value) {
  if (!value.IsObject()) throw Napi::TypeError::New(value.Env(), "expected an options object");
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
  if (!server) throw Napi::Error::New(info.Env(), "the server is closed");
  return server.get();
}

class DnsServerWrap : public Napi::ObjectWrap<DnsServerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DnsServer",
                       {InstanceMethod<&DnsServerWrap::Port>("port"), InstanceMethod<&DnsServerWrap::SetTable>("setTable"),
                        InstanceMethod<&DnsServerWrap::Push>("push"), InstanceMethod<&DnsServerWrap::Stats>("stats"),
                        InstanceMethod<&DnsServerWrap::Close>("close")});
  }

  explicit DnsServerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DnsServerWrap>(info) {
    const reactor::ListenOptions o = readListenOptions(info[0]);
    try {
      server_ = std::make_unique<dns::DnsServer>(o);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("cannot listen on ") + o.ip + ":" + std::to_string(o.port) + ": " + e.what());
    }
  }

 private:
  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), checkOpen(info, server_)->port()); }

  // setTable(Buffer): the whole table, serialised by src/dns/route-index.ts.
  void SetTable(const Napi::CallbackInfo& info) {
    if (!info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "setTable expects a Buffer");
    const auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    auto table = dns::RouteTable::parse(buf.Data(), buf.Length());
    if (!table) throw Napi::TypeError::New(info.Env(), "setTable: malformed route table buffer");
    checkOpen(info, server_)->setTable(std::move(table));
  }

  // push(Uint32Array [modid, cmdid, modid, cmdid, ...])
  void Push(const Napi::CallbackInfo& info) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
      throw Napi::TypeError::New(info.Env(), "push expects a Uint32Array of modid, cmdid pairs");
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
    out.Set("replies", Napi::Number::New(info.Env(), static_cast<double>(s.replies)));
    out.Set("pushes", Napi::Number::New(info.Env(), static_cast<double>(s.pushes)));
    out.Set("badBodies", Napi::Number::New(info.Env(), static_cast<double>(s.badBodies)));
    out.Set("unknownMsgIds", Napi::Number::New(info.Env(), static_cast<double>(s.unknownMsgIds)));
    return out;
  }

  void Close(const Napi::CallbackInfo&) { server_.reset(); }

  std::unique_ptr<dns::DnsServer> server_;
};

class ReportServerWrap : public Napi::ObjectWrap<ReportServerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ReportServer",
                       {InstanceMethod<&ReportServerWrap::Port>("port"), InstanceMethod<&ReportServerWrap::Stats>("stats"),
                        InstanceMethod<&ReportServerWrap::Close>("close")});
  }

  // new ReportServer(options, onRows(rows: Uint32Array)): rows are CallRow::kFields numbers each.
  explicit ReportServerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReportServerWrap>(info) {
    const reactor::ListenOptions o = readListenOptions(info[0]);
    if (!info[1].IsFunction()) throw Napi::TypeError::New(info.Env(), "ReportServer expects an onRows function");
    tsfn_ = Napi::ThreadSafeFunction::New(info.Env(), info[1].As<Napi::Function>(), "lars-report-rows", 0, 1);
    try {
      server_ = std::make_unique<report::ReportServer>(
          o,
          [this] { notifyRows(); });
    } catch (const std::exception& e) {
      tsfn_.Release();
      throw Napi::Error::New(info.Env(), std::string("cannot listen on ") + o.ip + ":" + std::to_string(o.port) + ": " + e.what());
    }
  }

  ~ReportServerWrap() override { shutdown(); }

 private:
  // I/O thread: rows arrived in an empty queue. One JS call then drains everything queued.
  void notifyRows() {
    tsfn_.NonBlockingCall([this](Napi::Env env, Napi::Function onRows) {
      if (!server_) return;
      const std::vector<report::CallRow> rows = server_->drainRows();
      if (rows.empty()) return;
      auto flat = Napi::Uint32Array::New(env, rows.size() * report::CallRow::kFields);
      size_t i = 0;
      for (const auto& r : rows) {
        flat[i++] = r.modid;
        flat[i++] = r.cmdid;
        flat[i++] = static_cast<uint32_t>(r.ip);
        flat[i++] = r.port;
        flat[i++] = static_cast<uint32_t>(r.caller);
        flat[i++] = r.succ;
        flat[i++] = r.err;
        flat[i++] = r.ts;
        flat[i++] = r.overload;
      }
      onRows.Call({flat});
    });
  }

  void shutdown() {
    if (!server_) return;
    server_.reset();  // joins the I/O threads: no notifyRows() after this
    tsfn_.Release();
  }

  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), checkOpen(info, server_)->port()); }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    const report::ReportStats s = checkOpen(info, server_)->stats();
    Napi::Object out = Napi::Object::New(info.Env());
    setCounters(out, s.reactor);
    out.Set("connections", Napi::Number::New(info.Env(), static_cast<double>(s.connections)));
    out.Set("badBodies", Napi::Number::New(info.Env(), static_cast<double>(s.badBodies)));
    out.Set("badRows", Napi::Number::New(info.Env(), static_cast<double>(s.badRows)));
    out.Set("unknownMsgIds", Napi::Number::New(info.Env(), static_cast<double>(s.unknownMsgIds)));
    out.Set("queueDropped", Napi::Number::New(info.Env(), static_cast<double>(s.queueDropped)));
    return out;
  }

  void Close(const Napi::CallbackInfo&) { shutdown(); }

  Napi::ThreadSafeFunction tsfn_;
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
