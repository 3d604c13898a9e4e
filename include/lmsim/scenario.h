/* lmsim/scenario.h - a validated, read-only scenario loaded from a libconfig file.
 *
 * lm_scenario_load() reads a scenario file (with @include fragments), applies
 * command-line overrides (`--set path=value`), validates every setting
 * strictly (unknown keys, types, ranges, shares summing to 1, required
 * settings) and returns an immutable lm_scenario. Every error names the file,
 * the line and the setting path. After loading, the scenario is never
 * modified: the engine takes `const lm_scenario *`.
 *
 * The full reference of settings is docs/scenario-reference.md.
 */
#ifndef LMSIM_SCENARIO_H
#define LMSIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "lmsim/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Labour states. Inactivity carries its reason in the state itself. */
/* Income tax and National Insurance on annual earnings (12 x the month's),
 * lm_scenario.tax_schedule: a personal allowance then basic, higher and
 * additional rates; employee NI between the primary threshold and the upper
 * earnings limit, and above it; employer NI above the secondary threshold. */
enum {
    LM_TAX_PERSONAL_ALLOWANCE,
    LM_TAX_BASIC_RATE,
    LM_TAX_HIGHER_THRESHOLD,
    LM_TAX_HIGHER_RATE,
    LM_TAX_ADDITIONAL_THRESHOLD,
    LM_TAX_ADDITIONAL_RATE,
    LM_TAX_NI_PRIMARY_THRESHOLD,
    LM_TAX_NI_MAIN_RATE,
    LM_TAX_NI_UPPER_LIMIT,
    LM_TAX_NI_UPPER_RATE,
    LM_TAX_EMPLOYER_NI_THRESHOLD,
    LM_TAX_EMPLOYER_NI_RATE,
    LM_TAX_PARAMS
};

/* Setting name of LM_TAX_* ("personal_allowance", ...). */
const char *lm_tax_param_name(int k);

/* Income tax plus employee NI (*tax) and employer NI (*employer) a month on
 * monthly gross earnings `monthly`, from the annual schedule. */
void lm_tax_month(const double schedule[LM_TAX_PARAMS], double monthly, double *tax,
                  double *employer);

typedef enum lm_state {
    LM_STATE_INACTIVE_SICK = 0,    /* inactive: long-term sick or disabled */
    LM_STATE_INACTIVE_CARING = 1,  /* inactive: looking after family or home */
    LM_STATE_INACTIVE_STUDENT = 2, /* inactive: student */
    LM_STATE_INACTIVE_OTHER = 3,   /* inactive: any other reason */
    LM_STATE_UNEMPLOYED = 4,       /* ILO unemployed: without work, seeking */
    LM_STATE_EMPLOYED_POOR = 5,    /* in a job that fails the scenario's good-work test */
    LM_STATE_EMPLOYED_GOOD = 6     /* in a job that meets it */
} lm_state;
#define LM_N_STATES 7
/* Pseudo-destination "employed": the job's quality is drawn on entry. */
#define LM_DEST_EMPLOYED 7

#define LM_N_AGE_BANDS 4 /* 16-24, 25-34, 35-49, 50-64 */
#define LM_N_QUALS 4     /* none, low, mid, high */
#define LM_MAX_REGIONS 8
#define LM_MAX_RULES 64
#define LM_MAX_AGE_STEPS 16 /* steps of a logit's piecewise-constant age term */
#define LM_N_AGE_YEARS 49   /* completed years of age 16..64 */
#define LM_MONTHS_PER_YEAR 12
#define LM_AGE_MIN_MONTHS (16 * LM_MONTHS_PER_YEAR) /* working age starts at 16 */
#define LM_AGE_MAX_MONTHS (65 * LM_MONTHS_PER_YEAR) /* ...and ends on the 65th birthday */

static inline int lm_state_is_employed(int s) {
    return s >= LM_STATE_EMPLOYED_POOR;
}
static inline int lm_state_is_inactive(int s) {
    return s <= LM_STATE_INACTIVE_OTHER;
}

/* Names as used in scenario files and in the HDF5 enum: "inactive_sick", ... */
const char *lm_state_name(int state);
/* Age band names "16-24", "25-34", "35-49", "50-64"; qualification names. */
const char *lm_age_band_name(int band);
const char *lm_qual_name(int qual);
/* Age band of an age in months (any age >= 16 years); -1 outside 16-64. */
int lm_age_band_of(int age_months);

/* A set of persons described by attribute masks: bit v of a mask is set when
 * value v matches. A rule's `where` group becomes one selector; an empty
 * `where` matches everyone. */
typedef struct lm_selector {
    uint32_t region;   /* bit r: region index r */
    uint8_t sex;       /* bit 0 male, bit 1 female */
    uint8_t age_band;  /* bit b: age band b */
    uint8_t disabled;  /* bit 0 not disabled, bit 1 disabled */
    uint8_t minority;  /* bit 0 white, bit 1 ethnic minority */
    uint8_t qual;      /* bit q: qualification q */
    uint8_t caring;    /* bit 0 no caring responsibility, bit 1 caring */
    uint8_t state;     /* bit s: labour state s */
    uint8_t reserved_; /* padding, always 0 */
} lm_selector;

/* One destination of a multinomial logit whose reference category is "stay".
 * Linear predictor eta = intercept + covariate terms + log_duration * ln(1 + d)
 * + age term, where d is months in the current state (or, with duration_in_work,
 * months in work: the employment spell, which a change of job quality does
 * not restart) and the age term is
 * age_add[k] for the last step k with age_from_years[k] <= completed years of
 * age (0 below the first step). */
typedef struct lm_logit {
    int to;                               /* destination state, or LM_DEST_EMPLOYED */
    double intercept;                     /* log-odds against staying, reference person */
    double female;                        /* added for women */
    double disabled;                      /* added for disabled people */
    double minority;                      /* added for ethnic-minority people */
    double caring;                        /* added for people with caring responsibility */
    double age_band[LM_N_AGE_BANDS];      /* added by age band */
    double qual[LM_N_QUALS];              /* added by qualification */
    double region[LM_MAX_REGIONS];        /* added by region */
    double log_duration;                  /* coefficient on ln(1 + d) */
    int duration_in_work;                 /* 1: d is months in work (from a job only) */
    double limiting;                      /* added for a limiting health condition */
    double low_employability;             /* added for persons of the low-employability type */
    double pay_churn;                     /* added for persons of the pay-churn type */
    int n_age_steps;                      /* steps of the age term, 0 = none */
    int age_from_years[LM_MAX_AGE_STEPS]; /* ascending ages (16-64) where a step starts */
    double age_add[LM_MAX_AGE_STEPS];     /* added to eta from that age on */
    int cfg_line;                         /* line in the scenario file, for messages */
} lm_logit;

typedef struct lm_region {
    char name[48];             /* e.g. "North Wales" */
    double share;              /* share of the working-age population, in [0, 1] */
    double vacancies_per_1000; /* open vacancies per 1000 working-age residents */
} lm_region;

typedef struct lm_initial_rule {
    lm_selector where;          /* who the rule applies to */
    double shares[LM_N_STATES]; /* initial labour-state distribution, sums to 1 */
} lm_initial_rule;

typedef struct lm_quality_rule {
    lm_selector where; /* who the rule applies to */
    double p_good;     /* probability that a job entered is good */
} lm_quality_rule;

#define LM_MAX_PROGRAMMES 8

/* A programme (route into work): eligibility, referral, capacity, duration,
 * effects on the transition logits, and costs. Work First and IPS are two
 * parameter sets of this one mechanism (scenarios/programmes/). */
typedef struct lm_programme {
    char name[48]; /* group name under `programmes` */
    /* eligibility */
    lm_selector eligible;    /* who may be referred (states, age band, disability, ...) */
    int min_months_in_state; /* minimum completed months in the current state */
    int once;                /* 1: a person is referred at most once in the run */
    int open;                /* 0: closed to new referrals */
    /* referral */
    int mandatory;                /* 1 mandatory, 0 voluntary (documentation; both use p) */
    double referral_logit[1 + 4]; /* intercept, female, disabled, minority, caring: monthly
                                     referral (take-up) probability is the logistic of
                                     intercept + terms for eligible persons */
    /* capacity */
    double places_per_month[LM_MAX_REGIONS]; /* new starts per region per month */
    double caseload_cap[LM_MAX_REGIONS];     /* persons on the programme at once (advisers x
                                                caseload per adviser); 0 = no cap */
    int max_wait_months;                     /* queue drop-out after this many months waiting */
    /* duration */
    int duration_months;        /* months of job-search support */
    int in_work_support_months; /* longest in-work support after a job entry (0 none) */
    double in_work_leave_rate;  /* monthly probability that in-work support ends before
                                   in_work_support_months (the person no longer needs it) */
    /* effects (odds ratios; fidelity scales log odds ratios) */
    double fidelity;       /* 0-1; effective log OR = fidelity * log OR */
    double job_finding_or; /* on moves into work while in job-search support */
    double good_job_or;    /* on the odds that a job entered is good */
    double job_exit_or;    /* on moves out of work while on the programme and in work */
    double progression_or; /* on poor -> good job moves while on the programme (any phase) */
    double
        health_onset_or;  /* on the odds of a limiting condition starting, while on the programme */
    double sanction_rate; /* monthly probability of a sanction in job-search support */
    int sanction_months;  /* months a sanction lasts */
    double sanction_inactivity_or; /* on moves to inactivity while sanctioned */
    double sanction_good_job_or;   /* on the odds that a job entered while sanctioned is good */
    /* costs (GBP) */
    double cost_per_start;
    double cost_per_month;      /* per month of support (job search or in work) */
    double outcome_payment;     /* paid once when the outcome is reached */
    int outcome_months_in_work; /* outcome: this many months in work since referral... */
    int outcome_window_months;  /* ...within this many months of referral */
} lm_programme;

#define LM_MAX_ALIGN 16

/* Alignment of one transition to external totals: each month the log-odds of
 * origin -> destination for persons of a region are shifted by one common
 * amount so that the expected number of moves equals the target (logit
 * scaling; docs/model.md). */
typedef struct lm_alignment {
    int origin;      /* origin state */
    int dest;        /* index of the destination in dest[origin] */
    int region;      /* region index */
    double *targets; /* [n_months] moves a month in the represented population (owned) */
} lm_alignment;

typedef enum lm_panel_mode {
    LM_PANEL_FULL = 0,  /* every person, every month */
    LM_PANEL_NONE = 1,  /* aggregates and outcomes only */
    LM_PANEL_SAMPLE = 2 /* a deterministic random sample of person slots */
} lm_panel_mode;

typedef struct lm_scenario {
    char name[128];        /* scenario name (setting `name`) */
    char *text;            /* the full scenario text after includes and overrides (owned) */
    char source_path[512]; /* file it was loaded from */

    /* simulation */
    int64_t n_persons;  /* persons simulated at any time (slots) */
    int64_t represents; /* real persons the simulated ones stand for (scales places) */
    int n_months;       /* months simulated after the start month */
    int start_year;     /* calendar year of month 0 */
    int start_month;    /* calendar month (1-12) of month 0 */
    uint64_t seed;      /* base seed of all random streams */

    /* population margins */
    int n_regions;
    lm_region regions[LM_MAX_REGIONS];
    double female_share;                         /* share of women */
    double age_band_share[LM_N_AGE_BANDS];       /* sums to 1 */
    double disabled_by_age_band[LM_N_AGE_BANDS]; /* prevalence by age band */
    double minority_share;                       /* share from ethnic minorities */
    double qual_share[LM_N_QUALS];               /* sums to 1 */
    double caring_share[2];                      /* by sex: [male, female] */
    double disabled_at_entry;                    /* P(disabled) of an entrant aged 16 */
    double initial_duration_mean[LM_N_STATES];   /* mean months already spent in the initial
                                                    state, by state (geometric draw) */
    double low_employability[LM_N_STATES];       /* P(low-employability type | labour state
                                                    drawn at synthesis or entry) */
    double pay_churn[LM_N_STATES];               /* P(pay-churn type | labour state drawn at
                                                    synthesis or entry) */
    int n_initial;
    lm_initial_rule initial[LM_MAX_RULES]; /* first match wins; last matches all */
    int n_entrant;                         /* 0: entrants use the initial rules */
    lm_initial_rule entrant[LM_MAX_RULES]; /* states of entrants aged 16, first match wins */

    /* transitions: per origin state, destinations against "stay" */
    int n_dest[LM_N_STATES];
    lm_logit dest[LM_N_STATES][LM_N_STATES];
    int duration_cap_months; /* durations above this count as this (for ln(1+d)) */

    /* job quality on entry */
    int n_quality;
    lm_quality_rule quality[LM_MAX_RULES]; /* first match wins; last matches all */
    double screened_share; /* share of vacancies screened to be good jobs: a job entered is
                              good with p = s + (1 - s) p_rule */

    /* regional labour market */
    double matching_elasticity;    /* job-finding odds scale as (tightness/reference)^this */
    double reference_tightness;    /* vacancies per effective job seeker at which the
                                      intercepts apply */
    double inactive_search_weight; /* an inactive person counts as this many job seekers */

    /* earnings (monthly, GBP) */
    int has_earnings;
    double earnings_full_time[2];     /* median monthly earnings full time: [poor, good] */
    double earnings_log_sd;           /* s.d. of log earnings around the median */
    double earnings_female;           /* log shift for women */
    double earnings_qual[LM_N_QUALS]; /* log shift by qualification */
    double part_time_share[2];        /* share of jobs entered that are part time, by sex */
    double part_time_factor;          /* part-time earnings relative to full time */
    double earnings_growth[2];        /* monthly growth in the same job: [poor, good] */

    /* health: a limiting condition (0/1) with monthly onset and recovery */
    int has_health;
    double health_initial[2][LM_N_STATES];   /* P(limiting) at the start or on entry, by
                                                [disabled][labour state] */
    double health_onset[2][LM_N_STATES];     /* monthly onset probability [disabled][state] */
    double health_recovery[2][LM_N_STATES];  /* monthly recovery probability [disabled][state] */
    double health_onset_age[LM_N_AGE_BANDS]; /* onset multiplied by this, by age band */
    int disabled_after_months; /* a limiting condition lasting this many months makes a person
                                  disabled (Equality Act: long-term = 12 months); 0 = never */

    /* programmes */
    int n_programmes;
    lm_programme programmes[LM_MAX_PROGRAMMES];
    int follow_up_months; /* months a referred person's outcomes are followed */
    int trial;            /* index of the programme under a randomised trial, or -1 */

    /* appraisal (optional; HM Treasury Green Book conventions): prices of
     * `price_base_year`, discounted at `discount_rate` a year to that year,
     * over months appraisal_first..appraisal_last of the run. Used by
     * lmsim compare (lmsim/compare.h), not by the simulation. */
    int has_appraisal;
    int price_base_year;
    double discount_rate;
    int appraisal_first, appraisal_last;  /* months of the run, 1..n_months */
    double benefit_by_state[LM_N_STATES]; /* GBP a month paid in each labour state */
    double health_element;                /* GBP a month more when out of work (not employed)
                                             with a limiting condition */
    double tax_schedule[LM_TAX_PARAMS];   /* annual GBP thresholds and rates (LM_TAX_*) */
    double wellbeing_in_work;             /* GBP a month in work (social value) */
    double wellbeing_limiting;            /* GBP a month with a limiting condition */

    /* alignment */
    int n_align;
    lm_alignment align[LM_MAX_ALIGN];

    /* timeline: variants of this scenario in force from given months */
    int n_variants;                /* 0 without a timeline */
    int *variant_month;            /* [n_variants] ascending month indices (>= 1) */
    struct lm_scenario **variants; /* [n_variants] owned, each without variants */

    /* output */
    lm_panel_mode panel;
    double sample_fraction; /* for LM_PANEL_SAMPLE, in (0, 1] */
    int deflate_level;      /* 0 = no compression, 1-9 deflate */
    int64_t chunk_persons;  /* panel chunk width in persons */

    /* settings that load but have no effect in this run (lm_scenario_warnings) */
    int n_warnings;
    char *warnings; /* owned: the warnings, one per line ('\n' between them), or NULL */
} lm_scenario;

/* Load, override and validate a scenario.
 *   path       scenario file; @include paths resolve relative to its folder.
 *   overrides  n_overrides strings "path.to.setting=value" (may be NULL).
 * On success *out owns a new scenario (free it with lm_scenario_destroy).
 * Errors: LM_EIO (unreadable file), LM_ESYNTAX (libconfig parse error, with
 * file and line), LM_ECONFIG (invalid or missing setting), LM_EARG (bad
 * override), LM_ENOMEM. Thread-safe: shares no state between calls. */
int lm_scenario_load(const char *path, const char *const *overrides, size_t n_overrides,
                     lm_scenario **out, lm_error *err);

/* The same from scenario text already in memory, typically lm_scenario.text
 * (the normalised text: includes resolved, no `base`, overrides applied), so
 * that a scenario can be re-derived with other overrides without touching
 * the disk. display_name stands for the file in messages and source_path
 * (NULL: "(scenario text)"). The text cannot @include relative files. Errors
 * as lm_scenario_load (LM_ESYNTAX with the line in the text). */
int lm_scenario_load_string(const char *text, const char *display_name,
                            const char *const *overrides, size_t n_overrides, lm_scenario **out,
                            lm_error *err);

/* Silent no-ops found when the scenario was loaded: settings that are valid
 * but can have no effect in this run. One warning per line, each naming the
 * setting (with file:line where the loader knows it, as in error messages):
 *   - a timeline entry whose `from` is after the last simulated month;
 *   - a programme that can never refer anyone (closed in every month of the
 *     run, referral probability 0 whenever it is open, or an `eligible`
 *     that selects nobody), or can never start anyone (no places in any
 *     month, places or caseload cap that round to nothing once scaled by
 *     persons / represents).
 * The list is in docs/scenario-reference.md ("Warnings"). Writes the lines,
 * separated by '\n' (none after the last), to buf (NUL-terminated,
 * truncated to n - 1 characters; buf may be NULL when n is 0) and returns
 * the number of warnings (0: none, buf ""). The library never prints them:
 * `lmsim` shows each as "lmsim: warning: ..." and lm_run() records them in
 * the run file's root attribute `warnings`. */
int lm_scenario_warnings(const lm_scenario *sc, char *buf, size_t n);

/* The current value of the numeric setting at `path` (--set syntax, e.g.
 * "transitions.unemployed.[0].intercept") read from sc->text into *value.
 * Errors: LM_EARG when there is no such setting or it is not a number. */
int lm_scenario_setting_number(const lm_scenario *sc, const char *path, double *value,
                               lm_error *err);

/* The settings in force in month `month` (1 = the first simulated month):
 * the latest timeline variant taking effect at or before it, or sc itself.
 * Borrowed; valid while sc lives. */
const lm_scenario *lm_scenario_at(const lm_scenario *sc, int month);

/* Free a scenario; NULL is a no-op. */
void lm_scenario_destroy(lm_scenario *sc);

/* Whether person attributes match a selector. */
static inline int lm_selector_match(const lm_selector *s, int region, int female, int age_band,
                                    int disabled, int minority, int qual, int caring, int state) {
    return ((s->region >> region) & 1u) && ((s->sex >> female) & 1u) &&
           ((s->age_band >> age_band) & 1u) && ((s->disabled >> disabled) & 1u) &&
           ((s->minority >> minority) & 1u) && ((s->qual >> qual) & 1u) &&
           ((s->caring >> caring) & 1u) && ((s->state >> state) & 1u);
}

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_SCENARIO_H */
