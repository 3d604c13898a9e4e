/* cli/options.c - the lmsim command line: one option table, getopt_long, help.
 *
 * Every option is one row of opt_defs: its long name, whether it takes a
 * value, its short letter (if any), and the commands that take it. A
 * command's struct option array and short-option string are built from the
 * rows of that command, so an option is accepted exactly where its help says
 * (`compare --csv` is a flag, `validate --csv FILE` takes a file: two rows).
 *
 * Parsing is glibc's getopt_long in RETURN_IN_ORDER mode (optstring starting
 * with '-'): options and positional arguments come back in command-line
 * order, so values are checked in order (the first bad one is reported, as
 * before getopt), --seed/--persons/--months/--panel/--trial become --set
 * overrides in their place among the --set options, argv is not permuted
 * (calibrate records the command line as typed) and POSIXLY_CORRECT does not
 * change the meaning of a command. getopt's own messages are off (':' in the
 * optstring, opterr = 0): every usage error is "lmsim: ..." plus a hint to
 * --help, exit 2.
 *
 * The help texts are the documentation of record for the options: the man
 * page is generated from `lmsim --help` by help2man at build time, and the
 * bash completion (engine/cli/lmsim.bash-completion) lists the same options
 * (tests/e2e/test_cli.py checks that it does).
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const command_names[CLI_N_COMMANDS] = {
    "run", "check", "describe", "sweep", "compare", "validate", "calibrate"};

/* The command named in the hint after a usage error; set once by cli_parse. */
static const char *hint_command = NULL;

/* ------------------------------------------------------------------------ */
/* Help texts. Split in pieces: ISO C compilers need only support string
 * literals of 4095 characters. */

static const char summary_text[] =
    "Usage: lmsim run SCENARIO -o OUT.h5 [options]\n"
    "  or:  lmsim check SCENARIO [options]\n"
    "  or:  lmsim describe OUT.h5 | OUT/sweep.h5\n"
    "  or:  lmsim sweep SWEEP.cfg [--task N | --check] [-o DIR] [--threads N] [--quiet]\n"
    "  or:  lmsim compare A.h5 B.h5 [--impacts] [--csv]\n"
    "  or:  lmsim compare OUT/sweep.h5 POINT_A POINT_B [--impacts] [--csv]\n"
    "  or:  lmsim validate SCENARIO --targets FILE [options]\n"
    "  or:  lmsim validate --run FILE.h5 [--run FILE2.h5]... --targets FILE [--csv FILE] [--widen "
    "Z]\n"
    "  or:  lmsim calibrate SCENARIO --targets FILE --free PATH=LO:HI [--free ...] -o FITTED.cfg\n"
    "  or:  lmsim help [COMMAND] | lmsim COMMAND --help | lmsim --version\n"
    "Simulate a synthetic working-age population month by month under a scenario file,\n"
    "write an HDF5 panel, and compare, validate and calibrate runs.\n"
    "\n"
    "Commands:\n"
    "  run                      simulate SCENARIO and write the HDF5 run file OUT.h5\n"
    "  check                    validate a scenario without running, with the scenario\n"
    "                           options of run; --json prints it as JSON\n"
    "  describe                 show sizes, headline and programme tables of a run file\n"
    "  sweep                    run a sweep (points x replicates), or one task of it; resumes\n"
    "  compare                  B - A of two run files by headline group, with standard\n"
    "                           errors and 95 % intervals (paired per person when both have\n"
    "                           panels and the same seed) and, with panels, impacts over the\n"
    "                           run: employment months, sustained jobs, earnings, benefit\n"
    "                           months, programme costs and cost per additional outcome\n"
    "                           (--impacts: the impacts only); or paired differences between\n"
    "                           two sweep points (by replicate) with 95 % intervals\n"
    "  validate                 run the scenario (and one run per programme with trial\n"
    "                           targets), or replay --run files, and check every target\n"
    "  calibrate                fit parameters to tuned targets (simulated method of\n"
    "                           moments); writes FITTED.cfg and FITTED.uncertain.cfg\n"
    "  help                     the options of all commands, or of one\n"
    "\n"
    "Options take their value as '--opt VALUE' or '--opt=VALUE', before or after the\n"
    "arguments; '--' ends the options. 'lmsim COMMAND --help' shows one command's options.\n"
    "\n";

static const char run_text[] =
    "run options:\n"
    "  -o, --output FILE        HDF5 file to write (written to FILE.tmp.*, renamed when complete)\n"
    "  --threads N              OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  --seed S                 same as --set simulation.seed=S\n"
    "  --persons N              same as --set simulation.persons=N\n"
    "  --months M               same as --set simulation.months=M\n"
    "  --panel MODE             full | none | sample:FRACTION (same as output.panel)\n"
    "  --trial PROGRAMME        randomise referrals to PROGRAMME 50/50 into treatment and\n"
    "                           control (same as --set evaluation.trial=PROGRAMME)\n"
    "  --set path=value         override any scenario setting (repeatable)\n"
    "  -q, --quiet              no progress output\n"
    "  --targets FILE           (run) also check the targets of FILE during the run, print\n"
    "                           and write them to /validation (targets of trial runs n/a);\n"
    "                           with --csv FILE and --widen Z as for validate\n"
    "\n";

static const char check_text[] =
    "check options (the scenario options of run: check what run would simulate):\n"
    "  --seed S                 same as --set simulation.seed=S\n"
    "  --persons N              same as --set simulation.persons=N\n"
    "  --months M               same as --set simulation.months=M\n"
    "  --panel MODE             full | none | sample:FRACTION (same as output.panel)\n"
    "  --trial PROGRAMME        same as --set evaluation.trial=PROGRAMME\n"
    "  --set path=value         override any scenario setting (repeatable)\n"
    "  --json                   print the normalised scenario (after @include, base and the\n"
    "                           overrides) as JSON on stdout instead of the OK line\n"
    "\n";

static const char validate_text[] =
    "validate options (with the run options above; -o writes variant 0's run file with the\n"
    "table in /validation, without -o no file is written):\n"
    "  --targets FILE           targets file (docs/scenario-reference.md, \"Targets files\")\n"
    "  --csv FILE               also write the table as CSV\n"
    "  --widen Z                pass within tolerance + Z standard errors (reduced-size runs)\n"
    "  --require tuned|all      which targets decide the exit status (default all; the\n"
    "                           table always shows every target)\n"
    "  --run FILE.h5            compute the targets from this run file instead of running\n"
    "                           (repeatable; programme outcomes need a run: n/a)\n"
    "\n";

static const char calibrate_text[] =
    "calibrate options (and the run options --persons, --months, --seed, --threads, --set\n"
    "and -q, --quiet):\n"
    "  --targets FILE           targets file; those with use = \"tuned\" are fitted\n"
    "  --free PATH=LO:HI        a numeric setting to fit within [LO, HI] (repeatable)\n"
    "  -o, --output FITTED.cfg  fitted scenario (base + set), written even when the fit\n"
    "                           does not converge (exit 7, header NOT CONVERGED)\n"
    "  --max-iter K             iterations at most (default 50)\n"
    "  --step H                 Jacobian step on the logit scale of the bounds (default 0.05)\n"
    "\n";

static const char sweep_text[] =
    "sweep options:\n"
    "  --task N                 run only task N (0 to tasks - 1; Slurm job arrays); the\n"
    "                           index sweep.h5 is written once every task is done; checks\n"
    "                           every point, but only its own replicate's `uncertain` draws\n"
    "  --check                  validate every task's scenario (all points and replicates)\n"
    "                           and exit without running: once before a job array\n"
    "  -o, --output DIR         folder of the task files and sweep.h5 (default: the sweep\n"
    "                           file's output setting)\n"
    "  --threads N              OpenMP threads of each task\n"
    "  -q, --quiet              no line per task\n"
    "\n";

static const char compare_text[] =
    "compare options:\n"
    "  --csv                    print CSV instead of tables\n"
    "  --impacts                (two run files) the impacts over the run only\n"
    "\n";

static const char footer_text[] =
    "Results depend only on the scenario and the seed: identical for any thread count.\n"
    "Built with -DLMSIM_MPI=ON, `mpirun -np K lmsim run ...` splits one run's persons\n"
    "across K ranks (identical results; the panel in OUT.partRofK.h5 files beside OUT.h5)\n"
    "and `mpirun -np K lmsim sweep ...` shares a sweep's tasks among them.\n"
    "Exit status: 0 ok, 2 usage, 3 invalid scenario or targets, 4 I/O or HDF5, 5 out of\n"
    "memory, 6 some target not met (validate), 7 calibration did not converge,\n"
    "130 interrupted. Docs: docs/ in the source tree; man lmsim.\n";

/* Per command: its usage lines and a one-line description. */
static const char *const command_usage[CLI_N_COMMANDS] = {
    "Usage: lmsim run SCENARIO -o OUT.h5 [options]\n"
    "Simulate SCENARIO, write the HDF5 run file OUT.h5 and print the headline and\n"
    "programme tables.\n\n",
    "Usage: lmsim check SCENARIO [options]\n"
    "Load and validate SCENARIO (with the overrides given) without running it; print\n"
    "'SCENARIO: OK: ...' or, with --json, the normalised scenario as JSON. Exit 0 or 3.\n\n",
    "Usage: lmsim describe OUT.h5 | OUT/sweep.h5\n"
    "Show the scenario, sizes, recorded warnings, headline and programme tables of a run\n"
    "file; or a sweep index's points and tasks (done, changed, damaged or missing).\n\n",
    "Usage: lmsim sweep SWEEP.cfg [--task N | --check] [-o DIR] [--threads N] [--quiet]\n"
    "Run a sweep (points x replicates, common random numbers across points), or one task\n"
    "of it; finished task files are kept and skipped when run again.\n\n",
    "Usage: lmsim compare A.h5 B.h5 [--impacts] [--csv]\n"
    "  or:  lmsim compare OUT/sweep.h5 POINT_A POINT_B [--impacts] [--csv]\n"
    "B - A of two run files by headline group (paired per person when both have panels\n"
    "and the same seed) and, with panels, impacts over the run; or paired differences\n"
    "between two points of a sweep, by replicate (with --impacts: impacts and appraisal\n"
    "over replicates; the tasks need panels).\n\n",
    "Usage: lmsim validate SCENARIO --targets FILE [options]\n"
    "  or:  lmsim validate --run FILE.h5 [--run FILE2.h5]... --targets FILE [--csv FILE]\n"
    "                      [--widen Z] [--require tuned|all] [--threads N]\n"
    "Run the scenario (and one run per programme with trial targets), or replay run\n"
    "files, and check every target of FILE; exit 6 when a target is not met.\n\n",
    "Usage: lmsim calibrate SCENARIO --targets FILE --free PATH=LO:HI [--free ...]\n"
    "                       -o FITTED.cfg [options]\n"
    "Fit the free settings to the tuned targets of FILE (simulated method of moments);\n"
    "write FITTED.cfg and FITTED.uncertain.cfg; exit 7 when the fit did not converge.\n\n",
};

void cli_print_help(FILE *f, int cmd) {
    if (cmd < 0 || cmd >= CLI_N_COMMANDS) {
        fputs(summary_text, f);
        fputs(run_text, f);
        fputs(check_text, f);
        fputs(validate_text, f);
        fputs(calibrate_text, f);
        fputs(sweep_text, f);
        fputs(compare_text, f);
        fputs(footer_text, f);
        return;
    }
    fputs(command_usage[cmd], f);
    switch (cmd) {
    case CLI_RUN:
        fputs(run_text, f);
        break;
    case CLI_CHECK:
        fputs(check_text, f);
        break;
    case CLI_VALIDATE:
        fputs(run_text, f);
        fputs(validate_text, f);
        break;
    case CLI_CALIBRATE:
        fputs(calibrate_text, f);
        break;
    case CLI_SWEEP:
        fputs(sweep_text, f);
        break;
    case CLI_COMPARE:
        fputs(compare_text, f);
        break;
    default:
        break;
    }
    fputs("Exit status: 0 ok, 2 usage, 3 invalid scenario or targets, 4 I/O or HDF5, 5 out of\n"
          "memory, 6 some target not met (validate), 7 calibration did not converge,\n"
          "130 interrupted. All commands: lmsim --help.\n",
          f);
}

int cli_command_of(const char *name) {
    for (int k = 0; k < CLI_N_COMMANDS; k++)
        if (strcmp(name, command_names[k]) == 0)
            return k;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Errors */

void cli_try_help(void) {
    if (hint_command)
        fprintf(stderr, "Try 'lmsim --help' or 'lmsim %s --help'.\n", hint_command);
    else
        fprintf(stderr, "Try 'lmsim --help'.\n");
}

int cli_usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "lmsim: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    cli_try_help();
    return CLI_EXIT_USAGE;
}

int cli_parse_int(const char *name, const char *v, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "lmsim: %s needs an integer in [%lld, %lld], got '%s'\n", name, lo, hi, v);
        cli_try_help();
        return CLI_EXIT_USAGE;
    }
    *out = x;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The option table */

enum {
    O_HELP = 'h',
    O_OUTPUT = 'o',
    O_QUIET = 'q',
    O_VERSION = 256,
    O_THREADS,
    O_SEED,
    O_PERSONS,
    O_MONTHS,
    O_PANEL,
    O_TRIAL,
    O_SET,
    O_JSON,
    O_TARGETS,
    O_CSV_FILE,
    O_CSV_FLAG,
    O_WIDEN,
    O_REQUIRE,
    O_RUN,
    O_TASK,
    O_CHECK,
    O_IMPACTS,
    O_FREE,
    O_MAX_ITER,
    O_STEP
};

#define IN(c) (1u << (c))
#define ALL_COMMANDS (IN(CLI_N_COMMANDS) - 1u)
#define RUNNERS (IN(CLI_RUN) | IN(CLI_VALIDATE) | IN(CLI_CALIBRATE))
#define SCENARIO_OPTS (RUNNERS | IN(CLI_CHECK))

typedef struct opt_def {
    const char *name; /* long name */
    int has_arg;      /* no_argument or required_argument */
    int id;           /* O_*; the short letter when there is one */
    unsigned cmds;    /* IN(command) of the commands that take it */
} opt_def;

static const opt_def opt_defs[] = {
    {"help", no_argument, O_HELP, ALL_COMMANDS},
    {"version", no_argument, O_VERSION, ALL_COMMANDS},
    {"output", required_argument, O_OUTPUT, RUNNERS | IN(CLI_SWEEP)},
    {"threads", required_argument, O_THREADS, RUNNERS | IN(CLI_SWEEP)},
    {"quiet", no_argument, O_QUIET, RUNNERS | IN(CLI_SWEEP)},
    {"seed", required_argument, O_SEED, SCENARIO_OPTS},
    {"persons", required_argument, O_PERSONS, SCENARIO_OPTS},
    {"months", required_argument, O_MONTHS, SCENARIO_OPTS},
    /* calibrate rejects these two with a reason (after parsing them). */
    {"panel", required_argument, O_PANEL, SCENARIO_OPTS},
    {"trial", required_argument, O_TRIAL, SCENARIO_OPTS},
    {"set", required_argument, O_SET, SCENARIO_OPTS},
    {"json", no_argument, O_JSON, IN(CLI_CHECK)},
    {"targets", required_argument, O_TARGETS, RUNNERS},
    {"csv", required_argument, O_CSV_FILE, IN(CLI_RUN) | IN(CLI_VALIDATE)},
    {"csv", no_argument, O_CSV_FLAG, IN(CLI_COMPARE)},
    {"widen", required_argument, O_WIDEN, IN(CLI_RUN) | IN(CLI_VALIDATE)},
    {"require", required_argument, O_REQUIRE, IN(CLI_VALIDATE)},
    {"run", required_argument, O_RUN, IN(CLI_VALIDATE)},
    {"task", required_argument, O_TASK, IN(CLI_SWEEP)},
    {"check", no_argument, O_CHECK, IN(CLI_SWEEP)},
    {"impacts", no_argument, O_IMPACTS, IN(CLI_COMPARE)},
    {"free", required_argument, O_FREE, IN(CLI_CALIBRATE)},
    {"max-iter", required_argument, O_MAX_ITER, IN(CLI_CALIBRATE)},
    {"step", required_argument, O_STEP, IN(CLI_CALIBRATE)},
};
#define N_OPT_DEFS (sizeof opt_defs / sizeof opt_defs[0])

/* What an option's value is, for "--x needs ...". */
static const char *value_of(int id, cli_command cmd) {
    switch (id) {
    case O_OUTPUT:
        return cmd == CLI_SWEEP ? "a folder" : "a file name";
    case O_TARGETS:
        return "a targets file";
    case O_CSV_FILE:
        return "a file name";
    case O_RUN:
        return "a run file";
    case O_TASK:
        return "a task number";
    case O_TRIAL:
        return "a programme name";
    case O_SET:
        return "path=value";
    case O_FREE:
        return "PATH=LO:HI";
    default:
        return "a value";
    }
}

static int add_set(cli *c, const char *s) {
    if (c->n_sets >= CLI_MAX_SETS)
        return cli_usage_error("too many --set options (at most %s)", "256");
    c->sets[c->n_sets++] = s;
    return 0;
}

static int add_owned(cli *c, const char *key, const char *value) {
    if (c->n_owned >= 8)
        return cli_usage_error("option given too many times: %s", key);
    snprintf(c->owned[c->n_owned], sizeof c->owned[0], "%s=%s", key, value);
    return add_set(c, c->owned[c->n_owned++]);
}

static int parse_panel(cli *c, const char *v) {
    if (strcmp(v, "full") == 0 || strcmp(v, "none") == 0) {
        char q[16];
        snprintf(q, sizeof q, "\"%s\"", v);
        return add_owned(c, "output.panel", q);
    }
    if (strncmp(v, "sample:", 7) == 0) {
        char *end;
        errno = 0;
        double f = strtod(v + 7, &end);
        if (errno || *end || end == v + 7 || !(f > 0.0 && f <= 1.0))
            return cli_usage_error("--panel sample:FRACTION needs a fraction in (0, 1], got '%s'",
                                   v);
        int rc = add_owned(c, "output.panel", "\"sample\"");
        return rc ? rc : add_owned(c, "output.sample_fraction", v + 7);
    }
    return cli_usage_error("--panel must be full, none or sample:FRACTION, got '%s'", v);
}

/* PATH=LO:HI into q (path copied to path_buf). */
static int parse_free(const char *v, lm_calib_param *q, char *path_buf, size_t n) {
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || (size_t)(eq - v) >= n)
        return cli_usage_error("--free needs PATH=LO:HI, e.g. "
                               "transitions.unemployed.[0].intercept=-3:-1, got '%s'",
                               v);
    memcpy(path_buf, v, (size_t)(eq - v));
    path_buf[eq - v] = '\0';
    const char *colon = strchr(eq + 1, ':');
    char *end = NULL, *end2 = NULL;
    errno = 0;
    double lo = colon ? strtod(eq + 1, &end) : 0.0;
    double hi = colon ? strtod(colon + 1, &end2) : 0.0;
    if (!colon || end != colon || end == eq + 1 || !end2 || *end2 || end2 == colon + 1 || errno ||
        !isfinite(lo) || !isfinite(hi))
        return cli_usage_error("--free '%s': LO:HI must be two numbers, e.g. -3.5:-0.5", v);
    if (!(lo < hi))
        return cli_usage_error("--free '%s': the lower bound must be below the upper bound", v);
    q->path = path_buf;
    q->lo = lo;
    q->hi = hi;
    return 0;
}

/* A non-negative finite number, or -1. */
static double parse_nonneg(const char *v) {
    char *end;
    errno = 0;
    double z = strtod(v, &end);
    if (errno || *end || end == v || !(z >= 0.0) || !isfinite(z))
        return -1.0;
    return z;
}

/* One option `id` with value v (NULL for flags); `as_typed` is the option
 * as given, for messages. */
static int take_option(cli *c, int id, const char *v, const char *as_typed) {
    long long x;
    int rc = 0;
    switch (id) {
    case O_OUTPUT:
        c->output = v;
        c->run_opts = 1;
        break;
    case O_THREADS:
        if ((rc = cli_parse_int("--threads", v, 1, INT_MAX, &x)))
            return rc;
        c->threads = (int)x;
        break;
    case O_QUIET:
        c->quiet = 1;
        break;
    case O_SEED:
    case O_PERSONS:
    case O_MONTHS: {
        const char *name = id == O_SEED ? "--seed" : id == O_PERSONS ? "--persons" : "--months";
        if ((rc = cli_parse_int(name, v, id == O_SEED ? 0 : 1, LLONG_MAX, &x)))
            return rc;
        const char *key = id == O_SEED      ? "simulation.seed"
                          : id == O_PERSONS ? "simulation.persons"
                                            : "simulation.months";
        char num[32];
        snprintf(num, sizeof num, "%lld%s", x, x > 2147483647LL ? "L" : "");
        rc = add_owned(c, key, num);
        c->run_opts = 1;
        break;
    }
    case O_TRIAL: {
        if (c->cmd == CLI_CALIBRATE)
            return cli_usage_error("calibrate does not take %s (trial targets set their own runs)",
                                   "--trial");
        char q[96];
        snprintf(q, sizeof q, "\"%.64s\"", v);
        rc = add_owned(c, "evaluation.trial", q);
        c->run_opts = 1;
        break;
    }
    case O_PANEL:
        if (c->cmd == CLI_CALIBRATE)
            return cli_usage_error("calibrate does not take %s (trial targets set their own runs)",
                                   "--panel");
        rc = parse_panel(c, v);
        c->run_opts = 1;
        break;
    case O_SET:
        if (!strchr(v, '='))
            return cli_usage_error("--set needs path=value, got '%s'", v);
        rc = add_set(c, v);
        c->run_opts = 1;
        break;
    case O_JSON:
        c->json = 1;
        break;
    case O_TARGETS:
        c->targets = v;
        break;
    case O_CSV_FILE:
        c->csv = v;
        break;
    case O_CSV_FLAG:
        c->csv_flag = 1;
        break;
    case O_WIDEN:
        if ((c->widen = parse_nonneg(v)) < 0.0)
            return cli_usage_error("--widen needs a number >= 0, got '%s'", v);
        break;
    case O_REQUIRE:
        if (strcmp(v, "tuned") != 0 && strcmp(v, "all") != 0)
            return cli_usage_error("--require needs 'tuned' or 'all', got '%s'", v);
        c->require_tuned = strcmp(v, "tuned") == 0;
        break;
    case O_RUN:
        if (c->n_runs >= CLI_MAX_RUNS)
            return cli_usage_error("too many --run files (at most %s)", "64");
        c->runs[c->n_runs++] = v;
        break;
    case O_TASK:
        if ((rc = cli_parse_int("--task", v, 0, INT_MAX, &x)))
            return rc;
        c->task = (int)x;
        break;
    case O_CHECK:
        c->check = 1;
        break;
    case O_IMPACTS:
        c->impacts = 1;
        break;
    case O_FREE:
        if (c->n_free >= LM_CALIB_MAX_FREE)
            return cli_usage_error("too many --free parameters (at most %s)", "32");
        if (!(rc = parse_free(v, &c->par[c->n_free], c->paths[c->n_free], sizeof c->paths[0])))
            c->free_arg[c->n_free++] = v;
        break;
    case O_MAX_ITER:
        if ((rc = cli_parse_int("--max-iter", v, 1, INT_MAX, &x)))
            return rc;
        c->max_iter = (int)x;
        break;
    case O_STEP: {
        char *end;
        errno = 0;
        double h = strtod(v, &end);
        if (errno || *end || end == v || !(h > 0.0) || !isfinite(h))
            return cli_usage_error("--step needs a number > 0 (the Jacobian step on the logit "
                                   "scale), got '%s'",
                                   v);
        c->step = h;
        break;
    }
    default:
        return cli_usage_error("unknown option '%s'", as_typed);
    }
    return rc;
}

/* A positional argument, in command-line order. */
static int take_positional(cli *c, const char *a) {
    switch (c->cmd) {
    case CLI_COMPARE:
    case CLI_DESCRIBE:
        break;
    default:
        if (c->n_pos >= 1)
            return cli_usage_error("unexpected argument '%s'", a);
        break;
    }
    if (c->n_pos < CLI_MAX_POS)
        c->pos[c->n_pos] = a;
    c->n_pos++;
    return 0;
}

/* Whether "--abc" (up to any '=') begins two or more of the long options. */
static int is_ambiguous(const struct option *longopts, const char *typed) {
    if (strncmp(typed, "--", 2) != 0)
        return 0;
    const char *name = typed + 2;
    const size_t len = strcspn(name, "=");
    int n = 0;
    for (const struct option *o = longopts; o->name; o++)
        if (strncmp(o->name, name, len) == 0 && (o == longopts || strcmp(o->name, o[-1].name)))
            n++;
    return n > 1;
}

int cli_parse(int argc, char **argv, cli *c) {
    memset(c, 0, sizeof *c);
    const int cmd = cli_command_of(argv[1]);
    if (cmd < 0)
        return cli_usage_error("unknown command '%s'", argv[1]);
    c->cmd = (cli_command)cmd;
    c->widen = -1.0;
    c->task = -1;
    hint_command = command_names[cmd];

    /* This command's table: long options, then the short ones. */
    struct option longopts[N_OPT_DEFS + 1];
    char shortopts[16] = "-:";
    size_t n = 0;
    for (size_t k = 0; k < N_OPT_DEFS; k++) {
        if (!(opt_defs[k].cmds & IN(cmd)))
            continue;
        longopts[n].name = opt_defs[k].name;
        longopts[n].has_arg = opt_defs[k].has_arg;
        longopts[n].flag = NULL;
        longopts[n].val = opt_defs[k].id;
        n++;
        if (opt_defs[k].id < 128) {
            const size_t len = strlen(shortopts);
            shortopts[len] = (char)opt_defs[k].id;
            shortopts[len + 1] = opt_defs[k].has_arg == required_argument ? ':' : '\0';
            shortopts[len + 2] = '\0';
        }
    }
    memset(&longopts[n], 0, sizeof longopts[n]);

    /* Parse a copy from the command on: getopt may reorder what it is given
     * and argv stays as typed (calibrate records it). */
    char **av = malloc((size_t)argc * sizeof *av);
    if (!av) {
        fprintf(stderr, "lmsim: error: out of memory\n");
        return 5;
    }
    const int ac = argc - 1;
    for (int i = 0; i < ac; i++)
        av[i] = argv[i + 1];
    optind = 0; /* glibc: start afresh */
    opterr = 0;
    int rc = 0, o;
    while (!rc && (o = getopt_long(ac, av, shortopts, longopts, NULL)) != -1) {
        const char *typed = av[optind - 1];
        if (o == 1) {
            rc = take_positional(c, optarg);
        } else if (o == O_HELP) {
            cli_print_help(stdout, cmd);
            rc = CLI_DONE;
        } else if (o == O_VERSION) {
            printf("lmsim %s\n", lm_version());
            rc = CLI_DONE;
        } else if (o == ':') {
            /* A value missing at the end of the line. */
            char msg[96];
            snprintf(msg, sizeof msg, "%%s needs %s", value_of(optopt, c->cmd));
            rc = cli_usage_error(msg, typed);
        } else if (o == '?') {
            if (optopt > 0 && optopt < 128 && typed[0] == '-' && typed[1] != '-') {
                char s[3] = {'-', (char)optopt, '\0'};
                rc = cli_usage_error("unknown option '%s'", s);
            } else if (optopt != 0 && strchr(typed, '=')) {
                rc = cli_usage_error("option '%s' takes no value", typed);
            } else if (is_ambiguous(longopts, typed)) {
                rc = cli_usage_error("option '%s' is ambiguous (it begins several options)", typed);
            } else {
                rc = cli_usage_error(c->cmd == CLI_COMPARE ? "compare: unknown option '%s'"
                                                           : "unknown option '%s'",
                                     typed);
            }
        } else {
            rc = take_option(c, o, optarg, typed);
        }
    }
    for (int i = optind; !rc && i < ac; i++) /* the arguments after "--" */
        rc = take_positional(c, av[i]);
    free(av);
    if (rc)
        return rc;

    switch (c->cmd) {
    case CLI_DESCRIBE:
        if (c->n_pos != 1)
            return cli_usage_error(
                "%s", "describe takes exactly one file: lmsim describe OUT.h5 | OUT/sweep.h5");
        c->scenario = c->pos[0];
        break;
    case CLI_COMPARE:
        break;
    case CLI_SWEEP:
        if (c->n_pos < 1)
            return cli_usage_error("%s", "missing sweep file");
        c->scenario = c->pos[0];
        break;
    default:
        c->scenario = c->n_pos > 0 ? c->pos[0] : NULL;
        if (!c->scenario && c->cmd != CLI_VALIDATE)
            return cli_usage_error("%s", "missing scenario file");
        break;
    }
    return 0;
}
