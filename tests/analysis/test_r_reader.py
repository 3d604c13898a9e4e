"""analysis/R/read_run.R with hdf5r: prints the headline table (numbers equal the
file's) and draws an occupancy PNG; its referral history and lmsim_cohorts() give
the rows and the cohort table of Python's Run.referrals() and lmsim.cohorts().
Skipped when Rscript or r-cran-hdf5r is missing."""
import os
import shutil
import subprocess
import sys

import h5py
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "analysis")))
SCRIPT = os.path.abspath(os.path.join(HERE, "..", "..", "analysis", "R", "read_run.R"))
RSCRIPT = shutil.which("Rscript")


def _have_hdf5r():
    if RSCRIPT is None:
        return False
    p = subprocess.run([RSCRIPT, "-e", "quit(status = !requireNamespace('hdf5r', quietly=TRUE))"],
                       capture_output=True, timeout=60)
    return p.returncode == 0


pytestmark = pytest.mark.skipif(not _have_hdf5r(), reason="Rscript with hdf5r not installed")


def test_read_run_R(wales, tmp_path):
    png = str(tmp_path / "occ.png")
    p = subprocess.run([RSCRIPT, SCRIPT, wales, png], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    checks = dict(l.split()[1:3] for l in p.stdout.splitlines() if l.startswith("CHECK "))
    with h5py.File(wales, "r") as f:
        h = f["outcomes/headline"][0]
        c = f["aggregates/counts"][-1, 6].sum()
        assert "seed %s" % f.attrs["seed_str"] in p.stdout
    assert float(checks["employment_rate_end"]) == float(h["employment_rate_end"])
    assert int(checks["persons_end"]) == int(h["persons_end"])
    assert int(float(checks["occupancy_end_employed_good"])) == int(c)
    assert "region:South East Wales" in p.stdout and "work_first" in p.stdout
    with open(png, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(png) > 2000


def test_r_cohorts_equal_python(wales, tmp_path):
    """lmsim_cohorts in R gives the table of lmsim.cohorts in Python."""
    import numpy as np
    import pandas as pd
    import lmsim
    csv = str(tmp_path / "cohorts.csv")
    code = ('source("%s"); c <- lmsim_cohorts("%s", "work_first", by = c("disabled", "age_band"), '
            'horizon = 12); write.csv(c, "%s", row.names = FALSE); '
            'r <- lmsim_read("%s")$referrals; cat("ROWS", nrow(r), "\\n")' % (SCRIPT, wales, csv, wales))
    p = subprocess.run([RSCRIPT, "-e", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    with h5py.File(wales, "r") as f:
        assert "ROWS %d" % len(f["referrals"]) in p.stdout
    r = pd.read_csv(csv)
    py = lmsim.cohorts(wales, "work_first", by=["disabled", "age_band"], horizon=12)
    keys = ["disabled", "age_band", "arm", "months_since"]
    for k in keys[:3]:
        py[k] = py[k].astype(str)
    m = py.merge(r, on=keys, suffixes=("", "_r"), how="outer", indicator=True)
    assert (m["_merge"] == "both").all() and len(m) == len(py) > 13
    for c in ["n", "n_represented", "in_work", "in_work_low", "in_work_high", "sustained_6",
              "sustained_6_low", "sustained_6_high", "n_in_work", "mean_earnings",
              "mean_earnings_low", "mean_earnings_high"]:
        a, b = m[c].to_numpy(dtype=float), m[c + "_r"].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        assert np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-12, atol=1e-12), c
