#!/usr/bin/env bash
# Sweep benchmark (issue 4): 32 tasks (2 points x 16 replicates) of the Wales
# baseline at 200,000 persons x 120 months, panel off. Prints tasks per minute
# for the sweep on 1 rank and on 2 MPI ranks (1 thread each), the overhead of
# the sweep machinery against running the same 32 tasks one by one with
# `lmsim run`, and the narrowing of the IPS-vs-baseline employment interval
# that common random numbers give (from `lmsim compare`).
# Usage: benchmarks/bench_sweep.sh [BUILD_DIR] [MPI_BUILD_DIR]   (defaults build, build-mpi)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; M=${2:-build-mpi}
PERSONS=${PERSONS:-200000}; MONTHS=${MONTHS:-120}; REPS=${REPS:-16}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/s.cfg" <<CFG
sweep = {
  base = "$PWD/scenarios/wales_baseline.cfg";
  output = "$tmp/out";
  replicates = $REPS;
  seed = 99;
  set = [ "simulation.persons=$PERSONS", "simulation.months=$MONTHS", "output.panel=\"none\"" ];
  points = ( { name = "baseline"; set = [ ]; },
             { name = "ips"; set = [ "programmes.ips.effects.fidelity=1.0",
                                     "programmes.ips.referral.probability=0.02",
                                     "programmes.ips.capacity.places_per_month=[150.0, 200.0, 350.0]",
                                     "programmes.ips.capacity.caseload_cap=[3000.0, 4000.0, 7000.0]" ]; } );
};
CFG
ntasks=$((2 * REPS))
now() { date +%s.%N; }
export OMP_NUM_THREADS=1
run_sweep() { # output dir; prints seconds
  local t0 t1; t0=$(now)
  "$B/engine/lmsim" sweep "$tmp/s.cfg" -o "$1" -q --threads 1 >/dev/null
  t1=$(now); echo "$t1 - $t0" | bc -l
}
run_singles() { # prints seconds
  local t0 t1 name seed point sets; t0=$(now)
  while read -r name seed; do
    point=${name%_r*}
    sets=(--set "simulation.persons=$PERSONS" --set "simulation.months=$MONTHS")
    if [ "$point" = ips ]; then
      sets+=(--set programmes.ips.effects.fidelity=1.0 --set programmes.ips.referral.probability=0.02
             --set "programmes.ips.capacity.places_per_month=[150.0, 200.0, 350.0]"
             --set "programmes.ips.capacity.caseload_cap=[3000.0, 4000.0, 7000.0]")
    fi
    "$B/engine/lmsim" run scenarios/wales_baseline.cfg -o "$tmp/b_$name.h5" -q --threads 1 \
        --panel none --seed "$seed" "${sets[@]}" >/dev/null
  done < "$tmp/seeds"
  t1=$(now); echo "$t1 - $t0" | bc -l
}
# The first sweep also provides the seeds of the one-by-one runs (read from
# its files before any clock starts).
sweep1=$(run_sweep "$tmp/a")
/usr/bin/python3 - "$tmp/a" > "$tmp/seeds" <<'PY'
import glob, os, sys, h5py
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*_r*.h5"))):
    print(os.path.basename(f)[:-3], h5py.File(f, "r").attrs["seed_str"])
PY
# ROUNDS alternating pairs (one by one, then sweep): the machine's drift
# affects both alike; the overhead is the median of the per-round ratios.
ROUNDS=${ROUNDS:-3}
ratios=()
for ((r = 1; r <= ROUNDS; r++)); do
  s1=$(run_singles)
  rm -rf "$tmp/a2"; s2=$(run_sweep "$tmp/a2")
  ratios+=("$(echo "$s2 / $s1" | bc -l)")
  printf "round %d: one by one %.1f s, sweep %.1f s, overhead %+.1f %%\n" $r "$s1" "$s2" \
      "$(echo "($s2 / $s1 - 1) * 100" | bc -l)"
  single=$s1; sweep1=$s2
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')
mpi="n/a (no $M/engine/lmsim)"
if [ -x "$M/engine/lmsim" ] && command -v mpirun >/dev/null; then
  t0=$(now)
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 --oversubscribe \
      --bind-to none "$M/engine/lmsim" sweep "$tmp/s.cfg" -o "$tmp/c" -q --threads 1 >/dev/null
  t1=$(now); mpi=$(echo "$t1 - $t0" | bc -l)
fi
narrow=$("$B/engine/lmsim" compare "$tmp/a/sweep.h5" baseline ips | sed -n 's/.* to \([0-9.]*\) of its unpaired.*/\1/p')
echo "| configuration | tasks | seconds | tasks/min |"
echo "|---|--:|--:|--:|"
printf "| lmsim sweep, 1 rank x 1 thread | %d | %.1f | %.1f |\n" $ntasks "$sweep1" "$(echo "$ntasks*60/$sweep1" | bc -l)"
if [[ "$mpi" != n/a* ]]; then
  printf "| mpirun -np 2 lmsim sweep, 1 thread each | %d | %.1f | %.1f |\n" $ntasks "$mpi" "$(echo "$ntasks*60/$mpi" | bc -l)"
else
  echo "| mpirun -np 2 lmsim sweep | $ntasks | $mpi | |"
fi
printf "| the same tasks one by one (lmsim run) | %d | %.1f | %.1f |\n" $ntasks "$single" "$(echo "$ntasks*60/$single" | bc -l)"
printf "sweep overhead vs one by one: median over %d rounds %+.1f %% (target <= 5 %%)\n" "$ROUNDS" "$(echo "($median - 1)*100" | bc -l)"
echo "common random numbers: the IPS - baseline employment interval is $narrow of its unpaired width"
