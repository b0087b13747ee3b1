#!/bin/bash
# What following every process of the host costs the real daemon (issue 21 Must hold: "a host
# starting 20,000 short processes per second from a user's loop costs the agent under 10% of one
# core; idle it does not wake"). Starts `cronitor-agent run` with observe: auto (no cron needed:
# the connector reports every process of the host either way), then:
#   idle   10 s with nothing of ours starting: the agent's context switches (all its threads)
#          with observe: off and with observe: auto, the events the source read meanwhile (other
#          processes of the host: on a shared machine they are not none), its wake-ups and CPU;
#   storm  `proc_events_bench storm` as the user nobody (PROC_STORM_LOOPS loops, default 2, each
#          starting short processes as fast as it can) for SECONDS: the processes/s achieved (and
#          without the agent, for the slow-down the connector costs the forks), the agent's CPU
#          (utime+stime of /proc/PID/stat), the events it read, events/s, CPU per event, ENOBUFS
#          losses, and how long a `status` took during the storm;
# and the agent's CPU at 20,000 processes/s extrapolated from its CPU per event.
# The load average is printed with each figure: the machine may be shared.
# usage: bench/agent/proc_storm.sh [BUILD_DIR] [SECONDS]   (root: the connector needs CAP_NET_ADMIN)
# PROC_STORM_EXEC=/bin/true: the storm's processes exec it (fewer processes/s, three events each).
set -eu
BUILD=$(realpath "${1:-build}")
SECONDS_STORM=${2:-10}
AGENT=$BUILD/bin/cronitor-agent
BENCH=$BUILD/bin/proc_events_bench
HZ=$(getconf CLK_TCK)
DIR=$(mktemp -d /tmp/proc-storm.XXXXXX)
chmod 755 "$DIR"
AGENT_PID=
cleanup() {
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$AGENT_PID/stat"; }  # utime + stime (after "(comm)")
switches() {                                                       # every thread of the agent
  cat /proc/"$AGENT_PID"/task/*/status | awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n}'
}
status_field() { # FIELD: the process events' counter in `status --json`
  "$AGENT" status --json --config "$DIR/agent.yaml" 2> /dev/null |
    /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['process_events']['$1'])" 2> /dev/null
}
storm() { # SECONDS: the storm as nobody; prints its line
  setpriv --reuid=nobody --regid=nogroup --clear-groups env PROC_BENCH_SECONDS="$1" \
    PROC_STORM_LOOPS="${PROC_STORM_LOOPS:-2}" PROC_STORM_EXEC="${PROC_STORM_EXEC:-}" "$BENCH" storm
}
rate_of() { sed -n 's/.*: \([0-9]*\) processes\/s.*/\1/p'; }

mkdir -p "$DIR/root/etc/cron.d"
: > "$DIR/root/etc/crontab"
cp "$BENCH" "$DIR/bench" && BENCH=$DIR/bench # nobody may not enter the build tree
config() { # OBSERVE
  cat > "$DIR/agent.yaml" <<EOC
state_dir: $DIR/state
socket: $DIR/agent.sock
spool_dir: $DIR/spool
hostname: proc-storm
observe: $1
discovery: {root: $DIR/root, systemd: false, auto_wrap: false, cron_log: off}
EOC
}
start_agent() { # LOG LINE to wait for
  "$AGENT" run --config "$DIR/agent.yaml" 2> "$DIR/agent.log" &
  AGENT_PID=$!
  for _ in $(seq 200); do grep -q "$1" "$DIR/agent.log" && break; sleep 0.05; done
  grep -q "$1" "$DIR/agent.log" || {
    echo "the agent did not say \"$1\":" >&2
    tail -5 "$DIR/agent.log" >&2
    exit 1
  }
  sleep 2 # start-up work settles (a measurement, not a test)
}

# The storm alone first: what the host does with no listener on the connector.
BASE=$(storm "$SECONDS_STORM")
echo "without the agent: $BASE   load $(load)"

# Idle with observe: off: the wake-ups of the agent's other sources (its timers), for comparison.
config off
start_agent 'listening on "'
S0=$(switches)
sleep 10
echo "idle 10 s, observe: off: $(($(switches) - S0)) context switches of the agent   load $(load)"
kill "$AGENT_PID" && wait "$AGENT_PID" 2> /dev/null || true
AGENT_PID=

config auto
start_agent "process events: following"
E0=$(status_field events) W0=$(status_field wakeups) S0=$(switches) C0=$(cpu_ticks)
sleep 10
S1=$(switches) C1=$(cpu_ticks) E1=$(status_field events) W1=$(status_field wakeups)
echo "idle 10 s, observe: auto: $((S1 - S0)) context switches of the agent, $((W1 - W0)) process events" \
  "wake-ups for $((E1 - E0)) events of the host's other processes, $(((C1 - C0) * 1000 / HZ)) ms CPU   load $(load)"

E0=$(status_field events) L0=$(status_field losses) W0=$(status_field wakeups) C0=$(cpu_ticks)
T0=$(date +%s%N)
storm "$SECONDS_STORM" > "$DIR/storm.txt" &
STORM_PID=$!
sleep $((SECONDS_STORM / 2))
Q0=$(date +%s%N)
"$AGENT" status --config "$DIR/agent.yaml" > /dev/null 2>&1
Q1=$(date +%s%N)
wait "$STORM_PID"
T1=$(date +%s%N)
C1=$(cpu_ticks) E1=$(status_field events) L1=$(status_field losses) W1=$(status_field wakeups)
LOAD=$(load)
STORM=$(cat "$DIR/storm.txt")
/usr/bin/python3 - "$((C1 - C0))" "$HZ" "$((E1 - E0))" "$((L1 - L0))" "$((W1 - W0))" "$((T1 - T0))" \
  "$((Q1 - Q0))" "$(echo "$STORM" | rate_of)" "$(echo "$BASE" | rate_of)" "$LOAD" "$STORM" <<'EOP'
import sys
ticks, hz, events, losses, wakeups, wall_ns, status_ns, rate, base, load, storm = sys.argv[1:]
cpu = int(ticks) / int(hz); wall = int(wall_ns) / 1e9; events = int(events); rate = int(rate or 0)
per_event = cpu / events if events else 0
per_process = events / (rate * wall) if rate else 0  # events the agent read per process started
print(f"with the agent: {storm}   load {load}")
print(f"  forks slowed by the listener: {int(base or 0)} -> {rate} processes/s")
print(f"  agent: {events / wall:.0f} events/s read, {100 * cpu / wall:.1f}% of one core, "
      f"{per_event * 1e9:.0f} ns CPU per event, {losses} ENOBUFS losses, {wakeups} wake-ups "
      f"({int(wakeups) / wall:.0f}/s), status answered in {int(status_ns) / 1e6:.0f} ms")
if per_event:
    at = 20000 * per_process * per_event
    print(f"  at 20,000 processes/s ({per_process:.2f} events each): {100 * at:.1f}% of one core (from CPU per event)")
EOP
