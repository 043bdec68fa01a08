#!/usr/bin/env bash
# Installs what probed needs from Debian 12 packages. With --test, also the test servers and
# tools (nginx, Prometheus, Alertmanager, blackbox_exporter, clang for sanitizers and fuzzers,
# chromium for the status page tests in a headless browser).
set -euo pipefail
build=(build-essential cmake pkg-config
       libcurl4-openssl-dev libc-ares-dev libssl-dev prometheus-cpp-dev libcivetweb-dev
       libtomlplusplus-dev nlohmann-json3-dev libpcre2-dev libcli11-dev libsystemd-dev catch2)
test=(curl nginx-light prometheus prometheus-alertmanager prometheus-blackbox-exporter
      clang libclang-rt-14-dev procps dnsmasq-base chromium python3
      systemd)  # systemd-analyze: the unit file checks (CTest label "systemd")
pkgs=("${build[@]}")
[ "${1:-}" = "--test" ] && pkgs+=("${test[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
