/* test_population.c - synthesised margins match the scenario within sampling error.
 *
 * With n persons drawn independently, the share with attribute value v is
 * Binomial(n, p_v) / n, so |observed - p_v| <= 4 sqrt(p_v (1 - p_v) / n)
 * except with probability about 6e-5 per check (fixed seed, so the test is
 * deterministic anyway). Checked on the Wales baseline at n = 400,000:
 * regions, sex, age bands, disability by age band, ethnicity, qualifications,
 * caring by sex, and the initial state shares of the persons matching the
 * first initial_state rule. Also: the population is identical for 1 and 2 threads, and ages
 * lie within each person's band.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <omp.h>

#include "lmsim.h"
#include "test_util.h"

#define N 400000

static int within(const char *what, double expected, int64_t hits, int64_t n) {
    double se = sqrt(expected * (1.0 - expected) / (double)n);
    double got = (double)hits / (double)n;
    int ok = fabs(got - expected) <= 4.0 * se + 1e-12;
    printf("%s %-34s expected %.5f observed %.5f (4 s.e. %.5f, n %lld)\n", ok ? "PASS" : "FAIL",
           what, expected, got, 4.0 * se, (long long)n);
    return ok;
}

static lm_scenario *load_wales(void) {
    char path[1024];
    lm_scenario *sc = NULL;
    lm_error err;
    const char *sets[] = {"simulation.persons=400000"};
    assert_int_equal(
        lm_scenario_load(lm_test_src(path, sizeof path, "scenarios/wales_baseline.cfg"), sets, 1,
                         &sc, &err),
        LM_OK);
    return sc;
}

static void test_margins(void **state) {
    (void)state;
    lm_scenario *sc = load_wales();
    lm_population *p;
    lm_error err;
    assert_int_equal(lm_population_create(sc, N, &p, &err), LM_OK);
    int64_t region[LM_MAX_REGIONS] = {0}, band[LM_N_AGE_BANDS] = {0}, dis[LM_N_AGE_BANDS] = {0};
    int64_t qual[LM_N_QUALS] = {0}, sex[2] = {0}, caring[2] = {0}, minority = 0;
    int64_t young_state[LM_N_STATES] = {0};
    int64_t n_rule0 = 0;
    for (int64_t i = 0; i < N; i++) {
        int age = 0 - p->birth_month[i];
        int b = lm_age_band_of(age);
        assert_true(b >= 0);
        region[p->region[i]]++;
        band[b]++;
        dis[b] += p->disabled[i];
        qual[p->qual[i]]++;
        sex[p->female[i]]++;
        caring[p->female[i]] += p->caring[i];
        minority += p->minority[i];
        if (lm_selector_match(&sc->initial[0].where, p->region[i], p->female[i], b, p->disabled[i],
                              p->minority[i], p->qual[i], p->caring[i], 0)) {
            young_state[p->state[i]]++;
            n_rule0++;
        }
    }
    int ok = 1;
    char what[64];
    for (int r = 0; r < sc->n_regions; r++)
        ok &= within(sc->regions[r].name, sc->regions[r].share, region[r], N);
    ok &= within("female", sc->female_share, sex[1], N);
    ok &= within("ethnic minority", sc->minority_share, minority, N);
    for (int b = 0; b < LM_N_AGE_BANDS; b++) {
        snprintf(what, sizeof what, "age %s", lm_age_band_name(b));
        ok &= within(what, sc->age_band_share[b], band[b], N);
        snprintf(what, sizeof what, "disabled | age %s", lm_age_band_name(b));
        ok &= within(what, sc->disabled_by_age_band[b], dis[b], band[b]);
    }
    for (int q = 0; q < LM_N_QUALS; q++) {
        snprintf(what, sizeof what, "qualification %s", lm_qual_name(q));
        ok &= within(what, sc->qual_share[q], qual[q], N);
    }
    ok &= within("caring | male", sc->caring_share[0], caring[0], sex[0]);
    ok &= within("caring | female", sc->caring_share[1], caring[1], sex[1]);
    for (int s = 0; s < LM_N_STATES; s++) {
        snprintf(what, sizeof what, "initial %s | rule 0", lm_state_name(s));
        ok &= within(what, sc->initial[0].shares[s], young_state[s], n_rule0);
    }
    assert_true(ok);
    lm_population_destroy(p);
    lm_scenario_destroy(sc);
}

static void test_thread_invariant(void **state) {
    (void)state;
    lm_scenario *sc = load_wales();
    lm_population *a, *b;
    lm_error err;
    omp_set_num_threads(1);
    assert_int_equal(lm_population_create(sc, 100003, &a, &err), LM_OK);
    omp_set_num_threads(2);
    assert_int_equal(lm_population_create(sc, 100003, &b, &err), LM_OK);
    assert_memory_equal(a->birth_month, b->birth_month, 100003 * sizeof(int32_t));
    assert_memory_equal(a->state, b->state, 100003);
    assert_memory_equal(a->qual, b->qual, 100003);
    assert_memory_equal(a->months_in_state, b->months_in_state, 100003 * sizeof(uint16_t));
    lm_population_destroy(a);
    lm_population_destroy(b);
    lm_scenario_destroy(sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_margins),
        cmocka_unit_test(test_thread_invariant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
