// N-API adapter of the local view's reader (native/view/LocalView): a JS class `LocalView` that
// maps an agent port's view file read-only and picks in-process. pick() is the SDK's hot path:
// one call, its answer written into the caller's Int32Array, no object made.
#pragma once

#include <napi.h>

namespace lars::binding {

// The LocalView class — see NativeLocalView in src/native/types.ts.
Napi::Function InitLocalView(Napi::Env env);

}  // namespace lars::binding
