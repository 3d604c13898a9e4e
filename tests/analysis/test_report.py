"""python3 -m lmsim report / export: the numbers on the page and in the CSVs equal the files'."""
import base64
import hashlib
import os
import re
import html as html_mod
import subprocess
import sys
from html.parser import HTMLParser

import h5py
import numpy as np
import pandas as pd
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ANALYSIS = os.path.abspath(os.path.join(HERE, "..", "..", "analysis"))
sys.path.insert(0, ANALYSIS)
from lmsim.report import PROGRAMME_FIELDS  # noqa: E402


def cli(*args):
    env = dict(os.environ, PYTHONPATH=ANALYSIS, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, "-m", "lmsim"] + list(args), capture_output=True,
                       text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


class Page(HTMLParser):
    """Collects table cells (with data-* attributes and text) and images."""

    def __init__(self):
        super().__init__()
        self.cells, self.images, self.tables = [], [], []
        self._cell = None
        self._table = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a
            self.tables.append(a)
        elif tag in ("td", "code") and ("data-value" in a or "data-field" in a):
            self._cell = dict(a, table=self._table or {}, text="")
        elif tag == "img":
            self.images.append(a)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag in ("td", "code") and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        elif tag == "table":
            self._table = None


def _page(path):
    p = Page()
    with open(path, encoding="utf-8") as fh:
        p.feed(fh.read())
    return p


def test_report_numbers_equal_files(baseline36, devolved, trial, wales, tmp_path):
    runs = [baseline36, devolved, trial, wales]
    out = str(tmp_path / "report")
    cli("report", *runs, "-o", out)
    page = _page(os.path.join(out, "index.html"))
    # headline: every cell equals the file, exactly (data-value) and as displayed (text)
    checked = 0
    for k, run in enumerate(runs):
        with h5py.File(run, "r") as f:
            raw = f["outcomes/headline"][...]
            prog = f["outcomes/programmes"][...]
        cells = [c for c in page.cells if c["table"].get("id") == "headline-%d" % k]
        assert len(cells) == len(raw) * 12
        with h5py.File(run, "r") as f:
            scale = float(f.attrs["represents"]) / float(f.attrs["n_persons"])
        for c in cells:
            row = raw[[g.decode() for g in raw["group"]].index(c["data-group"])]
            v = row[c["data-field"]]
            if c["data-field"].startswith("persons"):
                # for the population represented, the simulated count beside it
                assert float(c["data-value"]) == float(v) * scale
                assert float(c["data-sim"]) == float(v)
                assert c["text"] == "{:,.0f} (sim. {:,})".format(float(v) * scale, int(v))
                continue
            assert float(c["data-value"]) == float(v)
            if c["data-field"].startswith("mean_earnings"):
                assert c["text"] == "{:,.0f}".format(float(v))
            else:
                assert c["text"] == "%.1f" % (100 * float(v))
            checked += 1
        pcells = [c for c in page.cells if c["table"].get("id") == "programmes-%d" % k]
        assert len(pcells) == len(prog) * len(PROGRAMME_FIELDS)
        for c in pcells:
            arm = {"none": 0, "treatment": 1, "control": 2}[c["data-arm"]]
            sel = (prog["programme"] == c["data-programme"].encode()) & (prog["arm"] == arm)
            assert float(c["data-value"]) == float(prog[sel][c["data-field"]][0])
            if "data-sim" in c:  # a count or cost: represented, simulated beside
                assert float(c["data-sim"]) == float(prog[sel][c["data-field"] + "_sim"][0])
                assert "(sim. " in c["text"]
    assert checked > 100
    # the trial table and comparisons are present
    ids = {t.get("id") for t in page.tables}
    assert {"trial-2", "compare-1", "settings-diff", "provenance-table"} <= ids
    # differences from the first run with the intervals of lmsim.compare (= lmsim compare)
    sys.path.insert(0, ANALYSIS)
    import lmsim
    c = lmsim.compare(runs[0], runs[1]).set_index(["group", "measure"])
    cells = [x for x in page.cells if x["table"].get("id") == "compare-1"]
    assert len(cells) == 7 * 5
    for x in cells:
        r = c.loc[(x["data-group"], x["data-field"])]
        assert float(x["data-value"]) == r["diff"]
        if np.isnan(r.ci_low):  # earnings without panels
            assert "data-ci-low" not in x and "[" not in x["text"]
        else:
            assert float(x["data-ci-low"]) == r.ci_low and float(x["data-ci-high"]) == r.ci_high
            assert x["text"].endswith("]")
    assert sum("data-ci-low" in x for x in page.cells) == 7 * 4  # compare-1: rates, not earnings
    # 36 against 24 months: refused with lmsim compare's message, in the warnings at the top
    # and in place of the table
    assert "compare-3" not in ids
    try:
        lmsim.compare(runs[0], runs[3])
        raise AssertionError("runs of 36 and 24 months were compared")
    except lmsim.CompareError as e:
        refused = html_mod.escape(str(e))
    assert '<p class="note" id="compare-3-refused">' in open(
        os.path.join(out, "index.html"), encoding="utf-8").read()
    # provenance: seeds and checksums
    seeds = [c for c in page.cells if c.get("data-field") == "seed"]
    shas = [c for c in page.cells if c.get("data-field") == "sha256"]
    for run, s, h in zip(runs, seeds, shas):
        with h5py.File(run, "r") as f:
            assert s["text"] == f.attrs["seed_str"]
        with open(run, "rb") as fh:
            assert h["text"] == hashlib.sha256(fh.read()).hexdigest()
    # settings that differ include the run length and the scenario name
    html = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    assert html.count(refused) == 2 and "36 months against 24" in refused
    assert html.index('id="warnings"') < html.index('id="provenance"')
    assert "simulation.months" in html and "<code>name</code>" in html
    # figures are inline PNGs that decode
    # headline chart, programmes, gaps, occupancy each, flow (wales)
    assert len(page.images) == 3 + len(runs) + 1
    for im in page.images:
        src = im["src"]
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "src=\"http" not in html and "href=\"http" not in html  # self-contained


def test_export_csv(wales, tmp_path):
    out = str(tmp_path / "csv")
    cli("export", wales, "--format", "csv", "-o", out, "--panel", "state,earnings",
        "--months", "0,12-13")
    with h5py.File(wales, "r") as f:
        head = pd.read_csv(os.path.join(out, "headline.csv"), float_precision="round_trip")
        raw = f["outcomes/headline"][...]
        assert list(head.group) == [g.decode() for g in raw["group"]]
        for name in raw.dtype.names[1:]:
            assert np.array_equal(head[name].to_numpy(), raw[name]), name
        prog = pd.read_csv(os.path.join(out, "programmes.csv"), float_precision="round_trip")
        praw = f["outcomes/programmes"][...]
        for name in praw.dtype.names[2:]:
            assert np.array_equal(prog[name].to_numpy(), praw[name]), name
        agg = pd.read_csv(os.path.join(out, "aggregates.csv"), float_precision="round_trip")
        assert np.array_equal(agg["count"].to_numpy(), f["aggregates/counts"][...].ravel())
        panel = pd.read_csv(os.path.join(out, "panel.csv"), float_precision="round_trip")
        assert sorted(panel.month.unique()) == [0, 12, 13]
        names = h5py.check_enum_dtype(f["panel/state"].dtype)
        codes = panel.state.map(names).to_numpy()
        assert np.array_equal(codes, f["panel/state"][[0, 12, 13], :].ravel())
        assert np.array_equal(panel.earnings.to_numpy(), f["panel/earnings"][[0, 12, 13], :].ravel())
        gaps = pd.read_csv(os.path.join(out, "gaps.csv"), float_precision="round_trip")
        assert np.array_equal(gaps[["disability", "gender", "ethnicity"]].to_numpy(),
                              f["outcomes/employment_gaps"][...])
    md = pd.read_csv(os.path.join(out, "metadata.csv"), float_precision="round_trip").set_index("key").value
    assert md["seed"] == "20240101"


def test_describe(wales):
    out = cli("describe", wales)
    assert "wales_baseline" in out and "all" in out


# -- the report for decision-makers (issue 10, item 6) -------------------------

class Summary(HTMLParser):
    """The summary section: its text, sentences and number spans (data-*)."""

    def __init__(self):
        super().__init__()
        self.depth, self.text, self.sentences, self.spans = 0, "", [], []
        self._span = None
        self._sentence = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("id") == "summary":
            self.depth = 1
        elif self.depth:
            if tag == "section":
                self.depth += 1
            if tag == "span" and a.get("class") == "sentence":
                self._sentence = ""
            elif tag == "span" and "data-value" in a:
                self._span = dict(a, text="")

    def handle_data(self, data):
        if self.depth:
            self.text += data
            if self._sentence is not None:
                self._sentence += data
            if self._span is not None:
                self._span["text"] += data

    def handle_endtag(self, tag):
        if not self.depth or tag not in ("span", "section"):
            return
        if tag == "section":
            self.depth -= 1
        elif self._span is not None:
            self.spans.append(self._span)
            self._span = None
        elif self._sentence is not None:
            self.sentences.append(self._sentence)
            self._sentence = None


def summary_of(html_text):
    s = Summary()
    s.feed(html_text)
    return s


def fmt_pp(v):
    t = "%+.1f" % (100 * v)
    return t[1:] if t in ("+0.0", "-0.0") else t


def fmt_count(v, sign=False):
    t = format(v, "+,.0f" if sign else ",.0f")
    return t[1:] if t in ("+0", "-0") else t


def check_summary(summary, a, b):
    """Every interval number in the summary equals lmsim.compare's (headline and impacts)."""
    import lmsim
    c = lmsim.compare(a, b).set_index(["group", "measure"])
    imp = lmsim.compare(a, b, impacts=True).set_index(["group", "measure"])
    assert 3 <= len(summary.sentences) <= 5, summary.sentences
    seen = set()
    for sp in summary.spans:
        field, v = sp["data-field"], float(sp["data-value"])
        if field.startswith("employment_rate."):
            col = field.split(".")[1]
            want = c.loc[(sp["data-group"], "employment_rate"), col]
            assert v == want, (field, v, want)
            if col in ("a", "b"):
                assert sp["text"] == "%.1f" % (100 * want)
            else:
                assert sp["text"] == fmt_pp(want)
            seen.add(field)
        elif field.split(".")[0] in ("employment_months", "sustained_jobs", "benefit_months"):
            m, col = field.split(".")
            r = imp.loc[("all", m)]
            if col == "diff_abs":  # "1,597 more": the size, the signed value in data-diff
                assert float(sp["data-diff"]) == r["diff"] and v == abs(r["diff"])
                assert sp["text"] == fmt_count(v)
            else:
                assert v == r[col], (field, v, r[col])
                assert sp["text"] == fmt_count(v, sign=col == "diff")
            seen.add(field)
        elif field.startswith("programme_cost_gbp"):
            r = imp.loc[("all", "programme_cost_gbp")]
            col = field.split(".")[1]
            assert v == (abs(r["diff"]) if col == "diff_abs" else r[col])
            seen.add(field)
        elif field == "represents":
            assert v == lmsim.open(a).represents
    # the employment rate of everybody with both ends of its interval, and each impact
    assert {"employment_rate.a", "employment_rate.b", "employment_rate.diff",
            "employment_rate.ci_low", "employment_rate.ci_high"} <= seen
    for m in ("employment_months", "sustained_jobs", "benefit_months"):
        assert {m + ".ci_low", m + ".ci_high"} <= seen, m
    # "no clear difference" exactly when an interval includes 0
    r = c.loc[("all", "employment_rate")]
    first = summary.sentences[1]
    assert ("no clear difference (" in first.split(";")[0]) == (r.ci_low <= 0 <= r.ci_high)
    for m, words in (("employment_months", "employment months"),
                     ("sustained_jobs", "jobs sustained 6 months"),
                     ("benefit_months", "months on out-of-work benefits")):
        r = imp.loc[("all", m)]
        assert ("no clear difference in " + words in summary.text) == \
            (r.ci_low <= 0 <= r.ci_high), m
    return seen


def test_report_for_decision_makers(baseline36_panel, devolved_panel, tmp_path):
    out = str(tmp_path / "report")
    cli("report", baseline36_panel, devolved_panel, "-o", out)
    html = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    s = summary_of(html)
    check_summary(s, baseline36_panel, devolved_panel)
    # what, for whom, when: scenario descriptions, Wales, the period in words
    assert "Wales, devolved employment support from April 2026" in s.text
    assert "for Wales (1,947,716 people represented by 20,000 simulated persons)" in s.text
    assert "over the 36 months from January 2024 to January 2027" in s.text
    assert "the change starts in April 2026" in s.text
    # order: summary, warnings (none here), chart, tables, provenance last
    pos = [html.index('id="%s"' % k) for k in ("summary", "headline-chart", "headline-0",
                                              "compare-1", "impacts-1", "programmes-0",
                                              "provenance-table", "settings-diff")]
    assert pos == sorted(pos)
    # the scenario's appraisal (Green Book) after the impacts, before provenance
    assert html.index('id="impacts-1"') < html.index('id="appraisal-1"') < \
        html.index('id="provenance-table"')
    # the policy start: the timeline's April 2026 (month 27), marked on the chart
    assert 'data-policy-month="27" data-method="timeline"' in html
    # the timeline one change per line, in words
    assert "<li><code>from April 2026: programmes.ips.effects.fidelity = 1.0</code></li>" in html
    assert ("<li><code>April 2026 to March 2028, linearly: programmes.ips.capacity."
            "places_per_month to [150.0,200.0,350.0]</code></li>") in html
    # impacts table: every cell equals compare_impacts, readable group names
    import lmsim
    imp = lmsim.compare(baseline36_panel, devolved_panel, impacts=True).set_index(
        ["group", "measure"])
    page = _page(os.path.join(out, "index.html"))
    cells = [c for c in page.cells if c["table"].get("id") == "impacts-1"]
    assert len(cells) == 14 * 4
    for c in cells:
        r = imp.loc[(c["data-group"], c["data-field"])]
        assert float(c["data-value"]) == r["diff"]
        assert float(c["data-ci-low"]) == r.ci_low and float(c["data-ci-high"]) == r.ci_high
    for name in ("All people", "Disabled people", "Aged 16-24", "Region: North Wales"):
        assert "<td>%s</td>" % name in html
    assert "<td>age:16-24</td>" not in html and "<td>all</td>" not in html
    # units: differences in pp with one decimal, money in GBP with separators
    for c in page.cells:
        if c["table"].get("id") == "compare-1" and c["data-field"] != "mean_earnings":
            assert re.fullmatch(r"[+-]?\d+\.\d \[[+-]?\d+\.\d, [+-]?\d+\.\d\]", c["text"]), c
    cost = [c for c in page.cells if c["table"].get("id") == "impact-costs-1"
            and c["data-field"] == "programme_cost_gbp" and c.get("data-col") == "a"][0]
    assert cost["text"] == "{:,.0f}".format(imp.loc[("all", "programme_cost_gbp"), "a"])


def test_summary_wording(baseline36_panel, devolved_panel):
    """Sentences follow the numbers: clear differences, costs per additional job."""
    import lmsim
    from lmsim import present
    a, b = lmsim.open(baseline36_panel), lmsim.open(devolved_panel)
    c = lmsim.compare(a, b)
    imp = lmsim.compare(a, b, impacts=True)
    # a clear rise in employment and sustained jobs, a fall in benefit months
    c.loc[(c.group == "all") & (c.measure == "employment_rate"),
          ["diff", "ci_low", "ci_high"]] = [0.012, 0.008, 0.016]
    for m, v in (("employment_months", (36461.0, 737.0, 72185.0)),
                 ("sustained_jobs", (1597.0, 520.0, 2674.0)),
                 ("benefit_months", (-43629.0, -82194.0, -5063.0)),
                 ("cost_per_additional_sustained_job", (40282.0, 24059.0, 123678.0))):
        imp.loc[(imp.group == "all") & (imp.measure == m), ["diff", "ci_low", "ci_high"]] = v
    sents = present.summary_sentences([a, b], ["A", "B"], cmp=c, imp=imp,
                                      policy={"month": 27})
    text = re.sub("<[^>]+>", "", " ".join(sents))
    assert 3 <= len(sents) <= 5
    assert "a difference of +1.2 percentage points (95 % interval +0.8 to +1.6)" in text
    assert "1,597 more jobs sustained 6 months (95 % interval 520 to 2,674)" in text
    assert "43,629 fewer months on out-of-work benefits (95 % interval -82,194 to -5,063)" in text
    assert "36,461 more employment months" in text
    assert "GBP 40,282 per additional sustained job (95 % interval 24,059 to 123,678)" in text
    assert "no clear difference in employment months" not in text
    # without panels: said so, and the programme costs from the programme tables
    sents = present.summary_sentences([a, b], ["A", "B"], cmp=c, imp=None,
                                      impacts_note="no panels")
    text = re.sub("<[^>]+>", "", " ".join(sents))
    assert "are not shown: no panels." in text and "Programmes cost GBP" in text
    assert 3 <= len(sents) <= 5


def test_single_run_summary(wales, tmp_path):
    out = str(tmp_path / "one")
    cli("report", wales, "-o", out)
    html = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    s = summary_of(html)
    assert 3 <= len(s.sentences) <= 5
    assert "over the 24 months from January 2024 to January 2026" in s.text
    with h5py.File(wales, "r") as f:
        h = f["outcomes/headline"][0]
        prog = f["outcomes/programmes"][...]
    vals = {sp["data-field"]: float(sp["data-value"]) for sp in s.spans
            if "data-programme" not in sp}
    assert vals["employment_rate_start"] == float(h["employment_rate_start"])
    assert vals["employment_rate_end"] == float(h["employment_rate_end"])
    refs = [sp for sp in s.spans if sp["data-field"] == "referrals"]
    assert len(refs) == len(prog)
    for sp in refs:
        row = prog[prog["programme"] == sp["data-programme"].encode()][0]
        assert float(sp["data-value"]) == float(row["referrals"])
    assert "Work First" in s.text and "IPS" in s.text
    assert 'id="headline-chart"' in html and "data-policy-month" not in html


def test_appraisal_table(baseline36_panel, devolved_panel, tmp_path, monkeypatch):
    """The appraisal_* rows of compare_impacts (Green Book, item 4) get their own table, every
    cell the table's number; without them, no section and no error."""
    import lmsim
    import lmsim.report as R
    path = R.build([baseline36_panel, devolved_panel], str(tmp_path / "ap"))
    html = open(path, encoding="utf-8").read()
    assert '<h2 id="appraisal">Appraisal (HM Treasury Green Book)</h2>' in html
    imp = lmsim.compare(baseline36_panel, devolved_panel, impacts=True)
    want = imp[imp.measure.str.startswith("appraisal_")].set_index(["group", "measure"])
    cells = [c for c in _page(path).cells if c["table"].get("id") == "appraisal-1"]
    assert cells
    seen = set()
    for c in cells:
        key = (c["data-group"], c["data-field"])
        v = float(want.loc[key, c.get("data-col", "diff")])
        assert float(c["data-value"]) == v or (v != v and c["data-value"] == "nan"), key
        seen.add(key[1])
    assert {"appraisal_npv_society_gbp", "appraisal_bcr_society",
            "appraisal_exchequer_net_cost_gbp"} <= seen
    assert "Net present value to society" in html and "Exchequer net cost" in html
    s = summary_of(html)
    assert any(sp["data-field"] == "appraisal_npv_society_gbp" for sp in s.spans)

    real = R.compare

    def without_appraisal(a, b=None, c=None, impacts=False, **kw):
        df = real(a, b, c, impacts=impacts, **kw)
        return df[~df.measure.str.startswith("appraisal_")] if impacts else df

    monkeypatch.setattr(R, "compare", without_appraisal)
    html = open(R.build([baseline36_panel, devolved_panel], str(tmp_path / "noap")),
                encoding="utf-8").read()
    assert 'id="appraisal' not in html


def test_report_pdf_needs_chromium(wales, tmp_path):
    """--pdf without Chromium: exit 1, an error naming the program, nothing written."""
    out = str(tmp_path / "nopdf")
    env = dict(os.environ, PYTHONPATH=ANALYSIS, PYTHONDONTWRITEBYTECODE="1",
               PATH=str(tmp_path / "empty"))
    env.pop("LMSIM_CHROMIUM", None)
    p = subprocess.run([sys.executable, "-m", "lmsim", "report", wales, "-o", out, "--pdf"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1
    assert "neither 'chromium' nor 'chromium-browser' is on PATH" in p.stderr
    assert not os.path.exists(out)
    env["LMSIM_CHROMIUM"] = str(tmp_path / "no-such-chromium")
    p = subprocess.run([sys.executable, "-m", "lmsim", "report", wales, "-o", out, "--pdf"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1 and "no-such-chromium is not an executable program" in p.stderr


def test_summary_of_identical_runs(wales, tmp_path):
    """A run against itself: the summary says so, and every difference is 'no clear'."""
    out = str(tmp_path / "same")
    cli("report", wales, wales, "-o", out)
    html = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    s = summary_of(html)
    assert 3 <= len(s.sentences) <= 5
    assert "Note: The two runs are identical: every difference is zero." in s.text
    assert "no clear difference (0.0 percentage points" in s.text
    assert "Programme costs are the same in both runs" in s.text
    assert html.index('id="summary"') < html.index('id="warnings"') < \
        html.index('id="headline-chart"')
    assert "data-policy-month" not in html  # nothing differs: no line


# -- templates (issue 11, item 5) ----------------------------------------------

def test_report_without_jinja2(wales, tmp_path):
    """An interpreter without Jinja2: the report command says which package to install
    (exit 1, one line, nothing written); importing lmsim.report raises ImportError."""
    out = str(tmp_path / "nojinja")
    code = ("import sys; sys.modules['jinja2'] = None; from lmsim.__main__ import main; "
            "sys.exit(main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=ANALYSIS, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, "-c", code, "report", wales, "-o", out],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1, p.stderr
    assert "lmsim report needs Jinja2" in p.stderr and "python3-jinja2" in p.stderr
    assert sys.executable in p.stderr and "Traceback" not in p.stderr
    assert not os.path.exists(out)
    code = ("import sys; sys.modules['jinja2'] = None\n"
            "try:\n    import lmsim.report\nexcept ImportError as e:\n    print(e)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0 and "python3-jinja2" in p.stdout, p.stdout + p.stderr


def test_report_own_templates(wales, tmp_path):
    """build(..., templates=DIR): a file in DIR replaces the package's (here the stylesheet);
    the others still come from lmsim/templates/."""
    import lmsim.report as R
    own = tmp_path / "own"
    own.mkdir()
    with open(os.path.join(ANALYSIS, "lmsim", "templates", "report.css"), encoding="utf-8") as fh:
        css = fh.read()
    (own / "report.css").write_text(css + "h1{color:#8b0000}\n", encoding="utf-8")
    html = open(R.build([wales], str(tmp_path / "styled"), templates=str(own)),
                encoding="utf-8").read()
    assert "h1{color:#8b0000}" in html and 'id="headline-0"' in html
    html = open(R.build([wales], str(tmp_path / "plain")), encoding="utf-8").read()
    assert "h1{color:#8b0000}" not in html
    assert "{#" not in html and "{%" not in html and "{{" not in html


@pytest.mark.skipif(not os.environ.get("LM_BUILD_DIR"), reason="LM_BUILD_DIR not set (ctest)")
def test_installed_templates(wales, tmp_path):
    """cmake --install carries the templates with the package: the installed launcher
    writes the report from another directory, without PYTHONPATH."""
    prefix = tmp_path / "prefix"
    p = subprocess.run(["cmake", "--install", os.environ["LM_BUILD_DIR"], "--prefix",
                        str(prefix)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    pkg = list(prefix.glob("lib/python3*/dist-packages/lmsim"))
    assert len(pkg) == 1
    for name in ("report.html.j2", "cells.html.j2", "summary.html.j2", "report.css"):
        assert (pkg[0] / "templates" / name).is_file(), name
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = str(tmp_path / "installed")
    p = subprocess.run([str(prefix / "bin" / "lmsim-analysis"), "report", wales, "-o", out],
                       capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    html = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    assert 'id="summary"' in html and 'id="provenance-table"' in html
