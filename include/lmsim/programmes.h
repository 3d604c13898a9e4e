/* lmsim/programmes.h - programme measures and the per-programme results table.
 *
 * Each month the engine counts, per programme and trial arm, the flows
 * (referrals, starts, ...) of that month and the stocks (queued, caseload)
 * at its end, as exact integers. A run keeps every month's counts; the
 * results table sums them and prices them with the programme's unit costs.
 * Outcomes follow each referral for `evaluation.follow_up_months`.
 */
#ifndef LMSIM_PROGRAMMES_H
#define LMSIM_PROGRAMMES_H

#include <stddef.h>
#include <stdint.h>

#include "lmsim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LM_N_ARMS                                                                                  \
    3 /* 0 outside a trial arm (under a trial: not offered yet), 1 treatment,                      \
       2 control */

/* X(NAME, name, is_stock, meaning) */
#define LM_PROG_MEASURE_MAP(X)                                                                     \
    X(REFERRALS, "referrals", 0, "referrals (randomisations in a trial)")                          \
    X(STARTS, "starts", 0, "starts: places taken up")                                              \
    X(DROPOUTS, "dropouts", 0, "left the queue after the maximum wait")                            \
    X(SUPPORT_MONTHS, "support_months", 0,                                                         \
      "months of support: persons on the programme at the end of the month")                       \
    X(SANCTIONS, "sanctions", 0, "sanctions imposed")                                              \
    X(JOB_ENTRIES, "job_entries", 0,                                                               \
      "referred persons entering work for the first time since referral")                          \
    X(GOOD_ENTRIES, "good_entries", 0, "of those, entries into a good job")                        \
    X(SUSTAINED_6, "sustained_6", 0, "referred persons reaching 6 consecutive months in work")     \
    X(SUSTAINED_12, "sustained_12", 0, "referred persons reaching 12 consecutive months in work")  \
    X(FOLLOWED_12, "followed_12", 0, "referred persons followed for 12 months")                    \
    X(EMPLOYED_12, "employed_12", 0, "of those, in work 12 months after referral")                 \
    X(ANY_JOB_12, "any_job_12", 0, "of those, in work at any time within 12 months of referral")   \
    X(WORKED_13W_12, "worked_13w_12", 0,                                                           \
      "of those, in work at 3 or more of the 13 month-ends from referral to 12 months on")         \
    X(EARNINGS_12_PENCE, "earnings_12_pence", 0,                                                   \
      "of those in work 12 months after referral, summed monthly earnings in pence")               \
    X(OUTCOMES, "outcomes", 0,                                                                     \
      "paid outcomes: starters reaching the months in work within the window")                     \
    X(QUEUED, "queued", 1, "persons waiting for a place at the end of the month")                  \
    X(CASELOAD, "caseload", 1, "persons on the programme at the end of the month")                 \
    X(RANDOMISED, "randomised", 0,                                                                 \
      "trial: persons offered a place and randomised to this arm (follow-up starts then)")

typedef enum lm_prog_measure {
#define LM__PM_ENUM(NAME, name, stock, text) LM_PM_##NAME,
    LM_PROG_MEASURE_MAP(LM__PM_ENUM)
#undef LM__PM_ENUM
        LM_PM_N
} lm_prog_measure;

/* Name ("referrals", ...) and whether a measure is a stock. */
const char *lm_prog_measure_name(int m);
int lm_prog_measure_is_stock(int m);

/* Index into one month of programme counts. */
static inline size_t lm_prog_index(int programme, int arm, int measure) {
    return ((size_t)programme * LM_N_ARMS + (size_t)arm) * LM_PM_N + (size_t)measure;
}
#define LM_PROG_CELLS ((size_t)LM_MAX_PROGRAMMES * LM_N_ARMS * LM_PM_N)

typedef struct lm_programme_row {
    char programme[48];
    int arm;                   /* 0 outside a trial (under a trial: referrals not offered a
                                  place), 1 treatment, 2 control */
    int64_t counts[LM_PM_N];   /* flows summed over the run; stocks at the last month */
    double cost_starts;        /* GBP */
    double cost_support;       /* GBP */
    double cost_outcomes;      /* GBP: outcome payments */
    double cost_total;         /* GBP */
    double cost_per_sustained; /* cost_total / SUSTAINED_6, 0 when none */
    double good_entry_share;   /* GOOD_ENTRIES / JOB_ENTRIES */
    double outcome_rate;       /* OUTCOMES / REFERRALS (trial arms: / RANDOMISED) */
    double employed_12_rate;   /* EMPLOYED_12 / FOLLOWED_12 */
    double any_job_12_rate;    /* ANY_JOB_12 / FOLLOWED_12 */
    double worked_13w_12_rate; /* WORKED_13W_12 / FOLLOWED_12 */
    double mean_earnings_12;   /* GBP a month of those in work 12 months after referral */
} lm_programme_row;

typedef struct lm_programme_table {
    int n_rows;
    lm_programme_row rows[LM_MAX_PROGRAMMES * LM_N_ARMS];
} lm_programme_table;

/* Sum months 1..n_months of `monthly` ((n_months + 1) * LM_PROG_CELLS counts)
 * into one row per programme, and for the programme under trial one row per
 * arm: 0 (referred, never offered a place), 1 treatment, 2 control. Costs
 * use the programme's unit costs from `sc`. */
void lm_programme_table_compute(const lm_scenario *sc, const int64_t *monthly,
                                lm_programme_table *out);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_PROGRAMMES_H */
