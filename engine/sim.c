/* sim.c - the monthly step: regional market, transitions, ageing, counts.
 *
 * Data layout. Persons live in the struct-of-arrays lm_population. The
 * transition model is flattened before the loop into two tables, so that the
 * hot loop does no exp() or log():
 *
 *   base_odds[cell][origin][j]  exp(eta) of destination j of `origin` for a
 *                               person in covariate cell `cell`, without the
 *                               duration term; recomputed each month with the
 *                               regional market factor for job-entry moves;
 *   dur_odds[origin][d][j]      (1 + d)^beta_duration, d = 0..duration cap;
 *   age_odds[origin][y][j]      exp(age term) at y = completed years - 16.
 * The hot tables are float (half the cache footprint of double; computed
 * the same way on every thread, so results stay bit-identical).
 *
 * A covariate cell is (region, sex, age band, disabled, minority, qual,
 * caring, limiting, low-employability type): n_regions x 1024 cells. The odds of destination j are
 * base_odds * dur_odds * age_odds; staying has odds 1 (the logit's reference).
 *
 * One month, t -> t+1:
 *   1. market: job seekers, vacancies and tightness per region from the
 *      integer counts of month t; the factor (tightness/reference)^elasticity
 *      multiplies the odds of every move from out of work into a job;
 *   2. persons, in parallel over a static, contiguous split of the slots: a
 *      person turning 65 leaves and an entrant aged 16 is drawn into the slot;
 *      everyone else draws a destination from the counter-based stream keyed
 *      by (seed, id, t+1, LM_PURPOSE_TRANSITION) and, on entering work, a job
 *      quality from LM_PURPOSE_JOB_QUALITY;
 *   3. counts by state x region x sex x disabled x minority x age band, per
 *      thread as integers (carried from month to month and changed by the
 *      persons who move), summed in thread order (exact in any order).
 * Each thread writes only its own persons and its own counters: no locks,
 * and the result does not depend on the number of threads. (The one atomic
 * is the instruction set of the Philox fill, chosen once.)
 */
#include "lmsim/sim.h"

#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/* AVX2 code in functions of their own (target attribute) needs GCC 5 or
 * clang. */
#if defined(__x86_64__) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#include <immintrin.h>
#define LM_HAVE_AVX2_PATH 1 /* compiled for AVX2, used when the CPU has it */
#endif

#include "internal.h"
#include "lmsim/exchange.h"
#include "lmsim/programmes.h"
#include "lmsim/rng.h"

#define N_CELL_PER_REGION 1024 /* 2 sexes x 4 age bands x 2 x 2 x 4 quals x 2 x 2 health x 2 */
#define CELLS_PER_BAND                                                                             \
    128 /* per age band: disabled x minority x quals x caring x health x type                      \
         */

struct lm_sim {
    const lm_scenario *sc;  /* borrowed: the scenario as loaded (month 0) */
    const lm_scenario *cur; /* borrowed: the settings in force this month (timeline) */
    lm_population *pop;     /* owned */
    int month;              /* month of the current state */
    int n_threads;          /* threads used by the parallel loops */
    int64_t lo, hi;         /* slots stepped here: all, or this rank's block */
    const lm_exchange *ex;  /* borrowed; NULL or one rank: a single-process run */
    int ex_failed;          /* an exchange hook failed (reported by the step) */
    int cap;                /* duration cap, months */
    int n_cells;            /* n_regions * N_CELL_PER_REGION */
    size_t n_agg;           /* LM_AGG_CELLS(n_regions) */

    uint8_t n_dest[LM_N_STATES];                 /* destinations per origin */
    uint8_t dest[LM_N_STATES][LM_N_STATES];      /* state index or LM_DEST_EMPLOYED */
    uint8_t job_entry[LM_N_STATES][LM_N_STATES]; /* 1: move into work from out of work */
    double *static_odds; /* [cell][origin][LM_N_STATES]: exp(eta) without market factor */
    float *base_odds;    /* same, with this month's market factor */
    float *dur_odds;     /* [origin][cap + 1][LM_N_STATES] */
    double dur_max[LM_N_STATES][LM_N_STATES];                 /* max over d of dur_odds[o][d][j] */
    float age_odds[LM_N_STATES][LM_N_AGE_YEARS][LM_N_STATES]; /* exp(age term) by age year */
    double age_max[LM_N_STATES][LM_N_AGE_BANDS][LM_N_STATES]; /* its max within each age band */
    uint32_t *stay_thr;   /* [type][cell][origin]: a draw word above this means "stay";
                             type 1: the pay-churn type (read only when has_churn) */
    uint16_t *cell;       /* [n] covariate cell of each person this month (cell_of) */
    size_t *agg_of_cell;  /* [n_cells] aggregate index of the cell for state 0 */
    size_t agg_per_state; /* aggregate cells per state: index = state * this + agg_of_cell */
    double *p_good;       /* [cell][origin]: probability a job entered is good */
    double *health_rate;  /* [cell][state]: monthly onset (cell without a limiting
                             condition) or recovery (with one) probability */
    uint32_t *health_thr; /* [cell][state]: a health draw word above this leaves the
                             condition as it is (lm__health_word) */

    lm_market_region market[LM_MAX_REGIONS];
    int64_t *counts;        /* [n_agg] counts of the current month; earn and prog_counts
                               follow it in the same block, so one exchange sums all three */
    int64_t *thread_counts; /* [n_threads][n_agg] counts of each thread's slots, kept from
                               month to month (count_month0, then step_range) */
    int64_t *earn;          /* [n_agg] earnings in pence of the current month, like counts */
    int64_t *thread_earn;   /* [n_threads][n_agg] */
    int64_t *entrants;      /* slots that received an entrant this month, ascending */
    int64_t n_entrants;
    int64_t *thread_n_entrants; /* [n_threads] */

    /* programmes (programmes.c) */
    uint8_t to_inactive[LM_N_STATES][LM_N_STATES]; /* 1: destination is inactivity */
    uint8_t leaves_work[LM_N_STATES][LM_N_STATES]; /* 1: from a job to out of work */
    uint8_t dur_work[LM_N_STATES][LM_N_STATES];    /* 1: duration term on months in work */
    uint8_t any_dur_work[LM_N_STATES];             /* some destination of the origin has one */
    float churn_odds[LM_N_STATES][LM_N_STATES];    /* exp(pay_churn): odds factor of the type */
    double churn_max[LM_N_STATES][LM_N_STATES];    /* max(1, churn_odds): for the stay bound */
    uint8_t any_churn[LM_N_STATES];                /* some destination of the origin has one */
    int has_churn;                                 /* some origin has one */
    int no_fast; /* every slot through the full computation (lm__sim_set_fast) */
    double eff_find[LM_MAX_PROGRAMMES]; /* effective odds ratios (fidelity applied) */
    double eff_good[LM_MAX_PROGRAMMES];
    double eff_exit[LM_MAX_PROGRAMMES];
    double eff_prog[LM_MAX_PROGRAMMES];
    double eff_health[LM_MAX_PROGRAMMES];
    double eff_sanc_inact[LM_MAX_PROGRAMMES];
    double eff_sanc_good[LM_MAX_PROGRAMMES];
    int64_t *prog_counts;   /* [LM_PROG_CELLS] counts of the current month */
    int64_t *thread_prog;   /* [n_threads][LM_PROG_CELLS] */
    int64_t *thread_load;   /* [n_threads][LM_MAX_PROGRAMMES * LM_MAX_REGIONS] caseloads */
    int64_t *alloc_counts;  /* [LM_PROG_CELLS] starts given by the serial allocation */
    int64_t *cand;          /* [n] queued candidates, ascending slots (= entrants' buffer) */
    int64_t *thread_n_cand; /* [n_threads] */
    double credit[LM_MAX_PROGRAMMES * LM_MAX_REGIONS]; /* fractional places carried */
    int64_t *hist;                                     /* [LM_PROG_HIST_BINS] allocation scratch */
    int64_t *per_rank;                                 /* [n_ranks + 1] allocation scratch */
    lm__ends *ends;     /* [n_threads] spells ended in the last step, per thread range */
    int64_t *ends_slot; /* [n_threads][LM_ENDS_CAP] their lists */

    /* alignment (align_month) */
    float *al_a;    /* [n] odds of the aligned move, 0 for persons not concerned */
    float *al_b;    /* [n] 1 + odds of every other destination */
    double *al_sum; /* [2 * n_blocks] per-block sums of the expected count and slope */
    double al_shift[LM_MAX_ALIGN]; /* log-odds shift applied this month, per rule */
};

#define ALIGN_BLOCK LM_PART_ALIGN /* fixed blocks: the sums depend on neither threads nor ranks */

/* First slot of thread range k (of n_threads) within this process's slots. */
static inline int64_t thread_first(const lm_sim *sim, int k) {
    return lm__range_first(sim->lo, sim->hi, k, sim->n_threads);
}

/* Sum buf over the ranks of a distributed run (nothing to do otherwise). */
static void xsum_i64(lm_sim *sim, int64_t *buf, size_t n) {
    sim->ex_failed |= lm__xsum_i64(sim->ex, buf, n);
}

static inline int cell_of(int region, int female, int band, int disabled, int minority, int qual,
                          int caring, int limiting, int low_emp) {
    int c = (region * 2 + female) * LM_N_AGE_BANDS + band;
    c = ((c * 2 + disabled) * 2 + minority) * LM_N_QUALS + qual;
    return ((c * 2 + caring) * 2 + limiting) * 2 + low_emp;
}

/* Covariate cell of slot i with age band `band`. */
static inline int cell_of_slot(const lm_population *p, int64_t i, int band) {
    return cell_of(p->region[i], p->female[i], band, p->disabled[i], p->minority[i], p->qual[i],
                   p->caring[i], p->limiting[i], p->low_emp[i]);
}

/* Ages in months at which the age bands 25-34, 35-49 and 50-64 start
 * (lm_age_band_of). */
enum {
    BAND1_START = 25 * LM_MONTHS_PER_YEAR,
    BAND2_START = 35 * LM_MONTHS_PER_YEAR,
    BAND3_START = 50 * LM_MONTHS_PER_YEAR
};

static inline int age_band_fast(int age_months) {
    return (age_months >= BAND1_START) + (age_months >= BAND2_START) + (age_months >= BAND3_START);
}

/* Fill static_odds, dur_odds and p_good from the scenario. */
static void build_tables(lm_sim *sim) {
    const lm_scenario *sc = sim->cur;
    sim->has_churn = 0;
    for (int o = 0; o < LM_N_STATES; o++) {
        sim->n_dest[o] = (uint8_t)sc->n_dest[o];
        sim->any_dur_work[o] = 0;
        sim->any_churn[o] = 0;
        for (int j = 0; j < sc->n_dest[o]; j++) {
            int to = sc->dest[o][j].to;
            sim->dest[o][j] = (uint8_t)to;
            sim->job_entry[o][j] =
                !lm_state_is_employed(o) && (to == LM_DEST_EMPLOYED || lm_state_is_employed(to));
            sim->to_inactive[o][j] = to != LM_DEST_EMPLOYED && lm_state_is_inactive(to);
            sim->leaves_work[o][j] =
                lm_state_is_employed(o) && to != LM_DEST_EMPLOYED && !lm_state_is_employed(to);
            const lm_logit *lg = &sc->dest[o][j];
            sim->dur_work[o][j] = (uint8_t)lg->duration_in_work;
            sim->any_dur_work[o] |= sim->dur_work[o][j];
            sim->any_churn[o] |= (uint8_t)(lg->pay_churn != 0.0);
            sim->has_churn |= lg->pay_churn != 0.0;
            sim->churn_odds[o][j] = (float)exp(lg->pay_churn);
            sim->churn_max[o][j] =
                (double)sim->churn_odds[o][j] > 1.0 ? (double)sim->churn_odds[o][j] : 1.0;
            for (int b = 0; b < LM_N_AGE_BANDS; b++)
                sim->age_max[o][b][j] = 0.0;
            for (int y = 0; y < LM_N_AGE_YEARS; y++) {
                double add = 0.0;
                for (int k = 0; k < lg->n_age_steps; k++)
                    if (lg->age_from_years[k] <= y + LM_AGE_MIN_MONTHS / LM_MONTHS_PER_YEAR)
                        add = lg->age_add[k];
                const float f = (float)exp(add);
                const int b = age_band_fast((y + LM_AGE_MIN_MONTHS / LM_MONTHS_PER_YEAR) *
                                            LM_MONTHS_PER_YEAR);
                sim->age_odds[o][y][j] = f;
                if ((double)f > sim->age_max[o][b][j])
                    sim->age_max[o][b][j] = (double)f;
            }
            float *d = sim->dur_odds + (size_t)o * (size_t)(sim->cap + 1) * LM_N_STATES + (size_t)j;
            sim->dur_max[o][j] = 0.0;
            for (int k = 0; k <= sim->cap; k++) {
                d[(size_t)k * LM_N_STATES] =
                    (float)exp(sc->dest[o][j].log_duration * log1p((double)k));
                if ((double)d[(size_t)k * LM_N_STATES] > sim->dur_max[o][j])
                    sim->dur_max[o][j] = (double)d[(size_t)k * LM_N_STATES];
            }
        }
    }
    for (int cell = 0; cell < sim->n_cells; cell++) {
        /* Decode the cell (inverse of cell_of). */
        int c = cell, le = c % 2, h = (c /= 2) % 2, ca = (c /= 2) % 2, q = (c /= 2) % LM_N_QUALS;
        int mi = (c /= LM_N_QUALS) % 2, dis = (c /= 2) % 2, b = (c /= 2) % LM_N_AGE_BANDS;
        int f = (c /= LM_N_AGE_BANDS) % 2, r = c / 2;
        for (int o = 0; o < LM_N_STATES; o++) {
            double *so = sim->static_odds + ((size_t)cell * LM_N_STATES + (size_t)o) * LM_N_STATES;
            for (int j = 0; j < sc->n_dest[o]; j++) {
                const lm_logit *lg = &sc->dest[o][j];
                double eta = lg->intercept + lg->female * f + lg->disabled * dis +
                             lg->minority * mi + lg->caring * ca + lg->age_band[b] + lg->qual[q] +
                             lg->region[r] + lg->limiting * h + lg->low_employability * le;
                so[j] = exp(eta);
            }
            double pg = 0.0;
            for (int k = 0; k < sc->n_quality; k++) {
                if (lm_selector_match(&sc->quality[k].where, r, f, b, dis, mi, q, ca, o)) {
                    pg = sc->quality[k].p_good;
                    break;
                }
            }
            /* A screened share of vacancies is good whatever the rule says. */
            pg = sc->screened_share + (1.0 - sc->screened_share) * pg;
            sim->p_good[(size_t)cell * LM_N_STATES + (size_t)o] = pg;
            /* The cell fixes disability, age band and the condition, so the
             * health rate is one lookup in the step. */
            double hr = h ? sc->health_recovery[dis][o]
                          : sc->health_onset[dis][o] * sc->health_onset_age[b];
            sim->health_rate[(size_t)cell * LM_N_STATES + (size_t)o] = hr < 1.0 ? hr : 1.0;
            sim->health_thr[(size_t)cell * LM_N_STATES + (size_t)o] =
                lm__health_word(hr < 1.0 ? hr : 1.0);
        }
    }
}

/* Effective odds ratios: fidelity f scales each log odds ratio. */
static void build_effects(lm_sim *sim) {
    for (int k = 0; k < sim->cur->n_programmes; k++) {
        const lm_programme *pg = &sim->cur->programmes[k];
        double f = pg->fidelity;
        sim->eff_find[k] = exp(f * log(pg->job_finding_or));
        sim->eff_good[k] = exp(f * log(pg->good_job_or));
        sim->eff_exit[k] = exp(f * log(pg->job_exit_or));
        sim->eff_prog[k] = exp(f * log(pg->progression_or));
        sim->eff_health[k] = exp(f * log(pg->health_onset_or));
        sim->eff_sanc_inact[k] = pg->sanction_inactivity_or;
        sim->eff_sanc_good[k] = pg->sanction_good_job_or;
    }
}

/* The stay bound of total odds at most smax: as a bound on the draw's word
 * x (u = (x + 0.5) / 2^32), x above ceil(thr * 2^32) - 1 means u > thr,
 * thr = smax / (1 + smax) with a little slack. thr is in (0, 1], so the
 * bound fits in 32 bits, and thr = 1 never skips. */
static uint32_t stay_word(double smax) {
    double thr = smax / (1.0 + smax) * (1.0 + 1e-9) + 1e-12;
    thr = thr > 1.0 ? 1.0 : thr;
    return (uint32_t)(ceil(thr * 0x1p32) - 1.0);
}

/* The "stay" bounds of the cells of region r (all regions when r < 0): with
 * S_max the sum over destinations of base odds times the largest duration
 * factor and the largest age factor of the cell's age band, a person of the cell moves with
 * probability at most S_max / (1 + S_max). The bound is widened by a relative 1e-9, far above any
 * rounding, so that u >= bound implies the full computation's "stay". */
static void update_stay_bounds(lm_sim *sim, int r) {
    int c0 = r < 0 ? 0 : r * N_CELL_PER_REGION;
    int c1 = r < 0 ? sim->n_cells : (r + 1) * N_CELL_PER_REGION;
    /* Cells are independent: on all threads (a serial 3 % of a Wales
     * month on 2 threads otherwise). */
#pragma omp parallel for num_threads(sim->n_threads) schedule(static)
    for (int cell = c0; cell < c1; cell++)
        for (int o = 0; o < LM_N_STATES; o++) {
            const float *bo =
                sim->base_odds + ((size_t)cell * LM_N_STATES + (size_t)o) * LM_N_STATES;
            const int band = cell / CELLS_PER_BAND % LM_N_AGE_BANDS;
            /* Without the pay-churn type, and (second half of the table)
             * with it: its factor max(1, exp(pay_churn)) per destination. */
            double smax = 0.0, smax_c = 0.0;
            for (int j = 0; j < sim->n_dest[o]; j++) {
                const double b = (double)bo[j] * sim->dur_max[o][j] * sim->age_max[o][band][j];
                smax += b;
                smax_c += b * sim->churn_max[o][j];
            }
            const size_t k = (size_t)cell * LM_N_STATES + (size_t)o;
            sim->stay_thr[k] = stay_word(smax);
            sim->stay_thr[(size_t)sim->n_cells * LM_N_STATES + k] = stay_word(smax_c);
        }
}

/* Market of the current month from the current counts, then base_odds. */
static void update_market(lm_sim *sim) {
    const lm_scenario *sc = sim->cur;
    const int R = sc->n_regions;
    for (int r = 0; r < R; r++) {
        lm_market_region *m = &sim->market[r];
        memset(m, 0, sizeof *m);
        for (int s = 0; s < LM_N_STATES; s++)
            for (int f = 0; f < 2; f++)
                for (int dis = 0; dis < 2; dis++)
                    for (int mi = 0; mi < 2; mi++)
                        for (int b = 0; b < LM_N_AGE_BANDS; b++) {
                            int64_t v = sim->counts[lm_agg_index(R, s, r, f, dis, mi, b)];
                            m->population += v;
                            if (s == LM_STATE_UNEMPLOYED)
                                m->unemployed += v;
                            else if (lm_state_is_inactive(s))
                                m->inactive += v;
                        }
        m->seekers = (double)m->unemployed + sc->inactive_search_weight * (double)m->inactive;
        m->vacancies = sc->regions[r].vacancies_per_1000 * (double)m->population / 1000.0;
        /* With nobody seeking, tightness is undefined; the reference applies. */
        m->tightness = m->seekers > 0.0 ? m->vacancies / m->seekers : sc->reference_tightness;
        m->odds_factor = m->tightness > 0.0
                             ? pow(m->tightness / sc->reference_tightness, sc->matching_elasticity)
                             : 0.0;
    }
    const size_t per_cell = (size_t)LM_N_STATES * LM_N_STATES;
#pragma omp parallel for num_threads(sim->n_threads) schedule(static)
    for (int cell = 0; cell < sim->n_cells; cell++) {
        double factor = sim->market[cell / N_CELL_PER_REGION].odds_factor;
        const double *so = sim->static_odds + (size_t)cell * per_cell;
        float *bo = sim->base_odds + (size_t)cell * per_cell;
        for (int o = 0; o < LM_N_STATES; o++)
            for (int j = 0; j < sim->n_dest[o]; j++)
                bo[o * LM_N_STATES + j] =
                    (float)(so[o * LM_N_STATES + j] * (sim->job_entry[o][j] ? factor : 1.0));
    }
    update_stay_bounds(sim, -1);
}

/* Per-thread lists of slots, each written from the start of its thread's
 * range (buf[lo..lo + count[t])), joined in thread order into
 * buf[sim->lo..sim->lo + total): ascending slots whatever the thread count.
 * Returns total. */
static int64_t compact(const lm_sim *sim, int64_t *buf, const int64_t *count) {
    int64_t total = 0;
    for (int t = 0; t < sim->n_threads; t++) {
        int64_t lo = thread_first(sim, t), c = count[t];
        if (c && lo != sim->lo + total)
            memmove(buf + sim->lo + total, buf + lo, (size_t)c * sizeof *buf);
        total += c;
    }
    return total;
}

/* Sum per-thread counters in thread order into sim->counts, and compact the
 * per-thread entrant lists (each stored at the start of its thread's range)
 * into one ascending list. */
static void reduce(lm_sim *sim) {
    memset(sim->counts, 0, sim->n_agg * sizeof *sim->counts);
    memset(sim->earn, 0, sim->n_agg * sizeof *sim->earn);
    for (int t = 0; t < sim->n_threads; t++) {
        const int64_t *tc = sim->thread_counts + (size_t)t * sim->n_agg;
        const int64_t *te = sim->thread_earn + (size_t)t * sim->n_agg;
        for (size_t k = 0; k < sim->n_agg; k++) {
            sim->counts[k] += tc[k];
            sim->earn[k] += te[k];
        }
    }
    memcpy(sim->prog_counts, sim->alloc_counts, LM_PROG_CELLS * sizeof *sim->prog_counts);
    for (int t = 0; t < sim->n_threads; t++) {
        const int64_t *tp = sim->thread_prog + (size_t)t * LM_PROG_CELLS;
        for (size_t k = 0; k < LM_PROG_CELLS; k++)
            sim->prog_counts[k] += tp[k];
    }
    /* Exact integer sums: the totals do not depend on how slots are split. */
    xsum_i64(sim, sim->counts, 2 * sim->n_agg + LM_PROG_CELLS);
    sim->n_entrants = compact(sim, sim->entrants, sim->thread_n_entrants);
}

/* Earnings of slot i in pence, exact as an integer for the sums. */
static inline int64_t pence(const lm_population *p, int64_t i) {
    return (int64_t)((double)p->earnings[i] * 100.0 + 0.5); /* earnings >= 0 */
}

static void count_range(lm_sim *sim, int64_t *tc, int64_t *te, int64_t lo, int64_t hi, int month) {
    const lm_population *p = sim->pop;
    const int R = sim->sc->n_regions;
    for (int64_t i = lo; i < hi; i++) {
        int band = age_band_fast(month - p->birth_month[i]);
        size_t idx = lm_agg_index(R, p->state[i], p->region[i], p->female[i], p->disabled[i],
                                  p->minority[i], band);
        sim->cell[i] = (uint16_t)cell_of_slot(p, i, band);
        tc[idx]++;
        te[idx] += pence(p, i);
    }
}

/* Cumulative odds against staying of each destination of person i (state
 * s, covariate cell `cell`) into cum[]; returns their sum. Programme effects
 * are odds ratios on some destinations. */
static inline double person_odds(const lm_sim *sim, const lm_population *p, int64_t i, int s,
                                 int cell, int age_months, double *cum) {
    const int cap = sim->cap;
    const int d = p->months_in_state[i] < cap ? p->months_in_state[i] : cap;
    const float *aodds =
        sim->age_odds[s][age_months / LM_MONTHS_PER_YEAR - LM_AGE_MIN_MONTHS / LM_MONTHS_PER_YEAR];
    const float *bo = sim->base_odds + ((size_t)cell * LM_N_STATES + (size_t)s) * LM_N_STATES;
    const float *dodds = sim->dur_odds + ((size_t)s * (size_t)(cap + 1) + (size_t)d) * LM_N_STATES;
    const int nd = sim->n_dest[s];
    const int phase = p->prog_phase[i];
    /* Destinations whose duration term counts months in work (the
     * employment spell, not restarted by a change of job quality). */
    float dw[LM_N_STATES];
    if (sim->any_dur_work[s]) {
        const int w = p->sustained_months[i] < cap ? p->sustained_months[i] : cap;
        const float *wodds =
            sim->dur_odds + ((size_t)s * (size_t)(cap + 1) + (size_t)w) * LM_N_STATES;
        for (int j = 0; j < nd; j++)
            dw[j] = sim->dur_work[s][j] ? wodds[j] : dodds[j];
        dodds = dw;
    }
    /* The pay-churn type: an odds factor on the destinations that have one
     * (1 otherwise: exact, so the sums are those without the type). */
    double cf[LM_N_STATES];
    const int churn = sim->any_churn[s] && p->pay_churn[i];
    for (int j = 0; j < nd; j++)
        cf[j] = churn ? (double)sim->churn_odds[s][j] : 1.0;
    double total = 0.0;
    if (phase < LM_PHASE_SEARCH) {
        for (int j = 0; j < nd; j++) {
            total += (double)bo[j] * (double)dodds[j] * (double)aodds[j] * cf[j];
            cum[j] = total;
        }
        return total;
    }
    const int k = p->prog[i] - 1;
    const int sanctioned = p->sanction_left[i] > 0;
    for (int j = 0; j < nd; j++) {
        double o = (double)bo[j] * (double)dodds[j] * (double)aodds[j] * cf[j];
        /* Job search: finding work, and sanctions. Any phase, for a person in
         * work: progression and job exit (in-work support, or an in-work
         * programme such as progression support). */
        if (phase == LM_PHASE_SEARCH) {
            if (sim->job_entry[s][j])
                o *= sim->eff_find[k];
            if (sanctioned && sim->to_inactive[s][j])
                o *= sim->eff_sanc_inact[k];
        }
        if (s == LM_STATE_EMPLOYED_POOR && sim->dest[s][j] == LM_STATE_EMPLOYED_GOOD)
            o *= sim->eff_prog[k];
        if (sim->leaves_work[s][j])
            o *= sim->eff_exit[k];
        total += o;
        cum[j] = total;
    }
    return total;
}

/* Whether an age band starts at this age (in months). */
static inline int band_starts(int age_months) {
    return age_months == BAND1_START || age_months == BAND2_START || age_months == BAND3_START;
}

/* Id of the person in slot i (lm_population_id) from the local arrays. */
static inline uint64_t slot_id(int64_t n, int64_t i, const uint16_t *gen) {
    return (uint64_t)i + (uint64_t)n * gen[i];
}

static inline uint16_t inc16(uint16_t v) {
    return (uint16_t)(v + (v < UINT16_MAX));
}

#define STEP_CHUNK 1024
#define STEP_GROUPS (STEP_CHUNK / 4 + 1) /* groups of four slots covering a chunk */

/* Counters of the aligned groups of four slots covering [c0, c1): group g
 * is slots a0 + 4g .. a0 + 4g + 3 (a0 = c0 rounded down to a multiple of
 * 4), and blk[g] the Philox block of its first slot's id, taking the
 * generation of the first slot inside [c0, c1): the slots before c0 belong
 * to another thread, which may be replacing their occupants. blk[g] is only
 * a guess that draw_words checks slot by slot. Returns the number of groups. */
static int chunk_blocks(const lm_population *p, int64_t c0, int64_t c1, uint64_t *blk) {
    const uint64_t n = (uint64_t)p->n;
    const int64_t a0 = c0 & ~(int64_t)3;
    const int ng = (int)((c1 - a0 + 3) >> 2);
    for (int g = 0; g < ng; g++) {
        const int64_t i = a0 + 4 * (int64_t)g; /* < c1: inside the population */
        blk[g] = ((uint64_t)i + n * p->generation[i < c0 ? c0 : i]) >> 2;
    }
    return ng;
}

#if defined(__SSE2__)
/* hi and lo halves of the 64-bit products m * x, lane by lane (m's lanes
 * all equal). */
static inline void mulhilo4(__m128i m, __m128i x, __m128i *hi, __m128i *lo) {
    const __m128i e = _mm_mul_epu32(x, m);                     /* lanes 0, 2 */
    const __m128i o = _mm_mul_epu32(_mm_srli_epi64(x, 32), m); /* lanes 1, 3 */
    const __m128i es = _mm_shuffle_epi32(e, _MM_SHUFFLE(3, 1, 2, 0));
    const __m128i os = _mm_shuffle_epi32(o, _MM_SHUFFLE(3, 1, 2, 0));
    *lo = _mm_unpacklo_epi32(es, os);
    *hi = _mm_unpackhi_epi32(es, os);
}
#endif

#ifdef LM_HAVE_AVX2_PATH
/* mulhilo4 on eight lanes: AVX2 works on the two 128-bit halves alike. */
__attribute__((target("avx2"))) static inline void mulhilo8(__m256i m, __m256i x, __m256i *hi,
                                                            __m256i *lo) {
    const __m256i e = _mm256_mul_epu32(x, m);
    const __m256i o = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
    const __m256i es = _mm256_shuffle_epi32(e, _MM_SHUFFLE(3, 1, 2, 0));
    const __m256i os = _mm256_shuffle_epi32(o, _MM_SHUFFLE(3, 1, 2, 0));
    *lo = _mm256_unpacklo_epi32(es, os);
    *hi = _mm256_unpackhi_epi32(es, os);
}

/* Blocks [0, 16k) of fill_blocks with AVX2: eight blocks per vector, two
 * independent sets per iteration. Returns the number of blocks done. */
__attribute__((target("avx2"))) static int fill_avx2(uint64_t seed, uint32_t month,
                                                     uint32_t purpose, const uint64_t *blk, int ng,
                                                     uint32_t *w) {
    if (ng < 16)
        return 0;
    __m256i k0[10], k1[10];
    uint32_t ka = (uint32_t)seed, kb = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        k0[r] = _mm256_set1_epi32((int)ka);
        k1[r] = _mm256_set1_epi32((int)kb);
        ka += PHILOX_W32_0;
        kb += PHILOX_W32_1;
    }
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M4x32_0);
    const __m256i m1 = _mm256_set1_epi32((int)PHILOX_M4x32_1);
    const __m256i c2 = _mm256_set1_epi32((int)month);
    const __m256i c3 = _mm256_set1_epi32((int)(purpose << 16));
    int g = 0;
    for (; g + 16 <= ng; g += 16) {
        __m256i x[2][4];
        for (int h = 0; h < 2; h++) {
            uint32_t lo[8], hi[8];
            for (int j = 0; j < 8; j++) {
                lo[j] = (uint32_t)blk[g + 8 * h + j];
                hi[j] = (uint32_t)(blk[g + 8 * h + j] >> 32);
            }
            x[h][0] = _mm256_loadu_si256((const __m256i *)lo);
            x[h][1] = _mm256_loadu_si256((const __m256i *)hi);
            x[h][2] = c2;
            x[h][3] = c3;
        }
        for (int r = 0; r < 10; r++)
            for (int h = 0; h < 2; h++) {
                __m256i hi0, lo0, hi1, lo1;
                mulhilo8(m0, x[h][0], &hi0, &lo0);
                mulhilo8(m1, x[h][2], &hi1, &lo1);
                x[h][0] = _mm256_xor_si256(_mm256_xor_si256(hi1, x[h][1]), k0[r]);
                x[h][1] = lo1;
                x[h][2] = _mm256_xor_si256(_mm256_xor_si256(hi0, x[h][3]), k1[r]);
                x[h][3] = lo0;
            }
        for (int h = 0; h < 2; h++) {
            /* As in the SSE2 path, per 128-bit half: v0 holds blocks 0 and
             * 4 (low and high half), v1 1 and 5, v2 2 and 6, v3 3 and 7. */
            uint32_t *o = w + 4 * (g + 8 * h);
            const __m256i a01 = _mm256_unpacklo_epi32(x[h][0], x[h][1]);
            const __m256i a23 = _mm256_unpacklo_epi32(x[h][2], x[h][3]);
            const __m256i b01 = _mm256_unpackhi_epi32(x[h][0], x[h][1]);
            const __m256i b23 = _mm256_unpackhi_epi32(x[h][2], x[h][3]);
            const __m256i v0 = _mm256_unpacklo_epi64(a01, a23);
            const __m256i v1 = _mm256_unpackhi_epi64(a01, a23);
            const __m256i v2 = _mm256_unpacklo_epi64(b01, b23);
            const __m256i v3 = _mm256_unpackhi_epi64(b01, b23);
            _mm256_storeu_si256((__m256i *)o, _mm256_permute2x128_si256(v0, v1, 0x20));
            _mm256_storeu_si256((__m256i *)(o + 8), _mm256_permute2x128_si256(v2, v3, 0x20));
            _mm256_storeu_si256((__m256i *)(o + 16), _mm256_permute2x128_si256(v0, v1, 0x31));
            _mm256_storeu_si256((__m256i *)(o + 24), _mm256_permute2x128_si256(v2, v3, 0x31));
        }
    }
    return g;
}
#endif

#if defined(__SSE2__)
/* Blocks [0, 8k) of lm__fill_blocks with SSE2. Returns the number done. */
static int fill_sse2(uint64_t seed, uint32_t month, uint32_t purpose, const uint64_t *blk, int ng,
                     uint32_t *w) {
    int g = 0;
    if (ng < 8)
        return 0;
    __m128i k0[10], k1[10];
    uint32_t ka = (uint32_t)seed, kb = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        k0[r] = _mm_set1_epi32((int)ka);
        k1[r] = _mm_set1_epi32((int)kb);
        ka += PHILOX_W32_0;
        kb += PHILOX_W32_1;
    }
    const __m128i m0 = _mm_set1_epi32((int)PHILOX_M4x32_0);
    const __m128i m1 = _mm_set1_epi32((int)PHILOX_M4x32_1);
    const __m128i c2 = _mm_set1_epi32((int)month), c3 = _mm_set1_epi32((int)(purpose << 16));
    /* Eight blocks per iteration, as two independent sets of four, so
     * that one set's multiplications overlap the other's. */
    for (; g + 8 <= ng; g += 8) {
        __m128i x[2][4];
        for (int h = 0; h < 2; h++) {
            /* Counter words 0 and 1: low and high halves of four blocks. */
            const uint64_t *bk = blk + g + 4 * h;
            const __m128i q01 =
                _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)bk), _MM_SHUFFLE(3, 1, 2, 0));
            const __m128i q23 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(bk + 2)),
                                                  _MM_SHUFFLE(3, 1, 2, 0));
            x[h][0] = _mm_unpacklo_epi64(q01, q23);
            x[h][1] = _mm_unpackhi_epi64(q01, q23);
            x[h][2] = c2;
            x[h][3] = c3;
        }
        for (int r = 0; r < 10; r++)
            for (int h = 0; h < 2; h++) {
                __m128i hi0, lo0, hi1, lo1;
                mulhilo4(m0, x[h][0], &hi0, &lo0);
                mulhilo4(m1, x[h][2], &hi1, &lo1);
                x[h][0] = _mm_xor_si128(_mm_xor_si128(hi1, x[h][1]), k0[r]);
                x[h][1] = lo1;
                x[h][2] = _mm_xor_si128(_mm_xor_si128(hi0, x[h][3]), k1[r]);
                x[h][3] = lo0;
            }
        for (int h = 0; h < 2; h++) {
            /* Lanes back to blocks: w[4(g + 4h + j) + v] = lane j of x[h][v]. */
            uint32_t *o = w + 4 * (g + 4 * h);
            const __m128i a01 = _mm_unpacklo_epi32(x[h][0], x[h][1]);
            const __m128i a23 = _mm_unpacklo_epi32(x[h][2], x[h][3]);
            const __m128i b01 = _mm_unpackhi_epi32(x[h][0], x[h][1]);
            const __m128i b23 = _mm_unpackhi_epi32(x[h][2], x[h][3]);
            _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi64(a01, a23));
            _mm_storeu_si128((__m128i *)(o + 4), _mm_unpackhi_epi64(a01, a23));
            _mm_storeu_si128((__m128i *)(o + 8), _mm_unpacklo_epi64(b01, b23));
            _mm_storeu_si128((__m128i *)(o + 12), _mm_unpackhi_epi64(b01, b23));
        }
    }
    return g;
}
#endif

/* Which instruction set the vector code uses (LM_FILL_*: lm__fill_blocks
 * and the marking of the stayers, mark_fast): the widest the CPU has,
 * unless lm__fill_set_isa has narrowed it (tests). */
static _Atomic int fill_isa = -1;

static int fill_isa_best(void) {
#ifdef LM_HAVE_AVX2_PATH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return LM_FILL_AVX2;
#endif
#if defined(__SSE2__)
    return LM_FILL_SSE2;
#else
    return LM_FILL_SCALAR;
#endif
}

int lm__fill_set_isa(int isa) {
    const int best = fill_isa_best();
    const int use = isa < 0 || isa > best ? best : isa;
    atomic_store_explicit(&fill_isa, use, memory_order_relaxed);
    return use;
}

/* The four words of purpose `purpose` of each block blk[0..ng) into
 * w[4g..4g+3], exactly as lm__rng_block. With AVX2 (when the CPU has it),
 * eight blocks per vector; with SSE2 (every x86-64), four; one per 32-bit
 * lane, through Philox4x32-10's rounds written on vectors: the compiler's own
 * vectorisation of lm__rng_block spends most of its instructions moving words
 * between lanes. The key is the seed for every block, so its ten round values
 * are computed once. */
void lm__fill_blocks(uint64_t seed, uint32_t month, uint32_t purpose, const uint64_t *blk, int ng,
                     uint32_t *w) {
    int g = 0;
    int isa = atomic_load_explicit(&fill_isa, memory_order_relaxed);
    if (isa < 0) /* first use: every thread finds the same value */
        isa = lm__fill_set_isa(-1);
#ifdef LM_HAVE_AVX2_PATH
    if (isa >= LM_FILL_AVX2)
        g = fill_avx2(seed, month, purpose, blk, ng, w);
#endif
#if defined(__SSE2__)
    if (isa >= LM_FILL_SSE2)
        g += fill_sse2(seed, month, purpose, blk + g, ng - g, w + 4 * g);
#endif
    (void)isa;
    for (; g < ng; g++)
        lm__rng_block(seed, blk[g], month, purpose, 0, w + 4 * g);
}

/* Scratch of draw_words: the blocks of the slots that are not in their
 * group's block, and those slots. */
typedef struct chunk_scratch {
    uint64_t blk[STEP_GROUPS], odd_blk[STEP_CHUNK];
    uint32_t odd_w[4 * STEP_CHUNK];
    int64_t odd_slot[STEP_CHUNK];
    int odd_k[STEP_CHUNK];
} chunk_scratch;

/* The word of purpose purpose[q] of every slot of [c0, c1) into
 * w[q][i - a0] for q < npur (a0 = c0 rounded down to a multiple of 4), as
 * lm_rng_u32 would give it.
 * The four slots of an aligned group usually hold four consecutive ids of
 * one Philox block; when a generation changes inside the group (more than half
 * the groups after ten years), or n is not a multiple of 4, some slots are
 * not, and their blocks (shared by neighbours with the same generation) are
 * drawn in a second vectorised pass. */
static void draw_words(const lm_population *p, uint64_t seed, uint32_t month, int64_t c0,
                       int64_t c1, int npur, const uint32_t *purpose, uint32_t *const *w,
                       chunk_scratch *cs) {
    const uint64_t n = (uint64_t)p->n;
    const int64_t a0 = c0 & ~(int64_t)3;
    const int ng = chunk_blocks(p, c0, c1, cs->blk);
    int n_odd = 0, n_blk = 0;
    for (int g = 0; g < ng; g++) {
        const int64_t g0 = a0 + 4 * (int64_t)g;
        const int64_t s0 = g0 > c0 ? g0 : c0, s1 = g0 + 4 < c1 ? g0 + 4 : c1;
        /* A whole group of one generation g with n * g a multiple of 4 holds
         * its block's four ids: the common case, checked at once. */
        if (s0 == g0 && s1 == g0 + 4) {
            uint64_t four;
            memcpy(&four, p->generation + g0, sizeof four);
            const uint16_t g1 = p->generation[g0];
            if (four == g1 * UINT64_C(0x0001000100010001) && ((n * g1) & 3u) == 0)
                continue;
        }
        for (int64_t i = s0; i < s1; i++) {
            const uint64_t id = (uint64_t)i + n * p->generation[i];
            if (id == (cs->blk[g] << 2) + (uint64_t)(i & 3))
                continue;
            if (n_blk == 0 || cs->odd_blk[n_blk - 1] != id >> 2)
                cs->odd_blk[n_blk++] = id >> 2;
            cs->odd_slot[n_odd] = i;
            cs->odd_k[n_odd++] = 4 * (n_blk - 1) + (int)(id & 3u);
        }
    }
    for (int q = 0; q < npur; q++) {
        lm__fill_blocks(seed, month, purpose[q], cs->blk, ng, w[q]);
        if (n_odd == 0)
            continue;
        lm__fill_blocks(seed, month, purpose[q], cs->odd_blk, n_blk, cs->odd_w);
        for (int k = 0; k < n_odd; k++)
            w[q][cs->odd_slot[k] - a0] = cs->odd_w[cs->odd_k[k]];
    }
}

static double u01_wide(uint64_t x) {
    return ((double)x + 0.5) * 0x1p-32; /* lm__u01 for x <= 2^32 */
}

uint32_t lm__health_word(double rate) {
    if (!(rate > 0.0))
        return 0; /* no word changes it; a NaN too (never passed: clamped) */
    if (!(rate < 1.0))
        return UINT32_MAX; /* every word changes it */
    const double t = rate * 0x1p32 - 0.5;
    uint64_t x = t <= 0.0 ? 0 : t >= 0x1p32 ? UINT64_C(1) << 32 : (uint64_t)t;
    while (x > 0 && !(u01_wide(x - 1) < rate))
        x--;
    while (x <= UINT32_MAX && u01_wide(x) < rate)
        x++;
    return x == 0 ? 0 : (uint32_t)(x - 1);
}

/* What marking the stayers reads (mark_fast). */
typedef struct mark_ctx {
    const int32_t *birth;
    const uint16_t *cell;
    const uint8_t *state, *phase, *track; /* track NULL without programmes */
    const uint8_t *churn;                 /* NULL without the pay-churn type */
    const uint8_t *limiting, *disabled, *lim_months;
    const uint32_t *stay_thr, *health_thr; /* health_thr NULL without health */
    uint32_t churn_off;                    /* the type's half of stay_thr */
    int dis_after;                         /* disabled_after_months; 0: none (or no health) */
    int on;                                /* 0: nobody is marked (lm__sim_set_fast) */
    /* Births of the persons who leave at 65, or start the age band of 25,
     * 35 or 50, next month (the `age + 1` of the full computation). */
    int32_t born_leave, born_band[3];
} mark_ctx;

/* fast[i - c0] = 1 for the persons of [c0, c1) whose month cannot change
 * their state, cell or programme status (tw, hw: their transition and
 * health words, from c0): not leaving at 65 and not starting an age band
 * next month, no programme spell or follow-up, the transition word above
 * the stay bound of the cell, state and type, the health word above the
 * bound at which the condition would change, and no disability reached
 * (when the condition's months would reach it, or might: 255 saturates). */
static void mark_fast_scalar(const mark_ctx *m, int64_t c0, int64_t c1, const uint32_t *tw,
                             const uint32_t *hw, uint8_t *fast) {
    for (int64_t i = c0; i < c1; i++) {
        const int32_t b = m->birth[i];
        const size_t k = (size_t)m->cell[i] * LM_N_STATES + m->state[i];
        int f = m->on & (b > m->born_leave) & (b != m->born_band[0]) & (b != m->born_band[1]) &
                (b != m->born_band[2]) & (m->phase[i] == LM_PHASE_NONE);
        if (m->track)
            f &= m->track[i] == 0;
        f &= tw[i - c0] > m->stay_thr[k + (m->churn ? m->churn[i] * m->churn_off : 0)];
        if (m->health_thr) {
            f &= hw[i - c0] > m->health_thr[k];
            if (m->dis_after > 0)
                f &= !(m->limiting[i] & !m->disabled[i] & (m->lim_months[i] + 1 >= m->dis_after));
        }
        fast[i - c0] = (uint8_t)f;
    }
}

#ifdef LM_HAVE_AVX2_PATH
/* mark_fast_scalar for eight persons at a time, the bounds gathered; the
 * same marks. Returns the number of persons done (a multiple of 8). */
__attribute__((target("avx2"))) static int64_t mark_fast_avx2(const mark_ctx *m, int64_t c0,
                                                              int64_t c1, const uint32_t *tw,
                                                              const uint32_t *hw, uint8_t *fast) {
    const __m256i sign = _mm256_set1_epi32(INT32_MIN), zero = _mm256_setzero_si256();
    const __m256i leave = _mm256_set1_epi32(m->born_leave);
    const __m256i b0 = _mm256_set1_epi32(m->born_band[0]), b1 = _mm256_set1_epi32(m->born_band[1]),
                  b2 = _mm256_set1_epi32(m->born_band[2]);
    const __m256i nst = _mm256_set1_epi32(LM_N_STATES), coff = _mm256_set1_epi32((int)m->churn_off);
    const __m256i dis_m2 = _mm256_set1_epi32(m->dis_after - 2);
    int64_t i = c0;
    for (; i + 8 <= c1; i += 8) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(m->birth + i));
        const __m256i cell = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(m->cell + i)));
        const __m256i st = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(m->state + i)));
        const __m256i ph = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(m->phase + i)));
        /* keep: all ones where the person may be fast so far */
        __m256i keep = _mm256_cmpgt_epi32(b, leave);
        __m256i out = _mm256_or_si256(_mm256_cmpeq_epi32(b, b0), _mm256_cmpeq_epi32(b, b1));
        out = _mm256_or_si256(out, _mm256_cmpeq_epi32(b, b2));
        out = _mm256_or_si256(
            out, _mm256_xor_si256(_mm256_cmpeq_epi32(ph, zero), _mm256_cmpeq_epi32(zero, zero)));
        if (m->track) {
            const __m256i tr =
                _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(m->track + i)));
            out = _mm256_or_si256(out, _mm256_xor_si256(_mm256_cmpeq_epi32(tr, zero),
                                                        _mm256_cmpeq_epi32(zero, zero)));
        }
        const __m256i k = _mm256_add_epi32(_mm256_mullo_epi32(cell, nst), st);
        __m256i ks = k;
        if (m->churn) {
            const __m256i ch =
                _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(m->churn + i)));
            ks = _mm256_add_epi32(ks, _mm256_mullo_epi32(ch, coff));
        }
        /* unsigned word > bound, as signed after flipping the sign bits */
        const __m256i thr = _mm256_i32gather_epi32((const int *)m->stay_thr, ks, 4);
        const __m256i w = _mm256_loadu_si256((const __m256i *)(tw + (i - c0)));
        keep = _mm256_and_si256(
            keep, _mm256_cmpgt_epi32(_mm256_xor_si256(w, sign), _mm256_xor_si256(thr, sign)));
        if (m->health_thr) {
            const __m256i hthr = _mm256_i32gather_epi32((const int *)m->health_thr, k, 4);
            const __m256i h = _mm256_loadu_si256((const __m256i *)(hw + (i - c0)));
            keep = _mm256_and_si256(
                keep, _mm256_cmpgt_epi32(_mm256_xor_si256(h, sign), _mm256_xor_si256(hthr, sign)));
            if (m->dis_after > 0) {
                const __m256i lim =
                    _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(m->limiting + i)));
                const __m256i dis =
                    _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(m->disabled + i)));
                const __m256i lm =
                    _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(m->lim_months + i)));
                /* limiting (1) and not disabled (0) and months + 1 >= dis_after */
                __m256i reach = _mm256_cmpgt_epi32(lm, dis_m2); /* months > dis_after - 2 */
                reach = _mm256_and_si256(reach, _mm256_cmpgt_epi32(lim, zero));
                reach = _mm256_andnot_si256(_mm256_cmpgt_epi32(dis, zero), reach);
                out = _mm256_or_si256(out, reach);
            }
        }
        keep = _mm256_andnot_si256(out, keep);
        const unsigned bits = m->on ? (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(keep)) : 0u;
        for (int j = 0; j < 8; j++)
            fast[i - c0 + j] = (uint8_t)((bits >> j) & 1u);
    }
    return i - c0;
}
#endif

static void mark_fast(const mark_ctx *m, int64_t c0, int64_t c1, const uint32_t *tw,
                      const uint32_t *hw, uint8_t *fast) {
    int64_t done = 0;
#ifdef LM_HAVE_AVX2_PATH
    int isa = atomic_load_explicit(&fill_isa, memory_order_relaxed);
    if (isa < 0)
        isa = lm__fill_set_isa(-1);
    if (isa >= LM_FILL_AVX2)
        done = mark_fast_avx2(m, c0, c1, tw, hw, fast);
#endif
    mark_fast_scalar(m, c0 + done, c1, tw + done, hw + done, fast + done);
}

/* The updates of the persons who keep their state, cell and programme status
 * (fast[j] = 1; the others are left as they are), for n consecutive slots.
 * Branch-free, over restrict pointers, so that the compiler vectorises them;
 * each is what step_range's full computation does for such a person. */
static void fast_months(int64_t n, const uint8_t *restrict fast, const uint8_t *restrict st,
                        uint16_t *restrict mis, uint16_t *restrict sus, uint16_t *restrict msj) {
    for (int64_t j = 0; j < n; j++) {
        const uint16_t fm = (uint16_t)-fast[j], em = (uint16_t) - (st[j] >= LM_STATE_EMPLOYED_POOR);
        const uint16_t a = mis[j], b = sus[j], m = msj[j];
        /* months in state +1, months in work +1 in work (else 0), months
         * since a job 0 in work (else +1, LM_NEVER_WORKED kept), saturating */
        const uint16_t a1 = (uint16_t)(a + (a < UINT16_MAX));
        const uint16_t b1 = (uint16_t)(em & (b + (b < UINT16_MAX)));
        const uint16_t m1 = (uint16_t)(~em & (m + (m < LM_NEVER_WORKED - 1)));
        mis[j] = (uint16_t)(a ^ (fm & (a ^ a1)));
        sus[j] = (uint16_t)(b ^ (fm & (b ^ b1)));
        msj[j] = (uint16_t)(m ^ (fm & (m ^ m1)));
    }
}

/* A kept job's earnings grow at the monthly rate of its quality (grow[s], 0
 * out of work, whose earnings are 0). */
static void fast_earnings(int64_t n, const uint8_t *restrict fast, const uint8_t *restrict st,
                          const double *restrict grow, float *restrict earnings) {
    const double gp = grow[LM_STATE_EMPLOYED_POOR], gg = grow[LM_STATE_EMPLOYED_GOOD];
    for (int64_t j = 0; j < n; j++) {
        const float e = earnings[j];
        /* Out of work, earnings are 0 and stay 0 whatever the factor. The
         * new value is chosen by a mask on the bits, which leaves the
         * compiler no branch to keep. */
        const double g = st[j] == LM_STATE_EMPLOYED_GOOD ? gg : gp;
        const float e1 = (float)((double)e * g);
        uint32_t b0, b1;
        memcpy(&b0, &e, sizeof b0);
        memcpy(&b1, &e1, sizeof b1);
        const uint32_t m = (uint32_t) - (uint32_t)fast[j];
        b0 ^= m & (b0 ^ b1);
        memcpy(&earnings[j], &b0, sizeof b0);
    }
}

/* A kept condition's months +1 (saturating); without one they stay 0. */
static void fast_condition(int64_t n, const uint8_t *restrict fast, const uint8_t *restrict lim,
                           uint8_t *restrict lim_months) {
    for (int64_t j = 0; j < n; j++) {
        const uint8_t m0 = lim_months[j];
        const uint8_t m1 = (uint8_t)(m0 + (m0 < UINT8_MAX));
        lim_months[j] = (fast[j] & lim[j]) ? m1 : m0;
    }
}

/* The per-person work of one month for slots [lo, hi). tc holds the counts
 * of these slots by aggregate cell as they were last month and is brought up
 * to date (only movers change it); te is zeroed by the caller and summed. */
static void step_range(lm_sim *sim, int64_t lo, int64_t hi, int64_t *tc, int64_t *te, int64_t *tp,
                       int64_t *n_entr, lm__ends *ends) {
    const lm_scenario *sc = sim->cur;
    lm_population *p = sim->pop;
    const uint64_t seed = sc->seed;
    const int month = sim->month;
    const uint32_t mnext = (uint32_t)(month + 1);
    const int64_t n = p->n;
    int64_t ne = 0;
    const lm__prog_ctx pc = {sc, p, mnext, (double)n / (double)sc->represents, ends, 1, lo, hi};
    const int has_prog = sc->n_programmes > 0, has_earn = sc->has_earnings,
              has_health = sc->has_health;
    /* Arrays and settings in locals: a store through one of the uint8_t
     * arrays may alias anything, so whatever the loop reads through sim, sc
     * or p would otherwise be loaded again for every person. */
    const int32_t *const birth = p->birth_month;
    const uint16_t *const gen = p->generation;
    uint8_t *const state = p->state, *const limiting = p->limiting;
    const uint8_t *const prog_phase = p->prog_phase, *const track_prog = p->track_prog;
    uint16_t *const mis = p->months_in_state, *const msj = p->months_since_job,
                    *const sus = p->sustained_months;
    uint8_t *const hours = p->hours;
    float *const earnings = p->earnings;
    uint16_t *const cellv = sim->cell;
    const uint32_t *const stay_thr = sim->stay_thr;
    /* The pay-churn type's bounds are the table's second half. */
    const uint8_t *const churn = sim->has_churn ? p->pay_churn : NULL;
    const size_t churn_off = (size_t)sim->n_cells * LM_N_STATES;
    const size_t *const agg_of_cell = sim->agg_of_cell;
    const size_t agg_per_state = sim->agg_per_state;
    /* grow[s]: monthly earnings factor of a job kept in state s (0 out of
     * work, whose earnings are 0 anyway). */
    double grow[LM_N_STATES];
    for (int k = 0; k < LM_N_STATES; k++)
        grow[k] =
            lm_state_is_employed(k) ? 1.0 + sc->earnings_growth[k == LM_STATE_EMPLOYED_GOOD] : 0.0;
    const double *const health_rate = sim->health_rate;
    /* A limiting condition lasting this long makes a person disabled. */
    const int dis_after = sc->disabled_after_months;
    uint8_t *const disabled = p->disabled, *const lim_months = p->limiting_months;
    /* Draws are generated a chunk at a time in a tight loop (the Philox
     * calls vectorise there), then consumed by the per-person loop. */
    uint32_t tw[4 * STEP_GROUPS], hw[4 * STEP_GROUPS];
    uint32_t *const words[2] = {tw, hw};
    static const uint32_t purposes[2] = {LM_PURPOSE_TRANSITION, LM_PURPOSE_HEALTH};
    chunk_scratch cs;

    /* What marking the stayers reads. */
    const mark_ctx mk = {
        birth,
        cellv,
        state,
        prog_phase,
        has_prog ? track_prog : NULL,
        churn,
        limiting,
        disabled,
        lim_months,
        stay_thr,
        has_health ? sim->health_thr : NULL,
        (uint32_t)churn_off,
        has_health ? dis_after : 0,
        !sim->no_fast,
        month + 1 - LM_AGE_MAX_MONTHS,
        {month + 1 - BAND1_START, month + 1 - BAND2_START, month + 1 - BAND3_START}};

    uint8_t fast[STEP_CHUNK];
    int64_t slow[STEP_CHUNK];

    for (int64_t c0 = lo; c0 < hi; c0 += STEP_CHUNK) {
        const int64_t c1 = c0 + STEP_CHUNK < hi ? c0 + STEP_CHUNK : hi;
        const int64_t a0 = c0 & ~(int64_t)3;
        draw_words(p, seed, mnext, c0, c1, has_health ? 2 : 1, purposes, words, &cs);
        /* Most persons keep their state, cell and programme status: first
         * find them (fast[j]), then update their counters, earnings and
         * months with a condition in tight loops over the chunk, and leave
         * everyone else (slow, in slot order) to the full computation below.
         * A fast person's update is exactly what that computation would do. */
        int64_t n_slow = 0;
        mark_fast(&mk, c0, c1, tw + (c0 - a0), hw + (c0 - a0), fast);
        const int64_t nc = c1 - c0;
        for (int64_t j = 0; j < nc; j++) {
            slow[n_slow] = c0 + j;
            n_slow += !fast[j];
        }
        fast_months(nc, fast, state + c0, mis + c0, sus + c0, msj + c0);
        if (has_earn)
            fast_earnings(nc, fast, state + c0, grow, earnings + c0);
        if (has_health)
            fast_condition(nc, fast, limiting + c0, lim_months + c0);
        /* The stayers' earnings sums (without earnings, all 0). Their
         * counts need nothing: tc carries last month's. */
        if (has_earn)
            for (int64_t j = 0; j < nc; j++) {
                const int64_t i = c0 + j;
                const size_t idx = (size_t)state[i] * agg_per_state + agg_of_cell[cellv[i]];
                te[idx] += fast[j] ? (int64_t)((double)earnings[i] * 100.0 + 0.5) : 0; /* pence */
            }
        for (int64_t r = 0; r < n_slow; r++) {
            const int64_t i = slow[r];
            const int age = month - birth[i];
            /* Out of last month's count; into this month's at the end. */
            tc[(size_t)state[i] * agg_per_state + agg_of_cell[cellv[i]]]--;
            if (age + 1 >= LM_AGE_MAX_MONTHS) {
                int64_t id = i + n * ((int64_t)gen[i] + 1);
                /* A spell under way ends with the person (recorded in the
                 * slot, whose entrant starts without a spell). */
                if (prog_phase[i] != LM_PHASE_NONE)
                    lm__prog_leaves(&pc, i);
                lm_population_draw_person(sc, p, i, id, mnext, 1);
                sim->entrants[lo + ne++] = i;
                cellv[i] = (uint16_t)cell_of_slot(p, i, 0);
                size_t idx = (size_t)state[i] * agg_per_state + agg_of_cell[cellv[i]];
                tc[idx]++;
                te[idx] += pence(p, i);
                continue;
            }
            const int s = state[i];
            const int cell = cellv[i];
            const int lim0 = limiting[i];
            const uint32_t xt = tw[i - a0];
            const int phase = prog_phase[i];
            int ns = s;
            /* Most persons stay: when u is above a bound on the probability of
             * moving (for any duration) the full computation would say "stay",
             * so it is skipped. Persons on a programme always take the full path. */
            if (phase >= LM_PHASE_SEARCH || xt <= stay_thr[(size_t)cell * LM_N_STATES + (size_t)s +
                                                           (churn ? churn[i] * churn_off : 0)]) {
                const double u = lm__u01(xt);
                double cum[LM_N_STATES];
                const double total = person_odds(sim, p, i, s, cell, age, cum);
                const int nd = sim->n_dest[s];
                const double x = u * (1.0 + total);
                for (int j = 0; j < nd; j++) {
                    if (x < cum[j]) {
                        ns = sim->dest[s][j];
                        break;
                    }
                }
            }
            if (ns == LM_DEST_EMPLOYED) {
                double pg = sim->p_good[(size_t)cell * LM_N_STATES + (size_t)s];
                if (phase == LM_PHASE_SEARCH && pg > 0.0 && pg < 1.0) {
                    const int k = p->prog[i] - 1;
                    double odds = pg / (1.0 - pg) * sim->eff_good[k] *
                                  (p->sanction_left[i] > 0 ? sim->eff_sanc_good[k] : 1.0);
                    pg = odds / (1.0 + odds);
                }
                double uq = lm__uniform(seed, slot_id(n, i, gen), mnext, LM_PURPOSE_JOB_QUALITY, 0);
                ns = uq < pg ? LM_STATE_EMPLOYED_GOOD : LM_STATE_EMPLOYED_POOR;
            }
            const int was_emp = lm_state_is_employed(s), is_emp = lm_state_is_employed(ns);
            /* Written as selects rather than branches: whether a person is in
             * work is not predictable from one person to the next. */
            const uint16_t m = msj[i];
            mis[i] = ns == s ? inc16(mis[i]) : 0;
            sus[i] = is_emp && was_emp ? inc16(sus[i]) : 0;
            msj[i] = is_emp ? 0
                     : was_emp
                         ? 1
                         : (m == LM_NEVER_WORKED ? m : (uint16_t)(m + (m < LM_NEVER_WORKED - 1)));
            state[i] = (uint8_t)ns;
            if (has_earn) {
                /* Hours and earnings: a job kept grows at the monthly rate of
                 * its quality (out of work, 0 stays 0); a new job draws them;
                 * a job that changes quality moves earnings by the ratio of
                 * the medians; leaving work clears them. */
                if (ns == s) {
                    earnings[i] = (float)((double)earnings[i] * grow[s]);
                } else if (is_emp && !was_emp) {
                    lm__draw_job(sc, p, i, slot_id(n, i, gen), mnext, ns);
                } else if (is_emp) {
                    const int q = ns == LM_STATE_EMPLOYED_GOOD, q0 = s == LM_STATE_EMPLOYED_GOOD;
                    double e = (double)earnings[i] * grow[ns];
                    if (q != q0)
                        e *= sc->earnings_full_time[q] / sc->earnings_full_time[q0];
                    earnings[i] = (float)e;
                } else if (was_emp) {
                    hours[i] = 0;
                    earnings[i] = 0.0f;
                }
            }
            int dis_changed = 0, lim1 = lim0;
            if (has_health) {
                /* Onset or recovery, by disability, age band and the labour
                 * state of the month (all fixed by the cell and the state). */
                const double uh = lm__u01(hw[i - a0]);
                double rate = health_rate[(size_t)cell * LM_N_STATES + (size_t)s];
                /* A programme may change the odds of onset while on it. */
                if (phase >= LM_PHASE_SEARCH && !lim0 && rate > 0.0 && rate < 1.0) {
                    double odds = rate / (1.0 - rate) * sim->eff_health[p->prog[i] - 1];
                    rate = odds / (1.0 + odds);
                }
                lim1 = (uh < rate) ^ lim0;
                limiting[i] = (uint8_t)lim1;
                /* limiting_months is 0 without a condition: most persons
                 * have none before or after, and skip the store. */
                if (lim0 | lim1) {
                    const uint8_t m0 = lim_months[i];
                    const uint8_t lm = lim1 ? (uint8_t)(m0 + (m0 < UINT8_MAX)) : 0;
                    lim_months[i] = lm;
                    /* Equality Act: a condition that has lasted long enough
                     * is a disability (kept from then on). */
                    if (dis_after > 0 && !disabled[i] && lm >= dis_after) {
                        disabled[i] = 1;
                        dis_changed = 1;
                    }
                }
            }
            if (has_prog && (phase != LM_PHASE_NONE || track_prog[i] != 0))
                lm__prog_after(&pc, i, s, tp);
            /* The cell changes only with the age band, the health condition
             * or disability. */
            int cell1 = cell;
            if (band_starts(age + 1) || lim1 != lim0 || dis_changed)
                cellv[i] = (uint16_t)(cell1 = cell_of_slot(p, i, age_band_fast(age + 1)));
            size_t idx = (size_t)ns * agg_per_state + agg_of_cell[cell1];
            tc[idx]++;
            /* Out of work, earnings are 0: no branch on being in work. */
            te[idx] += (int64_t)((double)earnings[i] * 100.0 + 0.5); /* pence() */
        }
    }
    *n_entr = ne;
}

/* Fixed blocks of this process's slots: [*b0, *b1) of nb in all. */
static int64_t align_blocks(const lm_sim *sim, int64_t *b0, int64_t *b1) {
    *b0 = sim->lo / ALIGN_BLOCK;
    *b1 = (sim->hi + ALIGN_BLOCK - 1) / ALIGN_BLOCK;
    return (sim->pop->n + ALIGN_BLOCK - 1) / ALIGN_BLOCK;
}

/* Expected number of aligned moves at shift `delta` (and its derivative),
 * summed per fixed block and then over all blocks in order. In a distributed
 * run each block belongs to one rank and the others contribute exact zeros,
 * so the exchanged block sums are the same numbers on every rank. */
static double align_expected(lm_sim *sim, double delta, double *slope) {
    const int64_t n = sim->pop->n;
    int64_t b0, b1;
    const int64_t nb = align_blocks(sim, &b0, &b1);
    const double f = exp(delta);
    if (lm__distributed(sim->ex))
        memset(sim->al_sum, 0, (size_t)nb * 2 * sizeof *sim->al_sum);
#pragma omp parallel for schedule(static) num_threads(sim->n_threads)
    for (int64_t b = b0; b < b1; b++) {
        double e = 0.0, d = 0.0;
        const int64_t hi = (b + 1) * ALIGN_BLOCK < n ? (b + 1) * ALIGN_BLOCK : n;
        for (int64_t i = b * ALIGN_BLOCK; i < hi; i++) {
            double a = (double)sim->al_a[i] * f, c = (double)sim->al_b[i];
            double den = c + a;
            e += a / den;
            d += a * c / (den * den);
        }
        sim->al_sum[2 * b] = e;
        sim->al_sum[2 * b + 1] = d;
    }
    sim->ex_failed |= lm__xsum_f64(sim->ex, sim->al_sum, (size_t)nb * 2);
    double e = 0.0, d = 0.0;
    for (int64_t b = 0; b < nb; b++) {
        e += sim->al_sum[2 * b];
        d += sim->al_sum[2 * b + 1];
    }
    *slope = d;
    return e;
}

/* Shift the log-odds of each aligned move (region, origin, destination) so
 * that the expected number of moves this month equals the target scaled to
 * the simulated population: logit scaling, solved by Newton's method. */
static void align_month(lm_sim *sim) {
    const lm_scenario *sc = sim->cur;
    lm_population *p = sim->pop;
    const int64_t n = p->n;
    int64_t b0, b1;
    align_blocks(sim, &b0, &b1);
    const double scale = (double)n / (double)sc->represents;
    for (int q = 0; q < sc->n_align; q++) {
        const lm_alignment *al = &sc->align[q];
        const double target = al->targets[sim->month] * scale;
#pragma omp parallel for schedule(static) num_threads(sim->n_threads)
        for (int64_t b = b0; b < b1; b++) {
            const int64_t hi = (b + 1) * ALIGN_BLOCK < n ? (b + 1) * ALIGN_BLOCK : n;
            for (int64_t i = b * ALIGN_BLOCK; i < hi; i++) {
                int age = sim->month - p->birth_month[i];
                sim->al_a[i] = 0.0f;
                sim->al_b[i] = 1.0f;
                if (age + 1 >= LM_AGE_MAX_MONTHS || p->region[i] != al->region ||
                    p->state[i] != al->origin)
                    continue;
                int cell = sim->cell[i];
                double cum[LM_N_STATES];
                double total = person_odds(sim, p, i, al->origin, cell, age, cum);
                double oj = cum[al->dest] - (al->dest > 0 ? cum[al->dest - 1] : 0.0);
                sim->al_a[i] = (float)oj;
                sim->al_b[i] = (float)(1.0 + total - oj);
            }
        }
        /* Newton on delta; the expected count rises monotonically in delta. */
        const double lim = 30.0;
        double delta = 0.0, slope;
        for (int it = 0; it < 60; it++) {
            double g = align_expected(sim, delta, &slope) - target;
            if (fabs(g) <= 1e-9 * (target + 1.0) || slope <= 0.0)
                break;
            double next = delta - g / slope;
            /* Keep the step bounded; the function is flat far out. */
            if (next > delta + 2.0)
                next = delta + 2.0;
            if (next < delta - 2.0)
                next = delta - 2.0;
            delta = next < -lim ? -lim : next > lim ? lim : next;
        }
        sim->al_shift[q] = delta;
        const double f = exp(delta);
        for (int cell = al->region * N_CELL_PER_REGION; cell < (al->region + 1) * N_CELL_PER_REGION;
             cell++) {
            float *bo =
                &sim->base_odds[((size_t)cell * LM_N_STATES + (size_t)al->origin) * LM_N_STATES +
                                (size_t)al->dest];
            *bo = (float)((double)*bo * f);
        }
        update_stay_bounds(sim, al->region);
    }
}

/* Programme upkeep and referrals for slots [lo, hi) before the transitions;
 * queued candidates are written from cand[lo] on. */
static void before_range(lm_sim *sim, int64_t lo, int64_t hi, int64_t *tp, int64_t *load,
                         int64_t *n_cand, lm__ends *ends) {
    const lm_scenario *sc = sim->cur;
    lm_population *p = sim->pop;
    double refer_p[LM_MAX_PROGRAMMES * 16];
    lm__prog_referral_table(sc, refer_p);
    const lm__prog_ctx pc = {
        sc, p, (uint32_t)(sim->month + 1), (double)p->n / (double)sc->represents, ends, 1, lo, hi};
    /* States from which some open programme refers: everyone else not on a
     * programme is skipped without a call (most people, most months). */
    unsigned refer_states = 0;
    for (int k = 0; k < sc->n_programmes; k++)
        if (sc->programmes[k].open)
            refer_states |= sc->programmes[k].eligible.state;
    int64_t nc = 0;
    for (int64_t i = lo; i < hi; i++) {
        const int phase = p->prog_phase[i];
        if (phase == LM_PHASE_NONE && !((refer_states >> p->state[i]) & 1u))
            continue;
        int age = sim->month - p->birth_month[i];
        if (age + 1 >= LM_AGE_MAX_MONTHS)
            continue; /* leaves this month: no referral */
        if (phase >= LM_PHASE_SEARCH)
            load[(p->prog[i] - 1) * LM_MAX_REGIONS + p->region[i]]++;
        lm__prog_before(&pc, refer_p, i, age_band_fast(age), tp, sim->cand + lo, &nc);
    }
    *n_cand = nc;
}

/* Referrals, queues and the allocation of places for the coming month.
 * Returns LM_OK or LM_ENOMEM. */
static int programmes_before(lm_sim *sim) {
    const size_t nl = (size_t)LM_MAX_PROGRAMMES * LM_MAX_REGIONS;
    memset(sim->thread_load, 0, nl * (size_t)sim->n_threads * sizeof(int64_t));
#pragma omp parallel num_threads(sim->n_threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int k = t; k < sim->n_threads; k += nt) {
            int64_t lo = thread_first(sim, k), hi = thread_first(sim, k + 1);
            before_range(sim, lo, hi, sim->thread_prog + (size_t)k * LM_PROG_CELLS,
                         sim->thread_load + (size_t)k * nl, &sim->thread_n_cand[k], &sim->ends[k]);
        }
    }
    const int64_t n = sim->pop->n, total = compact(sim, sim->cand, sim->thread_n_cand);
    for (int t = 1; t < sim->n_threads; t++)
        for (size_t q = 0; q < nl; q++)
            sim->thread_load[q] += sim->thread_load[(size_t)t * nl + q];
    xsum_i64(sim, sim->thread_load, nl); /* caseloads of all ranks */
    const lm__prog_ctx pc = {sim->cur,
                             sim->pop,
                             (uint32_t)(sim->month + 1),
                             (double)n / (double)sim->cur->represents,
                             sim->ends,
                             sim->n_threads,
                             sim->lo,
                             sim->hi};
    lm__prog_alloc_io io = {sim->ex, sim->lo, sim->hi, sim->hist, sim->per_rank, 0};
    int rc = lm__prog_allocate(&pc, &io, sim->cand + sim->lo, total, sim->thread_load, sim->credit,
                               sim->alloc_counts);
    if (io.failed)
        sim->ex_failed = 1;
    return rc;
}

/* Per-thread counts (and covariate cells) of the month-0 population into
 * thread_counts and thread_earn, for reduce(). */
static void count_month0(lm_sim *sim) {
    memset(sim->thread_counts, 0, sim->n_agg * (size_t)sim->n_threads * sizeof(int64_t));
    memset(sim->thread_earn, 0, sim->n_agg * (size_t)sim->n_threads * sizeof(int64_t));
#pragma omp parallel num_threads(sim->n_threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        /* The split must match n_threads even if OpenMP gives fewer threads. */
        for (int k = t; k < sim->n_threads; k += nt) {
            int64_t lo = thread_first(sim, k), hi = thread_first(sim, k + 1);
            count_range(sim, sim->thread_counts + (size_t)k * sim->n_agg,
                        sim->thread_earn + (size_t)k * sim->n_agg, lo, hi, 0);
            sim->thread_n_entrants[k] = 0;
        }
    }
}

/* Clear the spell ends of the last step (listed, or a whole range whose
 * list overflowed) before this step records its own. */
static void clear_ends(lm_sim *sim) {
    if (!sim->ends)
        return;
    uint8_t *end = sim->pop->spell_end;
    for (int k = 0; k < sim->n_threads; k++) {
        lm__ends *e = &sim->ends[k];
        if (e->n > e->cap) {
            const int64_t lo = thread_first(sim, k), hi = thread_first(sim, k + 1);
            memset(end + lo, 0, (size_t)(hi - lo));
        } else {
            for (int64_t q = 0; q < e->n; q++)
                end[e->slot[q]] = 0;
        }
        e->n = 0;
    }
}

static int cmp_slot(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Each thread's list in ascending slots (the queue's ends come before the
 * allocation's and those of the step), so that the rows of all threads in
 * thread order are in slot order whatever the thread count. */
static void sort_ends(lm_sim *sim) {
    for (int k = 0; sim->ends && k < sim->n_threads; k++) {
        lm__ends *e = &sim->ends[k];
        if (e->n > 1 && e->n <= e->cap)
            qsort(e->slot, (size_t)e->n, sizeof *e->slot, cmp_slot);
    }
}

int64_t lm_sim_ended_spells(const lm_sim *sim, lm_referral *rows) {
    int64_t n = 0;
    const lm_population *p = sim->pop;
    for (int k = 0; sim->ends && k < sim->n_threads; k++) {
        const lm__ends *e = &sim->ends[k];
        if (e->n <= e->cap) {
            for (int64_t q = 0; q < e->n; q++, n++)
                if (rows)
                    lm__prog_spell_row(sim->cur, p, e->slot[q], sim->month, LM_END_NONE, &rows[n]);
            continue;
        }
        /* The list overflowed: the range's non-zero spell_end are this step's. */
        const int64_t lo = thread_first(sim, k), hi = thread_first(sim, k + 1);
        for (int64_t i = lo; i < hi; i++)
            if (p->spell_end[i]) {
                if (rows)
                    lm__prog_spell_row(sim->cur, p, i, sim->month, LM_END_NONE, &rows[n]);
                n++;
            }
    }
    return n;
}

int64_t lm_sim_open_spells(const lm_sim *sim, lm_referral *rows) {
    int64_t n = 0;
    const lm_population *p = sim->pop;
    if (sim->sc->n_programmes == 0)
        return 0;
    for (int64_t i = sim->lo; i < sim->hi; i++)
        if (p->prog_phase[i] != LM_PHASE_NONE) {
            if (rows)
                lm__prog_spell_row(sim->cur, p, i, sim->month, LM_END_RUN_ENDED, &rows[n]);
            n++;
        }
    return n;
}

int lm_sim_create(const lm_scenario *sc, int threads, lm_sim **out, lm_error *err) {
    return lm_sim_create_part(sc, threads, NULL, out, err);
}

/* The error of a failed exchange hook. */
static int exchange_failed(lm_error *err, int month) {
    return LM_FAIL(err, LM_EIO, "month %d: exchanging totals between ranks failed", month);
}

int lm_sim_create_part(const lm_scenario *sc, int threads, const lm_exchange *ex, lm_sim **out,
                       lm_error *err) {
    int rc, agreed = 0;
    *out = NULL;
    if (ex && (ex->n_ranks < 1 || ex->rank < 0 || ex->rank >= ex->n_ranks ||
               (ex->n_ranks > 1 && (!ex->sum_i64 || !ex->sum_f64))))
        return LM_FAIL(err, LM_EARG, "rank %d of %d: invalid exchange", ex->rank, ex->n_ranks);
    lm_sim *sim = lm__calloc(1, sizeof *sim);
    if (!sim) {
        lm__agree(ex, 1, NULL);
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    }
    sim->sc = sc;
    sim->cur = sc;
    sim->ex = ex;
    sim->lo = ex ? lm_part_first(sc->n_persons, ex->rank, ex->n_ranks) : 0;
    sim->hi = ex ? lm_part_first(sc->n_persons, ex->rank + 1, ex->n_ranks) : sc->n_persons;
    sim->n_threads = threads > 0 ? threads : omp_get_max_threads();
    sim->cap = sc->duration_cap_months;
    sim->n_cells = sc->n_regions * N_CELL_PER_REGION;
    sim->n_agg = LM_AGG_CELLS(sc->n_regions);
    size_t per_cell = (size_t)LM_N_STATES * LM_N_STATES;
    sim->static_odds = lm__aligned_alloc((size_t)sim->n_cells * per_cell * sizeof(double));
    sim->base_odds = lm__aligned_alloc((size_t)sim->n_cells * per_cell * sizeof(float));
    sim->dur_odds = lm__aligned_alloc(per_cell * (size_t)(sim->cap + 1) * sizeof(float));
    sim->stay_thr =
        lm__aligned_alloc((size_t)sim->n_cells * LM_N_STATES * 2 * sizeof *sim->stay_thr);
    sim->agg_of_cell = lm__aligned_alloc((size_t)sim->n_cells * sizeof *sim->agg_of_cell);
    sim->p_good = lm__aligned_alloc((size_t)sim->n_cells * LM_N_STATES * sizeof(double));
    sim->health_rate = lm__aligned_alloc((size_t)sim->n_cells * LM_N_STATES * sizeof(double));
    sim->health_thr = lm__aligned_alloc((size_t)sim->n_cells * LM_N_STATES * sizeof(uint32_t));
    sim->counts = lm__calloc(2 * sim->n_agg + LM_PROG_CELLS, sizeof *sim->counts);
    sim->thread_counts = lm__calloc(sim->n_agg * (size_t)sim->n_threads, sizeof(int64_t));
    if (sim->counts) {
        sim->earn = sim->counts + sim->n_agg;
        sim->prog_counts = sim->earn + sim->n_agg;
    }
    sim->thread_earn = lm__calloc(sim->n_agg * (size_t)sim->n_threads, sizeof(int64_t));
    sim->thread_n_entrants = lm__calloc((size_t)sim->n_threads, sizeof(int64_t));
    sim->alloc_counts = lm__calloc(LM_PROG_CELLS, sizeof(int64_t));
    sim->thread_prog = lm__calloc(LM_PROG_CELLS * (size_t)sim->n_threads, sizeof(int64_t));
    sim->thread_load = lm__calloc(
        (size_t)LM_MAX_PROGRAMMES * LM_MAX_REGIONS * (size_t)sim->n_threads, sizeof(int64_t));
    sim->thread_n_cand = lm__calloc((size_t)sim->n_threads, sizeof(int64_t));
    if (!sim->static_odds || !sim->base_odds || !sim->dur_odds || !sim->stay_thr ||
        !sim->agg_of_cell || !sim->p_good || !sim->health_rate || !sim->health_thr ||
        !sim->counts || !sim->thread_counts || !sim->earn || !sim->thread_earn ||
        !sim->thread_n_entrants || !sim->prog_counts || !sim->alloc_counts || !sim->thread_prog ||
        !sim->thread_load || !sim->thread_n_cand) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory allocating the engine's tables");
        goto fail;
    }
    memset(sim->dur_odds, 0, per_cell * (size_t)(sim->cap + 1) * sizeof(float));
    memset(sim->static_odds, 0, (size_t)sim->n_cells * per_cell * sizeof(double));
    memset(sim->base_odds, 0, (size_t)sim->n_cells * per_cell * sizeof(float));
    if ((rc = lm_population_create_range(sc, sc->n_persons, sim->lo, sim->hi, &sim->pop, err)))
        goto fail;
    sim->entrants = lm__aligned_alloc((size_t)sim->pop->n * sizeof *sim->entrants);
    sim->cell = lm__aligned_alloc((size_t)sim->pop->n * sizeof *sim->cell);
    if (sc->n_programmes > 0) {
        /* The candidates live only from the referrals to the allocation,
         * before the step lists its entrants: one buffer serves both (the
         * entrant list is borrowed until the next step, lmsim/sim.h), 8
         * bytes a person less. */
        sim->cand = sim->entrants;
        sim->hist = lm__aligned_alloc(LM_PROG_HIST_BINS * sizeof *sim->hist);
        sim->per_rank = lm__calloc((size_t)(ex ? ex->n_ranks : 1) + 1, sizeof *sim->per_rank);
        sim->ends = lm__aligned_alloc((size_t)sim->n_threads * sizeof *sim->ends);
        sim->ends_slot =
            lm__aligned_alloc((size_t)sim->n_threads * LM_ENDS_CAP * sizeof *sim->ends_slot);
        if (sim->ends && sim->ends_slot)
            for (int k = 0; k < sim->n_threads; k++)
                sim->ends[k] =
                    (lm__ends){sim->ends_slot + (size_t)k * LM_ENDS_CAP, 0, LM_ENDS_CAP, {0}};
    }
    int any_align = sc->n_align > 0;
    for (int v = 0; v < sc->n_variants; v++)
        any_align |= sc->variants[v]->n_align > 0;
    if (any_align) {
        int64_t nb = (sim->pop->n + ALIGN_BLOCK - 1) / ALIGN_BLOCK;
        sim->al_a = lm__aligned_alloc((size_t)sim->pop->n * sizeof *sim->al_a);
        sim->al_b = lm__aligned_alloc((size_t)sim->pop->n * sizeof *sim->al_b);
        sim->al_sum = lm__calloc((size_t)nb * 2, sizeof *sim->al_sum);
    }
    if (!sim->entrants || !sim->cell ||
        (sc->n_programmes > 0 &&
         (!sim->cand || !sim->hist || !sim->per_rank || !sim->ends || !sim->ends_slot)) ||
        (any_align && (!sim->al_a || !sim->al_b || !sim->al_sum))) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory allocating the entrant list");
        goto fail;
    }
    /* Aggregate index of each covariate cell (state 0), from its decoding. */
    sim->agg_per_state = sim->n_agg / LM_N_STATES;
    for (int cell = 0; cell < sim->n_cells; cell++) {
        int c = cell / 2 / 2 / 2 / LM_N_QUALS; /* drop type, health, caring, qual */
        int mi = c % 2, dis = (c /= 2) % 2, b = (c /= 2) % LM_N_AGE_BANDS;
        int f = (c /= LM_N_AGE_BANDS) % 2, r = c / 2;
        sim->agg_of_cell[cell] = lm_agg_index(sc->n_regions, 0, r, f, dis, mi, b);
    }
    build_tables(sim);
    build_effects(sim);
    count_month0(sim);
    /* Ranks agree that all set up before their first exchange of totals. */
    agreed = 1;
    if (lm__agree(ex, 0, NULL)) {
        rc = LM_FAIL(err, LM_EIO, "another rank failed to set up its persons");
        goto fail;
    }
    reduce(sim);
    if (sim->ex_failed) {
        rc = exchange_failed(err, 0);
        goto fail;
    }
    update_market(sim);
    *out = sim;
    return LM_OK;
fail:
    if (!agreed)
        lm__agree(ex, 1, NULL);
    lm_sim_destroy(sim);
    return rc;
}

void lm_sim_destroy(lm_sim *sim) {
    if (!sim)
        return;
    lm_population_destroy(sim->pop);
    lm__free(sim->static_odds);
    lm__free(sim->base_odds);
    lm__free(sim->dur_odds);
    lm__free(sim->stay_thr);
    lm__free(sim->agg_of_cell);
    lm__free(sim->cell);
    lm__free(sim->p_good);
    lm__free(sim->health_rate);
    lm__free(sim->health_thr);
    lm__free(sim->counts);
    lm__free(sim->thread_counts);
    lm__free(sim->thread_earn);
    lm__free(sim->thread_n_entrants);
    lm__free(sim->entrants);
    lm__free(sim->alloc_counts);
    lm__free(sim->thread_prog);
    lm__free(sim->thread_load);
    lm__free(sim->thread_n_cand);
    lm__free(sim->hist);
    lm__free(sim->per_rank);
    lm__free(sim->ends);
    lm__free(sim->ends_slot);
    lm__free(sim->al_a);
    lm__free(sim->al_b);
    lm__free(sim->al_sum);
    lm__free(sim);
}

int lm_sim_step(lm_sim *sim, lm_error *err) {
    if (sim->month >= sim->sc->n_months)
        return LM_FAIL(err, LM_EARG, "all %d months have been simulated", sim->sc->n_months);
    /* A timeline change takes effect in the month it names. */
    const lm_scenario *now = lm_scenario_at(sim->sc, sim->month + 1);
    if (now != sim->cur) {
        sim->cur = now;
        build_tables(sim);
        build_effects(sim);
        update_market(sim);
    }
    /* thread_counts carry over: each thread's counts of its slots change
     * only with the persons who move (step_range). */
    memset(sim->thread_earn, 0, sim->n_agg * (size_t)sim->n_threads * sizeof(int64_t));
    memset(sim->thread_prog, 0, LM_PROG_CELLS * (size_t)sim->n_threads * sizeof(int64_t));
    memset(sim->alloc_counts, 0, LM_PROG_CELLS * sizeof(int64_t));
    clear_ends(sim);
    if (sim->sc->n_programmes > 0 && programmes_before(sim) != LM_OK)
        return LM_FAIL(err, LM_ENOMEM, "month %d: out of memory allocating programme places",
                       sim->month + 1);
    if (sim->cur->n_align > 0)
        align_month(sim);
#pragma omp parallel num_threads(sim->n_threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int k = t; k < sim->n_threads; k += nt) {
            int64_t lo = thread_first(sim, k), hi = thread_first(sim, k + 1);
            step_range(sim, lo, hi, sim->thread_counts + (size_t)k * sim->n_agg,
                       sim->thread_earn + (size_t)k * sim->n_agg,
                       sim->thread_prog + (size_t)k * LM_PROG_CELLS, &sim->thread_n_entrants[k],
                       sim->ends ? &sim->ends[k] : NULL);
        }
    }
    sim->month++;
    sort_ends(sim);
    reduce(sim);
    if (sim->ex_failed)
        return exchange_failed(err, sim->month);
    update_market(sim);
    return LM_OK;
}

void lm__sim_set_fast(lm_sim *sim, int on) {
    sim->no_fast = !on;
}

int lm_sim_month(const lm_sim *sim) {
    return sim->month;
}

const lm_population *lm_sim_population(const lm_sim *sim) {
    return sim->pop;
}

const int64_t *lm_sim_counts(const lm_sim *sim) {
    return sim->counts;
}

const lm_market_region *lm_sim_market(const lm_sim *sim, int r) {
    return &sim->market[r];
}

int64_t lm_sim_leavers(const lm_sim *sim) {
    return sim->n_entrants;
}

double lm_sim_alignment_shift(const lm_sim *sim, int rule) {
    return sim->al_shift[rule];
}

const int64_t *lm_sim_earnings(const lm_sim *sim) {
    return sim->earn;
}

const int64_t *lm_sim_prog_counts(const lm_sim *sim) {
    return sim->prog_counts;
}

const int64_t *lm_sim_entrants(const lm_sim *sim, int64_t *n) {
    *n = sim->n_entrants;
    return sim->entrants + sim->lo;
}

void lm_sim_slots(const lm_sim *sim, int64_t *lo, int64_t *hi) {
    *lo = sim->lo;
    *hi = sim->hi;
}

/* Whether scenario sc (or one of its timeline variants) aligns a move. */
static int any_alignment(const lm_scenario *sc) {
    int any = sc->n_align > 0;
    for (int v = 0; v < sc->n_variants; v++)
        any |= sc->variants[v]->n_align > 0;
    return any;
}

/* lm_sim_reset: the arrays and tables were sized for sim->sc; refuse a
 * scenario that would need other sizes, naming what differs. */
static int reset_shape_check(const lm_sim *sim, const lm_scenario *sc, lm_error *err) {
    const lm_scenario *o = sim->sc;
    const char *what = o->n_persons != sc->n_persons                       ? "persons"
                       : o->n_regions != sc->n_regions                     ? "regions"
                       : o->n_programmes != sc->n_programmes               ? "programmes"
                       : o->n_align != sc->n_align                         ? "alignment rules"
                       : o->duration_cap_months != sc->duration_cap_months ? "duration cap"
                       : any_alignment(sc) && !sim->al_a ? "alignment in the timeline"
                                                         : NULL;
    if (what)
        return LM_FAIL(err, LM_EARG,
                       "cannot reset the engine for scenario '%s': its number of %s differs "
                       "from that of scenario '%s' the engine was made for (create a new one)",
                       sc->name, what, o->name);
    return LM_OK;
}

int lm_sim_reset(lm_sim *sim, const lm_scenario *sc, lm_error *err) {
    int rc;
    if ((rc = reset_shape_check(sim, sc, err)))
        return rc;
    sim->sc = sc;
    sim->cur = sc;
    sim->month = 0;
    sim->ex_failed = 0;
    sim->n_entrants = 0;
    memset(sim->credit, 0, sizeof sim->credit);
    memset(sim->al_shift, 0, sizeof sim->al_shift);
    memset(sim->market, 0, sizeof sim->market);
    /* As lm_sim_create_part leaves them: destinations beyond n_dest are 0. */
    const size_t per_cell = (size_t)LM_N_STATES * LM_N_STATES;
    memset(sim->dur_odds, 0, per_cell * (size_t)(sim->cap + 1) * sizeof(float));
    memset(sim->static_odds, 0, (size_t)sim->n_cells * per_cell * sizeof(double));
    memset(sim->base_odds, 0, (size_t)sim->n_cells * per_cell * sizeof(float));
    memset(sim->alloc_counts, 0, LM_PROG_CELLS * sizeof(int64_t));
    memset(sim->thread_prog, 0, LM_PROG_CELLS * (size_t)sim->n_threads * sizeof(int64_t));
    for (int k = 0; sim->ends && k < sim->n_threads; k++)
        sim->ends[k].n = 0; /* the redrawn persons have no spell_end */
    /* The month-0 population of sc in place: every slot's first occupant
     * (id = slot), all of its fields redrawn (lm_population_draw_person). */
    lm_population *p = sim->pop;
    const int64_t lo = sim->lo, hi = sim->hi;
#pragma omp parallel for schedule(static) num_threads(sim->n_threads)
    for (int64_t i = lo; i < hi; i++) {
        lm_population_draw_person(sc, p, i, i, 0, 0);
        p->spell_end[i] = 0;
    }
    build_tables(sim);
    build_effects(sim);
    count_month0(sim);
    reduce(sim);
    if (sim->ex_failed)
        return exchange_failed(err, 0);
    update_market(sim);
    return LM_OK;
}

const lm_exchange *lm_sim_exchange(const lm_sim *sim) {
    return sim->ex;
}
