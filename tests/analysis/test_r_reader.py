"""analysis/R/read_run.R with hdf5r: prints the headline table (numbers equal the
file's) and draws an occupancy PNG. Skipped when Rscript or r-cran-hdf5r is missing."""
import os
import shutil
import subprocess

import h5py
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
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
