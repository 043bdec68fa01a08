// libFuzzer: alert payload rendering. Arbitrary label and annotation text (probe messages can
// carry bytes a server sent, not always UTF-8), names and timestamps go through every receiver
// type and the state-file form; each payload must be valid JSON that parses back.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "exporters/alerts/receivers.h"

using namespace probed;
using namespace probed::exporters::alerts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Alert a;
  a.name = in.ConsumeRandomLengthString(64);
  a.severity = in.ConsumeBool() ? "critical" : "warning";
  a.check = in.ConsumeRandomLengthString(64);
  a.target = in.ConsumeRandomLengthString(512);
  a.location = in.ConsumeRandomLengthString(64);
  const int labels = in.ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < labels; ++i) {
    a.labels.emplace_back(in.ConsumeRandomLengthString(32), in.ConsumeRandomLengthString(128));
  }
  const int annotations = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < annotations; ++i) {
    a.annotations.emplace_back(in.ConsumeRandomLengthString(32), in.ConsumeRandomLengthString(512));
  }
  a.starts_at = in.ConsumeFloatingPointInRange<double>(-1e10, 1e12);
  a.ends_at = in.ConsumeBool() ? in.ConsumeFloatingPointInRange<double>(-1e10, 1e12) : 0;
  RenderContext ctx;
  ctx.now = in.ConsumeFloatingPoint<double>();  // any double: rfc3339 clamps
  ctx.generator_url = in.ConsumeRandomLengthString(128);
  ctx.receiver = in.ConsumeRandomLengthString(32);
  for (const char* type : {"alertmanager", "webhook", "slack", "pagerduty"}) {
    config::ReceiverConfig rc;
    rc.name = "r";
    rc.type = type;
    rc.urls = {"http://127.0.0.1:9/"};
    rc.routing_key = "k";
    auto rx = make_receiver(rc);
    std::vector<Alert> batch = {a, a};
    std::string body = rx->render(std::span<const Alert>(batch).first(rx->batch_size() > 1 ? 2 : 1), ctx);
    if (!nlohmann::json::accept(body)) __builtin_trap();
  }
  std::string state = dump_json(to_json(a));
  if (!nlohmann::json::accept(state)) __builtin_trap();
  (void)alert_from_json(nlohmann::json::parse(state));
  (void)pagerduty_dedup_key(a);
  (void)rfc3339(a.starts_at);
  return 0;
}
