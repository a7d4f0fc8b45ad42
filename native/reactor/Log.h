// The native side's log lines, in the same two formats as src/log.ts ([log] format): text
// ("<ISO time> LEVEL [component] msg") or one JSON object per line. Lines from C++ are rare
// (errors a daemon must not hide); each is one write(2) to stderr, so lines from several threads
// never interleave.
//
// setLogFormat() is called once at start-up, before any server thread runs; logLine() may be
// called from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace lars::reactor {

enum class LogFormat { Text, Json };

/** The format and the daemon's role (named in JSON lines) for every later line. */
void setLogFormat(LogFormat format, const std::string& role);

/** Writes one line at `level` ("error", "warn", "info") for `component` (e.g. "reactor", "dns"). */
void logLine(const char* level, const char* component, const std::string& msg);

/** One line without its newline; `timeMs` since the epoch. */
std::string formatLogLine(LogFormat format, int64_t timeMs, const char* level, const std::string& role,
                          const char* component, const std::string& msg);

}  // namespace lars::reactor
