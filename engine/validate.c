/* validate.c - lm_validate(): every run variant of a targets file.
 *
 * Purpose. The targets of one file may need more than one run: variant 0 is
 * the scenario as it is; each programme with `trial = true` targets needs
 * the run with `evaluation.trial` set to it (lmsim/targets.h). lm_validate()
 * runs each variant once, with the scenario's seed (common random numbers),
 * observing it with the variant's lm_moments, and gathers every result.
 *
 * Data. A variant v > 0 is the scenario reloaded from its recorded text
 * (sc->text, after includes and overrides) with the single override
 * evaluation.trial="<programme>". The results array has one entry per
 * target, filled by the variant that computes it.
 *
 * Order and files. Variants v > 0 run first, without a file; variant 0 runs
 * last, so that when opt->out_path is set its file is written (by lm_run,
 * under a temporary name, then renamed) with /validation holding every result. A
 * failure in any variant stops and leaves no file.
 */
#define _POSIX_C_SOURCE 200809L
#include "lmsim/moments.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "targets_internal.h"

#define OVERRIDE_MAX 128 /* evaluation.trial="<programme name>" */

/* Run variant v of t: scenario vsc (borrowed), file only when out_path. */
static int run_variant(const lm_scenario *vsc, const lm_targets *t, int v,
                       const lm_run_options *opt, const char *out_path, double widen,
                       lm_target_result *res, lm_error *err) {
    lm_moments *m = NULL;
    lm_run_options o = *opt;
    int rc;
    /* The moments split their pass like the run: the same thread count. */
    if (opt->threads > 0)
        omp_set_num_threads(opt->threads);
    if ((rc = lm_moments_create(t, v, vsc, &m, err)))
        return rc;
    o.out_path = out_path;
    o.moments = m;
    o.results = res;
    o.widen = widen;
    rc = lm_run(vsc, &o, NULL, err);
    lm_moments_destroy(m);
    return rc;
}

int lm_validate(const lm_scenario *sc, const lm_targets *t, const lm_run_options *opt, double widen,
                lm_target_result *res, lm_error *err) {
    int rc;
    if (!sc || !t || !opt || !res)
        return LM_FAIL(err, LM_EARG, "lm_validate: scenario, targets, options and results needed");
    if (!(widen >= 0.0))
        return LM_FAIL(err, LM_EARG, "widen must be a number >= 0, got %g", widen);
    if ((rc = lm_targets_check(t, sc, err)))
        return rc;
    lm_targets_results_init(t, res);
    for (int v = 1; v < lm_targets_n_variants(t); v++) {
        char set[OVERRIDE_MAX];
        const char *sets[1] = {set};
        lm_scenario *vsc = NULL;
        snprintf(set, sizeof set, "evaluation.trial=\"%.*s\"", OVERRIDE_MAX - 24,
                 lm_targets_variant_trial(t, v));
        if ((rc = lm_scenario_load_string(sc->text, sc->source_path, sets, 1, &vsc, err)))
            return rc;
        rc = run_variant(vsc, t, v, opt, NULL, widen, res, err);
        lm_scenario_destroy(vsc);
        if (rc)
            return rc;
    }
    return run_variant(sc, t, 0, opt, opt->out_path, widen, res, err);
}
