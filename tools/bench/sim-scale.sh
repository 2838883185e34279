#!/bin/sh
# The simulator's scale benchmark (issue 17; docs/performance.md "Simulation at scale"): runs
# config/sim/scale-1000.toml (1,000 nodes, a 1,000-block chain, two lanes) with qtc-sim
# --until-synced and prints the wall time against the 60 s goal, the virtual time, how many
# nodes synced, the jobs (actor messages handled) per wall second and the peak memory per node.
#
#   tools/bench/sim-scale.sh [--fresh=N] [qtc-sim options...]
#
# Uses build/release/tools/qtc-sim (build it with `cmake --build --preset release`).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
sim="$root/build/release/tools/qtc-sim"
[ -x "$sim" ] || { echo "sim-scale: build $sim first (cmake --build --preset release)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)
"$sim" --scenario="$root/config/sim/scale-1000.toml" --until-synced --report="$out/report.json" \
  "$@" 2> "$out/stderr" || { cat "$out/stderr" >&2; exit 1; }
end=$(date +%s.%N)
python3 - "$out/report.json" "$out/stderr" "$start" "$end" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
stderr = open(sys.argv[2]).read()
wall = float(sys.argv[4]) - float(sys.argv[3])
nodes = report["nodes"]["total"]
conv = report["convergence"]
sync = report["sync"]["time_to_sync_ms"]
jobs = re.search(r"(\d+) jobs, peak RSS (\d+) MiB \((\d+) KiB per node\)", stderr)
print(f"nodes                {nodes} in {report['lanes']} lane(s)")
print(f"synced at the end    {conv['at_best_height']} of {conv['honest_running']}")
print(f"virtual time         {report['virtual_ms'] / 1000:.1f} s")
print(f"wall time            {wall:.1f} s  (goal 60 s: ratio {60 / wall:.2f})")
print(f"time to sync (virt.) p50 {sync['p50']} ms, p90 {sync['p90']} ms, max {sync['max']} ms")
if jobs:
    print(f"jobs                 {jobs.group(1)} ({int(jobs.group(1)) / wall:,.0f} per wall s)")
    print(f"peak memory          {jobs.group(2)} MiB, {jobs.group(3)} KiB per node")
PY
