"""`mpirun -np K lmsim run` (one run split across ranks) equals the run without MPI.

Run only in a build with -DLMSIM_MPI=ON. Each rank steps a block of persons
and writes its panel columns to a part file; rank 0's file maps them with
virtual datasets and holds /persons and /referrals rows gathered from the
ranks. Every dataset read through the main file, and every root
attribute of the single-process file, must be identical for 1, 2 and 3
ranks: here with binding programme places (queue, priority keys), a trial,
alignment of a transition (Newton on block sums) and entrants, in full and
sampled panels.
"""
import glob
import os
import shutil
import subprocess

import h5py

from e2e_common import Suite, datasets, same, show

S = Suite("run_mpi")
SC = os.path.join(S.source, "tests", "data", "programmes.cfg")
ALIGN = ('alignment=( { from = "unemployed"; to = "employed"; region = "B"; '
         'target_per_month = 3000.0; } )')
ARGS = ["--months", "14", "--trial", "wf", "--set", ALIGN, "-q"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMP_NUM_THREADS="1")


def mpirun(k, args, timeout=300):
    cmd = ["mpirun", "-np", str(k), "--oversubscribe", "--bind-to", "none", S.binary] + args
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout)
    except subprocess.TimeoutExpired as ex:
        return subprocess.CompletedProcess(cmd, -999, "", "TIMEOUT %s" % ex)


def root_attrs(path):
    with h5py.File(path, "r") as f:
        return {k: str(v) for k, v in f.attrs.items() if k != "created_at"}


def leftovers(d):
    return glob.glob(os.path.join(d, "*.tmp*"))


for panel in ["full", "sample:0.3"]:
    tag = panel.split(":")[0]
    d = S.path(tag)
    os.makedirs(d)
    one = os.path.join(d, "one.h5")
    p = S.run(["run", SC, "-o", one, "--panel", panel, "--threads", "1"] + ARGS)
    S.check("%s: single-process run exits 0" % tag, p.returncode == 0, show(p))
    ref, ref_attrs = datasets(one), root_attrs(one)
    S.check("%s: reference has a panel" % tag, "panel/state" in ref and ref["panel/state"].size > 0)
    # the referral history is gathered from the ranks like /persons
    S.check("%s: reference has a referral history" % tag,
            "referrals" in ref and ref["referrals"].size > 100)
    for k in [1, 2, 3]:
        out = os.path.join(d, "np%d.h5" % k)
        threads = "2" if k == 2 else "1"  # ranks x threads mixed: still identical
        q = mpirun(k, ["run", SC, "-o", out, "--panel", panel, "--threads", threads] + ARGS)
        S.check("%s: mpirun -np %d run exits 0" % (tag, k), q.returncode == 0, show(q))
        if q.returncode != 0:
            continue
        S.check("%s: %d ranks give the single-process datasets" % (tag, k),
                same(ref, datasets(out)))
        attrs = root_attrs(out)
        S.check("%s: %d ranks keep every root attribute" % (tag, k),
                all(attrs.get(a) == v for a, v in ref_attrs.items()),
                str({a: (v, attrs.get(a)) for a, v in ref_attrs.items() if attrs.get(a) != v}))
        parts = sorted(glob.glob(os.path.join(d, "np%d.part*of%d.h5" % (k, k))))
        if k == 1:
            S.check("%s: one rank writes one whole file" % tag, parts == [])
        else:
            with h5py.File(out, "r") as f:
                listed = [str(x) for x in f.attrs["panel_parts"]]
                virtual = f["panel/state"].is_virtual
            S.check("%s: %d ranks write %d part files, all listed" % (tag, k, k),
                    len(parts) == k and listed == [os.path.basename(x) for x in parts],
                    "%s vs %s" % (parts, listed))
            S.check("%s: /panel of %d ranks is virtual" % (tag, k), virtual)
    S.check("%s: no temporary files left" % tag, leftovers(d) == [], str(leftovers(d)))

# Main file and parts moved together stay readable from anywhere (part names
# are relative to the main file).
moved = S.path("moved")
os.makedirs(moved)
for f in glob.glob(os.path.join(S.path("full"), "np3*")):
    shutil.move(f, moved)
here = os.getcwd()
os.chdir("/")
try:
    S.check("moved 3-rank file still equals the reference",
            same(datasets(os.path.join(S.path("full"), "one.h5")),
                 datasets(os.path.join(moved, "np3.h5"))))
finally:
    os.chdir(here)

# lmsim compare reads the split run's panel through its virtual datasets:
# every difference and paired s.e. against the single-process file is 0.
c = S.run(["compare", os.path.join(S.path("full"), "one.h5"), os.path.join(moved, "np3.h5"),
           "--csv"])
lines = c.stdout.strip().splitlines()
head = lines[0].split(",") if lines else []
rows = [line.split(",") for line in lines[1:]]
i_diff = head.index("diff") if "diff" in head else 6
i_se = head.index("se_paired") if "se_paired" in head else 7
S.check("compare single vs 3 ranks: paired, all differences 0",
        c.returncode == 0 and len(rows) > 10
        and all(r[i_diff] == "0" and r[i_se] == "0" and r[-1] == "paired" for r in rows), show(c))

# 10,001 persons over 3 ranks: blocks [0, 0), [0, 4096), [4096, 10001) (an
# empty rank, a population not a multiple of 4), written to a name with a '%'
# (which HDF5 would read as a pattern in a virtual dataset's source name).
d = S.path("edge")
os.makedirs(d)
small = ["--persons", "10001", "--months", "6", "--panel", "full", "-q"]
WALES = os.path.join(S.source, "scenarios", "wales_baseline.cfg")
p = S.run(["run", WALES, "-o", os.path.join(d, "one.h5")] + small)
q = mpirun(3, ["run", WALES, "-o", os.path.join(d, "r%b.h5")] + small)
S.check("edge: runs exit 0", p.returncode == 0 and q.returncode == 0, show(q))
S.check("edge: empty rank block and '%' in the name give the single-process datasets",
        q.returncode == 0 and same(datasets(os.path.join(d, "one.h5")),
                                   datasets(os.path.join(d, "r%b.h5"))))
S.check("edge: no part file for the empty block",
        sorted(os.path.basename(x) for x in glob.glob(os.path.join(d, "r%b.part*")))
        == ["r%b.part1of3.h5", "r%b.part2of3.h5"])

# Without a panel no part files are written.
d = S.path("none")
os.makedirs(d)
p = S.run(["run", SC, "-o", os.path.join(d, "one.h5"), "--panel", "none"] + ARGS)
q = mpirun(3, ["run", SC, "-o", os.path.join(d, "np3.h5"), "--panel", "none"] + ARGS)
S.check("panel none: runs exit 0", p.returncode == 0 and q.returncode == 0, show(q))
S.check("panel none: 3 ranks equal one process",
        q.returncode == 0 and same(datasets(os.path.join(d, "one.h5")),
                                   datasets(os.path.join(d, "np3.h5"))))
S.check("panel none: no part files", glob.glob(os.path.join(d, "*part*")) == [])
with h5py.File(os.path.join(d, "np3.h5"), "r") as f:
    S.check("panel none: every referral in /referrals", f["referrals"].shape[0] > 100)

# A missing output folder: every rank fails together before any work, with
# the I/O exit code and a message naming the folder, and leaves nothing
# (mpirun then adds its own notice of a non-zero exit).
bad = os.path.join(S.path("none"), "missing_dir", "x.h5")
q = mpirun(2, ["run", SC, "-o", bad, "--months", "2", "-q"])
msg = "error: cannot write '%s': its folder '%s' does not exist" % (bad, os.path.dirname(bad))
S.check("missing output folder: every rank reports, exit code 4",
        q.returncode == 4 and "rank 0 of 2: " + msg in q.stderr
        and "rank 1 of 2: " + msg in q.stderr and "mkdir -p" in q.stderr, show(q))
S.check("missing output folder: nothing written", not os.path.exists(os.path.dirname(bad)))
S.finish()
