/* test_markov.c - occupancy of a constant Markov chain against pi_0 P^k.
 *
 * tests/data/markov.cfg defines a 4-state chain with constant monthly
 * transition probabilities (no covariates, durations or market). Each
 * person's path is an independent draw of the chain, so after k months the
 * count in state s is Binomial(n, pi_k(s)) with pi_k = pi_0 P^k computed here
 * by matrix powers. The test checks every state at k = 1, 3, 6, 12 and 24
 * within 4 standard errors sqrt(pi (1 - pi) / n). The initial distribution
 * is also checked (k = 0). A wrong probability anywhere in the step (an
 * off-by-one in the cumulative search, a wrong reference category, a draw
 * reused across months) moves some share by far more than 4 s.e. at n = 200k.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lmsim.h"

static char *data_path(const char *name) {
    static char buf[1024];
    const char *src = getenv("LM_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/tests/data/%s", src ? src : ".", name);
    return buf;
}

/* Build the 7x7 monthly transition matrix implied by the scenario's logits
 * (valid because the chain has no covariates and no duration terms). */
static void matrix_of(const lm_scenario *sc, double P[LM_N_STATES][LM_N_STATES]) {
    for (int o = 0; o < LM_N_STATES; o++) {
        double total = 1.0;
        for (int j = 0; j < LM_N_STATES; j++)
            P[o][j] = 0.0;
        for (int j = 0; j < sc->n_dest[o]; j++)
            total += exp(sc->dest[o][j].intercept);
        for (int j = 0; j < sc->n_dest[o]; j++)
            P[o][sc->dest[o][j].to] = exp(sc->dest[o][j].intercept) / total;
        P[o][o] = 1.0 / total;
    }
}

static void check_occupancy(const lm_sim *sim, const lm_scenario *sc, const double *pi, int k) {
    const int64_t *counts = lm_sim_counts(sim);
    const size_t n_agg = LM_AGG_CELLS(sc->n_regions);
    const size_t per_state = n_agg / LM_N_STATES;
    double n = (double)sc->n_persons;
    for (int s = 0; s < LM_N_STATES; s++) {
        int64_t c = 0;
        for (size_t q = 0; q < per_state; q++)
            c += counts[(size_t)s * per_state + q];
        double se = sqrt(pi[s] * (1.0 - pi[s]) / n);
        double got = (double)c / n;
        int ok = fabs(got - pi[s]) <= 4.0 * se + 1e-12;
        printf("%s k=%2d %-16s expected %.5f observed %.5f (4 s.e. = %.5f)\n", ok ? "PASS" : "FAIL",
               k, lm_state_name(s), pi[s], got, 4.0 * se);
        assert_true(ok);
    }
}

static void test_markov_occupancy(void **state) {
    (void)state;
    lm_scenario *sc;
    lm_error err;
    lm_error_clear(&err);
    assert_int_equal(lm_scenario_load(data_path("markov.cfg"), NULL, 0, &sc, &err), LM_OK);
    double P[LM_N_STATES][LM_N_STATES];
    matrix_of(sc, P);
    double pi[LM_N_STATES];
    for (int s = 0; s < LM_N_STATES; s++)
        pi[s] = sc->initial[0].shares[s];
    lm_sim *sim;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    check_occupancy(sim, sc, pi, 0);
    for (int k = 1; k <= 24; k++) {
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        double next[LM_N_STATES] = {0};
        for (int a = 0; a < LM_N_STATES; a++)
            for (int b = 0; b < LM_N_STATES; b++)
                next[b] += pi[a] * P[a][b];
        for (int s = 0; s < LM_N_STATES; s++)
            pi[s] = next[s];
        if (k == 1 || k == 3 || k == 6 || k == 12 || k == 24)
            check_occupancy(sim, sc, pi, k);
    }
    assert_int_equal(lm_sim_leavers(sim), 0);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_markov_occupancy)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
