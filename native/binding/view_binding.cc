#include "binding/view_binding.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "binding/errors.h"
#include "view/LocalView.h"

namespace lars::binding {
namespace {

using view::LocalView;

const char* StatusName(LocalView::Status s) {
  switch (s) {
    case LocalView::Status::kOk:
      return "ok";
    case LocalView::Status::kMissing:
      return "missing";
    case LocalView::Status::kStale:
      return "stale";
    case LocalView::Status::kLayout:
      return "layout";
    case LocalView::Status::kCorrupt:
      return "corrupt";
    case LocalView::Status::kClosed:
      return "closed";
  }
  return "corrupt";
}

class LocalViewWrap : public Napi::ObjectWrap<LocalViewWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LocalView",
                       {
                           InstanceMethod<&LocalViewWrap::State>("state"),
                           InstanceMethod<&LocalViewWrap::Pick>("pick"),
                           InstanceMethod<&LocalViewWrap::Route>("route"),
                           InstanceMethod<&LocalViewWrap::Close>("close"),
                       });
  }

  // new LocalView(path): never throws for a missing or bad file (state() says why).
  explicit LocalViewWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LocalViewWrap>(info) {
    if (!info[0].IsString()) ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", "new LocalView(path: string)");
    // This process's own PRNG stream: processes on a host must not draw in lock step.
    view_ = std::make_unique<LocalView>(info[0].As<Napi::String>().Utf8Value(), std::random_device{}());
  }

 private:
  // state() -> 'ok' | 'missing' | 'stale' | 'layout' | 'corrupt' | 'closed', checked now.
  Napi::Value State(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), StatusName(view_->Check(view::MonotonicMs())));
  }

  // pick(modid, cmdid, out: Int32Array, key?: Uint8Array) -> retcode (>= 0) or fallback (< 0);
  // on 0 out[0] = ip, out[1] = port. The SDK's hot path: the C API directly, each argument read
  // and checked by one call (a wrong type is a failed read), since every crossing costs here.
  Napi::Value Pick(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    int32_t modid, cmdid;
    napi_typedarray_type type;
    size_t length;
    void* data;
    if (napi_get_value_int32(env, info[0], &modid) != napi_ok || napi_get_value_int32(env, info[1], &cmdid) != napi_ok ||
        napi_get_typedarray_info(env, info[2], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_int32_array || length < 2) {
      ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", "pick(modid, cmdid, out: Int32Array(2), key?: Uint8Array)");
    }
    balancer::HashKey key;
    void* key_data;
    if (info.Length() > 3 &&
        napi_get_typedarray_info(env, info[3], &type, &length, &key_data, nullptr, nullptr) == napi_ok &&
        type == napi_uint8_array) {
      key = {static_cast<const uint8_t*>(key_data), length};
    }
    int32_t* slots = static_cast<int32_t*>(data);
    const int32_t rc = view_->Pick(modid, cmdid, view::CoarseMonotonicMs(), key, &slots[0], &slots[1]);
    napi_value result;
    napi_create_int32(env, rc, &result);
    return Napi::Value(env, result);
  }

  // route(modid, cmdid) -> Int32Array [ip0, port0, ...] in join order, or null when not in the view.
  Napi::Value Route(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsNumber()) ThrowLarsError(env, "ERR_INVALID_INPUT", "route(modid, cmdid)");
    hosts_.clear();
    const int32_t rc = view_->Hosts(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                                    view::CoarseMonotonicMs(), &hosts_);
    if (rc != 0) return env.Null();
    Napi::Int32Array a = Napi::Int32Array::New(env, hosts_.size() * 2);
    for (size_t i = 0; i < hosts_.size(); ++i) {
      a[2 * i] = hosts_[i].ip;
      a[2 * i + 1] = hosts_[i].port;
    }
    return a;
  }

  void Close(const Napi::CallbackInfo&) { view_->Close(); }

  std::unique_ptr<LocalView> view_;
  std::vector<balancer::HostAddr> hosts_;
};

}  // namespace

Napi::Function InitLocalView(Napi::Env env) { return LocalViewWrap::Define(env); }

}  // namespace lars::binding
