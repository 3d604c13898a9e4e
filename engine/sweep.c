/* sweep.c - scenario sweeps: points x replicates, resume, index file.
 *
 * A sweep is a list of tasks (point, replicate). Each task is an ordinary
 * run of the base scenario with the sweep's overrides, the point's overrides
 * and `simulation.seed` set to the replicate's seed, written to its own file
 * through lm_run() (so atomically: a file under its final name is a finished
 * task). The seed of replicate r is drawn from the counter-based stream
 * keyed by (sweep seed, r, LM_PURPOSE_SWEEP): it does not depend on the
 * point, which gives every point of a replicate the same random numbers
 * (common random numbers), and it does not depend on the order or place in
 * which tasks run, which makes `--task N`, resumed and complete sweeps give
 * identical files.
 *
 * Resume and provenance. A task is finished when a readable run file
 * exists under its name whose root attribute scenario_sha256 (the SHA-256
 * of its scenario_text, lmsim/hash.h) equals the SHA-256 of the task's
 * scenario as the sweep file now builds it (lm_sweep_task_hash): the base
 * after includes, the overrides, the seed and the uncertain draws, in
 * libconfig's normalised text. Any other file under the name (run with
 * other settings, or damaged since) is run again and replaced, with a
 * warning naming the settings that differ (a walk over both texts parsed
 * by libconfig); rerunning rather than refusing lets a resubmitted job
 * array redo exactly the changed tasks. The index OUT/sweep.h5 is written
 * only when every task is finished in this sense, records each task's hash
 * in /tidy and the sweep file itself in root attributes, and is removed
 * when a task is run again. lm_sweep_describe() formats an index for
 * `lmsim describe`, checking each task file against the index's hash.
 *
 * Sweep file (libconfig), group `sweep`:
 *   base = "FILE";          base scenario, relative to the sweep file
 *   output = "DIR";         output folder (relative to the working folder)
 *   replicates = R;  seed = S;
 *   set = [ "path=value", ... ];                      every task
 *   points = ( { name = "N"; set = [ ... ]; }, ... ); or
 *   grid = ( { path = "P"; values = [ v, ... ]; }, ... );  cartesian product
 */
#define _POSIX_C_SOURCE 200809L
#include "lmsim/sweep.h"

#include <errno.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <hdf5.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgutil.h"
#include "internal.h"
#include "lmsim/compare.h"
#include "lmsim/hash.h"
#include "lmsim/messages.h"
#include "lmsim/output.h"
#include "lmsim/rng.h"
#include "lmsim/scenario.h"
#include "lmsim/version.h"

#define SW_MAX_POINTS 512
#define SW_MAX_SETS 32
#define SW_SET_LEN 256

typedef struct sw_point {
    char name[64];
    char label[SW_SET_LEN]; /* the point's overrides joined by "; " */
    int n_sets;
    char sets[SW_MAX_SETS][SW_SET_LEN];
} sw_point;

/* A setting drawn per replicate from a distribution (parameter uncertainty). */
typedef enum { DIST_NORMAL, DIST_LOGNORMAL_CI, DIST_UNIFORM, DIST_BETA } sw_dist;
typedef struct sw_uncertain {
    char path[192];
    sw_dist dist;
    double p1, p2; /* normal: mean, sd; lognormal_ci: lo, hi (95 %); uniform: lo, hi; beta: a, b */
} sw_uncertain;

struct lm_sweep {
    char path[1024];    /* sweep file */
    char base[1024];    /* base scenario, resolved */
    char out_dir[1024]; /* output folder */
    uint64_t seed;
    int replicates;
    int n_common;
    char common[SW_MAX_SETS][SW_SET_LEN];
    int n_points;
    sw_point *points; /* [n_points] */
    int n_uncertain;
    sw_uncertain uncertain[SW_MAX_SETS];
    char *text;                   /* the sweep file as read (libconfig's normalised text) */
    char text_sha[LM_SHA256_HEX]; /* its SHA-256 */
};

static int fail_at(lm_error *err, const char *file, const config_setting_t *s, const char *what) {
    const char *sf = s ? config_setting_source_file(s) : NULL;
    return LM_FAIL_CFG(err, LM_ECONFIG, sf ? sf : file, s ? (int)config_setting_source_line(s) : 0,
                       "sweep: %s", what);
}

/* Read an array of "path=value" strings into out. */
static int read_sets(lm_error *err, const char *file, const config_setting_t *a,
                     char out[][SW_SET_LEN], int *n) {
    *n = 0;
    if (!a)
        return LM_OK;
    int t = config_setting_type(a);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail_at(err, file, a, "`set` must be an array of \"path=value\" strings");
    int len = config_setting_length(a);
    if (len > SW_MAX_SETS)
        return fail_at(err, file, a, "too many overrides (at most 32)");
    for (int k = 0; k < len; k++) {
        const config_setting_t *e = config_setting_get_elem(a, (unsigned)k);
        const char *v =
            config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
        if (!v || !strchr(v, '=') || strlen(v) >= SW_SET_LEN)
            return fail_at(err, file, e, "each override is a string \"path=value\"");
        snprintf(out[k], SW_SET_LEN, "%s", v);
    }
    *n = len;
    return LM_OK;
}

static void value_text(const config_setting_t *v, char *buf, size_t n) {
    buf[0] = '\0';
    switch (config_setting_type(v)) {
    case CONFIG_TYPE_INT:
        snprintf(buf, n, "%d", config_setting_get_int(v));
        break;
    case CONFIG_TYPE_INT64:
        snprintf(buf, n, "%lldL", config_setting_get_int64(v));
        break;
    case CONFIG_TYPE_FLOAT:
        snprintf(buf, n, "%.17g", config_setting_get_float(v));
        if (!strpbrk(buf, ".eEn"))
            strncat(buf, ".0", n - strlen(buf) - 1);
        break;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, n, "%s", config_setting_get_bool(v) ? "true" : "false");
        break;
    case CONFIG_TYPE_STRING:
        snprintf(buf, n, "\"%s\"", config_setting_get_string(v));
        break;
    default: { /* an array or list: [a, b, ...] */
        size_t len = 0;
        int m = config_setting_length(v);
        buf[0] = '\0';
        for (int k = 0; k <= m && len + 1 < n; k++) {
            char e[64] = "";
            if (k < m)
                value_text(config_setting_get_elem(v, (unsigned)k), e, sizeof e);
            int w = snprintf(buf + len, n - len, "%s%s%s", k == 0 ? "[" : "", k < m ? e : "]",
                             (k + 1 < m) ? ", " : "");
            if (w < 0)
                break;
            len += (size_t)w;
        }
        if (m == 0)
            snprintf(buf, n, "[]");
    }
    }
}

static void join_label(sw_point *pt) {
    size_t len = 0;
    pt->label[0] = '\0';
    for (int k = 0; k < pt->n_sets && len < sizeof pt->label; k++) {
        int w =
            snprintf(pt->label + len, sizeof pt->label - len, "%s%s", k ? "; " : "", pt->sets[k]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static int load_points(lm_sweep *sw, const config_setting_t *g, lm_error *err) {
    const config_setting_t *pts = config_setting_get_member(g, "points");
    const config_setting_t *grid = config_setting_get_member(g, "grid");
    if (!!pts == !!grid)
        return fail_at(err, sw->path, g, "give exactly one of `points` or `grid`");
    if (pts) {
        int n = config_setting_length(pts);
        if (config_setting_type(pts) != CONFIG_TYPE_LIST || n < 1 || n > SW_MAX_POINTS)
            return fail_at(err, sw->path, pts, "`points` must be a list of 1 to 512 groups");
        sw->points = lm__calloc((size_t)n, sizeof *sw->points);
        if (!sw->points)
            return LM_FAIL(err, LM_ENOMEM, "out of memory");
        for (int k = 0; k < n; k++) {
            const config_setting_t *e = config_setting_get_elem(pts, (unsigned)k);
            const char *name = NULL;
            if (config_setting_type(e) != CONFIG_TYPE_GROUP ||
                !config_setting_lookup_string(e, "name", &name) || !name[0] ||
                strlen(name) >= sizeof sw->points[k].name || strpbrk(name, "/ \t"))
                return fail_at(err, sw->path, e,
                               "each point is { name = \"N\"; set = [ ... ]; } with a name of "
                               "1-63 characters, no '/' or spaces");
            for (int q = 0; q < k; q++)
                if (strcmp(sw->points[q].name, name) == 0)
                    return fail_at(err, sw->path, e, "duplicate point name");
            snprintf(sw->points[k].name, sizeof sw->points[k].name, "%s", name);
            int rc = read_sets(err, sw->path, config_setting_get_member(e, "set"),
                               sw->points[k].sets, &sw->points[k].n_sets);
            if (rc)
                return rc;
            join_label(&sw->points[k]);
        }
        sw->n_points = n;
        return LM_OK;
    }
    int dims = config_setting_length(grid);
    if (config_setting_type(grid) != CONFIG_TYPE_LIST || dims < 1 || dims > SW_MAX_SETS)
        return fail_at(err, sw->path, grid, "`grid` must be a list of { path; values = [...]; }");
    int total = 1, size[SW_MAX_SETS];
    const config_setting_t *vals[SW_MAX_SETS];
    const char *paths[SW_MAX_SETS];
    for (int d = 0; d < dims; d++) {
        const config_setting_t *e = config_setting_get_elem(grid, (unsigned)d);
        vals[d] = config_setting_get_member(e, "values");
        if (config_setting_type(e) != CONFIG_TYPE_GROUP ||
            !config_setting_lookup_string(e, "path", &paths[d]) || !vals[d] ||
            (config_setting_type(vals[d]) != CONFIG_TYPE_ARRAY &&
             config_setting_type(vals[d]) != CONFIG_TYPE_LIST) ||
            (size[d] = config_setting_length(vals[d])) < 1)
            return fail_at(err, sw->path, e,
                           "each grid entry is { path = \"P\"; values = [...]; }");
        for (int q = 0; q < d; q++)
            if (strcmp(paths[q], paths[d]) == 0)
                return fail_at(err, sw->path, e,
                               "this path is given twice in the grid (the second would "
                               "silently replace the first in every point)");
        total *= size[d];
        if (total > SW_MAX_POINTS)
            return fail_at(err, sw->path, e, "the grid has more than 512 points");
    }
    sw->points = lm__calloc((size_t)total, sizeof *sw->points);
    if (!sw->points)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    for (int k = 0; k < total; k++) {
        sw_point *pt = &sw->points[k];
        snprintf(pt->name, sizeof pt->name, "g%03d", k);
        int rem = k;
        for (int d = dims - 1; d >= 0; d--) {
            char v[96];
            value_text(config_setting_get_elem(vals[d], (unsigned)(rem % size[d])), v, sizeof v);
            snprintf(pt->sets[d], SW_SET_LEN, "%.150s=%s", paths[d], v);
            rem /= size[d];
        }
        pt->n_sets = dims;
        join_label(pt);
    }
    sw->n_points = total;
    return LM_OK;
}

static int load_uncertain(lm_sweep *sw, const config_setting_t *g, lm_error *err) {
    const config_setting_t *u = config_setting_get_member(g, "uncertain");
    if (!u)
        return LM_OK;
    int n = config_setting_length(u);
    if (config_setting_type(u) != CONFIG_TYPE_LIST || n > SW_MAX_SETS)
        return fail_at(err, sw->path, u, "`uncertain` must be a list of at most 32 groups");
    for (int k = 0; k < n; k++) {
        const config_setting_t *e = config_setting_get_elem(u, (unsigned)k);
        sw_uncertain *q = &sw->uncertain[k];
        const char *path = NULL, *dist = NULL;
        double a = 0, b = 0;
        if (config_setting_type(e) != CONFIG_TYPE_GROUP ||
            !config_setting_lookup_string(e, "path", &path) ||
            !config_setting_lookup_string(e, "dist", &dist) || strlen(path) >= sizeof q->path)
            return fail_at(err, sw->path, e,
                           "each entry is { path = \"P\"; dist = \"normal|lognormal_ci|uniform|"
                           "beta\"; ... }");
        snprintf(q->path, sizeof q->path, "%s", path);
        const char *k1, *k2;
        if (strcmp(dist, "normal") == 0)
            q->dist = DIST_NORMAL, k1 = "mean", k2 = "sd";
        else if (strcmp(dist, "lognormal_ci") == 0)
            q->dist = DIST_LOGNORMAL_CI, k1 = "lo", k2 = "hi";
        else if (strcmp(dist, "uniform") == 0)
            q->dist = DIST_UNIFORM, k1 = "lo", k2 = "hi";
        else if (strcmp(dist, "beta") == 0)
            q->dist = DIST_BETA, k1 = "a", k2 = "b";
        else
            return fail_at(err, sw->path, config_setting_get_member(e, "dist"),
                           "dist must be \"normal\", \"lognormal_ci\", \"uniform\" or "
                           "\"beta\"");
        if (!config_setting_lookup_float(e, k1, &a) || !config_setting_lookup_float(e, k2, &b)) {
            char msg[160];
            snprintf(msg, sizeof msg, "dist \"%s\" needs numbers %s and %s (with a decimal point)",
                     dist, k1, k2);
            return fail_at(err, sw->path, e, msg);
        }
        int ok = q->dist == DIST_NORMAL    ? b > 0.0
                 : q->dist == DIST_BETA    ? a > 0.0 && b > 0.0
                 : q->dist == DIST_UNIFORM ? a < b
                                           : a > 0.0 && a < b;
        if (!ok)
            return fail_at(err, sw->path, e,
                           "invalid parameters (normal: sd > 0; lognormal_ci: 0 < lo < hi; "
                           "uniform: lo < hi; beta: a, b > 0)");
        q->p1 = a;
        q->p2 = b;
    }
    sw->n_uncertain = n;
    return LM_OK;
}

/* Value of uncertain setting q for replicate r: an inverse-CDF draw from the
 * stream (sweep seed, replicate, LM_PURPOSE_SWEEP, k = 2 + q), the same for
 * every point of the replicate. */
static double uncertain_value(const lm_sweep *sw, int q, int r) {
    const sw_uncertain *u = &sw->uncertain[q];
    double x = lm_rng_uniform(sw->seed, (uint64_t)r, 0, LM_PURPOSE_SWEEP, (uint32_t)(2 + q));
    switch (u->dist) {
    case DIST_NORMAL:
        return u->p1 + u->p2 * gsl_cdf_ugaussian_Pinv(x);
    case DIST_LOGNORMAL_CI: {
        /* 95 % interval [lo, hi] of a ratio: log-normal with those quantiles. */
        double mu = 0.5 * (log(u->p1) + log(u->p2));
        double sigma = (log(u->p2) - log(u->p1)) / (2.0 * gsl_cdf_ugaussian_Pinv(0.975));
        return exp(mu + sigma * gsl_cdf_ugaussian_Pinv(x));
    }
    case DIST_UNIFORM:
        return u->p1 + (u->p2 - u->p1) * x;
    default:
        return gsl_cdf_beta_Pinv(x, u->p1, u->p2);
    }
}

/* The override "path=value" of uncertain setting q for replicate r, in buf
 * (a float literal, so that it replaces a float setting). */
static const char *drawn_override(const lm_sweep *sw, int q, int r, char buf[SW_SET_LEN]) {
    snprintf(buf, SW_SET_LEN, "%.190s=%.17g", sw->uncertain[q].path, uncertain_value(sw, q, r));
    if (!strpbrk(buf + strlen(sw->uncertain[q].path) + 1, ".eEn"))
        strncat(buf, ".0", SW_SET_LEN - strlen(buf) - 1);
    return buf;
}

/* The overrides of task t, in order: the sweep's, the point's, the
 * replicate's seed, then the drawn uncertain settings (last, so they win). */
typedef struct task_sets {
    const char *sets[3 * SW_MAX_SETS + 1];
    char seed[64];
    char drawn[SW_MAX_SETS][SW_SET_LEN];
} task_sets;

static size_t task_overrides(const lm_sweep *sw, int t, task_sets *ts) {
    const sw_point *pt = &sw->points[t / sw->replicates];
    size_t n = 0;
    for (int q = 0; q < sw->n_common; q++)
        ts->sets[n++] = sw->common[q];
    for (int q = 0; q < pt->n_sets; q++)
        ts->sets[n++] = pt->sets[q];
    snprintf(ts->seed, sizeof ts->seed, "simulation.seed=%lluL",
             (unsigned long long)lm_sweep_task_seed(sw, t));
    ts->sets[n++] = ts->seed;
    for (int q = 0; q < sw->n_uncertain; q++)
        ts->sets[n++] = drawn_override(sw, q, t % sw->replicates, ts->drawn[q]);
    return n;
}

/* The sweep file's normalised text (after @include) and its SHA-256, for
 * the index's record of its own configuration. */
static int keep_text(lm_sweep *sw, const config_t *cfg, lm_error *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    config_write(cfg, f);
    fclose(f);
    sw->text = buf ? lm__malloc(len + 1) : NULL;
    if (sw->text) {
        memcpy(sw->text, buf, len);
        sw->text[len] = '\0';
    }
    free(buf);
    if (!sw->text)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    lm_sha256_hex(sw->text, sw->text_sha);
    return LM_OK;
}

int lm_sweep_load(const char *path, const char *out_dir, lm_sweep **out, lm_error *err) {
    return lm_sweep_load_task(path, out_dir, -1, out, err);
}

int lm_sweep_load_task(const char *path, const char *out_dir, int task, lm_sweep **out,
                       lm_error *err) {
    config_t cfg;
    int rc = LM_OK;
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return LM_FAIL_CFG(err, LM_EIO, path, 0, "cannot open sweep file: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return LM_FAIL_CFG(err, LM_EIO, path, 0, "cannot open sweep file: not a regular file");
    lm_sweep *sw = lm__calloc(1, sizeof *sw);
    if (!sw)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    snprintf(sw->path, sizeof sw->path, "%s", path);
    /* As a scenario: @include paths are relative to the sweep file's folder
     * (e.g. a fitted scenario's FITTED.uncertain.cfg beside it). */
    const lm__cfg_ctx cc = {path, err};
    if ((rc = lm__cfg_read_file(&cc, path, "sweep file", &cfg)))
        goto fail;
    const config_setting_t *g = config_lookup(&cfg, "sweep");
    if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP) {
        rc = fail_at(err, path, g, "the file needs a group `sweep = { ... };`");
        goto fail;
    }
    static const char *const keys[] = {"base",   "output", "replicates", "seed", "set",
                                       "points", "grid",   "uncertain",  NULL};
    for (int k = 0; k < config_setting_length(g); k++) {
        const config_setting_t *e = config_setting_get_elem(g, (unsigned)k);
        int ok = 0;
        for (const char *const *key = keys; *key; key++)
            ok |= strcmp(*key, config_setting_name(e)) == 0;
        if (!ok) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "unknown setting '%.60s' (allowed: base, output, replicates, seed, set, "
                     "points, grid, uncertain)",
                     config_setting_name(e));
            rc = fail_at(err, path, e, msg);
            goto fail;
        }
    }
    const char *base = NULL, *outd = NULL;
    long long reps = 0, seed = 0;
    const config_setting_t *bs = config_setting_get_member(g, "base");
    if (!config_setting_lookup_string(g, "base", &base)) {
        rc = fail_at(err, path, bs ? bs : g, "`base` must name the base scenario file");
        goto fail;
    }
    const char *slash = strrchr(path, '/');
    if (base[0] == '/' || !slash)
        snprintf(sw->base, sizeof sw->base, "%s", base);
    else
        snprintf(sw->base, sizeof sw->base, "%.*s/%.500s", (int)(slash - path), path, base);
    if (out_dir)
        snprintf(sw->out_dir, sizeof sw->out_dir, "%s", out_dir);
    else if (config_setting_lookup_string(g, "output", &outd) && outd[0])
        snprintf(sw->out_dir, sizeof sw->out_dir, "%s", outd);
    else {
        rc = fail_at(err, path, g, "`output` must name the output folder (or give -o DIR)");
        goto fail;
    }
    const config_setting_t *rs = config_setting_get_member(g, "replicates");
    if (!config_setting_lookup_int64(g, "replicates", &reps) || reps < 1 || reps > 100000) {
        int ri = 0;
        if (config_setting_lookup_int(g, "replicates", &ri) && ri >= 1 && ri <= 100000)
            reps = ri;
        else {
            rc = fail_at(err, path, rs ? rs : g, "`replicates` must be an integer in [1, 100000]");
            goto fail;
        }
    }
    const config_setting_t *ss = config_setting_get_member(g, "seed");
    if (!config_setting_lookup_int64(g, "seed", &seed) || seed < 0) {
        int si = 0;
        if (config_setting_lookup_int(g, "seed", &si) && si >= 0)
            seed = si;
        else {
            rc = fail_at(err, path, ss ? ss : g, "`seed` must be an integer >= 0");
            goto fail;
        }
    }
    sw->replicates = (int)reps;
    sw->seed = (uint64_t)seed;
    if ((rc = read_sets(err, path, config_setting_get_member(g, "set"), sw->common,
                        &sw->n_common)) ||
        (rc = load_points(sw, g, err)) || (rc = load_uncertain(sw, g, err)) ||
        (rc = keep_text(sw, &cfg, err)))
        goto fail;
    config_destroy(&cfg);
    /* Check every point's scenario now: a bad override fails before any run. */
    for (int k = 0; k < sw->n_points; k++) {
        lm_scenario *sc = NULL;
        task_sets ts;
        size_t n = task_overrides(sw, k * sw->replicates, &ts);
        if ((rc = lm_scenario_load(sw->base, ts.sets, n, &sc, err))) {
            char msg[LM_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
            if (err)
                snprintf(err->msg, sizeof err->msg, "%s: point '%s': %.600s", path,
                         sw->points[k].name, msg);
            lm_sweep_destroy(sw);
            return rc;
        }
        lm_scenario_destroy(sc);
    }
    /* The uncertain draws differ by replicate (and are the same for every
     * point): every replicate's draws must give a valid scenario too, or a
     * sweep would stop part-way (one load per replicate, point 0). */
    for (int r = 1; sw->n_uncertain > 0 && r < sw->replicates; r++) {
        /* One task of an array: its own replicate only (`sweep --check`
         * or a whole-sweep run checks them all). */
        if (task >= 0 && r != task % sw->replicates)
            continue;
        lm_scenario *sc = NULL;
        task_sets ts;
        size_t n = task_overrides(sw, r, &ts);
        if ((rc = lm_scenario_load(sw->base, ts.sets, n, &sc, err))) {
            char msg[LM_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
            if (err)
                snprintf(err->msg, sizeof err->msg,
                         "%s: replicate %d: a drawn `uncertain` value is invalid: %.600s", path, r,
                         msg);
            lm_sweep_destroy(sw);
            return rc;
        }
        lm_scenario_destroy(sc);
    }
    *out = sw;
    return LM_OK;
fail:
    config_destroy(&cfg);
    lm_sweep_destroy(sw);
    return rc;
}

void lm_sweep_destroy(lm_sweep *sw) {
    if (!sw)
        return;
    lm__free(sw->points);
    lm__free(sw->text);
    lm__free(sw);
}

int lm_sweep_n_tasks(const lm_sweep *sw) {
    return sw->n_points * sw->replicates;
}

const char *lm_sweep_task_point(const lm_sweep *sw, int t) {
    return sw->points[t / sw->replicates].name;
}

int lm_sweep_task_replicate(const lm_sweep *sw, int t) {
    return t % sw->replicates;
}

uint64_t lm_sweep_task_seed(const lm_sweep *sw, int t) {
    /* Depends on the replicate only: common random numbers across points.
     * Kept below 2^63 (scenario seeds are non-negative int64). */
    uint64_t r = (uint64_t)lm_sweep_task_replicate(sw, t);
    uint64_t hi = lm_rng_u32(sw->seed, r, 0, LM_PURPOSE_SWEEP, 0) & 0x7fffffffu;
    uint64_t lo = lm_rng_u32(sw->seed, r, 0, LM_PURPOSE_SWEEP, 1);
    return hi << 32 | lo;
}

void lm_sweep_task_path(const lm_sweep *sw, int t, char *buf, size_t n) {
    snprintf(buf, n, "%.900s/%s_r%03d.h5", sw->out_dir, lm_sweep_task_point(sw, t),
             lm_sweep_task_replicate(sw, t));
}

/* Task t's scenario (owned by caller): the base scenario with the task's
 * overrides, seed and uncertain draws, as lm_run() will write it. */
static int task_scenario(const lm_sweep *sw, int t, lm_scenario **sc, lm_error *err) {
    task_sets ts;
    size_t n = task_overrides(sw, t, &ts);
    return lm_scenario_load(sw->base, ts.sets, n, sc, err);
}

int lm_sweep_task_hash(const lm_sweep *sw, int t, char hex[LM_SHA256_HEX], lm_error *err) {
    if (t < 0 || t >= lm_sweep_n_tasks(sw))
        return LM_FAIL(err, LM_EARG, "task %d out of range: the sweep has tasks 0 to %d", t,
                       lm_sweep_n_tasks(sw) - 1);
    lm_scenario *sc = NULL;
    int rc = task_scenario(sw, t, &sc, err);
    if (rc)
        return rc;
    lm_sha256_hex(sc->text, hex);
    lm_scenario_destroy(sc);
    return LM_OK;
}

/* What a task's file holds. */
typedef enum { TASK_MISSING = 0, TASK_DAMAGED, TASK_DONE } task_state;
typedef struct task_file {
    task_state state;
    char sha[LM_SHA256_HEX];    /* TASK_DONE: the SHA-256 of the scenario it was run with */
    char *text;                 /* TASK_DONE, when asked for: its scenario_text (lm__free it) */
    char why[LM_ERROR_MSG_MAX]; /* TASK_DAMAGED: why it cannot be read */
} task_file;

/* Look at the file at path (info is scratch space). A file that is not a
 * readable lmsim run file (truncated, not HDF5, damaged) is TASK_DAMAGED.
 * The recorded hash is its root attribute scenario_sha256, or the SHA-256
 * of its scenario_text in files written before lmsim recorded it. (Out of
 * memory reads as damaged, which only makes the task run again.) */
static void look_at_task(const char *path, int want_text, lm_file_info *info, task_file *tf) {
    memset(tf, 0, sizeof *tf);
    if (access(path, F_OK) != 0)
        return;
    lm_error why;
    lm_error_clear(&why);
    tf->state = TASK_DAMAGED;
    if (lm_h5_describe(path, info, &why) != LM_OK) {
        snprintf(tf->why, sizeof tf->why, "%s", why.msg);
        return;
    }
    H5E_auto2_t fn;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *sha = f >= 0 ? lm__h5_text_attr(f, "scenario_sha256") : NULL;
    char *text = f >= 0 ? lm__h5_text_attr(f, "scenario_text") : NULL;
    if (f >= 0)
        H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    if (!text) {
        snprintf(tf->why, sizeof tf->why, "'%s' has no readable root attribute scenario_text",
                 path);
    } else if (sha && strlen(sha) + 1 != LM_SHA256_HEX) {
        snprintf(tf->why, sizeof tf->why, "'%s': root attribute scenario_sha256 is not a SHA-256",
                 path);
    } else {
        tf->state = TASK_DONE;
        if (sha)
            memcpy(tf->sha, sha, LM_SHA256_HEX);
        else
            lm_sha256_hex(text, tf->sha);
        if (want_text) {
            tf->text = text;
            text = NULL;
        }
    }
    lm__free(sha);
    lm__free(text);
}

/* Append "path: a -> b" for one differing setting to buf (at most 3; the
 * rest are counted). x is the old setting, y the new; either may be NULL. */
static void note_change(const config_setting_t *x, const config_setting_t *y, char *buf, size_t n,
                        int *count) {
    if ((*count)++ >= 3)
        return;
    char path[256], a[96] = "(absent)", b[96] = "(absent)";
    lm__cfg_path(x ? x : y, path, sizeof path);
    if (x)
        lm__cfg_value(x, a, sizeof a);
    if (y)
        lm__cfg_value(y, b, sizeof b);
    if (x && y && strcmp(a, b) == 0) { /* equal to 6 digits: show them all */
        value_text(x, a, sizeof a);
        value_text(y, b, sizeof b);
    }
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, "%s%s: %s -> %s", len ? "; " : "", path, a, b);
}

static int is_aggregate(const config_setting_t *s) {
    const int ty = config_setting_type(s);
    return ty == CONFIG_TYPE_GROUP || ty == CONFIG_TYPE_ARRAY || ty == CONFIG_TYPE_LIST;
}

/* Record every setting that differs between x (old) and y (new): groups by
 * member name, lists and arrays of the same length element by element. */
static void diff_settings(const config_setting_t *x, const config_setting_t *y, char *buf, size_t n,
                          int *count) {
    const int tx = config_setting_type(x), ty = config_setting_type(y);
    if (tx == CONFIG_TYPE_GROUP && ty == CONFIG_TYPE_GROUP) {
        for (int k = 0; k < config_setting_length(x); k++) {
            const config_setting_t *e = config_setting_get_elem(x, (unsigned)k);
            const config_setting_t *f = config_setting_get_member(y, config_setting_name(e));
            if (f)
                diff_settings(e, f, buf, n, count);
            else
                note_change(e, NULL, buf, n, count);
        }
        for (int k = 0; k < config_setting_length(y); k++) {
            const config_setting_t *f = config_setting_get_elem(y, (unsigned)k);
            if (!config_setting_get_member(x, config_setting_name(f)))
                note_change(NULL, f, buf, n, count);
        }
        return;
    }
    if (tx == ty && tx != CONFIG_TYPE_GROUP && is_aggregate(x) &&
        config_setting_length(x) == config_setting_length(y)) {
        for (int k = 0; k < config_setting_length(x); k++)
            diff_settings(config_setting_get_elem(x, (unsigned)k),
                          config_setting_get_elem(y, (unsigned)k), buf, n, count);
        return;
    }
    char a[128], b[128];
    value_text(x, a, sizeof a);
    value_text(y, b, sizeof b);
    if (tx != ty || is_aggregate(x) || strcmp(a, b) != 0)
        note_change(x, y, buf, n, count);
}

/* The settings that differ between two scenario texts, old and new, as
 * "path: old -> new; ..." (at most three, then how many more) into buf. */
static void changed_settings(const char *old_text, const char *new_text, char *buf, size_t n) {
    config_t a, b;
    config_init(&a);
    config_init(&b);
    buf[0] = '\0';
    int count = 0;
    if (config_read_string(&a, old_text) && config_read_string(&b, new_text))
        diff_settings(config_root_setting(&a), config_root_setting(&b), buf, n, &count);
    config_destroy(&a);
    config_destroy(&b);
    if (count > 3) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "; and %d more", count - 3);
    } else if (count == 0) {
        snprintf(buf, n, "the scenario text differs");
    }
}

/* Remove the index OUT/sweep.h5 (if any): a task is about to be run again,
 * so the index no longer describes the task files. */
static void remove_index(const lm_sweep *sw) {
    char idx[1100];
    snprintf(idx, sizeof idx, "%.900s/sweep.h5", sw->out_dir);
    remove(idx);
}

/* Create folder dir and its missing parents (as mkdir -p). Array elements
 * starting together may create them at the same time, and some file
 * systems refuse mkdir of an existing folder with EACCES or EROFS rather
 * than EEXIST: a component that is a folder afterwards is fine. */
static int make_folders(const char *dir, lm_error *err) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    if (!buf[0])
        return LM_FAIL(err, LM_EARG, "the output folder is an empty name");
    for (char *p = buf + 1;; p++) {
        const int end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        *p = '\0';
        struct stat st;
        if (mkdir(buf, 0777) != 0) {
            const int e = errno;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return LM_FAIL(err, LM_EIO, "cannot create output folder '%s': %s", buf,
                               e == EEXIST ? "a file of that name exists" : strerror(e));
        }
        if (end)
            return LM_OK;
        *p = '/';
    }
}

int lm_sweep_run_task(const lm_sweep *sw, int t, const lm_run_options *opt, int *skipped,
                      lm_error *err) {
    char path[1024], sha[LM_SHA256_HEX], msg[2048];
    lm_scenario *sc = NULL;
    int rc;
    *skipped = 0;
    if (t < 0 || t >= lm_sweep_n_tasks(sw))
        return LM_FAIL(err, LM_EARG, "task %d out of range: the sweep has tasks 0 to %d", t,
                       lm_sweep_n_tasks(sw) - 1);
    if ((rc = make_folders(sw->out_dir, err)))
        return rc;
    lm_sweep_task_path(sw, t, path, sizeof path);
    if ((rc = task_scenario(sw, t, &sc, err)))
        return rc;
    lm_sha256_hex(sc->text, sha);
    /* A file under the task's name is finished (files appear only when
     * complete). It is skipped if it was run with the scenario the task has
     * now (same SHA-256); otherwise it is run again and the new file
     * replaces it: when the sweep file or its base changed since (the
     * changed settings are named), or when the file has been damaged since
     * (truncated, not HDF5). */
    task_file tf;
    lm_file_info *info = lm__malloc(sizeof *info);
    if (!info) {
        lm_scenario_destroy(sc);
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    }
    look_at_task(path, 1, info, &tf);
    lm__free(info);
    if (tf.state == TASK_DONE && strcmp(tf.sha, sha) == 0) {
        lm__free(tf.text);
        lm_scenario_destroy(sc);
        *skipped = 1;
        return LM_OK;
    }
    if (tf.state == TASK_DONE) {
        char what[1200];
        changed_settings(tf.text, sc->text, what, sizeof what);
        snprintf(msg, sizeof msg,
                 "%s: was run with other settings than the sweep now gives (%s; scenario "
                 "SHA-256 %.12s..., now %.12s...): running the task again",
                 path, what, tf.sha, sha);
    } else if (tf.state == TASK_DAMAGED) {
        snprintf(msg, sizeof msg, "%s: damaged (%.1500s): running the task again", path, tf.why);
    }
    lm__free(tf.text);
    if (tf.state != TASK_MISSING) {
        if (opt->log)
            opt->log(opt->log_user, LM_LOG_WARN, msg);
        remove_index(sw);
    }
    /* The task's silent no-ops (also recorded in its file), through the
     * caller's log: "TASK.h5: <warning>". */
    for (const char *w = sc->warnings; opt->log && w && *w;) {
        const char *nl = strchr(w, '\n');
        const int len = (int)(nl ? (size_t)(nl - w) : strlen(w));
        snprintf(msg, sizeof msg, "%s: %.*s", path, len < 1500 ? len : 1500, w);
        opt->log(opt->log_user, LM_LOG_WARN, msg);
        w += len + (nl != NULL);
    }
    lm_run_options o = *opt;
    o.out_path = path;
    rc = lm_run(sc, &o, NULL, err);
    lm_scenario_destroy(sc);
    return rc;
}

/* One row of the index's tidy table. */
typedef struct sw_row {
    int32_t task;
    char point[64];
    int32_t replicate;
    char seed[24];
    char overrides[SW_SET_LEN];
    double employment_rate_start, employment_rate_end;
    double unemployment_rate_end, inactivity_rate_end;
    double disabled_employment_rate_end, disability_gap_end;
    double mean_earnings_end;
    char scenario_sha256[LM_SHA256_HEX]; /* of the task file's scenario_text */
} sw_row;

static hid_t row_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(sw_row));
    hid_t s64 = H5Tcopy(H5T_C_S1), s24 = H5Tcopy(H5T_C_S1), sl = H5Tcopy(H5T_C_S1);
    H5Tset_size(s64, 64);
    H5Tset_size(s24, 24);
    H5Tset_size(sl, SW_SET_LEN);
    H5Tinsert(t, "task", HOFFSET(sw_row, task), H5T_NATIVE_INT32);
    H5Tinsert(t, "point", HOFFSET(sw_row, point), s64);
    H5Tinsert(t, "replicate", HOFFSET(sw_row, replicate), H5T_NATIVE_INT32);
    H5Tinsert(t, "seed", HOFFSET(sw_row, seed), s24);
    H5Tinsert(t, "overrides", HOFFSET(sw_row, overrides), sl);
#define SW_F(f) H5Tinsert(t, #f, HOFFSET(sw_row, f), H5T_NATIVE_DOUBLE)
    SW_F(employment_rate_start);
    SW_F(employment_rate_end);
    SW_F(unemployment_rate_end);
    SW_F(inactivity_rate_end);
    SW_F(disabled_employment_rate_end);
    SW_F(disability_gap_end);
    SW_F(mean_earnings_end);
#undef SW_F
    hid_t sh = H5Tcopy(H5T_C_S1);
    H5Tset_size(sh, LM_SHA256_HEX);
    H5Tinsert(t, "scenario_sha256", HOFFSET(sw_row, scenario_sha256), sh);
    H5Tclose(sh);
    H5Tclose(s64);
    H5Tclose(s24);
    H5Tclose(sl);
    return t;
}

/* The n rows of /tidy (dataset d of index_path) into rows. An index
 * written before the hash column existed reads with the column empty (HDF5
 * converts compound members by name); one written before its strings were
 * variable-length (fixed-length, no strings_crc32) reads as well. */
static int read_tidy(const char *index_path, hid_t d, sw_row *rows, size_t n, lm_error *err) {
    hid_t rt = row_type();
    int got = rt >= 0 ? lm__h5_table_read(d, rt, rows, n) : -1;
    if (rt >= 0)
        H5Tclose(rt);
    if (got == LM__H5_DAMAGED)
        return LM_FAIL(err, LM_EHDF5, LM_MSG_TABLE_DAMAGED, index_path, "/tidy");
    if (got == LM__H5_NOMEM)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    if (got != 0)
        return LM_FAIL(err, LM_EHDF5, "cannot read /tidy of '%s'", index_path);
    return LM_OK;
}

/* Open the sweep index at index_path (*f, read-only; the caller closes it)
 * and read its /tidy table into *rows (n_rows + 1 rows allocated; the
 * caller frees them). On error *f is closed and -1, *rows NULL. HDF5's
 * error printing is the caller's to silence. */
static int open_index(const char *index_path, hid_t *f, sw_row **rows, hsize_t *n_rows,
                      lm_error *err) {
    hid_t d = -1, sp = -1;
    hsize_t n = 0;
    int rc = LM_OK;
    *f = -1;
    *rows = NULL;
    if (access(index_path, R_OK) != 0 || H5Fis_hdf5(index_path) <= 0) {
        rc = LM_FAIL(err, LM_EIO, "'%s' is missing or not an HDF5 file", index_path);
        goto done;
    }
    /* The rank first: a /tidy of rank > 1 must not write past n. */
    if ((*f = H5Fopen(index_path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0 ||
        (d = H5Dopen2(*f, "tidy", H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, &n, NULL) != 1) {
        rc = LM_FAIL(err, LM_EHDF5, "'%s' is not a sweep index (no /tidy table)", index_path);
        goto done;
    }
    if (!(*rows = lm__calloc((size_t)n + 1, sizeof **rows))) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    rc = read_tidy(index_path, d, *rows, (size_t)n, err);
done:
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    if (rc != LM_OK) {
        if (*f >= 0)
            H5Fclose(*f);
        *f = -1;
        lm__free(*rows);
        *rows = NULL;
    }
    *n_rows = n;
    return rc;
}

static int put_str_attr(hid_t loc, const char *name, const char *v) {
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && sp >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
             H5Tset_cset(t, H5T_CSET_UTF8) >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, &v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    return ok ? 0 : -1;
}

static int put_num_attr(hid_t loc, const char *name, hid_t type, const void *v) {
    hid_t sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = sp >= 0 && (a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, type, v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    return ok ? 0 : -1;
}

/* The index's record of the sweep's own configuration (root attributes,
 * docs/cluster.md): the sweep file as read, its SHA-256, base and sizes. */
static int write_index_attrs(const lm_sweep *sw, hid_t f) {
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)sw->seed);
    const int32_t reps = sw->replicates, points = sw->n_points, tasks = lm_sweep_n_tasks(sw);
    return put_str_attr(f, "lmsim_version", LM_VERSION_STRING) ||
           put_str_attr(f, "sweep_file", sw->path) || put_str_attr(f, "sweep_text", sw->text) ||
           put_str_attr(f, "sweep_sha256", sw->text_sha) ||
           put_str_attr(f, "base_scenario", sw->base) ||
           put_num_attr(f, "seed", H5T_NATIVE_UINT64, &sw->seed) ||
           put_str_attr(f, "seed_str", seed) ||
           put_num_attr(f, "replicates", H5T_NATIVE_INT32, &reps) ||
           put_num_attr(f, "n_points", H5T_NATIVE_INT32, &points) ||
           put_num_attr(f, "n_tasks", H5T_NATIVE_INT32, &tasks);
}

int lm_sweep_write_index(const lm_sweep *sw, int *complete, lm_error *err) {
    const int n = lm_sweep_n_tasks(sw);
    char path[1024], final[1024], tmp[1100];
    *complete = 0;
    for (int t = 0; t < n; t++) {
        lm_sweep_task_path(sw, t, path, sizeof path);
        if (access(path, F_OK) != 0)
            return LM_OK;
    }
    sw_row *rows = lm__calloc((size_t)n, sizeof *rows);
    lm_file_info *info = lm__malloc(sizeof *info);
    if (!rows || !info) {
        lm__free(rows);
        lm__free(info);
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    }
    /* Every task file must also be readable and run with the scenario the
     * task has now: a file left from before the sweep file changed, or
     * damaged since, waits for its task to run again. */
    int rc = LM_OK, stale = 0;
    for (int t = 0; t < n && rc == LM_OK && !stale; t++) {
        char sha[LM_SHA256_HEX];
        task_file tf;
        if ((rc = lm_sweep_task_hash(sw, t, sha, err)))
            break;
        lm_sweep_task_path(sw, t, path, sizeof path);
        look_at_task(path, 0, info, &tf);
        if (tf.state != TASK_DONE || strcmp(tf.sha, sha) != 0) {
            stale = 1;
            break;
        }
        sw_row *r = &rows[t];
        memcpy(r->scenario_sha256, sha, sizeof sha);
        r->task = t;
        snprintf(r->point, sizeof r->point, "%s", lm_sweep_task_point(sw, t));
        r->replicate = lm_sweep_task_replicate(sw, t);
        snprintf(r->seed, sizeof r->seed, "%llu", (unsigned long long)info->seed);
        snprintf(r->overrides, sizeof r->overrides, "%s", sw->points[t / sw->replicates].label);
        for (int k = 0; k < info->headline.n_rows; k++) {
            const lm_headline_row *h = &info->headline.rows[k];
            if (strcmp(h->group, "all") == 0) {
                r->employment_rate_start = h->employment_rate[0];
                r->employment_rate_end = h->employment_rate[1];
                r->unemployment_rate_end = h->unemployment_rate[1];
                r->inactivity_rate_end = h->inactivity_rate[1];
                r->mean_earnings_end = h->mean_earnings[1];
            } else if (strcmp(h->group, "disabled") == 0) {
                r->disabled_employment_rate_end = h->employment_rate[1];
            }
        }
        for (int k = 0; k < info->headline.n_rows; k++)
            if (strcmp(info->headline.rows[k].group, "not_disabled") == 0)
                r->disability_gap_end =
                    info->headline.rows[k].employment_rate[1] - r->disabled_employment_rate_end;
    }
    lm__free(info);
    if (rc || stale) {
        lm__free(rows);
        return rc;
    }
    *complete = 1;
    snprintf(final, sizeof final, "%.900s/sweep.h5", sw->out_dir);
    /* Array elements finishing together (on any node, where process ids may
     * coincide) may both write the index: each writes a file it created
     * exclusively, and the last rename wins with a complete index. */
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXXXX", final);
    if (lm_tmp_create(tmp, NULL) != 0) {
        lm__free(rows);
        return LM_FAIL(err, LM_EIO, "cannot create '%s' (the temporary file of '%s'): %s", tmp,
                       final, strerror(errno));
    }
    H5E_auto2_t fn;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int ok = f >= 0;
    hid_t g = ok ? H5Gcreate2(f, "tasks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    ok = ok && g >= 0;
    for (int t = 0; ok && t < n; t++) {
        char name[96], target[256];
        snprintf(name, sizeof name, "%s_r%03d", lm_sweep_task_point(sw, t),
                 lm_sweep_task_replicate(sw, t));
        snprintf(target, sizeof target, "%s.h5", name); /* relative: the folder can move */
        ok = H5Lcreate_external(target, "/", g, name, H5P_DEFAULT, H5P_DEFAULT) >= 0;
    }
    if (g >= 0)
        H5Gclose(g);
    /* Strings variable-length UTF-8 with their strings_crc32, in one chunk
     * with a Fletcher-32 checksum (docs/output-format.md, "Integrity"). */
    hid_t rt = ok ? row_type() : -1;
    lm__h5_table tab = {.mem = -1, .file = -1};
    ok = ok && rt >= 0 && lm__h5_table_init(&tab, rt) == 0;
    hsize_t dims = (hsize_t)n;
    hid_t sp = ok ? H5Screate_simple(1, &dims, NULL) : -1;
    hid_t dcpl = ok ? H5Pcreate(H5P_DATASET_CREATE) : -1;
    ok = ok && sp >= 0 && dcpl >= 0 &&
         (n == 0 || (H5Pset_chunk(dcpl, 1, &dims) >= 0 && H5Pset_fletcher32(dcpl) >= 0));
    hid_t d = ok ? H5Dcreate2(f, "tidy", tab.file, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT) : -1;
    ok = ok && d >= 0 && lm__h5_table_write(d, &tab, rows, (size_t)n) == 0;
    ok = ok && write_index_attrs(sw, f) == 0;
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    lm__h5_table_close(&tab);
    if (rt >= 0)
        H5Tclose(rt);
    if (f >= 0 && H5Fclose(f) < 0)
        ok = 0;
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    lm__free(rows);
    if (!ok) {
        remove(tmp);
        return LM_FAIL(err, LM_EHDF5, "cannot write the sweep index '%s'", final);
    }
    if (rename(tmp, final) != 0) {
        remove(tmp);
        return LM_FAIL(err, LM_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
    }
    return LM_OK;
}

int lm_sweep_compare(const char *index_path, const char *point_a, const char *point_b,
                     lm_compare *out, lm_error *err) {
    static const char *const names[LM_COMPARE_MEASURES] = {
        "employment_rate_end",          "unemployment_rate_end", "inactivity_rate_end",
        "disabled_employment_rate_end", "disability_gap_end",    "mean_earnings_end"};
    memset(out, 0, sizeof *out);
    for (int m = 0; m < LM_COMPARE_MEASURES; m++)
        out->measure[m] = names[m];
    H5E_auto2_t fn;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    sw_row *rows = NULL;
    hid_t f = -1;
    hsize_t n = 0;
    int rc = open_index(index_path, &f, &rows, &n, err);
    if (rc != LM_OK)
        goto done;
    int found_a = 0, found_b = 0;
    double sa[LM_COMPARE_MEASURES] = {0}, sb[LM_COMPARE_MEASURES] = {0};
    double sd[LM_COMPARE_MEASURES] = {0}, sd2[LM_COMPARE_MEASURES] = {0};
    double sa2[LM_COMPARE_MEASURES] = {0}, sb2[LM_COMPARE_MEASURES] = {0};
    for (hsize_t i = 0; i < n; i++) {
        found_a |= strcmp(rows[i].point, point_a) == 0;
        found_b |= strcmp(rows[i].point, point_b) == 0;
        if (strcmp(rows[i].point, point_a) != 0)
            continue;
        for (hsize_t j = 0; j < n; j++) {
            if (strcmp(rows[j].point, point_b) != 0 || rows[j].replicate != rows[i].replicate)
                continue;
            const double *va = &rows[i].employment_rate_end, *vb = &rows[j].employment_rate_end;
            for (int m = 0; m < LM_COMPARE_MEASURES; m++) {
                double a = va[m], b = vb[m], dd = b - a;
                sa[m] += a, sb[m] += b, sa2[m] += a * a, sb2[m] += b * b;
                sd[m] += dd, sd2[m] += dd * dd;
            }
            out->n_pairs++;
        }
    }
    if (!found_a || !found_b) {
        rc = LM_FAIL(err, LM_EARG, "'%s': no point named '%s'", index_path,
                     found_a ? point_b : point_a);
        goto done;
    }
    if (out->n_pairs < 2) {
        rc = LM_FAIL(err, LM_EARG,
                     "'%s': points '%s' and '%s' share %d replicate(s); an "
                     "interval needs at least 2",
                     index_path, point_a, point_b, out->n_pairs);
        goto done;
    }
    const double r = (double)out->n_pairs, t = gsl_cdf_tdist_Pinv(0.975, r - 1.0);
    for (int m = 0; m < LM_COMPARE_MEASURES; m++) {
        double var_d = (sd2[m] - sd[m] * sd[m] / r) / (r - 1.0);
        double var_a = (sa2[m] - sa[m] * sa[m] / r) / (r - 1.0);
        double var_b = (sb2[m] - sb[m] * sb[m] / r) / (r - 1.0);
        out->mean_a[m] = sa[m] / r;
        out->mean_b[m] = sb[m] / r;
        out->diff[m] = sd[m] / r;
        out->se_paired[m] = sqrt(var_d > 0.0 ? var_d / r : 0.0);
        out->se_unpaired[m] =
            sqrt((var_a > 0.0 ? var_a : 0.0) / r + (var_b > 0.0 ? var_b : 0.0) / r);
        out->lo[m] = out->diff[m] - t * out->se_paired[m];
        out->hi[m] = out->diff[m] + t * out->se_paired[m];
    }
done:
    if (f >= 0)
        H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    lm__free(rows);
    return rc;
}

int lm_sweep_is_index(const char *path) {
    H5E_auto2_t fn;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int yes = 0;
    if (access(path, R_OK) == 0 && H5Fis_hdf5(path) > 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        yes = f >= 0 && H5Lexists(f, "tidy", H5P_DEFAULT) > 0 &&
              H5Lexists(f, "tasks", H5P_DEFAULT) > 0 && H5Aexists(f, "scenario_text") <= 0;
        if (f >= 0)
            H5Fclose(f);
    }
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    return yes;
}

/* A string root attribute of the index ("unknown" in an index written
 * before lmsim recorded it) into buf. */
static void attr_text(hid_t f, const char *name, char *buf, size_t n) {
    char *s = lm__h5_text_attr(f, name);
    snprintf(buf, n, "%s", s ? s : "unknown");
    lm__free(s);
}

int lm_sweep_describe(const char *index_path, char **text, lm_error *err) {
    *text = NULL;
    H5E_auto2_t fn;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    sw_row *rows = NULL;
    lm_file_info *info = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = NULL;
    hid_t f = -1;
    hsize_t n = 0;
    int rc = open_index(index_path, &f, &rows, &n, err);
    if (rc != LM_OK)
        goto done;
    if (!(info = lm__malloc(sizeof *info))) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    if (!(out = open_memstream(&buf, &len))) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    char file[1024], sha[80], base[1024], seed[32], version[32];
    attr_text(f, "sweep_file", file, sizeof file);
    attr_text(f, "sweep_sha256", sha, sizeof sha);
    attr_text(f, "base_scenario", base, sizeof base);
    attr_text(f, "seed_str", seed, sizeof seed);
    attr_text(f, "lmsim_version", version, sizeof version);
    /* Points in order of first appearance, with their overrides. */
    int n_points = 0, n_reps = 0;
    for (hsize_t i = 0; i < n; i++) {
        int seen = 0;
        for (hsize_t j = 0; j < i && !seen; j++)
            seen = strcmp(rows[j].point, rows[i].point) == 0;
        n_points += !seen;
        if (rows[i].replicate >= n_reps)
            n_reps = rows[i].replicate + 1;
    }
    /* The status of every task file (beside the index, as the links say). */
    const char *slash = strrchr(index_path, '/');
    const int dir_len = slash ? (int)(slash - index_path) + 1 : 0;
    char(*status)[16] = lm__calloc((size_t)n + 1, sizeof *status);
    if (!status) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    int counts[4] = {0, 0, 0, 0}; /* done, changed, damaged, missing */
    for (hsize_t i = 0; i < n; i++) {
        char path[1200];
        task_file tf;
        snprintf(path, sizeof path, "%.*s%s_r%03d.h5", dir_len, index_path, rows[i].point,
                 (int)rows[i].replicate);
        look_at_task(path, 0, info, &tf);
        int k = tf.state == TASK_MISSING                                                     ? 3
                : tf.state == TASK_DAMAGED                                                   ? 2
                : rows[i].scenario_sha256[0] && strcmp(tf.sha, rows[i].scenario_sha256) != 0 ? 1
                                                                                             : 0;
        static const char *const names[4] = {"done", "changed", "damaged", "missing"};
        snprintf(status[i], sizeof status[i], "%s", names[k]);
        counts[k]++;
        if (!rows[i].scenario_sha256[0] && tf.state == TASK_DONE) /* older index */
            memcpy(rows[i].scenario_sha256, tf.sha, LM_SHA256_HEX);
    }
    fprintf(out, "Sweep index %s (lmsim %s)\n", index_path, version);
    fprintf(out, "Sweep file %s, SHA-256 %s\n", file, sha);
    fprintf(out, "Base scenario %s, sweep seed %s\n", base, seed);
    fprintf(out,
            "%d points x %d replicates = %d tasks: %d done, %d changed since the index, %d "
            "damaged, %d missing\n",
            n_points, n_reps, (int)n, counts[0], counts[1], counts[2], counts[3]);
    fprintf(out, "\nPoints:\n");
    for (hsize_t i = 0; i < n; i++) {
        int seen = 0;
        for (hsize_t j = 0; j < i && !seen; j++)
            seen = strcmp(rows[j].point, rows[i].point) == 0;
        if (!seen)
            fprintf(out, "  %-24s %s\n", rows[i].point,
                    rows[i].overrides[0] ? rows[i].overrides : "(no overrides)");
    }
    fprintf(out, "\nTasks:\n  %5s  %-24s %9s  %-20s %12s  %-8s %s\n", "task", "point", "replicate",
            "seed", "employment", "status", "scenario SHA-256");
    for (hsize_t i = 0; i < n; i++)
        fprintf(out, "  %5d  %-24s %9d  %-20s %12.5f  %-8s %s\n", (int)rows[i].task, rows[i].point,
                (int)rows[i].replicate, rows[i].seed, rows[i].employment_rate_end, status[i],
                rows[i].scenario_sha256[0] ? rows[i].scenario_sha256 : "unknown");
    if (counts[1] + counts[2] + counts[3] > 0)
        fprintf(out, "\nRun `lmsim sweep SWEEP.cfg -o DIR` again to redo the tasks that are not "
                     "done and rewrite the index.\n");
    lm__free(status);
    if (fclose(out) != 0 || !buf) {
        out = NULL;
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    out = NULL;
    if (!(*text = lm__malloc(len + 1))) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(*text, buf, len);
    (*text)[len] = '\0';
done:
    if (out)
        fclose(out);
    free(buf);
    if (f >= 0)
        H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    lm__free(info);
    lm__free(rows);
    return rc;
}

void lm_sweep_text_free(char *text) {
    lm__free(text);
}

/* The rows of one run comparison's impacts (lmsim/sweep.h), in order. */
static int impact_rows(const lm_run_comparison *c, lm_sweep_impact_row *r) {
    static const char *const cost_rows[3] = {"programme_cost_gbp",
                                             "cost_per_additional_sustained_job",
                                             "cost_per_additional_employment_month"};
    int n = 0;
    for (int g = 0; g < c->n_rows; g++)
        for (int m = 0; m < LM_IMPACT_MEASURES; m++, n++) {
            snprintf(r[n].group, sizeof r[n].group, "%s", c->impacts[g].group);
            snprintf(r[n].measure, sizeof r[n].measure, "%s", c->impact_measure[m]);
            r[n].a = c->impacts[g].a[m], r[n].b = c->impacts[g].b[m];
            r[n].diff = c->impacts[g].diff[m];
        }
    const double *q[2] = {c->cost_per_sustained_job, c->cost_per_employment_month};
    for (int k = 0; k < 3; k++, n++) {
        snprintf(r[n].group, sizeof r[n].group, "all");
        snprintf(r[n].measure, sizeof r[n].measure, "%s", cost_rows[k]);
        r[n].a = k ? (double)NAN : c->cost_a;
        r[n].b = k ? (double)NAN : c->cost_b;
        r[n].diff = k ? q[k - 1][0] : c->cost_diff;
    }
    for (int k = 0; c->has_appraisal && k < LM_APPRAISAL_ROWS; k++, n++) {
        snprintf(r[n].group, sizeof r[n].group, "all");
        snprintf(r[n].measure, sizeof r[n].measure, "appraisal_%s", c->appraisal[k].measure);
        r[n].a = c->appraisal[k].a, r[n].b = c->appraisal[k].b, r[n].diff = c->appraisal[k].diff;
    }
    for (int k = 0; c->has_appraisal && k < c->n_programmes; k++, n++) {
        snprintf(r[n].group, sizeof r[n].group, "programme:%.40s", c->programme[k]);
        snprintf(r[n].measure, sizeof r[n].measure, "appraisal_programme_cost_gbp");
        r[n].a = c->programme_cost_a[k], r[n].b = c->programme_cost_b[k];
        r[n].diff = c->programme_cost_b[k] - c->programme_cost_a[k];
    }
    return n;
}

int lm_sweep_compare_impacts(const char *index_path, const char *point_a, const char *point_b,
                             lm_sweep_impacts *out, lm_error *err) {
    memset(out, 0, sizeof *out);
    lm_compare pairs; /* checks the index and the points, counts the replicates */
    int rc = lm_sweep_compare(index_path, point_a, point_b, &pairs, err);
    if (rc)
        return rc;
    lm_run_comparison *c = lm__malloc(sizeof *c);
    lm_sweep_impact_row *one = lm__malloc(LM_SWEEP_IMPACT_ROWS * sizeof *one);
    /* every replicate's B - A, for a two-pass variance */
    double *dv = lm__calloc((size_t)pairs.n_pairs * LM_SWEEP_IMPACT_ROWS + 1, sizeof *dv);
    if (!c || !one || !dv) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto done;
    }
    const char *slash = strrchr(index_path, '/');
    const int dir_len = slash ? (int)(slash - index_path + 1) : 0;
    for (int rep = 0, found = 0; found < pairs.n_pairs && rep < 100000; rep++) {
        char pa[1200], pb[1200];
        snprintf(pa, sizeof pa, "%.*s%s_r%03d.h5", dir_len, index_path, point_a, rep);
        snprintf(pb, sizeof pb, "%.*s%s_r%03d.h5", dir_len, index_path, point_b, rep);
        if (access(pa, F_OK) != 0 || access(pb, F_OK) != 0)
            continue;
        found++;
        if ((rc = lm_run_compare(pa, pb, c, err)))
            goto done;
        if (!c->has_impacts) {
            rc = LM_FAIL(err, LM_EARG, LM_MSG_IMPACTS_NEED_PANELS, pa, c->panel_a, pb, c->panel_b);
            goto done;
        }
        int n = impact_rows(c, one);
        if (out->n_pairs == 0) {
            out->n_rows = n;
            memcpy(out->rows, one, (size_t)n * sizeof *one);
        } else {
            if (n != out->n_rows) {
                rc = LM_FAIL(err, LM_EHDF5, "'%s': the replicates' impact tables differ in rows",
                             index_path);
                goto done;
            }
            for (int i = 0; i < n; i++) {
                out->rows[i].a += one[i].a, out->rows[i].b += one[i].b;
                out->rows[i].diff += one[i].diff;
            }
        }
        for (int i = 0; i < n; i++)
            dv[(size_t)out->n_pairs * LM_SWEEP_IMPACT_ROWS + (size_t)i] = one[i].diff;
        out->n_pairs++;
    }
    const double r = (double)out->n_pairs;
    const double t = r > 1.0 ? gsl_cdf_tdist_Pinv(0.975, r - 1.0) : (double)NAN;
    for (int i = 0; i < out->n_rows; i++) {
        lm_sweep_impact_row *o = &out->rows[i];
        o->a /= r, o->b /= r, o->diff /= r;
        double ss = 0.0;
        for (int k = 0; k < out->n_pairs; k++) {
            double d = dv[(size_t)k * LM_SWEEP_IMPACT_ROWS + (size_t)i] - o->diff;
            ss += d * d;
        }
        o->se = r > 1.0 ? sqrt(ss / (r - 1.0)) / sqrt(r) : (double)NAN;
        o->lo = o->diff - t * o->se;
        o->hi = o->diff + t * o->se;
    }
done:
    lm__free(c);
    lm__free(one);
    lm__free(dv);
    return rc;
}
