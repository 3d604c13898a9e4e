"""The report in headless Chromium (Debian package chromium): every figure
loads and the headline numbers rendered on the page equal those in the files;
the summary as rendered equals lmsim.compare, and the report prints to PDF.
A screenshot is kept in $LM_ARTIFACT_DIR (CTest: build/tests/analysis/artifacts/).
Skipped when chromium is not installed.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import h5py
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ANALYSIS = os.path.abspath(os.path.join(HERE, "..", "..", "analysis"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

CHECK_JS = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var cells = Array.from(document.querySelectorAll('table.headline td[data-field]')).map(
    function (td) { return [td.closest('table').id, td.dataset.group, td.dataset.field,
                            td.innerText.trim()]; });
  var pre = document.createElement('pre'); pre.id = 'lmsim-check';
  pre.textContent = JSON.stringify({images: imgs.length, loaded: ok, cells: cells});
  document.body.appendChild(pre);
});
</script>
"""


def chromium(args, tmp, timeout=90):
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--user-data-dir=" + os.path.join(tmp, "profile")]
    last = None
    for _ in range(2):  # one retry: a cold start in a loaded CI container can be slow
        try:
            p = subprocess.run(base + args, capture_output=True, text=True, timeout=timeout)
            if p.returncode == 0:
                return p.stdout
            last = p.stderr[-2000:]
        except subprocess.TimeoutExpired:
            last = "timeout after %ss" % timeout
    pytest.fail("chromium failed: %s" % last)


def test_report_in_chromium(wales, trial, tmp_path):
    out = str(tmp_path / "report")
    env = dict(os.environ, PYTHONPATH=ANALYSIS, PYTHONDONTWRITEBYTECODE="1")
    subprocess.run([sys.executable, "-m", "lmsim", "report", wales, trial, "-o", out],
                   check=True, env=env, capture_output=True, timeout=120)
    page = os.path.join(out, "index.html")
    check = os.path.join(out, "check.html")
    with open(page, encoding="utf-8") as fh:
        html = fh.read()
    with open(check, "w", encoding="utf-8") as fh:
        fh.write(html.replace("</body>", CHECK_JS + "</body>"))
    dom = chromium(["--virtual-time-budget=10000", "--dump-dom", "file://" + check], str(tmp_path))
    m = re.search(r'<pre id="lmsim-check">(.*?)</pre>', dom, re.S)
    assert m, "the check script did not run"
    txt = m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&amp;", "&")
    res = json.loads(txt)
    assert res["images"] >= 5 and res["loaded"] == res["images"], res["loaded"]
    seen = 0
    for k, run in enumerate([wales, trial]):
        with h5py.File(run, "r") as f:
            raw = f["outcomes/headline"][...]
            scale = float(f.attrs["represents"]) / float(f.attrs["n_persons"])
        groups = [g.decode() for g in raw["group"]]
        for table, group, field, text in res["cells"]:
            if table != "headline-%d" % k:
                continue
            v = raw[groups.index(group)][field]
            if field.startswith("persons"):
                # the population represented, the simulated persons beside
                want = "{:,.0f} (sim. {:,})".format(float(v) * scale, int(v))
            elif field.startswith("mean_earnings"):
                want = "{:,.0f}".format(float(v))
            else:
                want = "%.1f" % (100 * float(v))
            assert text == want, (run, group, field, text, want)
            seen += 1
        assert seen >= len(raw) * 12
        seen = 0
    art = os.environ.get("LM_ARTIFACT_DIR") or str(tmp_path)
    os.makedirs(art, exist_ok=True)
    shot = os.path.join(art, "report_screenshot.png")
    chromium(["--hide-scrollbars", "--window-size=1280,3000", "--screenshot=" + shot,
              "file://" + page], str(tmp_path))
    assert os.path.getsize(shot) > 10000


def test_summary_in_chromium_and_pdf(baseline36_panel, devolved_panel, tmp_path):
    """The summary as Chromium renders it: sentences and interval numbers equal
    lmsim.compare's; a screenshot that is not blank; the report printed to PDF
    (python3 -m lmsim report --pdf, Chromium's print-to-PDF)."""
    sys.path.insert(0, HERE)
    sys.path.insert(0, ANALYSIS)
    from test_report import check_summary, summary_of
    out = str(tmp_path / "report")
    env = dict(os.environ, PYTHONPATH=ANALYSIS, PYTHONDONTWRITEBYTECODE="1")
    env.pop("LMSIM_CHROMIUM", None)
    p = subprocess.run([sys.executable, "-m", "lmsim", "report", baseline36_panel,
                        devolved_panel, "-o", out, "--pdf"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    page = os.path.join(out, "index.html")
    # the DOM after Chromium has laid the page out: the summary's text as shown
    dom = chromium(["--virtual-time-budget=5000", "--dump-dom", "file://" + page], str(tmp_path))
    s = summary_of(dom)
    seen = check_summary(s, baseline36_panel, devolved_panel)
    assert "employment_rate.ci_low" in seen
    text = " ".join(s.text.split())
    assert text.replace("Summary", "", 1).lstrip().startswith("This report compares")
    assert "from January 2024 to January 2027" in text and "95 % interval" in text
    assert dom.index('id="summary"') < dom.index('id="headline-chart"') < \
        dom.index('id="provenance"')
    # screenshot of the top of the page: summary and chart, not blank
    art = os.environ.get("LM_ARTIFACT_DIR") or str(tmp_path)
    os.makedirs(art, exist_ok=True)
    shot = os.path.join(art, "report_summary.png")
    chromium(["--hide-scrollbars", "--window-size=1280,1400", "--screenshot=" + shot,
              "file://" + page], str(tmp_path))
    import matplotlib.image
    px = matplotlib.image.imread(shot)
    assert px.shape[0] == 1400 and px.shape[1] == 1280
    assert px[:, :, :3].std() > 0.05  # text and a chart, not an empty page
    # the PDF
    pdf = os.path.join(out, "report.pdf")
    with open(pdf, "rb") as fh:
        data = fh.read()
    assert data[:5] == b"%PDF-"
    assert len(data) > 100000  # text and figures, not an empty page
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2
    shutil.copy(pdf, os.path.join(art, "report.pdf"))
