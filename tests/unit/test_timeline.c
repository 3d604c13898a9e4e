/* test_timeline.c - derived scenarios and the policy timeline.
 *
 * wales_devolved_ips.cfg derives from wales_baseline.cfg and changes IPS
 * from April 2026 (month 27 of a run starting January 2024), ramping its
 * places to [150, 200, 350] by March 2028 (month 50). Checked: the merge
 * (name replaced, everything else inherited), the variant in force at each
 * month, the linear ramp, a programme closing mid-run stops its referrals
 * in the engine from the named month, and changes the timeline may not make.
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

static int ips_index(const lm_scenario *sc) {
    for (int k = 0; k < sc->n_programmes; k++)
        if (strcmp(sc->programmes[k].name, "ips") == 0)
            return k;
    return -1;
}

static void test_devolved(void **unused) {
    (void)unused;
    char path[1024];
    lm_scenario *sc;
    lm_error err;
    int rc = lm_scenario_load(lm_test_src(path, sizeof path, "scenarios/wales_devolved_ips.cfg"),
                              NULL, 0, &sc, &err);
    if (rc)
        printf("%s\n", err.msg);
    assert_int_equal(rc, LM_OK);
    assert_string_equal(sc->name, "wales_devolved_ips");
    assert_int_equal(sc->n_persons, 1947716); /* inherited */
    int k = ips_index(sc);
    assert_true(k >= 0);
    /* Before April 2026 (month 27): the baseline service. */
    assert_true(lm_scenario_at(sc, 26) == sc);
    assert_true(fabs(lm_scenario_at(sc, 26)->programmes[k].fidelity - 0.75) < 1e-12);
    assert_true(fabs(lm_scenario_at(sc, 27)->programmes[k].fidelity - 1.0) < 1e-12);
    /* Ramp from 15 (baseline, North Wales) to 150 over months 27..50. */
    double a = sc->programmes[k].places_per_month[0], b = 150.0;
    for (int m = 27; m <= 52; m++) {
        double w = (double)(m - 27 + 1) / 24.0;
        double expect = a + (b - a) * (w > 1.0 ? 1.0 : w);
        double got = lm_scenario_at(sc, m)->programmes[k].places_per_month[0];
        assert_true(fabs(got - expect) < 1e-9);
    }
    lm_scenario_destroy(sc);
}

static void test_close_programme(void **unused) {
    (void)unused;
    char path[1024];
    lm_scenario *sc;
    lm_error err;
    const char *sets[] = {"timeline=( { from = \"2025-01\"; set = { programmes = { wf = { open = "
                          "false; }; }; }; } )"};
    assert_int_equal(
        lm_scenario_load(lm_test_data(path, sizeof path, "programmes.cfg"), sets, 1, &sc, &err),
        LM_OK);
    assert_int_equal(sc->n_variants, 1);
    assert_int_equal(sc->variant_month[0], 12);
    lm_sim *sim;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    int64_t before = 0, after = 0;
    for (int t = 1; t <= 24; t++) {
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        int64_t r = lm_sim_prog_counts(sim)[lm_prog_index(0, 0, LM_PM_REFERRALS)];
        if (t < 12)
            before += r;
        else
            after += r;
    }
    printf("work-first referrals: months 1-11 %lld, months 12-24 %lld\n", (long long)before,
           (long long)after);
    assert_true(before > 1000);
    assert_int_equal(after, 0);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

static void test_forbidden_change(void **unused) {
    (void)unused;
    char path[1024];
    lm_scenario *sc = NULL;
    lm_error err;
    const char *sets[] = {
        "timeline=( { from = \"2025-01\"; set = { simulation = { persons = 10; }; }; } )"};
    assert_int_equal(
        lm_scenario_load(lm_test_data(path, sizeof path, "programmes.cfg"), sets, 1, &sc, &err),
        LM_ECONFIG);
    assert_null(sc);
    assert_non_null(strstr(err.msg, "may not alter"));
    const char *early[] = {"timeline=( { from = \"2023-06\"; set = { name = \"x\"; }; } )"};
    assert_int_equal(
        lm_scenario_load(lm_test_data(path, sizeof path, "programmes.cfg"), early, 1, &sc, &err),
        LM_ECONFIG);
    assert_non_null(strstr(err.msg, "after the start month"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devolved),
        cmocka_unit_test(test_close_programme),
        cmocka_unit_test(test_forbidden_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
