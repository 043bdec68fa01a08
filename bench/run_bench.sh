#!/usr/bin/env bash
# probed benchmark: CPU, memory and schedule lag of probed running N http checks against a
# local nginx (fresh connection per probe), and blackbox_exporter's CPU per probe for the
# same probes driven at the same rate. Local only: all traffic goes to 127.0.0.1.
# See bench/README.md for the knobs and bench/RESULTS.md for the last results.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
HELPER="$HERE/bench_helper.py"

PROBED="${PROBED:-/tmp/benchbuild/daemon/probed}"
BUILD_DIR="${BUILD_DIR:-/tmp/benchbuild}"
N_LIST="${N_LIST:-1000 10000}"
WINDOW="${WINDOW:-60}"            # measured seconds per run
WARMUP="${WARMUP:-15}"            # seconds after probed is ready before measuring
SCRAPE_INTERVAL="${SCRAPE_INTERVAL:-15}"
SAMPLE_INTERVAL="${SAMPLE_INTERVAL:-2}"   # RSS sampling period
SKIP_BLACKBOX="${SKIP_BLACKBOX:-0}"
BB_RATE="${BB_RATE:-}"            # default: probes/s probed achieved at N=1000, else 100
BB_WARMUP="${BB_WARMUP:-5}"
BB_CONC="${BB_CONC:-64}"
BB_TARGETS="${BB_TARGETS:-1000}"
BB_HEADERS="${BB_HEADERS:-prometheus}"  # prometheus: a real scrape's headers (gzip); plain: none
BLACKBOX="${BLACKBOX:-/usr/bin/prometheus-blackbox-exporter}"
STRICT="${STRICT:-0}"             # 1: exit 3 when a target is missed

# /metrics is scraped with the headers a real Prometheus scrape sends (bench_helper.py has
# them); --compressed decodes the answer should the exporter compress it.
SCRAPE_HEADERS=()
if [[ "$BB_HEADERS" == prometheus ]]; then
  SCRAPE_HEADERS=(--compressed -H 'User-Agent: Prometheus/2.42.0+ds'
    -H 'Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
    -H 'Accept-Encoding: gzip' -H "X-Prometheus-Scrape-Timeout-Seconds: $SCRAPE_INTERVAL")
fi

CMDLINE="$(printf '%q ' "$0" "$@")"
CMDLINE="${CMDLINE% }"
ENVLINE="N_LIST='$N_LIST' WINDOW=$WINDOW WARMUP=$WARMUP SCRAPE_INTERVAL=$SCRAPE_INTERVAL BB_HEADERS=$BB_HEADERS${BB_RATE:+ BB_RATE=$BB_RATE}"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------ dependencies
need_apt=()
command -v nginx >/dev/null || need_apt+=(nginx-light)
[[ -x "$BLACKBOX" ]] || [[ "$SKIP_BLACKBOX" == 1 ]] || need_apt+=(prometheus-blackbox-exporter)
command -v curl >/dev/null || need_apt+=(curl)
command -v python3 >/dev/null || need_apt+=(python3)
if ((${#need_apt[@]})); then
  [[ $(id -u) == 0 ]] || die "missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]})"
  log "installing ${need_apt[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_apt[@]}" >&2 ||
    die "apt-get install ${need_apt[*]} failed"
fi
# nginx-light's unit may start a system nginx on :80; we do not use it.
if [[ ! -x "$PROBED" ]]; then
  log "building probed (RelWithDebInfo) in $BUILD_DIR"
  cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >&2 &&
    cmake --build "$BUILD_DIR" -j"$(nproc)" >&2 || die "build failed"
fi
[[ -x "$PROBED" ]] || die "probed binary not found at $PROBED"

HARD_NOFILE="$(ulimit -Hn)"
NOFILE=65536
[[ "$HARD_NOFILE" != unlimited && "$HARD_NOFILE" -lt $NOFILE ]] && NOFILE="$HARD_NOFILE"
ulimit -n "$NOFILE" || die "cannot raise ulimit -n to $NOFILE"

CLK_TCK="$(getconf CLK_TCK)"
LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------ cleanup
TMP="$(mktemp -d /tmp/probed-bench.XXXXXX)"
PIDS=()
cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {  # TERM, wait up to 10 s, KILL
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local keep=()
  for p in "${PIDS[@]}"; do [[ "$p" == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# ------------------------------------------------------------------ /proc sampling
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
sleep_us() { local d=$1; ((d > 0)) && sleep "$((d / 1000000)).$(printf %06d $((d % 1000000)))"; return 0; }
cpu_ticks() {  # "utime stime" (all threads) of PID
  local s
  s="$(<"/proc/$1/stat")" || return 1
  s="${s##*) }"
  local -a f
  read -r -a f <<<"$s"
  echo "${f[11]} ${f[12]}"
}
thread_ticks() {  # one line per thread: "tid comm utime stime"
  local t tid comm s
  local -a f
  for t in /proc/"$1"/task/*; do
    tid=${t##*/}
    comm="$(<"$t/comm")" 2>/dev/null || continue
    s="$(<"$t/stat")" 2>/dev/null || continue
    s="${s##*) }"
    read -r -a f <<<"$s"
    echo "$tid ${comm// /_} ${f[11]} ${f[12]}"
  done
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
nginx_ticks() {  # master + workers, utime+stime
  local total=0 u s p
  for p in "$NGINX_PID" $(pgrep -P "$NGINX_PID"); do
    read -r u s < <(cpu_ticks "$p") || continue
    total=$((total + u + s))
  done
  echo "$total"
}
log_lines() { wc -l <"$NGINX_DIR/logs/access.log"; }
wait_http() {  # URL PID SECONDS
  local url=$1 pid=$2 secs=$3
  for _ in $(seq $((secs * 10))); do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# measure PID METRICS_URL|"" : samples over WINDOW seconds; sets M_* globals.
# With a metrics URL it scrapes every SCRAPE_INTERVAL (first scrape at t0, inside the
# window, so the scrape cost is counted like a Prometheus server's) and saves the scrape
# at t0 and one right after t1 for the counter deltas.
measure() {
  local pid=$1 murl=$2 now end next_scrape next_sample wake r t b
  M_SCRAPES=0 M_SCRAPE_MAX=0 M_SCRAPE_BYTES=0
  M_LOG0=$(log_lines)
  M_NG0=$(nginx_ticks)
  thread_ticks "$pid" >"$TMP/threads0.txt"
  read -r M_U0 M_S0 < <(cpu_ticks "$pid")
  M_T0=$(now_us)
  M_RSS0=$(rss_kb "$pid")
  M_RSSMAX=$M_RSS0
  end=$((M_T0 + WINDOW * 1000000))
  next_scrape=$M_T0
  next_sample=$((M_T0 + SAMPLE_INTERVAL * 1000000))
  while :; do
    now=$(now_us)
    ((now >= end)) && break
    kill -0 "$pid" 2>/dev/null || die "process $pid died during the measurement"
    if [[ -n "$murl" ]] && ((now >= next_scrape)); then
      local dest=/dev/null
      ((M_SCRAPES == 0)) && dest="$TMP/start.prom"
      r=$(curl -sS -o "$dest" --max-time "$SCRAPE_INTERVAL" -w '%{http_code} %{time_total} %{size_download}' \
        "${SCRAPE_HEADERS[@]}" "$murl") ||
        die "scrape of $murl failed"
      read -r _ t b <<<"$r"
      M_SCRAPES=$((M_SCRAPES + 1))
      M_SCRAPE_MAX=$(python3 -c "print(max($M_SCRAPE_MAX, $t))")
      M_SCRAPE_BYTES=$b
      next_scrape=$((next_scrape + SCRAPE_INTERVAL * 1000000))
      continue
    fi
    if ((now >= next_sample)); then
      r=$(rss_kb "$pid")
      ((r > M_RSSMAX)) && M_RSSMAX=$r
      next_sample=$((next_sample + SAMPLE_INTERVAL * 1000000))
    fi
    wake=$end
    ((next_sample < wake)) && wake=$next_sample
    [[ -n "$murl" ]] && ((next_scrape < wake)) && wake=$next_scrape
    now=$(now_us)
    sleep_us $((wake - now))
  done
  read -r M_U1 M_S1 < <(cpu_ticks "$pid")
  M_T1=$(now_us)
  thread_ticks "$pid" >"$TMP/threads1.txt"
  M_NG1=$(nginx_ticks)
  M_LOG1=$(log_lines)
  M_RSSEND=$(rss_kb "$pid")
  ((M_RSSEND > M_RSSMAX)) && M_RSSMAX=$M_RSSEND
  if [[ -n "$murl" ]]; then
    curl -fsS -o "$TMP/end.prom" --max-time 30 "${SCRAPE_HEADERS[@]}" "$murl" || die "final scrape failed"
  fi
  return 0
}

# ------------------------------------------------------------------ nginx
NGINX_DIR="$TMP/nginx"
mkdir -p "$NGINX_DIR/logs"
NGINX_PORT="$(python3 "$HELPER" freeport)"
NGINX_USER=""
[[ $(id -u) == 0 ]] && NGINX_USER="user root;"
cat >"$NGINX_DIR/nginx.conf" <<EOF
$NGINX_USER
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  log_format bench '\$msec \$status \$request_uri';
  keepalive_timeout 0;
  client_body_temp_path $NGINX_DIR/client_body;
  proxy_temp_path $NGINX_DIR/proxy;
  fastcgi_temp_path $NGINX_DIR/fastcgi;
  uwsgi_temp_path $NGINX_DIR/uwsgi;
  scgi_temp_path $NGINX_DIR/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    access_log $NGINX_DIR/logs/access.log bench;
    location = /ok { return 200 "ok\n"; }
    location / { return 404; }
  }
}
EOF
nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -g 'daemon off; master_process on;' \
  >"$NGINX_DIR/logs/stdout.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_http "http://127.0.0.1:$NGINX_PORT/ok?i=warm" "$NGINX_PID" 10 ||
  { cat "$NGINX_DIR/logs/error.log" "$NGINX_DIR/logs/stdout.log" >&2 2>/dev/null; die "nginx did not start"; }
log "nginx pid $NGINX_PID on 127.0.0.1:$NGINX_PORT (prefix $NGINX_DIR)"

RESULTS="$TMP/results.jsonl"
: >"$RESULTS"

# ------------------------------------------------------------------ probed runs
RATE_1000=""
for N in $N_LIST; do
  PORT="$(python3 "$HELPER" freeport)"
  RUN="$TMP/probed-$N"
  mkdir -p "$RUN/state"
  python3 "$HELPER" gencfg "$N" "$NGINX_PORT" "$PORT" "$RUN/state" "$RUN/probed.toml"
  "$PROBED" check-config -c "$RUN/probed.toml" >"$RUN/check-config.log" 2>&1 ||
    { cat "$RUN/check-config.log" >&2; die "generated config for N=$N is invalid"; }
  "$PROBED" --log-level warn run -c "$RUN/probed.toml" >"$RUN/probed.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  wait_http "http://127.0.0.1:$PORT/-/ready" "$PID" 60 ||
    { tail -20 "$RUN/probed.log" >&2; die "probed (N=$N) did not become ready on 127.0.0.1:$PORT"; }
  RSS_READY=$(rss_kb "$PID")
  log "probed N=$N pid $PID on 127.0.0.1:$PORT; warming up ${WARMUP}s"
  sleep "$WARMUP"
  kill -0 "$PID" 2>/dev/null || { tail -20 "$RUN/probed.log" >&2; die "probed (N=$N) died during warm-up"; }
  log "probed N=$N: measuring ${WINDOW}s"
  measure "$PID" "http://127.0.0.1:$PORT/metrics"
  python3 "$HELPER" promdelta "$TMP/start.prom" "$TMP/end.prom" >"$RUN/delta.json"
  python3 "$HELPER" record "$RESULTS" probed n="$N" interval=10s clk_tck="$CLK_TCK" \
    t0_us="$M_T0" t1_us="$M_T1" u0="$M_U0" s0="$M_S0" u1="$M_U1" s1="$M_S1" \
    ng0="$M_NG0" ng1="$M_NG1" log0="$M_LOG0" log1="$M_LOG1" rss_max_kb="$M_RSSMAX" \
    rss_end_kb="$M_RSSEND" scrape_max_s="$M_SCRAPE_MAX" scrape_bytes="$M_SCRAPE_BYTES" \
    scrapes="$M_SCRAPES" delta="$RUN/delta.json" rss_ready_kb="$RSS_READY" rss_start_kb="$M_RSS0" \
    pid="$PID" threads0="$TMP/threads0.txt" threads1="$TMP/threads1.txt"
  if [[ "$N" == 1000 ]]; then
    RATE_1000=$(tail -1 "$RESULTS" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rate_log"]))')
  fi
  stop_pid "$PID"
  if grep -qiE 'level=(error|fatal)' "$RUN/probed.log"; then
    log "probed N=$N logged errors:"; grep -iE 'level=(error|fatal)' "$RUN/probed.log" | head -5 >&2
  fi
  log "probed N=$N done"
done

# ------------------------------------------------------------------ blackbox_exporter
if [[ "$SKIP_BLACKBOX" != 1 ]]; then
  [[ -x "$BLACKBOX" ]] || die "blackbox_exporter not found at $BLACKBOX"
  RATE="${BB_RATE:-${RATE_1000:-100}}"
  BB_DIR="$TMP/blackbox"
  mkdir -p "$BB_DIR"
  BB_PORT="$(python3 "$HELPER" freeport)"
  cat >"$BB_DIR/blackbox.yml" <<'EOF'
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
EOF
  "$BLACKBOX" --config.file="$BB_DIR/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" \
    --log.level=warn >"$BB_DIR/blackbox.log" 2>&1 &
  BB_PID=$!
  PIDS+=("$BB_PID")
  wait_http "http://127.0.0.1:$BB_PORT/-/healthy" "$BB_PID" 20 ||
    { tail -20 "$BB_DIR/blackbox.log" >&2; die "blackbox_exporter did not start on 127.0.0.1:$BB_PORT"; }
  curl -fsS -o /dev/null "http://127.0.0.1:$BB_PORT/probe?module=http_2xx&target=http%3A%2F%2F127.0.0.1%3A$NGINX_PORT%2Fok%3Fi%3Dwarm" ||
    die "blackbox_exporter /probe does not answer"
  log "blackbox_exporter pid $BB_PID on 127.0.0.1:$BB_PORT; driving ${RATE} probes/s (warm-up ${BB_WARMUP}s, window ${WINDOW}s)"
  python3 "$HELPER" drive "$BB_PORT" "$NGINX_PORT" "$RATE" "$((BB_WARMUP + WINDOW + 2))" "$BB_CONC" "$BB_TARGETS" "$BB_HEADERS" \
    >"$BB_DIR/driver.json" 2>"$BB_DIR/driver.err" &
  DRIVER_PID=$!
  PIDS+=("$DRIVER_PID")
  sleep "$BB_WARMUP"
  measure "$BB_PID" ""
  wait "$DRIVER_PID" || { cat "$BB_DIR/driver.err" >&2; die "blackbox driver failed"; }
  python3 "$HELPER" record "$RESULTS" blackbox clk_tck="$CLK_TCK" \
    t0_us="$M_T0" t1_us="$M_T1" u0="$M_U0" s0="$M_S0" u1="$M_U1" s1="$M_S1" \
    ng0="$M_NG0" ng1="$M_NG1" log0="$M_LOG0" log1="$M_LOG1" rss_max_kb="$M_RSSMAX" \
    rss_end_kb="$M_RSSEND" rss_start_kb="$M_RSS0" rate_target="$RATE" ntargets="$BB_TARGETS" driver="$BB_DIR/driver.json" \
    pid="$BB_PID" threads0="$TMP/threads0.txt" threads1="$TMP/threads1.txt"
  stop_pid "$BB_PID"
  log "blackbox_exporter done"
fi

# ------------------------------------------------------------------ report
NGINX_ERRS=$(grep -c -E '\[(alert|crit|emerg|error)\]' "$NGINX_DIR/logs/error.log" || true)
echo "## probed benchmark"
echo
echo "- command: \`$ENVLINE $CMDLINE\`"
echo "- date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
echo "- machine: nproc=$(nproc), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
GIT_DESC="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
[[ -n "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ]] && GIT_DESC="$GIT_DESC+dirty"
echo "- probed: $("$PROBED" version 2>&1 | head -1), binary $PROBED built $(date -u -r "$PROBED" '+%Y-%m-%dT%H:%M:%SZ'); repo HEAD now $GIT_DESC (the binary may predate it)"
[[ "$SKIP_BLACKBOX" != 1 ]] && echo "- blackbox_exporter: $("$BLACKBOX" --version 2>&1 | head -1)"
echo "- nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //'), 1 worker, keepalive_timeout 0; error-log alerts/errors: $NGINX_ERRS"
echo "- load average at start: $LOADAVG_START, at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine adds noise)"
echo "- window ${WINDOW}s after ${WARMUP}s warm-up; /metrics scraped every ${SCRAPE_INTERVAL}s inside the window; CLK_TCK=$CLK_TCK; ulimit -n $NOFILE"
echo
python3 "$HELPER" report "$RESULTS" | tee "$TMP/report.md"
if [[ -n "${RESULTS_JSON:-}" ]]; then cp "$RESULTS" "$RESULTS_JSON"; fi
if [[ "$STRICT" == 1 ]] && grep -q MISSED "$TMP/report.md"; then exit 3; fi
exit 0
