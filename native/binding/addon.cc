// Entry point of the addon: registers each binding module's exports.
// Only files in native/binding include napi.h; the libraries they adapt never do.
#include <napi.h>

#include "binding/agent_binding.h"
#include "binding/balancer_binding.h"
#include "binding/errors.h"
#include "binding/server_binding.h"
#include "binding/wire_binding.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  lars::binding::InitErrors(env, exports);
  exports.Set("wire", lars::binding::InitWire(env));
  exports.Set("balancer", lars::binding::InitBalancer(env));
  exports.Set("servers", lars::binding::InitServers(env));
  exports.Set("agent", lars::binding::InitAgent(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(lars_native, Init)
