#!/usr/bin/python3
# A real HTTP server on 127.0.0.1 standing in for Slack, webhooks, PagerDuty, ...: records each
# POST as one JSON line {"t", "path", "headers", "body"}.
# usage: http_recorder.py PORTFILE OUTFILE [FAIL_FIRST_N]
#   binds an ephemeral port and writes it to PORTFILE; answers 500 to the first FAIL_FIRST_N
#   POSTs (to test retries), then 200 "ok" (what Slack answers).
import http.server, json, sys, threading, time

portfile, out = sys.argv[1], sys.argv[2]
fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
lock = threading.Lock()
count = [0]

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        with lock:
            count[0] += 1
            failing = count[0] <= fail_first
            with open(out, "a") as f:
                f.write(json.dumps({"t": time.time(), "path": self.path, "headers": dict(self.headers),
                                    "body": body.decode("utf-8", "replace"), "status": 500 if failing else 200}) + "\n")
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
