/* calibrate_targets.c - the residuals of `lmsim calibrate`: runs against targets.
 *
 * Purpose. lm_calibrate() connects the optimiser of calibrate.c to the
 * targets and streamed moments of lmsim/targets.h and lmsim/moments.h: the
 * residuals of a parameter vector theta are (simulated_i - value_i) /
 * tolerance_i over the targets with use = "tuned", in the targets file's
 * order; validation targets are computed before and after the fit for the
 * report, never fitted. (calibrate.c, the optimiser, does not depend on
 * them.)
 *
 * Data layout. One cal_ctx per fit: for every run variant v of the targets
 * (v = 0 the scenario as it is, v > 0 with evaluation.trial set to the
 * variant's programme) an engine sim[v] and its moments mom[v], created
 * once from the start values; scen[v] is the scenario that sim[v] runs now
 * (the sim borrows it), first[v] the one the moments were created with
 * (kept for their lifetime). res[] holds one lm_target_result per target.
 *
 * An evaluation, for every variant: the scenario is re-derived from the base
 * text job->sc->text with "path=value" overrides of every parameter (and the
 * trial), lm_scenario_load_string(); the sim is reset for it (same shape,
 * no allocation); the moments are reset; month 0 and every step are
 * observed; the results of the variant's targets are collected. The seed
 * never changes, so every evaluation uses the same random numbers (common
 * random numbers): the objective moves only with the parameters.
 *
 * Invariants. Deterministic (the engine and the moments are bit-identical
 * for any thread count). Nothing is written until the fit has finished;
 * lm_calib_write() then writes both files or neither.
 */
#define _POSIX_C_SOURCE 200809L
#include "lmsim/calibrate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lmsim/moments.h"
#include "lmsim/sim.h"
#include "lmsim/targets.h"

/* Longest "path=value" override: a path (as --set allows) and %.17g. */
#define CAL_SET_LEN 320
/* Width of the target id column of the report table. */
#define CAL_ID_WIDTH 28

typedef struct cal_ctx {
    const lm_calibrate_job *job;
    size_t n_targets, n_tuned;
    size_t *tuned; /* [n_tuned] target index of each residual */
    int n_variants;
    lm_sim **sim;              /* [n_variants] */
    lm_moments **mom;          /* [n_variants] */
    lm_scenario **scen;        /* [n_variants] what sim[v] runs now */
    lm_scenario **first;       /* [n_variants] what mom[v] was made with */
    lm_target_result *res;     /* [n_targets] */
    char (*sets)[CAL_SET_LEN]; /* [n_params + 1] overrides of one evaluation */
    const char **set_ptr;      /* [n_params + 1] */
} cal_ctx;

/* %.17g with a decimal point, so that a float setting stays a float. */
static void fmt_value(double v, char *buf, size_t n) {
    snprintf(buf, n, "%.17g", v);
    if (!strpbrk(buf, ".eEni") && strlen(buf) + 2 < n)
        strcat(buf, ".0");
}

/* The scenario of variant v at theta into *out. */
static int derive(cal_ctx *c, int v, const double *theta, lm_scenario **out, lm_error *err) {
    const lm_calibrate_job *job = c->job;
    size_t k = 0;
    for (size_t j = 0; j < job->n_params; j++, k++) {
        char num[40];
        fmt_value(theta[j], num, sizeof num);
        snprintf(c->sets[k], CAL_SET_LEN, "%s=%s", job->params[j].path, num);
    }
    const char *trial = lm_targets_variant_trial(job->targets, v);
    if (trial)
        snprintf(c->sets[k++], CAL_SET_LEN, "evaluation.trial=\"%s\"", trial);
    for (size_t q = 0; q < k; q++)
        c->set_ptr[q] = c->sets[q];
    return lm_scenario_load_string(job->sc->text, job->sc->source_path, c->set_ptr, k, out, err);
}

/* Run every variant at theta and fill c->res for every target. */
static int evaluate_all(cal_ctx *c, const double *theta, lm_error *err) {
    int rc;
    for (int v = 0; v < c->n_variants; v++) {
        lm_scenario *sc;
        if ((rc = derive(c, v, theta, &sc, err)))
            return rc;
        if (!c->sim[v]) {
            /* First evaluation: the engine and the moments of this variant. */
            if ((rc = lm_sim_create(sc, c->job->threads, &c->sim[v], err)) ||
                (rc = lm_moments_create(c->job->targets, v, sc, &c->mom[v], err))) {
                lm_sim_destroy(c->sim[v]);
                c->sim[v] = NULL;
                lm_scenario_destroy(sc);
                return rc;
            }
            c->first[v] = sc;
        } else {
            if ((rc = lm_sim_reset(c->sim[v], sc, err))) {
                lm_scenario_destroy(sc);
                return rc;
            }
            if (c->scen[v] != c->first[v])
                lm_scenario_destroy(c->scen[v]);
            lm_moments_reset(c->mom[v]);
        }
        c->scen[v] = sc;
        if ((rc = lm_moments_observe(c->mom[v], c->sim[v], err)))
            return rc;
        for (int m = 0; m < sc->n_months; m++)
            if ((rc = lm_sim_step(c->sim[v], err)) ||
                (rc = lm_moments_observe(c->mom[v], c->sim[v], err)))
                return rc;
        if ((rc = lm_moments_results(c->mom[v], 0.0, c->res, err)))
            return rc;
    }
    return LM_OK;
}

/* lm_calib_resid_fn: (simulated - value) / tolerance of the tuned targets. */
static int residuals(void *user, const double *theta, double *resid, lm_error *err) {
    cal_ctx *c = user;
    int rc = evaluate_all(c, theta, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < c->n_tuned; k++) {
        lm_target_info ti;
        lm_targets_info(c->job->targets, c->tuned[k], &ti);
        const lm_target_result *r = &c->res[c->tuned[k]];
        if (!r->available || !isfinite(r->simulated))
            return LM_FAIL(err, LM_ERANGE,
                           "target '%s' (line %d) cannot be computed at the parameters tried "
                           "(%s): an empty group or cohort? Calibration needs every tuned target",
                           ti.id, ti.cfg_line, ti.describe ? ti.describe : ti.measure);
        resid[k] = (r->simulated - ti.value) / ti.tolerance;
    }
    return LM_OK;
}

/* A copy of s (lm__malloc). */
static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = lm__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* One number of the table, or "n/a". */
static void cell(const lm_target_result *r, char *buf, size_t n) {
    if (r->available && isfinite(r->simulated))
        snprintf(buf, n, "%.4g", r->simulated);
    else
        snprintf(buf, n, "n/a");
}

/* The before/after table: a header line and one line per target. */
static int make_table(cal_ctx *c, const lm_target_result *before, lm_calib_report *rep,
                      lm_error *err) {
    rep->lines = lm__calloc(c->n_targets + 2, sizeof *rep->lines);
    if (!rep->lines)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    char line[512];
    snprintf(line, sizeof line, "%-*s %-8s %-10s %10s %10s %10s %10s  %s", CAL_ID_WIDTH, "target",
             "evidence", "use", "published", "tolerance", "before", "after", "after passes");
    if (!(rep->lines[rep->n_lines++] = dup_str(line)))
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n_targets; i++) {
        lm_target_info ti;
        lm_targets_info(c->job->targets, i, &ti);
        char b[32], a[32];
        cell(&before[i], b, sizeof b);
        cell(&c->res[i], a, sizeof a);
        const lm_target_result *r = &c->res[i];
        snprintf(line, sizeof line, "%-*s %-8s %-10s %10.4g %10.4g %10s %10s  %s", CAL_ID_WIDTH,
                 ti.id, ti.evidence ? ti.evidence : "", ti.tuned ? "tuned" : "validation", ti.value,
                 ti.tolerance, b, a,
                 !r->available                                   ? "n/a"
                 : fabs(r->simulated - ti.value) <= ti.tolerance ? "yes"
                                                                 : "NO");
        if (!(rep->lines[rep->n_lines++] = dup_str(line)))
            return LM_FAIL(err, LM_ENOMEM, "out of memory");
    }
    return LM_OK;
}

void lm_calib_report_destroy(lm_calib_report *report) {
    if (!report)
        return;
    lm_calib_result_destroy(report->fit);
    for (size_t k = 0; k < report->n_lines; k++)
        lm__free(report->lines[k]);
    lm__free(report->lines);
    lm__free(report);
}

static void ctx_free(cal_ctx *c) {
    for (int v = 0; c->sim && c->mom && c->scen && c->first && v < c->n_variants; v++) {
        lm_sim_destroy(c->sim[v]);
        lm_moments_destroy(c->mom[v]);
        if (c->scen[v] != c->first[v])
            lm_scenario_destroy(c->scen[v]);
        lm_scenario_destroy(c->first[v]);
    }
    lm__free(c->sim);
    lm__free(c->mom);
    lm__free(c->scen);
    lm__free(c->first);
    lm__free(c->res);
    lm__free(c->tuned);
    lm__free(c->sets);
    lm__free(c->set_ptr);
}

int lm_calibrate(const lm_calibrate_job *job, lm_calib_report **report, lm_error *err) {
    cal_ctx c;
    int rc;
    memset(&c, 0, sizeof c);
    *report = NULL;
    c.job = job;
    if (job->n_params < 1 || job->n_params > LM_CALIB_MAX_FREE)
        return LM_FAIL(err, LM_EARG, "between 1 and %d free parameters, got %zu", LM_CALIB_MAX_FREE,
                       job->n_params);
    if ((rc = lm_targets_check(job->targets, job->sc, err)))
        return rc;
    c.n_targets = lm_targets_count(job->targets);
    c.n_variants = lm_targets_n_variants(job->targets);
    lm_calib_report *rep = lm__calloc(1, sizeof *rep);
    lm_target_result *before = lm__calloc(c.n_targets ? c.n_targets : 1, sizeof *before);
    c.tuned = lm__calloc(c.n_targets ? c.n_targets : 1, sizeof *c.tuned);
    c.res = lm__calloc(c.n_targets ? c.n_targets : 1, sizeof *c.res);
    c.sim = lm__calloc((size_t)c.n_variants, sizeof *c.sim);
    c.mom = lm__calloc((size_t)c.n_variants, sizeof *c.mom);
    c.scen = lm__calloc((size_t)c.n_variants, sizeof *c.scen);
    c.first = lm__calloc((size_t)c.n_variants, sizeof *c.first);
    c.sets = lm__calloc(job->n_params + 1, sizeof *c.sets);
    c.set_ptr = lm__calloc(job->n_params + 1, sizeof *c.set_ptr);
    double *start = lm__calloc(job->n_params, sizeof *start);
    if (!rep || !before || !c.tuned || !c.res || !c.sim || !c.mom || !c.scen || !c.first ||
        !c.sets || !c.set_ptr || !start) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < c.n_targets; i++) {
        lm_target_info ti;
        lm_targets_info(job->targets, i, &ti);
        if (ti.tuned)
            c.tuned[c.n_tuned++] = i;
    }
    rep->n_tuned = c.n_tuned;
    if (c.n_tuned < job->n_params) {
        rc = LM_FAIL(err, LM_EARG,
                     "%zu tuned targets cannot identify %zu free parameters (use = \"tuned\" "
                     "on at least as many targets as --free parameters)",
                     c.n_tuned, job->n_params);
        goto done;
    }
    /* Before: every target at the start values. */
    for (size_t j = 0; j < job->n_params; j++)
        start[j] = job->params[j].start;
    if ((rc = evaluate_all(&c, start, err)))
        goto done;
    memcpy(before, c.res, c.n_targets * sizeof *before);
    if ((rc = lm_calib_fit(job->params, job->n_params, c.n_tuned, residuals, &c, &job->fit,
                           &rep->fit, err)))
        goto done;
    /* After: every target at the fitted values (the fit's last evaluation
     * need not be its best point). */
    if ((rc = evaluate_all(&c, rep->fit->theta, err)) || (rc = make_table(&c, before, rep, err)))
        goto done;
    lm_calib_output out = {job->scenario_path,
                           job->sc->name,
                           job->command,
                           job->params,
                           job->n_params,
                           rep->fit,
                           (const char *const *)rep->lines,
                           rep->n_lines};
    if ((rc = lm_calib_write(job->out_path, &out, err)))
        goto done;
    *report = rep;
    rep = NULL;
done:
    lm_calib_report_destroy(rep);
    lm__free(before);
    lm__free(start);
    ctx_free(&c);
    return rc;
}
