"""python3 -m lmsim report / export: the numbers on the page and in the CSVs equal the files'."""
import base64
import hashlib
import os
import html as html_mod
import subprocess
import sys
from html.parser import HTMLParser

import h5py
import numpy as np
import pandas as pd

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
