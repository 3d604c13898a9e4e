/* lmsim/sim.h - the monthly engine: regional market, transitions, ageing.
 *
 * An lm_sim owns a population and advances it one month at a time. Each month
 *   1. the regional market (job seekers, vacancies, tightness) is computed from
 *      integer counts of the current states (exact, order-free);
 *   2. every person transitions, in an OpenMP parallel loop over persons that
 *      writes only that person's slots and draws only from the counter-based
 *      stream keyed by (seed, person id, month, purpose);
 *   3. persons reaching 65 leave and an entrant aged 16 takes their slot;
 *   4. integer counts by state x region x sex x disability x ethnicity x age
 *      band are accumulated per thread and summed in a fixed order.
 * The result after any number of months is bit-identical for any thread count.
 */
#ifndef LMSIM_SIM_H
#define LMSIM_SIM_H

#include <stdint.h>

#include "lmsim/error.h"
#include "lmsim/exchange.h"
#include "lmsim/population.h"
#include "lmsim/programmes.h"
#include "lmsim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Dimensions of one month of aggregate counts, outermost first:
 * [state][region][sex][disabled][minority][age_band]. */
#define LM_AGG_CELLS(n_regions)                                                                    \
    ((size_t)LM_N_STATES * (size_t)(n_regions)*2u * 2u * 2u * LM_N_AGE_BANDS)

static inline size_t lm_agg_index(int n_regions, int state, int region, int female, int disabled,
                                  int minority, int age_band) {
    return (((((size_t)state * (size_t)n_regions + (size_t)region) * 2u + (size_t)female) * 2u +
             (size_t)disabled) *
                2u +
            (size_t)minority) *
               LM_N_AGE_BANDS +
           (size_t)age_band;
}

typedef struct lm_sim lm_sim;

/* Regional market of the current month. */
typedef struct lm_market_region {
    int64_t population; /* persons in the region */
    int64_t unemployed; /* ILO unemployed */
    int64_t inactive;   /* economically inactive */
    double seekers;     /* unemployed + inactive_search_weight * inactive */
    double vacancies;   /* vacancies_per_1000 * population / 1000 */
    double tightness;   /* vacancies / seekers */
    double odds_factor; /* (tightness / reference)^elasticity, applied to job entry */
} lm_market_region;

/* Create a simulation: synthesise the population (month 0) and count it.
 * `threads` <= 0 keeps OpenMP's default. The scenario is borrowed and must
 * outlive the sim. Owned by caller. Errors: LM_ENOMEM, LM_EARG. */
int lm_sim_create(const lm_scenario *sc, int threads, lm_sim **out, lm_error *err);

/* The same for one rank of a distributed run (lmsim/exchange.h): this
 * process synthesises and steps only the slots of its block
 * (lm_part_first), and every count, market, allocation and alignment shift
 * is the same as in the single-process run. Every rank must call create and
 * each step together. ex is borrowed (NULL: single process). Errors: as
 * lm_sim_create, LM_EARG (invalid exchange), LM_EIO (an exchange failed). */
int lm_sim_create_part(const lm_scenario *sc, int threads, const lm_exchange *ex, lm_sim **out,
                       lm_error *err);
void lm_sim_destroy(lm_sim *sim);

/* Start sim again at month 0 for scenario sc, without allocating: the
 * transition tables are rebuilt from sc, the population re-synthesised in
 * place, counters, carried-over programme places and alignment shifts
 * cleared. Afterwards the sim is exactly (bit for bit) what
 * lm_sim_create(sc) with the same threads and exchange would give. sc is
 * borrowed (as by create) and must have the shape the sim was made for:
 * the same persons, regions, number of programmes and of alignment rules,
 * and duration cap (its coefficients, seed and months may differ). In a
 * distributed run every rank must call it together. Errors: LM_EARG (a
 * different shape, naming what differs; the sim is unchanged), LM_EIO (an
 * exchange failed). Used by calibration, which re-runs one scenario with
 * other parameters many times. */
int lm_sim_reset(lm_sim *sim, const lm_scenario *sc, lm_error *err);

/* Advance one month. Errors: LM_EARG when all months have been simulated,
 * LM_ENOMEM, LM_EIO when an exchange between ranks failed. */
int lm_sim_step(lm_sim *sim, lm_error *err);

/* Month of the current state: 0 after create, 1 after the first step. */
int lm_sim_month(const lm_sim *sim);
/* Borrowed view of the population; valid until the next step or destroy. */
const lm_population *lm_sim_population(const lm_sim *sim);
/* Borrowed aggregate counts of the current month (LM_AGG_CELLS values). */
const int64_t *lm_sim_counts(const lm_sim *sim);
/* Log-odds shift that alignment rule `rule` applied in the last step. */
double lm_sim_alignment_shift(const lm_sim *sim, int rule);
/* Borrowed earnings sums of the current month in pence, laid out like
 * lm_sim_counts() (0 for cells out of work). */
const int64_t *lm_sim_earnings(const lm_sim *sim);
/* Borrowed programme counts of the current month (LM_PROG_CELLS values,
 * indexed by lm_prog_index(); see lmsim/programmes.h). */
const int64_t *lm_sim_prog_counts(const lm_sim *sim);
/* Borrowed market state of region r for the current month. */
const lm_market_region *lm_sim_market(const lm_sim *sim, int r);
/* Persons who left at 65 (and were replaced) in the last step (on this rank). */
int64_t lm_sim_leavers(const lm_sim *sim);
/* Borrowed list of the slots that received an entrant in the last step, in
 * ascending order (this rank's slots only in a distributed run); *n receives
 * its length. */
const int64_t *lm_sim_entrants(const lm_sim *sim, int64_t *n);
/* Programme spells that ended in the last step (on this rank): their
 * referral-history rows (end_month = lm_sim_month) into rows, in ascending
 * slot order (bit-identical for any thread count; ranks own ascending
 * blocks). rows NULL: only count them. Returns how many. */
int64_t lm_sim_ended_spells(const lm_sim *sim, lm_referral *rows);
/* Spells under way now (on this rank), as rows with reason LM_END_RUN_ENDED
 * and end_month = lm_sim_month: at the last month, the spells the run cut
 * off. rows NULL: only count. Returns how many. */
int64_t lm_sim_open_spells(const lm_sim *sim, lm_referral *rows);
/* Slots [*lo, *hi) synthesised and stepped by this process (all slots
 * unless the sim is one rank of a distributed run). */
void lm_sim_slots(const lm_sim *sim, int64_t *lo, int64_t *hi);
/* The exchange of a distributed run the sim was created with (borrowed), or
 * NULL for a single process. */
const lm_exchange *lm_sim_exchange(const lm_sim *sim);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_SIM_H */
