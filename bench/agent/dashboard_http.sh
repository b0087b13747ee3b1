#!/bin/bash
# The dashboard end to end (issue 22's budgets): the real agent serving the state.db that
# dashboard_bench builds (1,000 jobs x 60 runs, "big" with 500), its monitors in agent.yaml, and
# curl timing whole HTTP requests with a session: the overview and the job page, N times each.
#   bench/agent/dashboard_http.sh BUILD_DIR [N]
# Prints one line per request (status, seconds, bytes), the median of each page, and the agent's
# CPU time per request (utime + stime from /proc: on a shared machine the wall time is mostly
# waiting for a core). Leaves nothing behind.
set -euo pipefail
build=${1:?usage: dashboard_http.sh BUILD_DIR [N]}
n=${2:-10}
agent="$build/bin/cronitor-agent"
bench="$build/bin/dashboard_bench"
dir=$(mktemp -d /tmp/dashboard-http.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

mkdir -p "$dir/state" "$dir/spool"
CRONITOR_BENCH_DB_DIR="$dir/state" "$bench" --benchmark_filter='BM_RequestJobPage500' >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  echo "state_dir: $dir/state"
  echo "socket: $dir/agent.sock"
  echo "spool_dir: $dir/spool"
  echo "hostname: dash-http"
  echo "discovery: {crontabs: false, systemd: false}"
  echo "dashboard: {listen: \"127.0.0.1:$port\"}"
  cat "$dir/state/monitors.yaml"
} >"$dir/agent.yaml"
rm -f "$dir/state/monitors.yaml"
export CRONITOR_SOCKET="$dir/agent.sock" CRONITOR_SPOOL="$dir/spool" CRONITOR_ENDPOINT_FILE="$dir/endpoint"
"$agent" run --config "$dir/agent.yaml" 2>"$dir/agent.log" &
pid=$!
for _ in $(seq 300); do grep -q "dashboard: serving" "$dir/agent.log" && break; sleep 0.1; done
grep -q "dashboard: serving" "$dir/agent.log" || { cat "$dir/agent.log"; exit 1; }
url=$("$agent" dashboard --config "$dir/agent.yaml")
curl -s -o /dev/null -c "$dir/cookies" "$url"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
time_page() {
  local path=$1 times=() before
  before=$(cpu_ticks)
  for _ in $(seq "$n"); do
    line=$(curl -s -o /dev/null -b "$dir/cookies" -w '%{http_code} %{time_total} %{size_download}' \
      "http://127.0.0.1:$port$path")
    echo "$path $line"
    [ "${line%% *}" = 200 ] || exit 1
    times+=("$(echo "$line" | cut -d' ' -f2)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v p="$path" '{a[NR]=$1} END {print p, "median", a[int((NR+1)/2)], "s"}'
  echo "$path agent CPU $(( ($(cpu_ticks) - before) * 1000 / $(getconf CLK_TCK) / n )) ms per request"
}
time_page /
time_page /jobs/big
time_page /incidents
