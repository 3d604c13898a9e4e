/* lmsim/compare.h - comparison of two run files: B - A with standard errors.
 *
 * lm_run_compare() compares the headline outcomes of two finished run files
 * (docs/output-format.md) at their last month, for every row of
 * /outcomes/headline (all, disability, sex, ethnicity, age band, region).
 * The differences are those of the headline tables (exact, all persons).
 * Their standard errors treat the persons of a run as independent draws
 * (within-run sampling noise; no parameter uncertainty) and write every
 * measure as a ratio sum(y) / sum(x) over the persons of the group:
 *
 *   employment_rate    y = employed,    x = 1
 *   unemployment_rate  y = unemployed,  x = employed or unemployed (ILO)
 *   inactivity_rate    y = inactive,    x = 1
 *   good_job_share     y = good job,    x = employed
 *   mean_earnings      y = earnings,    x = employed
 *
 * linearised per person (delta method): z_i = (y_i - R x_i) / mean(x) over
 * the group. Unpaired: sqrt(V_A / N + V_B / N) with V the mean of z^2 over
 * the panel and N the persons of the run (for a rate over persons in a full
 * panel this is the binomial sqrt(p_A(1-p_A)/n + p_B(1-p_B)/n)). Paired, when
 * both files have panels of the same persons and the same seed (common random
 * numbers: person i has the same draws in both): sqrt(V_D / N) with V_D the
 * mean over persons of (z_B,i - z_A,i)^2. Without a panel, a file's variance
 * is binomial from the headline counts (mean earnings: none, NaN). The 95 %
 * interval is diff -/+ 1.959964 s.e., from the paired s.e. when there is one.
 * See docs/analysis.md, "Two run files: lmsim compare A.h5 B.h5".
 */
#ifndef LMSIM_COMPARE_H
#define LMSIM_COMPARE_H

#include <stdint.h>

#include "lmsim/error.h"
#include "lmsim/output.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LM_RUN_COMPARE_MEASURES 5
#define LM_IMPACT_MEASURES 4

/* Counterfactual impacts (docs/analysis.md, "Impacts"): totals over months
 * 1..n_months of the run, per headline group, for the population each run
 * represents, from the panels of both files (each column's months, summed;
 * group as at the last month, as the headline rows):
 *
 *   employment_months  months in work (either quality)
 *   sustained_jobs     jobs reaching 6 consecutive months in work
 *   earnings_gbp       gross earnings, GBP (the panel's whole pounds)
 *   benefit_months     months out of work on an out-of-work benefit: ILO
 *                      unemployed or inactive through sickness or disability
 *
 * A total is R / n x sum over the n panel columns (R = simulation.represents;
 * exact x scale for a full panel, an estimate for a sampled one). Its s.e. is
 * R x sd(t) / sqrt(n) over the columns (paired: of t_B - t_A, column by column,
 * the same persons with the same draws). Programme costs are the totals of
 * /outcomes/programmes (all persons, no group split, no s.e.); the costs per
 * additional sustained job and employment month divide the cost difference
 * by the "all" row's impact, their 95 % interval by the impact's interval
 * (NaN when that includes 0 or the cost difference is 0). */
/* Appraisal (HM Treasury Green Book conventions), when a compared file has
 * an /appraisal group (the scenario's `appraisal` section; both files' must
 * then be equal): totals over the appraisal's months, discounted at
 * discount_rate a year to price_base_year, for the represented population,
 * group "all", rows in this order:
 *
 *   programme_cost_gbp          /outcomes/programme_costs (exact, no s.e.)
 *   tax_ni_gbp                  income tax, employee and employer NI on earnings
 *   benefits_gbp                benefits by state, + health_element when out of
 *                               work with a limiting condition
 *   exchequer_net_cost_gbp      programme costs + benefits - tax and NI
 *   output_gbp                  earnings + employer NI (the value of the work)
 *   wellbeing_gbp               in_work x months in work - limiting x months with
 *                               a limiting condition
 *   npv_society_gbp             output + wellbeing - programme costs (diff only)
 *   bcr_society                 (output + wellbeing) / programme costs (diff only:
 *                               the ratio of the differences)
 *   public_finances_per_gbp     (tax and NI - benefits) / programme costs (diff only)
 *
 * Intervals: per panel column as the impacts (paired when they are); the
 * ratios' from their numerators' (programme costs are exact); NaN when the
 * cost difference is not positive. */
#define LM_APPRAISAL_ROWS 9
typedef struct lm_appraisal_row {
    const char *measure; /* static name as above */
    double a, b, diff, se, lo, hi;
} lm_appraisal_row;

typedef struct lm_impact_row {
    char group[LM_GROUP_NAME_MAX];
    double a[LM_IMPACT_MEASURES], b[LM_IMPACT_MEASURES], diff[LM_IMPACT_MEASURES];
    double se[LM_IMPACT_MEASURES]; /* paired when the basis is, else unpaired */
    double lo[LM_IMPACT_MEASURES], hi[LM_IMPACT_MEASURES]; /* 95 % interval */
} lm_impact_row;

/* Where the standard errors come from. */
typedef enum lm_compare_basis {
    LM_BASIS_PAIRED = 0,   /* per-person differences from two panels (and unpaired too) */
    LM_BASIS_UNPAIRED = 1, /* unpaired only, every file from its panel */
    LM_BASIS_HEADLINE = 2  /* unpaired only, at least one file binomial from its headline */
} lm_compare_basis;

typedef struct lm_run_compare_row {
    char group[LM_GROUP_NAME_MAX];
    int64_t persons_a, persons_b; /* persons in the group at the last month */
    double a[LM_RUN_COMPARE_MEASURES], b[LM_RUN_COMPARE_MEASURES];
    double diff[LM_RUN_COMPARE_MEASURES];        /* b - a */
    double se_paired[LM_RUN_COMPARE_MEASURES];   /* NaN unless basis is LM_BASIS_PAIRED */
    double se_unpaired[LM_RUN_COMPARE_MEASURES]; /* NaN when unknown (earnings without panel) */
    double lo[LM_RUN_COMPARE_MEASURES], hi[LM_RUN_COMPARE_MEASURES]; /* 95 % interval */
} lm_run_compare_row;

typedef struct lm_run_comparison {
    lm_compare_basis basis;
    int same_seed;
    uint64_t seed_a, seed_b;
    int64_t n_persons;             /* of both runs */
    int64_t represents_a;          /* simulation.represents of A: persons_a x represents_a /
                                      n_persons is A's group size in the population represented */
    int64_t represents_b;          /* the same for B */
    int n_months;                  /* of both runs; the comparison is at this month */
    char start_month[16];          /* of both runs */
    char panel_a[16], panel_b[16]; /* panel modes */
    int64_t n_panel;               /* panel persons paired (basis PAIRED), else 0 */
    char note[640];                /* the verdict below when there is one, then why the basis is not
                                      PAIRED; or "" */
    /* Comparisons that show nothing (lmsim/messages.h): identical = 1 when
     * every dataset under /aggregates and /outcomes of the two files holds
     * the same type, shape and bytes (then every difference is zero); zero_at_end
     * = 1 when every difference of the rows is zero. */
    int identical, zero_at_end;
    /* Warnings, one per line ('\n' between them), "" when none: the verdict
     * (LM_MSG_IDENTICAL, LM_MSG_IDENTICAL_SCENARIOS_DIFFER when the scenario
     * texts differ, or LM_MSG_LAST_MONTH_ZERO), then each line of each
     * file's root attribute `warnings` as LM_MSG_FILE_WARNING. */
    char warnings[2 * LM_WARNINGS_MAX + 512];
    const char *measure[LM_RUN_COMPARE_MEASURES]; /* names (static strings) */
    int n_rows;
    lm_run_compare_row rows[LM_HEADLINE_MAX_ROWS];
    /* Impacts: has_impacts = 0 unless both files have panels (then n_rows
     * rows as above). */
    int has_impacts;
    const char *impact_measure[LM_IMPACT_MEASURES]; /* names (static strings) */
    lm_impact_row impacts[LM_HEADLINE_MAX_ROWS];
    double cost_a, cost_b, cost_diff; /* programme costs, GBP, represented population */
    /* cost_diff / impact of the "all" row: estimate, 95 % interval low, high */
    double cost_per_sustained_job[3], cost_per_employment_month[3];
    /* Appraisal: has_appraisal = 0 without an /appraisal group or without both panels. */
    int has_appraisal;
    int price_base_year, appraisal_first, appraisal_last; /* months of the run */
    double discount_rate;
    lm_appraisal_row appraisal[LM_APPRAISAL_ROWS];
    int n_programmes; /* per programme: discounted costs of A and B (0 if absent from one) */
    char programme[LM_MAX_PROGRAMMES][48];
    double programme_cost_a[LM_MAX_PROGRAMMES], programme_cost_b[LM_MAX_PROGRAMMES];
} lm_run_comparison;

/* Compare run files a and b (B - A). Errors: LM_EIO (missing, unreadable or
 * not HDF5), LM_EHDF5 (not an lmsim run file, or its panel is inconsistent),
 * LM_EARG (the runs are not comparable: different persons, months, start
 * month or headline groups), LM_ENOMEM. Every refusal's message is one of
 * lmsim/messages.h, word for word what lmsim.compare(a, b) raises. Different
 * seeds are not an error: basis is then unpaired and `note` says so. Runs
 * that are identical are not an error either: `warnings` says so (the
 * library never prints). */
int lm_run_compare(const char *path_a, const char *path_b, lm_run_comparison *out, lm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_COMPARE_H */
