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
#include "lmsim/output.h"
#include "lmsim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*lm_progress_fn)(void *user, int month, int n_months);

typedef struct lm_run_options {
    const char *out_path; /* final HDF5 path; NULL runs without writing a file */
    int threads;   /* OpenMP threads for every phase (sets omp_set_num_threads); <= 0 keeps the
                      default */
    lm_log_fn log; /* optional message callback */
    void *log_user;
    lm_progress_fn progress; /* optional, called after every month */
    void *progress_user;
    volatile sig_atomic_t *stop;    /* optional: when it becomes non-zero the run stops
                                       with LM_EINTERRUPTED and leaves no file */
    lm_programme_table *programmes; /* optional: receives the per-programme table */
} lm_run_options;

/* Run the scenario (panel mode and sizes come from the scenario, after any
 * overrides). Fills *headline when non-NULL. Errors: those of lm_sim_create,
 * lm_h5_open/write/close, and LM_EINTERRUPTED. On any error no file exists
 * under out_path (a previous file there is left untouched). */
int lm_run(const lm_scenario *sc, const lm_run_options *opt, lm_headline *headline, lm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_RUN_H */
