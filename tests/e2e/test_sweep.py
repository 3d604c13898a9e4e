"""End-to-end tests of `lmsim sweep` on scenarios/sweeps/smoke.cfg.

Checks: every task file and the index appear; the index's tidy table has one
row per task; the seed depends on the replicate only (common random numbers
across points); a rerun skips finished tasks; a deleted task is rerun and
comes back identical; `--task N` alone gives the same file as the whole
sweep; /tidy's strings are variable-length with a checksum (an index with
fixed-length ones still reads); bad sweep files and task numbers give clear
errors and no files.
"""
import hashlib
import os
import re
import shutil

import h5py
import numpy as np

from e2e_common import SMOKE_TASKS, Suite, datasets, same, show, smoke_sweep

S = Suite("sweep")


def sval(v):
    return v.decode() if isinstance(v, bytes) else v



SMOKE = smoke_sweep(S)
NAMES = SMOKE_TASKS


full = S.path("full")
p = S.run(["sweep", SMOKE, "-o", full, "-q"], timeout=300)
S.check("full sweep exits 0", p.returncode == 0, show(p))
S.check("full sweep ran 4 tasks", "4 tasks run, 0 skipped" in p.stdout, show(p))
for n in NAMES:
    S.check("task file %s exists" % n, os.path.exists(os.path.join(full, n + ".h5")))
S.check("no temporary files left",
        not [f for f in os.listdir(full) if ".tmp" in f], str(os.listdir(full)))
idx = os.path.join(full, "sweep.h5")
S.check("index sweep.h5 exists", os.path.exists(idx))
with h5py.File(idx, "r") as f:
    tidy = f["tidy"][()]
    S.check("tidy table has 4 rows", len(tidy) == 4, str(len(tidy)))
    seeds = {(r["point"].decode(), int(r["replicate"])): r["seed"].decode() for r in tidy}
    S.check("same replicate, same seed across points (CRN)",
            seeds[("baseline", 0)] == seeds[("ips_high_fidelity", 0)] and
            seeds[("baseline", 1)] == seeds[("ips_high_fidelity", 1)], str(seeds))
    S.check("replicates have different seeds", seeds[("baseline", 0)] != seeds[("baseline", 1)])
    linked = f["tasks/baseline_r001"].attrs["seed_str"]
    linked = linked.decode() if isinstance(linked, bytes) else linked
    S.check("external link reaches the task file", linked == seeds[("baseline", 1)], linked)
    emp = {(r["point"].decode(), int(r["replicate"])): r["employment_rate_end"] for r in tidy}
# Provenance: every task file records the SHA-256 of its scenario text, the
# index records it per task and records the sweep file itself.
with h5py.File(idx, "r") as f:
    tidy = f["tidy"][()]
    hashes = {r["point"].decode() + "_r%03d" % r["replicate"]: r["scenario_sha256"].decode()
              for r in tidy}
    root = {k: sval(f.attrs[k]) for k in f.attrs}
for n in NAMES:
    with h5py.File(os.path.join(full, n + ".h5"), "r") as f:
        text = sval(f.attrs["scenario_text"])
        S.check("%s: scenario_sha256 is the SHA-256 of its scenario_text" % n,
                sval(f.attrs["scenario_sha256"]) == hashlib.sha256(text.encode()).hexdigest())
        S.check("%s: the index's /tidy records the same hash" % n,
                hashes.get(n) == sval(f.attrs["scenario_sha256"]), str(hashes))
S.check("hashes differ between tasks", len(set(hashes.values())) == 4, str(hashes))
S.check("index records the sweep file", root.get("sweep_file") == SMOKE and
        "ips_high_fidelity" in root.get("sweep_text", "") and
        root.get("sweep_sha256") == hashlib.sha256(root["sweep_text"].encode()).hexdigest(),
        str(root)[:600])
S.check("index records seed, replicates, points and tasks",
        root.get("seed_str") == "424242" and int(root.get("replicates", 0)) == 2 and
        int(root.get("n_points", 0)) == 2 and int(root.get("n_tasks", 0)) == 4 and
        root.get("base_scenario", "").endswith("wales_baseline.cfg"), str(root)[:600])

# `lmsim describe` on the index: points, replicates, tasks, status, hashes.
p = S.run(["describe", idx])
S.check("describe sweep.h5 exits 0", p.returncode == 0, show(p))
S.check("describe lists the points and their overrides",
        re.search(r"^  baseline\s+\(no overrides\)", p.stdout, re.M) is not None and
        re.search(r"^  ips_high_fidelity\s+programmes\.ips\.effects\.fidelity=1\.0", p.stdout,
                  re.M) is not None, show(p, 2000))
S.check("describe gives points x replicates = tasks",
        "2 points x 2 replicates = 4 tasks: 4 done" in p.stdout, show(p, 2000))
S.check("describe lists every task with its status and hash",
        all(re.search(r"^\s+%d\s+%s\s+%d\s+\d+\s+[0-9.]+\s+done\s+%s$" %
                      (t, n[:-5], t % 2, hashes[n]), p.stdout, re.M) for t, n in enumerate(NAMES)),
        show(p, 2000))
S.check("describe names the sweep file and its hash",
        SMOKE in p.stdout and root["sweep_sha256"] in p.stdout, show(p, 2000))
with h5py.File(os.path.join(full, "baseline_r000.h5"), "r") as f:
    head = f["outcomes/headline"][()]
    all_row = [r for r in head if r["group"] == b"all"][0]
    S.check("tidy row equals the task's headline",
            all_row["employment_rate_end"] == emp[("baseline", 0)])

ref = {n: datasets(os.path.join(full, n + ".h5")) for n in NAMES}

# Resume: a rerun skips everything; a deleted task is rerun, identically.
p = S.run(["sweep", SMOKE, "-o", full, "-q"], timeout=300)
S.check("rerun skips all 4 tasks", "0 tasks run, 4 skipped" in p.stdout, show(p))
os.remove(os.path.join(full, "ips_high_fidelity_r001.h5"))
os.remove(idx)
p = S.run(["sweep", SMOKE, "-o", full, "-q"], timeout=300)
S.check("resume reruns only the missing task", "1 tasks run, 3 skipped" in p.stdout, show(p))
S.check("resumed task is identical",
        same(ref["ips_high_fidelity_r001"],
             datasets(os.path.join(full, "ips_high_fidelity_r001.h5"))))
S.check("index rewritten after resume", os.path.exists(idx))
# A finished task file damaged since (truncated) is run again and replaced,
# not skipped (the resume used to stop at the index with no hint).
victim = os.path.join(full, "baseline_r000.h5")
with open(victim, "r+b") as f:
    f.truncate(4096)
p = S.run(["sweep", SMOKE, "-o", full, "-q"], timeout=300)
S.check("a truncated task file is run again", p.returncode == 0 and
        "1 tasks run, 3 skipped" in p.stdout, show(p))
S.check("the rerun of a truncated file is named, with the damage",
        victim + ": damaged" in p.stderr and "running the task again" in p.stderr, show(p))
S.check("the rerun task is identical to the original",
        same(ref["baseline_r000"], datasets(victim)))

# describe reports task files that are missing or damaged since the index
# was written (and still exits 0: the index itself is readable).
moved = victim + ".moved"
shutil.copyfile(victim, moved)
os.remove(victim)
with open(os.path.join(full, "baseline_r001.h5"), "r+b") as f:
    f.truncate(2048)
p = S.run(["describe", idx])
S.check("describe with a missing and a damaged task: exit 0", p.returncode == 0, show(p))
S.check("describe counts them", "2 done, 0 changed since the index, 1 damaged, 1 missing" in
        p.stdout, show(p, 2000))
S.check("describe marks them",
        re.search(r"^\s+0\s+baseline\s.*\smissing\s", p.stdout, re.M) is not None and
        re.search(r"^\s+1\s+baseline\s.*\sdamaged\s", p.stdout, re.M) is not None,
        show(p, 2000))
os.replace(moved, victim)
p = S.run(["sweep", SMOKE, "-o", full, "-q"], timeout=300)
S.check("the damaged task is redone", "1 tasks run, 3 skipped" in p.stdout, show(p))
S.check("identical after redoing it", same(ref["baseline_r001"],
                                           datasets(os.path.join(full, "baseline_r001.h5"))))

# Sweeps know their inputs: after a change of the sweep file, resume runs
# again exactly the tasks whose scenario changed (named in a warning), and an
# unchanged sweep file skips them all.
chg = S.path("changed")
os.makedirs(chg)
ccfg = os.path.join(chg, "c.cfg")
with open(SMOKE) as fh:
    smoke_text = fh.read().replace('"../wales_baseline.cfg"', '"%s"' % os.path.join(
        S.source, "scenarios", "wales_baseline.cfg"))
with open(ccfg, "w") as fh:
    fh.write(smoke_text)
cout = os.path.join(chg, "out")
p = S.run(["sweep", ccfg, "-o", cout, "-q"], timeout=300)
S.check("sweep before the change: 4 tasks run", "4 tasks run, 0 skipped" in p.stdout, show(p))
with open(ccfg, "w") as fh:
    fh.write(smoke_text.replace("simulation.persons=20000", "simulation.persons=21000"))
p = S.run(["sweep", ccfg, "-o", cout, "-q", "--task", "0"], timeout=300)
S.check("--task 0 after the change reruns it",
        "1 tasks run, 0 skipped" in p.stdout and "index waits" in p.stdout, show(p))
S.check("the rerun is named with the changed setting",
        os.path.join(cout, "baseline_r000.h5") + ": was run with other settings" in p.stderr and
        "simulation.persons: 20000 -> 21000" in p.stderr, show(p))
S.check("the stale index is removed", not os.path.exists(os.path.join(cout, "sweep.h5")),
        str(os.listdir(cout)))
p = S.run(["sweep", ccfg, "-o", cout, "-q"], timeout=300)
S.check("resume after the change reruns the other 3 tasks",
        p.returncode == 0 and "3 tasks run, 1 skipped" in p.stdout and
        "index written" in p.stdout, show(p))
for n in NAMES:
    with h5py.File(os.path.join(cout, n + ".h5"), "r") as f:
        S.check("%s holds the new persons" % n, int(f.attrs["n_persons"]) == 21000,
                str(f.attrs["n_persons"]))
        S.check("%s records the new persons in its scenario" % n,
                "persons = 21000;" in sval(f.attrs["scenario_text"]))
with h5py.File(os.path.join(cout, "sweep.h5"), "r") as f:
    new_hashes = {r["point"].decode() + "_r%03d" % r["replicate"]: r["scenario_sha256"].decode()
                  for r in f["tidy"][()]}
    S.check("the index records the new hashes and sweep file",
            all(new_hashes[n] != hashes[n] for n in NAMES) and
            "persons=21000" in sval(f.attrs["sweep_text"]), str(new_hashes))
p = S.run(["sweep", ccfg, "-o", cout, "-q"], timeout=300)
S.check("unchanged sweep file: every task skipped", "0 tasks run, 4 skipped" in p.stdout and
        "was run with other settings" not in p.stderr, show(p))
# A change to one point only reruns that point's tasks.
with open(ccfg, "w") as fh:
    fh.write(smoke_text.replace("simulation.persons=20000", "simulation.persons=21000")
             .replace("referral.probability=0.02", "referral.probability=0.03"))
p = S.run(["sweep", ccfg, "-o", cout, "-q"], timeout=300)
S.check("a change to one point reruns its 2 tasks only", "2 tasks run, 2 skipped" in p.stdout and
        "programmes.ips.referral.probability: 0.02 -> 0.03" in p.stderr, show(p))

# --task N alone, as a Slurm array would run it.
single = S.path("single")
for t, n in enumerate(NAMES):
    p = S.run(["sweep", SMOKE, "-o", single, "--task", str(t), "-q"], timeout=300)
    S.check("--task %d exits 0" % t, p.returncode == 0, show(p))
    S.check("--task %d equals the full sweep's file" % t,
            same(ref[n], datasets(os.path.join(single, n + ".h5"))))
    if t < 3:
        S.check("index waits until task %d of 3" % t,
                not os.path.exists(os.path.join(single, "sweep.h5")))
S.check("index written after the last task", os.path.exists(os.path.join(single, "sweep.h5")))

# Paired comparison from the index.
p = S.run(["compare", idx, "baseline", "ips_high_fidelity"])
S.check("compare exits 0", p.returncode == 0, show(p))
S.check("compare pairs 2 replicates", "2 replicates paired" in p.stdout, show(p))
line = [l for l in p.stdout.splitlines() if l.startswith("employment_rate_end")]
S.check("compare prints the employment difference", len(line) == 1, show(p))
if line:
    parts = line[0].replace("[", " ").replace("]", " ").replace(",", " ").split()
    a, b, d = float(parts[1]), float(parts[2]), float(parts[3])
    with h5py.File(idx, "r") as f:
        tidy = f["tidy"][()]
    ea = np.mean([r["employment_rate_end"] for r in tidy if r["point"] == b"baseline"])
    eb = np.mean([r["employment_rate_end"] for r in tidy if r["point"] == b"ips_high_fidelity"])
    S.check("compare means equal the tidy table's", abs(a - ea) < 1e-5 and abs(b - eb) < 1e-5,
            "%r %r %r %r" % (a, ea, b, eb))
    S.check("compare difference is B - A", abs(d - (eb - ea)) < 1e-5, "%r %r" % (d, eb - ea))
p = S.run(["compare", idx, "baseline", "nosuchpoint"])
S.check("compare unknown point: exit 2", p.returncode == 2, show(p))
S.check("compare unknown point: named", "nosuchpoint" in p.stderr, show(p))
p = S.run(["compare", SMOKE, "baseline", "ips_high_fidelity"])
S.check("compare on a non-HDF5 file: exit 4", p.returncode == 4, show(p))

# /tidy's strings are variable-length UTF-8 covered by its strings_crc32
# (docs/output-format.md, "Integrity"): an index written before, with
# fixed-length strings and no checksum, reads the same; a changed string
# (in HDF5's global heap, not checksummed by HDF5) is damage, exit 4.
with h5py.File(idx, "r") as f:
    t = f["tidy"]
    kinds = [h5py.check_string_dtype(t.dtype[c]) for c in ("point", "seed", "overrides",
                                                           "scenario_sha256")]
    S.check("tidy strings: variable-length UTF-8",
            all(k is not None and k.length is None and k.encoding == "utf-8" for k in kinds),
            str(t.dtype))
    S.check("tidy has strings_crc32", "strings_crc32" in t.attrs)
    tidy = t[()]
    seed0 = tidy[0]["seed"]
want_d = S.run(["describe", idx])
want_c = S.run(["compare", idx, "baseline", "ips_high_fidelity"])
old_idx = os.path.join(full, "old_index.h5")  # beside the task files, as describe wants
shutil.copy(idx, old_idx)
with h5py.File(old_idx, "r+") as f:
    sizes = {"point": 64, "seed": 24, "overrides": 256, "scenario_sha256": 65}
    fixed = np.empty(tidy.shape, np.dtype([(k, "S%d" % sizes[k]) if k in sizes
                                           else (k, tidy.dtype[k]) for k in tidy.dtype.names]))
    for k in tidy.dtype.names:
        fixed[k] = tidy[k]
    del f["tidy"]
    f["tidy"] = fixed
p = S.run(["describe", old_idx])
S.check("an index with fixed-length strings: describe reads it the same",
        p.returncode == 0 and p.stdout.replace(old_idx, idx) == want_d.stdout, show(p))
p = S.run(["compare", old_idx, "baseline", "ips_high_fidelity"])
S.check("an index with fixed-length strings: compare reads it the same",
        p.returncode == 0 and p.stdout.replace(old_idx, idx) == want_c.stdout, show(p))
data = open(idx, "rb").read()
at = [m.start() for m in re.finditer(re.escape(seed0), data)]
S.check("the tidy seed string is in the index", len(at) >= 1, str(at))
b = bytearray(data)
for k in at:
    b[k] = ord("1") if b[k] != ord("1") else ord("2")
with open(old_idx, "wb") as fh:
    fh.write(b)
for cmd in (["describe", old_idx], ["compare", old_idx, "baseline", "ips_high_fidelity"]):
    p = S.run(cmd)
    S.check("a changed tidy string: %s exits 4, /tidy named as damaged" % cmd[0],
            p.returncode == 4 and "is damaged: /tidy does not match" in p.stderr, show(p))
os.remove(old_idx)

# Errors.
p = S.run(["sweep", SMOKE, "-o", S.path("range"), "--task", "4"])
S.check("task out of range: exit 2", p.returncode == 2, show(p))
S.check("task out of range: no files", not os.path.exists(S.path("range")) or
        not os.listdir(S.path("range")))

# The output folder is created with its parents; a file in the way is named.
nested = os.path.join(S.path("nested"), "a", "b")
p = S.run(["sweep", SMOKE, "-o", nested, "--task", "0", "-q"], timeout=300)
S.check("output folder created with its parents", p.returncode == 0 and
        os.path.exists(os.path.join(nested, "baseline_r000.h5")), show(p))
blocker = S.path("blocker")
open(blocker, "w").close()
p = S.run(["sweep", SMOKE, "-o", os.path.join(blocker, "x"), "--task", "0", "-q"])
S.check("a file where the output folder goes: exit 4, named", p.returncode == 4 and
        "cannot create output folder '%s': a file of that name exists" % blocker in p.stderr,
        show(p))


def bad_sweep(name, text, code, mention):
    d = S.path("bad_" + name)
    os.makedirs(d)
    f = os.path.join(d, "s.cfg")
    with open(f, "w") as fh:
        fh.write(text.replace("BASE", os.path.join(S.source, "scenarios", "wales_baseline.cfg")))
    out = os.path.join(d, "out")
    p = S.run(["sweep", f, "-o", out, "-q"])
    S.check("%s: exit %d" % (name, code), p.returncode == code, show(p))
    S.check("%s: message mentions %r" % (name, mention), mention in p.stderr, show(p))
    S.check("%s: no output" % name, not os.path.exists(out) or not os.listdir(out))


good = ('sweep = { base = "BASE"; replicates = 1; seed = 1;\n'
        '  set = [ "simulation.persons=1000", "simulation.months=2" ];\n'
        '  points = ( { name = "a"; set = [ ]; } ); };\n')
bad_sweep("unknown_key", good.replace("seed = 1;", "seed = 1; replicats = 2;"), 3, "replicats")
bad_sweep("no_base", good.replace('base = "BASE";', ""), 3, "base")
bad_sweep("bad_override", good.replace('set = [ ]', 'set = [ "market.matching_elasticity=5" ]'),
          3, "matching_elasticity")
bad_sweep("zero_replicates", good.replace("replicates = 1", "replicates = 0"), 3, "replicates")
bad_sweep("syntax", good.replace("};\n", "\n"), 3, "s.cfg:")
bad_sweep("points_and_grid", good.replace("points = (", 'grid = ( { path = "x"; values = [1]; } ); points = ('), 3, "exactly one")

# Kill mid-way, then resume: the files equal an uninterrupted sweep's.
import signal
import subprocess
import time
kdir = S.path("kill")
os.makedirs(kdir)
kcfg = os.path.join(kdir, "k.cfg")
with open(kcfg, "w") as fh:
    fh.write(good.replace("simulation.persons=1000", "simulation.persons=300000")
             .replace("simulation.months=2", "simulation.months=24")
             .replace("replicates = 1", "replicates = 3")
             .replace("BASE", os.path.join(S.source, "scenarios", "wales_baseline.cfg")))
kout = os.path.join(kdir, "out")
proc = subprocess.Popen([S.binary, "sweep", kcfg, "-o", kout, "-q"], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
first = os.path.join(kout, "a_r000.h5")
deadline = time.time() + 120
while time.time() < deadline and not os.path.exists(first) and proc.poll() is None:
    time.sleep(0.05)
time.sleep(0.3)
proc.send_signal(signal.SIGINT)
out, err = proc.communicate(timeout=120)
S.check("interrupted sweep exits 130", proc.returncode == 130, "exit %s %s" % (proc.returncode, err))
left = sorted(os.listdir(kout))
S.check("no temporary file left by the interrupt", not [f for f in left if ".tmp" in f], str(left))
S.check("interrupted before the end", "sweep.h5" not in left and len(left) < 3, str(left))
p = S.run(["sweep", kcfg, "-o", kout, "-q"], timeout=300)
S.check("resumed sweep exits 0", p.returncode == 0, show(p))
p = S.run(["sweep", kcfg, "-o", os.path.join(kdir, "ref"), "-q"], timeout=300)
S.check("uninterrupted sweep exits 0", p.returncode == 0, show(p))
for r in range(3):
    n = "a_r%03d.h5" % r
    S.check("%s after kill + resume equals the uninterrupted one" % n,
            same(datasets(os.path.join(kout, n)), datasets(os.path.join(kdir, "ref", n))))

# Parameter uncertainty: drawn per replicate, the same for every point of a
# replicate, recorded in each task's scenario text.
unc = S.path("unc")
os.makedirs(unc)
cfg = os.path.join(unc, "u.cfg")
with open(cfg, "w") as fh:
    fh.write(good.replace("seed = 1;", "seed = 5; replicates_ = 0;").replace(" replicates_ = 0;", "")
             .replace("replicates = 1", "replicates = 3")
             .replace('points = ( { name = "a"; set = [ ]; } );',
                      'points = ( { name = "a"; set = [ ]; }, { name = "b"; set = [ ]; } );\n'
                      '  uncertain = ( { path = "market.matching_elasticity"; dist = "uniform"; '
                      'lo = 0.3; hi = 0.5; },\n'
                      '    { path = "programmes.ips.effects.job_finding_or"; dist = "lognormal_ci"; '
                      'lo = 1.46; hi = 1.82; } );')
             .replace("BASE", os.path.join(S.source, "scenarios", "wales_baseline.cfg")))
p = S.run(["sweep", cfg, "-o", os.path.join(unc, "out"), "-q"], timeout=300)
S.check("uncertainty sweep exits 0", p.returncode == 0, show(p))


def drawn(point, rep):
    path = os.path.join(unc, "out", "%s_r%03d.h5" % (point, rep))
    with h5py.File(path, "r") as f:
        text = f.attrs["scenario_text"]
    text = text.decode() if isinstance(text, bytes) else text
    vals = {}
    for ln in text.splitlines():
        ln = ln.strip()
        if ln.startswith("matching_elasticity") or ln.startswith("job_finding_or"):
            key, val = ln.rstrip(";").split("=")
            vals.setdefault(key.strip(), []).append(float(val))
    return vals


if p.returncode == 0:
    d = {(pt, r): drawn(pt, r) for pt in "ab" for r in range(3)}
    els = [d[("a", r)]["matching_elasticity"][0] for r in range(3)]
    S.check("uniform draws inside [0.3, 0.5]", all(0.3 <= e <= 0.5 for e in els), str(els))
    S.check("draws differ between replicates", len(set(els)) == 3, str(els))
    S.check("draws equal across points of a replicate",
            all(d[("a", r)] == d[("b", r)] for r in range(3)), str(d))
    ors = [max(d[("a", r)]["job_finding_or"]) for r in range(3)]
    S.check("log-normal draws positive and plausible", all(1.0 < o < 3.0 for o in ors), str(ors))
S.finish()
