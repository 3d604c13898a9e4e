#!/usr/bin/env python3
"""Programme calibration targets of the Wales baseline (docs/calibration.md).

Runs lmsim and prints, for each target, the published value, the simulated
value and whether it is inside the tolerance:
  (a) start-year (month 12) employment, ILO unemployment and inactivity rates
      (A01, A07, A08; +-1 point) and the disability employment gap (A18; +-2);
  (b) Restart in Wales: share of referrals reaching a job outcome over four
      years (C11D 19.8 %; +-2 points), and referrals a month (C11: ~727);
  (c) the built-in trial of high-fidelity IPS: relative risk of any job within
      12 months (E09: 1.63, 95 % CI 1.46-1.82);
  (d) UNTUNED: IPS-LITE trial, impact on working 13+ weeks in 12 months
      (E04: about +4 points).
Usage: calibrate_programmes.py [--persons N] [--check]
With --check the exit status is 1 when a tuned target is outside its band.
Needs build/engine/lmsim and Debian's python3-h5py.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LMSIM = os.path.join(ROOT, 'build', 'engine', 'lmsim')  # --lmsim overrides
WALES_16_64 = 1947716  # A16
ARGS = None


def run(cfg, out, persons, *extra):
    subprocess.run([ARGS.lmsim, 'run', os.path.join(ROOT, 'scenarios', cfg), '-o', out, '--persons',
                    str(persons), '--panel', 'none', '-q', *extra], check=True,
                   stdout=subprocess.DEVNULL)
    f = h5py.File(out, 'r')
    head = {r['group'].decode(): r for r in f['outcomes/headline'][()]}
    progs = f['outcomes/programmes'][()] if 'outcomes/programmes' in f else []
    rows = {(r['programme'].decode(), int(r['arm'])): r for r in progs}
    return head, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--persons', type=int, default=400000)
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--lmsim', default=LMSIM, help='path of the lmsim program')
    a = ap.parse_args()
    global ARGS
    ARGS = a
    tmp = tempfile.mkdtemp(prefix='lmsim_calp_')
    results = []  # (target, published, simulated, lo, hi, tuned)

    head, _ = run('wales_baseline.cfg', os.path.join(tmp, 'a.h5'), a.persons, '--months', '12')
    al, dis, non = head['all'], head['disabled'], head['not_disabled']
    results += [
        ('(a) employment rate, month 12 (A01)', 74.1, 100 * al['employment_rate_end'], 73.1, 75.1, 1),
        ('(a) ILO unemployment rate, month 12 (A07)', 3.8, 100 * al['unemployment_rate_end'], 2.8, 4.8, 1),
        ('(a) inactivity rate, month 12 (A08)', 23.8, 100 * al['inactivity_rate_end'], 22.8, 24.8, 1),
        ('(a) disability employment gap, month 12 (A18)', 30.9,
         100 * (non['employment_rate_end'] - dis['employment_rate_end']), 28.9, 32.9, 1)]

    _, rows = run('wales_baseline.cfg', os.path.join(tmp, 'b.h5'), a.persons, '--months', '48')
    wf = rows[('work_first', 0)]
    per_month = wf['referrals'] * WALES_16_64 / a.persons / 48
    results += [
        ('(b) Restart: job outcomes / referrals, 4 years (C11D)', 19.8,
         100 * wf['outcome_rate'], 17.8, 21.8, 1),
        ('(b) Restart: referrals a month in Wales (C11)', 34900 / 48, per_month,
         34900 / 48 * 0.85, 34900 / 48 * 1.15, 1)]

    _, rows = run('calibration/ips_trial.cfg', os.path.join(tmp, 'c.h5'), a.persons)
    t, c = rows[('ips', 1)], rows[('ips', 2)]
    rr = t['any_job_12_rate'] / c['any_job_12_rate']
    results.append(('(c) IPS trial: RR any job in 12 months (E09)', 1.63, rr, 1.46, 1.82, 1))

    _, rows = run('calibration/ips_lite_trial.cfg', os.path.join(tmp, 'd.h5'), a.persons)
    t, c = rows[('ips', 1)], rows[('ips', 2)]
    diff = 100 * (t['worked_13w_12_rate'] - c['worked_13w_12_rate'])
    results.append(('(d) IPS-LITE trial: +points in work 13+ weeks (E04)', 4.0, diff, 1.0, 7.0, 0))

    bad = 0
    print(f"{'target':56s} {'published':>10s} {'simulated':>10s} {'band':>15s}  status")
    for name, pub, sim, lo, hi, tuned in results:
        ok = lo <= sim <= hi
        status = ('ok' if ok else 'OUTSIDE') + ('' if tuned else ' (untuned)')
        bad += tuned and not ok
        print(f"{name:56s} {pub:10.2f} {sim:10.2f} {lo:7.2f}-{hi:<7.2f}  {status}")
    print(f"{len(results) - bad} passed, {bad} failed")
    return 1 if (a.check and bad) else 0


if __name__ == '__main__':
    sys.exit(main())
