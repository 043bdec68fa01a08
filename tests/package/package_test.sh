#!/usr/bin/env bash
# Builds the Debian package from a finished build tree, inspects it, extracts it into a
# scratch root (not installed system-wide: this runs on developer machines too) and runs the
# packaged binary's check-config on the packaged /etc/probed/probed.toml. Its failing twin:
# a broken copy of that config is rejected with a position and exit 1.
# Usage: package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/probed-package-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/out/probed_*.deb)
echo "package: $deb"

info=$(dpkg-deb -I "$deb")
echo "$info" | grep -q '^ Package: probed$' || fail "package name"
for dep in libcurl4 libc-ares2 libssl3 libcivetweb1 libprometheus-cpp-core; do
  echo "$info" | grep -q "^ Depends:.*$dep" || fail "Depends lacks $dep"
done
[ "$(dpkg-deb -f "$deb" Version)" != "" ] || fail "no version"

contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/probed ./lib/systemd/system/probed.service ./etc/probed/probed.toml \
         ./usr/share/doc/probed/README.md ./usr/share/doc/probed/operations.md \
         ./usr/share/doc/probed/api.md ./usr/share/doc/probed/configuration.md \
         ./usr/share/doc/probed/examples/probed.toml; do
  echo "$contents" | grep -q " $f\$" || fail "missing $f"
done

mkdir "$work/ctl"
dpkg-deb -e "$deb" "$work/ctl"
grep -qx /etc/probed/probed.toml "$work/ctl/conffiles" || fail "probed.toml is not a conffile"

root="$work/root"
dpkg-deb -x "$deb" "$root"
out=$("$root/usr/bin/probed" check-config -c "$root/etc/probed/probed.toml" 2>&1) || fail "check-config: $out"
echo "$out"
echo "$out" | grep -q 'OK (3 checks' || fail "unexpected check-config output"
grep -q '^ExecStart=/usr/bin/probed run -c /etc/probed/probed.toml' "$root/lib/systemd/system/probed.service" \
  || fail "unit does not run the packaged binary on the packaged config"

# Failing twin: the packaged binary rejects a broken copy of the packaged config.
sed 's/^interval = "30s"/interval = "30x"/' "$root/etc/probed/probed.toml" >"$work/bad.toml"
set +e
bad=$("$root/usr/bin/probed" check-config -c "$work/bad.toml" 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "broken config: exit $rc, want 1 ($bad)"
echo "$bad" | grep -q 'bad.toml:[0-9]*:[0-9]*: ' || fail "broken config: no position in: $bad"
echo "PASS"
