#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A stand-in for one node's Patroni REST API, for the e2e tests.

    patroni_server.py ADDR PORT STATE_FILE [LIFETIME_S]

Every GET answers with the JSON in STATE_FILE (read at each request, so a
test changes what Patroni says by replacing the file; the files are
responses in Patroni 3.0's format, tests/unit/patroni/) and the status
Patroni's endpoint would give for that state: /primary 200 for a running
primary, /replica and /read-only 200 for a running replica without the
noloadbalance tag (/replica?lag=N also when its lag is within N), /patroni
and / always 200, anything else 503. Exits after LIFETIME_S (default 600)
so that a leaked server cannot outlive a lab for long.
"""
import http.server
import json
import sys
import threading
import urllib.parse


def status_for(path, query, st):
    running = st.get("state") == "running"
    primary = st.get("role") in ("master", "primary")
    tags = st.get("tags", {})
    xlog = st.get("xlog", {})
    lag = max(0, xlog.get("received_location", 0) - xlog.get("replayed_location", 0))
    if path in ("/patroni", "/"):
        return 200
    if path in ("/primary", "/master", "/read-write"):
        return 200 if running and primary else 503
    if path in ("/replica", "/read-only"):
        ok = running and not tags.get("noloadbalance")
        if path == "/replica":
            ok = ok and not primary
            if "lag" in query:
                ok = ok and lag <= int(query["lag"][0])
        return 200 if ok else 503
    return 503


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        with open(self.server.state_file, "rb") as f:
            body = f.read()
        code = status_for(url.path, urllib.parse.parse_qs(url.query), json.loads(body))
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main():
    addr, port, state = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 600
    srv = http.server.ThreadingHTTPServer((addr, port), Handler)
    srv.state_file = state
    threading.Timer(lifetime, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
