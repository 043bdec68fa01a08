#!/usr/bin/env python3
"""Soak: probed runs 300 mixed checks every second for a bounded time against local servers,
a share of them failing or slow, while RSS, open fds and CLOSE_WAIT sockets are sampled.
Passes when they level off. Loopback only. Usage: see bench/soak.sh (which calls this)."""
import argparse
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Slow(http.server.BaseHTTPRequestHandler):
    """/slow answers after 500 ms (inside the timeout); /hang after 3 s (past it)."""

    def do_GET(self):
        time.sleep(3.0 if self.path.startswith("/hang") else 0.5)
        try:
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"slow\n")
        except OSError:
            pass  # the probe gave up first: that is the point

    def log_message(self, *args):
        pass


class ThreadedServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256


def start_slow_server():
    srv = ThreadedServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def make_cert(d):
    cert, key = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "365", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def start_nginx(d, http_port, tls_port, cert, key):
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""error_log {d}/nginx-error.log;
pid {d}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
  uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{
    listen 127.0.0.1:{http_port};
    location / {{ return 200 "ok\\n"; }}
    location /500 {{ return 500 "broken\\n"; }}
  }}
  server {{
    listen 127.0.0.1:{tls_port} ssl;
    ssl_certificate {cert}; ssl_certificate_key {key};
    location / {{ return 200 "ok\\n"; }}
  }}
}}
""")
    return subprocess.Popen(["nginx", "-p", d, "-c", conf, "-g", "daemon off; master_process off;"],
                            stderr=open(os.path.join(d, "nginx.stderr"), "w"))


def start_dnsmasq(d, port):
    return subprocess.Popen(
        ["dnsmasq", "--keep-in-foreground", f"--port={port}", "--listen-address=127.0.0.1",
         "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
         "--user=root", "--local=/example.test/", "--host-record=www.example.test,192.0.2.10",
         "--mx-host=example.test,mail.example.test,10"],
        stderr=open(os.path.join(d, "dnsmasq.stderr"), "w"))


def check(name, kind, target, extra=""):
    return f'[[checks]]\nname = "{name}"\ntype = "{kind}"\ntargets = ["{target}"]\n{extra}'


def config(n, ports, cert, state_dir, listen_port):
    """n checks: half healthy http, the rest spread over slow, failing and other types."""
    web, tls, slow, refused, dns = ports
    kinds = [
        ("http", f"http://127.0.0.1:{web}/", ""), ("http", f"http://127.0.0.1:{web}/", ""),
        ("http", f"http://127.0.0.1:{web}/", ""), ("http", f"http://127.0.0.1:{web}/500", ""),
        ("http", f"http://127.0.0.1:{slow}/slow", ""), ("http", f"http://127.0.0.1:{slow}/hang", ""),
        ("http", f"http://127.0.0.1:{refused}/", ""), ("tcp", f"127.0.0.1:{web}", ""),
        ("tcp", f"127.0.0.1:{web}",
         '  [checks.tcp]\n  send = "GET / HTTP/1.0\\r\\n\\r\\n"\n  expect = ["^HTTP/1.1 200"]\n'),
        ("tcp", f"127.0.0.1:{refused}", ""),
        ("dns", "www.example.test", f'  [checks.dns]\n  server = "127.0.0.1:{dns}"\n  record = "A"\n'),
        ("dns", "nope.example.test", f'  [checks.dns]\n  server = "127.0.0.1:{dns}"\n  record = "A"\n'),
        ("tls", f"127.0.0.1:{tls}", f'  [checks.tls]\n  tls_ca_file = "{cert}"\n'),
        ("cert_file", cert, ""),
    ]
    out = [f'[daemon]\nlisten = "127.0.0.1:{listen_port}"\nstate_dir = "{state_dir}"\n',
           '[defaults]\ninterval = "1s"\ntimeout = "900ms"\n']
    for i in range(n):
        kind, target, extra = kinds[i % len(kinds)]
        out.append(check(f"{kind}-{i}", kind, target, extra))
    return "\n".join(out)


def close_wait(pid):
    """Sockets of pid in CLOSE_WAIT: the peer closed and probed has not (a leak if it grows).
    From /proc (the socket inodes behind the fds, state 08 in /proc/net/tcp{,6})."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == "08" and cols[9] in inodes:
                    count += 1
    return count


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd")), close_wait(pid)


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith(name + " ") or l.startswith(name + "{"))


def outcomes(port):
    """'type: ok/failed' of each check's last run, to show the mix really fails in part."""
    api = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/checks", timeout=10))
    counts = {}
    for c in api["checks"]:
        ok = c.get("last_result", {}).get("success", False)
        counts.setdefault(c["type"], [0, 0])[0 if ok else 1] += 1
    return ", ".join(f"{t} {ok} ok/{bad} failed" for t, (ok, bad) in sorted(counts.items()))


def median(values):
    v = sorted(values)
    return v[len(v) // 2]


def judge(samples, args):
    """Levelling off, first third against last third. RSS by its max: a leak only grows it.
    fds and CLOSE_WAIT by their median: runs in flight come and go, and a burst of load on the
    host (other processes taking the CPU) piles runs up for a moment; a leak moves the median,
    a burst does not. CLOSE_WAIT is also bounded outright."""
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    problems = []
    rss_first, rss_last = max(s[1] for s in first), max(s[1] for s in last)
    if rss_last > rss_first * (1 + args.rss_tolerance) + 1024:
        problems.append(f"RSS grew: first third max {rss_first} kB, last third max {rss_last} kB")
    fd_first, fd_last = median(s[2] for s in first), median(s[2] for s in last)
    if fd_last > fd_first + args.fd_tolerance:
        problems.append(f"fds grew: first third median {fd_first}, last third median {fd_last}")
    cw_last, cw_max = median(s[3] for s in last), max(s[3] for s in samples)
    if cw_last > 2 or cw_max > args.close_wait_max:
        problems.append(f"CLOSE_WAIT: last third median {cw_last} (limit 2), max {cw_max} "
                        f"(limit {args.close_wait_max})")
    return problems


def run(args, d):
    ports = [free_port() for _ in range(5)]
    listen_port = free_port()
    web, tls, _, _, dns = ports
    cert, key = make_cert(d)
    slow = start_slow_server()
    ports[2] = slow.server_address[1]
    procs = [start_nginx(d, web, tls, cert, key), start_dnsmasq(d, dns)]
    try:
        cfg = os.path.join(d, "probed.toml")
        with open(cfg, "w") as f:
            f.write(config(args.checks, ports, cert, os.path.join(d, "state"), listen_port))
        log = open(os.path.join(d, "probed.log"), "w")
        probed = subprocess.Popen([args.probed, "run", "-c", cfg], stderr=log)
        procs.append(probed)
        return soak(args, probed, listen_port)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        slow.shutdown()


def soak(args, probed, port):
    time.sleep(args.warmup)
    if probed.poll() is not None:
        sys.exit(f"probed exited early ({probed.returncode})")
    skipped0, t0, samples = metric(port, "probed_runs_skipped_total"), time.time(), []
    print("| t (s) | RSS (kB) | fds | CLOSE_WAIT |\n|---:|---:|---:|---:|", flush=True)
    while time.time() - t0 < args.seconds:
        s = (round(time.time() - t0),) + sample(probed.pid)
        samples.append(s)
        print("| %d | %d | %d | %d |" % s, flush=True)
        time.sleep(args.every)
    if probed.poll() is not None:
        sys.exit(f"probed exited during the soak ({probed.returncode})")
    skipped = metric(port, "probed_runs_skipped_total") - skipped0
    runs = metric(port, "probed_schedule_lag_seconds_count")
    print(f"\n{args.checks} checks, {len(samples)} samples, {runs:.0f} runs since start, "
          f"{skipped:.0f} skipped during the soak")
    print("last results: " + outcomes(port))
    return judge(samples, args)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--probed", required=True)
    p.add_argument("--seconds", type=float, default=600, help="measured time (after warm-up)")
    p.add_argument("--warmup", type=float, default=15)
    p.add_argument("--every", type=float, default=5, help="sampling period, seconds")
    p.add_argument("--checks", type=int, default=300)
    p.add_argument("--rss-tolerance", type=float, default=0.10, help="fraction (plus 1 MB)")
    p.add_argument("--fd-tolerance", type=int, default=8, help="on the median")
    p.add_argument("--close-wait-max", type=int, default=64)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, config)")
    args = p.parse_args()
    d = tempfile.mkdtemp(prefix="probed-soak-")
    try:
        problems = run(args, d)
    finally:
        if args.keep:
            print(f"kept {d}")
        else:
            shutil.rmtree(d, ignore_errors=True)
    for problem in problems:
        print("FAIL: " + problem)
    print("PASS: RSS, fds and CLOSE_WAIT level off" if not problems else "")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
