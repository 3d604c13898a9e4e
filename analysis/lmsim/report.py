"""A self-contained static HTML report of one or more runs.

    python3 -m lmsim report RUN.h5 [RUN2.h5 ...] -o report/

writes report/index.html (figures inline as base64 PNG, no external files),
with, first, every warning (settings of a run that had no effect, runs that
are identical or cannot be compared), then provenance (lmsim version, seeds,
sha256 of the files), the settings
that differ between runs, headline and programme tables, comparisons and
plots. Every number in the tables carries its exact value in a
``data-value`` attribute (repr of the float), so a test or a script can
check it against the file.
"""
import base64
import datetime
import html
import io
import math
import os
import warnings

from . import plots
from .compare import REPLICATE_NOTE, CompareError, compare, compare_trial
from .run import NoOpWarning, Run, sha256_of
from .sweep import Sweep, compare_sweep, is_sweep

HEADLINE_FIELDS = [
    ("persons_start", "persons, start", "int"), ("persons_end", "persons, end", "int"),
    ("employment_rate_start", "employment %, start", "pct"),
    ("employment_rate_end", "employment %, end", "pct"),
    ("unemployment_rate_start", "unemployment %, start", "pct"),
    ("unemployment_rate_end", "unemployment %, end", "pct"),
    ("inactivity_rate_start", "inactivity %, start", "pct"),
    ("inactivity_rate_end", "inactivity %, end", "pct"),
    ("good_job_share_start", "good-job share %, start", "pct"),
    ("good_job_share_end", "good-job share %, end", "pct"),
    ("mean_earnings_start", "mean earnings GBP, start", "gbp"),
    ("mean_earnings_end", "mean earnings GBP, end", "gbp"),
]
# (field, title, kind): "count" fields and costs are shown for the represented
# population (the file's NAME) with the simulated count (NAME_sim) beside
PROGRAMME_FIELDS = [
    ("referrals", "referrals", "count"), ("starts", "starts", "count"),
    ("job_entries", "job entries", "count"), ("good_entry_share", "good %", "pct"),
    ("sustained_6_started", "starters' jobs sustained 6m", "count"),
    ("any_job_12_rate", "any job in 12m %", "pct"), ("employed_12_rate", "in work at 12m %", "pct"),
    ("sustained_6_12_rate", "sustained 6m within 12m %", "pct"),
    ("mean_earnings_12", "earnings at 12m GBP", "gbp"), ("outcomes", "paid outcomes", "count"),
    ("outcome_rate", "outcome rate % (window)", "pct"), ("cost_total", "cost GBP", "count"),
    ("cost_per_referral", "GBP per referral", "gbp"), ("cost_per_start", "GBP per start", "gbp"),
    ("cost_per_sustained_6", "GBP per starter's job sustained 6m", "gbp"),
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
"""


def _fmt(v, kind):
    if kind == "int":
        return "{:,}".format(int(v))
    if kind == "pct":
        return "%.1f" % (100.0 * float(v))
    if kind == "gbp":
        return "{:,.0f}".format(float(v))
    if kind == "gbpd":
        return "%+.2f" % float(v)
    if kind == "gbpse":
        return "%.2f" % float(v)
    if kind == "pp":
        return "%+.3f" % (100.0 * float(v))
    if kind == "ppse":
        return "%.3f" % (100.0 * float(v))
    return "%.4g" % float(v)


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
                 "paired by replicate (points; GBP for earnings)</caption><tr><th>group</th>"
                 "<th>measure</th><th>%s</th><th>%s</th><th>difference</th><th>s.e.</th>"
                 "<th>95 %% interval</th><th>s.e. unpaired</th><th>replicates</th></tr>"
                 % (k, j, _e(b), _e(pts[0]), _e(pts[0]), _e(b)))
        for _, row in c.iterrows():
            money = "earnings" in row.measure
            kv, kd, ks = ("gbp", "gbpd", "gbpse") if money else ("pct", "pp", "ppse")
            sc = 1.0 if money else 100.0
            h.append("<tr><td>%s</td><td>%s</td>%s%s%s%s<td>%+.3f to %+.3f</td>%s<td>%d</td></tr>"
                     % (_e(row.group), _e(row.measure), _num(row.a, kv), _num(row.b, kv),
                        _num(row["diff"], kd, group=row.group, field=row.measure),
                        _num(row.se, ks), sc * row.ci_low, sc * row.ci_high,
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


def build(paths, outdir, title=None):
    """Write outdir/index.html for the runs at ``paths``; returns its path."""
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
    h = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         "<title>%s</title><style>%s</style></head><body>" % (_e(title), CSS),
         "<h1>%s</h1>" % _e(title),
         '<p class="note">Generated %s by the lmsim analysis toolkit (analysis/lmsim). '
         "Rates at month 0 (start) and at the last month (end).</p>"
         % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")]

    # comparisons with the first run: computed first, for their warnings
    comparisons = []
    for k in range(1, len(runs)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoOpWarning)  # shown on the page instead
            try:
                comparisons.append((k, compare(runs[0], runs[k]), ""))
            except CompareError as e:
                comparisons.append((k, None, str(e)))

    # warnings, before anything else: settings with no effect, comparisons
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

    # provenance
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

    # settings
    h.append('<h2 id="settings">Scenario settings</h2>')
    if len(runs) > 1:
        diff = differing_settings(runs)
        if diff:
            h.append('<table id="settings-diff"><caption>Settings that differ between the runs'
                     "</caption><tr><th>setting</th>%s</tr>"
                     % "".join("<th>%s</th>" % _e(l) for l in labels))
            for k, vals in diff.items():
                h.append("<tr><td><code>%s</code></td>%s</tr>" % (_e(k), "".join(
                    "<td>%s</td>" % ("<i>absent</i>" if v is None else "<code>%s</code>" % _e(v))
                    for v in vals)))
            h.append("</table>")
        else:
            h.append("<p>The runs have identical settings.</p>")
    for lab, r in zip(labels, runs):
        h.append("<details><summary>Scenario text of %s (as run)</summary><pre>%s</pre></details>"
                 % (_e(lab), _e(r.scenario_text)))

    # headline
    h.append('<h2 id="headline">Headline outcomes</h2>')
    for k, (lab, r) in enumerate(zip(labels, runs)):
        df = r.outcomes()
        h.append('<table class="headline" id="headline-%d" data-run="%d" data-file="%s">'
                 "<caption>%s</caption><tr><th>group</th>%s</tr>"
                 % (k, k, _e(os.path.basename(r.path)), _e(lab),
                    "".join("<th>%s</th>" % _e(t) for _, t, _ in HEADLINE_FIELDS)))
        for _, row in df.iterrows():
            h.append("<tr><td>%s</td>%s</tr>" % (_e(row.group), "".join(
                _count(row[f] * r.scale, row[f], group=row.group, field=f) if kind == "int" else
                _num(row[f], kind, group=row.group, field=f) for f, _, kind in HEADLINE_FIELDS)))
        h.append('</table><p class="note">Persons for the population represented (%s: x %.4g '
                 "the %s simulated; simulated counts in brackets).</p>"
                 % ("{:,}".format(r.represents), r.scale, "{:,}".format(r.n_persons)))
    if len(runs) > 1:
        h.append("<h3>Differences from %s (percentage points; GBP for earnings; 95 %% "
                 "intervals as <code>lmsim compare</code>)</h3>"
                 % _e(labels[0]))
        for k, c, refused in comparisons:
            if refused:
                h.append('<p class="note" id="compare-%d-refused">%s minus %s: not compared: %s'
                         "</p>" % (k, _e(labels[k]), _e(labels[0]), _e(refused)))
                continue
            c = c[c.group.isin(["all", "disabled", "not_disabled", "female", "male",
                                "ethnic_minority", "white"])]
            piv = c.pivot(index="group", columns="measure", values="diff")
            piv = piv.reindex([g for g in c.group.unique()])
            lo = c.pivot(index="group", columns="measure", values="ci_low")
            hi = c.pivot(index="group", columns="measure", values="ci_high")
            h.append('<table class="compare" id="compare-%d" data-basis="%s"><caption>%s minus %s'
                     " [95 %% interval]</caption><tr><th>group</th>%s</tr>"
                     % (k, _e(c.attrs.get("basis", "")), _e(labels[k]), _e(labels[0]), "".join(
                         "<th>%s</th>" % _e(m) for m in piv.columns)))
            for g, row in piv.iterrows():
                h.append("<tr><td>%s</td>%s</tr>" % (_e(g), "".join(
                    _diff_ci(row[m], lo.at[g, m], hi.at[g, m],
                             "gbpd" if m == "mean_earnings" else "pp", group=g, field=m)
                    for m in piv.columns)))
            h.append("</table><p class=\"note\">%s</p>" % _e(c.attrs.get("note", "")))

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
                h.append("<tr><td>%s</td><td>%s</td>%s</tr>" % (_e(row.programme), _e(row.arm), "".join(
                    _count(row[f], row[f + "_sim"], programme=row.programme, arm=row.arm, field=f)
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
                         "<th>treatment %%</th><th>n control</th><th>control %%</th>"
                         "<th>difference, points</th><th>s.e.</th><th>95 %% interval</th></tr>"
                         % (k, _e(lab)))
                for _, row in c.iterrows():
                    h.append("<tr><td>%s</td><td>%s</td>%s%s%s%s%s%s<td>%s</td></tr>" % (
                        _e(row.programme), _e(row.measure),
                        _count(row.n_treatment, row.n_treatment_sim),
                        _num(row.treatment, "pct"), _count(row.n_control, row.n_control_sim),
                        _num(row.control, "pct"), _num(row["diff"], "pp"), _num(row.se, "ppse"),
                        "%+.1f to %+.1f" % (100 * row.ci_low, 100 * row.ci_high)))
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
    h.append("</body></html>\n")
    path = os.path.join(outdir, "index.html")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(h))
    for r in runs:
        if r not in paths:
            r.close()
    return path
