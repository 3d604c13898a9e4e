/* lmsim/sweep.h - scenario sweeps: points x replicates, one file per task.
 *
 * A sweep file (libconfig) names a base scenario, overrides applied to every
 * task, a list of points (each a name and overrides) or a grid of values,
 * a number of replicates and a sweep seed. Task t is point t / replicates,
 * replicate t % replicates. The seed of a task depends only on the sweep
 * seed and the replicate, so the same replicate of two points shares its
 * random numbers person by person (common random numbers). Each task writes
 * OUT/<point>_r<replicate>.h5 (atomically); a task whose file exists and
 * was run with the task's present scenario (same SHA-256 of the scenario
 * text) is finished and is skipped, so an interrupted sweep resumes and a
 * changed sweep file reruns exactly the tasks it changes. When every task is
 * finished, OUT/sweep.h5 links them (HDF5 external links) and holds a tidy
 * table of every task's headline outcomes and hash, and the sweep file
 * itself. See docs/cluster.md.
 */
#ifndef LMSIM_SWEEP_H
#define LMSIM_SWEEP_H

#include <stdint.h>

#include "lmsim/compare.h"
#include "lmsim/error.h"
#include "lmsim/hash.h"
#include "lmsim/run.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lm_sweep lm_sweep;

/* Load and validate a sweep file (errors name file, line and setting).
 * out_dir overrides the file's `output` when non-NULL. Owned by caller.
 * Every point's scenario is loaded, and with an `uncertain` list every
 * replicate's draws (one scenario load each, ~1.4 ms for Wales). */
int lm_sweep_load(const char *path, const char *out_dir, lm_sweep **out, lm_error *err);

/* The same for one task of a job array: every point is loaded as above,
 * but of the replicates' uncertain draws only those of task `task`'s
 * replicate (and replicate 0), so that each array task does not repeat the
 * whole check. task < 0: all, as lm_sweep_load. A task beyond the last is
 * not an error here (lm_sweep_n_tasks tells the caller). */
int lm_sweep_load_task(const char *path, const char *out_dir, int task, lm_sweep **out,
                       lm_error *err);
void lm_sweep_destroy(lm_sweep *sw);

/* Number of tasks (points x replicates). */
int lm_sweep_n_tasks(const lm_sweep *sw);
/* Point name, replicate and seed of task t; the task's output path into buf. */
const char *lm_sweep_task_point(const lm_sweep *sw, int t);
int lm_sweep_task_replicate(const lm_sweep *sw, int t);
uint64_t lm_sweep_task_seed(const lm_sweep *sw, int t);
void lm_sweep_task_path(const lm_sweep *sw, int t, char *buf, size_t n);

/* The SHA-256 (hex, lmsim/hash.h) of task t's scenario text: the base
 * scenario after includes, the sweep's and the point's overrides, the
 * replicate's seed and uncertain draws, as the task file records it in its
 * root attributes scenario_text and scenario_sha256. Errors: LM_EARG (t out
 * of range), those of lm_scenario_load. */
int lm_sweep_task_hash(const lm_sweep *sw, int t, char hex[LM_SHA256_HEX], lm_error *err);

/* Run task t unless it is finished (*skipped = 1): a readable run file
 * under the task's path whose scenario_sha256 equals the task's hash
 * (lm_sweep_task_hash). A file run with other inputs (the sweep file or its
 * base changed since) or damaged since (truncated, not HDF5) is run again
 * and replaced, with a warning through opt->log at LM_LOG_WARN naming the
 * file and up to three changed settings ("path: old -> new") or the damage;
 * an existing OUT/sweep.h5 is then removed (it no longer describes the task
 * files). opt->out_path is ignored (the task's path is used). Before
 * running, each warning of the task's scenario (lm_scenario_warnings:
 * settings with no effect in the run) goes to opt->log, when given, at
 * LM_LOG_WARN as "TASK.h5: <warning>". Errors: those of the scenario and
 * run. */
int lm_sweep_run_task(const lm_sweep *sw, int t, const lm_run_options *opt, int *skipped,
                      lm_error *err);

/* Write OUT/sweep.h5 (via a temporary name) when every task is finished
 * (as lm_sweep_run_task would skip it); *complete = 0 and nothing written
 * otherwise. The index holds /tasks (external links to the task files),
 * /tidy (one row per task, with the task's scenario_sha256; strings
 * variable-length UTF-8 with the table's strings_crc32) and root
 * attributes recording the sweep itself: sweep_file, sweep_text (the sweep
 * file as read, after @include), sweep_sha256, base_scenario, seed,
 * seed_str, replicates, n_points, n_tasks, lmsim_version. */
int lm_sweep_write_index(const lm_sweep *sw, int *complete, lm_error *err);

/* Whether path is a sweep index (an HDF5 file with /tidy and /tasks and no
 * scenario_text). Never fails (0 for anything unreadable). */
int lm_sweep_is_index(const char *path);

/* What `lmsim describe` prints of a sweep index: the sweep file and its
 * SHA-256, base scenario and seed, the points with their overrides, and one
 * line per task (point, replicate, seed, employment rate at the end, status
 * and scenario SHA-256). The status of a task is that of its file beside
 * the index: done, changed (its scenario_sha256 differs from the index's),
 * damaged (not a readable run file) or missing. *text is owned by the
 * caller: release it with lm_sweep_text_free(). Errors: LM_EIO (missing or
 * not HDF5), LM_EHDF5 (not a sweep index), LM_ENOMEM. */
int lm_sweep_describe(const char *index_path, char **text, lm_error *err);
void lm_sweep_text_free(char *text);

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

/* Impacts and appraisal of point B against point A over replicates
 * (lmsim/compare.h): for each replicate, lm_run_compare of the two task
 * files (paired within the replicate; the tasks need panels), then per row
 * the means over replicates of A, B and B - A, the s.e. sd/sqrt(R) of the
 * per-replicate values of B - A, and a Student-t 95 % interval with R - 1
 * degrees of freedom. Rows in the order of lmsim.compare(sweep, A, B,
 * impacts=True): the impacts by group and measure; the programme cost and
 * the costs per additional outcome (group "all"); the appraisal's rows
 * ("appraisal_" + name) and its per-programme costs (group
 * "programme:NAME"), when the tasks have an appraisal. */
#define LM_SWEEP_IMPACT_ROWS                                                                       \
    (LM_HEADLINE_MAX_ROWS * LM_IMPACT_MEASURES + 3 + LM_APPRAISAL_ROWS + LM_MAX_PROGRAMMES)
typedef struct lm_sweep_impact_row {
    char group[64], measure[64];
    double a, b, diff, se, lo, hi;
} lm_sweep_impact_row;
typedef struct lm_sweep_impacts {
    int n_pairs, n_rows;
    lm_sweep_impact_row rows[LM_SWEEP_IMPACT_ROWS];
} lm_sweep_impacts;

/* Errors: those of lm_sweep_compare and lm_run_compare (a task without a
 * panel: LM_EARG with LM_MSG_IMPACTS_NEED_PANELS). */
int lm_sweep_compare_impacts(const char *index_path, const char *point_a, const char *point_b,
                             lm_sweep_impacts *out, lm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_SWEEP_H */
