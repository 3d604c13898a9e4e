"""End-to-end: the HDF5 run file has the documented layout (include/lmsim/output.h).

Runs the tiny scenario and checks root attributes, the enum type of
/panel/state, panel shapes and dimension scales, aggregates vs panel,
/outcomes/headline vs panel (its strings variable-length UTF-8, checked by
strings_crc32), h5dump, --panel none / sample, CF metadata
(dimension scales, units, time coordinate), `lmsim describe`,
--version and --help.
"""
import hashlib
import math
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, show, tmp_files  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

S = Suite("h5_layout")
PERSONS, MONTHS = 20000, 24
STATES = ["inactive_sick", "inactive_caring", "inactive_student", "inactive_other",
          "unemployed", "employed_poor", "employed_good"]
EMPLOYED = [STATES.index("employed_poor"), STATES.index("employed_good")]
ROOT_ATTRS = ["lmsim_version", "scenario_name", "scenario_text", "scenario_sha256", "seed", "seed_str",
              "n_persons", "n_months", "start_month", "created_at", "panel_mode"]
PANEL_VARS = ["state", "months_in_state", "months_since_job", "sustained_months", "person_id"]
PERSON_COLS = ["id", "slot", "entry_month", "birth_month", "region", "female", "disabled",
               "minority", "qual", "caring"]


def sval(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def run(tag, extra=()):
    out = S.path(tag + ".h5")
    p = S.run(["run", S.tiny, "-o", out, "--persons", str(PERSONS), "--months", str(MONTHS),
               "--threads", "2"] + list(extra))
    ok = S.check("run %s: exit 0, file exists, no .tmp" % tag,
                 p.returncode == 0 and os.path.exists(out) and not tmp_files(out),
                 show(p))
    return (out if ok else None), p


def check_persons_consistent(label, f):
    """Every person id in the panel has exactly one /persons row, and vice versa."""
    if "persons" not in f or "panel" not in f:
        S.check("%s: /persons and /panel exist" % label, False)
        return
    missing = [c for c in PERSON_COLS if c not in f["persons"]]
    S.check("%s: /persons has columns %s" % (label, PERSON_COLS), not missing, "missing %s" % missing)
    if missing:
        return
    n = f["persons/id"].shape[0]
    lens = {c: f["persons"][c].shape for c in PERSON_COLS}
    S.check("%s: /persons columns all 1-D of length %d" % (label, n),
            all(s == (n,) for s in lens.values()), str(lens))
    ids = f["persons/id"][()]
    S.check("%s: /persons ids unique" % label, len(np.unique(ids)) == n)
    pid = f["panel/person_id"][()]
    in_panel = np.unique(pid[pid >= 0])
    S.check("%s: /persons ids == person ids seen in panel (%d vs %d)" % (label, n, len(in_panel)),
            np.array_equal(np.sort(ids), in_panel))
    # Each person's row points at the panel column (slot) holding them in their entry month.
    slots = f["panel/person"][()]
    col_of = {int(s): i for i, s in enumerate(slots)}
    slot = f["persons/slot"][()]
    entry = f["persons/entry_month"][()]
    bad = 0
    for k in range(n):
        c = col_of.get(int(slot[k]))
        m = int(entry[k])
        if c is None or not (0 <= m <= MONTHS) or pid[m, c] != ids[k]:
            bad += 1
    S.check("%s: panel/person_id[entry_month, slot] == id for every /persons row" % label,
            bad == 0, "%d of %d rows inconsistent" % (bad, n))
    r = f["persons/region"][()]
    S.check("%s: /persons region codes in [0, 3)" % label, r.min() >= 0 and r.max() < 3)


# --------------------------------------------------------------------------
full, p = run("full")
if full:
    S.check("run full: stdout has headline 'all' row and output path",
            re.search(r"^all\s", p.stdout, re.M) is not None and full in p.stdout, show(p))
    with h5py.File(full, "r") as f:
        # Root attributes.
        missing = [a for a in ROOT_ATTRS if a not in f.attrs]
        S.check("root attributes present", not missing, "missing %s" % missing)
        if not missing:
            S.check("attr scenario_name == e2e_tiny", sval(f.attrs["scenario_name"]) == "e2e_tiny")
            S.check("attr n_persons == %d" % PERSONS, int(f.attrs["n_persons"]) == PERSONS)
            S.check("attr n_months == %d" % MONTHS, int(f.attrs["n_months"]) == MONTHS)
            S.check("attr start_month == 2024-01", sval(f.attrs["start_month"]) == "2024-01")
            S.check("attr seed is uint64 12345",
                    np.asarray(f.attrs["seed"]).dtype == np.uint64 and int(f.attrs["seed"]) == 12345,
                    "dtype %s" % np.asarray(f.attrs["seed"]).dtype)
            S.check("attr seed_str == '12345'", sval(f.attrs["seed_str"]) == "12345")
            S.check("attr scenario_sha256 is the SHA-256 of scenario_text",
                    sval(f.attrs["scenario_sha256"]) ==
                    hashlib.sha256(sval(f.attrs["scenario_text"]).encode()).hexdigest())
            S.check("attr panel_mode == full", sval(f.attrs["panel_mode"]) == "full")
            S.check("attr created_at is ISO 8601",
                    re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", sval(f.attrs["created_at"])) is not None,
                    sval(f.attrs["created_at"]))
            text = sval(f.attrs["scenario_text"])
            S.check("attr scenario_text holds the scenario after overrides",
                    'name = "e2e_tiny"' in text and "persons = %d" % PERSONS in text
                    and "months = %d" % MONTHS in text)
            vp = subprocess.run([S.binary, "--version"], capture_output=True, text=True)
            S.check("attr lmsim_version matches --version",
                    sval(f.attrs["lmsim_version"]) in vp.stdout, vp.stdout)

        # /panel/state: enum with the 7 state names in order.
        st = f["panel/state"]
        enum = h5py.check_enum_dtype(st.dtype)
        S.check("/panel/state is an enum", enum is not None, str(st.dtype))
        if enum is not None:
            names = [k for k, _ in sorted(enum.items(), key=lambda kv: kv[1])]
            S.check("/panel/state enum names = 7 states in order", names == STATES, str(enum))
            S.check("/panel/state enum values 0..6", sorted(enum.values()) == list(range(7)))

        # Panel shapes and dimension scales.
        for v in PANEL_VARS:
            ok = v in f["panel"] and f["panel"][v].shape == (MONTHS + 1, PERSONS)
            S.check("/panel/%s shape (%d, %d)" % (v, MONTHS + 1, PERSONS), ok,
                    str(f["panel"][v].shape) if v in f["panel"] else "missing")
            if v in f["panel"]:
                d = f["panel"][v]
                S.check("/panel/%s dims[0] label 'month' with a scale" % v,
                        d.dims[0].label == "month" and len(d.dims[0]) >= 1,
                        "label %r, %d scales" % (d.dims[0].label, len(d.dims[0])))
                S.check("/panel/%s dims[1] label 'person' with a scale" % v,
                        d.dims[1].label == "person" and len(d.dims[1]) >= 1,
                        "label %r, %d scales" % (d.dims[1].label, len(d.dims[1])))
                S.check("/panel/%s chunked and compressed" % v,
                        d.chunks is not None and d.chunks[0] == 1 and d.compression == "gzip",
                        "chunks %s compression %s" % (d.chunks, d.compression))
        d = st
        if len(d.dims[0]) >= 1:
            scale = d.dims[0][0]
            S.check("month scale is /panel/month = 0..%d" % MONTHS,
                    np.array_equal(scale[()], np.arange(MONTHS + 1)), str(scale[()][:5]))
            S.check("month scale is a dimension scale",
                    h5py.h5ds.is_scale(scale.id))
        if len(d.dims[1]) >= 1:
            S.check("person scale has %d entries" % PERSONS, d.dims[1][0].shape == (PERSONS,))
        state = st[()]
        pid = f["panel/person_id"][()]
        S.check("panel/state values in 0..6", state.min() >= 0 and state.max() <= 6)
        S.check("panel/person_id all assigned (>= 0) in a full panel", pid.min() >= 0)

        # Aggregates: every month sums to the population; per state equals the panel.
        cnt = f["aggregates/counts"][()]
        S.check("aggregates/counts is 7-D [month][state][region][sex][dis][min][age]",
                cnt.ndim == 7 and cnt.shape[:3] == (MONTHS + 1, 7, 3) and cnt.shape[3:] == (2, 2, 2, 4),
                str(cnt.shape))
        per_month = cnt.reshape(cnt.shape[0], -1).sum(axis=1)
        S.check("aggregates/counts sums to n_persons in every month",
                np.all(per_month == PERSONS), str(per_month[:5]))
        by_state = cnt.reshape(cnt.shape[0], 7, -1).sum(axis=2)
        from_panel = np.stack([np.bincount(state[m], minlength=7) for m in range(MONTHS + 1)])
        S.check("aggregates by state == panel/state counts in every month",
                np.array_equal(by_state, from_panel))
        if "state_names" in f["aggregates/counts"].attrs:
            S.check("aggregates state_names attr lists the states",
                    [sval(x) for x in f["aggregates/counts"].attrs["state_names"]] == STATES)

        # Headline: structured array with an 'all' row matching the panel.
        hl = f["outcomes/headline"][()]
        S.check("/outcomes/headline is a structured array",
                hl.dtype.names is not None and "group" in hl.dtype.names, str(hl.dtype))
        if hl.dtype.names and "group" in hl.dtype.names:
            groups = [sval(g) for g in hl["group"]]
            S.check("headline has rows all, disabled, not_disabled, region:*",
                    {"all", "disabled", "not_disabled", "region:North", "region:Middle",
                     "region:South"} <= set(groups), str(groups))
            if "all" in groups:
                row = hl[groups.index("all")]
                last = np.isin(state[MONTHS], EMPLOYED).mean()
                first = np.isin(state[0], EMPLOYED).mean()
                S.check("headline all employment_rate_end == panel last month (%.6f)" % last,
                        abs(float(row["employment_rate_end"]) - last) < 1e-12,
                        "headline %r" % row["employment_rate_end"])
                S.check("headline all employment_rate_start == panel month 0 (%.6f)" % first,
                        abs(float(row["employment_rate_start"]) - first) < 1e-12,
                        "headline %r" % row["employment_rate_start"])
                S.check("headline all persons_start/end == n_persons",
                        int(row["persons_start"]) == PERSONS and int(row["persons_end"]) == PERSONS)
                unemp = (state[MONTHS] == STATES.index("unemployed")).sum()
                ilo = unemp / (unemp + np.isin(state[MONTHS], EMPLOYED).sum())
                S.check("headline all unemployment_rate_end (ILO) == panel",
                        abs(float(row["unemployment_rate_end"]) - ilo) < 1e-12)
        check_persons_consistent("full", f)

    # h5dump -H shows the enum names.
    h5dump = shutil.which("h5dump")
    S.check("h5dump is installed (hdf5-tools)", h5dump is not None)
    if h5dump:
        q = subprocess.run([h5dump, "-H", full], capture_output=True, text=True)
        S.check("h5dump -H exit 0", q.returncode == 0, q.stderr[:300])
        S.check("h5dump -H shows H5T_ENUM with all state names",
                "H5T_ENUM" in q.stdout and all('"%s"' % s in q.stdout for s in STATES))

    # lmsim describe.
    q = S.run(["describe", full])
    S.check("describe: exit 0", q.returncode == 0, show(q))
    S.check("describe: names scenario e2e_tiny and seed", "e2e_tiny" in q.stdout
            and "12345" in q.stdout, show(q))
    m = re.search(r"^all\s+([\d.]+)\s+([\d.]+)", q.stdout, re.M)
    S.check("describe: headline row 'all'", m is not None, show(q))
    if m:
        with h5py.File(full, "r") as f:
            hl = f["outcomes/headline"][()]
            groups = [sval(g) for g in hl["group"]]
            want = 100.0 * float(hl[groups.index("all")]["employment_rate_end"])
        S.check("describe: 'all' employment end %.1f matches file" % want,
                abs(float(m.group(2)) - want) <= 0.05 + 1e-9, m.group(0))
    S.check("describe: shows region rows", "region:North" in q.stdout, show(q))

# --------------------------------------------------------------------------
# describe on files that are not lmsim run files.
notes = S.path("notes.txt")
with open(notes, "w") as f:
    f.write("not an HDF5 file\n")
q = S.run(["describe", notes])
S.check("describe text file: exit non-zero", q.returncode != 0, show(q))
S.check("describe text file: clear message naming the file",
        notes in q.stderr and "HDF5" in q.stderr and q.stderr.startswith("lmsim: error:")
        and "HDF5-DIAG" not in q.stderr and q.stderr.count("\n") <= 2, show(q))
foreign = S.path("foreign.h5")
with h5py.File(foreign, "w") as f:
    f["x"] = np.arange(3)
q = S.run(["describe", foreign])
S.check("describe foreign HDF5 file: exit non-zero", q.returncode != 0, show(q))
S.check("describe foreign HDF5 file: clear message, no HDF5 error stack",
        foreign in q.stderr and q.stderr.startswith("lmsim: error:")
        and "HDF5-DIAG" not in q.stderr and q.stderr.count("\n") <= 2, show(q))
q = S.run(["describe", S.path("absent.h5")])
S.check("describe missing file: exit 4 naming it", q.returncode == 4
        and S.path("absent.h5") in q.stderr, show(q))

# --------------------------------------------------------------------------
# Table strings are variable-length UTF-8, in HDF5's global heap (not
# checksummed), covered by the table's strings_crc32: a changed string there
# is damage (exit 4), not a garbled group name.
if full:
    with h5py.File(full, "r") as f:
        hd = f["outcomes/headline"]
        info = h5py.check_string_dtype(hd.dtype["group"])
        S.check("headline group: variable-length UTF-8",
                info is not None and info.length is None and info.encoding == "utf-8",
                str(hd.dtype))
        S.check("headline has strings_crc32", "strings_crc32" in hd.attrs)
    data = open(full, "rb").read()
    at = [m.start() for m in re.finditer(re.escape(b"region:North"), data)]
    S.check("the headline string region:North is in the file once", len(at) == 1, str(at))
    bad = S.path("bad_group.h5")
    b = bytearray(data)
    for k in at:
        b[k + 7] ^= 0x20  # region:north
    with open(bad, "wb") as fh:
        fh.write(b)
    q = S.run(["describe", bad])
    S.check("a changed headline string: exit 4, the table named as damaged",
            q.returncode == 4 and "is damaged: /outcomes/headline does not match" in q.stderr,
            show(q))

# --------------------------------------------------------------------------
# --panel none: no /panel group, no /persons rows needed, aggregates still there.
none, p = run("none", ["--panel", "none"])
if none:
    with h5py.File(none, "r") as f:
        S.check("--panel none: no /panel group", "panel" not in f, str(list(f)))
        S.check("--panel none: panel_mode attr 'none'", sval(f.attrs.get("panel_mode", "")) == "none")
        S.check("--panel none: aggregates and headline present",
                "aggregates/counts" in f and "outcomes/headline" in f)
        if "persons/id" in f:
            S.check("--panel none: /persons empty", f["persons/id"].shape[0] == 0,
                    str(f["persons/id"].shape))
    if full:
        with h5py.File(full, "r") as a, h5py.File(none, "r") as b:
            S.check("--panel none: aggregates identical to full run",
                    np.array_equal(a["aggregates/counts"][()], b["aggregates/counts"][()]))

# --panel sample:0.1: about 10 % of slots, within 5 binomial standard errors.
frac = 0.1
samp, p = run("sample", ["--panel", "sample:%g" % frac])
if samp:
    with h5py.File(samp, "r") as f:
        w = f["panel/state"].shape[1] if "panel/state" in f else -1
        mean = PERSONS * frac
        sd = math.sqrt(PERSONS * frac * (1 - frac))
        S.check("--panel sample:0.1: width %d within 5 SE of %.0f (SE %.1f)" % (w, mean, sd),
                abs(w - mean) <= 5 * sd)
        S.check("--panel sample: all panel vars have shape (%d, width)" % (MONTHS + 1),
                all(f["panel"][v].shape == (MONTHS + 1, w) for v in PANEL_VARS if v in f["panel"]))
        S.check("--panel sample: panel_mode attr 'sample'", sval(f.attrs.get("panel_mode", "")) == "sample")
        slots = f["panel/person"][()]
        S.check("--panel sample: person scale = sorted distinct slots < n_persons",
                np.all(np.diff(slots) > 0) and slots.min() >= 0 and slots.max() < PERSONS)
        check_persons_consistent("sample", f)
        if full:
            with h5py.File(full, "r") as g:
                S.check("--panel sample: sampled columns equal the full panel's columns",
                        np.array_equal(f["panel/state"][()], g["panel/state"][()][:, slots]))

# --------------------------------------------------------------------------
# CF / netCDF-4 metadata (docs/output-format.md, "Reading with xarray /
# netCDF"): every dimension a named scale, long_name and units everywhere,
# fixed-length text, the enum types committed at the root, the time
# coordinate on the first of each month. tests/analysis/test_xarray.py
# reads the same through xarray.
def check_cf(label, f):
    bad, unscaled, vlen = [], [], []

    def visit(name, o):
        if not isinstance(o, h5py.Dataset):
            return
        if "long_name" not in o.attrs or "units" not in o.attrs:
            bad.append(name)
        for a in ("long_name", "units", "flag_meanings", "coordinates", "description"):
            if a in o.attrs and o.attrs.get_id(a).get_type().is_variable_str():
                vlen.append("%s@%s" % (name, a))
        if o.attrs.get("CLASS") != b"DIMENSION_SCALE":
            unscaled.extend("%s[%d]" % (name, k) for k in range(o.ndim) if len(o.dims[k]) != 1)
    f.visititems(visit)
    S.check("%s: every dataset has long_name and units" % label, not bad, str(bad[:5]))
    S.check("%s: every dimension has a dimension scale" % label, not unscaled, str(unscaled[:5]))
    S.check("%s: CF text attributes are fixed-length strings" % label, not vlen, str(vlen[:5]))
    S.check("%s: Conventions = CF-1.8" % label, sval(f.attrs.get("Conventions", b"")) == "CF-1.8")
    c = f["aggregates/counts"]
    names = [c.dims[k][0].name.rsplit("/", 1)[1] for k in range(c.ndim)]
    S.check("%s: /aggregates/counts scales are its dimensions" % label,
            names == [sval(x) for x in c.attrs["dimensions"]], str(names))
    g = f["outcomes/employment_gaps"]
    S.check("%s: /outcomes/employment_gaps scales month, gap" % label,
            [g.dims[k][0].name for k in range(2)] == ["/outcomes/month", "/outcomes/gap"])
    y, m = (int(x) for x in sval(f.attrs["start_month"]).split("-"))
    first = np.array([(np.datetime64("%04d-%02d-01" % (y + (m - 1 + k) // 12, (m - 1 + k) % 12 + 1))
                       - np.datetime64("%04d-%02d-01" % (y, m))).astype(int)
                      for k in range(MONTHS + 1)])
    for grp in ("aggregates", "outcomes") + (("panel",) if "panel" in f else ()):
        t = f[grp + "/time"]
        S.check("%s: /%s/time = days to the first of each month, %s" % (label, grp,
                sval(t.attrs["units"])),
                np.array_equal(t[()], first) and sval(t.attrs["units"]) ==
                "days since %04d-%02d-01 00:00:00" % (y, m) and
                sval(t.attrs["calendar"]) == "proleptic_gregorian")
    if "panel" in f:
        st = f["panel/state"]
        S.check("%s: /panel/state enum committed as /labour_state, flags = its names" % label,
                isinstance(f["labour_state"], h5py.Datatype) and st.id.get_type().committed()
                and sval(st.attrs["flag_meanings"]).split() == STATES
                and list(st.attrs["flag_values"]) == list(range(7))
                and h5py.check_enum_dtype(st.dtype) == {n: k for k, n in enumerate(STATES)})


# A start in November: the time coordinate crosses a year and February 2024.
nov, p = run("november", ["--panel", "none", "--set", 'simulation.start="2023-11"'])
for label, path in (("full", full), ("none", none), ("sample", samp), ("start 2023-11", nov)):
    if path:
        with h5py.File(path, "r") as f:
            check_cf(label, f)

# --------------------------------------------------------------------------
q = S.run(["--version"])
S.check("--version: exit 0, prints 'lmsim X.Y.Z'",
        q.returncode == 0 and re.match(r"^lmsim \d+\.\d+\.\d+", q.stdout) is not None, show(q))
q = S.run(["--help"])
S.check("--help: exit 0 with usage", q.returncode == 0 and "usage" in q.stdout
        and "lmsim run" in q.stdout, show(q))
q = S.run(["run", "--help"])
S.check("run --help: exit 0", q.returncode == 0 and "usage" in q.stdout, show(q))

S.finish()
