/* calibrate.c - bounded least squares for calibration, and the fitted files.
 *
 * Purpose. `lmsim calibrate` fits free scenario parameters by the simulated
 * method of moments: it minimises the sum of squared residuals r_i(theta) =
 * (simulated_i(theta) - published_i) / tolerance_i over the tuned targets.
 * This file is the part that knows nothing of targets or runs: a residual
 * callback r(theta) over n residuals and p bounded parameters, GSL's
 * trust-region solver, the standard errors at the optimum, and the writing
 * of the fitted scenario and of its parameter-uncertainty file.
 *
 * Method. Each parameter is bounded by transformation,
 *     theta_j = lo_j + (hi_j - lo_j) / (1 + exp(-phi_j)),
 * and GSL's gsl_multifit_nlinear (trust region, Levenberg-Marquardt steps,
 * More scaling, QR) minimises over the unbounded phi. GSL asks for the
 * Jacobian through our df callback: a forward difference in phi with a
 * large step h (LM_CALIB_DEFAULT_STEP), one evaluation per parameter, the
 * base point's residuals taken from the last evaluation when GSL asks at the
 * point it has just evaluated (it always does after accepting a step). A
 * simulated objective is piecewise constant at small scales (persons switch
 * state at thresholds of their draws), so a step of sqrt(epsilon) would give
 * slopes of exactly zero.
 *
 * Data layout. fit_state holds the problem, the last evaluation (phi, r) and
 * the last Jacobian's raw differences D[i * p + j] = r_i(phi + h e_j) -
 * r_i(phi) with the theta steps dtheta_j = theta_j(phi_j + h) - theta_j(phi_j)
 * (row-major, n x p). GSL gets J_phi = D / h. The standard errors use
 * J_theta = D / dtheta (the chain rule through the secant of theta over the
 * step, exact for residuals linear in theta), cov = (J_theta' J_theta)^-1
 * computed from the SVD of J_theta with unit-length columns (parameters
 * whose column is zero have no effect and are left out, their s.e. NaN).
 *
 * Invariants. The point GSL holds after an accepted step has the lowest
 * cost so far of the accepted points (a step is accepted only when it
 * lowers the cost), so "the best point found" is GSL's position, also when
 * max_iter stops the fit. Evaluations count every residual call.
 * Deterministic: no clock, no threads, sums in fixed order (GSL's BLAS is
 * serial), so the same inputs give the same output bit for bit, files
 * included (they carry no date). The library prints nothing: progress goes
 * through the callback.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "lmsim/calibrate.h"

#include <errno.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "lmsim/output.h"

/* Relative size below which a singular value of the scaled Jacobian counts
 * as zero (J'J singular): the inverse would be rounding noise. */
#define LM_CALIB_SINGULAR_RTOL 1e-12
/* Longest path handled when resolving the fitted file's base. */
#define LM_CALIB_PATH_MAX 4096

/* ------------------------------------------------------------------------ */
/* Transformation                                                            */

static double theta_of(const lm_calib_param *q, double phi) {
    return q->lo + (q->hi - q->lo) / (1.0 + exp(-phi));
}

/* phi of a value strictly inside (lo, hi). */
static double phi_of(const lm_calib_param *q, double theta) {
    return log((theta - q->lo) / (q->hi - theta));
}

/* ------------------------------------------------------------------------ */
/* The problem as GSL sees it                                                */

typedef struct fit_state {
    const lm_calib_param *par;
    size_t p, n;
    lm_calib_resid_fn f;
    void *user;
    double step;
    double *theta;    /* [p] scratch: theta of the point evaluated */
    double *phi;      /* [p] scratch: a point in phi */
    double *last_phi; /* [p] point of the last evaluation */
    double *last_r;   /* [n] its residuals */
    int have_last;
    double *jac_phi; /* [p] point of the last Jacobian */
    double *D;       /* [n * p] its raw differences */
    double *dtheta;  /* [p] its theta steps */
    double *r0;      /* [n] scratch: residuals at the Jacobian's point */
    double *probe;   /* [n] scratch: residuals at a probe */
    int have_jac;
    long evals;
    int rc;        /* first error of a callback, LM_OK otherwise */
    lm_error *err; /* where that error went */
} fit_state;

/* r(phi) into r; GSL_SUCCESS or GSL_EBADFUNC (the error is in st->rc). */
static int evaluate(fit_state *st, const double *phi, double *r) {
    for (size_t j = 0; j < st->p; j++)
        st->theta[j] = theta_of(&st->par[j], phi[j]);
    st->evals++;
    int rc = st->f(st->user, st->theta, r, st->err);
    if (rc) {
        st->rc = rc < 0 ? rc : LM_FAIL(st->err, LM_EARG, "residual callback returned %d", rc);
        return GSL_EBADFUNC;
    }
    for (size_t i = 0; i < st->n; i++)
        if (!isfinite(r[i])) {
            st->rc = LM_FAIL(st->err, LM_ERANGE, "residual %zu is %g (evaluation %ld)", i, r[i],
                             st->evals);
            return GSL_EBADFUNC;
        }
    memcpy(st->last_phi, phi, st->p * sizeof *phi);
    memcpy(st->last_r, r, st->n * sizeof *r);
    st->have_last = 1;
    return GSL_SUCCESS;
}

static void vector_in(const gsl_vector *x, double *out, size_t n) {
    for (size_t j = 0; j < n; j++)
        out[j] = gsl_vector_get(x, j);
}

static int gsl_f(const gsl_vector *x, void *params, gsl_vector *fx) {
    fit_state *st = params;
    vector_in(x, st->phi, st->p);
    int rc = evaluate(st, st->phi, st->probe);
    if (rc)
        return rc;
    for (size_t i = 0; i < st->n; i++)
        gsl_vector_set(fx, i, st->probe[i]);
    return GSL_SUCCESS;
}

/* The forward differences at phi into st->D and st->dtheta (st->jac_phi =
 * phi); the base residuals from the last evaluation when it was at phi. */
static int jacobian(fit_state *st, const double *phi) {
    const size_t n = st->n, p = st->p;
    if (st->have_last && memcmp(st->last_phi, phi, p * sizeof *phi) == 0) {
        memcpy(st->r0, st->last_r, n * sizeof *st->r0);
    } else {
        int rc = evaluate(st, phi, st->r0);
        if (rc)
            return rc;
    }
    memcpy(st->jac_phi, phi, p * sizeof *phi); /* phi may be st->phi: copy it first */
    for (size_t j = 0; j < p; j++) {
        memcpy(st->phi, st->jac_phi, p * sizeof *st->phi);
        st->phi[j] += st->step;
        int rc = evaluate(st, st->phi, st->probe);
        if (rc)
            return rc;
        st->dtheta[j] = theta_of(&st->par[j], st->phi[j]) - theta_of(&st->par[j], st->jac_phi[j]);
        for (size_t i = 0; i < n; i++)
            st->D[i * p + j] = st->probe[i] - st->r0[i];
    }
    st->have_jac = 1;
    return GSL_SUCCESS;
}

static int gsl_df(const gsl_vector *x, void *params, gsl_matrix *J) {
    fit_state *st = params;
    vector_in(x, st->phi, st->p);
    int rc = jacobian(st, st->phi);
    if (rc)
        return rc;
    for (size_t i = 0; i < st->n; i++)
        for (size_t j = 0; j < st->p; j++)
            gsl_matrix_set(J, i, j, st->D[i * st->p + j] / st->step);
    return GSL_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Standard errors                                                           */

/* cov = (J'J)^-1 of J_theta = D / dtheta (n x p), by the SVD of J with
 * unit-length columns: J = Js S, S = diag(column norms), Js = U W V', so
 * (J'J)^-1 = S^-1 V W^-2 V' S^-1. Columns of norm 0 (no effect) are left
 * out. Fills res->cov, se, cond, flags. Returns LM_OK or LM_ENOMEM. */
static int covariance(const fit_state *st, lm_calib_result *res, lm_error *err) {
    const size_t n = st->n, p = st->p;
    size_t *act = lm__calloc(p, sizeof *act);
    double *norm = lm__calloc(p, sizeof *norm);
    size_t m = 0;
    int rc = LM_OK;
    for (size_t k = 0; k < p * p; k++)
        res->cov[k] = (double)NAN;
    for (size_t j = 0; j < p; j++)
        res->se[j] = (double)NAN;
    res->cond = (double)INFINITY;
    if (!act || !norm) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < p; j++) {
        double s = 0.0;
        if (st->dtheta[j] != 0.0)
            for (size_t i = 0; i < n; i++) {
                double v = st->D[i * p + j] / st->dtheta[j];
                s += v * v;
            }
        if (s > 0.0 && isfinite(s)) {
            norm[j] = sqrt(s);
            act[m++] = j;
        } else {
            res->flags[j] |= LM_CALIB_NO_EFFECT;
        }
    }
    if (m == 0)
        goto done;
    gsl_matrix *A = gsl_matrix_alloc(n, m), *V = gsl_matrix_alloc(m, m);
    gsl_vector *S = gsl_vector_alloc(m), *work = gsl_vector_alloc(m);
    if (!A || !V || !S || !work) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
    } else {
        for (size_t i = 0; i < n; i++)
            for (size_t a = 0; a < m; a++) {
                size_t j = act[a];
                gsl_matrix_set(A, i, a, st->D[i * p + j] / st->dtheta[j] / norm[j]);
            }
        gsl_linalg_SV_decomp(A, V, S, work); /* singular values descending */
        const double smax = gsl_vector_get(S, 0), smin = gsl_vector_get(S, m - 1);
        if (smin > LM_CALIB_SINGULAR_RTOL * smax) {
            res->cond = (smax / smin) * (smax / smin);
            for (size_t a = 0; a < m; a++)
                for (size_t b = 0; b < m; b++) {
                    double c = 0.0;
                    for (size_t k = 0; k < m; k++) {
                        double w = gsl_vector_get(S, k);
                        c += gsl_matrix_get(V, a, k) * gsl_matrix_get(V, b, k) / (w * w);
                    }
                    res->cov[act[a] * p + act[b]] = c / (norm[act[a]] * norm[act[b]]);
                }
            for (size_t a = 0; a < m; a++)
                res->se[act[a]] = sqrt(res->cov[act[a] * p + act[a]]);
        }
    }
    gsl_matrix_free(A);
    gsl_matrix_free(V);
    gsl_vector_free(S);
    gsl_vector_free(work);
done:
    res->ill_conditioned = !(res->cond <= LM_CALIB_COND_WARN);
    lm__free(act);
    lm__free(norm);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The fit                                                                   */

void lm_calib_result_destroy(lm_calib_result *res) {
    if (!res)
        return;
    lm__free(res->theta);
    lm__free(res->resid);
    lm__free(res->se);
    lm__free(res->cov);
    lm__free(res->flags);
    lm__free(res);
}

static lm_calib_result *result_alloc(size_t p, size_t n) {
    lm_calib_result *r = lm__calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->n_params = p;
    r->n_resid = n;
    r->theta = lm__calloc(p, sizeof *r->theta);
    r->resid = lm__calloc(n, sizeof *r->resid);
    r->se = lm__calloc(p, sizeof *r->se);
    r->cov = lm__calloc(p * p, sizeof *r->cov);
    r->flags = lm__calloc(p, sizeof *r->flags);
    if (!r->theta || !r->resid || !r->se || !r->cov || !r->flags) {
        lm_calib_result_destroy(r);
        return NULL;
    }
    return r;
}

/* Name of parameter j for messages. */
static const char *pname(const lm_calib_param *q, size_t j, char *buf, size_t n) {
    if (q->path)
        snprintf(buf, n, "%s", q->path);
    else
        snprintf(buf, n, "parameter %zu", j);
    return buf;
}

static int check_inputs(const lm_calib_param *par, size_t p, size_t n, lm_calib_resid_fn f,
                        const lm_calib_options *o, lm_error *err) {
    char nm[256];
    if (p == 0 || !par || !f)
        return LM_FAIL(err, LM_EARG, "nothing to fit: no free parameters or no residuals");
    if (n < p)
        return LM_FAIL(err, LM_EARG,
                       "%zu residuals cannot identify %zu parameters (need at least as many "
                       "targets as free parameters)",
                       n, p);
    for (size_t j = 0; j < p; j++) {
        const lm_calib_param *q = &par[j];
        pname(q, j, nm, sizeof nm);
        if (!isfinite(q->lo) || !isfinite(q->hi) || !isfinite(q->start))
            return LM_FAIL(err, LM_EARG, "%s: bounds [%g, %g] and start %g must be finite numbers",
                           nm, q->lo, q->hi, q->start);
        if (!(q->lo < q->hi))
            return LM_FAIL(err, LM_EARG, "%s: lower bound %g is not below upper bound %g", nm,
                           q->lo, q->hi);
        if (q->start < q->lo || q->start > q->hi)
            return LM_FAIL(err, LM_EARG, "%s: start %.17g is outside the bounds [%g, %g]", nm,
                           q->start, q->lo, q->hi);
    }
    if (o && (o->max_iter < 0 || !(o->step >= 0.0) || !(o->xtol >= 0.0) || !(o->gtol >= 0.0) ||
              !(o->ftol >= 0.0) || !isfinite(o->step)))
        return LM_FAIL(err, LM_EARG, "max_iter, step and tolerances must be >= 0 (0: default)");
    return LM_OK;
}

int lm_calib_fit(const lm_calib_param *params, size_t p, size_t n, lm_calib_resid_fn f, void *user,
                 const lm_calib_options *opt, lm_calib_result **out, lm_error *err) {
    int rc;
    *out = NULL;
    if ((rc = check_inputs(params, p, n, f, opt, err)))
        return rc;
    lm_calib_options o = {0};
    if (opt)
        o = *opt;
    const int max_iter = o.max_iter > 0 ? o.max_iter : LM_CALIB_DEFAULT_MAX_ITER;
    const double xtol = o.xtol > 0.0 ? o.xtol : LM_CALIB_DEFAULT_XTOL;
    const double gtol = o.gtol > 0.0 ? o.gtol : LM_CALIB_DEFAULT_GTOL;
    const double ftol = o.ftol > 0.0 ? o.ftol : LM_CALIB_DEFAULT_FTOL;

    fit_state st = {0};
    st.par = params;
    st.p = p;
    st.n = n;
    st.f = f;
    st.user = user;
    st.step = o.step > 0.0 ? o.step : LM_CALIB_DEFAULT_STEP;
    st.err = err;
    st.theta = lm__calloc(p, sizeof(double));
    st.phi = lm__calloc(p, sizeof(double));
    st.last_phi = lm__calloc(p, sizeof(double));
    st.jac_phi = lm__calloc(p, sizeof(double));
    st.dtheta = lm__calloc(p, sizeof(double));
    st.last_r = lm__calloc(n, sizeof(double));
    st.r0 = lm__calloc(n, sizeof(double));
    st.probe = lm__calloc(n, sizeof(double));
    st.D = lm__calloc(n * p, sizeof(double));
    lm_calib_result *res = result_alloc(p, n);
    gsl_vector *x0 = gsl_vector_alloc(p);
    gsl_multifit_nlinear_workspace *w = NULL;
    if (!st.theta || !st.phi || !st.last_phi || !st.jac_phi || !st.dtheta || !st.last_r || !st.r0 ||
        !st.probe || !st.D || !res || !x0) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    /* Start: a value at a bound moves LM_CALIB_BOUND_FRACTION of the range
     * inside, where the transformation can reach it and move it. */
    for (size_t j = 0; j < p; j++) {
        const lm_calib_param *q = &params[j];
        const double inset = LM_CALIB_BOUND_FRACTION * (q->hi - q->lo);
        double t = q->start;
        t = t < q->lo + inset ? q->lo + inset : t > q->hi - inset ? q->hi - inset : t;
        gsl_vector_set(x0, j, phi_of(q, t));
    }
    gsl_multifit_nlinear_parameters gp = gsl_multifit_nlinear_default_parameters();
    gp.trs = gsl_multifit_nlinear_trs_lm;
    gp.scale = gsl_multifit_nlinear_scale_more;
    gp.solver = gsl_multifit_nlinear_solver_qr;
    w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &gp, n, p);
    if (!w) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory allocating the solver");
        goto done;
    }
    gsl_multifit_nlinear_fdf fdf;
    memset(&fdf, 0, sizeof fdf);
    fdf.f = gsl_f;
    fdf.df = gsl_df;
    fdf.fvv = NULL;
    fdf.n = n;
    fdf.p = p;
    fdf.params = &st;
    int status = gsl_multifit_nlinear_init(x0, &fdf, w);
    if (status) {
        rc = st.rc ? st.rc : LM_FAIL(err, LM_EARG, "solver start failed: %s", gsl_strerror(status));
        goto done;
    }
    double cost;
    gsl_blas_ddot(gsl_multifit_nlinear_residual(w), gsl_multifit_nlinear_residual(w), &cost);
    res->cost_start = cost;
    res->stop = LM_CALIB_STOP_MAX_ITER;
    int iter = 0, stopped = 0;
    for (;;) {
        vector_in(gsl_multifit_nlinear_position(w), st.phi, p);
        for (size_t j = 0; j < p; j++)
            res->theta[j] = theta_of(&params[j], st.phi[j]);
        if (o.progress && o.progress(o.progress_user, iter, st.evals, cost, res->theta)) {
            rc = LM_FAIL(err, LM_EINTERRUPTED, "calibration stopped at iteration %d", iter);
            goto done;
        }
        if (stopped || iter >= max_iter)
            break;
        status = gsl_multifit_nlinear_iterate(w);
        if (status == GSL_ENOPROG || status == GSL_ENOPROGJ) {
            /* No step accepted: GSL's point is unchanged (and was reported). */
            res->stop = LM_CALIB_STOP_NO_PROGRESS;
            break;
        }
        if (status) {
            rc = st.rc ? st.rc
                       : LM_FAIL(err, LM_EARG, "iteration %d failed: %s", iter + 1,
                                 gsl_strerror(status));
            goto done;
        }
        iter++;
        double prev = cost;
        gsl_blas_ddot(gsl_multifit_nlinear_residual(w), gsl_multifit_nlinear_residual(w), &cost);
        int info = 0;
        stopped = 1;
        if (gsl_multifit_nlinear_test(xtol, gtol, ftol, &info, w) == GSL_SUCCESS)
            res->stop = info == 1 ? LM_CALIB_STOP_XTOL : LM_CALIB_STOP_GTOL;
        else if (prev - cost <= ftol * prev) /* GSL 2.x leaves its ftol test out */
            res->stop = LM_CALIB_STOP_FTOL;
        else
            stopped = 0;
    }
    res->iterations = iter;
    res->converged = res->stop != LM_CALIB_STOP_MAX_ITER;
    res->cost = cost;
    res->evaluations = st.evals;
    vector_in(gsl_multifit_nlinear_residual(w), res->resid, n);
    /* The Jacobian at the best point: GSL's last one is there (it takes one
     * after each accepted step); otherwise take it now. */
    vector_in(gsl_multifit_nlinear_position(w), st.phi, p);
    if (!st.have_jac || memcmp(st.jac_phi, st.phi, p * sizeof *st.phi) != 0) {
        memcpy(st.last_phi, st.phi, p * sizeof *st.phi); /* r there is GSL's residual */
        memcpy(st.last_r, res->resid, n * sizeof *res->resid);
        st.have_last = 1;
        if (jacobian(&st, st.phi)) {
            rc = st.rc;
            goto done;
        }
    }
    res->evaluations = st.evals;
    for (size_t j = 0; j < p; j++) {
        const lm_calib_param *q = &params[j];
        const double near = LM_CALIB_BOUND_FRACTION * (q->hi - q->lo);
        res->flags[j] = (res->theta[j] - q->lo < near ? LM_CALIB_AT_LOWER : 0u) |
                        (q->hi - res->theta[j] < near ? LM_CALIB_AT_UPPER : 0u);
    }
    if ((rc = covariance(&st, res, err)))
        goto done;
    *out = res;
    res = NULL;
    rc = LM_OK;
done:
    if (w)
        gsl_multifit_nlinear_free(w);
    gsl_vector_free(x0);
    lm_calib_result_destroy(res);
    lm__free(st.theta);
    lm__free(st.phi);
    lm__free(st.last_phi);
    lm__free(st.jac_phi);
    lm__free(st.dtheta);
    lm__free(st.last_r);
    lm__free(st.r0);
    lm__free(st.probe);
    lm__free(st.D);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The fitted scenario and its uncertainty file                              */

/* v with %.17g (round-trips), with a decimal point so that libconfig reads
 * a float (sweep.uncertain needs floats). */
static void fmt_num(double v, char *buf, size_t n) {
    snprintf(buf, n, "%.17g", v);
    if (!strpbrk(buf, ".eEni") && strlen(buf) + 2 < n)
        strcat(buf, ".0");
}

int lm_calib_uncertain_path(const char *out_path, char *buf, size_t n) {
    size_t len = strlen(out_path);
    const char *ext = ".cfg";
    size_t stem = len >= 4 && strcmp(out_path + len - 4, ext) == 0 ? len - 4 : len;
    int w = snprintf(buf, n, "%.*s.uncertain.cfg", (int)stem, out_path);
    return w < 0 || (size_t)w >= n ? LM_EARG : LM_OK;
}

/* Path of file `to` (absolute, resolved) relative to folder `from_dir`
 * (absolute, resolved), e.g. "../scenarios/wales.cfg". */
static int relative_path(const char *from_dir, const char *to, char *out, size_t n) {
    /* Longest common prefix ending at a component boundary. */
    size_t common = 0;
    for (size_t k = 0; from_dir[k] && to[k] && from_dir[k] == to[k]; k++)
        if (from_dir[k] == '/')
            common = k + 1;
    size_t fl = strlen(from_dir);
    if (strncmp(from_dir, to, fl) == 0 && (to[fl] == '/' || fl == 1))
        common = fl == 1 ? 1 : fl + 1; /* to lies inside from_dir ("/" is 1 long) */
    size_t len = 0;
    out[0] = '\0';
    /* One ".." per component of from_dir after the common prefix. */
    for (size_t k = common; k < fl; k++) {
        if (k == common || from_dir[k - 1] == '/') {
            int w = snprintf(out + len, n - len, "../");
            if (w < 0 || (size_t)w >= n - len)
                return LM_EARG;
            len += (size_t)w;
        }
    }
    int w = snprintf(out + len, n - len, "%s", to + common);
    return w < 0 || (size_t)w >= n - len ? LM_EARG : LM_OK;
}

/* The folder of path, resolved (realpath) into out. */
static int resolved_dir(const char *path, char *out, lm_error *err) {
    char dir[LM_CALIB_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (!realpath(dir, out))
        return LM_FAIL(err, LM_EIO, "%s: cannot resolve the folder '%s': %s", path, dir,
                       strerror(errno));
    return LM_OK;
}

/* A string in libconfig's double quotes. */
static void put_quoted(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static const char *stop_text(const lm_calib_result *r) {
    switch (r->stop) {
    case LM_CALIB_STOP_XTOL:
        return "converged: the step became small";
    case LM_CALIB_STOP_GTOL:
        return "converged: the gradient became small";
    case LM_CALIB_STOP_FTOL:
        return "converged: the last step hardly lowered the cost";
    case LM_CALIB_STOP_NO_PROGRESS:
        return "converged: no step lowered the cost further (a local minimum at the "
               "resolution of the simulation)";
    default:
        return "NOT CONVERGED: the best point found within the iteration limit";
    }
}

/* " AT BOUND (lower)" etc. for parameter j, or "". */
static const char *bound_text(unsigned flags) {
    if (flags & LM_CALIB_NO_EFFECT)
        return "  NO EFFECT: not identified by the targets";
    if (flags & LM_CALIB_AT_LOWER)
        return "  AT BOUND (lower): s.e. unreliable";
    if (flags & LM_CALIB_AT_UPPER)
        return "  AT BOUND (upper): s.e. unreliable";
    return "";
}

/* A comment line, "# " + text (a text with newlines gets one "# " per line). */
static void put_comment(FILE *f, const char *text) {
    fputs("# ", f);
    for (; *text; text++) {
        fputc(*text, f);
        if (*text == '\n' && text[1])
            fputs("# ", f);
    }
    fputc('\n', f);
}

static void write_fitted(FILE *f, const lm_calib_output *o, const char *base_rel,
                         const char *uncertain_name) {
    const lm_calib_result *r = o->result;
    char line[1024], v1[40];
    fputs("# Fitted by lmsim calibrate: simulated method of moments (docs/calibration.md,\n"
          "# \"Method: lmsim calibrate\"). Generated file: edit the base scenario instead.\n",
          f);
    if (o->command) {
        snprintf(line, sizeof line, "Command: %.900s", o->command);
        put_comment(f, line);
    }
    snprintf(line, sizeof line, "Result: %s; %d iterations, %ld evaluations.", stop_text(r),
             r->iterations, r->evaluations);
    put_comment(f, line);
    snprintf(line, sizeof line,
             "Cost (sum of squared (simulated - published) / tolerance over %zu tuned "
             "targets): %.6g at the start, %.6g fitted.",
             r->n_resid, r->cost_start, r->cost);
    put_comment(f, line);
    put_comment(f, "Standard errors: sqrt of the diagonal of (J'J)^-1 at the fitted point, J the "
                   "Jacobian\n"
                   "of the weighted residuals in the parameters: approximate, treating each "
                   "tolerance as\n"
                   "the standard deviation of its target and the model as correct.");
    if (r->ill_conditioned) {
        snprintf(line, sizeof line,
                 "WARNING: J'J is near-singular (condition number %.3g > %g): some parameters "
                 "move\n"
                 "the targets in nearly the same way; their standard errors mean little.",
                 r->cond, LM_CALIB_COND_WARN);
        put_comment(f, line);
    }
    snprintf(line, sizeof line, "Parameter uncertainty for sweeps: %s", uncertain_name);
    put_comment(f, line);
    if (o->n_notes) {
        fputs("#\n", f);
        for (size_t k = 0; k < o->n_notes; k++)
            put_comment(f, o->notes[k]);
    }
    fputs("\nbase = ", f);
    put_quoted(f, base_rel);
    fputs(";\n", f);
    if (o->scenario_name) {
        snprintf(line, sizeof line, "%.100s_fitted", o->scenario_name);
        fputs("name = ", f);
        put_quoted(f, line);
        fputs(";\n", f);
    }
    fputs("set = (\n", f);
    for (size_t j = 0; j < o->n_params; j++) {
        const lm_calib_param *q = &o->params[j];
        fmt_num(r->theta[j], v1, sizeof v1);
        snprintf(line, sizeof line, "%s=%s", q->path ? q->path : "?", v1);
        fputs("  ", f);
        put_quoted(f, line);
        fprintf(f, "%s  # %.6g -> %.6g, s.e. ", j + 1 < o->n_params ? "," : "", q->start,
                r->theta[j]);
        if (isfinite(r->se[j]))
            fprintf(f, "%.3g", r->se[j]);
        else
            fputs("n/a", f);
        fprintf(f, ", bounds [%g, %g]%s\n", q->lo, q->hi, bound_text(r->flags[j]));
    }
    fputs(");\n", f);
}

static void write_uncertain(FILE *f, const lm_calib_output *o, const char *fitted_name,
                            const char *own_name) {
    const lm_calib_result *r = o->result;
    char m[40], s[40];
    fprintf(f,
            "# Parameter uncertainty of %s (lmsim calibrate): for each fitted parameter a\n"
            "# normal distribution with the fitted value as mean and its approximate standard\n"
            "# error as s.d. The draws ignore the bounds and the correlations between the\n"
            "# parameters (docs/calibration.md). Include it inside a sweep file's group:\n"
            "#   sweep = { base = \"%s\"; ...\n"
            "#             @include \"%s\" };\n"
            "# (@include paths in a sweep file are relative to the working folder.)\n",
            fitted_name, fitted_name, own_name);
    fputs("uncertain = (\n", f);
    size_t written = 0, usable = 0;
    for (size_t j = 0; j < o->n_params; j++)
        usable += isfinite(r->se[j]) && r->se[j] > 0.0;
    for (size_t j = 0; j < o->n_params; j++) {
        const lm_calib_param *q = &o->params[j];
        if (!(isfinite(r->se[j]) && r->se[j] > 0.0)) {
            fprintf(f, "  # %s: no standard error (not identified), left out\n",
                    q->path ? q->path : "?");
            continue;
        }
        fmt_num(r->theta[j], m, sizeof m);
        fmt_num(r->se[j], s, sizeof s);
        fputs("  { path = ", f);
        put_quoted(f, q->path ? q->path : "?");
        written++;
        fprintf(f, "; dist = \"normal\"; mean = %s; sd = %s; }%s%s%s\n", m, s,
                written < usable ? "," : "", r->flags[j] ? "  #" : "", bound_text(r->flags[j]));
    }
    fputs(");\n", f);
}

/* Write the fitted (or uncertainty) file to tmp, a name ending in 8 Xs that
 * is made unique and created exclusively here (lm_tmp_create); LM_OK or
 * LM_EIO (nothing left). */
static int write_tmp(char *tmp, const lm_calib_output *o, const char *arg1, const char *arg2,
                     int fitted, lm_error *err) {
    int fd = -1;
    if (lm_tmp_create(tmp, &fd) != 0)
        return LM_FAIL(err, LM_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        remove(tmp);
        return LM_FAIL(err, LM_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    }
    if (fitted)
        write_fitted(f, o, arg1, arg2);
    else
        write_uncertain(f, o, arg1, arg2);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return LM_FAIL(err, LM_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    }
    return LM_OK;
}

/* Path buffers of lm_calib_write (too large for the stack together). */
typedef struct write_paths {
    char scen_abs[LM_CALIB_PATH_MAX]; /* the scenario, resolved */
    char out_dir[LM_CALIB_PATH_MAX];  /* the output's folder, resolved */
    char rel[LM_CALIB_PATH_MAX];      /* the scenario relative to out_dir */
    char unc[LM_CALIB_PATH_MAX];      /* the uncertainty file */
    char tmp_fit[LM_CALIB_PATH_MAX];  /* temporary names */
    char tmp_unc[LM_CALIB_PATH_MAX];
} write_paths;

int lm_calib_write(const char *out_path, const lm_calib_output *o, lm_error *err) {
    write_paths *wp = lm__malloc(sizeof *wp);
    if (!wp)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    char *scen_abs = wp->scen_abs, *out_dir = wp->out_dir, *rel = wp->rel, *unc = wp->unc;
    char *tmp_fit = wp->tmp_fit, *tmp_unc = wp->tmp_unc;
    int rc = LM_OK, have_fit = 0, have_unc = 0;
    if (!o || !o->result || !o->params || o->n_params != o->result->n_params || !o->scenario_path) {
        rc = LM_FAIL(err, LM_EARG, "nothing to write: no result, parameters or scenario");
        goto done;
    }
    if (!realpath(o->scenario_path, scen_abs)) {
        rc = LM_FAIL(err, LM_EARG, "%s: cannot resolve the scenario path: %s", o->scenario_path,
                     strerror(errno));
        goto done;
    }
    if ((rc = resolved_dir(out_path, out_dir, err)))
        goto done;
    if (relative_path(out_dir, scen_abs, rel, LM_CALIB_PATH_MAX) ||
        lm_calib_uncertain_path(out_path, unc, LM_CALIB_PATH_MAX) ||
        snprintf(tmp_fit, LM_CALIB_PATH_MAX, "%s.tmp.XXXXXXXX", out_path) >= LM_CALIB_PATH_MAX ||
        snprintf(tmp_unc, LM_CALIB_PATH_MAX, "%s.tmp.XXXXXXXX", unc) >= LM_CALIB_PATH_MAX) {
        rc = LM_FAIL(err, LM_EARG, "%s: path too long", out_path);
        goto done;
    }
    const char *fit_name = strrchr(out_path, '/') ? strrchr(out_path, '/') + 1 : out_path;
    const char *unc_name = strrchr(unc, '/') ? strrchr(unc, '/') + 1 : unc;
    if ((rc = write_tmp(tmp_fit, o, rel, unc_name, 1, err)))
        goto done;
    have_fit = 1;
    if ((rc = write_tmp(tmp_unc, o, fit_name, unc_name, 0, err)))
        goto done;
    have_unc = 1;
    /* Both complete: the uncertainty file first, so that a fitted file
     * never names one that is missing. */
    if (rename(tmp_unc, unc) != 0) {
        rc = LM_FAIL(err, LM_EIO, "cannot rename '%s' to '%s': %s", tmp_unc, unc, strerror(errno));
        goto done;
    }
    have_unc = 0;
    if (rename(tmp_fit, out_path) != 0) {
        rc = LM_FAIL(err, LM_EIO, "cannot rename '%s' to '%s': %s", tmp_fit, out_path,
                     strerror(errno));
        remove(unc);
        goto done;
    }
    have_fit = 0;
done:
    if (have_fit)
        remove(tmp_fit);
    if (have_unc)
        remove(tmp_unc);
    lm__free(wp);
    return rc;
}
