"""No silent no-ops (issue 10, item 5).

Settings that load but can have no effect warn on stderr ("lmsim: warning:
...", even with -q) in check, run, validate and sweep (per task), and are
recorded in the run file's root attribute `warnings`, which `lmsim describe`
and Python's `lmsim.open(...).warnings` read: a timeline change after the
run's last month (wales_devolved_ips.cfg run for 24 months ends before its
policy starts in 2026-04), a programme that can never refer anyone
(referral probability 0, closed) or start anyone (no places, too few places
once scaled to the run). A clean run warns nothing. `lmsim compare` and
`lmsim.compare` give the same verdicts: identical runs and all-zero rows warn
in the same words, and incomparable pairs are refused with the same message;
the message table of include/lmsim/messages.h equals analysis/lmsim/messages.py.
"""
import os
import re
import sys
import warnings

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, show  # noqa: E402

S = Suite("noops")
sys.path.insert(0, os.path.join(S.source, "analysis"))
import lmsim  # noqa: E402
from lmsim import messages as M  # noqa: E402

WALES = os.path.join(S.source, "scenarios", "wales_baseline.cfg")
DEVOLVED = os.path.join(S.source, "scenarios", "wales_devolved_ips.cfg")
MARKOV = os.path.join(S.source, "tests", "data", "markov.cfg")
SMALL = ["--persons", "20000", "--months", "24", "-q", "--threads", "1"]
PREFIX = "lmsim: warning: "


def warned(p):
    """The warnings a command printed, without the prefix."""
    return [x[len(PREFIX):] for x in p.stderr.splitlines() if x.startswith(PREFIX)]


def attr(path):
    """The root attribute `warnings` as text, and whether it is a scalar
    variable-length UTF-8 string like the other string attributes."""
    with h5py.File(path, "r") as f:
        a = f.attrs.get_id("warnings")
        t = h5py.check_string_dtype(a.dtype)
        ok = a.shape == () and t is not None and t.length is None and t.encoding == "utf-8"
        v = f.attrs["warnings"]
        return (v.decode() if isinstance(v, bytes) else v), ok


def run(name, scenario, *extra):
    out = S.path(name + ".h5")
    p = S.run(["run", scenario, "-o", out] + SMALL + list(extra), timeout=300)
    S.check("run %s: exit 0" % name, p.returncode == 0, show(p))
    return out, p


def py_compare(a, b):
    """lmsim.compare(a, b): (DataFrame or None, error message or None,
    warning texts)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            c, e = lmsim.compare(a, b), None
        except lmsim.CompareError as x:
            c, e = None, str(x)
    return c, e, [str(w.message) for w in rec if issubclass(w.category, lmsim.NoOpWarning)]


# -- the shared message table ---------------------------------------------------
with open(os.path.join(S.source, "include", "lmsim", "messages.h")) as fh:
    header = fh.read().replace("\\\n", " ")
c_msgs = {}
for m in re.finditer(r'#define LM_MSG_(\w+)\s+((?:"(?:[^"\\]|\\.)*"\s*)+)', header):
    c_msgs[m.group(1)] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2)))
S.check("messages.h and lmsim.messages list the same messages",
        sorted(c_msgs) == sorted(M.MESSAGES) and len(c_msgs) >= 12,
        "C only: %s; Python only: %s" % (sorted(set(c_msgs) - set(M.MESSAGES)),
                                         sorted(set(M.MESSAGES) - set(c_msgs))))
S.check("every message text is the same in C and Python",
        all(c_msgs.get(k) == v for k, v in M.MESSAGES.items()),
        str([(k, c_msgs.get(k), v) for k, v in M.MESSAGES.items() if c_msgs.get(k) != v][:2]))
S.check("formats use only %s and %d (read alike by printf and Python's %)",
        all(set(re.findall(r"%.", v)) <= {"%s", "%d"} for v in c_msgs.values()))

# -- a timeline after the run's end -------------------------------------------------
p = S.run(["check", DEVOLVED, "--set", "simulation.months=24"])
w = warned(p)
S.check("check devolved 24 months: exit 0, OK line unchanged",
        p.returncode == 0 and ": OK: scenario 'wales_devolved_ips'" in p.stdout, show(p))
S.check("check devolved 24 months: one warning per timeline entry", len(w) == 2, show(p))
S.check("the warnings name the file and the setting",
        all(("wales_devolved_ips.cfg: timeline[%d].from = \"2026-04\": " % k) in w[k]
            for k in range(len(w))), str(w))
S.check("the warnings say the change is after the run's end and has no effect",
        len(w) == 2 and "this change takes effect in month 27, after the run's last month "
        "(24, 2026-01): it has no effect" in w[0] and "this ramp starts in month 27" in w[1],
        str(w))
p = S.run(["check", DEVOLVED, "--set", "simulation.months=27"])
S.check("check devolved 27 months (the policy's first month is the last): no warning",
        p.returncode == 0 and p.stderr == "", show(p))

dev, p = run("dev", DEVOLVED)
S.check("run devolved 24 months: the same warnings on stderr, even with -q", warned(p) == w,
        show(p))
text, ok = attr(dev)
S.check("run file: root attribute `warnings`, a variable-length UTF-8 string", ok)
S.check("run file: `warnings` holds the warnings, one per line", text == "\n".join(w), repr(text))
p = S.run(["describe", dev])
S.check("describe prints the file's warnings",
        p.returncode == 0 and all(("Warning (recorded by the run): " + x) in p.stdout for x in w),
        show(p))
S.check("Python: lmsim.open(...).warnings", lmsim.open(dev).warnings == w,
        str(lmsim.open(dev).warnings))

# -- a clean run --------------------------------------------------------------------
base, p = run("base", WALES)
S.check("clean run: no warning", "warning" not in p.stderr, show(p))
S.check("clean run: `warnings` is \"\"", attr(base) == ("", True), repr(attr(base)))
S.check("clean run: Python warnings []", lmsim.open(base).warnings == [])
p = S.run(["check", WALES])
S.check("check of the baseline: exit 0, nothing on stderr", p.returncode == 0 and p.stderr == "",
        show(p))

# -- programmes that refer or start no one --------------------------------------------
CASES = [
    ("referral probability 0", ["programmes.ips.referral.probability=0.0"],
     "wales_baseline.cfg: programmes.ips.referral.probability = 0: programme 'ips' has referral "
     "probability 0 in every month it is open: no one is referred to it, it has no effect"),
    ("zero places", ["programmes.work_first.capacity.places_per_month=[0.0, 0.0, 0.0]"],
     "programmes.work_first.capacity.places_per_month = [...]: programme 'work_first' has no "
     "places in any month of the run"),
    ("closed all run", ["programmes.ips.open=false"],
     "programmes.ips.open = false: programme 'ips' is closed in every month of the run (1-120)"),
    ("too few places once scaled", ["simulation.persons=2000", "simulation.months=12"],
     "programmes/ips.cfg:21: programmes.ips.capacity.places_per_month = [...]: programme 'ips' "
     "can start no one: its places scaled to the run"),
]


def check_one_warning(scenario, cases):
    """`lmsim check` of scenario with each case's --set list: exit 0 and exactly
    one warning, containing the expected text."""
    for label, sets, want in cases:
        args = ["check", scenario]
        for x in sets:
            args += ["--set", x]
        p = S.run(args)
        S.check("check, %s: exit 0 and one warning naming the setting" % label,
                p.returncode == 0 and len(warned(p)) == 1 and want in warned(p)[0], show(p))


check_one_warning(WALES, CASES)

# Transition settings that cannot act (tests/data/tenure.cfg has neither
# the pay-churn type nor a duration term on poor -> good).
TENURE = os.path.join(S.source, "tests", "data", "tenure.cfg")
TCASES = [
    ("months in work without a duration term", ['transitions.employed_poor.[1].duration="in_work"'],
     'transitions.employed_poor[1].duration = "in_work": months in work count only through '
     "log_duration, which is 0 here: it has no effect"),
    ("pay_churn coefficient, no one of the type", ["transitions.employed_poor.[1].pay_churn=1.0"],
     "transitions.employed_poor[1].pay_churn = 1: no one is of the pay-churn type"),
    ("pay-churn type, no coefficient",
     ["population.pay_churn_by_state=[0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0]"],
     "population.pay_churn_by_state = [...]: no transition has a pay_churn coefficient"),
]
check_one_warning(TENURE, TCASES)
p = S.run(["check", TENURE, "--set", "transitions.employed_poor.[1].pay_churn=1.0", "--set",
           "population.pay_churn_by_state=[0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0]"])
S.check("check, pay-churn type with a coefficient: no warning",
        p.returncode == 0 and warned(p) == [], show(p))
# ...nor when a timeline supplies the missing part (the shares from 2024-06).
tl = S.path("churn_timeline.cfg")
with open(tl, "w") as fh:
    fh.write('base = "%s";\ntimeline = ( { from = "2024-06"; set = { population = {\n'
             '  pay_churn_by_state = [0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0]; }; }; } );\n' % TENURE)
p = S.run(["check", tl, "--set", "transitions.employed_poor.[1].pay_churn=1.0"])
S.check("check, pay-churn shares set by a timeline: no warning",
        p.returncode == 0 and warned(p) == [], show(p))

# In a file: the warning gives file:line, as errors do.
sc = S.path("noref.cfg")
with open(MARKOV) as fh:
    markov_text = fh.read()
block = ("programmes = {\n  p = {\n    eligible = { state = \"unemployed\"; };\n"
        "    referral = { probability = 0.0; };\n    capacity = { places_per_month = [10.0]; };\n"
        "    duration_months = 3;\n    effects = { };\n    costs = { };\n  };\n};\n")
line = markov_text.count("\n") + 4
with open(sc, "w") as fh:
    fh.write(markov_text + block)
p = S.run(["check", sc])
S.check("a setting in a file: the warning names file:line",
        len(warned(p)) == 1 and warned(p)[0].startswith(
            "%s:%d: programmes.p.referral.probability = 0: " % (sc, line)), show(p))
p = S.run(["check", sc, "--set", "programmes.p.eligible.state=[\"inactive_sick\"]",
           "--set", "programmes.p.referral.probability=0.5"])
S.check("eligible only for a state no one can be in: warns",
        len(warned(p)) == 1 and "`eligible` selects only states no one can be in" in warned(p)[0],
        show(p))
noref, p = run("noref", WALES, "--months", "12", "--set",
               "programmes.ips.referral.probability=0.0")
S.check("run with a programme that refers no one: warns and records it",
        len(warned(p)) == 1 and attr(noref)[0] == warned(p)[0], show(p))
with h5py.File(noref, "r") as f:
    table = f["outcomes/programmes"][...]
S.check("...and indeed nobody was referred to it",
        int(table[table["programme"] == b"ips"]["referrals"].sum()) == 0)

# -- validate and sweep ---------------------------------------------------------------------
late = ["--set", 'timeline=({from="2030-01"; set={market={matching_elasticity=0.1;};};})']
vout = S.path("validate.h5")
p = S.run(["validate", S.tiny, "--targets",
           os.path.join(S.source, "tests", "data", "validate_tiny_targets.cfg"), "--months", "36",
           "-q", "-o", vout] + late, timeout=300)
S.check("validate: exit status unchanged (0), the warning on stderr",
        p.returncode == 0 and len(warned(p)) == 1 and "timeline[0].from = \"2030-01\"" in
        warned(p)[0] and "(36, 2027-01)" in warned(p)[0], show(p))
S.check("validate -o: the file records it", attr(vout)[0] == "\n".join(warned(p)))
p = S.run(["validate", "--run", vout, "--targets",
           os.path.join(S.source, "tests", "data", "validate_tiny_targets.cfg"), "-q"])
S.check("validate --run: the file's warnings, as compare shows them",
        p.returncode == 0 and warned(p) == [M.FILE_WARNING % (vout, attr(vout)[0])], show(p))

sweep = S.path("noop_sweep.cfg")
with open(sweep, "w") as fh:
    fh.write('sweep = {\n  base = "%s";\n  output = "%s";\n  replicates = 1;\n  seed = 7;\n'
             '  set = [ "simulation.persons=20000", "simulation.months=12", '
             '"output.panel=\\"none\\"" ];\n'
             '  points = ( { name = "plain"; set = [ ]; },\n'
             '             { name = "noref"; set = [ "programmes.ips.referral.probability=0.0" ];'
             ' } );\n};\n' % (WALES, S.path("sweep_out")))
p = S.run(["sweep", sweep, "-q", "--threads", "1"], timeout=300)
task = os.path.join(S.path("sweep_out"), "noref_r000.h5")
S.check("sweep: exit 0, one warning, for the task whose point refers no one",
        p.returncode == 0 and len(warned(p)) == 1 and warned(p)[0].startswith(task + ": ")
        and "referral probability 0" in warned(p)[0], show(p))
S.check("sweep: the task file records it, the other task has none",
        attr(task)[0] == warned(p)[0][len(task) + 2:] and
        attr(os.path.join(S.path("sweep_out"), "plain_r000.h5"))[0] == "")

# -- compare: identical runs, all-zero rows, the files' warnings ----------------------------
p = S.run(["compare", base, base])
c, e, pw = py_compare(base, base)
S.check("compare a file with itself: exit 0, warns that the runs are identical",
        p.returncode == 0 and warned(p) == [M.IDENTICAL], show(p))
S.check("...and says so in the table's note", ("note: " + M.IDENTICAL) in p.stdout, show(p))
S.check("lmsim.compare of a file with itself: the same warning, and in the note",
        e is None and pw == [M.IDENTICAL] and c.attrs["note"].startswith(M.IDENTICAL)
        and c.attrs["identical"], str((e, pw)))

p = S.run(["compare", base, dev, "--csv"])
c, e, pw = py_compare(base, dev)
want = [M.IDENTICAL_SCENARIOS_DIFFER] + [M.FILE_WARNING % (dev, x) for x in w]
S.check("baseline vs devolved at 24 months: identical, explained by the file's warnings",
        p.returncode == 0 and warned(p) == want, show(p))
S.check("...Python warns the same lines", pw == want and c.attrs["warnings"] == want, str(pw))
S.check("...every difference is zero", (c["diff"] == 0).all())

cost, p = run("cost", WALES, "--set", "programmes.work_first.costs.per_start=2000.0")
p = S.run(["compare", base, cost])
c, e, pw = py_compare(base, cost)
S.check("runs that differ only in programme costs: all rows zero, explained",
        p.returncode == 0 and warned(p) == [M.LAST_MONTH_ZERO] and pw == [M.LAST_MONTH_ZERO]
        and not c.attrs["identical"], show(p) + str(pw))

effect, p = run("effect", WALES, "--set", "programmes.work_first.effects.job_finding_or=3.0")
p = S.run(["compare", base, effect])
c, e, pw = py_compare(base, effect)
S.check("runs that differ: no warning from either",
        p.returncode == 0 and "warning" not in p.stderr and pw == [], show(p) + str(pw))

# -- incomparable pairs: refused with the same message -------------------------------------
persons, _ = run("persons", WALES, "--persons", "10000")
months, _ = run("months", WALES, "--months", "12")
start, _ = run("start", WALES, "--set", "simulation.start=\"2025-01\"",
               "--set", "appraisal.price_base_year=2025")  # (the base year must be in the run)
regions, _ = run("regions", MARKOV)                 # one region
names, _ = run("names", S.tiny)                     # three regions, other names
plain = S.path("plain.h5")
with h5py.File(plain, "w") as f:
    f["x"] = np.arange(3)
text_file = S.path("text.h5")
with open(text_file, "w") as fh:
    fh.write("not hdf5\n")
headless = S.path("headless.h5")       # every root attribute, no /outcomes/headline
badtype = S.path("badtype.h5")         # n_months as a string
with h5py.File(base, "r") as src:
    for path, change in ((headless, {}), (badtype, {"n_months": "24"})):
        with h5py.File(path, "w") as f:
            for k, v in src.attrs.items():
                f.attrs[k] = change.get(k, v)
            if path == badtype:
                src.copy("outcomes", f)
REFUSED = [("different persons", persons, 2, "20000 persons against 10000"),
           ("different months", months, 2, "24 months against 12"),
           ("different start month", start, 2, "start month 2024-01 against 2025-01"),
           ("different regions", regions, 2, "different regions?"),
           ("different region names", names, 2, "headline group 11 is 'region:North Wales' "
            "against 'region:North'"),
           ("missing file", S.path("missing.h5"), 4, "No such file or directory"),
           ("not HDF5", text_file, 4, "is not an HDF5 file"),
           ("HDF5, not lmsim", plain, 4, "root attribute 'scenario_name' missing"),
           ("lmsim attributes, no headline", headless, 4, "/outcomes/headline is missing"),
           ("an attribute of the wrong type", badtype, 4, "root attribute 'n_months' missing or "
            "of the wrong type")]
for label, other, code, part in REFUSED:
    p = S.run(["compare", base, other])
    c, e, pw = py_compare(base, other)
    S.check("%s: lmsim compare refuses (exit %d)" % (label, code),
            p.returncode == code and part in p.stderr, show(p))
    S.check("%s: lmsim.compare refuses with the same message" % label,
            e is not None and p.stderr == "lmsim: error: %s\n" % e, "C %r, Python %r"
            % (p.stderr, e))
S.finish()
