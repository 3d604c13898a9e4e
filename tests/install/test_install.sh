#!/usr/bin/env bash
# Install lmsim into a temporary prefix (cmake --install) and build a small C
# program against the installed tree twice, with find_package(lmsim) and with
# pkg-config (lmsim.pc), then run both on tests/data/e2e_tiny.cfg. Also
# checks the installed headers, man page and bash completion.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR C_COMPILER [static|shared]
# (shared: BUILD_DIR was configured with -DBUILD_SHARED_LIBS=ON; the
# installed lmsim must find liblmsim.so through its relative RPATH).
set -euo pipefail
bld=$1 src=$2 cc=$3 kind=${4:-static}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { # name, then a command
    local name=$1
    shift
    if "$@"; then
        echo "ok   $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        failed=$((failed + 1))
    fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

prefix=$tmp/prefix
# Installed elsewhere, then moved: both the package and lmsim.pc are relocatable.
cmake --install "$bld" --prefix "$tmp/staging" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; check "cmake --install" false; finish; }
mv "$tmp/staging" "$prefix"
for f in include/lmsim.h include/lmsim/scenario.h include/lmsim/json.h bin/lmsim; do
    check "installed $f" test -f "$prefix/$f"
done
if [ "$kind" = shared ]; then
    check "installed the shared library" test -n "$(find "$prefix" -name 'liblmsim.so.*')"
    # Moved prefix, no LD_LIBRARY_PATH: found through $ORIGIN (and not through
    # a liblmsim installed elsewhere on this machine).
    check "installed lmsim has an \$ORIGIN RUNPATH" \
        bash -c "readelf -d '$prefix/bin/lmsim' | grep -E 'R(UN)?PATH' | grep -q 'ORIGIN'"
    check "installed lmsim runs from the moved prefix" env -u LD_LIBRARY_PATH "$prefix/bin/lmsim" --version
    check "installed lmsim loads liblmsim from the prefix" \
        bash -c "env -u LD_LIBRARY_PATH ldd '$prefix/bin/lmsim' | grep liblmsim | grep -qF '$prefix/'"
else
    check "installed the static library" test -n "$(find "$prefix" -name liblmsim.a)"
fi
check "installed lmsimConfig.cmake" test -n "$(find "$prefix" -name lmsimConfig.cmake)"
pc=$(find "$prefix" -name lmsim.pc)
check "installed lmsim.pc" test -n "$pc"
check "installed bash completion" test -f "$prefix/share/bash-completion/completions/lmsim"
if command -v help2man >/dev/null; then
    check "installed man page" test -f "$prefix/share/man/man1/lmsim.1"
    check "man page documents check --json" grep -q -- 'json' "$prefix/share/man/man1/lmsim.1"
fi

expect_output() { # name, output file
    grep -q "^lmsim [0-9.]*: scenario e2e_tiny, 500 persons, 3 months$" "$2" &&
        grep -q "^run: all employment rate [0-9.]* at month 3$" "$2" ||
        { echo "unexpected output of $1:"; cat "$2"; return 1; }
}

# 1. find_package(lmsim)
if cmake -S "$src/tests/install/consumer" -B "$tmp/b1" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$tmp/b1.log" 2>&1 &&
    cmake --build "$tmp/b1" >>"$tmp/b1.log" 2>&1; then
    check "find_package: builds" true
    "$tmp/b1/lmsim_consumer" "$src/tests/data/e2e_tiny.cfg" "$tmp/a.h5" >"$tmp/o1" 2>&1 || true
    check "find_package: program runs and prints the scenario" expect_output find_package "$tmp/o1"
    check "find_package: program wrote the run file" test -s "$tmp/a.h5"
else
    cat "$tmp/b1.log"
    check "find_package: builds" false
fi

# 2. pkg-config (no --static needed: the library's dependencies are public).
# A program linked to the shared library through pkg-config has no RPATH:
# it runs with LD_LIBRARY_PATH, as the README says.
export PKG_CONFIG_PATH=$(dirname "$pc")
if [ "$kind" = shared ]; then
    export LD_LIBRARY_PATH=$(pkg-config --variable=libdir lmsim)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
if flags=$(pkg-config --cflags --libs lmsim) &&
    "$cc" -std=c11 -Wall -Wextra -o "$tmp/c2" "$src/tests/install/consumer/main.c" $flags \
        >"$tmp/b2.log" 2>&1; then
    check "pkg-config: builds" true
    "$tmp/c2" "$src/tests/data/e2e_tiny.cfg" "$tmp/b.h5" >"$tmp/o2" 2>&1 || true
    check "pkg-config: program runs and prints the scenario" expect_output pkg-config "$tmp/o2"
    check "pkg-config and find_package programs agree" cmp -s "$tmp/o1" "$tmp/o2"
else
    echo "pkg-config --cflags --libs lmsim: ${flags:-}"
    cat "$tmp/b2.log" 2>/dev/null || true
    check "pkg-config: builds" false
fi
check "pkg-config: version" test "$(pkg-config --modversion lmsim)" = "$(grep -o '[0-9.]*' <<<"$("$prefix/bin/lmsim" --version)")"
check "pkg-config: includedir inside the moved prefix" \
    test "$(pkg-config --variable=includedir lmsim | xargs realpath)" = "$(realpath "$prefix/include")"
finish
