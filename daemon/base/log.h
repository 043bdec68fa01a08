// Structured logging to stderr as logfmt or JSON (SPEC §6). One global logger configured once
// at start-up; log() may be called from any thread (each line is written with one write(2)).
// Messages pass through the secret redactor, so a secret value never reaches a log line.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace probed::base {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };
enum class LogFormat { Logfmt, Json };

bool parse_log_level(std::string_view s, LogLevel& out);
bool parse_log_format(std::string_view s, LogFormat& out);
void set_log_level(LogLevel level);
void set_log_format(LogFormat format);
bool log_enabled(LogLevel level);

using LogField = std::pair<std::string_view, std::string>;
void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

// Renders one line without writing it (used by tests and by log()).
std::string format_log_line(LogLevel level, std::string_view msg,
                            std::initializer_list<LogField> fields, LogFormat format);

inline void log_debug(std::string_view m, std::initializer_list<LogField> f = {}) {
  if (log_enabled(LogLevel::Debug)) log(LogLevel::Debug, m, f);
}
inline void log_info(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::Info, m, f);
}
inline void log_warn(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::Warn, m, f);
}
inline void log_error(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::Error, m, f);
}

}  // namespace probed::base
