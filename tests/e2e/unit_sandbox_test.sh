#!/bin/bash
# The agent under the sandbox of the unit we ship (etc/cronitor-agent.service, every hardening line
# as written), run by a real systemd manager (tests/support/user_systemd.sh: `systemd --user` as
# root applies the unit's namespaces, device ACL and capability bounds). Checks that each source of
# host facts the agent reads is open to it there: the kernel's log (/dev/kmsg, OOM kills),
# /proc/stat (boot time), /proc/vmstat (the OOM count), other users' processes (a job's wrapper and
# process group); that an alert leaves through the sending child (the agent's own program run
# again, with libcurl loaded there: uplink/post_child.h) under the unit's system call filter and
# namespaces; and that an exit systemd did not ask for (a stray SIGTERM) is restarted.
#   unit_sandbox_test.sh AGENT_BIN SOURCE_DIR        (root; about 10 s)
set -eu
AGENT=$1 SRC=$2
HARNESS=$SRC/tests/support/user_systemd.sh
# Not under /tmp (the unit's PrivateTmp= would hide it) nor /run (hidden by ProtectControlGroups= in
# a user manager on this kind of machine).
B=/var/lib/cronitor-sandbox-test-$$
fail() { echo "FAIL: $*" >&2; [ -f "$B/agent.log" ] && sed 's/^/  agent: /' "$B/agent.log" >&2; exit 1; }
USER_PID= REC_PID=
cleanup() {
  [ -n "$USER_PID" ] && kill "$USER_PID" 2>/dev/null
  [ -n "$REC_PID" ] && kill "$REC_PID" 2>/dev/null
  "$HARNESS" stop "$B" >/dev/null 2>&1 || true
  rm -rf "$B"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }
[ -x /lib/systemd/systemd ] || { echo "SKIP: systemd not installed"; exit 0; }

# A process of another user, there before the agent starts: it must see it.
setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 120 &
USER_PID=$!

"$HARNESS" start "$B"
# A webhook receiver on loopback (tests/support/http_recorder.py: answers 200, records each request).
python3 "$SRC/tests/support/http_recorder.py" "$B/rec.port" "$B/rec.jsonl" &
REC_PID=$!
for _ in $(seq 100); do [ -s "$B/rec.port" ] && break; sleep 0.1; done
[ -s "$B/rec.port" ] || fail "the webhook receiver did not start"
export XDG_RUNTIME_DIR=$B/xdg DBUS_SESSION_BUS_ADDRESS=unix:path=$B/xdg/bus
UNITS=$B/cfg/systemd/user
cat > "$B/agent.yaml" <<EOF
state_dir: $B/xdg/cronitor-agent/state
socket: $B/xdg/cronitor-agent/agent.sock
spool_dir: $B/xdg/cronitor-agent/spool
hostname: sandbox-host
discovery: {crontabs: false, systemd: false}
notify:
  default: ["webhook:http://127.0.0.1:$(cat "$B/rec.port")/hook"]
EOF
chmod 600 "$B/agent.yaml"
# The unit as shipped, but for the paths a test must change: its binary, its config, no host
# spool folder made, the log in a file (no journald here). State and spool go in the unit's
# RuntimeDirectory= (a user manager's is $XDG_RUNTIME_DIR/cronitor-agent), writable under the unit.
# The binary is copied beside the config: a build tree under /tmp (a CI clone) is hidden by the
# unit's PrivateTmp=, and one under /home or /root by ProtectHome= (exit 203/EXEC).
install -m 0755 "$AGENT" "$B/cronitor-agent"
sed -e "s|^ExecStart=.*|ExecStart=$B/cronitor-agent run --config $B/agent.yaml|" \
    -e "/^ExecStartPre=/d" "$SRC/etc/cronitor-agent.service" > "$UNITS/cronitor-agent.service"
mkdir -p "$UNITS/cronitor-agent.service.d"
# Two lines a user manager on this kind of machine (no systemd as PID 1) cannot apply (the start
# fails with 226/NAMESPACE): they make /home, /root, /run/user and the kernel's tunables in /proc/sys
# and /sys unreadable or read-only, none of which the agent reads. Every other line stays.
cat > "$UNITS/cronitor-agent.service.d/test.conf" <<EOF
[Service]
StandardError=append:$B/agent.log
ProtectHome=no
ProtectKernelTunables=no
EOF
systemctl --user daemon-reload
systemctl --user start cronitor-agent.service || { systemctl --user status cronitor-agent.service >&2; fail "the unit did not start"; }
main_pid() { systemctl --user show -p MainPID --value cronitor-agent.service; }
PID1=$(main_pid)
[ "${PID1:-0}" -gt 0 ] || fail "no main pid"

wait_log() {  # wait_log TEXT [seconds]
  local end=$((SECONDS + ${2:-15}))
  while [ $SECONDS -lt $end ]; do
    grep -qF -- "$1" "$B/agent.log" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
wait_log "listening on" || fail "the agent did not come up under the unit"
grep -q "CapBnd:.*000000040000100f$" "/proc/$PID1/status" || fail "the agent runs without the unit's capability bounds"
grep -q "NoNewPrivs:.*1" "/proc/$PID1/status" || fail "the agent runs without NoNewPrivileges"

# Each source, as the agent says it at start.
wait_log 'OOM kills: reading the kernel'"'"'s log "/dev/kmsg"' 5 || fail "/dev/kmsg is not readable under the unit"
! grep -q 'OOM kills: open' "$B/agent.log" || fail "/dev/kmsg could not be opened under the unit"
grep -q 'host facts: boot time from /proc/stat' "$B/agent.log" || fail "/proc/stat is hidden under the unit"
grep -q '/proc/vmstat readable' "$B/agent.log" || fail "/proc/vmstat is hidden under the unit"
grep -Eq 'processes visible, of root and [1-9][0-9]* other user' "$B/agent.log" ||
  fail "other users' processes are hidden under the unit"
echo "sources: $(grep -o 'host facts: .*' "$B/agent.log" | head -1)"

# A failure reported by hand: its alert is posted by the sending child, under the unit.
"$B/cronitor-agent" ping sandbox-job --state fail --exit-code 3 --config "$B/agent.yaml" >/dev/null ||
  fail "ping did not reach the agent"
end=$((SECONDS + 20))
while [ $SECONDS -lt $end ] && ! grep -q 'sandbox-job' "$B/rec.jsonl" 2>/dev/null; do sleep 0.1; done
grep -q 'sandbox-job' "$B/rec.jsonl" 2>/dev/null || fail "no alert reached the webhook from the agent under the unit"
! grep -q 'libcurl' "/proc/$PID1/maps" || fail "the agent itself mapped libcurl"
echo "alert: posted by the sending child under the unit's sandbox"

# A SIGTERM that systemd did not send: the agent exits 0, and the unit starts it again.
kill -TERM "$PID1"
end=$((SECONDS + 20))
PID2=$PID1
while [ $SECONDS -lt $end ]; do
  PID2=$(main_pid)
  [ "${PID2:-0}" -gt 0 ] && [ "$PID2" != "$PID1" ] && break
  sleep 0.1
done
[ "${PID2:-0}" -gt 0 ] && [ "$PID2" != "$PID1" ] || fail "a stray SIGTERM left the agent down (Restart=)"
[ "$(grep -c 'listening on' "$B/agent.log")" -ge 1 ] || fail "no start line"
end=$((SECONDS + 15))
while [ $SECONDS -lt $end ] && [ "$(grep -c 'listening on' "$B/agent.log")" -lt 2 ]; do sleep 0.1; done
[ "$(grep -c 'listening on' "$B/agent.log")" -ge 2 ] || fail "the restarted agent did not come up"
echo "restarted after a stray SIGTERM: pid $PID1 -> $PID2"
systemctl --user stop cronitor-agent.service
echo "PASS"
