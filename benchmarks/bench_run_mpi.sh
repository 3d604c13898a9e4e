#!/usr/bin/env bash
# One run split across MPI ranks (issue 4, item 5). The Wales baseline at
# PERSONS x MONTHS (default 1,000,000 x 120), with the panel off and with the
# full panel, run three ways on this machine's cores:
#   baseline  lmsim run without MPI, 2 threads (the same process count as below)
#   np 1      mpirun -np 1, 2 threads        (MPI started, one rank: whole file)
#   np 2      mpirun -np 2, 1 thread each    (persons split in two blocks)
# Prints wall time, person-months per second and the peak RSS of every rank
# (GNU time's %M), and checks that the split run's datasets equal the
# baseline's. On one 2-core machine the split cannot be faster than threads;
# what it shows is the cost of the monthly exchanges and the per-rank memory.
# Usage: benchmarks/bench_run_mpi.sh [MPI_BUILD_DIR]   (default build-mpi)
#        UK=1 benchmarks/bench_run_mpi.sh [MPI_BUILD_DIR]
# UK=1: the UK-scale row (issue 12): 10,000,000 persons x 24 months, panel
# none, split over mpirun -np 2 (1 thread a rank), beside the same run
# without MPI on 2 threads; PERSONS and MONTHS still override. To plan a
# larger run: memory per rank is about (persons / ranks) x the bytes per
# person printed here, time scales with person-months / (ranks x threads).
set -euo pipefail
cd "$(dirname "$0")/.."
M=${1:-build-mpi}
UK=${UK:-0}
if [ "$UK" = 1 ]; then
    PERSONS=${PERSONS:-10000000}; MONTHS=${MONTHS:-24}
fi
PERSONS=${PERSONS:-1000000}; MONTHS=${MONTHS:-120}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
L="$M/engine/lmsim"; S=scenarios/wales_baseline.cfg
ARGS=(--persons "$PERSONS" --months "$MONTHS" -q)
MPI=(mpirun --oversubscribe --bind-to none)
now() { date +%s.%N; }
pm=$(echo "$PERSONS * $MONTHS" | bc)
printf '%-22s %9s %12s  %s\n' "run" "wall s" "M pm/s" "peak RSS per rank (MB)"
row() { # name seconds rss-file
    local rss; rss=$(grep -o 'rss=[0-9]*' "$3" | cut -d= -f2 | awk '{printf "%s%.0f", sep, $1/1024; sep=" "}')
    local tot; tot=$(grep -o 'rss=[0-9]*' "$3" | cut -d= -f2 | awk '{s += $1} END {print s}')
    printf '%-22s %9.2f %12.1f  %s  (%.0f bytes/person over all ranks)\n' "$1" "$2" \
        "$(echo "$pm / $2 / 1000000" | bc -l)" "$rss" "$(echo "$tot * 1024 / $PERSONS" | bc -l)"
}
PANELS=(none full); NPS=(1 2)
if [ "$UK" = 1 ]; then PANELS=(none); NPS=(2); fi
echo "persons $PERSONS x months $MONTHS; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
for panel in "${PANELS[@]}"; do
    t0=$(now); /usr/bin/time -f 'rss=%M' "$L" run $S -o "$tmp/base_$panel.h5" --panel $panel \
        --threads 2 "${ARGS[@]}" >/dev/null 2>"$tmp/rss_b"; t1=$(now)
    row "panel $panel, no MPI" "$(echo "$t1 - $t0" | bc -l)" "$tmp/rss_b"
    for np in "${NPS[@]}"; do
        th=$((2 / np))
        t0=$(now); "${MPI[@]}" -np $np /usr/bin/time -f 'rss=%M' "$L" run $S \
            -o "$tmp/np${np}_$panel.h5" --panel $panel --threads $th "${ARGS[@]}" \
            >/dev/null 2>"$tmp/rss_$np"; t1=$(now)
        row "panel $panel, np $np x $th thr" "$(echo "$t1 - $t0" | bc -l)" "$tmp/rss_$np"
    done
    /usr/bin/python3 - "$tmp/base_$panel.h5" "$tmp/np2_$panel.h5" <<'PY'
import sys, h5py
def value(d):
    x = d[()]
    # Variable-length strings (table columns) compare by text, not by pointer.
    return repr(x.tolist()) if x.dtype.hasobject else x.tobytes()
def load(p):
    out = {}
    with h5py.File(p, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, value(o)) if isinstance(o, h5py.Dataset) else None)
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
print("  np 2 datasets identical to no MPI:", "yes" if a == b else "NO", "(%d datasets)" % len(a))
PY
done
