#!/usr/bin/env bash
# The agent's memory where the README's figure is taken (issue 17): PSS of `cronitor-agent run`
# in the package test's minimal Debian 12 root (mmdebstrap minbase, the tarball that
# tests/package/deb_test.sh caches), with the .deb installed and 100 cron.d lines to monitor. In
# such a root few processes share the agent's libraries, so PSS is close to RSS: the host pays
# for every page the agent maps. Prints smaps_rollup's totals and a breakdown of
# /proc/PID/smaps per mapping (the binary, each library, the main heap, the malloc arenas of
# threads, thread stacks, other anonymous memory, SQLite's files), idle, while an alert is being
# sent (the agent and the child process that POSTs it with libcurl: uplink/post_child.h; the
# receiver holds its answer 3 s) and after that alert. The budget (issue 17) is 12 MiB PSS
# (12,288 KiB) idle and after one alert; tests/package/deb_test.sh warns over it.
#
# usage: bench/agent/memory_pss.sh [--deb DIR] [--agent BIN] [--monitors N] [--settle SECONDS]
#   --deb DIR     the cronitor-agent_*.deb and cronitor-exec_*.deb to install
#                 (default: /var/cache/cronitor-agent-test/build, deb_test.sh's last build)
#   --agent BIN   then put this binary in /usr/bin/cronitor-agent (e.g. build/bin/cronitor-agent:
#                 measure a change without building a package; the host is Debian 12 too)
#   --lib FILE    copy FILE into the root's /usr/lib/x86_64-linux-gnu (a library the root lacks,
#                 for an --agent linked against another flavour of it; repeatable)
#   --monitors N  cron.d lines to monitor (default 100)
#   --settle S    seconds idle before reading (default 3)
#   --uplink      also a Healthchecks upstream (uplink.healthchecks, pinged at the same receiver):
#                 its Deliverer sends from the daemon, which then loads libcurl itself
# Needs root (chroot, a private mount namespace) and the cached root tarball (run deb_test.sh
# once, or DEB_TEST_CACHE=DIR). Works in a folder of its own under /tmp and removes it; the
# chroot's /proc is mounted in a private namespace, so it vanishes with the script.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${DEB_TEST_CACHE:-/var/cache/cronitor-agent-test}
ROOT_TAR=$CACHE/bookworm-v3.tar
DEBS=$CACHE/build
AGENT_BIN=""
LIBS=()
MONITORS=100
SETTLE=3
UPLINK=""
while [ $# -gt 0 ]; do
  case $1 in
    --deb) DEBS=$2; shift 2 ;;
    --agent) AGENT_BIN=$(readlink -f "$2"); shift 2 ;;
    --lib) LIBS+=(--lib "$(readlink -f "$2")"); shift 2 ;;
    --monitors) MONITORS=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --uplink) UPLINK=1; shift ;;
    *) echo "usage: $0 [--deb DIR] [--agent BIN] [--lib FILE] [--monitors N] [--settle SECONDS] [--uplink]" >&2; exit 2 ;;
  esac
done
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (chroot, mounts)"
[ -f "$ROOT_TAR" ] || fail "no $ROOT_TAR: run tests/package/deb_test.sh once"
AGENT_DEB=$(ls "$DEBS"/cronitor-agent_*.deb 2>/dev/null | head -1)
EXEC_DEB=$(ls "$DEBS"/cronitor-exec_*.deb 2>/dev/null | head -1)
[ -f "$AGENT_DEB" ] && [ -f "$EXEC_DEB" ] || fail "no .debs in $DEBS"

# A private mount namespace: the chroot's /proc goes with it, whatever ends the script. The
# root's cron daemon runs during the measurement: under the shared machine's cron lock.
if [ -z "${MEMORY_PSS_IN_NS:-}" ]; then
  lock=()
  [ -d /work/.locks ] && lock=(flock /work/.locks/cron)
  exec env MEMORY_PSS_IN_NS=1 "${lock[@]}" unshare --mount --propagation private "$0" --deb "$DEBS" \
    ${AGENT_BIN:+--agent "$AGENT_BIN"} "${LIBS[@]}" --monitors "$MONITORS" --settle "$SETTLE" ${UPLINK:+--uplink}
fi

WORK=$(mktemp -d /tmp/cronitor-memory-pss.XXXXXX)
R=$WORK/root
AGENT_PID=""
RECORDER_PID=""
CRON_PID=""
cleanup() {
  for p in $AGENT_PID $CRON_PID $RECORDER_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  if mountpoint -q "$R/proc" 2>/dev/null; then umount "$R/proc" || umount -l "$R/proc" || true; fi
  if mountpoint -q "$R/proc" 2>/dev/null; then echo "left $WORK: $R/proc still mounted" >&2; return; fi
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
wait_for() {  # wait_for SECONDS CMD...: poll every 0.1 s, bounded
  local end=$(($(date +%s) + $1)); shift
  until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.1; done
}

mkdir -p "$R"
tar -C "$R" -xf "$ROOT_TAR"
mount -t proc proc "$R/proc"
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
cp "$AGENT_DEB" "$EXEC_DEB" "$R/tmp/"
in_root dpkg -i "/tmp/$(basename "$EXEC_DEB")" "/tmp/$(basename "$AGENT_DEB")" >"$WORK/install.log" 2>&1 \
  || { cat "$WORK/install.log"; fail "dpkg -i"; }
[ -z "$AGENT_BIN" ] || install -m 0755 "$AGENT_BIN" "$R/usr/bin/cronitor-agent"
for ((i = 1; i < ${#LIBS[@]}; i += 2)); do cp -L "${LIBS[i]}" "$R/usr/lib/x86_64-linux-gnu/"; done
[ ${#LIBS[@]} -eq 0 ] || in_root ldconfig

# A webhook receiver on the host (the chroot shares its network), as a user's notify target.
echo "slow 3000" >"$WORK/mode"  # the alert's POST waits 3 s for its answer: the pair is measured then
/usr/bin/python3 "$SRC/tests/support/http_recorder.py" "$WORK/port" "$WORK/requests.jsonl" 0 "$WORK/mode" &
RECORDER_PID=$!
wait_for 10 test -s "$WORK/port" || fail "http_recorder did not start"
PORT=$(cat "$WORK/port")

# The shipped agent.yaml with a notify target, and an admin's cron.d file of N jobs.
sed -i "s|^  default: \[\]|  default: [\"webhook:http://127.0.0.1:$PORT/hook\"]|" "$R/etc/cronitor/agent.yaml"
grep -q "webhook:http://127.0.0.1:$PORT/hook" "$R/etc/cronitor/agent.yaml" || fail "could not set the notify target"
if [ -n "$UPLINK" ]; then
  ! grep -q '^uplink:' "$R/etc/cronitor/agent.yaml" || fail "the shipped agent.yaml has an uplink: already"
  printf 'uplink:\n  healthchecks:\n    ping_key: "memorypsspingkey0000000"\n    ping_url: "http://127.0.0.1:%s/hc"\n' \
    "$PORT" >>"$R/etc/cronitor/agent.yaml"
fi
{
  echo "# $MONITORS jobs, added by the admin"
  echo "SHELL=/bin/sh"
  for ((i = 0; i < MONITORS; i++)); do
    echo "$((i % 60)) $(((i / 60) % 24)) * * * root /usr/local/bin/job-$i --quiet"
  done
} >"$R/etc/cron.d/bench-jobs"
chmod 0644 "$R/etc/cron.d/bench-jobs"

# The root's cron daemon, as on a real host (else the agent's first act is a "cron is not
# running" alert, and idle would not be idle). No job is due while the figures are read (the
# lines run at hours 0-1; /etc/crontab's hourly run-parts folder is empty).
chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/sbin/cron -f >"$WORK/cron.log" 2>&1 &
CRON_PID=$!
wait_for 10 test -s "$R/run/crond.pid" || fail "cron did not start"

mkdir -p -m 0755 "$R/run/cronitor-agent"
chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  /usr/bin/cronitor-agent run --config /etc/cronitor/agent.yaml >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
wrapped() { [ "$(grep -c /usr/bin/cronitor-exec "$R/etc/cron.d/bench-jobs")" -eq "$MONITORS" ]; }
wait_for 60 wrapped || { cat "$WORK/agent.log"; fail "the cron.d lines were not wrapped"; }
wait_for 30 test -S "$R/run/cronitor-agent/agent.sock" || { cat "$WORK/agent.log"; fail "no socket"; }
COUNT=$(in_root cronitor-agent status --json 2>/dev/null | grep -c '"key"' || true)

breakdown() {  # breakdown TITLE: smaps_rollup totals and smaps per mapping
  /usr/bin/python3 - "$AGENT_PID" "$1" <<'PY'
import os, re, sys
pid, title = sys.argv[1], sys.argv[2]
roll = {}
for line in open(f"/proc/{pid}/smaps_rollup"):
    m = re.match(r"(\w+):\s+(\d+) kB", line)
    if m: roll[m.group(1)] = int(m.group(2))
priv = roll.get("Private_Clean", 0) + roll.get("Private_Dirty", 0)
threads = sorted(open(f"/proc/{pid}/task/{t}/comm").read().strip() for t in os.listdir(f"/proc/{pid}/task"))
print(f"== {title}")
print(f"PSS {roll['Pss']/1024:.1f} MiB  private {priv/1024:.1f} MiB  RSS {roll['Rss']/1024:.1f} MiB"
      f"  (anon {roll.get('Pss_Anon', 0)/1024:.1f}, file {roll.get('Pss_File', 0)/1024:.1f} MiB PSS)")
print(f"threads ({len(threads)}): {', '.join(threads)}")
# Each mapping: address range, permissions, path, and its counters.
maps, cur = [], None
for line in open(f"/proc/{pid}/smaps"):
    f = line.split()
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        cur = {"lo": lo, "hi": hi, "perm": f[1], "path": f[5] if len(f) > 5 else "", "Pss": 0, "Rss": 0, "priv": 0}
        maps.append(cur)
    elif f[0] in ("Pss:", "Rss:"):
        cur[f[0][:-1]] = int(f[1])
    elif f[0] in ("Private_Clean:", "Private_Dirty:"):
        cur["priv"] += int(f[1])
# Anonymous memory by what made it: a thread's stack sits right above its one-page guard
# (---p); a malloc arena of a thread is a 64 MiB-aligned reservation (its used part rw, the
# rest ---p); the rest is mmap'd memory (big malloc blocks, SQLite's page cache, ...).
ARENA = 64 << 20
def kind(i, m):
    p = m["path"]
    if p == "[heap]": return "[heap] (main arena)"
    if p == "[stack]": return "[stack] (main thread)"
    if p in ("[vvar]", "[vdso]", "[vsyscall]"): return "[vdso/vvar]"
    if p.startswith("/"):
        name = os.path.basename(p)
        if name.endswith((".db", ".db-shm", ".db-wal")): return "file " + name
        if p.startswith("/usr/bin/"): return "binary " + name
        return re.sub(r"\.so[.\d]*$", ".so", name)
    if p: return p
    if m["lo"] % ARENA == 0 and m["perm"].startswith("rw"):
        return "anon: thread malloc arenas"
    prev = maps[i - 1] if i else None
    if prev and prev["hi"] == m["lo"] and prev["perm"] == "---p" and prev["hi"] - prev["lo"] == 4096 \
            and not prev["path"]:
        return "anon: thread stacks"
    return "anon: other (mmap)"
groups = {}
for i, m in enumerate(maps):
    g = groups.setdefault(kind(i, m), {"Pss": 0, "Rss": 0, "priv": 0, "n": 0})
    for k in ("Pss", "Rss", "priv"): g[k] += m[k]
    g["n"] += 1
print(f"{'mapping':40} {'PSS KiB':>8} {'private':>8} {'RSS':>8}")
shown = 0
for name, g in sorted(groups.items(), key=lambda kv: -kv[1]["Pss"]):
    if g["Pss"] == 0 and g["Rss"] == 0: continue
    print(f"{name[:40]:40} {g['Pss']:8d} {g['priv']:8d} {g['Rss']:8d}")
PY
}

sleep "$SETTLE"  # idle after start: a measurement, not a test
echo "monitors: $COUNT ($MONITORS cron.d lines and the root's own jobs); agent: $(sha256sum "$R/usr/bin/cronitor-agent" | cut -c1-12)"
sent() { cat "$WORK/requests.jsonl" 2>/dev/null | wc -l; }
pss_kib() { awk '/^Pss:/{print $2}' "/proc/$AGENT_PID/smaps_rollup"; }
breakdown "idle, $COUNT monitors ($(sent) requests sent so far)"
IDLE_KIB=$(pss_kib)
[ -z "${MEMORY_PSS_LOG:-}" ] || cat "$WORK/agent.log"
[ -z "${MEMORY_PSS_SMAPS:-}" ] || cp "/proc/$AGENT_PID/smaps" "$MEMORY_PSS_SMAPS"
# One failed run of a wrapped line: the alert goes to the webhook (curl and TLS initialised).
key=$(grep -m1 cronitor-exec "$R/etc/cron.d/bench-jobs" | sed -E 's|.*/usr/bin/cronitor-exec ([^ ]+) .*|\1|')
in_root /usr/bin/cronitor-exec "$key" -- 'exit 3' || true
wait_for 30 test -s "$WORK/requests.jsonl" || { tail -20 "$WORK/agent.log"; fail "no alert arrived"; }
# While the receiver holds its answer: the agent and its children (the POST's child process).
children() { cat /proc/"$AGENT_PID"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . || true; }
SENDING_KIB=$(pss_kib)
for c in $(children); do
  k=$(awk '/^Pss:/{print $2}' "/proc/$c/smaps_rollup" 2>/dev/null || echo 0)
  echo "child $c ($(tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null)): PSS ${k:-0} KiB"
  SENDING_KIB=$((SENDING_KIB + ${k:-0}))
done
no_children() { [ -z "$(children)" ]; }
wait_for 30 no_children || fail "the sending child did not exit"
sleep "$SETTLE"
breakdown "after one alert ($(sent) requests sent)"
AFTER_KIB=$(pss_kib)
for lib in libcurl libmicrohttpd; do
  ! grep -q "$lib" "/proc/$AGENT_PID/maps" || echo "WARNING: the daemon maps $lib (its POSTs run in a child; nothing listens)"
done
# One line for scripts (tests/package/deb_test.sh reads it); the budget is 12,288 KiB.
echo "memory: $COUNT monitors: PSS ${IDLE_KIB} KiB idle, ${AFTER_KIB} KiB after one alert, ${SENDING_KIB} KiB while sending (agent and child)"
