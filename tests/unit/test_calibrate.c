#define _POSIX_C_SOURCE 200809L
/* test_calibrate.c - the calibration optimiser and its output files.
 *
 * lm_calib_fit() on problems with known answers: an exponential model with
 * bounds is recovered; a parameter whose optimum lies beyond its bound ends
 * at the bound and is flagged; for a linear model the fit is the weighted
 * least-squares solution and the standard errors and covariance equal the
 * analytic (X'WX)^-1; a parameter without effect and collinear parameters
 * are flagged; max_iter reports the best point with converged = 0; bad
 * inputs, non-finite residuals, callback errors and a stop request are
 * errors; the same inputs give the same result bit for bit; every
 * allocation failure is LM_ENOMEM. lm_calib_write()
 * writes a fitted scenario that loads (and holds the fitted values exactly)
 * and an uncertainty file that a sweep can @include, byte-identical when
 * repeated, and nothing at all on error.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <gsl/gsl_errno.h>
#include <unistd.h>

#include "internal.h"
#include "lmsim.h"
#include "test_util.h"

/* ------------------------------------------------------------------------ */
/* Problems                                                                  */

#define EXP_N 20
/* y_k = A exp(-lambda t_k) + b at t_k = k, sigma 0.1, exact data. */
static int exp_model(void *user, const double *th, double *r, lm_error *err) {
    (void)err;
    const double *truth = user;
    for (int k = 0; k < EXP_N; k++) {
        double y = truth[0] * exp(-truth[1] * k) + truth[2];
        r[k] = (th[0] * exp(-th[1] * k) + th[2] - y) / 0.1;
    }
    return LM_OK;
}

#define LIN_N 12
static const double lin_x[LIN_N] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const double lin_y[LIN_N] = {1.1, 1.4, 2.2, 2.4, 3.1, 3.4, 4.2, 4.4, 5.1, 5.3, 6.2, 6.4};
static const double lin_s[LIN_N] = {0.1, 0.2, 0.1, 0.3, 0.1, 0.2, 0.1, 0.2, 0.3, 0.1, 0.2, 0.1};

/* (a + b x_i - y_i) / s_i; user: NULL, or a double[2] offset on y for the
 * at-bound test (slope scaled). */
static int lin_model(void *user, const double *th, double *r, lm_error *err) {
    (void)err;
    const double scale = user ? *(const double *)user : 1.0;
    for (int i = 0; i < LIN_N; i++)
        r[i] = (th[0] + th[1] * lin_x[i] - scale * lin_y[i]) / lin_s[i];
    return LM_OK;
}

/* Rosenbrock as residuals: 10 (y - x^2), 1 - x. */
static int rosenbrock(void *user, const double *th, double *r, lm_error *err) {
    (void)user;
    (void)err;
    r[0] = 10.0 * (th[1] - th[0] * th[0]);
    r[1] = 1.0 - th[0];
    return LM_OK;
}

/* theta[2] has no effect; theta[0] + theta[1] enters only as a sum when
 * user is non-NULL (collinear). */
static int degenerate(void *user, const double *th, double *r, lm_error *err) {
    (void)err;
    for (int i = 0; i < LIN_N; i++)
        r[i] = (user ? th[0] + th[1] + 0.5 * lin_x[i] : th[0] + th[1] * lin_x[i]) - lin_y[i];
    return LM_OK;
}

static int nan_model(void *user, const double *th, double *r, lm_error *err) {
    (void)err;
    int *calls = user;
    r[0] = th[0];
    r[1] = ++*calls > 3 ? (double)NAN : th[0];
    return LM_OK;
}

static int failing_model(void *user, const double *th, double *r, lm_error *err) {
    (void)user;
    (void)th;
    (void)r;
    snprintf(err->msg, sizeof err->msg, "the run failed");
    err->code = LM_EIO;
    return LM_EIO;
}

static int stop_at_two(void *user, int iteration, long evaluations, double cost,
                       const double *theta) {
    (void)evaluations;
    (void)cost;
    (void)theta;
    int *seen = user;
    *seen = iteration;
    return iteration >= 2;
}

/* ------------------------------------------------------------------------ */

static void test_recovers_nonlinear(void **state) {
    (void)state;
    double truth[3] = {5.0, 0.3, 1.0};
    lm_calib_param par[3] = {
        {"A", 0.0, 10.0, 2.0}, {"lambda", 0.01, 2.0, 1.0}, {"b", -5.0, 5.0, 0.0}};
    lm_calib_options opt = {0};
    opt.xtol = 1e-12;
    opt.gtol = 1e-14;
    opt.ftol = 1e-14;
    lm_calib_result *res;
    lm_error err;
    assert_int_equal(lm_calib_fit(par, 3, EXP_N, exp_model, truth, &opt, &res, &err), LM_OK);
    assert_true(res->converged);
    for (int j = 0; j < 3; j++) {
        assert_true(fabs(res->theta[j] - truth[j]) < 1e-6);
        assert_true(res->flags[j] == 0);
        assert_true(isfinite(res->se[j]) && res->se[j] > 0.0);
    }
    assert_true(res->cost < 1e-10);
    assert_true(res->cost_start > 1e3);
    assert_true(res->evaluations > 3 * res->iterations);
    lm_calib_result_destroy(res);
}

static void test_linear_standard_errors(void **state) {
    (void)state;
    /* Weighted least squares by hand: (X'WX)^-1 X'Wy, W = 1/s^2. */
    double sw = 0, sx = 0, sxx = 0, sy = 0, sxy = 0;
    for (int i = 0; i < LIN_N; i++) {
        double w = 1.0 / (lin_s[i] * lin_s[i]);
        sw += w;
        sx += w * lin_x[i];
        sxx += w * lin_x[i] * lin_x[i];
        sy += w * lin_y[i];
        sxy += w * lin_x[i] * lin_y[i];
    }
    double det = sw * sxx - sx * sx;
    double cov[4] = {sxx / det, -sx / det, -sx / det, sw / det};
    double b = (sw * sxy - sx * sy) / det, a = (sy - b * sx) / sw;

    lm_calib_param par[2] = {{"a", -10.0, 10.0, 0.0}, {"b", -5.0, 5.0, 2.0}};
    lm_calib_options opt = {0};
    opt.xtol = 1e-14;
    opt.gtol = 1e-15;
    opt.ftol = 1e-15;
    opt.max_iter = 200;
    lm_calib_result *res;
    lm_error err;
    assert_int_equal(lm_calib_fit(par, 2, LIN_N, lin_model, NULL, &opt, &res, &err), LM_OK);
    assert_true(fabs(res->theta[0] - a) < 1e-7);
    assert_true(fabs(res->theta[1] - b) < 1e-7);
    assert_true(fabs(res->se[0] - sqrt(cov[0])) < 1e-6 * sqrt(cov[0]));
    assert_true(fabs(res->se[1] - sqrt(cov[3])) < 1e-6 * sqrt(cov[3]));
    for (int k = 0; k < 4; k++)
        assert_true(fabs(res->cov[k] - cov[k]) < 1e-6 * fabs(cov[k]));
    assert_false(res->ill_conditioned);
    assert_true(res->cond > 1.0 && isfinite(res->cond));
    double cost = 0.0;
    for (int i = 0; i < LIN_N; i++)
        cost += res->resid[i] * res->resid[i];
    assert_true(fabs(cost - res->cost) < 1e-9 * cost);
    lm_calib_result_destroy(res);
}

static void test_optimum_beyond_bound(void **state) {
    (void)state;
    /* The slope of the data is about 0.5; bounded to [0, 0.3] it ends at
     * 0.3, flagged; the intercept compensates inside its bounds. */
    lm_calib_param par[2] = {{"a", -10.0, 10.0, 0.0}, {"b", 0.0, 0.3, 0.1}};
    lm_calib_result *res;
    lm_error err;
    assert_int_equal(lm_calib_fit(par, 2, LIN_N, lin_model, NULL, NULL, &res, &err), LM_OK);
    assert_true(res->theta[1] > 0.3 - 0.01 * 0.3);
    assert_true(res->flags[1] & LM_CALIB_AT_UPPER);
    assert_false(res->flags[1] & LM_CALIB_AT_LOWER);
    assert_int_equal(res->flags[0], 0);
    lm_calib_result_destroy(res);
    /* The same at the lower bound, starting exactly on it. */
    par[1].lo = 0.8;
    par[1].hi = 2.0;
    par[1].start = 0.8;
    assert_int_equal(lm_calib_fit(par, 2, LIN_N, lin_model, NULL, NULL, &res, &err), LM_OK);
    assert_true(res->flags[1] & LM_CALIB_AT_LOWER);
    assert_true(res->theta[1] < 0.8 + 0.012);
    lm_calib_result_destroy(res);
}

static void test_not_identified(void **state) {
    (void)state;
    lm_calib_param par[3] = {
        {"a", -10.0, 10.0, 0.0}, {"b", -5.0, 5.0, 1.0}, {"unused", 0.0, 1.0, 0.5}};
    lm_calib_result *res;
    lm_error err;
    assert_int_equal(lm_calib_fit(par, 3, LIN_N, degenerate, NULL, NULL, &res, &err), LM_OK);
    assert_true(res->flags[2] & LM_CALIB_NO_EFFECT);
    assert_true(isnan(res->se[2]));
    assert_true(isfinite(res->se[0]) && isfinite(res->se[1]));
    assert_true(isnan(res->cov[2 * 3 + 0]));
    lm_calib_result_destroy(res);
    /* a and b only through a + b: J'J singular. */
    int collinear = 1;
    assert_int_equal(lm_calib_fit(par, 2, LIN_N, degenerate, &collinear, NULL, &res, &err), LM_OK);
    assert_true(res->ill_conditioned);
    assert_true(isinf(res->cond) || res->cond > LM_CALIB_COND_WARN);
    lm_calib_result_destroy(res);
}

static void test_max_iter(void **state) {
    (void)state;
    lm_calib_param par[2] = {{"x", -5.0, 5.0, -1.2}, {"y", -5.0, 5.0, 1.0}};
    lm_calib_options opt = {0};
    opt.max_iter = 2;
    lm_calib_result *res;
    lm_error err;
    assert_int_equal(lm_calib_fit(par, 2, 2, rosenbrock, NULL, &opt, &res, &err), LM_OK);
    assert_false(res->converged);
    assert_int_equal(res->stop, LM_CALIB_STOP_MAX_ITER);
    assert_int_equal(res->iterations, 2);
    assert_true(res->cost < res->cost_start);
    /* theta is the point whose residuals are reported. */
    double r[2];
    rosenbrock(NULL, res->theta, r, &err);
    assert_memory_equal(r, res->resid, sizeof r);
    lm_calib_result_destroy(res);
    /* Given enough iterations it converges to (1, 1). */
    opt.max_iter = 500;
    opt.xtol = 1e-12;
    opt.gtol = 1e-14;
    opt.ftol = 1e-14;
    assert_int_equal(lm_calib_fit(par, 2, 2, rosenbrock, NULL, &opt, &res, &err), LM_OK);
    assert_true(res->converged);
    assert_true(fabs(res->theta[0] - 1.0) < 1e-5 && fabs(res->theta[1] - 1.0) < 1e-5);
    lm_calib_result_destroy(res);
}

static void test_bad_inputs(void **state) {
    (void)state;
    lm_calib_result *res;
    lm_error err;
    lm_calib_param par[2] = {{"a", -10.0, 10.0, 0.0}, {"b", -5.0, 5.0, 1.0}};
    lm_calib_param bad[2];
    memcpy(bad, par, sizeof bad);
    bad[1].lo = 5.0; /* lo == hi */
    assert_int_equal(lm_calib_fit(bad, 2, LIN_N, lin_model, NULL, NULL, &res, &err), LM_EARG);
    assert_null(res);
    assert_non_null(strstr(err.msg, "b: lower bound"));
    bad[1].lo = 6.0; /* reversed */
    assert_int_equal(lm_calib_fit(bad, 2, LIN_N, lin_model, NULL, NULL, &res, &err), LM_EARG);
    memcpy(bad, par, sizeof bad);
    bad[0].hi = (double)NAN;
    assert_int_equal(lm_calib_fit(bad, 2, LIN_N, lin_model, NULL, NULL, &res, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "finite"));
    memcpy(bad, par, sizeof bad);
    bad[0].start = (double)NAN;
    assert_int_equal(lm_calib_fit(bad, 2, LIN_N, lin_model, NULL, NULL, &res, &err), LM_EARG);
    memcpy(bad, par, sizeof bad);
    bad[1].start = 5.5;
    assert_int_equal(lm_calib_fit(bad, 2, LIN_N, lin_model, NULL, NULL, &res, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "outside"));
    assert_int_equal(lm_calib_fit(par, 2, 1, lin_model, NULL, NULL, &res, &err), LM_EARG);
    assert_int_equal(lm_calib_fit(par, 0, LIN_N, lin_model, NULL, NULL, &res, &err), LM_EARG);
    lm_calib_options opt = {0};
    opt.step = -0.1;
    assert_int_equal(lm_calib_fit(par, 2, LIN_N, lin_model, NULL, &opt, &res, &err), LM_EARG);
    opt.step = (double)NAN;
    assert_int_equal(lm_calib_fit(par, 2, LIN_N, lin_model, NULL, &opt, &res, &err), LM_EARG);

    /* A residual that is not finite. */
    int calls = 0;
    assert_int_equal(lm_calib_fit(par, 1, 2, nan_model, &calls, NULL, &res, &err), LM_ERANGE);
    assert_null(res);
    assert_non_null(strstr(err.msg, "residual 1"));
    /* The callback's own error comes through. */
    assert_int_equal(lm_calib_fit(par, 2, LIN_N, failing_model, NULL, NULL, &res, &err), LM_EIO);
    assert_string_equal(err.msg, "the run failed");
    /* A stop request from the progress callback. */
    int seen = -1;
    opt.step = 0.0;
    opt.progress = stop_at_two;
    opt.progress_user = &seen;
    lm_calib_param rb[2] = {{"x", -5.0, 5.0, -1.2}, {"y", -5.0, 5.0, 1.0}};
    assert_int_equal(lm_calib_fit(rb, 2, 2, rosenbrock, NULL, &opt, &res, &err), LM_EINTERRUPTED);
    assert_int_equal(seen, 2);
    assert_null(res);
}

static void test_deterministic(void **state) {
    (void)state;
    double truth[3] = {5.0, 0.3, 1.0};
    lm_calib_param par[3] = {
        {"A", 0.0, 10.0, 2.0}, {"lambda", 0.01, 2.0, 1.0}, {"b", -5.0, 5.0, 0.0}};
    lm_calib_result *a, *b;
    lm_error err;
    assert_int_equal(lm_calib_fit(par, 3, EXP_N, exp_model, truth, NULL, &a, &err), LM_OK);
    assert_int_equal(lm_calib_fit(par, 3, EXP_N, exp_model, truth, NULL, &b, &err), LM_OK);
    assert_memory_equal(a->theta, b->theta, 3 * sizeof(double));
    assert_memory_equal(a->se, b->se, 3 * sizeof(double));
    assert_memory_equal(a->cov, b->cov, 9 * sizeof(double));
    assert_memory_equal(a->resid, b->resid, EXP_N * sizeof(double));
    assert_int_equal(a->evaluations, b->evaluations);
    assert_int_equal(a->iterations, b->iterations);
    lm_calib_result_destroy(a);
    lm_calib_result_destroy(b);
}

/* Every allocation of a fit can fail cleanly (LM_ENOMEM, no leak: the
 * sanitizer build runs this too). */
static void test_out_of_memory(void **state) {
    (void)state;
    double truth[3] = {5.0, 0.3, 1.0};
    lm_calib_param par[3] = {
        {"A", 0.0, 10.0, 2.0}, {"lambda", 0.01, 2.0, 1.0}, {"b", -5.0, 5.0, 0.0}};
    int saw_ok = 0;
    for (long k = 0; k < 100 && !saw_ok; k++) {
        lm_calib_result *res = NULL;
        lm_error err;
        lm__alloc_fail_after(k);
        int rc = lm_calib_fit(par, 3, EXP_N, exp_model, truth, NULL, &res, &err);
        lm__alloc_fail_after(-1);
        if (rc == LM_OK)
            saw_ok = 1;
        else
            assert_int_equal(rc, LM_ENOMEM);
        lm_calib_result_destroy(res);
    }
    assert_true(saw_ok);
}

/* ------------------------------------------------------------------------ */
/* Output files                                                              */

/* Two settings of tests/data/programmes.cfg pulled to 0.4 and -1.5. */
static int two_settings(void *user, const double *th, double *r, lm_error *err) {
    (void)user;
    (void)err;
    r[0] = (th[0] - 0.4) / 0.01;
    r[1] = (th[1] + 1.5) / 0.01;
    r[2] = (th[0] - 0.41) / 0.02;
    return LM_OK;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_write_files(void **state) {
    (void)state;
    char dir[] = "/tmp/lmsim_test_calib_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char scen[1024];
    lm_test_data(scen, sizeof scen, "programmes.cfg");
    lm_calib_param par[2] = {{"market.matching_elasticity", 0.0, 1.0, 0.0},
                             {"transitions.unemployed.[0].intercept", -4.0, 0.0, -2.0}};
    lm_calib_result *res;
    lm_error err;
    assert_int_equal(lm_calib_fit(par, 2, 3, two_settings, NULL, NULL, &res, &err), LM_OK);
    const char *notes[] = {"target  before  after", "t1      0.1     0.4"};
    lm_calib_output o = {
        scen, "programmes_test", "lmsim calibrate x --free ...", par, 2, res, notes, 2};
    char out[1200], unc[1200], sweep[1200], text[4096];
    snprintf(out, sizeof out, "%s/fit.cfg", dir);
    assert_int_equal(lm_calib_uncertain_path(out, unc, sizeof unc), LM_OK);
    snprintf(text, sizeof text, "%s/fit.uncertain.cfg", dir);
    assert_string_equal(unc, text);
    assert_int_equal(lm_calib_uncertain_path("noext", text, sizeof text), LM_OK);
    assert_string_equal(text, "noext.uncertain.cfg");
    assert_int_equal(lm_calib_uncertain_path("a.cfg", text, 8), LM_EARG);

    assert_int_equal(lm_calib_write(out, &o, &err), LM_OK);
    char *fit1 = slurp(out), *unc1 = slurp(unc);
    assert_non_null(fit1);
    assert_non_null(unc1);
    assert_non_null(strstr(fit1, "set = ("));
    assert_non_null(strstr(fit1, "# target  before  after"));
    assert_non_null(strstr(fit1, "name = \"programmes_test_fitted\";"));
    assert_non_null(strstr(fit1, "lmsim calibrate x --free ..."));

    /* It loads, and holds the fitted values exactly. */
    lm_scenario *sc;
    assert_int_equal(lm_scenario_load(out, NULL, 0, &sc, &err), LM_OK);
    assert_true(sc->matching_elasticity == res->theta[0]);
    assert_true(sc->dest[LM_STATE_UNEMPLOYED][0].intercept == res->theta[1]);
    assert_string_equal(sc->name, "programmes_test_fitted");
    lm_scenario_destroy(sc);

    /* The same again, byte for byte; no temporary files left. */
    assert_int_equal(lm_calib_write(out, &o, &err), LM_OK);
    char *fit2 = slurp(out), *unc2 = slurp(unc);
    assert_string_equal(fit1, fit2);
    assert_string_equal(unc1, unc2);
    {
        /* Temporary files are OUT.tmp.XXXXXXXX: none may be left. */
        DIR *dd = opendir(dir);
        assert_non_null(dd);
        for (struct dirent *e; (e = readdir(dd)) != NULL;)
            assert_null(strstr(e->d_name, ".tmp"));
        closedir(dd);
    }

    /* A sweep beside the fitted file that includes the uncertainty file
     * (relative to the sweep file's folder) loads. */
    snprintf(sweep, sizeof sweep, "%s/sweep.cfg", dir);
    snprintf(
        text, sizeof text,
        "sweep = {\n  base = \"fit.cfg\";\n  output = \"%s/out\";\n  replicates = 2;\n"
        "  seed = 5;\n  points = ( { name = \"p\"; set = [ \"simulation.persons=100\" ]; } );\n"
        "  @include \"fit.uncertain.cfg\"\n};\n",
        dir);
    FILE *f = fopen(sweep, "w");
    fputs(text, f);
    fclose(f);
    lm_sweep *sw;
    if (lm_sweep_load(sweep, NULL, &sw, &err) != LM_OK)
        fail_msg("sweep with the uncertainty file: %s", err.msg);
    assert_int_equal(lm_sweep_n_tasks(sw), 2);
    lm_sweep_destroy(sw);

    /* An output folder that does not exist: an error, and no file. */
    char nowhere[1300];
    snprintf(nowhere, sizeof nowhere, "%s/missing/fit.cfg", dir);
    assert_int_equal(lm_calib_write(nowhere, &o, &err), LM_EIO);
    assert_int_not_equal(access(nowhere, F_OK), 0);

    remove(out);
    remove(unc);
    remove(sweep);
    rmdir(dir);
    free(fit1);
    free(fit2);
    free(unc1);
    free(unc2);
    lm_calib_result_destroy(res);
}

int main(void) {
    gsl_set_error_handler_off(); /* as the CLI: GSL reports, never aborts */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovers_nonlinear),
        cmocka_unit_test(test_linear_standard_errors),
        cmocka_unit_test(test_optimum_beyond_bound),
        cmocka_unit_test(test_not_identified),
        cmocka_unit_test(test_max_iter),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_write_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
