/* cli/options.h - the lmsim command line: commands, options, help texts.
 *
 * Not part of the library: the program's own parser (engine/cli/options.c),
 * used by engine/cli/main.c. Names are file-local to the program and carry
 * the prefix cli_.
 */
#ifndef LMSIM_CLI_OPTIONS_H
#define LMSIM_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "lmsim.h"

/* The commands, in the order the help lists them. */
typedef enum cli_command {
    CLI_RUN,
    CLI_CHECK,
    CLI_DESCRIBE,
    CLI_SWEEP,
    CLI_COMPARE,
    CLI_VALIDATE,
    CLI_CALIBRATE,
    CLI_N_COMMANDS
} cli_command;

/* Exit status of a usage error (and of the command line in general). */
enum { CLI_EXIT_USAGE = 2 };
/* cli_parse: --help or --version was printed; the program exits 0. */
enum { CLI_DONE = -1 };

#define CLI_MAX_SETS 256
#define CLI_MAX_RUNS 64 /* --run files of validate */
#define CLI_MAX_POS 4   /* positional arguments kept (compare takes 3) */

/* Everything a command line can hold; each command reads its own part. */
typedef struct cli {
    cli_command cmd;
    const char *pos[CLI_MAX_POS]; /* positional arguments in order (borrowed from argv) */
    int n_pos;                    /* how many were given (may exceed CLI_MAX_POS) */
    const char *scenario;         /* run, check, validate, calibrate: SCENARIO; sweep: SWEEP.cfg */
    const char *output;           /* -o: run file, sweep folder or FITTED.cfg */
    int threads;                  /* --threads, 0 when not given */
    int quiet;                    /* -q */
    int run_opts;                 /* an option that changes or writes the run was given */
    const char *targets;          /* --targets */
    const char *csv;              /* --csv FILE (run, validate) */
    double widen;                 /* --widen, < 0 when not given */
    int require_tuned;            /* --require tuned: only tuned targets decide the exit status */
    const char *runs[CLI_MAX_RUNS]; /* validate --run files */
    int n_runs;
    const char *sets[CLI_MAX_SETS]; /* overrides in command-line order */
    size_t n_sets;
    char owned[8][128]; /* storage for overrides built from --seed, --persons, ... */
    int n_owned;
    int json;                              /* check --json */
    int task;                              /* sweep --task, -1 when not given */
    int check;                             /* sweep --check */
    int csv_flag;                          /* compare --csv */
    int impacts;                           /* compare --impacts */
    lm_calib_param par[LM_CALIB_MAX_FREE]; /* calibrate --free */
    char paths[LM_CALIB_MAX_FREE][256];    /* storage of the --free paths */
    const char *free_arg[LM_CALIB_MAX_FREE];
    size_t n_free;
    int max_iter; /* calibrate --max-iter, 0 when not given */
    double step;  /* calibrate --step, 0 when not given */
} cli;

/* The command called `name` ("run", ...), or -1. */
int cli_command_of(const char *name);

/* Parse the options and arguments of command c->cmd: argv[0] is the
 * program, argv[1] the command. GNU conventions (getopt_long): `--opt
 * value` and `--opt=value`, options and arguments in any order, `--` ends
 * the options, unambiguous abbreviations of long options. Returns 0, CLI_DONE
 * after printing --help or --version, or CLI_EXIT_USAGE with the message on
 * stderr. argv is not reordered. */
int cli_parse(int argc, char **argv, cli *c);

/* The help of one command (cmd >= 0) or of all (cmd < 0) on f. */
void cli_print_help(FILE *f, int cmd);

/* "lmsim: <fmt with arg>" and the hint to --help on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, const char *arg);

/* The hint printed after a usage error: "Try 'lmsim --help'." (and the
 * command's own --help once a command is known). */
void cli_try_help(void);

/* An integer option in [lo, hi]: nothing is cut (--task 4294967296 is an
 * error, not task 0). 0 or CLI_EXIT_USAGE (message printed). */
int cli_parse_int(const char *name, const char *v, long long lo, long long hi, long long *out);

#endif /* LMSIM_CLI_OPTIONS_H */
