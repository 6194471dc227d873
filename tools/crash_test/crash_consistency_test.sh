#!/usr/bin/env bash
# CI version of the crash test: a few kill -9 rounds; fails unless lost=0 and
# the tool reports PASS. Usage: crash_consistency_test.sh <crash_test> [flags]
set -uo pipefail
tool="$1"; shift
out="${TEST_TMPDIR:-/tmp}/crash_test.out"
"$tool" "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  echo "crash_test exited with $rc" >&2
  exit 1
fi
grep -q '^TOTALS .* lost=0 ' "$out" || { echo "lost != 0" >&2; exit 1; }
grep -q '^PASS$' "$out" || { echo "no PASS line" >&2; exit 1; }
exit 0
