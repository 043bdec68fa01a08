#include "probes/http/http_spec.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>

#include "config/secrets.h"
#include "daemon/base/redact.h"

namespace probed::probes {
namespace {

bool valid_method(const std::string& m) {
  return !m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

void read_auth(config::TableReader& t, HttpSpec& s) {
  if (auto a = t.table("basic_auth")) {
    auto user = a->string("username");
    auto pw = a->string("password");
    const bool pw_file = a->has("password_file");
    if (!user) a->error_here("basic_auth needs a 'username'");
    if (pw && pw_file) a->error_at("password_file", "set 'password' or 'password_file', not both");
    std::string password;
    if (pw) {
      password = *pw;
      base::register_secret(password);
    } else if (auto content = a->secret_file("password_file")) {
      password = *content;
    }
    a->mark("password_file");  // read above unless 'password' is set too (an error)
    a->finish();
    if (user) s.basic_auth = std::make_pair(*user, password);
  }
  if (auto content = t.secret_file("bearer_token_file")) s.bearer_token = *content;
  if (s.basic_auth && !s.bearer_token.empty()) {
    t.error_at("bearer_token_file", "set 'basic_auth' or 'bearer_token_file', not both");
  }
}

}  // namespace

int address_family(HttpSpec::IpVersion v) {
  switch (v) {
    case HttpSpec::IpVersion::V4: return AF_INET;
    case HttpSpec::IpVersion::V6: return AF_INET6;
    default: return AF_UNSPEC;
  }
}

std::optional<std::string> check_http_target(std::string_view target) {
  CURLU* u = curl_url();
  std::string t(target);
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, t.c_str(), 0);
  std::optional<std::string> err;
  if (rc != CURLUE_OK) {
    err = "invalid URL \"" + t + "\": " + curl_url_strerror(rc);
  } else {
    char* scheme = nullptr;
    char* host = nullptr;
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    std::string sc = scheme ? scheme : "";
    if (sc != "http" && sc != "https") {
      err = "invalid URL \"" + t + "\": scheme must be http or https";
    } else if (host == nullptr || *host == '\0') {
      err = "invalid URL \"" + t + "\": no host";
    } else if (t.rfind(sc + "://", 0) != 0) {
      err = "invalid URL \"" + t + "\": write it in full, as " + sc + "://host/path";
    }
    curl_free(scheme);
    curl_free(host);
  }
  curl_url_cleanup(u);
  return err;
}

std::shared_ptr<const config::ProbeSpec> parse_http(config::TableReader& t) {
  auto s = std::make_shared<HttpSpec>();
  size_t before = t.diags().size();
  if (auto h = t.string_map("headers")) s->headers = *h;
  if (auto b = t.string("body")) s->body = *b;
  read_http_options(t, *s);
  t.finish();
  if (t.diags().size() != before) return nullptr;
  return s;
}

void read_http_options(config::TableReader& t, HttpSpec& spec) {
  HttpSpec* s = &spec;
  if (auto m = t.string("method")) {
    std::string up = *m;
    std::transform(up.begin(), up.end(), up.begin(), ::toupper);
    if (!valid_method(up)) t.error_at("method", "invalid HTTP method \"" + *m + "\"");
    s->method = up;
  }
  s->assertions.read(t);
  if (auto v = t.integer("max_body_bytes", 0, int64_t{1} << 40)) s->max_body_bytes = *v;
  if (auto v = t.boolean("follow_redirects")) s->follow_redirects = *v;
  if (auto v = t.integer("max_redirects", 0, 100)) s->max_redirects = static_cast<int>(*v);
  if (const auto* n = t.node("http_version")) {
    std::string v = n->is_string() ? n->as_string()->get()
                    : n->is_integer() ? std::to_string(n->as_integer()->get())
                    : n->is_floating_point() ? (n->as_floating_point()->get() == 1.1 ? "1.1" : "?")
                                             : "?";
    if (v == "any") s->http_version = HttpSpec::HttpVersion::Any;
    else if (v == "1.1") s->http_version = HttpSpec::HttpVersion::Http1_1;
    else if (v == "2" || v == "2.0") s->http_version = HttpSpec::HttpVersion::Http2;
    else t.error_at("http_version", "'http_version' must be \"any\", \"1.1\" or \"2\"");
  }
  if (const auto* n = t.node("ip_version")) {
    std::string v = n->is_string() ? n->as_string()->get()
                    : n->is_integer() ? std::to_string(n->as_integer()->get())
                                      : "?";
    if (v == "any") s->ip_version = HttpSpec::IpVersion::Any;
    else if (v == "4") s->ip_version = HttpSpec::IpVersion::V4;
    else if (v == "6") s->ip_version = HttpSpec::IpVersion::V6;
    else t.error_at("ip_version", "'ip_version' must be \"any\", 4 or 6");
  }
  s->tls.read(t);
  read_auth(t, *s);
  if (auto p = t.string("proxy")) {
    CURLU* u = curl_url();
    if (curl_url_set(u, CURLUPART_URL, p->c_str(), 0) != CURLUE_OK) {
      t.error_at("proxy", "invalid proxy URL \"" + *p + "\"");
    }
    curl_url_cleanup(u);
    s->proxy = *p;
  }
}

}  // namespace probed::probes
