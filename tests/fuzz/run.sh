#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz/README.md) in a tree of their own
# with clang, run each for a short fixed time from its seed corpus, and run
# every file of tests/fuzz/regressions/ through every target: any crash,
# leak, exit, timeout or sanitizer report fails.
# Usage: run.sh SOURCE_DIR BUILD_DIR [SECONDS_PER_TARGET]
#   (default 20 s; LM_FUZZ_SECONDS overrides it, 0 runs the regressions only;
#   LM_FUZZ_TIMEOUT: seconds an input may take, default 30: libFuzzer measures
#   wall-clock time, and a shared CI machine can run an input 5-10 times
#   slower than its CPU time; a hang is still caught)
set -euo pipefail
src=$(cd "$1" && pwd) bld=$2 secs=${LM_FUZZ_SECONDS:-${3:-20}}
if ! command -v clang >/dev/null; then
  echo "fuzz: clang is missing; installing it with .ci/install-deps"
  "$src/.ci/install-deps"
fi
cc=$(command -v clang)
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$cc" \
      -DLM_FUZZ=ON -DLM_BUILD_TESTS=OFF -DLM_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$bld" --target fuzzers -j"${LM_FUZZ_JOBS:-2}" >/dev/null
# The targets' sandboxes go under a folder removed on any exit, also when a
# crash kills a target before it can remove its own.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TMPDIR=$work
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$src/tests/fuzz/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fz=$bld/tests/fuzz
opts=(-timeout="${LM_FUZZ_TIMEOUT:-30}" -rss_limit_mb=2048 -dict="$src/tests/fuzz/lmsim.dict"
      -artifact_prefix="$bld/fuzz-artifacts/")
mkdir -p "$bld/fuzz-artifacts"
status=0
regressions=("$src"/tests/fuzz/regressions/*)
for t in scenario scenario_string sweep targets; do
  if [ -e "${regressions[0]}" ]; then
    # Every regression input through every target (a crash in one loader is
    # a valid test input for the others too).
    if ! "$fz/fuzz_$t" "${opts[@]}" "${regressions[@]}" >"$work/$t.reg.log" 2>&1; then
      echo "fuzz_$t: a regression input fails:"; tail -40 "$work/$t.reg.log"; status=1
    else
      echo "fuzz_$t: ${#regressions[@]} regression inputs pass"
    fi
  fi
  [ "$secs" -gt 0 ] || continue
  corpus=$work/corpus-$t
  mkdir -p "$corpus"
  if ! "$fz/fuzz_$t" "${opts[@]}" -max_total_time="$secs" -print_final_stats=1 \
       "$corpus" "$fz/seeds/${t%_string}" >"$work/$t.log" 2>&1; then
    echo "fuzz_$t: FAILED (input saved in $bld/fuzz-artifacts/):"; tail -60 "$work/$t.log"
    status=1
  else
    echo "fuzz_$t: $(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$work/$t.log" | tail -1)"
  fi
done
[ "$status" -eq 0 ] && echo "fuzz: 4 targets passed" || echo "fuzz: FAILED"
exit "$status"
