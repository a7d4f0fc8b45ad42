// The addon's errors: every one is a LarsError (src/errors.ts) with a stable code, like the
// errors the TypeScript twins throw. src/native/addon.ts hands the class over once, right after
// loading (setErrorClass), as better-sqlite3 hands over SqliteError; the reference lives in the
// addon's per-environment data, not in a global.
#pragma once

#include <napi.h>

#include <string>

namespace lars::binding {

// Creates the per-environment data and exports setErrorClass(LarsError).
void InitErrors(Napi::Env env, Napi::Object exports);

// A LarsError(code, message); before setErrorClass, an Error carrying the same code.
Napi::Error LarsError(Napi::Env env, const char* code, const std::string& message);

[[noreturn]] inline void ThrowLarsError(Napi::Env env, const char* code, const std::string& message) {
  throw LarsError(env, code, message);
}

}  // namespace lars::binding
