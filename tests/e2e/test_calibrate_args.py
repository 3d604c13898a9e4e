"""End-to-end: `lmsim calibrate` rejects bad command lines before any run.

Every case is a malformed or inconsistent command on tests/data/e2e_tiny.cfg:
a --free PATH the scenario does not have or that is not a number, LO:HI
unparsable or reversed, a start value (the scenario's) outside [LO, HI], a
bound at which the scenario is invalid, an integer setting, a repeated
--free, missing --targets / --free / -o, bad --step / --max-iter. Each must
exit 2 (usage) with a message naming the argument, and leave no output at
all in its folder (no FITTED.cfg, no FITTED.uncertain.cfg, no .tmp). These
checks run before the targets file is read, so they need no targets.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import Suite, show  # noqa: E402

S = Suite("calibrate_args")
EXIT_USAGE, EXIT_SCENARIO = 2, 3
TARGETS = S.path("targets.cfg")
with open(TARGETS, "w") as f:
    f.write("targets = ( );\n")

ELAST = "market.matching_elasticity"  # 0.4 in e2e_tiny.cfg, valid in [0, 1]


def case(name, args, code, needles):
    d = S.path(name)
    os.mkdir(d)
    out = os.path.join(d, "fitted.cfg")
    full = ["calibrate", S.tiny] + [a.replace("OUT", out) for a in args]
    p = S.run(full)
    S.check(name + ": exit %d" % code, p.returncode == code, show(p))
    for n in needles:
        S.check(name + ": message names %r" % n, n in p.stderr, show(p))
    S.check(name + ": no output", os.listdir(d) == [], str(os.listdir(d)))


case("no_such_setting", ["--targets", TARGETS, "--free", "market.nosuch=0:1", "-o", "OUT"],
     EXIT_USAGE, ["--free market.nosuch=0:1", "no such setting"])
case("not_a_number", ["--targets", TARGETS, "--free", "name=0:1", "-o", "OUT"],
     EXIT_USAGE, ["--free name=0:1", "not a number"])
case("group_not_number", ["--targets", TARGETS, "--free", "market=0:1", "-o", "OUT"],
     EXIT_USAGE, ["--free market=0:1", "not a number"])
case("list_element_missing",
     ["--targets", TARGETS, "--free", "transitions.unemployed.[7].intercept=-3:0", "-o", "OUT"],
     EXIT_USAGE, ["transitions.unemployed.[7].intercept", "no such setting"])
case("reversed_bounds", ["--targets", TARGETS, "--free", ELAST + "=0.9:0.1", "-o", "OUT"],
     EXIT_USAGE, [ELAST + "=0.9:0.1", "lower bound must be below"])
case("equal_bounds", ["--targets", TARGETS, "--free", ELAST + "=0.4:0.4", "-o", "OUT"],
     EXIT_USAGE, [ELAST + "=0.4:0.4", "lower bound must be below"])
case("unparsable", ["--targets", TARGETS, "--free", ELAST + "=low:high", "-o", "OUT"],
     EXIT_USAGE, [ELAST + "=low:high", "two numbers"])
case("no_colon", ["--targets", TARGETS, "--free", ELAST + "=0.5", "-o", "OUT"],
     EXIT_USAGE, [ELAST + "=0.5", "two numbers"])
case("no_equals", ["--targets", TARGETS, "--free", ELAST, "-o", "OUT"],
     EXIT_USAGE, ["PATH=LO:HI", ELAST])
case("trailing_junk", ["--targets", TARGETS, "--free", ELAST + "=0:1x", "-o", "OUT"],
     EXIT_USAGE, [ELAST + "=0:1x", "two numbers"])
case("start_outside", ["--targets", TARGETS, "--free", ELAST + "=0.5:1", "-o", "OUT"],
     EXIT_USAGE, [ELAST + "=0.5:1", "outside [0.5, 1]"])
case("invalid_at_bound", ["--targets", TARGETS, "--free", ELAST + "=0:2", "-o", "OUT"],
     EXIT_USAGE, [ELAST + "=0:2", "rejects " + ELAST + "=2.0", "must be in [0, 1]"])
case("integer_setting", ["--targets", TARGETS, "--free", "simulation.persons=100:30000",
                         "-o", "OUT"],
     EXIT_USAGE, ["simulation.persons", "expected an integer"])
case("twice", ["--targets", TARGETS, "--free", ELAST + "=0:1", "--free", ELAST + "=0.1:0.9",
               "-o", "OUT"], EXIT_USAGE, ["given twice", ELAST])
case("no_targets", ["--free", ELAST + "=0:1", "-o", "OUT"], EXIT_USAGE, ["--targets FILE"])
case("no_free", ["--targets", TARGETS, "-o", "OUT"], EXIT_USAGE, ["--free PATH=LO:HI"])
case("no_output", ["--targets", TARGETS, "--free", ELAST + "=0:1"], EXIT_USAGE, ["-o FITTED.cfg"])
case("bad_step", ["--targets", TARGETS, "--free", ELAST + "=0:1", "--step", "0", "-o", "OUT"],
     EXIT_USAGE, ["--step"])
case("bad_max_iter", ["--targets", TARGETS, "--free", ELAST + "=0:1", "--max-iter", "0",
                      "-o", "OUT"], EXIT_USAGE, ["--max-iter"])
case("trial_option", ["--targets", TARGETS, "--free", ELAST + "=0:1", "--trial", "x",
                      "-o", "OUT"], EXIT_USAGE, ["--trial"])
case("bad_set", ["--targets", TARGETS, "--free", ELAST + "=0:1", "--set",
                 "market.matching_elasticity=7", "-o", "OUT"],
     EXIT_SCENARIO, ["matching_elasticity", "must be in [0, 1]"])
S.finish()
