"""Referral history and cohorts: Run.referrals() and lmsim.cohorts().

The referrals read as the file holds them (a sampled panel: the full run's
rows of the sampled persons); cohort curves equal a direct computation
from the panel, referral by referral; with a full panel their 12-month
counts equal the engine's (followed_12, employed_12, sustained_6_12); the
intervals are Wilson's; groups and represented counts are as documented.
"""
import math

import h5py
import numpy as np
import pytest

import lmsim
from lmsim.cohorts import wilson

Z = 1.959963984540054


def test_referrals_reader(wales, wales_sample):
    r = lmsim.open(wales)
    ref = r.referrals()
    with h5py.File(wales, "r") as f:
        raw = f["referrals"][...]
    assert len(ref) == len(raw) > 50
    assert np.array_equal(ref["person_id"].to_numpy(), raw["person_id"])
    assert set(ref["programme"].astype(str)) <= {"work_first", "ips"}
    assert set(ref["reason"].astype(str)) <= set(lmsim.run.REASON_NAMES[1:])
    assert (ref["slot"] == ref["person_id"] % r.n_persons).all()
    codes = r.referrals(names=False)
    assert np.array_equal(codes["reason"].to_numpy(), raw["reason"])
    # the sample panel holds the full run's rows of its sampled persons
    s = lmsim.open(wales_sample)
    sr = s.referrals(names=False)
    keep = np.isin(codes["slot"], s._panel_slots())
    assert len(sr) == int(keep.sum()) and len(sr) < len(codes)
    for c in ["person_id", "referral_month", "start_month", "end_month", "reason"]:
        assert np.array_equal(sr[c].to_numpy(), codes[c].to_numpy()[keep]), c


def _direct(run, programme, horizon):
    """Cohort members computed referral by referral from the panel."""
    f = run.file
    slots = f["panel/person"][...]
    persons = run.persons().drop_duplicates("id", keep="last").set_index("id")
    prog = run.programme_names.index(programme) + 1
    out = []
    for row in f["referrals"][...]:
        o = int(row["referral_month"])
        if row["programme"] != prog or o + horizon > run.n_months:
            continue
        col = int(np.searchsorted(slots, row["person_id"] % run.n_persons))
        pid = f["panel/person_id"][:, col]
        if pid[o + horizon] != row["person_id"]:
            continue  # left at 65 before the horizon
        st = f["panel/state"][o:o + horizon + 1, col]
        su = f["panel/sustained_months"][o:o + horizon + 1, col]
        ea = f["panel/earnings"][o:o + horizon + 1, col]
        emp = (st == 5) | (st == 6)
        s6, seen = [], False
        for e, s in zip(emp, su):
            seen = seen or (e and s >= 6)
            s6.append(seen)
        out.append({"disabled": "disabled" if f["panel/disabled"][o, col] else "not_disabled",
                    "sex": "female" if persons.loc[row["person_id"], "female"] else "male",
                    "emp": emp, "s6": np.array(s6), "earn": ea.astype(float)})
    return out


def test_cohorts_equal_direct_computation(wales):
    r = lmsim.open(wales)
    H = 12
    c = lmsim.cohorts(r, "work_first", by=["disabled", "sex"], horizon=H)
    members = _direct(r, "work_first", H)
    assert len(members) > 30
    checked = 0
    for (dis, sex), g in c.groupby(["disabled", "sex"]):
        mem = [m for m in members if m["disabled"] == dis and m["sex"] == sex]
        assert (g["n"] == len(mem)).all() and list(g["months_since"]) == list(range(H + 1))
        for _, row in g.iterrows():
            ms = row.months_since
            k = sum(int(m["emp"][ms]) for m in mem)
            k6 = sum(int(m["s6"][ms]) for m in mem)
            assert row.in_work == k / len(mem) and row.n_in_work == k
            assert row.sustained_6 == k6 / len(mem)
            # Wilson: the score interval, written out
            p, n = k / len(mem), len(mem)
            centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
            half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
            assert row.in_work_low == pytest.approx(centre - half, abs=1e-12)
            assert row.in_work_high == pytest.approx(centre + half, abs=1e-12)
            e = [m["earn"][ms] for m in mem if m["emp"][ms]]
            if e:
                assert row.mean_earnings == pytest.approx(np.mean(e), rel=1e-12)
            if len(e) > 1:
                h = Z * np.std(e, ddof=1) / math.sqrt(len(e))
                assert row.mean_earnings_low == pytest.approx(np.mean(e) - h, rel=1e-12)
            checked += 1
    assert checked >= 2 * (H + 1)
    assert c.attrs["horizon"] == H and "Wilson" in c.attrs["interval"]


def test_cohorts_equal_engine_counts(wales):
    """Full panel, no trial: the cohorts at 12 months are the engine's 12-month
    follow-up (each referral that reached 12 months; nobody referred 3 times)."""
    r = lmsim.open(wales)
    p = r.programmes().set_index("programme")
    for prog in r.programme_names:
        c = lmsim.cohorts(r, prog, horizon=12)
        at = c[c.months_since == 12]
        assert int(at.n.sum()) == int(p.loc[prog, "followed_12_sim"])
        assert int(round((at.in_work * at.n).sum())) == int(p.loc[prog, "employed_12_sim"])
        assert int(round((at.sustained_6 * at.n).sum())) == int(p.loc[prog, "sustained_6_12_sim"])
    assert int(p.loc["work_first", "followed_12_sim"]) > 30


def test_cohorts_groups_and_scale(wales_sample):
    r = lmsim.open(wales_sample)
    c = lmsim.cohorts(r, "work_first", by=["age_band", "region"], horizon=6)
    assert set(c.columns) >= {"age_band", "region", "arm", "months_since", "n", "n_represented",
                              "in_work_low", "sustained_6_high", "mean_earnings_high"}
    assert set(c.region) <= set(r.region_names)
    assert np.allclose(c.n_represented, c.n * r.scale / r.sample_fraction)
    assert (c.in_work_low <= c.in_work).all() and (c.in_work <= c.in_work_high).all()
    with pytest.raises(KeyError):
        lmsim.cohorts(r, "work_first", by=["shoe_size"])
    with pytest.raises(KeyError):
        lmsim.cohorts(r, "no_such_programme")


def test_cohorts_need_a_panel(devolved):
    with pytest.raises(lmsim.PanelError):
        lmsim.cohorts(devolved, "ips")


def test_wilson_edges():
    lo, hi = wilson(np.array([0, 10]), np.array([10, 10]))
    assert lo[0] == pytest.approx(0.0, abs=1e-15) and 0 < hi[0] < 0.35
    assert 0.65 < lo[1] < 1 and hi[1] == pytest.approx(1.0)
    lo, hi = wilson(0, 0)
    assert np.isnan(lo) and np.isnan(hi)
