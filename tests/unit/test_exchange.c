/* test_exchange.c - the engine split into ranks, without MPI.
 *
 * Three "ranks" run as POSIX threads in this process, each with its own
 * lm_sim_create_part() over its block of slots, exchanging through an
 * in-process implementation of the lmsim/exchange.h hooks (a barrier and
 * shared pointers). Each month their counts, earnings, programme counters,
 * market and alignment shift must equal those of the single-process sim,
 * and at the end every person of every block must have the single-process
 * state. The scenario has binding programme places (histogram and boundary
 * exchange), a trial and an aligned transition (block sums), so every
 * exchange of the step is exercised, under ASan and valgrind as well, where
 * the MPI test (e2e_run_mpi) does not run. The validation moments of
 * tests/data/moments_targets.cfg, observed on every rank and summed through
 * the exchange, equal those of the single process. The referral-history rows
 * of every month (and the spells under way at the end), concatenated in rank
 * order, are the single process's.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lmsim.h"
#include "test_util.h"

#define K 3
#define MONTHS 14

typedef struct hub {
    pthread_barrier_t bar;
    void *ptr[K];
    size_t bytes[K];
} hub;

/* Referral-history rows of each month (month MONTHS + 1: spells under way
 * at the end), in order. */
typedef struct spells {
    lm_referral *rows;
    int64_t n, cap;
    int64_t first[MONTHS + 3]; /* rows of month t: [first[t], first[t + 1]) */
} spells;

static void spells_add(spells *s, const lm_sim *sim, int t, int open) {
    int64_t k = open ? lm_sim_open_spells(sim, NULL) : lm_sim_ended_spells(sim, NULL);
    while (s->n + k > s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4096;
        s->rows = realloc(s->rows, (size_t)s->cap * sizeof *s->rows);
    }
    s->first[t] = s->n;
    s->n +=
        open ? lm_sim_open_spells(sim, s->rows + s->n) : lm_sim_ended_spells(sim, s->rows + s->n);
    s->first[t + 1] = s->n;
}

typedef struct rank_ctx {
    hub *h;
    int rank;
    lm_exchange ex;
    const lm_scenario *sc;
    lm_sim *sim;
    int failed;      /* set on any mismatch or error */
    int64_t *counts; /* [(MONTHS + 1) * n] counts, earnings, programmes */
    double shift[MONTHS + 1];
    const lm_targets *targets;
    lm_target_result *res; /* validation results of this rank */
    spells sp;             /* referral-history rows of this rank */
} rank_ctx;

/* Publish buf, wait, sum every rank's buffer in rank order into a private
 * copy, wait until all have read, then overwrite buf. */
#define DEFINE_SUM(NAME, T)                                                                        \
    static int NAME(void *user, T *buf, size_t n) {                                                \
        rank_ctx *c = user;                                                                        \
        T *sum = calloc(n ? n : 1, sizeof *sum);                                                   \
        c->h->ptr[c->rank] = buf;                                                                  \
        pthread_barrier_wait(&c->h->bar);                                                          \
        for (int r = 0; r < K; r++)                                                                \
            for (size_t k = 0; k < n; k++)                                                         \
                sum[k] += ((const T *)c->h->ptr[r])[k];                                            \
        pthread_barrier_wait(&c->h->bar);                                                          \
        memcpy(buf, sum, n * sizeof *sum);                                                         \
        free(sum);                                                                                 \
        return 0;                                                                                  \
    }
DEFINE_SUM(hub_sum_i64, int64_t)
DEFINE_SUM(hub_sum_f64, double)

static int hub_gather(void *user, const void *send, size_t bytes, void *recv,
                      const size_t *counts) {
    rank_ctx *c = user;
    c->h->ptr[c->rank] = (void *)(uintptr_t)send;
    c->h->bytes[c->rank] = bytes;
    pthread_barrier_wait(&c->h->bar);
    if (c->rank == 0) {
        size_t off = 0;
        for (int r = 0; r < K; r++) {
            if (counts[r] != c->h->bytes[r])
                c->failed = 1;
            memcpy((char *)recv + off, c->h->ptr[r], c->h->bytes[r]);
            off += c->h->bytes[r];
        }
    }
    pthread_barrier_wait(&c->h->bar);
    return 0;
}

static size_t n_values(const lm_scenario *sc) {
    return 2 * LM_AGG_CELLS(sc->n_regions) + LM_PROG_CELLS;
}

/* Counts, earnings and programme counters of the sim's current month. */
static void snapshot(const lm_sim *sim, const lm_scenario *sc, int64_t *dst) {
    size_t n_agg = LM_AGG_CELLS(sc->n_regions);
    memcpy(dst, lm_sim_counts(sim), n_agg * sizeof *dst);
    memcpy(dst + n_agg, lm_sim_earnings(sim), n_agg * sizeof *dst);
    memcpy(dst + 2 * n_agg, lm_sim_prog_counts(sim), LM_PROG_CELLS * sizeof *dst);
}

static void *rank_main(void *arg) {
    rank_ctx *c = arg;
    lm_error err;
    lm_moments *m = NULL;
    const size_t nv = n_values(c->sc);
    if (lm_sim_create_part(c->sc, 1, &c->ex, &c->sim, &err) != LM_OK ||
        lm_moments_create(c->targets, 0, c->sc, &m, &err) != LM_OK ||
        lm_moments_observe(m, c->sim, &err) != LM_OK) {
        c->failed = 1;
        return NULL;
    }
    snapshot(c->sim, c->sc, c->counts);
    for (int t = 1; t <= MONTHS; t++) {
        if (lm_sim_step(c->sim, &err) != LM_OK || lm_moments_observe(m, c->sim, &err) != LM_OK) {
            c->failed = 1;
            break;
        }
        snapshot(c->sim, c->sc, c->counts + (size_t)t * nv);
        c->shift[t] = lm_sim_alignment_shift(c->sim, 0);
        spells_add(&c->sp, c->sim, t, 0);
    }
    spells_add(&c->sp, c->sim, MONTHS + 1, 1);
    lm_targets_results_init(c->targets, c->res);
    if (!c->failed && lm_moments_results(m, 0.0, c->res, &err) != LM_OK)
        c->failed = 1;
    lm_moments_destroy(m);
    return NULL;
}

static void test_three_ranks_equal_one_process(void **unused) {
    (void)unused;
    char path[1024];
    const char *sets[] = {"alignment=( { from = \"unemployed\"; to = \"employed\"; region = "
                          "\"B\"; target_per_month = 3000.0; } )",
                          "evaluation.trial=\"wf\""};
    lm_scenario *sc = NULL;
    lm_error err;
    assert_int_equal(
        lm_scenario_load(lm_test_data(path, sizeof path, "programmes.cfg"), sets, 2, &sc, &err),
        LM_OK);
    const size_t nv = n_values(sc);
    lm_targets *targets = NULL;
    assert_int_equal(
        lm_targets_load(lm_test_data(path, sizeof path, "moments_targets.cfg"), &targets, &err),
        LM_OK);
    const size_t nt = lm_targets_count(targets);

    /* The single-process reference. */
    lm_sim *one;
    lm_moments *mo = NULL;
    assert_int_equal(lm_sim_create(sc, 2, &one, &err), LM_OK);
    assert_int_equal(lm_moments_create(targets, 0, sc, &mo, &err), LM_OK);
    assert_int_equal(lm_moments_observe(mo, one, &err), LM_OK);
    int64_t *ref = calloc((MONTHS + 1) * nv, sizeof *ref);
    double ref_shift[MONTHS + 1] = {0};
    spells ref_sp = {0};
    snapshot(one, sc, ref);
    for (int t = 1; t <= MONTHS; t++) {
        assert_int_equal(lm_sim_step(one, &err), LM_OK);
        assert_int_equal(lm_moments_observe(mo, one, &err), LM_OK);
        snapshot(one, sc, ref + (size_t)t * nv);
        ref_shift[t] = lm_sim_alignment_shift(one, 0);
        spells_add(&ref_sp, one, t, 0);
    }
    spells_add(&ref_sp, one, MONTHS + 1, 1);
    assert_true(ref_sp.n > 1000);
    lm_target_result *ref_res = calloc(nt, sizeof *ref_res);
    lm_targets_results_init(targets, ref_res);
    assert_int_equal(lm_moments_results(mo, 0.0, ref_res, &err), LM_OK);
    lm_moments_destroy(mo);

    hub h;
    pthread_barrier_init(&h.bar, NULL, K);
    rank_ctx ctx[K];
    pthread_t th[K];
    for (int r = 0; r < K; r++) {
        memset(&ctx[r], 0, sizeof ctx[r]);
        ctx[r].h = &h;
        ctx[r].rank = r;
        ctx[r].sc = sc;
        ctx[r].counts = calloc((MONTHS + 1) * nv, sizeof(int64_t));
        ctx[r].targets = targets;
        ctx[r].res = calloc(nt, sizeof *ctx[r].res);
        ctx[r].ex = (lm_exchange){r, K, &ctx[r], hub_sum_i64, hub_sum_f64, hub_gather};
        assert_int_equal(pthread_create(&th[r], NULL, rank_main, &ctx[r]), 0);
    }
    for (int r = 0; r < K; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&h.bar);

    /* Each month's rows: rank 0's, then rank 1's, ...: the single process's. */
    for (int t = 1; t <= MONTHS + 1; t++) {
        int64_t at = ref_sp.first[t];
        for (int r = 0; r < K; r++) {
            const spells *s = &ctx[r].sp;
            const int64_t k = s->first[t + 1] - s->first[t];
            assert_true(at + k <= ref_sp.first[t + 1]);
            assert_memory_equal(s->rows + s->first[t], ref_sp.rows + at,
                                (size_t)k * sizeof *s->rows);
            at += k;
        }
        assert_int_equal(at, ref_sp.first[t + 1]);
    }
    for (int r = 0; r < K; r++)
        free(ctx[r].sp.rows);
    free(ref_sp.rows);
    const lm_population *p1 = lm_sim_population(one);
    int64_t covered = 0;
    for (int r = 0; r < K; r++) {
        assert_false(ctx[r].failed);
        /* Every rank sees the whole run's totals, every month. */
        assert_memory_equal(ctx[r].counts, ref, (MONTHS + 1) * nv * sizeof *ref);
        for (int t = 1; t <= MONTHS; t++)
            assert_true(ctx[r].shift[t] == ref_shift[t]);
        for (int g = 0; g < sc->n_regions; g++)
            assert_true(lm_sim_market(ctx[r].sim, g)->tightness ==
                        lm_sim_market(one, g)->tightness);
        /* Its own persons end exactly as in the single process. */
        int64_t lo, hi;
        lm_sim_slots(ctx[r].sim, &lo, &hi);
        assert_int_equal(lo, lm_part_first(sc->n_persons, r, K));
        assert_int_equal(lo % LM_PART_ALIGN, 0);
        const lm_population *pr = lm_sim_population(ctx[r].sim);
        size_t m = (size_t)(hi - lo);
        assert_memory_equal(pr->state + lo, p1->state + lo, m);
        assert_memory_equal(pr->generation + lo, p1->generation + lo, m * 2);
        assert_memory_equal(pr->months_in_state + lo, p1->months_in_state + lo, m * 2);
        assert_memory_equal(pr->prog + lo, p1->prog + lo, m);
        assert_memory_equal(pr->prog_phase + lo, p1->prog_phase + lo, m);
        assert_memory_equal(pr->track_arm + lo, p1->track_arm + lo, m);
        assert_memory_equal(pr->earnings + lo, p1->earnings + lo, m * 4);
        covered += hi - lo;
        /* Validation counts summed over the ranks: the single process's. */
        for (size_t i = 0; i < nt; i++) {
            assert_true(ctx[r].res[i].numerator == ref_res[i].numerator);
            assert_true(ctx[r].res[i].denominator == ref_res[i].denominator);
            assert_int_equal(ctx[r].res[i].available, ref_res[i].available);
            assert_memory_equal(&ctx[r].res[i].simulated, &ref_res[i].simulated, sizeof(double));
        }
        lm_sim_destroy(ctx[r].sim);
        free(ctx[r].counts);
        free(ctx[r].res);
    }
    /* Most targets run past month 14 (unavailable), but counted so far. */
    int n_counted = 0;
    for (size_t i = 0; i < nt; i++)
        n_counted += ref_res[i].denominator > 100;
    assert_true(n_counted >= 10);
    free(ref_res);
    lm_targets_destroy(targets);
    assert_int_equal(covered, sc->n_persons);
    /* The places were scarce, so the boundary exchange was used. */
    int64_t queued = 0;
    for (int t = 1; t <= MONTHS; t++)
        queued += ref[(size_t)t * nv + 2 * LM_AGG_CELLS(sc->n_regions) +
                      lm_prog_index(0, 0, LM_PM_QUEUED)]; /* queued: not offered yet */
    assert_true(queued > 0);
    free(ref);
    lm_sim_destroy(one);
    lm_scenario_destroy(sc);
}

static void test_blocks(void **unused) {
    (void)unused;
    /* Edges are multiples of LM_PART_ALIGN, ascending, and cover [0, n). */
    const int64_t sizes[] = {1, 4095, 4096, 60000, 1000003, (int64_t)1 << 40};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int k = 1; k <= 7; k++) {
            assert_int_equal(lm_part_first(sizes[s], 0, k), 0);
            assert_int_equal(lm_part_first(sizes[s], k, k), sizes[s]);
            for (int r = 1; r < k; r++) {
                int64_t a = lm_part_first(sizes[s], r, k);
                assert_int_equal(a % LM_PART_ALIGN, 0);
                assert_true(a >= lm_part_first(sizes[s], r - 1, k));
                assert_true(a <= sizes[s] && sizes[s] * r / k - a < LM_PART_ALIGN);
            }
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_three_ranks_equal_one_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
