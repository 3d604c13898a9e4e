"""End-to-end: `lmsim calibrate` recovers known parameters.

1. Targets are made from a run with known parameters: the catalogue
   measures of tests/data/e2e_tiny.cfg (as it is) are computed by
   `lmsim validate --csv` from a targets file with placeholder values, then
   written as the published values of a second targets file with
   tolerances of 2 % of each value (a residual of exactly 0 at the known
   parameters: same seed, common random numbers).
2. `lmsim calibrate` starts from perturbed values of three transition
   intercepts (--set) and must recover each within 3 standard errors of its
   own fit (+ a small absolute allowance): away from the known point the
   simulated measures carry sampling noise of about one tolerance (paths
   diverge once a person moves in another month), so the fit stops within
   about one s.e. of the truth. Exit 0, in well under a minute; the fitted
   scenario must load.
3. The same calibration with --max-iter 1 exits 7 and writes the best
   point with a NOT CONVERGED header; repeated, it is byte-identical.

Needs `lmsim validate` and the targets of the validate branch; registered
only when lmsim/targets.h is in the tree.
"""
import csv
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, show  # noqa: E402

S = Suite("calibration_recovery")

# (setting, known value in e2e_tiny.cfg, perturbed start, bounds)
FREE = [
    ("transitions.unemployed.[0].intercept", -1.7, -1.2, (-3.5, 0.0)),
    ("transitions.employed_good.[0].intercept", -6.0, -5.4, (-8.0, -4.0)),
    ("transitions.employed_poor.[1].intercept", -4.6, -4.1, (-6.5, -3.0)),
]
# Allowance on top of 3 s.e.: a simulated objective moves in steps.
ABS_ALLOWANCE = 0.02
TIME_LIMIT = 60.0

# Measures identifying each intercept, plus two stock shares (tuned) and one
# validation target (reported, never fitted).
MEASURES = [
    ("u_to_e", 'measure = "flow"; from = ["unemployed"]; to = ["employed"]; months = [1, 24];',
     "tuned"),
    ("eg_to_u", 'measure = "flow"; from = ["employed_good"]; to = ["unemployed"]; '
     'months = [1, 24];', "tuned"),
    ("ep_to_eg", 'measure = "flow"; from = ["employed_poor"]; to = ["employed_good"]; '
     'months = [1, 24];', "tuned"),
    ("employment_rate", 'measure = "share"; states = ["employed"]; months = [12, 24];', "tuned"),
    ("ilo_unemployment", 'measure = "share"; states = ["unemployed"]; '
     'among = ["unemployed", "employed"]; months = [12, 24];', "tuned"),
    ("employment_disabled", 'measure = "share"; states = ["employed"]; '
     'group = { disabled = true; }; months = [24, 24];', "validation"),
]
# Tolerances relative to the values (2 %): the monthly flows differ by a
# factor 60 (U->E about 0.15, EG->U about 0.0025), and an absolute tolerance
# would leave the rare flows unidentified (s.e. of order 1).
TOLERANCE_REL, TOLERANCE_MIN = 0.02, 1e-4


def targets_file(path, values):
    with open(path, "w") as f:
        f.write("targets = (\n")
        for k, (tid, spec, use) in enumerate(MEASURES):
            f.write('  { id = "%s"; %s value = %r; tolerance = %r; evidence = "TEST"; '
                    'use = "%s"; }%s\n' % (tid, spec, values.get(tid, 0.5),
                                           max(TOLERANCE_REL * values[tid], TOLERANCE_MIN)
                                           if values else 1.0, use,
                                           "," if k + 1 < len(MEASURES) else ""))
        f.write(");\n")


# 1. Measures at the known parameters.
t0 = S.path("placeholder.cfg")
targets_file(t0, {})
sim_csv = S.path("known.csv")
p = S.run(["validate", S.tiny, "--targets", t0, "--csv", sim_csv])
S.check("validate at the known parameters runs", p.returncode in (0, 6), show(p))
known = {}
if os.path.exists(sim_csv):
    with open(sim_csv) as f:
        for row in csv.DictReader(f):
            known[row["id"]] = float(row["simulated"])
S.check("every measure computed", set(known) == {m[0] for m in MEASURES}, str(known))
targets = S.path("targets.cfg")
targets_file(targets, known)

# 2. Calibrate from perturbed starting values.
fitted = S.path("fitted.cfg")
args = ["calibrate", S.tiny, "--targets", targets, "-o", fitted]
for path, _, start, (lo, hi) in FREE:
    args += ["--free", "%s=%r:%r" % (path, lo, hi), "--set", "%s=%r" % (path, start)]
t = time.time()
p = S.run(args, timeout=2 * TIME_LIMIT)
dt = time.time() - t
S.check("calibrate exits 0 (converged)", p.returncode == 0, show(p, 2000))
S.check("within %.0f s (took %.1f s)" % (TIME_LIMIT, dt), dt < TIME_LIMIT)
text = open(fitted).read() if os.path.exists(fitted) else ""
unc = S.path("fitted.uncertain.cfg")
utext = open(unc).read() if os.path.exists(unc) else ""
for path, value, start, _ in FREE:
    m = re.search(r'"%s=([^"]+)"' % re.escape(path), text)
    s = re.search(r'path = "%s"; dist = "normal"; mean = [^;]+; sd = ([^;]+);' % re.escape(path),
                  utext)
    if not S.check("%s fitted and has a s.e." % path, m and s, text[-800:]):
        continue
    fit, se = float(m.group(1)), float(s.group(1))
    S.check("%s: %.4f recovers %.4f within 3 s.e. (%.4f) + %.2f (start %.2f)"
            % (path, fit, value, se, ABS_ALLOWANCE, start),
            abs(fit - value) <= 3 * se + ABS_ALLOWANCE)
    S.check("%s: s.e. %.4g is informative" % (path, se), 0 < se < 0.5)
p = S.run(["check", fitted])
S.check("the fitted scenario loads", p.returncode == 0, show(p))

# 3. Not converged: best point written, exit 7, deterministic.
outs = []
for k in range(2):
    f2 = S.path("short.cfg")  # the same name both times: the header names it
    a2 = [x if x != fitted else f2 for x in args] + ["--max-iter", "1", "--quiet"]
    p = S.run(a2, timeout=2 * TIME_LIMIT)
    S.check("--max-iter 1 exits 7 (run %d)" % k, p.returncode == 7, show(p))
    body = open(f2).read() if os.path.exists(f2) else ""
    S.check("NOT CONVERGED header (run %d)" % k, "NOT CONVERGED" in body)
    outs.append(body)
S.check("repeated calibration is byte-identical", outs[0] == outs[1] and outs[0] != "")
S.finish()
