/* lmsim/run.h - one complete run: simulate every month and write the file.
 *
 * lm_run() ties the engine (sim.h) to the writer (output.h): it creates the
 * simulation, writes month 0, steps through every month writing each panel
 * row, then writes aggregates and the headline table and renames the file
 * into place. Progress and messages go through callbacks only.
 */
#ifndef LMSIM_RUN_H
#define LMSIM_RUN_H

#include <signal.h>

#include "lmsim/error.h"
#include "lmsim/exchange.h"
#include "lmsim/output.h"
#include "lmsim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*lm_progress_fn)(void *user, int month, int n_months);

struct lm_moments;       /* lmsim/moments.h */
struct lm_target_result; /* lmsim/targets.h */

typedef struct lm_run_options {
    const char *out_path; /* final HDF5 path; NULL runs without writing a file */
    int threads;   /* OpenMP threads for every phase (sets omp_set_num_threads); <= 0 keeps the
                      default */
    lm_log_fn log; /* optional message callback */
    void *log_user;
    lm_progress_fn progress; /* optional, called after every month */
    void *progress_user;
    volatile sig_atomic_t *stop;      /* optional: when it becomes non-zero the run stops
                                         with LM_EINTERRUPTED and leaves no file */
    lm_programme_table *programmes;   /* optional: receives the per-programme table */
    const lm_exchange *exchange;      /* optional: this process is one rank of a distributed
                                         run (lmsim/exchange.h); every rank calls lm_run */
    struct lm_moments *moments;       /* optional, borrowed: observes month 0 and every month
                                         (lmsim/moments.h) */
    struct lm_target_result *results; /* optional, with moments: after the last month,
                                         lm_moments_results() fills the entries of the
                                         moments' variant; with out_path, every entry (one per
                                         target) is written to /validation of the file */
    double widen;                     /* for results: pass within tolerance + widen * s.e. */
} lm_run_options;

/* Run the scenario (panel mode and sizes come from the scenario, after any
 * overrides). Fills *headline when non-NULL. Errors: those of lm_sim_create,
 * lm_h5_open/write/close, and LM_EINTERRUPTED. On any error no file exists
 * under out_path (a previous file there is left untouched).
 *
 * Distributed (opt->exchange with n_ranks > 1): every rank steps its block
 * of slots and writes the panel columns of its block to a part file
 * "STEM.partRofK.h5" beside out_path (none for a block without columns);
 * rank 0 writes out_path itself, whose /panel datasets are virtual datasets
 * over the parts and whose other contents are the single-process file's.
 * The data read from it are bit-identical to a single-process run. Ranks
 * agree on failure and on a stop request at the end of every month (and
 * during gathers and the allocation of places), so they all stop at the
 * same point and every rank returns an error; all ranks' files are removed.
 * The main file is renamed into place before the parts. The headline and
 * programme table are filled on every rank. */
int lm_run(const lm_scenario *sc, const lm_run_options *opt, lm_headline *headline, lm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_RUN_H */
