#!/usr/bin/env bash
# Run a small simulation with full panel output under valgrind memcheck; any
# invalid access, use of uninitialised memory or definite leak fails.
# Usage: valgrind.sh LMSIM_BINARY SOURCE_DIR
set -euo pipefail
bin=$1 src=$2
if ! command -v valgrind >/dev/null; then echo "valgrind missing: apt-get install -y valgrind"; exit 1; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    "$bin" run "$src/scenarios/wales_baseline.cfg" -o "$tmp/v.h5" --persons 3000 --months 13 \
    --threads 2 -q >/dev/null
valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    "$bin" check "$src/tests/data/markov.cfg" >/dev/null
"$bin" run "$src/scenarios/wales_baseline.cfg" -o "$tmp/w.h5" --persons 3000 --months 13 -q \
    --panel sample:0.5 --set programmes.work_first.effects.job_finding_or=1.5 >/dev/null
valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    "$bin" compare "$tmp/v.h5" "$tmp/w.h5" >/dev/null
echo "valgrind: 3 passed, 0 failed"
