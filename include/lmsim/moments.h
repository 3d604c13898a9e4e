/* lmsim/moments.h - validation moments computed while a run streams.
 *
 * An lm_moments holds the accumulators of the targets of one run variant
 * (lmsim/targets.h): integer numerators and denominators, and the few
 * per-person registers the targets need (last month's state, shift
 * registers of recent months, annual observations of low-pay cohorts, the
 * follow-up of a programme referral). lm_moments_observe() is called on
 * month 0 and after every step; it costs one parallel pass over the persons
 * and allocates nothing. Results are exact integer ratios with an
 * approximate sampling standard error (binomial for a proportion, delta
 * method for a ratio or difference of two, Poisson for a mean count).
 *
 * lm_run() observes when lm_run_options.moments is set; lm_validate() runs
 * every variant of a targets file; lm_moments_replay() feeds the panel of an
 * existing run file through the same accumulators.
 */
#ifndef LMSIM_MOMENTS_H
#define LMSIM_MOMENTS_H

#include "lmsim/error.h"
#include "lmsim/run.h"
#include "lmsim/scenario.h"
#include "lmsim/sim.h"
#include "lmsim/targets.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lm_moments lm_moments;

/* Accumulators for the targets of run variant `variant` on scenario sc
 * (for a variant > 0, sc must have evaluation.trial set to the variant's
 * programme). sc is borrowed for lm_moments_create and lm_moments_replay;
 * observing and results use only what was taken from it at create (sizes,
 * regions, programme indices), so after lm_moments_reset m may observe a
 * run of another scenario of the same structure (persons, months, regions,
 * programmes and their order, represents). Checks the targets against sc first
 * (lm_targets_check) and allocates per-person registers for
 * sc->n_persons slots, only those the targets need. Threads: the OpenMP
 * default in force at the call (omp_set_num_threads); results do not depend
 * on it. Errors: LM_ECONFIG (targets do not fit the scenario), LM_EARG,
 * LM_ENOMEM. */
int lm_moments_create(const lm_targets *t, int variant, const lm_scenario *sc, lm_moments **out,
                      lm_error *err);

/* Observe the sim's current month: month 0 after lm_sim_create, then after
 * every lm_sim_step, in order. Parallel over this process's slots with
 * integer per-thread counters summed in thread order, then summed over the
 * ranks of a distributed run through the sim's exchange (every rank must
 * call it): bit-identical for any thread and rank count. Errors: LM_EARG (a
 * month out of order, a sim of another size), LM_EIO (exchange failed). */
int lm_moments_observe(lm_moments *m, const lm_sim *sim, lm_error *err);

/* Back to "nothing observed" (for a new run of the same scenario size). */
void lm_moments_reset(lm_moments *m);

/* Fill res[i] for the targets i of this variant (res has
 * lm_targets_count() elements; the others are left as they are). pass uses
 * |simulated - value| <= tolerance + widen * se. A target whose cohort or
 * window was not fully observed, or whose denominator is 0, is unavailable
 * with the reason. Errors: LM_EARG (widen < 0). */
int lm_moments_results(const lm_moments *m, double widen, lm_target_result *res, lm_error *err);

void lm_moments_destroy(lm_moments *m);

/* Feed an existing run file through m, as lm_moments_observe would the run:
 * the panel (full or sampled columns, /persons for attributes) for the
 * person measures, /aggregates/programmes for programme_count. A file
 * without a panel leaves the person measures unavailable; the programme
 * follow-up (referral month and trial arm) is not in run files, so
 * `programme` targets are unavailable after a replay. Several files of the
 * same scenario size may be replayed into one m in turn (their counts are
 * pooled). Errors: LM_EIO (unreadable), LM_EHDF5 (not an lmsim run file),
 * LM_EARG (a file of another size than m's scenario), LM_ENOMEM. */
int lm_moments_replay(lm_moments *m, const char *path, lm_error *err);

/* The scenario a run file was made with (its scenario_text attribute),
 * loaded with lm_scenario_load_string. Errors: as lm_h5_describe, and those
 * of loading. Owned by caller. */
int lm_moments_file_scenario(const char *path, lm_scenario **out, lm_error *err);

/* Run every variant of t on sc and fill res[0 .. lm_targets_count(t)).
 * Variant v > 0 runs the scenario reloaded from sc->text with the override
 * evaluation.trial = "<programme>"; every variant has sc's seed (common
 * random numbers). The variants run without a file, except variant 0 when
 * opt->out_path is set, which runs last and writes /validation with every
 * result into its file. opt is used as given otherwise (opt->moments and
 * opt->results are ignored). Errors: those of lm_moments_create and lm_run;
 * on error res is unspecified and no file is written. */
int lm_validate(const lm_scenario *sc, const lm_targets *t, const lm_run_options *opt, double widen,
                lm_target_result *res, lm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_MOMENTS_H */
