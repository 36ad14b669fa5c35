#!/usr/bin/env bash
# `bash scripts/stress-test.sh [N]`: runs `npm test` N times in a row (default 3) while busy loops
# keep every core busy, as on a loaded CI machine, and ends with one line:
#   stress: K of N runs passed (both cores loaded)
# It exits non-zero unless every run passed. The busy loops (one per core, `nproc`, at normal
# priority) are started by this script for each run and stopped when the run ends; they are also
# stopped on any exit (error, Ctrl-C, SIGTERM) and, should this script be killed outright, each
# stops by itself after LOAD_LIMIT_SECONDS (default 3600). Each run's output is kept in a log
# folder named at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

runs="${1:-3}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bash scripts/stress-test.sh [N]   (N = number of npm test runs, default 3)" >&2
  exit 2
fi
limit="${LOAD_LIMIT_SECONDS:-3600}"
cores="$(nproc 2>/dev/null || echo 2)"
logs="$(mktemp -d -t vidpipe-stress-XXXXXX)"

load_pids=()

start_load() {
  load_pids=()
  for ((i = 0; i < cores; i++)); do
    if command -v sha256sum >/dev/null 2>&1; then
      timeout "$limit" sha256sum /dev/zero >/dev/null 2>&1 &
    else
      timeout "$limit" node -e 'for (;;) {}' >/dev/null 2>&1 &
    fi
    load_pids+=("$!")
  done
}

stop_load() {
  if ((${#load_pids[@]} > 0)); then
    # `timeout` passes the signal on to its busy loop.
    kill "${load_pids[@]}" 2>/dev/null
    wait "${load_pids[@]}" 2>/dev/null
  fi
  load_pids=()
}

trap stop_load EXIT
trap 'stop_load; exit 130' INT
trap 'stop_load; exit 143' TERM

passed=0
for ((run = 1; run <= runs; run++)); do
  log="$logs/run-$run.log"
  echo "stress: run $run of $runs, $cores busy loops (log: $log)"
  start_load
  started=$SECONDS
  npm test 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  stop_load
  elapsed=$((SECONDS - started))
  if ((status == 0)); then
    passed=$((passed + 1))
    echo "stress: run $run passed in ${elapsed} s"
  else
    echo "stress: run $run FAILED (exit $status) in ${elapsed} s; see $log"
  fi
done

echo "stress: logs in $logs"
echo "stress: $passed of $runs runs passed (both cores loaded)"
((passed == runs))
