#!/usr/bin/python3
# A real HTTP server on 127.0.0.1 standing in for Slack, webhooks, PagerDuty, Cronitor,
# Healthchecks.io, Sentry, Alertmanager: records each request as one JSON line
# {"t", "method", "path", "headers", "body", "status"}.
# usage: http_recorder.py PORTFILE OUTFILE [FAIL_FIRST_N [MODEFILE]]
#   binds an ephemeral port and writes it to PORTFILE; answers 500 to the first FAIL_FIRST_N
#   requests (to test retries), then what MODEFILE says, read at each request:
#     "ok" or missing: 200 "ok" (what Slack answers); "500", "401", ...: that status;
#     "429 N": 429 with Retry-After: N; "hang": never answers (the client must time out);
#     "slow MS": 200 "ok" after MS milliseconds (recorded at once);
#     "rules" then lines "PART<TAB>STATUS<TAB>ANSWER": the first rule whose PART is in the
#     request's path or body answers STATUS with ANSWER as the body; 200 "ok" when none matches
#     (a server refusing one check or monitor, and only that one).
#     "healthchecks API_KEY PING_KEY LIMIT": Healthchecks.io by its server's own rules
#     (healthchecks_rules.py): /api/v3/ is its Management API, /hc/ its slug pings; the project's
#     checks are written to OUTFILE + ".checks" after each request.
#   Requests that are not answered 2xx are recorded too, with their status.
import http.server, json, os, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import healthchecks_rules

portfile, out = sys.argv[1], sys.argv[2]
fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
modefile = sys.argv[4] if len(sys.argv) > 4 else None
lock = threading.Lock()
count = [0]
project = [None]  # healthchecks_rules.Project, made at the first request in that mode

def mode():
    if not modefile:
        return "ok"
    try:
        with open(modefile) as f:
            return f.read().strip() or "ok"
    except OSError:
        return "ok"

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services

    def handle_any(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n) if n else b""
        m = mode()
        with lock:
            count[0] += 1
            status, retry_after, delay, answer = 200, None, 0, b"ok"
            text = body.decode("utf-8", "replace")
            if count[0] <= fail_first:
                status = 500
            elif m == "hang":
                status = 0
            elif m.startswith("rules"):
                for line in m.split("\n")[1:]:
                    part, code, said = (line.split("\t") + ["", ""])[:3]
                    if part and (part in self.path or part in text):
                        status, answer = int(code), said.encode()
                        break
            elif m.startswith("healthchecks "):
                if project[0] is None:
                    project[0] = healthchecks_rules.Project(*m.split()[1:4])
                if self.path.startswith("/api/"):
                    status, answer = project[0].api(self.command, self.path, self.headers, body)
                elif self.path.startswith("/hc/"):
                    status, answer = project[0].ping(self.path[3:])
                else:
                    status, answer = 404, b"not found"
                with open(out + ".checks.tmp", "w") as f:
                    json.dump(project[0].checks, f)
                os.rename(out + ".checks.tmp", out + ".checks")
            elif m.startswith("slow "):
                delay = int(m.split()[1]) / 1000
            elif m != "ok":
                parts = m.split()
                status = int(parts[0])
                if len(parts) > 1:
                    retry_after = parts[1]
            with open(out, "a") as f:
                f.write(json.dumps({"t": time.time(), "method": self.command, "path": self.path,
                                    "headers": dict(self.headers), "body": text,
                                    "status": status}) + "\n")
        if status == 0:
            time.sleep(120)
            return
        time.sleep(delay)
        self.send_response(status)
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = handle_any

    def log_message(self, *a):
        pass

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

srv = Server(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
