#!/usr/bin/env python3
"""Derive the Wales baseline's initial labour states and entrants' states.

Writes scenarios/fragments/wales_states.cfg (included by
scenarios/wales_baseline.cfg): `initial_state` rules by age band, disability,
sex and region, and `entrants` rules by disability. Rerun after changing a
number below:

    /usr/bin/python3 scenarios/tools/derive_wales_baseline.py          # write
    /usr/bin/python3 scenarios/tools/derive_wales_baseline.py --check  # compare

Evidence ids refer to scenarios/evidence.csv. Published Welsh totals are met
exactly (employment 74.1 % A01, ILO unemployment 3.8 % A07, disabled 51.0 %
vs non-disabled 81.9 % A18, regions 77.0 / 73.3 / 73.2 % A03-A05, about a
third of the inactive long-term sick A11, a fifth caring and 23 % students
A25, women 3.5 times as likely as men to be inactive because of caring A23,
22 % of jobs below the Real Living Wage F07); how they split by age and
disability is an assumption where no Welsh figure is in the evidence, marked
"assumption" below. The transitions in wales_baseline.cfg are then fitted
(lmsim calibrate) so that these stocks stay where they start.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fragments", "wales_states.cfg")

STATES = ["inactive_sick", "inactive_caring", "inactive_student", "inactive_other",
          "unemployed", "employed_poor", "employed_good"]
BANDS = ["16-24", "25-34", "35-49", "50-64"]
REGIONS = [("North Wales", 0.215, 0.770), ("Mid and South West Wales", 0.295, 0.733),
           ("South East Wales", 0.490, 0.732)]            # shares: assumption; E: A03-A05
AGE = [0.175, 0.195, 0.290, 0.340]                       # assumption (ONS mid-year, approx.)
DIS = [0.17, 0.20, 0.24, 0.335]                          # assumption, with A18 (see below)
E_ALL, UR_ALL = 0.741, 0.038                             # A01, A07
E_DIS = 0.510                                            # A18 (non-disabled 81.9 % follows)
# Employment by age band: the UK pattern (P01, P02: 50-64 is 14.2 points
# below 35-49) scaled to the Welsh total A01; 16-24 an assumption.
E_BAND = [0.55, 0.82, 0.845, 0.703]
# ILO unemployment rate by band (assumption: 16-24 about 2.7 times the rest)
# and disabled people's rate relative to others (assumption, about 1.8x).
UR_BAND = [0.10, 0.034, 0.030, 0.030]
UR_DIS_FACTOR = 1.8
# Poor (below the Real Living Wage) share of jobs by band (assumption),
# scaled so that the total is F07's 22 %; disabled +4 points (assumption).
POOR_BAND = [0.45, 0.20, 0.17, 0.18]
POOR_ALL, POOR_DIS = 0.22, 0.04
# Reasons for inactivity by band [sick, caring, student, other], not disabled
# and disabled (assumption), scaled so that the totals are A11 and A25.
REASONS = {
    0: ([0.05, 0.08, 0.72, 0.15], [0.25, 0.07, 0.50, 0.18]),
    1: ([0.10, 0.45, 0.12, 0.33], [0.55, 0.20, 0.04, 0.21]),
    2: ([0.12, 0.42, 0.03, 0.43], [0.65, 0.14, 0.01, 0.20]),
    3: ([0.15, 0.12, 0.01, 0.72], [0.62, 0.08, 0.00, 0.30]),
}
REASON_TARGET = [0.33, 0.20, 0.23, 0.24]                # A11, A25 (sick, caring, student, other)
CARING_RATIO = 3.5                                       # A23: women vs men
FEMALE = 0.50682                                         # A16
# Entrants aged 16 (assumption: most are in full-time education; about one
# in five has a part-time job, which the ILO definition counts as employed).
ENTRANTS = {
    False: dict(inactive_sick=0.01, inactive_caring=0.005, inactive_student=0.735,
                inactive_other=0.02, unemployed=0.04, employed_poor=0.17, employed_good=0.02),
    True: dict(inactive_sick=0.08, inactive_caring=0.01, inactive_student=0.70,
               inactive_other=0.03, unemployed=0.05, employed_poor=0.12, employed_good=0.01),
}


def solve_gap():
    """Disability employment gap (same in bands 25+, 60 % of it at 16-24)
    such that disabled employment is E_DIS overall (A18)."""
    def e_dis(g):
        num = den = 0.0
        for b in range(4):
            gb = g * (0.6 if b == 0 else 1.0)
            e_non = E_BAND[b] + DIS[b] * gb
            num += AGE[b] * DIS[b] * (e_non - gb)
            den += AGE[b] * DIS[b]
        return num / den
    lo, hi = 0.0, 0.9
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if e_dis(mid) > E_DIS else (lo, mid)
    return (lo + hi) / 2


def cells():
    """Shares of the 7 states by (band, disabled) before regions and sex."""
    g = solve_gap()
    e_tot = sum(a * e for a, e in zip(AGE, E_BAND))
    scale_e = E_ALL / e_tot
    out = {}
    # First pass: employment and unemployment.
    u_raw = {}
    for b in range(4):
        gb = g * (0.6 if b == 0 else 1.0)
        e_non = (E_BAND[b] + DIS[b] * gb) * scale_e
        e_dis = e_non - gb * scale_e
        for d, e in ((False, e_non), (True, e_dis)):
            # ILO rate r for disabled is UR_DIS_FACTOR times the others' in the band.
            r = UR_BAND[b] * (UR_DIS_FACTOR if d else 1.0)
            u_raw[b, d] = r / (1 - r) * e
            out[b, d] = {"E": e}
    # Scale unemployment to the total of A07.
    u_tot = sum(AGE[b] * (DIS[b] if d else 1 - DIS[b]) * u_raw[b, d] for b, d in u_raw)
    u_target = UR_ALL / (1 - UR_ALL) * E_ALL
    for k in u_raw:
        out[k]["U"] = u_raw[k] * u_target / u_tot
    # Reasons for inactivity, scaled to the published totals.
    tot = [0.0] * 4
    for (b, d), c in out.items():
        w = AGE[b] * (DIS[b] if d else 1 - DIS[b])
        i = 1 - c["E"] - c["U"]
        for r in range(4):
            tot[r] += w * i * REASONS[b][d][r]
    itot = sum(tot)
    fac = [REASON_TARGET[r] * itot / tot[r] for r in range(4)]
    for (b, d), c in out.items():
        i = 1 - c["E"] - c["U"]
        rs = [REASONS[b][d][r] * fac[r] for r in range(4)]
        s = sum(rs)
        c["I"] = [i * x / s for x in rs]
    # Poor share of jobs.
    ptot = sum(AGE[b] * (DIS[b] if d else 1 - DIS[b]) * c["E"] *
               (POOR_BAND[b] + (POOR_DIS if d else 0.0)) for (b, d), c in out.items())
    pscale = POOR_ALL * E_ALL / ptot
    for (b, d), c in out.items():
        c["poor"] = (POOR_BAND[b] + (POOR_DIS if d else 0.0)) * pscale
    return out, g


def rule(c, region_e, female):
    """Shares for one rule: employment scaled by the region (inactivity,
    reasons in proportion, absorbs the difference); caring split by sex.

    Women are CARING_RATIO times as likely as men to be inactive because of
    caring (A23) while the other reasons are the same for both sexes: with
    caring share c of the cell, men have c - h and women c + h caring, h =
    c (R - 1) / (R + 1), and women's employment is lower by h, men's higher.
    """
    e = c["E"] * region_e / E_ALL
    u = c["U"]
    i_old = 1 - c["E"] - u
    i = 1 - e - u
    sick, caring, student, other = [x * i / i_old for x in c["I"]]
    h = caring * (CARING_RATIO - 1) / (CARING_RATIO + 1)
    if female:
        e, caring = e - h, caring + h
    else:
        e, caring = e + h, caring - h
    v = [sick, caring, student, other, u, e * c["poor"], e * (1 - c["poor"])]
    if min(v) < 0 or abs(sum(v) - 1) > 1e-9:
        raise SystemExit("shares out of range: %s" % v)
    return v


def fmt_shares(v):
    """Shares printed to 6 decimals that sum to exactly 1 as printed (the
    rounding residual goes to the largest share)."""
    q = [round(x * 1e6) for x in v]
    q[q.index(max(q))] += 1000000 - sum(q)
    return "{ " + "; ".join("%s = %.6f" % (n, x / 1e6) for n, x in zip(STATES, q)) + "; }"


def text():
    out, g = cells()
    lines = [
        "# GENERATED by scenarios/tools/derive_wales_baseline.py: do not edit by hand;",
        "# change the numbers there (each with its evidence id) and rerun it.",
        "# Initial labour states by age band, disability, sex and region (first",
        "# matching rule wins), and the states of entrants aged 16 by disability.",
        "# Disability employment gap solved to A18: %.4f (25-64), %.4f (16-24)." % (g, 0.6 * g),
        "initial_state = (",
    ]
    rules = []
    for b in range(4):
        for d in (True, False):
            for f in (True, False):
                for (rn, _, re) in REGIONS:
                    v = rule(out[b, d], re, f)
                    where = 'age_band = "%s"; disabled = %s; sex = "%s"; region = "%s";' % (
                        BANDS[b], "true" if d else "false", "female" if f else "male", rn)
                    rules.append((where, v))
    # The last rule must match everyone: the last combination loses its where.
    for k, (where, v) in enumerate(rules):
        last = k == len(rules) - 1
        lines.append("  { %sshares = %s; }%s" % ("" if last else "where = { %s }; " % where,
                                                  fmt_shares(v), "" if last else ","))
    lines.append(");")
    lines.append("entrants = (")
    lines.append("  { where = { disabled = true; }; shares = %s; }," %
                 fmt_shares([ENTRANTS[True][s] for s in STATES]))
    lines.append("  { shares = %s; }" % fmt_shares([ENTRANTS[False][s] for s in STATES]))
    lines.append(");")
    return "\n".join(lines) + "\n", out


def summary(out):
    """Implied totals (so that every published figure can be checked)."""
    tot = [0.0] * 7
    dis = [0.0] * 7
    non = [0.0] * 7
    for b in range(4):
        for d in (True, False):
            for f in (True, False):
                for (_, rs, re) in REGIONS:
                    w = AGE[b] * (DIS[b] if d else 1 - DIS[b]) * (FEMALE if f else 1 - FEMALE) * rs
                    v = rule(out[b, d], re, f)
                    for s in range(7):
                        tot[s] += w * v[s]
                        (dis if d else non)[s] += w * v[s]
    e = tot[5] + tot[6]
    i = sum(tot[:4])
    pd = sum(dis)
    print("employment %.4f (A01 0.741), ILO unemployment %.4f (A07 0.038)" %
          (e, tot[4] / (e + tot[4])), file=sys.stderr)
    print("disabled %.4f (A18 0.510), not %.4f (0.819); prevalence %.4f" %
          ((dis[5] + dis[6]) / pd, (non[5] + non[6]) / (1 - pd), pd), file=sys.stderr)
    print("inactive %.4f; reasons sick %.3f caring %.3f student %.3f other %.3f (A11 0.33, A25)" %
          ((i,) + tuple(x / i for x in tot[:4])), file=sys.stderr)
    print("poor share of jobs %.4f (F07 0.22)" % (tot[5] / e), file=sys.stderr)


def main():
    t, out = text()
    summary(out)
    if "--check" in sys.argv:
        with open(OUT) as f:
            if f.read() != t:
                print("scenarios/fragments/wales_states.cfg is out of date: rerun "
                      "scenarios/tools/derive_wales_baseline.py", file=sys.stderr)
                return 1
        print("wales_states.cfg is up to date", file=sys.stderr)
        return 0
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + ".tmp", "w") as f:
        f.write(t)
    os.replace(OUT + ".tmp", OUT)
    print("wrote %s" % os.path.relpath(OUT), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
