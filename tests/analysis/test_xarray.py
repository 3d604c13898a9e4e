"""Run files read with xarray through both netCDF-4 engines (CF metadata).

docs/output-format.md, "Reading with xarray / netCDF": with netcdf4
(netCDF-C) and with h5netcdf (h5py), /panel holds every variable,
state and phase included (HDF5 enums, committed at the root), with the
values h5py and lmsim.open read; every dimension has a name (no
phony_dim_N); every variable has units and long_name; categorical
variables and dimensions carry CF flag_values / flag_meanings; the time
coordinate decodes to the first day of each calendar month. Debian's
python3-xarray, python3-netcdf4 and python3-h5netcdf (.ci/install-deps);
skipped only when xarray cannot be imported.
"""
import os

import h5py
import numpy as np
import pandas as pd
import pytest

import lmsim

xr = pytest.importorskip("xarray")

ENGINES = ["netcdf4", "h5netcdf"]
GROUPS = ["panel", "persons", "aggregates", "outcomes", None]


@pytest.fixture(scope="module")
def trial_panel(runner):
    """IPS trial on the Wales baseline, 3000 persons x 14 months, full panel."""
    return runner.run("xr_trial", "scenarios/wales_baseline.cfg", "--persons", "3000",
                      "--months", "14", "--trial", "ips")


@pytest.fixture(scope="module")
def validated(runner, source_dir):
    """The tiny e2e scenario with /validation (targets file), 36 months."""
    return runner.run("xr_validated", "tests/data/e2e_tiny.cfg", "--persons", "3000",
                      "--months", "36", "--targets",
                      os.path.join(source_dir, "tests", "data", "validate_tiny_targets.cfg"))


def _open(path, group, engine):
    return xr.open_dataset(path, group=group, engine=engine)


def _words(names):
    return " ".join("".join(c if c.isalnum() or c in "_.+-@" else "_" for c in n)
                    for n in names)


def _text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


@pytest.mark.parametrize("engine", ENGINES)
def test_panel_state_and_phase(trial_panel, engine):
    run = lmsim.open(trial_panel)
    with h5py.File(trial_panel, "r") as f, _open(trial_panel, "panel", engine) as ds:
        want = sorted(k for k in f["panel"] if isinstance(f["panel"][k], h5py.Dataset))
        assert sorted(list(ds.variables)) == want
        assert set(ds.data_vars) == set(lmsim.run.PANEL_VARS)
        for v in ds.data_vars:
            assert ds[v].dims == ("month", "person"), v
            assert np.array_equal(ds[v].values, f["panel"][v][...]), v
            assert ds[v].dtype == f["panel"][v].dtype.base or \
                h5py.check_enum_dtype(f["panel"][v].dtype) is not None, v
        # h5py still sees enums; the CF flags say the same.
        for v in ("state", "phase"):
            mapping = h5py.check_enum_dtype(f["panel"][v].dtype)
            assert mapping is not None, v
            names = sorted(mapping, key=mapping.get)
            assert list(ds[v].attrs["flag_values"]) == list(range(len(names)))
            assert ds[v].attrs["flag_meanings"] == " ".join(names)
        assert ds.state.attrs["flag_meanings"].split() == list(lmsim.STATE_NAMES)
        # Values against lmsim.open, by name.
        df = run.panel(["state", "phase"], months=[0, 7, 14])
        for m in (0, 7, 14):
            rows = df[df.month == m]
            names = np.array(ds.state.attrs["flag_meanings"].split())
            assert list(names[ds.state.sel(month=m).values]) == list(rows.state.astype(str))
            pn = np.array(ds.phase.attrs["flag_meanings"].split())
            assert list(pn[ds.phase.sel(month=m).values]) == list(rows.phase.astype(str))
        assert (ds.phase.values > 0).any()
        # 65535 (has not worked) is a value, not a fill value.
        assert ds.months_since_job.dtype == np.uint16
        assert (ds.months_since_job.values == 65535).any()
        assert ds.programme.attrs["flag_meanings"] == "none " + " ".join(run.programme_names)
    run.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_units_long_names_and_dimension_names(trial_panel, validated, engine):
    for path in (trial_panel, validated):
        for g in GROUPS:
            with _open(path, g, engine) as ds:
                for name, v in ds.variables.items():
                    assert not any(d.startswith("phony_dim") for d in v.dims), (g, name)
                    if name == "time":
                        assert v.encoding["units"].startswith("days since ")
                        continue
                    assert "long_name" in v.attrs, (g, name)
                    assert "units" in v.attrs, (g, name)
    with _open(trial_panel, "panel", engine) as ds:
        assert ds.earnings.attrs["units"] == "GBP"
        assert ds.months_in_state.attrs["units"] == "months"
    with _open(validated, None, engine) as ds:
        assert "target" in ds.dims and "referral" in ds.dims


@pytest.mark.parametrize("engine", ENGINES)
def test_time_coordinate(trial_panel, engine):
    run = lmsim.open(trial_panel)
    want = pd.date_range(run.start_month + "-01", periods=run.n_months + 1, freq="MS")
    for g in ("panel", "aggregates", "outcomes"):
        with _open(trial_panel, g, engine) as ds:
            assert list(ds.month.values) == list(range(run.n_months + 1))
            assert "time" in ds.coords and ds.time.dims == ("month",)
            assert np.array_equal(ds.time.values, want.values), g
            assert ds.time.encoding["calendar"] == "proleptic_gregorian"
            assert list(ds.time.dt.strftime("%Y-%m").values) == [str(p) for p in run.dates()]
    with _open(trial_panel, "panel", engine) as ds:
        by_time = ds.state.swap_dims(month="time").sel(time=want[12])
        assert np.array_equal(ds.state.sel(month=12).values, by_time.values)
        assert int(by_time.month) == 12
    run.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_aggregates_and_outcomes(trial_panel, engine):
    run = lmsim.open(trial_panel)
    with h5py.File(trial_panel, "r") as f, _open(trial_panel, "aggregates", engine) as ds:
        c = f["aggregates/counts"]
        assert ds.counts.dims == tuple(_text(d) for d in c.attrs["dimensions"])
        assert np.array_equal(ds.counts.values, c[...])
        assert np.array_equal(ds.earnings_pence.values, f["aggregates/earnings_pence"][...])
        assert np.array_equal(ds.programmes.values, f["aggregates/programmes"][...])
        assert ds.programmes.dims == ("month", "programme", "arm", "measure")
        for d in ("state", "region", "sex", "disabled", "minority", "age_band"):
            names = [_text(x) for x in c.attrs[d + "_names"]]
            assert list(ds[d].values) == list(range(len(names))), d
            assert ds[d].attrs["flag_meanings"] == _words(names), d
        measures = [_text(x) for x in f["aggregates/programmes"].attrs["measure_names"]]
        assert ds.measure.attrs["flag_meanings"].split() == measures
        # The tidy table lmsim.open builds holds the same counts.
        tidy = run.aggregates(by=["month", "state"])
        assert np.array_equal(tidy["count"].to_numpy().reshape(run.n_months + 1, 7),
                              ds.counts.sum(dim=["region", "sex", "disabled", "minority",
                                                 "age_band"]).values)
    with h5py.File(trial_panel, "r") as f, _open(trial_panel, "outcomes", engine) as ds:
        assert ds.employment_gaps.dims == ("month", "gap")
        assert np.array_equal(ds.employment_gaps.values, f["outcomes/employment_gaps"][...])
        assert ds.gap.attrs["flag_meanings"] == "disability gender ethnicity"
        assert np.array_equal(ds.employment_gaps.values, run.gaps()[
            ["disability", "gender", "ethnicity"]].to_numpy())
        assert np.array_equal(ds.programme_costs.values, f["outcomes/programme_costs"][...])
        assert ds.programme_costs.attrs["units"] == "GBP"
    with _open(trial_panel, "persons", engine) as ds:
        persons = run.persons()
        assert list(persons.columns) == [c for c in persons.columns if c != "row"]
        assert np.array_equal(ds.id.values, persons["id"].to_numpy())
        assert ds.region.attrs["flag_meanings"] == _words(run.region_names)
    run.close()


def test_h5py_readers_unchanged(trial_panel):
    """The added metadata leave h5py's view of the data as it was."""
    with h5py.File(trial_panel, "r") as f:
        assert h5py.check_enum_dtype(f["panel/state"].dtype)["employed_good"] == 6
        assert h5py.check_enum_dtype(f["panel/phase"].dtype)["in_work"] == 3
        assert isinstance(f["labour_state"], h5py.Datatype)
        assert f["panel/state"].dims[0].label == "month"
        assert f["aggregates/counts"].dims[2][0].name == "/aggregates/region"
        assert _text(f.attrs["Conventions"]) == "CF-1.8"
    run = lmsim.open(trial_panel)
    assert "row" not in run.persons().columns
    assert len(run.panel("state", months=[0])) == run.n_panel_persons
    run.close()
