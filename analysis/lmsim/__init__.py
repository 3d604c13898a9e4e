"""lmsim: read and analyse the HDF5 files written by ``lmsim run``.

Uses only Debian's python3-h5py, python3-numpy, python3-pandas and (for
plots and reports) python3-matplotlib. Put ``analysis/`` on ``sys.path``::

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
from .run import Run, open, STATE_NAMES, EMPLOYED_STATES, PanelError, NoOpWarning  # noqa: F401
from .cohorts import cohorts  # noqa: F401
from .compare import compare, CompareError  # noqa: F401
from .sweep import Sweep, compare_sweep  # noqa: F401

__all__ = ["Run", "Sweep", "open", "compare", "compare_sweep", "cohorts", "STATE_NAMES",
           "EMPLOYED_STATES", "PanelError", "NoOpWarning", "CompareError"]
