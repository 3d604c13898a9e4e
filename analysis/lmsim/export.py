"""Export a run's tables for other tools (Stata, Excel, R without hdf5r).

    python3 -m lmsim export RUN.h5 --format csv -o DIR [--panel state,earnings] [--months 0,12]

CSV always; Parquet only when pyarrow is installed (Debian python3-pyarrow is
not in Debian 12, so normally CSV).
"""
import os

from .run import Run

TABLES = ["headline", "programmes", "gaps", "aggregates", "programme_months", "persons",
          "referrals"]


def export(path, outdir, fmt="csv", panel_vars=None, months=None):
    """Write the run's tables to outdir; returns {table: file}."""
    r = path if isinstance(path, Run) else Run(path)
    if fmt not in ("csv", "parquet"):
        raise ValueError("format must be csv or parquet")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise RuntimeError("parquet needs pyarrow, which is not installed; use --format csv")
    os.makedirs(outdir, exist_ok=True)
    tables = {"headline": r.outcomes, "programmes": r.programmes, "gaps": r.gaps,
              "aggregates": r.aggregates, "programme_months": r.programme_months}
    if r.has_panel:
        tables["persons"] = r.persons
    if "referrals" in r.file:
        tables["referrals"] = r.referrals
    if panel_vars:
        tables["panel"] = lambda: r.panel(panel_vars, months=months)
    written = {}
    for name, fn in tables.items():
        df = fn()
        if name == "programme_months" and len(df):
            df = df[df["value"] != 0]  # sparse: the all-zero cells are omitted
        out = os.path.join(outdir, "%s.%s" % (name, fmt))
        if fmt == "csv":
            df.to_csv(out, index=False)
        else:
            df.to_parquet(out, index=False)
        written[name] = out
    meta = os.path.join(outdir, "metadata.csv")
    import pandas as pd
    md = dict(r.metadata)
    md.pop("scenario_text")
    md["sha256"] = r.sha256()
    pd.DataFrame({"key": list(md), "value": [str(v) for v in md.values()]}).to_csv(meta, index=False)
    written["metadata"] = meta
    with open(os.path.join(outdir, "scenario.cfg"), "w", encoding="utf-8") as fh:
        fh.write(r.scenario_text)
    written["scenario"] = os.path.join(outdir, "scenario.cfg")
    return written
