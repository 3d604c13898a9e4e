"""lmsim.Run against raw h5py reads and scenarios with known answers."""
import math
import os

import h5py
import numpy as np
import pandas as pd
import pytest

import lmsim


def test_metadata(wales):
    r = lmsim.open(wales)
    with h5py.File(wales, "r") as f:
        assert r.scenario_name == "wales_baseline"
        assert r.scenario_text == f.attrs["scenario_text"]
        assert r.seed == int(f.attrs["seed_str"]) == 20240101
        assert r.n_persons == 20000 and r.n_months == 24
        assert r.start_month == "2024-01"
        assert r.version == f.attrs["lmsim_version"]
    assert r.settings()["simulation.persons"] == 20000
    assert r.settings()["name"] == "wales_baseline"
    assert r.scenario["simulation"]["persons"] == 20000
    r.close()


def _legacy_oracle():
    import importlib.util
    import os
    spec = importlib.util.spec_from_file_location(
        "legacy_settings", os.path.join(os.path.dirname(__file__), "legacy_settings.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.flatten_settings


@pytest.mark.parametrize("scenario", ["wales_baseline.cfg", "wales_devolved_ips.cfg",
                                      "wales_good_work.cfg"])
def test_settings_match_legacy_parser(runner, source_dir, scenario):
    """Run.settings() reads the engine's scenario_json; the text parser it
    replaced (tests/analysis/legacy_settings.py) gives the same keys and,
    value by value, the same scenario text."""
    import os
    import re
    path = runner.run("legacy_" + scenario, os.path.join(source_dir, "scenarios", scenario),
                      "--persons", "300", "--months", "2", "--panel", "none")
    r = lmsim.open(path)
    old = _legacy_oracle()(r.scenario_text)
    new = r.settings()
    assert list(new) == list(old)
    for k, v in new.items():
        want = re.sub(r"(?<=[0-9])L\b", "", old[k])       # 64-bit integers: 5000000000L
        # outside strings: lists and arrays both in brackets, "name: value" as "name=value"
        want = "".join(part if part.startswith('"') else
                       part.replace("(", "[").replace(")", "]").replace(":", "=")
                       for part in re.split(r'("(?:[^"\\]|\\.)*")', want))
        got = lmsim.setting_text(v).replace(" ", "")
        assert got == want.replace(" ", ""), k
    r.close()


def test_settings_need_scenario_json(wales, tmp_path):
    """A file without scenario_json (written before it existed): settings()
    says so rather than parsing the libconfig text a second way."""
    import shutil
    p = tmp_path / "old.h5"
    shutil.copy(wales, p)
    with h5py.File(p, "r+") as f:
        del f.attrs["scenario_json"]
        del f.attrs["json_crc32"]
    r = lmsim.open(p)
    with pytest.raises(KeyError, match="scenario_json"):
        r.settings()
    r.close()


def test_scenario_json_checksum(wales, tmp_path):
    """A changed scenario_json no longer matches json_crc32: the engine calls
    the file damaged (exit 4) instead of trusting it."""
    import shutil
    import subprocess
    p = tmp_path / "edited.h5"
    shutil.copy(wales, p)
    with h5py.File(p, "r+") as f:
        f.attrs["scenario_json"] = f.attrs["scenario_json"].replace("20000", "20001")
    res = subprocess.run([os.environ["LMSIM_BINARY"], "describe", str(p)], capture_output=True,
                         text=True)
    assert res.returncode == 4 and "damaged" in res.stderr, res.stderr


def test_missing_part_file_is_an_error(wales, tmp_path):
    """A distributed run's main file without its part files: a clear error,
    never the zeros HDF5 reads for a missing virtual-dataset source."""
    import shutil
    # A main file whose /panel/state maps two part files (the layout that
    # `mpirun -np 2 lmsim run` writes), built here from the plain file.
    with h5py.File(wales, "r") as f:
        state = f["panel/state"][...]
        half = state.shape[1] // 2
        for k, cols in enumerate([slice(0, half), slice(half, None)]):
            with h5py.File(tmp_path / ("split.part%dof2.h5" % k), "w") as g:
                g["panel/state"] = state[:, cols]
    shutil.copy(wales, tmp_path / "split.h5")
    with h5py.File(tmp_path / "split.h5", "a") as f:
        del f["panel/state"]
        layout = h5py.VirtualLayout(shape=state.shape, dtype=state.dtype)
        layout[:, :half] = h5py.VirtualSource("split.part0of2.h5", "panel/state",
                                              shape=(state.shape[0], half))
        layout[:, half:] = h5py.VirtualSource("split.part1of2.h5", "panel/state",
                                              shape=(state.shape[0], state.shape[1] - half))
        f.create_virtual_dataset("panel/state", layout)
        f.attrs["panel_parts"] = ["split.part0of2.h5", "split.part1of2.h5"]
    r = lmsim.open(tmp_path / "split.h5")
    assert r.panel_parts == ["split.part0of2.h5", "split.part1of2.h5"]
    assert np.array_equal(r.file["panel/state"][...], state)
    r.close()
    (tmp_path / "split.part1of2.h5").unlink()
    with pytest.raises(FileNotFoundError, match="split.part1of2.h5"):
        lmsim.open(tmp_path / "split.h5")


def test_panel_equals_raw(wales):
    r = lmsim.open(wales)
    months = [0, 5, 6, 7, 24]
    df = r.panel(["state", "phase", "programme", "earnings", "sustained_months"], months=months)
    with h5py.File(wales, "r") as f:
        n = f["panel/state"].shape[1]
        assert len(df) == len(months) * n
        for v in ["state", "phase", "programme", "earnings", "sustained_months", "person_id"]:
            raw = f["panel/" + v][months, :].ravel()
            got = df[v]
            if isinstance(got.dtype, pd.CategoricalDtype):
                got = got.cat.codes
            assert np.array_equal(got.to_numpy().astype(np.int64), raw.astype(np.int64)), v
        assert np.array_equal(df["month"].to_numpy(), np.repeat(months, n))
        assert np.array_equal(df["slot"].to_numpy(), np.tile(f["panel/person"][...], len(months)))
        names = h5py.check_enum_dtype(f["panel/state"].dtype)
    assert list(df["state"].cat.categories) == sorted(names, key=names.get)
    assert list(df["phase"].cat.categories) == ["none", "queued", "search", "in_work"]
    assert list(df["programme"].cat.categories) == ["none"] + r.programme_names
    # whole panel (contiguous month read) equals raw as well
    full = r.panel("months_in_state")
    with h5py.File(wales, "r") as f:
        assert np.array_equal(full["months_in_state"].to_numpy(),
                              f["panel/months_in_state"][...].ravel())


def test_panel_persons(wales):
    r = lmsim.open(wales)
    p = r.persons()
    entrants = p[p.entry_month > 0]
    assert len(entrants) > 0
    e = entrants.iloc[0]
    pids = [int(e.id), 17, 3]
    df = r.panel(["state", "earnings"], persons=pids)
    assert set(df.person_id) == set(pids)
    with h5py.File(wales, "r") as f:
        for pid in pids:
            col = int(np.searchsorted(f["panel/person"][...], pid % r.n_persons))
            rows = np.flatnonzero(f["panel/person_id"][:, col] == pid)
            sub = df[df.person_id == pid].sort_values("month")
            assert np.array_equal(sub.month.to_numpy(), rows)
            assert np.array_equal(sub.state.cat.codes.to_numpy(), f["panel/state"][rows, col])
            assert np.array_equal(sub.earnings.to_numpy(), f["panel/earnings"][rows, col])
    assert df[df.person_id == int(e.id)].month.min() == int(e.entry_month)


def test_sample_panel(wales_sample):
    r = lmsim.open(wales_sample)
    assert r.panel_mode == "sample"
    with h5py.File(wales_sample, "r") as f:
        slots = f["panel/person"][...]
        df = r.panel("state", months=3)
        assert np.array_equal(df.slot.to_numpy(), slots)
        assert np.array_equal(df.state.cat.codes.to_numpy(), f["panel/state"][3])
        pid = int(slots[7])
        one = r.panel("state", persons=[pid])
        assert np.array_equal(one.state.cat.codes.to_numpy(),
                              f["panel/state"][:, 7][f["panel/person_id"][:, 7] == pid])


def test_persons(wales):
    r = lmsim.open(wales)
    p = r.persons()
    with h5py.File(wales, "r") as f:
        for k in f["persons"]:
            if f["persons"][k].attrs.get("CLASS") == b"DIMENSION_SCALE":
                continue  # /persons/row, the row index for netCDF readers
            got = p[k].cat.codes if k == "region" else p[k]
            assert np.array_equal(got.to_numpy(), f["persons"][k][...]), k
    assert list(p.region.cat.categories) == r.region_names


def test_no_panel(devolved):
    r = lmsim.open(devolved)
    with pytest.raises(lmsim.PanelError):
        r.panel("state")
    assert len(r.outcomes()) > 0


def test_outcomes_equal_file(wales):
    r = lmsim.open(wales)
    df = r.outcomes()
    with h5py.File(wales, "r") as f:
        raw = f["outcomes/headline"][...]
    assert list(df.group) == [g.decode() for g in raw["group"]]
    for name in raw.dtype.names[1:]:
        assert np.array_equal(df[name].to_numpy(), raw[name]), name
    assert df.group.iloc[0] == "all"


def test_programmes_equal_file(trial):
    r = lmsim.open(trial)
    df = r.programmes()
    with h5py.File(trial, "r") as f:
        raw = f["outcomes/programmes"][...]
    assert list(df.programme) == [g.decode() for g in raw["programme"]]
    assert list(df.arm) == [{0: "none", 1: "treatment", 2: "control"}[a] for a in raw["arm"]]
    for name in raw.dtype.names[2:]:
        assert np.array_equal(df[name].to_numpy(), raw[name]), name
    assert r.is_trial()


def _fixed_strings(f, name, sizes):
    """Rewrite table `name` as lmsim wrote it before its strings were
    variable-length: fixed-length string columns, no strings_crc32."""
    ds = f[name]
    a = ds[...]
    attrs = {k: ds.attrs[k] for k in ds.attrs if k not in ("strings_crc32", "DIMENSION_LIST")}
    dt = np.dtype([(k, "S%d" % sizes[k]) if k in sizes else (k, a.dtype[k])
                   for k in a.dtype.names])
    b = np.empty(a.shape, dt)
    for k in a.dtype.names:
        b[k] = a[k]
    del f[name]
    f.create_dataset(name, data=b)
    for k, v in attrs.items():
        f[name].attrs[k] = v


def _describe(path):
    import subprocess
    res = subprocess.run([os.environ["LMSIM_BINARY"], "describe", str(path)],
                         capture_output=True, text=True)
    return res.returncode, res.stdout.replace(str(path), "FILE"), res.stderr


def test_table_strings(trial, tmp_path):
    """Table strings are variable-length UTF-8 with a strings_crc32
    (docs/output-format.md, "Integrity"); files written before, with
    fixed-length strings and no checksum, read the same in Python and in
    the engine; a table whose strings do not match their checksum is an
    error in both."""
    import shutil
    import zlib
    with h5py.File(trial, "r") as f:
        for name, col in (("outcomes/headline", "group"), ("outcomes/programmes", "programme")):
            ds = f[name]
            info = h5py.check_string_dtype(ds.dtype[col])
            assert info is not None and info.length is None and info.encoding == "utf-8", name
            crc = 0
            for x in ds[col]:
                crc = zlib.crc32(x + b"\0", crc)
            assert int(ds.attrs["strings_crc32"]) == crc, name
    new = lmsim.open(trial)
    old_path = tmp_path / "old.h5"
    shutil.copy(trial, old_path)
    with h5py.File(old_path, "r+") as f:
        _fixed_strings(f, "outcomes/headline", {"group": 40})
        _fixed_strings(f, "outcomes/programmes", {"programme": 48})
        assert f["outcomes/headline"].dtype["group"] == np.dtype("S40")
    old = lmsim.open(old_path)
    pd.testing.assert_frame_equal(old.outcomes(), new.outcomes())
    pd.testing.assert_frame_equal(old.programmes(), new.programmes())
    rc_new, out_new, _ = _describe(trial)
    rc_old, out_old, _ = _describe(old_path)
    assert rc_new == rc_old == 0 and out_old == out_new
    old.close()
    new.close()
    for name in ("outcomes/headline", "outcomes/programmes"):
        bad = tmp_path / (name.replace("/", "_") + ".h5")
        shutil.copy(trial, bad)
        with h5py.File(bad, "r+") as f:
            f[name].attrs["strings_crc32"] = f[name].attrs["strings_crc32"] ^ 1
        with lmsim.open(bad) as r, \
                pytest.raises(lmsim.DamagedFileError, match="/%s does not match" % name):
            r.outcomes() if name.endswith("headline") else r.programmes()
        rc, _, err = _describe(bad)
        assert rc == 4 and "damaged: /%s" % name in err, err


def test_aggregates(wales):
    r = lmsim.open(wales)
    agg = r.aggregates()
    with h5py.File(wales, "r") as f:
        c = f["aggregates/counts"][...]
        e = f["aggregates/earnings_pence"][...]
    assert len(agg) == c.size
    assert np.array_equal(agg["count"].to_numpy(), c.ravel())
    assert np.array_equal(agg["earnings_pence"].to_numpy(), e.ravel())
    # a cell decoded by names
    row = agg[(agg.month == 3) & (agg.state == "unemployed") & (agg.region == r.region_names[1]) &
              (agg.sex == "female") & (agg.disabled == "disabled") & (agg.minority == "white") &
              (agg.age_band == "25-34")]
    assert int(row["count"].iloc[0]) == c[3, 4, 1, 1, 1, 0, 1]
    by = r.aggregates(by=["month", "state"])
    assert np.array_equal(by["count"].to_numpy(), c.sum(axis=(2, 3, 4, 5, 6)).ravel())
    occ = r.occupancy()
    assert np.array_equal(occ.to_numpy(), c.sum(axis=(2, 3, 4, 5, 6)))


def test_gaps(wales):
    r = lmsim.open(wales)
    g = r.gaps()
    with h5py.File(wales, "r") as f:
        raw = f["outcomes/employment_gaps"][...]
    assert np.array_equal(g[["disability", "gender", "ethnicity"]].to_numpy(), raw)
    assert g.date.iloc[0] == "2024-01" and g.date.iloc[12] == "2025-01"


# -- known answers ---------------------------------------------------------------------

def test_still_transitions_identity(still):
    r = lmsim.open(still)
    for m0, m1 in [(0, 1), (0, 12), (5, 9)]:
        t = r.transitions(m0, m1)
        assert np.array_equal(t.to_numpy(), np.eye(7)), (m0, m1)
    c = r.transitions(0, 12, counts=True)
    assert c.to_numpy().sum() == r.n_persons
    by = r.transitions(0, 12, by="female")
    assert set(by.index.get_level_values(0)) == {0, 1}
    for g in (0, 1):
        assert np.array_equal(by.loc[g].to_numpy(), np.eye(7))


def test_still_spells_full_length(still):
    r = lmsim.open(still)
    sp = r.spells()
    st0 = r.panel("state", months=0)
    employed = st0.state.isin(["employed_poor", "employed_good"])
    assert len(sp) == employed.sum()
    assert (sp.start == 0).all() and (sp.end == r.n_months).all()
    assert (sp.months == r.n_months + 1).all()
    assert sp.left_censored.all() and sp.right_censored.all()
    good = st0[st0.state == "employed_good"].person_id
    assert set(sp[sp.quality == "good"].person_id) == set(good)
    assert (sp[sp.quality == "good"].good_months == r.n_months + 1).all()
    assert (sp[sp.quality == "poor"].good_months == 0).all()
    s = r.sustained(6)
    assert int(s[s.month == "all"].entries.iloc[0]) == 0


def _markov_matrix():
    names = lmsim.STATE_NAMES
    b = {"inactive_other": {"unemployed": -2.0, "employed_poor": -3.0},
         "unemployed": {"inactive_other": -2.5, "employed_poor": -1.2, "employed_good": -1.8},
         "employed_poor": {"unemployed": -2.2, "employed_good": -2.6},
         "employed_good": {"unemployed": -4.0, "inactive_other": -4.5}}
    P = pd.DataFrame(np.eye(7), index=names, columns=names)
    for o, d in b.items():
        tot = 1.0 + sum(math.exp(v) for v in d.values())
        P.loc[o, o] = 1.0 / tot
        for j, v in d.items():
            P.loc[o, j] = math.exp(v) / tot
    return P


def test_markov_transitions(markov):
    r = lmsim.open(markov)
    P = _markov_matrix()
    for m0 in (0, 2):
        t = r.transitions(m0, m0 + 1)
        n = r.transitions(m0, m0 + 1, counts=True).sum(axis=1)
        for o in ["inactive_other", "unemployed", "employed_poor", "employed_good"]:
            assert n[o] > 1000
            for j in P.columns:
                p = P.loc[o, j]
                se = math.sqrt(max(p * (1 - p), 1e-12) / n[o])
                assert abs(t.loc[o, j] - p) <= 4 * se + 1e-12, (m0, o, j, t.loc[o, j], p)
        for o in ["inactive_sick", "inactive_caring", "inactive_student"]:
            assert n[o] == 0 and t.loc[o].isna().all()


def test_spells_against_panel(wales):
    """Spells rebuilt by walking the raw panel column by column (first 300 columns)."""
    r = lmsim.open(wales)
    sp = r.spells()
    with h5py.File(wales, "r") as f:
        st = f["panel/state"][:, :300]
        pid = f["panel/person_id"][:, :300]
        su = f["panel/sustained_months"][:, :300]
    expect = []
    for c in range(300):
        cur = None
        for m in range(st.shape[0]):
            emp = st[m, c] >= 5
            if cur and (not emp or pid[m, c] != cur[0]):
                expect.append(tuple(cur))
                cur = None
            if emp:
                if cur is None:
                    cur = [int(pid[m, c]), m, m, 0]
                cur[2] = m
                cur[3] += int(st[m, c] == 6)
        if cur:
            expect.append(tuple(cur))
    got = sp[sp.slot < 300][["person_id", "start", "end", "good_months"]]
    assert sorted(map(tuple, got.to_numpy().tolist())) == sorted(expect)
    # spells that start in the run: the sustained counter counts months since entry
    inrun = sp[(sp.start > 0)]
    assert (inrun.sustained_at_end == inrun.end - inrun.start).all()


def test_sustained_matches_spells(wales):
    r = lmsim.open(wales)
    sp = r.spells()
    entries = sp[sp.start > 0]
    s = r.sustained(6)
    allrow = s[s.month == "all"].iloc[0]
    assert allrow.entries == len(entries)
    assert allrow.sustained == int(((entries.end - entries.start) >= 6).sum())
    by = r.sustained(6, by="disabled")
    assert by[by.month == "all"].entries.sum() == len(entries)


def test_compare_runs(baseline36, devolved):
    c = lmsim.compare(baseline36, devolved)
    a, b = lmsim.open(baseline36).outcomes(), lmsim.open(devolved).outcomes()
    row = c[(c.group == "all") & (c.measure == "employment_rate")].iloc[0]
    assert row.a == a.employment_rate_end[0] and row.b == b.employment_rate_end[0]
    assert row["diff"] == pytest.approx(row.b - row.a)
    assert c.attrs["same_seed"]
    assert "issue 4" in c.attrs["note"]
    # identical runs differ by zero
    z = lmsim.compare(baseline36, baseline36)
    assert (z["diff"] == 0).all()
    from lmsim.compare import compare_programmes
    cp = compare_programmes(baseline36, devolved)
    assert len(cp) > 0


def test_compare_trial(trial, baseline36):
    c = lmsim.compare(trial)
    p = lmsim.open(trial).programmes()
    t = p[(p.programme == "ips") & (p.arm == "treatment")].iloc[0]
    k = p[(p.programme == "ips") & (p.arm == "control")].iloc[0]
    row = c[(c.programme == "ips") & (c.measure == "any_job_12_rate")].iloc[0]
    # arms are randomised at the offer of a place and followed from it: rates are over the
    # persons randomised and followed 12 months, binomial on the simulated counts
    nt, nk = t.followed_12_sim, k.followed_12_sim
    pt, pc = t.any_job_12_sim / nt, k.any_job_12_sim / nk
    assert row.treatment == pytest.approx(pt) and row.control == pytest.approx(pc)
    assert pt == t.any_job_12_rate and pc == k.any_job_12_rate
    se = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nk)
    assert row.se == pytest.approx(se)
    assert row.n_treatment_sim == nt and row.n_treatment == pytest.approx(t.followed_12)
    assert row.ci_low == pytest.approx(pt - pc - 1.959964 * se, rel=1e-5)
    assert "issue 4" in c.attrs["note"]
    with pytest.raises(ValueError):
        lmsim.compare(baseline36)
