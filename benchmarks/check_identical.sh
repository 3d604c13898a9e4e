#!/usr/bin/env bash
# Output bit-identical before and after an engine change (issue 12): the
# Wales baseline run by an OLD and a NEW lmsim binary with 1, 2 and 3
# threads (and, given an MPI build of NEW, split over mpirun -np 3); every
# dataset of /panel and /aggregates (and the rest of the file) must hold the
# same values as OLD's 1-thread run. Compressed bytes may differ (a new
# compressor); the data may not. Variable-length strings compare by text.
# Usage: benchmarks/check_identical.sh OLD_LMSIM NEW_LMSIM [NEW_MPI_LMSIM]
#        (PERSONS, MONTHS: default 200000 x 120; full panel; SCENARIO: another
#        scenario file; SETS: extra run arguments, e.g. SETS="--trial ips")
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1; NEW=$2; MPI_NEW=${3:-}
PERSONS=${PERSONS:-200000}; MONTHS=${MONTHS:-120}
S=${SCENARIO:-scenarios/wales_baseline.cfg}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ARGS=(--persons "$PERSONS" --months "$MONTHS" --panel full -q)
# shellcheck disable=SC2206
[ -n "${SETS:-}" ] && ARGS+=($SETS)
"$OLD" run $S -o "$tmp/old_t1.h5" --threads 1 "${ARGS[@]}" >/dev/null
files=()
for t in 1 2 3; do
    "$NEW" run $S -o "$tmp/new_t$t.h5" --threads $t "${ARGS[@]}" >/dev/null
    files+=("$tmp/new_t$t.h5")
done
if [ -n "$MPI_NEW" ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    mpirun --oversubscribe --bind-to none -np 3 "$MPI_NEW" run $S -o "$tmp/new_np3.h5" \
        --threads 1 "${ARGS[@]}" >/dev/null
    files+=("$tmp/new_np3.h5")
fi
/usr/bin/python3 - "$tmp/old_t1.h5" "${files[@]}" <<'PY'
import os, sys
import h5py
def text(v):
    if isinstance(v, (tuple, list)):
        return [text(e) for e in v]
    return v.decode() if isinstance(v, bytes) else v
def value(d):
    x = d[()]
    # Tables: by value, fixed- or variable-length strings alike (their type
    # changed in issue 11); numbers and panel: by bytes.
    return repr(text(x.tolist())) if x.dtype.names or x.dtype.hasobject else x.tobytes()
def load(p):
    out = {}
    with h5py.File(p, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, value(o)) if isinstance(o, h5py.Dataset) else None)
    return out
ref = load(sys.argv[1])
bad = 0
for p in sys.argv[2:]:
    got = load(p)
    diff = sorted(k for k in set(ref) | set(got) if ref.get(k) != got.get(k))
    panel = sum(k.startswith("panel/") for k in ref)
    print("%-12s %d datasets (%d in /panel), %s" % (os.path.basename(p), len(got), panel,
          "identical to OLD 1 thread" if not diff else "DIFFER: " + ", ".join(diff[:8])))
    bad |= bool(diff)
sys.exit(1 if bad else 0)
PY
