#!/usr/bin/env bash
# Calibration benchmark (issue 9): `lmsim calibrate` of 15 free settings of
# the Wales baseline against the tuned targets of
# benchmarks/data/wales_targets_36m.cfg (31 tuned, 48 in all) at 200,000
# persons x 36 months on the machine's threads. Target: within 15 minutes on
# 2 cores.
#
# Prints, with the baseline measured in the same script: the seconds of one
# evaluation (`lmsim validate` on the same targets: every run variant of the
# targets, i.e. the scenario and its two trial runs), the calibration's
# evaluations, iterations, wall time and peak RSS, and the calibration's time
# per evaluation against that baseline (the optimiser's own overhead).
# Usage: benchmarks/bench_calibrate.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
PERSONS=${PERSONS:-200000}; MONTHS=${MONTHS:-36}; THREADS=${THREADS:-$(nproc)}
MAXITER=${MAXITER:-50}
T=benchmarks/data/wales_targets_36m.cfg
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
run=("$B/engine/lmsim")
common=(--persons "$PERSONS" --months "$MONTHS" --threads "$THREADS")

# Baseline: one evaluation (all variants), best of 3.
best=""
for _ in 1 2 3; do
  t0=$(now)
  "${run[@]}" validate scenarios/wales_baseline.cfg --targets "$T" "${common[@]}" -q >/dev/null || true
  t1=$(now)
  s=$(echo "$t1 - $t0" | bc -l)
  if [ -z "$best" ] || [ "$(echo "$s < $best" | bc -l)" = 1 ]; then best=$s; fi
done

free=(
  transitions.unemployed.[0].intercept=-3:1
  transitions.unemployed.[0].log_duration=-1.5:0
  transitions.unemployed.[0].low_employability=-4:0
  transitions.unemployed.[4].intercept=-6:-2
  transitions.inactive_sick.[0].intercept=-8:-2
  transitions.inactive_sick.[2].intercept=-8:-3
  transitions.inactive_caring.[0].intercept=-6:-1
  transitions.inactive_other.[0].intercept=-6:-1
  transitions.inactive_student.[0].intercept=-6:-1
  transitions.employed_poor.[0].intercept=-4:0
  transitions.employed_poor.[0].log_duration=-3:0
  transitions.employed_good.[0].intercept=-6:-1
  transitions.employed_poor.[5].intercept=-9:-2
  transitions.employed_good.[5].intercept=-9:-3
  job_quality.entry.[0].p_good=0.1:0.9
)
args=()
for f in "${free[@]}"; do args+=(--free "$f"); done
t0=$(now)
set +e
/usr/bin/time -f "%M" -o "$tmp/rss" "${run[@]}" calibrate scenarios/wales_baseline.cfg \
  --targets "$T" "${common[@]}" --max-iter "$MAXITER" "${args[@]}" -o "$tmp/fit.cfg" \
  2>"$tmp/log" >"$tmp/out"
rc=$?
set -e
t1=$(now)
secs=$(echo "$t1 - $t0" | bc -l)
if [ "$rc" -ne 0 ] && [ "$rc" -ne 7 ]; then
  echo "bench_calibrate: lmsim calibrate failed (exit $rc):" >&2
  cat "$tmp/log" >&2
  exit 1
fi
last=$(grep "iteration" "$tmp/log" | tail -n 1 || true)
iters=$(echo "$last" | sed -n 's/.*iteration \([0-9]*\),.*/\1/p')
evals=$(echo "$last" | sed -n 's/.* \([0-9]*\) evaluations.*/\1/p')
cost=$(echo "$last" | sed -n 's/.*cost \([0-9.e+-]*\) (start \([0-9.e+-]*\)).*/\2 -> \1/p')
rss=$(cat "$tmp/rss")
printf '| benchmark | persons | months | threads | free | tuned targets | value |\n'
printf '|---|--:|--:|--:|--:|--:|---|\n'
printf '| one evaluation (validate, 3 run variants), best of 3 | %s | %s | %s | | | %.2f s |\n' \
  "$PERSONS" "$MONTHS" "$THREADS" "$best"
printf '| calibrate (exit %s) | %s | %s | %s | %s | 31 | %.1f s = %.1f min; %s iterations, %s evaluations; cost %s; peak RSS %.0f MB |\n' \
  "$rc" "$PERSONS" "$MONTHS" "$THREADS" "${#free[@]}" "$secs" "$(echo "$secs / 60" | bc -l)" \
  "$iters" "$evals" "$cost" "$(echo "$rss / 1024" | bc -l)"
if [ -n "$evals" ] && [ "$evals" -gt 0 ]; then
  printf '| calibrate per evaluation | | | | | | %.2f s (%.2f x one validate) |\n' \
    "$(echo "$secs / $evals" | bc -l)" "$(echo "$secs / $evals / $best" | bc -l)"
fi
echo "Target: <= 15 minutes on 2 cores: $( [ "$(echo "$secs <= 900" | bc -l)" = 1 ] && echo met || echo NOT met)"
