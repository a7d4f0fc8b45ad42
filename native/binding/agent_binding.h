// N-API adapter of the LoadBalance agent's hot path (native/agent/AgentServer): a JS class
// `AgentServer`. Requests never reach JavaScript; it crosses in only for control (a whole host
// set, a DNS reconnect, a stats read) and hears about route pulls and route reports in batches,
// one ThreadSafeFunction call per batch. src/agent/native-agent-core.ts validates the options.
#pragma once

#include <napi.h>

namespace lars::binding {

// { AgentServer: class } — see NativeAgentModule in src/native/types.ts.
Napi::Object InitAgent(Napi::Env env);

}  // namespace lars::binding
