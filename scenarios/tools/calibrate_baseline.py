#!/usr/bin/env python3
"""Fixed-point calibration of three Wales baseline parameters (see docs/calibration.md).

Adjusts the I->E intercept, its disabled coefficient and the U->E intercept
until month 12 reproduces non-disabled (81.9 %) and disabled (51.0 %) employment
(A18) and ILO unemployment 3.8 % (A07). Usage: calibrate_baseline.py ITERATIONS
(needs build/engine/lmsim). Starting values are the ones in the scenario file.
"""
import subprocess, re, math, sys
import os
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
src = open(os.path.join(ROOT, 'scenarios/wales_baseline.cfg')).read()
a, b, c = -2.595, -1.875, -1.602
def run(a, b, c):
    # Inactive -> employed lines (four origins) and the unemployed -> employed line.
    t = re.sub(r'\{ to = "employed";   intercept = [-0-9.]+; disabled = [-0-9.]+;',
               f'{{ to = "employed";   intercept = {a:.3f}; disabled = {b:.3f};', src)
    t = re.sub(r'\{ to = "employed"; intercept = [-0-9.]+; log_duration = -0.42;',
               f'{{ to = "employed"; intercept = {c:.3f}; log_duration = -0.42;', t)
    open('/tmp/lmsim_cal_w.cfg','w').write(t)
    out = subprocess.run([os.path.join(ROOT, 'build/engine/lmsim'),'run','/tmp/lmsim_cal_w.cfg','-o','/tmp/lmsim_cal_w.h5','--persons','300000','--panel','none','-q','--months','12'],capture_output=True,text=True).stdout
    rows = {}
    for line in out.splitlines():
        p = line.split()
        if p and p[0] in ('all','disabled','not_disabled'):
            rows[p[0]] = [float(x) for x in p[1:]]
    return rows
lo = lambda p: math.log(p/(1-p))
for it in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
    r = run(a, b, c)
    print(f"a={a:.3f} b={b:.3f} c={c:.3f}: all E {r['all'][1]} U {r['all'][3]} I {r['all'][5]} | dis E {r['disabled'][1]} | non E {r['not_disabled'][1]}", flush=True)
    en, ed, u = r['not_disabled'][1]/100, r['disabled'][1]/100, r['all'][3]/100
    a += 1.5*(lo(0.819) - lo(en))
    b += 1.5*(lo(0.510) - lo(ed)) - 1.5*(lo(0.819) - lo(en))
    c += 1.0*(lo(0.038) - lo(u)) * -1
