"""lmsim.compare(a, b) for two runs: the same rows, differences, standard
errors, intervals and basis as `lmsim compare A.h5 B.h5 --csv`
(engine/compare.c), every number within 1e-9 relative: paired full panels,
paired sampled panels, the fall-backs (no panel, different seeds, panels of
different persons), a run with itself (identical: a warning), and runs the
engine refuses (the same message)."""
import csv
import io
import math
import subprocess
import warnings

import numpy as np
import pytest

import lmsim
from lmsim.compare import (APPRAISAL_MEASURES, COST_ROWS, IMPACT_COLUMNS, IMPACT_MEASURES,
                           RUN_COLUMNS, _panel_totals)

EFFECT = ("--set", "programmes.work_first.effects.job_finding_or=3.0")  # well above the baseline's
WALES = ("scenarios/wales_baseline.cfg", "--persons", "20000", "--months", "24")
NUMBERS = ["a", "b", "diff", "se_paired", "ci_low", "ci_high", "se_unpaired"]


@pytest.fixture(scope="module")
def wf15(runner):
    """The wales fixture with Work First's job finding odds ratio 3, full panel."""
    return runner.run("wf15", *WALES, *EFFECT)


@pytest.fixture(scope="module")
def wf15_sample(runner):
    return runner.run("wf15_sample", *WALES, "--panel", "sample:0.1", *EFFECT)


@pytest.fixture(scope="module")
def wf15_nopanel(runner):
    return runner.run("wf15_nopanel", *WALES, "--panel", "none", *EFFECT)


@pytest.fixture(scope="module")
def wales_nopanel(runner):
    return runner.run("wales_nopanel", *WALES, "--panel", "none")


@pytest.fixture(scope="module")
def wf15_seed7(runner):
    return runner.run("wf15_seed7", *WALES, "--seed", "7", *EFFECT)


def engine(runner, a, b):
    """`lmsim compare A B --csv` as a list of dicts (numbers as floats)."""
    p = subprocess.run([runner.binary, "compare", a, b, "--csv"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert rows and list(rows[0]) == ["group", "measure", "persons_a", "persons_b",
                                      "persons_a_sim", "persons_b_sim"] + \
        NUMBERS[:3] + ["se_paired", "ci_low", "ci_high", "se_unpaired", "basis"]
    for r in rows:
        for k in NUMBERS + ["persons_a", "persons_b", "persons_a_sim", "persons_b_sim"]:
            r[k] = float(r[k])  # "nan" where there is no value
    return rows


def close(x, y, rel=1e-9):
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or abs(x - y) <= rel * max(abs(x), abs(y))


def check_equal(runner, a, b, basis):
    """Every row and number of lmsim.compare(a, b) equals the engine's."""
    want = engine(runner, a, b)
    got = lmsim.compare(a, b)
    assert list(got.columns) == RUN_COLUMNS
    assert list(got.columns[:5]) == ["group", "measure", "a", "b", "diff"]  # as before
    assert [(r["group"], r["measure"]) for r in want] == list(zip(got.group, got.measure))
    assert len(want) == 5 * len(lmsim.open(a).outcomes())
    bad = []
    for w, (_, g) in zip(want, got.iterrows()):
        assert w["basis"] == g.basis == basis
        # persons for the represented population, the simulated beside
        assert w["persons_a"] == g.persons_a and w["persons_b"] == g.persons_b
        assert int(w["persons_a_sim"]) == g.persons_a_sim
        assert int(w["persons_b_sim"]) == g.persons_b_sim
        assert g.persons_a == g.persons_a_sim * lmsim.open(a).scale
        for k in NUMBERS:
            if not close(w[k], float(g[k])):
                bad.append("%s %s %s: python %r, lmsim %r" % (w["group"], w["measure"], k,
                                                               float(g[k]), w[k]))
    assert not bad, "%d numbers differ: %s" % (len(bad), "; ".join(bad[:5]))
    assert got.attrs["basis"] == basis
    return got


def test_paired_full_panels(runner, wales, wf15):
    c = check_equal(runner, wales, wf15, "paired")
    assert c.attrs["same_seed"] and c.attrs["n_panel"] == 20000
    r = c[(c.group == "all") & (c.measure == "employment_rate")].iloc[0]
    # the effect is seen, and pairing narrows the interval
    assert r["diff"] > 0 and r.ci_low > 0 and r.se_paired < r.se_unpaired / 5
    assert r.ci_high - r["diff"] == pytest.approx(1.959963984540054 * r.se_paired)
    # the interval is from the paired s.e. in every row
    assert ((c.ci_high - c["diff"]) - 1.959963984540054 * c.se_paired).abs().max() < 1e-12


def test_paired_sampled_panels(runner, wales_sample, wf15_sample):
    c = check_equal(runner, wales_sample, wf15_sample, "paired")
    assert c.attrs["n_panel"] == lmsim.open(wales_sample).n_panel_persons


def test_no_panel_fallback(runner, wales, wf15_nopanel, wales_nopanel):
    for a, b in ((wales, wf15_nopanel), (wf15_nopanel, wales), (wales_nopanel, wf15_nopanel)):
        c = check_equal(runner, a, b, "headline")
        assert c.se_paired.isna().all()
        earn = c[c.measure == "mean_earnings"]
        assert earn.se_unpaired.isna().all() and earn.ci_low.isna().all()
        rates = c[c.measure != "mean_earnings"]
        assert (rates.se_unpaired > 0).all()
        # the interval is from the unpaired (binomial) s.e.
        assert ((rates.ci_high - rates["diff"]) - 1.959963984540054 * rates.se_unpaired
                ).abs().max() < 1e-12
        assert "headline persons counts" in c.attrs["note"]
    # both without a panel: the binomial from the headline counts
    c = lmsim.compare(wales_nopanel, wf15_nopanel)
    r = c[(c.group == "disabled") & (c.measure == "employment_rate")].iloc[0]
    # (disability can be acquired, so the group's size may differ between runs)
    na, nb = r.persons_a_sim, r.persons_b_sim
    assert r.se_unpaired == pytest.approx(math.sqrt(r.a * (1 - r.a) / na + r.b * (1 - r.b) / nb),
                                          rel=1e-12)


def test_unpaired_fallbacks(runner, wales, wf15_seed7, wf15_sample):
    c = check_equal(runner, wales, wf15_seed7, "unpaired")  # seeds differ
    assert not c.attrs["same_seed"] and "seeds differ" in c.attrs["note"]
    assert c.se_paired.isna().all() and (c.se_unpaired > 0).all()
    c = check_equal(runner, wales, wf15_sample, "unpaired")  # panels of different persons
    assert "different persons" in c.attrs["note"]


def test_run_with_itself(runner, wales):
    with pytest.warns(lmsim.NoOpWarning) as rec:
        c = check_equal(runner, wales, wales, "paired")
    assert (c["diff"] == 0).all() and (c.se_paired == 0).all() and (c.ci_low == 0).all()
    assert (c.se_unpaired > 0).all()
    # identical runs: a warning, as lmsim compare prints it, and the note says so
    assert [str(w.message) for w in rec] == [lmsim.messages.IDENTICAL]
    assert c.attrs["identical"] and c.attrs["warnings"] == [lmsim.messages.IDENTICAL]
    assert c.attrs["note"].startswith(lmsim.messages.IDENTICAL + "; ")
    p = subprocess.run([runner.binary, "compare", wales, wales, "--csv"], capture_output=True,
                       text=True, timeout=120)
    assert p.stderr == "lmsim: warning: %s\n" % lmsim.messages.IDENTICAL


def test_different_runs_do_not_warn(wales, wf15):
    with warnings.catch_warnings():
        warnings.simplefilter("error", lmsim.NoOpWarning)
        c = lmsim.compare(wales, wf15)
    assert not c.attrs["identical"] and c.attrs["warnings"] == [] and c.attrs["verdict"] == ""


def test_not_comparable(runner, wales, baseline36):
    # the engine refuses (exit 2) and so does Python, with the same message
    p = subprocess.run([runner.binary, "compare", wales, baseline36, "--csv"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "not comparable" in p.stderr
    with pytest.raises(lmsim.CompareError) as e:
        lmsim.compare(wales, baseline36)
    assert p.stderr == "lmsim: error: %s\n" % e.value
    assert "24 months against 36" in str(e.value)


# ---- impacts over the run (compare --impacts) ------------------------------------------------

Z = 1.959963984540054


def engine_impacts(runner, a, b):
    p = subprocess.run([runner.binary, "compare", a, b, "--impacts", "--csv"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert rows and list(rows[0]) == IMPACT_COLUMNS
    for r in rows:
        for k in IMPACT_COLUMNS[2:8]:
            r[k] = float(r[k])
    return rows


def check_impacts(runner, a, b, basis):
    """lmsim.compare(a, b, impacts=True) equals `lmsim compare A B --impacts --csv`."""
    want = engine_impacts(runner, a, b)
    got = lmsim.compare(a, b, impacts=True)
    assert list(got.columns) == IMPACT_COLUMNS
    assert [(r["group"], r["measure"]) for r in want] == list(zip(got.group, got.measure))
    groups = list(lmsim.open(a).outcomes().group)
    n = 4 * len(groups) + 3
    assert list(got.measure[n - 3:n]) == COST_ROWS
    progs = list(lmsim.open(a).programmes().programme.unique())
    # the scenario's appraisal: its rows, then one per programme
    assert len(want) == n + len(APPRAISAL_MEASURES) + len(progs)
    assert list(got.measure[n:n + 9]) == ["appraisal_" + m for m in APPRAISAL_MEASURES]
    assert list(got.group[n + 9:]) == ["programme:" + p for p in progs]
    bad = []
    for w, (_, g) in zip(want, got.iterrows()):
        exact = g.measure in (COST_ROWS[0], "appraisal_programme_cost_gbp")
        assert w["basis"] == g.basis == ("exact" if exact else basis)
        # sums of up to 20000 columns in another order: relative to the totals compared; ratios
        # (a, b NaN) relative to themselves
        scale = max(abs(w["a"]), abs(w["b"])) if not math.isnan(w["a"]) else abs(w["diff"])
        for k in IMPACT_COLUMNS[2:8]:
            x, y = float(g[k]), w[k]
            tol = 1e-9 * (scale if k != "se" else abs(y)) + 1e-9
            if math.isnan(w["a"]):
                tol = 1e-6 * abs(y) + 1e-9
            if not (math.isnan(x) and math.isnan(y)) and not abs(x - y) <= tol:
                bad.append("%s %s %s: python %r, lmsim %r" % (w["group"], w["measure"], k, x, y))
    assert not bad, "%d numbers differ: %s" % (len(bad), "; ".join(bad[:5]))
    assert got.attrs["basis"] == basis
    return got


def test_impacts_equal_engine_and_find_the_effect(runner, wales, wf15, wf15_seed7):
    c = check_impacts(runner, wales, wf15, "paired")
    m = c.set_index(["group", "measure"])
    emp = m.loc[("all", "employment_months")]
    # Work First's odds ratio 3 adds employment months and takes away benefit months
    assert emp["diff"] > 0 and emp.ci_low > 0
    assert m.loc[("all", "benefit_months")].ci_high < 0
    rows = c[c.measure.isin(IMPACT_MEASURES)]
    assert ((rows.ci_high - rows["diff"]) - Z * rows.se).abs().max() <= 1e-6 * rows.se.max()
    # costs: exact totals of /outcomes/programmes, and the cost per additional outcome
    cost = m.loc[("all", "programme_cost_gbp")]
    for run, v in ((wales, cost.a), (wf15, cost.b)):
        assert v == pytest.approx(lmsim.open(run).programmes().cost_total.sum(), rel=1e-12)
    per = m.loc[("all", "cost_per_additional_employment_month")]
    assert per["diff"] == pytest.approx(cost["diff"] / emp["diff"], rel=1e-12)
    assert per.ci_low == pytest.approx(min(cost["diff"] / emp.ci_low, cost["diff"] / emp.ci_high))
    # without common random numbers the same effect is measured far less precisely
    u = check_impacts(runner, wales, wf15_seed7, "unpaired")
    ue = u.set_index(["group", "measure"]).loc[("all", "employment_months")]
    assert ue.se > 3 * emp.se


def test_impacts_match_the_aggregates(wales, wf15):
    """Full panels: employment and benefit months of "all" are the sums of
    /aggregates/counts over months 1..n (x scale); earnings within the panel's
    rounding to whole pounds."""
    c = lmsim.compare(wales, wf15, impacts=True).set_index(["group", "measure"])
    for col, path in (("a", wales), ("b", wf15)):
        r = lmsim.open(path)
        ag = r.aggregates(by=["month", "state"])
        ag = ag[ag.month >= 1]
        emp = ag[ag.state.isin(["employed_poor", "employed_good"])]
        ben = ag[ag.state.isin(["unemployed", "inactive_sick"])]
        assert c.loc[("all", "employment_months"), col] == pytest.approx(
            emp["count"].sum() * r.scale, rel=1e-9)
        assert c.loc[("all", "benefit_months"), col] == pytest.approx(
            ben["count"].sum() * r.scale, rel=1e-9)
        pounds = emp.earnings_pence.sum() / 100.0 * r.scale
        assert abs(c.loc[("all", "earnings_gbp"), col] - pounds) <= \
            0.5 * emp["count"].sum() * r.scale


def test_impacts_from_sampled_panels(runner, wales, wf15, wales_sample, wf15_sample):
    """A 10 % panel estimates the full panel's totals (R / n x sum): within 4
    standard errors, the s.e. of a level from the full panel's spread."""
    full = lmsim.compare(wales, wf15, impacts=True).set_index(["group", "measure"])
    s = check_impacts(runner, wales_sample, wf15_sample, "paired").set_index(["group", "measure"])
    run = lmsim.open(wales)
    t = _panel_totals(run)[0] * run.represents / run.n_persons   # employment months per column
    n = lmsim.open(wales_sample).n_panel_persons
    se_level = t.std() * math.sqrt(run.n_persons) * math.sqrt(run.n_persons / n)
    key = ("all", "employment_months")
    assert abs(s.loc[key, "a"] - full.loc[key, "a"]) <= 4 * se_level
    assert abs(s.loc[key, "diff"] - full.loc[key, "diff"]) <= 4 * s.loc[key, "se"]


def test_impacts_of_a_run_with_itself(runner, wales):
    with pytest.warns(lmsim.NoOpWarning):
        lmsim.compare(wales, wales)  # (the headline comparison warns; impacts are zero)
    c = check_impacts(runner, wales, wales, "paired")
    m = c.set_index(["group", "measure"])
    rows = c[c.measure.isin(IMPACT_MEASURES) | (c.basis == "exact")]
    assert (rows["diff"] == 0).all()
    assert (c[c.measure.isin(IMPACT_MEASURES)].se == 0).all()
    # no cost per additional outcome, no ratio: no impact, no extra cost
    assert m.loc[("all", COST_ROWS[1]), "diff"] != m.loc[("all", COST_ROWS[1]), "diff"]
    assert math.isnan(m.loc[("all", "appraisal_bcr_society"), "diff"])


def test_impacts_need_panels(runner, wales, wf15_nopanel):
    p = subprocess.run([runner.binary, "compare", wales, wf15_nopanel, "--impacts"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    with pytest.raises(lmsim.CompareError) as e:
        lmsim.compare(wales, wf15_nopanel, impacts=True)
    assert p.stderr == "lmsim: error: %s\n" % e.value
    assert "panel mode none" in str(e.value)
    # the full comparison still works and says why there are no impacts
    p = subprocess.run([runner.binary, "compare", wales, wf15_nopanel], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and "no impacts" in p.stdout


# ---- appraisal (Green Book): checked by hand ------------------------------------------------

# A flat 10 % tax on all earnings, 100 GBP a month of benefit when unemployed
# and nothing else: the appraisal's sums can be computed from the aggregates.
FLAT = []
for kv in (("personal_allowance", 0), ("basic_rate", 0.1), ("higher_threshold", 1e9),
           ("higher_rate", 0.1), ("additional_threshold", 1e9), ("additional_rate", 0.1),
           ("ni_primary_threshold", 0), ("ni_main_rate", 0), ("ni_upper_limit", 0),
           ("ni_upper_rate", 0), ("employer_ni_threshold", 0), ("employer_ni_rate", 0)):
    FLAT += ["--set", "appraisal.tax.%s=%s" % kv]
for st, v in (("unemployed", 100), ("inactive_sick", 0), ("inactive_caring", 0)):
    FLAT += ["--set", "appraisal.benefits.%s=%s" % (st, v)]
FLAT += ["--set", "appraisal.health_element=0"]


@pytest.fixture(scope="module")
def flat_pair(runner):
    a = runner.run("flat_a", *WALES, *FLAT)
    b = runner.run("flat_b", *WALES, *FLAT, *EFFECT)
    return a, b


def test_appraisal_by_hand(runner, flat_pair):
    a, b = flat_pair
    c = check_impacts(runner, a, b, "paired").set_index(["group", "measure"])
    for col, path in (("a", a), ("b", b)):
        r = lmsim.open(path)
        ag = r.aggregates(by=["month", "state"])
        ag = ag[ag.month >= 1]
        # 24 months from 2024-01: months 1-11 in 2024 (the base year), 12-23 in 2025, 24 in 2026
        year = 2024 + (ag.month.to_numpy() - 1 + 1) // 12
        f = 1.035 ** -(year - 2024.0)
        emp = ag.state.isin(["employed_poor", "employed_good"]).to_numpy()
        une = (ag.state == "unemployed").to_numpy()
        pounds = (f * emp * ag.earnings_pence.to_numpy() / 100.0).sum() * r.scale
        slack = 0.5 * (emp * ag["count"].to_numpy()).sum() * r.scale  # the panel's whole pounds
        out = c.loc[("all", "appraisal_output_gbp"), col]
        tax = c.loc[("all", "appraisal_tax_ni_gbp"), col]
        assert abs(out - pounds) <= slack
        assert tax == pytest.approx(0.1 * out, rel=1e-12)
        ben = 100.0 * (f * une * ag["count"].to_numpy()).sum() * r.scale
        assert c.loc[("all", "appraisal_benefits_gbp"), col] == pytest.approx(ben, rel=1e-9)
        # discounted programme costs from /outcomes/programme_costs, whose sum is the table's
        pc = r.file["outcomes/programme_costs"][...]
        assert pc.sum() == pytest.approx(r.programmes().cost_total.sum(), rel=1e-9)
        months = np.arange(pc.shape[0])
        fy = 1.035 ** -((2024 + months // 12) - 2024.0)
        assert c.loc[("all", "appraisal_programme_cost_gbp"), col] == pytest.approx(
            (fy[1:, None] * pc[1:]).sum(), rel=1e-9)
    g = c.xs("all")
    dc = g.loc["appraisal_programme_cost_gbp", "diff"]
    assert g.loc["appraisal_exchequer_net_cost_gbp", "diff"] == pytest.approx(
        dc + g.loc["appraisal_benefits_gbp", "diff"] - g.loc["appraisal_tax_ni_gbp", "diff"])
    assert g.loc["appraisal_npv_society_gbp", "diff"] == pytest.approx(
        g.loc["appraisal_output_gbp", "diff"] - dc)
    if dc > 0:
        assert g.loc["appraisal_bcr_society", "diff"] == pytest.approx(
            g.loc["appraisal_output_gbp", "diff"] / dc)
    else:  # no extra cost: no ratio
        assert math.isnan(g.loc["appraisal_bcr_society", "diff"])


def test_appraisal_settings_must_agree(runner, wales, flat_pair):
    p = subprocess.run([runner.binary, "compare", wales, flat_pair[1], "--impacts"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    with pytest.raises(lmsim.CompareError) as e:
        lmsim.compare(wales, flat_pair[1], impacts=True)
    assert p.stderr == "lmsim: error: %s\n" % e.value
    assert "different appraisal settings" in str(e.value)


def test_trial_appraisal(runner):
    """Per programme, from a trial: treatment minus control per person randomised. With the
    flat 10 % tax the identities hold exactly; the arms' sizes are the randomised persons."""
    run = runner.run("trial_flat", *WALES, "--months", "36", "--trial", "work_first", *FLAT)
    c = lmsim.compare(run, impacts=True)
    g = c.set_index(["group", "measure"]).xs("programme:work_first")
    ref = lmsim.open(run).referrals()
    first = ref[ref.arm.isin(["treatment", "control"])].sort_values(
        ["offer_month", "person_id"]).drop_duplicates("person_id")
    first = first[first.programme == "work_first"]
    assert int(g.n_treatment_sim.iloc[0]) == (first.arm == "treatment").sum() > 50
    assert int(g.n_control_sim.iloc[0]) == (first.arm == "control").sum() > 50
    d = g["diff"]
    out = d["appraisal_trial_output_gbp"]
    assert d["appraisal_trial_tax_ni_gbp"] == pytest.approx(0.1 * out, rel=1e-9, abs=1e-9)
    cost = d["appraisal_trial_programme_cost_gbp"]
    assert cost > 0
    assert d["appraisal_trial_npv_society_gbp"] == pytest.approx(out - cost)
    assert d["appraisal_trial_bcr_society"] == pytest.approx(out / cost)
    assert d["appraisal_trial_exchequer_net_cost_gbp"] == pytest.approx(
        cost + d["appraisal_trial_benefits_gbp"] - d["appraisal_trial_tax_ni_gbp"])
    # the cost per person randomised to treatment: the programme's discounted costs over them
    r = lmsim.open(run)
    pc = r.file["outcomes/programme_costs"][...]
    k = list(r.programme_names).index("work_first")
    fy = 1.035 ** -((2024 + np.arange(pc.shape[0]) // 12) - 2024.0)
    tab = r.programmes()
    randomised = tab[(tab.programme == "work_first") & (tab.arm == "treatment")].randomised.iloc[0]
    assert cost == pytest.approx((fy[1:] * pc[1:, k]).sum() / randomised, rel=1e-9)
    # totals: per person x the represented persons randomised to treatment
    assert d["appraisal_trial_npv_society_total_gbp"] == pytest.approx(
        d["appraisal_trial_npv_society_gbp"] * randomised)
