/* lmsim/population.h - persons as struct-of-arrays, synthesised from margins.
 *
 * A population has n person *slots*. Each slot holds one person at a time;
 * when a person reaches 65 they leave and a 16-year-old takes the slot, so
 * the population keeps its size (one entrant replaces each leaver).
 * The person in slot i after g replacements has id i + n * g: ids are unique
 * and depend only on (n, slot, generation), never on thread count.
 *
 * Every array is contiguous, 64-byte aligned and narrow. Months are counted
 * from the scenario's start month (month 0); birth_month is on that scale and
 * negative for everyone born before the start.
 */
#ifndef LMSIM_POPULATION_H
#define LMSIM_POPULATION_H

#include <stdint.h>

#include "lmsim/error.h"
#include "lmsim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lm_population {
    int64_t n; /* number of slots (persons alive at any time) */

    /* fixed for the occupant of a slot (disabled may only change from 0 to 1) */
    uint16_t *generation; /* replacements so far in this slot; id = slot + n * generation */
    int32_t *birth_month; /* month of birth, on the simulation's month scale */
    uint8_t *region;      /* region index into lm_scenario.regions */
    uint8_t *female;      /* 1 woman, 0 man */
    uint8_t *disabled;    /* 1 disabled or long-term health condition (Equality Act); set
                             from 0 to 1 when a limiting condition has lasted
                             health.disabled_after_months */
    uint8_t *minority;    /* 1 ethnic minority, 0 white */
    uint8_t *qual;        /* 0 none, 1 low, 2 mid, 3 high */
    uint8_t *caring;      /* 1 caring responsibility */
    uint8_t *low_emp;     /* 1 low-employability type: unobserved barriers to work, drawn
                             given the initial state (population.low_employability_by_state) */
    uint8_t *pay_churn;   /* 1 pay-churn type: pay near the low-pay line, drawn given the
                             initial state (population.pay_churn_by_state) */

    /* changing, updated by the monthly step */
    uint8_t *state;             /* lm_state */
    uint16_t *months_in_state;  /* completed months in the current state, saturating */
    uint16_t *months_since_job; /* 0 while employed; months since the last job otherwise,
                                   65535 = never worked (entrants until their first job; the initial
                                   population starts at months in state + 1) */
    uint16_t *sustained_months; /* consecutive months in work (either quality), saturating */

    uint8_t *limiting;        /* 1 limiting health condition (when the scenario models health) */
    uint8_t *limiting_months; /* consecutive months with it (0 without), saturating at 255 */
    uint8_t *hours;           /* 0 not in work, 1 part time, 2 full time */
    float *earnings;          /* monthly gross earnings in GBP, 0 when not in work */

    /* programmes (engine/programmes.c) */
    uint8_t *prog;          /* programme index + 1 of the current phase, 0 none */
    uint8_t *prog_phase;    /* lm_phase */
    uint16_t *prog_months;  /* completed months in the current phase */
    uint8_t *prog_history;  /* bit k: referred to programme k at least once */
    uint8_t *sanction_left; /* months of a sanction still to run */
    uint8_t *track_prog;    /* programme index + 1 whose referral is followed, 0 none */
    uint8_t *track_arm;     /* 0 not in a trial, 1 trial treatment, 2 trial control */
    uint16_t *track_month;  /* month of that referral */
    uint8_t *track_worked;  /* months in work since that referral, saturating at 255 */
    uint8_t *track_flags;   /* LM_TRACK_* bits */
    /* an earlier referral still followed when a new one arrived (the second follow-up
       slot): its state up to the new referral; from then on its months in work and
       flags are its own plus those of the track_* follow-up, which sees the same months */
    uint16_t *track2_tag;   /* month of that referral | arm << 11 | programme index << 13 */
    uint8_t *track2_flags;  /* its LM_TRACK_* bits; in use while track_flags has
                               LM_TRACK_SECOND (and track_prog is set) */
    uint8_t *track2_worked; /* its months in work up to the newer referral, saturating */
    /* the current programme spell, for the referral history (lm_referral) */
    uint16_t *spell_ref; /* month of the referral (kept after the spell until the next) */
    uint8_t *spell_wait; /* months from referral to start; LM_SPELL_NOT_STARTED */
    uint8_t *spell_end;  /* how the spell ended, when it ended in the last step
                            (LM_SPELL_END_PACK); 0 otherwise */
} lm_population;

/* Phase of a person's programme spell. */
typedef enum lm_phase {
    LM_PHASE_NONE = 0,   /* not on a programme */
    LM_PHASE_QUEUED = 1, /* referred, waiting for a place */
    LM_PHASE_SEARCH = 2, /* job-search support */
    LM_PHASE_IN_WORK = 3 /* in-work support after a job entry */
} lm_phase;

/* Follow-up flags of a referral (track_flags). */
#define LM_TRACK_ENTERED 0x01u /* entered work since referral */
#define LM_TRACK_ANY12 0x02u   /* was in work within 12 months of referral */
#define LM_TRACK_SUST6 0x04u   /* reached 6 consecutive months in work */
#define LM_TRACK_SUST12 0x08u  /* reached 12 consecutive months in work */
#define LM_TRACK_OUTCOME 0x10u /* reached the programme's paid outcome */
#define LM_TRACK_STARTED 0x20u /* started the programme (left the queue with a place) */
#define LM_TRACK_SECOND 0x40u  /* track_flags: the second follow-up slot (track2_*) is in use */

/* The second follow-up slot's tag: referral month (< 2048), arm, programme index. */
#define LM_TRACK2_TAG(month, arm, k)                                                               \
    ((uint16_t)((unsigned)(month) | (unsigned)(arm) << 11 | (unsigned)(k) << 13))
#define LM_TRACK2_MONTH(tag) ((int)((tag)&0x7FFu))
#define LM_TRACK2_ARM(tag) ((int)(((tag) >> 11) & 3u))
#define LM_TRACK2_PROG(tag) ((int)((tag) >> 13))

#define LM_SPELL_NOT_STARTED 255u /* spell_wait of a spell without a start */
/* spell_end: lm_spell_end reason (1-7), trial arm and programme index in one byte. */
#define LM_SPELL_END_PACK(reason, arm, k)                                                          \
    ((uint8_t)((unsigned)(reason) | (unsigned)(arm) << 3 | (unsigned)(k) << 5))
#define LM_SPELL_END_REASON(b) ((int)((b)&7u))
#define LM_SPELL_END_ARM(b) ((int)(((b) >> 3) & 3u))
#define LM_SPELL_END_PROG(b) ((int)((b) >> 5))

#define LM_NEVER_WORKED UINT16_MAX

/* Id of the person now in slot i. */
static inline int64_t lm_population_id(const lm_population *p, int64_t i) {
    return i + p->n * (int64_t)p->generation[i];
}

/* Allocate a population of n slots and synthesise it from the scenario's
 * margins with the scenario's seed (deterministic; parallel over persons).
 * Owned by caller: free with lm_population_destroy(). Errors: LM_EARG (n < 1),
 * LM_ENOMEM. */
int lm_population_create(const lm_scenario *sc, int64_t n, lm_population **out, lm_error *err);

/* The same, for one block of a distributed run: arrays for all n slots are
 * allocated but only slots [lo, hi) are synthesised (and so touched: the
 * pages of other ranks' slots are never written and stay out of memory).
 * Errors: LM_EARG (n < 1 or a bad range), LM_ENOMEM. */
int lm_population_create_range(const lm_scenario *sc, int64_t n, int64_t lo, int64_t hi,
                               lm_population **out, lm_error *err);

/* Free a population; NULL is a no-op. */
void lm_population_destroy(lm_population *p);

/* (Re)draw the fixed attributes and initial state of slot i for a person
 * born in birth_month, with id `id`, drawn at simulation month `month`.
 * Used for initial synthesis and for entrants. Pure given its inputs. */
void lm_population_draw_person(const lm_scenario *sc, lm_population *p, int64_t i, int64_t id,
                               uint32_t month, int entrant);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_POPULATION_H */
