#!/usr/bin/env bash
# Checks systemd/probed.service: `systemd-analyze verify` is clean, the offline security
# exposure is 2.0 or lower, and every directive the operations contract relies on is there.
# Usage: unit_check.sh UNIT PROBED_BINARY [--weaken|--typo]
#   --weaken  checks a copy with the sandboxing lines removed (the twin: must fail on exposure)
#   --typo    checks a copy with a misspelt value (the twin: must fail verify)
# Exit: 0 all good, 1 a check failed, 77 systemd-analyze is not installed (CTest: skipped).
set -uo pipefail
unit=$1 bin=$2 mode=${3:-}
max_exposure=2.0

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not found (Debian package 'systemd'; .ci/deps.sh --test installs it)"
  exit 77
fi
tmp=$(mktemp -d /tmp/probed-unit-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# verify insists the ExecStart binary exists: point the copy at the one just built.
sed "s#/usr/bin/probed#${bin}#g" "$unit" >"$tmp/probed.service"
case "$mode" in
  --weaken) sed -i -E '/^(Protect|Private|Restrict|SystemCall|Capability|NoNewPriv|Lock|Memory|ProcSubset|RemoveIPC|UMask|DevicePolicy)/d' "$tmp/probed.service" ;;
  --typo) sed -i 's/^ProtectSystem=strict$/ProtectSystem=strickt/' "$tmp/probed.service" ;;
esac
failed=0
copy=$tmp/probed.service

# verify prints problems (unknown keys, bad values, missing binaries) and may still exit 0.
out=$(cd "$tmp" && systemd-analyze verify "$tmp/probed.service" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
  echo "FAIL: systemd-analyze verify (exit $rc):"
  echo "$out"
  failed=1
else
  echo "ok: systemd-analyze verify is clean"
fi

sec=$(systemd-analyze security --offline=true --no-pager "$tmp/probed.service" 2>&1)
score=$(printf '%s\n' "$sec" | sed -n -E 's/.*Overall exposure level for probed\.service: ([0-9]+\.[0-9]+).*/\1/p')
if [ -z "$score" ]; then
  echo "FAIL: no exposure level in the output of systemd-analyze security:"
  echo "$sec"
  failed=1
elif awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s > m) }'; then
  echo "FAIL: exposure level $score is above $max_exposure"
  printf '%s\n' "$sec" | grep -E '^✗' || true
  failed=1
else
  echo "ok: exposure level $score (at most $max_exposure)"
fi

# The directives docs/operations.md promises (values as written there).
required=(
  'Type=notify' 'WatchdogSec=' 'ExecReload=/bin/kill -HUP $MAINPID' 'DynamicUser=yes'
  'StateDirectory=probed' 'ConfigurationDirectory=probed' 'NoNewPrivileges=yes'
  'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes'
  'CapabilityBoundingSet=' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'
  'SystemCallFilter=@system-service' 'LimitNOFILE=65536'
)
for d in "${required[@]}"; do
  if [[ "$d" == *= ]]; then
    # A bare "Key=": the key must be there (WatchdogSec with any value, an empty bounding set).
    grep -qE "^${d}" "$copy" || { echo "FAIL: the unit lacks ${d}"; failed=1; }
    [ "$d" = 'CapabilityBoundingSet=' ] && ! grep -qx 'CapabilityBoundingSet=' "$copy" &&
      { echo "FAIL: CapabilityBoundingSet must be empty"; failed=1; }
  else
    grep -qxF "$d" "$copy" || { echo "FAIL: the unit lacks $d"; failed=1; }
  fi
done
[ $failed -eq 0 ] && echo "ok: every required directive is present"
exit $failed
