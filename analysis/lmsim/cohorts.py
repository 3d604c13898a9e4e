"""Referral cohorts: outcome curves by months since referral, by group and arm.

``cohorts(run, programme, by=[...], horizon=12)`` joins /referrals (one row
per programme spell) with the panel: for every referral to the programme
whose follow-up is complete at the horizon - the run lasts ``horizon``
months past it and the person is still in the population then (not gone at
65) - it reads the person's state, consecutive months in work and earnings
at 0, 1, ..., horizon months after the referral (``origin="offer"``: after
the offer of a place, as a trial's arms are followed; referrals never
offered are left out). Per group (``by``: sex, disabled, age_band, region,
minority, qual, caring; disability and age band as at the origin) and trial
arm, and per month since the origin:

  in_work       share in work (either job quality)
  sustained_6   share who have reached 6 consecutive months in work by then
                (the engine's sustained_6, counted from the origin)
  mean_earnings mean monthly earnings (GBP, the panel's whole pounds) of
                those in work

with 95 % intervals: Wilson score intervals for the two shares (binomial,
persons as independent draws within the run) and mean +/- z s.d. / sqrt(n)
for earnings. ``n`` is the cohort size (the same at every month: one
denominator per curve), ``n_represented`` the persons it stands for
(n x represents / persons / sample fraction).
"""
import warnings

import numpy as np
import pandas as pd

from .run import ARM_NAMES, EMPLOYED_STATES, PanelError, Run

Z95 = 1.959963984540054
AGE_BANDS = ["16-24", "25-34", "35-49", "50-64"]
BY_KEYS = ["sex", "disabled", "age_band", "region", "minority", "qual", "caring"]
COLUMNS = ["months_since", "n", "n_represented", "in_work", "in_work_low", "in_work_high",
           "sustained_6", "sustained_6_low", "sustained_6_high", "n_in_work", "mean_earnings",
           "mean_earnings_low", "mean_earnings_high"]


def wilson(k, n, z=Z95):
    """Wilson score interval (low, high) of k successes in n trials (NaN for n = 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        d = 1.0 + z * z / n
        c = (p + z * z / (2.0 * n)) / d
        h = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / d
    return np.where(n > 0, c - h, np.nan), np.where(n > 0, c + h, np.nan)


def _age_band(age_months):
    y = np.asarray(age_months) // 12
    return np.select([y < 25, y < 35, y < 50], [0, 1, 2], 3)


def members(run, programme, horizon=12, origin="referral"):
    """The cohort members: one row per referral with complete follow-up at
    the horizon, with the origin month, arm, group attributes and the panel
    column, plus the matrices (members x horizon + 1) of in-work, sustained
    months and earnings. Returns (DataFrame, dict of arrays)."""
    run = run if isinstance(run, Run) else Run(run)
    if not run.has_panel:
        raise PanelError("%s has no panel (panel mode %r): cohorts need the panel; run with "
                         "--panel full or --panel sample:F" % (run.path, run.panel_mode))
    if origin not in ("referral", "offer"):
        raise ValueError("origin must be 'referral' or 'offer'")
    names = run.programme_names
    if programme not in names:
        raise KeyError("no programme %r (have %s)" % (programme, ", ".join(names)))
    ref = run.referrals(names=False)
    ref = ref[ref["programme"] == names.index(programme) + 1].copy()
    ref["origin"] = ref["referral_month"] if origin == "referral" else ref["offer_month"]
    ref = ref[(ref["origin"] >= 0) & (ref["origin"] + horizon <= run.n_months)]
    slots = run._panel_slots()
    ref["column"] = np.searchsorted(slots, ref["slot"].to_numpy())
    ref = ref[(ref["column"] < len(slots)) &
              (slots[np.minimum(ref["column"], len(slots) - 1)] == ref["slot"])]
    cols = np.unique(ref["column"].to_numpy())
    months = np.arange(run.n_months + 1)
    where = np.searchsorted(cols, ref["column"].to_numpy())
    o = ref["origin"].to_numpy()
    pid = run.read_rows("person_id", months, cols)
    # complete follow-up: the same person in the column at the horizon
    keep = pid[o + horizon, where] == ref["person_id"].to_numpy()
    ref, where, o = ref[keep].reset_index(drop=True), where[keep], o[keep]
    ms = np.arange(horizon + 1)
    at = o[:, None] + ms[None, :]
    state = run.read_rows("state", months, cols)[at, where[:, None]]
    sus = run.read_rows("sustained_months", months, cols)[at, where[:, None]]
    earn = run.read_rows("earnings", months, cols)[at, where[:, None]].astype(float)
    dis = run.read_rows("disabled", months, cols)[o, where]
    emp = (state == EMPLOYED_STATES[0]) | (state == EMPLOYED_STATES[1])
    sust6 = np.maximum.accumulate(emp & (sus >= 6), axis=1)
    p = run.persons().drop_duplicates("id", keep="last").set_index("id")
    who = p.reindex(ref["person_id"].to_numpy())
    ref["sex"] = pd.Categorical(np.where(who["female"].to_numpy() == 1, "female", "male"),
                                categories=["male", "female"])
    ref["disabled"] = pd.Categorical(np.where(dis == 1, "disabled", "not_disabled"),
                                     categories=["not_disabled", "disabled"])
    ref["age_band"] = pd.Categorical.from_codes(
        _age_band(o - who["birth_month"].to_numpy()), AGE_BANDS)
    ref["region"] = who["region"].to_numpy()  # names (categorical, in region order)
    for k in ("minority", "qual", "caring"):
        ref[k] = who[k].to_numpy()
    ref["arm"] = pd.Categorical.from_codes(ref["arm"].to_numpy().astype(np.int8),
                                           [ARM_NAMES[k] for k in range(3)])
    return ref, {"in_work": emp, "sustained_6": sust6, "earnings": earn}


def cohorts(run, programme, by=(), horizon=12, origin="referral", z=Z95):
    """Outcome curves of a programme's referral cohorts (module docstring).

    run        a Run or a path (needs a panel: full or sample)
    programme  programme name
    by         group keys among sex, disabled, age_band, region, minority, qual, caring
    horizon    months of follow-up; only referrals followed that long count
    origin     "referral" (default) or "offer" (month a place was offered:
               the start, or a trial's randomisation)

    Returns a long DataFrame: programme, the ``by`` keys, arm, then COLUMNS
    (one row per group, arm and month since the origin, 0..horizon), with
    attrs horizon, origin, interval.
    """
    run = run if isinstance(run, Run) else Run(run)
    if isinstance(by, str):
        by = [by]
    by = list(by)
    for b in by:
        if b not in BY_KEYS:
            raise KeyError("unknown group %r (have %s)" % (b, ", ".join(BY_KEYS)))
    ref, m = members(run, programme, horizon=horizon, origin=origin)
    weight = run.scale / (run.sample_fraction if run.panel_mode == "sample" else 1.0)
    keys = by + ["arm"]
    out = []
    ms = np.arange(horizon + 1)
    groups = ref.groupby(keys, observed=True, sort=True).indices if len(ref) else {}
    for key, idx in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        n = len(idx)
        emp = m["in_work"][idx]
        k_emp = emp.sum(axis=0)
        k_s6 = m["sustained_6"][idx].sum(axis=0)
        e = np.where(emp, m["earnings"][idx], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # months with 0 or 1 in work
            mean = np.nanmean(e, axis=0)
            sd = np.nanstd(e, axis=0, ddof=1)
        half = z * sd / np.sqrt(k_emp)
        lo_w, hi_w = wilson(k_emp, n, z)
        lo_s, hi_s = wilson(k_s6, n, z)
        d = {"programme": programme}
        for b, v in zip(keys, key):
            d[b] = v
        d.update({"months_since": ms, "n": n, "n_represented": n * weight,
                  "in_work": k_emp / n, "in_work_low": lo_w, "in_work_high": hi_w,
                  "sustained_6": k_s6 / n, "sustained_6_low": lo_s, "sustained_6_high": hi_s,
                  "n_in_work": k_emp, "mean_earnings": np.where(k_emp > 0, mean, np.nan),
                  "mean_earnings_low": np.where(k_emp > 1, mean - half, np.nan),
                  "mean_earnings_high": np.where(k_emp > 1, mean + half, np.nan)})
        out.append(pd.DataFrame(d))
    if out:
        df = pd.concat(out, ignore_index=True)
    else:
        df = pd.DataFrame(columns=["programme"] + keys + COLUMNS)
    df.attrs.update({"horizon": horizon, "origin": origin,
                     "interval": "Wilson score (shares), normal (mean earnings), 95 %"})
    return df
