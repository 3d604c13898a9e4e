/* lmsim/rng.h - counter-based random numbers keyed by (seed, person, month, purpose).
 *
 * Every random draw in lmsim is a pure function of
 *     (seed, person id, month, purpose, k)
 * computed with Philox4x32-10 (Random123). Nothing is carried from one draw to
 * the next, so the result of a run does not depend on the order in which
 * persons are visited, on the number of threads or on the number of MPI ranks,
 * and two scenarios run with the same seed see the same draw for the same
 * person, month and purpose (common random numbers).
 *
 * Layout of one Philox call: key = the 64-bit seed; counter = (person id / 4
 * as 64 bits, month, purpose << 16 | k). The call yields four 32-bit words;
 * person id p takes word p % 4. Four consecutive ids therefore share a call,
 * which lets the monthly step fill blocks of draws at a quarter of the cost.
 */
#ifndef LMSIM_RNG_H
#define LMSIM_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One constant per call site that draws random numbers (FLAME GPU / OpenM++
 * "one stream per draw site"). Append new purposes at the end only: their
 * numbers are part of the definition of a run. */
typedef enum lm_purpose {
    LM_PURPOSE_POP_REGION = 1,   /* synthesis: region */
    LM_PURPOSE_POP_SEX = 2,      /* synthesis: sex */
    LM_PURPOSE_POP_AGE = 3,      /* synthesis: age band, then age within band */
    LM_PURPOSE_POP_DISABLED = 4, /* synthesis: disability / long-term condition */
    LM_PURPOSE_POP_MINORITY = 5, /* synthesis: ethnicity */
    LM_PURPOSE_POP_QUAL = 6,     /* synthesis: qualification */
    LM_PURPOSE_POP_CARING = 7,   /* synthesis: caring responsibility */
    LM_PURPOSE_POP_STATE = 8,    /* synthesis: initial labour state */
    LM_PURPOSE_POP_DURATION = 9, /* synthesis: initial months in state */
    LM_PURPOSE_TRANSITION = 10,  /* monthly step: destination state */
    LM_PURPOSE_JOB_QUALITY = 11, /* monthly step: quality of a job entered */
    LM_PURPOSE_SAMPLE = 12,      /* output: which persons are in a panel sample */
    LM_PURPOSE_POP_BIRTH = 13,   /* reserved (not drawn: age is drawn to the month) */
    LM_PURPOSE_REFERRAL = 14,    /* programmes: referral / take-up (k = programme) */
    LM_PURPOSE_PRIORITY = 15,    /* programmes: priority key for scarce places (k = programme) */
    LM_PURPOSE_TRIAL = 16,       /* programmes: trial arm at randomisation */
    LM_PURPOSE_SANCTION = 17,    /* programmes: sanction in job-search support */
    LM_PURPOSE_EARNINGS = 18,    /* jobs: monthly earnings on entry */
    LM_PURPOSE_HOURS = 19,       /* jobs: hours band on entry */
    LM_PURPOSE_HEALTH = 20,      /* health: onset or recovery of a limiting condition */
    LM_PURPOSE_SWEEP = 21,       /* sweeps: the seed of a replicate (person = replicate) */
    LM_PURPOSE_SUPPORT_END = 22, /* programmes: in-work support ends before its longest term */
    LM_PURPOSE_POP_TYPE = 23,    /* synthesis: latent types (k: 0 low employability, 1 churn) */
} lm_purpose;

/* Uniform draw in the open interval (0, 1) with 32 bits of resolution.
 * Thread-safe and pure. */
double lm_rng_uniform(uint64_t seed, uint64_t person, uint32_t month, lm_purpose purpose,
                      uint32_t k);

/* The raw 32-bit word behind lm_rng_uniform(). */
uint32_t lm_rng_u32(uint64_t seed, uint64_t person, uint32_t month, lm_purpose purpose, uint32_t k);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_RNG_H */
