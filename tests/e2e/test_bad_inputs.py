"""End-to-end: bad scenarios and bad command lines are rejected cleanly.

Each bad scenario is derived from tests/data/e2e_tiny.cfg by a text
substitution, written to a temp dir and run as `lmsim run BAD.cfg -o OUT.h5`.
Every case asserts the exit status (main.c: 2 usage, 3 invalid scenario,
4 I/O or HDF5), that stderr names the file, the line (where a line is
meaningful) and the setting path, and that neither OUT.h5 nor OUT.h5.tmp
(nor anything else) was left behind.
"""
import os
import re
import stat
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, show, tmp_files  # noqa: E402

S = Suite("bad_inputs")
BASE = open(S.tiny).read()

EXIT_USAGE, EXIT_SCENARIO, EXIT_IO = 2, 3, 4


def line_of(text, needle):
    """1-based line of the unique occurrence of needle in text."""
    i = text.index(needle)
    return text.count("\n", 0, i) + 1


def subst(old, new, text=BASE):
    n = text.count(old)
    if n != 1:
        raise SystemExit("test bug: %r occurs %d times in e2e_tiny.cfg" % (old, n))
    return text.replace(old, new)


def leftovers(case_dir, keep):
    return sorted(set(os.listdir(case_dir)) - set(keep))


def scenario_case(name, text, code, path=None, line=None, line_range=None, extra=(), sets=(),
                  file_in_msg=None, extra_files=None):
    """Write text as BAD.cfg in its own dir, run it, check exit/stderr/no output.

    path        setting path that stderr must contain (None: not checked)
    line        exact line that must appear as 'FILE:LINE:' (None: not checked)
    line_range  (lo, hi): 'FILE:N:' with lo <= N <= hi (syntax errors)
    extra       further substrings stderr must contain
    file_in_msg file name stderr must name (default: the scenario path)
    """
    d = S.path(name)
    os.makedirs(d)
    cfg = os.path.join(d, "bad.cfg")
    with open(cfg, "w") as f:
        f.write(text)
    for fname, ftext in (extra_files or {}).items():
        with open(os.path.join(d, fname), "w") as f:
            f.write(ftext)
    out = os.path.join(d, "out.h5")
    args = ["run", cfg, "-o", out, "-q"]
    for s in sets:
        args += ["--set", s]
    p = S.run(args)
    err = p.stderr
    S.check("%s: exit %d" % (name, code), p.returncode == code, show(p))
    fname = file_in_msg or cfg
    S.check("%s: stderr names the file" % name, fname in err, show(p))
    if line is not None:
        S.check("%s: stderr names line %d" % (name, line), ("%s:%d:" % (fname, line)) in err,
                show(p))
    if line_range is not None:
        m = re.search(re.escape(fname) + r":(\d+):", err)
        ok = m is not None and line_range[0] <= int(m.group(1)) <= line_range[1]
        S.check("%s: stderr names a line in %s" % (name, list(line_range)), ok, show(p))
    if path is not None:
        S.check("%s: stderr names setting '%s'" % (name, path), path in err, show(p))
    for e in extra:
        S.check("%s: stderr mentions %r" % (name, e), e in err, show(p))
    S.check("%s: no %s" % (name, os.path.basename(out)), not os.path.exists(out))
    S.check("%s: no %s.tmp*" % (name, os.path.basename(out)), not tmp_files(out))
    left = leftovers(d, ["bad.cfg"] + list((extra_files or {}).keys()))
    S.check("%s: nothing else written" % name, not left, "left behind: %s" % left)
    S.check("%s: one-line 'lmsim: error:' message" % name,
            err.startswith("lmsim: error: ") and "HDF5-DIAG" not in err, show(p))


# --------------------------------------------------------------------------
# Sanity: the base scenario is valid (otherwise every case below is moot).
p = S.run(["check", S.tiny])
S.check("check valid tiny scenario: exit 0", p.returncode == 0, show(p))
S.check("check valid tiny scenario: says OK", "OK" in p.stdout and "e2e_tiny" in p.stdout, show(p))

# 1. Syntax error: missing opening brace of `simulation`.
t = subst("simulation = {", "simulation =")
scenario_case("syntax_missing_brace", t, EXIT_SCENARIO,
              line_range=(line_of(BASE, "simulation = {"), line_of(BASE, "simulation = {") + 2),
              extra=("syntax",))

# 1b. Syntax error: missing closing brace of a group (error at a later line, still a line).
t = subst('  seed = 12345;\n};', '  seed = 12345;\n')
scenario_case("syntax_missing_close_brace", t, EXIT_SCENARIO,
              line_range=(line_of(BASE, "seed = 12345;"), len(BASE.splitlines()) + 1))

# 2. Unknown top-level key.
t = subst("simulation = {", "simulaton = {")
scenario_case("unknown_top_key", t, EXIT_SCENARIO, path="simulaton",
              line=line_of(t, "simulaton = {"), extra=("unknown setting",))

# 3. Unknown nested key.
t = subst("female_share = 0.5;", "female_shar = 0.5;")
scenario_case("unknown_nested_key", t, EXIT_SCENARIO, path="population.female_shar",
              line=line_of(t, "female_shar ="), extra=("unknown setting",))

# 4. Wrong type: a string for persons.
t = subst("persons = 20000;", 'persons = "many";')
scenario_case("wrong_type_persons", t, EXIT_SCENARIO, path="simulation.persons",
              line=line_of(t, "persons ="), extra=("integer",))

# 5. A float for an integer.
t = subst("months = 24;", "months = 24.5;")
scenario_case("float_for_integer", t, EXIT_SCENARIO, path="simulation.months",
              line=line_of(t, "months = 24.5"), extra=("integer",))

# 6. Probability above 1.
t = subst("{ p_good = 0.55; }", "{ p_good = 1.5; }")
scenario_case("probability_above_1", t, EXIT_SCENARIO, path="job_quality.entry[1].p_good",
              line=line_of(t, "p_good = 1.5"))

# 6b. Probability above 1 at a top-level population setting.
t = subst("female_share = 0.5;", "female_share = 1.3;")
scenario_case("female_share_above_1", t, EXIT_SCENARIO, path="population.female_share",
              line=line_of(t, "female_share = 1.3"), extra=("[0, 1]",))

# 7. Negative count.
t = subst("persons = 20000;", "persons = -5;")
scenario_case("negative_persons", t, EXIT_SCENARIO, path="simulation.persons",
              line=line_of(t, "persons = -5"))

# 7b. Negative count elsewhere.
t = subst("duration_cap_months = 240;", "duration_cap_months = -1;")
scenario_case("negative_duration_cap", t, EXIT_SCENARIO, path="transitions.duration_cap_months",
              line=line_of(t, "duration_cap_months"))

# 8. Zero persons.
t = subst("persons = 20000;", "persons = 0;")
scenario_case("zero_persons", t, EXIT_SCENARIO, path="simulation.persons",
              line=line_of(t, "persons = 0"))

# 9. Zero months.
t = subst("months = 24;", "months = 0;")
scenario_case("zero_months", t, EXIT_SCENARIO, path="simulation.months",
              line=line_of(t, "months = 0"))

# 10. initial_state shares do not sum to 1 (first rule; the error is on its shares group).
t = subst("employed_good = 0.55;", "employed_good = 0.65;")
scenario_case("initial_shares_sum", t, EXIT_SCENARIO, path="initial_state[0].shares",
              line=line_of(t, "shares = { inactive_sick = 0.06"), extra=("sum",))

# 11. age_band_shares do not sum to 1.
t = subst("age_band_shares = [0.2, 0.2, 0.3, 0.3];", "age_band_shares = [0.2, 0.2, 0.3, 0.4];")
scenario_case("age_band_shares_sum", t, EXIT_SCENARIO, path="population.age_band_shares",
              line=line_of(t, "age_band_shares ="), extra=("sum",))

# 11b. Region shares do not sum to 1.
t = subst('share = 0.45;', 'share = 0.55;')
scenario_case("region_shares_sum", t, EXIT_SCENARIO, path="population.regions",
              line=line_of(t, "regions = ("), extra=("sum",))

# 12. Array of the wrong length.
t = subst("disabled_by_age_band = [0.15, 0.2, 0.25, 0.3];",
          "disabled_by_age_band = [0.15, 0.2, 0.25];")
scenario_case("array_wrong_length", t, EXIT_SCENARIO, path="population.disabled_by_age_band",
              line=line_of(t, "disabled_by_age_band ="), extra=("4",))

# 12b. A coefficient array of the wrong length inside a transition.
t = subst("age_band = [1.1, 0.0, 0.0, 0.0];", "age_band = [1.1, 0.0, 0.0];")
scenario_case("logit_array_wrong_length", t, EXIT_SCENARIO,
              path="transitions.employed_poor[0].age_band", line=line_of(t, "age_band = [1.1"))

# 13. Unknown destination state.
t = subst('{ to = "inactive_other"; intercept = -3.8; }', '{ to = "retired"; intercept = -3.8; }')
scenario_case("unknown_destination", t, EXIT_SCENARIO, path="transitions.unemployed[1].to",
              line=line_of(t, '"retired"'), extra=('"retired"',))

# 14. Destination equal to origin.
t = subst('{ to = "unemployed"; intercept = -6.0; }', '{ to = "employed_good"; intercept = -6.0; }')
scenario_case("destination_is_origin", t, EXIT_SCENARIO, path="transitions.employed_good[0].to",
              line=line_of(t, '{ to = "employed_good"; intercept = -6.0; }'))

# 14b. A duration term on months in work from a state out of work, and an
# unknown duration clock.
t = subst('{ to = "inactive_other"; intercept = -3.8; }',
          '{ to = "inactive_other"; intercept = -3.8; duration = "in_work"; }')
scenario_case("duration_in_work_out_of_work", t, EXIT_SCENARIO,
              path="transitions.unemployed[1].duration", line=line_of(t, '"in_work"'),
              extra=("only for the destinations of a job",))
t = subst('{ to = "unemployed"; intercept = -6.0; }',
          '{ to = "unemployed"; intercept = -6.0; duration = "in_job"; }')
scenario_case("duration_unknown_clock", t, EXIT_SCENARIO,
              path="transitions.employed_good[0].duration", line=line_of(t, '"in_job"'),
              extra=('"in_state"', '"in_work"'))

# 15. The last job_quality rule has a `where` (no default rule).
t = subst("{ p_good = 0.55; }", '{ where = { sex = "female"; }; p_good = 0.55; }')
scenario_case("last_rule_with_where", t, EXIT_SCENARIO, path="job_quality.entry[1]",
              line=line_of(t, 'where = { sex = "female"; }'), extra=("last rule",))

# 15b. The same for initial_state.
t = subst("  { shares = { inactive_sick = 0.05;",
          '  { where = { disabled = true; }; shares = { inactive_sick = 0.05;')
scenario_case("initial_last_rule_with_where", t, EXIT_SCENARIO, path="initial_state[1]",
              line=line_of(t, "where = { disabled = true; }"), extra=("last rule",))

# 16. Unknown region name in a where.
t = subst('where = { region = "North"; };', 'where = { region = "Nowhere"; };')
scenario_case("unknown_region_in_where", t, EXIT_SCENARIO, path="initial_state[0].where.region",
              line=line_of(t, '"Nowhere"'), extra=('"Nowhere"',))

# 17. Duplicate region name.
t = subst('{ name = "Middle";', '{ name = "North";')
scenario_case("duplicate_region", t, EXIT_SCENARIO, path="population.regions[1].name",
              line=line_of(t, '{ name = "North"; share = 0.30'), extra=("duplicate",))

# 18. Missing required setting: delete the whole `market` group (no line: it is absent).
start = BASE.index("market = {")
end = BASE.index("};", start) + 2
t = BASE[:start] + BASE[end:]
scenario_case("missing_market", t, EXIT_SCENARIO, path="'market'", extra=("missing",))

# 18b. Missing required nested setting: delete market.matching_elasticity (names the group's line).
t = subst("  matching_elasticity = 0.4;\n", "")
scenario_case("missing_nested", t, EXIT_SCENARIO, path="market.matching_elasticity",
              line=line_of(t, "market = {"), extra=("missing",))

# 19. Missing @include file: stderr must name the scenario, the line and the missing fragment.
t = subst('description = "end-to-end test scenario";\n',
          'description = "end-to-end test scenario";\n@include "e2e_no_such_fragment.cfg"\n')
scenario_case("missing_include", t, EXIT_SCENARIO, line=line_of(t, "@include"),
              extra=("e2e_no_such_fragment.cfg",))

# 19b. A bad value inside an @include'd fragment names the fragment and its line.
frag = "# fragment\nmarket = {\n  matching_elasticity = 7.0;\n  reference_tightness = 0.4;\n};\n"
start = BASE.index("market = {")
end = BASE.index("};", start) + 2
t = BASE[:start] + '@include "frag.cfg"' + BASE[end:]
d_frag = S.path("include_fragment_bad_value")
scenario_case("include_fragment_bad_value", t, EXIT_SCENARIO, path="market.matching_elasticity",
              file_in_msg="frag.cfg", line=None, extra=("frag.cfg:3:",),
              extra_files={"frag.cfg": frag})

# 20. Bad start month strings.
for tag, val in (("month13", "2024-13"), ("words", "January 2024"), ("trailing", "2024-01x")):
    t = subst('start = "2024-01";', 'start = "%s";' % val)
    scenario_case("bad_start_" + tag, t, EXIT_SCENARIO, path="simulation.start",
                  line=line_of(t, "start = "), extra=("YYYY-MM",))

# 21. --set making a value invalid: exit 3, names '--set' and the setting.
scenario_case("set_makes_invalid", BASE, EXIT_SCENARIO, path="population.female_share",
              sets=("population.female_share=2",), extra=("--set",))

# 21b. --set with a typo in the leaf (creates an unknown setting).
scenario_case("set_unknown_leaf", BASE, EXIT_SCENARIO, path="population.female_shar",
              sets=("population.female_shar=0.5",), extra=("--set", "unknown setting"))

# 21c. --seed negative / --months 0 via --set are scenario errors.
scenario_case("set_months_zero", BASE, EXIT_SCENARIO, path="simulation.months",
              sets=("simulation.months=0",), extra=("--set",))

# 22. A logit's age term: ages not ascending, an age beyond 64, add of the wrong length.
for tag, age, path, words in (
        ("descending", "{ from = [40, 30]; add = [0.1, 0.2]; }", "age.from.[1]", "ascending"),
        ("beyond_64", "{ from = [70]; add = [0.1]; }", "age.from.[0]", "[16, 64]"),
        ("add_length", "{ from = [30, 40]; add = [0.1]; }", "age.add", "exactly 2")):
    t = subst("{ to = \"employed\"; intercept = -3.5; }",
              "{ to = \"employed\"; intercept = -3.5; age = %s; }" % age)
    scenario_case("logit_age_" + tag, t, EXIT_SCENARIO,
                  path="transitions.inactive_sick[0]." + path.replace(".[", "["),
                  line=line_of(t, "age = {"), extra=(words,))

# 23. Health: both initial forms, and an acquisition threshold out of range.
HEALTH = ('health = { %s onset_by_state = [0.01, 0.0, 0.0, 0.0, 0.01, 0.01, 0.01];\n'
          '  recovery_by_state = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]; %s };\n')
t = BASE + HEALTH % ("initial_by_disabled = [0.1, 0.5];\n"
                     "  initial_by_state = [0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];\n"
                     "  initial_by_state_disabled = [0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];", "")
scenario_case("health_two_initial_forms", t, EXIT_SCENARIO, path="health.initial_by_disabled",
              line=line_of(t, "initial_by_disabled"), extra=("not both",))
t = BASE + HEALTH % ("initial_by_disabled = [0.1, 0.5];", "disabled_after_months = 300;")
scenario_case("health_acquisition_range", t, EXIT_SCENARIO, path="health.disabled_after_months",
              line=line_of(t, "disabled_after_months"), extra=("[0, 240]",))

# 24. Integers beyond 32 bits (libconfig 1.5 would cut them silently: seed
# 4294967297 ran as seed 1). In a file: an error at the literal's line; the
# L suffix is accepted.
for val in ("4294967297", "2147483648", "-2147483649"):
    t = subst("seed = 12345;", "seed = %s;" % val)
    scenario_case("int_beyond_32_bits_" + val.lstrip("-"), t, EXIT_SCENARIO,
                  line=line_of(t, "seed = "), extra=("32 bits", val + "L"))
t = subst("seed = 12345;", "seed = 4294967297L;")
d = S.path("int64_suffix")
os.makedirs(d)
with open(os.path.join(d, "ok.cfg"), "w") as f:
    f.write(t)
p = S.run(["run", os.path.join(d, "ok.cfg"), "-o", os.path.join(d, "o.h5"), "-q", "--panel", "none"])
S.check("seed with L suffix runs with seed 4294967297", p.returncode == 0 and
        "seed 4294967297" in p.stdout, show(p))
# ...and on the command line the suffix is added: 5000000000 persons stay 5000000000.
p = S.run(["check", S.tiny, "--set", "simulation.persons=5000000000"])
S.check("--set persons=5000000000 is read at 64 bits", p.returncode == 0 and
        "5000000000 persons" in p.stdout, show(p))
p = S.run(["check", S.tiny, "--set", "simulation.seed=4294967297"])
S.check("--set seed=4294967297 is read at 64 bits", p.returncode == 0, show(p))

# 25. An @include of a folder made libconfig exit(2) from inside the library;
# a FIFO made it block forever. Both are errors naming the file and line.
t = BASE + '\n@include "."\n'
scenario_case("include_a_folder", t, EXIT_SCENARIO, line=line_of(t, '@include "."'),
              extra=("not a regular file",))
d = S.path("fifo")
os.makedirs(d)
os.mkfifo(os.path.join(d, "pipe.cfg"))
p = S.run(["check", os.path.join(d, "pipe.cfg")], timeout=20)
S.check("a FIFO as scenario: exit 4, no hang", p.returncode == EXIT_IO and
        "not a regular file" in p.stderr, show(p))
with open(os.path.join(d, "inc.cfg"), "w") as f:
    f.write(BASE + '\n@include "pipe.cfg"\n')
p = S.run(["check", os.path.join(d, "inc.cfg")], timeout=20)
S.check("a FIFO as @include: exit 3, no hang", p.returncode == EXIT_SCENARIO and
        "not a regular file" in p.stderr and "inc.cfg:" in p.stderr, show(p))

# 26. Sweeps: a seed beyond 32 bits, and --task beyond int.
d = S.path("sweep64")
os.makedirs(d)
with open(os.path.join(d, "s.cfg"), "w") as f:
    f.write('sweep = { base = "%s"; replicates = 1; seed = 4294967297;\n'
            '  points = ( { name = "a"; set = [ ]; } ); };\n' % S.tiny)
p = S.run(["sweep", os.path.join(d, "s.cfg"), "-o", os.path.join(d, "out")])
S.check("sweep seed 4294967297: exit 3 at its line", p.returncode == EXIT_SCENARIO and
        "s.cfg:1:" in p.stderr and "32 bits" in p.stderr, show(p))
p = S.run(["sweep", os.path.join(S.source, "scenarios", "sweeps", "smoke.cfg"),
           "-o", os.path.join(d, "out"), "--task", "4294967296"])
S.check("--task 4294967296: usage error, not task 0", p.returncode == EXIT_USAGE and
        "4294967296" in p.stderr and not os.path.exists(os.path.join(d, "out")), show(p))


# --------------------------------------------------------------------------
# Files that cannot be read.
def io_case(name, args, code, names, outfile):
    p = S.run(args)
    S.check("%s: exit %d" % (name, code), p.returncode == code, show(p))
    for n in names:
        S.check("%s: stderr names %r" % (name, n), n in p.stderr, show(p))
    S.check("%s: 'lmsim: error:' message" % name, p.stderr.startswith("lmsim: "), show(p))
    if outfile:
        S.check("%s: no output file" % name,
                not os.path.exists(outfile) and not tmp_files(outfile))


# Nonexistent scenario: lm_scenario_load returns LM_EIO, which main.c maps to 4 (I/O).
d = S.path("io")
os.makedirs(d)
missing_cfg = os.path.join(d, "no_such_scenario.cfg")
out = os.path.join(d, "out.h5")
io_case("nonexistent_scenario", ["run", missing_cfg, "-o", out, "-q"], EXIT_IO,
        [missing_cfg], out)
io_case("check_nonexistent_scenario", ["check", missing_cfg], EXIT_IO, [missing_cfg], None)

# A directory given as the scenario: an I/O error naming it (not a parser crash).
io_case("scenario_is_directory", ["run", d, "-o", out, "-q"], EXIT_IO, [d], out)

# Unreadable scenario (mode 000): only meaningful when not root (root reads anyway).
unreadable = os.path.join(d, "unreadable.cfg")
with open(unreadable, "w") as f:
    f.write(BASE)
os.chmod(unreadable, 0)
if os.geteuid() != 0:
    io_case("unreadable_scenario", ["run", unreadable, "-o", out, "-q"], EXIT_IO,
            [unreadable], out)
else:
    print("skip unreadable_scenario (running as root: mode 000 does not stop root)")
os.chmod(unreadable, 0o644)

# Unwritable output directory.
bad_out = "/nonexistent_dir_lmsim_e2e/x.h5"
io_case("unwritable_output_dir", ["run", S.tiny, "-o", bad_out, "-q"], EXIT_IO,
        ["/nonexistent_dir_lmsim_e2e/x.h5"], bad_out)
S.check("unwritable_output_dir: directory not created",
        not os.path.exists("/nonexistent_dir_lmsim_e2e"))
err = S.run(["run", S.tiny, "-o", bad_out, "-q"]).stderr
S.check("unwritable_output_dir: says the folder does not exist and how to create it",
        "its folder '/nonexistent_dir_lmsim_e2e' does not exist" in err and
        "mkdir -p '/nonexistent_dir_lmsim_e2e'" in err, err)
# ... and says so before any work: 8 million persons take seconds to
# synthesise, the check a few milliseconds (lmsim run does not create the
# folder: docs/cluster.md, "Output folders").
import time  # noqa: E402
t0 = time.time()
p = S.run(["run", os.path.join(S.source, "scenarios", "wales_baseline.cfg"), "-o",
           os.path.join(d, "no_such_folder", "x.h5"), "--persons", "8000000", "--months", "1",
           "--panel", "none", "--threads", "1", "-q"])
S.check("missing output folder: exit 4 before synthesis",
        p.returncode == EXIT_IO and time.time() - t0 < 0.7 and "does not exist" in p.stderr,
        "%.2f s; %s" % (time.time() - t0, show(p)))
S.check("missing output folder: not created", not os.path.exists(os.path.join(d, "no_such_folder")))
# A file where the folder should be.
with open(os.path.join(d, "plain"), "w") as fh:
    fh.write("x")
p = S.run(["run", S.tiny, "-o", os.path.join(d, "plain", "x.h5"), "-q"])
S.check("output folder is a file: exit 4, named", p.returncode == EXIT_IO and
        "'%s' is not a folder" % os.path.join(d, "plain") in p.stderr, show(p))


# --------------------------------------------------------------------------
# Usage errors: exit 2, no output.
def usage_case(name, args, mention, outfile=None):
    p = S.run(args)
    S.check("%s: exit 2" % name, p.returncode == EXIT_USAGE, show(p))
    S.check("%s: stderr mentions %r" % (name, mention), mention in p.stderr, show(p))
    if outfile:
        S.check("%s: no output file" % name,
                not os.path.exists(outfile) and not tmp_files(outfile))


u = S.path("usage")
os.makedirs(u)
uo = os.path.join(u, "out.h5")
# An override naming a group the scenario does not have creates it, and the
# validation then rejects the unknown name, naming it: an invalid scenario.
scenario_case("set_unknown_group", BASE, EXIT_SCENARIO, path="nosuchgroup",
              sets=("nosuchgroup.x=1",), extra=("--set", "unknown setting"))
usage_case("set_without_equals", ["run", S.tiny, "-o", uo, "-q", "--set", "simulation.seed"],
           "--set", uo)
usage_case("unknown_option", ["run", S.tiny, "-o", uo, "--frobnicate"], "--frobnicate", uo)
usage_case("unknown_command", ["simulate", S.tiny], "simulate")
usage_case("no_command", [], "command")
usage_case("run_without_output", ["run", S.tiny, "-q"], "-o")
usage_case("run_without_scenario", ["run", "-o", uo], "scenario", uo)
usage_case("threads_zero", ["run", S.tiny, "-o", uo, "--threads", "0"], "--threads", uo)
usage_case("persons_not_a_number", ["run", S.tiny, "-o", uo, "--persons", "lots"], "--persons", uo)
usage_case("panel_bad_mode", ["run", S.tiny, "-o", uo, "--panel", "half"], "--panel", uo)
usage_case("panel_bad_fraction", ["run", S.tiny, "-o", uo, "--panel", "sample:1.5"], "sample", uo)
usage_case("extra_argument", ["run", S.tiny, "extra.cfg", "-o", uo], "extra.cfg", uo)
usage_case("describe_two_files", ["describe", "a.h5", "b.h5"], "describe")
S.check("usage: nothing written", not os.listdir(u), str(os.listdir(u)))

# --------------------------------------------------------------------------
# lmsim check: 0 on valid, 3 on invalid (and it names the problem).
bad = S.path("check_bad.cfg")
with open(bad, "w") as f:
    f.write(subst("female_share = 0.5;", "female_share = 1.3;"))
p = S.run(["check", bad])
S.check("check invalid: exit 3", p.returncode == EXIT_SCENARIO, show(p))
S.check("check invalid: names file:line and setting",
        ("%s:%d:" % (bad, line_of(BASE, "female_share"))) in p.stderr
        and "population.female_share" in p.stderr, show(p))
p = S.run(["check", S.tiny, "--set", "population.female_share=2"])
S.check("check --set invalid: exit 3", p.returncode == EXIT_SCENARIO, show(p))
p = S.run(["check", S.tiny, "--set", "market.matching_elasticity=0.3"])
S.check("check --set valid: exit 0", p.returncode == 0, show(p))
p = S.run(["check", os.path.join(S.source, "scenarios", "wales_baseline.cfg")])
S.check("check wales_baseline: exit 0", p.returncode == 0, show(p))

# A full disk (a file size limit of 600 kB, SIGXFSZ ignored as a full disk
# gives no signal): the I/O error code, HDF5's reason, and no file at all.
import resource  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402


def small_disk():
    resource.setrlimit(resource.RLIMIT_FSIZE, (600 * 1024, 600 * 1024))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


full = S.path("full.h5")
p = subprocess.run([S.binary, "run", os.path.join(S.source, "scenarios", "wales_baseline.cfg"),
                    "-o", full, "--persons", "100000", "--months", "12", "-q"],
                   capture_output=True, text=True, preexec_fn=small_disk, timeout=120)
S.check("disk full: exit 4 (not a crash)", p.returncode == 4, show(p))
S.check("disk full: HDF5's reason in the message", "File too large" in p.stderr, show(p))
S.check("disk full: no file and no temporary left",
        not os.path.exists(full) and not tmp_files(full))

# 27. An output path that exists and is not a regular file is refused (an
# output of /dev/full used to be renamed over the device node, exit 0).
d = S.path("not_regular_out")
os.makedirs(d)
fifo = os.path.join(d, "out.h5")
os.mkfifo(fifo)
p = S.run(["run", S.tiny, "-o", fifo, "-q", "--panel", "none"], timeout=60)
S.check("-o FIFO: exit 4, names it", p.returncode == EXIT_IO and "not a regular file" in p.stderr,
        show(p))
S.check("-o FIFO: still a FIFO, nothing else written",
        stat.S_ISFIFO(os.stat(fifo).st_mode) and sorted(os.listdir(d)) == ["out.h5"],
        str(os.listdir(d)))

# 28. Two runs given the same output at once: each writes a temporary file of
# its own, both finish, and the file is one whole run (not a mix, not lost).
d = S.path("same_output")
os.makedirs(d)
out = os.path.join(d, "out.h5")
procs = [subprocess.Popen([S.binary, "run", S.tiny, "-o", out, "-q", "--persons", "200000",
                           "--seed", str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) for seed in (11, 22)]
res = [pr.communicate(timeout=300) + (pr.returncode,) for pr in procs]
S.check("same output: both runs exit 0", all(r[2] == 0 for r in res),
        "; ".join("exit %d %s" % (r[2], r[1][-300:]) for r in res))
with h5py.File(out, "r") as f:
    seed_str = f.attrs["seed_str"]
    seed_str = seed_str.decode() if isinstance(seed_str, bytes) else str(seed_str)
    n_rows = f["panel/state"].shape[0]
S.check("same output: the file is one whole run", seed_str in ("11", "22") and n_rows == 25,
        "seed %s, %d panel rows" % (seed_str, n_rows))
S.check("same output: no temporary file left", not tmp_files(out), str(os.listdir(d)))

# 29. Text that is not UTF-8 (run files store UTF-8 strings; readers broke).
t = subst('name = "e2e_tiny";', 'name = "caf\xe9";')
d = S.path("not_utf8")
os.makedirs(d)
with open(os.path.join(d, "bad.cfg"), "wb") as f:
    f.write(t.encode("latin-1"))
p = S.run(["check", os.path.join(d, "bad.cfg")])
S.check("a name that is not UTF-8: exit 3, names the line", p.returncode == EXIT_SCENARIO and
        "bad.cfg:%d:" % line_of(t, 'name = "caf') in p.stderr and "UTF-8" in p.stderr, show(p))

# 30. A file-size limit (ulimit -f) used to kill the run with SIGXFSZ and
# leave the temporary file: now a write error, exit 4, nothing left.
d = S.path("ulimit")
os.makedirs(d)
out = os.path.join(d, "out.h5")
p = subprocess.run(["bash", "-c", 'ulimit -f 400; exec "$0" run "$1" -o "$2" -q',
                    S.binary, S.tiny, out], capture_output=True, text=True, timeout=120)
S.check("ulimit -f: exit 4 (not killed by SIGXFSZ)", p.returncode == EXIT_IO, show(p))
S.check("ulimit -f: nothing left", not os.listdir(d), str(os.listdir(d)))

# 31. Sweeps: the same grid path twice; an uncertain draw invalid only for a
# later replicate (was found only when that task ran).
d = S.path("sweep_checks")
os.makedirs(d)
with open(os.path.join(d, "grid.cfg"), "w") as f:
    f.write('sweep = { base = "%s"; replicates = 1; seed = 5;\n'
            '  grid = ( { path = "market.matching_elasticity"; values = [0.1, 0.2]; },\n'
            '           { path = "market.matching_elasticity"; values = [0.3, 0.4]; } ); };\n'
            % S.tiny)
p = S.run(["sweep", os.path.join(d, "grid.cfg"), "-o", os.path.join(d, "out")])
S.check("grid path twice: exit 3 at the second entry", p.returncode == EXIT_SCENARIO and
        "grid.cfg:3:" in p.stderr and "twice" in p.stderr, show(p))
# matching_elasticity must be in [0, 1]: a normal draw around 0.5 with a large
# s.d. is valid for some replicates and not for others.
with open(os.path.join(d, "unc.cfg"), "w") as f:
    f.write('sweep = { base = "%s"; replicates = 40; seed = 5;\n'
            '  points = ( { name = "a"; set = [ ]; } );\n'
            '  uncertain = ( { path = "market.matching_elasticity"; dist = "normal";\n'
            '                  mean = 0.5; sd = 0.3; } ); };\n' % S.tiny)
p = S.run(["sweep", os.path.join(d, "unc.cfg"), "-o", os.path.join(d, "out2")])
S.check("uncertain draw invalid for a later replicate: refused before any task",
        p.returncode == EXIT_SCENARIO and "replicate" in p.stderr and
        not os.path.exists(os.path.join(d, "out2")), show(p))

# --check validates every replicate without running; an array task (--task)
# checks its own replicate only, so that 100,000 replicates are not loaded
# again by every task of a job array.
p = S.run(["sweep", os.path.join(d, "unc.cfg"), "-o", os.path.join(d, "out3"), "--check"])
bad = re.search(r"replicate (\d+):", p.stderr)
S.check("sweep --check: the bad replicate named, exit 3, nothing written",
        p.returncode == EXIT_SCENARIO and bad is not None and
        not os.path.exists(os.path.join(d, "out3")), show(p))
if bad:
    p = S.run(["sweep", os.path.join(d, "unc.cfg"), "-o", os.path.join(d, "out3"), "--task",
               bad.group(1), "-q"])
    S.check("sweep --task of the bad replicate: exit 3, its replicate named",
            p.returncode == EXIT_SCENARIO and ("replicate %s:" % bad.group(1)) in p.stderr,
            show(p))
p = S.run(["sweep", os.path.join(d, "unc.cfg"), "-o", os.path.join(d, "out3"), "--task", "0",
           "-q"])
S.check("sweep --task of a good replicate runs though others are bad",
        p.returncode == 0 and os.path.exists(os.path.join(d, "out3")), show(p))
p = S.run(["sweep", os.path.join(d, "unc.cfg"), "--check", "--task", "0"])
S.check("sweep --check with --task: usage error", p.returncode == 2 and "--check" in p.stderr,
        show(p))
with open(os.path.join(d, "ok.cfg"), "w") as f:
    f.write('sweep = { base = "%s"; replicates = 3; seed = 5;\n'
            '  points = ( { name = "a"; set = [ ]; }, { name = "b"; set = [ ]; } );\n'
            '  uncertain = ( { path = "market.matching_elasticity"; dist = "uniform";\n'
            '                  lo = 0.2; hi = 0.4; } ); };\n' % S.tiny)
p = S.run(["sweep", os.path.join(d, "ok.cfg"), "-o", os.path.join(d, "out4"), "--check"])
S.check("sweep --check of a valid sweep: OK line, exit 0, nothing written",
        p.returncode == 0 and "OK: 6 tasks (2 points x 3 replicates)" in p.stdout and
        not os.path.exists(os.path.join(d, "out4")), show(p))

# 31b. A sweep file that is a folder: the reason is the file's, not a stale errno's.
p = S.run(["sweep", d])
S.check("sweep of a folder: exit 4, 'not a regular file'", p.returncode == EXIT_IO and
        "cannot open sweep file: not a regular file" in p.stderr, show(p))
p = S.run(["sweep", os.path.join(d, "missing.cfg")])
S.check("sweep of a missing file: exit 4, the system's reason", p.returncode == EXIT_IO and
        "No such file or directory" in p.stderr, show(p))

# 32. The appraisal section (docs/scenario-reference.md): validated like the
# others, file:line and setting named.
APPRAISAL = """
appraisal = {
  price_base_year = 2024;
  discount_rate = 0.035;
  benefits = { unemployed = 400.14; inactive_sick = 400.14; };
  health_element = 423.27;
  tax = { personal_allowance = 12570.0; basic_rate = 0.2; higher_threshold = 50270.0;
          higher_rate = 0.4; additional_threshold = 125140.0; additional_rate = 0.45;
          ni_primary_threshold = 12570.0; ni_main_rate = 0.08; ni_upper_limit = 50270.0;
          ni_upper_rate = 0.02; employer_ni_threshold = 5000.0; employer_ni_rate = 0.15; };
};
"""
good = BASE + APPRAISAL
d = S.path("appraisal_ok")
os.makedirs(d)
with open(os.path.join(d, "ok.cfg"), "w") as f:
    f.write(good)
p = S.run(["check", os.path.join(d, "ok.cfg")])
S.check("appraisal: a valid section passes check", p.returncode == 0 and not p.stderr, show(p))
for name, old, new, setting, words in (
        ("appraisal_discount_high", "discount_rate = 0.035;", "discount_rate = 0.35;",
         "appraisal.discount_rate", "0.2"),
        ("appraisal_negative_benefit", "unemployed = 400.14;", "unemployed = -400.14;",
         "appraisal.benefits.unemployed", "0"),
        ("appraisal_unknown_state", "inactive_sick = 400.14;", "sick = 400.14;",
         "appraisal.benefits.sick", "unknown labour state"),
        ("appraisal_base_year_after_run", "price_base_year = 2024;", "price_base_year = 2030;",
         "appraisal.price_base_year", "must be a year of the run"),
        ("appraisal_base_year_before_run", "price_base_year = 2024;", "price_base_year = 2019;",
         "appraisal.price_base_year", "must be a year of the run"),
        ("appraisal_rate_above_1", "basic_rate = 0.2;", "basic_rate = 20;",
         "appraisal.tax.basic_rate", "1"),
        ("appraisal_thresholds_out_of_order", "higher_threshold = 50270.0;",
         "higher_threshold = 5027.0;", "appraisal.tax.higher_threshold", "personal_allowance"),
        ("appraisal_tax_missing", "employer_ni_rate = 0.15; ", "",
         "employer_ni_rate", "missing"),
        ("appraisal_start_before_run", "health_element = 423.27;",
         'health_element = 423.27; start = "2023-06";', "appraisal.start", "after the run's start")):
    t = good.replace(old, new, 1)
    assert t != good, name
    scenario_case(name, t, EXIT_SCENARIO, path=setting, line=line_of(t, new.split(";")[0].strip()
                                                                      or "tax = {"),
                  extra=(words,))
# a timeline may not change the appraisal (its prices and period are the whole run's)
t = good + 'timeline = ( { from = "2025-01"; set = { appraisal = { discount_rate = 0.0; }; }; } );\n'
scenario_case("appraisal_in_timeline", t, EXIT_SCENARIO, path="appraisal",
              line=line_of(t, "timeline = ("), extra=("cannot change over the timeline",))

S.finish()
