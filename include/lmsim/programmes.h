/* lmsim/programmes.h - programme measures and the per-programme results table.
 *
 * Each month the engine counts, per programme and trial arm, the flows
 * (referrals, starts, ...) of that month and the stocks (queued, caseload)
 * at its end, as exact integers. A run keeps every month's counts; the
 * results table sums them and prices them with the programme's unit costs.
 * Outcomes follow each referral for `evaluation.follow_up_months`; rates
 * are over the referrals whose follow-up reached the rate's horizon (12
 * months, or the programme's outcome window), counted in the month they
 * reach it. A person referred again while an earlier referral is still
 * followed keeps both follow-ups (a second follow-up slot); a third
 * overlapping referral closes the oldest (counted in followups_cut).
 *
 * Counts are of the simulated persons; the table also gives them, and the
 * costs, for the represented population (x simulation.represents /
 * simulation.persons). Every programme spell (referral to the end of the
 * spell) is one lm_referral row of the referral history.
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
      "trial: persons offered a place and randomised to this arm (follow-up starts then)")         \
    X(SUSTAINED_6_STARTED, "sustained_6_started", 0,                                               \
      "referred persons who had started, reaching 6 consecutive months in work")                   \
    X(SUSTAINED_6_12, "sustained_6_12", 0,                                                         \
      "of those followed for 12 months, 6 consecutive months in work reached within 12 months")    \
    X(FOLLOWED_WINDOW, "followed_window", 0,                                                       \
      "referred persons followed for the whole outcome window (outcome_window_months)")            \
    X(OUTCOMES_WINDOW, "outcomes_window", 0, "of those, with a paid outcome within the window")    \
    X(FOLLOWUPS_CUT, "followups_cut", 0,                                                           \
      "follow-ups closed early: the oldest of three overlapping referrals of one person")

typedef enum lm_prog_measure {
#define LM__PM_ENUM(NAME, name, stock, text) LM_PM_##NAME,
    LM_PROG_MEASURE_MAP(LM__PM_ENUM)
#undef LM__PM_ENUM
        LM_PM_N
} lm_prog_measure;

/* Name ("referrals", ...) and whether a measure is a stock. */
const char *lm_prog_measure_name(int m);
int lm_prog_measure_is_stock(int m);

/* How a programme spell (referral to leaving the programme) ended. */
typedef enum lm_spell_end {
    LM_END_NONE = 0,          /* (not ended) */
    LM_END_FINISHED = 1,      /* job-search support ran its duration_months */
    LM_END_JOB = 2,           /* job entry, and the programme has no in-work support */
    LM_END_IN_WORK_ENDED = 3, /* in-work support ended: job left, longest term, or no longer
                                 needed (in_work_support_leave_rate) */
    LM_END_LEFT_QUEUE = 4,    /* left the queue: no longer eligible, or the programme closed */
    LM_END_DROPPED_OUT = 5,   /* queued longer than max_wait_months */
    LM_END_CONTROL = 6,       /* trial: randomised to control at the offer of a place */
    LM_END_REACHED_65 = 7,    /* left the population at 65 while on the programme */
    LM_END_RUN_ENDED = 8,     /* still on the programme at the last month of the run */
    LM_N_ENDS = 9
} lm_spell_end;

/* Name of an lm_spell_end ("finished", "job_entry", ...). */
const char *lm_spell_end_name(int reason);

/* One programme spell of one person: a row of the referral history
 * (/referrals, docs/output-format.md). Months are simulation months; -1
 * where there is none. */
typedef struct lm_referral {
    int64_t person_id;
    int32_t referral_month; /* month of the referral */
    int32_t offer_month;    /* month a place was offered (the start, or a trial's
                               randomisation to control); -1 never offered */
    int32_t start_month;    /* month the place was taken up; -1 never started */
    int32_t end_month;      /* month the spell ended (the last month for run_ended) */
    uint8_t programme;      /* programme index + 1 (as /panel/programme) */
    uint8_t arm;            /* 0 none (under a trial: never offered), 1 treatment, 2 control */
    uint8_t reason;         /* lm_spell_end */
} lm_referral;

/* Index into one month of programme counts. */
static inline size_t lm_prog_index(int programme, int arm, int measure) {
    return ((size_t)programme * LM_N_ARMS + (size_t)arm) * LM_PM_N + (size_t)measure;
}
#define LM_PROG_CELLS ((size_t)LM_MAX_PROGRAMMES * LM_N_ARMS * LM_PM_N)

typedef struct lm_programme_row {
    char programme[48];
    int arm;                     /* 0 outside a trial (under a trial: referrals not offered a
                                    place), 1 treatment, 2 control */
    int outcome_window_months;   /* the horizon of outcome_rate (at month 0) */
    double represented[LM_PM_N]; /* counts x the table's scale: the represented population */
    int64_t counts[LM_PM_N];     /* simulated: flows summed over the run; stocks at the last
                                    month */
    /* GBP, for the represented population (x scale) */
    double cost_starts, cost_support, cost_outcomes, cost_total;
    /* GBP, for the simulated persons */
    double cost_starts_sim, cost_support_sim, cost_outcomes_sim, cost_total_sim;
    double cost_per_referral;    /* cost_total / REFERRALS (trial arms: / RANDOMISED) */
    double cost_per_start;       /* cost_total / STARTS */
    double cost_per_sustained_6; /* cost_total / SUSTAINED_6_STARTED: per starter's job
                                    sustained 6 months */
    double good_entry_share;     /* GOOD_ENTRIES / JOB_ENTRIES */
    double outcome_rate;         /* OUTCOMES_WINDOW / FOLLOWED_WINDOW */
    double employed_12_rate;     /* EMPLOYED_12 / FOLLOWED_12 */
    double any_job_12_rate;      /* ANY_JOB_12 / FOLLOWED_12 */
    double worked_13w_12_rate;   /* WORKED_13W_12 / FOLLOWED_12 */
    double sustained_6_12_rate;  /* SUSTAINED_6_12 / FOLLOWED_12 */
    double mean_earnings_12;     /* GBP a month of those in work 12 months after referral */
} lm_programme_row;

typedef struct lm_programme_table {
    int n_rows;
    int64_t persons;    /* simulation.persons */
    int64_t represents; /* simulation.represents */
    double scale;       /* represents / persons: a simulated count times scale is the count
                           for the represented population */
    lm_programme_row rows[LM_MAX_PROGRAMMES * LM_N_ARMS];
} lm_programme_table;

/* Sum months 1..n_months of `monthly` ((n_months + 1) * LM_PROG_CELLS counts)
 * into one row per programme, and for the programme under trial one row per
 * arm: 0 (referred, never offered a place), 1 treatment, 2 control. Costs
 * use the programme's unit costs from `sc` (of the variant in force each
 * month); counts and costs are also scaled to the represented population. */
void lm_programme_table_compute(const lm_scenario *sc, const int64_t *monthly,
                                lm_programme_table *out);

/* Programme costs month by month, GBP for the simulated persons, all arms
 * together, priced as lm_programme_table_compute does: cost[t * n_programmes
 * + k] for months t = 0..n_months (month 0: none). `cost` holds
 * (n_months + 1) * max(n_programmes, 1) values. */
void lm_programme_monthly_costs(const lm_scenario *sc, const int64_t *monthly, double *cost);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_PROGRAMMES_H */
