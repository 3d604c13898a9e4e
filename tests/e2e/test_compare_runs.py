"""`lmsim compare A.h5 B.h5`: two run files, B - A per headline group and
measure, with paired and unpaired standard errors checked against an
independent computation from the panels (h5py/numpy), a file compared with
itself, the fall-backs (different seeds, no panel) and the refusals."""
import csv
import io
import math
import os

import h5py
import numpy as np

from e2e_common import Suite, show

S = Suite("compare_runs")
base = os.path.join(S.source, "scenarios", "wales_baseline.cfg")
common = ["--persons", "20000", "--months", "12", "-q"]
EFFECT = ["--set", "programmes.work_first.effects.job_finding_or=1.5"]
MEASURES = ["employment_rate", "unemployment_rate", "inactivity_rate", "good_job_share",
            "mean_earnings"]
BANDS = ["16-24", "25-34", "35-49", "50-64"]


def run(name, *extra):
    out = S.path(name + ".h5")
    p = S.run(["run", base, "-o", out] + common + list(extra), timeout=300)
    S.check("run %s exits 0" % name, p.returncode == 0, show(p))
    return out


def compare_csv(a, b, label):
    p = S.run(["compare", a, b, "--csv"])
    S.check("%s: compare --csv exits 0" % label, p.returncode == 0, show(p))
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    out = {}
    for r in rows:
        out[(r["group"], r["measure"])] = {k: (float(v) if k not in ("group", "measure", "basis")
                                               else v) for k, v in r.items()}
    return out, p


def load(path):
    """Last month of the panel; each column's person's group attributes,
    found by person id (not by slot order as the engine does)."""
    with h5py.File(path, "r") as f:
        last = int(f.attrs["n_months"])
        pid = f["panel/person_id"][last].astype(np.int64)
        pers = {k: f["persons"][k][()] for k in ("id", "region", "female", "disabled",
                                                  "minority", "birth_month")}
        names = [x.decode() if isinstance(x, bytes) else x
                 for x in f["persons"].attrs["region_names"]]
        row_of = {int(i): k for k, i in enumerate(pers["id"])}
        rows = np.array([row_of[int(i)] for i in pid])
        age_years = (last - pers["birth_month"][rows]) // 12
        head = f["outcomes/headline"][()]
        return {
            "state": f["panel/state"][last].astype(np.int64),
            "earn": f["panel/earnings"][last].astype(np.float64),
            "pid": pid,
            "region": pers["region"][rows], "female": pers["female"][rows],
            # disability may be acquired after entry: this month's, from the panel
            "disabled": f["panel/disabled"][last].astype(np.int64),
            "minority": pers["minority"][rows],
            "band": np.digitize(age_years, [25, 35, 50]),
            "region_names": names,
            "headline": {r["group"].decode(): r for r in head},
        }


def member(p, group):
    fixed = {"all": np.ones_like(p["female"], bool),
             "disabled": p["disabled"] == 1, "not_disabled": p["disabled"] == 0,
             "female": p["female"] == 1, "male": p["female"] == 0,
             "ethnic_minority": p["minority"] == 1, "white": p["minority"] == 0}
    if group in fixed:
        return fixed[group]
    if group.startswith("age:"):
        return p["band"] == BANDS.index(group[4:])
    if group.startswith("region:"):
        return p["region"] == p["region_names"].index(group[7:])
    raise KeyError(group)


def yx(p, m):
    s = p["state"]
    emp = (s >= 5).astype(float)
    return {"employment_rate": (emp, np.ones_like(emp)),
            "unemployment_rate": ((s == 4).astype(float), emp + (s == 4)),
            "inactivity_rate": ((s <= 3).astype(float), np.ones_like(emp)),
            "good_job_share": ((s == 6).astype(float), emp),
            "mean_earnings": (emp * p["earn"], emp)}[m]


def resid(p, g, m):
    """(y - R x) / sum(x) over the group's persons (0 outside): the
    person's share in the error of the ratio sum(y) / sum(x)."""
    y, x = yx(p, m)
    y, x = y * g, x * g
    if x.sum() == 0:
        return np.zeros_like(y)
    return (y - y.sum() / x.sum() * x) / x.sum()


def close(x, y, rel=1e-9, abs_=1e-15):
    return abs(x - y) <= max(rel * max(abs(x), abs(y)), abs_)


a = run("a")
b = run("b", *EFFECT)
c, pc = compare_csv(a, b, "A vs B")
pa, pb = load(a), load(b)
S.check("same persons in every column", (pa["pid"] == pb["pid"]).all())
groups = list(pa["headline"])
S.check("one row per headline group and measure", len(c) == len(groups) * len(MEASURES),
        "%d rows, %d groups" % (len(c), len(groups)))
S.check("basis is paired", all(r["basis"] == "paired" for r in c.values()))
bad = []
for gname in groups:
    ga, gb = member(pa, gname), member(pb, gname)
    ha, hb = pa["headline"][gname], pb["headline"][gname]
    if ga.sum() != ha["persons_end"] or gb.sum() != hb["persons_end"]:
        bad.append("%s: %d panel persons, headline %d" % (gname, ga.sum(), ha["persons_end"]))
    for m in MEASURES:
        r = c[(gname, m)]
        da, db = resid(pa, ga, m), resid(pb, gb, m)
        se_unp = math.sqrt((da ** 2).sum() + (db ** 2).sum())
        se_pair = math.sqrt(((db - da) ** 2).sum())
        diff = float(hb[m + "_end"]) - float(ha[m + "_end"])
        for what, mine, theirs in (("diff", diff, r["diff"]), ("a", float(ha[m + "_end"]), r["a"]),
                                   ("se_unpaired", se_unp, r["se_unpaired"]),
                                   ("se_paired", se_pair, r["se_paired"]),
                                   ("ci_low", diff - 1.959963984540054 * se_pair, r["ci_low"]),
                                   ("ci_high", diff + 1.959963984540054 * se_pair, r["ci_high"])):
            if not close(mine, theirs):
                bad.append("%s %s %s: python %r, lmsim %r" % (gname, m, what, mine, theirs))
S.check("panel groups match the headline persons", not [x for x in bad if "panel" in x], str(bad[:3]))
S.check("difference, s.e. (paired, unpaired) and interval agree with numpy to 1e-9",
        not bad, "; ".join(bad[:5]))

# Rates over persons: the unpaired s.e. is the binomial one from the headline.
bad = []
for gname in groups:
    ha, hb = pa["headline"][gname], pb["headline"][gname]
    for m in ("employment_rate", "inactivity_rate"):
        p1, p2, n = float(ha[m + "_end"]), float(hb[m + "_end"]), float(ha["persons_end"])
        binom = math.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n)
        if not close(binom, c[(gname, m)]["se_unpaired"]):
            bad.append("%s %s: %r %r" % (gname, m, binom, c[(gname, m)]["se_unpaired"]))
S.check("unpaired s.e. of a rate over persons is binomial", not bad, "; ".join(bad[:3]))
r = c[("all", "employment_rate")]
S.check("the programme effect is detected (paired interval excludes 0)",
        r["diff"] > 0 and r["ci_low"] > 0, str(r))
S.check("pairing narrows the employment s.e. at least fivefold",
        r["se_paired"] < r["se_unpaired"] / 5, str(r))

# The table: same numbers, the narrowing statement.
p = S.run(["compare", a, b])
S.check("table: exits 0", p.returncode == 0, show(p))
line = [x for x in p.stdout.splitlines() if x.split()[:2] == ["all", "employment_rate"]]
S.check("table: one line for all / employment_rate", len(line) == 1, show(p))
if line:
    f = line[0].replace("[", " ").replace("]", " ").replace(",", " ").split()
    S.check("table: numbers as in --csv (5 decimals)",
            all(abs(float(f[2 + k]) - r[key]) < 6e-6 for k, key in
                enumerate(["a", "b", "diff", "se_paired", "ci_low", "ci_high", "se_unpaired"])),
            line[0])
S.check("table: says the pairing is by person with the same seed",
        "paired from the panels (common random numbers)" in p.stdout, show(p))
ratio = r["se_paired"] / r["se_unpaired"]
S.check("table: states how much pairing narrowed the interval",
        ("pairing narrows the interval of the employment difference (all) to %.2f" % ratio)
        in p.stdout, show(p))

# A file with itself: no difference, no paired noise.
c2, _ = compare_csv(a, a, "A vs A")
S.check("A vs A: every difference and paired s.e. is 0",
        all(v["diff"] == 0 and v["se_paired"] == 0 and v["ci_low"] == 0 and v["ci_high"] == 0
            for v in c2.values()), str(list(c2.values())[:2]))
S.check("A vs A: unpaired s.e. is not 0", c2[("all", "employment_rate")]["se_unpaired"] > 0)

# Sampled panels with the same seed pair too: V from the sample, over all persons.
sa, sb = run("sa", "--panel", "sample:0.3"), run("sb", "--panel", "sample:0.3", *EFFECT)
c3, _ = compare_csv(sa, sb, "sampled panels")
qa, qb = load(sa), load(sb)
n, N = len(qa["pid"]), 20000
bad = []
for gname in groups:
    for m in MEASURES:
        # resid() * n is z of compare.h (mean(x) over all columns).
        da, db = resid(qa, member(qa, gname), m) * n, resid(qb, member(qb, gname), m) * n
        want = math.sqrt(((db - da) ** 2).sum() / n / N)
        want_u = math.sqrt((da ** 2).sum() / n / N + (db ** 2).sum() / n / N)
        got = c3[(gname, m)]
        if not close(want, got["se_paired"]) or not close(want_u, got["se_unpaired"]):
            bad.append("%s %s: %r %r / %r %r" % (gname, m, want, got["se_paired"], want_u,
                                                 got["se_unpaired"]))
S.check("sampled panels: paired and unpaired s.e. as documented", not bad, "; ".join(bad[:3]))
S.check("sampled panels: differences from the headline equal the full-panel ones",
        all(close(c3[k]["diff"], c[k]["diff"]) for k in c))

# Different seeds: a warning, unpaired only.
d = run("d", "--seed", "7", *EFFECT)
c4, p4 = compare_csv(a, d, "different seeds")
S.check("different seeds: a warning naming both seeds",
        "warning" in p4.stderr and "20240101" in p4.stderr and " 7" in p4.stderr, show(p4))
S.check("different seeds: basis unpaired, no paired s.e.",
        all(v["basis"] == "unpaired" and math.isnan(v["se_paired"]) for v in c4.values()))
pd_ = load(d)
da, dd = resid(pa, member(pa, "all"), "employment_rate"), resid(pd_, member(pd_, "all"),
                                                                "employment_rate")
want = math.sqrt((da ** 2).sum() + (dd ** 2).sum())
got = c4[("all", "employment_rate")]
S.check("different seeds: interval from the unpaired s.e.",
        close(got["se_unpaired"], want) and close(got["ci_high"] - got["diff"],
                                                  1.959963984540054 * want), str(got))
p = S.run(["compare", a, d])
S.check("different seeds: the table says why it is not paired",
        p.returncode == 0 and "not paired: seeds differ" in p.stdout, show(p))

# No panel: binomial from the headline counts, and it says so.
nb = run("nb", "--panel", "none", *EFFECT)
c5, _ = compare_csv(a, nb, "no panel")
S.check("no panel: basis headline", all(v["basis"] == "headline" for v in c5.values()))
with h5py.File(nb, "r") as f:
    hn = {r["group"].decode(): r for r in f["outcomes/headline"][()]}
bad = []
for gname in groups:
    ha, hb = pa["headline"][gname], hn[gname]
    for m, den in (("employment_rate", None), ("unemployment_rate", "active"),
                   ("good_job_share", "employed")):
        def var(h):
            P = float(h["persons_end"])
            n_ = {None: P, "active": P - round(float(h["inactivity_rate_end"]) * P),
                  "employed": round(float(h["employment_rate_end"]) * P)}[den]
            q = float(h[m + "_end"])
            return q * (1 - q) / n_ if n_ > 0 else 0.0
        want = math.sqrt(var(ha) + var(hb))
        if not close(want, c5[(gname, m)]["se_unpaired"]):
            bad.append("%s %s: %r %r" % (gname, m, want, c5[(gname, m)]["se_unpaired"]))
S.check("no panel: binomial s.e. from the headline counts", not bad, "; ".join(bad[:3]))
S.check("no panel: no s.e. for mean earnings",
        math.isnan(c5[("all", "mean_earnings")]["se_unpaired"]))
p = S.run(["compare", a, nb])
S.check("no panel: the table says so",
        p.returncode == 0 and "B has no panel" in p.stdout and "headline persons counts"
        in p.stdout, show(p))

# Refusals.
p = S.run(["compare", a, S.path("missing.h5")])
S.check("missing file: exit 4, named", p.returncode == 4 and "missing.h5" in p.stderr, show(p))
plain = S.path("plain.h5")
with h5py.File(plain, "w") as f:
    f["x"] = np.arange(3)
p = S.run(["compare", plain, a])
S.check("non-lmsim HDF5 file: exit 4, named with the reason",
        p.returncode == 4 and "plain.h5" in p.stderr and "not an lmsim run file" in p.stderr,
        show(p))
text = S.path("text.h5")
with open(text, "w") as f:
    f.write("not hdf5\n")
p = S.run(["compare", a, text])
S.check("non-HDF5 file: exit 4, named", p.returncode == 4 and "text.h5" in p.stderr, show(p))
small = run("small", "--persons", "10000")
p = S.run(["compare", a, small])
S.check("different persons: exit 2, not comparable",
        p.returncode == 2 and "not comparable" in p.stderr and "20000 persons against 10000"
        in p.stderr and "small.h5" in p.stderr, show(p))
short = run("short", "--months", "6")
p = S.run(["compare", a, short])
S.check("different months: exit 2", p.returncode == 2 and "12 months against 6" in p.stderr,
        show(p))
later = run("later", "--set", "simulation.start=\"2025-01\"",
            "--set", "appraisal.price_base_year=2025")  # (the base year must be in the run)
p = S.run(["compare", a, later])
S.check("different start month: exit 2", p.returncode == 2 and "start month" in p.stderr, show(p))
p = S.run(["compare", a])
S.check("one file: usage error, exit 2", p.returncode == 2 and "compare takes" in p.stderr, show(p))
p = S.run(["compare", a, b, "--bogus"])
S.check("unknown option: exit 2", p.returncode == 2 and "--bogus" in p.stderr, show(p))
S.finish()
