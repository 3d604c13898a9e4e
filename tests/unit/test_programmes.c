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
 *    more than 4 standard errors;
 *  - referral history: every referral is one row (lm_sim_ended_spells after
 *    each step, lm_sim_open_spells at the end) with referral <= offer <=
 *    start <= end, a reason consistent with the phases (no start before
 *    leaving the queue, dropping out after max_wait_months, job search
 *    ending after duration_months, controls never starting), and the rows
 *    count what the programme counters count (referrals, starts, drop-outs,
 *    randomisations per arm, spells under way at the end); the same rows
 *    for 1 and 3 threads, also when more spells end in a month than a
 *    thread's list holds (the scan of the range);
 *  - a person referred again keeps both follow-ups: followed_12 counts every
 *    referral that reaches 12 months unless two later referrals came within
 *    them, and followups_cut counts exactly the follow-ups so closed;
 *  - the table's represented counts and costs are the simulated ones x
 *    represents / persons, and costs per referral, start and sustained job
 *    divide the cost by those counts.
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
        printf("%s: starts %lld support %lld outcomes %lld cost %.0f (represented %.0f)\n",
               row->programme, (long long)row->counts[LM_PM_STARTS],
               (long long)row->counts[LM_PM_SUPPORT_MONTHS], (long long)row->counts[LM_PM_OUTCOMES],
               row->cost_total_sim, row->cost_total);
        assert_true(fabs(row->cost_total_sim - expect) <= 1e-9 * expect);
        /* Represented: x represents / persons (10 here). */
        const double scale = (double)sc->represents / (double)sc->n_persons;
        assert_true(t.scale == scale && scale == 10.0);
        assert_true(fabs(row->cost_total - expect * scale) <= 1e-9 * expect * scale);
        for (int m = 0; m < LM_PM_N; m++)
            assert_true(row->represented[m] == (double)row->counts[m] * scale);
        /* Per unit, named for the denominator. */
        assert_true(row->cost_per_referral ==
                    row->cost_total_sim / (double)row->counts[LM_PM_REFERRALS]);
        assert_true(row->cost_per_start == row->cost_total_sim / (double)row->counts[LM_PM_STARTS]);
        assert_true(row->counts[LM_PM_SUSTAINED_6_STARTED] > 0 &&
                    row->counts[LM_PM_SUSTAINED_6_STARTED] <= row->counts[LM_PM_SUSTAINED_6]);
        assert_true(row->cost_per_sustained_6 ==
                    row->cost_total_sim / (double)row->counts[LM_PM_SUSTAINED_6_STARTED]);
        /* Horizon rates: over the referrals followed to the horizon. */
        assert_true(row->counts[LM_PM_FOLLOWED_WINDOW] > 0 &&
                    row->counts[LM_PM_FOLLOWED_WINDOW] < row->counts[LM_PM_REFERRALS]);
        assert_true(row->counts[LM_PM_OUTCOMES_WINDOW] <= row->counts[LM_PM_OUTCOMES]);
        assert_true(row->outcome_rate == (double)row->counts[LM_PM_OUTCOMES_WINDOW] /
                                             (double)row->counts[LM_PM_FOLLOWED_WINDOW]);
        assert_true(row->counts[LM_PM_SUSTAINED_6_12] <= row->counts[LM_PM_FOLLOWED_12]);
        assert_int_equal(row->outcome_window_months, pg->outcome_window_months);
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

/* Every referral-history row of a run of sc with `threads` threads: the
 * ends of each step, then the spells under way at the end. Also returns
 * the most rows of one step and (into counts, (months + 1) * LM_PROG_CELLS)
 * the programme counts of every month. */
static lm_referral *history_rows(const lm_scenario *sc, int threads, int64_t *n_rows, int64_t *most,
                                 int64_t *counts) {
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, threads, &sim, &err), LM_OK);
    int64_t cap = 1 << 16, n = 0;
    lm_referral *rows = malloc((size_t)cap * sizeof *rows);
    *most = 0;
    for (int t = 1; t <= sc->n_months; t++) {
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        memcpy(counts + (size_t)t * LM_PROG_CELLS, lm_sim_prog_counts(sim),
               LM_PROG_CELLS * sizeof *counts);
        int64_t k = lm_sim_ended_spells(sim, NULL);
        while (n + k + sc->n_persons > cap)
            rows = realloc(rows, (size_t)(cap *= 2) * sizeof *rows);
        assert_int_equal(lm_sim_ended_spells(sim, rows + n), k);
        for (int64_t q = 1; q < k; q++) /* ascending slots */
            assert_true(rows[n + q].person_id % sc->n_persons >
                        rows[n + q - 1].person_id % sc->n_persons);
        n += k;
        *most = k > *most ? k : *most;
    }
    n += lm_sim_open_spells(sim, rows + n);
    lm_sim_destroy(sim);
    *n_rows = n;
    return rows;
}

static int64_t total(const lm_scenario *sc, const int64_t *counts, int k, int arm, int m) {
    int64_t v = 0;
    for (int t = 1; t <= sc->n_months; t++)
        v += counts[(size_t)t * LM_PROG_CELLS + lm_prog_index(k, arm, m)];
    return v;
}

static void check_history(const lm_scenario *sc, const lm_referral *rows, int64_t n,
                          const int64_t *counts) {
    int64_t refs[LM_MAX_PROGRAMMES] = {0}, starts[LM_MAX_PROGRAMMES] = {0},
            drop[LM_MAX_PROGRAMMES] = {0}, open[LM_MAX_PROGRAMMES] = {0},
            arms[LM_MAX_PROGRAMMES][LM_N_ARMS] = {{0}}, by_reason[LM_N_ENDS] = {0};
    for (int64_t q = 0; q < n; q++) {
        const lm_referral *r = &rows[q];
        assert_true(r->programme >= 1 && r->programme <= sc->n_programmes);
        const int k = r->programme - 1;
        const lm_programme *pg = &sc->programmes[k];
        assert_true(r->reason >= LM_END_FINISHED && r->reason <= LM_END_RUN_ENDED);
        assert_true(r->referral_month >= 1 && r->referral_month <= r->end_month);
        assert_true(r->end_month <= sc->n_months);
        by_reason[r->reason]++;
        refs[k]++;
        if (r->start_month >= 0) {
            starts[k]++;
            assert_true(r->referral_month <= r->start_month && r->start_month <= r->end_month);
            assert_int_equal(r->offer_month, r->start_month);
            assert_true(r->start_month - r->referral_month <= pg->max_wait_months);
        }
        switch (r->reason) {
        case LM_END_FINISHED:
            assert_true(r->start_month >= 0);
            assert_int_equal(r->end_month - r->start_month, pg->duration_months - 1);
            break;
        case LM_END_JOB:
            assert_true(r->start_month >= 0 && pg->in_work_support_months == 0);
            break;
        case LM_END_IN_WORK_ENDED:
            assert_true(r->start_month >= 0 && pg->in_work_support_months > 0);
            assert_true(r->end_month > r->start_month);
            break;
        case LM_END_LEFT_QUEUE:
            assert_true(r->start_month < 0 && r->offer_month < 0 &&
                        r->end_month > r->referral_month);
            break;
        case LM_END_DROPPED_OUT:
            assert_true(r->start_month < 0 && r->offer_month < 0);
            assert_int_equal(r->end_month - r->referral_month, pg->max_wait_months + 1);
            drop[k]++;
            break;
        case LM_END_CONTROL:
            /* Randomised at the offer; controls never start. */
            assert_true(k == sc->trial && r->arm == 2 && r->start_month < 0);
            assert_int_equal(r->offer_month, r->end_month);
            break;
        case LM_END_RUN_ENDED:
            assert_int_equal(r->end_month, sc->n_months);
            open[k]++;
            break;
        default:
            break;
        }
        if (k != sc->trial)
            assert_int_equal(r->arm, 0);
        else
            assert_int_equal(r->arm, r->reason == LM_END_CONTROL ? 2 : r->start_month >= 0 ? 1 : 0);
        arms[k][r->arm]++;
    }
    for (int k = 0; k < sc->n_programmes; k++) {
        int64_t st = 0, dr = 0;
        for (int a = 0; a < LM_N_ARMS; a++) {
            st += total(sc, counts, k, a, LM_PM_STARTS);
            dr += total(sc, counts, k, a, LM_PM_DROPOUTS);
        }
        const int64_t *last = counts + (size_t)sc->n_months * LM_PROG_CELLS;
        int64_t on = 0;
        for (int a = 0; a < LM_N_ARMS; a++)
            on +=
                last[lm_prog_index(k, a, LM_PM_QUEUED)] + last[lm_prog_index(k, a, LM_PM_CASELOAD)];
        printf("%s: %lld rows, %lld starts, %lld drop-outs, %lld under way at the end\n",
               sc->programmes[k].name, (long long)refs[k], (long long)starts[k], (long long)drop[k],
               (long long)open[k]);
        assert_int_equal(refs[k], total(sc, counts, k, 0, LM_PM_REFERRALS));
        assert_int_equal(starts[k], st);
        assert_int_equal(drop[k], dr);
        assert_int_equal(open[k], on);
        if (k == sc->trial) {
            assert_int_equal(arms[k][1], total(sc, counts, k, 1, LM_PM_RANDOMISED));
            assert_int_equal(arms[k][2], total(sc, counts, k, 2, LM_PM_RANDOMISED));
            assert_true(arms[k][1] > 0 && arms[k][2] > 0);
        }
    }
    for (int r = LM_END_FINISHED; r <= LM_END_RUN_ENDED; r++)
        printf("  %-14s %lld\n", lm_spell_end_name(r), (long long)by_reason[r]);
    /* Every reason occurs on this scenario (control under a trial only). */
    for (int r = LM_END_FINISHED; r <= LM_END_RUN_ENDED; r++)
        if (r != LM_END_CONTROL || sc->trial >= 0)
            assert_true(by_reason[r] > 0);
}

static void test_history(void **unused) {
    (void)unused;
    /* A trial of ips, and a queue with drop-outs; 60 months so that some
     * persons on a programme reach 65. */
    const char *sets[] = {"evaluation.trial=\"ips\"", "simulation.months=60"};
    lm_scenario *sc = load(sets, 2);
    const size_t cells = (size_t)(sc->n_months + 1) * LM_PROG_CELLS;
    int64_t *c1 = calloc(cells, sizeof *c1), *c3 = calloc(cells, sizeof *c3);
    int64_t n1, n3, most1, most3;
    lm_referral *r1 = history_rows(sc, 1, &n1, &most1, c1);
    check_history(sc, r1, n1, c1);
    lm_referral *r3 = history_rows(sc, 3, &n3, &most3, c3);
    assert_int_equal(n1, n3);
    assert_memory_equal(r1, r3, (size_t)n1 * sizeof *r1);
    assert_memory_equal(c1, c3, cells * sizeof *c1);
    free(r1);
    free(r3);
    /* Many ends in one month: one thread's list overflows and its range is
     * scanned; the rows are the same as with 3 threads' lists. */
    const char *heavy[] = {"programmes.wf.referral.probability=1.0",
                           "programmes.wf.capacity.max_wait_months=0",
                           "programmes.wf.min_months_in_state=0", "simulation.months=12"};
    lm_scenario *sh = load(heavy, 4);
    const size_t ch = (size_t)(sh->n_months + 1) * LM_PROG_CELLS;
    int64_t *h1 = calloc(ch, sizeof *h1), *h3 = calloc(ch, sizeof *h3);
    r1 = history_rows(sh, 1, &n1, &most1, h1);
    r3 = history_rows(sh, 3, &n3, &most3, h3);
    printf("heavy: %lld rows, at most %lld in a month (a thread lists %d)\n", (long long)n1,
           (long long)most1, LM_ENDS_CAP);
    assert_true(most1 > LM_ENDS_CAP);
    check_history(sh, r1, n1, h1);
    assert_int_equal(n1, n3);
    assert_memory_equal(r1, r3, (size_t)n1 * sizeof *r1);
    free(r1);
    free(r3);
    free(c1);
    free(c3);
    free(h1);
    free(h3);
    lm_scenario_destroy(sh);
    lm_scenario_destroy(sc);
}

/* Re-referral: with `once = false` people are referred again while an
 * earlier referral is followed. Each month the test notes every new
 * referral per slot, and expects: followed_12 = the referrals 12 months
 * back whose follow-up was not closed by two later referrals within those
 * 12 months; followups_cut = the referrals that found two earlier ones of
 * the same person still followed (the second newest within
 * follow_up_months). */
static void test_rereferral(void **unused) {
    (void)unused;
    const char *sets[] = {"programmes.wf.once=false", "programmes.ips.once=false",
                          "programmes.wf.referral.probability=0.6"};
    lm_scenario *sc = load(sets, 3);
    const int F = sc->follow_up_months, T = sc->n_months;
    lm_sim *sim;
    lm_error err;
    assert_int_equal(lm_sim_create(sc, 2, &sim, &err), LM_OK);
    const lm_population *p = lm_sim_population(sim);
    const int64_t n = p->n;
    /* Per slot: the referral months of its occupant, newest last (at most 64). */
    int16_t *when = calloc((size_t)n * 64, sizeof *when);
    uint8_t *count = calloc((size_t)n, 1);
    uint16_t *gen = calloc((size_t)n, sizeof *gen);
    int64_t followed = 0, expect_followed = 0, cut = 0, expect_cut = 0, twice = 0;
    for (int t = 1; t <= T; t++) {
        assert_int_equal(lm_sim_step(sim, &err), LM_OK);
        const int64_t *pc = lm_sim_prog_counts(sim);
        for (int k = 0; k < sc->n_programmes; k++) {
            followed += pc[lm_prog_index(k, 0, LM_PM_FOLLOWED_12)];
            cut += pc[lm_prog_index(k, 0, LM_PM_FOLLOWUPS_CUT)];
        }
        for (int64_t i = 0; i < n; i++) {
            if (p->generation[i] != gen[i]) { /* a new occupant */
                gen[i] = p->generation[i];
                count[i] = 0;
            }
            int16_t *w = when + (size_t)i * 64;
            const int c = count[i];
            if ((p->prog_phase[i] != LM_PHASE_NONE || p->spell_end[i]) && p->spell_ref[i] == t) {
                /* Referred this month: the second newest earlier referral
                 * still followed is closed. */
                expect_cut += c >= 2 && t - w[c - 2] <= F;
                twice += c >= 1 && t - w[c - 1] < 12;
                assert_true(c < 64);
                w[count[i]++] = (int16_t)t;
            }
            for (int q = 0; q < count[i]; q++) {
                if (w[q] != t - 12)
                    continue;
                int later = 0;
                for (int r = q + 1; r < count[i]; r++)
                    later += w[r] <= t;
                expect_followed += later < 2;
            }
        }
    }
    printf("followed_12 %lld (expected %lld), cut %lld (expected %lld), %lld referred again "
           "within 12 months\n",
           (long long)followed, (long long)expect_followed, (long long)cut, (long long)expect_cut,
           (long long)twice);
    assert_true(twice > 100 && cut > 10);
    assert_int_equal(followed, expect_followed);
    assert_int_equal(cut, expect_cut);
    free(when);
    free(count);
    free(gen);
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),           cmocka_unit_test(test_costs),
        cmocka_unit_test(test_threads),         cmocka_unit_test(test_neutral),
        cmocka_unit_test(test_stronger_effect), cmocka_unit_test(test_health_effect),
        cmocka_unit_test(test_history),         cmocka_unit_test(test_rereferral),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
