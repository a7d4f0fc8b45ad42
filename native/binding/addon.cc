// Entry point of the addon: registers each binding module's exports.
// Only files in native/binding include napi.h; the libraries they adapt never do.
#include <napi.h>

#include "binding/agent_binding.h"
#include "binding/balancer_binding.h"
#include "binding/errors.h"
#include "binding/server_binding.h"
#include "binding/view_binding.h"
#include "binding/wire_binding.h"
#include "reactor/Log.h"

namespace {

// setLogFormat("text" | "json", role): JS has validated the format ([log] format).
void SetLogFormat(const Napi::CallbackInfo& info) {
  const std::string format = info[0].As<Napi::String>().Utf8Value();
  lars::reactor::setLogFormat(format == "json" ? lars::reactor::LogFormat::Json : lars::reactor::LogFormat::Text,
                              info[1].As<Napi::String>().Utf8Value());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  lars::binding::InitErrors(env, exports);
  exports.Set("wire", lars::binding::InitWire(env));
  exports.Set("balancer", lars::binding::InitBalancer(env));
  exports.Set("servers", lars::binding::InitServers(env));
  exports.Set("agent", lars::binding::InitAgent(env));
  exports.Set("LocalView", lars::binding::InitLocalView(env));
  exports.Set("setLogFormat", Napi::Function::New(env, SetLogFormat));
  return exports;
}

}  // namespace

NODE_API_MODULE(lars_native, Init)
