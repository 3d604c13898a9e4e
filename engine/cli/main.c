/* cli/main.c - the lmsim command: argument parsing, progress and exit codes.
 *
 *   lmsim run SCENARIO -o OUT.h5 [--threads N] [--seed S] [--persons N]
 *             [--months M] [--panel full|none|sample:FRACTION] [--trial PROGRAMME]
 *             [--set path=value]... [--quiet] [--targets FILE [--widen Z] [--csv FILE]]
 *   lmsim validate SCENARIO --targets FILE [run options] [-o OUT.h5] [--csv FILE]
 *             [--widen Z] [--quiet]
 *   lmsim validate --run FILE.h5 [--run FILE2.h5]... --targets FILE [--csv FILE]
 *             [--widen Z] [--threads N]
 *   lmsim check SCENARIO [--seed S] [--persons N] [--months M] [--panel MODE]
 *             [--trial PROGRAMME] [--set path=value]... [--json]
 *   lmsim describe OUT.h5 | OUT/sweep.h5
 *   lmsim sweep SWEEP.cfg [--task N] [-o DIR] [--threads N] [--quiet]
 *   lmsim compare A.h5 B.h5 [--impacts] [--csv]
 *   lmsim compare OUT/sweep.h5 POINT_A POINT_B [--csv]
 *   lmsim calibrate SCENARIO --targets FILE --free PATH=LO:HI [--free ...] -o FITTED.cfg
 *             [--persons N] [--months M] [--seed S] [--threads N] [--max-iter K]
 *             [--step H] [--set path=value]... [--quiet]
 *   lmsim help [COMMAND] | lmsim COMMAND --help | lmsim --help | --version
 *
 * The command line is parsed by cli/options.c (getopt_long: `--opt value`
 * and `--opt=value`, options anywhere, per-command tables and help texts);
 * this file runs the commands.
 *
 * With -DLMSIM_MPI=ON and started by mpirun, `run` is one run split across
 * the ranks (lm_exchange over MPI_COMM_WORLD) and `sweep` shares its tasks.
 *
 * Warnings of the library (settings with no effect, lm_scenario_warnings;
 * comparisons that show nothing) are printed on stderr as "lmsim: warning:
 * ...", also with --quiet, and never change the exit status.
 *
 * Everything else is the library's. Exit status: 0 success, 2 usage error,
 * 3 invalid scenario or targets file, 4 I/O or HDF5 failure, 5 out of
 * memory, 6 targets not met (validate), 7 calibration did not converge,
 * 130 interrupted, 1 anything else.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <gsl/gsl_errno.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>
#include <unistd.h>

#include "lmsim.h"
#include "options.h"

#ifdef LMSIM_MPI
#include <mpi.h>

/* Whether this process was started by mpirun (and so should use MPI). */
static int under_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL ||
           getenv("PMI_RANK") != NULL;
}

/* The exchange of a distributed run (lmsim/exchange.h) over MPI_COMM_WORLD:
 * sums of integers and of doubles (each element from one rank: exact) with
 * MPI_Allreduce, rows gathered on rank 0 with MPI_Gatherv. */
#define MPI_PIECE (1 << 28) /* elements per call: counts are int */
static int mpi_sum(void *buf, size_t n, MPI_Datatype type, size_t size) {
    for (size_t k = 0; k < n; k += MPI_PIECE) {
        int m = (int)(n - k < MPI_PIECE ? n - k : MPI_PIECE);
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)buf + k * size, m, type, MPI_SUM, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            return -1;
    }
    return 0;
}
static int mpi_sum_i64(void *user, int64_t *buf, size_t n) {
    (void)user;
    return mpi_sum(buf, n, MPI_INT64_T, sizeof *buf);
}
static int mpi_sum_f64(void *user, double *buf, size_t n) {
    (void)user;
    return mpi_sum(buf, n, MPI_DOUBLE, sizeof *buf);
}
static int mpi_gather(void *user, const void *send, size_t bytes, void *recv,
                      const size_t *counts) {
    int rank, size, rc;
    (void)user;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int *cnt = NULL, *disp = NULL;
    if (rank == 0) {
        cnt = malloc((size_t)size * sizeof *cnt);
        disp = malloc((size_t)size * sizeof *disp);
        size_t off = 0;
        for (int r = 0; cnt && disp && r < size; r++) {
            if (counts[r] > INT_MAX || off > INT_MAX) {
                free(cnt);
                free(disp);
                return -1;
            }
            cnt[r] = (int)counts[r];
            disp[r] = (int)off;
            off += counts[r];
        }
        /* Without memory rank 0 still takes part, then reports failure. */
    }
    rc = MPI_Gatherv(send, (int)bytes, MPI_BYTE, recv, cnt, disp, MPI_BYTE, 0, MPI_COMM_WORLD);
    int ok = rc == MPI_SUCCESS && (rank != 0 || (cnt && disp));
    free(cnt);
    free(disp);
    return ok ? 0 : -1;
}
#endif

enum {
    EXIT_USAGE = 2,
    EXIT_SCENARIO = 3,
    EXIT_IO = 4,
    EXIT_NOMEM = 5,
    EXIT_NOT_MET = 6,
    EXIT_INTERRUPTED = 130
};

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

/* SIGINT and SIGTERM ask the run to stop; it then leaves no file. */
static void catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int exit_code_of(int rc) {
    switch (rc) {
    case LM_OK:
        return 0;
    case LM_ESYNTAX:
    case LM_ECONFIG:
        return EXIT_SCENARIO;
    case LM_EARG:
        return EXIT_USAGE;
    case LM_EIO:
    case LM_EHDF5:
    case LM_ERANGE:
        return EXIT_IO;
    case LM_ENOMEM:
        return EXIT_NOMEM;
    case LM_EINTERRUPTED:
        return EXIT_INTERRUPTED;
    default:
        return 1;
    }
}

static int report(const lm_error *err) {
    fprintf(stderr, "lmsim: error: %s\n", err->msg[0] ? err->msg : lm_strerror(err->code));
    return exit_code_of(err->code);
}

/* Each line of `text` (warnings, one per line) on stderr as "lmsim: warning:
 * ...", as LM_MSG_FILE_WARNING when they were read from run file `file`.
 * Printed even with --quiet: a setting with no effect is what a user must
 * not miss. */
static void print_warnings(const char *text, const char *file) {
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        const int len = (int)(nl ? (size_t)(nl - text) : strlen(text));
        char line[2048];
        snprintf(line, sizeof line, "%.*s", len < 2000 ? len : 2000, text);
        if (file)
            fprintf(stderr, "lmsim: warning: " LM_MSG_FILE_WARNING "\n", file, line);
        else
            fprintf(stderr, "lmsim: warning: %s\n", line);
        text += len + (nl != NULL);
    }
}

/* Log callback of the library: warnings on stderr (sweep tasks). */
static void on_log(void *user, lm_log_level level, const char *msg) {
    (void)user;
    if (level <= LM_LOG_WARN)
        fprintf(stderr, "lmsim: %s: %s\n", level == LM_LOG_ERROR ? "error" : "warning", msg);
}

typedef struct progress_state {
    int tty;
    struct timespec t0;
} progress_state;

static double elapsed(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void on_progress(void *user, int month, int n_months) {
    progress_state *ps = user;
    double dt = elapsed(&ps->t0);
    if (ps->tty) {
        const int width = 40;
        int filled = (int)((double)width * month / n_months);
        double eta = month > 0 ? dt * (n_months - month) / month : 0.0;
        fprintf(stderr, "\r[%.*s%*s] month %d/%d  %.1fs  ETA %.1fs ", filled,
                "########################################", width - filled, "", month, n_months, dt,
                eta);
        if (month == n_months)
            fputc('\n', stderr);
        fflush(stderr);
    } else if (month % LM_MONTHS_PER_YEAR == 0 || month == n_months) {
        fprintf(stderr, "lmsim: simulated month %d of %d (%.1f s)\n", month, n_months, dt);
    }
}

static void print_rows(const lm_headline *h, int all_rows) {
    printf("%-26s %9s %9s   %9s %9s   %9s %9s\n", "", "employment", "rate %", "unemploy.", "rate %",
           "inactivity", "rate %");
    printf("%-26s %9s %9s   %9s %9s   %9s %9s\n", "group", "start", "end", "start", "end", "start",
           "end");
    for (int i = 0; i < h->n_rows; i++) {
        const lm_headline_row *r = &h->rows[i];
        if (!all_rows && strcmp(r->group, "all") && strcmp(r->group, "disabled") &&
            strcmp(r->group, "not_disabled"))
            continue;
        printf("%-26s %9.1f %9.1f   %9.1f %9.1f   %9.1f %9.1f\n", r->group,
               100.0 * r->employment_rate[0], 100.0 * r->employment_rate[1],
               100.0 * r->unemployment_rate[0], 100.0 * r->unemployment_rate[1],
               100.0 * r->inactivity_rate[0], 100.0 * r->inactivity_rate[1]);
    }
}

/* One line of counts and costs of a programme row, multiplied by `scale`. */
static void print_programme_counts(const char *name, const lm_programme_row *r, double scale,
                                   int rates) {
    const int64_t *n = r->counts;
    const double refs = (double)n[r->arm > 0 ? LM_PM_RANDOMISED : LM_PM_REFERRALS];
    printf("%-26s %10.0f %10.0f %10.0f %10.0f %10.0f %14.0f", name, refs * scale,
           (double)n[LM_PM_STARTS] * scale, (double)n[LM_PM_JOB_ENTRIES] * scale,
           (double)n[LM_PM_SUSTAINED_6_STARTED] * scale, (double)n[LM_PM_OUTCOMES] * scale,
           r->cost_total_sim * scale);
    if (rates)
        printf(" %7.1f %7.1f %7.1f %9.0f %9.0f %9.0f", 100.0 * r->any_job_12_rate,
               100.0 * r->sustained_6_12_rate, 100.0 * r->outcome_rate, r->cost_per_referral,
               r->cost_per_start, r->cost_per_sustained_6);
    putchar('\n');
}

static void print_programmes(const lm_programme_table *t) {
    static const char *const arm_names[LM_N_ARMS] = {" (not offered)", " (treatment)",
                                                     " (control)"};
    if (t->n_rows == 0)
        return;
    const double scale = t->scale > 0.0 ? t->scale : 1.0;
    if (scale != 1.0)
        printf("\nProgrammes: counts and costs for the represented population of %lld (x %.4g the "
               "%lld simulated persons; simulated counts on the lines below)\n",
               (long long)t->represents, scale, (long long)t->persons);
    else
        printf("\nProgrammes: counts and costs for the %lld simulated persons (the population "
               "represented)\n",
               (long long)t->persons);
    printf("%-26s %10s %10s %10s %10s %10s %14s %7s %7s %7s %9s %9s %9s\n", "programme",
           "referrals", "starts", "job", "starters", "paid", "cost GBP", "any job", "sust. 6m",
           "outcome", "GBP per", "GBP per", "GBP per");
    printf("%-26s %10s %10s %10s %10s %10s %14s %7s %7s %7s %9s %9s %9s\n", "", "", "", "entries",
           "sust. 6m", "outcomes", "", "12m %", "12m %", "rate %", "referral", "start", "sust. 6m");
    for (int i = 0; i < t->n_rows; i++) {
        const lm_programme_row *r = &t->rows[i];
        /* Under a trial the programme has a row per arm; arm 0 is then the
         * referrals never offered a place, and the arms count randomisations. */
        const int trial = r->arm > 0 || (i + 1 < t->n_rows && t->rows[i + 1].arm > 0 &&
                                         strcmp(t->rows[i + 1].programme, r->programme) == 0);
        char name[64];
        snprintf(name, sizeof name, "%.40s%s", r->programme,
                 trial ? arm_names[r->arm >= 0 && r->arm < LM_N_ARMS ? r->arm : 0] : "");
        print_programme_counts(name, r, scale, 1);
        if (scale != 1.0)
            print_programme_counts("  simulated", r, 1.0, 0);
    }
    printf("Rates over the referrals followed to their horizon: any job and sustained 6 months "
           "within 12\nmonths; outcome rate: paid outcomes within the outcome window (");
    for (int i = 0; i < t->n_rows; i++)
        if (t->rows[i].arm == 0)
            printf("%s%s %d months", i ? ", " : "", t->rows[i].programme,
                   t->rows[i].outcome_window_months);
    printf(").\nGBP per sust. 6m: cost per job of a starter sustained 6 months "
           "(sustained_6_started).\n");
    for (int i = 0; i < t->n_rows; i++)
        if (t->rows[i].arm > 0) {
            printf("Trial: randomised at the offer of a place; the arms' referrals are the "
                   "persons randomised,\nfollowed from the offer (per-offer effect). Row "
                   "'not offered': referrals who never got a place.\n");
            break;
        }
}

/* The validation table on stdout; returns 0 when every target passed (every
 * tuned target with require_tuned), EXIT_NOT_MET otherwise. */
static int print_validation(const lm_targets *t, const lm_target_result *res, int show_se,
                            int require_tuned) {
    const size_t n = lm_targets_count(t);
    int wid = 2, wev = 8, met = 0, na = 0;
    int by_use[2][2] = {{0, 0}, {0, 0}}; /* [tuned][met]: targets */
    for (size_t i = 0; i < n; i++) {
        lm_target_info info;
        lm_targets_info(t, i, &info);
        if ((int)strlen(info.id) > wid)
            wid = (int)strlen(info.id);
        if ((int)strlen(info.evidence) > wev)
            wev = (int)strlen(info.evidence);
    }
    printf("%-*s %-*s %-10s %12s %12s %12s", wid, "id", wev, "evidence", "use", "published",
           "simulated", "tolerance");
    if (show_se)
        printf(" %12s", "s.e.");
    printf("  pass\n");
    for (size_t i = 0; i < n; i++) {
        lm_target_info info;
        const lm_target_result *r = &res[i];
        lm_targets_info(t, i, &info);
        printf("%-*s %-*s %-10s %12.6g ", wid, info.id, wev, info.evidence, info.use, info.value);
        if (r->available)
            printf("%12.6g", r->simulated);
        else
            printf("%12s", "n/a");
        printf(" %12.6g", info.tolerance);
        if (show_se) {
            if (r->available)
                printf(" %12.6g", r->se);
            else
                printf(" %12s", "n/a");
        }
        if (!r->available)
            printf("  n/a: %s\n", r->reason);
        else
            printf("  %s\n", r->pass ? "yes" : "NO");
        met += r->available && r->pass;
        na += !r->available;
        by_use[info.tuned != 0][r->available && r->pass]++;
    }
    printf("%d of %zu targets met (%zu not met, %d n/a): tuned %d of %d, validation %d of %d\n",
           met, n, n - (size_t)met - (size_t)na, na, by_use[1][1], by_use[1][0] + by_use[1][1],
           by_use[0][1], by_use[0][0] + by_use[0][1]);
    if (require_tuned)
        return by_use[1][0] == 0 ? 0 : EXIT_NOT_MET;
    return (size_t)met == n ? 0 : EXIT_NOT_MET;
}

/* A CSV field of text: quoted, quotes doubled. */
static void csv_text(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The table as CSV, written to PATH.tmp.XXXXXXXX (a file of its own) and
 * renamed. 0 or EXIT_IO. */
static int write_validation_csv(const char *path, const lm_targets *t,
                                const lm_target_result *res) {
    char tmp[4096];
    int fd = -1;
    FILE *f = NULL;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXXXX", path) >= (int)sizeof tmp) {
        fprintf(stderr, "lmsim: error: CSV path too long: '%s'\n", path);
        return EXIT_IO;
    }
    if (lm_tmp_create(tmp, &fd) != 0 || !(f = fdopen(fd, "w"))) {
        fprintf(stderr, "lmsim: error: cannot create '%s' (the temporary file of '%s'): %s\n", tmp,
                path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            remove(tmp);
        }
        return EXIT_IO;
    }
    fprintf(f, "id,evidence,use,measure,describe,published,simulated,tolerance,se,pass,"
               "available,reason\n");
    for (size_t i = 0; i < lm_targets_count(t); i++) {
        lm_target_info info;
        const lm_target_result *r = &res[i];
        lm_targets_info(t, i, &info);
        csv_text(f, info.id);
        fputc(',', f);
        csv_text(f, info.evidence);
        fprintf(f, ",%s,%s,", info.use, info.measure);
        csv_text(f, info.describe);
        fprintf(f, ",%.17g,%.17g,%.17g,%.17g,%d,%d,", info.value, r->simulated, info.tolerance,
                r->se, r->available && r->pass, r->available);
        csv_text(f, r->reason);
        fputc('\n', f);
    }
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "lmsim: error: cannot write '%s': %s\n", path, strerror(errno));
        remove(tmp);
        return EXIT_IO;
    }
    return 0;
}

static int cmd_check(const cli *c) {
    lm_error err;
    lm_error_clear(&err);
    lm_scenario *sc;
    if (lm_scenario_load(c->scenario, c->sets, c->n_sets, &sc, &err))
        return report(&err);
    print_warnings(sc->warnings, NULL);
    if (c->json) {
        /* The scenario as the run would use it, for tools (lmsim/json.h). */
        int rc = lm_json_write_scenario(sc, stdout, &err);
        lm_scenario_destroy(sc);
        return rc ? report(&err) : 0;
    }
    printf("%s: OK: scenario '%s', %lld persons, %d months from %04d-%02d, %d regions\n",
           c->scenario, sc->name, (long long)sc->n_persons, sc->n_months, sc->start_year,
           sc->start_month, sc->n_regions);
    lm_scenario_destroy(sc);
    return 0;
}

static int cmd_run(cli *c) {
    if (!c->output)
        return cli_usage_error("%s", "run needs an output file: -o OUT.h5");
    if ((c->csv || c->widen >= 0.0) && !c->targets)
        return cli_usage_error("%s", "--csv and --widen of run go with --targets FILE");
    lm_error err;
    lm_error_clear(&err);
    lm_scenario *sc = NULL;
    lm_targets *targets = NULL;
    int load_rc = lm_scenario_load(c->scenario, c->sets, c->n_sets, &sc, &err);
    if (!load_rc && c->targets && !(load_rc = lm_targets_load(c->targets, &targets, &err)))
        load_rc = lm_targets_check(targets, sc, &err);
#ifdef LMSIM_MPI
    /* Under mpirun every rank loads the scenario; if one cannot (a file
     * missing on its node), all stop here rather than wait for it. */
    int mpi_started = 0;
    MPI_Initialized(&mpi_started);
    if (mpi_started) {
        int bad = load_rc != 0, any = 0;
        MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        if (any && !bad) {
            lm_scenario_destroy(sc);
            lm_targets_destroy(targets);
            fprintf(stderr, "lmsim: error: another rank could not load '%s'\n", c->scenario);
            return EXIT_SCENARIO;
        }
    }
#endif
    if (load_rc) {
        lm_scenario_destroy(sc);
        lm_targets_destroy(targets);
        return report(&err);
    }
    /* Targets of variant 0 are observed during the run; the others (trial
     * runs) are reported n/a. */
    lm_moments *moments = NULL;
    lm_target_result *res = NULL;
    if (targets) {
        if (c->threads > 0)
            omp_set_num_threads(c->threads);
        res = calloc(lm_targets_count(targets), sizeof *res);
        if (!res) {
            lm_error_clear(&err);
            err.code = LM_ENOMEM;
        } else if (!lm_moments_create(targets, 0, sc, &moments, &err)) {
            lm_targets_results_init(targets, res);
        }
        if (!moments) {
            free(res);
            lm_scenario_destroy(sc);
            lm_targets_destroy(targets);
            return report(&err);
        }
    }

    catch_stop_signals();

    progress_state ps = {isatty(STDERR_FILENO), {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &ps.t0);
    lm_run_options opt = {0};
    opt.out_path = c->output;
    opt.threads = c->threads;
    opt.progress = c->quiet ? NULL : on_progress;
    opt.progress_user = &ps;
    opt.stop = &stop_requested;
    lm_headline h;
    lm_programme_table progs;
    opt.programmes = &progs;
    opt.moments = moments;
    opt.results = res;
    opt.widen = c->widen > 0.0 ? c->widen : 0.0;
    int rank = 0, n_ranks = 1;
#ifdef LMSIM_MPI
    lm_exchange ex = {0, 1, NULL, mpi_sum_i64, mpi_sum_f64, mpi_gather};
    int mpi_on = 0;
    MPI_Initialized(&mpi_on);
    if (mpi_on) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
        ex.rank = rank;
        ex.n_ranks = n_ranks;
        opt.exchange = &ex;
    }
#endif
    /* Only rank 0 of a distributed run talks, except about its own errors. */
    if (rank != 0) {
        c->quiet = 1;
        opt.progress = NULL;
    } else {
        print_warnings(sc->warnings, NULL);
    }
    if (!c->quiet)
        fprintf(stderr,
                "lmsim: running '%s': %lld persons, %d months from %04d-%02d, seed %llu%s\n",
                sc->name, (long long)sc->n_persons, sc->n_months, sc->start_year, sc->start_month,
                (unsigned long long)sc->seed, n_ranks > 1 ? ", split across ranks" : "");
    int run_rc = lm_run(sc, &opt, &h, &err);
    lm_moments_destroy(moments);
    if (run_rc) {
        lm_scenario_destroy(sc);
        lm_targets_destroy(targets);
        free(res);
        if (n_ranks == 1)
            return report(&err);
        fprintf(stderr, "lmsim: rank %d of %d: error: %s\n", rank, n_ranks,
                err.msg[0] ? err.msg : lm_strerror(err.code));
        return exit_code_of(err.code);
    }
    int code = 0;
    if (rank == 0) {
        double dt = elapsed(&ps.t0);
        printf("Scenario %s: %lld persons x %d months from %04d-%02d, seed %llu (%.1f s)\n",
               sc->name, (long long)sc->n_persons, sc->n_months, sc->start_year, sc->start_month,
               (unsigned long long)sc->seed, dt);
        print_rows(&h, 0);
        print_programmes(&progs);
        if (targets) {
            putchar('\n');
            print_validation(targets, res, c->widen >= 0.0, 0);
            if (c->csv)
                code = write_validation_csv(c->csv, targets, res);
        }
        printf("Output: %s\n", c->output);
    }
    lm_scenario_destroy(sc);
    lm_targets_destroy(targets);
    free(res);
    return code;
}

/* The warnings recorded in run file `path` (root attribute `warnings`) on
 * stderr, as compare shows them. */
static int file_warnings(const char *path, lm_error *err) {
    lm_file_info *info = malloc(sizeof *info);
    if (!info) {
        lm_error_clear(err);
        err->code = LM_ENOMEM;
        return LM_ENOMEM;
    }
    int rc = lm_h5_describe(path, info, err);
    if (rc == LM_OK)
        print_warnings(info->warnings, path);
    free(info);
    return rc;
}

/* lmsim validate --run FILE.h5 ...: the targets from existing run files. */
static int validate_runs(const cli *c) {
    lm_error err;
    lm_error_clear(&err);
    lm_targets *t = NULL;
    lm_scenario *sc[CLI_MAX_RUNS] = {0};
    int variant_of[CLI_MAX_RUNS];
    lm_target_result *res = NULL;
    lm_moments *m = NULL;
    int code = 0;
    if (lm_targets_load(c->targets, &t, &err)) {
        code = report(&err);
        goto done;
    }
    const int nv = lm_targets_n_variants(t);
    /* Each file serves the variant of its trial programme, else variant 0. */
    for (int k = 0; k < c->n_runs; k++) {
        if (lm_moments_file_scenario(c->runs[k], &sc[k], &err) || file_warnings(c->runs[k], &err)) {
            code = report(&err);
            goto done;
        }
        const char *trial = sc[k]->trial >= 0 ? sc[k]->programmes[sc[k]->trial].name : NULL;
        variant_of[k] = 0;
        for (int v = 1; trial && v < nv; v++)
            if (strcmp(lm_targets_variant_trial(t, v), trial) == 0)
                variant_of[k] = v;
    }
    const size_t n = lm_targets_count(t);
    res = calloc(n, sizeof *res);
    if (!res) {
        fprintf(stderr, "lmsim: error: out of memory\n");
        code = EXIT_NOMEM;
        goto done;
    }
    lm_targets_results_init(t, res);
    if (c->threads > 0)
        omp_set_num_threads(c->threads);
    for (int v = 0; v < nv; v++) {
        int first = -1;
        for (int k = 0; k < c->n_runs && first < 0; k++)
            if (variant_of[k] == v)
                first = k;
        if (first < 0) {
            /* No file for this variant: its targets stay n/a. */
            for (size_t i = 0; i < n; i++) {
                lm_target_info info;
                lm_targets_info(t, i, &info);
                if (info.variant != v)
                    continue;
                if (v == 0)
                    snprintf(res[i].reason, sizeof res[i].reason,
                             "no --run file of the scenario without a trial of another "
                             "programme");
                else
                    snprintf(res[i].reason, sizeof res[i].reason,
                             "no --run file of a run with evaluation.trial = \"%.60s\"",
                             lm_targets_variant_trial(t, v));
            }
            continue;
        }
        if (lm_moments_create(t, v, sc[first], &m, &err)) {
            code = report(&err);
            goto done;
        }
        for (int k = first; k < c->n_runs; k++) {
            if (variant_of[k] != v)
                continue;
            if (!c->quiet)
                fprintf(stderr, "lmsim: replaying '%s'\n", c->runs[k]);
            if (lm_moments_replay(m, c->runs[k], &err)) {
                code = report(&err);
                goto done;
            }
        }
        if (lm_moments_results(m, c->widen > 0.0 ? c->widen : 0.0, res, &err)) {
            code = report(&err);
            goto done;
        }
        lm_moments_destroy(m);
        m = NULL;
    }
    printf("Validation from %d run file%s (%s%s)\n", c->n_runs, c->n_runs == 1 ? "" : "s",
           c->runs[0], c->n_runs > 1 ? ", ..." : "");
    code = print_validation(t, res, c->widen >= 0.0, c->require_tuned);
    if (c->csv) {
        int w = write_validation_csv(c->csv, t, res);
        if (w)
            code = w;
    }
done:
    lm_moments_destroy(m);
    for (int k = 0; k < c->n_runs; k++)
        lm_scenario_destroy(sc[k]);
    lm_targets_destroy(t);
    free(res);
    return code;
}

/* Progress of validate: which run variant, then the months. */
typedef struct validate_progress {
    progress_state ps;
    int run, n_runs, last_month;
} validate_progress;

static void on_validate_progress(void *user, int month, int n_months) {
    validate_progress *vp = user;
    if (month <= vp->last_month || vp->last_month == 0) {
        vp->run++;
        fprintf(stderr, "lmsim: validate: run %d of %d\n", vp->run, vp->n_runs);
        clock_gettime(CLOCK_MONOTONIC, &vp->ps.t0);
    }
    vp->last_month = month;
    on_progress(&vp->ps, month, n_months);
}

static int cmd_validate(const cli *c) {
    if (!c->targets)
        return cli_usage_error("%s", "validate needs a targets file: --targets FILE");
    if (c->n_runs > 0) {
        if (c->scenario)
            return cli_usage_error("validate takes a scenario or --run files, not both (got '%s')",
                                   c->scenario);
        if (c->run_opts)
            return cli_usage_error("%s", "--run replays files: -o, --set, --seed, --persons, "
                                         "--months, --panel and --trial do not apply");
        return validate_runs(c);
    }
    if (!c->scenario)
        return cli_usage_error("%s", "missing scenario file (or --run FILE.h5)");
    lm_error err;
    lm_error_clear(&err);
    lm_scenario *sc = NULL;
    lm_targets *t = NULL;
    lm_target_result *res = NULL;
    int code = 0;
    if (lm_scenario_load(c->scenario, c->sets, c->n_sets, &sc, &err) ||
        lm_targets_load(c->targets, &t, &err) || lm_targets_check(t, sc, &err)) {
        code = report(&err);
        goto done;
    }
    print_warnings(sc->warnings, NULL);
    res = calloc(lm_targets_count(t), sizeof *res);
    if (!res) {
        fprintf(stderr, "lmsim: error: out of memory\n");
        code = EXIT_NOMEM;
        goto done;
    }
    catch_stop_signals();
    validate_progress vp = {{isatty(STDERR_FILENO), {0, 0}}, 0, lm_targets_n_variants(t), 0};
    clock_gettime(CLOCK_MONOTONIC, &vp.ps.t0);
    lm_run_options opt = {0};
    opt.out_path = c->output;
    opt.threads = c->threads;
    opt.progress = c->quiet ? NULL : on_validate_progress;
    opt.progress_user = &vp;
    opt.stop = &stop_requested;
    if (!c->quiet)
        fprintf(stderr,
                "lmsim: validating '%s' against %zu targets of '%s': %d run%s of %lld persons x "
                "%d months, seed %llu\n",
                sc->name, lm_targets_count(t), c->targets, vp.n_runs, vp.n_runs == 1 ? "" : "s",
                (long long)sc->n_persons, sc->n_months, (unsigned long long)sc->seed);
    if (lm_validate(sc, t, &opt, c->widen > 0.0 ? c->widen : 0.0, res, &err)) {
        code = report(&err);
        goto done;
    }
    printf("Validation of %s: %lld persons x %d months from %04d-%02d, seed %llu\n", sc->name,
           (long long)sc->n_persons, sc->n_months, sc->start_year, sc->start_month,
           (unsigned long long)sc->seed);
    code = print_validation(t, res, c->widen >= 0.0, c->require_tuned);
    if (c->csv) {
        int w = write_validation_csv(c->csv, t, res);
        if (w)
            code = w;
    }
    if (c->output)
        printf("Output: %s (table in /validation)\n", c->output);
done:
    lm_scenario_destroy(sc);
    lm_targets_destroy(t);
    free(res);
    return code;
}

static int cmd_sweep(cli *c) {
    const char *file = c->scenario, *out_dir = c->output;
    const int task = c->task, threads = c->threads, quiet = c->quiet;
    lm_error err;
    lm_error_clear(&err);
    lm_sweep *sw;
    if (c->check && task >= 0)
        return cli_usage_error("%s", "sweep: --check validates every task; it takes no --task");
    /* An array task checks its own replicate's draws, not every replicate's. */
    if (lm_sweep_load_task(file, out_dir, task, &sw, &err))
        return report(&err);
    if (c->check) {
        const int nt = lm_sweep_n_tasks(sw), reps = lm_sweep_task_replicate(sw, nt - 1) + 1;
        printf("%s: OK: %d tasks (%d points x %d replicates), every task's scenario valid\n", file,
               nt, nt / reps, reps);
        lm_sweep_destroy(sw);
        return 0;
    }
    catch_stop_signals();
    lm_run_options opt = {0};
    opt.threads = threads;
    opt.stop = &stop_requested;
    opt.log = on_log; /* each task's warnings, even with --quiet */
    int n = lm_sweep_n_tasks(sw), first = task >= 0 ? task : 0, last = task >= 0 ? task : n - 1;
    if (task >= n) {
        lm_sweep_destroy(sw);
        fprintf(stderr, "lmsim: --task %d out of range: the sweep has tasks 0 to %d\n", task,
                n - 1);
        return EXIT_USAGE;
    }
    int rank = 0, size = 1;
#ifdef LMSIM_MPI
    /* Under mpirun, ranks take tasks dynamically: a shared counter on rank 0
     * (MPI one-sided fetch-and-add) hands out the next task index. */
    int use_mpi = under_mpirun() && task < 0;
    MPI_Win win = MPI_WIN_NULL;
    int *counter = NULL;
    if (use_mpi) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        MPI_Win_allocate(rank == 0 ? (MPI_Aint)sizeof(int) : 0, sizeof(int), MPI_INFO_NULL,
                         MPI_COMM_WORLD, &counter, &win);
        if (rank == 0) {
            MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win);
            *counter = first;
            MPI_Win_unlock(0, win);
        }
        MPI_Barrier(MPI_COMM_WORLD);
    }
#endif
    int ran = 0, skipped = 0;
    for (int t = first;; t++) {
#ifdef LMSIM_MPI
        if (use_mpi) {
            const int one = 1;
            MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win);
            MPI_Fetch_and_op(&one, &t, MPI_INT, 0, 0, MPI_SUM, win);
            MPI_Win_unlock(0, win);
        }
#endif
        if (t > last)
            break;
        int sk;
        char path[1024];
        lm_sweep_task_path(sw, t, path, sizeof path);
        if (lm_sweep_run_task(sw, t, &opt, &sk, &err)) {
            lm_sweep_destroy(sw);
            int code = report(&err);
#ifdef LMSIM_MPI
            if (use_mpi)
                MPI_Abort(MPI_COMM_WORLD, code); /* finished task files stay valid */
#endif
            return code;
        }
        ran += !sk;
        skipped += sk;
        if (!quiet)
            fprintf(stderr, "lmsim: [rank %d/%d] task %d/%d %s (point %s, replicate %d): %s\n",
                    rank, size, t + 1, n, path, lm_sweep_task_point(sw, t),
                    lm_sweep_task_replicate(sw, t), sk ? "already done, skipped" : "done");
    }
#ifdef LMSIM_MPI
    if (use_mpi) {
        int local[2] = {ran, skipped}, total[2] = {0, 0};
        MPI_Reduce(local, total, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
        MPI_Win_free(&win);
        ran = total[0];
        skipped = total[1];
        if (rank != 0) {
            lm_sweep_destroy(sw);
            return 0;
        }
    }
#endif
    int complete;
    if (lm_sweep_write_index(sw, &complete, &err)) {
        lm_sweep_destroy(sw);
        return report(&err);
    }
    printf("sweep %s: %d tasks run, %d skipped (finished earlier)%s\n", file, ran, skipped,
           complete ? "; index written" : "; index waits for the remaining tasks");
    lm_sweep_destroy(sw);
    return 0;
}

/* Ascending order of doubles, for a median. */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A CSV field: "text" with quotes doubled. */
static void csv_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_num(const char *fmt, double v) {
    if (isnan(v))
        printf("%12s", "n/a");
    else
        printf(fmt, v);
}

static const char *const basis_names[] = {"paired", "unpaired", "headline"};

/* The impacts of c (lmsim/compare.h): programme cost rows after the measures. */
static const char *const cost_rows[3] = {"programme_cost_gbp", "cost_per_additional_sustained_job",
                                         "cost_per_additional_employment_month"};

static void impacts_csv(const lm_run_comparison *c) {
    static const char *const basis[] = {"paired", "unpaired", "unpaired"};
    printf("group,measure,a,b,diff,se,ci_low,ci_high,basis\n");
    for (int r = 0; r < c->n_rows; r++)
        for (int m = 0; m < LM_IMPACT_MEASURES; m++) {
            const lm_impact_row *o = &c->impacts[r];
            csv_str(o->group);
            printf(",%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s\n", c->impact_measure[m], o->a[m],
                   o->b[m], o->diff[m], o->se[m], o->lo[m], o->hi[m], basis[c->basis]);
        }
    printf("all,%s,%.17g,%.17g,%.17g,nan,nan,nan,exact\n", cost_rows[0], c->cost_a, c->cost_b,
           c->cost_diff);
    const double *q[2] = {c->cost_per_sustained_job, c->cost_per_employment_month};
    for (int k = 0; k < 2; k++)
        printf("all,%s,nan,nan,%.17g,nan,%.17g,%.17g,%s\n", cost_rows[k + 1], q[k][0], q[k][1],
               q[k][2], basis[c->basis]);
    if (!c->has_appraisal)
        return;
    for (int r = 0; r < LM_APPRAISAL_ROWS; r++) {
        const lm_appraisal_row *o = &c->appraisal[r];
        printf("all,appraisal_%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s\n", o->measure, o->a, o->b,
               o->diff, o->se, o->lo, o->hi, r == 0 ? "exact" : basis[c->basis]);
    }
    for (int k = 0; k < c->n_programmes; k++) {
        char g[64];
        snprintf(g, sizeof g, "programme:%s", c->programme[k]);
        csv_str(g);
        printf(",appraisal_programme_cost_gbp,%.17g,%.17g,%.17g,nan,nan,nan,exact\n",
               c->programme_cost_a[k], c->programme_cost_b[k],
               c->programme_cost_b[k] - c->programme_cost_a[k]);
    }
}

static void appraisal_text(const lm_run_comparison *c) {
    static const char *const title[LM_APPRAISAL_ROWS] = {"programme costs",
                                                         "income tax and NI received",
                                                         "benefits paid",
                                                         "exchequer net cost",
                                                         "output (earnings + employer NI)",
                                                         "wellbeing",
                                                         "net present value to society",
                                                         "benefit-cost ratio, society",
                                                         "public finances per GBP 1 spent"};
    printf("\nappraisal (HM Treasury Green Book): months %d-%d, GBP of %d discounted at %.1f %% a "
           "year to %d, population represented, B - A:\n",
           c->appraisal_first, c->appraisal_last, c->price_base_year, 100.0 * c->discount_rate,
           c->price_base_year);
    printf("%-34s %16s %16s %16s %35s\n", "", "A", "B", "difference", "95 % interval");
    for (int r = 0; r < LM_APPRAISAL_ROWS; r++) {
        const lm_appraisal_row *o = &c->appraisal[r];
        const int ratio = r >= 7;
        printf("%-34s ", title[r]);
        if (isnan(o->a))
            printf("%16s %16s ", "", "");
        else
            printf("%16.0f %16.0f ", o->a, o->b);
        if (isnan(o->diff))
            printf("%16s ", "n/a");
        else
            printf(ratio ? "%16.2f " : "%16.0f ", o->diff);
        if (isnan(o->lo))
            printf("  %33s\n", r == 0 ? "(exact)" : "n/a");
        else
            printf(ratio ? "  [%15.2f, %15.2f]\n" : "  [%15.0f, %15.0f]\n", o->lo, o->hi);
    }
    for (int k = 0; k < c->n_programmes; k++)
        printf("  programme %-23s %16.0f %16.0f %16.0f\n", c->programme[k], c->programme_cost_a[k],
               c->programme_cost_b[k], c->programme_cost_b[k] - c->programme_cost_a[k]);
    printf("ratios: the differences' (B - A) benefits per GBP 1 of additional programme cost; n/a "
           "when the programmes cost no more in B\n");
}

static void print_gbp_ratio(const char *what, const double v[3]) {
    printf("  cost per additional %s: ", what);
    if (isnan(v[0]))
        printf("n/a (no impact)\n");
    else if (isnan(v[1]))
        printf("GBP %.0f (95 %% interval unbounded: the impact's interval includes 0)\n", v[0]);
    else
        printf("GBP %.0f [%.0f, %.0f]\n", v[0], v[1], v[2]);
}

static void impacts_text(const lm_run_comparison *c, int gw) {
    const int paired = c->basis == LM_BASIS_PAIRED;
    printf("\nimpacts over months 1-%d, totals for the population represented (B - A; 95 %% "
           "interval %s):\n",
           c->n_months, paired ? "paired" : "unpaired");
    printf("%-*s %-18s %16s %16s %16s %35s\n", gw, "group", "measure", "A", "B", "difference",
           "95 % interval");
    for (int r = 0; r < c->n_rows; r++)
        for (int m = 0; m < LM_IMPACT_MEASURES; m++) {
            const lm_impact_row *o = &c->impacts[r];
            printf("%-*s %-18s %16.0f %16.0f %16.0f   [%15.0f, %15.0f]\n", gw, o->group,
                   c->impact_measure[m], o->a[m], o->b[m], o->diff[m], o->lo[m], o->hi[m]);
        }
    printf("programme costs (all persons, GBP): A %.0f, B %.0f, difference %.0f\n", c->cost_a,
           c->cost_b, c->cost_diff);
    print_gbp_ratio("sustained job (6 months)", c->cost_per_sustained_job);
    print_gbp_ratio("employment month", c->cost_per_employment_month);
    if (c->has_appraisal)
        appraisal_text(c);
}

/* lmsim compare A.h5 B.h5: B - A of two run files. */
static int compare_runs(const char *fa, const char *fb, int csv, int only_impacts) {
    lm_error err;
    lm_error_clear(&err);
    lm_run_comparison *c = malloc(sizeof *c);
    if (!c) {
        fprintf(stderr, "lmsim: error: out of memory\n");
        return EXIT_NOMEM;
    }
    if (lm_run_compare(fa, fb, c, &err)) {
        free(c);
        return report(&err);
    }
    const int paired = c->basis == LM_BASIS_PAIRED;
    /* Persons of a group for the population each run represents. */
    const double sa = (double)c->represents_a / (double)c->n_persons,
                 sb = (double)c->represents_b / (double)c->n_persons;
    if (!c->same_seed)
        fprintf(stderr,
                "lmsim: warning: '%s' has seed %llu and '%s' seed %llu: no common random "
                "numbers, unpaired standard errors only\n",
                fa, (unsigned long long)c->seed_a, fb, (unsigned long long)c->seed_b);
    /* Identical runs, all-zero rows, and the files' own warnings. */
    print_warnings(c->warnings, NULL);
    if (only_impacts && !c->has_impacts) {
        fprintf(stderr, "lmsim: error: " LM_MSG_IMPACTS_NEED_PANELS "\n", fa, c->panel_a, fb,
                c->panel_b);
        free(c);
        return EXIT_USAGE;
    }
    if (only_impacts) {
        if (csv)
            impacts_csv(c);
        else
            impacts_text(c, LM_GROUP_NAME_MAX > 20 ? 20 : LM_GROUP_NAME_MAX);
        free(c);
        return 0;
    }
    if (csv) {
        printf("group,measure,persons_a,persons_b,persons_a_sim,persons_b_sim,a,b,diff,se_paired,"
               "ci_low,ci_high,se_unpaired,basis\n");
        for (int r = 0; r < c->n_rows; r++)
            for (int m = 0; m < LM_RUN_COMPARE_MEASURES; m++) {
                const lm_run_compare_row *o = &c->rows[r];
                csv_str(o->group);
                printf(",%s,%.17g,%.17g,%lld,%lld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s\n",
                       c->measure[m], (double)o->persons_a * sa, (double)o->persons_b * sb,
                       (long long)o->persons_a, (long long)o->persons_b, o->a[m], o->b[m],
                       o->diff[m], o->se_paired[m], o->lo[m], o->hi[m], o->se_unpaired[m],
                       basis_names[c->basis]);
            }
        free(c);
        return 0;
    }
    int gw = 5;
    for (int r = 0; r < c->n_rows; r++)
        if ((int)strlen(c->rows[r].group) > gw)
            gw = (int)strlen(c->rows[r].group);
    printf("%s - %s at month %d, the last (month 0 = %s), %lld persons simulated for a "
           "population of %lld%s; ",
           fb, fa, c->n_months, c->start_month, (long long)c->n_persons, (long long)c->represents_a,
           c->represents_b != c->represents_a ? " (A)" : "");
    if (paired)
        printf("seed %llu in both: %lld persons paired from the panels (common random numbers)\n",
               (unsigned long long)c->seed_a, (long long)c->n_panel);
    else
        printf("not paired: %s\n", c->note);
    if (paired && c->note[0])
        printf("note: %s\n", c->note);
    printf("%-*s %-20s %12s %12s %12s %12s %26s %13s\n", gw, "group", "measure (last month)", "A",
           "B", "difference", "s.e. paired", paired ? "95 % interval (paired)" : "95 % interval",
           "s.e. unpaired");
    double ratio[LM_HEADLINE_MAX_ROWS * LM_RUN_COMPARE_MEASURES];
    int n_ratio = 0;
    for (int r = 0; r < c->n_rows; r++)
        for (int m = 0; m < LM_RUN_COMPARE_MEASURES; m++) {
            const lm_run_compare_row *o = &c->rows[r];
            printf("%-*s %-20s %12.5f %12.5f %12.5f ", gw, o->group, c->measure[m], o->a[m],
                   o->b[m], o->diff[m]);
            print_num("%12.5f", o->se_paired[m]);
            if (isnan(o->lo[m]))
                printf("   %24s ", "n/a");
            else
                printf("   [%10.5f, %10.5f] ", o->lo[m], o->hi[m]);
            print_num("%12.5f", o->se_unpaired[m]);
            putchar('\n');
            if (paired && o->se_unpaired[m] > 0.0)
                ratio[n_ratio++] = o->se_paired[m] / o->se_unpaired[m];
        }
    if (paired && n_ratio > 0) {
        qsort(ratio, (size_t)n_ratio, sizeof ratio[0], cmp_double);
        const lm_run_compare_row *all = &c->rows[0];
        printf("pairing narrows the interval of the employment difference (%s) to %.2f of its "
               "unpaired width; over all %d rows, median %.2f, range %.2f-%.2f\n",
               all->group,
               all->se_unpaired[0] > 0.0 ? all->se_paired[0] / all->se_unpaired[0] : 0.0, n_ratio,
               ratio[n_ratio / 2], ratio[0], ratio[n_ratio - 1]);
    } else {
        printf("no pairing, so no narrowing: the 95 %% intervals use the unpaired standard "
               "errors\n");
    }
    if (c->has_impacts)
        impacts_text(c, gw);
    else
        printf("\nno impacts (employment months, sustained jobs, earnings, benefit months): they "
               "need the panels of both runs\n");
    free(c);
    return 0;
}

/* lmsim compare SWEEP.h5 A B --impacts: impacts over replicates. */
static int compare_sweep_impacts(const char *index, const char *a, const char *b, int csv) {
    lm_error err;
    lm_error_clear(&err);
    lm_sweep_impacts *s = malloc(sizeof *s);
    if (!s) {
        fprintf(stderr, "lmsim: error: out of memory\n");
        return EXIT_NOMEM;
    }
    if (lm_sweep_compare_impacts(index, a, b, s, &err)) {
        free(s);
        return report(&err);
    }
    if (csv)
        printf("group,measure,a,b,diff,se,ci_low,ci_high,replicates\n");
    else
        printf("%s: %s - %s, impacts over the run for the population represented; means over %d "
               "replicates (each paired within), Student-t 95 %% intervals over replicates\n"
               "%-28s %-38s %16s %16s %16s   %35s\n",
               index, b, a, s->n_pairs, "group", "measure", a, b, "difference", "95 % interval");
    for (int i = 0; i < s->n_rows; i++) {
        const lm_sweep_impact_row *o = &s->rows[i];
        if (csv) {
            csv_str(o->group);
            printf(",%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d\n", o->measure, o->a, o->b, o->diff,
                   o->se, o->lo, o->hi, s->n_pairs);
        } else {
            printf("%-28s %-38s %16.2f %16.2f %16.2f   [%15.2f, %15.2f]\n", o->group, o->measure,
                   o->a, o->b, o->diff, o->lo, o->hi);
        }
    }
    free(s);
    return 0;
}

static int cmd_compare(const cli *cl) {
    const char *const *pos = cl->pos;
    const int n_pos = cl->n_pos, csv = cl->csv_flag, only_impacts = cl->impacts;
    if (n_pos == 2)
        return compare_runs(pos[0], pos[1], csv, only_impacts);
    if (n_pos == 3 && only_impacts)
        return compare_sweep_impacts(pos[0], pos[1], pos[2], csv);
    if (n_pos != 3)
        return cli_usage_error("%s", "compare takes two run files or a sweep index and two point "
                                     "names: lmsim compare A.h5 B.h5 | lmsim compare OUT/sweep.h5 "
                                     "POINT_A POINT_B [--csv]");
    lm_error err;
    lm_error_clear(&err);
    lm_compare c;
    if (lm_sweep_compare(pos[0], pos[1], pos[2], &c, &err))
        return report(&err);
    if (csv) {
        printf("measure,a,b,diff,se_paired,ci_low,ci_high,se_unpaired,replicates\n");
        for (int m = 0; m < LM_COMPARE_MEASURES; m++)
            printf("%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d\n", c.measure[m], c.mean_a[m],
                   c.mean_b[m], c.diff[m], c.se_paired[m], c.lo[m], c.hi[m], c.se_unpaired[m],
                   c.n_pairs);
        return 0;
    }
    printf("%s: %s - %s, %d replicates paired by seed (common random numbers)\n", pos[0], pos[2],
           pos[1], c.n_pairs);
    printf("%-30s %12s %12s %12s %12s %25s %12s\n", "measure (last month)", pos[1], pos[2],
           "difference", "s.e. paired", "95 % interval (paired)", "s.e. unpaired");
    for (int m = 0; m < LM_COMPARE_MEASURES; m++)
        printf("%-30s %12.5f %12.5f %12.5f %12.5f   [%10.5f, %10.5f] %12.5f\n", c.measure[m],
               c.mean_a[m], c.mean_b[m], c.diff[m], c.se_paired[m], c.lo[m], c.hi[m],
               c.se_unpaired[m]);
    printf("pairing narrows the interval of the employment difference to %.2f of its unpaired "
           "width\n",
           c.se_unpaired[0] > 0.0 ? c.se_paired[0] / c.se_unpaired[0] : 0.0);
    return 0;
}

static int cmd_describe(const cli *c) {
    const char *file = c->scenario;
    lm_error err;
    lm_error_clear(&err);
    char *sweep_text = NULL; /* a sweep index: the library formats it */
    if (lm_sweep_is_index(file) && lm_sweep_describe(file, &sweep_text, &err))
        return report(&err);
    if (sweep_text) {
        fputs(sweep_text, stdout);
        lm_sweep_text_free(sweep_text);
        return 0;
    }
    lm_file_info info;
    if (lm_h5_describe(file, &info, &err))
        return report(&err);
    printf("File %s\n", file);
    printf("Scenario %s (lmsim %s): %lld persons x %d months from %s, seed %llu, panel %s\n",
           info.scenario_name, info.version, (long long)info.n_persons, info.n_months,
           info.start_month, (unsigned long long)info.seed, info.panel_mode);
    for (const char *w = info.warnings; *w;) {
        const char *nl = strchr(w, '\n');
        const int len = (int)(nl ? (size_t)(nl - w) : strlen(w));
        printf("Warning (recorded by the run): %.*s\n", len, w);
        w += len + (nl != NULL);
    }
    print_rows(&info.headline, 1);
    print_programmes(&info.programmes);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* lmsim calibrate                                                           */

enum { EXIT_NOT_CONVERGED = 7 };

typedef struct calib_progress {
    int quiet;
    const lm_calib_param *par;
    size_t p;
    double cost0;
    struct timespec t0;
} calib_progress;

/* One line per iteration on stderr; a stop signal ends the fit. */
static int on_calib_progress(void *user, int iteration, long evaluations, double cost,
                             const double *theta) {
    calib_progress *cp = user;
    if (iteration == 0)
        cp->cost0 = cost;
    if (!cp->quiet) {
        fprintf(stderr,
                "lmsim: calibrate: iteration %d, %ld evaluations, cost %.6g (start %.6g), "
                "%.1f s:",
                iteration, evaluations, cost, cp->cost0, elapsed(&cp->t0));
        for (size_t j = 0; j < cp->p; j++)
            fprintf(stderr, " %s=%.6g", cp->par[j].path, theta[j]);
        fputc('\n', stderr);
    }
    return stop_requested != 0;
}

/* "path=value" with a decimal point (a float setting stays a float). */
static void free_override(char *buf, size_t n, const char *path, double v) {
    int w = snprintf(buf, n, "%s=%.17g", path, v);
    if (w > 0 && (size_t)w + 2 < n && !strpbrk(buf + strlen(path) + 1, ".eEni"))
        strcat(buf, ".0");
}

/* A free parameter must name a number the scenario has, start inside its
 * bounds, and leave the scenario valid at both bounds and at the start.
 * Returns 0 or the exit status (with the message printed). */
static int check_free(const lm_scenario *sc, lm_calib_param *q, const char *arg) {
    lm_error err;
    lm_error_clear(&err);
    double v;
    if (lm_scenario_setting_number(sc, q->path, &v, &err)) {
        fprintf(stderr, "lmsim: --free %s: %s\n", arg, err.msg);
        cli_try_help();
        return EXIT_USAGE;
    }
    if (v < q->lo || v > q->hi) {
        fprintf(stderr,
                "lmsim: --free %s: the scenario's value %.6g is outside [%g, %g] (it is the "
                "starting point)\n",
                arg, v, q->lo, q->hi);
        return EXIT_USAGE;
    }
    q->start = v;
    const double at[3] = {v, q->lo, q->hi};
    for (int k = 0; k < 3; k++) {
        char set[512];
        free_override(set, sizeof set, q->path, at[k]);
        const char *sets[1] = {set};
        lm_scenario *t = NULL;
        if (lm_scenario_load_string(sc->text, sc->source_path, sets, 1, &t, &err)) {
            fprintf(stderr, "lmsim: --free %s: the scenario rejects %s: %s\n", arg, set, err.msg);
            return EXIT_USAGE;
        }
        lm_scenario_destroy(t);
    }
    return 0;
}

/* The command line as one string, arguments with spaces or quotes in
 * single quotes. */
static void join_command(int argc, char **argv, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && len + 1 < n; i++) {
        const char *a = i == 0 ? "lmsim" : argv[i];
        int quote = strpbrk(a, " \t\"'$*?()[]{};") != NULL;
        int w = snprintf(buf + len, n - len, "%s%s%s%s", i ? " " : "", quote ? "'" : "", a,
                         quote ? "'" : "");
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static int cmd_calibrate(cli *c, int argc, char **argv) {
    const char *targets_path = c->targets;
    lm_calib_param *par = c->par;
    const size_t n_free = c->n_free;
    lm_calib_options fit = {0};
    fit.max_iter = c->max_iter;
    fit.step = c->step;
    int rc;
    if (!targets_path)
        return cli_usage_error("%s", "calibrate needs a targets file: --targets FILE");
    if (n_free == 0)
        return cli_usage_error("%s", "calibrate needs at least one --free PATH=LO:HI");
    if (!c->output)
        return cli_usage_error("%s", "calibrate needs an output file: -o FITTED.cfg");
    for (size_t j = 0; j < n_free; j++)
        for (size_t k = 0; k < j; k++)
            if (strcmp(par[j].path, par[k].path) == 0)
                return cli_usage_error("--free %s is given twice", par[j].path);

    lm_error err;
    lm_error_clear(&err);
    lm_scenario *sc = NULL;
    if (lm_scenario_load(c->scenario, c->sets, c->n_sets, &sc, &err))
        return report(&err);
    print_warnings(sc->warnings, NULL);
    for (size_t j = 0; j < n_free; j++)
        if ((rc = check_free(sc, &par[j], c->free_arg[j]))) {
            lm_scenario_destroy(sc);
            return rc;
        }
    lm_targets *t = NULL;
    if (lm_targets_load(targets_path, &t, &err)) {
        lm_scenario_destroy(sc);
        return report(&err);
    }
    catch_stop_signals();
    calib_progress cp = {c->quiet, par, n_free, 0.0, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &cp.t0);
    fit.progress = on_calib_progress;
    fit.progress_user = &cp;
    char command[4096];
    join_command(argc, argv, command, sizeof command);
    lm_calibrate_job job = {c->scenario, sc, t, par, n_free, c->threads, fit, command, c->output};
    if (!c->quiet)
        fprintf(stderr,
                "lmsim: calibrating '%s' (%lld persons, %d months, seed %llu): %zu free "
                "parameters, targets %s\n",
                sc->name, (long long)sc->n_persons, sc->n_months, (unsigned long long)sc->seed,
                n_free, targets_path);
    lm_calib_report *rep = NULL;
    if (lm_calibrate(&job, &rep, &err)) {
        lm_targets_destroy(t);
        lm_scenario_destroy(sc);
        return report(&err);
    }
    const lm_calib_result *r = rep->fit;
    printf("Calibrated '%s' to %zu tuned targets: %s after %d iterations (%ld evaluations); "
           "cost %.6g -> %.6g\n",
           sc->name, rep->n_tuned, r->converged ? "converged" : "NOT CONVERGED", r->iterations,
           r->evaluations, r->cost_start, r->cost);
    printf("%-44s %12s %12s %10s  %s\n", "parameter", "before", "after", "s.e.", "bounds");
    for (size_t j = 0; j < n_free; j++) {
        printf("%-44s %12.6g %12.6g ", par[j].path, par[j].start, r->theta[j]);
        if (isfinite(r->se[j]))
            printf("%10.3g", r->se[j]);
        else
            printf("%10s", "n/a");
        printf("  [%g, %g]%s%s\n", par[j].lo, par[j].hi,
               r->flags[j] & (LM_CALIB_AT_LOWER | LM_CALIB_AT_UPPER) ? "  AT BOUND: s.e. unreliable"
                                                                     : "",
               r->flags[j] & LM_CALIB_NO_EFFECT ? "  NO EFFECT: not identified" : "");
    }
    if (r->ill_conditioned)
        printf("warning: J'J is near-singular (condition number %.3g): the standard errors "
               "mean little\n",
               r->cond);
    putchar('\n');
    for (size_t k = 0; k < rep->n_lines; k++)
        printf("%s\n", rep->lines[k]);
    char unc[4096];
    lm_calib_uncertain_path(c->output, unc, sizeof unc);
    printf("Output: %s, %s\n", c->output, unc);
    int code = 0;
    if (!r->converged) {
        fprintf(stderr,
                "lmsim: calibrate did not converge within %d iterations: %s holds the best "
                "point found (its header says NOT CONVERGED)\n",
                r->iterations, c->output);
        code = EXIT_NOT_CONVERGED;
    }
    lm_calib_report_destroy(rep);
    lm_targets_destroy(t);
    lm_scenario_destroy(sc);
    return code;
}

/* Run a command, inside MPI_Init/MPI_Finalize when started by mpirun (and
 * built with MPI). */
static int with_mpi(int (*cmd)(cli *), cli *c, int argc, char **argv) {
#ifdef LMSIM_MPI
    if (under_mpirun()) {
        MPI_Init(&argc, &argv);
        int rc = cmd(c);
        MPI_Finalize();
        return rc;
    }
#endif
    (void)argc;
    (void)argv;
    return cmd(c);
}

/* The command list after "missing command". */
static int missing_command(void) {
    fprintf(stderr, "lmsim: missing command\n"
                    "usage: lmsim COMMAND [options] [arguments]; the commands:\n"
                    "  run        simulate a scenario and write an HDF5 run file\n"
                    "  check      validate a scenario without running (--json: print it)\n"
                    "  describe   show a run file's scenario, sizes and tables\n"
                    "  sweep      run a sweep of scenario points x replicates\n"
                    "  compare    differences of two run files or two sweep points\n"
                    "  validate   check a run against the targets of a targets file\n"
                    "  calibrate  fit settings to the tuned targets of a targets file\n"
                    "  help       lmsim help [COMMAND]: the options of all or one command\n");
    cli_try_help();
    return EXIT_USAGE;
}

int main(int argc, char **argv) {
    gsl_set_error_handler_off(); /* the library checks its inputs; never abort */
    /* Past a file-size limit (ulimit -f) the kernel would kill the process
     * with SIGXFSZ and leave a temporary file; ignored, the write fails with
     * EFBIG instead and the run cleans up and exits 4 like any write error. */
    signal(SIGXFSZ, SIG_IGN);
    /* The library closes every HDF5 file it opens, on every path. HDF5's own
     * clean-up at exit would only retry a file whose close failed (a full
     * disk), and HDF5 1.10 crashes doing so: exit with our code instead. */
    H5dont_atexit();
    if (argc < 2)
        return missing_command();
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        int k = argc > 2 ? cli_command_of(argv[2]) : -1;
        if (argc > 2 && k < 0)
            return cli_usage_error("help: unknown command '%s' (run, check, describe, sweep, "
                                   "compare, validate or calibrate)",
                                   argv[2]);
        cli_print_help(stdout, k);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("lmsim %s\n", lm_version());
        return 0;
    }
    if (cli_command_of(name) < 0)
        return cli_usage_error("unknown command '%s' (run, check, describe, sweep, compare, "
                               "validate or calibrate)",
                               name);
    cli *c = malloc(sizeof *c);
    if (!c) {
        fprintf(stderr, "lmsim: error: out of memory\n");
        return EXIT_NOMEM;
    }
    int rc = cli_parse(argc, argv, c);
    if (rc == 0) {
        switch (c->cmd) {
        /* Under mpirun the ranks share one run (each a block of persons) or
         * one sweep (each taking tasks). */
        case CLI_RUN:
            rc = with_mpi(cmd_run, c, argc, argv);
            break;
        case CLI_CHECK:
            rc = cmd_check(c);
            break;
        case CLI_DESCRIBE:
            rc = cmd_describe(c);
            break;
        case CLI_SWEEP:
            rc = with_mpi(cmd_sweep, c, argc, argv);
            break;
        case CLI_COMPARE:
            rc = cmd_compare(c);
            break;
        case CLI_VALIDATE:
            rc = cmd_validate(c);
            break;
        case CLI_CALIBRATE:
            rc = cmd_calibrate(c, argc, argv);
            break;
        default:
            rc = 1;
            break;
        }
    } else if (rc == CLI_DONE) {
        rc = 0;
    }
    free(c);
    return rc;
}
