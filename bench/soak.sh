#!/usr/bin/env bash
# Soak test: probed runs 300 mixed checks every second (http ok / slow / hanging / refused /
# 500, tcp connect and send/expect, dns ok and NXDOMAIN against dnsmasq, tls against nginx
# with a generated certificate, cert_file) for SOAK_SECONDS (default 600) after a warm-up,
# sampling RSS, open fds and sockets in CLOSE_WAIT every SOAK_EVERY seconds. Fails (exit 1)
# unless they level off: the last third's max RSS within 10% (+1 MB) of the first third's,
# the median fd count within 8, CLOSE_WAIT's median at most 2 and never above 64 (medians,
# so a burst of load from elsewhere on the host is not taken for a leak). Prints the samples
# as a markdown table.
# Loopback only. Needs nginx, dnsmasq, openssl and python3 (.ci/deps.sh --test).
#   bench/soak.sh                              # 10 minutes, probed from ./build
#   SOAK_SECONDS=40 SOAK_EVERY=2 bench/soak.sh build/daemon/probed   # the short version (CTest label soak)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROBED="${1:-${PROBED:-$HERE/../build/daemon/probed}}"
[[ -x "$PROBED" ]] || { echo "probed binary not found at $PROBED (build first)" >&2; exit 2; }
for tool in nginx dnsmasq openssl python3; do
  command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] ||
    { echo "missing $tool (bash .ci/deps.sh --test)" >&2; exit 2; }
done
export PATH="$PATH:/usr/sbin"
exec python3 "$HERE/soak.py" --probed "$PROBED" --seconds "${SOAK_SECONDS:-600}" \
  --warmup "${SOAK_WARMUP:-15}" --every "${SOAK_EVERY:-5}" --checks "${SOAK_CHECKS:-300}"
