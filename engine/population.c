/* population.c - struct-of-arrays persons, synthesised from scenario margins.
 *
 * Each person is drawn independently from the margins in the scenario:
 * region, sex, age band (then age uniformly within the band, to the month),
 * disability by age band, ethnicity, qualification, caring by sex, and the
 * initial labour state from the first matching `initial_state` rule. Every
 * draw is lm__uniform(seed, id, month, LM_PURPOSE_POP_*, k), so a person's
 * attributes depend only on the seed and the person's id: the population is
 * identical for any thread count, and a person keeps the same attributes in
 * every scenario that shares the margins (common random numbers).
 *
 * Entrants (16-year-olds replacing those who turn 65) are drawn the same way
 * at the month they enter, with age 16 exactly and the first age band, except
 * that disability has its own prevalence at 16 (population.disabled_at_entry)
 * and the labour state comes from the `entrants` rules when the scenario has
 * them (most 16-year-olds are in education).
 *
 * Unobserved heterogeneity: a person is of the low-employability type with
 * a probability given the labour state just drawn (so the types start
 * sorted across states as the dynamics would sort them), and the type shifts
 * the transition logits (`low_employability` coefficients).
 *
 * A limiting health condition is drawn given disability and the labour state
 * just drawn (health.initial_by_state[_disabled]); for the initial population
 * its months so far are geometric with the mean of a spell under the state's
 * recovery rate (the completed length of spells in progress at a random time).
 *
 * Months already spent in the initial state are unknown in the margins; they
 * are drawn from a geometric distribution with the scenario's mean per state
 * (population.initial_duration_mean_months).
 */
#include "lmsim/population.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "lmsim/rng.h"

/* Age-band limits in years: [16, 25), [25, 35), [35, 50), [50, 65). */
static const int band_lo_years[LM_N_AGE_BANDS + 1] = {16, 25, 35, 50, 65};

void lm__draw_job(const lm_scenario *sc, lm_population *p, int64_t i, uint64_t id, uint32_t month,
                  int state) {
    if (!sc->has_earnings || !lm_state_is_employed(state)) {
        p->hours[i] = 0;
        p->earnings[i] = 0.0f;
        return;
    }
    const int female = p->female[i];
    const int part =
        lm__uniform(sc->seed, id, month, LM_PURPOSE_HOURS, 0) < sc->part_time_share[female];
    const int good = state == LM_STATE_EMPLOYED_GOOD;
    /* Log-normal around the median: inverse normal CDF of one uniform, so the
     * draw uses exactly one number from its stream (no rejection). */
    double z = gsl_cdf_ugaussian_Pinv(lm__uniform(sc->seed, id, month, LM_PURPOSE_EARNINGS, 0));
    double log_e = log(sc->earnings_full_time[good]) + sc->earnings_female * female +
                   sc->earnings_qual[p->qual[i]] + sc->earnings_log_sd * z;
    double e = exp(log_e) * (part ? sc->part_time_factor : 1.0);
    p->hours[i] = (uint8_t)(part ? 1 : 2);
    p->earnings[i] = (float)e;
}

/* A new occupant of a slot has no programme history. */
static void clear_programme(lm_population *p, int64_t i) {
    p->prog[i] = 0;
    p->prog_phase[i] = LM_PHASE_NONE;
    p->prog_months[i] = 0;
    p->prog_history[i] = 0;
    p->sanction_left[i] = 0;
    p->track_prog[i] = 0;
    p->track_arm[i] = 0;
    p->track_month[i] = 0;
    p->track_worked[i] = 0;
    p->track_flags[i] = 0;
    p->track2_tag[i] = 0;
    p->track2_flags[i] = 0;
    p->track2_worked[i] = 0;
    /* spell_ref, spell_wait and spell_end are read only with a spell (phase or
       spell_end, which the engine clears after each step): an entrant keeps its
       predecessor's, which the row of a leaver at 65 needs. */
}

static uint16_t sat16(double v) {
    return v >= 65535.0 ? (uint16_t)65535 : (uint16_t)v;
}

void lm_population_draw_person(const lm_scenario *sc, lm_population *p, int64_t i, int64_t id,
                               uint32_t month, int entrant) {
    const uint64_t seed = sc->seed;
    const uint64_t pid = (uint64_t)id;
    double shares[LM_MAX_REGIONS];
    for (int r = 0; r < sc->n_regions; r++)
        shares[r] = sc->regions[r].share;
    int region =
        lm__pick(shares, sc->n_regions, lm__uniform(seed, pid, month, LM_PURPOSE_POP_REGION, 0));
    int female = lm__uniform(seed, pid, month, LM_PURPOSE_POP_SEX, 0) < sc->female_share;
    int band, age_months;
    if (entrant) {
        band = 0;
        age_months = LM_AGE_MIN_MONTHS;
    } else {
        band = lm__pick(sc->age_band_share, LM_N_AGE_BANDS,
                        lm__uniform(seed, pid, month, LM_PURPOSE_POP_AGE, 0));
        int lo = band_lo_years[band] * LM_MONTHS_PER_YEAR;
        int span = (band_lo_years[band + 1] - band_lo_years[band]) * LM_MONTHS_PER_YEAR;
        age_months = lo + (int)(lm__uniform(seed, pid, month, LM_PURPOSE_POP_AGE, 1) * span);
        if (age_months >= lo + span)
            age_months = lo + span - 1;
    }
    int disabled = lm__uniform(seed, pid, month, LM_PURPOSE_POP_DISABLED, 0) <
                   (entrant ? sc->disabled_at_entry : sc->disabled_by_age_band[band]);
    int minority = lm__uniform(seed, pid, month, LM_PURPOSE_POP_MINORITY, 0) < sc->minority_share;
    int qual =
        lm__pick(sc->qual_share, LM_N_QUALS, lm__uniform(seed, pid, month, LM_PURPOSE_POP_QUAL, 0));
    int caring = lm__uniform(seed, pid, month, LM_PURPOSE_POP_CARING, 0) < sc->caring_share[female];

    const lm_initial_rule *rules = sc->initial;
    int n_rules = sc->n_initial;
    if (entrant && sc->n_entrant > 0) {
        rules = sc->entrant;
        n_rules = sc->n_entrant;
    }
    const lm_initial_rule *rule = &rules[n_rules - 1];
    for (int k = 0; k < n_rules; k++) {
        if (lm_selector_match(&rules[k].where, region, female, band, disabled, minority, qual,
                              caring, 0)) {
            rule = &rules[k];
            break;
        }
    }
    int state =
        lm__pick(rule->shares, LM_N_STATES, lm__uniform(seed, pid, month, LM_PURPOSE_POP_STATE, 0));
    uint16_t dur = 0;
    if (!entrant) {
        /* Geometric with mean m: floor(ln u / ln(1 - 1/(m+1))). */
        double m = sc->initial_duration_mean[state];
        if (m > 0.0) {
            double u = lm__uniform(seed, pid, month, LM_PURPOSE_POP_DURATION, 0);
            dur = sat16(floor(log(u) / log1p(-1.0 / (m + 1.0))));
        }
    }
    p->generation[i] = (uint16_t)((id - i) / p->n);
    p->birth_month[i] = (int32_t)month - age_months;
    p->region[i] = (uint8_t)region;
    p->female[i] = (uint8_t)female;
    p->disabled[i] = (uint8_t)disabled;
    p->minority[i] = (uint8_t)minority;
    p->qual[i] = (uint8_t)qual;
    p->caring[i] = (uint8_t)caring;
    p->state[i] = (uint8_t)state;
    p->months_in_state[i] = dur;
    clear_programme(p, i);
    p->limiting[i] =
        (uint8_t)(sc->has_health && lm__uniform(seed, pid, month, LM_PURPOSE_HEALTH, 0) <
                                        sc->health_initial[disabled][state]);
    p->low_emp[i] = (uint8_t)(lm__uniform(seed, pid, month, LM_PURPOSE_POP_TYPE, 0) <
                              sc->low_employability[state]);
    /* The pay-churn type: the same purpose, its own counter word (k = 1). */
    p->pay_churn[i] =
        (uint8_t)(sc->pay_churn[state] > 0.0 &&
                  lm__uniform(seed, pid, month, LM_PURPOSE_POP_TYPE, 1) < sc->pay_churn[state]);
    p->limiting_months[i] = 0;
    if (p->limiting[i] && !entrant) {
        /* Months of the condition so far: geometric with mean (1 - r) / r
         * for recovery rate r (0 when r = 1; capped when r = 0). A person
         * who is not disabled cannot have had it for disabled_after_months
         * (it would have made them disabled): truncated to [0, T - 1] by
         * inverse CDF, so no cohort reaches T in the first month. */
        double r = sc->health_recovery[disabled][state];
        double u = lm__uniform(seed, pid, month, LM_PURPOSE_HEALTH, 1);
        const int t = disabled ? 0 : sc->disabled_after_months;
        double m;
        if (r <= 0.0)
            m = t > 0 ? floor(u * t) : (double)UINT8_MAX;
        else if (t > 0)
            m = floor(log1p(-u * -expm1(t * log1p(-r))) / log1p(-r));
        else
            m = floor(log(u) / log1p(-r));
        if (t > 0 && m > t - 1)
            m = t - 1;
        p->limiting_months[i] = (uint8_t)(m >= (double)UINT8_MAX ? UINT8_MAX : m);
    }
    lm__draw_job(sc, p, i, pid, month, state);
    if (lm_state_is_employed(state)) {
        p->months_since_job[i] = 0;
        p->sustained_months[i] = dur;
    } else {
        /* Entrants have not worked; for the initial population the months out
         * of work are taken to be the months in the current state. */
        p->months_since_job[i] =
            entrant ? LM_NEVER_WORKED : (uint16_t)(dur + 1 > 65534 ? 65534 : dur + 1);
        p->sustained_months[i] = 0;
    }
}

void lm_population_destroy(lm_population *p) {
    if (!p)
        return;
    lm__free(p->generation);
    lm__free(p->birth_month);
    lm__free(p->region);
    lm__free(p->female);
    lm__free(p->disabled);
    lm__free(p->minority);
    lm__free(p->qual);
    lm__free(p->caring);
    lm__free(p->low_emp);
    lm__free(p->pay_churn);
    lm__free(p->state);
    lm__free(p->months_in_state);
    lm__free(p->months_since_job);
    lm__free(p->sustained_months);
    lm__free(p->limiting);
    lm__free(p->limiting_months);
    lm__free(p->hours);
    lm__free(p->earnings);
    lm__free(p->prog);
    lm__free(p->prog_phase);
    lm__free(p->prog_months);
    lm__free(p->prog_history);
    lm__free(p->sanction_left);
    lm__free(p->track_prog);
    lm__free(p->track_arm);
    lm__free(p->track_month);
    lm__free(p->track_worked);
    lm__free(p->track_flags);
    lm__free(p->track2_tag);
    lm__free(p->track2_flags);
    lm__free(p->track2_worked);
    lm__free(p->spell_ref);
    lm__free(p->spell_wait);
    lm__free(p->spell_end);
    lm__free(p);
}

int lm_population_create(const lm_scenario *sc, int64_t n, lm_population **out, lm_error *err) {
    return lm_population_create_range(sc, n, 0, n, out, err);
}

int lm_population_create_range(const lm_scenario *sc, int64_t n, int64_t lo, int64_t hi,
                               lm_population **out, lm_error *err) {
    *out = NULL;
    if (n < 1)
        return LM_FAIL(err, LM_EARG, "population size must be at least 1, got %lld", (long long)n);
    if (lo < 0 || hi < lo || hi > n)
        return LM_FAIL(err, LM_EARG, "slot range [%lld, %lld) is not within [0, %lld)",
                       (long long)lo, (long long)hi, (long long)n);
    lm_population *p = lm__calloc(1, sizeof *p);
    if (!p)
        return LM_FAIL(err, LM_ENOMEM, "out of memory allocating a population");
    p->n = n;
    size_t un = (size_t)n;
    p->generation = lm__aligned_alloc(un * sizeof *p->generation);
    p->birth_month = lm__aligned_alloc(un * sizeof *p->birth_month);
    p->region = lm__aligned_alloc(un);
    p->female = lm__aligned_alloc(un);
    p->disabled = lm__aligned_alloc(un);
    p->minority = lm__aligned_alloc(un);
    p->qual = lm__aligned_alloc(un);
    p->caring = lm__aligned_alloc(un);
    p->low_emp = lm__aligned_alloc(un);
    p->pay_churn = lm__aligned_alloc(un);
    p->state = lm__aligned_alloc(un);
    p->months_in_state = lm__aligned_alloc(un * sizeof *p->months_in_state);
    p->months_since_job = lm__aligned_alloc(un * sizeof *p->months_since_job);
    p->sustained_months = lm__aligned_alloc(un * sizeof *p->sustained_months);
    p->limiting = lm__aligned_alloc(un);
    p->limiting_months = lm__aligned_alloc(un);
    p->hours = lm__aligned_alloc(un);
    p->earnings = lm__aligned_alloc(un * sizeof *p->earnings);
    p->prog = lm__aligned_alloc(un);
    p->prog_phase = lm__aligned_alloc(un);
    p->prog_months = lm__aligned_alloc(un * sizeof *p->prog_months);
    p->prog_history = lm__aligned_alloc(un);
    p->sanction_left = lm__aligned_alloc(un);
    p->track_prog = lm__aligned_alloc(un);
    p->track_arm = lm__aligned_alloc(un);
    p->track_month = lm__aligned_alloc(un * sizeof *p->track_month);
    p->track_worked = lm__aligned_alloc(un);
    p->track_flags = lm__aligned_alloc(un);
    p->track2_tag = lm__aligned_alloc(un * sizeof *p->track2_tag);
    p->track2_flags = lm__aligned_alloc(un);
    p->track2_worked = lm__aligned_alloc(un);
    p->spell_ref = lm__aligned_alloc(un * sizeof *p->spell_ref);
    p->spell_wait = lm__aligned_alloc(un);
    p->spell_end = lm__aligned_alloc(un);
    if (!p->generation || !p->birth_month || !p->region || !p->female || !p->disabled ||
        !p->minority || !p->qual || !p->caring || !p->state || !p->months_in_state ||
        !p->months_since_job || !p->sustained_months || !p->prog || !p->prog_phase ||
        !p->prog_months || !p->prog_history || !p->sanction_left || !p->track_prog ||
        !p->track_arm || !p->track_month || !p->track_worked || !p->track_flags || !p->limiting ||
        !p->limiting_months || !p->low_emp || !p->pay_churn || !p->hours || !p->earnings ||
        !p->track2_tag || !p->track2_flags || !p->track2_worked || !p->spell_ref ||
        !p->spell_wait || !p->spell_end) {
        lm_population_destroy(p);
        return LM_FAIL(err, LM_ENOMEM, "out of memory allocating %lld persons", (long long)n);
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = lo; i < hi; i++) {
        lm_population_draw_person(sc, p, i, i, 0, 0);
        p->spell_ref[i] = 0;
        p->spell_wait[i] = 0;
        p->spell_end[i] = 0;
    }
    *out = p;
    return LM_OK;
}
