/* lmsim/targets.h - targets files: published values a run is checked against.
 *
 * A targets file (libconfig, docs/scenario-reference.md "Targets files")
 * lists targets, each a measure of the simulated population (a share, a
 * monthly flow, a cohort outcome, a programme outcome, ...) with the
 * published value, a tolerance and the evidence it comes from.
 * lm_targets_load() validates the file as strictly as a scenario: every
 * error names the file, the line and the setting path. Checks that need the
 * scenario (months within the run, programme names, follow-up horizons,
 * region names) are made by lm_targets_check(), so the same file gives a
 * clear error when used with a shorter run.
 *
 * Targets are grouped into run variants: variant 0 is the scenario as it is;
 * each distinct programme named by a target with `trial = true` adds one
 * variant, the scenario with `evaluation.trial` set to that programme. Each
 * variant is one run with the same seed. The measures themselves are
 * computed while a run streams (lmsim/moments.h).
 */
#ifndef LMSIM_TARGETS_H
#define LMSIM_TARGETS_H

#include <stddef.h>

#include "lmsim/error.h"
#include "lmsim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lm_targets lm_targets; /* opaque, immutable after load */

/* Load and validate a targets file (@include relative to its folder).
 * Errors: LM_EIO (unreadable), LM_ESYNTAX, LM_ECONFIG (a bad setting, with
 * file, line and setting path), LM_ENOMEM. Owned by caller. */
int lm_targets_load(const char *path, lm_targets **out, lm_error *err);

/* Check the targets against the scenario they are to be computed on: every
 * month (and every cohort's follow-up) within [0, sc->n_months], programmes
 * named by the scenario, horizons at most evaluation.follow_up_months,
 * region names of groups. Errors: LM_ECONFIG naming the targets file, line
 * and setting. */
int lm_targets_check(const lm_targets *t, const lm_scenario *sc, lm_error *err);

size_t lm_targets_count(const lm_targets *t);

typedef struct lm_target_info {
    const char *id, *measure, *evidence, *use, *note, *describe; /* borrowed; note "" if none;
                                                                     describe: one line of text */
    double value, tolerance; /* published value and tolerance, same units */
    int tuned;               /* 1 use = "tuned", 0 "validation" */
    int variant;             /* run variant (0 = the scenario as it is) */
    int cfg_line;            /* line of the target in the file */
} lm_target_info;

/* Facts about target i (0 <= i < count); strings valid while t lives. */
void lm_targets_info(const lm_targets *t, size_t i, lm_target_info *out);

/* Run variants: 1 + the number of distinct programmes of trial targets. */
int lm_targets_n_variants(const lm_targets *t);
/* Programme under trial in variant v; NULL for variant 0. */
const char *lm_targets_variant_trial(const lm_targets *t, int v);

/* Free; NULL is a no-op. */
void lm_targets_destroy(lm_targets *t);

#define LM_TARGET_REASON_MAX 160

/* The result of one target. */
typedef struct lm_target_result {
    double simulated;                  /* NaN when not available */
    double se;                         /* approximate sampling s.e. (NaN when not available) */
    double numerator, denominator;     /* of the main measure (the group's, not versus) */
    int available;                     /* 0: could not be computed (reason says why) */
    int pass;                          /* |simulated - value| <= tolerance (+ widen * se) */
    char reason[LM_TARGET_REASON_MAX]; /* "" when available */
} lm_target_result;

/* Set res[0 .. count) to "not computed": unavailable, NaN, not passed, the
 * reason naming the run variant that computes it. */
void lm_targets_results_init(const lm_targets *t, lm_target_result *res);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_TARGETS_H */
