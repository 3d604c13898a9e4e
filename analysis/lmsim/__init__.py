"""lmsim: read and analyse the HDF5 files written by ``lmsim run``.

Uses only Debian's python3-h5py, python3-numpy, python3-pandas and (for
plots and reports) python3-matplotlib. Installed by ``cmake --install``
(docs/analysis.md, "Installing"), or from the source tree with
``analysis/`` on ``sys.path``::

    import sys; sys.path.insert(0, "analysis")
    import lmsim
    run = lmsim.open("out/wales.h5")
    run.outcomes()                      # headline table
    run.panel("state", months=[0, 12])  # long person x month DataFrame
    run.warnings                        # settings that had no effect in the run
    lmsim.cohorts(run, "ips", by=["disabled"], horizon=12)  # outcome curves since referral

The HDF5 layout is described in docs/output-format.md; this package is
described in docs/analysis.md.
"""
import sys as _sys

__version__ = "0.1.0"  # the engine's LM_VERSION_STRING (tests/analysis/test_package.py)


def _need(modules):
    """Import the Debian packages lmsim needs, or say which interpreter lacks them."""
    missing = []
    for m in modules:
        try:
            __import__(m)
        except ImportError:
            missing.append(m)
    if missing:
        deb = " ".join("python3-" + m for m in missing)
        raise ImportError(
            "lmsim needs %s, which this Python (%s) cannot import. Use Debian's "
            "/usr/bin/python3 with apt-get install -y %s (on these machines `python3` on PATH "
            "may be another interpreter without Debian's packages)"
            % (", ".join(missing), _sys.executable, deb))


try:
    _need(["h5py", "numpy", "pandas"])
except ImportError as _e:
    if _sys.argv[:1] == ["-m"]:  # python3 -m lmsim ...: the command line says it, no traceback
        _sys.stderr.write("lmsim: %s\n" % _e)
        raise SystemExit(2)
    raise

from .run import Run, open, STATE_NAMES, EMPLOYED_STATES, PanelError, NoOpWarning  # noqa: E402,F401
from .run import flatten_scenario, setting_text, DamagedFileError  # noqa: E402,F401
from .cohorts import cohorts  # noqa: E402,F401
from .compare import compare, CompareError  # noqa: E402,F401
from .sweep import Sweep, compare_sweep  # noqa: E402,F401

__all__ = ["Run", "Sweep", "open", "compare", "compare_sweep", "cohorts", "STATE_NAMES",
           "EMPLOYED_STATES", "PanelError", "NoOpWarning", "CompareError", "flatten_scenario",
           "setting_text", "DamagedFileError"]
