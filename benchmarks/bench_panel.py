"""Benchmark: panel() read speed in MB/s of decompressed data (not a test).

    /usr/bin/python3 benchmarks/bench_panel.py RUN.h5 [VAR] [--months N]

Reports, for one variable, the decompressed bytes read (the variable plus
person_id, which panel() always reads) over the wall time of
``Run.panel(VAR)`` (building the long DataFrame included) and of the raw
month-row reads alone (``Run.read_rows``).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "analysis"))
import lmsim  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("var", nargs="?", default="state")
    ap.add_argument("--months", type=int, default=None, help="only the first N+1 months")
    a = ap.parse_args()
    r = lmsim.open(a.run)
    months = None if a.months is None else list(range(a.months + 1))
    ms = r._months(months)
    item = r.file["panel/" + a.var].dtype.itemsize + r.file["panel/person_id"].dtype.itemsize
    nbytes = len(ms) * r.n_panel_persons * item
    t = time.perf_counter()
    x = r.read_rows(a.var, ms)
    y = r.read_rows("person_id", ms)
    raw = time.perf_counter() - t
    del x, y
    t = time.perf_counter()
    df = r.panel(a.var, months=months)
    full = time.perf_counter() - t
    print("%s: %s, %d panel persons x %d months, variable %s (+ person_id)" % (
        os.path.basename(a.run), r.scenario_name, r.n_panel_persons, len(ms), a.var))
    print("decompressed bytes read: %.1f MB" % (nbytes / 1e6))
    print("raw month-row reads:     %.2f s = %.0f MB/s" % (raw, nbytes / 1e6 / raw))
    print("panel() DataFrame:       %.2f s = %.0f MB/s (%d rows)" % (full, nbytes / 1e6 / full,
                                                                   len(df)))


if __name__ == "__main__":
    main()
