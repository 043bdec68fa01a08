#include "probes/tcp/tcp_spec.h"

#include "probes/tcp/conversation.h"

namespace probed::probes {
namespace {

// `send` is a string or an array of strings. The conversation interleaves them with
// `expect`: when expect has one entry more than send, the server speaks first
// (expect, send, expect, ...: SMTP, FTP, SSH banners); with as many, the client does
// (send, expect, send, expect, ...).
bool read_conversation(config::TableReader& t, std::vector<ConversationStep>& out) {
  std::vector<std::string> sends;
  if (const auto* n = t.node("send")) {
    if (n->is_string()) {
      if (auto s = t.string("send"); s && !s->empty()) sends.push_back(*s);
    } else if (auto v = t.strings("send")) {
      sends = *v;
    }
  }
  std::vector<Regex> expects;
  if (auto v = t.strings("expect")) {
    const auto* arr = t.node("expect")->as_array();
    for (size_t i = 0; i < v->size(); ++i) {
      auto re = Regex::compile((*v)[i]);
      if (!re) {
        t.error_at(*arr->get(i), re.error());
        return false;
      }
      expects.push_back(std::move(*re));
    }
  }
  bool server_first = expects.size() == sends.size() + 1;
  if (!server_first && expects.size() != sends.size() && !(expects.empty() && !sends.empty())) {
    t.error_at(t.has("expect") ? "expect" : "send",
               "'expect' needs as many entries as 'send' (client speaks first) or one more "
               "(server speaks first); found " + std::to_string(expects.size()) + " and " +
                   std::to_string(sends.size()));
    return false;
  }
  size_t si = 0, ei = 0;
  if (server_first) out.push_back({ConversationStep::Kind::Expect, "", expects[ei++], false});
  while (si < sends.size()) {
    out.push_back({ConversationStep::Kind::Send, sends[si++], std::nullopt, false});
    if (ei < expects.size()) out.push_back({ConversationStep::Kind::Expect, "", expects[ei++], false});
  }
  return true;
}

}  // namespace

std::shared_ptr<const config::ProbeSpec> parse_tcp(config::TableReader& t) {
  auto spec = std::make_shared<ConversationSpec>();
  size_t before = t.diags().size();
  bool tls = t.boolean("tls").value_or(false);
  std::vector<ConversationStep> user;
  read_conversation(t, user);
  read_tls_part(t, *spec, tls);
  for (auto& s : user) spec->steps.push_back(std::move(s));
  if (auto m = t.integer("max_read_bytes", 1, 16 * 1024 * 1024)) spec->max_read_bytes = static_cast<size_t>(*m);
  t.finish();
  if (t.diags().size() != before) return nullptr;
  return spec;
}

std::shared_ptr<const config::ProbeSpec> parse_tls(config::TableReader& t) {
  auto spec = std::make_shared<ConversationSpec>();
  spec->is_tls_type = true;
  size_t before = t.diags().size();
  read_tls_part(t, *spec, /*tls_wanted=*/true);
  t.finish();
  if (t.diags().size() != before) return nullptr;
  return spec;
}

}  // namespace probed::probes
