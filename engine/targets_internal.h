/* targets_internal.h - the parsed form of a targets file, shared by
 * targets.c (loader and checks), moments.c (accumulators) and output_h5.c.
 *
 * Not part of the public API. A target keeps pointers into the parsed
 * libconfig tree, which lives as long as the lm_targets: its strings, and
 * the settings that lm_targets_check() names in its errors and whose group
 * selectors are resolved against a scenario's regions.
 */
#ifndef LMSIM_TARGETS_INTERNAL_H
#define LMSIM_TARGETS_INTERNAL_H

#include <libconfig.h>
#include <stdint.h>

#include "lmsim/error.h"
#include "lmsim/exchange.h"
#include "lmsim/scenario.h"
#include "lmsim/targets.h"

/* Measures of the catalogue (spec section 2, docs/scenario-reference.md). */
typedef enum lm__measure {
    LM__M_SHARE = 0,
    LM__M_FLOW,
    LM__M_DURATION_SHARE,
    LM__M_STATE_AFTER,
    LM__M_OUT_AFTER_ENTRY,
    LM__M_JOB_SURVIVAL,
    LM__M_LOW_PAY,
    LM__M_PROGRAMME,
    LM__M_PROGRAMME_COUNT,
    LM__M_N
} lm__measure;

enum { LM__CMP_NONE = 0, LM__CMP_RATIO, LM__CMP_DIFFERENCE };
/* low_pay outcomes */
enum { LM__LP_ESCAPED = 0, LM__LP_STUCK, LM__LP_CYCLED, LM__LP_EXITED };
/* programme outcomes */
enum {
    LM__PO_ANY_JOB = 0,
    LM__PO_EMPLOYED,
    LM__PO_WORKED_13W,
    LM__PO_SUSTAINED_6,
    LM__PO_SUSTAINED_12,
    LM__PO_PAID_OUTCOME,
    LM__PO_STARTED
};

/* Longest lag (after, in months) of the shift-register measures. */
#define LM__MAX_LAG 63
/* Longest low_pay cohort, in annual observations. */
#define LM__MAX_YEARS 15
/* Months a programme outcome counts as "worked 13 weeks" (month-ends in work). */
#define LM__WORKED_13W_MONTHS 3
/* Consecutive months in work of the sustained outcomes. */
#define LM__SUSTAINED_SHORT 6
#define LM__SUSTAINED_LONG 12

typedef struct lm__target {
    const char *id, *evidence, *use, *note; /* borrowed from the tree */
    char describe[256];
    int measure; /* lm__measure */
    int line;
    const config_setting_t *self;     /* the target's group */
    const config_setting_t *window_s; /* `months` (or `month` of low_pay) */
    const config_setting_t *lag_s;    /* `after`, `horizon` or `years`, or NULL */
    const config_setting_t *prog_s;   /* `programme`, or NULL */
    const config_setting_t *group_s;  /* `group`, or NULL (everyone) */
    const config_setting_t *versus_s; /* `versus`, or NULL */
    int m0, m1;                       /* window of months, inclusive (low_pay: the cohort month) */
    uint8_t states, among;            /* share, duration_share */
    uint8_t from, to;                 /* flow, state_after, out_after_entry, job_survival */
    int dur[2];                       /* duration [lo, hi] (flow: 0..65535 when not given) */
    int vdur[2];                      /* versus duration (flow), inherits dur */
    int lag;      /* state_after / out_after_entry / job_survival: after; programme: horizon;
                     low_pay: years */
    int mode_any; /* out_after_entry: 1 "any", 0 "point" */
    int outcome;  /* low_pay or programme outcome */
    int event;    /* programme_count: LM_PM_* measure */
    const char *programme;
    uint8_t arms, varms; /* bit a: trial arm a (0 none / not offered, 1 treatment, 2 control) */
    int trial;           /* 1: computed on the run with evaluation.trial = programme */
    int compare;         /* LM__CMP_* (versus or versus_arm given) */
    double value, tolerance;
    int tuned, variant;
} lm__target;

struct lm_targets {
    config_t cfg; /* the parsed file, kept for the settings above */
    char path[512];
    int n;
    lm__target *t;
    int n_variants;
    const char **variant_trial; /* [n_variants], [0] NULL */
};

/* The selector of target i's group (versus = 0) or of its versus group
 * (versus = 1: the group with the keys given in `versus` replaced), with
 * region names resolved against sc. Errors: LM_ECONFIG (unknown region). */
int lm__targets_selector(const lm_targets *t, int i, int versus, const lm_scenario *sc,
                         lm_selector *sel, lm_error *err);

/* The month a target's window or follow-up reaches (its last observation). */
int lm__target_last_month(const lm__target *x);

/* One month as lm_moments sees it, from a sim (lm_moments_observe) or from
 * a run file (lm_moments_replay). */
struct lm_population;
struct lm_moments;
typedef struct lm__obs {
    const struct lm_population *pop; /* track_* NULL: no programme follow-up */
    int month;
    int64_t lo, hi;          /* slots (columns) observed here */
    const int64_t *entrants; /* slots that received a new person this month, ascending */
    int64_t n_entrants;
    const int64_t *prog_counts; /* LM_PROG_CELLS counts of the month over all ranks, or NULL */
    const lm_exchange *ex;      /* sums the person counts over ranks; NULL: one process */
} lm__obs;
int lm__moments_observe(struct lm_moments *m, const lm__obs *ob, lm_error *err);

/* Start observing another run (month 0 next): clear the per-person
 * registers, keep the counts (replays of several files pool them). */
void lm__moments_new_run(struct lm_moments *m);

/* What observations lacked (replay): the panel or the programme follow-up.
 * Targets needing it are unavailable with `reason` (copied). */
enum { LM__LACK_PANEL = 1, LM__LACK_FOLLOW_UP = 2 };
void lm__moments_lack(struct lm_moments *m, int what, const char *reason);

/* Targets and variant of an lm_moments. */
const lm_targets *lm__moments_targets(const struct lm_moments *m);
int lm__moments_variant(const struct lm_moments *m);
const lm_scenario *lm__moments_scenario(const struct lm_moments *m);

#endif /* LMSIM_TARGETS_INTERNAL_H */
