/* headline.c - the headline table: labour-market rates by group, start and end.
 *
 * lm_headline_compute() turns two months of aggregate counts (the cells of
 * sim.h, indexed by lm_agg_index(): [state][region][sex][disabled][minority]
 * [age_band]) into one row per group:
 *
 *   "all", "disabled", "not_disabled", "female", "male", "ethnic_minority",
 *   "white", "age:16-24" ... "age:50-64" (lm_age_band_name), and
 *   "region:<name>" for each region of the scenario, in that order.
 *
 * A group is a filter on at most one dimension of the cell (or none for
 * "all"). Each row holds, for the start and the end month,
 *   persons           every person in the group (all seven states);
 *   employment_rate   (poor + good jobs) / persons;
 *   unemployment_rate ILO: unemployed / (employed + unemployed), i.e. over
 *                     the economically active, not over the population;
 *   inactivity_rate   (the four inactive states) / persons;
 *   good_job_share    good jobs / (poor + good jobs).
 *   mean_earnings     monthly earnings of the employed, GBP (0 without earnings).
 *
 * Invariants and conventions: counts are exact integers and every rate is a
 * single division of two integer sums, so the table does not depend on the
 * order of accumulation or the thread count. A rate whose denominator is
 * zero (an empty group, or a group with nobody active or employed) is
 * reported as 0, not NaN, so that the table is always finite; `persons`
 * (and the other rates) tell an empty group apart. Group names longer than
 * LM_GROUP_NAME_MAX - 1 characters (long region names) are truncated.
 * The function is pure: no allocation, no printing.
 */
#include "lmsim/output.h"

#include <string.h>

#include "lmsim/scenario.h"
#include "lmsim/sim.h"

/* Dimensions a group may filter on. */
enum { DIM_NONE, DIM_DISABLED, DIM_FEMALE, DIM_MINORITY, DIM_AGE, DIM_REGION };

typedef struct group {
    int dim;   /* DIM_*: which cell coordinate is tested */
    int value; /* the value it must have */
} group;

/* Employed, unemployed, inactive and good-job totals of one group in one month. */
typedef struct totals {
    int64_t employed;
    int64_t unemployed;
    int64_t inactive;
    int64_t good;
    int64_t earn_pence; /* summed monthly earnings of the employed, pence */
} totals;

static int in_group(const group *g, int region, int female, int disabled, int minority,
                    int age_band) {
    switch (g->dim) {
    case DIM_DISABLED:
        return disabled == g->value;
    case DIM_FEMALE:
        return female == g->value;
    case DIM_MINORITY:
        return minority == g->value;
    case DIM_AGE:
        return age_band == g->value;
    case DIM_REGION:
        return region == g->value;
    default:
        return 1;
    }
}

static totals sum_group(const lm_scenario *sc, const int64_t *counts, const int64_t *earn,
                        const group *g) {
    totals t = {0, 0, 0, 0, 0};
    for (int s = 0; s < LM_N_STATES; s++)
        for (int r = 0; r < sc->n_regions; r++)
            for (int f = 0; f < 2; f++)
                for (int d = 0; d < 2; d++)
                    for (int m = 0; m < 2; m++)
                        for (int a = 0; a < LM_N_AGE_BANDS; a++) {
                            if (!in_group(g, r, f, d, m, a))
                                continue;
                            int64_t c = counts[lm_agg_index(sc->n_regions, s, r, f, d, m, a)];
                            if (lm_state_is_employed(s))
                                t.employed += c;
                            else if (s == LM_STATE_UNEMPLOYED)
                                t.unemployed += c;
                            else
                                t.inactive += c;
                            if (s == LM_STATE_EMPLOYED_GOOD)
                                t.good += c;
                            if (earn)
                                t.earn_pence += earn[lm_agg_index(sc->n_regions, s, r, f, d, m, a)];
                        }
    return t;
}

/* num / den, or 0 when den is 0 (see the file comment). */
static double ratio(int64_t num, int64_t den) {
    return den > 0 ? (double)num / (double)den : 0.0;
}

static void fill_row(const lm_scenario *sc, const int64_t *counts[2], const int64_t *earn[2],
                     const group *g, lm_headline_row *row) {
    for (int k = 0; k < 2; k++) {
        totals t = sum_group(sc, counts[k], earn[k], g);
        int64_t persons = t.employed + t.unemployed + t.inactive;
        row->persons[k] = persons;
        row->employment_rate[k] = ratio(t.employed, persons);
        row->unemployment_rate[k] = ratio(t.unemployed, t.employed + t.unemployed);
        row->inactivity_rate[k] = ratio(t.inactive, persons);
        row->good_job_share[k] = ratio(t.good, t.employed);
        row->mean_earnings[k] =
            t.employed > 0 ? (double)t.earn_pence / 100.0 / (double)t.employed : 0.0;
    }
}

/* Append row prefix + name, truncated to LM_GROUP_NAME_MAX - 1 characters. */
static void add_row(lm_headline *out, const lm_scenario *sc, const int64_t *counts[2],
                    const int64_t *earn[2], const char *prefix, const char *name, int dim,
                    int value) {
    if (out->n_rows >= LM_HEADLINE_MAX_ROWS)
        return;
    lm_headline_row *row = &out->rows[out->n_rows++];
    group g = {dim, value};
    size_t n = 0;
    memset(row, 0, sizeof *row);
    for (const char *p = prefix; *p != '\0' && n < LM_GROUP_NAME_MAX - 1; p++)
        row->group[n++] = *p;
    for (const char *p = name; *p != '\0' && n < LM_GROUP_NAME_MAX - 1; p++)
        row->group[n++] = *p;
    fill_row(sc, counts, earn, &g, row);
}

void lm_headline_compute(const lm_scenario *sc, const int64_t *counts_start,
                         const int64_t *counts_end, lm_headline *out) {
    lm_headline_compute_earnings(sc, counts_start, counts_end, NULL, NULL, out);
}

void lm_headline_compute_earnings(const lm_scenario *sc, const int64_t *counts_start,
                                  const int64_t *counts_end, const int64_t *earn_start,
                                  const int64_t *earn_end, lm_headline *out) {
    const int64_t *counts[2] = {counts_start, counts_end};
    const int64_t *earn[2] = {earn_start, earn_end};

    memset(out, 0, sizeof *out);
    add_row(out, sc, counts, earn, "", "all", DIM_NONE, 0);
    add_row(out, sc, counts, earn, "", "disabled", DIM_DISABLED, 1);
    add_row(out, sc, counts, earn, "", "not_disabled", DIM_DISABLED, 0);
    add_row(out, sc, counts, earn, "", "female", DIM_FEMALE, 1);
    add_row(out, sc, counts, earn, "", "male", DIM_FEMALE, 0);
    add_row(out, sc, counts, earn, "", "ethnic_minority", DIM_MINORITY, 1);
    add_row(out, sc, counts, earn, "", "white", DIM_MINORITY, 0);
    for (int a = 0; a < LM_N_AGE_BANDS; a++) {
        add_row(out, sc, counts, earn, "age:", lm_age_band_name(a), DIM_AGE, a);
    }
    for (int r = 0; r < sc->n_regions; r++) {
        add_row(out, sc, counts, earn, "region:", sc->regions[r].name, DIM_REGION, r);
    }
}
