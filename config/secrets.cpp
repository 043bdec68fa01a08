#include "config/secrets.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "daemon/base/redact.h"

namespace probed::config {
namespace {
constexpr size_t kMaxSecretBytes = 64 * 1024;
}  // namespace

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

base::Expected<std::string> read_secret_file(const std::string& path,
                                             const std::string& base_dir) {
  std::string full = resolve_path(path, base_dir);
  std::ifstream in(full, std::ios::binary);
  if (!in) return base::unexpected("cannot read " + full + ": " + std::strerror(errno));
  // A secret is small; a bounded read also keeps ${file:/dev/zero} from hanging the loader.
  std::string value(kMaxSecretBytes + 1, '\0');
  in.read(value.data(), static_cast<std::streamsize>(value.size()));
  value.resize(static_cast<size_t>(in.gcount()));
  if (value.size() > kMaxSecretBytes) {
    return base::unexpected(full + " is larger than " + std::to_string(kMaxSecretBytes) +
                            " bytes; not a secret");
  }
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  base::register_secret(value);
  return value;
}

base::Expected<std::string> expand_refs(std::string_view text, const ExpandOptions& opts) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return base::unexpected("unterminated \"${\" (write \"$${\" for a literal \"${\")");
    }
    std::string_view ref = text.substr(i + 2, close - i - 2);
    if (ref.rfind("env:", 0) == 0) {
      std::string name(ref.substr(4));
      const char* v = std::getenv(name.c_str());
      if (name.empty() || v == nullptr) {
        return base::unexpected("environment variable '" + name + "' is not set");
      }
      base::register_secret(v);
      out += v;
    } else if (ref.rfind("file:", 0) == 0) {
      auto content = read_secret_file(std::string(ref.substr(5)), opts.base_dir);
      if (!content) return base::unexpected(content.error());
      out += *content;
    } else if (opts.allow_vars && !ref.empty()) {
      out += text.substr(i, close - i + 1);  // a journey variable, resolved at run time
    } else {
      return base::unexpected("unknown reference \"${" + std::string(ref) +
                              "}\": use ${env:NAME} or ${file:PATH} (\"$${\" for a literal)");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace probed::config
