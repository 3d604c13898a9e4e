/* targets.c - targets files: load, validate strictly, check against a scenario.
 *
 * Purpose. A targets file lists published values with their tolerance and
 * evidence, each attached to a measure of the simulated population (the
 * catalogue of docs/scenario-reference.md "Targets files"). This file reads
 * it with the strict helpers of cfgutil.c, so an error reads exactly like a
 * scenario error: `targets.cfg:42: targets[3].tolerance = 0: must be > 0`.
 * What needs the scenario (months of the run, programme names, follow-up,
 * region names) is checked by lm_targets_check(), so one targets file can be
 * used with runs of other lengths and gives a clear error for each.
 *
 * Data layout. struct lm_targets (targets_internal.h) keeps the parsed
 * libconfig tree and one lm__target per target, with narrow fields for what
 * the accumulators need (state masks, windows, lags, arms) and pointers into
 * the tree for its strings and for the settings named in later errors. Run
 * variants: variant 0 is the scenario as it is; each distinct programme of a
 * `trial = true` target is one more variant, in order of first appearance.
 *
 * Invariants. After load nothing changes (every function takes const
 * lm_targets *); ids are unique, [a-z0-9_], at most 47 characters; every
 * window has m0 <= m1; a proportion target without `compare` has a value in
 * [0, 1]; tolerance > 0.
 */
#define _POSIX_C_SOURCE 200809L
#include "lmsim/targets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgutil.h"
#include "internal.h"
#include "lmsim/programmes.h"
#include "targets_internal.h"

#define ID_MAX 47          /* longest id */
#define MONTH_MAX 1200     /* months of the longest scenario (simulation.months) */
#define DURATION_MAX 65535 /* months_in_state saturates here */
#define COUNT_MAX 1e15     /* largest programme_count value */
#define RATIO_MAX 1e9      /* largest value of a ratio target */

static const char *const measure_names[LM__M_N + 1] = {
    "share",        "flow",    "duration_share", "state_after",     "out_after_entry",
    "job_survival", "low_pay", "programme",      "programme_count", NULL};
static const char *const low_pay_names[] = {"escaped", "stuck", "cycled", "exited", NULL};
static const char *const prog_outcome_names[] = {
    "any_job",      "employed",     "worked_13w", "sustained_6",
    "sustained_12", "paid_outcome", "started",    NULL};
static const char *const event_names[] = {"referrals", "starts", "job_entries", "outcomes", NULL};
static const int event_measure[] = {LM_PM_REFERRALS, LM_PM_STARTS, LM_PM_JOB_ENTRIES,
                                    LM_PM_OUTCOMES};
static const char *const arm_names[] = {"all", "none", "treatment", "control", "not_offered", NULL};
static const uint8_t arm_masks[] = {0x7, 0x1, 0x2, 0x4, 0x1};
static const char *const compare_names[] = {"ratio", "difference", NULL};
static const char *const use_names[] = {"tuned", "validation", NULL};
static const char *const mode_names[] = {"point", "any", NULL};

/* State sets: shorthands, then the state names (bit s = state s). */
#define SET_EMPLOYED ((uint8_t)((1u << LM_STATE_EMPLOYED_POOR) | (1u << LM_STATE_EMPLOYED_GOOD)))
#define SET_ALL ((uint8_t)((1u << LM_N_STATES) - 1u))
#define SET_INACTIVE                                                                               \
    ((uint8_t)((1u << LM_STATE_INACTIVE_SICK) | (1u << LM_STATE_INACTIVE_CARING) |                 \
               (1u << LM_STATE_INACTIVE_STUDENT) | (1u << LM_STATE_INACTIVE_OTHER)))
#define SET_OUT_OF_WORK ((uint8_t)(SET_ALL & ~SET_EMPLOYED))
static const char *const set_short[] = {"employed", "inactive", "out_of_work", "all"};
static const uint8_t set_short_mask[] = {SET_EMPLOYED, SET_INACTIVE, SET_OUT_OF_WORK, SET_ALL};
#define N_SHORT 4

/* Keys every target may have; then those of each measure. */
#define COMMON_KEYS "id", "measure", "value", "tolerance", "evidence", "use", "note"
#define GROUP_KEYS "group", "versus", "compare"
static const char *const keys_of[LM__M_N][20] = {
    [LM__M_SHARE] = {COMMON_KEYS, GROUP_KEYS, "states", "among", "months", NULL},
    [LM__M_FLOW] = {COMMON_KEYS, GROUP_KEYS, "from", "to", "duration", "months", NULL},
    [LM__M_DURATION_SHARE] = {COMMON_KEYS, GROUP_KEYS, "states", "duration", "months", NULL},
    [LM__M_STATE_AFTER] = {COMMON_KEYS, GROUP_KEYS, "from", "to", "after", "months", NULL},
    [LM__M_OUT_AFTER_ENTRY] = {COMMON_KEYS, GROUP_KEYS, "from", "after", "mode", "months", NULL},
    [LM__M_JOB_SURVIVAL] = {COMMON_KEYS, GROUP_KEYS, "from", "after", "months", NULL},
    [LM__M_LOW_PAY] = {COMMON_KEYS, GROUP_KEYS, "month", "years", "outcome", NULL},
    [LM__M_PROGRAMME] = {COMMON_KEYS, GROUP_KEYS, "programme", "outcome", "horizon", "months",
                         "arm", "trial", "versus_arm", NULL},
    [LM__M_PROGRAMME_COUNT] = {COMMON_KEYS, "programme", "event", "months", "trial", NULL},
};

typedef struct ctx {
    lm__cfg_ctx c;
    lm_targets *t;
} ctx;

/* A string setting naming one of names[] (NULL-terminated); *out its index. */
static int get_choice(const lm__cfg_ctx *c, const config_setting_t *g, const char *name,
                      int required, int dflt, const char *const *names, int *out) {
    const char *v;
    const config_setting_t *s;
    int rc = lm__cfg_get_str(c, g, name, required, NULL, &v, &s);
    if (rc)
        return rc;
    if (!s) {
        *out = dflt;
        return LM_OK;
    }
    int n = 0;
    while (names[n])
        n++;
    int k = lm__cfg_index_of(names, n, v);
    if (k < 0) {
        char list[256];
        size_t len = 0;
        list[0] = '\0';
        for (int j = 0; j < n && len < sizeof list; j++) {
            int w = snprintf(list + len, sizeof list - len, "%s\"%s\"", j ? ", " : "", names[j]);
            if (w < 0)
                break;
            len += (size_t)w;
        }
        return lm__cfg_bad(c, s, "unknown value (expected one of %s)", list);
    }
    *out = k;
    return LM_OK;
}

/* A state set: a name or an array of names of states or shorthands. */
static int get_states(const lm__cfg_ctx *c, const config_setting_t *g, const char *name,
                      int required, uint8_t dflt, uint8_t *out) {
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s) {
        if (required)
            return lm__cfg_missing(c, g, name,
                                   "a state set, e.g. [\"unemployed\"] or \"employed\"");
        *out = dflt;
        return LM_OK;
    }
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_STRING && t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return lm__cfg_bad(c, s, "expected a state name or an array of state names");
    int count = t == CONFIG_TYPE_STRING ? 1 : config_setting_length(s);
    if (count == 0)
        return lm__cfg_bad(c, s, "expected at least one state name");
    uint8_t mask = 0;
    for (int i = 0; i < count; i++) {
        const config_setting_t *e =
            t == CONFIG_TYPE_STRING ? s : config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return lm__cfg_bad(c, e, "expected a string in double quotes");
        const char *v = config_setting_get_string(e);
        int k = lm__cfg_index_of(set_short, N_SHORT, v);
        if (k >= 0) {
            mask |= set_short_mask[k];
            continue;
        }
        for (k = 0; k < LM_N_STATES && strcmp(lm_state_name(k), v) != 0; k++)
            ;
        if (k == LM_N_STATES)
            return lm__cfg_bad(c, e,
                               "unknown state (expected a state name \"inactive_sick\", "
                               "\"inactive_caring\", \"inactive_student\", \"inactive_other\", "
                               "\"unemployed\", \"employed_poor\", \"employed_good\" or one of "
                               "\"employed\", \"inactive\", \"out_of_work\", \"all\")");
        mask |= (uint8_t)(1u << k);
    }
    *out = mask;
    return LM_OK;
}

/* A window `name = [lo, hi]` of integers in [lo_min, max], lo <= hi. */
static int get_window(const lm__cfg_ctx *c, const config_setting_t *g, const char *name,
                      long long lo_min, long long max, int *out) {
    long long v[2];
    int rc = lm__cfg_get_ints(c, g, name, 1, 2, lo_min, max, v);
    if (rc)
        return rc;
    if (v[0] > v[1])
        return lm__cfg_bad(c, config_setting_get_member(g, name),
                           "expected [lo, hi] with lo <= hi");
    out[0] = (int)v[0];
    out[1] = (int)v[1];
    return LM_OK;
}

/* Text of a state set: a shorthand when it is one, else names joined by
 * '+', with "employed" and "inactive" for their states together. */
static void set_text(uint8_t mask, char *buf, size_t n) {
    for (int k = 0; k < N_SHORT; k++)
        if (mask == set_short_mask[k]) {
            snprintf(buf, n, "%s", set_short[k]);
            return;
        }
    size_t len = 0;
    buf[0] = '\0';
    for (int s = 0; s < LM_N_STATES && len < n; s++) {
        const char *name = lm_state_name(s);
        if (!((mask >> s) & 1u))
            continue;
        if ((mask & SET_INACTIVE) == SET_INACTIVE && lm_state_is_inactive(s)) {
            if (s != LM_STATE_INACTIVE_SICK)
                continue;
            name = "inactive";
        } else if ((mask & SET_EMPLOYED) == SET_EMPLOYED && lm_state_is_employed(s)) {
            if (s != LM_STATE_EMPLOYED_POOR)
                continue;
            name = "employed";
        }
        int w = snprintf(buf + len, n - len, "%s%s", len ? "+" : "", name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* Text of a selector group: "key=value, ..." (arrays as a|b). */
static void group_text(const config_setting_t *g, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    int m = g ? config_setting_length(g) : 0;
    for (int i = 0; i < m && len < n; i++) {
        const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
        char v[128];
        int t = config_setting_type(e);
        if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
            size_t vl = 0;
            v[0] = '\0';
            for (int j = 0; j < config_setting_length(e) && vl < sizeof v; j++) {
                const config_setting_t *x = config_setting_get_elem(e, (unsigned)j);
                char one[64];
                if (config_setting_type(x) == CONFIG_TYPE_STRING)
                    snprintf(one, sizeof one, "%s", config_setting_get_string(x));
                else
                    lm__cfg_value(x, one, sizeof one);
                int w = snprintf(v + vl, sizeof v - vl, "%s%s", vl ? "|" : "", one);
                if (w < 0)
                    break;
                vl += (size_t)w;
            }
        } else if (t == CONFIG_TYPE_STRING) {
            snprintf(v, sizeof v, "%s", config_setting_get_string(e));
        } else {
            lm__cfg_value(e, v, sizeof v);
        }
        int w = snprintf(buf + len, n - len, "%s%s=%s", len ? ", " : "", config_setting_name(e), v);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* One line describing target x (lm_target_info.describe). */
static void describe(lm__target *x) {
    char a[96], b[96], g[160], v[160], d[40];
    char *out = x->describe;
    const size_t n = sizeof x->describe;
    size_t len = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(out + len, len < n ? n - len : 0, __VA_ARGS__);                          \
        if (w_ > 0)                                                                                \
            len += (size_t)w_;                                                                     \
        if (len > n)                                                                               \
            len = n;                                                                               \
    } while (0)
    d[0] = '\0';
    if (x->dur[0] != 0 || x->dur[1] != DURATION_MAX)
        snprintf(d, sizeof d, " with %d-%d months in state", x->dur[0], x->dur[1]);
    switch (x->measure) {
    case LM__M_SHARE:
        set_text(x->states, a, sizeof a);
        set_text(x->among, b, sizeof b);
        PUT("share %s of %s", a, b);
        break;
    case LM__M_FLOW:
        set_text(x->from, a, sizeof a);
        set_text(x->to, b, sizeof b);
        PUT("monthly flow %s%s -> %s", a, d, b);
        break;
    case LM__M_DURATION_SHARE:
        set_text(x->states, a, sizeof a);
        PUT("share of %s with %d-%d months in state", a, x->dur[0], x->dur[1]);
        break;
    case LM__M_STATE_AFTER:
        set_text(x->from, a, sizeof a);
        set_text(x->to, b, sizeof b);
        PUT("%s at t, %s at t+%d", a, b, x->lag);
        break;
    case LM__M_OUT_AFTER_ENTRY:
        set_text(x->from, a, sizeof a);
        PUT("entered work from %s at t, out of work %s t+%d", a, x->mode_any ? "by" : "at", x->lag);
        break;
    case LM__M_JOB_SURVIVAL:
        set_text(x->from, a, sizeof a);
        PUT("entered work from %s at t, in work throughout to t+%d", a, x->lag);
        break;
    case LM__M_LOW_PAY:
        PUT("employed_poor at month %d: %s after %d years", x->m0, low_pay_names[x->outcome],
            x->lag);
        break;
    case LM__M_PROGRAMME:
        PUT("%s referrals%s: %s within %d months", x->programme,
            x->arms == 0x7   ? ""
            : x->arms == 0x2 ? " (treatment)"
            : x->arms == 0x4 ? " (control)"
                             : (x->trial ? " (not offered)" : " (no trial arm)"),
            prog_outcome_names[x->outcome], x->lag);
        break;
    case LM__M_PROGRAMME_COUNT:
        PUT("%s %s a month (represented)", x->programme,
            event_names[x->event == LM_PM_REFERRALS  ? 0
                        : x->event == LM_PM_STARTS   ? 1
                        : x->event == LM_PM_OUTCOMES ? 3
                                                     : 2]);
        break;
    default:
        break;
    }
    if (x->measure != LM__M_LOW_PAY && x->m0 == x->m1)
        PUT(", %s %d", x->measure == LM__M_PROGRAMME ? "referred in month" : "month", x->m0);
    else if (x->measure != LM__M_LOW_PAY)
        PUT(", %s %d-%d", x->measure == LM__M_PROGRAMME ? "referred in months" : "months", x->m0,
            x->m1);
    if (x->trial)
        PUT(", trial run");
    group_text(x->group_s, g, sizeof g);
    if (g[0])
        PUT(" [%s]", g);
    if (x->compare) {
        group_text(x->versus_s, v, sizeof v);
        PUT(" %s", x->compare == LM__CMP_RATIO ? "/" : "-");
        if (x->varms != x->arms)
            PUT(" %s arm", x->varms == 0x2 ? "treatment" : x->varms == 0x4 ? "control" : "other");
        if (v[0])
            PUT(" [%s]", v);
        if (x->measure == LM__M_FLOW && (x->vdur[0] != x->dur[0] || x->vdur[1] != x->dur[1]))
            PUT(" (%d-%d months in state)", x->vdur[0], x->vdur[1]);
    }
#undef PUT
}

static int parse_target(ctx *cx, const config_setting_t *e, lm__target *x) {
    const lm__cfg_ctx *c = &cx->c;
    const config_setting_t *s;
    int rc, k = 0;
    long long v;
    memset(x, 0, sizeof *x);
    x->self = e;
    x->line = (int)config_setting_source_line(e);
    x->dur[0] = 0;
    x->dur[1] = DURATION_MAX;
    if (config_setting_type(e) != CONFIG_TYPE_GROUP)
        return lm__cfg_bad(c, e, "expected a target { id = \"...\"; measure = \"...\"; ... }");
    if ((rc = get_choice(c, e, "measure", 1, 0, measure_names, &x->measure)) ||
        (rc = lm__cfg_check_keys(c, e, keys_of[x->measure])))
        return rc;
    const int m = x->measure;
    /* id */
    if ((rc = lm__cfg_get_str(c, e, "id", 1, NULL, &x->id, &s)))
        return rc;
    size_t idn = strlen(x->id);
    if (idn == 0 || idn > ID_MAX || strspn(x->id, "abcdefghijklmnopqrstuvwxyz0123456789_") != idn)
        return lm__cfg_bad(c, s, "an id is 1 to %d characters of a-z, 0-9 and _", ID_MAX);
    for (int q = 0; q < cx->t->n; q++)
        if (strcmp(cx->t->t[q].id, x->id) == 0)
            return lm__cfg_bad(c, s, "duplicate id (first used at line %d)", cx->t->t[q].line);
    /* evidence, use, note */
    if ((rc = lm__cfg_get_str(c, e, "evidence", 1, NULL, &x->evidence, &s)))
        return rc;
    if (x->evidence[0] == '\0')
        return lm__cfg_bad(c, s, "must name the evidence of the value (an evidence id)");
    if ((rc = get_choice(c, e, "use", 1, 0, use_names, &k)))
        return rc;
    x->use = use_names[k];
    x->tuned = k == 0;
    if ((rc = lm__cfg_get_str(c, e, "note", 0, "", &x->note, NULL)))
        return rc;
    /* group, versus, compare */
    x->group_s = config_setting_get_member(e, "group");
    x->versus_s = config_setting_get_member(e, "versus");
    lm_selector sel;
    static const char *const dur_key[] = {"duration", NULL};
    lm__cfg_selector_all(&sel);
    for (int side = 0; side < 2; side++) {
        const config_setting_t *gs = side ? x->versus_s : x->group_s;
        if (gs && config_setting_type(gs) == CONFIG_TYPE_GROUP &&
            (s = config_setting_get_member(gs, "state")))
            return lm__cfg_bad(c, s,
                               "a group selects persons by attributes; states are the measure's "
                               "(states, among, from, to)");
    }
    if (x->group_s) {
        if (config_setting_type(x->group_s) != CONFIG_TYPE_GROUP)
            return lm__cfg_bad(c, x->group_s, "expected a selector group { disabled = true; ... }");
        if ((rc = lm__cfg_selector(c, x->group_s, NULL, 0, 0, NULL, &sel)))
            return rc;
    }
    if (x->versus_s) {
        if (config_setting_type(x->versus_s) != CONFIG_TYPE_GROUP)
            return lm__cfg_bad(c, x->versus_s,
                               "expected a selector group { disabled = false; ... }");
        if ((rc = lm__cfg_selector(c, x->versus_s, NULL, 0, 0, m == LM__M_FLOW ? dur_key : NULL,
                                   &sel)))
            return rc;
    }
    /* months (low_pay: month) */
    if (m == LM__M_LOW_PAY) {
        if ((rc = lm__cfg_get_int(c, e, "month", 1, 0, MONTH_MAX, 0, &v)))
            return rc;
        x->m0 = x->m1 = (int)v;
        x->window_s = config_setting_get_member(e, "month");
    } else {
        /* A flow needs month t - 1 and a count of events happens in a step. */
        const long long lo = (m == LM__M_FLOW || m == LM__M_PROGRAMME_COUNT) ? 1 : 0;
        int w[2];
        if ((rc = get_window(c, e, "months", lo, MONTH_MAX, w)))
            return rc;
        x->m0 = w[0];
        x->m1 = w[1];
        x->window_s = config_setting_get_member(e, "months");
    }
    /* measure keys */
    switch (m) {
    case LM__M_SHARE:
        if ((rc = get_states(c, e, "states", 1, 0, &x->states)) ||
            (rc = get_states(c, e, "among", 0, SET_ALL, &x->among)))
            return rc;
        break;
    case LM__M_FLOW:
        if ((rc = get_states(c, e, "from", 1, 0, &x->from)) ||
            (rc = get_states(c, e, "to", 1, 0, &x->to)))
            return rc;
        if (config_setting_get_member(e, "duration") &&
            (rc = get_window(c, e, "duration", 0, DURATION_MAX, x->dur)))
            return rc;
        break;
    case LM__M_DURATION_SHARE:
        if ((rc = get_states(c, e, "states", 1, 0, &x->states)) ||
            (rc = get_window(c, e, "duration", 0, DURATION_MAX, x->dur)))
            return rc;
        break;
    case LM__M_STATE_AFTER:
    case LM__M_OUT_AFTER_ENTRY:
    case LM__M_JOB_SURVIVAL:
        if ((rc = get_states(c, e, "from", m == LM__M_STATE_AFTER, SET_OUT_OF_WORK, &x->from)))
            return rc;
        if (m == LM__M_STATE_AFTER && (rc = get_states(c, e, "to", 1, 0, &x->to)))
            return rc;
        if (m != LM__M_STATE_AFTER && (x->from & SET_EMPLOYED)) {
            s = config_setting_get_member(e, "from");
            return lm__cfg_bad(c, s,
                               "entering work is from states out of work: drop employed_poor "
                               "and employed_good");
        }
        if ((rc = lm__cfg_get_int(c, e, "after", 1, 1, LM__MAX_LAG, 0, &v)))
            return rc;
        x->lag = (int)v;
        x->lag_s = config_setting_get_member(e, "after");
        if (m == LM__M_OUT_AFTER_ENTRY && (rc = get_choice(c, e, "mode", 0, 0, mode_names, &k)))
            return rc;
        x->mode_any = m == LM__M_OUT_AFTER_ENTRY && k == 1;
        break;
    case LM__M_LOW_PAY:
        if ((rc = lm__cfg_get_int(c, e, "years", 0, 3, LM__MAX_YEARS, 10, &v)) ||
            (rc = get_choice(c, e, "outcome", 1, 0, low_pay_names, &x->outcome)))
            return rc;
        x->lag = (int)v;
        x->lag_s = config_setting_get_member(e, "years");
        if (!x->lag_s)
            x->lag_s = x->window_s;
        break;
    case LM__M_PROGRAMME:
    case LM__M_PROGRAMME_COUNT: {
        if ((rc = lm__cfg_get_str(c, e, "programme", 1, NULL, &x->programme, &x->prog_s)))
            return rc;
        if ((s = config_setting_get_member(e, "trial"))) {
            if (config_setting_type(s) != CONFIG_TYPE_BOOL)
                return lm__cfg_bad(c, s, "expected true or false");
            x->trial = config_setting_get_bool(s);
        }
        if (m == LM__M_PROGRAMME_COUNT) {
            if ((rc = get_choice(c, e, "event", 1, 0, event_names, &k)))
                return rc;
            x->event = event_measure[k];
            x->arms = 0x7;
            break;
        }
        if ((rc = get_choice(c, e, "outcome", 1, 0, prog_outcome_names, &x->outcome)) ||
            (rc = lm__cfg_get_int(c, e, "horizon", 1, 1, MONTH_MAX, 0, &v)))
            return rc;
        x->lag = (int)v;
        x->lag_s = config_setting_get_member(e, "horizon");
        int a = 0, va;
        if ((rc = get_choice(c, e, "arm", 0, 0, arm_names, &a)))
            return rc;
        if (a >= 2 && !x->trial)
            return lm__cfg_bad(c, config_setting_get_member(e, "arm"),
                               "the arms of a trial need `trial = true`");
        x->arms = arm_masks[a];
        if ((rc = get_choice(c, e, "versus_arm", 0, a, arm_names, &va)))
            return rc;
        if (va >= 2 && !x->trial)
            return lm__cfg_bad(c, config_setting_get_member(e, "versus_arm"),
                               "the arms of a trial need `trial = true`");
        x->varms = arm_masks[va];
        break;
    }
    default:
        break;
    }
    /* versus duration (flow), inheriting the group's */
    x->vdur[0] = x->dur[0];
    x->vdur[1] = x->dur[1];
    if (x->versus_s && config_setting_get_member(x->versus_s, "duration") &&
        (rc = get_window(c, x->versus_s, "duration", 0, DURATION_MAX, x->vdur)))
        return rc;
    /* compare */
    const int has_versus = x->versus_s != NULL || config_setting_get_member(e, "versus_arm");
    const config_setting_t *cs = config_setting_get_member(e, "compare");
    if (cs && !has_versus)
        return lm__cfg_bad(c, cs, "`compare` needs a `versus` group (or `versus_arm`)");
    if (has_versus && !cs)
        return lm__cfg_missing(c, e, "compare",
                               "\"ratio\" or \"difference\", because `versus` is given");
    if (cs) {
        if ((rc = get_choice(c, e, "compare", 1, 0, compare_names, &k)))
            return rc;
        x->compare = k == 0 ? LM__CMP_RATIO : LM__CMP_DIFFERENCE;
    }
    /* value and tolerance */
    double lo = 0.0, hi = 1.0;
    if (m == LM__M_PROGRAMME_COUNT)
        hi = COUNT_MAX;
    else if (x->compare == LM__CMP_RATIO)
        hi = RATIO_MAX;
    else if (x->compare == LM__CMP_DIFFERENCE)
        lo = -1.0;
    if ((rc = lm__cfg_get_num(c, e, "value", 1, lo, hi, 0.0, &x->value)))
        return rc;
    s = config_setting_get_member(e, "tolerance");
    if (!s)
        return lm__cfg_missing(c, e, "tolerance", "a number > 0, in the units of value");
    if (!lm__cfg_is_number(s))
        return lm__cfg_bad(c, s, "expected a number");
    x->tolerance = lm__cfg_number(s);
    if (!(x->tolerance > 0.0) || !isfinite(x->tolerance))
        return lm__cfg_bad(c, s, "must be > 0");
    describe(x);
    return LM_OK;
}

/* Variant of each target: 0, or 1 + the index of its trial programme among
 * the distinct ones in order of appearance. */
static int assign_variants(lm_targets *t, lm_error *err) {
    t->variant_trial = lm__calloc((size_t)t->n + 1, sizeof *t->variant_trial);
    if (!t->variant_trial)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    t->n_variants = 1;
    for (int i = 0; i < t->n; i++) {
        lm__target *x = &t->t[i];
        if (!x->trial)
            continue;
        int v = 1;
        while (v < t->n_variants && strcmp(t->variant_trial[v], x->programme) != 0)
            v++;
        if (v == t->n_variants)
            t->variant_trial[t->n_variants++] = x->programme;
        x->variant = v;
    }
    return LM_OK;
}

int lm_targets_load(const char *path, lm_targets **out, lm_error *err) {
    static const char *const top_keys[] = {"targets", NULL};
    int rc;
    *out = NULL;
    if (!path)
        return LM_FAIL(err, LM_EARG, "lm_targets_load: no path");
    lm_targets *t = lm__calloc(1, sizeof *t);
    if (!t)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    snprintf(t->path, sizeof t->path, "%s", path);
    ctx cx = {{t->path, err}, t};
    const config_setting_t *list;
    if ((rc = lm__cfg_read_file(&cx.c, path, "targets file", &t->cfg)))
        goto fail;
    const config_setting_t *root = config_root_setting(&t->cfg);
    if ((rc = lm__cfg_check_keys(&cx.c, root, top_keys)) ||
        (rc = lm__cfg_get_list(&cx.c, root, "targets", 1, &list)))
        goto fail;
    const int n = config_setting_length(list);
    if (n < 1) {
        rc = lm__cfg_bad(&cx.c, list, "expected at least one target");
        goto fail;
    }
    t->t = lm__calloc((size_t)n, sizeof *t->t);
    if (!t->t) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        if ((rc = parse_target(&cx, config_setting_get_elem(list, (unsigned)i), &t->t[i])))
            goto fail;
        t->n = i + 1;
    }
    if ((rc = assign_variants(t, err)))
        goto fail;
    *out = t;
    return LM_OK;
fail:
    lm_targets_destroy(t);
    return rc;
}

void lm_targets_destroy(lm_targets *t) {
    if (!t)
        return;
    config_destroy(&t->cfg);
    lm__free(t->t);
    lm__free(t->variant_trial);
    lm__free(t);
}

int lm__targets_selector(const lm_targets *t, int i, int versus, const lm_scenario *sc,
                         lm_selector *sel, lm_error *err) {
    static const char *const dur_key[] = {"duration", NULL};
    const lm__target *x = &t->t[i];
    const lm__cfg_ctx c = {t->path, err};
    const char *names[LM_MAX_REGIONS];
    int rc;
    for (int r = 0; r < sc->n_regions; r++)
        names[r] = sc->regions[r].name;
    lm__cfg_selector_all(sel);
    if (x->group_s && (rc = lm__cfg_selector(&c, x->group_s, names, sc->n_regions, 0, NULL, sel)))
        return rc;
    if (versus && x->versus_s &&
        (rc = lm__cfg_selector(&c, x->versus_s, names, sc->n_regions, 0,
                               x->measure == LM__M_FLOW ? dur_key : NULL, sel)))
        return rc;
    return LM_OK;
}

int lm__target_last_month(const lm__target *x) {
    switch (x->measure) {
    case LM__M_STATE_AFTER:
    case LM__M_OUT_AFTER_ENTRY:
    case LM__M_JOB_SURVIVAL:
    case LM__M_PROGRAMME:
        return x->m1 + x->lag;
    case LM__M_LOW_PAY:
        return x->m0 + LM_MONTHS_PER_YEAR * x->lag;
    default:
        return x->m1;
    }
}

int lm_targets_check(const lm_targets *t, const lm_scenario *sc, lm_error *err) {
    const lm__cfg_ctx c = {t->path, err};
    int rc;
    for (int i = 0; i < t->n; i++) {
        const lm__target *x = &t->t[i];
        if (x->programme) {
            int k = 0;
            while (k < sc->n_programmes && strcmp(sc->programmes[k].name, x->programme) != 0)
                k++;
            if (k == sc->n_programmes)
                return lm__cfg_bad(&c, x->prog_s, "the scenario '%s' has no programme of that name",
                                   sc->name);
        }
        if (x->measure == LM__M_PROGRAMME && x->lag > sc->follow_up_months)
            return lm__cfg_bad(&c, x->lag_s,
                               "longer than the scenario's follow-up of referrals "
                               "(evaluation.follow_up_months = %d)",
                               sc->follow_up_months);
        if (x->m1 > sc->n_months)
            return lm__cfg_bad(&c, x->window_s,
                               "month %d is past the last month (%d) of the run of '%s'", x->m1,
                               sc->n_months, sc->name);
        const int last = lm__target_last_month(x);
        if (last > sc->n_months)
            return lm__cfg_bad(&c, x->window_s,
                               "the cohort of month %d is followed to month %d, past the last "
                               "month (%d) of the run of '%s'",
                               x->measure == LM__M_LOW_PAY ? x->m0 : x->m1, last, sc->n_months,
                               sc->name);
        lm_selector sel;
        if ((rc = lm__targets_selector(t, i, 0, sc, &sel, err)) ||
            (rc = lm__targets_selector(t, i, 1, sc, &sel, err)))
            return rc;
    }
    return LM_OK;
}

size_t lm_targets_count(const lm_targets *t) {
    return t ? (size_t)t->n : 0;
}

void lm_targets_info(const lm_targets *t, size_t i, lm_target_info *out) {
    const lm__target *x = &t->t[i];
    out->id = x->id;
    out->measure = measure_names[x->measure];
    out->evidence = x->evidence;
    out->use = x->use;
    out->note = x->note;
    out->describe = x->describe;
    out->value = x->value;
    out->tolerance = x->tolerance;
    out->tuned = x->tuned;
    out->variant = x->variant;
    out->cfg_line = x->line;
}

int lm_targets_n_variants(const lm_targets *t) {
    return t->n_variants;
}

const char *lm_targets_variant_trial(const lm_targets *t, int v) {
    return v > 0 && v < t->n_variants ? t->variant_trial[v] : NULL;
}

void lm_targets_results_init(const lm_targets *t, lm_target_result *res) {
    for (int i = 0; i < t->n; i++) {
        lm_target_result *r = &res[i];
        memset(r, 0, sizeof *r);
        r->simulated = r->se = (double)NAN;
        const int v = t->t[i].variant;
        if (v == 0)
            snprintf(r->reason, sizeof r->reason, "not computed");
        else
            snprintf(r->reason, sizeof r->reason,
                     "needs the run with evaluation.trial = \"%.60s\" (lmsim validate)",
                     t->variant_trial[v]);
    }
}
