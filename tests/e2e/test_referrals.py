"""End-to-end: /referrals, the referral history (docs/output-format.md).

On tests/data/programmes.cfg (two programmes with queues, a trial of ips):
one row per referral (the programme table's referrals), with fields and
name attributes as documented; the panel agrees with every row (the
programme and phase of the person in the months of the spell); a sampled
panel holds exactly the full run's rows of its sampled persons, panel mode
none all of them; the rows are the same for 1 and 3 threads; and the
printout gives counts for the represented population with the simulated
beside them.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, show  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

S = Suite("referrals")
SC = os.path.join(S.source, "tests", "data", "programmes.cfg")
ARGS = ["--persons", "20000", "--months", "36", "--trial", "ips"]
FIELDS = ["person_id", "programme", "arm", "referral_month", "offer_month", "start_month",
          "end_month", "reason"]
REASONS = ["none", "finished", "job_entry", "in_work_ended", "left_queue", "dropped_out",
           "control", "reached_65", "run_ended"]


def run(tag, extra):
    out = S.path(tag + ".h5")
    p = S.run(["run", SC, "-o", out] + ARGS + list(extra))
    S.check("%s: run exits 0" % tag, p.returncode == 0, show(p))
    return out, p


full, p = run("full", ["--panel", "full", "--threads", "1"])
S.check("printout: counts for the represented population, simulated beside",
        "represented population of 600000 (x 30 the 20000 simulated" in p.stdout
        and "  simulated" in p.stdout, p.stdout[-1500:])
with h5py.File(full, "r") as f:
    ref = f["referrals"][...]
    ds = f["referrals"]
    S.check("fields in the documented order", list(ref.dtype.names) == FIELDS,
            str(ref.dtype.names))
    S.check("person_id int32, months int32",
            ref.dtype["person_id"] == np.int32 and ref.dtype["end_month"] == np.int32)
    names = [x.decode() if isinstance(x, bytes) else x for x in ds.attrs["reason_names"]]
    S.check("reason_names attribute", names == REASONS, str(names))
    progs = [x.decode() if isinstance(x, bytes) else x for x in ds.attrs["programme_names"]]
    S.check("programme_names: none, then the programmes", progs == ["none", "wf", "ips"],
            str(progs))
    prog = f["outcomes/programmes"][...]
    S.check("represents attribute", int(f.attrs["represents"]) == 600000)
    # referrals are counted once, at the referral (arm 0), under a trial too
    n_ref = int(prog[prog["arm"] == 0]["referrals_sim"].sum())
    S.check("one row per referral (%d rows, %d referrals)" % (len(ref), n_ref),
            len(ref) == n_ref and n_ref > 1000)
    S.check("represented counts and costs are the simulated x 30 (600000 / 20000)",
            np.array_equal(prog["referrals"], prog["referrals_sim"] * 30.0)
            and np.array_equal(prog["cost_total"], prog["cost_total_sim"] * 30.0))
    na = prog["arm"] == 0
    S.check("trial: referrals never offered cost nothing (no start, no support)",
            np.all(prog[(prog["programme"] == b"ips") & na]["cost_total_sim"] == 0))
    S.check("starts: rows with a start month = starts",
            int((ref["start_month"] >= 0).sum()) == int(prog["starts_sim"].sum()))
    S.check("trial arms: rows = persons randomised",
            all(int((ref["arm"] == a).sum()) == int(prog[prog["arm"] == a]["randomised_sim"].sum())
                for a in (1, 2)))
    S.check("months ordered: referral <= offer/start <= end",
            bool(np.all(ref["referral_month"] <= ref["end_month"]) and
                 np.all((ref["start_month"] < 0) | ((ref["referral_month"] <= ref["start_month"])
                                                    & (ref["start_month"] <= ref["end_month"])))))
    ctl = ref["reason"] == REASONS.index("control")
    S.check("controls never start; offered at the end month",
            ctl.sum() > 0 and np.all(ref["start_month"][ctl] == -1)
            and np.all(ref["offer_month"][ctl] == ref["end_month"][ctl]))
    end = ref["end_month"]
    S.check("rows in order of end month", bool(np.all(np.diff(end) >= 0)))
    # The panel agrees: the person's column, programme and phase in the spell's months.
    pid = f["panel/person_id"][...]
    pprog = f["panel/programme"][...]
    phase = f["panel/phase"][...]
    col = ref["person_id"] % 20000
    T = int(f.attrs["n_months"])
    bad = []
    for r, c in zip(ref, col):
        m0, m1 = int(r["referral_month"]), int(r["end_month"])
        reason = REASONS[r["reason"]]
        last = m1 if reason in ("run_ended",) else m1 - 1  # in the month it ends: off
        for m in range(m0, last + 1):
            if pid[m, c] != r["person_id"] or pprog[m, c] != r["programme"] or phase[m, c] == 0:
                bad.append((tuple(r), m, "on"))
                break
        if reason not in ("run_ended", "reached_65") and (pid[m1, c] != r["person_id"]
                                                          or phase[m1, c] != 0):
            bad.append((tuple(r), m1, "off"))
        if reason == "reached_65" and pid[m1, c] == r["person_id"]:
            bad.append((tuple(r), m1, "65"))
        if r["start_month"] >= 0 and r["start_month"] < m1 and phase[r["start_month"], c] < 2:
            bad.append((tuple(r), int(r["start_month"]), "start"))
    S.check("the panel shows every spell (programme and phase) and its end", not bad,
            str(bad[:5]))
    open_rows = ref["reason"] == REASONS.index("run_ended")
    S.check("spells under way at the end: run_ended rows",
            int(open_rows.sum()) == int(np.count_nonzero(phase[T])))
    S.check("every referred person is in /persons",
            bool(np.all(np.isin(ref["person_id"], f["persons/id"][...]))))

three, _ = run("three", ["--panel", "full", "--threads", "3"])
samp, _ = run("sample", ["--panel", "sample:0.3", "--threads", "2"])
none, _ = run("none", ["--panel", "none", "--threads", "2"])
with h5py.File(full, "r") as a, h5py.File(three, "r") as b, h5py.File(samp, "r") as c, \
        h5py.File(none, "r") as d:
    ra = a["referrals"][...]
    S.check("1 and 3 threads: identical rows", ra.tobytes() == b["referrals"][...].tobytes())
    slots = c["panel/person"][...]
    keep = np.isin(ra["person_id"] % 20000, slots)
    rc = c["referrals"][...]
    S.check("sample: the full run's rows of the sampled persons (%d of %d)"
            % (len(rc), len(ra)), len(rc) > 0 and rc.tobytes() == ra[keep].tobytes())
    S.check("panel none: every row", d["referrals"][...].tobytes() == ra.tobytes())
q = S.run(["describe", full])
S.check("describe: counts for the represented population", q.returncode == 0
        and "represented population of 600000" in q.stdout, show(q))
S.finish()
