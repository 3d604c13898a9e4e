"""End-to-end: an interrupted run exits 130 and leaves no file behind.

Starts a large run (2,000,000 persons x 120 months, full panel), waits until the
run is under way (OUT.h5.tmp exists, then ~1 s), sends SIGINT and expects exit
status 130 with neither OUT.h5 nor OUT.h5.tmp left. The same with SIGTERM.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, tmp_files  # noqa: E402

S = Suite("interrupt")
EXIT_INTERRUPTED = 130


def interrupted_run(tag, sig):
    d = S.path(tag)
    os.makedirs(d)
    out = os.path.join(d, "out.h5")
    tmp = out + ".tmp*"
    args = [S.binary, "run", S.tiny, "-o", out, "--persons", "2000000", "--months", "120",
            "--panel", "full", "--threads", "2"]
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait for the run to be writing (the .tmp file exists), at most 30 s.
    while not tmp_files(out) and proc.poll() is None and time.monotonic() - t0 < 30:
        time.sleep(0.02)
    started = bool(tmp_files(out))
    S.check("%s: run started writing %s" % (tag, os.path.basename(tmp)), started,
            "exit %s before the file appeared" % proc.poll())
    time.sleep(1.0)
    still_running = proc.poll() is None
    S.check("%s: still running ~1 s after start (run is long enough to interrupt)" % tag,
            still_running)
    if still_running:
        proc.send_signal(sig)
    t_sig = time.monotonic()
    try:
        so, se = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        so, se = proc.communicate()
        S.check("%s: exits within 30 s of the signal" % tag, False)
    else:
        S.check("%s: exits within 30 s of the signal (%.2f s)" % (tag, time.monotonic() - t_sig),
                True)
    S.check("%s: exit status %d" % (tag, EXIT_INTERRUPTED), proc.returncode == EXIT_INTERRUPTED,
            "exit %s; stderr tail %r" % (proc.returncode, se[-400:]))
    S.check("%s: stderr says interrupted" % tag, "interrupt" in se.lower(), repr(se[-400:]))
    S.check("%s: no out.h5" % tag, not os.path.exists(out))
    S.check("%s: no out.h5.tmp*" % tag, not tmp_files(out))
    S.check("%s: directory empty" % tag, not os.listdir(d), str(os.listdir(d)))
    S.check("%s: no headline printed" % tag, "Output:" not in so, so[-300:])


interrupted_run("sigint", signal.SIGINT)
interrupted_run("sigterm", signal.SIGTERM)

S.finish()
