# Healthchecks.io as its server checks requests (healthchecks/healthchecks: hc/api/views.py Spec,
# create_check, ping_by_slug, ping; hc/api/decorators.py authorize), for http_recorder.py's
# "healthchecks API_KEY PING_KEY LIMIT" mode. Holds the project's checks in memory.
#   POST /api/v3/checks/: X-Api-Key of 32 characters and the project's, else 401; a JSON object
#     validated as Spec (strict types; name, slug, schedule at most 100 characters; the slug
#     ^[a-z0-9-_]*$; grace and timeout whole seconds 60..31536000; tz from the zoneinfo list; a
#     one-line 5-field schedule is cron, checked field by field as cronsim does, anything else
#     would be OnCalendar, which this agent never sends: refused), else 400 {"error": ...};
#     `unique` finds the check to update (200), else a new one (201), or 403 past LIMIT checks.
#   GET|POST /hc/PING_KEY/SLUG[/start|/fail|/log|/N][?rid=UUID&create=1]: 400 for an upper-case
#     slug, a rid that is not a UUID or an exit status > 255; 404 "not found" for an unknown
#     slug (created with period 1 day, grace 1 hour by ?create=1); 200 "OK".
import json, re, uuid, zoneinfo
from urllib.parse import urlsplit, parse_qs

ZONES = zoneinfo.available_timezones()
SPEC = {"channels": str, "desc": str, "failure_kw": str, "filter_subject": bool, "filter_body": bool,
        "filter_http_body": bool, "filter_default_fail": bool, "grace": int, "manual_resume": bool,
        "methods": str, "name": str, "schedule": str, "slug": str, "start_kw": str, "subject": str,
        "subject_fail": str, "success_kw": str, "tags": str, "timeout": int, "tz": str, "unique": list}
CRON = [(0, 59, {}), (0, 23, {}), (1, 31, {}),
        (1, 12, {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}),
        (0, 7, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())})]


def cron_ok(expr):
    fields = expr.split()
    if len(fields) != 5 or "\n" in expr.strip():
        return False
    for text, (lo, hi, names) in zip(fields, CRON):
        for part in text.lower().split(","):
            rng, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) < 1):
                return False
            if rng == "*":
                continue
            ends = rng.split("-")
            if len(ends) > 2:
                return False
            vals = []
            for e in ends:
                v = names.get(e, int(e) if e.isdigit() else None)
                if v is None or v < lo or v > hi:
                    return False
                vals.append(v)
            if len(vals) == 2 and vals[0] > vals[1]:
                return False
    return True


def validate(spec):
    """The first error, worded as format_first_error words it, or None."""
    if not isinstance(spec, dict):
        return "json validation error: value is not an object"
    for k, v in spec.items():
        t = SPEC.get(k)
        if t is None:
            continue  # pydantic ignores unknown fields
        if t is int and (not isinstance(v, int) or isinstance(v, bool)):
            return f"json validation error: {k} is not a number"
        if t is not int and not isinstance(v, t):
            return f"json validation error: {k} is not a {t.__name__}"
    for k in ("name", "schedule", "slug"):
        if k in spec and len(spec[k]) > 100:
            return f"json validation error: {k} is too long"
    if "slug" in spec and not re.fullmatch(r"[a-z0-9-_]*", spec["slug"]):
        return "json validation error: slug does not match pattern"
    for k in ("grace", "timeout"):
        if k in spec and spec[k] < 60:
            return f"json validation error: {k} is too small"
        if k in spec and spec[k] > 31536000:
            return f"json validation error: {k} is too large"
    if "tz" in spec and spec["tz"] not in ZONES:
        return "json validation error: tz is not a valid timezone"
    if "schedule" in spec and not cron_ok(spec["schedule"]):
        return "json validation error: schedule is not a valid cron or OnCalendar expression"
    for u in spec.get("unique", []):
        if u not in ("name", "slug", "tags", "timeout", "grace"):
            return "json validation error: an item in 'unique' has unexpected value"
    return None


class Project:
    def __init__(self, api_key, ping_key, limit):
        self.api_key, self.ping_key, self.limit = api_key, ping_key, int(limit)
        self.checks = []  # dicts

    def api(self, method, path, headers, body):
        """(status, answer bytes) for a Management API request."""
        if method != "POST" or urlsplit(path).path != "/api/v3/checks/":
            return 404, b"not found"
        try:
            spec = json.loads(body) if body else {}
        except ValueError:
            return 400, b'{"error": "could not parse request body"}'
        key = headers.get("X-Api-Key") or (spec.get("api_key", "") if isinstance(spec, dict) else "")
        if len(key) != 32:
            return 401, b'{"error": "missing api key"}'
        if key != self.api_key:
            return 401, b'{"error": "wrong api key"}'
        err = validate(spec)
        if err:
            return 400, json.dumps({"error": err}).encode()
        check = None
        unique = spec.get("unique") or []
        if unique and all(u in spec for u in unique):
            for c in self.checks:
                if all(c.get(u) == spec[u] for u in unique):
                    check = c
                    break
        created = check is None
        if created:
            if len(self.checks) >= self.limit:
                return 403, b""
            check = {"uuid": str(uuid.uuid4()), "name": "", "slug": "", "timeout": 86400, "grace": 3600,
                     "kind": "simple", "created_by": "api"}
            self.checks.append(check)
        for k in ("name", "slug", "grace", "tz", "desc", "channels"):
            if k in spec:
                check[k] = spec[k]
        if "schedule" in spec:
            check["kind"], check["schedule"] = "cron", spec["schedule"]
        elif "timeout" in spec:
            check["kind"], check["timeout"] = "simple", spec["timeout"]
        check["updates"] = check.get("updates", 0) + (0 if created else 1)
        out = dict(check, ping_url="http://hc-ping.invalid/" + check["uuid"])
        return (201 if created else 200), json.dumps(out).encode()

    def ping(self, path):
        """(status, answer) for /PING_KEY/SLUG[/action]; path without the /hc prefix."""
        parts = urlsplit(path)
        segs = parts.path.strip("/").split("/")
        q = parse_qs(parts.query)
        if len(segs) < 2 or len(segs) > 3:
            return 404, b"not found"
        ping_key, slug = segs[0], segs[1]
        action = segs[2] if len(segs) == 3 else ""
        if action not in ("", "start", "fail", "log") and not action.isdigit():
            return 404, b"not found"
        if slug != slug.lower():
            return 400, b"invalid url format"
        check = next((c for c in self.checks if c.get("slug") == slug), None) if ping_key == self.ping_key else None
        if check is None:
            if q.get("create") != ["1"] or ping_key != self.ping_key:
                return 404, b"not found"
            check = {"uuid": str(uuid.uuid4()), "name": slug, "slug": slug, "timeout": 86400, "grace": 3600,
                     "kind": "simple", "created_by": "ping"}
            self.checks.append(check)
        if action.isdigit() and int(action) > 255:
            return 400, b"invalid url format"
        rid = q.get("rid", [None])[0]
        if rid is not None:
            try:
                uuid.UUID(rid)
            except ValueError:
                return 400, b"invalid uuid format"
        check["pings"] = check.get("pings", 0) + 1
        return 200, b"OK"
