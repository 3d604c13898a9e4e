/* compare.c - two run files, B - A: headline differences with standard errors.
 *
 * The differences are those of the two /outcomes/headline tables at the last
 * month. The standard errors come from the last row of each file's panel:
 * every headline measure is a ratio R = sum(y) / sum(x) over the persons of
 * a group (lmsim/compare.h lists y and x), linearised per panel column i as
 *
 *   z_i = g_i (y_i - R x_i) / xbar,   xbar = sum(g x) / n,
 *
 * with g_i = 1 when the person in column i is in the group at the last month
 * and n the panel columns. sum(z) = 0; V = sum(z^2) / n estimates the
 * per-person variance, and the headline ratio over all N persons of the run
 * has variance V / N (N = n in a full panel; a sampled panel estimates V).
 * Unpaired: V_A / N + V_B / N. Paired (same seed, same panel columns, same
 * person in every column at the last month): sum((z_B - z_A)^2) / n / N,
 * the variance of the mean per-person difference. Group membership is read
 * per file, so a person in a group in one run only (a population setting
 * changed) still pairs correctly. For a rate over persons with a full panel,
 * V / N is exactly the binomial p (1 - p) / n_group.
 *
 * A file without a panel contributes the binomial variance from its headline
 * counts (denominators persons, the active, the employed); mean earnings then
 * has no standard error (NaN).
 *
 * No silent no-ops. Pairs that cannot be compared are refused, and a
 * comparison that shows nothing says so, with the texts of lmsim/messages.h
 * that analysis/lmsim/compare.py repeats word for word: two runs whose
 * datasets under /aggregates and /outcomes are byte for byte the same are
 * identical (every difference is zero, whatever the panels), and rows that
 * are all zero at the last month are explained; each file's own warnings
 * (root attribute `warnings`: timeline changes after the run's end,
 * programmes that refer no one) are passed on, since they are the usual
 * reason for zero differences.
 */
#include "lmsim/compare.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "lmsim/messages.h"
#include "lmsim/scenario.h"

#define M LM_RUN_COMPARE_MEASURES
#define Z975 1.959963984540054 /* standard normal 97.5 % quantile */

static const char *const measure_names[M] = {"employment_rate", "unemployment_rate",
                                             "inactivity_rate", "good_job_share", "mean_earnings"};

/* State codes of /panel/state (docs/output-format.md). */
enum { ST_INACTIVE_SICK = 0, ST_UNEMPLOYED = 4, ST_EMPLOYED_POOR = 5, ST_EMPLOYED_GOOD = 6 };

/* The attribute a headline group filters on. */
enum { GD_ALL, GD_DISABLED, GD_FEMALE, GD_MINORITY, GD_AGE, GD_REGION };
typedef struct cmp_group {
    int dim, value;
} cmp_group;

/* The last panel row of one file and each column's person's attributes. */
typedef struct cmp_panel {
    int64_t n;          /* panel columns */
    int32_t *slot;      /* /panel/person */
    int32_t *pid;       /* person id in each column at the last month */
    uint8_t *state;     /* state at the last month */
    uint16_t *earnings; /* GBP at the last month */
    uint8_t *attr[5];   /* per column: region, female, disabled, minority, age band */
} cmp_panel;

static void panel_free(cmp_panel *p) {
    lm__free(p->slot);
    lm__free(p->pid);
    lm__free(p->state);
    lm__free(p->earnings);
    for (int k = 0; k < 5; k++)
        lm__free(p->attr[k]);
    memset(p, 0, sizeof *p);
}

/* Load the last month of the panel of `path` (open as f) and, from /persons,
 * the attributes of each column's occupant at that month. */
static int panel_load(const char *path, hid_t f, const lm_file_info *info, cmp_panel *p,
                      lm_error *err) {
    static const char *const attr_names[4] = {"/persons/region", "/persons/female",
                                              "/persons/disabled", "/persons/minority"};
    memset(p, 0, sizeof *p);
    int64_t n = lm__h5_vec_len(f, "/panel/person");
    if (n < 0)
        return LM_FAIL(err, LM_EHDF5, "'%s': panel mode '%s' but no 1-D /panel/person", path,
                       info->panel_mode);
    p->n = n;
    size_t sz = (size_t)n + 1;
    p->slot = lm__malloc(sz * sizeof *p->slot);
    p->pid = lm__malloc(sz * sizeof *p->pid);
    p->state = lm__malloc(sz);
    p->earnings = lm__malloc(sz * sizeof *p->earnings);
    for (int k = 0; k < 5; k++)
        p->attr[k] = lm__calloc(sz, 1);
    int64_t *occ = lm__malloc(sz * sizeof *occ);
    int32_t *id = NULL, *slot = NULL, *birth = NULL;
    uint8_t *a = NULL;
    int rc = LM_OK;
    if (!p->slot || !p->pid || !p->state || !p->earnings || !p->attr[0] || !p->attr[1] ||
        !p->attr[2] || !p->attr[3] || !p->attr[4] || !occ) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory reading the panel of '%s'", path);
        goto done;
    }
    const int64_t last = info->n_months;
    if (lm__h5_read_vec(f, "/panel/person", H5T_NATIVE_INT32, 4, -1, n, p->slot) ||
        lm__h5_read_vec(f, "/panel/person_id", H5T_NATIVE_INT32, 4, last, n, p->pid) ||
        lm__h5_read_vec(f, "/panel/state", 0, 1, last, n, p->state) ||
        lm__h5_read_vec(f, "/panel/earnings", H5T_NATIVE_UINT16, 2, last, n, p->earnings)) {
        rc = LM_FAIL(err, LM_EHDF5,
                     "'%s': cannot read month %lld of /panel (person, person_id, state, earnings) "
                     "for %lld columns",
                     path, (long long)last, (long long)n);
        goto done;
    }
    for (int64_t j = 0; j < n; j++) {
        if (p->slot[j] < 0 || p->slot[j] >= info->n_persons ||
            (j > 0 && p->slot[j] <= p->slot[j - 1])) {
            rc = LM_FAIL(err, LM_EHDF5, "'%s': /panel/person is not an ascending list of slots",
                         path);
            goto done;
        }
        occ[j] = -1;
    }
    /* /persons: the last row of a column's slot is its occupant at the last month. */
    int64_t rows = lm__h5_vec_len(f, "/persons/id");
    if (rows < 0) {
        rc = LM_FAIL(err, LM_EHDF5, "'%s': panel mode '%s' but no 1-D /persons/id", path,
                     info->panel_mode);
        goto done;
    }
    size_t rz = (size_t)rows + 1;
    id = lm__malloc(rz * sizeof *id);
    slot = lm__malloc(rz * sizeof *slot);
    birth = lm__malloc(rz * sizeof *birth);
    a = lm__malloc(rz);
    if (!id || !slot || !birth || !a) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory reading /persons of '%s'", path);
        goto done;
    }
    if (lm__h5_read_vec(f, "/persons/id", H5T_NATIVE_INT32, 4, -1, rows, id) ||
        lm__h5_read_vec(f, "/persons/slot", H5T_NATIVE_INT32, 4, -1, rows, slot) ||
        lm__h5_read_vec(f, "/persons/birth_month", H5T_NATIVE_INT32, 4, -1, rows, birth)) {
        rc = LM_FAIL(err, LM_EHDF5, "'%s': cannot read /persons (id, slot, birth_month)", path);
        goto done;
    }
    for (int64_t r = 0; r < rows; r++) {
        int64_t j = lm__column_of(p->slot, n, slot[r]);
        if (j < 0) {
            rc = LM_FAIL(err, LM_EHDF5, "'%s': /persons row %lld has slot %d outside the panel",
                         path, (long long)r, (int)slot[r]);
            goto done;
        }
        occ[j] = r;
    }
    for (int64_t j = 0; j < n; j++) {
        if (occ[j] < 0 || id[occ[j]] != p->pid[j]) {
            rc = LM_FAIL(err, LM_EHDF5,
                         "'%s': panel column %lld holds person %d at month %lld but /persons "
                         "does not list that person last for its slot",
                         path, (long long)j, (int)p->pid[j], (long long)last);
            goto done;
        }
        int band = lm_age_band_of((int)(last - birth[occ[j]]));
        p->attr[4][j] = (uint8_t)(band < 0 ? 255 : band);
    }
    for (int k = 0; k < 4; k++) {
        if (lm__h5_read_vec(f, attr_names[k], H5T_NATIVE_UINT8, 1, -1, rows, a)) {
            rc = LM_FAIL(err, LM_EHDF5, "'%s': cannot read %s", path, attr_names[k]);
            goto done;
        }
        for (int64_t j = 0; j < n; j++)
            p->attr[k][j] = a[occ[j]];
    }
    /* Disability may be acquired after entry: the panel holds it month by
     * month (files written before lmsim had /panel/disabled keep /persons). */
    if (H5Lexists(f, "/panel/disabled", H5P_DEFAULT) > 0 &&
        lm__h5_read_vec(f, "/panel/disabled", H5T_NATIVE_UINT8, 1, last, n, p->attr[2])) {
        rc = LM_FAIL(err, LM_EHDF5, "'%s': cannot read month %lld of /panel/disabled", path,
                     (long long)last);
        goto done;
    }
done:
    lm__free(occ);
    lm__free(id);
    lm__free(slot);
    lm__free(birth);
    lm__free(a);
    if (rc)
        panel_free(p);
    return rc;
}

/* The filter of headline row `name`; *n_region counts region rows seen. */
static int group_of(const char *name, int *n_region, cmp_group *g) {
    static const struct {
        const char *name;
        int dim, value;
    } fixed[] = {
        {"all", GD_ALL, 0},       {"disabled", GD_DISABLED, 1}, {"not_disabled", GD_DISABLED, 0},
        {"female", GD_FEMALE, 1}, {"male", GD_FEMALE, 0},       {"ethnic_minority", GD_MINORITY, 1},
        {"white", GD_MINORITY, 0}};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        if (strcmp(name, fixed[k].name) == 0) {
            g->dim = fixed[k].dim;
            g->value = fixed[k].value;
            return 0;
        }
    if (strncmp(name, "age:", 4) == 0)
        for (int b = 0; b < LM_N_AGE_BANDS; b++)
            if (strcmp(name + 4, lm_age_band_name(b)) == 0) {
                g->dim = GD_AGE;
                g->value = b;
                return 0;
            }
    if (strncmp(name, "region:", 7) == 0) { /* rows in region order; names may be truncated */
        g->dim = GD_REGION;
        g->value = (*n_region)++;
        return 0;
    }
    return -1;
}

static inline int in_group(const cmp_panel *p, int64_t j, const cmp_group *g) {
    switch (g->dim) {
    case GD_DISABLED:
        return p->attr[2][j] == g->value;
    case GD_FEMALE:
        return p->attr[1][j] == g->value;
    case GD_MINORITY:
        return p->attr[3][j] == g->value;
    case GD_AGE:
        return p->attr[4][j] == g->value;
    case GD_REGION:
        return p->attr[0][j] == g->value;
    default:
        return 1;
    }
}

/* y and x of every measure for column j (lmsim/compare.h). */
static inline void yx_of(const cmp_panel *p, int64_t j, double y[M], double x[M]) {
    const int s = p->state[j];
    const double emp = s == ST_EMPLOYED_POOR || s == ST_EMPLOYED_GOOD;
    const double un = s == ST_UNEMPLOYED, inact = s < ST_UNEMPLOYED;
    y[0] = emp, x[0] = 1.0;
    y[1] = un, x[1] = emp + un;
    y[2] = inact, x[2] = 1.0;
    y[3] = s == ST_EMPLOYED_GOOD, x[3] = emp;
    y[4] = emp * (double)p->earnings[j], x[4] = emp;
}

/* Linearisation constants of group g in panel p: z = g (y - r x) * inv. */
typedef struct lin {
    double r[M], inv[M];
    int64_t members;
} lin;

static lin linearise(const cmp_panel *p, const cmp_group *g) {
    double sy[M] = {0}, sx[M] = {0}, y[M], x[M];
    lin l;
    l.members = 0;
    for (int64_t j = 0; j < p->n; j++) {
        if (!in_group(p, j, g))
            continue;
        l.members++;
        yx_of(p, j, y, x);
        for (int m = 0; m < M; m++)
            sy[m] += y[m], sx[m] += x[m];
    }
    for (int m = 0; m < M; m++) {
        l.r[m] = sx[m] > 0.0 ? sy[m] / sx[m] : 0.0;
        l.inv[m] = sx[m] > 0.0 ? (double)p->n / sx[m] : 0.0;
    }
    return l;
}

/* Binomial variance contributions of one headline row (no panel). */
static void headline_var(const lm_headline_row *h, double v[M]) {
    const double P = (double)h->persons[1];
    const double employed = round(h->employment_rate[1] * P);
    const double active = P - round(h->inactivity_rate[1] * P);
    const double p[4] = {h->employment_rate[1], h->unemployment_rate[1], h->inactivity_rate[1],
                         h->good_job_share[1]};
    const double den[4] = {P, active, P, employed};
    for (int m = 0; m < 4; m++)
        v[m] = den[m] > 0.0 ? p[m] * (1.0 - p[m]) / den[m] : 0.0;
    v[4] = (double)NAN;
}

/* ---- impacts ------------------------------------------------------------- */

#define LI LM_IMPACT_MEASURES
static const char *const impact_names[LI] = {"employment_months", "sustained_jobs", "earnings_gbp",
                                             "benefit_months"};
#define SUSTAINED_MONTHS 6 /* a job counts as sustained when it reaches this many months */

/* The appraisal settings of a file (/appraisal; lmsim/compare.h). */
typedef struct appr {
    int on;
    double rate, base, first, last;
    double ben[LM_N_STATES], health, tax[LM_TAX_PARAMS], wb_work, wb_lim;
} appr;

#define NA 4 /* appraisal columns per panel column: output, tax, benefits, wellbeing */
#define NT (LM_IMPACT_MEASURES + NA) /* totals per panel column */

static int attr_f64(hid_t g, const char *name, double *v, hssize_t n) {
    hid_t a = H5Aopen(g, name, H5P_DEFAULT), sp = H5I_INVALID_HID;
    int ok = a >= 0 && (sp = H5Aget_space(a)) >= 0 && H5Sget_simple_extent_npoints(sp) == n &&
             H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    return ok ? 0 : -1;
}

/* Read /appraisal of f into *a (a->on = 0 when the file has none). */
static int appr_load(const char *path, hid_t f, appr *a, lm_error *err) {
    memset(a, 0, sizeof *a);
    if (H5Lexists(f, "/appraisal", H5P_DEFAULT) <= 0)
        return LM_OK;
    hid_t g = H5Gopen2(f, "/appraisal", H5P_DEFAULT);
    int bad = g < 0 || attr_f64(g, "discount_rate", &a->rate, 1) ||
              attr_f64(g, "price_base_year", &a->base, 1) ||
              attr_f64(g, "first_month", &a->first, 1) || attr_f64(g, "last_month", &a->last, 1) ||
              attr_f64(g, "benefit_by_state", a->ben, LM_N_STATES) ||
              attr_f64(g, "health_element", &a->health, 1) ||
              attr_f64(g, "tax_schedule", a->tax, LM_TAX_PARAMS) ||
              attr_f64(g, "wellbeing_in_work", &a->wb_work, 1) ||
              attr_f64(g, "wellbeing_limiting", &a->wb_lim, 1);
    if (g >= 0)
        H5Gclose(g);
    if (bad)
        return LM_FAIL(err, LM_EHDF5, "'%s': cannot read the /appraisal settings", path);
    a->on = 1;
    return LM_OK;
}

/* Discount factor of month m of a run starting at (year, month): to the
 * price base year, a whole year at a time (Green Book). */
static double discount(const appr *a, int year0, int month0, int m) {
    int year = year0 + (month0 - 1 + m) / 12;
    return pow(1.0 + a->rate, -(double)(year - (int)a->base));
}

/* Per column totals over months 1..n_months of the impact measures
 * (lmsim/compare.h) and, when a->on, the appraisal's discounted sums over
 * its months, into t (n x NT). */
static int panel_totals(const char *path, hid_t f, int n_months, int y0, int m0, const appr *a,
                        int64_t n, double *t, lm_error *err) {
    size_t sz = (size_t)n + 1;
    uint8_t *st = lm__malloc(sz);
    uint16_t *earn = lm__malloc(sz * sizeof *earn), *run = lm__malloc(sz * sizeof *run);
    uint8_t *lim = lm__calloc(sz, 1);
    int rc = LM_OK;
    if (!st || !earn || !run || !lim) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory reading the panel of '%s'", path);
        goto done;
    }
    memset(t, 0, (size_t)n * NT * sizeof *t);
    const int need_lim = a->on && (a->health > 0.0 || a->wb_lim > 0.0);
    for (int m = 1; m <= n_months; m++) {
        const int appraised = a->on && m >= (int)a->first && m <= (int)a->last;
        if (appraised && need_lim &&
            lm__h5_read_vec(f, "/panel/limiting", H5T_NATIVE_UINT8, 1, m, n, lim)) {
            rc = LM_FAIL(err, LM_EHDF5, "'%s': cannot read month %d of /panel/limiting", path, m);
            goto done;
        }
        const double df = appraised ? discount(a, y0, m0, m) : 0.0;
        if (lm__h5_read_vec(f, "/panel/state", 0, 1, m, n, st) ||
            lm__h5_read_vec(f, "/panel/earnings", H5T_NATIVE_UINT16, 2, m, n, earn) ||
            lm__h5_read_vec(f, "/panel/sustained_months", H5T_NATIVE_UINT16, 2, m, n, run)) {
            rc = LM_FAIL(err, LM_EHDF5,
                         "'%s': cannot read month %d of /panel (state, earnings, sustained_months)",
                         path, m);
            goto done;
        }
        for (int64_t j = 0; j < n; j++) {
            const int s = st[j];
            const int emp = s == ST_EMPLOYED_POOR || s == ST_EMPLOYED_GOOD;
            double *tj = t + (size_t)j * NT;
            tj[0] += emp;
            tj[1] += emp && run[j] == SUSTAINED_MONTHS;
            tj[2] += emp ? (double)earn[j] : 0.0;
            tj[3] += s == ST_UNEMPLOYED || s == ST_INACTIVE_SICK;
            if (!appraised)
                continue;
            double tax = 0.0, employer = 0.0, e = emp ? (double)earn[j] : 0.0;
            if (e > 0.0)
                lm_tax_month(a->tax, e, &tax, &employer);
            const int limiting = need_lim && lim[j];
            tj[LI + 0] += df * (e + employer);
            tj[LI + 1] += df * (tax + employer);
            tj[LI + 2] +=
                df * (a->ben[s < LM_N_STATES ? s : 0] + (!emp && limiting ? a->health : 0.0));
            tj[LI + 3] += df * (emp * a->wb_work - limiting * a->wb_lim);
        }
    }
done:
    lm__free(lim);
    lm__free(st);
    lm__free(earn);
    lm__free(run);
    return rc;
}

/* cost / impact with the interval from the impact's: NaN when it includes 0. */
static void per_unit(double cost, double diff, double lo, double hi, double out[3]) {
    out[0] = diff != 0.0 && cost != 0.0 ? cost / diff : (double)NAN;
    if (cost == 0.0 || !(lo > 0.0 || hi < 0.0)) {
        out[1] = out[2] = (double)NAN;
        return;
    }
    double x = cost / lo, y = cost / hi;
    out[1] = x < y ? x : y;
    out[2] = x < y ? y : x;
}

typedef struct colsum {
    double sum, ss;
} colsum;

/* Totals over group g of both files of u = w x sum_q coef[q] t[column][q],
 * their difference, its s.e. (paired: column by column) and 95 % interval:
 * out = {A, B, B - A, s.e., low, high}. */
static void total_diff(const cmp_panel pan[2], double *const t[2], const double w[2],
                       const cmp_group *g, const double *coef, int paired, double out[6]) {
    colsum c[2];
    double mean[2];
    for (int k = 0; k < 2; k++) {
        c[k].sum = c[k].ss = 0.0;
        for (int pass = 0; pass < 2; pass++)
            for (int64_t j = 0; j < pan[k].n; j++) {
                double u = 0.0;
                if (in_group(&pan[k], j, g))
                    for (int q = 0; q < NT; q++)
                        u += coef[q] * t[k][(size_t)j * NT + q];
                u *= w[k];
                if (pass == 0)
                    c[k].sum += u;
                else
                    c[k].ss += (u - mean[k]) * (u - mean[k]);
                if (pass == 0 && j == pan[k].n - 1)
                    mean[k] = c[k].sum / (double)pan[k].n;
            }
    }
    double sd = 0.0;
    for (int64_t j = 0; paired && j < pan[0].n; j++) {
        double u[2] = {0.0, 0.0};
        for (int k = 0; k < 2; k++) {
            if (in_group(&pan[k], j, g))
                for (int q = 0; q < NT; q++)
                    u[k] += coef[q] * t[k][(size_t)j * NT + q];
            u[k] *= w[k];
        }
        double d = (u[1] - u[0]) - (mean[1] - mean[0]);
        sd += d * d;
    }
    out[0] = c[0].sum;
    out[1] = c[1].sum;
    out[2] = c[1].sum - c[0].sum;
    out[3] = paired ? sqrt(sd) : sqrt(c[0].ss + c[1].ss); /* total = n mean: s.e. sqrt(n var) */
    out[4] = out[2] - Z975 * out[3];
    out[5] = out[2] + Z975 * out[3];
}

static const char *const appraisal_names[LM_APPRAISAL_ROWS] = {
    "programme_cost_gbp", "tax_ni_gbp",      "benefits_gbp", "exchequer_net_cost_gbp", "output_gbp",
    "wellbeing_gbp",      "npv_society_gbp", "bcr_society",  "public_finances_per_gbp"};

static void set_row(lm_appraisal_row *r, const double v[6]) {
    r->a = v[0], r->b = v[1], r->diff = v[2], r->se = v[3], r->lo = v[4], r->hi = v[5];
}

/* Discounted programme costs of file f over the appraisal's months. */
static int programme_costs(const char *path, hid_t f, const lm_file_info *info, const appr *a,
                           int y0, int m0, double *cost, lm_error *err) {
    const int np = info->programmes.n_rows > 0 ? LM_MAX_PROGRAMMES : 0;
    memset(cost, 0, LM_MAX_PROGRAMMES * sizeof *cost);
    if (np == 0 || H5Lexists(f, "/outcomes/programme_costs", H5P_DEFAULT) <= 0)
        return LM_OK;
    hid_t d = H5Dopen2(f, "/outcomes/programme_costs", H5P_DEFAULT), sp = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    int ok = d >= 0 && (sp = H5Dget_space(d)) >= 0 && H5Sget_simple_extent_ndims(sp) == 2 &&
             H5Sget_simple_extent_dims(sp, dims, NULL) == 2 &&
             dims[0] == (hsize_t)info->n_months + 1 && dims[1] <= LM_MAX_PROGRAMMES;
    double *c = ok ? lm__malloc((size_t)(dims[0] * dims[1] + 1) * sizeof *c) : NULL;
    ok = ok && c && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c) >= 0;
    for (hsize_t m = 1; ok && m < dims[0]; m++)
        if ((int)m >= (int)a->first && (int)m <= (int)a->last)
            for (hsize_t k = 0; k < dims[1]; k++)
                cost[k] += discount(a, y0, m0, (int)m) * c[m * dims[1] + k];
    lm__free(c);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return ok ? LM_OK : LM_FAIL(err, LM_EHDF5, "'%s': cannot read /outcomes/programme_costs", path);
}

/* Names of the programmes of /outcomes/programme_costs, in its order. */
static int programme_names(hid_t f, char names[LM_MAX_PROGRAMMES][48]) {
    if (H5Lexists(f, "/outcomes/programme_costs", H5P_DEFAULT) <= 0)
        return 0;
    hid_t d = H5Dopen2(f, "/outcomes/programme_costs", H5P_DEFAULT);
    hid_t a = d >= 0 ? H5Aopen(d, "programme_names", H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    hid_t t = H5Tcopy(H5T_C_S1);
    char *v[LM_MAX_PROGRAMMES] = {0};
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    int got = 0;
    if (n > 0 && n <= LM_MAX_PROGRAMMES && t >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
        H5Tset_cset(t, H5T_CSET_UTF8) >= 0 && H5Aread(a, t, v) >= 0) {
        for (int k = 0; k < (int)n; k++)
            snprintf(names[k], 48, "%.47s", v[k] ? v[k] : "?");
        H5Dvlen_reclaim(t, sp, H5P_DEFAULT, v);
        got = (int)n;
    }
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    if (d >= 0)
        H5Dclose(d);
    return got;
}

static void ratio_row(lm_appraisal_row *r, const double num[6], double cost) {
    r->a = r->b = r->se = (double)NAN;
    r->diff = cost > 0.0 ? num[2] / cost : (double)NAN;
    r->lo = cost > 0.0 ? num[4] / cost : (double)NAN;
    r->hi = cost > 0.0 ? num[5] / cost : (double)NAN;
}

/* The appraisal of out (lmsim/compare.h). */
static int appraise(lm_run_comparison *out, const char *const path[2], const hid_t f[2],
                    const lm_file_info *info, const appr *a, int y0, int m0, const cmp_panel pan[2],
                    double *const t[2], const double w[2], int paired, lm_error *err) {
    double ca[LM_MAX_PROGRAMMES], cb[LM_MAX_PROGRAMMES];
    int rc;
    if ((rc = programme_costs(path[0], f[0], &info[0], a, y0, m0, ca, err)) ||
        (rc = programme_costs(path[1], f[1], &info[1], a, y0, m0, cb, err)))
        return rc;
    char na[LM_MAX_PROGRAMMES][48], nb[LM_MAX_PROGRAMMES][48];
    int n_a = programme_names(f[0], na), n_b = programme_names(f[1], nb);
    /* Per programme, by name: A's then B's own. */
    out->n_programmes = 0;
    for (int k = 0; k < n_a; k++) {
        int i = out->n_programmes++;
        memcpy(out->programme[i], na[k], sizeof out->programme[i]);
        out->programme_cost_a[i] = ca[k];
        out->programme_cost_b[i] = 0.0;
    }
    for (int k = 0; k < n_b; k++) {
        int i = 0;
        while (i < out->n_programmes && strcmp(out->programme[i], nb[k]) != 0)
            i++;
        if (i == out->n_programmes) {
            if (i == LM_MAX_PROGRAMMES)
                continue;
            out->n_programmes++;
            memcpy(out->programme[i], nb[k], sizeof out->programme[i]);
            out->programme_cost_a[i] = 0.0;
        }
        out->programme_cost_b[i] = cb[k];
    }
    double ca_sum = 0.0, cb_sum = 0.0;
    for (int i = 0; i < out->n_programmes; i++)
        ca_sum += out->programme_cost_a[i], cb_sum += out->programme_cost_b[i];
    const double dc = cb_sum - ca_sum; /* programme costs are exact: no s.e. */
    /* Sums of the appraisal's columns per panel column (after the LI impacts):
     * 0 output, 1 tax and NI, 2 benefits, 3 wellbeing. */
    enum { P_TAX, P_BEN, P_OUT, P_WB, P_SOCIAL, P_FISCAL, N_PICK };
    static const double pick[N_PICK][NA] = {{0, 1, 0, 0}, {0, 0, 1, 0}, {1, 0, 0, 0},
                                            {0, 0, 0, 1}, {1, 0, 0, 1}, {0, 1, -1, 0}};
    const cmp_group all = {GD_ALL, 0};
    double v[N_PICK][6]; /* {A, B, B - A, s.e., low, high} */
    for (int r = 0; r < N_PICK; r++) {
        double co[NT] = {0};
        for (int q = 0; q < NA; q++)
            co[LI + q] = pick[r][q];
        total_diff(pan, t, w, &all, co, paired, v[r]);
    }
    const double *soc = v[P_SOCIAL], *fis = v[P_FISCAL]; /* output + wellbeing; tax - benefits */
    const double nan = (double)NAN;
    const double cost[6] = {ca_sum, cb_sum, dc, nan, nan, nan};
    /* exchequer net cost = programme costs - (tax - benefits) */
    const double exch[6] = {ca_sum - fis[0], cb_sum - fis[1], dc - fis[2],
                            fis[3],          dc - fis[5],     dc - fis[4]};
    /* NPV to society = output + wellbeing - programme costs, of the difference */
    const double npv[6] = {nan, nan, soc[2] - dc, soc[3], soc[4] - dc, soc[5] - dc};
    const double *rows[7] = {cost, v[P_TAX], v[P_BEN], exch, v[P_OUT], v[P_WB], npv};
    for (int r = 0; r < 7; r++) {
        out->appraisal[r].measure = appraisal_names[r];
        set_row(&out->appraisal[r], rows[r]);
    }
    out->appraisal[7].measure = appraisal_names[7];
    ratio_row(&out->appraisal[7], soc, dc);
    out->appraisal[8].measure = appraisal_names[8];
    ratio_row(&out->appraisal[8], fis, dc);
    out->has_appraisal = 1;
    out->price_base_year = (int)a->base;
    out->discount_rate = a->rate;
    out->appraisal_first = (int)a->first;
    out->appraisal_last = (int)a->last;
    return LM_OK;
}

/* The impacts of out (lmsim/compare.h), both files having panels. */
static int impacts(lm_run_comparison *out, const char *const path[2], const hid_t f[2],
                   const lm_file_info *info, const cmp_panel pan[2], int paired, lm_error *err) {
    double *t[2] = {NULL, NULL};
    appr ap[2];
    int rc = LM_OK, y0 = 0, m0 = 0;
    for (int k = 0; k < 2 && rc == LM_OK; k++)
        rc = appr_load(path[k], f[k], &ap[k], err);
    if (rc)
        return rc;
    if (ap[0].on && ap[1].on && memcmp(&ap[0], &ap[1], sizeof ap[0]) != 0)
        return LM_FAIL(err, LM_EARG, LM_MSG_APPRAISAL_DIFFERS, path[0], path[1]);
    const appr *a = ap[0].on ? &ap[0] : &ap[1];
    if (a->on && sscanf(info[0].start_month, "%4d-%2d", &y0, &m0) != 2)
        return LM_FAIL(err, LM_EHDF5, "'%s': start month '%s' is not YYYY-MM", path[0],
                       info[0].start_month);
    for (int k = 0; k < 2 && rc == LM_OK; k++) {
        t[k] = lm__malloc(((size_t)pan[k].n + 1) * NT * sizeof *t[k]);
        rc = t[k] ? panel_totals(path[k], f[k], info[k].n_months, y0, m0, a, pan[k].n, t[k], err)
                  : LM_FAIL(err, LM_ENOMEM, "out of memory reading the panel of '%s'", path[k]);
    }
    if (rc)
        goto done;
    double w[2]; /* represented persons per panel column */
    for (int k = 0; k < 2; k++)
        w[k] = (double)info[k].represents / (double)(pan[k].n > 0 ? pan[k].n : 1);
    int n_region = 0;
    for (int r = 0; r < out->n_rows; r++) {
        lm_impact_row *o = &out->impacts[r];
        cmp_group g;
        snprintf(o->group, sizeof o->group, "%s", out->rows[r].group);
        if (group_of(o->group, &n_region, &g)) {
            rc = LM_FAIL(err, LM_EHDF5, "'%s': unknown headline group '%s'", path[0], o->group);
            goto done;
        }
        for (int m = 0; m < LI; m++) {
            double co[NT] = {0}, v[6];
            co[m] = 1.0;
            total_diff(pan, t, w, &g, co, paired, v);
            o->a[m] = v[0], o->b[m] = v[1], o->diff[m] = v[2], o->se[m] = v[3];
            o->lo[m] = v[4], o->hi[m] = v[5];
        }
    }
    out->cost_a = out->cost_b = 0.0;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < info[k].programmes.n_rows; i++)
            *(k ? &out->cost_b : &out->cost_a) += info[k].programmes.rows[i].cost_total;
    out->cost_diff = out->cost_b - out->cost_a;
    const lm_impact_row *all = NULL;
    for (int r = 0; r < out->n_rows && !all; r++)
        if (strcmp(out->impacts[r].group, "all") == 0)
            all = &out->impacts[r];
    for (int q = 0; q < 3; q++)
        out->cost_per_sustained_job[q] = out->cost_per_employment_month[q] = (double)NAN;
    if (all) {
        per_unit(out->cost_diff, all->diff[1], all->lo[1], all->hi[1], out->cost_per_sustained_job);
        per_unit(out->cost_diff, all->diff[0], all->lo[0], all->hi[0],
                 out->cost_per_employment_month);
    }
    out->has_impacts = 1;
    if (a->on && a->first <= a->last) /* (an appraisal after the run's end: none) */
        rc = appraise(out, path, f, info, a, y0, m0, pan, t, w, paired, err);
done:
    lm__free(t[0]);
    lm__free(t[1]);
    return rc;
}

/* ---- identical runs ------------------------------------------------------ */

#define MAX_TABLES 64 /* datasets under /aggregates and /outcomes */

typedef struct table_list {
    int n, overflow;
    const char *group;
    char name[MAX_TABLES][128];
} table_list;

static herr_t list_table(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    table_list *l = data;
    (void)info;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0)
        return 0;
    if (H5Iget_type(o) == H5I_DATASET) {
        if (l->n < MAX_TABLES)
            snprintf(l->name[l->n++], sizeof l->name[0], "%s/%s", l->group, name);
        else
            l->overflow = 1;
    }
    H5Oclose(o);
    return 0;
}

/* The datasets under /aggregates and /outcomes of f, in name order. */
static void list_tables(hid_t f, table_list *l) {
    static const char *const groups[2] = {"/aggregates", "/outcomes"};
    l->n = l->overflow = 0;
    for (int k = 0; k < 2; k++) {
        if (H5Lexists(f, groups[k], H5P_DEFAULT) <= 0)
            continue;
        hid_t g = H5Gopen2(f, groups[k], H5P_DEFAULT);
        if (g < 0) {
            l->overflow = 1;
            continue;
        }
        l->group = groups[k];
        if (H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, list_table, l) < 0)
            l->overflow = 1;
        H5Gclose(g);
    }
}

/* Whether a type holds variable-length data (its bytes are pointers). */
static int has_vlen(hid_t t) {
    switch (H5Tget_class(t)) {
    case H5T_VLEN:
        return 1;
    case H5T_STRING:
        return H5Tis_variable_str(t) != 0;
    case H5T_COMPOUND: {
        int n = H5Tget_nmembers(t), v = 0;
        for (int k = 0; k < n && !v; k++) {
            hid_t m = H5Tget_member_type(t, (unsigned)k);
            v = m < 0 || has_vlen(m);
            if (m >= 0)
                H5Tclose(m);
        }
        return v;
    }
    case H5T_ARRAY: {
        hid_t b = H5Tget_super(t);
        int v = b < 0 || has_vlen(b);
        if (b >= 0)
            H5Tclose(b);
        return v;
    }
    default:
        return 0;
    }
}

/* For a 1-D compound table of type t (the same in both) whose only
 * variable-length members are strings (/outcomes/headline, ...): 1 when the
 * n rows of d[0] and d[1] hold the same strings and the same stored bytes
 * in every other member; 0 when not, or when it cannot tell. */
static int same_strings_table(const hid_t d[2], hid_t t, size_t n) {
    const int nm = H5Tget_nmembers(t);
    if (H5Tget_class(t) != H5T_COMPOUND || nm <= 0 || nm > LM__H5_TABLE_MAX_COLS)
        return 0;
    size_t off[LM__H5_TABLE_MAX_COLS], size[LM__H5_TABLE_MAX_COLS], row = 0;
    int str[LM__H5_TABLE_MAX_COLS];
    hid_t mem = H5I_INVALID_HID, space = H5I_INVALID_HID;
    unsigned char *buf[2] = {NULL, NULL};
    int ok = 1, same = 0;
    for (int k = 0; k < nm && ok; k++) { /* each member as stored; strings as char * */
        hid_t m = H5Tget_member_type(t, (unsigned)k);
        ok = m >= 0;
        str[k] = ok && H5Tget_class(m) == H5T_STRING && H5Tis_variable_str(m) > 0;
        ok = ok && (str[k] || !has_vlen(m));
        size[k] = str[k] ? sizeof(char *) : ok ? H5Tget_size(m) : 0;
        row = str[k] ? (row + sizeof(char *) - 1) / sizeof(char *) * sizeof(char *) : row;
        off[k] = row;
        row += size[k];
        if (m >= 0)
            H5Tclose(m);
    }
    row = (row + 7u) / 8u * 8u;
    ok = ok && (mem = H5Tcreate(H5T_COMPOUND, row)) >= 0;
    for (int k = 0; k < nm && ok; k++) {
        char *name = H5Tget_member_name(t, (unsigned)k);
        hid_t m = H5Tget_member_type(t, (unsigned)k), c = H5I_INVALID_HID;
        ok = name != NULL && m >= 0;
        if (ok && str[k])
            ok = (c = H5Tcopy(H5T_C_S1)) >= 0 && H5Tset_size(c, H5T_VARIABLE) >= 0 &&
                 H5Tset_cset(c, H5Tget_cset(m)) >= 0;
        ok = ok && H5Tinsert(mem, name, off[k], str[k] ? c : m) >= 0;
        if (c >= 0)
            H5Tclose(c);
        if (m >= 0)
            H5Tclose(m);
        if (name)
            H5free_memory(name);
    }
    hsize_t dim = (hsize_t)n;
    ok = ok && (space = H5Screate_simple(1, &dim, NULL)) >= 0;
    for (int k = 0; k < 2 && ok; k++)
        ok = (buf[k] = lm__calloc(n, row)) != NULL &&
             H5Dread(d[k], mem, space, H5S_ALL, H5P_DEFAULT, buf[k]) >= 0;
    same = ok;
    for (size_t i = 0; i < n && same; i++)
        for (int k = 0; k < nm && same; k++) {
            const unsigned char *a = buf[0] + i * row + off[k], *b = buf[1] + i * row + off[k];
            if (str[k]) {
                const char *sa, *sb;
                memcpy(&sa, a, sizeof sa);
                memcpy(&sb, b, sizeof sb);
                same = strcmp(sa ? sa : "", sb ? sb : "") == 0;
            } else {
                same = memcmp(a, b, size[k]) == 0;
            }
        }
    for (int k = 0; k < 2; k++) {
        if (buf[k] && mem >= 0 && space >= 0)
            H5Dvlen_reclaim(mem, space, H5P_DEFAULT, buf[k]);
        lm__free(buf[k]);
    }
    if (space >= 0)
        H5Sclose(space);
    if (mem >= 0)
        H5Tclose(mem);
    return same;
}

/* 1 when dataset `name` has the same type, shape and stored bytes in fa and
 * fb (strings of a compound table: the same text); 0 when not, or when it
 * cannot tell (other variable-length data, a read error, no memory). */
static int same_dataset(hid_t fa, hid_t fb, const char *name) {
    hid_t d[2] = {H5I_INVALID_HID, H5I_INVALID_HID}, t[2] = {H5I_INVALID_HID, H5I_INVALID_HID};
    hid_t sp[2] = {H5I_INVALID_HID, H5I_INVALID_HID};
    hsize_t dims[2][H5S_MAX_RANK];
    void *buf[2] = {NULL, NULL};
    int same = 0, rank[2] = {-1, -1};
    const hid_t f[2] = {fa, fb};
    for (int k = 0; k < 2; k++)
        if ((d[k] = H5Dopen2(f[k], name, H5P_DEFAULT)) < 0 || (t[k] = H5Dget_type(d[k])) < 0 ||
            (sp[k] = H5Dget_space(d[k])) < 0 ||
            (rank[k] = H5Sget_simple_extent_dims(sp[k], dims[k], NULL)) < 0)
            goto done;
    if (H5Tequal(t[0], t[1]) <= 0 || rank[0] != rank[1])
        goto done;
    if (has_vlen(t[0])) {
        same = rank[0] == 1 && dims[0][0] == dims[1][0] &&
               (dims[0][0] == 0 || same_strings_table(d, t[0], (size_t)dims[0][0]));
        goto done;
    }
    size_t bytes = H5Tget_size(t[0]);
    for (int r = 0; r < rank[0]; r++) {
        if (dims[0][r] != dims[1][r])
            goto done;
        bytes *= (size_t)dims[0][r];
    }
    if (bytes == 0) {
        same = 1;
        goto done;
    }
    for (int k = 0; k < 2; k++)
        if ((buf[k] = lm__calloc(bytes, 1)) == NULL ||
            H5Dread(d[k], t[k], H5S_ALL, H5S_ALL, H5P_DEFAULT, buf[k]) < 0)
            goto done;
    same = memcmp(buf[0], buf[1], bytes) == 0;
done:
    for (int k = 0; k < 2; k++) {
        lm__free(buf[k]);
        if (sp[k] >= 0)
            H5Sclose(sp[k]);
        if (t[k] >= 0)
            H5Tclose(t[k]);
        if (d[k] >= 0)
            H5Dclose(d[k]);
    }
    return same;
}

/* Whether every dataset under /aggregates and /outcomes is the same in both. */
static int same_tables(hid_t fa, hid_t fb) {
    table_list *l = lm__calloc(2, sizeof *l);
    int same = l != NULL;
    if (same) {
        list_tables(fa, &l[0]);
        list_tables(fb, &l[1]);
        same = !l[0].overflow && !l[1].overflow && l[0].n == l[1].n && l[0].n > 0;
    }
    for (int k = 0; same && k < l[0].n; k++)
        same = strcmp(l[0].name[k], l[1].name[k]) == 0 && same_dataset(fa, fb, l[0].name[k]);
    lm__free(l);
    return same;
}

/* Append one line to out->warnings. */
static void add_line(lm_run_comparison *out, const char *line) {
    size_t len = strlen(out->warnings);
    snprintf(out->warnings + len, sizeof out->warnings - len, "%s%s", len ? "\n" : "", line);
}

/* The verdict and the files' own warnings into out->warnings and the note. */
static void verdicts(lm_run_comparison *out, const char *const path[2], const hid_t f[2],
                     const lm_file_info info[2]) {
    const char *verdict = NULL;
    if (out->identical) {
        char *ta = lm__h5_text_attr(f[0], "scenario_text"),
             *tb = lm__h5_text_attr(f[1], "scenario_text");
        verdict = ta && tb && strcmp(ta, tb) == 0 && out->seed_a == out->seed_b
                      ? LM_MSG_IDENTICAL
                      : LM_MSG_IDENTICAL_SCENARIOS_DIFFER;
        lm__free(ta);
        lm__free(tb);
    } else if (out->zero_at_end) {
        verdict = LM_MSG_LAST_MONTH_ZERO;
    }
    if (verdict) {
        char note[sizeof out->note];
        snprintf(note, sizeof note, "%s%s%.400s", verdict, out->note[0] ? "; " : "", out->note);
        snprintf(out->note, sizeof out->note, "%s", note);
        add_line(out, verdict);
    }
    for (int k = 0; k < 2; k++) {
        const char *w = info[k].warnings;
        while (*w) {
            const char *nl = strchr(w, '\n');
            size_t n = nl ? (size_t)(nl - w) : strlen(w);
            char line[1200], msg[1400];
            snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), w);
            snprintf(msg, sizeof msg, LM_MSG_FILE_WARNING, path[k], line);
            add_line(out, msg);
            w += n + (nl != NULL);
        }
    }
}

static int open_ro(const char *path, hid_t *f, lm_error *err) {
    *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*f < 0)
        return LM_FAIL(err, LM_EIO, "cannot open HDF5 file '%s'", path);
    return LM_OK;
}

int lm_run_compare(const char *path_a, const char *path_b, lm_run_comparison *out, lm_error *err) {
    if (!path_a || !path_b || !out)
        return LM_FAIL(err, LM_EARG, "lm_run_compare: two paths and a result are required");
    memset(out, 0, sizeof *out);
    for (int m = 0; m < M; m++)
        out->measure[m] = measure_names[m];
    const char *path[2] = {path_a, path_b};
    lm_file_info *info = lm__calloc(2, sizeof *info);
    if (!info)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    cmp_panel pan[2];
    memset(pan, 0, sizeof pan);
    hid_t f[2] = {-1, -1};
    H5E_auto2_t efn;
    void *edata;
    H5Eget_auto2(H5E_DEFAULT, &efn, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = LM_OK;
    for (int k = 0; k < 2 && rc == LM_OK; k++)
        rc = lm_h5_describe(path[k], &info[k], err);
    if (rc)
        goto done;

    /* Comparable: the same persons, months and headline groups. */
    const lm_file_info *A = &info[0], *B = &info[1];
    char why[160] = "", na[24], nb[24];
    snprintf(na, sizeof na, "%lld", (long long)A->n_persons);
    snprintf(nb, sizeof nb, "%lld", (long long)B->n_persons);
    if (A->n_persons != B->n_persons)
        snprintf(why, sizeof why, LM_MSG_PERSONS_DIFFER, na, nb);
    else if (A->n_months != B->n_months)
        snprintf(why, sizeof why, LM_MSG_MONTHS_DIFFER, A->n_months, B->n_months);
    else if (strcmp(A->start_month, B->start_month) != 0)
        snprintf(why, sizeof why, LM_MSG_START_DIFFERS, A->start_month, B->start_month);
    else if (A->headline.n_rows != B->headline.n_rows)
        snprintf(why, sizeof why, LM_MSG_GROUPS_DIFFER, A->headline.n_rows, B->headline.n_rows);
    for (int r = 0; !why[0] && r < A->headline.n_rows; r++)
        if (strcmp(A->headline.rows[r].group, B->headline.rows[r].group) != 0)
            snprintf(why, sizeof why, LM_MSG_GROUP_DIFFERS, r, A->headline.rows[r].group,
                     B->headline.rows[r].group);
    if (why[0]) {
        rc = LM_FAIL(err, LM_EARG, LM_MSG_NOT_COMPARABLE, path_a, path_b, why);
        goto done;
    }
    out->seed_a = A->seed;
    out->seed_b = B->seed;
    out->same_seed = A->seed == B->seed;
    out->n_persons = A->n_persons;
    out->represents_a = A->represents;
    out->represents_b = B->represents;
    out->n_months = A->n_months;
    snprintf(out->start_month, sizeof out->start_month, "%s", A->start_month);
    snprintf(out->panel_a, sizeof out->panel_a, "%s", A->panel_mode);
    snprintf(out->panel_b, sizeof out->panel_b, "%s", B->panel_mode);

    int has_panel[2];
    for (int k = 0; k < 2; k++)
        if ((rc = open_ro(path[k], &f[k], err)))
            goto done;
    out->identical = same_tables(f[0], f[1]);
    for (int k = 0; k < 2; k++) {
        has_panel[k] = strcmp(info[k].panel_mode, "none") != 0;
        if (has_panel[k] && (rc = panel_load(path[k], f[k], &info[k], &pan[k], err)))
            goto done;
    }

    /* The basis: paired needs the same seed and the same person in every column. */
    int paired = has_panel[0] && has_panel[1];
    if (!has_panel[0] || !has_panel[1]) {
        snprintf(out->note, sizeof out->note,
                 "%s (panel mode none): unpaired standard errors, binomial from the headline "
                 "persons counts, none for mean earnings%s",
                 !has_panel[0] && !has_panel[1] ? "neither file has a panel"
                 : !has_panel[0]                ? "A has no panel"
                                                : "B has no panel",
                 out->same_seed ? "; with the same seed they overstate the noise of the difference"
                                : "");
        out->basis = LM_BASIS_HEADLINE;
        paired = 0;
    } else if (!out->same_seed) {
        snprintf(out->note, sizeof out->note,
                 "seeds differ (%llu against %llu): no common random numbers, unpaired standard "
                 "errors only",
                 (unsigned long long)A->seed, (unsigned long long)B->seed);
        paired = 0;
    } else if (pan[0].n != pan[1].n ||
               memcmp(pan[0].slot, pan[1].slot, (size_t)pan[0].n * sizeof *pan[0].slot) != 0) {
        snprintf(out->note, sizeof out->note,
                 "the panels hold different persons (panel modes %s and %s): unpaired standard "
                 "errors only",
                 A->panel_mode, B->panel_mode);
        paired = 0;
    } else if (memcmp(pan[0].pid, pan[1].pid, (size_t)pan[0].n * sizeof *pan[0].pid) != 0) {
        snprintf(out->note, sizeof out->note,
                 "the panels hold different persons at month %d: unpaired standard errors only",
                 A->n_months);
        paired = 0;
    }
    if (out->basis != LM_BASIS_HEADLINE)
        out->basis = paired ? LM_BASIS_PAIRED : LM_BASIS_UNPAIRED;
    out->n_panel = paired ? pan[0].n : 0;

    const double N = (double)A->n_persons;
    int n_region = 0, zero = 1;
    out->n_rows = A->headline.n_rows;
    for (int r = 0; r < out->n_rows; r++) {
        const lm_headline_row *ha = &A->headline.rows[r], *hb = &B->headline.rows[r];
        lm_run_compare_row *o = &out->rows[r];
        snprintf(o->group, sizeof o->group, "%s", ha->group);
        o->persons_a = ha->persons[1];
        o->persons_b = hb->persons[1];
        const double va[M] = {ha->employment_rate[1], ha->unemployment_rate[1],
                              ha->inactivity_rate[1], ha->good_job_share[1], ha->mean_earnings[1]};
        const double vb[M] = {hb->employment_rate[1], hb->unemployment_rate[1],
                              hb->inactivity_rate[1], hb->good_job_share[1], hb->mean_earnings[1]};
        cmp_group g;
        if (group_of(ha->group, &n_region, &g)) {
            rc = LM_FAIL(err, LM_EHDF5, "'%s': unknown headline group '%s'", path_a, ha->group);
            goto done;
        }
        double var[2][M], ss[2][M] = {{0}}, sd[M] = {0};
        lin l[2];
        memset(l, 0, sizeof l);
        for (int k = 0; k < 2; k++) {
            if (!has_panel[k]) {
                headline_var(k ? hb : ha, var[k]);
                continue;
            }
            l[k] = linearise(&pan[k], &g);
            /* A full panel is every person: its group must match the headline. */
            if (pan[k].n == info[k].n_persons && l[k].members != (k ? hb : ha)->persons[1]) {
                rc = LM_FAIL(err, LM_EHDF5,
                             "'%s': the panel has %lld persons in group '%s' at month %d, the "
                             "headline %lld",
                             path[k], (long long)l[k].members, ha->group, A->n_months,
                             (long long)(k ? hb : ha)->persons[1]);
                goto done;
            }
        }
        if (has_panel[0] || has_panel[1]) {
            const int64_t n = has_panel[0] ? pan[0].n : pan[1].n;
            for (int64_t j = 0; j < (paired ? n : 0); j++) {
                double z[2][M];
                for (int k = 0; k < 2; k++) {
                    double y[M], x[M];
                    int in = in_group(&pan[k], j, &g);
                    yx_of(&pan[k], j, y, x);
                    for (int m = 0; m < M; m++)
                        z[k][m] = in ? (y[m] - l[k].r[m] * x[m]) * l[k].inv[m] : 0.0;
                }
                for (int m = 0; m < M; m++) {
                    double d = z[1][m] - z[0][m];
                    ss[0][m] += z[0][m] * z[0][m];
                    ss[1][m] += z[1][m] * z[1][m];
                    sd[m] += d * d;
                }
            }
            for (int k = 0; k < 2 && !paired; k++) {
                if (!has_panel[k])
                    continue;
                for (int64_t j = 0; j < pan[k].n; j++) {
                    if (!in_group(&pan[k], j, &g))
                        continue;
                    double y[M], x[M];
                    yx_of(&pan[k], j, y, x);
                    for (int m = 0; m < M; m++) {
                        double z = (y[m] - l[k].r[m] * x[m]) * l[k].inv[m];
                        ss[k][m] += z * z;
                    }
                }
            }
            for (int k = 0; k < 2; k++)
                if (has_panel[k])
                    for (int m = 0; m < M; m++)
                        var[k][m] = ss[k][m] / (double)pan[k].n / N;
        }
        for (int m = 0; m < M; m++) {
            o->a[m] = va[m];
            o->b[m] = vb[m];
            o->diff[m] = vb[m] - va[m];
            o->se_unpaired[m] = sqrt(var[0][m] + var[1][m]); /* NaN stays NaN */
            o->se_paired[m] = paired ? sqrt(sd[m] / (double)pan[0].n / N) : (double)NAN;
            double se = paired ? o->se_paired[m] : o->se_unpaired[m];
            o->lo[m] = o->diff[m] - Z975 * se;
            o->hi[m] = o->diff[m] + Z975 * se;
            zero &= o->diff[m] == 0.0;
        }
    }
    out->zero_at_end = zero;
    for (int m = 0; m < LI; m++)
        out->impact_measure[m] = impact_names[m];
    if (has_panel[0] && has_panel[1] && (rc = impacts(out, path, f, info, pan, paired, err)))
        goto done;
    verdicts(out, path, f, info);
done:
    for (int k = 0; k < 2; k++) {
        panel_free(&pan[k]);
        if (f[k] >= 0)
            H5Fclose(f[k]);
    }
    H5Eset_auto2(H5E_DEFAULT, efn, edata);
    lm__free(info);
    return rc;
}
