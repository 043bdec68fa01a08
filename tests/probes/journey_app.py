#!/usr/bin/env python3
"""A small shop for the journey probe tests (standard library only; Debian's python3).

usage: journey_app.py PORT PASSWORD_FILE

POST /api/login            body {"user":"probe","password":"..."} (must match PASSWORD_FILE);
                           sets cookie session (Max-Age from ?ttl=, default 3600) and answers
                           {"token": "...", "note": "order-42"} with header X-Order: 42
GET  /api/cart/ID          needs the session cookie AND "Authorization: Bearer TOKEN":
                           {"order": "ID", "items": [{"sku": "A1", "qty": 2}]}, else 401
GET  /go/cart/ID           302 to /api/cart/ID
GET  /slow?ms=N            waits N ms, then 200 "slow"
GET  /status/CODE          answers CODE
GET  /healthz              200 "ok" (readiness)
Sessions never expire on the server: an expired cookie must be dropped by the client.
"""
import json
import secrets
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSIONS = {}  # session id -> token


class Shop(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body, ctype="application/json", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def cookie(self, name):
        for part in self.headers.get("Cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v
        return None

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if url.path != "/api/login":
            return self.reply(404, '{"error":"not found"}')
        try:
            creds = json.loads(raw)
        except ValueError:
            return self.reply(400, '{"error":"bad json"}')
        if creds.get("user") != "probe" or creds.get("password") != PASSWORD:
            return self.reply(401, '{"error":"bad credentials"}')
        ttl = urllib.parse.parse_qs(url.query).get("ttl", ["3600"])[0]
        sid, token = secrets.token_hex(8), "tok-" + secrets.token_hex(12)
        SESSIONS[sid] = token
        body = json.dumps({"token": token, "note": "order-42", "user": {"name": "probe"}})
        self.reply(200, body, headers=[("Set-Cookie", f"session={sid}; Path=/; Max-Age={ttl}"),
                                       ("X-Order", "42")])

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path == "/healthz":
            return self.reply(200, "ok", "text/plain")
        if path.startswith("/status/"):
            return self.reply(int(path[len("/status/"):]), "status", "text/plain")
        if path == "/slow":
            ms = int(urllib.parse.parse_qs(url.query).get("ms", ["1000"])[0])
            time.sleep(ms / 1000)
            return self.reply(200, "slow", "text/plain")
        if path.startswith("/go/cart/"):
            return self.reply(302, "", "text/plain",
                              [("Location", "/api/cart/" + path[len("/go/cart/"):])])
        if path.startswith("/api/cart/"):
            sid = self.cookie("session")
            auth = self.headers.get("Authorization", "")
            if sid not in SESSIONS:
                return self.reply(401, '{"error":"no session"}')
            if auth != "Bearer " + SESSIONS[sid]:
                return self.reply(401, '{"error":"bad token"}')
            order = path[len("/api/cart/"):]
            return self.reply(200, json.dumps({"order": order, "items": [{"sku": "A1", "qty": 2}]}))
        return self.reply(404, '{"error":"not found"}')


if __name__ == "__main__":
    with open(sys.argv[2]) as f:
        PASSWORD = f.read().strip()
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Shop)
    server.daemon_threads = True
    server.serve_forever()
