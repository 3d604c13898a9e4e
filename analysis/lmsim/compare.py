"""Comparisons: two runs (scenario b minus scenario a), or the arms of a trial.

Two runs: the differences of the headline tables with the standard errors of
``lmsim compare A.h5 B.h5`` (engine/compare.c, the same estimator): a paired
one from the panels when both runs have panels of the same persons and the
same seed (common random numbers), an unpaired one, and a 95 % interval.
Trials: binomial intervals for treatment minus control (within one run,
persons as independent draws). Intervals from replicates (several seeds per
scenario) come from a sweep: ``compare(SWEEP.h5, point_a, point_b)``
(lmsim.sweep).

No silent no-ops: two runs are refused (``CompareError``) exactly when
``lmsim compare`` refuses them, with its message word for word (the texts
are in lmsim.messages, the table of include/lmsim/messages.h), and a
comparison that shows nothing warns (``NoOpWarning``) as the engine does.
"""
import errno
import math
import os
import warnings

import h5py
import numpy as np
import pandas as pd

from . import messages as M
from .run import DamagedFileError, NoOpWarning, Run, _s


class CompareError(ValueError):
    """Two files that ``lmsim compare`` refuses (missing, not HDF5, not an
    lmsim run, or runs that are not comparable); the message is the
    engine's."""

REPLICATE_NOTE = ("binomial standard errors within one run; intervals from replicates "
                  "(several seeds) need a sweep (issue 4): compare(SWEEP.h5, A, B)")

HEADLINE_MEASURES = ["employment_rate", "unemployment_rate", "inactivity_rate", "good_job_share",
                     "mean_earnings"]

# programme rates of a trial's arms: (name, numerator, denominator), simulated
# counts (NAME_sim in /outcomes/programmes), every one over the referrals
# followed to its horizon
PROGRAMME_RATES = [
    ("any_job_12_rate", "any_job_12", "followed_12"),
    ("employed_12_rate", "employed_12", "followed_12"),
    ("worked_13w_12_rate", "worked_13w_12", "followed_12"),
    ("sustained_6_12_rate", "sustained_6_12", "followed_12"),
    ("outcome_rate", "outcomes_window", "followed_window"),
    ("good_entry_share", "good_entries", "job_entries"),
]


def _run(x):
    return x if isinstance(x, Run) else Run(x)


def compare(a, b=None, c=None, z=1.959963984540054, impacts=False):
    """Compare runs, trial arms, or sweep points.

    ``compare(SWEEP.h5, "A", "B")`` (a sweep index, lmsim.sweep): point B
    minus point A paired by replicate, with Student-t 95 % intervals over
    replicates (``lmsim.sweep.compare_sweep``); with ``impacts=True`` the
    impacts and appraisal of every replicate pair, with intervals across
    replicates (``lmsim.sweep.compare_sweep_impacts``; the tasks need panels).

    ``compare(a, b)``: headline outcomes at the last month, b minus a, per
    group and measure, with the standard errors and 95 % interval of
    ``lmsim compare A.h5 B.h5 --csv`` (``compare_runs``; columns group,
    measure, a, b, diff, persons_a, persons_b (represented), persons_a_sim,
    persons_b_sim, se_paired, ci_low, ci_high,
    se_unpaired, basis). ``compare(a, b, impacts=True)``: the counterfactual
    impacts over the run instead (``compare_impacts``; ``lmsim compare A.h5
    B.h5 --impacts --csv``). When both runs have programmes,
    ``compare_programmes`` gives the programme table.

    ``compare(trial)`` (one run made with ``--trial PROGRAMME``): treatment
    minus control for the programme under trial, per rate (over the persons
    randomised and followed to the rate's horizon), with a binomial standard
    error sqrt(p_t(1-p_t)/n_t + p_c(1-p_c)/n_c) from the simulated counts and
    a 95 % interval (columns programme, measure, n_treatment, n_treatment_sim,
    treatment, n_control, n_control_sim, control, diff, se, ci_low, ci_high;
    n_* for the represented population, n_*_sim simulated). Replicate-based intervals come from sweeps:
    see ``REPLICATE_NOTE``.
    """
    from .sweep import Sweep, compare_sweep, compare_sweep_impacts, is_sweep
    if isinstance(a, Sweep) or (not isinstance(a, Run) and is_sweep(a)):
        if b is None or c is None:
            raise ValueError("compare(SWEEP.h5, point_a, point_b) needs two point names")
        return compare_sweep_impacts(a, b, c) if impacts else compare_sweep(a, b, c)
    a = _run(a)
    if b is None:
        return compare_trial_appraisal(a, z=z) if impacts else compare_trial(a, z=z)
    if impacts:
        return compare_impacts(a, b, z=z)
    return compare_runs(a, b, z=z)


# Two runs: the estimator of engine/compare.c (docs/analysis.md, "Two run
# files"), computed the same way so the numbers equal `lmsim compare --csv`.

RUN_COLUMNS = ["group", "measure", "a", "b", "diff", "persons_a", "persons_b", "persons_a_sim",
               "persons_b_sim", "se_paired",
               "ci_low", "ci_high", "se_unpaired", "basis"]

# /panel/state codes (docs/output-format.md)
_ST_UNEMPLOYED, _ST_EMPLOYED_POOR, _ST_EMPLOYED_GOOD = 4, 5, 6
_AGE_BANDS = ["16-24", "25-34", "35-49", "50-64"]
# headline group -> (attribute of the person, value); None: everybody
_FIXED_GROUPS = {"all": (None, 0), "disabled": ("disabled", 1), "not_disabled": ("disabled", 0),
                 "female": ("female", 1), "male": ("female", 0),
                 "ethnic_minority": ("minority", 1), "white": ("minority", 0)}


def _c_round(x):
    """C round(): halves away from zero (x >= 0 here)."""
    r = math.floor(x)
    return r + 1.0 if x - r >= 0.5 else float(r)


def _last_panel(run):
    """The last month of the panel of `run`: per column the slot, person id,
    state, earnings (GBP) and the column's occupant's region, female,
    disabled, minority and age band (-1 outside 16-64) from /persons (the
    last /persons row of the slot; disability from /panel/disabled when the
    file has it), as engine/compare.c reads them."""
    f, last, path = run.file, run.n_months, run.path
    if "panel/person" not in f or f["panel/person"].ndim != 1:
        raise ValueError("'%s': panel mode '%s' but no 1-D /panel/person" % (path, run.panel_mode))
    slot = f["panel/person"][...].astype(np.int64)
    n = len(slot)
    try:
        pid = np.asarray(f["panel/person_id"][last], dtype=np.int64)
        state = np.asarray(f["panel/state"][last], dtype=np.int64)
        earn = np.asarray(f["panel/earnings"][last], dtype=np.float64)
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError("'%s': cannot read month %d of /panel (person, person_id, state, "
                         "earnings) for %d columns: %s" % (path, last, n, e))
    if len(pid) != n or len(state) != n or len(earn) != n:
        raise ValueError("'%s': /panel rows do not have %d columns" % (path, n))
    if n and (slot.min() < 0 or slot.max() >= run.n_persons or (np.diff(slot) <= 0).any()):
        raise ValueError("'%s': /panel/person is not an ascending list of slots" % path)
    g = f["persons"]
    pslot = g["slot"][...].astype(np.int64)
    col = np.searchsorted(slot, pslot)
    ok = col < n
    ok[ok] = slot[col[ok]] == pslot[ok]
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        raise ValueError("'%s': /persons row %d has slot %d outside the panel"
                         % (path, r, pslot[r]))
    occ = np.full(n, -1, dtype=np.int64)
    np.maximum.at(occ, col, np.arange(len(pslot), dtype=np.int64))  # the slot's last row
    ids = g["id"][...].astype(np.int64)
    bad = (occ < 0) | (ids[np.maximum(occ, 0)] != pid)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError("'%s': panel column %d holds person %d at month %d but /persons does "
                         "not list that person last for its slot" % (path, j, pid[j], last))
    age = last - g["birth_month"][...].astype(np.int64)[occ]
    years = np.where(age >= 0, age // 12, -1)
    band = np.select([(years < 16) | (years > 64), years < 25, years < 35, years < 50],
                     [-1, 0, 1, 2], 3)
    p = {"n": n, "slot": slot, "pid": pid, "age": band}
    for k in ("region", "female", "disabled", "minority"):
        p[k] = g[k][...].astype(np.int64)[occ]
    # disability may be acquired after entry: the panel holds it month by month
    if "panel/disabled" in f:
        p["disabled"] = np.asarray(f["panel/disabled"][last], dtype=np.int64)
    emp = ((state == _ST_EMPLOYED_POOR) | (state == _ST_EMPLOYED_GOOD)).astype(np.float64)
    un = (state == _ST_UNEMPLOYED).astype(np.float64)
    one = np.ones(n)
    # y and x of each measure (lmsim/compare.h), rows in HEADLINE_MEASURES order
    p["y"] = np.vstack([emp, un, (state < _ST_UNEMPLOYED).astype(np.float64),
                        (state == _ST_EMPLOYED_GOOD).astype(np.float64), emp * earn])
    p["x"] = np.vstack([one, emp + un, one, emp, emp])
    return p


def _group_mask(p, group, region_index):
    if group in _FIXED_GROUPS:
        attr, value = _FIXED_GROUPS[group]
        return np.ones(p["n"], bool) if attr is None else p[attr] == value
    if group.startswith("age:") and group[4:] in _AGE_BANDS:
        return p["age"] == _AGE_BANDS.index(group[4:])
    if group.startswith("region:"):  # rows in region order; names may be truncated
        return p["region"] == region_index
    return None


def _linearised(p, g):
    """z = g (y - R x) / mean(x) per column and measure (5 x n), and the members."""
    y, x = p["y"], p["x"]
    sy, sx = (y * g).sum(axis=1), (x * g).sum(axis=1)  # integers: exact in any order
    pos = sx > 0.0
    r = np.where(pos, sy / np.where(pos, sx, 1.0), 0.0)
    inv = np.where(pos, float(p["n"]) / np.where(pos, sx, 1.0), 0.0)
    z = np.where(g, (y - r[:, None] * x) * inv[:, None], 0.0)
    return z, int(g.sum())


def _headline_var(h):
    """Binomial variances of one headline row (no panel); mean earnings: NaN."""
    P = float(h["persons_end"])
    employed = _c_round(float(h["employment_rate_end"]) * P)
    active = P - _c_round(float(h["inactivity_rate_end"]) * P)
    p = [float(h[m + "_end"]) for m in HEADLINE_MEASURES[:4]]
    den = [P, active, P, employed]
    return np.array([p[m] * (1.0 - p[m]) / den[m] if den[m] > 0.0 else 0.0 for m in range(4)] +
                    [np.nan])


def _not_comparable(a, b, ha, hb):
    """Why two runs are not comparable (engine/compare.c), or ""."""
    if a.n_persons != b.n_persons:
        return M.PERSONS_DIFFER % (a.n_persons, b.n_persons)
    if a.n_months != b.n_months:
        return M.MONTHS_DIFFER % (a.n_months, b.n_months)
    if a.start_month != b.start_month:
        return M.START_DIFFERS % (a.start_month, b.start_month)
    if len(ha) != len(hb):
        return M.GROUPS_DIFFER % (len(ha), len(hb))
    for r, (ga, gb) in enumerate(zip(ha.group, hb.group)):
        if ga != gb:
            return M.GROUP_DIFFERS % (r, ga, gb)
    return ""


def check_run_file(path):
    """Raise CompareError unless `path` reads as an lmsim run file, with the
    checks and messages of the engine's lm_h5_describe, in its order."""
    path = os.fspath(path)
    if not os.access(path, os.R_OK):
        try:
            os.stat(path)
            code = errno.EACCES
        except OSError as e:
            code = e.errno
        raise CompareError(M.CANNOT_OPEN % (path, os.strerror(code)))
    if not h5py.is_hdf5(path):
        raise CompareError(M.NOT_HDF5 % path)
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise CompareError(M.CANNOT_OPEN_HDF5 % path)
    with f:
        for name, kinds in (("scenario_name", "s"), ("lmsim_version", "s"), ("start_month", "s"),
                            ("panel_mode", "s"), ("seed", "n"), ("n_persons", "n"),
                            ("n_months", "n")):
            cls = f.attrs.get_id(name).get_type().get_class() if name in f.attrs else None
            ok = cls == h5py.h5t.STRING if kinds == "s" else \
                cls in (h5py.h5t.INTEGER, h5py.h5t.FLOAT)
            if not ok:
                raise CompareError(M.NOT_LMSIM % (path, name))
        d = f.get("outcomes/headline")
        if not isinstance(d, h5py.Dataset) or d.ndim != 1 or d.shape[0] > 40:
            raise CompareError(M.NO_HEADLINE % (path, 40))


# Identical runs: every dataset under /aggregates and /outcomes the same type,
# shape and stored bytes (engine/compare.c, same_tables).
_MAX_TABLES = 64


def _table_names(f):
    names = []
    for g in ("aggregates", "outcomes"):
        if isinstance(f.get(g), h5py.Group):
            f[g].visititems(lambda n, o, g=g: names.append("/%s/%s" % (g, n))
                            if isinstance(o, h5py.Dataset) else None)
    return names


def _has_vlen(dt):
    if dt.fields:
        return any(_has_vlen(v[0]) for v in dt.fields.values())
    if dt.subdtype is not None:
        return _has_vlen(dt.subdtype[0])
    if h5py.check_vlen_dtype(dt) is not None:
        return True
    s = h5py.check_string_dtype(dt)
    return (s is not None and s.length is None) or dt.kind == "O"


def _is_vlen_str(dt):
    s = h5py.check_string_dtype(dt)
    return s is not None and s.length is None


def _same_strings_table(da, db):
    """Two 1-D compound tables whose only variable-length members are strings
    (/outcomes/headline, ...): the same strings, and the same stored bytes in
    every other member."""
    fields = da.dtype.fields
    if da.ndim != 1 or not fields or any(_has_vlen(v[0]) and not _is_vlen_str(v[0])
                                         for v in fields.values()):
        return False
    a, b = da[()], db[()]
    for k, v in fields.items():
        if _is_vlen_str(v[0]):
            if [_s(x) for x in a[k]] != [_s(x) for x in b[k]]:
                return False
        elif np.ascontiguousarray(a[k]).tobytes() != np.ascontiguousarray(b[k]).tobytes():
            return False
    return True


def same_tables(fa, fb):
    """Whether every dataset under /aggregates and /outcomes of two open run
    files has the same type, shape and stored bytes, strings of a table the
    same text (then every difference ``compare`` shows is zero). Other
    variable-length data count as different."""
    na, nb = _table_names(fa), _table_names(fb)
    if not na or len(na) > _MAX_TABLES or len(nb) > _MAX_TABLES or sorted(na) != sorted(nb):
        return False
    for name in na:
        da, db = fa[name], fb[name]
        if not da.id.get_type().equal(db.id.get_type()) or da.shape != db.shape:
            return False
        if _has_vlen(da.dtype):
            if da.size and not _same_strings_table(da, db):
                return False
        elif da.size and da[()].tobytes() != db[()].tobytes():
            return False
    return True


def comparison_warnings(a, b, identical, zero_at_end):
    """The warnings of a comparison of runs a and b, as ``lmsim compare``
    prints them: the verdict (identical runs, or all rows zero), then each
    file's own warnings. Returns (verdict or "", [lines])."""
    verdict = ""
    if identical:
        verdict = M.IDENTICAL if (a.scenario_text == b.scenario_text and a.seed == b.seed) \
            else M.IDENTICAL_SCENARIOS_DIFFER
    elif zero_at_end:
        verdict = M.LAST_MONTH_ZERO
    lines = [verdict] if verdict else []
    for r in (a, b):
        lines.extend(M.FILE_WARNING % (r.path, w) for w in r.warnings)
    return verdict, lines


def _comparable(a, b):
    """The two runs and their headline tables, or CompareError with the engine's message."""
    for x in (a, b):
        check_run_file(x.path if isinstance(x, Run) else x)
    a, b = _run(a), _run(b)
    try:
        ha, hb = a.outcomes(), b.outcomes()
    except DamagedFileError as e:
        raise CompareError(str(e))
    why = _not_comparable(a, b, ha, hb)
    if why:
        raise CompareError(M.NOT_COMPARABLE % (a.path, b.path, why))
    return a, b, ha, hb


def compare_runs(a, b, z=1.959963984540054):
    """Headline outcomes of run b minus run a at the last month, per headline
    group and measure, with the standard errors of ``lmsim compare A.h5 B.h5``
    (engine/compare.c; docs/analysis.md, "Two run files").

    Columns: group, measure, a, b, diff (b - a, from the headline tables),
    persons_a, persons_b (persons in the group at the last month, for the
    population each run represents: x represents / persons), persons_a_sim,
    persons_b_sim (the simulated persons), se_paired
    (NaN unless the basis is paired), ci_low, ci_high (diff -/+ z s.e., from
    the paired s.e. when there is one), se_unpaired (NaN for mean earnings
    when a run has no panel) and basis: "paired" (both panels, same seed,
    same person in every column), "unpaired" (panels, but different seeds or
    persons), "headline" (a run without a panel: binomial from the headline
    counts). Files that ``lmsim compare`` refuses (missing, not HDF5, not an
    lmsim run file, or runs that are not comparable: different persons,
    months, start month or headline groups) raise CompareError with the
    engine's message, word for word.

    Comparisons that show nothing warn (``NoOpWarning``, and the lines in
    ``attrs["warnings"]``), as ``lmsim compare`` does on stderr: identical
    runs (every dataset under /aggregates and /outcomes the same: "the two
    runs are identical: every difference is zero"), rows all zero at the last
    month although the runs differ, and each file's own warnings (settings
    with no effect, ``Run.warnings``), which usually explain the zeros.

    ``attrs``: a, b (scenario names), same_seed, basis, n_panel (persons
    paired), note (the verdict, if any, then why the basis is not paired or
    how many were paired), identical, zero_at_end, verdict ("" or the
    verdict's text), warnings (list: the verdict, then the files' warnings).
    """
    a, b, ha, hb = _comparable(a, b)
    rows = []
    attrs = {"a": a.scenario_name, "b": b.scenario_name, "same_seed": a.seed == b.seed,
             "n_panel": 0}
    runs = (a, b)
    has_panel = [r.panel_mode != "none" for r in runs]
    pan = [_last_panel(r) if hp else None for r, hp in zip(runs, has_panel)]
    paired = False
    if not all(has_panel):
        note = ("%s (panel mode none): unpaired standard errors, binomial from the headline "
                "persons counts, none for mean earnings%s"
                % ("neither file has a panel" if not any(has_panel) else
                   "A has no panel" if not has_panel[0] else "B has no panel",
                   "; with the same seed they overstate the noise of the difference"
                   if a.seed == b.seed else ""))
        basis = "headline"
    elif a.seed != b.seed:
        note = ("seeds differ (%d against %d): no common random numbers, unpaired standard "
                "errors only" % (a.seed, b.seed))
        basis = "unpaired"
    elif pan[0]["n"] != pan[1]["n"] or not np.array_equal(pan[0]["slot"], pan[1]["slot"]):
        note = ("the panels hold different persons (panel modes %s and %s): unpaired "
                "standard errors only" % (a.panel_mode, b.panel_mode))
        basis = "unpaired"
    elif not np.array_equal(pan[0]["pid"], pan[1]["pid"]):
        note = ("the panels hold different persons at month %d: unpaired standard errors "
                "only" % a.n_months)
        basis = "unpaired"
    else:
        paired, basis = True, "paired"
        note = ("seed %d in both: %d persons paired from the panels (common random "
                "numbers)" % (a.seed, pan[0]["n"]))
    N = float(a.n_persons)
    n_region = 0
    for r in range(len(ha)):
        h = (ha.iloc[r], hb.iloc[r])
        group = h[0].group
        region_index = n_region
        if group.startswith("region:"):
            n_region += 1
        var, zs = [None, None], [None, None]
        for k in range(2):
            if not has_panel[k]:
                var[k] = _headline_var(h[k])
                continue
            g = _group_mask(pan[k], group, region_index)
            if g is None:
                raise ValueError("'%s': unknown headline group '%s'" % (a.path, group))
            zs[k], members = _linearised(pan[k], g)
            if pan[k]["n"] == runs[k].n_persons and members != int(h[k].persons_end):
                raise ValueError("'%s': the panel has %d persons in group '%s' at month %d, "
                                 "the headline %d" % (runs[k].path, members, group,
                                                      a.n_months, int(h[k].persons_end)))
            var[k] = (zs[k] * zs[k]).sum(axis=1) / float(pan[k]["n"]) / N
        se_unp = np.sqrt(var[0] + var[1])
        if paired:
            d = zs[1] - zs[0]
            se_p = np.sqrt((d * d).sum(axis=1) / float(pan[0]["n"]) / N)
        else:
            se_p = np.full(len(HEADLINE_MEASURES), np.nan)
        for m, name in enumerate(HEADLINE_MEASURES):
            va, vb = float(h[0][name + "_end"]), float(h[1][name + "_end"])
            diff = vb - va
            se = se_p[m] if paired else se_unp[m]
            rows.append((group, name, va, vb, diff, int(h[0].persons_end) * a.scale,
                         int(h[1].persons_end) * b.scale, int(h[0].persons_end),
                         int(h[1].persons_end), float(se_p[m]), diff - z * se, diff + z * se,
                         float(se_unp[m]), basis))
    attrs["basis"] = basis
    attrs["n_panel"] = pan[0]["n"] if paired else 0
    attrs["note"] = note
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    identical = same_tables(a.file, b.file)
    zero_at_end = bool((df["diff"] == 0.0).all())
    verdict, lines = comparison_warnings(a, b, identical, zero_at_end)
    if verdict:
        attrs["note"] = verdict + "; " + attrs["note"]
    attrs.update(identical=identical, zero_at_end=zero_at_end, verdict=verdict, warnings=lines)
    for w in lines:
        warnings.warn(w, NoOpWarning, stacklevel=3)
    df.attrs.update(attrs)
    df.attrs["note"] += "; " + REPLICATE_NOTE.replace("binomial standard errors", "standard "
                                                      "errors")
    return df



IMPACT_MEASURES = ["employment_months", "sustained_jobs", "earnings_gbp", "benefit_months"]
IMPACT_COLUMNS = ["group", "measure", "a", "b", "diff", "se", "ci_low", "ci_high", "basis"]
COST_ROWS = ["programme_cost_gbp", "cost_per_additional_sustained_job",
             "cost_per_additional_employment_month"]
_SUSTAINED_MONTHS = 6
_ST_INACTIVE_SICK = 0


APPRAISAL_MEASURES = ["programme_cost_gbp", "tax_ni_gbp", "benefits_gbp", "exchequer_net_cost_gbp",
                      "output_gbp", "wellbeing_gbp", "npv_society_gbp", "bcr_society",
                      "public_finances_per_gbp"]
_TAX = ["personal_allowance", "basic_rate", "higher_threshold", "higher_rate",
        "additional_threshold", "additional_rate", "ni_primary_threshold", "ni_main_rate",
        "ni_upper_limit", "ni_upper_rate", "employer_ni_threshold", "employer_ni_rate"]


def _appraisal_settings(run):
    """The /appraisal settings of a run file (lmsim/compare.h), or None."""
    if "appraisal" not in run.file:
        return None
    a = run.file["appraisal"].attrs
    try:
        out = {k: float(a[k]) for k in ("discount_rate", "price_base_year", "first_month",
                                        "last_month", "health_element", "wellbeing_in_work",
                                        "wellbeing_limiting")}
        out["benefit_by_state"] = np.asarray(a["benefit_by_state"], dtype=np.float64)
        out["tax"] = dict(zip(_TAX, np.asarray(a["tax_schedule"], dtype=np.float64)))
    except KeyError as e:
        raise ValueError("'%s': cannot read the /appraisal settings: %s" % (run.path, e))
    return out


def tax_month(tax, monthly):
    """Income tax + employee NI, and employer NI, a month on monthly gross
    earnings (arrays), from the annual schedule (lm_tax_month)."""
    a = 12.0 * np.asarray(monthly, dtype=np.float64)

    def band(lo, hi, rate):
        return np.clip(np.minimum(a, hi) - lo, 0.0, None) * rate
    t = tax
    it = (band(t["personal_allowance"], t["higher_threshold"], t["basic_rate"])
          + band(t["higher_threshold"], t["additional_threshold"], t["higher_rate"])
          + band(t["additional_threshold"], np.inf, t["additional_rate"]))
    ni = (band(t["ni_primary_threshold"], t["ni_upper_limit"], t["ni_main_rate"])
          + band(t["ni_upper_limit"], np.inf, t["ni_upper_rate"]))
    return (it + ni) / 12.0, band(t["employer_ni_threshold"], np.inf, t["employer_ni_rate"]) / 12.0


def _discount(ap, start_month, m):
    """Discount factor of month m (Green Book: whole years to the price base year)."""
    y0, m0 = (int(x) for x in start_month.split("-"))
    year = y0 + (m0 - 1 + m) // 12
    return (1.0 + ap["discount_rate"]) ** -(year - int(ap["price_base_year"]))


def _panel_totals(run, ap=None, block=12):
    """Per panel column, totals over months 1..n_months (IMPACT_MEASURES) and,
    with appraisal settings ap, the discounted sums over its months of output,
    tax and NI, benefits and wellbeing (8 x n)."""
    f, T = run.file, run.n_months
    n = f["panel/person"].shape[0]
    t = np.zeros((8, n))
    need_lim = ap is not None and (ap["health_element"] > 0 or ap["wellbeing_limiting"] > 0)
    for m0 in range(1, T + 1, block):
        ms = np.arange(m0, min(T, m0 + block - 1) + 1)
        st = run.read_rows("state", ms).astype(np.int64)
        earn = run.read_rows("earnings", ms).astype(np.float64)
        run_m = run.read_rows("sustained_months", ms).astype(np.int64)
        emp = (st == _ST_EMPLOYED_POOR) | (st == _ST_EMPLOYED_GOOD)
        t[0] += emp.sum(axis=0)
        t[1] += (emp & (run_m == _SUSTAINED_MONTHS)).sum(axis=0)
        t[2] += np.where(emp, earn, 0.0).sum(axis=0)
        t[3] += ((st == _ST_UNEMPLOYED) | (st == _ST_INACTIVE_SICK)).sum(axis=0)
        if ap is None:
            continue
        inside = (ms >= ap["first_month"]) & (ms <= ap["last_month"])
        if not inside.any():
            continue
        df = np.array([_discount(ap, run.start_month, int(m)) if ok else 0.0
                       for m, ok in zip(ms, inside)])[:, None]
        lim = (run.read_rows("limiting", ms).astype(bool) if need_lim
               else np.zeros_like(emp))
        t[4:8] += _appraisal_flows(ap, st, emp, earn, lim, df)
    return t


def _appraisal_flows(ap, st, emp, earn, lim, f):
    """Discounted output, tax and NI, benefits and wellbeing (4 x columns), summed over the
    months (rows) of state st, in work emp, earnings earn and limiting lim, with weights f
    (discount factors, 0 outside what is appraised)."""
    e = np.where(emp, earn, 0.0)
    tax, employer = tax_month(ap["tax"], e)
    ben = ap["benefit_by_state"][st] + np.where(~emp & lim, ap["health_element"], 0.0)
    wb = emp * ap["wellbeing_in_work"] - lim * ap["wellbeing_limiting"]
    return np.vstack([(f * x).sum(axis=0) for x in (e + employer, tax + employer, ben, wb)])


def _total_diff(u, paired, z):
    """(A, B, B - A, s.e., low, high) of the totals of per-column values u[0], u[1]."""
    sa, sb = float(u[0].sum()), float(u[1].sum())
    if paired:
        d = u[1] - u[0]
        se = math.sqrt(float(((d - d.mean()) ** 2).sum()))
    else:
        se = math.sqrt(sum(float(((x - x.mean()) ** 2).sum()) for x in u))
    diff = sb - sa
    return sa, sb, diff, se, diff - z * se, diff + z * se


def _programme_costs(run, ap):
    """{programme: discounted cost over the appraisal's months} of a run."""
    if "outcomes/programme_costs" not in run.file:
        return {}
    ds = run.file["outcomes/programme_costs"]
    c = ds[...]
    names = [_s(x) for x in ds.attrs["programme_names"]]
    out = dict.fromkeys(names, 0.0)
    for m in range(1, c.shape[0]):
        if ap["first_month"] <= m <= ap["last_month"]:
            f = _discount(ap, run.start_month, m)
            for k, name in enumerate(names):
                out[name] += f * float(c[m, k])
    return out


def _appraisal_rows(a, b, ap, u, paired, z, basis):
    """Rows of the appraisal (APPRAISAL_MEASURES, then per programme)."""
    ca, cb = _programme_costs(a, ap), _programme_costs(b, ap)
    progs = list(ca) + [p for p in cb if p not in ca]
    cost = (sum(ca.values()), sum(cb.values()))
    dc = cost[1] - cost[0]
    pick = {"tax_ni_gbp": [0, 1, 0, 0], "benefits_gbp": [0, 0, 1, 0],
            "exchequer_net_cost_gbp": [0, -1, 1, 0], "output_gbp": [1, 0, 0, 0],
            "wellbeing_gbp": [0, 0, 0, 1], "npv_society_gbp": [1, 0, 0, 1]}
    v = {"programme_cost_gbp": (cost[0], cost[1], dc, np.nan, np.nan, np.nan)}
    for name, co in pick.items():
        x = [sum(c * uk[4 + q] for q, c in enumerate(co)) for uk in u]
        v[name] = _total_diff(x, paired, z)
    ex = v["exchequer_net_cost_gbp"]
    v["exchequer_net_cost_gbp"] = (ex[0] + cost[0], ex[1] + cost[1], ex[2] + dc, ex[3],
                                   ex[4] + dc, ex[5] + dc)
    npv = v["npv_society_gbp"]
    v["npv_society_gbp"] = (np.nan, np.nan, npv[2] - dc, npv[3], npv[4] - dc, npv[5] - dc)
    social = v["output_gbp"][2] + v["wellbeing_gbp"][2]
    fiscal = v["tax_ni_gbp"][2] - v["benefits_gbp"][2]
    for name, num, se in (("bcr_society", social, npv[3]), ("public_finances_per_gbp", fiscal,
                                                           ex[3])):
        if dc > 0:
            v[name] = (np.nan, np.nan, num / dc, np.nan, (num - z * se) / dc, (num + z * se) / dc)
        else:
            v[name] = (np.nan,) * 6
    rows = [("all", "appraisal_" + m) + tuple(v[m]) + ("exact" if m == "programme_cost_gbp"
                                                        else basis,)
            for m in APPRAISAL_MEASURES]
    for p in progs:
        xa, xb = ca.get(p, 0.0), cb.get(p, 0.0)
        rows.append(("programme:" + p, "appraisal_programme_cost_gbp", xa, xb, xb - xa, np.nan,
                     np.nan, np.nan, "exact"))
    return rows


def _same_appraisal(x, y):
    return all(np.array_equal(np.asarray(x[k]), np.asarray(y[k])) if k != "tax"
               else x[k] == y[k] for k in x)


def _per_unit(cost, diff, lo, hi):
    est = cost / diff if diff != 0 and cost != 0 else np.nan
    if cost == 0 or not (lo > 0 or hi < 0):
        return est, np.nan, np.nan
    x, y = cost / lo, cost / hi
    return est, min(x, y), max(x, y)


def compare_impacts(a, b, z=1.959963984540054):
    """Counterfactual impacts of run b against run a, as ``lmsim compare A.h5
    B.h5 --impacts --csv`` (engine/compare.c; lmsim/compare.h; docs/analysis.md,
    "Impacts"): per headline group, totals over months 1..n_months for the
    population each run represents of employment months, sustained jobs (jobs
    reaching 6 consecutive months), earnings (GBP) and benefit months
    (unemployed, or inactive through sickness or disability), b - a, with a
    95 % interval (paired per panel column when the seeds and the panels'
    persons are the same, else unpaired); then the rows of COST_ROWS (group
    "all"): programme costs of each run (/outcomes/programmes, exact, no
    interval) and the cost per additional sustained job and employment month
    with the interval from the impact's (NaN when that includes 0).

    Needs the panels of both runs (CompareError otherwise); refuses
    incomparable runs as ``compare_runs`` does. Columns: IMPACT_COLUMNS.
    """
    a, b, ha, hb = _comparable(a, b)
    if a.panel_mode == "none" or b.panel_mode == "none":
        raise CompareError(M.IMPACTS_NEED_PANELS % (a.path, a.panel_mode, b.path, b.panel_mode))
    aps = [_appraisal_settings(r) for r in (a, b)]
    if aps[0] is not None and aps[1] is not None and not _same_appraisal(*aps):
        raise CompareError(M.APPRAISAL_DIFFERS % (a.path, b.path))
    ap = aps[0] if aps[0] is not None else aps[1]
    pan = [_last_panel(r) for r in (a, b)]
    paired = (a.seed == b.seed and pan[0]["n"] == pan[1]["n"]
              and np.array_equal(pan[0]["slot"], pan[1]["slot"])
              and np.array_equal(pan[0]["pid"], pan[1]["pid"]))
    basis = "paired" if paired else "unpaired"
    tot = [_panel_totals(r, ap) for r in (a, b)]
    w = [r.represents / float(max(p["n"], 1)) for r, p in zip((a, b), pan)]
    rows, n_region = [], 0
    for r in range(len(ha)):
        group = ha.iloc[r].group
        region_index = n_region
        if group.startswith("region:"):
            n_region += 1
        g = [_group_mask(p, group, region_index) for p in pan]
        if g[0] is None:
            raise ValueError("'%s': unknown headline group '%s'" % (a.path, group))
        for m, name in enumerate(IMPACT_MEASURES):
            u = [np.where(g[k], w[k] * tot[k][m], 0.0) for k in range(2)]
            rows.append((group, name) + _total_diff(u, paired, z) + (basis,))
    cost = [float(r.programmes()["cost_total"].sum()) if len(r.programmes()) else 0.0
            for r in (a, b)]
    dc = cost[1] - cost[0]
    rows.append(("all", COST_ROWS[0], cost[0], cost[1], dc, np.nan, np.nan, np.nan, "exact"))
    df = pd.DataFrame(rows, columns=IMPACT_COLUMNS)
    if "all" in set(df.group):
        for k, m in ((1, "sustained_jobs"), (2, "employment_months")):
            r = df[(df.group == "all") & (df.measure == m)].iloc[0]
            est, lo, hi = _per_unit(dc, r["diff"], r.ci_low, r.ci_high)
            df.loc[len(df)] = ("all", COST_ROWS[k], np.nan, np.nan, est, np.nan, lo, hi, basis)
    if ap is not None and ap["first_month"] <= ap["last_month"]:
        u = [tot[k] * w[k] for k in range(2)]
        extra = pd.DataFrame(_appraisal_rows(a, b, ap, u, paired, z, basis),
                             columns=IMPACT_COLUMNS)
        df = pd.concat([df, extra], ignore_index=True)
    df.attrs.update(a=a.scenario_name, b=b.scenario_name, basis=basis, months=a.n_months,
                    start_month=a.start_month,
                    note="totals over months 1-%d from %s, for the population represented; "
                         "groups as at the last month" % (a.n_months, a.start_month))
    return df


TRIAL_APPRAISAL_MEASURES = [
    "employment_months", "output_gbp", "tax_ni_gbp", "benefits_gbp", "wellbeing_gbp",
    "programme_cost_gbp", "exchequer_net_cost_gbp", "npv_society_gbp", "bcr_society",
    "public_finances_per_gbp"]


def compare_trial_appraisal(run, z=1.959963984540054):
    """Green Book appraisal of each programme under trial, per person
    randomised to treatment: treatment minus control of the discounted
    flows of each person randomised (from the month of the offer to the end
    of the appraisal's months, while the person is in the population), with
    the programme's discounted cost per person randomised to treatment
    (/outcomes/programme_costs over the treatment arm's randomised; control
    and arm 0 cost nothing). Randomisation makes the difference of the arms'
    means the programme's causal effect per offer (intention to treat).

    Rows (group "programme:NAME", measure ``appraisal_trial_`` + one of
    TRIAL_APPRAISAL_MEASURES): a (control mean per person), b (treatment
    mean), diff, se (unpaired: sqrt(var_t/n_t + var_c/n_c)), ci_low,
    ci_high; then the same per programme for the represented population
    randomised to treatment (``..._total_gbp`` rows for NPV and exchequer
    net cost). Needs a panel (sampled persons only in panel mode sample)
    and the scenario's appraisal section.
    """
    run = _run(run)
    ap = _appraisal_settings(run)
    if ap is None:
        raise ValueError("%s has no /appraisal: its scenario has no appraisal section" % run.path)
    if run.panel_mode == "none":
        raise CompareError(M.IMPACTS_NEED_PANELS % (run.path, run.panel_mode, run.path,
                                                    run.panel_mode))
    ref = run.referrals(names=True)
    ref = ref[ref.arm.isin(["treatment", "control"])].sort_values(["offer_month", "person_id"])
    ref = ref.drop_duplicates("person_id")  # a person's first randomisation
    if not len(ref):
        raise ValueError("%s is not a trial run (no person randomised in /referrals)" % run.path)
    T = run.n_months
    months = np.arange(T + 1)
    disc = np.array([_discount(ap, run.start_month, int(m))
                     if ap["first_month"] <= m <= ap["last_month"] else 0.0 for m in months])
    slots = run._panel_slots()
    rows = []
    prog_costs = _programme_costs(run, ap)
    tab = run.programmes()
    for prog in ref.programme.unique():
        r = ref[ref.programme == prog]
        pid = r.person_id.to_numpy(dtype=np.int64)
        col = np.searchsorted(slots, pid % run.n_persons)
        ok = (col < len(slots)) & (slots[np.minimum(col, len(slots) - 1)] == pid % run.n_persons)
        pid, col, r = pid[ok], col[ok], r[ok.tolist()]
        if not len(pid):
            continue
        ucols = np.unique(col)
        where = np.searchsorted(ucols, col)
        tot = np.zeros((5, len(pid)))
        need_lim = ap["health_element"] > 0 or ap["wellbeing_limiting"] > 0
        offer = r.offer_month.to_numpy(dtype=np.int64)
        for m0 in range(1, T + 1, 12):
            ms = np.arange(m0, min(T, m0 + 11) + 1)
            who = run.read_rows("person_id", ms, ucols)[:, where].astype(np.int64)
            st = run.read_rows("state", ms, ucols)[:, where].astype(np.int64)
            earn = run.read_rows("earnings", ms, ucols)[:, where].astype(np.float64)
            lim = (run.read_rows("limiting", ms, ucols)[:, where].astype(bool) if need_lim
                   else np.zeros(st.shape, bool))
            live = (who == pid[None, :]) & (ms[:, None] >= offer[None, :])
            f = np.where(live, disc[ms][:, None], 0.0)
            emp = (st == _ST_EMPLOYED_POOR) | (st == _ST_EMPLOYED_GOOD)
            tot[0] += (live & emp).sum(axis=0)
            tot[1:5] += _appraisal_flows(ap, st, emp, earn, lim, f)
        treat = (r.arm == "treatment").to_numpy()
        nt, nc = int(treat.sum()), int((~treat).sum())
        if nt < 2 or nc < 2:
            continue
        t_row = tab[(tab.programme == prog) & (tab.arm == "treatment")]
        randomised_t = float(t_row.iloc[0]["randomised"]) if len(t_row) else float("nan")
        cost = prog_costs.get(prog, 0.0) / randomised_t if randomised_t > 0 else float("nan")

        def stats(x):
            a_, b_ = x[~treat].mean(), x[treat].mean()
            se = math.sqrt(x[treat].var(ddof=1) / nt + x[~treat].var(ddof=1) / nc)
            return a_, b_, b_ - a_, se, b_ - a_ - z * se, b_ - a_ + z * se
        v = {name: stats(tot[k]) for k, name in enumerate(TRIAL_APPRAISAL_MEASURES[:5])}
        v["programme_cost_gbp"] = (0.0, cost, cost, np.nan, np.nan, np.nan)
        ex = stats(tot[3] - tot[2])
        v["exchequer_net_cost_gbp"] = (np.nan, np.nan, cost + ex[2], ex[3], cost + ex[4],
                                       cost + ex[5])
        soc = stats(tot[1] + tot[4])
        v["npv_society_gbp"] = (np.nan, np.nan, soc[2] - cost, soc[3], soc[4] - cost,
                                soc[5] - cost)
        fis = stats(tot[2] - tot[3])
        for name, x in (("bcr_society", soc), ("public_finances_per_gbp", fis)):
            v[name] = ((np.nan, np.nan, x[2] / cost, np.nan, x[4] / cost, x[5] / cost)
                       if cost > 0 else (np.nan,) * 6)
        g = "programme:%s" % prog
        for name in TRIAL_APPRAISAL_MEASURES:
            rows.append((g, "appraisal_trial_" + name) + tuple(v[name]) + (nt, nc))
        n_rep = randomised_t  # (represented persons randomised to treatment)
        for name in ("npv_society_gbp", "exchequer_net_cost_gbp"):
            x = v[name]
            rows.append((g, "appraisal_trial_" + name.replace("_gbp", "_total_gbp"), np.nan,
                         np.nan, x[2] * n_rep, x[3] * n_rep, x[4] * n_rep, x[5] * n_rep, nt, nc))
    df = pd.DataFrame(rows, columns=["group", "measure", "a", "b", "diff", "se", "ci_low",
                                     "ci_high", "n_treatment_sim", "n_control_sim"])
    df.attrs.update(basis="trial", note=(
        "per person randomised (a: control mean, b: treatment mean), flows from the offer to "
        "month %d discounted at %.1f %% a year to %d; *_total_gbp: x the represented persons "
        "randomised to treatment" % (int(ap["last_month"]), 100 * ap["discount_rate"],
                                     int(ap["price_base_year"]))))
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


def _sim(row, name):
    """Simulated count `name` of a programme row (files before issue 10: no _sim columns)."""
    return float(row[name + "_sim"]) if name + "_sim" in row.index else float(row[name])


def compare_trial(run, z=1.959963984540054):
    """Treatment minus control of every programme under trial: one row per
    rate of PROGRAMME_RATES (each over the persons randomised and followed to
    its horizon), with n_treatment / n_control for the represented population
    and n_treatment_sim / n_control_sim the simulated persons the binomial
    standard error counts."""
    run = _run(run)
    p = run.programmes()
    if not len(p) or not (p["arm"] == "treatment").any():
        raise ValueError("%s is not a trial run (no treatment/control rows in /outcomes/programmes);"
                         " give two runs to compare" % run.path)
    scale = p.attrs.get("scale", 1.0)
    rows = []
    for prog in p.loc[p["arm"] == "treatment", "programme"].unique():
        t = p[(p.programme == prog) & (p.arm == "treatment")].iloc[0]
        c = p[(p.programme == prog) & (p.arm == "control")].iloc[0]
        for name, num, den in PROGRAMME_RATES:
            nt, nc = _sim(t, den), _sim(c, den)
            pt = _sim(t, num) / nt if nt > 0 else np.nan
            pc = _sim(c, num) / nc if nc > 0 else np.nan
            diff = pt - pc
            se = np.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc) if nt > 0 and nc > 0 else np.nan
            rows.append((prog, name, nt * scale, int(nt), pt, nc * scale, int(nc), pc, diff, se,
                         diff - z * se, diff + z * se))
    df = pd.DataFrame(rows, columns=["programme", "measure", "n_treatment", "n_treatment_sim",
                                     "treatment", "n_control", "n_control_sim", "control", "diff",
                                     "se", "ci_low", "ci_high"])
    df.attrs["note"] = REPLICATE_NOTE
    return df
