/* moments.c - the validation measures, accumulated while a run streams.
 *
 * Purpose. Each target of a targets file (targets.c) is a ratio of two
 * integer counts over the months and persons it concerns: a share of a
 * group in a window of months, a monthly transition rate, the outcome of a
 * cohort k months on, a programme referral's outcome within its horizon, a
 * mean monthly count. lm_moments observes every month of one run (month 0,
 * then after every step) and adds each month's counts, so nothing but a few
 * registers per person is kept: no panel is needed.
 *
 * Data layout.
 *   items      one per target and side (the group, and the `versus` group of
 *              a comparison): the measure, its state masks, window, lag and
 *              register, and match[item][cell], whether a covariate cell
 *              (region, sex, age band, disabled, minority, qual, caring)
 *              belongs to the side's group. A person's cell is base + band *
 *              CELL_INNER, so the group at an earlier month (a cohort's
 *              start: the age band of age - k) costs one addition.
 *   total      [item][2] numerator and denominator summed over the months;
 *   thread_acc [thread][item][2] one month's counts of each thread's range;
 *   thread_hist [thread][cell][state][duration class] one month's persons:
 *              shares and duration shares are read off it after the pass,
 *              so they cost one increment per person whatever their number
 *              (duration classes: the bounds lo and hi + 1 of the
 *              duration_share items, only in months when one is active).
 *   Per-person registers, allocated only when a target needs them, for the
 *   scenario's n_persons slots (calloc: untouched pages of other ranks' slots
 *   stay unmapped):
 *   prev_state, prev_mis  last month's state + 1 and months in state (0:
 *              not observed last month, e.g. an entrant) - flows, entries;
 *   in_reg[r]  uint64 shift register: bit j = "in state set r at t - j"
 *              (state_after);
 *   entry_reg[r] bit j = "entered work from set r at t - j", i.e. employed
 *              at t - j and in set r at t - j - 1 (out_after_entry,
 *              job_survival);
 *   lp_reg[r]  uint32 of 2-bit codes of the low-pay cohort of month r:
 *              code 0 is "employed_poor at the cohort month", code y the
 *              observation 12 y months later (P, G or O);
 *   pf_*       the follow-up of the person's current programme referral:
 *              programme, trial arm and month its follow-up started (the
 *              engine's track_month: the referral, or under a trial the
 *              offer), outcome flags and months in work since. An earlier
 *              referral that the engine still follows (its second
 *              follow-up slot, track2_*) is read from the engine instead,
 *              so both count as in the engine's programme table (up to
 *              follow_up_months).
 *   A slot that receives an entrant has its registers cleared: a person
 *   who leaves at 65 leaves every cohort, and the entrant joins at entry.
 *   Each register is kept only in the months its items need (from their
 *   first cohort start to the last month they look at; low-pay codes once
 *   a year), so a month without any active item or kept register costs
 *   nothing.
 *
 * Each month: clear the entrants' registers (serially, a short list), then
 * one parallel pass over the slots: update the kept registers, count the
 * person in the histogram, and add 1 to the denominator (and numerator) of
 * each active item of the other families (flows, cohorts, programme
 * follow-up) that the person counts for, after a cheap test of the family
 * (the origin state of a flow, a non-zero register, an active follow-up).
 * Items are active only in the months where they can count (a window, or
 * the end of a cohort's follow-up). Per-thread integer counts are summed in
 * thread order, then over ranks: the result is bit-identical for any number
 * of threads or ranks. programme_count items take the month's programme
 * counts of the engine (already summed over ranks).
 *
 * Invariants: observations come in month order starting at 0; a register
 * only ever holds observations of the slot's current occupant; nothing is
 * allocated after lm_moments_create; no static mutable state.
 */
#define _POSIX_C_SOURCE 200809L
#include "lmsim/moments.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "lmsim/population.h"
#include "lmsim/programmes.h"
#include "targets_internal.h"

#define PREV_NONE 0u /* prev_state (state + 1): not observed last month */
/* Cells: (region, sex, band) outer, (disabled, minority, qual, caring) inner. */
#define CELL_INNER (2 * 2 * LM_N_QUALS * 2)
#define CELLS_PER_REGION (2 * LM_N_AGE_BANDS * CELL_INNER)
/* Codes of the low-pay register. */
#define LP_POOR 1u
#define LP_GOOD 2u
#define LP_OUT 3u
#define LP_BITS 2
/* Follow-up flags of pf_flags: own (from states), and the engine's. */
#define PF_ANY 0x01u
#define PF_SUST_SHORT 0x02u
#define PF_SUST_LONG 0x04u
#define PF_OUTCOME 0x08u
#define PF_STARTED 0x10u

typedef struct item {
    int measure;
    int target;
    uint8_t a, b;       /* state masks: share states/among; from/to; duration states */
    uint16_t dlo, dhi;  /* months-in-state range */
    int m0, m1;         /* window */
    int lag;            /* after / horizon / years */
    int reg;            /* register of the item's state set or cohort month */
    int mode_any;       /* out_after_entry "any" */
    int outcome, event; /* low_pay / programme outcome, programme_count LM_PM_* */
    int prog;           /* programme index */
    uint8_t arms;       /* trial arms counted */
    const uint8_t *match;
} item;

/* Families of items, each handled its own way in the pass. */
enum {
    FAM_HIST = 0, /* share, duration_share: a histogram [cell][state][duration class] */
    FAM_FLOW,     /* flow: last month's state and duration */
    FAM_AFTER,    /* state_after: shift register of a state set */
    FAM_ENTRY,    /* out_after_entry, job_survival: shift register of entries */
    FAM_LOW_PAY,  /* low_pay: annual codes */
    FAM_PROG,     /* programme: the referral follow-up */
    N_FAM
};

static int family_of(int measure) {
    switch (measure) {
    case LM__M_FLOW:
        return FAM_FLOW;
    case LM__M_STATE_AFTER:
        return FAM_AFTER;
    case LM__M_OUT_AFTER_ENTRY:
    case LM__M_JOB_SURVIVAL:
        return FAM_ENTRY;
    case LM__M_LOW_PAY:
        return FAM_LOW_PAY;
    case LM__M_PROGRAMME:
        return FAM_PROG;
    default:
        return FAM_HIST;
    }
}

struct lm_moments {
    const lm_targets *t;
    int variant;
    const lm_scenario *sc;    /* borrowed */
    int64_t n;                /* slots covered by the registers */
    int n_months;             /* months of the scenario */
    int64_t seen_lo, seen_hi; /* slots observed since the last new run */
    int n_threads;
    size_t n_cells;
    double scale; /* represented persons per simulated person */
    int last_month;
    int lack;                                  /* LM__LACK_* bits */
    char lack_reason[2][LM_TARGET_REASON_MAX]; /* [panel, follow-up] */

    int n_items;
    item *items;
    int *side; /* [target][2]: item of the group and of versus, or -1 */
    uint8_t *match;
    int *active;              /* [n_items] items active this month, grouped by family */
    int fam_first[N_FAM + 1]; /* family f is active[fam_first[f] .. fam_first[f + 1]) */
    uint8_t flow_from;        /* union of the origin sets of the active flows */
    int n_bounds;             /* months-in-state class bounds of duration_share items */
    int *bounds;              /* [n_bounds] ascending: class = number of bounds <= d */
    size_t hist_len;          /* n_cells * LM_N_STATES * (n_bounds + 1) */
    int dur_on;               /* a duration_share item is active: classes in the histogram */
    int prev_win[2];          /* months in which prev_state is kept */
    int64_t *hist;            /* [hist_len] share histogram of the month */
    int64_t *thread_hist;     /* [n_threads][hist_len] */
    int64_t *total;           /* [n_items][2] */
    int64_t *month_acc;       /* [n_items][2] */
    int64_t *thread_acc;      /* [n_threads][n_items][2] */
    int max_horizon;          /* longest programme horizon */

    uint8_t *prev_state;
    uint16_t *prev_mis;
    int n_in, n_entry, n_lp;
    uint8_t *in_mask, *entry_mask; /* [n_in], [n_entry] */
    int *lp_month;                 /* [n_lp] */
    /* Months in which each register is kept: from the first cohort start
     * of its items to the last month they look at (zero before, unused
     * after); [register][2], and the follow-up's. */
    int (*in_win)[2], (*entry_win)[2], (*lp_win)[2];
    int pf_win[2];
    int *live_in, *live_entry, *live_lp; /* registers kept this month */
    int n_live_in, n_live_entry, n_live_lp, pf_live;
    uint64_t **in_reg, **entry_reg; /* [n_in][n], [n_entry][n] */
    uint32_t **lp_reg;              /* [n_lp][n] */
    uint16_t *pf_start;
    uint8_t *pf_prog, *pf_arm, *pf_flags, *pf_worked;
};

static inline int band_of(int age) {
    return (age >= 25 * LM_MONTHS_PER_YEAR) + (age >= 35 * LM_MONTHS_PER_YEAR) +
           (age >= 50 * LM_MONTHS_PER_YEAR);
}

static inline size_t cell_base(const lm_population *p, int64_t i) {
    size_t outer = ((size_t)p->region[i] * 2u + p->female[i]) * LM_N_AGE_BANDS;
    size_t inner = ((size_t)p->disabled[i] * 2u + p->minority[i]) * LM_N_QUALS + p->qual[i];
    return outer * CELL_INNER + inner * 2u + p->caring[i];
}

static inline int in_range(int v, int lo, int hi) {
    return v >= lo && v <= hi;
}

/* Index of v in a[0..n), appending it when absent (n updated). */
static int intern_u8(uint8_t *a, int *n, uint8_t v) {
    for (int k = 0; k < *n; k++)
        if (a[k] == v)
            return k;
    a[*n] = v;
    return (*n)++;
}

static int intern_int(int *a, int *n, int v) {
    for (int k = 0; k < *n; k++)
        if (a[k] == v)
            return k;
    a[*n] = v;
    return (*n)++;
}

static int prog_index(const lm_scenario *sc, const char *name) {
    for (int k = 0; k < sc->n_programmes; k++)
        if (strcmp(sc->programmes[k].name, name) == 0)
            return k;
    return -1;
}

/* Fill item `it` for side `versus` of target i. */
static int make_item(lm_moments *m, int i, int versus, item *it, uint8_t *match, lm_error *err) {
    const lm__target *x = &m->t->t[i];
    const lm_scenario *sc = m->sc;
    lm_selector sel;
    int rc = lm__targets_selector(m->t, i, versus, sc, &sel, err);
    if (rc)
        return rc;
    memset(it, 0, sizeof *it);
    it->measure = x->measure;
    it->target = i;
    it->m0 = x->m0;
    it->m1 = x->m1;
    it->lag = x->lag;
    it->mode_any = x->mode_any;
    it->outcome = x->outcome;
    it->event = x->event;
    it->arms = versus ? x->varms : x->arms;
    it->dlo = (uint16_t)(versus ? x->vdur[0] : x->dur[0]);
    it->dhi = (uint16_t)(versus ? x->vdur[1] : x->dur[1]);
    it->prog = x->programme ? prog_index(sc, x->programme) : -1;
    switch (x->measure) {
    case LM__M_SHARE:
        it->a = x->states;
        it->b = x->among;
        break;
    case LM__M_DURATION_SHARE:
        it->a = x->states;
        break;
    case LM__M_FLOW:
        it->a = x->from;
        it->b = x->to;
        break;
    case LM__M_STATE_AFTER:
        it->a = x->from;
        it->b = x->to;
        it->reg = intern_u8(m->in_mask, &m->n_in, x->from);
        break;
    case LM__M_OUT_AFTER_ENTRY:
    case LM__M_JOB_SURVIVAL:
        it->a = x->from;
        it->reg = intern_u8(m->entry_mask, &m->n_entry, x->from);
        break;
    case LM__M_LOW_PAY:
        it->reg = intern_int(m->lp_month, &m->n_lp, x->m0);
        break;
    case LM__M_PROGRAMME:
        if (x->lag > m->max_horizon)
            m->max_horizon = x->lag;
        break;
    default:
        break;
    }
    /* Which cells the group takes: any state (states are the measure's). */
    for (int r = 0; r < sc->n_regions; r++)
        for (int f = 0; f < 2; f++)
            for (int b = 0; b < LM_N_AGE_BANDS; b++)
                for (int d = 0; d < 2; d++)
                    for (int mi = 0; mi < 2; mi++)
                        for (int q = 0; q < LM_N_QUALS; q++)
                            for (int ca = 0; ca < 2; ca++) {
                                size_t cell =
                                    (((size_t)r * 2u + (size_t)f) * LM_N_AGE_BANDS + (size_t)b) *
                                        CELL_INNER +
                                    (((size_t)d * 2u + (size_t)mi) * LM_N_QUALS + (size_t)q) * 2u +
                                    (size_t)ca;
                                match[cell] =
                                    (uint8_t)lm_selector_match(&sel, r, f, b, d, mi, q, ca, 0);
                            }
    it->match = match;
    return LM_OK;
}

void lm_moments_destroy(lm_moments *m) {
    if (!m)
        return;
    for (int r = 0; m->in_reg && r < m->n_in; r++)
        lm__free(m->in_reg[r]);
    for (int r = 0; m->entry_reg && r < m->n_entry; r++)
        lm__free(m->entry_reg[r]);
    for (int r = 0; m->lp_reg && r < m->n_lp; r++)
        lm__free(m->lp_reg[r]);
    lm__free(m->in_reg);
    lm__free(m->entry_reg);
    lm__free(m->lp_reg);
    lm__free(m->in_mask);
    lm__free(m->entry_mask);
    lm__free(m->lp_month);
    lm__free(m->in_win);
    lm__free(m->entry_win);
    lm__free(m->lp_win);
    lm__free(m->live_in);
    lm__free(m->live_entry);
    lm__free(m->live_lp);
    lm__free(m->prev_state);
    lm__free(m->prev_mis);
    lm__free(m->pf_start);
    lm__free(m->pf_prog);
    lm__free(m->pf_arm);
    lm__free(m->pf_flags);
    lm__free(m->pf_worked);
    lm__free(m->items);
    lm__free(m->side);
    lm__free(m->match);
    lm__free(m->active);
    lm__free(m->bounds);
    lm__free(m->hist);
    lm__free(m->thread_hist);
    lm__free(m->total);
    lm__free(m->month_acc);
    lm__free(m->thread_acc);
    lm__free(m);
}

int lm_moments_create(const lm_targets *t, int variant, const lm_scenario *sc, lm_moments **out,
                      lm_error *err) {
    int rc;
    *out = NULL;
    if (!t || !sc)
        return LM_FAIL(err, LM_EARG, "lm_moments_create: targets and scenario required");
    if (variant < 0 || variant >= t->n_variants)
        return LM_FAIL(err, LM_EARG, "lm_moments_create: no run variant %d (the targets have %d)",
                       variant, t->n_variants);
    if (variant > 0 &&
        (sc->trial < 0 || strcmp(sc->programmes[sc->trial].name, t->variant_trial[variant]) != 0))
        return LM_FAIL(err, LM_EARG,
                       "lm_moments_create: run variant %d is the scenario with evaluation.trial = "
                       "\"%s\"",
                       variant, t->variant_trial[variant]);
    if ((rc = lm_targets_check(t, sc, err)))
        return rc;
    lm_moments *m = lm__calloc(1, sizeof *m);
    if (!m)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    m->t = t;
    m->variant = variant;
    m->sc = sc;
    m->n = sc->n_persons;
    m->n_months = sc->n_months;
    m->n_threads = omp_get_max_threads();
    m->n_cells = (size_t)sc->n_regions * CELLS_PER_REGION;
    m->scale = (double)sc->represents / (double)sc->n_persons;
    m->last_month = -1;
    int n_items = 0;
    for (int i = 0; i < t->n; i++)
        if (t->t[i].variant == variant)
            n_items += t->t[i].compare ? 2 : 1;
    const size_t ni = (size_t)(n_items > 0 ? n_items : 1);
    m->items = lm__calloc(ni, sizeof *m->items);
    m->side = lm__calloc((size_t)t->n * 2, sizeof *m->side);
    m->match = lm__calloc(ni * m->n_cells, 1);
    m->active = lm__calloc(ni, sizeof *m->active);
    m->total = lm__calloc(ni * 2, sizeof *m->total);
    m->month_acc = lm__calloc(ni * 2, sizeof *m->month_acc);
    m->thread_acc = lm__calloc(ni * 2 * (size_t)m->n_threads, sizeof *m->thread_acc);
    m->in_mask = lm__calloc(ni, 1);
    m->entry_mask = lm__calloc(ni, 1);
    m->lp_month = lm__calloc(ni, sizeof *m->lp_month);
    if (!m->items || !m->side || !m->match || !m->active || !m->total || !m->month_acc ||
        !m->thread_acc || !m->in_mask || !m->entry_mask || !m->lp_month) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory for the validation moments");
        goto fail;
    }
    int need_prev = 0, need_prog = 0;
    for (int i = 0; i < t->n; i++) {
        m->side[2 * i] = m->side[2 * i + 1] = -1;
        if (t->t[i].variant != variant)
            continue;
        for (int v = 0; v <= (t->t[i].compare ? 1 : 0); v++) {
            item *it = &m->items[m->n_items];
            if ((rc = make_item(m, i, v, it, m->match + (size_t)m->n_items * m->n_cells, err)))
                goto fail;
            m->side[2 * i + v] = m->n_items++;
            need_prev |= it->measure == LM__M_FLOW || it->measure == LM__M_OUT_AFTER_ENTRY ||
                         it->measure == LM__M_JOB_SURVIVAL;
            need_prog |= it->measure == LM__M_PROGRAMME;
        }
    }
    /* The months each register is kept. */
    m->in_win = lm__calloc(ni, sizeof *m->in_win);
    m->entry_win = lm__calloc(ni, sizeof *m->entry_win);
    m->lp_win = lm__calloc(ni, sizeof *m->lp_win);
    m->live_in = lm__calloc(ni, sizeof *m->live_in);
    m->live_entry = lm__calloc(ni, sizeof *m->live_entry);
    m->live_lp = lm__calloc(ni, sizeof *m->live_lp);
    if (!m->in_win || !m->entry_win || !m->lp_win || !m->live_in || !m->live_entry || !m->live_lp)
        goto nomem;
    for (size_t r = 0; r < ni; r++) {
        m->in_win[r][0] = m->entry_win[r][0] = m->lp_win[r][0] = sc->n_months + 1;
        m->in_win[r][1] = m->entry_win[r][1] = m->lp_win[r][1] = -1;
    }
    m->pf_win[0] = sc->n_months + 1;
    m->pf_win[1] = -1;
    for (int j = 0; j < m->n_items; j++) {
        const item *it = &m->items[j];
        const int f = family_of(it->measure);
        int(*w)[2] = f == FAM_AFTER     ? &m->in_win[it->reg]
                     : f == FAM_ENTRY   ? &m->entry_win[it->reg]
                     : f == FAM_LOW_PAY ? &m->lp_win[it->reg]
                     : f == FAM_PROG    ? &m->pf_win
                                        : NULL;
        if (!w)
            continue;
        const int last =
            f == FAM_LOW_PAY ? it->m0 + LM_MONTHS_PER_YEAR * it->lag : it->m1 + it->lag;
        if (it->m0 < (*w)[0])
            (*w)[0] = it->m0;
        if (last > (*w)[1])
            (*w)[1] = last;
    }
    /* Last month's state is kept from the month before the first flow or
     * entry cohort to the last month a flow counts or an entry is made. */
    m->prev_win[0] = sc->n_months + 1;
    m->prev_win[1] = -1;
    for (int j = 0; j < m->n_items; j++) {
        const item *it = &m->items[j];
        const int f = family_of(it->measure);
        if (f != FAM_FLOW && f != FAM_ENTRY)
            continue;
        if (it->m0 - 1 < m->prev_win[0])
            m->prev_win[0] = it->m0 - 1;
        if (it->m1 > m->prev_win[1])
            m->prev_win[1] = it->m1;
    }
    /* Duration classes of the share histogram: the bounds lo and hi + 1 of
     * every duration_share item, ascending and distinct. */
    m->bounds = lm__calloc(ni * 2, sizeof *m->bounds);
    if (!m->bounds)
        goto nomem;
    for (int j = 0; j < m->n_items; j++) {
        const item *it = &m->items[j];
        if (it->measure != LM__M_DURATION_SHARE)
            continue;
        const int v[2] = {it->dlo, it->dhi + 1};
        for (int q = 0; q < 2; q++) {
            int k = 0;
            while (k < m->n_bounds && m->bounds[k] < v[q])
                k++;
            if (k < m->n_bounds && m->bounds[k] == v[q])
                continue;
            memmove(m->bounds + k + 1, m->bounds + k,
                    (size_t)(m->n_bounds - k) * sizeof *m->bounds);
            m->bounds[k] = v[q];
            m->n_bounds++;
        }
    }
    int any_hist = 0;
    for (int j = 0; j < m->n_items; j++)
        any_hist |= family_of(m->items[j].measure) == FAM_HIST &&
                    m->items[j].measure != LM__M_PROGRAMME_COUNT;
    if (any_hist) {
        m->hist_len = m->n_cells * LM_N_STATES * (size_t)(m->n_bounds + 1);
        m->hist = lm__calloc(m->hist_len, sizeof *m->hist);
        m->thread_hist = lm__calloc(m->hist_len * (size_t)m->n_threads, sizeof *m->thread_hist);
        if (!m->hist || !m->thread_hist)
            goto nomem;
    }
    /* Registers, only those needed. */
    const size_t n = (size_t)m->n;
    if (need_prev) {
        m->prev_state = lm__calloc(n, 1);
        m->prev_mis = lm__calloc(n, sizeof *m->prev_mis);
        if (!m->prev_state || !m->prev_mis)
            goto nomem;
    }
    m->in_reg = lm__calloc((size_t)m->n_in + 1, sizeof *m->in_reg);
    m->entry_reg = lm__calloc((size_t)m->n_entry + 1, sizeof *m->entry_reg);
    m->lp_reg = lm__calloc((size_t)m->n_lp + 1, sizeof *m->lp_reg);
    if (!m->in_reg || !m->entry_reg || !m->lp_reg)
        goto nomem;
    for (int r = 0; r < m->n_in; r++)
        if (!(m->in_reg[r] = lm__calloc(n, sizeof **m->in_reg)))
            goto nomem;
    for (int r = 0; r < m->n_entry; r++)
        if (!(m->entry_reg[r] = lm__calloc(n, sizeof **m->entry_reg)))
            goto nomem;
    for (int r = 0; r < m->n_lp; r++)
        if (!(m->lp_reg[r] = lm__calloc(n, sizeof **m->lp_reg)))
            goto nomem;
    if (need_prog) {
        m->pf_start = lm__calloc(n, sizeof *m->pf_start);
        m->pf_prog = lm__calloc(n, 1);
        m->pf_arm = lm__calloc(n, 1);
        m->pf_flags = lm__calloc(n, 1);
        m->pf_worked = lm__calloc(n, 1);
        if (!m->pf_start || !m->pf_prog || !m->pf_arm || !m->pf_flags || !m->pf_worked)
            goto nomem;
    }
    lm_moments_reset(m);
    *out = m;
    return LM_OK;
nomem:
    rc = LM_FAIL(err, LM_ENOMEM, "out of memory for the per-person registers of %lld persons",
                 (long long)m->n);
fail:
    lm_moments_destroy(m);
    return rc;
}

void lm__moments_new_run(lm_moments *m) {
    /* Only the slots observed hold anything (the registers start zeroed,
     * and the pages of slots never observed - another rank's - stay
     * untouched). */
    const size_t lo = (size_t)m->seen_lo,
                 n = m->seen_hi > m->seen_lo ? (size_t)(m->seen_hi - m->seen_lo) : 0;
    m->last_month = -1;
    m->seen_lo = m->n;
    m->seen_hi = 0;
    if (n == 0)
        return;
    if (m->prev_state) {
        memset(m->prev_state + lo, 0, n);
        memset(m->prev_mis + lo, 0, n * sizeof *m->prev_mis);
    }
    for (int r = 0; r < m->n_in; r++)
        memset(m->in_reg[r] + lo, 0, n * sizeof **m->in_reg);
    for (int r = 0; r < m->n_entry; r++)
        memset(m->entry_reg[r] + lo, 0, n * sizeof **m->entry_reg);
    for (int r = 0; r < m->n_lp; r++)
        memset(m->lp_reg[r] + lo, 0, n * sizeof **m->lp_reg);
    if (m->pf_prog)
        memset(m->pf_prog + lo, 0, n);
}

void lm_moments_reset(lm_moments *m) {
    if (!m)
        return;
    lm__moments_new_run(m);
    m->lack = 0;
    memset(m->total, 0, (size_t)(m->n_items > 0 ? m->n_items : 1) * 2 * sizeof *m->total);
}

/* Whether item `it` can count in month t, and so is part of the pass. */
static int item_active(const item *it, int t) {
    switch (it->measure) {
    case LM__M_STATE_AFTER:
    case LM__M_OUT_AFTER_ENTRY:
    case LM__M_JOB_SURVIVAL:
    case LM__M_PROGRAMME:
        return in_range(t - it->lag, it->m0, it->m1);
    case LM__M_LOW_PAY:
        return t == it->m0 + LM_MONTHS_PER_YEAR * it->lag;
    case LM__M_PROGRAMME_COUNT:
        return 0; /* counted from the engine's programme counts */
    default:
        return in_range(t, it->m0, it->m1);
    }
}

/* Whether a low-pay register (complete to `years`) shows `outcome`. */
static int low_pay_is(uint32_t reg, int years, int outcome) {
    int stuck = 1, escaped = 1;
    for (int y = 1; y <= years; y++) {
        uint32_t code = (reg >> (LP_BITS * y)) & 3u;
        stuck &= code == LP_POOR;
        if (y >= years - 2)
            escaped &= code == LP_GOOD;
    }
    const int exited = ((reg >> (LP_BITS * years)) & 3u) == LP_OUT;
    switch (outcome) {
    case LM__LP_STUCK:
        return stuck;
    case LM__LP_EXITED:
        return exited;
    case LM__LP_ESCAPED:
        return escaped;
    default:
        return !stuck && !exited && !escaped;
    }
}

static int prog_outcome(int outcome, uint8_t flags, int worked, int emp) {
    switch (outcome) {
    case LM__PO_ANY_JOB:
        return (flags & PF_ANY) != 0;
    case LM__PO_EMPLOYED:
        return emp;
    case LM__PO_WORKED_13W:
        return worked >= LM__WORKED_13W_MONTHS;
    case LM__PO_SUSTAINED_6:
        return (flags & PF_SUST_SHORT) != 0;
    case LM__PO_SUSTAINED_12:
        return (flags & PF_SUST_LONG) != 0;
    case LM__PO_PAID_OUTCOME:
        return (flags & PF_OUTCOME) != 0;
    default:
        return (flags & PF_STARTED) != 0;
    }
}

/* Duration class of d: the number of bounds <= d. */
static inline int class_of(const int *bounds, int n_bounds, int d) {
    int c = 0;
    while (c < n_bounds && bounds[c] <= d)
        c++;
    return c;
}

/* The pass over slots [lo, hi) of month ob->month: registers, the share
 * histogram th ([cell][state][class], when on) and the counts acc
 * ([n_items][2]) of the other active items. */
static void observe_range(lm_moments *m, const lm__obs *ob, int64_t lo, int64_t hi, int64_t *acc,
                          int64_t *th) {
    const lm_population *p = ob->pop;
    const int t = ob->month;
    const int has_prev = m->prev_state != NULL && in_range(t, m->prev_win[0], m->prev_win[1]);
    const int has_pf = m->pf_prog != NULL && p->track_prog && m->pf_live;
    const int n_in = m->n_live_in, n_entry = m->n_live_entry, n_lp = m->n_live_lp;
    const int *const live_in = m->live_in, *const live_entry = m->live_entry,
                     *const live_lp = m->live_lp;
    const int *const act = m->active, *const ff = m->fam_first;
    const int hist_on = th != NULL, n_bounds = m->dur_on ? m->n_bounds : 0;
    const int n_class = n_bounds + 1;
    const int any_flow = ff[FAM_FLOW + 1] > ff[FAM_FLOW];
    const int any_after = ff[FAM_AFTER + 1] > ff[FAM_AFTER];
    const int any_entry = ff[FAM_ENTRY + 1] > ff[FAM_ENTRY];
    const int any_lp = ff[FAM_LOW_PAY + 1] > ff[FAM_LOW_PAY];
    const int any_prog = ff[FAM_PROG + 1] > ff[FAM_PROG];
    const uint8_t flow_from = m->flow_from;
    for (int64_t i = lo; i < hi; i++) {
        const int s = p->state[i];
        const int emp = lm_state_is_employed(s);
        const int mis = p->months_in_state[i], sus = p->sustained_months[i];
        const int age = t - p->birth_month[i];
        const size_t base = cell_base(p, i);
        /* Last month's state, or -1 (prev_state holds state + 1). */
        const int ps = has_prev ? (int)m->prev_state[i] - 1 : -1;
        const int pm = has_prev ? m->prev_mis[i] : 0;
        /* Registers: bit 0 / code of this month; past bits kept to skip
         * the cohort families of persons without any. */
        uint64_t past_in = 0, past_entry = 0;
        for (int q = 0; q < n_in; q++) {
            const int r = live_in[q];
            const uint64_t v = m->in_reg[r][i];
            past_in |= v;
            m->in_reg[r][i] = (v << 1) | ((m->in_mask[r] >> s) & 1u);
        }
        for (int q = 0; q < n_entry; q++) {
            const int r = live_entry[q];
            const uint64_t v = m->entry_reg[r][i];
            past_entry |= v;
            m->entry_reg[r][i] =
                (v << 1) | (uint64_t)(emp && ps >= 0 && ((m->entry_mask[r] >> ps) & 1u));
        }
        for (int q = 0; q < n_lp; q++) {
            const int r = live_lp[q];
            const int d = t - m->lp_month[r];
            const uint32_t code = s == LM_STATE_EMPLOYED_POOR   ? LP_POOR
                                  : s == LM_STATE_EMPLOYED_GOOD ? LP_GOOD
                                                                : LP_OUT;
            if (d == 0)
                m->lp_reg[r][i] = code == LP_POOR ? LP_POOR : 0u;
            else if (d > 0 && d % LM_MONTHS_PER_YEAR == 0 &&
                     d / LM_MONTHS_PER_YEAR <= LM__MAX_YEARS && (m->lp_reg[r][i] & 3u) == LP_POOR)
                m->lp_reg[r][i] |= code << (LP_BITS * (d / LM_MONTHS_PER_YEAR));
        }
        if (has_pf) {
            if (p->track_prog[i] != 0 && p->track_month[i] == t) {
                /* A referral, or under a trial the offer: follow-up (re)starts. */
                m->pf_prog[i] = p->track_prog[i];
                m->pf_arm[i] = p->track_arm[i];
                m->pf_start[i] = (uint16_t)t;
                m->pf_flags[i] = 0;
                m->pf_worked[i] = 0;
            }
            if (m->pf_prog[i] != 0) {
                if (t - m->pf_start[i] > m->max_horizon) {
                    m->pf_prog[i] = 0;
                } else {
                    uint8_t f = m->pf_flags[i];
                    if (emp) {
                        f |= PF_ANY;
                        if (m->pf_worked[i] < UINT8_MAX)
                            m->pf_worked[i]++;
                        if (sus >= LM__SUSTAINED_SHORT)
                            f |= PF_SUST_SHORT;
                        if (sus >= LM__SUSTAINED_LONG)
                            f |= PF_SUST_LONG;
                    }
                    /* The engine's flags of the same follow-up. */
                    if (p->track_month[i] == m->pf_start[i]) {
                        const uint8_t tf = p->track_flags[i];
                        if (tf & LM_TRACK_OUTCOME)
                            f |= PF_OUTCOME;
                        if (tf & LM_TRACK_STARTED)
                            f |= PF_STARTED;
                    }
                    m->pf_flags[i] = f;
                }
            }
        }
        if (has_prev) {
            m->prev_state[i] = (uint8_t)(s + 1);
            m->prev_mis[i] = (uint16_t)mis;
        }
        /* Shares and durations: one count in the histogram. */
        if (hist_on) {
            const size_t cell = base + (size_t)band_of(age) * CELL_INNER;
            const int c = n_bounds ? class_of(m->bounds, n_bounds, mis) : 0;
            th[(cell * LM_N_STATES + (size_t)s) * (size_t)n_class + (size_t)c]++;
        }
        if (any_flow && ps >= 0 && ((flow_from >> ps) & 1u)) {
            const size_t cell = base + (size_t)band_of(age - 1) * CELL_INNER;
            for (int k = ff[FAM_FLOW]; k < ff[FAM_FLOW + 1]; k++) {
                const item *it = &m->items[act[k]];
                if (((it->a >> ps) & 1u) && in_range(pm, it->dlo, it->dhi) && it->match[cell]) {
                    int64_t *a = acc + 2 * (size_t)act[k];
                    a[0] += (it->b >> s) & 1u;
                    a[1]++;
                }
            }
        }
        if (any_after && past_in) {
            for (int k = ff[FAM_AFTER]; k < ff[FAM_AFTER + 1]; k++) {
                const item *it = &m->items[act[k]];
                if (((m->in_reg[it->reg][i] >> it->lag) & 1u) &&
                    it->match[base + (size_t)band_of(age - it->lag) * CELL_INNER]) {
                    int64_t *a = acc + 2 * (size_t)act[k];
                    a[0] += (it->b >> s) & 1u;
                    a[1]++;
                }
            }
        }
        if (any_entry && past_entry) {
            for (int k = ff[FAM_ENTRY]; k < ff[FAM_ENTRY + 1]; k++) {
                const item *it = &m->items[act[k]];
                if (((m->entry_reg[it->reg][i] >> it->lag) & 1u) &&
                    it->match[base + (size_t)band_of(age - it->lag) * CELL_INNER]) {
                    /* Continuously in work since the entry iff in work now
                     * with as many consecutive months as have passed. */
                    const int stayed = emp && sus >= it->lag;
                    int64_t *a = acc + 2 * (size_t)act[k];
                    a[0] += it->measure == LM__M_JOB_SURVIVAL ? stayed
                            : it->mode_any                    ? !stayed
                                                              : !emp;
                    a[1]++;
                }
            }
        }
        if (any_lp) {
            for (int k = ff[FAM_LOW_PAY]; k < ff[FAM_LOW_PAY + 1]; k++) {
                const item *it = &m->items[act[k]];
                const uint32_t reg = m->lp_reg[it->reg][i];
                if ((reg & 3u) == LP_POOR &&
                    it->match[base +
                              (size_t)band_of(age - LM_MONTHS_PER_YEAR * it->lag) * CELL_INNER]) {
                    int64_t *a = acc + 2 * (size_t)act[k];
                    a[0] += low_pay_is(reg, it->lag, it->outcome);
                    a[1]++;
                }
            }
        }
        if (any_prog && has_pf && m->pf_prog[i] != 0) {
            for (int k = ff[FAM_PROG]; k < ff[FAM_PROG + 1]; k++) {
                const item *it = &m->items[act[k]];
                if (m->pf_prog[i] == it->prog + 1 && t - m->pf_start[i] == it->lag &&
                    ((it->arms >> m->pf_arm[i]) & 1u) &&
                    it->match[base + (size_t)band_of(age - it->lag) * CELL_INNER]) {
                    int64_t *a = acc + 2 * (size_t)act[k];
                    a[0] += prog_outcome(it->outcome, m->pf_flags[i], m->pf_worked[i], emp);
                    a[1]++;
                }
            }
        }
        /* An earlier referral still followed by the engine (its second
         * follow-up slot, lmsim/population.h), which pf has replaced: read
         * from the engine, as it counts it. */
        if (any_prog && has_pf && (p->track_flags[i] & LM_TRACK_SECOND) && p->track_prog[i]) {
            const uint16_t tag = p->track2_tag[i];
            const int k2 = LM_TRACK2_PROG(tag), arm2 = LM_TRACK2_ARM(tag);
            const int lag2 = t - LM_TRACK2_MONTH(tag);
            const uint8_t ef = (uint8_t)(p->track2_flags[i] |
                                         (p->track_flags[i] &
                                          (LM_TRACK_ENTERED | LM_TRACK_SUST6 | LM_TRACK_SUST12)));
            const int w2 = p->track2_worked[i] + p->track_worked[i];
            const uint8_t f2 = (uint8_t)(((ef & LM_TRACK_ENTERED) ? PF_ANY : 0u) |
                                         ((ef & LM_TRACK_SUST6) ? PF_SUST_SHORT : 0u) |
                                         ((ef & LM_TRACK_SUST12) ? PF_SUST_LONG : 0u) |
                                         ((ef & LM_TRACK_OUTCOME) ? PF_OUTCOME : 0u) |
                                         ((ef & LM_TRACK_STARTED) ? PF_STARTED : 0u));
            for (int k = ff[FAM_PROG]; k < ff[FAM_PROG + 1]; k++) {
                const item *it = &m->items[act[k]];
                if (k2 == it->prog && lag2 == it->lag && ((it->arms >> arm2) & 1u) &&
                    it->match[base + (size_t)band_of(age - it->lag) * CELL_INNER]) {
                    int64_t *a = acc + 2 * (size_t)act[k];
                    a[0] += prog_outcome(it->outcome, f2, w2 < UINT8_MAX ? w2 : UINT8_MAX, emp);
                    a[1]++;
                }
            }
        }
    }
}

/* Counts of the active share and duration_share items from the month's
 * summed histogram, into acc ([n_items][2]). */
static void count_hist(const lm_moments *m, int64_t *acc) {
    const int n_class = m->dur_on ? m->n_bounds + 1 : 1;
    for (int k = m->fam_first[FAM_HIST]; k < m->fam_first[FAM_HIST + 1]; k++) {
        const item *it = &m->items[m->active[k]];
        const int dur = it->measure == LM__M_DURATION_SHARE;
        /* Classes inside [dlo, dhi]: dlo and dhi + 1 are bounds. */
        const int c0 = dur ? class_of(m->bounds, m->n_bounds, it->dlo) : 0;
        const int c1 = dur ? class_of(m->bounds, m->n_bounds, it->dhi) : n_class - 1;
        const uint8_t den_set = dur ? it->a : it->b;
        int64_t num = 0, den = 0;
        for (size_t cell = 0; cell < m->n_cells; cell++) {
            if (!it->match[cell])
                continue;
            for (int s = 0; s < LM_N_STATES; s++) {
                if (!((den_set >> s) & 1u))
                    continue;
                const int64_t *h = m->hist + (cell * LM_N_STATES + (size_t)s) * (size_t)n_class;
                const int in_states = dur || ((it->a >> s) & 1u);
                for (int c = 0; c < n_class; c++) {
                    den += h[c];
                    num += in_states && c >= c0 && c <= c1 ? h[c] : 0;
                }
            }
        }
        acc[2 * (size_t)m->active[k]] += num;
        acc[2 * (size_t)m->active[k] + 1] += den;
    }
}

/* Clear the registers of slot i (a new person). */
static void clear_slot(lm_moments *m, int64_t i) {
    if (m->prev_state)
        m->prev_state[i] = PREV_NONE;
    for (int r = 0; r < m->n_in; r++)
        m->in_reg[r][i] = 0;
    for (int r = 0; r < m->n_entry; r++)
        m->entry_reg[r][i] = 0;
    for (int r = 0; r < m->n_lp; r++)
        m->lp_reg[r][i] = 0;
    if (m->pf_prog)
        m->pf_prog[i] = 0;
}

int lm__moments_observe(lm_moments *m, const lm__obs *ob, lm_error *err) {
    const int t = ob->month;
    if (t != m->last_month + 1)
        return LM_FAIL(err, LM_EARG, "validation moments: month %d observed after month %d", t,
                       m->last_month);
    if (t > m->n_months || ob->pop->n > m->n || ob->lo < 0 || ob->hi > ob->pop->n ||
        ob->lo > ob->hi)
        return LM_FAIL(err, LM_EARG,
                       "validation moments: month %d or %lld persons do not fit the scenario "
                       "(%d months, %lld persons)",
                       t, (long long)ob->pop->n, m->n_months, (long long)m->n);
    if (ob->lo < m->seen_lo)
        m->seen_lo = ob->lo;
    if (ob->hi > m->seen_hi)
        m->seen_hi = ob->hi;
    for (int64_t k = 0; k < ob->n_entrants; k++)
        clear_slot(m, ob->entrants[k]);
    /* Active items, grouped by family. */
    int na = 0;
    m->flow_from = 0;
    for (int f = 0; f < N_FAM; f++) {
        m->fam_first[f] = na;
        for (int j = 0; j < m->n_items; j++)
            if (family_of(m->items[j].measure) == f && item_active(&m->items[j], t)) {
                m->active[na++] = j;
                if (f == FAM_FLOW)
                    m->flow_from |= m->items[j].a;
            }
    }
    m->fam_first[N_FAM] = na;
    /* Registers kept this month. */
    m->n_live_in = m->n_live_entry = m->n_live_lp = 0;
    for (int r = 0; r < m->n_in; r++)
        if (in_range(t, m->in_win[r][0], m->in_win[r][1]))
            m->live_in[m->n_live_in++] = r;
    for (int r = 0; r < m->n_entry; r++)
        if (in_range(t, m->entry_win[r][0], m->entry_win[r][1]))
            m->live_entry[m->n_live_entry++] = r;
    for (int r = 0; r < m->n_lp; r++) /* observed once a year */
        if (in_range(t, m->lp_win[r][0], m->lp_win[r][1]) &&
            (t - m->lp_month[r]) % LM_MONTHS_PER_YEAR == 0)
            m->live_lp[m->n_live_lp++] = r;
    m->pf_live = in_range(t, m->pf_win[0], m->pf_win[1]);
    m->dur_on = 0;
    for (int k = m->fam_first[FAM_HIST]; k < m->fam_first[FAM_HIST + 1]; k++)
        m->dur_on |= m->items[m->active[k]].measure == LM__M_DURATION_SHARE;
    const int hist_on = m->fam_first[FAM_HIST + 1] > m->fam_first[FAM_HIST];
    const size_t w = 2 * (size_t)m->n_items, hl = hist_on ? m->hist_len : 0;
    const int nt = m->n_threads;
    const int64_t lo = ob->lo, span = ob->hi - ob->lo;
    /* Registers change every month, so the pass runs even without an
     * active item (unless there is nothing per person at all). */
    const int per_person =
        na > 0 || (m->prev_state && in_range(t, m->prev_win[0], m->prev_win[1])) || m->n_live_in ||
        m->n_live_entry || m->n_live_lp || (m->pf_prog && ob->pop->track_prog && m->pf_live);
    memset(m->thread_acc, 0, w * (size_t)nt * sizeof *m->thread_acc);
    if (hl)
        memset(m->thread_hist, 0, hl * (size_t)nt * sizeof *m->thread_hist);
    if (per_person) {
#pragma omp parallel num_threads(nt)
        {
            const int th = omp_get_thread_num(), nth = omp_get_num_threads();
            /* The split follows n_threads even when OpenMP gives fewer. */
            for (int k = th; k < nt; k += nth)
                observe_range(m, ob, lo + span * k / nt, lo + span * (k + 1) / nt,
                              m->thread_acc + w * (size_t)k,
                              hl ? m->thread_hist + hl * (size_t)k : NULL);
        }
    }
    /* Per-thread integer counts in thread order (exact in any order). */
    memset(m->month_acc, 0, w * sizeof *m->month_acc);
    for (int k = 0; k < nt; k++)
        for (size_t q = 0; q < w; q++)
            m->month_acc[q] += m->thread_acc[w * (size_t)k + q];
    if (hl) {
        memcpy(m->hist, m->thread_hist, hl * sizeof *m->hist);
        for (int k = 1; k < nt; k++)
            for (size_t q = 0; q < hl; q++)
                m->hist[q] += m->thread_hist[hl * (size_t)k + q];
        count_hist(m, m->month_acc);
    }
    if (lm__xsum_i64(ob->ex, m->month_acc, w))
        return LM_FAIL(err, LM_EIO, "month %d: summing validation counts over ranks failed", t);
    for (size_t q = 0; q < w; q++)
        m->total[q] += m->month_acc[q];
    /* programme_count: the engine's counts (over all ranks already). */
    for (int j = 0; j < m->n_items; j++) {
        const item *it = &m->items[j];
        if (it->measure != LM__M_PROGRAMME_COUNT || !in_range(t, it->m0, it->m1) ||
            !ob->prog_counts)
            continue;
        for (int arm = 0; arm < LM_N_ARMS; arm++)
            m->total[2 * (size_t)j] += ob->prog_counts[lm_prog_index(it->prog, arm, it->event)];
        m->total[2 * (size_t)j + 1]++;
    }
    m->last_month = t;
    return LM_OK;
}

int lm_moments_observe(lm_moments *m, const lm_sim *sim, lm_error *err) {
    lm__obs ob;
    ob.pop = lm_sim_population(sim);
    ob.month = lm_sim_month(sim);
    lm_sim_slots(sim, &ob.lo, &ob.hi);
    ob.entrants = ob.month > 0 ? lm_sim_entrants(sim, &ob.n_entrants) : NULL;
    if (ob.month == 0)
        ob.n_entrants = 0;
    ob.prog_counts = lm_sim_prog_counts(sim);
    ob.ex = lm_sim_exchange(sim);
    return lm__moments_observe(m, &ob, err);
}

void lm__moments_lack(lm_moments *m, int what, const char *reason) {
    m->lack |= what;
    snprintf(m->lack_reason[what == LM__LACK_PANEL ? 0 : 1], LM_TARGET_REASON_MAX, "%s", reason);
}

const lm_targets *lm__moments_targets(const lm_moments *m) {
    return m->t;
}

int lm__moments_variant(const lm_moments *m) {
    return m->variant;
}

const lm_scenario *lm__moments_scenario(const lm_moments *m) {
    return m->sc;
}

/* Value and s.e. of one side; 0 when its denominator is 0. */
static int side_value(const lm_moments *m, int j, double *v, double *se) {
    const item *it = &m->items[j];
    const double num = (double)m->total[2 * (size_t)j], den = (double)m->total[2 * (size_t)j + 1];
    if (!(den > 0.0))
        return 0;
    if (it->measure == LM__M_PROGRAMME_COUNT) {
        /* Mean monthly count, represented; the count as Poisson. */
        *v = num / den * m->scale;
        *se = sqrt(num) / den * m->scale;
    } else {
        const double p = num / den;
        *v = p;
        *se = sqrt(p * (1.0 - p) / den);
    }
    return 1;
}

int lm_moments_results(const lm_moments *m, double widen, lm_target_result *res, lm_error *err) {
    if (!(widen >= 0.0) || !isfinite(widen))
        return LM_FAIL(err, LM_EARG, "widen must be a number >= 0, got %g", widen);
    const lm_targets *t = m->t;
    for (int i = 0; i < t->n; i++) {
        const lm__target *x = &t->t[i];
        const int ja = m->side[2 * i], jb = m->side[2 * i + 1];
        if (ja < 0)
            continue;
        lm_target_result *r = &res[i];
        memset(r, 0, sizeof *r);
        r->simulated = r->se = (double)NAN;
        r->numerator = (double)m->total[2 * (size_t)ja];
        r->denominator = (double)m->total[2 * (size_t)ja + 1];
        const int needs_panel = x->measure != LM__M_PROGRAMME_COUNT;
        const int last = lm__target_last_month(x);
        double va, sa, vb = 0.0, sb = 0.0;
        if (needs_panel && (m->lack & LM__LACK_PANEL))
            snprintf(r->reason, sizeof r->reason, "%s", m->lack_reason[0]);
        else if (x->measure == LM__M_PROGRAMME && (m->lack & LM__LACK_FOLLOW_UP))
            snprintf(r->reason, sizeof r->reason, "%s", m->lack_reason[1]);
        else if (m->last_month < last)
            snprintf(r->reason, sizeof r->reason, "month %d not observed (the run ended at %d)",
                     last, m->last_month);
        else if (!side_value(m, ja, &va, &sa))
            snprintf(r->reason, sizeof r->reason, "no persons in the denominator");
        else if (jb >= 0 && !side_value(m, jb, &vb, &sb))
            snprintf(r->reason, sizeof r->reason, "no persons in the denominator of versus");
        else if (x->compare == LM__CMP_RATIO && !(vb > 0.0))
            snprintf(r->reason, sizeof r->reason, "the versus value is 0: no ratio");
        else {
            r->available = 1;
            if (x->compare == LM__CMP_RATIO) {
                /* Delta method, independent sides. */
                r->simulated = va / vb;
                r->se = sqrt(sa * sa / (vb * vb) + va * va * sb * sb / (vb * vb * vb * vb));
            } else if (x->compare == LM__CMP_DIFFERENCE) {
                r->simulated = va - vb;
                r->se = sqrt(sa * sa + sb * sb);
            } else {
                r->simulated = va;
                r->se = sa;
            }
            r->pass = fabs(r->simulated - x->value) <= x->tolerance + widen * r->se;
        }
    }
    return LM_OK;
}
