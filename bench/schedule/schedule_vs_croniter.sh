#!/usr/bin/env bash
# Whole-process comparison, in one run: `cronitor-agent schedule next '*/5 * * * *' --count 100000`
# against the same 100000 fire times computed by python3-croniter. Checks that the outputs are
# identical, prints both wall times and the ratio (target: 150x or more).
# Usage: bench/schedule/schedule_vs_croniter.sh [path/to/cronitor-agent]   (default build/bin/...)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
AGENT=${1:-$ROOT/build/bin/cronitor-agent}
COUNT=${COUNT:-100000}
[ -x "$AGENT" ] || { echo "no executable $AGENT (build first: cmake --build build)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Wall, user and system seconds of one command, as "wall user sys".
measure() {
  local TIMEFORMAT='%R %U %S' out
  { out=$( { time "$@" >/dev/null; } 2>&1 ); } 2>&1
  echo "$out"
}
run_ours() { "$AGENT" schedule next '*/5 * * * *' --tz UTC --from 2026-01-01T00:00:00Z --count "$COUNT" >"$tmp/ours.txt"; }
run_croniter() {
  /usr/bin/python3 - "$COUNT" >"$tmp/croniter.txt" <<'PY'
import datetime, sys
from croniter import croniter
it = croniter("*/5 * * * *", datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
out = sys.stdout
for _ in range(int(sys.argv[1])):
    out.write(it.get_next(datetime.datetime).isoformat() + "\n")
PY
}

# ours is short enough for load spikes to matter: the median of three runs; croniter runs once.
ours_runs=()
for _ in 1 2 3; do ours_runs+=("$(measure run_ours)"); done
ours=$(printf '%s\n' "${ours_runs[@]}" | sort -n | sed -n 2p)
py=$(measure run_croniter)

lines=$(wc -l <"$tmp/ours.txt")
if ! cmp -s "$tmp/ours.txt" "$tmp/croniter.txt"; then
  echo "outputs differ (ours vs croniter):" >&2
  diff "$tmp/ours.txt" "$tmp/croniter.txt" | head -n 10 >&2
  exit 1
fi
[ "$lines" -eq "$COUNT" ] || { echo "expected $COUNT lines, got $lines" >&2; exit 1; }
read -r ow ou os <<<"$ours"
read -r pw pu ps <<<"$py"
awk -v ow="$ow" -v ou="$ou" -v os="$os" -v pw="$pw" -v pu="$pu" -v ps="$ps" -v n="$COUNT" \
    -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  printf "identical output: %d fire times of \"*/5 * * * *\" in UTC from 2026-01-01T00:00:00Z\n", n;
  printf "cronitor-agent schedule next: %.3f s wall, %.3f s CPU (median of 3)\n", ow, ou + os;
  printf "python3-croniter:             %.3f s wall, %.3f s CPU\n", pw, pu + ps;
  if (ow < 0.001) ow = 0.001; if (ou + os < 0.001) ou = 0.001;
  printf "ratio: %.0fx wall, %.0fx CPU (target >= 150x; load average %s)\n", pw / ow, (pu + ps) / (ou + os), load;
  exit (pw / ow >= 150) ? 0 : 3;
}'
