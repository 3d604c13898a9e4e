"""End-to-end: the lmsim command line follows GNU conventions (issue 11, item 4).

- `--opt=value` and `--opt value` mean the same; options may come before or
  after the arguments; `--` ends the options; unambiguous abbreviations of
  long options work, ambiguous ones are usage errors naming the option;
- every command has its own `--help` (`lmsim run --help`, `lmsim help run`)
  and the global help and the no-argument message list every command;
- `check` takes the scenario options of run (--seed, --persons, --months,
  --panel, --trial, --set) and rejects run-only ones (-o, --threads);
- `check --json` prints the normalised scenario (after @include, base and
  overrides) as JSON that Python's json module parses, with the overrides'
  values and floats kept floats; on an invalid scenario nothing on stdout;
- the bash completion script (engine/cli/lmsim.bash-completion) lists for
  each command exactly the options its --help documents, every one of which
  the parser accepts, and completes commands and option values;
- usage errors exit 2 with a hint to --help and write nothing.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, show  # noqa: E402

S = Suite("cli")
EXIT_USAGE, EXIT_SCENARIO = 2, 3
COMMANDS = ["run", "check", "describe", "sweep", "compare", "validate", "calibrate"]
COMPLETION = os.path.join(S.source, "engine", "cli", "lmsim.bash-completion")


def ok_line(p):
    m = re.search(r"OK: scenario '[^']*', (\d+) persons, (\d+) months", p.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else None


# ---- version and help -------------------------------------------------------
p = S.run(["--version"])
S.check("--version: 'lmsim X.Y.Z'", p.returncode == 0 and re.match(r"^lmsim \d+\.\d+\.\d+\n$",
                                                                    p.stdout), show(p))
p = S.run(["run", "--version"])
S.check("run --version: the version too", p.returncode == 0 and p.stdout.startswith("lmsim "),
        show(p))
p = S.run(["--help"])
S.check("--help: exit 0", p.returncode == 0, show(p))
for cmd in COMMANDS:
    S.check("--help lists 'lmsim %s'" % cmd, ("lmsim %s " % cmd) in p.stdout, show(p))
p = S.run([])
S.check("no arguments: exit 2", p.returncode == EXIT_USAGE, show(p))
for cmd in COMMANDS:
    S.check("no arguments: lists %s" % cmd, re.search(r"^\s+%s\s" % cmd, p.stderr, re.M), show(p))
S.check("no arguments: hint to --help", "lmsim --help" in p.stderr, show(p))

helps = {}
for cmd in COMMANDS:
    p = S.run([cmd, "--help"])
    S.check("%s --help: exit 0, its own usage" % cmd,
            p.returncode == 0 and p.stdout.startswith("Usage: lmsim %s " % cmd), show(p))
    helps[cmd] = p.stdout
    q = S.run(["help", cmd])
    S.check("help %s = %s --help" % (cmd, cmd), q.returncode == 0 and q.stdout == p.stdout,
            show(q))
S.check("run --help: run's options, not calibrate's",
        "--persons N" in helps["run"] and "--free" not in helps["run"], helps["run"])
S.check("check --help: --json and the scenario options",
        all(o in helps["check"] for o in ("--json", "--months", "--persons", "--seed", "--set")),
        helps["check"])
p = S.run(["help", "nosuch"])
S.check("help nosuch: exit 2 naming it", p.returncode == EXIT_USAGE and "nosuch" in p.stderr,
        show(p))
p = S.run(["check", S.tiny, "--help"])
S.check("--help after arguments: help, exit 0", p.returncode == 0 and "Usage" in p.stdout,
        show(p))

# ---- --opt=value, order, --, abbreviations ----------------------------------
p = S.run(["check", S.tiny, "--persons=1234", "--months", "3"])
S.check("check --persons=1234 --months 3", p.returncode == 0 and ok_line(p) == (1234, 3), show(p))
p = S.run(["check", "--months=5", "--set=simulation.persons=77", S.tiny])
S.check("options before the scenario, --set=path=value",
        p.returncode == 0 and ok_line(p) == (77, 5), show(p))
p = S.run(["check", "--pers=55", S.tiny])
S.check("abbreviation --pers=55", p.returncode == 0 and ok_line(p) == (55, 24), show(p))
p = S.run(["check", "--seed", "7", "--panel=none", S.tiny])
S.check("check --seed, --panel=none", p.returncode == 0 and ok_line(p) is not None, show(p))
p = S.run(["check", S.tiny, "--persons", "10", "--set", "simulation.persons=20"])
S.check("shortcuts and --set apply in order (last wins)",
        p.returncode == 0 and ok_line(p) == (20, 24), show(p))
p = S.run(["check", "--", S.tiny])
S.check("-- then the scenario", p.returncode == 0 and ok_line(p) is not None, show(p))
p = S.run(["check", S.tiny, "--", "--persons=3"])
S.check("after --, options are arguments", p.returncode == EXIT_USAGE
        and "unexpected argument '--persons=3'" in p.stderr, show(p))

out_a, out_b = S.path("a.h5"), S.path("b.h5")
pa = S.run(["run", S.tiny, "-o", out_a, "--persons", "40", "--months", "3", "-q"])
pb = S.run(["run", "--output=" + out_b, "--persons=40", "--months=3", "--quiet", S.tiny])
strip = lambda t: re.sub(r"\(\d+\.\d+ s\)|Output: .*", "", t)  # noqa: E731
S.check("run: --opt=value and options first give the same run",
        pa.returncode == 0 and pb.returncode == 0 and strip(pa.stdout) == strip(pb.stdout)
        and os.path.exists(out_a) and os.path.exists(out_b), show(pa) + show(pb))

# ---- usage errors -----------------------------------------------------------
u = S.path("usage")
os.makedirs(u)
uo = os.path.join(u, "x.h5")
usage = [
    ("check -o (a run option that writes)", ["check", S.tiny, "-o", uo], "-o"),
    ("check --threads", ["check", S.tiny, "--threads", "2"], "--threads"),
    ("flag with a value", ["run", S.tiny, "-o", uo, "--quiet=yes"], "--quiet=yes"),
    ("value missing at the end", ["run", S.tiny, "-o", uo, "--persons"], "--persons"),
    ("-o missing its file", ["run", S.tiny, "-o"], "-o needs"),
    ("ambiguous abbreviation", ["calibrate", S.tiny, "--m", "3"], "ambiguous"),
    ("unknown short option", ["run", S.tiny, "-o", uo, "-x"], "-x"),
    ("bad value given with =", ["run", S.tiny, "-o", uo, "--threads=0"], "--threads"),
    ("sweep option in run", ["run", S.tiny, "-o", uo, "--task", "1"], "--task"),
]
for name, args, needle in usage:
    p = S.run(args)
    S.check("usage %s: exit 2" % name, p.returncode == EXIT_USAGE, show(p))
    S.check("usage %s: names %r" % (name, needle), needle in p.stderr, show(p))
    S.check("usage %s: hints at the command's --help" % name,
            "lmsim --help" in p.stderr and ("lmsim %s --help" % args[0]) in p.stderr, show(p))
S.check("usage: nothing written", os.listdir(u) == [], str(os.listdir(u)))

# ---- check --json -------------------------------------------------------------
p = S.run(["check", "--json", S.tiny, "--set", "simulation.persons=4321", "--months=7",
           "--set", "market.matching_elasticity=1"])
S.check("check --json: exit 0", p.returncode == 0, show(p))
try:
    d = json.loads(p.stdout)
except ValueError as e:
    d = None
    S.check("check --json: stdout is JSON", False, "%s: %s" % (e, p.stdout[:400]))
if d is not None:
    S.check("check --json: stdout is JSON (an object)", isinstance(d, dict))
    S.check("check --json: simulation.persons after --set",
            d.get("simulation", {}).get("persons") == 4321, str(d.get("simulation")))
    S.check("check --json: simulation.months after --months",
            d.get("simulation", {}).get("months") == 7, str(d.get("simulation")))
    me = d.get("market", {}).get("matching_elasticity")
    S.check("check --json: an integer given for a float setting stays a float",
            isinstance(me, float) and me == 1.0, repr(me))
    S.check("check --json: the scenario name", d.get("name") == "e2e_tiny", repr(d.get("name")))
    S.check("check --json: no OK line", "OK:" not in p.stdout)
    # The JSON is the run file's scenario_text, parsed.
    try:
        import h5py
        with h5py.File(out_a, "r") as f:
            text = f.attrs["scenario_text"]
            text = text.decode() if isinstance(text, bytes) else str(text)
        q = S.run(["check", "--json", S.tiny, "--persons", "40", "--months", "3"])
        tf = S.path("from_run.cfg")
        with open(tf, "w") as f:
            f.write(text)
        r = S.run(["check", "--json", tf])
        S.check("check --json of a run's scenario_text = check --json with its options",
                q.returncode == 0 and r.returncode == 0 and json.loads(q.stdout) ==
                json.loads(r.stdout), show(q) + show(r))
    except ImportError:
        S.check("h5py available", False, "python3-h5py missing")
wales = os.path.join(S.source, "scenarios", "wales_devolved_ips.cfg")
p = S.run(["check", "--json", wales])
try:
    w = json.loads(p.stdout)
    S.check("check --json of a derived scenario (base merged): parses, has programmes",
            p.returncode == 0 and "base" not in w and "programmes" in w, show(p))
except ValueError as e:
    S.check("check --json of a derived scenario parses", False, "%s %s" % (e, show(p)))
bad = S.path("bad.cfg")
with open(bad, "w") as f:
    f.write(open(S.tiny).read().replace("persons", "persns", 1))
p = S.run(["check", "--json", bad])
S.check("check --json of an invalid scenario: exit 3, nothing on stdout",
        p.returncode == EXIT_SCENARIO and p.stdout == "", show(p))

# ---- bash completion ----------------------------------------------------------
S.check("completion script exists", os.path.exists(COMPLETION), COMPLETION)


def bash(script):
    return subprocess.run(["bash", "-c", "source %s\n%s" % (COMPLETION, script)],
                          capture_output=True, text=True)


def complete(*words):
    ws = " ".join("'%s'" % w for w in words)
    p = bash("COMP_WORDS=(%s); COMP_CWORD=%d; _lmsim; printf '%%s\\n' \"${COMPREPLY[@]}\""
             % (ws, len(words) - 1))
    return p.stdout.split()


OPT_RE = re.compile(r"(?<![\w.-])(--[a-z][a-z-]*|-[a-z])(?![\w-])")
for cmd in COMMANDS:
    listed = set(bash("_lmsim_options %s" % cmd).stdout.split())
    documented = set(OPT_RE.findall(helps[cmd])) | {"--help", "--version"}
    S.check("completion of %s = the options of %s --help" % (cmd, cmd), listed == documented,
            "completion only: %s; help only: %s" % (sorted(listed - documented),
                                                    sorted(documented - listed)))
    for opt in sorted(listed - {"--help", "--version"}):
        p = S.run([cmd, opt])
        S.check("%s accepts %s" % (cmd, opt), p.returncode == EXIT_USAGE and
                "unknown option" not in p.stderr and "ambiguous" not in p.stderr, show(p))
S.check("completes commands", set(complete("lmsim", "")) >= set(COMMANDS),
        str(complete("lmsim", "")))
S.check("completes 'ch' to check", complete("lmsim", "ch") == ["check"], str(complete("lmsim", "ch")))
S.check("completes check --j to --json", complete("lmsim", "check", "--j") == ["--json"])
S.check("completes --panel values", complete("lmsim", "run", "--panel", "") ==
        ["full", "none", "sample:"], str(complete("lmsim", "run", "--panel", "")))
S.check("completes --require=t", complete("lmsim", "validate", "--require=t") == ["tuned"],
        str(complete("lmsim", "validate", "--require=t")))
S.finish()
