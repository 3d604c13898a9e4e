#define _POSIX_C_SOURCE 200809L
/* test_sim_reset.c - lm_sim_reset() gives exactly a fresh engine.
 *
 * A sim stepped any number of months and then reset for a scenario must
 * step on bit for bit like lm_sim_create() of that scenario: the same
 * counts, earnings, programme counts, market, alignment shifts, entrants
 * and every population array, month after month. Checked for the same
 * scenario, for one with changed coefficients and seed, with programmes
 * (tests/data/programmes.cfg), with an alignment rule, and with a timeline
 * (wales_devolved_ips.cfg at a small size), and with another thread count. The
 * aggregates, which the engine carries from month to month, equal a recount of
 * the population after every step and after a reset; and the step's stayers
 * pass gives exactly what the full computation of every slot gives. A scenario of
 * another shape is refused with a message naming what differs.
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

#include "internal.h"
#include "lmsim.h"
#include "test_util.h"

/* Every array of two populations over all slots. */
static void assert_same_population(const lm_population *a, const lm_population *b) {
    assert_int_equal(a->n, b->n);
    const size_t n = (size_t)a->n;
#define SAME(f) assert_memory_equal(a->f, b->f, n * sizeof *a->f)
    SAME(generation);
    SAME(birth_month);
    SAME(region);
    SAME(female);
    SAME(disabled);
    SAME(minority);
    SAME(qual);
    SAME(caring);
    SAME(low_emp);
    SAME(pay_churn);
    SAME(state);
    SAME(months_in_state);
    SAME(months_since_job);
    SAME(sustained_months);
    SAME(limiting);
    SAME(limiting_months);
    SAME(hours);
    SAME(earnings);
    SAME(prog);
    SAME(prog_phase);
    SAME(prog_months);
    SAME(prog_history);
    SAME(sanction_left);
    SAME(track_prog);
    SAME(track_arm);
    SAME(track_month);
    SAME(track_worked);
    SAME(track_flags);
    SAME(track2_tag);
    SAME(track2_flags);
    SAME(track2_worked);
    SAME(spell_end);
#undef SAME
    /* The spell record is read only while a spell is open or has just ended
     * (an entrant keeps its slot's stale values, population.c). */
    for (size_t i = 0; i < n; i++)
        if (a->prog_phase[i] != LM_PHASE_NONE || a->spell_end[i] != 0) {
            assert_int_equal(a->spell_ref[i], b->spell_ref[i]);
            assert_int_equal(a->spell_wait[i], b->spell_wait[i]);
        }
}

static void assert_same_sim(const lm_sim *a, const lm_sim *b, const lm_scenario *sc) {
    const size_t n_agg = LM_AGG_CELLS(sc->n_regions);
    assert_int_equal(lm_sim_month(a), lm_sim_month(b));
    assert_memory_equal(lm_sim_counts(a), lm_sim_counts(b), n_agg * sizeof(int64_t));
    assert_memory_equal(lm_sim_earnings(a), lm_sim_earnings(b), n_agg * sizeof(int64_t));
    assert_memory_equal(lm_sim_prog_counts(a), lm_sim_prog_counts(b),
                        LM_PROG_CELLS * sizeof(int64_t));
    for (int r = 0; r < sc->n_regions; r++)
        assert_memory_equal(lm_sim_market(a, r), lm_sim_market(b, r), sizeof(lm_market_region));
    for (int q = 0; q < sc->n_align; q++)
        assert_true(lm_sim_alignment_shift(a, q) == lm_sim_alignment_shift(b, q));
    int64_t na, nb;
    const int64_t *ea = lm_sim_entrants(a, &na), *eb = lm_sim_entrants(b, &nb);
    assert_int_equal(na, nb);
    if (na > 0)
        assert_memory_equal(ea, eb, (size_t)na * sizeof *ea);
    assert_same_population(lm_sim_population(a), lm_sim_population(b));
}

/* The engine keeps each thread's counts from month to month and changes them
 * only for the persons who move: every month they must equal a count of the
 * population from scratch, as must the earnings sums (ageing, health,
 * disability, programmes and a timeline all change cells). */
static void recount(const lm_sim *sim, const lm_scenario *sc) {
    const lm_population *p = lm_sim_population(sim);
    const size_t n_agg = LM_AGG_CELLS(sc->n_regions);
    int64_t *c = calloc(n_agg, sizeof *c), *e = calloc(n_agg, sizeof *e);
    assert_non_null(c);
    assert_non_null(e);
    const int month = lm_sim_month(sim);
    for (int64_t i = 0; i < p->n; i++) {
        const size_t k =
            lm_agg_index(sc->n_regions, p->state[i], p->region[i], p->female[i], p->disabled[i],
                         p->minority[i], lm_age_band_of(month - p->birth_month[i]));
        c[k]++;
        e[k] += (int64_t)((double)p->earnings[i] * 100.0 + 0.5);
    }
    assert_memory_equal(lm_sim_counts(sim), c, n_agg * sizeof *c);
    assert_memory_equal(lm_sim_earnings(sim), e, n_agg * sizeof *e);
    free(c);
    free(e);
}

/* Step a and b through every month of sc, comparing them after each. */
static void step_alike(lm_sim *a, lm_sim *b, const lm_scenario *sc) {
    lm_error err;
    for (int m = 0; m < sc->n_months; m++) {
        assert_int_equal(lm_sim_step(a, &err), LM_OK);
        assert_int_equal(lm_sim_step(b, &err), LM_OK);
        assert_same_sim(a, b, sc);
    }
}

/* Step `used` for `before` months, reset it for sc, then step it next to a
 * fresh engine (threads_fresh) through every month of sc, comparing. */
static void check_reset(lm_sim *used, int before, const lm_scenario *sc, int threads_fresh) {
    lm_error err;
    for (int m = 0; m < before && lm_sim_month(used) < sc->n_months; m++)
        assert_int_equal(lm_sim_step(used, &err), LM_OK);
    assert_int_equal(lm_sim_reset(used, sc, &err), LM_OK);
    lm_sim *fresh;
    assert_int_equal(lm_sim_create(sc, threads_fresh, &fresh, &err), LM_OK);
    assert_same_sim(used, fresh, sc);
    step_alike(used, fresh, sc);
    recount(used, sc); /* the counts carried through the reset */
    lm_sim_destroy(fresh);
}

static lm_scenario *load(const char *rel, const char *const *sets, size_t n) {
    char path[1024];
    lm_scenario *sc;
    lm_error err;
    int rc = lm_scenario_load(lm_test_src(path, sizeof path, rel), sets, n, &sc, &err);
    if (rc)
        fail_msg("%s", err.msg);
    return sc;
}

static lm_scenario *derive(const lm_scenario *sc, const char *const *sets, size_t n) {
    lm_scenario *out;
    lm_error err;
    int rc = lm_scenario_load_string(sc->text, "derived", sets, n, &out, &err);
    if (rc)
        fail_msg("%s", err.msg);
    return out;
}

static void test_reset_programmes(void **state) {
    (void)state;
    const char *small[] = {"simulation.persons=6000", "simulation.months=30"};
    lm_scenario *sc = load("tests/data/programmes.cfg", small, 2);
    const char *other[] = {"transitions.unemployed.[0].intercept=-1.6",
                           "programmes.ips.effects.fidelity=0.5", "simulation.seed=77"};
    lm_scenario *sc2 = derive(sc, other, 3);
    /* A trial of the same shape: a different arm assignment per referral. */
    const char *trial[] = {"evaluation.trial=\"ips\""};
    lm_scenario *sc3 = derive(sc, trial, 1);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    check_reset(sim, 0, sc, 2);  /* reset at once */
    check_reset(sim, 13, sc, 1); /* after 13 + the full run; fresh with 1 thread */
    check_reset(sim, 7, sc2, 2); /* other coefficients and seed */
    check_reset(sim, 30, sc3, 2);
    check_reset(sim, 5, sc, 2); /* and back */
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
    lm_scenario_destroy(sc2);
    lm_scenario_destroy(sc3);
}

static void test_reset_timeline_alignment(void **state) {
    (void)state;
    const char *small[] = {"simulation.persons=3000", "simulation.months=30"};
    lm_scenario *sc = load("scenarios/wales_devolved_ips.cfg", small, 2);
    assert_true(sc->n_variants > 0);
    const char *other[] = {"market.matching_elasticity=0.6"};
    lm_scenario *sc2 = derive(sc, other, 1);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    check_reset(sim, 20, sc2, 2);
    check_reset(sim, 30, sc, 2);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
    lm_scenario_destroy(sc2);
    /* Alignment (as in test_alignment.c), with another target. */
    const char *al[] = {"simulation.persons=6000", "simulation.months=24",
                        ("alignment=( { from = \"unemployed\"; to = \"employed\"; region = "
                         "\"B\"; target_per_month = 3000.0; } )")};
    lm_scenario *a = load("tests/data/programmes.cfg", al, 3);
    const char *more[] = {"alignment.[0].target_per_month=2500.0",
                          "transitions.unemployed.[0].intercept=-2.5"};
    lm_scenario *a2 = derive(a, more, 2);
    assert_int_equal(a->n_align, 1);
    assert_int_equal(lm_sim_create(a, 2, &sim, &err), LM_OK);
    check_reset(sim, 11, a2, 2);
    check_reset(sim, 3, a, 1);
    /* Without the rule: another shape. */
    lm_scenario *none = load("tests/data/programmes.cfg", al, 2);
    assert_int_equal(lm_sim_reset(sim, none, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "alignment rules"));
    lm_sim_destroy(sim);
    lm_scenario_destroy(none);
    lm_scenario_destroy(a);
    lm_scenario_destroy(a2);
}

static void test_counts_match_recount(void **state) {
    (void)state;
    const char *small[] = {"simulation.persons=20000", "simulation.months=120"};
    lm_scenario *sc = load("scenarios/wales_devolved_ips.cfg", small, 2);
    for (int threads = 1; threads <= 3; threads += 2) {
        lm_error err;
        lm_sim *sim;
        assert_int_equal(lm_sim_create(sc, threads, &sim, &err), LM_OK);
        recount(sim, sc);
        int64_t moved = 0;
        for (int m = 0; m < sc->n_months; m++) {
            assert_int_equal(lm_sim_step(sim, &err), LM_OK);
            recount(sim, sc);
            moved += lm_sim_leavers(sim);
        }
        assert_true(moved > 0); /* persons aged out and were replaced */
        lm_sim_destroy(sim);
    }
    lm_scenario_destroy(sc);
}

/* The stayers pass (persons marked first and updated in vector loops) gives
 * exactly what the full computation gives: an engine with it and one with
 * every slot on the full path step alike, array by array, month by month.
 * On the programme, tenure and dynamics test scenarios, Wales with devolved
 * IPS, and Wales with edge rates of health (onset 1 or 0 by state, recovery
 * 1, disability after one month). */
static void same_fast_and_full(const char *rel, const char *const *sets, size_t n) {
    lm_scenario *sc = load(rel, sets, n);
    lm_error err;
    lm_sim *fast, *full;
    assert_int_equal(lm_sim_create(sc, 2, &fast, &err), LM_OK);
    assert_int_equal(lm_sim_create(sc, 3, &full, &err), LM_OK);
    lm__sim_set_fast(full, 0);
    step_alike(fast, full, sc);
    recount(fast, sc);
    lm_sim_destroy(fast);
    lm_sim_destroy(full);
    lm_scenario_destroy(sc);
}

static void test_fast_path_same_as_full(void **state) {
    (void)state;
    const char *prog[] = {"simulation.persons=6000", "simulation.months=30"};
    same_fast_and_full("tests/data/programmes.cfg", prog, 2);
    const char *small[] = {"simulation.persons=20000"};
    same_fast_and_full("tests/data/tenure.cfg", small, 1);
    same_fast_and_full("tests/data/dynamics.cfg", small, 1);
    const char *wales[] = {"simulation.persons=20000", "simulation.months=120"};
    same_fast_and_full("scenarios/wales_devolved_ips.cfg", wales, 2);
    const char *edge[] = {"simulation.persons=20000", "simulation.months=60",
                          "health.onset_by_state=[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]",
                          "health.recovery_by_state=[0.0, 1.0, 0.0, 0.0, 0.5, 0.0, 0.0]",
                          "health.disabled_after_months=1"};
    same_fast_and_full("scenarios/wales_baseline.cfg", edge, 5);
    /* The marking on vectors (AVX2, when the CPU has it) and without. */
    const int best = lm__fill_set_isa(-1);
    for (int isa = LM_FILL_SCALAR; isa < best; isa++) {
        assert_int_equal(lm__fill_set_isa(isa), isa);
        same_fast_and_full("scenarios/wales_devolved_ips.cfg", wales, 2);
        same_fast_and_full("scenarios/wales_baseline.cfg", edge, 5);
    }
    lm__fill_set_isa(-1);
}

static void test_reset_refuses_other_shape(void **state) {
    (void)state;
    const char *small[] = {"simulation.persons=2000", "simulation.months=12"};
    lm_scenario *sc = load("tests/data/programmes.cfg", small, 2);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    assert_int_equal(lm_sim_step(sim, &err), LM_OK);

    const char *persons[] = {"simulation.persons=2001"};
    lm_scenario *o = derive(sc, persons, 1);
    assert_int_equal(lm_sim_reset(sim, o, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "persons"));
    lm_scenario_destroy(o);

    const char *cap[] = {"transitions.duration_cap_months=60"};
    o = derive(sc, cap, 1);
    assert_int_equal(lm_sim_reset(sim, o, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "duration cap"));
    lm_scenario_destroy(o);

    const char *regions[] = {("population.regions=({ name = \"A\"; share = 1.0; "
                              "vacancies_per_1000 = 20.0; })"),
                             "programmes.ips.capacity.places_per_month=[10.0]",
                             "programmes.ips.capacity.caseload_cap=[0.0]",
                             "programmes.ips.eligible.region=\"A\"",
                             "programmes.wf.eligible.region=\"A\"",
                             "programmes.wf.capacity.places_per_month=[10.0]"};
    lm_scenario *r = NULL;
    if (lm_scenario_load_string(sc->text, "one_region", regions, 6, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(lm_sim_reset(sim, r, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "regions"));
    lm_scenario_destroy(r);

    lm_scenario *plain = load("tests/data/markov.cfg", NULL, 0);
    const char *same_size[1];
    char buf[64];
    snprintf(buf, sizeof buf, "simulation.persons=%lld", (long long)sc->n_persons);
    same_size[0] = buf;
    lm_scenario *plain2 = derive(plain, same_size, 1);
    const char *two[] = {"population.regions=({ name = \"A\"; share = 0.5; vacancies_per_1000 = "
                         "20.0; }, { name = \"B\"; share = 0.5; vacancies_per_1000 = 20.0; })"};
    lm_scenario *plain3 = derive(plain2, two, 1);
    assert_int_equal(lm_sim_reset(sim, plain3, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "programmes"));
    lm_scenario_destroy(plain3);
    /* Refused resets leave the sim as it was: it still steps on. */
    assert_int_equal(lm_sim_month(sim), 1);
    assert_int_equal(lm_sim_step(sim, &err), LM_OK);
    lm_scenario_destroy(plain);
    lm_scenario_destroy(plain2);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_programmes),
        cmocka_unit_test(test_reset_timeline_alignment),
        cmocka_unit_test(test_reset_refuses_other_shape),
        cmocka_unit_test(test_counts_match_recount),
        cmocka_unit_test(test_fast_path_same_as_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
