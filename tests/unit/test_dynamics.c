/* test_dynamics.c - age terms, health by disability, acquired disability,
 * entrants' rules, in-work support that ends, trials randomised at the offer.
 *
 * On tests/data/dynamics.cfg (200,000 persons, 24 months):
 *  - the monthly U->E probability by age and type follows the logit's age
 *    steps (30-49: +1, 50+: -1 on the log-odds) and the low-employability
 *    coefficient (-1.5) within 5 binomial standard errors, and the type is
 *    drawn with its probability given the initial state;
 *  - onset and recovery of the limiting condition follow the rates by
 *    disability, labour state and age band (onset times the band's factor);
 *  - a person who is not disabled becomes disabled exactly when the
 *    condition reaches disabled_after_months, never earlier, and stays so;
 *    nobody starts non-disabled with a condition of that length;
 *  - the initial condition follows initial_by_state[_disabled];
 *  - entrants are disabled with disabled_at_entry and take the `entrants`
 *    state shares by disability.
 * On tests/data/programmes.cfg:
 *  - in-work support ends at the monthly leave rate while in work;
 *  - under a trial (places bind), arms are drawn at the offer: treatment
 *    starts, control never does, queued persons are not yet in an arm,
 *    both arms are followed from the offer month, the split is 50/50.
 * On tests/data/tenure.cfg:
 *  - job exits with duration = "in_work" follow months in work, which a
 *    change of job quality does not restart, and not months in state;
 *    quality changes follow their own (months-in-state) logit;
 *  - the pay-churn type is drawn with its probability given the state and
 *    multiplies the odds of the moves with a pay_churn coefficient.
 * Tolerances are 5 binomial standard errors of the count compared.
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

static lm_scenario *load(const char *file, const char *const *sets, size_t n) {
    char path[1024];
    lm_scenario *sc = NULL;
    lm_error err;
    int rc = lm_scenario_load(lm_test_data(path, sizeof path, file), sets, n, &sc, &err);
    if (rc)
        printf("load failed: %s\n", err.msg);
    assert_int_equal(rc, LM_OK);
    return sc;
}

/* |observed - expected| within 5 binomial standard errors over n trials. */
static void near_binomial(const char *what, int64_t hits, int64_t n, double p) {
    assert_true(n > 100);
    double obs = (double)hits / (double)n, se = sqrt(p * (1.0 - p) / (double)n);
    printf("%-40s n %8lld observed %.5f expected %.5f (%.1f s.e.)\n", what, (long long)n, obs, p,
           se > 0.0 ? (obs - p) / se : 0.0);
    assert_true(fabs(obs - p) <= 5.0 * se + 1e-12);
}

static double logistic(double x) {
    return 1.0 / (1.0 + exp(-x));
}

typedef struct before {
    uint8_t *state, *lim, *dis, *lim_months;
    uint16_t *gen;
} before;

static void snap(before *b, const lm_population *p) {
    size_t n = (size_t)p->n;
    memcpy(b->state, p->state, n);
    memcpy(b->lim, p->limiting, n);
    memcpy(b->dis, p->disabled, n);
    memcpy(b->lim_months, p->limiting_months, n);
    memcpy(b->gen, p->generation, n * sizeof *b->gen);
}

static int band_of(int age_months) {
    return lm_age_band_of(age_months);
}

static void test_age_health_disability(void **unused) {
    (void)unused;
    lm_scenario *sc = load("dynamics.cfg", NULL, 0);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    const lm_population *p = lm_sim_population(sim);
    const size_t n = (size_t)p->n;
    before b = {malloc(n), malloc(n), malloc(n), malloc(n), malloc(n * 2)};

    /* Month 0: the condition by disability and state; no non-disabled
     * person has had it for disabled_after_months. */
    int64_t lim0[2][LM_N_STATES] = {{0}}, tot0[2][LM_N_STATES] = {{0}};
    int64_t low[LM_N_STATES] = {0}, in_state[LM_N_STATES] = {0};
    for (size_t i = 0; i < n; i++) {
        low[p->state[i]] += p->low_emp[i];
        in_state[p->state[i]]++;
        lim0[p->disabled[i]][p->state[i]] += p->limiting[i];
        tot0[p->disabled[i]][p->state[i]]++;
        assert_true(p->disabled[i] || p->limiting_months[i] < sc->disabled_after_months);
        assert_true(p->limiting[i] || p->limiting_months[i] == 0);
    }
    near_binomial("low-employability type | unemployed", low[LM_STATE_UNEMPLOYED],
                  in_state[LM_STATE_UNEMPLOYED], sc->low_employability[LM_STATE_UNEMPLOYED]);
    near_binomial("low-employability type | sick", low[LM_STATE_INACTIVE_SICK],
                  in_state[LM_STATE_INACTIVE_SICK], sc->low_employability[LM_STATE_INACTIVE_SICK]);
    near_binomial("initial condition: disabled, unemployed", lim0[1][LM_STATE_UNEMPLOYED],
                  tot0[1][LM_STATE_UNEMPLOYED], sc->health_initial[1][LM_STATE_UNEMPLOYED]);
    near_binomial("initial condition: not disabled, sick", lim0[0][LM_STATE_INACTIVE_SICK],
                  tot0[0][LM_STATE_INACTIVE_SICK], sc->health_initial[0][LM_STATE_INACTIVE_SICK]);

    /* Pooled counts over the run. */
    int64_t ue_n[3][2] = {{0}}, ue_hit[3][2] = {{0}};
    int64_t on_n[2][LM_N_AGE_BANDS] = {{0}}, on_hit[2][LM_N_AGE_BANDS] = {{0}};
    int64_t rec_n[2] = {0}, rec_hit[2] = {0};
    int64_t acquired = 0, entrants = 0, ent_dis = 0;
    int64_t ent_state[2][LM_N_STATES] = {{0}}, ent_tot[2] = {0};
    const double add[3] = {0.0, 1.0, -1.0};
    for (int t = 1; t <= sc->n_months; t++) {
        snap(&b, p);
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        for (size_t i = 0; i < n; i++) {
            if (p->generation[i] != b.gen[i]) {
                /* An entrant aged 16 this month. */
                entrants++;
                ent_dis += p->disabled[i];
                ent_state[p->disabled[i]][p->state[i]]++;
                ent_tot[p->disabled[i]]++;
                continue;
            }
            const int age = (t - 1) - p->birth_month[i]; /* age during the step */
            if (b.state[i] == LM_STATE_UNEMPLOYED) {
                int k = age >= 50 * 12 ? 2 : age >= 30 * 12 ? 1 : 0;
                ue_n[k][p->low_emp[i]]++;
                ue_hit[k][p->low_emp[i]] += lm_state_is_employed(p->state[i]);
            }
            if (b.state[i] == LM_STATE_UNEMPLOYED && !b.lim[i]) {
                on_n[b.dis[i]][band_of(age)]++;
                on_hit[b.dis[i]][band_of(age)] += p->limiting[i];
            }
            if (b.state[i] == LM_STATE_UNEMPLOYED && b.lim[i]) {
                rec_n[b.dis[i]]++;
                rec_hit[b.dis[i]] += !p->limiting[i];
            }
            /* Disability: acquired exactly at the threshold, never lost. */
            assert_true(p->disabled[i] >= b.dis[i]);
            if (!b.dis[i] && p->disabled[i]) {
                acquired++;
                assert_int_equal(p->limiting_months[i], sc->disabled_after_months);
                assert_true(p->limiting[i]);
            }
            assert_true(p->disabled[i] || p->limiting_months[i] < sc->disabled_after_months);
            assert_true(p->limiting[i] ? p->limiting_months[i] >= 1 : p->limiting_months[i] == 0);
        }
    }
    for (int k = 0; k < 3; k++)
        for (int le = 0; le < 2; le++) {
            char what[64];
            snprintf(what, sizeof what, "U->E, age step %d, type %d", k, le);
            near_binomial(what, ue_hit[k][le], ue_n[k][le], logistic(-2.0 + add[k] - 1.5 * le));
        }
    for (int d = 0; d < 2; d++) {
        for (int bd = 0; bd < LM_N_AGE_BANDS; bd++) {
            char what[64];
            snprintf(what, sizeof what, "onset in U: disabled %d, band %d", d, bd);
            double rate = sc->health_onset[d][LM_STATE_UNEMPLOYED] * sc->health_onset_age[bd];
            near_binomial(what, on_hit[d][bd], on_n[d][bd], rate);
        }
        char what[64];
        snprintf(what, sizeof what, "recovery in U: disabled %d", d);
        near_binomial(what, rec_hit[d], rec_n[d], sc->health_recovery[d][LM_STATE_UNEMPLOYED]);
    }
    printf("acquired disability: %lld persons\n", (long long)acquired);
    assert_true(acquired > 100);
    near_binomial("entrants disabled", ent_dis, entrants, sc->disabled_at_entry);
    for (int d = 0; d < 2; d++) {
        const lm_initial_rule *r = &sc->entrant[d == 1 ? 0 : 1];
        near_binomial(d ? "entrants disabled: student" : "entrants not disabled: student",
                      ent_state[d][LM_STATE_INACTIVE_STUDENT], ent_tot[d],
                      r->shares[LM_STATE_INACTIVE_STUDENT]);
        near_binomial(d ? "entrants disabled: unemployed" : "entrants not disabled: unemployed",
                      ent_state[d][LM_STATE_UNEMPLOYED], ent_tot[d],
                      r->shares[LM_STATE_UNEMPLOYED]);
    }
    free(b.state);
    free(b.lim);
    free(b.dis);
    free(b.lim_months);
    free(b.gen);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

static void test_in_work_support_ends(void **unused) {
    (void)unused;
    const char *sets[] = {"programmes.wf.in_work_support_months=12",
                          "programmes.wf.in_work_support_leave_rate=0.3"};
    lm_scenario *sc = load("programmes.cfg", sets, 2);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    const lm_population *p = lm_sim_population(sim);
    const size_t n = (size_t)p->n;
    uint8_t *phase = malloc(n), *prog = malloc(n);
    uint16_t *months = malloc(n * 2), *gen = malloc(n * 2);
    int64_t at_risk = 0, ended = 0, in_work = 0;
    for (int t = 1; t <= sc->n_months; t++) {
        memcpy(phase, p->prog_phase, n);
        memcpy(prog, p->prog, n);
        memcpy(months, p->prog_months, n * 2);
        memcpy(gen, p->generation, n * 2);
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        for (size_t i = 0; i < n; i++) {
            in_work += p->prog_phase[i] == LM_PHASE_IN_WORK;
            /* In in-work support of wf, still in work, not at its last month. */
            if (gen[i] != p->generation[i] || phase[i] != LM_PHASE_IN_WORK || prog[i] != 1 ||
                !lm_state_is_employed(p->state[i]) || months[i] + 1 >= 12)
                continue;
            at_risk++;
            ended += p->prog_phase[i] == LM_PHASE_NONE;
        }
    }
    assert_true(in_work > 0);
    near_binomial("in-work support ends early", ended, at_risk, 0.3);
    free(phase);
    free(prog);
    free(months);
    free(gen);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

/* Probability of the move to destination `to` of a person in `s` with
 * months in state d and months in work w, from the scenario's logits (no
 * covariate terms in tenure.cfg); the duration term counts w or d. */
static double p_move_type(const lm_scenario *sc, int s, int to, int d, int w, int use_work,
                          int churn) {
    double odds[LM_N_STATES], total = 0.0;
    for (int j = 0; j < sc->n_dest[s]; j++) {
        const lm_logit *lg = &sc->dest[s][j];
        const int k = (use_work && lg->duration_in_work) ? w : d;
        odds[j] = exp(lg->intercept + lg->log_duration * log1p((double)k) +
                      (churn ? lg->pay_churn : 0.0));
        total += odds[j];
    }
    for (int j = 0; j < sc->n_dest[s]; j++)
        if (sc->dest[s][j].to == to)
            return odds[j] / (1.0 + total);
    return 0.0;
}

static double p_move(const lm_scenario *sc, int s, int to, int d, int w, int use_work) {
    return p_move_type(sc, s, to, d, w, use_work, 0);
}

/* duration = "in_work": job exits follow months in work, which a change of
 * job quality does not restart (it restarts months in state). The expected
 * exits under the other clock are far away, so the test tells them apart. */
static void test_duration_in_work(void **unused) {
    (void)unused;
    lm_scenario *sc = load("tenure.cfg", NULL, 0);
    assert_true(sc->dest[LM_STATE_EMPLOYED_POOR][0].duration_in_work);
    assert_false(sc->dest[LM_STATE_EMPLOYED_POOR][1].duration_in_work);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    const lm_population *p = lm_sim_population(sim);
    const size_t n = (size_t)p->n;
    uint8_t *state = malloc(n);
    uint16_t *mis = malloc(n * 2), *sus = malloc(n * 2), *gen = malloc(n * 2);
    double e_work = 0.0, e_state = 0.0, var = 0.0, e_switch = 0.0, v_switch = 0.0;
    int64_t exits = 0, switches = 0, at_risk = 0, restarted = 0;
    for (int t = 1; t <= sc->n_months; t++) {
        memcpy(state, p->state, n);
        memcpy(mis, p->months_in_state, n * 2);
        memcpy(sus, p->sustained_months, n * 2);
        memcpy(gen, p->generation, n * 2);
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        for (size_t i = 0; i < n; i++) {
            const int s = state[i];
            if (gen[i] != p->generation[i] || !lm_state_is_employed(s))
                continue;
            const int other =
                s == LM_STATE_EMPLOYED_POOR ? LM_STATE_EMPLOYED_GOOD : LM_STATE_EMPLOYED_POOR;
            const double pw = p_move(sc, s, LM_STATE_UNEMPLOYED, mis[i], sus[i], 1);
            const double pq = p_move(sc, s, other, mis[i], sus[i], 1);
            at_risk++;
            restarted += mis[i] < sus[i];
            e_work += pw;
            var += pw * (1.0 - pw);
            e_state += p_move(sc, s, LM_STATE_UNEMPLOYED, mis[i], sus[i], 0);
            e_switch += pq;
            v_switch += pq * (1.0 - pq);
            exits += p->state[i] == LM_STATE_UNEMPLOYED;
            if (p->state[i] == other) {
                switches++;
                /* A change of quality keeps months in work, restarts months in state. */
                assert_int_equal(p->months_in_state[i], 0);
                assert_int_equal(p->sustained_months[i], sus[i] + 1);
            }
        }
    }
    const double se = sqrt(var);
    printf("job exits: %lld of %lld at risk, expected %.2f on months in work (%.2f s.e.), "
           "%.0f on months in state; %lld with months in state restarted by a quality change\n",
           (long long)exits, (long long)at_risk, e_work, ((double)exits - e_work) / se, e_state,
           (long long)restarted);
    assert_true(restarted > at_risk / 10);
    assert_true(fabs(e_state - e_work) > 20.0 * se); /* the clocks are told apart */
    assert_true(fabs((double)exits - e_work) <= 5.0 * se);
    assert_true(fabs((double)switches - e_switch) <= 5.0 * sqrt(v_switch));
    free(state);
    free(mis);
    free(sus);
    free(gen);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

/* The pay-churn type: drawn with population.pay_churn_by_state given the
 * state at the start; its coefficient multiplies the odds of the moves that
 * have one (here poor -> good, exp(1.5)), which a test that ignored the
 * type would miss by far more than 5 s.e. */
static void test_pay_churn_type(void **unused) {
    (void)unused;
    const char *sets[] = {"population.pay_churn_by_state=[0.0,0.0,0.0,0.0,0.3,0.5,0.2]",
                          "transitions.employed_poor.[1].pay_churn=1.5"};
    lm_scenario *sc = load("tenure.cfg", sets, 2);
    assert_true(sc->dest[LM_STATE_EMPLOYED_POOR][1].pay_churn == 1.5);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    const lm_population *p = lm_sim_population(sim);
    const size_t n = (size_t)p->n;
    int64_t type_n[LM_N_STATES] = {0}, tot[LM_N_STATES] = {0};
    for (size_t i = 0; i < n; i++) {
        type_n[p->state[i]] += p->pay_churn[i];
        tot[p->state[i]]++;
    }
    for (int s = LM_STATE_UNEMPLOYED; s <= LM_STATE_EMPLOYED_GOOD; s++)
        near_binomial(lm_state_name(s), type_n[s], tot[s], sc->pay_churn[s]);
    uint8_t *state = malloc(n), *type = malloc(n);
    uint16_t *mis = malloc(n * 2), *sus = malloc(n * 2), *gen = malloc(n * 2);
    double e[2] = {0.0, 0.0}, v[2] = {0.0, 0.0}, e_plain = 0.0;
    int64_t hits[2] = {0, 0};
    for (int t = 1; t <= 12; t++) {
        memcpy(state, p->state, n);
        memcpy(type, p->pay_churn, n);
        memcpy(mis, p->months_in_state, n * 2);
        memcpy(sus, p->sustained_months, n * 2);
        memcpy(gen, p->generation, n * 2);
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        for (size_t i = 0; i < n; i++) {
            if (gen[i] != p->generation[i] || state[i] != LM_STATE_EMPLOYED_POOR)
                continue;
            assert_int_equal(p->pay_churn[i], type[i]); /* fixed for life */
            const int k = type[i];
            const double q = p_move_type(sc, LM_STATE_EMPLOYED_POOR, LM_STATE_EMPLOYED_GOOD, mis[i],
                                         sus[i], 1, k);
            e[k] += q;
            v[k] += q * (1.0 - q);
            if (k)
                e_plain +=
                    p_move(sc, LM_STATE_EMPLOYED_POOR, LM_STATE_EMPLOYED_GOOD, mis[i], sus[i], 1);
            hits[k] += p->state[i] == LM_STATE_EMPLOYED_GOOD;
        }
    }
    for (int k = 0; k < 2; k++) {
        printf("poor -> good, type %d: %lld moves, expected %.1f (%.2f s.e.)\n", k,
               (long long)hits[k], e[k], ((double)hits[k] - e[k]) / sqrt(v[k]));
        assert_true(fabs((double)hits[k] - e[k]) <= 5.0 * sqrt(v[k]));
    }
    assert_true(e[1] - e_plain > 20.0 * sqrt(v[1])); /* the factor is told apart */
    free(state);
    free(type);
    free(mis);
    free(sus);
    free(gen);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

static void test_trial_at_offer(void **unused) {
    (void)unused;
    /* IPS places bind (90 a month for far more referrals): many are never offered. */
    const char *sets[] = {"evaluation.trial=\"ips\""};
    lm_scenario *sc = load("programmes.cfg", sets, 1);
    const int k = sc->trial;
    assert_int_equal(k, 1);
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 3, &sim, &err), LM_OK);
    const lm_population *p = lm_sim_population(sim);
    const size_t n = (size_t)p->n;
    uint8_t *arm = malloc(n), *phase = malloc(n);
    int64_t rnd[LM_N_ARMS] = {0}, starts[LM_N_ARMS] = {0}, queued_arm0 = 0, queued = 0;
    int64_t new_t = 0, new_c = 0;
    for (int t = 1; t <= sc->n_months; t++) {
        memcpy(arm, p->track_arm, n);
        memcpy(phase, p->prog_phase, n);
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        const int64_t *pc = lm_sim_prog_counts(sim);
        for (int a = 0; a < LM_N_ARMS; a++) {
            rnd[a] += pc[lm_prog_index(k, a, LM_PM_RANDOMISED)];
            starts[a] += pc[lm_prog_index(k, a, LM_PM_STARTS)];
        }
        for (size_t i = 0; i < n; i++) {
            if (p->prog[i] == k + 1 && p->prog_phase[i] == LM_PHASE_QUEUED) {
                queued++;
                queued_arm0 += p->track_arm[i] == 0;
            }
            if (p->track_prog[i] != k + 1 || p->track_month[i] != t || p->track_arm[i] == 0)
                continue;
            /* Randomised this month: followed from now; control not on it. */
            if (p->track_arm[i] == 1) {
                new_t++;
                assert_true(p->prog[i] == k + 1 || p->prog_phase[i] == LM_PHASE_NONE);
            } else {
                new_c++;
                assert_int_equal(p->prog[i], 0);
            }
        }
    }
    printf("randomised: treatment %lld control %lld; starts %lld %lld %lld; queued %lld\n",
           (long long)rnd[1], (long long)rnd[2], (long long)starts[0], (long long)starts[1],
           (long long)starts[2], (long long)queued);
    assert_int_equal(rnd[0], 0);
    assert_int_equal(starts[0], 0);
    assert_int_equal(starts[2], 0);
    assert_int_equal(starts[1], rnd[1]);
    assert_int_equal(new_t, rnd[1]);
    assert_int_equal(new_c, rnd[2]);
    assert_true(queued > 0 && queued_arm0 == queued);
    near_binomial("trial: share randomised to treatment", rnd[1], rnd[1] + rnd[2], 0.5);
    free(arm);
    free(phase);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_age_health_disability), cmocka_unit_test(test_in_work_support_ends),
        cmocka_unit_test(test_trial_at_offer),        cmocka_unit_test(test_duration_in_work),
        cmocka_unit_test(test_pay_churn_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
