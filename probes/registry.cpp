// THE list of probe types, one row each (DESIGN §3). Adding a type adds one row here; a row
// without parse/make is a type the config schema knows but this version does not build yet,
// so a config using it gets a clear "not supported yet" error instead of being ignored.
#include "probes/dns/dns_probe.h"
#include "probes/dns/dns_spec.h"
#include "probes/cert_file/cert_file_probe.h"
#include "probes/http/http_probe.h"
#include "probes/http/http_spec.h"
#include "probes/journey/journey_probe.h"
#include "probes/journey/journey_spec.h"
#include "probes/probe.h"
#include "probes/tcp/conversation.h"
#include "probes/tcp/tcp_spec.h"

namespace probed::probes {

const std::vector<ProbeType>& probe_types() {
  static const std::vector<ProbeType> types = {
      {{"http", &parse_http, &check_http_target}, &make_http_probe, true},
      {{"dns", &parse_dns, &check_dns_target}, &make_dns_probe, false},
      {{"tcp", &parse_tcp, &check_host_port}, &make_conversation_probe, true},
      {{"tls", &parse_tls, &check_host_port}, &make_conversation_probe, true},
      {{"cert_file", &parse_cert_file, &check_cert_file_target}, &make_cert_file_probe, true},
      // A journey's target is any text (${target} in its steps); without targets it runs once.
      {{"journey", &parse_journey, nullptr, /*targets_optional=*/true}, &make_journey_probe, true},
  };
  return types;
}

const config::ProbeTypes& config_probe_types() {
  static const config::ProbeTypes infos = [] {
    config::ProbeTypes out;
    for (const auto& t : probe_types()) out.push_back(t.info);
    return out;
  }();
  return infos;
}

const ProbeType* find_probe_type(std::string_view name) {
  for (const auto& t : probe_types()) {
    if (t.info.name == name) return &t;
  }
  return nullptr;
}

}  // namespace probed::probes
