"""A self-contained static HTML report of one or more runs, for readers who
decide as well as for analysts.

    python3 -m lmsim report RUN.h5 [RUN2.h5 ...] -o report/ [--pdf]

writes report/index.html (figures inline as base64 PNG, no external files)
and, with --pdf, report/report.pdf printed by headless Chromium. Order:

1. a plain-language summary (3-5 sentences generated from the numbers of
   lmsim.compare: what was compared, over which period, the main differences
   with 95 % intervals, for the population represented; lmsim.present);
2. warnings (settings of a run that had no effect, runs that are identical
   or cannot be compared);
3. the headline chart (employment rate by month, by scenario) with the
   policy start marked (lmsim.present.policy_start);
4. tables in consistent units (%, percentage points, GBP, counts; see
   lmsim.present): headline outcomes, differences at the end, impacts over
   the run (compare_impacts), the appraisal when compare_impacts gives
   ``appraisal_*`` rows, programmes, trials, sweeps; then figures;
5. provenance last: versions, seeds, sha256, the settings that differ (the
   timeline one change per line) and the scenario texts.

Every number in the tables and the summary carries its exact value in a
``data-value`` attribute (repr of the float), so a test or a script can
check it against the file.

The page comes from Jinja2 templates (python3-jinja2) with autoescaping on,
in lmsim/templates/: report.html.j2 (the page), cells.html.j2 (cells and
number spans), summary.html.j2 (the sentences) and report.css. This module
computes the numbers and their texts (``_context``); the templates only
place them. ``build(..., templates=DIR)`` searches DIR first, so a copy of
one of those files there restyles the page.
"""
import base64
import datetime
import io
import math
import os
import shutil
import subprocess
import tempfile
import warnings

from . import plots
from . import present as P
from .compare import REPLICATE_NOTE, CompareError, compare, compare_trial
from .run import NoOpWarning, Run, setting_text, sha256_of
from .sweep import Sweep, compare_sweep, is_sweep

HEADLINE_FIELDS = [
    ("persons_start", "Persons, start", "int"), ("persons_end", "Persons, end", "int"),
    ("employment_rate_start", "Employment rate, start (%)", "pct"),
    ("employment_rate_end", "Employment rate, end (%)", "pct"),
    ("unemployment_rate_start", "Unemployment rate, start (%)", "pct"),
    ("unemployment_rate_end", "Unemployment rate, end (%)", "pct"),
    ("inactivity_rate_start", "Inactivity rate, start (%)", "pct"),
    ("inactivity_rate_end", "Inactivity rate, end (%)", "pct"),
    ("good_job_share_start", "Good-job share, start (%)", "pct"),
    ("good_job_share_end", "Good-job share, end (%)", "pct"),
    ("mean_earnings_start", "Mean earnings, start (GBP/month)", "gbp"),
    ("mean_earnings_end", "Mean earnings, end (GBP/month)", "gbp"),
]
# (field, title, kind): "count" fields and costs are shown for the represented
# population (the file's NAME) with the simulated count (NAME_sim) beside
PROGRAMME_FIELDS = [
    ("referrals", "Referrals", "count"), ("starts", "Starts", "count"),
    ("job_entries", "Job entries", "count"), ("good_entry_share", "Good jobs (% of entries)", "pct"),
    ("sustained_6_started", "Starters' jobs sustained 6 months", "count"),
    ("any_job_12_rate", "Any job within 12 months (%)", "pct"),
    ("employed_12_rate", "In work at 12 months (%)", "pct"),
    ("sustained_6_12_rate", "Sustained 6 months within 12 (%)", "pct"),
    ("mean_earnings_12", "Earnings at 12 months (GBP/month)", "gbp"),
    ("outcomes", "Paid outcomes", "count"),
    ("outcome_rate", "Outcome rate (%, window)", "pct"), ("cost_total", "Cost (GBP)", "count"),
    ("cost_per_referral", "Cost per referral (GBP)", "gbp"),
    ("cost_per_start", "Cost per start (GBP)", "gbp"),
    ("cost_per_sustained_6", "Cost per starter's job sustained 6 months (GBP)", "gbp"),
]


def _fmt(v, kind):
    """Cell text in the units of lmsim.present: pct, pp (signed), gbp, gbpd
    (signed GBP), gbpse (a s.e. in GBP), ppse (a s.e. in points), int, count, ratio."""
    if kind == "gbpd":
        return P.fmt(v, "gbp", sign=True)
    if kind == "gbpse":
        return P.fmt(v, "gbp")
    if kind == "ppse":
        return P.fmt(v, "pct")
    if kind == "countd":
        return P.fmt(v, "count", sign=True)
    return P.fmt(v, kind)


# Cells for the num macro of cells.html.j2: value (data-value), text, data
# (further data-* attributes, in order), and sim/sim_text or ci.
def _num(v, kind, **data):
    return {"value": repr(int(v)) if kind == "int" else repr(float(v)), "text": _fmt(v, kind),
            "data": [(k, str(x)) for k, x in data.items()], "sim": None, "ci": None}


def _count(v, sim, **data):
    """A count (or cost) for the represented population, with the simulated one beside."""
    return {"value": repr(float(v)), "text": "{:,.0f}".format(float(v)),
            "data": [(k, str(x)) for k, x in data.items()], "sim": repr(float(sim)),
            "sim_text": "{:,.0f}".format(float(sim)), "ci": None}


def _diff_ci(v, lo, hi, kind, **data):
    """A difference cell with its 95 % interval (none when the interval is NaN)."""
    if math.isnan(lo) or math.isnan(hi):
        return _num(v, kind, **data)
    c = _num(v, kind, **dict(data, **{"ci-low": repr(float(lo)), "ci-high": repr(float(hi))}))
    c["ci"] = (_fmt(lo, kind), _fmt(hi, kind))
    return c


def _img(fig, alt):
    """A figure for the img macro: its alt text and the PNG in base64."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plots.close(fig)
    return {"alt": alt, "png": base64.b64encode(buf.getvalue()).decode("ascii")}


def differing_settings(runs):
    """{key: [value per run]} for the settings that differ (None = absent)."""
    flat = [r.settings() for r in runs]
    keys = []
    for f in flat:
        for k in f:
            if k not in keys:
                keys.append(k)
    out = {}
    for k in keys:
        vals = [f.get(k) for f in flat]
        if len({None if v is None else setting_text(v) for v in vals}) > 1:
            out[k] = vals
    return out


def _labels(runs):
    names = [r.scenario_name for r in runs]
    return [n if names.count(n) == 1 else "%s [%s]" % (n, os.path.basename(r.path))
            for n, r in zip(names, runs)]


def _sweep_section(sw, k):
    """Sweep: its tasks (provenance), tidy table and paired comparisons of every point
    with the first, over replicates."""
    t = sw.tidy()
    meas = [c for c in t.columns if c.endswith("_end") or c.endswith("_start")]
    out = {"k": k, "path": sw.path, "n_points": len(sw.points),
           "n_replicates": len(sw.replicates), "sha256": sha256_of(sw.path), "measures": meas,
           "rows": [], "compares": [], "programmes_img": None}
    for _, row in t.iterrows():
        out["rows"].append({
            "point": row.point, "replicate": "%d" % row.replicate, "seed": row.seed,
            "overrides": row.overrides,
            "cells": [_num(row[m], "gbp" if "earnings" in m else "pct", point=row.point,
                           replicate=row.replicate, field=m) for m in meas],
            "sha256": sha256_of(sw.task_path(row.point, row.replicate))})
    pts = sw.points
    for j, b in enumerate(pts[1:], 1):
        c = compare_sweep(sw, pts[0], b)
        c = c[c.group.isin(["sweep_tidy", "all", "disabled"])]
        rows = []
        for _, row in c.iterrows():
            money = "earnings" in row.measure
            kv, kd, ks = ("gbp", "gbpd", "gbpse") if money else ("pct", "pp", "ppse")
            rows.append({
                "group": P.group_label(row.group) if row.group != "sweep_tidy" else
                "sweep (tidy table)", "measure": row.measure,
                "cells": [_num(row.a, kv), _num(row.b, kv),
                          _num(row["diff"], kd, group=row.group, field=row.measure),
                          _num(row.se, ks)],
                "low": _fmt(row.ci_low, kd), "high": _fmt(row.ci_high, kd),
                "se_unpaired": _num(row.se_unpaired, ks), "replicates": "%d" % row.replicates})
        out["compares"].append({"j": j, "a": pts[0], "b": b, "rows": rows,
                                "note": c.attrs.get("note", "")})
    has_prog = False
    for pt in pts:
        with sw.run(pt, sw.replicates[0]) as r:
            has_prog = has_prog or len(r.programmes()) > 0
    if has_prog:
        out["programmes_img"] = _img(plots.programmes(sw), "programmes by sweep point")
    return out


HEADLINE_COMPARE_GROUPS = ["all", "disabled", "not_disabled", "female", "male",
                           "ethnic_minority", "white"]


def _headline_chart(runs, labels, policies):
    starts, notes = [], []
    for k, pol in sorted(policies.items()):
        if pol.get("month") is None:
            continue
        text = "%s: %s" % ("policy start" if pol["method"] != "counts" else "first difference",
                           P.month_words(runs[0], pol["month"]))
        if len(runs) > 2:
            text += " (%s)" % labels[k]
        if (pol["month"], text) not in starts:
            starts.append((pol["month"], text))
        notes.append({"k": k, "month": "%d" % pol["month"], "method": pol["method"],
                      "lb": labels[k], "la": labels[0], "detail": pol["detail"]})
    fig = plots.employment(runs, starts=starts, labels=labels)
    return {"img": _img(fig, "employment rate by scenario"), "notes": notes}


def _difference_table(k, c, la, lb):
    """Differences at the end of the run from the first run, by group."""
    c = c[c.group.isin(HEADLINE_COMPARE_GROUPS)]
    piv = c.pivot(index="group", columns="measure", values="diff")
    piv = piv.reindex([g for g in c.group.unique()])
    piv = piv[[m for m in c.measure.unique()]]
    lo = c.pivot(index="group", columns="measure", values="ci_low")
    hi = c.pivot(index="group", columns="measure", values="ci_high")
    return {"k": k, "refused": "", "la": la, "lb": lb, "basis": c.attrs.get("basis", ""),
            "columns": [(P.measure_label(m), "GBP" if m == "mean_earnings" else "pp")
                        for m in piv.columns],
            "rows": [{"label": P.group_label(g),
                      "cells": [_diff_ci(row[m], lo.at[g, m], hi.at[g, m],
                                         "gbpd" if m == "mean_earnings" else "pp",
                                         group=g, field=m) for m in piv.columns]}
                     for g, row in piv.iterrows()],
            "note": c.attrs.get("note", "")}


def _impacts_tables(k, imp, la, lb):
    """Impacts over the run by group (represented population) and the programme costs."""
    meas = [m for m in P.IMPACT_ORDER if m in set(imp.measure)]
    body = imp[imp.measure.isin(meas)]
    rows = []
    for g in dict.fromkeys(body.group):
        row = body[body.group == g].set_index("measure")
        rows.append({"label": P.group_label(g), "cells": [
            _diff_ci(row.at[m, "diff"], row.at[m, "ci_low"], row.at[m, "ci_high"],
                     "gbpd" if P.measure_unit(m) == "gbp" else "countd", group=g, field=m)
            for m in meas]})
    cost = imp[imp.measure.isin(["programme_cost_gbp", "cost_per_additional_sustained_job",
                                 "cost_per_additional_employment_month"])]
    costs = [{"label": P.measure_label(r.measure), "cells": [
        _num(r.a, "gbp", field=r.measure, col="a"), _num(r.b, "gbp", field=r.measure, col="b"),
        _diff_ci(r["diff"], r.ci_low, r.ci_high,
                 "gbpd" if r.measure == "programme_cost_gbp" else "gbp",
                 group=r.group, field=r.measure)]} for _, r in cost.iterrows()]
    return {"k": k, "missing": False, "la": la, "lb": lb, "basis": imp.attrs.get("basis", ""),
            "columns": [(P.measure_label(m), "GBP" if P.measure_unit(m) == "gbp" else "count")
                        for m in meas],
            "rows": rows, "costs": costs, "note": imp.attrs.get("note", "")}


def appraisal_rows(imp):
    """Rows of a compare_impacts table whose measure starts with 'appraisal_'."""
    if imp is None or not len(imp):
        return imp.iloc[0:0] if imp is not None else None
    return imp[imp.measure.astype(str).str.startswith("appraisal_")]


def _appraisal_table(k, imp, la, lb):
    """The "Appraisal (HM Treasury Green Book)" table, or None when there are no rows."""
    rows = appraisal_rows(imp)
    if rows is None or not len(rows):
        return None
    out = []
    for _, r in rows.iterrows():
        unit = P.measure_unit(r.measure)
        out.append({"group": P.group_label(r.group), "measure": P.measure_label(r.measure),
                    "gbp": unit == "gbp", "cells": [
                        _num(r.get("a", float("nan")), unit, group=r.group, field=r.measure,
                             col="a"),
                        _num(r.get("b", float("nan")), unit, group=r.group, field=r.measure,
                             col="b"),
                        _diff_ci(r["diff"], r.get("ci_low", float("nan")),
                                 r.get("ci_high", float("nan")),
                                 "gbpd" if unit == "gbp" else unit, group=r.group,
                                 field=r.measure)]})
    return {"k": k, "la": la, "lb": lb, "rows": out}


def _settings_diff(runs, labels):
    """The settings that differ: labels and rows (key, cells); no rows when identical."""
    rows = []
    for k, vals in differing_settings(runs).items():
        cells = []
        for v in vals:
            if v is None:
                cells.append({"absent": True})
            else:
                cells.append({"absent": False, "text": setting_text(v),
                              "lines": P.timeline_lines(v) if k == "timeline" else []})
        rows.append((k, cells))
    return {"labels": labels, "rows": rows}


def _programme_tables(runs, labels):
    out = []
    for k, (lab, r) in enumerate(zip(labels, runs)):
        p = r.programmes()
        if not len(p):
            continue
        t = {"k": k, "label": lab, "scale": "%.4g" % r.scale, "trial": None, "rows": [
            {"programme": P.programme_label(row.programme), "arm": row.arm, "cells": [
                _count(row[f], row[f + "_sim"], programme=row.programme, arm=row.arm, field=f)
                if kind == "count" else
                _num(row[f], kind, programme=row.programme, arm=row.arm, field=f)
                for f, _, kind in PROGRAMME_FIELDS]} for _, row in p.iterrows()]}
        if r.is_trial():
            t["trial"] = [{"programme": P.programme_label(row.programme), "measure": row.measure,
                           "cells": [_count(row.n_treatment, row.n_treatment_sim),
                                     _num(row.treatment, "pct"),
                                     _count(row.n_control, row.n_control_sim),
                                     _num(row.control, "pct"), _num(row["diff"], "pp"),
                                     _num(row.se, "ppse")],
                           "low": _fmt(row.ci_low, "pp"), "high": _fmt(row.ci_high, "pp")}
                          for _, row in compare_trial(r).iterrows()]
        out.append(t)
    return out


def _context(runs, sweeps, labels, title, templates):
    """Everything report.html.j2 shows, computed: numbers with their texts."""
    # comparisons with the first run: computed first, for the summary and warnings
    comparisons, impacts, policies = [], {}, {}
    for k in range(1, len(runs)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoOpWarning)  # shown on the page instead
            try:
                comparisons.append((k, compare(runs[0], runs[k]), ""))
            except CompareError as e:
                comparisons.append((k, None, str(e)))
                continue
            try:
                impacts[k] = (compare(runs[0], runs[k], impacts=True), "")
            except (CompareError, ValueError) as e:
                impacts[k] = (None, str(e))
        policies[k] = P.policy_start(runs[0], runs[k])
    ctx = {"title": title, "replicate_note": REPLICATE_NOTE,
           "trial_note": REPLICATE_NOTE[0].upper() + REPLICATE_NOTE[1:],
           "headline_titles": [t for _, t, _ in HEADLINE_FIELDS],
           "programme_titles": [t for _, t, _ in PROGRAMME_FIELDS]}

    # the summary: 3-5 sentences from lmsim.present.summary_sentences
    cmp, refused, imp, note, pol = None, "", None, "", None
    if len(runs) > 1:
        _, cmp, refused = comparisons[0]
        imp, note = impacts.get(1, (None, ""))
        pol = policies.get(1)
    ctx["summary"] = P.summary_sentences(runs, labels, cmp=cmp, imp=imp, refused=refused,
                                         policy=pol, impacts_note=note, templates=templates)

    # warnings, right after the summary: settings with no effect, comparisons
    # that show nothing or were refused
    items = []
    for k, (lab, r) in enumerate(zip(labels, runs)):
        items.extend({"on": "run", "k": k, "who": lab, "text": w} for w in r.warnings)
    for k, c, refused in comparisons:
        what = "%s minus %s" % (labels[k], labels[0])
        if refused:
            items.append({"on": "compare", "k": k, "who": what, "text": "not compared: " + refused})
        elif c.attrs.get("verdict"):
            items.append({"on": "compare", "k": k, "who": what, "text": c.attrs["verdict"]})
    ctx["warnings"] = items
    ctx["chart"] = _headline_chart(runs, labels, policies)

    ctx["headline"] = []
    for k, (lab, r) in enumerate(zip(labels, runs)):
        ctx["headline"].append({
            "k": k, "file": os.path.basename(r.path), "label": lab, "start": P.month_words(r, 0),
            "end": P.month_words(r, r.n_months), "represents": "{:,}".format(r.represents),
            "scale": "%.4g" % r.scale, "persons": "{:,}".format(r.n_persons),
            "rows": [{"label": P.group_label(row.group), "cells": [
                _count(row[f] * r.scale, row[f], group=row.group, field=f) if kind == "int" else
                _num(row[f], kind, group=row.group, field=f)
                for f, _, kind in HEADLINE_FIELDS]} for _, row in r.outcomes().iterrows()]})

    # differences, impacts over the run, then the appraisal when compare_impacts gives it
    ctx["differences"] = ctx["impacts"] = None
    ctx["appraisal"] = []
    if len(runs) > 1:
        ctx["reference"] = labels[0]
        ctx["differences"], ctx["impacts"] = [], []
        for k, c, refused in comparisons:
            if refused:
                ctx["differences"].append({"k": k, "refused": refused, "la": labels[0],
                                           "lb": labels[k]})
                continue
            ctx["differences"].append(_difference_table(k, c, labels[0], labels[k]))
            imp, why = impacts[k]
            if imp is None:
                ctx["impacts"].append({"k": k, "missing": True, "why": why, "la": labels[0],
                                       "lb": labels[k]})
                continue
            ctx["impacts"].append(_impacts_tables(k, imp, labels[0], labels[k]))
            ap = _appraisal_table(k, imp, labels[0], labels[k])
            if ap:
                ctx["appraisal"].append(ap)

    ctx["programmes"] = []
    if any(len(r.programmes()) for r in runs):
        ctx["programmes"] = _programme_tables(runs, labels)
        ctx["programmes_img"] = _img(plots.programmes(runs), "programmes side by side")
    ctx["sweeps"] = [_sweep_section(sw, k) for k, sw in enumerate(sweeps)]

    ctx["gaps_img"] = _img(plots.gaps(runs), "employment gaps")
    ctx["figures"] = [{"label": lab, "occupancy": _img(plots.occupancy(r, by="disabled"),
                                                       "occupancy " + lab),
                       "flow": _img(plots.flow(r, 0, r.n_months), "flows " + lab)
                       if r.has_panel else None} for lab, r in zip(labels, runs)]

    # provenance, last
    ctx["provenance"] = [{
        "label": lab, "file": os.path.basename(r.path), "scenario": r.scenario_name,
        "version": r.version, "seed": "%d" % r.seed, "persons": "{:,}".format(r.n_persons),
        "represents": "{:,}".format(r.represents), "months": "%d" % r.n_months,
        "start": r.start_month, "panel": r.panel_mode, "created": r.created_at,
        "sha256": r.sha256()} for lab, r in zip(labels, runs)]
    ctx["settings"] = _settings_diff(runs, labels) if len(runs) > 1 else None
    ctx["scenario_texts"] = [{"label": lab, "text": r.scenario_text}
                             for lab, r in zip(labels, runs)]
    ctx["generated"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    return ctx


def build(paths, outdir, title=None, templates=None):
    """Write outdir/index.html for the runs at ``paths``; returns its path.

    Order: summary, warnings, the headline chart, tables (headline, differences,
    impacts, appraisal, programmes, trials, sweeps), figures, provenance.
    ``templates``: a folder searched before lmsim/templates/ (report.html.j2,
    cells.html.j2, summary.html.j2, report.css), to restyle the page."""
    runs, sweeps = [], []
    for p in paths:
        if isinstance(p, Run):
            runs.append(p)
        elif isinstance(p, Sweep) or is_sweep(p):
            sweeps.append(p if isinstance(p, Sweep) else Sweep(p))
        else:
            runs.append(Run(p))
    if not runs:  # a sweep alone: show replicate 0 of every point as the runs
        runs = [s.run(pt, s.replicates[0]) for s in sweeps for pt in s.points]
    labels = _labels(runs)
    page = P.environment(templates).get_template("report.html.j2")
    os.makedirs(outdir, exist_ok=True)
    title = title or "lmsim report: " + ", ".join(labels)
    text = page.render(_context(runs, sweeps, labels, title, templates))
    path = os.path.join(outdir, "index.html")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")
    for r in runs:
        if r not in paths:
            r.close()
    return path


def find_chromium():
    """The Chromium program: $LMSIM_CHROMIUM, else chromium or chromium-browser on
    PATH. Raises RuntimeError naming what is missing."""
    env = os.environ.get("LMSIM_CHROMIUM")
    if env:
        path = shutil.which(env)
        if not path:
            raise RuntimeError("--pdf: LMSIM_CHROMIUM=%s is not an executable program" % env)
        return path
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("--pdf needs Chromium to print the report, but neither 'chromium' nor "
                       "'chromium-browser' is on PATH: install the Debian package chromium "
                       "(or set LMSIM_CHROMIUM to the program)")


def print_pdf(html_path, pdf_path, timeout=180):
    """Print html_path to pdf_path with headless Chromium (print-to-PDF); returns
    pdf_path. Raises RuntimeError when Chromium is missing or fails."""
    exe = find_chromium()
    profile = tempfile.mkdtemp(prefix="lmsim-chromium-")
    try:
        cmd = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
               "--no-first-run", "--user-data-dir=" + profile, "--no-pdf-header-footer",
               "--print-to-pdf=" + os.path.abspath(pdf_path),
               "file://" + os.path.abspath(html_path)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError("--pdf: %s did not finish within %d s" % (exe, timeout))
        if p.returncode != 0 or not os.path.exists(pdf_path):
            raise RuntimeError("--pdf: %s failed (exit %d): %s"
                               % (exe, p.returncode, p.stderr.strip()[-1000:]))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return pdf_path
