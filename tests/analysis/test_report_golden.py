"""The report's HTML against golden files recorded from the string-built
report (before the page came from Jinja2 templates, issue 11 item 5): the
templates must give the same page.

Cases (the conftest fixtures): a pair with panels (baseline36_panel,
devolved_panel: summary, impacts, appraisal, timeline), a mixed set
(baseline36, devolved, trial, wales, baseline36 again: runs without panels,
a trial, a refused comparison, an identical pair, repeated labels), a
single run (wales), a trial alone (trial) and a sweep alone (smoke_sweep).

Normalisation (``normalise``), applied to the golden page when it was
recorded and to the page built now:

1. What differs between two builds of the same runs is masked: base64 PNG
   payloads (``data:image/png;base64,PNG``; the alt text stays), the
   "Generated ... UTC" time, ISO timestamps (the files' ``created_at``),
   64-hex sha256 digests (a file's digest covers its ``created_at``) and
   the directory holding the test runs (``RUNS/``).
2. The page is parsed (html.parser, character references decoded) and
   written back one token per line: start tags with their attributes in
   the order written, values re-escaped one way (so ``&quot;`` and Jinja's
   ``&#34;`` are the same), text re-escaped the same way, end tags.
3. Whitespace, as a browser lays it out: outside ``<pre>`` every run of
   whitespace in text is one space, and whitespace next to a block-level
   tag (table, tr, td, th, p, h1-h3, ul, li, section, ...) is dropped;
   inside ``<pre>`` text is kept exactly.

Everything else (tags, attribute names, order and values, every
``data-*``, every id, every character of text) must be equal.

Re-recording: LMSIM_RECORD_GOLDEN=1 writes the golden files instead of
comparing. Do it only when the engine's output or the report's content
changes on purpose, and review the diff of tests/analysis/data/report_golden/.
"""
import difflib
import html
import os
import re
import sys
from html.parser import HTMLParser

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ANALYSIS = os.path.abspath(os.path.join(HERE, "..", "..", "analysis"))
GOLDEN = os.path.join(HERE, "data", "report_golden")
sys.path.insert(0, ANALYSIS)

BLOCK = {"html", "head", "body", "meta", "title", "style", "h1", "h2", "h3", "p", "section",
         "table", "caption", "tr", "td", "th", "ul", "li", "pre", "details", "summary", "img",
         "div", "figure"}


class _Tokens(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []  # (kind, value): kind in "start", "end", "text", "pre", "decl"
        self.pre = 0

    def handle_decl(self, decl):
        self.out.append(("decl", "<!%s>" % decl))

    def handle_starttag(self, tag, attrs):
        a = "".join(' %s="%s"' % (k, html.escape(v if v is not None else "", quote=True))
                    for k, v in attrs)
        self.out.append(("start", tag, "<%s%s>" % (tag, a)))
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "pre":
            self.pre -= 1
        self.out.append(("end", tag, "</%s>" % tag))

    def handle_data(self, data):
        if self.pre:
            self.out.append(("pre", None, html.escape(data, quote=False)))
        else:
            self.out.append(("text", None, re.sub(r"\s+", " ", data)))


def _mask(text, run_dirs):
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,PNG", text)
    text = re.sub(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "Generated TIME", text)
    text = re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?", "TIME", text)
    text = re.sub(r"\b[0-9a-f]{64}\b", "SHA256", text)
    for d in sorted(run_dirs, key=len, reverse=True):
        text = text.replace(d.rstrip("/") + "/", "RUNS/")
    return text


def normalise(page, run_dirs=()):
    """The page as compared with the golden file (see the module's notes)."""
    p = _Tokens()
    p.feed(_mask(page, run_dirs))
    p.close()
    toks = p.out
    # merge adjacent text tokens (the parser may split text at entities)
    merged = []
    for t in toks:
        if merged and t[0] == merged[-1][0] and t[0] in ("text", "pre"):
            merged[-1] = (t[0], None, merged[-1][2] + t[2])
        else:
            merged.append(t)
    lines = []
    for i, t in enumerate(merged):
        if t[0] == "text":
            s = t[2]
            prev = merged[i - 1] if i else None
            nxt = merged[i + 1] if i + 1 < len(merged) else None
            if prev is None or (prev[0] in ("start", "end", "decl") and
                                (prev[0] == "decl" or prev[1] in BLOCK)):
                s = s.lstrip(" ")
            if nxt is None or (nxt[0] in ("start", "end") and nxt[1] in BLOCK):
                s = s.rstrip(" ")
            if not s:
                continue
            lines.append("T " + html.escape(s, quote=False))
        elif t[0] == "pre":
            lines.append("P " + t[2].replace("\\", "\\\\").replace("\n", "\\n"))
        else:
            lines.append(t[2] if t[0] != "decl" else t[1])
    return "\n".join(lines) + "\n"


CASES = {
    "pair": ["baseline36_panel", "devolved_panel"],
    "mixed": ["baseline36", "devolved", "trial", "wales", "baseline36"],
    "single": ["wales"],
    "trial": ["trial"],
    "sweep": ["smoke_sweep"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_report_equals_golden(case, request, tmp_path):
    import lmsim.report as R
    paths = [request.getfixturevalue(f) for f in CASES[case]]
    run_dirs = {os.path.dirname(p) for p in paths}
    run_dirs |= {os.path.dirname(d) for d in run_dirs}  # a sweep's folder lives in the run dir
    page = R.build(paths, str(tmp_path / case))
    with open(page, encoding="utf-8") as fh:
        got = normalise(fh.read(), run_dirs)
    path = os.path.join(GOLDEN, case + ".txt")
    if os.environ.get("LMSIM_RECORD_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(got)
        return
    with open(path, encoding="utf-8") as fh:
        want = fh.read()
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            "golden/" + case, "now/" + case, n=2))
        pytest.fail("report %s differs from %s:\n%s" % (case, path, diff[:6000]))


def test_normalise_ignores_escaping_and_layout():
    """The normalisation equates the two escapings and block-level layout, not content."""
    a = ('<table id="t"><tr><td data-x="a&quot;b">x &amp; y</td></tr></table>'
         '<p>one <span>two</span> three</p><pre>  a\n "b"</pre>')
    b = ('<table id="t">\n  <tr>\n    <td data-x="a&#34;b">\n      x &amp;   y\n    </td>\n'
         '  </tr>\n</table>\n<p>one <span>two</span> three</p>\n<pre>  a\n &#34;b&#34;</pre>')
    assert normalise(a) == normalise(b)
    assert normalise(a) != normalise(a.replace("<span>two</span> three", "<span>two</span>three"))
    assert normalise(a) != normalise(a.replace("  a\n", " a\n"))
    assert normalise(a) != normalise(a.replace('id="t"', 'id="u"'))
