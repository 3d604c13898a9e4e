"""Every evidence id cited by a scenario or targets file resolves in
scenarios/evidence.csv, and nothing in the repository points outside it.

Scenario comments cite published figures by id ("A01", "C11D", "BD"); the
rows with their sources live in scenarios/evidence.csv so that a citation
resolves without anything outside the repository.
"""
import csv
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite  # noqa: E402

s = Suite("evidence")
src = s.source
path = os.path.join(src, "scenarios", "evidence.csv")
with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
ids = {r["id"] for r in rows}
s.check("evidence.csv has rows with id and source_url",
        len(rows) > 100 and all(r["source_url"].startswith(("http", "derived:")) for r in rows),
        "%d rows" % len(rows))

# An id is a capital letter, two digits and an optional D, or the derived
# flow rows "BD"; S-rows have two digits too.
ID = re.compile(r"\b([A-Z][0-9]{2}D?|BD)\b")
cited = {}
for root, _, files in os.walk(os.path.join(src, "scenarios")):
    for name in files:
        if not name.endswith(".cfg"):
            continue
        p = os.path.join(root, name)
        with open(p, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                # Ids are cited in comments and in targets' `evidence = "..."`.
                text = line.split("#", 1)[1] if "#" in line else ""
                m = re.search(r'evidence\s*=\s*"([^"]*)"', line)
                if m:
                    text += " " + m.group(1)
                for cid in ID.findall(text):
                    cited.setdefault(cid, "%s:%d" % (os.path.relpath(p, src), lineno))
missing = {k: v for k, v in cited.items() if k not in ids}
s.check("scenario files cite evidence ids", len(cited) >= 20, "%d ids" % len(cited))
s.check("every cited evidence id is in scenarios/evidence.csv", not missing,
        ", ".join("%s (%s)" % kv for kv in sorted(missing.items())))

# Nothing tracked may depend on files beside the project.
try:
    tracked = subprocess.run(["git", "-C", src, "ls-files"], capture_output=True, text=True,
                             check=True).stdout.split()
except (OSError, subprocess.CalledProcessError):
    tracked = []
bad = []
for rel in tracked:
    if rel.endswith((".png", ".csv")) or rel == "tests/e2e/test_evidence.py":
        continue
    try:
        with open(os.path.join(src, rel), encoding="utf-8") as f:
            if "../shared" in f.read():
                bad.append(rel)
    except (OSError, UnicodeDecodeError):
        pass
s.check("no tracked file refers to ../shared", not bad, ", ".join(bad))
s.finish()
