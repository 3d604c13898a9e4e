"""A damaged run file is a clear error, never a crash, a hang or garbled output.

HDF5 1.10 used to segfault or spin in `describe` on bit flips in a run file.
Files are now written in the 1.10 file format (metadata checksums), with a
Fletcher-32 checksum on every dataset but the panel, and a CRC-32 of the
root string attributes and of each table's strings (the global heap, where
variable-length strings live, is not checksummed). This test
flips one random bit at a time in a small run file (fixed seed, 400 flips)
and runs `lmsim describe` on each copy: it must exit 0 with exactly the
original output (the flip hit unused space or panel data, which describe
does not read) or exit 4 (damage found), within 20 s, never by a signal.

Known limitation, left out of the flips: the headers of HDF5 global heap
collections (where variable-length strings live). HDF5 1.10.8 does not
checksum them and loops forever on some damaged ones (a free-space object
of size 0 in H5HG deserialisation); docs/output-format.md says so. The
only remedy would be a file without a global heap, which the
variable-length strings of the root attributes and tables rule out. The
skip finds every collection, the tables' strings included.
"""
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, show  # noqa: E402

S = Suite("damaged_files")
EXIT_IO = 4
good = S.path("good.h5")
p = S.run(["run", S.tiny, "-o", good, "-q", "--months", "6", "--panel", "sample:0.05"])
S.check("the run file is written", p.returncode == 0 and os.path.exists(good), show(p))
ref = S.run(["describe", good])
S.check("describe reads it", ref.returncode == 0, show(ref))
want = ref.stdout.replace(good, "FILE")

data = open(good, "rb").read()


def global_heap_headers(data):
    """Byte offsets of every global heap collection header and object header."""
    skip = set()
    at = data.find(b"GCOL")
    while at >= 0:
        size = int.from_bytes(data[at + 8:at + 16], "little")
        if data[at + 4] == 1 and 4096 <= size <= len(data) - at:
            skip.update(range(at, at + 16))
            p = at + 16
            while p + 16 <= at + size:
                skip.update(range(p, p + 16))
                idx = int.from_bytes(data[p:p + 2], "little")
                n = int.from_bytes(data[p + 8:p + 16], "little")
                if idx == 0:
                    break
                p += 16 + (n + 7) // 8 * 8
        at = data.find(b"GCOL", at + 4)
    return skip


skip = global_heap_headers(data)
rng = random.Random(20261130)
bad = S.path("bad.h5")
tally = {"same": 0, "error": 0}
problems = []
for k in range(400):
    pos, bit = rng.randrange(len(data)), 1 << rng.randrange(8)
    while pos in skip:
        pos = rng.randrange(len(data))
    b = bytearray(data)
    b[pos] ^= bit
    with open(bad, "wb") as f:
        f.write(b)
    try:
        q = subprocess.run([S.binary, "describe", bad], capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        problems.append("byte %d bit %d: no answer in 20 s" % (pos, bit))
        continue
    out = q.stdout.decode("utf-8", "replace").replace(bad, "FILE")
    if q.returncode < 0:
        problems.append("byte %d bit %d: killed by signal %d" % (pos, bit, -q.returncode))
    elif q.returncode == 0 and out != want:
        problems.append("byte %d bit %d: exit 0 with different output" % (pos, bit))
    elif q.returncode not in (0, EXIT_IO):
        problems.append("byte %d bit %d: exit %d" % (pos, bit, q.returncode))
    else:
        tally["same" if q.returncode == 0 else "error"] += 1
print("flips: %d read as the original, %d reported as damaged (%d global heap header bytes "
      "left out)" % (tally["same"], tally["error"], len(skip)))
S.check("400 bit flips: never a crash, a hang or garbled output", not problems,
        "; ".join(problems[:5]))
S.check("some damage is found (exit 4)", tally["error"] > 0, str(tally))
S.finish()
