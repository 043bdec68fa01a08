#include "daemon/base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "daemon/base/redact.h"

namespace probed::base {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
std::atomic<int> g_format{static_cast<int>(LogFormat::Logfmt)};

std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
  }
  return "info";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // room for any int the compiler can imagine (-Wformat-truncation at -O2)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

// logfmt: quote when the value has a space, '=' or '"'; escape '"' and '\'.
void append_logfmt_value(std::string& out, std::string_view v) {
  bool quote = v.empty() || v.find_first_of(" =\"\\\n\t") != std::string_view::npos;
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
}

void append_json_string(std::string& out, std::string_view v) {
  out += '"';
  for (unsigned char c : v) {
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

}  // namespace

bool parse_log_level(std::string_view s, LogLevel& out) {
  if (s == "debug") out = LogLevel::Debug;
  else if (s == "info") out = LogLevel::Info;
  else if (s == "warn") out = LogLevel::Warn;
  else if (s == "error") out = LogLevel::Error;
  else return false;
  return true;
}

bool parse_log_format(std::string_view s, LogFormat& out) {
  if (s == "logfmt") out = LogFormat::Logfmt;
  else if (s == "json") out = LogFormat::Json;
  else return false;
  return true;
}

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
void set_log_format(LogFormat format) { g_format = static_cast<int>(format); }
bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

std::string format_log_line(LogLevel level, std::string_view msg,
                            std::initializer_list<LogField> fields, LogFormat format) {
  std::string out;
  out.reserve(128);
  if (format == LogFormat::Json) {
    out += "{\"ts\":\"" + timestamp() + "\",\"level\":\"";
    out += level_name(level);
    out += "\",\"msg\":";
    append_json_string(out, redact(msg));
    for (const auto& [k, v] : fields) {
      out += ',';
      append_json_string(out, k);
      out += ':';
      append_json_string(out, redact(v));
    }
    out += "}\n";
  } else {
    out += "ts=" + timestamp() + " level=";
    out += level_name(level);
    out += " msg=";
    append_logfmt_value(out, redact(msg));
    for (const auto& [k, v] : fields) {
      out += ' ';
      out += k;
      out += '=';
      append_logfmt_value(out, redact(v));
    }
    out += '\n';
  }
  return out;
}

void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!log_enabled(level)) return;
  std::string line = format_log_line(level, msg, fields, static_cast<LogFormat>(g_format.load()));
  // One write(2) per line keeps lines whole when several threads log.
  ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  (void)n;
}

}  // namespace probed::base
