"""Sweep index (lmsim sweep): tidy table, task runs, paired replicate comparison."""
import math
import os
import subprocess

import h5py
import numpy as np
import pytest

import lmsim
from lmsim.sweep import t975

from conftest import SOURCE


def test_sweep_open(smoke_sweep):
    s = lmsim.open(smoke_sweep)
    assert isinstance(s, lmsim.Sweep)
    assert s.points == ["baseline", "ips_high_fidelity"] and s.replicates == [0, 1]
    t = s.tidy()
    assert len(t) == 4
    for _, row in t.iterrows():
        with s.run(row.point, row.replicate) as r:
            assert str(r.seed) == row.seed
            h = r.outcomes().set_index("group")
            assert h.at["all", "employment_rate_end"] == row.employment_rate_end


def test_sweep_compare_paired(smoke_sweep):
    s = lmsim.open(smoke_sweep)
    c = lmsim.compare(smoke_sweep, "baseline", "ips_high_fidelity")
    # recompute from the task files with h5py
    d = []
    for rep in (0, 1):
        vals = []
        for p in ("baseline", "ips_high_fidelity"):
            with h5py.File(s.task_path(p, rep), "r") as f:
                h = f["outcomes/headline"][...]
                vals.append(h[h["group"] == b"disabled"]["employment_rate_end"][0])
        d.append(vals[1] - vals[0])
    d = np.array(d)
    row = c[(c.group == "disabled") & (c.measure == "employment_rate_end")].iloc[0]
    se = d.std(ddof=1) / math.sqrt(2)
    assert row["diff"] == pytest.approx(d.mean(), abs=1e-15)
    assert row.se == pytest.approx(se, rel=1e-12, abs=1e-15)
    assert row.ci_high == pytest.approx(d.mean() + t975(1) * se, rel=1e-12, abs=1e-15)
    assert abs(t975(1) - 12.7062) < 5e-5
    assert row.replicates == 2
    assert set(c.group) >= {"sweep_tidy", "all", "disabled"}
    with pytest.raises(KeyError):
        lmsim.compare(smoke_sweep, "baseline", "nope")


def test_t_quantiles():
    # published table values (4 decimals), and the normal quantile in the limit
    for df, q in ((1, 12.7062), (2, 4.3027), (10, 2.2281), (30, 2.0423), (40, 2.0211),
                  (120, 1.9799)):
        assert abs(t975(df) - q) < 5e-5, df
    assert abs(t975(10 ** 7) - 1.959963984540054) < 1e-6
    assert math.isnan(t975(0))


def test_sweep_report(smoke_sweep, tmp_path):
    from lmsim.report import build
    from test_report import Page
    path = build([smoke_sweep], str(tmp_path / "rep"))
    page = Page()
    with open(path, encoding="utf-8") as fh:
        page.feed(fh.read())
    s = lmsim.open(smoke_sweep)
    t = s.tidy().set_index(["point", "replicate"])
    cells = [c for c in page.cells if c["table"].get("id") == "sweep-tidy-0"]
    assert len(cells) == 4 * 7
    for c in cells:
        v = t.at[(c["data-point"], int(c["data-replicate"])), c["data-field"]]
        assert float(c["data-value"]) == float(v)
    cmp_ = lmsim.compare(s, "baseline", "ips_high_fidelity").set_index(["group", "measure"])
    diffs = [c for c in page.cells if c["table"].get("id") == "sweep-compare-0-1"
             and "data-group" in c]
    assert len(diffs) == 6 + 5 + 5
    for c in diffs:
        assert float(c["data-value"]) == cmp_.at[(c["data-group"], c["data-field"]), "diff"]
    # the runs shown are replicate 0 of each point: 2 headline tables
    assert {"headline-0", "headline-1"} <= {tb.get("id") for tb in page.tables}


@pytest.fixture(scope="module")
def panel_sweep(runner, tmp_path_factory):
    """2 points x 3 replicates with 20 % panels: the impacts need them."""
    d = tmp_path_factory.mktemp("panel_sweep")
    cfg = d / "sweep.cfg"
    cfg.write_text(
        'sweep = {\n  base = "%s";\n  replicates = 3;\n  seed = 99;\n'
        '  set = [ "simulation.persons=20000", "simulation.months=24",\n'
        '          "output.panel=\\"sample\\"", "output.sample_fraction=0.2" ];\n'
        '  points = ( { name = "base"; set = [ ]; },\n'
        '             { name = "wf3"; set = [ "programmes.work_first.effects.job_finding_or=3.0" ]; } );\n'
        '};\n' % os.path.join(SOURCE, "scenarios", "wales_baseline.cfg"))
    out = d / "out"
    p = subprocess.run([runner.binary, "sweep", str(cfg), "-o", str(out), "-q", "--threads", "1"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return str(out / "sweep.h5")


def test_sweep_impacts_over_replicates(panel_sweep):
    """Every row is the mean over replicates of the per-replicate compare_impacts, with a
    Student-t interval from the spread of the per-replicate differences."""
    s = lmsim.sweep.Sweep(panel_sweep)
    c = lmsim.compare(s, "base", "wf3", impacts=True)
    assert list(c.columns) == ["group", "measure", "a", "b", "diff", "se", "ci_low", "ci_high",
                               "replicates"]
    assert (c.replicates == 3).all()
    per = [lmsim.compare(s.task_path("base", r), s.task_path("wf3", r), impacts=True)
           for r in s.replicates]
    for i in (0, list(c.measure).index("appraisal_npv_society_gbp")):
        d = np.array([p["diff"].iloc[i] for p in per])
        r = c.iloc[i]
        assert r["diff"] == pytest.approx(d.mean(), rel=1e-12)
        assert r.se == pytest.approx(d.std(ddof=1) / np.sqrt(3), rel=1e-12)
        assert r.ci_high - r["diff"] == pytest.approx(4.3027 * r.se, rel=1e-4)  # t_{0.975, 2}
    # Work First's odds ratio 3 adds months in work: the mean over the three
    # replicates is above 0 by more than 2 of its standard errors, taken
    # from each replicate's paired (common random numbers) s.e. (the
    # Student-t interval from the spread of 3 replicates, 2 degrees of
    # freedom, is too wide to show it at this size).
    e = c[(c.group == "all") & (c.measure == "employment_months")].iloc[0]
    ses = [p[(p.group == "all") & (p.measure == "employment_months")].iloc[0].se for p in per]
    se_mean = np.sqrt(np.sum(np.square(ses))) / len(ses)
    assert e["diff"] > 2.0 * se_mean, (e["diff"], se_mean)


def test_sweep_impacts_engine(runner, panel_sweep):
    """`lmsim compare SWEEP A B --impacts --csv` gives the same rows and numbers."""
    import csv
    import io
    p = subprocess.run([runner.binary, "compare", panel_sweep, "base", "wf3", "--impacts", "--csv"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    c = lmsim.compare(panel_sweep, "base", "wf3", impacts=True)
    assert [(r["group"], r["measure"]) for r in rows] == list(zip(c.group, c.measure))
    bad = []
    for r, (_, g) in zip(rows, c.iterrows()):
        assert int(r["replicates"]) == g.replicates == 3
        scale = max(abs(float(r["a"])), abs(float(r["b"]))) if r["a"] != "nan" else \
            abs(float(r["diff"]))
        for k in ("a", "b", "diff", "se", "ci_low", "ci_high"):
            x, y = float(g[k]), float(r[k])
            if math.isnan(x) and math.isnan(y):
                continue
            tol = (1e-9 if r["a"] != "nan" else 1e-6) * max(scale, abs(y)) + 1e-9
            if not abs(x - y) <= tol:
                bad.append("%s %s %s: python %r, lmsim %r" % (r["group"], r["measure"], k, x, y))
    assert not bad, "%d differ: %s" % (len(bad), "; ".join(bad[:5]))


def test_sweep_impacts_need_panels(runner, smoke_sweep):
    with pytest.raises(lmsim.CompareError) as e:
        lmsim.compare(smoke_sweep, "baseline", "ips_high_fidelity", impacts=True)
    assert "panel mode none" in str(e.value)
    p = subprocess.run([runner.binary, "compare", smoke_sweep, "baseline", "ips_high_fidelity",
                        "--impacts"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "panel mode none" in p.stderr
