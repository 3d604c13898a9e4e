"""Every plot writes a non-empty PNG and SVG."""
import os

import pytest

import lmsim
import lmsim.plots as P


def _check(out):
    for ext in ("png", "svg"):
        p = "%s.%s" % (out, ext)
        assert os.path.getsize(p) > 1000, p
    with open(out + ".png", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(out + ".svg") as fh:
        assert "<svg" in fh.read(2000)


def test_occupancy(wales, tmp_path):
    for by in (None, "disabled", "region"):
        out = str(tmp_path / ("occ_%s" % by))
        P.close(P.occupancy(wales, by=by, out=out))
        _check(out)


def test_programmes_side_by_side(trial, wales, tmp_path):
    out = str(tmp_path / "prog")
    P.close(P.programmes(trial, out=out))
    _check(out)
    out2 = str(tmp_path / "prog2")
    P.close(P.programmes([wales, trial], out=out2))
    _check(out2)
    t = P.programme_table([wales, trial])
    assert set(t.programme) == {"work_first", "ips"}


def test_gaps(baseline36, devolved, tmp_path):
    out = str(tmp_path / "gaps")
    fig = P.gaps([baseline36, devolved], out=out)
    _check(out)
    labels = [l.get_label() for l in fig.axes[0].get_lines()]
    assert labels == ["wales_baseline", "wales_devolved_ips"]
    P.close(fig)


def test_flow(wales, still, tmp_path):
    out = str(tmp_path / "flow")
    P.close(P.flow(wales, 0, 24, out=out))
    _check(out)
    out = str(tmp_path / "flow_still")
    P.close(P.flow(lmsim.open(still), 0, 12, out=out))
    _check(out)


def test_programmes_sweep(smoke_sweep, tmp_path):
    t = P.programme_table(smoke_sweep)
    assert list(t.scenario.unique()) == ["baseline", "ips_high_fidelity"]
    assert t["ci_any_job_12_rate"].notna().all()
    out = str(tmp_path / "prog_sweep")
    P.close(P.programmes(smoke_sweep, out=out))
    _check(out)


def test_impacts(baseline36_panel, devolved_panel, tmp_path):
    """One bar per group and measure, at the table's difference, with its interval."""
    t = lmsim.compare(baseline36_panel, devolved_panel, impacts=True)
    fig = P.impacts(t, groups=["all", "disabled", "not_disabled"], out=str(tmp_path / "imp"))
    assert (tmp_path / "imp.png").stat().st_size > 1000
    ax = fig.axes[0]
    bars = [p for p in ax.patches]
    assert len(bars) == 3
    want = t[(t.measure == "employment_months")].set_index("group")["diff"]
    # barh: the bar's width is the difference, bottom to top = the groups in reverse order
    got = sorted(((b.get_y(), b.get_width()) for b in bars), reverse=True)
    assert [w for _, w in got] == pytest.approx([want[g] for g in ("all", "disabled",
                                                                   "not_disabled")])
    P.close(fig)
