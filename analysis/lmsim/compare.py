"""Comparisons: two runs (scenario b minus scenario a), or the arms of a trial.

Intervals for runs and trials are **binomial** (within one run, persons as
independent draws). Intervals from replicates (several seeds per scenario)
come from a sweep: ``compare(SWEEP.h5, point_a, point_b)`` (lmsim.sweep).
A difference between two single runs with the same seed (common random
numbers) is reported without an interval.
"""
import numpy as np
import pandas as pd

from .run import Run

REPLICATE_NOTE = ("binomial standard errors within one run; intervals from replicates "
                  "(several seeds) need a sweep (issue 4): compare(SWEEP.h5, A, B)")

HEADLINE_MEASURES = ["employment_rate", "unemployment_rate", "inactivity_rate", "good_job_share",
                     "mean_earnings"]

# programme rates: (name, numerator, denominator)
PROGRAMME_RATES = [
    ("job_entry_rate", "job_entries", "referrals"),
    ("sustained_6_rate", "sustained_6", "referrals"),
    ("good_entry_share", "good_entries", "job_entries"),
    ("outcome_rate", "outcomes", "referrals"),
    ("employed_12_rate", "employed_12", "followed_12"),
    ("any_job_12_rate", "any_job_12", "followed_12"),
    ("worked_13w_12_rate", "worked_13w_12", "followed_12"),
]


def _run(x):
    return x if isinstance(x, Run) else Run(x)


def compare(a, b=None, c=None, z=1.959963984540054):
    """Compare runs, trial arms, or sweep points.

    ``compare(SWEEP.h5, "A", "B")`` (a sweep index, lmsim.sweep): point B
    minus point A paired by replicate, with Student-t 95 % intervals over
    replicates (``lmsim.sweep.compare_sweep``).

    ``compare(a, b)``: headline outcomes at the last month, b minus a, per
    group and measure (columns group, measure, a, b, diff). When both runs
    have programmes, ``compare_programmes`` gives the programme table.

    ``compare(trial)`` (one run made with ``--trial PROGRAMME``): treatment
    minus control for the programme under trial, per rate, with a binomial
    standard error sqrt(p_t(1-p_t)/n_t + p_c(1-p_c)/n_c) and a 95 % interval
    (columns programme, measure, n_treatment, treatment, n_control, control,
    diff, se, ci_low, ci_high). Replicate-based intervals come from sweeps:
    see ``REPLICATE_NOTE``.
    """
    from .sweep import Sweep, compare_sweep, is_sweep
    if isinstance(a, Sweep) or (not isinstance(a, Run) and is_sweep(a)):
        if b is None or c is None:
            raise ValueError("compare(SWEEP.h5, point_a, point_b) needs two point names")
        return compare_sweep(a, b, c)
    a = _run(a)
    if b is None:
        return compare_trial(a, z=z)
    b = _run(b)
    ha, hb = a.outcomes().set_index("group"), b.outcomes().set_index("group")
    rows = []
    for g in ha.index:
        if g not in hb.index:
            continue
        for m in HEADLINE_MEASURES:
            va, vb = float(ha.at[g, m + "_end"]), float(hb.at[g, m + "_end"])
            rows.append((g, m, va, vb, vb - va))
    df = pd.DataFrame(rows, columns=["group", "measure", "a", "b", "diff"])
    df.attrs["a"] = a.scenario_name
    df.attrs["b"] = b.scenario_name
    df.attrs["same_seed"] = a.seed == b.seed
    df.attrs["note"] = ("same seed: common random numbers, the difference is free of "
                        "between-run sampling noise" if a.seed == b.seed else
                        "different seeds: the difference includes sampling noise") + \
        "; no interval: " + REPLICATE_NOTE
    return df


def compare_programmes(a, b):
    """Programme table of b minus a (rows matched by programme and arm)."""
    a, b = _run(a), _run(b)
    pa, pb = a.programmes(), b.programmes()
    if not len(pa) or not len(pb):
        return pd.DataFrame()
    cols = [c for c in pa.columns if c not in ("programme", "arm")]
    m = pa.merge(pb, on=["programme", "arm"], suffixes=("_a", "_b"))
    rows = []
    for _, r in m.iterrows():
        for c in cols:
            rows.append((r["programme"], r["arm"], c, float(r[c + "_a"]), float(r[c + "_b"]),
                         float(r[c + "_b"]) - float(r[c + "_a"])))
    return pd.DataFrame(rows, columns=["programme", "arm", "measure", "a", "b", "diff"])


def compare_trial(run, z=1.959963984540054):
    run = _run(run)
    p = run.programmes()
    if not len(p) or not (p["arm"] == "treatment").any():
        raise ValueError("%s is not a trial run (no treatment/control rows in /outcomes/programmes);"
                         " give two runs to compare" % run.path)
    rows = []
    for prog in p.loc[p["arm"] == "treatment", "programme"].unique():
        t = p[(p.programme == prog) & (p.arm == "treatment")].iloc[0]
        c = p[(p.programme == prog) & (p.arm == "control")].iloc[0]
        for name, num, den in PROGRAMME_RATES:
            nt, nc = float(t[den]), float(c[den])
            pt = float(t[num]) / nt if nt > 0 else np.nan
            pc = float(c[num]) / nc if nc > 0 else np.nan
            diff = pt - pc
            se = np.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc) if nt > 0 and nc > 0 else np.nan
            rows.append((prog, name, int(nt), pt, int(nc), pc, diff, se, diff - z * se,
                         diff + z * se))
    df = pd.DataFrame(rows, columns=["programme", "measure", "n_treatment", "treatment",
                                     "n_control", "control", "diff", "se", "ci_low", "ci_high"])
    df.attrs["note"] = REPLICATE_NOTE
    return df
