"""`mpirun -np 2 lmsim sweep` gives the same files as the sweep without MPI.

Run only in a build with -DLMSIM_MPI=ON. Tasks are handed out dynamically
(one-sided fetch-and-add on rank 0), so which rank runs which task varies;
the files must not.
"""
import os

from e2e_common import SMOKE_TASKS, Suite, datasets, same, show, smoke_sweep

S = Suite("sweep_mpi")
SMOKE = smoke_sweep(S)
NAMES = SMOKE_TASKS


serial = S.path("serial")
p = S.run(["sweep", SMOKE, "-o", serial, "-q"], timeout=300)
S.check("serial sweep exits 0", p.returncode == 0, show(p))
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMP_NUM_THREADS="1")
import subprocess
mpi = S.path("mpi")
q = subprocess.run(["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none", S.binary,
                    "sweep", SMOKE, "-o", mpi], capture_output=True, text=True, env=env,
                   timeout=300)
S.check("mpirun -np 2 sweep exits 0", q.returncode == 0, show(q))
S.check("both ranks ran tasks", "[rank 0/2]" in q.stderr and "[rank 1/2]" in q.stderr, show(q))
S.check("MPI sweep ran 4 tasks", "4 tasks run" in q.stdout, show(q))
for n in NAMES:
    a, b = os.path.join(serial, n + ".h5"), os.path.join(mpi, n + ".h5")
    S.check("%s identical with and without MPI" % n,
            os.path.exists(b) and same(datasets(a), datasets(b)))
S.check("index written by the MPI sweep", os.path.exists(os.path.join(mpi, "sweep.h5")))
S.finish()
