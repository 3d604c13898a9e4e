#!/usr/bin/env bash
# Configure and build lmsim with -DBUILD_SHARED_LIBS=ON in a tree of its own
# (library, program and man page only), then run test_install.sh on it.
# Usage: test_install_shared.sh SOURCE_DIR BUILD_DIR C_COMPILER [CMAKE]
set -euo pipefail
src=$1 bld=$2 cc=$3 cmake=${4:-cmake}
# A tree left from another checkout or build directory: start afresh.
if [ -f "$bld/CMakeCache.txt" ] && ! grep -qF "CMAKE_HOME_DIRECTORY:INTERNAL=$src" "$bld/CMakeCache.txt"; then
    rm -rf "$bld"
fi
"$cmake" -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
    -DBUILD_SHARED_LIBS=ON -DLM_BUILD_TESTS=OFF -DLM_BUILD_BENCHMARKS=OFF >"$bld.log" 2>&1 ||
    { cat "$bld.log"; exit 1; }
"$cmake" --build "$bld" -j2 >>"$bld.log" 2>&1 || { cat "$bld.log"; exit 1; }
exec "$(dirname "$0")/test_install.sh" "$bld" "$src" "$cc" shared
