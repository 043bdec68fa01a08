// StatusStore and its renderers: ordering (failing first), the run history ring, certificate
// rows and their status, snapshot caching, alert extension point, escaping and redaction.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <atomic>
#include <thread>

#include "daemon/base/redact.h"
#include "exporters/status/api_json.h"
#include "exporters/status/status_page.h"
#include "exporters/status/status_store.h"

using namespace probed;
using exporters::StatusStore;

namespace {

// A spec that sees certificates on every target, with 30d/7d thresholds.
struct CertSpec : config::ProbeSpec {
  std::optional<CertThresholds> cert_thresholds(std::string_view) const override {
    return CertThresholds{std::chrono::hours(24 * 30), std::chrono::hours(24 * 7)};
  }
};

config::CheckConfig check(const std::string& name, bool certs = false) {
  config::CheckConfig c;
  c.name = name;
  c.type = certs ? "tls" : "http";
  if (certs) c.spec = std::make_shared<CertSpec>();
  return c;
}

probes::Result result(bool ok, const std::string& message = "", double seconds = 0.01) {
  auto r = ok ? probes::Result::ok() : probes::Result::fail(probes::FailureReason::Connect, message);
  r.message = message;
  r.duration = std::chrono::duration_cast<base::Duration>(std::chrono::duration<double>(seconds));
  return r;
}

probes::CertInfo cert(const std::string& cn, double days) {
  probes::CertInfo c;
  c.subject = "CN=" + cn;
  c.issuer = "CN=test CA";
  c.not_after = static_cast<int64_t>(base::unix_now() + days * 86400);
  return c;
}

std::vector<std::string> names(const exporters::StatusSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& r : s.checks) out.push_back(r->check);
  return out;
}

}  // namespace

TEST_CASE("status: failing checks come first, then pending, then up, each by name", "[status]") {
  StatusStore store("lab");
  for (const char* n : {"b-up", "a-up", "z-down", "c-down", "m-new"}) {
    store.on_added(check(n), {std::string("t-") + n, {}});
  }
  store.on_result(check("a-up"), {"t-a-up", {}}, result(true));
  store.on_result(check("b-up"), {"t-b-up", {}}, result(true));
  store.on_result(check("z-down"), {"t-z-down", {}}, result(false, "refused"));
  store.on_result(check("c-down"), {"t-c-down", {}}, result(false, "refused"));
  auto snap = store.snapshot();
  CHECK(names(*snap) == std::vector<std::string>{"c-down", "z-down", "m-new", "a-up", "b-up"});
  CHECK(snap->down == 2);
  CHECK(snap->up == 2);
  CHECK(snap->pending == 1);
  SECTION("a recovered check moves down the list") {
    store.on_result(check("c-down"), {"t-c-down", {}}, result(true));
    std::this_thread::sleep_for(StatusStore::kMaxAge + std::chrono::milliseconds(50));
    CHECK(names(*store.snapshot()).front() == "z-down");
  }
  SECTION("a removed check disappears") {
    store.on_removed({"z-down", "t-z-down"});
    std::this_thread::sleep_for(StatusStore::kMaxAge + std::chrono::milliseconds(50));
    CHECK(store.snapshot()->checks.size() == 4);
  }
}

TEST_CASE("status: snapshots are shared until a change and a second have passed", "[status]") {
  StatusStore store("");
  store.on_result(check("a"), {"t", {}}, result(true));
  auto first = store.snapshot();
  CHECK(store.snapshot() == first);  // no change: the same object
  store.on_result(check("a"), {"t", {}}, result(false, "x"));
  CHECK(store.snapshot() == first);  // changed, but within kMaxAge: a burst costs one build
  std::this_thread::sleep_for(StatusStore::kMaxAge + std::chrono::milliseconds(50));
  auto second = store.snapshot();
  CHECK(second != first);
  CHECK(second->checks.front()->state == exporters::CheckState::Down);
  CHECK(first->checks.front()->state == exporters::CheckState::Up);  // old readers unaffected
}

TEST_CASE("status: the history keeps the last 30 runs, oldest first", "[status]") {
  exporters::RunHistory h;
  for (int i = 0; i < 35; ++i) h.push(i % 2 == 0, i);
  REQUIRE(h.size() == exporters::RunHistory::kSize);
  CHECK(h.seconds_at(0) == Approx(5));
  CHECK(h.success_at(0) == false);  // run 5 was odd
  CHECK(h.seconds_at(29) == Approx(34));
  CHECK(h.success_at(29) == true);
}

TEST_CASE("status: certificates are sorted by days left with their status", "[status][certs]") {
  StatusStore store("");
  auto c = check("edge", true);
  auto r = result(true);
  r.chain = {cert("ok", 200), cert("soon", 3), cert("old", -1), cert("warn", 20)};
  store.on_result(c, {"edge:443", {}}, r);
  store.on_result(c, {"gone:443", {}}, result(false, "connection refused"));
  auto snap = store.snapshot();
  REQUIRE(snap->certs.size() == 5);
  std::vector<std::string> got;
  for (const auto& row : snap->certs) got.push_back(row.status + " " + row.subject);
  CHECK(got == std::vector<std::string>{"ERROR -", "EXPIRED CN=old", "CRITICAL CN=soon",
                                        "WARNING CN=warn", "OK CN=ok"});
  auto html = exporters::status_page_html(*snap);
  CHECK_THAT(html, Catch::Contains("<tr class=\"cert-critical\">"));
  CHECK_THAT(html, Catch::Contains("<tr class=\"cert-expired\">"));
  auto j = nlohmann::json::parse(exporters::certs_json(*snap));
  CHECK(j["certs"][1]["status"] == "EXPIRED");
  CHECK(j["certs"][0]["error"] == "connection refused");
  SECTION("a check that sees no certificates adds no rows") {
    StatusStore plain("");
    plain.on_result(check("web"), {"http://a/", {}}, r);
    CHECK(plain.snapshot()->certs.empty());
  }
}

TEST_CASE("status: text is escaped and secrets are masked on the page and in the API", "[status][secrets]") {
  base::register_secret("status-canary-9f2e");
  StatusStore store("");
  store.on_result(check("a"), {"http://u:status-canary-9f2e@h/", {}},
                  result(false, "<script>alert(1)</script> token status-canary-9f2e"));
  auto snap = store.snapshot();
  auto html = exporters::status_page_html(*snap);
  auto json = exporters::checks_json(*snap);
  CHECK(html.find("status-canary-9f2e") == std::string::npos);
  CHECK(json.find("status-canary-9f2e") == std::string::npos);
  CHECK(html.find("<script>") == std::string::npos);
  CHECK_THAT(html, Catch::Contains("&lt;script&gt;"));
  CHECK_THAT(json, Catch::Contains("<script>"));  // JSON carries the text as is, escaped by JSON
}

TEST_CASE("status: an alert state shows only when the alert engine sets one", "[status]") {
  StatusStore store("");
  store.on_result(check("a"), {"t", {}}, result(false, "x"));
  auto j = nlohmann::json::parse(exporters::checks_json(*store.snapshot()));
  CHECK_FALSE(j["checks"][0].contains("alert"));
  CHECK(exporters::status_page_html(*store.snapshot()).find("alert: ") == std::string::npos);
  store.set_alert({"a", "t"}, "firing");
  std::this_thread::sleep_for(StatusStore::kMaxAge + std::chrono::milliseconds(50));
  j = nlohmann::json::parse(exporters::checks_json(*store.snapshot()));
  CHECK(j["checks"][0]["alert"] == "firing");
  CHECK_THAT(exporters::status_page_html(*store.snapshot()), Catch::Contains("alert: firing"));
}

TEST_CASE("status: the checks JSON has the documented fields", "[status]") {
  StatusStore store("fra");
  store.on_added(check("new"), {"t0", {}});
  store.on_result(check("a"), {"t", {}}, result(false, "refused", 0.25));
  auto j = nlohmann::json::parse(exporters::checks_json(*store.snapshot()));
  CHECK(j["location"] == "fra");
  CHECK(j["summary"]["down"] == 1);
  CHECK(j["summary"]["pending"] == 1);
  const auto& a = j["checks"][0];
  CHECK(a["check"] == "a");
  CHECK(a["state"] == "down");
  CHECK(a["last_result"]["reason"] == "connect");
  CHECK(a["last_result"]["duration_seconds"] == Approx(0.25));
  CHECK(a["history"].size() == 1);
  CHECK(a["history"][0]["success"] == false);
  CHECK(j["checks"][1]["state"] == "pending");
  CHECK(j["checks"][1]["last_result"].is_null());
}

TEST_CASE("status: HTTP threads read snapshots while the loop thread writes", "[status][threads]") {
  // Run under TSan: the loop-side writers and the HTTP-side readers share only mu_/snap_mu_.
  StatusStore store("");
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  std::atomic<size_t> pages{0};
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        auto snap = store.snapshot();
        pages += exporters::status_page_html(*snap).size() > 0 ? 1 : 0;
        (void)exporters::checks_json(*snap);
      }
    });
  }
  auto c = check("edge", true);
  auto ok = result(true);
  ok.chain = {cert("a", 10)};
  for (int i = 0; i < 2000; ++i) {
    std::string target = "t" + std::to_string(i % 50);
    store.on_result(c, {target, {}}, i % 3 == 0 ? result(false, "x") : ok);
    if (i % 100 == 0) store.on_removed({"edge", "t0"});
    if (i % 7 == 0) store.set_alert({"edge", target}, i % 2 ? "firing" : "");
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(pages > 0);
}
