/* lmsim/calibrate.h - bounded nonlinear least squares for calibration.
 *
 * lm_calib_fit() minimises the sum of squared residuals r(theta) over p
 * bounded parameters: simulated method of moments when r_i is (simulated -
 * published) / tolerance of target i, as `lmsim calibrate` builds it. The
 * residuals come from a callback, so this layer knows nothing of targets or
 * runs. Method (docs/calibration.md, "Method: lmsim calibrate"):
 *
 *   - bounds by transformation: theta = lo + (hi - lo) / (1 + exp(-phi)),
 *     phi unbounded;
 *   - GSL's gsl_multifit_nlinear trust region with Levenberg-Marquardt steps;
 *   - a forward-difference Jacobian in phi with a large step (default
 *     LM_CALIB_DEFAULT_STEP): a simulated objective is piecewise constant at
 *     small scales even under common random numbers, so GSL's own step
 *     (sqrt(machine epsilon)) would see slopes of zero;
 *   - at the optimum, approximate standard errors from cov = (J'J)^-1, J the
 *     Jacobian of the residuals in theta (chain rule through the secant of
 *     theta over the step in phi), with flags for parameters at a bound,
 *     without effect, and a warning for a near-singular J'J.
 *
 * Deterministic: the same inputs give the same result bit for bit (no clock,
 * no threads here). GSL's error handler should be off in the program
 * (gsl_set_error_handler_off(), as the lmsim CLI does): GSL's default handler
 * aborts on internal errors such as a failed allocation.
 */
#ifndef LMSIM_CALIBRATE_H
#define LMSIM_CALIBRATE_H

#include <stddef.h>

#include "lmsim/error.h"
#include "lmsim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of lm_calib_options (a zero field takes its default). */
#define LM_CALIB_DEFAULT_MAX_ITER 50 /* accepted steps */
#define LM_CALIB_DEFAULT_STEP 0.05   /* forward-difference step in phi (the logit scale) */
#define LM_CALIB_DEFAULT_XTOL 1e-4   /* stop when every |dphi_j| <= xtol (|phi_j| + xtol) */
#define LM_CALIB_DEFAULT_GTOL                                                                      \
    1e-6                           /* stop when max_j |max(phi_j, 1) g_j| <= gtol max(cost/2, 1)   \
                                    */
#define LM_CALIB_DEFAULT_FTOL 1e-6 /* stop when a step lowers the cost by <= ftol * cost */
/* A parameter closer than this fraction of its range to a bound is "at the
 * bound": its standard error is unreliable there. A start exactly at a bound
 * is moved this far inside (the transformation cannot reach the bound). */
#define LM_CALIB_BOUND_FRACTION 0.01
/* J'J (columns scaled to unit length) is reported near-singular above this
 * condition number: standard errors then come from a nearly flat direction
 * and mean little (about four significant digits of J are lost). */
#define LM_CALIB_COND_WARN 1e8

/* One free parameter. */
typedef struct lm_calib_param {
    const char *path; /* scenario setting path (--set syntax), for messages and output; may be
                         NULL for a plain problem */
    double lo, hi;    /* bounds, lo < hi, finite */
    double start;     /* starting value (the value before the fit), in [lo, hi] */
} lm_calib_param;

/* Residuals at theta[0..p) into resid[0..n). Return LM_OK, or a negative
 * LM_E* code with err filled (the fit stops and returns that error). Every
 * residual must be finite. */
typedef int (*lm_calib_resid_fn)(void *user, const double *theta, double *resid, lm_error *err);

/* Called after the start point is evaluated (iteration 0) and after every
 * iteration with the best point so far: evaluations counts residual calls
 * (including the Jacobian's), cost is the sum of squared residuals at theta.
 * Return non-zero to stop the fit (it then returns LM_EINTERRUPTED). */
typedef int (*lm_calib_progress_fn)(void *user, int iteration, long evaluations, double cost,
                                    const double *theta);

typedef struct lm_calib_options {
    int max_iter;                  /* iterations (accepted steps); 0: LM_CALIB_DEFAULT_MAX_ITER */
    double step;                   /* Jacobian step in phi; 0: LM_CALIB_DEFAULT_STEP */
    double xtol, gtol, ftol;       /* stopping tolerances; 0: the defaults above */
    lm_calib_progress_fn progress; /* may be NULL */
    void *progress_user;
} lm_calib_options;

/* Why the fit stopped. */
typedef enum lm_calib_stop {
    LM_CALIB_STOP_XTOL = 1,        /* the step in phi became small */
    LM_CALIB_STOP_GTOL = 2,        /* the gradient became small */
    LM_CALIB_STOP_FTOL = 3,        /* the last step hardly lowered the cost */
    LM_CALIB_STOP_NO_PROGRESS = 4, /* no step in the trust region lowered the cost: a local
                                      minimum at the resolution of the objective */
    LM_CALIB_STOP_MAX_ITER = 5     /* max_iter reached: not converged */
} lm_calib_stop;

/* Flags of a fitted parameter. */
#define LM_CALIB_AT_LOWER 0x1u  /* within LM_CALIB_BOUND_FRACTION of the range of lo */
#define LM_CALIB_AT_UPPER 0x2u  /* within LM_CALIB_BOUND_FRACTION of the range of hi */
#define LM_CALIB_NO_EFFECT 0x4u /* no residual moved over the Jacobian step: not identified */

typedef struct lm_calib_result {
    size_t n_params, n_resid;
    int converged;       /* 1: a stopping test was met (stop < LM_CALIB_STOP_MAX_ITER);
                            0: not converged, theta is the best point found */
    lm_calib_stop stop;  /* why it stopped */
    int iterations;      /* iterations done */
    long evaluations;    /* residual evaluations, the Jacobian's included */
    double cost_start;   /* sum of squared residuals at the start */
    double cost;         /* ... at theta (the lowest of the accepted points) */
    double *theta;       /* [n_params] best point */
    double *resid;       /* [n_resid] residuals at theta */
    double *se;          /* [n_params] approximate standard errors; NaN when not identified */
    double *cov;         /* [n_params * n_params] covariance of theta, row-major; NaN rows and
                            columns for parameters without effect, all NaN when J'J is singular */
    unsigned *flags;     /* [n_params] LM_CALIB_AT_LOWER | LM_CALIB_AT_UPPER | LM_CALIB_NO_EFFECT */
    double cond;         /* condition number of J'J with unit-length columns (of the parameters
                            with an effect); infinite when singular */
    int ill_conditioned; /* cond > LM_CALIB_COND_WARN */
} lm_calib_result;

/* Fit p parameters to n >= p residuals. On LM_OK *out owns the result (free
 * with lm_calib_result_destroy), converged or not: not converging is a
 * result (converged = 0, stop = LM_CALIB_STOP_MAX_ITER), not an error.
 * Errors: LM_EARG (p = 0, n < p, a bound or start not finite, lo >= hi, a
 * start outside [lo, hi], a step or tolerance < 0), LM_ERANGE (a residual
 * not finite), LM_EINTERRUPTED (the progress callback asked to stop),
 * LM_ENOMEM, or the residual callback's own error. opt may be NULL. */
int lm_calib_fit(const lm_calib_param *params, size_t p, size_t n, lm_calib_resid_fn f, void *user,
                 const lm_calib_options *opt, lm_calib_result **out, lm_error *err);

/* Free a result; NULL is a no-op. */
void lm_calib_result_destroy(lm_calib_result *res);

/* What lm_calib_write() writes. */
typedef struct lm_calib_output {
    const char *scenario_path;    /* the scenario fitted: the fitted file's base */
    const char *scenario_name;    /* its name: the fitted one is NAME_fitted (NULL: inherited) */
    const char *command;          /* the command line, for the header (no date: same inputs,
                                     same file) */
    const lm_calib_param *params; /* [n_params] with their start (before) values */
    size_t n_params;
    const lm_calib_result *result;
    const char *const *notes; /* [n_notes] comment lines for the header, e.g. the before/after
                                 table of every target; may be NULL */
    size_t n_notes;
} lm_calib_output;

/* Write the fitted scenario to out_path: a header of comments (command,
 * convergence, cost, warnings, notes), `base = "<scenario relative to
 * out_path's folder>";` and `set = ( "path=value", ... );` with a comment
 * beside each value (before -> after, s.e., bounds, AT BOUND); values with
 * %.17g (they round-trip). Beside it, the uncertainty file
 * (lm_calib_uncertain_path): `uncertain = ( { path; dist = "normal"; mean;
 * sd; }, ... );` for @include inside a sweep's `sweep = { ... };`.
 * Both are written under temporary names and renamed when complete: on
 * error neither file is left. Errors: LM_EIO, LM_EARG (out_path's folder or
 * the scenario cannot be resolved), LM_ENOMEM. */
int lm_calib_write(const char *out_path, const lm_calib_output *o, lm_error *err);

/* Name of the uncertainty file of out_path into buf: "X.cfg" ->
 * "X.uncertain.cfg" (a name without ".cfg" gets ".uncertain.cfg" added).
 * Returns LM_OK or LM_EARG when buf is too small. */
int lm_calib_uncertain_path(const char *out_path, char *buf, size_t n);

/* ------------------------------------------------------------------------ */
/* Calibration of a scenario to targets (engine/calibrate_targets.c; built
 * with the targets and moments of lmsim/targets.h and lmsim/moments.h). */

struct lm_targets; /* lmsim/targets.h */

#define LM_CALIB_MAX_FREE 32 /* free parameters at most (each costs a run per Jacobian) */

typedef struct lm_calibrate_job {
    const char *scenario_path;        /* the scenario file: the fitted file's base */
    const lm_scenario *sc;            /* loaded from it with the command-line overrides: every
                                         evaluation is sc->text with the parameters' overrides */
    const struct lm_targets *targets; /* checked against sc (lm_targets_check) */
    const lm_calib_param *params;     /* [n_params]: path, bounds, start = value in sc */
    size_t n_params;
    int threads;          /* engine threads (<= 0: OpenMP's default) */
    lm_calib_options fit; /* iterations, Jacobian step, tolerances, progress */
    const char *command;  /* the command line, for the fitted file's header */
    const char *out_path; /* the fitted scenario to write (and its .uncertain.cfg) */
} lm_calibrate_job;

/* What lm_calibrate() found. */
typedef struct lm_calib_report {
    lm_calib_result *fit; /* the fit (owned) */
    char **lines;         /* [n_lines] the before/after table of every target (tuned and
                             validation), as written in the fitted file's header (owned) */
    size_t n_lines;
    size_t n_tuned; /* targets fitted (residuals) */
} lm_calib_report;

/* Fit the free parameters of job->sc to the tuned targets (residuals
 * (simulated - value) / tolerance; validation targets are reported, never
 * fitted) and write job->out_path with its uncertainty file
 * (lm_calib_write) - also when the fit did not converge (report->fit->
 * converged = 0; the header says NOT CONVERGED). Each evaluation re-derives
 * the scenario of every run variant of the targets (variant v > 0 with
 * evaluation.trial) from sc->text with the parameter overrides, resets that
 * variant's engine (created once, lm_sim_reset) and its moments, and steps
 * every month observing; the same seed every time (common random numbers).
 * On LM_OK *report is owned by the caller (lm_calib_report_destroy). Errors:
 * LM_EARG (fewer tuned targets than parameters, a parameter setting the
 * scenario rejects), LM_ECONFIG (targets do not fit the scenario), LM_ERANGE
 * (a tuned target cannot be computed), those of lm_calib_fit and of the
 * engine; on error no file is written. */
int lm_calibrate(const lm_calibrate_job *job, lm_calib_report **report, lm_error *err);

/* Free a report; NULL is a no-op. */
void lm_calib_report_destroy(lm_calib_report *report);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_CALIBRATE_H */
