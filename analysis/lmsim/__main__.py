"""Command line: python3 -m lmsim (or lmsim-analysis) {report,compare,export,describe} ...

    python3 -m lmsim --version
    python3 -m lmsim report RUN.h5 [RUN2.h5 ...] -o report/ [--pdf]
    python3 -m lmsim compare A.h5 B.h5 [--impacts] [--csv]
    python3 -m lmsim compare SWEEP.h5 POINT_A POINT_B [--impacts] [--csv]
    python3 -m lmsim compare TRIAL.h5 [--impacts] [--csv]
    python3 -m lmsim export RUN.h5 --format csv -o DIR [--panel state,earnings] [--months 0,12,24]
    python3 -m lmsim describe RUN.h5
"""
import argparse
import sys


def _months(s):
    if not s:
        return None
    out = []
    for part in s.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def main(argv=None):
    try:
        import lmsim
    except ImportError as e:  # an interpreter without Debian's packages: say which
        sys.stderr.write("lmsim: %s\n" % e)
        return 2
    ap = argparse.ArgumentParser(prog="python3 -m lmsim", description="lmsim analysis toolkit")
    ap.add_argument("--version", action="version", version="lmsim analysis %s (Python %s)" % (
        lmsim.__version__, sys.version.split()[0]))
    sub = ap.add_subparsers(dest="cmd", required=True)
    cp = sub.add_parser("compare", help="B - A of two runs, two sweep points, or a trial's arms")
    cp.add_argument("files", nargs="+", metavar="FILE",
                    help="A.h5 B.h5 | SWEEP.h5 POINT_A POINT_B | TRIAL.h5")
    cp.add_argument("--impacts", action="store_true",
                    help="impacts over the run and the Green Book appraisal")
    cp.add_argument("--csv", action="store_true", help="the table as CSV on stdout")
    rp = sub.add_parser("report", help="self-contained HTML report of one or more runs")
    rp.add_argument("runs", nargs="+", metavar="RUN.h5")
    rp.add_argument("-o", "--output", required=True, metavar="DIR")
    rp.add_argument("--title")
    rp.add_argument("--pdf", action="store_true",
                    help="also print DIR/report.pdf with headless Chromium")
    ep = sub.add_parser("export", help="tables as CSV (or Parquet with pyarrow)")
    ep.add_argument("run", metavar="RUN.h5")
    ep.add_argument("-o", "--output", required=True, metavar="DIR")
    ep.add_argument("--format", default="csv", choices=["csv", "parquet"])
    ep.add_argument("--panel", help="also export these panel variables (comma-separated)")
    ep.add_argument("--months", help="panel months, e.g. 0,12,24 or 0-12 (default all)")
    dp = sub.add_parser("describe", help="metadata and headline table")
    dp.add_argument("run", metavar="RUN.h5")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "report":
            import os
            from .report import build, find_chromium, print_pdf
            if a.pdf:
                find_chromium()  # before the work: a missing program is a clear error
            page = build(a.runs, a.output, title=a.title)
            print(page)
            if a.pdf:
                print(print_pdf(page, os.path.join(a.output, "report.pdf")))
        elif a.cmd == "compare":
            import warnings
            from .compare import compare
            if len(a.files) > 3:
                ap.error("compare takes A.h5 B.h5, SWEEP.h5 POINT_A POINT_B or TRIAL.h5")
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                df = compare(*a.files, impacts=a.impacts)
            for w in rec:
                sys.stderr.write("lmsim: warning: %s\n" % w.message)
            if a.csv:
                df.to_csv(sys.stdout, index=False)
            else:
                import pandas as pd
                with pd.option_context("display.width", 250, "display.max_rows", None,
                                       "display.max_columns", None):
                    print(df.to_string(index=False))
                if df.attrs.get("note"):
                    print("note: %s" % df.attrs["note"])
        elif a.cmd == "export":
            from .export import export
            w = export(a.run, a.output, a.format,
                       a.panel.split(",") if a.panel else None, _months(a.months))
            for k, v in w.items():
                print("%-16s %s" % (k, v))
        else:
            from .run import Run
            r = Run(a.run)
            print(r)
            for w in r.warnings:
                print("Warning (recorded by the run): %s" % w)
            print(r.outcomes().to_string(index=False))
            p = r.programmes()
            if len(p):
                print(p.to_string(index=False))
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        sys.stderr.write("lmsim: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
