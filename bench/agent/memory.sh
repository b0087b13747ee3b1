#!/bin/sh
# What the host pays for the agent: PSS (private memory plus its share of shared pages) and
# private memory of the real `cronitor-agent run` with 100 monitors, idle and after it sent an
# alert (the first alert loads libcurl), from /proc/PID/smaps_rollup.
# Usage: bench/agent/memory.sh [BUILD_DIR]   (default: build)
set -eu
BUILD=${1:-build}
AGENT=$BUILD/bin/cronitor-agent
EXEC=$BUILD/bin/cronitor-exec
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(mktemp -d /tmp/agent-memory.XXXXXX)
AGENT_PID=
RECORDER_PID=
cleanup() {
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null || true
  [ -n "$RECORDER_PID" ] && kill "$RECORDER_PID" 2>/dev/null && wait "$RECORDER_PID" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

/usr/bin/python3 "$SRC/tests/support/http_recorder.py" "$DIR/port" "$DIR/requests.jsonl" 0 &
RECORDER_PID=$!
i=0
while [ ! -s "$DIR/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$DIR/port")

{
  echo "state_dir: $DIR/state"
  echo "socket: $DIR/agent.sock"
  echo "spool_dir: $DIR/spool"
  echo "hostname: memory-bench"
  echo "discovery: {crontabs: false, systemd: false}"
  echo "notify:"
  echo "  ops: [\"webhook:http://127.0.0.1:$PORT/hook\"]"
  echo "defaults:"
  echo "  notify: [ops]"
  echo "monitors:"
  n=0
  while [ $n -lt 100 ]; do
    echo "  - key: job-$n"
    echo "    schedule: \"$((n % 60)) * * * *\""
    n=$((n + 1))
  done
} > "$DIR/agent.yaml"

"$AGENT" run --config "$DIR/agent.yaml" 2> "$DIR/agent.log" &
AGENT_PID=$!
i=0
while [ ! -S "$DIR/agent.sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done

report() {
  awk -v what="$1" '
    /^Rss:/ {rss=$2} /^Pss:/ {pss=$2} /^Private_Clean:/ {pc=$2} /^Private_Dirty:/ {pd=$2}
    END {printf "%-22s RSS %6.1f MiB  PSS %6.1f MiB  private %6.1f MiB\n", what, rss/1024, pss/1024, (pc+pd)/1024}' \
    "/proc/$AGENT_PID/smaps_rollup"
}

sleep 1  # settle after start (a measurement, not a test)
report "idle, 100 monitors"
CRONITOR_SOCKET=$DIR/agent.sock CRONITOR_SPOOL=$DIR/spool "$EXEC" job-7 -- 'exit 3' || true
i=0
while [ ! -s "$DIR/requests.jsonl" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$DIR/requests.jsonl" ] || { echo "no alert arrived" >&2; tail -20 "$DIR/agent.log" >&2; exit 1; }
sleep 0.5
report "after one alert"
