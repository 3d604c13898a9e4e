#!/usr/bin/env python3
"""Derive the Wales baseline's initial shares and transition intercepts.

How the numbers in scenarios/wales_baseline.cfg were obtained (rerun with
/usr/bin/python3 scenarios/tools/derive_wales_baseline.py):

1. Stocks. Targets from scenarios/evidence.csv: employment 74.1 % (A01),
   ILO unemployment rate 3.8 % (A07) -> unemployed = 0.038 / 0.962 * 74.1 % of
   the population, disabled 51.0 % vs non-disabled 81.9 % (A18), regional
   employment (A03-A05). Disability prevalence is derived so that the two group
   rates average to the overall rate: d = (81.9 - 74.1) / (81.9 - 51.0).
   16-24-year-olds get an assumed rate (no figure in the evidence) and the
   25-64 groups are solved so that every published total holds.
2. Flows. Monthly UK flows (BD, derived from B05/B06) fix E->U, E->I, U->E and
   U->I. For each group the two inactive exits I->E and I->U are then solved
   from the balance equations of a 3-state chain, so that the group's initial
   stocks are (approximately) stationary. Log-odds against staying give the
   intercepts and the disabled and 16-24 coefficients.
"""
import math

E_ALL = 0.741                      # A01
U_ALL = 0.038 / 0.962 * E_ALL      # A07 (ILO rate -> share of population)
E_DIS, E_NON = 0.510, 0.819        # A18
D = (E_NON - E_ALL) / (E_NON - E_DIS)   # derived disability prevalence
AGE = [0.175, 0.195, 0.29, 0.34]   # assumption (ONS mid-year estimates, approx.)
DIS_BY_AGE = [0.17, 0.20, 0.24, 0.335]
YOUNG = dict(E=0.55, U=0.065)      # assumption: 16-24 (no figure in evidence)

def main():
    print(f"unemployed share of population {U_ALL:.4f}; disability prevalence {D:.4f}")
    dis_check = sum(a * d for a, d in zip(AGE, DIS_BY_AGE))
    print(f"prevalence implied by disabled_by_age_band {dis_check:.4f}")
    a0 = AGE[0]
    old = 1 - a0
    e_old = (E_ALL - a0 * YOUNG["E"]) / old
    dis_old = (dis_check - a0 * DIS_BY_AGE[0]) / old
    e_dis_old = (E_DIS * dis_check - YOUNG["E"] * a0 * DIS_BY_AGE[0]) / (dis_old * old)
    e_non_old = (e_old - dis_old * e_dis_old) / (1 - dis_old)
    u_old = (U_ALL - a0 * YOUNG["U"]) / old
    u_dis_old = 0.035
    u_non_old = (u_old - dis_old * u_dis_old) / (1 - dis_old)
    print(f"25-64: E {e_old:.4f}, disabled E {e_dis_old:.4f}, non-disabled E {e_non_old:.4f}")
    print(f"25-64: U {u_old:.4f}, disabled U {u_dis_old:.4f}, non-disabled U {u_non_old:.4f}")
    # Flows (BD, monthly) and group solve of I->E, I->U.
    # The 2013 flows come from a UK unemployment rate of about 7.8 %; Wales in
    # 2023 had 3.8 %, so job loss E->U is scaled down (EU_SCALE, assumption),
    # more for non-disabled people, and up for 16-24 (B07: 3.3 % vs 1.4 % a quarter).
    p0 = dict(EU=0.0055, EI=0.0054, UE=0.0845, UI=0.0639)
    for name, e, u, eu_scale in [("16-24", YOUNG["E"], YOUNG["U"], 1.2),
                                 ("disabled 25-64", e_dis_old, u_dis_old, 0.7),
                                 ("non-disabled 25-64", e_non_old, u_non_old, 0.4)]:
        p = dict(p0)
        p["EU"] = p0["EU"] * eu_scale
        i = 1 - e - u
        p_ie = (e * (p["EU"] + p["EI"]) - u * p["UE"]) / i
        p_iu = (u * (p["UE"] + p["UI"]) - e * p["EU"]) / i
        lo = lambda q: math.log(q / (1 - q))
        print(f"{name}: E->U {p['EU']:.5f} (logit {math.log(p['EU']/(1-p['EU'])):.3f}); E {e:.4f} U {u:.4f} I {i:.4f}; solved I->E {p_ie:.5f} "
              f"(logit {lo(p_ie):.3f}), I->U {p_iu:.5f} (logit {lo(p_iu):.3f})")

if __name__ == "__main__":
    main()
