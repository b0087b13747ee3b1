#!/bin/bash
# A real systemd manager for tests: `systemd --user` with its own D-Bus, in a cgroup of its own
# (started from the root cgroup it would pull every process there, PID 1 included, into its
# init.scope) and a private mount namespace that fakes the "booted with systemd" marker.
#   user_systemd.sh start DIR   -> manager up; units go in DIR/cfg/systemd/user; bus DIR/xdg/bus
#   user_systemd.sh stop DIR    -> manager ended by its pid, its cgroups removed
set -eu
cmd=$1 B=$2
export XDG_RUNTIME_DIR=$B/xdg XDG_CONFIG_HOME=$B/cfg HOME=$B/home
export DBUS_SESSION_BUS_ADDRESS=unix:path=$B/xdg/bus
HIER="systemd unified memory pids cpu"
case $cmd in
start)
  mkdir -p -m700 "$XDG_RUNTIME_DIR"; mkdir -p "$XDG_CONFIG_HOME/systemd/user" "$HOME"
  CG=$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup); CG=${CG%/}/cronitor-test-$$; echo "$CG" > "$B/cgpath"
  (
    for h in $HIER; do
      if [ -d /sys/fs/cgroup/$h ]; then mkdir -p /sys/fs/cgroup/$h$CG && echo $BASHPID > /sys/fs/cgroup/$h$CG/cgroup.procs; fi
    done
    exec unshare --mount --propagation private sh -c "mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system &&
      : > '$B/manager.log' && mount --bind '$B/manager.log' /dev/console &&
      exec /lib/systemd/systemd --user --log-target=console"
  ) > "$B/stdout.log" 2>&1 &
  echo $! > "$B/pid"
  # Up in about 0.1 s on an idle machine; allow for a loaded one. Up is "running", or "degraded":
  # its start-up finished with a unit failed. The tests' own units fail on purpose every 5 s, and
  # when one failed during the start-up the manager never said "running": the harness waited 30 s
  # and stopped it as not up, while it ran the timers unwatched.
  end=$((SECONDS + 30)) state=
  while [ $SECONDS -lt $end ]; do
    state=$(busctl --user get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
              org.freedesktop.systemd1.Manager SystemState 2>/dev/null) || state=
    case $state in 's "running"' | 's "degraded"') exit 0;; esac
    sleep 0.05
  done
  # What it said and whether it runs: the test removes DIR at its end, so the reasons go to stderr.
  alive=no; kill -0 "$(cat "$B/pid")" 2>/dev/null && alive=yes
  echo "the systemd manager did not come up in 30 s (its process alive: $alive; its state: ${state:-no answer on its bus}); its stdout and manager.log:" >&2
  cat "$B/stdout.log" "$B/manager.log" >&2 2>/dev/null || true
  exit 1;;
stop)
  [ -f "$B/pid" ] || exit 0
  pid=$(cat "$B/pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  CG=$(cat "$B/cgpath")
  for h in $HIER; do
    if [ -d /sys/fs/cgroup/$h$CG ]; then
      # Processes left in the cgroup (a unit's) die first; then the folders go, deepest first.
      find /sys/fs/cgroup/$h$CG -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
      for _ in $(seq 50); do find /sys/fs/cgroup/$h$CG -depth -type d -exec rmdir {} + 2>/dev/null && break; sleep 0.05; done
    fi
  done
  rm -f "$B/pid";;
*) echo "usage: $0 start|stop DIR" >&2; exit 2;;
esac
