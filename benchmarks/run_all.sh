#!/usr/bin/env bash
# Build lmsim's benchmarks in Release with -march=native (LM_NATIVE=ON, its own
# build directory build-bench/) and run them all, printing every table.
#
#   benchmarks/run_all.sh            full sizes (a few minutes on 2 cores)
#   benchmarks/run_all.sh --quick    200,000 persons x 24 months smoke run
#
# Extra arguments go to bench_engine (e.g. --no-run-1t, --persons N).
# Environment: BUILD_DIR (default build-bench), TMPDIR for the run files.
# Benchmarks are not tests: nothing here is registered with ctest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
tmp="${TMPDIR:-/tmp}"
quick=0
for a in "$@"; do [ "$a" = "--quick" ] && quick=1; done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLM_NATIVE=ON \
  -DLM_BUILD_BENCHMARKS=ON -DLM_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_engine bench_compression lmsim_cli >/dev/null

# LZ4 and Blosc filters are HDF5 plugins; point HDF5 at Debian's folder if unset.
if [ -z "${HDF5_PLUGIN_PATH:-}" ]; then
  for d in /usr/lib/x86_64-linux-gnu/hdf5/serial/plugins /usr/lib/*/hdf5/serial/plugins; do
    if [ -d "$d" ]; then export HDF5_PLUGIN_PATH="$d"; break; fi
  done
fi
missing=""
for p in hdf5-filter-plugin hdf5-filter-plugin-blosc-serial; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -n "$missing" ] && echo "note: plugin rows will say n/a; to include them: apt-get install -y$missing"

echo "# lmsim benchmarks"
echo
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); nproc: $(nproc);" \
  "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//');" \
  "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
    git -C "$root" rev-parse HEAD >/dev/null 2>&1 && ! git -C "$root" diff --quiet HEAD &&
      echo ' (+ local changes)')"
echo "compiler: $(${CC:-cc} --version | head -1); flags: Release -O3 -march=native -ffp-contract=off"
echo
echo "## Engine: throughput, scaling, memory (bench_engine${*:+ $*})"
echo
status=0
TMPDIR="$tmp" "$build/benchmarks/bench_engine" --tmpdir "$tmp" "$@" || status=1
echo
echo "## Panel compression (bench_compression)"
echo
if [ "$quick" = 1 ]; then
  "$build/benchmarks/bench_compression" --persons 65536 --months 12 --reps 1 || status=1
else
  "$build/benchmarks/bench_compression" --reps 3 || status=1
fi
exit "$status"
