"""Presentation for readers who are not analysts: units, names, dates and the
plain-language summary of the report (lmsim.report).

Units, one rule each (docs/analysis.md, "Report and export"):

- rates in % with one decimal (``pct``: 0.7253 -> "72.5");
- differences of rates in percentage points with one decimal and a sign
  (``pp``: 0.0024 -> "+0.2");
- money in GBP with thousands separators: no decimals from GBP 100 up (and
  for exactly 0), one decimal below (``gbp``: 59736450.0 -> "59,736,450",
  12.34 -> "12.3");
- counts with thousands separators, no decimals (``count``).

Names: headline groups (``age:16-24``) become "Aged 16-24", measures and
programmes get words (``group_label``, ``measure_label``,
``programme_label``); the internal name stays in the page's ``data-*``
attributes.

The policy start of a comparison (``policy_start``) is the first month in
which the two scenarios' settings differ in effect, read from the scenarios
as run (root attribute ``scenario_text``): a difference outside the
timeline (other than name, description, simulation and output, which do not
change behaviour) is in force from month 1; otherwise the earliest ``from``
of the timeline entries one scenario has and the other has not. When the
settings give no month (identical settings, or text that cannot be read),
the first month in which ``/aggregates/counts`` differ is used instead. The
first month the counts differ is always reported beside it: effects show in
the counts a few months after a change in referral rules.

The summary (``summary_sentences``) is generated from the numbers of
``lmsim.compare`` (headline at the last month, and the impacts over the run
when both runs have panels): every number in it is an HTML span carrying its
exact value in ``data-value``; a difference whose 95 % interval includes 0
is called "no clear difference".

The HTML comes from the Jinja2 templates in ``lmsim/templates/``
(``environment``): ``report.html.j2`` (the page), ``cells.html.j2`` (table
cells and number spans), ``summary.html.j2`` (one macro per summary
sentence) and ``report.css``, with autoescaping on. Values are escaped as
``html.escape`` does (``&quot;``, ``&#x27;``), the escaping of the pages
written before the templates, so the page is the same byte for byte
outside its layout (tests/analysis/test_report_golden.py).
"""
import functools
import html
import math
import os
import re
import sys

import numpy as np
import pandas as pd

from .run import flatten_scenario, setting_text

try:
    import jinja2
    import markupsafe
except ImportError as _err:
    class TemplateImportError(ImportError, RuntimeError):
        """Jinja2 is missing (a RuntimeError too, so the command line says it in one line)."""

    raise TemplateImportError(
        "lmsim report needs Jinja2 for its HTML templates, which this Python (%s) cannot "
        "import (%s). Install Debian's python3-jinja2 (apt-get install -y python3-jinja2) and "
        "use /usr/bin/python3" % (sys.executable, _err)) from None

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]

GROUP_LABELS = {"all": "All people", "disabled": "Disabled people",
                "not_disabled": "Non-disabled people", "female": "Women", "male": "Men",
                "ethnic_minority": "Ethnic minority people", "white": "White people"}

MEASURE_LABELS = {
    "employment_rate": "Employment rate", "unemployment_rate": "Unemployment rate",
    "inactivity_rate": "Inactivity rate", "good_job_share": "Good-job share of jobs",
    "mean_earnings": "Mean monthly earnings of those in work",
    "employment_months": "Employment months", "sustained_jobs": "Sustained jobs (6 months)",
    "earnings_gbp": "Earnings", "benefit_months": "Out-of-work benefit months",
    "programme_cost_gbp": "Programme costs",
    "cost_per_additional_sustained_job": "Cost per additional sustained job",
    "cost_per_additional_employment_month": "Cost per additional employment month",
    "appraisal_exchequer_net_cost_gbp": "Exchequer net cost",
    "appraisal_npv_society_gbp": "Net present value to society",
    "appraisal_npv_exchequer_gbp": "Net present value to the exchequer",
    "appraisal_bcr_society": "Benefit-cost ratio to society",
    "appraisal_bcr_exchequer": "Benefit-cost ratio to the exchequer",
}

# impact measures of compare_impacts, in table order
IMPACT_ORDER = ["employment_months", "sustained_jobs", "earnings_gbp", "benefit_months"]

# unit of each measure: pct (a rate), gbp (money), count, ratio
MEASURE_UNITS = {"employment_rate": "pct", "unemployment_rate": "pct", "inactivity_rate": "pct",
                 "good_job_share": "pct", "mean_earnings": "gbp", "employment_months": "count",
                 "sustained_jobs": "count", "earnings_gbp": "gbp", "benefit_months": "count",
                 "programme_cost_gbp": "gbp", "cost_per_additional_sustained_job": "gbp",
                 "cost_per_additional_employment_month": "gbp"}

PROGRAMME_LABELS = {"work_first": "Work First", "ips": "IPS",
                    "in_work_progression": "In-work progression"}

# settings that do not change what happens in a run
_INERT = ("name", "description", "simulation.", "output.")


def _escape(v):
    """Every value a template writes: None as "None", markup as it is, the rest
    through html.escape (quotes as &quot; and &#x27;)."""
    if isinstance(v, markupsafe.Markup) or hasattr(v, "__html__"):
        return v
    return markupsafe.Markup(html.escape(str(v)))


def exact(v):
    """The exact value of a number for data-value: the repr of the float."""
    return repr(float(v))


def _isnan(v):
    return math.isnan(float(v))


@functools.lru_cache(maxsize=8)
def environment(templates=None):
    """The Jinja2 environment of the report: the templates in ``templates``
    (a folder of your own, searched first: copies of the files in
    lmsim/templates/ to restyle the page), then lmsim/templates/.
    Autoescaping is on; ``finalize`` escapes as html.escape does, so the
    page keeps the escaping of the string-built report."""
    paths = ([os.fspath(templates)] if templates else []) + [TEMPLATES]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(paths), autoescape=True,
                             finalize=_escape, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals.update(fmt=fmt, exact=exact, clear=clear, isnan=_isnan)
    return env


def macros(name, templates=None):
    """The macros of template ``name`` (e.g. "summary.html.j2"), as functions
    returning markup."""
    return environment(templates).get_template(name).module


# -- numbers -------------------------------------------------------------------
def measure_unit(measure):
    """pct, gbp, count or ratio, from the table above or the name's ending."""
    if measure in MEASURE_UNITS:
        return MEASURE_UNITS[measure]
    if measure.endswith("_gbp") or measure.startswith("cost_"):
        return "gbp"
    if measure.endswith("_rate") or measure.endswith("_share"):
        return "pct"
    if "_bcr" in measure or measure.endswith("_ratio"):
        return "ratio"
    return "count"


def fmt(v, kind, sign=False):
    """Text of a number in one unit (see the module's rules); '-' for NaN. A
    value that rounds to zero has no sign ('0.0', not '-0.0')."""
    if math.isnan(float(v)):
        return "-"
    t = _fmt(v, kind, sign)
    if t[:1] in "+-" and not any(ch in "123456789" for ch in t):
        t = t[1:]
    return t


def _fmt(v, kind, sign):
    v = float(v)
    if math.isnan(v):
        return "-"
    s = "+" if sign else ""
    if kind == "pct":
        return ("%" + s + ".1f") % (100.0 * v)
    if kind == "pp":
        return "%+.1f" % (100.0 * v)
    if kind == "gbp":
        spec = ",.0f" if v == 0.0 or abs(v) >= 100.0 else ",.1f"
        return format(v, s + spec)
    if kind == "ratio":
        return format(v, s + ".2f")
    if kind == "int":
        return format(int(v), s + ",")
    return format(v, s + ",.0f")  # count


def _month_words(period):
    p = pd.Period(period, freq="M")
    return "%s %d" % (MONTH_NAMES[p.month - 1], p.year)


def month_words(run, month):
    """'January 2024' for simulation month `month` of `run` (month 0 = the start)."""
    return _month_words(run.dates([month])[0])


# -- names ---------------------------------------------------------------------
def group_label(g):
    if g in GROUP_LABELS:
        return GROUP_LABELS[g]
    if g.startswith("age:"):
        return "Aged " + g[4:]
    if g.startswith("region:"):
        return "Region: " + g[7:]
    return g.replace("_", " ").capitalize()


def group_phrase(g):
    """A group's name inside a sentence: 'disabled people', 'people aged 16-24',
    'people in North Wales'."""
    if g in GROUP_LABELS:
        return GROUP_LABELS[g].lower()
    if g.startswith("age:"):
        return "people aged " + g[4:]
    if g.startswith("region:"):
        return "people in " + g[7:]
    return g.replace("_", " ")


def measure_label(m):
    if m in MEASURE_LABELS:
        return MEASURE_LABELS[m]
    words = m[len("appraisal_"):] if m.startswith("appraisal_") else m
    words = re.sub(r"_gbp$", "", words).replace("_", " ")
    words = re.sub(r"\b(npv|bcr)\b", lambda x: x.group(1).upper(), words)
    return words[:1].upper() + words[1:]


def programme_label(p):
    if p in PROGRAMME_LABELS:
        return PROGRAMME_LABELS[p]
    return p.upper() if len(p) <= 3 else p.replace("_", " ").capitalize()


def scenario_words(run):
    """The scenario's description (its name when it has none)."""
    d = run.settings().get("description", "")
    return d if isinstance(d, str) and d else run.scenario_name.replace("_", " ")


def place_name(run):
    """The place the run represents when its regions say it (the last word all
    region names share: 'North Wales', 'South East Wales' -> 'Wales'), else ''."""
    try:
        names = run.region_names
    except (KeyError, OSError):
        return ""
    last = {n.split()[-1] for n in names if n.split()}
    return last.pop() if len(names) > 1 and len(last) == 1 else ""


# -- timeline ------------------------------------------------------------------
def _text(v):
    """A setting's value as text for comparisons (None when absent), so that
    1 and 1.0 differ as they do in the scenario text."""
    return None if v is None else setting_text(v)


def timeline_entries(value):
    """Entries of a ``timeline`` setting (Run.settings()["timeline"], a list
    of dicts): list of dicts with ``from``, ``to`` (or None), ``kind`` ("set"
    or "ramp"), ``settings`` ({path: value}) and ``text`` (the entry as
    scenario text)."""
    out = []
    for ent in value or []:
        kind = "ramp" if "ramp" in ent else "set"
        out.append({"from": ent.get("from", ""), "to": ent.get("to") or None, "kind": kind,
                    "settings": flatten_scenario(ent.get(kind, {})),
                    "text": setting_text(ent)})
    return out


def timeline_lines(value):
    """One readable line per change of a timeline setting, e.g.
    'from April 2026: programmes.ips.effects.fidelity = 1.0' or
    'April 2026 to March 2028, linearly: programmes.ips.capacity.places_per_month
    to [150.0,200.0,350.0]'."""
    lines = []
    for it in timeline_entries(value):
        try:
            start = _month_words(it["from"])
            end = _month_words(it["to"]) if it["to"] else None
        except ValueError:
            start, end = it["from"], it["to"]
        for k, v in it["settings"].items():
            if it["kind"] == "ramp":
                lines.append("%s to %s, linearly: %s to %s" % (start, end, k, setting_text(v)))
            else:
                lines.append("from %s: %s = %s" % (start, k, setting_text(v)))
    return lines


def _months_between(start, date):
    a, b = pd.Period(start, freq="M"), pd.Period(date, freq="M")
    return (b.year - a.year) * 12 + (b.month - a.month)


def first_count_difference(a, b):
    """First month (0..n) at which /aggregates/counts of runs a and b differ, or None."""
    da, db = a.file["aggregates/counts"], b.file["aggregates/counts"]
    if da.shape != db.shape:
        return 0
    for m in range(da.shape[0]):
        if not np.array_equal(da[m], db[m]):
            return m
    return None


def policy_start(a, b):
    """When run b's scenario starts to differ from run a's in effect (see the
    module's notes). Returns a dict: ``month`` (simulation month, None when
    nothing differs), ``date`` ('2026-04'), ``method`` ("timeline", "settings"
    or "counts"), ``counts_month`` (first month the aggregate counts differ, or
    None) and ``detail`` (a sentence saying how it was found)."""
    sa, sb = a.settings(), b.settings()
    keys = [k for k in dict.fromkeys(list(sa) + list(sb))
            if _text(sa.get(k)) != _text(sb.get(k)) and not k.startswith(_INERT)
            and k != "timeline"]
    counts = first_count_difference(a, b)
    month, method = None, "counts"
    if keys:
        month, method = 1, "settings"
    else:
        ta = timeline_entries(sa.get("timeline"))
        tb = timeline_entries(sb.get("timeline"))
        texts_a = [t["text"] for t in ta]
        texts_b = [t["text"] for t in tb]
        changed = [t for t in tb if t["text"] not in texts_a] + \
            [t for t in ta if t["text"] not in texts_b]
        starts = []
        for t in changed:
            try:
                starts.append(_months_between(a.start_month, t["from"]))
            except ValueError:
                pass
        if starts:
            month, method = max(1, min(starts)), "timeline"
    if month is None and counts is not None:
        month = counts
    out = {"month": month, "method": method, "counts_month": counts,
           "date": str(a.dates([month])[0]) if month is not None else ""}
    seen = ("; the aggregate counts first differ in %s (month %d)"
            % (month_words(a, counts), counts)) if counts is not None else \
        "; the aggregate counts never differ"
    if method == "timeline":
        out["detail"] = ("policy start: the first month of a timeline change one scenario has "
                         "and the other has not, %s (month %d)%s"
                         % (month_words(a, month), month, seen))
    elif method == "settings":
        out["detail"] = ("policy start: the scenarios differ in settings in force from the first "
                         "simulated month (%s: %s)%s" % (month_words(a, 1), ", ".join(keys[:3]) +
                                                         (", ..." if len(keys) > 3 else ""), seen))
    elif month is not None:
        out["detail"] = ("policy start: the settings give no month; the first month in which the "
                         "aggregate counts differ, %s (month %d)" % (month_words(a, month), month))
    else:
        out["detail"] = "the runs do not differ in settings or in the aggregate counts"
    return out


# -- the summary ---------------------------------------------------------------
def span(v, kind, field, sign=False, **data):
    """A number in a sentence: its text, with the exact value in data-value
    (the span macro of cells.html.j2)."""
    return macros("cells.html.j2").span(v, kind, field, sign=sign, **data)


def clear(lo, hi):
    """Whether a 95 % interval excludes 0 (a clear difference)."""
    return not (math.isnan(lo) or math.isnan(hi)) and (lo > 0.0 or hi < 0.0)


def _period(run):
    return {"months": run.n_months, "start": month_words(run, 0),
            "end": month_words(run, run.n_months)}


def _all_row(df, measure):
    """The row of all people for ``measure`` of a compare table, or None."""
    r = df[(df.group == "all") & (df.measure == measure)]
    return r.iloc[0] if len(r) else None


IMPACT_WORDS = [("employment_months", "employment months", "more", "fewer"),
                ("sustained_jobs", "jobs sustained 6 months", "more", "fewer"),
                ("benefit_months", "months on out-of-work benefits", "more", "fewer")]


def _rate_sentence(m, c, end, la, lb):
    """Employment rate of everybody at the end, and the group with the largest change."""
    r = _all_row(c, "employment_rate")
    g = c[(c.group != "all") & (c.measure == "employment_rate")]
    top = g.loc[g["diff"].abs().idxmax()] if len(g) and (g["diff"].abs() > 0).any() else None
    return m.rate(r, top, group_phrase(top.group) if top is not None else "", end, la, lb)


def _impacts_sentence(m, imp, la, lb):
    parts = [(r, words, more, fewer) for r, words, more, fewer in
             ((_all_row(imp, k), w, mo, fe) for k, w, mo, fe in IMPACT_WORDS) if r is not None]
    return m.impacts(parts, la, lb) if parts else ""


def _cost_sentence(m, imp, cost_a, cost_b):
    per_job = npv = None
    if imp is not None and cost_b - cost_a != 0:
        per_job = _all_row(imp, "cost_per_additional_sustained_job")
    if imp is not None:
        npv = _all_row(imp, "appraisal_npv_society_gbp")
    return m.costs(cost_a, cost_b, per_job, npv)


def programme_cost(run):
    """Total programme cost of a run for the represented population (GBP)."""
    p = run.programmes()
    return float(p["cost_total"].sum()) if len(p) else 0.0


def summary_sentences(runs, labels, cmp=None, imp=None, refused="", policy=None, impacts_note="",
                      templates=None):
    """The report's opening sentences (HTML, 3-5), generated from the numbers
    (the macros of summary.html.j2).

    runs, labels: the runs of the report (the first is the reference);
    cmp: compare_runs(runs[0], runs[1]) (None with one run, or when refused:
    then ``refused`` holds the reason); imp: compare_impacts of the same pair
    (None without panels: ``impacts_note`` says why); policy: policy_start();
    templates: a folder of templates searched before lmsim/templates/."""
    m = macros("summary.html.j2", templates)
    a = runs[0]
    if len(runs) == 1:
        return _single_summary(m, a)
    b = runs[1]
    s1 = m.compares(scenario_words(b), labels[1], scenario_words(a), labels[0], a, place_name(a),
                    _period(a), month_words(a, policy["month"]) if policy and policy.get("month")
                    else "", len(runs) - 2)
    if refused or cmp is None:
        rates = [(lab, r.outcomes().set_index("group").at["all", "employment_rate_end"], k)
                 for k, (lab, r) in enumerate(zip(labels, runs))]
        return [s1, m.refused(refused), m.end_rates(rates)]
    out = [s1]
    if cmp.attrs.get("verdict"):  # identical runs, or nothing differs at the end
        out.append(m.verdict(cmp.attrs["verdict"]))
    out.append(_rate_sentence(m, cmp, month_words(a, a.n_months), labels[0], labels[1]))
    if imp is not None:
        s = _impacts_sentence(m, imp, labels[0], labels[1])
        if s:
            out.append(s)
        r = _all_row(imp, "programme_cost_gbp")
        ca, cb = (float(r["a"]), float(r["b"])) if r is not None else \
            (programme_cost(a), programme_cost(b))
    else:
        out.append(m.no_impacts(impacts_note or "they need both runs' panels"))
        ca, cb = programme_cost(a), programme_cost(b)
    if ca or cb:
        out.append(_cost_sentence(m, imp, ca, cb))
    return out


def _single_summary(m, r):
    h = r.outcomes().set_index("group").loc["all"]
    out = [m.shows(scenario_words(r), r.scenario_name, r, place_name(r), _period(r)),
           m.rates_over_run(h, month_words(r, 0), month_words(r, r.n_months))]
    p = r.programmes()
    p = p[p.arm != "control"] if len(p) else p
    out.append(m.programmes([(programme_label(x.programme), x) for x in p.itertuples()]))
    if r.is_trial():
        from .compare import compare_trial
        t = compare_trial(r)
        t = t[t.measure == "sustained_6_12_rate"]
        for x in t.itertuples():
            out.append(m.trial(programme_label(x.programme), x))
            break
    return out
