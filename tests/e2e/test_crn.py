"""Common random numbers: two scenarios that differ only in a programme
nobody can join give identical panels and aggregates, person by person; and
two seeds give different ones (so the comparison can fail)."""
import os

import h5py

from e2e_common import Suite, show

S = Suite("crn")
base = os.path.join(S.source, "scenarios", "wales_baseline.cfg")
common = ["--persons", "20000", "--months", "24", "-q"]


def run(name, *extra):
    out = S.path(name + ".h5")
    p = S.run(["run", base, "-o", out] + common + list(extra), timeout=300)
    S.check("%s exits 0" % name, p.returncode == 0, show(p))
    return out


a = run("a")
# A third programme that is closed to referrals for the whole run: nobody joins.
closed = ("programmes.nobody={ eligible = { state = \"unemployed\"; }; open = false; "
          "referral = { probability = 1.0; }; capacity = { places_per_month = [1000.0, 1000.0, "
          "1000.0]; }; duration_months = 12; effects = { job_finding_or = 5.0; }; costs = { }; }")
b = run("b", "--set", closed)
c = run("c", "--seed", "7")
with h5py.File(a) as fa, h5py.File(b) as fb, h5py.File(c) as fc:
    for v in ["state", "months_in_state", "earnings", "limiting", "person_id"]:
        S.check("panel/%s identical with an unjoinable programme" % v,
                (fa["panel/" + v][()] == fb["panel/" + v][()]).all())
    S.check("aggregates identical", (fa["aggregates/counts"][()] == fb["aggregates/counts"][()]).all())
    progs = [r["programme"] for r in fb["outcomes/programmes"][()]]
    S.check("the extra programme is in the file", b"nobody" in progs, str(progs))
    S.check("a different seed changes the panel",
            not (fa["panel/state"][()] == fc["panel/state"][()]).all())
S.finish()
