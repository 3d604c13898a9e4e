/* test_programmes.c - the programme mechanism against its rules.
 *
 * On tests/data/programmes.cfg (60,000 persons standing for 600,000, two
 * programmes whose places bind):
 *  - eligibility: everyone referred in a month was eligible at its start
 *    (state, months in state, disability, region) and never referred twice;
 *  - capacity: starts per programme and region never exceed the month's
 *    places (scaled, with carried fractions: at most ceil of the scaled
 *    places), and the IPS caseload never exceeds its scaled cap;
 *  - allocation and everything else are identical for 1, 2 and 3 threads;
 *  - costs equal the unit prices times starts, support months and outcomes,
 *    and support months equal the persons on a programme at each month end;
 *  - a programme with neutral effects changes no transition at all (the
 *    referral draws are separate streams): the state panel is identical to
 *    the run without programmes;
 *  - a stronger job-finding odds ratio raises job entry among referrals by
 *    more than 4 standard errors.
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

static lm_scenario *load(const char *const *sets, size_t n) {
    char path[1024];
    lm_scenario *sc = NULL;
    lm_error err;
    int rc =
        lm_scenario_load(lm_test_data(path, sizeof path, "programmes.cfg"), sets, n, &sc, &err);
    if (rc)
        printf("load failed: %s\n", err.msg);
    assert_int_equal(rc, LM_OK);
    return sc;
}

typedef struct snapshot {
    uint8_t *state, *phase, *history;
    uint16_t *months;
} snapshot;

static void test_rules(void **unused) {
    (void)unused;
    lm_scenario *sc = load(NULL, 0);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    const lm_population *p = lm_sim_population(sim);
    const int64_t n = p->n;
    const double scale = (double)sc->n_persons / (double)sc->represents;
    snapshot prev = {malloc((size_t)n), malloc((size_t)n), malloc((size_t)n),
                     malloc((size_t)n * 2)};
    int64_t referrals = 0, checked_starts = 0;
    for (int t = 1; t <= sc->n_months; t++) {
        memcpy(prev.state, p->state, (size_t)n);
        memcpy(prev.phase, p->prog_phase, (size_t)n);
        memcpy(prev.history, p->prog_history, (size_t)n);
        memcpy(prev.months, p->months_in_state, (size_t)n * 2);
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        int64_t starts[LM_MAX_PROGRAMMES][LM_MAX_REGIONS] = {{0}};
        int64_t load[LM_MAX_PROGRAMMES][LM_MAX_REGIONS] = {{0}};
        for (int64_t i = 0; i < n; i++) {
            if (p->months_in_state[i] == 0 && p->generation[i] > 0 && p->prog_history[i] == 0)
                continue; /* a new entrant */
            int k = p->track_prog[i] - 1;
            if (p->track_prog[i] && p->track_month[i] == t) {
                /* Referred this month: eligible at the start of the month. */
                const lm_programme *pg = &sc->programmes[k];
                assert_true((pg->eligible.state >> prev.state[i]) & 1u);
                assert_true(prev.months[i] >= pg->min_months_in_state);
                assert_true((pg->eligible.disabled >> p->disabled[i]) & 1u);
                assert_true((pg->eligible.region >> p->region[i]) & 1u);
                assert_false((prev.history[i] >> k) & 1u); /* once */
                referrals++;
            }
            if (p->prog_phase[i] >= LM_PHASE_SEARCH)
                load[p->prog[i] - 1][p->region[i]]++;
            /* Started this month: was not on a programme in search or work. */
            if (p->prog_phase[i] >= LM_PHASE_SEARCH && prev.phase[i] <= LM_PHASE_QUEUED &&
                (p->track_flags[i] & LM_TRACK_STARTED)) {
                starts[p->prog[i] - 1][p->region[i]]++;
                checked_starts++;
            }
        }
        for (int k = 0; k < sc->n_programmes; k++)
            for (int r = 0; r < sc->n_regions; r++) {
                double places = ceil(sc->programmes[k].places_per_month[r] * scale);
                assert_true((double)starts[k][r] <= places);
                if (sc->programmes[k].caseload_cap[r] > 0.0)
                    assert_true((double)load[k][r] <=
                                floor(sc->programmes[k].caseload_cap[r] * scale));
            }
        const int64_t *pc = lm_sim_prog_counts(sim);
        for (int k = 0; k < sc->n_programmes; k++) {
            int64_t on = 0;
            for (int r = 0; r < sc->n_regions; r++)
                on += load[k][r];
            assert_int_equal(pc[lm_prog_index(k, 0, LM_PM_SUPPORT_MONTHS)], on);
        }
    }
    printf("checked %lld referrals and %lld starts\n", (long long)referrals,
           (long long)checked_starts);
    assert_true(referrals > 1000);
    assert_true(checked_starts > 500);
    free(prev.state);
    free(prev.phase);
    free(prev.history);
    free(prev.months);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

/* Run through lm_run and return the programme table. */
static void run_table(lm_scenario *sc, int threads, lm_programme_table *t, lm_headline *h) {
    lm_run_options opt;
    memset(&opt, 0, sizeof opt);
    opt.threads = threads;
    opt.programmes = t;
    lm_error err;
    assert_int_equal(lm_run(sc, &opt, h, &err), LM_OK);
}

static void test_costs(void **unused) {
    (void)unused;
    lm_scenario *sc = load(NULL, 0);
    lm_programme_table t;
    lm_headline h;
    run_table(sc, 2, &t, &h);
    assert_int_equal(t.n_rows, 2);
    for (int r = 0; r < t.n_rows; r++) {
        const lm_programme *pg = &sc->programmes[r];
        const lm_programme_row *row = &t.rows[r];
        double expect = pg->cost_per_start * (double)row->counts[LM_PM_STARTS] +
                        pg->cost_per_month * (double)row->counts[LM_PM_SUPPORT_MONTHS] +
                        pg->outcome_payment * (double)row->counts[LM_PM_OUTCOMES];
        printf("%s: starts %lld support %lld outcomes %lld cost %.0f\n", row->programme,
               (long long)row->counts[LM_PM_STARTS], (long long)row->counts[LM_PM_SUPPORT_MONTHS],
               (long long)row->counts[LM_PM_OUTCOMES], row->cost_total);
        assert_true(fabs(row->cost_total - expect) <= 1e-9 * expect);
        assert_true(row->counts[LM_PM_STARTS] > 0);
        assert_true(row->counts[LM_PM_STARTS] <= row->counts[LM_PM_REFERRALS]);
        assert_true(row->counts[LM_PM_SUSTAINED_12] <= row->counts[LM_PM_SUSTAINED_6]);
        assert_true(row->counts[LM_PM_ANY_JOB_12] <= row->counts[LM_PM_FOLLOWED_12]);
        assert_true(row->counts[LM_PM_EMPLOYED_12] <= row->counts[LM_PM_ANY_JOB_12]);
    }
    assert_true(t.rows[0].counts[LM_PM_SANCTIONS] > 0);
    assert_int_equal(t.rows[1].counts[LM_PM_SANCTIONS], 0);
    lm_scenario_destroy(sc);
}

static void test_threads(void **unused) {
    (void)unused;
    lm_scenario *sc = load(NULL, 0);
    lm_sim *sims[3];
    lm_error err;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(lm_sim_create(sc, k + 1, &sims[k], &err), LM_OK);
        for (int t = 0; t < 24; t++)
            assert_int_equal(lm_sim_step(sims[k], &err), LM_OK);
    }
    const lm_population *a = lm_sim_population(sims[0]);
    for (int k = 1; k < 3; k++) {
        const lm_population *b = lm_sim_population(sims[k]);
        size_t n = (size_t)a->n;
        assert_memory_equal(a->state, b->state, n);
        assert_memory_equal(a->prog, b->prog, n);
        assert_memory_equal(a->prog_phase, b->prog_phase, n);
        assert_memory_equal(a->prog_months, b->prog_months, n * 2);
        assert_memory_equal(a->track_flags, b->track_flags, n);
        assert_memory_equal(a->sanction_left, b->sanction_left, n);
        assert_memory_equal(lm_sim_prog_counts(sims[0]), lm_sim_prog_counts(sims[k]),
                            LM_PROG_CELLS * sizeof(int64_t));
    }
    for (int k = 0; k < 3; k++)
        lm_sim_destroy(sims[k]);
    lm_scenario_destroy(sc);
}

static void test_neutral(void **unused) {
    (void)unused;
    const char *neutral[] = {"programmes.wf.effects={ job_finding_or = 1.0; }",
                             "programmes.ips.effects={ job_finding_or = 1.0; }"};
    lm_scenario *with = load(neutral, 2);
    lm_scenario *without = load(NULL, 0);
    without->n_programmes = 0;
    lm_sim *a, *b;
    lm_error err;
    assert_int_equal(lm_sim_create(with, 2, &a, &err), LM_OK);
    assert_int_equal(lm_sim_create(without, 2, &b, &err), LM_OK);
    for (int t = 0; t < with->n_months; t++) {
        assert_int_equal(lm_sim_step(a, &err), LM_OK);
        assert_int_equal(lm_sim_step(b, &err), LM_OK);
        assert_memory_equal(lm_sim_counts(a), lm_sim_counts(b),
                            LM_AGG_CELLS(with->n_regions) * sizeof(int64_t));
    }
    const lm_population *pa = lm_sim_population(a), *pb = lm_sim_population(b);
    assert_memory_equal(pa->state, pb->state, (size_t)pa->n);
    /* ...and the programmes did run. */
    int64_t on = 0;
    for (int64_t i = 0; i < pa->n; i++)
        on += pa->prog_history[i] != 0;
    assert_true(on > 1000);
    lm_sim_destroy(a);
    lm_sim_destroy(b);
    lm_scenario_destroy(with);
    lm_scenario_destroy(without);
}

static void test_stronger_effect(void **unused) {
    (void)unused;
    const char *weak[] = {"programmes.wf.effects={ job_finding_or = 1.0; }"};
    const char *strong[] = {"programmes.wf.effects={ job_finding_or = 2.0; }"};
    lm_scenario *sw = load(weak, 1), *ss = load(strong, 1);
    lm_programme_table tw, ts;
    lm_headline h;
    run_table(sw, 2, &tw, &h);
    run_table(ss, 2, &ts, &h);
    double nw = (double)tw.rows[0].counts[LM_PM_FOLLOWED_12];
    double ns = (double)ts.rows[0].counts[LM_PM_FOLLOWED_12];
    double pw = tw.rows[0].any_job_12_rate, ps = ts.rows[0].any_job_12_rate;
    double se = sqrt(pw * (1 - pw) / nw + ps * (1 - ps) / ns);
    printf("any job within 12 months: OR 1 %.4f (n %.0f), OR 2 %.4f (n %.0f), 4 s.e. %.4f\n", pw,
           nw, ps, ns, 4 * se);
    assert_true(ps - pw > 4 * se);
    lm_scenario_destroy(sw);
    lm_scenario_destroy(ss);
}

/* A programme's odds ratio on health onset raises the share of its
 * participants with a limiting condition. */
static void test_health_effect(void **unused) {
    (void)unused;
    const char *none[] = {"programmes.wf.effects={ job_finding_or = 1.0; }"};
    const char *harm[] = {"programmes.wf.effects={ job_finding_or = 1.0; health_onset_or = 8.0; }"};
    double share[2];
    int64_t on[2];
    for (int v = 0; v < 2; v++) {
        lm_scenario *sc = load(v ? harm : none, 1);
        lm_sim *sim;
        lm_error err;
        assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
        for (int t = 0; t < 24; t++)
            assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        const lm_population *p = lm_sim_population(sim);
        int64_t lim = 0;
        on[v] = 0;
        for (int64_t i = 0; i < p->n; i++)
            if (p->prog[i] == 1 && p->prog_phase[i] == LM_PHASE_SEARCH) {
                on[v]++;
                lim += p->limiting[i];
            }
        share[v] = on[v] ? (double)lim / (double)on[v] : 0.0;
        lm_sim_destroy(sim);
        lm_scenario_destroy(sc);
    }
    double se =
        sqrt(share[0] * (1 - share[0]) / (double)on[0] + share[1] * (1 - share[1]) / (double)on[1]);
    printf("limiting among participants: OR 1 %.4f (n %lld), OR 8 %.4f (n %lld), 4 s.e. %.4f\n",
           share[0], (long long)on[0], share[1], (long long)on[1], 4 * se);
    assert_true(share[1] - share[0] > 4 * se);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),           cmocka_unit_test(test_costs),
        cmocka_unit_test(test_threads),         cmocka_unit_test(test_neutral),
        cmocka_unit_test(test_stronger_effect), cmocka_unit_test(test_health_effect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
