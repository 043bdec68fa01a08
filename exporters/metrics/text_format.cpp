#include "exporters/metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace probed::exporters {
namespace {

constexpr size_t kFlushAt = 64 * 1024;

// Label values escape \, " and newline; HELP text escapes \ and newline.
void append_escaped(std::string& out, std::string_view s, bool quotes) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

std::string_view type_name(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter: return "counter";
    case prometheus::MetricType::Gauge: return "gauge";
    case prometheus::MetricType::Histogram: return "histogram";
    case prometheus::MetricType::Summary: return "summary";
    case prometheus::MetricType::Untyped: break;
  }
  return "untyped";
}

}  // namespace

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
  } else {
    char tmp[32];
    auto r = std::abs(v) < 9007199254740992.0 && v == std::trunc(v)
                 ? std::to_chars(tmp, tmp + sizeof tmp, static_cast<int64_t>(v))
                 : std::to_chars(tmp, tmp + sizeof tmp, v);
    out.append(tmp, r.ptr);
  }
}

RenderedLabel render_label(std::string_view name, std::string_view value) {
  RenderedLabel l{std::string(name), std::string(name)};
  l.text += "=\"";
  append_escaped(l.text, value, true);
  l.text += '"';
  return l;
}

RenderedLabels render_labels(const std::vector<prometheus::ClientMetric::Label>& sorted) {
  RenderedLabels out;
  out.reserve(sorted.size());
  for (const auto& l : sorted) out.push_back(render_label(l.name, l.value));
  return out;
}

void TextWriter::family(std::string_view name, std::string_view help, prometheus::MetricType type) {
  if (!help.empty()) {
    buf_ += "# HELP ";
    buf_ += name;
    buf_ += ' ';
    append_escaped(buf_, help, false);
    buf_ += '\n';
  }
  buf_ += "# TYPE ";
  buf_ += name;
  buf_ += ' ';
  buf_ += type_name(type);
  buf_ += '\n';
}

void TextWriter::sample(std::string_view name, std::string_view suffix, const RenderedLabels& labels,
                        std::span<const RenderedLabel> extra, double v) {
  buf_ += name;
  buf_ += suffix;
  if (!labels.empty() || !extra.empty()) {
    buf_ += '{';
    bool first = true;
    auto put = [&](const RenderedLabel& l) {
      if (!first) buf_ += ',';
      buf_ += l.text;
      first = false;
    };
    // Extra labels go in by name, except a histogram's "le", last as client libraries write it.
    const RenderedLabel* le = nullptr;
    auto e = extra.begin();
    auto next_extra = [&](const std::string* before) {
      for (; e != extra.end() && (before == nullptr || e->name < *before); ++e) {
        if (e->name == "le") le = &*e; else put(*e);
      }
    };
    for (const auto& l : labels) {
      next_extra(&l.name);
      put(l);
    }
    next_extra(nullptr);
    if (le != nullptr) put(*le);
    buf_ += '}';
  }
  buf_ += ' ';
  append_number(buf_, v);
  buf_ += '\n';
  if (buf_.size() >= kFlushAt) flush();
}

void TextWriter::flush() {
  if (buf_.empty()) return;
  out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
  buf_.clear();
}

}  // namespace probed::exporters
