// N-API adapter of lars_wire, for tests and tools (the hot path never crosses into JS: the
// reactor calls lars_wire directly). Exports encodeFrame, decodeBody, decodeDatagram and the
// FrameDecoder class; object shapes match src/wire/messages.ts, types in src/native/types.ts.
#pragma once

#include <napi.h>

namespace lars::binding {

Napi::Object InitWire(Napi::Env env);

}  // namespace lars::binding
