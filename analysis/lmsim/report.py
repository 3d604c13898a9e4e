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
"""
import base64
import datetime
import html
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
from .run import NoOpWarning, Run, sha256_of
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

CSS = """
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
h3{font-size:1.05em}
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1em}
th,td{border:1px solid #ddd;padding:3px 7px}td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f0f3f7}caption{text-align:left;font-weight:bold;margin-bottom:.3em}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.5em 0}
.note{color:#555;font-size:.9em}code{background:#f4f4f4;padding:0 .2em;word-break:break-all}
.ci{color:#666;font-size:.9em}
pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:.8em;max-height:30em}
.warnings{border:2px solid #c25400;background:#fff4e5;padding:.3em 1em;margin:1em 0}
.warnings h2{border:none;margin-top:.3em;color:#a04000}
#summary p.summary{font-size:1.1em;max-width:60em}
#summary{border-left:4px solid #2b6ca3;padding-left:1em}
ul.timeline{margin:0;padding-left:1.2em}
@page{size:A4 landscape;margin:12mm}
@media print{body{max-width:none;margin:0;font-size:9pt}h2{break-after:avoid}
table{font-size:7pt}th,td{padding:1px 3px}
img,figure,.warnings,#summary{break-inside:avoid}tr{break-inside:avoid}details{display:none}}
"""


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


def _num(v, kind, **data):
    attrs = "".join(' data-%s="%s"' % (k, html.escape(str(x))) for k, x in data.items())
    val = repr(int(v)) if kind == "int" else repr(float(v))
    return '<td class="num" data-value="%s"%s>%s</td>' % (val, attrs, _fmt(v, kind))


def _count(v, sim, **data):
    """A count (or cost) for the represented population, with the simulated one beside."""
    attrs = "".join(' data-%s="%s"' % (k, html.escape(str(x))) for k, x in data.items())
    return ('<td class="num" data-value="%s" data-sim="%s"%s>%s <span class="ci">(sim. %s)</span>'
            "</td>" % (repr(float(v)), repr(float(sim)), attrs, "{:,.0f}".format(float(v)),
                       "{:,.0f}".format(float(sim))))


def _diff_ci(v, lo, hi, kind, **data):
    """A difference cell with its 95 % interval (none when the interval is NaN)."""
    if math.isnan(lo) or math.isnan(hi):
        return _num(v, kind, **data)
    data = dict(data, **{"ci-low": repr(float(lo)), "ci-high": repr(float(hi))})
    attrs = "".join(' data-%s="%s"' % (k, html.escape(str(x))) for k, x in data.items())
    return '<td class="num" data-value="%s"%s>%s <span class="ci">[%s, %s]</span></td>' % (
        repr(float(v)), attrs, _fmt(v, kind), _fmt(lo, kind), _fmt(hi, kind))


def _img(fig, alt):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plots.close(fig)
    return '<img alt="%s" src="data:image/png;base64,%s">' % (
        html.escape(alt), base64.b64encode(buf.getvalue()).decode("ascii"))


def _e(s):
    return html.escape(str(s))


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
        if len(set(vals)) > 1:
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
    h = ['<h2 id="sweep-%d">Sweep %s</h2>' % (k, _e(sw.path)),
         '<p class="note">%d points x %d replicates; replicates share seeds across points '
         "(common random numbers). Index sha256 <code>%s</code>.</p>"
         % (len(sw.points), len(sw.replicates), sha256_of(sw.path))]
    meas = [c for c in t.columns if c.endswith("_end") or c.endswith("_start")]
    h.append('<table class="sweep-tidy" id="sweep-tidy-%d"><tr><th>point</th><th>replicate</th>'
             "<th>seed</th><th>overrides</th>%s<th>task file sha256</th></tr>"
             % (k, "".join("<th>%s</th>" % _e(m) for m in meas)))
    for _, row in t.iterrows():
        h.append("<tr><td>%s</td><td>%d</td><td>%s</td><td><code>%s</code></td>%s"
                 '<td><code>%s</code></td></tr>' % (
                     _e(row.point), row.replicate, _e(row.seed), _e(row.overrides), "".join(
                         _num(row[m], "gbp" if "earnings" in m else "pct", point=row.point,
                              replicate=row.replicate, field=m) for m in meas),
                     sha256_of(sw.task_path(row.point, row.replicate))))
    h.append("</table>")
    pts = sw.points
    for j, b in enumerate(pts[1:], 1):
        c = compare_sweep(sw, pts[0], b)
        c = c[c.group.isin(["sweep_tidy", "all", "disabled"])]
        h.append('<table class="sweep-compare" id="sweep-compare-%d-%d"><caption>%s minus %s, '
                 "paired by replicate (percentage points; GBP for earnings)</caption><tr><th>group</th>"
                 "<th>measure</th><th>%s</th><th>%s</th><th>difference</th><th>s.e.</th>"
                 "<th>95 %% interval</th><th>s.e. unpaired</th><th>replicates</th></tr>"
                 % (k, j, _e(b), _e(pts[0]), _e(pts[0]), _e(b)))
        for _, row in c.iterrows():
            money = "earnings" in row.measure
            kv, kd, ks = ("gbp", "gbpd", "gbpse") if money else ("pct", "pp", "ppse")
            h.append("<tr><td>%s</td><td>%s</td>%s%s%s%s<td>%s to %s</td>%s<td>%d</td></tr>"
                     % (_e(P.group_label(row.group) if row.group != "sweep_tidy" else
                           "sweep (tidy table)"), _e(row.measure), _num(row.a, kv),
                        _num(row.b, kv), _num(row["diff"], kd, group=row.group, field=row.measure),
                        _num(row.se, ks), _fmt(row.ci_low, kd), _fmt(row.ci_high, kd),
                        _num(row.se_unpaired, ks), row.replicates))
        h.append('</table><p class="note">%s.</p>' % _e(c.attrs.get("note", "")))
    has_prog = False
    for pt in pts:
        with sw.run(pt, sw.replicates[0]) as r:
            has_prog = has_prog or len(r.programmes()) > 0
    if has_prog:
        h.append("<h3>Programmes by point (means over replicates)</h3>" +
                 _img(plots.programmes(sw), "programmes by sweep point"))
    return h


HEADLINE_COMPARE_GROUPS = ["all", "disabled", "not_disabled", "female", "male",
                           "ethnic_minority", "white"]


def _summary(runs, labels, comparisons, impacts, policies):
    """The summary section: 3-5 sentences from lmsim.present.summary_sentences."""
    cmp, refused, imp, note, pol = None, "", None, "", None
    if len(runs) > 1:
        _, cmp, refused = comparisons[0]
        imp, note = impacts.get(1, (None, ""))
        pol = policies.get(1)
    sents = P.summary_sentences(runs, labels, cmp=cmp, imp=imp, refused=refused, policy=pol,
                                impacts_note=note)
    return ('<section id="summary"><h2>Summary</h2><p class="summary">%s</p>'
            '<p class="note">Numbers are for the population the runs represent; 95 %% intervals '
            "as <code>lmsim compare</code> (%s). A difference whose interval includes 0 is "
            '"no clear difference".</p></section>'
            % (" ".join('<span class="sentence">%s</span>' % s for s in sents),
               _e(REPLICATE_NOTE)))


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
        notes.append('<li data-compare="%d" data-policy-month="%d" data-method="%s">%s minus %s: '
                     "%s.</li>" % (k, pol["month"], _e(pol["method"]), _e(labels[k]),
                                   _e(labels[0]), _e(pol["detail"])))
    fig = plots.employment(runs, starts=starts, labels=labels)
    return ('<section id="headline-chart"><h2>Employment over time</h2>%s'
            '<p class="note">Employment rate by month, from the aggregate counts (all persons). '
            "The dashed line marks when the scenarios start to differ:</p><ul class=\"note\">%s"
            "</ul></section>" % (_img(fig, "employment rate by scenario"), "".join(notes)))


def _impacts_tables(k, imp, la, lb):
    """Impacts over the run by group (represented population) and the programme costs."""
    meas = [m for m in P.IMPACT_ORDER if m in set(imp.measure)]
    body = imp[imp.measure.isin(meas)]
    groups = list(dict.fromkeys(body.group))
    h = ['<table class="impacts" id="impacts-%d" data-basis="%s"><caption>%s minus %s: totals '
         "over the run for the population represented, difference [95 %% interval]</caption>"
         "<tr><th>group</th>%s</tr>" % (k, _e(imp.attrs.get("basis", "")), _e(lb), _e(la), "".join(
             "<th>%s (%s)</th>" % (_e(P.measure_label(m)), "GBP" if P.measure_unit(m) == "gbp"
                                   else "count") for m in meas))]
    for g in groups:
        row = body[body.group == g].set_index("measure")
        h.append("<tr><td>%s</td>%s</tr>" % (_e(P.group_label(g)), "".join(
            _diff_ci(row.at[m, "diff"], row.at[m, "ci_low"], row.at[m, "ci_high"],
                     "gbpd" if P.measure_unit(m) == "gbp" else "countd", group=g, field=m)
            for m in meas)))
    h.append("</table>")
    cost = imp[imp.measure.isin(["programme_cost_gbp", "cost_per_additional_sustained_job",
                                 "cost_per_additional_employment_month"])]
    if len(cost):
        h.append('<table class="impact-costs" id="impact-costs-%d"><caption>Programme costs '
                 "(GBP, population represented)</caption><tr><th>measure</th><th>%s</th>"
                 "<th>%s</th><th>difference [95 %% interval]</th></tr>" % (k, _e(la), _e(lb)))
        for _, r in cost.iterrows():
            h.append("<tr><td>%s</td>%s%s%s</tr>" % (
                _e(P.measure_label(r.measure)), _num(r.a, "gbp", field=r.measure, col="a"),
                _num(r.b, "gbp", field=r.measure, col="b"),
                _diff_ci(r["diff"], r.ci_low, r.ci_high,
                         "gbpd" if r.measure == "programme_cost_gbp" else "gbp",
                         group=r.group, field=r.measure)))
        h.append('</table><p class="note">Cost per additional outcome: the cost difference '
                 "divided by the impact; no interval (-) when the impact's interval includes 0."
                 "</p>")
    h.append('<p class="note">%s; %s.</p>' % (_e(imp.attrs.get("note", "")),
                                             _e(imp.attrs.get("basis", ""))))
    return h


def appraisal_rows(imp):
    """Rows of a compare_impacts table whose measure starts with 'appraisal_'."""
    if imp is None or not len(imp):
        return imp.iloc[0:0] if imp is not None else None
    return imp[imp.measure.astype(str).str.startswith("appraisal_")]


def _appraisal_table(k, imp, la, lb):
    """The "Appraisal (HM Treasury Green Book)" table, or [] when there are no rows."""
    rows = appraisal_rows(imp)
    if rows is None or not len(rows):
        return []
    h = ['<table class="appraisal" id="appraisal-%d"><caption>%s minus %s</caption><tr>'
         "<th>group</th><th>measure</th><th>%s</th><th>%s</th><th>difference [95 %% interval]"
         "</th></tr>" % (k, _e(lb), _e(la), _e(la), _e(lb))]
    for _, r in rows.iterrows():
        unit = P.measure_unit(r.measure)
        h.append("<tr><td>%s</td><td>%s%s</td>%s%s%s</tr>" % (
            _e(P.group_label(r.group)), _e(P.measure_label(r.measure)),
            " (GBP)" if unit == "gbp" else "",
            _num(r.get("a", float("nan")), unit, group=r.group, field=r.measure, col="a"),
            _num(r.get("b", float("nan")), unit, group=r.group, field=r.measure, col="b"),
            _diff_ci(r["diff"], r.get("ci_low", float("nan")), r.get("ci_high", float("nan")),
                     "gbpd" if unit == "gbp" else unit, group=r.group, field=r.measure)))
    h.append("</table>")
    return h


def _settings_diff(runs, labels):
    h = []
    diff = differing_settings(runs)
    if not diff:
        return ["<p>The runs have identical settings.</p>"]
    h.append('<table id="settings-diff"><caption>Settings that differ between the runs'
             "</caption><tr><th>setting</th>%s</tr>" % "".join("<th>%s</th>" % _e(l)
                                                             for l in labels))
    for k, vals in diff.items():
        cells = []
        for v in vals:
            if v is None:
                cells.append("<td><i>absent</i></td>")
            elif k == "timeline":
                lines = P.timeline_lines(v)
                cells.append('<td><ul class="timeline">%s</ul></td>' % "".join(
                    "<li><code>%s</code></li>" % _e(x) for x in lines) if lines else
                    "<td><code>%s</code></td>" % _e(v))
            else:
                cells.append("<td><code>%s</code></td>" % _e(v))
        h.append("<tr><td><code>%s</code></td>%s</tr>" % (_e(k), "".join(cells)))
    h.append("</table>")
    return h


def build(paths, outdir, title=None):
    """Write outdir/index.html for the runs at ``paths``; returns its path.

    Order: summary, warnings, the headline chart, tables (headline, differences,
    impacts, appraisal, programmes, trials, sweeps), figures, provenance."""
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
    os.makedirs(outdir, exist_ok=True)
    title = title or "lmsim report: " + ", ".join(labels)

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

    h = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         "<title>%s</title><style>%s</style></head><body>" % (_e(title), CSS),
         "<h1>%s</h1>" % _e(title)]
    h.append(_summary(runs, labels, comparisons, impacts, policies))

    # warnings, right after the summary: settings with no effect, comparisons
    # that show nothing or were refused
    items = []
    for k, (lab, r) in enumerate(zip(labels, runs)):
        items.extend('<li data-run="%d"><b>%s</b>: %s</li>' % (k, _e(lab), _e(w))
                     for w in r.warnings)
    for k, c, refused in comparisons:
        what = "%s minus %s" % (labels[k], labels[0])
        if refused:
            items.append('<li data-compare="%d"><b>%s</b>: not compared: %s</li>'
                         % (k, _e(what), _e(refused)))
        elif c.attrs.get("verdict"):
            items.append('<li data-compare="%d"><b>%s</b>: %s</li>'
                         % (k, _e(what), _e(c.attrs["verdict"])))
    if items:
        h.append('<section class="warnings" id="warnings"><h2>Warnings</h2><ul>%s</ul>'
                 '<p class="note">Settings that had no effect in a run are recorded in its file '
                 "(root attribute <code>warnings</code>); see docs/scenario-reference.md, "
                 '"Warnings".</p></section>' % "".join(items))

    h.append(_headline_chart(runs, labels, policies))

    # headline
    h.append('<h2 id="headline">Headline outcomes</h2>')
    for k, (lab, r) in enumerate(zip(labels, runs)):
        df = r.outcomes()
        h.append('<table class="headline" id="headline-%d" data-run="%d" data-file="%s">'
                 "<caption>%s: %s (start) and %s (end)</caption><tr><th>group</th>%s</tr>"
                 % (k, k, _e(os.path.basename(r.path)), _e(lab), _e(P.month_words(r, 0)),
                    _e(P.month_words(r, r.n_months)),
                    "".join("<th>%s</th>" % _e(t) for _, t, _ in HEADLINE_FIELDS)))
        for _, row in df.iterrows():
            h.append("<tr><td>%s</td>%s</tr>" % (_e(P.group_label(row.group)), "".join(
                _count(row[f] * r.scale, row[f], group=row.group, field=f) if kind == "int" else
                _num(row[f], kind, group=row.group, field=f) for f, _, kind in HEADLINE_FIELDS)))
        h.append('</table><p class="note">Persons for the population represented (%s: x %.4g '
                 "the %s simulated; simulated counts in brackets).</p>"
                 % ("{:,}".format(r.represents), r.scale, "{:,}".format(r.n_persons)))
    if len(runs) > 1:
        h.append('<h2 id="differences">Differences at the end of the run</h2>'
                 '<p class="note">Differences from %s in percentage points (pp; GBP for '
                 "earnings), with 95 %% intervals as <code>lmsim compare</code>.</p>"
                 % _e(labels[0]))
        for k, c, refused in comparisons:
            if refused:
                h.append('<p class="note" id="compare-%d-refused">%s minus %s: not compared: %s'
                         "</p>" % (k, _e(labels[k]), _e(labels[0]), _e(refused)))
                continue
            c = c[c.group.isin(HEADLINE_COMPARE_GROUPS)]
            piv = c.pivot(index="group", columns="measure", values="diff")
            piv = piv.reindex([g for g in c.group.unique()])
            piv = piv[[m for m in c.measure.unique()]]
            lo = c.pivot(index="group", columns="measure", values="ci_low")
            hi = c.pivot(index="group", columns="measure", values="ci_high")
            h.append('<table class="compare" id="compare-%d" data-basis="%s"><caption>%s minus %s'
                     " [95 %% interval]</caption><tr><th>group</th>%s</tr>"
                     % (k, _e(c.attrs.get("basis", "")), _e(labels[k]), _e(labels[0]), "".join(
                         "<th>%s (%s)</th>" % (_e(P.measure_label(m)),
                                               "GBP" if m == "mean_earnings" else "pp")
                         for m in piv.columns)))
            for g, row in piv.iterrows():
                h.append("<tr><td>%s</td>%s</tr>" % (_e(P.group_label(g)), "".join(
                    _diff_ci(row[m], lo.at[g, m], hi.at[g, m],
                             "gbpd" if m == "mean_earnings" else "pp", group=g, field=m)
                    for m in piv.columns)))
            h.append("</table><p class=\"note\">%s</p>" % _e(c.attrs.get("note", "")))

        # impacts over the run, then the appraisal when compare_impacts gives it
        h.append('<h2 id="impacts">Impacts over the run</h2>')
        appraisal = []
        for k, c, refused in comparisons:
            if refused:
                continue
            imp, why = impacts[k]
            if imp is None:
                h.append('<p class="note" id="impacts-%d-missing">%s minus %s: no impacts: %s</p>'
                         % (k, _e(labels[k]), _e(labels[0]), _e(why)))
                continue
            h.extend(_impacts_tables(k, imp, labels[0], labels[k]))
            appraisal.extend(_appraisal_table(k, imp, labels[0], labels[k]))
        if appraisal:
            h.append('<h2 id="appraisal">Appraisal (HM Treasury Green Book)</h2>')
            h.extend(appraisal)
            h.append('<p class="note">Costs and benefits in the price base and discount rate '
                     "of the scenarios' <code>appraisal</code> settings.</p>")

    # programmes
    if any(len(r.programmes()) for r in runs):
        h.append('<h2 id="programmes">Programmes</h2>')
        for k, (lab, r) in enumerate(zip(labels, runs)):
            p = r.programmes()
            if not len(p):
                continue
            h.append('<table class="programmes" id="programmes-%d" data-run="%d"><caption>%s'
                     "</caption><tr><th>programme</th><th>arm</th>%s</tr>"
                     % (k, k, _e(lab), "".join("<th>%s</th>" % _e(t)
                                                for _, t, _ in PROGRAMME_FIELDS)))
            for _, row in p.iterrows():
                h.append("<tr><td>%s</td><td>%s</td>%s</tr>" % (
                    _e(P.programme_label(row.programme)), _e(row.arm), "".join(
                        _count(row[f], row[f + "_sim"], programme=row.programme, arm=row.arm,
                               field=f)
                        if kind == "count" else
                        _num(row[f], kind, programme=row.programme, arm=row.arm, field=f)
                        for f, _, kind in PROGRAMME_FIELDS)))
            h.append('</table><p class="note">Counts and costs for the population represented '
                     "(x %.4g; simulated in brackets). Rates over the referrals followed to their "
                     "horizon: 12 months, or the programme's outcome window for the outcome rate. "
                     "Cost per sustained job: per job of a starter sustained 6 months.</p>"
                     % r.scale)
            if r.is_trial():
                c = compare_trial(r)
                h.append('<table class="trial" id="trial-%d"><caption>Trial: treatment minus control'
                         " (%s)</caption><tr><th>programme</th><th>measure</th><th>n treatment</th>"
                         "<th>treatment (%%)</th><th>n control</th><th>control (%%)</th>"
                         "<th>difference (pp)</th><th>s.e. (pp)</th><th>95 %% interval (pp)</th>"
                         "</tr>" % (k, _e(lab)))
                for _, row in c.iterrows():
                    h.append("<tr><td>%s</td><td>%s</td>%s%s%s%s%s%s<td>%s to %s</td></tr>" % (
                        _e(P.programme_label(row.programme)), _e(row.measure),
                        _count(row.n_treatment, row.n_treatment_sim),
                        _num(row.treatment, "pct"), _count(row.n_control, row.n_control_sim),
                        _num(row.control, "pct"), _num(row["diff"], "pp"), _num(row.se, "ppse"),
                        _fmt(row.ci_low, "pp"), _fmt(row.ci_high, "pp")))
                h.append('</table><p class="note">Binomial standard errors within one run. %s.</p>'
                         % _e(REPLICATE_NOTE[0].upper() + REPLICATE_NOTE[1:]))
        h.append('<h3>Side by side</h3>' + _img(plots.programmes(runs), "programmes side by side"))

    for k, sw in enumerate(sweeps):
        h.extend(_sweep_section(sw, k))

    # figures
    h.append('<h2 id="figures">Figures</h2>')
    h.append("<h3>Employment gaps</h3>" + _img(plots.gaps(runs), "employment gaps"))
    for lab, r in zip(labels, runs):
        h.append("<h3>Occupancy: %s</h3>" % _e(lab))
        h.append(_img(plots.occupancy(r, by="disabled"), "occupancy " + lab))
        if r.has_panel:
            h.append(_img(plots.flow(r, 0, r.n_months), "flows " + lab))
        else:
            h.append('<p class="note">No panel in this file (panel mode none): no flow '
                     "diagram.</p>")
    h.append('<p class="note">Intervals: %s.</p>' % _e(REPLICATE_NOTE))

    # provenance, last
    h.append('<h2 id="provenance">Provenance</h2><table id="provenance-table"><tr><th>run</th>'
             "<th>file</th><th>scenario</th><th>lmsim version</th><th>seed</th>"
             "<th>persons simulated</th><th>population represented</th>"
             "<th>months</th><th>start</th><th>panel</th><th>created</th><th>sha256</th></tr>")
    for lab, r in zip(labels, runs):
        h.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                 '<td class="num" data-field="seed">%d</td><td class="num">%s</td>'
                 '<td class="num">%s</td>'
                 '<td class="num">%d</td><td>%s</td><td>%s</td><td>%s</td>'
                 '<td><code data-field="sha256">%s</code></td></tr>'
                 % (_e(lab), _e(os.path.basename(r.path)), _e(r.scenario_name), _e(r.version),
                    r.seed, "{:,}".format(r.n_persons), "{:,}".format(r.represents), r.n_months,
                    _e(r.start_month),
                    _e(r.panel_mode), _e(r.created_at), r.sha256()))
    h.append("</table>")
    h.append('<h3 id="settings">Scenario settings</h3>')
    if len(runs) > 1:
        h.extend(_settings_diff(runs, labels))
    for lab, r in zip(labels, runs):
        h.append("<details><summary>Scenario text of %s (as run)</summary><pre>%s</pre></details>"
                 % (_e(lab), _e(r.scenario_text)))
    h.append('<p class="note">Generated %s by the lmsim analysis toolkit (analysis/lmsim).</p>'
             % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    h.append("</body></html>\n")
    path = os.path.join(outdir, "index.html")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(h))
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
