#!/usr/bin/env bash
# Configure and build lmsim with -DBUILD_SHARED_LIBS=ON in a tree of its own
# (library, program and man page only), then run test_install.sh on it.
# Usage: test_install_shared.sh SOURCE_DIR BUILD_DIR C_COMPILER
set -euo pipefail
src=$1 bld=$2 cc=$3
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
    -DBUILD_SHARED_LIBS=ON -DLM_BUILD_TESTS=OFF -DLM_BUILD_BENCHMARKS=OFF >"$bld.log" 2>&1 ||
    { cat "$bld.log"; exit 1; }
cmake --build "$bld" -j"$(nproc)" >>"$bld.log" 2>&1 || { cat "$bld.log"; exit 1; }
exec "$(dirname "$0")/test_install.sh" "$bld" "$src" "$cc" shared
