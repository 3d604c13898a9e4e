/* programmes.c - referral, queues, scarce places, support phases, follow-up.
 *
 * One mechanism serves every programme (Work First, IPS, ...): a scenario
 * lists programmes under `programmes`, each with eligibility, referral,
 * capacity, duration, effects and costs (lm_programme). A person is on at
 * most one programme at a time; their spell moves through lm_phase:
 *
 *   NONE --referral--> QUEUED --place--> SEARCH --job--> IN_WORK --> NONE
 *                        |                  |  (duration over, or no
 *                        +--max wait--> NONE    in-work support) --> NONE
 *
 * Each month, before transitions (lm__prog_before, parallel over persons):
 * queued persons who no longer qualify leave the queue and those past the
 * maximum wait drop out; eligible persons not on a programme are referred
 * with the programme's monthly probability (first programme in file order
 * that refers them); everyone queued becomes a candidate for a place. Then, serially,
 * lm__prog_allocate() gives each (programme, region) its places for the month
 * (places x population scale, fractions carried as credit), capped by the
 * caseload, to the candidates with the lowest priority keys drawn from the
 * counter-based stream (LM_PURPOSE_PRIORITY). The keys, not the visiting
 * order, decide who gets a place, so allocation is identical for any thread
 * count. A programme under trial randomises at the point of offer: a person
 * given a place draws an arm (LM_PURPOSE_TRIAL); treatment starts, control
 * leaves the queue without support, and both are followed from that month
 * (their follow-up restarts at the offer). Referrals never offered a place
 * keep arm 0. Randomising at the offer compares people who would all have
 * started, whatever the queue and capacity: the per-offer effect that trials
 * of IPS report. After transitions (lm__prog_after, parallel) support phases advance,
 * sanctions are drawn, and every followed referral updates its outcome flags.
 *
 * Follow-up. The track_* arrays follow a person's newest referral (from
 * the offer under a trial) for evaluation.follow_up_months. A new referral
 * while that follow-up runs moves it to a second slot (track2_*), frozen:
 * from then on both follow-ups see the same months of the same person, so
 * the older one's months in work and flags are its frozen values plus those
 * the newer one gathers, and only its own paid outcome is stored. Each
 * horizon measure (followed_12 and the rest, followed_window) is counted in
 * the month the referral reaches the horizon, so every rate is over the
 * referrals with complete follow-up at its horizon. A third overlapping
 * referral closes the oldest follow-up (followups_cut).
 *
 * Referral history. Every spell ends exactly once, in the month it ends,
 * with a reason (lm_spell_end): its record is kept in the population
 * (spell_ref, spell_wait, spell_end) and its slot listed for the thread that
 * owns it (lm__ends), so that lm_sim_ended_spells() can emit the rows after
 * the step without anything written from the hot loop into a growing array.
 *
 * Effects enter the transition logits as odds ratios (sim.c): job finding in
 * job-search support, job quality on entry, job exit in in-work support, and
 * for a sanctioned person more exits to inactivity and poorer jobs (not more
 * job entries). Fidelity scales each log odds ratio.
 *
 * All counters are integers; costs are prices times counts (lm_programme_table).
 */
#include "lmsim/programmes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lmsim/exchange.h"
#include "lmsim/population.h"
#include "lmsim/rng.h"

static const char *const measure_names[LM_PM_N] = {
#define LM__PM_NAME(NAME, name, stock, text) name,
    LM_PROG_MEASURE_MAP(LM__PM_NAME)
#undef LM__PM_NAME
};
static const int measure_stock[LM_PM_N] = {
#define LM__PM_STOCK(NAME, name, stock, text) stock,
    LM_PROG_MEASURE_MAP(LM__PM_STOCK)
#undef LM__PM_STOCK
};

const char *lm_prog_measure_name(int m) {
    return (m >= 0 && m < LM_PM_N) ? measure_names[m] : "?";
}

int lm_prog_measure_is_stock(int m) {
    return (m >= 0 && m < LM_PM_N) ? measure_stock[m] : 0;
}

const char *lm_spell_end_name(int reason) {
    static const char *const names[LM_N_ENDS] = {"none",          "finished",   "job_entry",
                                                 "in_work_ended", "left_queue", "dropped_out",
                                                 "control",       "reached_65", "run_ended"};
    return (reason >= 0 && reason < LM_N_ENDS) ? names[reason] : "?";
}

/* Trial arm of person i's spell under way: 1 (treatment) once started on
 * the programme under trial, else 0 (not offered yet, or no trial). Kept in
 * the spell (not the follow-up, which may end first). */
static inline int spell_arm(const lm__prog_ctx *c, int64_t i) {
    const lm_population *p = c->pop;
    return p->prog[i] - 1 == c->sc->trial && p->spell_wait[i] != LM_SPELL_NOT_STARTED;
}

uint8_t lm__prog_end_code(const lm__prog_ctx *c, int64_t i, int reason) {
    const lm_population *p = c->pop;
    const int k = p->prog[i] - 1;
    const int arm = reason == LM_END_CONTROL                                        ? 2
                    : k == c->sc->trial && p->spell_wait[i] != LM_SPELL_NOT_STARTED ? 1
                                                                                    : 0;
    return LM_SPELL_END_PACK(reason, arm, k);
}

void lm__prog_leaves(const lm__prog_ctx *c, int64_t i) {
    c->pop->spell_end[i] = lm__prog_end_code(c, i, LM_END_REACHED_65);
    lm__ends_push(c->ends, i);
}

/* Person i leaves programme k's spell now: phase none, and the end recorded. */
static inline void end_spell(const lm__prog_ctx *c, int64_t i, int reason, lm__ends *e) {
    lm_population *p = c->pop;
    p->spell_end[i] = lm__prog_end_code(c, i, reason);
    p->prog[i] = 0;
    p->prog_phase[i] = LM_PHASE_NONE;
    lm__ends_push(e, i);
}

void lm__prog_spell_row(const lm_scenario *sc, const lm_population *p, int64_t i, int month,
                        int reason, lm_referral *row) {
    int k, arm;
    int64_t id = lm_population_id(p, i);
    if (reason == LM_END_RUN_ENDED) {
        k = p->prog[i] - 1;
        arm = k == sc->trial && p->spell_wait[i] != LM_SPELL_NOT_STARTED ? 1 : 0;
    } else {
        const uint8_t b = p->spell_end[i];
        reason = LM_SPELL_END_REASON(b);
        arm = LM_SPELL_END_ARM(b);
        k = LM_SPELL_END_PROG(b);
        if (reason == LM_END_REACHED_65)
            id -= p->n; /* the slot holds the entrant who replaced them */
    }
    const int ref = p->spell_ref[i], wait = p->spell_wait[i];
    memset(row, 0, sizeof *row); /* padding too: rows are compared and sent as bytes */
    row->person_id = id;
    row->referral_month = ref;
    row->start_month = wait == LM_SPELL_NOT_STARTED ? -1 : ref + wait;
    row->offer_month = reason == LM_END_CONTROL ? month : row->start_month;
    row->end_month = month;
    row->programme = (uint8_t)(k + 1);
    row->arm = (uint8_t)arm;
    row->reason = (uint8_t)reason;
}

/* The track_* follow-up is about to be replaced. A new referral moves it to
 * the second slot (closing the one there: a third overlapping referral); an
 * offer under a trial restarts it for the same spell, whose earlier
 * follow-up ends, so the second slot takes in what it gathered. */
static void shift_followup(const lm__prog_ctx *c, int64_t i, int new_referral, int64_t *counts) {
    lm_population *p = c->pop;
    if (!p->track_prog[i])
        return;
    const uint8_t carried = LM_TRACK_ENTERED | LM_TRACK_ANY12 | LM_TRACK_SUST6 | LM_TRACK_SUST12;
    const int second = (p->track_flags[i] & LM_TRACK_SECOND) != 0;
    if (!new_referral) {
        if (second) {
            const unsigned w = (unsigned)p->track2_worked[i] + p->track_worked[i];
            p->track2_flags[i] |= (uint8_t)(p->track_flags[i] & carried);
            p->track2_worked[i] = (uint8_t)(w < UINT8_MAX ? w : UINT8_MAX);
        }
        return;
    }
    const uint16_t tag = p->track2_tag[i];
    if (second && (int)c->month - LM_TRACK2_MONTH(tag) <= c->sc->follow_up_months)
        counts[lm_prog_index(LM_TRACK2_PROG(tag), LM_TRACK2_ARM(tag), LM_PM_FOLLOWUPS_CUT)]++;
    p->track2_tag[i] = LM_TRACK2_TAG(p->track_month[i], p->track_arm[i], p->track_prog[i] - 1);
    p->track2_flags[i] = (uint8_t)(p->track_flags[i] & ~LM_TRACK_SECOND);
    p->track2_worked[i] = p->track_worked[i];
}

static inline double logistic(double x) {
    return 1.0 / (1.0 + exp(-x));
}

/* Whether person i may be referred to programme k this month. */
static inline int eligible(const lm_programme *pg, int k, const lm_population *p, int64_t i,
                           int band) {
    return pg->open && ((pg->eligible.state >> p->state[i]) & 1u) &&
           p->months_in_state[i] >= pg->min_months_in_state &&
           !(pg->once && ((p->prog_history[i] >> k) & 1u)) &&
           lm_selector_match(&pg->eligible, p->region[i], p->female[i], band, p->disabled[i],
                             p->minority[i], p->qual[i], p->caring[i], p->state[i]);
}

static inline int still_eligible(const lm_programme *pg, const lm_population *p, int64_t i,
                                 int band) {
    return lm_selector_match(&pg->eligible, p->region[i], p->female[i], band, p->disabled[i],
                             p->minority[i], p->qual[i], p->caring[i], p->state[i]);
}

void lm__prog_referral_table(const lm_scenario *sc, double *refer_p) {
    for (int k = 0; k < sc->n_programmes; k++) {
        const double *b = sc->programmes[k].referral_logit;
        for (int f = 0; f < 2; f++)
            for (int d = 0; d < 2; d++)
                for (int m = 0; m < 2; m++)
                    for (int ca = 0; ca < 2; ca++) {
                        double eta = b[0] + b[1] * f + b[2] * d + b[3] * m + b[4] * ca;
                        refer_p[k * 16 + lm__refer_cell(f, d, m, ca)] = logistic(eta);
                    }
    }
}

void lm__prog_before(const lm__prog_ctx *c, const double *refer_p, int64_t i, int band,
                     int64_t *counts, int64_t *cand, int64_t *n_cand) {
    const lm_scenario *sc = c->sc;
    lm_population *p = c->pop;
    if (p->prog_phase[i] == LM_PHASE_QUEUED) {
        int k = p->prog[i] - 1;
        const lm_programme *pg = &sc->programmes[k];
        const int arm = 0; /* queued: under a trial, not offered yet */
        if (!still_eligible(pg, p, i, band) || !pg->open) {
            end_spell(c, i, LM_END_LEFT_QUEUE, c->ends);
            return;
        }
        if (++p->prog_months[i] > pg->max_wait_months) {
            end_spell(c, i, LM_END_DROPPED_OUT, c->ends);
            counts[lm_prog_index(k, arm, LM_PM_DROPOUTS)]++;
            return;
        }
        cand[(*n_cand)++] = i;
        return;
    }
    if (p->prog_phase[i] != LM_PHASE_NONE)
        return;
    for (int k = 0; k < sc->n_programmes; k++) {
        const lm_programme *pg = &sc->programmes[k];
        if (!eligible(pg, k, p, i, band))
            continue;
        const uint64_t id = (uint64_t)lm_population_id(p, i);
        const double pr = refer_p[k * 16 + lm__refer_cell(p->female[i], p->disabled[i],
                                                          p->minority[i], p->caring[i])];
        double u = lm__uniform(sc->seed, id, c->month, LM_PURPOSE_REFERRAL, (uint32_t)k);
        if (!(u < pr))
            continue;
        p->prog_history[i] |= (uint8_t)(1u << k);
        /* A follow-up under way moves to the second slot. */
        const uint8_t second = p->track_prog[i] ? LM_TRACK_SECOND : 0;
        shift_followup(c, i, 1, counts);
        p->spell_ref[i] = (uint16_t)c->month;
        p->spell_wait[i] = LM_SPELL_NOT_STARTED;
        p->track_prog[i] = (uint8_t)(k + 1);
        p->track_arm[i] = 0; /* under a trial, the arm is drawn at the offer */
        p->track_month[i] = (uint16_t)c->month;
        p->track_worked[i] = 0;
        p->track_flags[i] = second;
        counts[lm_prog_index(k, 0, LM_PM_REFERRALS)]++;
        p->prog[i] = (uint8_t)(k + 1);
        p->prog_phase[i] = LM_PHASE_QUEUED;
        p->prog_months[i] = 0;
        cand[(*n_cand)++] = i;
        return;
    }
}

static inline uint32_t priority_key(const lm__prog_ctx *c, int64_t i, int k) {
    return lm_rng_u32(c->sc->seed, (uint64_t)lm_population_id(c->pop, i), c->month,
                      LM_PURPOSE_PRIORITY, (uint32_t)k);
}

static void start(const lm__prog_ctx *c, int64_t i, int k, int64_t *counts) {
    lm_population *p = c->pop;
    /* Months queued: at most max_wait_months (<= 120). */
    p->spell_wait[i] = (uint8_t)(c->month - p->spell_ref[i]);
    if (k == c->sc->trial) {
        /* Randomised at the offer; follow-up of both arms starts now. */
        const uint64_t id = (uint64_t)lm_population_id(p, i);
        const int a = lm__uniform(c->sc->seed, id, c->month, LM_PURPOSE_TRIAL, 0) < 0.5 ? 1 : 2;
        shift_followup(c, i, 0, counts);
        p->track_prog[i] = (uint8_t)(k + 1);
        p->track_arm[i] = (uint8_t)a;
        p->track_month[i] = (uint16_t)c->month;
        p->track_worked[i] = 0;
        p->track_flags[i] &= LM_TRACK_SECOND; /* the second slot stays */
        counts[lm_prog_index(k, a, LM_PM_RANDOMISED)]++;
        if (a == 2) {
            /* Control: the place is not taken up; the person leaves the queue. */
            p->spell_wait[i] = LM_SPELL_NOT_STARTED;
            end_spell(c, i, LM_END_CONTROL, lm__ends_of(c, i));
            return;
        }
    }
    int arm = p->track_prog[i] == k + 1 ? p->track_arm[i] : 0;
    p->prog_phase[i] = LM_PHASE_SEARCH;
    p->prog_months[i] = 0;
    p->sanction_left[i] = 0;
    if (p->track_prog[i] == k + 1)
        p->track_flags[i] |= LM_TRACK_STARTED;
    counts[lm_prog_index(k, arm, LM_PM_STARTS)]++;
}

/* A candidate at the boundary key: (key, slot), ordered by key then slot. */
typedef struct keyed {
    int64_t key, slot;
} keyed;

static int keyed_cmp(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->slot > y->slot) - (x->slot < y->slot);
}

static void xsum(lm__prog_alloc_io *io, int64_t *buf, size_t n) {
    io->failed |= lm__xsum_i64(io->ex, buf, n);
}

/* Candidates of (k, r) in the boundary bin of every rank (in_bin of them,
 * from the summed histogram), sorted by (key, slot), into a new array. Each
 * rank writes its own stretch of a zeroed array and the exchange sums them
 * (each element comes from one rank, so the sum is the concatenation). A
 * rank out of memory still takes part in the first exchange, which tells
 * every rank, and all return NULL together. */
static keyed *boundary(const lm__prog_ctx *c, lm__prog_alloc_io *io, const int64_t *cand,
                       int64_t n_cand, int k, int r, uint32_t bin, int64_t in_bin) {
    const lm_population *p = c->pop;
    const int n_ranks = io->ex ? io->ex->n_ranks : 1, rank = io->ex ? io->ex->rank : 0;
    int64_t mine = 0, before = 0;
    for (int64_t q = 0; q < n_cand; q++)
        mine += p->prog[cand[q]] == k + 1 && p->region[cand[q]] == r &&
                (priority_key(c, cand[q], k) >> LM_PROG_HIST_SHIFT) == bin;
    keyed *all = lm__calloc((size_t)(in_bin > 0 ? in_bin : 1), sizeof *all);
    int64_t *per_rank = io->per_rank; /* n_ranks + 1 words: counts, then failures */
    memset(per_rank, 0, (size_t)(n_ranks + 1) * sizeof *per_rank);
    per_rank[rank] = mine;
    per_rank[n_ranks] = all == NULL;
    xsum(io, per_rank, (size_t)n_ranks + 1);
    if (per_rank[n_ranks] > 0) {
        lm__free(all);
        return NULL;
    }
    for (int q = 0; q < rank; q++)
        before += per_rank[q];
    keyed *own = all + before;
    for (int64_t q = 0; q < n_cand; q++) {
        int64_t i = cand[q];
        uint32_t key = priority_key(c, i, k);
        if (p->prog[i] == k + 1 && p->region[i] == r && (key >> LM_PROG_HIST_SHIFT) == bin)
            *own++ = (keyed){key, i};
    }
    xsum(io, (int64_t *)(void *)all, (size_t)in_bin * 2);
    qsort(all, (size_t)in_bin, sizeof *all, keyed_cmp);
    return all;
}

int lm__prog_allocate(const lm__prog_ctx *c, lm__prog_alloc_io *io, const int64_t *cand,
                      int64_t n_cand, const int64_t *caseload, double *credit, int64_t *counts) {
    const lm_scenario *sc = c->sc;
    const lm_population *p = c->pop;
    const int R = sc->n_regions;
    /* Queue length of every (programme, region), over all ranks. */
    int64_t queued[LM_MAX_PROGRAMMES * LM_MAX_REGIONS] = {0};
    for (int64_t q = 0; q < n_cand; q++)
        queued[(p->prog[cand[q]] - 1) * LM_MAX_REGIONS + p->region[cand[q]]]++;
    xsum(io, queued, (size_t)LM_MAX_PROGRAMMES * LM_MAX_REGIONS);
    for (int k = 0; k < sc->n_programmes; k++) {
        const lm_programme *pg = &sc->programmes[k];
        for (int r = 0; r < R; r++) {
            /* Places this month: scaled, with the fraction carried over. */
            double *cr = &credit[k * LM_MAX_REGIONS + r];
            *cr += pg->places_per_month[r] * c->scale;
            int64_t avail = (int64_t)floor(*cr);
            *cr -= (double)avail;
            if (pg->caseload_cap[r] > 0.0) {
                int64_t room = (int64_t)floor(pg->caseload_cap[r] * c->scale) -
                               caseload[k * LM_MAX_REGIONS + r];
                if (room < avail)
                    avail = room > 0 ? room : 0;
            }
            const int64_t n_q = queued[k * LM_MAX_REGIONS + r];
            if (n_q == 0 || avail == 0)
                continue;
            if (n_q <= avail) {
                for (int64_t q = 0; q < n_cand; q++)
                    if (p->prog[cand[q]] == k + 1 && p->region[cand[q]] == r)
                        start(c, cand[q], k, counts);
                continue;
            }
            /* More candidates than places: take the `avail` lowest (key,
             * slot). A histogram of the top key bits finds the boundary
             * bin; everyone below it starts, and the boundary bin (a handful
             * of persons for uniform keys) is sorted by exact (key, slot). */
            int64_t *hist = io->hist;
            memset(hist, 0, LM_PROG_HIST_BINS * sizeof *hist);
            for (int64_t q = 0; q < n_cand; q++)
                if (p->prog[cand[q]] == k + 1 && p->region[cand[q]] == r)
                    hist[priority_key(c, cand[q], k) >> LM_PROG_HIST_SHIFT]++;
            xsum(io, hist, LM_PROG_HIST_BINS);
            int64_t below = 0;
            uint32_t bin = 0;
            while (below + hist[bin] < avail)
                below += hist[bin++];
            const int64_t need = avail - below; /* from the boundary bin */
            for (int64_t q = 0; q < n_cand; q++) {
                int64_t i = cand[q];
                if (p->prog[i] == k + 1 && p->region[i] == r &&
                    (priority_key(c, i, k) >> LM_PROG_HIST_SHIFT) < bin)
                    start(c, i, k, counts);
            }
            const int64_t n_all = hist[bin]; /* over all ranks */
            keyed *all = boundary(c, io, cand, n_cand, k, r, bin, n_all);
            if (all == NULL)
                return LM_ENOMEM;
            for (int64_t t = 0; t < need && t < n_all; t++)
                if (all[t].slot >= io->lo && all[t].slot < io->hi)
                    start(c, all[t].slot, k, counts);
            lm__free(all);
        }
    }
    return LM_OK;
}

/* One month of the follow-up of a referral to programme k (arm, ms months
 * since it, `worked` months in work since it including this one) for a
 * person in state s: flags updated, events counted. */
static inline void follow(const lm__prog_ctx *c, int64_t i, int k, int arm, int ms, int worked,
                          int s, int emp, uint8_t *flags, int64_t *counts) {
    const lm_programme *pg = &c->sc->programmes[k];
    const lm_population *p = c->pop;
    uint8_t f = *flags;
    if (emp) {
        if (!(f & LM_TRACK_ENTERED)) {
            f |= LM_TRACK_ENTERED;
            counts[lm_prog_index(k, arm, LM_PM_JOB_ENTRIES)]++;
            if (s == LM_STATE_EMPLOYED_GOOD)
                counts[lm_prog_index(k, arm, LM_PM_GOOD_ENTRIES)]++;
        }
        if (ms <= 12)
            f |= LM_TRACK_ANY12;
        if (p->sustained_months[i] >= 6 && !(f & LM_TRACK_SUST6)) {
            f |= LM_TRACK_SUST6;
            counts[lm_prog_index(k, arm, LM_PM_SUSTAINED_6)]++;
            if (f & LM_TRACK_STARTED)
                counts[lm_prog_index(k, arm, LM_PM_SUSTAINED_6_STARTED)]++;
        }
        if (p->sustained_months[i] >= 12 && !(f & LM_TRACK_SUST12)) {
            f |= LM_TRACK_SUST12;
            counts[lm_prog_index(k, arm, LM_PM_SUSTAINED_12)]++;
        }
        /* Payment by results: only for persons who started. */
        if (worked >= pg->outcome_months_in_work && !(f & LM_TRACK_OUTCOME) &&
            (f & LM_TRACK_STARTED) && ms <= pg->outcome_window_months) {
            f |= LM_TRACK_OUTCOME;
            counts[lm_prog_index(k, arm, LM_PM_OUTCOMES)]++;
        }
    }
    /* Horizons: each counted once, in the month the referral reaches it. */
    if (ms == 12) {
        counts[lm_prog_index(k, arm, LM_PM_FOLLOWED_12)]++;
        if (emp) {
            counts[lm_prog_index(k, arm, LM_PM_EMPLOYED_12)]++;
            counts[lm_prog_index(k, arm, LM_PM_EARNINGS_12_PENCE)] +=
                (int64_t)llround((double)p->earnings[i] * 100.0);
        }
        if (f & LM_TRACK_ANY12)
            counts[lm_prog_index(k, arm, LM_PM_ANY_JOB_12)]++;
        if (worked >= 3)
            counts[lm_prog_index(k, arm, LM_PM_WORKED_13W_12)]++;
        if (f & LM_TRACK_SUST6)
            counts[lm_prog_index(k, arm, LM_PM_SUSTAINED_6_12)]++;
    }
    if (ms == pg->outcome_window_months) {
        counts[lm_prog_index(k, arm, LM_PM_FOLLOWED_WINDOW)]++;
        if (f & LM_TRACK_OUTCOME)
            counts[lm_prog_index(k, arm, LM_PM_OUTCOMES_WINDOW)]++;
    }
    *flags = f;
}

void lm__prog_after(const lm__prog_ctx *c, int64_t i, int old_state, int64_t *counts) {
    const lm_scenario *sc = c->sc;
    lm_population *p = c->pop;
    const int s = p->state[i];
    const int emp = lm_state_is_employed(s), was_emp = lm_state_is_employed(old_state);
    const int phase = p->prog_phase[i];
    if (phase == LM_PHASE_SEARCH || phase == LM_PHASE_IN_WORK) {
        int k = p->prog[i] - 1;
        const lm_programme *pg = &sc->programmes[k];
        const int arm = spell_arm(c, i);
        if (phase == LM_PHASE_SEARCH) {
            if (emp && !was_emp) {
                if (pg->in_work_support_months > 0) {
                    p->prog_phase[i] = LM_PHASE_IN_WORK;
                    p->prog_months[i] = 0;
                } else {
                    end_spell(c, i, LM_END_JOB, c->ends);
                }
                p->sanction_left[i] = 0;
            } else if (++p->prog_months[i] >= pg->duration_months) {
                end_spell(c, i, LM_END_FINISHED, c->ends);
                p->sanction_left[i] = 0;
            } else if (p->sanction_left[i] > 0) {
                p->sanction_left[i]--;
            } else if (pg->sanction_rate > 0.0 &&
                       lm__uniform(sc->seed, (uint64_t)lm_population_id(p, i), c->month,
                                   LM_PURPOSE_SANCTION, 0) < pg->sanction_rate) {
                p->sanction_left[i] = (uint8_t)pg->sanction_months;
                counts[lm_prog_index(k, arm, LM_PM_SANCTIONS)]++;
            }
        } else if (!emp || ++p->prog_months[i] >= pg->in_work_support_months ||
                   (pg->in_work_leave_rate > 0.0 &&
                    lm__uniform(sc->seed, (uint64_t)lm_population_id(p, i), c->month,
                                LM_PURPOSE_SUPPORT_END, 0) < pg->in_work_leave_rate)) {
            /* Support ends with the job, at its longest term, or earlier
             * when the person no longer needs it. */
            end_spell(c, i, LM_END_IN_WORK_ENDED, c->ends);
        }
    }
    if (p->track_prog[i]) {
        uint8_t f = p->track_flags[i];
        const int worked = p->track_worked[i] + (emp && p->track_worked[i] < UINT8_MAX);
        if (f & LM_TRACK_SECOND) {
            /* The older follow-up: its frozen state plus what the newer one
             * gathered before this month (the same months of the same
             * person); only its paid outcome is its own. */
            const uint16_t tag = p->track2_tag[i];
            const int ms2 = (int)c->month - LM_TRACK2_MONTH(tag);
            const uint8_t own = p->track2_flags[i];
            uint8_t f2 = (uint8_t)(own | (f & (LM_TRACK_ENTERED | LM_TRACK_ANY12 | LM_TRACK_SUST6 |
                                               LM_TRACK_SUST12)));
            const int w2 = p->track2_worked[i] + worked;
            /* Kept one month past its last (so that observers of the
             * month, lmsim/moments.h, still see it), then cleared. */
            if (ms2 > sc->follow_up_months) {
                f &= (uint8_t)~LM_TRACK_SECOND;
            } else {
                follow(c, i, LM_TRACK2_PROG(tag), LM_TRACK2_ARM(tag), ms2,
                       w2 < UINT8_MAX ? w2 : UINT8_MAX, s, emp, &f2, counts);
                p->track2_flags[i] = (uint8_t)(own | (f2 & LM_TRACK_OUTCOME));
            }
        }
        const int ms = (int)c->month - (int)p->track_month[i];
        follow(c, i, p->track_prog[i] - 1, p->track_arm[i], ms, worked, s, emp, &f, counts);
        p->track_flags[i] = f;
        if (emp)
            p->track_worked[i] = (uint8_t)worked;
        if (ms >= sc->follow_up_months)
            p->track_prog[i] = 0;
    }
    if (p->prog_phase[i] == LM_PHASE_QUEUED)
        counts[lm_prog_index(p->prog[i] - 1, 0, LM_PM_QUEUED)]++;
    else if (p->prog_phase[i] != LM_PHASE_NONE) {
        /* A month of support is a month that ends on the programme. */
        const int arm = spell_arm(c, i);
        counts[lm_prog_index(p->prog[i] - 1, arm, LM_PM_CASELOAD)]++;
        counts[lm_prog_index(p->prog[i] - 1, arm, LM_PM_SUPPORT_MONTHS)]++;
    }
}

static double ratio(int64_t a, int64_t b) {
    return b > 0 ? (double)a / (double)b : 0.0;
}

void lm_programme_table_compute(const lm_scenario *sc, const int64_t *monthly,
                                lm_programme_table *out) {
    memset(out, 0, sizeof *out);
    out->persons = sc->n_persons;
    out->represents = sc->represents;
    out->scale = (double)sc->represents / (double)sc->n_persons;
    const double scale = out->scale;
    for (int k = 0; k < sc->n_programmes; k++) {
        const lm_programme *pg = &sc->programmes[k];
        int arms[LM_N_ARMS] = {0, 1, 2}, n_arms = k == sc->trial ? LM_N_ARMS : 1;
        for (int a = 0; a < n_arms; a++) {
            lm_programme_row *row = &out->rows[out->n_rows++];
            snprintf(row->programme, sizeof row->programme, "%s", pg->name);
            row->arm = arms[a];
            row->outcome_window_months = pg->outcome_window_months;
            for (int m = 0; m < LM_PM_N; m++) {
                if (lm_prog_measure_is_stock(m)) {
                    row->counts[m] = monthly[(size_t)sc->n_months * LM_PROG_CELLS +
                                             lm_prog_index(k, arms[a], m)];
                } else {
                    for (int t = 1; t <= sc->n_months; t++)
                        row->counts[m] +=
                            monthly[(size_t)t * LM_PROG_CELLS + lm_prog_index(k, arms[a], m)];
                }
                row->represented[m] = (double)row->counts[m] * scale;
            }
            const int64_t *n = row->counts;
            /* Prices in force each month (a timeline may change them). */
            for (int t = 1; t <= sc->n_months; t++) {
                const lm_programme *pt = &lm_scenario_at(sc, t)->programmes[k];
                const int64_t *mc = monthly + (size_t)t * LM_PROG_CELLS;
                row->cost_starts_sim +=
                    pt->cost_per_start * (double)mc[lm_prog_index(k, arms[a], LM_PM_STARTS)];
                row->cost_support_sim +=
                    pt->cost_per_month *
                    (double)mc[lm_prog_index(k, arms[a], LM_PM_SUPPORT_MONTHS)];
                row->cost_outcomes_sim +=
                    pt->outcome_payment * (double)mc[lm_prog_index(k, arms[a], LM_PM_OUTCOMES)];
            }
            row->cost_total_sim =
                row->cost_starts_sim + row->cost_support_sim + row->cost_outcomes_sim;
            row->cost_starts = row->cost_starts_sim * scale;
            row->cost_support = row->cost_support_sim * scale;
            row->cost_outcomes = row->cost_outcomes_sim * scale;
            row->cost_total = row->cost_total_sim * scale;
            /* Per unit: the same for the simulated and the represented population. */
            const int64_t referred = n[arms[a] > 0 ? LM_PM_RANDOMISED : LM_PM_REFERRALS];
            row->cost_per_referral = referred > 0 ? row->cost_total_sim / (double)referred : 0.0;
            row->cost_per_start =
                n[LM_PM_STARTS] > 0 ? row->cost_total_sim / (double)n[LM_PM_STARTS] : 0.0;
            row->cost_per_sustained_6 =
                n[LM_PM_SUSTAINED_6_STARTED] > 0
                    ? row->cost_total_sim / (double)n[LM_PM_SUSTAINED_6_STARTED]
                    : 0.0;
            row->good_entry_share = ratio(n[LM_PM_GOOD_ENTRIES], n[LM_PM_JOB_ENTRIES]);
            row->outcome_rate = ratio(n[LM_PM_OUTCOMES_WINDOW], n[LM_PM_FOLLOWED_WINDOW]);
            row->employed_12_rate = ratio(n[LM_PM_EMPLOYED_12], n[LM_PM_FOLLOWED_12]);
            row->any_job_12_rate = ratio(n[LM_PM_ANY_JOB_12], n[LM_PM_FOLLOWED_12]);
            row->worked_13w_12_rate = ratio(n[LM_PM_WORKED_13W_12], n[LM_PM_FOLLOWED_12]);
            row->sustained_6_12_rate = ratio(n[LM_PM_SUSTAINED_6_12], n[LM_PM_FOLLOWED_12]);
            row->mean_earnings_12 = ratio(n[LM_PM_EARNINGS_12_PENCE], n[LM_PM_EMPLOYED_12]) / 100.0;
        }
    }
}

void lm_programme_monthly_costs(const lm_scenario *sc, const int64_t *monthly, double *cost) {
    const int np = sc->n_programmes;
    memset(cost, 0, ((size_t)sc->n_months + 1) * (size_t)(np > 0 ? np : 1) * sizeof *cost);
    for (int t = 1; t <= sc->n_months; t++) {
        const int64_t *mc = monthly + (size_t)t * LM_PROG_CELLS;
        for (int k = 0; k < np; k++) {
            const lm_programme *pt = &lm_scenario_at(sc, t)->programmes[k];
            double c = 0.0;
            for (int a = 0; a < LM_N_ARMS; a++)
                c += pt->cost_per_start * (double)mc[lm_prog_index(k, a, LM_PM_STARTS)] +
                     pt->cost_per_month * (double)mc[lm_prog_index(k, a, LM_PM_SUPPORT_MONTHS)] +
                     pt->outcome_payment * (double)mc[lm_prog_index(k, a, LM_PM_OUTCOMES)];
            cost[(size_t)t * (size_t)np + (size_t)k] = c;
        }
    }
}
