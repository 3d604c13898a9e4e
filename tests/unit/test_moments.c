#define _POSIX_C_SOURCE 200809L
/* test_moments.c - every streamed measure against a brute-force computation.
 *
 * A small run of tests/data/programmes.cfg (20,000 persons, 36 months, two
 * programmes) keeps the full history of every slot in memory: the
 * occupant's id and attributes, state, months in state, consecutive months
 * in work and the engine's referral follow-up fields, month by month. Each
 * target of tests/data/moments_targets.cfg (every measure of the catalogue,
 * with groups, versus groups and trial arms) is then recomputed by direct
 * loops over that history - cohorts by following person ids forward,
 * "continuously in work" by checking every month - and must equal the
 * streamed numerator, denominator and value exactly. Also:
 *  - the trial variant (evaluation.trial = "ips") likewise;
 *  - results are bit-identical for 1 and 3 threads, and after
 *    lm_moments_reset and a second run;
 *  - referral outcomes at 12 months equal the engine's own counts
 *    (any_job_12, employed_12, worked_13w_12 over followed_12); a person
 *    referred again keeps the earlier referral's follow-up (the engine's
 *    second slot) unless it is a trial's offer of the same spell or a third
 *    referral closes it;
 *  - every allocation failure of lm_moments_create is LM_ENOMEM;
 *  - observing months out of order is LM_EARG.
 */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "internal.h"
#include "lmsim.h"
#include "targets_internal.h"
#include "test_util.h"

#define PERSONS "simulation.persons=20000"

/* The full history of a run: [month][slot] arrays. */
typedef struct history {
    int T;
    int64_t n;
    int64_t *id;
    int32_t *birth;
    uint8_t *region, *female, *disabled, *minority, *qual, *caring, *state;
    uint16_t *mis, *sus;
    uint8_t *tprog, *tarm, *tflags, *t2flags;
    uint16_t *tmonth;
    int64_t *prog; /* [month][LM_PROG_CELLS] */
} history;

static void history_alloc(history *h, int T, int64_t n) {
    const size_t c = (size_t)(T + 1) * (size_t)n;
    h->T = T;
    h->n = n;
    h->id = calloc(c, sizeof *h->id);
    h->birth = calloc(c, sizeof *h->birth);
    h->region = calloc(c, 1);
    h->female = calloc(c, 1);
    h->disabled = calloc(c, 1);
    h->minority = calloc(c, 1);
    h->qual = calloc(c, 1);
    h->caring = calloc(c, 1);
    h->state = calloc(c, 1);
    h->mis = calloc(c, sizeof *h->mis);
    h->sus = calloc(c, sizeof *h->sus);
    h->tprog = calloc(c, 1);
    h->tarm = calloc(c, 1);
    h->tflags = calloc(c, 1);
    h->t2flags = calloc(c, 1);
    h->tmonth = calloc(c, sizeof *h->tmonth);
    h->prog = calloc((size_t)(T + 1) * LM_PROG_CELLS, sizeof *h->prog);
    assert_non_null(h->prog);
    assert_non_null(h->tmonth);
}

static void history_free(history *h) {
    free(h->id);
    free(h->birth);
    free(h->region);
    free(h->female);
    free(h->disabled);
    free(h->minority);
    free(h->qual);
    free(h->caring);
    free(h->state);
    free(h->mis);
    free(h->sus);
    free(h->tprog);
    free(h->tarm);
    free(h->tflags);
    free(h->t2flags);
    free(h->tmonth);
    free(h->prog);
}

static void record(history *h, const lm_sim *sim) {
    const lm_population *p = lm_sim_population(sim);
    const int t = lm_sim_month(sim);
    const size_t o = (size_t)t * (size_t)h->n, n = (size_t)h->n;
    for (int64_t i = 0; i < h->n; i++)
        h->id[o + (size_t)i] = lm_population_id(p, i);
    memcpy(h->birth + o, p->birth_month, n * sizeof *h->birth);
    memcpy(h->region + o, p->region, n);
    memcpy(h->female + o, p->female, n);
    memcpy(h->disabled + o, p->disabled, n);
    memcpy(h->minority + o, p->minority, n);
    memcpy(h->qual + o, p->qual, n);
    memcpy(h->caring + o, p->caring, n);
    memcpy(h->state + o, p->state, n);
    memcpy(h->mis + o, p->months_in_state, n * sizeof *h->mis);
    memcpy(h->sus + o, p->sustained_months, n * sizeof *h->sus);
    memcpy(h->tprog + o, p->track_prog, n);
    memcpy(h->tarm + o, p->track_arm, n);
    memcpy(h->tflags + o, p->track_flags, n);
    memcpy(h->t2flags + o, p->track2_flags, n);
    memcpy(h->tmonth + o, p->track_month, n * sizeof *h->tmonth);
    memcpy(h->prog + (size_t)t * LM_PROG_CELLS, lm_sim_prog_counts(sim),
           LM_PROG_CELLS * sizeof *h->prog);
}

#define AT(h, field, t, j) ((h)->field[(size_t)(t) * (size_t)(h)->n + (size_t)(j)])

static lm_scenario *load_scenario(const char *trial) {
    char path[1024], set[64];
    lm_scenario *sc = NULL;
    lm_error err;
    const char *sets[2] = {PERSONS, set};
    snprintf(set, sizeof set, "evaluation.trial=\"%s\"", trial ? trial : "");
    int rc = lm_scenario_load(lm_test_data(path, sizeof path, "programmes.cfg"), sets,
                              trial ? 2 : 1, &sc, &err);
    if (rc)
        printf("load failed: %s\n", err.msg);
    assert_int_equal(rc, LM_OK);
    return sc;
}

static lm_targets *load_targets(void) {
    char path[1024];
    lm_targets *t = NULL;
    lm_error err;
    int rc = lm_targets_load(lm_test_data(path, sizeof path, "moments_targets.cfg"), &t, &err);
    if (rc)
        printf("targets failed: %s\n", err.msg);
    assert_int_equal(rc, LM_OK);
    return t;
}

/* Run sc observing variant v with `threads` threads; history when h. */
static void run(const lm_scenario *sc, const lm_targets *t, int v, int threads, history *h,
                lm_target_result *res) {
    lm_sim *sim = NULL;
    lm_moments *m = NULL;
    lm_error err;
    omp_set_num_threads(threads);
    assert_int_equal(lm_sim_create(sc, threads, &sim, &err), LM_OK);
    assert_int_equal(lm_moments_create(t, v, sc, &m, &err), LM_OK);
    if (h)
        history_alloc(h, sc->n_months, sc->n_persons);
    for (int month = 0;; month++) {
        assert_int_equal(lm_moments_observe(m, sim, &err), LM_OK);
        if (h)
            record(h, sim);
        if (month == sc->n_months)
            break;
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
    }
    lm_targets_results_init(t, res);
    assert_int_equal(lm_moments_results(m, 0.0, res, &err), LM_OK);
    /* Observing out of order is refused. */
    assert_int_equal(lm_moments_observe(m, sim, &err), LM_EARG);
    lm_moments_destroy(m);
    lm_sim_destroy(sim);
}

/* ------------------------------------------------------------------------ */
/* Brute force                                                               */

static int in_set(uint8_t mask, int s) {
    return (mask >> s) & 1;
}

static int employed(int s) {
    return s == LM_STATE_EMPLOYED_POOR || s == LM_STATE_EMPLOYED_GOOD;
}

static int group_at(const history *h, const lm_selector *sel, int t, int64_t j) {
    int band = lm_age_band_of(t - AT(h, birth, t, j));
    assert_true(band >= 0);
    return lm_selector_match(sel, AT(h, region, t, j), AT(h, female, t, j), band,
                             AT(h, disabled, t, j), AT(h, minority, t, j), AT(h, qual, t, j),
                             AT(h, caring, t, j), AT(h, state, t, j));
}

/* The same person in slot j at months a and b (ids are never reused). */
static int same(const history *h, int a, int b, int64_t j) {
    return a >= 0 && b <= h->T && AT(h, id, a, j) == AT(h, id, b, j);
}

/* Whether slot j's follow-up (re)starts in month t. */
static int starts(const history *h, int t, int64_t j) {
    return AT(h, tprog, t, j) != 0 && AT(h, tmonth, t, j) == t;
}

static void brute_side(const lm_targets *t, int i, int versus, const lm_scenario *sc,
                       const history *h, int64_t *num, int64_t *den) {
    const lm__target *x = &t->t[i];
    lm_selector sel;
    lm_error err;
    assert_int_equal(lm__targets_selector(t, i, versus, sc, &sel, &err), LM_OK);
    const int dlo = versus ? x->vdur[0] : x->dur[0], dhi = versus ? x->vdur[1] : x->dur[1];
    const uint8_t arms = versus ? x->varms : x->arms;
    const int k = x->lag;
    int prog = -1;
    for (int q = 0; x->programme && q < sc->n_programmes; q++)
        if (strcmp(sc->programmes[q].name, x->programme) == 0)
            prog = q;
    *num = *den = 0;
    if (x->measure == LM__M_PROGRAMME_COUNT) {
        for (int u = x->m0; u <= x->m1; u++) {
            for (int arm = 0; arm < LM_N_ARMS; arm++)
                *num += h->prog[(size_t)u * LM_PROG_CELLS + lm_prog_index(prog, arm, x->event)];
            (*den)++;
        }
        return;
    }
    for (int64_t j = 0; j < h->n; j++) {
        switch (x->measure) {
        case LM__M_SHARE:
            for (int u = x->m0; u <= x->m1; u++) {
                int s = AT(h, state, u, j);
                if (group_at(h, &sel, u, j) && in_set(x->among, s)) {
                    (*den)++;
                    *num += in_set(x->states, s);
                }
            }
            break;
        case LM__M_DURATION_SHARE:
            for (int u = x->m0; u <= x->m1; u++) {
                int s = AT(h, state, u, j), d = AT(h, mis, u, j);
                if (group_at(h, &sel, u, j) && in_set(x->states, s)) {
                    (*den)++;
                    *num += d >= dlo && d <= dhi;
                }
            }
            break;
        case LM__M_FLOW:
            for (int u = x->m0; u <= x->m1; u++) {
                int d = AT(h, mis, u - 1, j);
                if (same(h, u - 1, u, j) && in_set(x->from, AT(h, state, u - 1, j)) && d >= dlo &&
                    d <= dhi && group_at(h, &sel, u - 1, j)) {
                    (*den)++;
                    *num += in_set(x->to, AT(h, state, u, j));
                }
            }
            break;
        case LM__M_STATE_AFTER:
            for (int u = x->m0; u <= x->m1; u++)
                if (same(h, u, u + k, j) && in_set(x->from, AT(h, state, u, j)) &&
                    group_at(h, &sel, u, j)) {
                    (*den)++;
                    *num += in_set(x->to, AT(h, state, u + k, j));
                }
            break;
        case LM__M_OUT_AFTER_ENTRY:
        case LM__M_JOB_SURVIVAL:
            for (int u = x->m0; u <= x->m1; u++) {
                if (u < 1 || !same(h, u - 1, u + k, j) ||
                    !in_set(x->from, AT(h, state, u - 1, j)) || !employed(AT(h, state, u, j)) ||
                    !group_at(h, &sel, u, j))
                    continue;
                (*den)++;
                int all_in = 1;
                for (int w = u + 1; w <= u + k; w++)
                    all_in &= employed(AT(h, state, w, j));
                if (x->measure == LM__M_JOB_SURVIVAL)
                    *num += all_in;
                else if (x->mode_any)
                    *num += !all_in;
                else
                    *num += !employed(AT(h, state, u + k, j));
            }
            break;
        case LM__M_LOW_PAY: {
            const int m0 = x->m0, Y = k, e = m0 + LM_MONTHS_PER_YEAR * Y;
            if (!same(h, m0, e, j) || AT(h, state, m0, j) != LM_STATE_EMPLOYED_POOR ||
                !group_at(h, &sel, m0, j))
                break;
            (*den)++;
            int stuck = 1, escaped = 1, exited = 0;
            for (int y = 1; y <= Y; y++) {
                int s = AT(h, state, m0 + LM_MONTHS_PER_YEAR * y, j);
                stuck &= s == LM_STATE_EMPLOYED_POOR;
                if (y >= Y - 2)
                    escaped &= s == LM_STATE_EMPLOYED_GOOD;
                if (y == Y)
                    exited = !employed(s);
            }
            int is = x->outcome == LM__LP_STUCK     ? stuck
                     : x->outcome == LM__LP_ESCAPED ? escaped
                     : x->outcome == LM__LP_EXITED  ? exited
                                                    : !stuck && !escaped && !exited;
            *num += is;
            break;
        }
        case LM__M_PROGRAMME:
            for (int s0 = x->m0; s0 <= x->m1; s0++) {
                const int e = s0 + k;
                if (!starts(h, s0, j) || AT(h, tprog, s0, j) != prog + 1 || !same(h, s0, e, j) ||
                    !((arms >> AT(h, tarm, s0, j)) & 1) || !group_at(h, &sel, s0, j))
                    continue;
                /* A later referral keeps this follow-up (as the engine's
                 * second slot) unless it is the offer of this spell under a
                 * trial (arm drawn: the follow-up restarts) or a second
                 * later referral cuts it (the oldest of three). */
                int referred = 0, offered = 0;
                for (int w = s0 + 1; w <= e; w++)
                    if (starts(h, w, j)) {
                        offered |= referred == 0 && AT(h, tarm, w, j) != 0;
                        referred += AT(h, tarm, w, j) == 0;
                    }
                if (offered || referred >= 2)
                    continue;
                (*den)++;
                int any = 0, worked = 0, s6 = 0, s12 = 0;
                for (int w = s0; w <= e; w++) {
                    int emp = employed(AT(h, state, w, j));
                    any |= emp;
                    worked += emp;
                    s6 |= emp && AT(h, sus, w, j) >= 6;
                    s12 |= emp && AT(h, sus, w, j) >= 12;
                }
                const uint8_t f = referred ? AT(h, t2flags, e, j) : AT(h, tflags, e, j);
                switch (x->outcome) {
                case LM__PO_ANY_JOB:
                    *num += any;
                    break;
                case LM__PO_EMPLOYED:
                    *num += employed(AT(h, state, e, j));
                    break;
                case LM__PO_WORKED_13W:
                    *num += worked >= 3;
                    break;
                case LM__PO_SUSTAINED_6:
                    *num += s6;
                    break;
                case LM__PO_SUSTAINED_12:
                    *num += s12;
                    break;
                case LM__PO_PAID_OUTCOME:
                    *num += (f & LM_TRACK_OUTCOME) != 0;
                    break;
                default:
                    *num += (f & LM_TRACK_STARTED) != 0;
                }
            }
            break;
        default:
            fail_msg("measure %d not covered", x->measure);
        }
    }
}

/* Value of one side, as the spec defines it; 0 when den is 0. */
static int side(const lm__target *x, const lm_scenario *sc, int64_t num, int64_t den, double *v,
                double *se) {
    if (den == 0)
        return 0;
    if (x->measure == LM__M_PROGRAMME_COUNT) {
        double f = (double)sc->represents / (double)sc->n_persons;
        *v = (double)num / (double)den * f;
        *se = sqrt((double)num) / (double)den * f;
    } else {
        double p = (double)num / (double)den;
        *v = p;
        *se = sqrt(p * (1.0 - p) / (double)den);
    }
    return 1;
}

static int close_to(double a, double b) {
    return fabs(a - b) <= 1e-12 * (1.0 + fabs(b));
}

/* Every target of variant v in res equals the brute force on h. */
static int check_all(const lm_targets *t, int v, const lm_scenario *sc, const history *h,
                     const lm_target_result *res) {
    int checked = 0, available = 0;
    for (int i = 0; i < t->n; i++) {
        const lm__target *x = &t->t[i];
        if (x->variant != v)
            continue;
        int64_t na, da, nb = 0, db = 0;
        brute_side(t, i, 0, sc, h, &na, &da);
        if (x->compare)
            brute_side(t, i, 1, sc, h, &nb, &db);
        const lm_target_result *r = &res[i];
        printf("%-20s num %8lld den %8lld  versus %8lld / %8lld  simulated %.6f%s%s\n", x->id,
               (long long)na, (long long)da, (long long)nb, (long long)db, r->simulated,
               r->available ? "" : "  n/a: ", r->reason);
        assert_true(r->numerator == (double)na);
        assert_true(r->denominator == (double)da);
        double va, sa, vb = 0.0, sb = 0.0;
        int ok = side(x, sc, na, da, &va, &sa) && (!x->compare || side(x, sc, nb, db, &vb, &sb)) &&
                 (x->compare != LM__CMP_RATIO || vb > 0.0);
        assert_int_equal(r->available, ok);
        checked++;
        if (!ok)
            continue;
        available++;
        double want = x->compare == LM__CMP_RATIO        ? va / vb
                      : x->compare == LM__CMP_DIFFERENCE ? va - vb
                                                         : va;
        double want_se = x->compare == LM__CMP_RATIO
                             ? sqrt(sa * sa / (vb * vb) + va * va * sb * sb / (vb * vb * vb * vb))
                         : x->compare == LM__CMP_DIFFERENCE ? sqrt(sa * sa + sb * sb)
                                                            : sa;
        assert_true(close_to(r->simulated, want));
        assert_true(close_to(r->se, want_se));
        assert_int_equal(r->pass, fabs(r->simulated - x->value) <= x->tolerance + 0.0 * r->se);
    }
    printf("variant %d: %d targets checked, %d available\n", v, checked, available);
    return available;
}

static void same_results(const lm_targets *t, const lm_target_result *a,
                         const lm_target_result *b) {
    for (int i = 0; i < t->n; i++) {
        assert_int_equal(a[i].available, b[i].available);
        assert_int_equal(a[i].pass, b[i].pass);
        assert_memory_equal(&a[i].simulated, &b[i].simulated, sizeof(double));
        assert_memory_equal(&a[i].se, &b[i].se, sizeof(double));
        assert_true(a[i].numerator == b[i].numerator && a[i].denominator == b[i].denominator);
        assert_string_equal(a[i].reason, b[i].reason);
    }
}

static void test_brute_force(void **state) {
    (void)state;
    lm_scenario *sc = load_scenario(NULL);
    lm_targets *t = load_targets();
    const size_t n = lm_targets_count(t);
    lm_target_result *r1 = calloc(n, sizeof *r1), *r3 = calloc(n, sizeof *r3);
    history h;
    run(sc, t, 0, 1, &h, r1);
    int available = check_all(t, 0, sc, &h, r1);
    assert_true(available >= 20);
    /* The engine's own 12-month referral outcomes (arm 0, all months). */
    int64_t followed = 0, any = 0, emp = 0, w13 = 0;
    for (int u = 1; u <= sc->n_months; u++) {
        const int64_t *c = h.prog + (size_t)u * LM_PROG_CELLS;
        followed += c[lm_prog_index(0, 0, LM_PM_FOLLOWED_12)];
        any += c[lm_prog_index(0, 0, LM_PM_ANY_JOB_12)];
        emp += c[lm_prog_index(0, 0, LM_PM_EMPLOYED_12)];
        w13 += c[lm_prog_index(0, 0, LM_PM_WORKED_13W_12)];
    }
    for (int i = 0; i < t->n; i++) {
        const char *id = t->t[i].id;
        int64_t want = strcmp(id, "wf_any_12") == 0        ? any
                       : strcmp(id, "wf_employed_12") == 0 ? emp
                       : strcmp(id, "wf_13w_12") == 0      ? w13
                                                           : -1;
        if (want < 0)
            continue;
        assert_true(followed > 100);
        assert_true(r1[i].denominator == (double)followed);
        assert_true(r1[i].numerator == (double)want);
    }
    history_free(&h);
    /* 3 threads: bit-identical. */
    run(sc, t, 0, 3, NULL, r3);
    same_results(t, r1, r3);
    free(r1);
    free(r3);
    lm_targets_destroy(t);
    lm_scenario_destroy(sc);
}

static void test_trial_variant(void **state) {
    (void)state;
    lm_scenario *sc = load_scenario("ips");
    lm_targets *t = load_targets();
    assert_int_equal(lm_targets_n_variants(t), 3);
    const int v = strcmp(lm_targets_variant_trial(t, 1), "ips") == 0 ? 1 : 2;
    const size_t n = lm_targets_count(t);
    lm_target_result *r1 = calloc(n, sizeof *r1), *r3 = calloc(n, sizeof *r3);
    history h;
    run(sc, t, v, 1, &h, r1);
    assert_true(check_all(t, v, sc, &h, r1) >= 4);
    history_free(&h);
    run(sc, t, v, 3, NULL, r3);
    same_results(t, r1, r3);
    free(r1);
    free(r3);
    lm_targets_destroy(t);
    lm_scenario_destroy(sc);
}

/* lm_moments_reset: a second run through the same moments gives the same. */
static void test_reset(void **state) {
    (void)state;
    lm_scenario *sc = load_scenario(NULL);
    lm_targets *t = load_targets();
    const size_t n = lm_targets_count(t);
    lm_target_result *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
    lm_moments *m = NULL;
    lm_error err;
    omp_set_num_threads(2);
    assert_int_equal(lm_moments_create(t, 0, sc, &m, &err), LM_OK);
    for (int pass = 0; pass < 2; pass++) {
        lm_run_options opt = {0};
        opt.threads = 2;
        opt.moments = m;
        opt.results = pass ? b : a;
        lm_targets_results_init(t, opt.results);
        lm_moments_reset(m);
        assert_int_equal(lm_run(sc, &opt, NULL, &err), LM_OK);
    }
    same_results(t, a, b);
    /* Results before the end of the run: cohorts not followed are n/a. */
    lm_moments_reset(m);
    lm_sim *sim = NULL;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    assert_int_equal(lm_moments_observe(m, sim, &err), LM_OK);
    assert_int_equal(lm_moments_results(m, 0.0, b, &err), LM_OK);
    assert_int_equal(lm_moments_results(m, -1.0, b, &err), LM_EARG);
    for (int i = 0; i < t->n; i++)
        if (t->t[i].variant == 0 && lm__target_last_month(&t->t[i]) > 0) {
            assert_int_equal(b[i].available, 0);
            assert_non_null(strstr(b[i].reason, "not observed"));
        }
    lm_sim_destroy(sim);
    lm_moments_destroy(m);
    lm_moments_destroy(NULL);
    free(a);
    free(b);
    lm_targets_destroy(t);
    lm_scenario_destroy(sc);
}

/* Every allocation failure of lm_moments_create is LM_ENOMEM. */
static void test_out_of_memory(void **state) {
    (void)state;
    lm_scenario *sc = load_scenario(NULL);
    lm_targets *t = load_targets();
    int saw_ok = 0;
    for (long k = 0; k < 100 && !saw_ok; k++) {
        lm_moments *m = NULL;
        lm_error err;
        lm__alloc_fail_after(k);
        int rc = lm_moments_create(t, 0, sc, &m, &err);
        lm__alloc_fail_after(-1);
        if (rc == LM_OK)
            saw_ok = 1;
        else
            assert_int_equal(rc, LM_ENOMEM);
        lm_moments_destroy(m);
    }
    assert_true(saw_ok);
    lm_targets_destroy(t);
    lm_scenario_destroy(sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brute_force),
        cmocka_unit_test(test_trial_variant),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
