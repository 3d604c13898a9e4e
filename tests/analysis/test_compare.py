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

import pytest

import lmsim
from lmsim.compare import RUN_COLUMNS

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
