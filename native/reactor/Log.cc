#include "reactor/Log.h"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace lars::reactor {

namespace {

// Set once before the servers start (see Log.h); the mutex only guards against a misuse.
std::mutex g_mutex;
LogFormat g_format = LogFormat::Text;
std::string g_role;

void appendJsonString(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string isoTime(int64_t timeMs) {
  const std::time_t secs = static_cast<std::time_t>(timeMs / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(timeMs % 1000));
  return buf;
}

}  // namespace

void setLogFormat(LogFormat format, const std::string& role) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_format = format;
  g_role = role;
}

std::string formatLogLine(LogFormat format, int64_t timeMs, const char* level, const std::string& role,
                          const char* component, const std::string& msg) {
  std::string out;
  if (format == LogFormat::Json) {
    out += "{\"time\":\"" + isoTime(timeMs) + "\",\"level\":";
    appendJsonString(out, level);
    out += ",\"role\":";
    appendJsonString(out, role.empty() ? std::string(component) : role);
    out += ",\"component\":";
    appendJsonString(out, component);
    out += ",\"msg\":";
    appendJsonString(out, msg);
    out += '}';
    return out;
  }
  std::string upper(level);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  upper.resize(5, ' ');
  return isoTime(timeMs) + " " + upper + " [" + component + "] " + msg;
}

void logLine(const char* level, const char* component, const std::string& msg) {
  LogFormat format;
  std::string role;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    format = g_format;
    role = g_role;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string line = formatLogLine(format, now, level, role, component, msg) + "\n";
  // One write per line: lines from different threads do not interleave. Nothing to do on failure.
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace lars::reactor
