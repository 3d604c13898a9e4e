"""Sweeps (points x replicates): the index OUT/sweep.h5 written by ``lmsim sweep``.

``/tasks/<point>_r<rep>`` are external links to the task files and ``/tidy``
is one row per task (docs/cluster.md). Replicates of different points share
their seeds (common random numbers), so differences between points are
paired by replicate: mean of the per-replicate differences, its standard
error sd/sqrt(R) and a Student-t 95 % interval (as ``lmsim compare
SWEEP.h5 A B`` prints).
"""
import math
import os

import h5py
import numpy as np
import pandas as pd

from .run import Run, _s, read_table

def t975(df):
    """The Student-t 0.975 quantile with df degrees of freedom (scipy's t.ppf, as the engine's
    gsl_cdf_tdist_Pinv); NaN for df < 1."""
    if df < 1:
        return float("nan")
    from scipy.stats import t
    return float(t.ppf(0.975, df))


def is_sweep(path):
    # A sweep index has /tidy and /tasks and, unlike a run file, no
    # scenario_text (it records lmsim_version and the sweep file itself).
    with h5py.File(path, "r") as f:
        return "tidy" in f and "tasks" in f and "scenario_text" not in f.attrs


class Sweep:
    """A sweep index file (OUT/sweep.h5)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.dir = os.path.dirname(os.path.abspath(self.path))
        with h5py.File(self.path, "r") as f:
            if "tidy" not in f or "tasks" not in f:
                raise ValueError("%s is not an lmsim sweep index (no /tidy and /tasks)" % path)
            self._tidy = read_table(f["tidy"], self.path)
            self._links = {k: f["tasks"].get(k, getlink=True).filename for k in f["tasks"]}

    def __repr__(self):
        t = self.tidy()
        return "<lmsim.Sweep %s: %d points x %d replicates>" % (
            os.path.basename(self.path), t.point.nunique(), t.replicate.nunique())

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def tidy(self):
        """/tidy: one row per task (point, replicate, seed, overrides, headline measures)."""
        df = pd.DataFrame(self._tidy)
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = df[c].map(_s)
        return df

    @property
    def points(self):
        return list(dict.fromkeys(self.tidy().point))

    @property
    def replicates(self):
        return sorted(self.tidy().replicate.unique().tolist())

    def task_path(self, point, replicate):
        key = "%s_r%03d" % (point, replicate)
        if key not in self._links:
            raise KeyError("no task %s in %s" % (key, self.path))
        return os.path.join(self.dir, self._links[key])

    def run(self, point, replicate=0):
        """The Run of one task."""
        return Run(self.task_path(point, replicate))

    def runs(self, point):
        return [self.run(point, r) for r in self.replicates]


MEASURES = ["employment_rate", "unemployment_rate", "inactivity_rate", "good_job_share",
            "mean_earnings"]


def _headlines(sweep, point):
    """{replicate: headline DataFrame indexed by group} of a point's task files."""
    out = {}
    for r in sweep.replicates:
        with sweep.run(point, r) as run:
            out[r] = run.outcomes().set_index("group")
    return out


def compare_sweep_impacts(sweep, a, b):
    """Impacts and appraisal of point b against point a over replicates.

    For each replicate r, ``compare_impacts(task a r, task b r)`` (the
    persons of the two tasks share their draws: paired within the
    replicate; needs the tasks' panels, e.g. a sweep ``set`` of
    ``output.panel="sample:0.1"``), then for every row (group, measure):
    a, b and diff as means over replicates, se = sd/sqrt(R) of the
    per-replicate differences (ratios: of the per-replicate ratios), a
    Student-t 95 % interval with R - 1 degrees of freedom, and the
    replicates counted. The interval is across replicates, so it carries
    the sweep's parameter draws (``uncertain``) as well as sampling noise.
    Columns: group, measure, a, b, diff, se, ci_low, ci_high, replicates.
    """
    from .compare import compare_impacts
    sweep = sweep if isinstance(sweep, Sweep) else Sweep(sweep)
    t = sweep.tidy()
    for p in (a, b):
        if p not in set(t.point):
            raise KeyError("no point %r in %s (have %s)" % (p, sweep.path, ", ".join(sweep.points)))
    reps = sorted(set(t[t.point == a].replicate) & set(t[t.point == b].replicate))
    tables = [compare_impacts(sweep.task_path(a, r), sweep.task_path(b, r)) for r in reps]
    keys = list(zip(tables[0].group, tables[0].measure))
    cols = {k: [] for k in ("a", "b", "diff")}
    for tab in tables:
        if list(zip(tab.group, tab.measure)) != keys:
            raise ValueError("%s: the replicates' impact tables have different rows" % sweep.path)
        for k in cols:
            cols[k].append(tab[k].to_numpy(dtype=float))
    n = len(tables)
    q = t975(n - 1)
    rows = []
    for i, (g, m) in enumerate(keys):
        va, vb, d = (np.array([x[i] for x in cols[k]]) for k in ("a", "b", "diff"))
        se = d.std(ddof=1) / math.sqrt(n) if n > 1 else float("nan")
        rows.append((g, m, va.mean(), vb.mean(), d.mean(), se, d.mean() - q * se,
                     d.mean() + q * se, n))
    df = pd.DataFrame(rows, columns=["group", "measure", "a", "b", "diff", "se", "ci_low",
                                     "ci_high", "replicates"])
    df.attrs.update(a=a, b=b, basis="replicates", note=(
        "%d replicates, each paired within (common random numbers); Student-t 95 %% intervals "
        "over replicates; %s" % (n, tables[0].attrs.get("note", ""))))
    return df


def compare_sweep(sweep, a, b, groups=("all", "disabled", "not_disabled", "female", "male",
                                       "ethnic_minority", "white")):
    """Point b minus point a, paired by replicate (common random numbers).

    From the tidy table (the measures ``lmsim compare`` prints) and from the
    task files' headline tables (``groups`` x employment, unemployment,
    inactivity, good-job share, mean earnings at the last month). Columns:
    group, measure, a (mean over replicates), b, diff (mean of per-replicate
    differences), se (paired, sd/sqrt(R)), ci_low, ci_high (Student t, R-1
    df), se_unpaired (sqrt(var_a/R + var_b/R)), replicates.
    """
    sweep = sweep if isinstance(sweep, Sweep) else Sweep(sweep)
    t = sweep.tidy()
    for p in (a, b):
        if p not in set(t.point):
            raise KeyError("no point %r in %s (have %s)" % (p, sweep.path, ", ".join(sweep.points)))
    ta = t[t.point == a].set_index("replicate").sort_index()
    tb = t[t.point == b].set_index("replicate").sort_index()
    reps = sorted(set(ta.index) & set(tb.index))
    rows = []

    def add(group, measure, va, vb):
        va, vb = np.asarray(va, float), np.asarray(vb, float)
        d = vb - va
        n = len(d)
        sd = d.std(ddof=1) if n > 1 else float("nan")
        se = sd / math.sqrt(n) if n > 1 else float("nan")
        q = t975(n - 1)
        seu = math.sqrt(va.var(ddof=1) / n + vb.var(ddof=1) / n) if n > 1 else float("nan")
        rows.append((group, measure, va.mean(), vb.mean(), d.mean(), se, d.mean() - q * se,
                     d.mean() + q * se, seu, n))

    for c in t.columns:
        if c.endswith("_end"):
            add("sweep_tidy", c, ta.loc[reps, c], tb.loc[reps, c])
    ha, hb = _headlines(sweep, a), _headlines(sweep, b)
    for g in groups:
        if g not in ha[reps[0]].index:
            continue
        for m in MEASURES:
            add(g, m + "_end", [ha[r].at[g, m + "_end"] for r in reps],
                [hb[r].at[g, m + "_end"] for r in reps])
    df = pd.DataFrame(rows, columns=["group", "measure", "a", "b", "diff", "se", "ci_low",
                                     "ci_high", "se_unpaired", "replicates"])
    df.attrs["note"] = ("%d replicates paired by seed (common random numbers); Student-t 95 %% "
                        "intervals over replicates" % len(reps))
    return df
