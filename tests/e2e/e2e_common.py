"""Shared helpers for the lmsim end-to-end tests (tests/e2e/test_*.py).

Every test script is run by CTest as

    LM_PYTHON test_X.py LMSIM_BINARY SOURCE_DIR

prints one line per check ("ok  name" / "FAIL name: detail"), a closing line
"N passed, N failed", and exits 1 if any check failed.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np


class Suite:
    def __init__(self, title):
        if len(sys.argv) != 3:
            sys.stderr.write("usage: %s LMSIM_BINARY SOURCE_DIR\n" % sys.argv[0])
            sys.exit(2)
        self.title = title
        self.binary = os.path.abspath(sys.argv[1])
        self.source = os.path.abspath(sys.argv[2])
        self.tiny = os.path.join(self.source, "tests", "data", "e2e_tiny.cfg")
        self.passed = 0
        self.failed = 0
        self.tmp = tempfile.mkdtemp(prefix="lmsim_e2e_%s_" % title)
        print("%s: binary %s, temp dir %s" % (title, self.binary, self.tmp), flush=True)

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   %s" % name, flush=True)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, (": " + detail) if detail else ""), flush=True)
        return bool(cond)

    def run(self, args, env=None, timeout=120):
        """Run lmsim with args; return CompletedProcess (text mode)."""
        e = dict(os.environ)
        if env:
            e.update(env)
        try:
            return subprocess.run([self.binary] + list(args), capture_output=True, text=True,
                                  env=e, timeout=timeout)
        except subprocess.TimeoutExpired as ex:
            return subprocess.CompletedProcess(ex.cmd, -999, ex.stdout or "",
                                               "TIMEOUT after %ss" % timeout)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        if self.failed == 0:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print("(temp dir kept for inspection: %s)" % self.tmp, flush=True)
        sys.exit(1 if self.failed else 0)


# The smoke sweep (scenarios/sweeps/smoke.cfg) and its four task files.
SMOKE_TASKS = ["baseline_r000", "baseline_r001", "ips_high_fidelity_r000",
               "ips_high_fidelity_r001"]


def smoke_sweep(suite):
    return os.path.join(suite.source, "scenarios", "sweeps", "smoke.cfg")


def tmp_files(path):
    """Temporary files of output `path` (lmsim writes PATH.tmp.XXXXXXXX, a
    name of its own created exclusively, and renames it when complete)."""
    import glob
    return glob.glob(glob.escape(path) + ".tmp*")


def show(proc, limit=600):
    """Short description of a finished process for failure messages."""
    err = (proc.stderr or "").strip()
    out = (proc.stdout or "").strip()
    return "exit %s; stderr=%r; stdout=%r" % (proc.returncode, err[:limit], out[:limit])


def datasets(path):
    """Every dataset of an HDF5 file by name, with the seed and scenario text."""
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
        out["@seed_str"] = f.attrs["seed_str"]
        out["@scenario_text"] = f.attrs["scenario_text"]
    return out


def same_array(x, y):
    """Whether two arrays are identical byte for byte; variable-length
    strings (object fields of a table, whose bytes are pointers) by value."""
    if x.dtype != y.dtype or x.shape != y.shape:
        return False
    if not x.dtype.hasobject:
        return x.tobytes() == y.tobytes()
    if x.dtype.names is None:
        return x.tolist() == y.tolist()
    return all(same_array(np.ascontiguousarray(x[k]), np.ascontiguousarray(y[k]))
               for k in x.dtype.names)


def same(a, b):
    """Whether two datasets() results are identical byte for byte (strings
    of tables by value)."""
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray):
            if not same_array(x, y):
                return False
        elif x != y:
            return False
    return True
