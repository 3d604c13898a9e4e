/* lmsim/sweep.h - scenario sweeps: points x replicates, one file per task.
 *
 * A sweep file (libconfig) names a base scenario, overrides applied to every
 * task, a list of points (each a name and overrides) or a grid of values,
 * a number of replicates and a sweep seed. Task t is point t / replicates,
 * replicate t % replicates. The seed of a task depends only on the sweep
 * seed and the replicate, so the same replicate of two points shares its
 * random numbers person by person (common random numbers). Each task writes
 * OUT/<point>_r<replicate>.h5 (atomically); a task whose file exists is
 * finished and is skipped, so an interrupted sweep resumes. When every task
 * file exists, OUT/sweep.h5 links them (HDF5 external links) and holds a
 * tidy table of every task's headline outcomes. See docs/scenario-reference.md.
 */
#ifndef LMSIM_SWEEP_H
#define LMSIM_SWEEP_H

#include <stdint.h>

#include "lmsim/error.h"
#include "lmsim/run.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lm_sweep lm_sweep;

/* Load and validate a sweep file (errors name file, line and setting).
 * out_dir overrides the file's `output` when non-NULL. Owned by caller. */
int lm_sweep_load(const char *path, const char *out_dir, lm_sweep **out, lm_error *err);
void lm_sweep_destroy(lm_sweep *sw);

/* Number of tasks (points x replicates). */
int lm_sweep_n_tasks(const lm_sweep *sw);
/* Point name, replicate and seed of task t; the task's output path into buf. */
const char *lm_sweep_task_point(const lm_sweep *sw, int t);
int lm_sweep_task_replicate(const lm_sweep *sw, int t);
uint64_t lm_sweep_task_seed(const lm_sweep *sw, int t);
void lm_sweep_task_path(const lm_sweep *sw, int t, char *buf, size_t n);

/* Run task t unless its file exists (*skipped = 1). opt->out_path is
 * ignored (the task's path is used). Before running, each warning of the
 * task's scenario (lm_scenario_warnings: settings with no effect in the run)
 * goes to opt->log, when given, at LM_LOG_WARN as "TASK.h5: <warning>".
 * Errors: those of the scenario and run. */
int lm_sweep_run_task(const lm_sweep *sw, int t, const lm_run_options *opt, int *skipped,
                      lm_error *err);

/* Write OUT/sweep.h5 (via a temporary name) when every task file exists;
 * *complete = 0 and nothing written otherwise. */
int lm_sweep_write_index(const lm_sweep *sw, int *complete, lm_error *err);

/* Paired comparison of two points of a finished sweep (index sweep.h5):
 * for each headline measure, the difference B - A per replicate (same seed:
 * common random numbers), its mean, standard error and 95 % interval
 * (Student t), and the standard error the same runs would give unpaired. */
#define LM_COMPARE_MEASURES 6
typedef struct lm_compare {
    int n_pairs;                              /* replicates present in both points */
    const char *measure[LM_COMPARE_MEASURES]; /* names (static strings) */
    double mean_a[LM_COMPARE_MEASURES];
    double mean_b[LM_COMPARE_MEASURES];
    double diff[LM_COMPARE_MEASURES]; /* mean of B - A */
    double se_paired[LM_COMPARE_MEASURES];
    double lo[LM_COMPARE_MEASURES], hi[LM_COMPARE_MEASURES]; /* 95 % interval (paired) */
    double se_unpaired[LM_COMPARE_MEASURES];
} lm_compare;

/* Errors: LM_EIO / LM_EHDF5 (not a sweep index), LM_EARG (unknown point, or
 * fewer than 2 replicates in common). */
int lm_sweep_compare(const char *index_path, const char *point_a, const char *point_b,
                     lm_compare *out, lm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_SWEEP_H */
