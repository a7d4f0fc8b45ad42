#include "binding/errors.h"

namespace lars::binding {

namespace {

// Everything the addon keeps per Node environment (main thread or worker).
struct AddonData {
  Napi::FunctionReference errorClass;
};

void SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) ThrowLarsError(info.Env(), "ERR_INVALID_INPUT", "setErrorClass expects the LarsError class");
  info.Env().GetInstanceData<AddonData>()->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
}

}  // namespace

void InitErrors(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
}

Napi::Error LarsError(Napi::Env env, const char* code, const std::string& message) {
  const AddonData* data = env.GetInstanceData<AddonData>();
  if (data == nullptr || data->errorClass.IsEmpty()) {
    Napi::Error e = Napi::Error::New(env, message);
    e.Set("code", Napi::String::New(env, code));
    return e;
  }
  const Napi::Object error = data->errorClass.New({Napi::String::New(env, code), Napi::String::New(env, message)});
  return Napi::Error(env, error);
}

}  // namespace lars::binding
