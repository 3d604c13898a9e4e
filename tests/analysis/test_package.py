"""The analysis toolkit as an installed package (issue 11 item 3): `cmake
--install` puts it in the Debian Python's path with an `lmsim-analysis`
launcher that works from any directory without PYTHONPATH; an interpreter
without h5py gets a message naming it; the Python CLI has --version and
compare."""
import csv
import io
import os
import re
import subprocess

import pytest

import lmsim
from conftest import SOURCE

BUILD = os.environ.get("LM_BUILD_DIR")


def clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_version_is_the_engines():
    with open(os.path.join(SOURCE, "include", "lmsim", "version.h")) as fh:
        m = re.search(r'#define LM_VERSION_STRING "([^"]+)"', fh.read())
    assert m and lmsim.__version__ == m.group(1)


@pytest.mark.skipif(not BUILD, reason="LM_BUILD_DIR not set (run through ctest)")
def test_installed_launcher(tmp_path, wales):
    prefix = tmp_path / "prefix"
    p = subprocess.run(["cmake", "--install", BUILD, "--prefix", str(prefix)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    launcher = prefix / "bin" / "lmsim-analysis"
    assert os.access(launcher, os.X_OK)
    pkg = list(prefix.glob("lib/python3*/dist-packages/lmsim/__init__.py"))
    assert len(pkg) == 1
    # from another directory, no PYTHONPATH: the launcher finds the installed package
    p = subprocess.run([str(launcher), "--version"], capture_output=True, text=True,
                       cwd=str(tmp_path), env=clean_env(), timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("lmsim analysis %s" % lmsim.__version__), \
        p.stderr
    p = subprocess.run([str(launcher), "describe", wales], capture_output=True, text=True,
                       cwd=str(tmp_path), env=clean_env(), timeout=60)
    assert p.returncode == 0 and "wales_baseline" in p.stdout, p.stderr
    # and it is the installed copy that ran, not the source tree's
    p = subprocess.run([str(launcher), "--version"], capture_output=True, text=True,
                       env=dict(clean_env(), PYTHONVERBOSE="1"), timeout=60)
    assert str(pkg[0].parent) in p.stderr


def test_interpreter_without_h5py():
    """-S: no site-packages, so no h5py: a message naming the interpreter, exit 2."""
    env = dict(clean_env(), PYTHONPATH=os.path.join(SOURCE, "analysis"))
    p = subprocess.run(["/usr/bin/python3", "-S", "-m", "lmsim", "--version"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2
    assert "lmsim needs h5py" in p.stderr and "/usr/bin/python3" in p.stderr
    assert "python3-h5py" in p.stderr and "Traceback" not in p.stderr


def test_cli_compare(wales, devolved_panel, baseline36_panel):
    env = dict(clean_env(), PYTHONPATH=os.path.join(SOURCE, "analysis"))
    p = subprocess.run(["/usr/bin/python3", "-m", "lmsim", "compare", baseline36_panel,
                        devolved_panel, "--impacts", "--csv"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    want = lmsim.compare(baseline36_panel, devolved_panel, impacts=True)
    assert [(r["group"], r["measure"]) for r in rows] == list(zip(want.group, want.measure))
    assert float(rows[0]["diff"]) == pytest.approx(want["diff"].iloc[0], rel=1e-12)
    # runs that cannot be compared: the engine's message, exit 1
    p = subprocess.run(["/usr/bin/python3", "-m", "lmsim", "compare", wales, baseline36_panel],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1 and "not comparable" in p.stderr
