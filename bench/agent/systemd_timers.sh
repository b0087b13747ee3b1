#!/bin/bash
# Measures the agent against a real systemd manager with N timers loaded (default 500):
# how long the start-up listing takes (the agent logs it) and how many times the agent wakes up
# in 10 s with nothing changing (epoll waits that return, under strace).
# usage: bench/agent/systemd_timers.sh BUILD_DIR [N]    (root; run under the host lock)
set -eu
BUILD=$(realpath "$1"); N=${2:-500}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=$(mktemp -d /tmp/timers-bench.XXXXXX)
U=$B/root/etc/systemd/system
mkdir -p "$U/timers.target.wants" "$B/root/run/systemd/system" "$B/cfg/systemd"
ln -s "$U" "$B/cfg/systemd/user"
for i in $(seq "$N"); do
  printf '[Timer]\nOnCalendar=*-*-* 03:%02d:00\n[Install]\nWantedBy=timers.target\n' $((i % 60)) > "$U/b$i.timer"
  printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' > "$U/b$i.service"
  ln -s "../b$i.timer" "$U/timers.target.wants/b$i.timer"
done
cleanup() {
  [ -n "${AP:-}" ] && kill "$AP" 2>/dev/null && wait "$AP" 2>/dev/null
  "$SRC/tests/support/user_systemd.sh" stop "$B"
  rm -rf "$B"
}
trap cleanup EXIT
"$SRC/tests/support/user_systemd.sh" start "$B"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$B/xdg/bus
cat > "$B/agent.yaml" <<EOC
state_dir: $B/state
socket: $B/agent.sock
spool_dir: $B/spool
discovery: {root: $B/root, crontabs: false, systemd: true, auto_wrap: false}
EOC
"$BUILD/bin/cronitor-agent" run --config "$B/agent.yaml" 2> "$B/agent.log" &
AP=$!
for _ in $(seq 300); do grep -q "timers listed" "$B/agent.log" && break; sleep 0.1; done
grep -o "systemd: [0-9]* timers listed in [0-9]* ms" "$B/agent.log"
sleep 2  # let start-up work settle
strace -f -qq -e trace=epoll_wait,epoll_pwait,epoll_pwait2 -o "$B/strace.txt" -p "$AP" &
SP=$!
sleep 10
kill "$SP"; wait "$SP" 2>/dev/null || true
# Returned waits are wakeups; the one still blocked when strace detached is "<unfinished ...>".
echo "wakeups in 10 s idle: $(grep -c ') = ' "$B/strace.txt" || true)"
