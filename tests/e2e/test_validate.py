"""End-to-end: `lmsim validate` and `lmsim run --targets`.

On tests/data/e2e_tiny.cfg (36 months) with tests/data/validate_tiny_targets.cfg
(one target of each population measure, all within tolerance) and on
tests/data/programmes.cfg with tests/data/moments_targets.cfg (programme
measures and two trial variants):

- exit 0 when every target passes, 6 when one does not (and --widen can
  bring it back), 3 for a bad targets file or one that does not fit the run
  (the message names file:line and the setting), 4 for a missing targets
  file or run file, 2 for usage errors; on every error no output file
  (OUT.h5, OUT.h5.tmp, the CSV) is left behind;
- the printed table, the --csv file and /validation in the run file (h5py)
  hold the same rows and values; 1 and 3 threads give the same CSV;
- `validate --run FILE.h5` on a full-panel file gives exactly the streamed
  values for the population measures and programme counts; programme
  outcomes and targets of trial runs are n/a with a reason;
- `lmsim run --targets` prints the table and writes /validation;
- `lmsim --help` documents validate.
"""
import csv
import math
import os
import re
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, show, tmp_files  # noqa: E402

S = Suite("validate")
DATA = os.path.join(S.source, "tests", "data")
TARGETS = os.path.join(DATA, "validate_tiny_targets.cfg")
PROG = os.path.join(DATA, "programmes.cfg")
PROG_TARGETS = os.path.join(DATA, "moments_targets.cfg")
TEXT = open(TARGETS).read()
TINY = ["--months", "36", "-q"]

EXIT_OK, EXIT_USAGE, EXIT_INVALID, EXIT_IO, EXIT_NOT_MET = 0, 2, 3, 4, 6


def write(name, text):
    path = S.path(name)
    with open(path, "w") as f:
        f.write(text)
    return path


def subst(old, new, text=TEXT):
    if text.count(old) != 1:
        raise SystemExit("test bug: %r occurs %d times" % (old, text.count(old)))
    return text.replace(old, new)


def line_of(text, needle):
    return text.count("\n", 0, text.index(needle)) + 1


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def table_rows(stdout):
    """Rows of the printed table: id -> list of columns."""
    rows = {}
    lines = stdout.splitlines()
    start = [i for i, ln in enumerate(lines) if ln.startswith("id ")]
    if not start:
        return rows
    for ln in lines[start[0] + 1:]:
        if " targets met " in ln:
            break
        cols = ln.split()
        rows[cols[0]] = cols
    return rows


def no_outputs(name, *paths):
    for p in paths:
        S.check("%s: no %s" % (name, os.path.basename(p)), not os.path.exists(p))
        S.check("%s: no %s.tmp*" % (name, os.path.basename(p)), not tmp_files(p))


ids = [ln.split('"')[1] for ln in TEXT.splitlines() if ln.strip().startswith("{ id = ")]

# ---- exit 0: every target met; table, CSV and /validation agree ----------
out, out_csv = S.path("ok.h5"), S.path("ok.csv")
p = S.run(["validate", S.tiny, "--targets", TARGETS, "-o", out, "--csv", out_csv] + TINY)
S.check("all met: exit 0", p.returncode == EXIT_OK, show(p))
rows = table_rows(p.stdout)
S.check("all met: table has every target", sorted(rows) == sorted(ids), show(p))
S.check("all met: table header", "published" in p.stdout and "simulated" in p.stdout
        and "tolerance" in p.stdout and "evidence" in p.stdout, show(p))
S.check("all met: every row passes", all(r[-1] == "yes" for r in rows.values()), show(p))
S.check("all met: summary line", "%d of %d targets met" % (len(ids), len(ids)) in p.stdout,
        show(p))
S.check("all met: no s.e. column without --widen", "s.e." not in p.stdout, show(p))
streamed = read_csv(out_csv) if os.path.exists(out_csv) else []
S.check("csv: one row per target, in file order", [r["id"] for r in streamed] == ids)
S.check("csv: columns", streamed and list(streamed[0].keys()) == [
    "id", "evidence", "use", "measure", "describe", "published", "simulated", "tolerance", "se",
    "pass", "available", "reason"])
S.check("csv: all pass and available",
        all(r["pass"] == "1" and r["available"] == "1" for r in streamed))
for r in streamed:
    printed = rows.get(r["id"], [])
    ok = len(printed) > 4 and abs(float(printed[4]) - float(r["simulated"])) <= \
        1e-5 * max(1.0, abs(float(r["simulated"])))
    S.check("csv = table: %s" % r["id"], ok, "%s vs %s" % (printed, r["simulated"]))
S.check("-o: no temporary file left", not tmp_files(out))
try:
    with h5py.File(out, "r") as f:
        v = f["validation"][...]
        names = v.dtype.names
        panel_mode = f.attrs["panel_mode"]
    S.check("/validation: columns", names == ("id", "evidence", "use", "measure", "describe",
                                              "published", "simulated", "tolerance", "se",
                                              "pass"), str(names))

    def text(x):
        return x.decode() if isinstance(x, bytes) else x
    S.check("/validation: rows = targets", [text(x) for x in v["id"]] == ids)
    S.check("/validation: simulated = csv",
            all(float(r["simulated"]) == float(x) for r, x in zip(streamed, v["simulated"])))
    S.check("/validation: published, tolerance, se = csv",
            all(float(r["published"]) == float(a) and float(r["tolerance"]) == float(b)
                and float(r["se"]) == float(c)
                for r, a, b, c in zip(streamed, v["published"], v["tolerance"], v["se"])))
    S.check("/validation: pass", all(int(x) == 1 for x in v["pass"]))
    S.check("/validation: evidence, use, measure, describe",
            [text(x) for x in v["evidence"]] == [r["evidence"] for r in streamed]
            and [text(x) for x in v["use"]] == [r["use"] for r in streamed]
            and [text(x) for x in v["measure"]] == [r["measure"] for r in streamed]
            and [text(x) for x in v["describe"]] == [r["describe"] for r in streamed])
    S.check("-o: the file has a full panel", text(panel_mode) == "full")
except Exception as e:  # noqa: BLE001
    S.check("/validation readable with h5py", False, repr(e))

# ---- --run on the full-panel file: the same values -------------------------
rep_csv = S.path("replay.csv")
p = S.run(["validate", "--run", out, "--targets", TARGETS, "--csv", rep_csv, "-q"])
S.check("--run: exit 0", p.returncode == EXIT_OK, show(p))
replayed = read_csv(rep_csv) if os.path.exists(rep_csv) else []
S.check("--run: every target", [r["id"] for r in replayed] == ids)
for a, b in zip(streamed, replayed):
    S.check("--run = streamed: %s" % a["id"],
            a["simulated"] == b["simulated"] and a["se"] == b["se"], "%s vs %s" % (a, b))
# The same file twice: pooled counts, the same shares.
p = S.run(["validate", "--run", out, "--run", out, "--targets", TARGETS, "--csv", rep_csv, "-q"])
S.check("--run twice: exit 0", p.returncode == EXIT_OK, show(p))
twice = read_csv(rep_csv) if os.path.exists(rep_csv) else []
S.check("--run twice: same values", [float(r["simulated"]) for r in twice] ==
        [float(r["simulated"]) for r in streamed])
# The CSV is written to a temporary file of its own: a file under the old
# fixed name (another process's, say) is neither truncated nor renamed.
other = rep_csv + ".tmp"
with open(other, "w") as f_:
    f_.write("another writer\n")
p = S.run(["validate", "--run", out, "--targets", TARGETS, "--csv", rep_csv, "-q"])
S.check("--csv: exit 0 beside a foreign REPLAY.csv.tmp", p.returncode == EXIT_OK, show(p))
S.check("--csv: the foreign .tmp file untouched", open(other).read() == "another writer\n")
S.check("--csv: no temporary file of its own left",
        [f_ for f_ in tmp_files(rep_csv) if f_ != other] == [], str(tmp_files(rep_csv)))
os.remove(other)

# ---- threads: the same table, byte for byte ---------------------------------
t1, t3 = S.path("t1.csv"), S.path("t3.csv")
p1 = S.run(["validate", S.tiny, "--targets", TARGETS, "--csv", t1, "--threads", "1"] + TINY)
p3 = S.run(["validate", S.tiny, "--targets", TARGETS, "--csv", t3, "--threads", "3"] + TINY)
S.check("threads: exit 0", p1.returncode == 0 and p3.returncode == 0, show(p1) + show(p3))
S.check("threads: 1 and 3 threads give the same CSV", os.path.exists(t1) and os.path.exists(t3)
        and open(t1).read() == open(t3).read() and open(t1).read() == open(out_csv).read())
for f_ in (t1, t3):
    os.remove(f_)

# ---- exit 6: a target not met; --widen; no file written without -o ----------
bad = write("notmet.cfg", subst("value = 0.78; tolerance = 0.05;", "value = 0.70; tolerance = 0.05;"))
p = S.run(["validate", S.tiny, "--targets", bad] + TINY)
S.check("not met: exit 6", p.returncode == EXIT_NOT_MET, show(p))
rows = table_rows(p.stdout)
S.check("not met: the row says NO", rows.get("employment_rate", [""])[-1] == "NO", show(p))
S.check("not met: summary", "%d of %d targets met (1 not met, 0 n/a)" % (len(ids) - 1, len(ids))
        in p.stdout, show(p))
S.check("not met: no file written without -o", sorted(os.listdir(S.tmp)) ==
        sorted(["ok.h5", "ok.csv", "replay.csv", "notmet.cfg"]), str(os.listdir(S.tmp)))
p = S.run(["validate", S.tiny, "--targets", bad, "--widen", "1000"] + TINY)
S.check("--widen 1000: exit 0", p.returncode == EXIT_OK, show(p))
S.check("--widen: s.e. column", "s.e." in p.stdout, show(p))
p = S.run(["validate", S.tiny, "--targets", bad, "--widen", "0"] + TINY)
S.check("--widen 0: exit 6", p.returncode == EXIT_NOT_MET, show(p))
# --require: which targets decide the exit status. employment_rate is tuned,
# so it still fails with --require tuned; made a validation target it does not.
p = S.run(["validate", S.tiny, "--targets", bad, "--require", "tuned"] + TINY)
S.check("--require tuned, a tuned target not met: exit 6", p.returncode == EXIT_NOT_MET, show(p))
S.check("--require: summary by use",
        re.search(r"tuned \d+ of \d+, validation \d+ of \d+", p.stdout), show(p))
bad_v = write("notmet_v.cfg", subst("value = 0.78; tolerance = 0.05; evidence = \"T01\"; "
                                    "use = \"tuned\";",
                                    "value = 0.70; tolerance = 0.05; evidence = \"T01\"; "
                                    "use = \"validation\";"))
p = S.run(["validate", S.tiny, "--targets", bad_v, "--require", "tuned"] + TINY)
S.check("--require tuned, only a validation target not met: exit 0",
        p.returncode == EXIT_OK and "1 not met" in p.stdout, show(p))
p = S.run(["validate", S.tiny, "--targets", bad_v] + TINY)
S.check("--require all (default), a validation target not met: exit 6",
        p.returncode == EXIT_NOT_MET, show(p))
p = S.run(["validate", S.tiny, "--targets", bad_v, "--require", "some"] + TINY)
S.check("--require some: usage error", p.returncode == EXIT_USAGE and "--require" in p.stderr,
        show(p))
os.remove(bad_v)

# ---- exit 3: invalid targets or targets that do not fit the run -------------
cases = [
    ("unknown measure", subst('measure = "duration_share"', 'measure = "duration_shares"'),
     'measure = "duration_shares"', "targets[4].measure", []),
    ("unknown key", subst("mode = \"any\";", "mode = \"any\"; colour = 1;"), "colour = 1",
     "targets[6].colour", ["allowed here"]),
    ("bad state", subst('states = "unemployed";\n    among', 'states = "unemploy";\n    among'),
     '"unemploy"', "targets[1].states", ["unknown state"]),
    ("tolerance 0", subst("value = 0.08; tolerance = 0.02;", "value = 0.08; tolerance = 0.0;"),
     "value = 0.08; tolerance = 0.0;", "targets[3].tolerance", ["must be > 0"]),
    ("duplicate id", subst('id = "survival_12m"', 'id = "job_finding"'),
     'id = "job_finding"; measure = "job_survival"', "targets[7].id", ["duplicate id"]),
    ("unknown region", subst('region = ["North", "South"]', 'region = ["North", "East"]'),
     'region = ["North", "East"]', "targets[7].group.region", ["unknown name"]),
]
for name, text_, at, setting, extra in cases:
    path = write(name.replace(" ", "_") + ".cfg", text_)
    o, c = S.path(name.replace(" ", "_") + ".h5"), S.path(name.replace(" ", "_") + ".csv")
    p = S.run(["validate", S.tiny, "--targets", path, "-o", o, "--csv", c] + TINY)
    S.check("%s: exit 3" % name, p.returncode == EXIT_INVALID, show(p))
    S.check("%s: names file:line" % name, "%s:%d:" % (path, line_of(text_, at)) in p.stderr,
            show(p))
    S.check("%s: names the setting" % name, setting in p.stderr, show(p))
    for e in extra:
        S.check("%s: mentions %r" % (name, e), e in p.stderr, show(p))
    no_outputs(name, o, c)
# The same file with a shorter run: the cohorts do not fit.
o = S.path("short.h5")
p = S.run(["validate", S.tiny, "--targets", TARGETS, "--months", "24", "-q", "-o", o])
S.check("short run: exit 3", p.returncode == EXIT_INVALID, show(p))
S.check("short run: names the months", "%s:%d: targets[0].months" % (
    TARGETS, line_of(TEXT, "months = [0, 36]")) in p.stderr, show(p))
S.check("short run: says past the last month", "past the last month (24)" in p.stderr, show(p))
no_outputs("short run", o)
# An invalid scenario is exit 3 too.
p = S.run(["validate", S.tiny, "--targets", TARGETS, "--set", "population.female_share=2"] + TINY)
S.check("bad scenario: exit 3", p.returncode == EXIT_INVALID, show(p))

# ---- exit 4: missing files -----------------------------------------------
o = S.path("io.h5")
p = S.run(["validate", S.tiny, "--targets", S.path("none.cfg"), "-o", o] + TINY)
S.check("missing targets file: exit 4", p.returncode == EXIT_IO, show(p))
no_outputs("missing targets file", o)
p = S.run(["validate", "--run", S.path("none.h5"), "--targets", TARGETS])
S.check("missing run file: exit 4", p.returncode == EXIT_IO, show(p))

# ---- exit 2: usage ---------------------------------------------------------
usage = [
    ("no --targets", ["validate", S.tiny]),
    ("no scenario", ["validate", "--targets", TARGETS]),
    ("bad --widen", ["validate", S.tiny, "--targets", TARGETS, "--widen", "-1"]),
    ("scenario and --run", ["validate", S.tiny, "--run", out, "--targets", TARGETS]),
    ("--run with -o", ["validate", "--run", out, "--targets", TARGETS, "-o", S.path("x.h5")]),
    ("unknown option", ["validate", S.tiny, "--targets", TARGETS, "--frobnicate"]),
]
for name, args in usage:
    p = S.run(args)
    S.check("usage %s: exit 2" % name, p.returncode == EXIT_USAGE, show(p))
    S.check("usage %s: says try --help" % name, "lmsim --help" in p.stderr, show(p))
S.check("usage: no file written", not os.path.exists(S.path("x.h5")))
p = S.run(["--help"])
S.check("--help documents validate", p.returncode == 0 and "lmsim validate SCENARIO --targets"
        in p.stdout and "--widen Z" in p.stdout and "--run FILE.h5" in p.stdout
        and "6 some target not met" in p.stdout, show(p))

# ---- programmes and trial variants -----------------------------------------
prog_out, prog_csv = S.path("prog.h5"), S.path("prog.csv")
p = S.run(["validate", PROG, "--targets", PROG_TARGETS, "--persons", "20000", "--panel", "full",
           "-o", prog_out, "--csv", prog_csv, "--threads", "2"])
S.check("programmes: exit 0 or 6", p.returncode in (EXIT_OK, EXIT_NOT_MET), show(p))
S.check("programmes: three runs", "run 3 of 3" in p.stderr, show(p))
prog = {r["id"]: r for r in read_csv(prog_csv)} if os.path.exists(prog_csv) else {}
S.check("programmes: every programme outcome computed",
        all(r["available"] == "1" for k, r in prog.items() if k != "ips_not_offered"), str(prog))
S.check("programmes: the trial ratio is a ratio",
        "ips_rr" in prog and float(prog["ips_rr"]["simulated"]) > 0.0)
p = S.run(["validate", "--run", prog_out, "--targets", PROG_TARGETS, "--csv", rep_csv, "-q"])
S.check("programmes --run: exit 6 (n/a counts as not met)", p.returncode == EXIT_NOT_MET, show(p))
rep = {r["id"]: r for r in read_csv(rep_csv)} if os.path.exists(rep_csv) else {}
with open(PROG_TARGETS) as f:
    ptext = f.read()
for k, a in prog.items():
    b = rep.get(k, {})
    block = ptext[ptext.index('id = "%s"' % k):]
    block = block[:block.index("}")]
    trial = "trial = true" in block
    if trial:
        S.check("--run: %s of a trial run is n/a" % k, b.get("available") == "0"
                and "evaluation.trial" in b.get("reason", ""), str(b))
    elif a["measure"] == "programme":
        S.check("--run: %s (referral follow-up) is n/a" % k, b.get("available") == "0"
                and "follow-up" in b.get("reason", ""), str(b))
    else:
        S.check("--run = streamed: %s" % k, a["simulated"] == b.get("simulated"),
                "%s vs %s" % (a["simulated"], b.get("simulated")))
S.check("--run: n/a shown in the table", "n/a: " in p.stdout, show(p))

# ---- run --targets ---------------------------------------------------------
run_out = S.path("run.h5")
p = S.run(["run", PROG, "-o", run_out, "--targets", PROG_TARGETS, "--persons", "20000", "-q"])
S.check("run --targets: exit 0", p.returncode == 0, show(p))
S.check("run --targets: prints the table", "targets met" in p.stdout, show(p))
try:
    with h5py.File(run_out, "r") as f:
        v = f["validation"][...]
    sim = {(x.decode() if isinstance(x, bytes) else x): y for x, y in zip(v["id"], v["simulated"])}
    S.check("run --targets: /validation has every target", sorted(sim) == sorted(prog))
    S.check("run --targets: variant-0 values = validate",
            all(float(prog[k]["simulated"]) == sim[k] for k in prog
                if prog[k]["available"] == "1" and "trial = true" not in
                ptext[ptext.index('id = "%s"' % k):].split("}")[0]))
    S.check("run --targets: trial targets are NaN",
            math.isnan(sim["ips_rr"]) and math.isnan(sim["ips_starts"]))
except Exception as e:  # noqa: BLE001
    S.check("run --targets: /validation readable", False, repr(e))

S.finish()
