"""Command line: python3 -m lmsim {report,export,describe} ...

    python3 -m lmsim report RUN.h5 [RUN2.h5 ...] -o report/ [--pdf]
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
    ap = argparse.ArgumentParser(prog="python3 -m lmsim", description="lmsim analysis toolkit")
    sub = ap.add_subparsers(dest="cmd", required=True)
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
