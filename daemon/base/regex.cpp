#include "daemon/base/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace probed::base {

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

namespace {

struct MatchData {
  explicit MatchData(pcre2_code* code) : md(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(md); }
  pcre2_match_data* md;
};

}  // namespace

Expected<Regex> Regex::compile(std::string_view pattern) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    return unexpected("invalid regex \"" + std::string(pattern) + "\": " +
                            reinterpret_cast<const char*>(buf) + " at offset " +
                            std::to_string(offset));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back silently
  Regex r;
  auto c = std::make_shared<Code>();
  c->code = code;
  uint32_t count = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &count);
  r.code_ = std::move(c);
  r.pattern_ = std::string(pattern);
  r.captures_ = static_cast<int>(count);
  return r;
}

bool Regex::search(std::string_view subject) const {
  MatchData m(code_->code);
  int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                       0, 0, m.md, nullptr);
  return rc >= 0;
}

std::optional<std::string> Regex::capture(std::string_view subject) const {
  MatchData m(code_->code);
  int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                       0, 0, m.md, nullptr);
  if (rc < 0) return std::nullopt;
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(m.md);
  int group = (captures_ >= 1 && rc >= 2) ? 1 : 0;
  if (ov[2 * group] == PCRE2_UNSET) return std::string();
  return std::string(subject.substr(ov[2 * group], ov[2 * group + 1] - ov[2 * group]));
}

}  // namespace probed::probes
