"""Shared fixtures for the analysis-toolkit tests (pytest).

The tests make their own small runs with the lmsim program given by the
environment variable LMSIM_BINARY (CTest passes $<TARGET_FILE:lmsim_cli>;
by hand: LMSIM_BINARY=build/engine/lmsim /usr/bin/python3 -m pytest tests/analysis).
Runs are made once per session in a temporary directory.
"""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "analysis"))


def _binary():
    b = os.environ.get("LMSIM_BINARY")
    if not b:
        b = os.path.join(SOURCE, "build", "engine", "lmsim")
    if not os.path.exists(b):
        pytest.exit("lmsim binary not found (set LMSIM_BINARY): %s" % b, returncode=2)
    return os.path.abspath(b)


class Runner:
    def __init__(self, tmpdir):
        self.binary = _binary()
        self.tmp = str(tmpdir)
        self.cache = {}

    def run(self, name, scenario, *args):
        """Run lmsim once per (name) and return the output path."""
        if name in self.cache:
            return self.cache[name]
        out = os.path.join(self.tmp, name + ".h5")
        cfg = scenario if os.path.isabs(scenario) else os.path.join(SOURCE, scenario)
        p = subprocess.run([self.binary, "run", cfg, "-o", out, "-q", "--threads", "1"] +
                           list(args), capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, "lmsim failed (%d): %s" % (p.returncode, p.stderr)
        self.cache[name] = out
        return out


@pytest.fixture(scope="session")
def runner(tmp_path_factory):
    return Runner(tmp_path_factory.mktemp("lmsim_analysis"))


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE


@pytest.fixture(scope="session")
def still(runner):
    """Nobody moves: 5000 persons x 12 months, full panel."""
    return runner.run("still", "tests/analysis/data/still.cfg")


@pytest.fixture(scope="session")
def markov(runner):
    """The constant Markov chain of tests/data/markov.cfg, 50000 persons, 3 months, full panel."""
    return runner.run("markov", "tests/data/markov.cfg", "--persons", "50000", "--months", "3",
                      "--panel", "full")


@pytest.fixture(scope="session")
def wales(runner):
    """Wales baseline, 20000 persons x 24 months, full panel."""
    return runner.run("wales", "scenarios/wales_baseline.cfg", "--persons", "20000",
                      "--months", "24")


@pytest.fixture(scope="session")
def wales_sample(runner):
    """Wales baseline, 20000 persons x 24 months, 10 % sample panel."""
    return runner.run("wales_sample", "scenarios/wales_baseline.cfg", "--persons", "20000",
                      "--months", "24", "--panel", "sample:0.1")


@pytest.fixture(scope="session")
def devolved(runner):
    """Devolved IPS (from 2026-04), same seed, 20000 persons x 36 months, no panel."""
    return runner.run("devolved", "scenarios/wales_devolved_ips.cfg", "--persons", "20000",
                      "--months", "36", "--panel", "none")


@pytest.fixture(scope="session")
def baseline36(runner):
    """Wales baseline, 20000 persons x 36 months, no panel (pairs with devolved)."""
    return runner.run("baseline36", "scenarios/wales_baseline.cfg", "--persons", "20000",
                      "--months", "36", "--panel", "none")


@pytest.fixture(scope="session")
def trial(runner):
    """IPS trial on the Wales baseline, 20000 persons x 24 months, no panel."""
    return runner.run("trial", "scenarios/wales_baseline.cfg", "--persons", "20000",
                      "--months", "24", "--panel", "none", "--trial", "ips")


@pytest.fixture(scope="session")
def smoke_sweep(runner):
    """scenarios/sweeps/smoke.cfg: 2 points x 2 replicates; returns OUT/sweep.h5."""
    out = os.path.join(runner.tmp, "smoke")
    p = subprocess.run([runner.binary, "sweep", os.path.join(SOURCE, "scenarios", "sweeps",
                                                             "smoke.cfg"), "-o", out, "-q",
                        "--threads", "1"], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, "lmsim sweep failed (%d): %s" % (p.returncode, p.stderr)
    return os.path.join(out, "sweep.h5")


@pytest.fixture(scope="session")
def baseline36_panel(runner):
    """Wales baseline, 20000 persons x 36 months, full panel (pairs with devolved_panel)."""
    return runner.run("baseline36_panel", "scenarios/wales_baseline.cfg", "--persons", "20000",
                      "--months", "36")


@pytest.fixture(scope="session")
def devolved_panel(runner):
    """Devolved IPS (from 2026-04), same seed, 20000 persons x 36 months, full panel."""
    return runner.run("devolved_panel", "scenarios/wales_devolved_ips.cfg", "--persons", "20000",
                      "--months", "36")
