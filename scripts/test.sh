#!/usr/bin/env bash
# `npm test`: install what is missing, run the suite, and end with one plain summary line
# ("N passed, N failed, N skipped") that CI can read. Extra arguments go to vitest.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh --test || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"

results=$(mktemp -t vidpipe-vitest-XXXXXX.json)
vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
  const skipped = r.numPendingTests + r.numTodoTests
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`)
' "$results" 2>/dev/null || echo "0 passed, 1 failed"
rm -f "$results"
exit $status
