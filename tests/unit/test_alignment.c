/* test_alignment.c - alignment of a transition to external totals.
 *
 * tests/data/programmes.cfg (60,000 persons for 600,000: scale 0.1) with the
 * unemployed -> employed move of region B aligned to 3,000 a month in the
 * represented population, i.e. 300 expected moves a month here. Each month's
 * realised count is a sum of independent Bernoulli draws whose expectation
 * is the target, so it lies within 4 sqrt(300) of 300; the shift must
 * differ from 0 (the target is not what the model gives by itself); region A
 * is not aligned; and the result is identical for 1 and 3 threads.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lmsim.h"
#include "test_util.h"

static const char *const sets[] = {
    "alignment=( { from = \"unemployed\"; to = \"employed\"; region = \"B\"; "
    "target_per_month = 3000.0; } )"};

static lm_scenario *load(void) {
    char path[1024];
    lm_scenario *sc = NULL;
    lm_error err;
    int rc =
        lm_scenario_load(lm_test_data(path, sizeof path, "programmes.cfg"), sets, 1, &sc, &err);
    if (rc)
        printf("load failed: %s\n", err.msg);
    assert_int_equal(rc, LM_OK);
    return sc;
}

static void test_hits_target(void **unused) {
    (void)unused;
    lm_scenario *sc = load();
    assert_int_equal(sc->n_align, 1);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    const lm_population *p = lm_sim_population(sim);
    uint8_t *prev = malloc((size_t)p->n);
    uint16_t *gen = malloc((size_t)p->n * 2);
    const double target = 3000.0 * (double)sc->n_persons / (double)sc->represents;
    for (int t = 1; t <= 24; t++) {
        memcpy(prev, p->state, (size_t)p->n);
        memcpy(gen, p->generation, (size_t)p->n * 2);
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        int64_t moves_b = 0;
        for (int64_t i = 0; i < p->n; i++)
            if (gen[i] == p->generation[i] && prev[i] == LM_STATE_UNEMPLOYED &&
                lm_state_is_employed(p->state[i]) && p->region[i] == 1)
                moves_b++;
        double shift = lm_sim_alignment_shift(sim, 0);
        int ok = fabs((double)moves_b - target) <= 4.0 * sqrt(target);
        printf("%s month %2d: region B moves %lld, target %.0f, shift %+.4f\n",
               ok ? "PASS" : "FAIL", t, (long long)moves_b, target, shift);
        assert_true(ok);
        assert_true(fabs(shift) > 1e-3);
    }
    free(prev);
    free(gen);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

static void test_threads(void **unused) {
    (void)unused;
    lm_scenario *sc = load();
    lm_sim *a, *b;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 1, &a, &err), LM_OK);
    assert_int_equal(lm_sim_create(sc, 3, &b, &err), LM_OK);
    for (int t = 0; t < 12; t++) {
        assert_int_equal(lm_sim_step(a, &err), LM_OK);
        assert_int_equal(lm_sim_step(b, &err), LM_OK);
        assert_true(lm_sim_alignment_shift(a, 0) == lm_sim_alignment_shift(b, 0));
    }
    assert_memory_equal(lm_sim_population(a)->state, lm_sim_population(b)->state,
                        (size_t)sc->n_persons);
    lm_sim_destroy(a);
    lm_sim_destroy(b);
    lm_scenario_destroy(sc);
}

static void test_bad_rule(void **unused) {
    (void)unused;
    char path[1024];
    lm_scenario *sc = NULL;
    lm_error err;
    const char *bad[] = {"alignment=( { from = \"unemployed\"; to = \"employed_good\"; region = "
                         "\"B\"; target_per_month = 1.0; } )"};
    assert_int_equal(
        lm_scenario_load(lm_test_data(path, sizeof path, "programmes.cfg"), bad, 1, &sc, &err),
        LM_ECONFIG);
    assert_non_null(strstr(err.msg, "not a destination"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits_target),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_bad_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
