"""docs/cluster.md's Slurm job-array script for sweeps runs as written.

The submit command and the ```bash block of the section "### Slurm job
array" are taken from the markdown and run, unchanged, in a scratch lmsim
folder under a small Slurm emulation:

- `sbatch` is a shim on PATH that reads the script's #SBATCH lines, opens
  the --output log as Slurm does (%x job name, %A array job id, %a array
  index, %j job id; a log folder that does not exist fails the element
  without running it, as it fails a Slurm job), then runs the script once
  per array index with SLURM_ARRAY_TASK_ID, SLURM_ARRAY_JOB_ID,
  SLURM_JOB_ID, SLURM_JOB_NAME and SLURM_CPUS_PER_TASK set, one after the
  other, and records each element's exit status (like sacct);
- the scratch folder holds a copy of scenarios/, in which the sweep the
  script names (scenarios/sweeps/ips_capacity.cfg) is made small (2,000
  persons, 2 months; its 90 tasks stay), and build/engine/lmsim, a link to
  the program under test.

Checks: the emulation fails without logs/ (so it would catch docs that
forget it); the documented submit command runs every element with exit 0,
one log each; every task file and the index appear, the index written by
the last element; resubmitting after two task files are lost reruns only
those two tasks, as the docs say.
"""
import os
import re
import shutil
import subprocess
import sys

import h5py

from e2e_common import Suite

S = Suite("cluster_docs")

SHIM = r'''#!/usr/bin/env python3
"""sbatch emulation for tests: run an array job's elements here and now."""
import os, re, subprocess, sys
script = sys.argv[-1]
text = open(script).read()
opts = dict(re.findall(r"^#SBATCH --([a-z-]+)=(\S+)", text, re.M))
name = opts.get("job-name", os.path.basename(script))
lo, hi = (opts["array"].split("-") + [None])[:2] if "array" in opts else ("0", None)
lo = int(lo); hi = int(hi) if hi is not None else lo
job = 1000
print("Submitted batch job %d" % job, flush=True)
with open("slurm-status.txt", "a") as st:
    for k in range(lo, hi + 1):
        jid = job + 1 + k - lo
        log = (opts.get("output", "slurm-%j.out").replace("%x", name).replace("%A", str(job))
               .replace("%a", str(k)).replace("%j", str(jid)))
        try:
            fh = open(log, "w")
        except OSError as e:  # Slurm: the job fails before the script starts, no log
            st.write("%d FAILED cannot open %s: %s\n" % (k, log, e.strerror))
            continue
        env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(k), SLURM_ARRAY_JOB_ID=str(job),
                   SLURM_JOB_ID=str(jid), SLURM_JOB_NAME=name,
                   SLURM_CPUS_PER_TASK=opts.get("cpus-per-task", "1"))
        rc = subprocess.call(["bash", script], stdout=fh, stderr=subprocess.STDOUT, env=env)
        fh.close()
        st.write("%d %s %d\n" % (k, "COMPLETED" if rc == 0 else "FAILED", rc))
'''

# The section as written.
with open(os.path.join(S.source, "docs", "cluster.md")) as fh:
    doc = fh.read()
m = re.search(r"^### Slurm job array\n(.*?)(?=^#{2,3} )", doc, re.M | re.S)
S.check("docs/cluster.md has the section 'Slurm job array'", m is not None)
section = m.group(1) if m else ""
submit = re.search(r"^    (mkdir -p logs && sbatch (\S+))$", section, re.M)
block = re.search(r"```bash\n(.*?)```", section, re.S)
S.check("the section gives the submit command with mkdir -p logs", submit is not None, section)
S.check("the section gives the script", block is not None, section)
if not (submit and block):
    S.finish()
script_name, script = submit.group(2), block.group(1)
array = re.search(r"^#SBATCH --array=(\d+)-(\d+)$", script, re.M)
S.check("the script is an array job", array is not None, script)
sweep_rel = re.search(r"lmsim sweep (\S+)", script)
S.check("the script runs a sweep", sweep_rel is not None, script)
if not (array and sweep_rel):
    S.finish()
n_elements = int(array.group(2)) - int(array.group(1)) + 1

# A scratch lmsim folder: scenarios (the sweep made small), the program.
w = S.path("lmsim")
shutil.copytree(os.path.join(S.source, "scenarios"), os.path.join(w, "scenarios"))
os.makedirs(os.path.join(w, "build", "engine"))
os.symlink(S.binary, os.path.join(w, "build", "engine", "lmsim"))
sweep_path = os.path.join(w, sweep_rel.group(1))
with open(sweep_path) as fh:
    sweep = fh.read()
small = sweep.replace('set = [ ', 'set = [ "simulation.persons=2000", "simulation.months=2", ', 1)
S.check("the sweep's overrides can be made small", small != sweep)
with open(sweep_path, "w") as fh:
    fh.write(small)
out_dir = re.search(r'output = "([^"]+)"', small).group(1)
with open(os.path.join(w, script_name), "w") as fh:
    fh.write(script)
os.makedirs(os.path.join(w, "bin"))
shim = os.path.join(w, "bin", "sbatch")
with open(shim, "w") as fh:
    fh.write(SHIM.replace("/usr/bin/env python3", sys.executable))
os.chmod(shim, 0o755)
env = dict(os.environ, PATH=os.path.join(w, "bin") + os.pathsep + os.environ["PATH"])


def submit_as(cmd):
    """Run cmd in the scratch folder; the elements' statuses by index."""
    status = os.path.join(w, "slurm-status.txt")
    if os.path.exists(status):
        os.remove(status)
    p = subprocess.run(["bash", "-c", cmd], cwd=w, env=env, capture_output=True, text=True,
                       timeout=280)
    lines = open(status).read().split("\n") if os.path.exists(status) else []
    return p, {int(ln.split()[0]): ln.split(None, 1)[1] for ln in lines if ln.strip()}


def log_of(k):
    return os.path.join(w, "logs", "lmsim-sweep-1000_%d.out" % k)


# The emulation fails a job whose log folder is missing, as Slurm does.
p, st = submit_as("sbatch %s" % script_name)
S.check("without logs/ every element fails before the script runs",
        len(st) == n_elements and all(v.startswith("FAILED cannot open") for v in st.values()),
        "%s %s" % (p.stderr, list(st.items())[:2]))
S.check("without logs/ no task ran", not os.path.exists(os.path.join(w, out_dir)))

# As documented.
p, st = submit_as(submit.group(1))
S.check("submit as documented: exit 0", p.returncode == 0, p.stderr)
bad = {k: v for k, v in st.items() if v != "COMPLETED 0"}
S.check("every one of the %d elements completes with exit 0" % n_elements,
        len(st) == n_elements and not bad, str(list(bad.items())[:3]))
for k in (0, n_elements - 1):
    S.check("element %d wrote its log" % k, os.path.exists(log_of(k)))
files = sorted(f for f in os.listdir(os.path.join(w, out_dir)) if f.endswith(".h5"))
S.check("%d task files and the index" % n_elements,
        len(files) == n_elements + 1 and "sweep.h5" in files, str(files[:5]))
with open(log_of(n_elements - 1)) as fh:
    last = fh.read()
S.check("the last element writes the index", "1 tasks run, 0 skipped" in last and
        "index written" in last, last[-500:])
with h5py.File(os.path.join(w, out_dir, "sweep.h5"), "r") as f:
    S.check("the index has one row per element", f["tidy"].shape[0] == n_elements)

# Resubmitting after failures reruns only the missing tasks.
lost = ["g000_r003.h5", "g008_r009.h5"]
for name in lost:
    os.remove(os.path.join(w, out_dir, name))
os.remove(os.path.join(w, out_dir, "sweep.h5"))
p, st = submit_as(submit.group(1))
S.check("resubmitted: every element completes", len(st) == n_elements and
        all(v == "COMPLETED 0" for v in st.values()), str(list(st.items())[:3]))
reran = []
for k in range(n_elements):
    with open(log_of(k)) as fh:
        text = fh.read()
    if "1 tasks run" in text:
        reran.append(k)
    elif "0 tasks run, 1 skipped" not in text:
        S.check("element %d log says run or skipped" % k, False, text[-300:])
S.check("resubmitted: only the two lost tasks run again", reran == [3, 89], str(reran))
S.check("resubmitted: the index is back",
        os.path.exists(os.path.join(w, out_dir, "sweep.h5")))
S.finish()
