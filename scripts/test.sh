#!/usr/bin/env bash
# `npm test`: install what is missing, run the suite (which type-checks the whole project too:
# test/project/typecheck.test.ts), and end with one plain summary line ("N passed, N failed, N skipped")
# that CI can read; scripts/summaryReporter.ts writes it and counts every failure, including a
# file that fails to load, a beforeAll that throws and an unhandled error. Extra arguments go to
# vitest.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh --test || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"

output=$(mktemp -t vidpipe-vitest-XXXXXX.log)
trap 'rm -f "$output"' EXIT
vitest run --reporter=default --reporter=./scripts/summaryReporter.ts "$@" | tee "$output"
status=${PIPESTATUS[0]}
# Vitest stopped before any reporter ran (a broken configuration): still one closing line.
grep -qE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$output" || echo "0 passed, 1 failed, 0 skipped"
exit "$status"
