/* config.c - scenario files: libconfig text -> a validated, read-only lm_scenario.
 *
 * libconfig parses the syntax (and reports syntax errors with file:line), but
 * it accepts unknown settings silently and converts nothing for us. This file
 * is the strict layer on top: every group lists the keys it allows, every
 * value is checked for type and range, shares must sum to 1 within
 * LM_SHARE_TOL, and required settings must be present. Each error names the
 * scenario file (the fragment, for @include'd settings), the line, the setting
 * path and what was expected, e.g.
 *
 *     wales.cfg:42: population.female_share = 1.3: must be in [0, 1]
 *
 * Loading runs in three steps: parse (with @include relative to the file's
 * folder; a derived file is merged over its `base`, and each file's `set`
 * list of "path=value" overrides is applied after it), apply `--set
 * path=value` overrides to the parsed tree, then walk the tree once with the
 * schema below, filling lm_scenario. The final tree is also written back to
 * text (lm_scenario.text) so a run file records exactly the scenario that
 * ran, after includes and overrides; lm_scenario_load_string() loads such a
 * text again (with other overrides) without the files.
 *
 * A valid scenario may still hold settings with no effect in the run at
 * hand: a timeline entry dated after the last month, a programme that no one
 * can be referred to or start. Those are not errors, but a silent no-op looks
 * like an answer, so the last step of loading finds them (on the final tree,
 * for file:line, and the timeline variants month by month) and keeps them as
 * warnings in the scenario (lm_scenario_warnings); the caller shows them.
 *
 * Nothing here is static mutable state; loading is thread-safe.
 */
#define _POSIX_C_SOURCE 200809L
#include "lmsim/scenario.h"

#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgutil.h"
#include "internal.h"

/* Shares given in a scenario must sum to 1 within this tolerance. */
#define LM_SHARE_TOL 1e-6

/* NULL-terminated so that it also serves as a list of allowed keys. */
static const char *const state_names[LM_N_STATES + 1] = {
    "inactive_sick", "inactive_caring", "inactive_student", "inactive_other",
    "unemployed",    "employed_poor",   "employed_good",    NULL};
static const char *const age_band_names[LM_N_AGE_BANDS] = {"16-24", "25-34", "35-49", "50-64"};
static const char *const qual_names[LM_N_QUALS] = {"none", "low", "mid", "high"};

const char *lm_state_name(int state) {
    return (state >= 0 && state < LM_N_STATES) ? state_names[state] : "?";
}

const char *lm_age_band_name(int band) {
    return (band >= 0 && band < LM_N_AGE_BANDS) ? age_band_names[band] : "?";
}

const char *lm_qual_name(int qual) {
    return (qual >= 0 && qual < LM_N_QUALS) ? qual_names[qual] : "?";
}

int lm_age_band_of(int age_months) {
    int years = age_months / LM_MONTHS_PER_YEAR;
    if (age_months < 0 || years < 16 || years > 64)
        return -1;
    return years < 25 ? 0 : years < 35 ? 1 : years < 50 ? 2 : 3;
}

/* ------------------------------------------------------------------------ */
/* Error reporting with file, line and setting path                          */

#define LM_MAX_BASE_DEPTH 8 /* a scenario and its bases: at most this many files */
#define LM_PATH_MAX 1024    /* longest scenario file path kept */

typedef struct ctx {
    const char *path; /* top-level scenario file */
    lm_error *err;
    lm_scenario *sc;
    /* Files whose `set` lists were applied (read_tree): settings created by
     * a `set` entry point here for their file name, so they must outlive the
     * validation of the tree. */
    char set_file[LM_MAX_BASE_DEPTH][LM_PATH_MAX];
} ctx;

/* The strict-validation helpers of cfgutil.h (shared with the targets
 * loader), applied to this file's context. */
#define CFG(c) (&(const lm__cfg_ctx){(c)->path, (c)->err})
#define bad(c, ...) lm__cfg_bad(CFG(c), __VA_ARGS__)
#define missing(c, ...) lm__cfg_missing(CFG(c), __VA_ARGS__)
#define check_keys(c, ...) lm__cfg_check_keys(CFG(c), __VA_ARGS__)
#define get_group(c, ...) lm__cfg_get_group(CFG(c), __VA_ARGS__)
#define get_list(c, ...) lm__cfg_get_list(CFG(c), __VA_ARGS__)
#define get_num(c, ...) lm__cfg_get_num(CFG(c), __VA_ARGS__)
#define get_int(c, ...) lm__cfg_get_int(CFG(c), __VA_ARGS__)
#define get_str(c, ...) lm__cfg_get_str(CFG(c), __VA_ARGS__)
#define get_vec(c, ...) lm__cfg_get_vec(CFG(c), __VA_ARGS__)
#define is_number lm__cfg_is_number
#define number_of lm__cfg_number
#define index_of lm__cfg_index_of
/* Shares p[0..n) must sum to 1 within LM_SHARE_TOL; s locates the error. */
static int check_sum(ctx *c, const config_setting_t *s, const double *p, int n) {
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += p[i];
    if (fabs(sum - 1.0) > LM_SHARE_TOL)
        return bad(c, s, "shares must sum to 1 (within %g), they sum to %.9g", LM_SHARE_TOL, sum);
    return LM_OK;
}

static int state_index(const char *v) {
    return index_of(state_names, LM_N_STATES, v);
}

/* ------------------------------------------------------------------------ */
/* Sections                                                                  */

static int load_simulation(ctx *c, const config_setting_t *root) {
    static const char *const keys[] = {"persons", "months", "start", "seed", "represents", NULL};
    const config_setting_t *g;
    int rc;
    long long v;
    if ((rc = get_group(c, root, "simulation", 1, &g)) || (rc = check_keys(c, g, keys)))
        return rc;
    if ((rc = get_int(c, g, "persons", 1, 1, (long long)INT32_MAX * 16, 0, &v)))
        return rc;
    c->sc->n_persons = v;
    if ((rc = get_int(c, g, "represents", 0, 1, (long long)INT32_MAX * 16, v, &v)))
        return rc;
    c->sc->represents = v;
    if ((rc = get_int(c, g, "months", 1, 1, 1200, 0, &v)))
        return rc;
    c->sc->n_months = (int)v;
    if ((rc = get_int(c, g, "seed", 1, 0, INT64_MAX, 0, &v)))
        return rc;
    c->sc->seed = (uint64_t)v;
    const char *start;
    const config_setting_t *ss;
    if ((rc = get_str(c, g, "start", 1, NULL, &start, &ss)))
        return rc;
    int y, m;
    char tail;
    if (sscanf(start, "%4d-%2d%c", &y, &m, &tail) != 2 || y < 1900 || y > 2200 || m < 1 || m > 12)
        return bad(c, ss, "expected a month \"YYYY-MM\" between 1900-01 and 2200-12");
    c->sc->start_year = y;
    c->sc->start_month = m;
    return LM_OK;
}

static int load_population(ctx *c, const config_setting_t *root) {
    static const char *const keys[] = {"regions",
                                       "female_share",
                                       "age_band_shares",
                                       "disabled_by_age_band",
                                       "minority_share",
                                       "qualification_shares",
                                       "caring_share_by_sex",
                                       "initial_duration_mean_months",
                                       "disabled_at_entry",
                                       "low_employability_by_state",
                                       "pay_churn_by_state",
                                       NULL};
    static const char *const region_keys[] = {"name", "share", "vacancies_per_1000", NULL};
    lm_scenario *sc = c->sc;
    const config_setting_t *g, *regions;
    int rc;
    if ((rc = get_group(c, root, "population", 1, &g)) || (rc = check_keys(c, g, keys)))
        return rc;
    if ((rc = get_list(c, g, "regions", 1, &regions)))
        return rc;
    int n = config_setting_length(regions);
    if (n < 1 || n > LM_MAX_REGIONS)
        return bad(c, regions, "expected between 1 and %d regions, found %d", LM_MAX_REGIONS, n);
    sc->n_regions = n;
    double shares[LM_MAX_REGIONS];
    for (int r = 0; r < n; r++) {
        const config_setting_t *e = config_setting_get_elem(regions, (unsigned)r);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return bad(c, e, "expected a group { name = ...; share = ...; }");
        if ((rc = check_keys(c, e, region_keys)))
            return rc;
        const char *name = NULL;
        const config_setting_t *ns;
        if ((rc = get_str(c, e, "name", 1, NULL, &name, &ns)))
            return rc;
        if (name[0] == '\0' || strlen(name) >= sizeof sc->regions[r].name)
            return bad(c, ns, "region names must be 1 to %zu characters",
                       sizeof sc->regions[r].name - 1);
        for (int q = 0; q < r; q++)
            if (strcmp(sc->regions[q].name, name) == 0)
                return bad(c, ns, "duplicate region name");
        snprintf(sc->regions[r].name, sizeof sc->regions[r].name, "%s", name);
        if ((rc = get_num(c, e, "share", 1, 0.0, 1.0, 0.0, &sc->regions[r].share)) ||
            (rc = get_num(c, e, "vacancies_per_1000", 1, 0.0, 1000.0, 0.0,
                          &sc->regions[r].vacancies_per_1000)))
            return rc;
        shares[r] = sc->regions[r].share;
    }
    if ((rc = check_sum(c, regions, shares, n)))
        return rc;
    if ((rc = get_num(c, g, "female_share", 1, 0.0, 1.0, 0.0, &sc->female_share)) ||
        (rc = get_num(c, g, "minority_share", 1, 0.0, 1.0, 0.0, &sc->minority_share)) ||
        (rc = get_vec(c, g, "age_band_shares", 1, LM_N_AGE_BANDS, 0.0, 1.0, sc->age_band_share)) ||
        (rc = check_sum(c, config_setting_get_member(g, "age_band_shares"), sc->age_band_share,
                        LM_N_AGE_BANDS)) ||
        (rc = get_vec(c, g, "disabled_by_age_band", 1, LM_N_AGE_BANDS, 0.0, 1.0,
                      sc->disabled_by_age_band)) ||
        (rc = get_vec(c, g, "qualification_shares", 1, LM_N_QUALS, 0.0, 1.0, sc->qual_share)) ||
        (rc = check_sum(c, config_setting_get_member(g, "qualification_shares"), sc->qual_share,
                        LM_N_QUALS)) ||
        (rc = get_vec(c, g, "caring_share_by_sex", 1, 2, 0.0, 1.0, sc->caring_share)) ||
        (rc = get_vec(c, g, "initial_duration_mean_months", 1, LM_N_STATES, 0.0, 600.0,
                      sc->initial_duration_mean)) ||
        (rc = get_num(c, g, "disabled_at_entry", 0, 0.0, 1.0, sc->disabled_by_age_band[0],
                      &sc->disabled_at_entry)) ||
        (rc = get_vec(c, g, "low_employability_by_state", 0, LM_N_STATES, 0.0, 1.0,
                      sc->low_employability)) ||
        (rc = get_vec(c, g, "pay_churn_by_state", 0, LM_N_STATES, 0.0, 1.0, sc->pay_churn)))
        return rc;
    return LM_OK;
}

/* Parse an optional `where = { ... }` group of element e into *sel. */
static int load_selector_named(ctx *c, const config_setting_t *e, const char *group,
                               int allow_state, lm_selector *sel) {
    const char *region_names[LM_MAX_REGIONS];
    const config_setting_t *w;
    int rc;
    lm__cfg_selector_all(sel);
    if ((rc = get_group(c, e, group, 0, &w)) || !w)
        return rc;
    for (int r = 0; r < c->sc->n_regions; r++)
        region_names[r] = c->sc->regions[r].name;
    return lm__cfg_selector(CFG(c), w, region_names, c->sc->n_regions, allow_state, NULL, sel);
}

static int load_selector(ctx *c, const config_setting_t *e, int allow_state, lm_selector *sel) {
    return load_selector_named(c, e, "where", allow_state, sel);
}

static int selector_is_all(const lm_selector *s) {
    lm_selector all;
    memset(&all, 0xff, sizeof all);
    all.reserved_ = 0;
    return memcmp(s, &all, sizeof all) == 0;
}

/* A list of first-match rules whose last element must match everyone. */
static int check_rules_end(ctx *c, const config_setting_t *list, const lm_selector *last) {
    if (!selector_is_all(last))
        return bad(c, config_setting_get_elem(list, (unsigned)config_setting_length(list) - 1),
                   "the last rule must have no 'where' (it is the default for everyone else)");
    return LM_OK;
}

/* A list of state rules ({ where; shares; }, first match wins, the last
 * matching everyone) under `name`: initial_state (required) or entrants. */
static int load_state_rules(ctx *c, const config_setting_t *root, const char *name, int required,
                            lm_initial_rule *rules, int *n_rules) {
    static const char *const keys[] = {"where", "shares", NULL};
    const config_setting_t *list;
    int rc;
    *n_rules = 0;
    if ((rc = get_list(c, root, name, required, &list)) || !list)
        return rc;
    int n = config_setting_length(list);
    if (n < 1 || n > LM_MAX_RULES)
        return bad(c, list, "expected between 1 and %d rules", LM_MAX_RULES);
    *n_rules = n;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i), *sh;
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return bad(c, e, "expected a group { where = {...}; shares = {...}; }");
        if ((rc = check_keys(c, e, keys)) || (rc = load_selector(c, e, 0, &rules[i].where)) ||
            (rc = get_group(c, e, "shares", 1, &sh)) || (rc = check_keys(c, sh, state_names)))
            return rc;
        for (int s = 0; s < LM_N_STATES; s++)
            if ((rc = get_num(c, sh, state_names[s], 1, 0.0, 1.0, 0.0, &rules[i].shares[s])))
                return rc;
        if ((rc = check_sum(c, sh, rules[i].shares, LM_N_STATES)))
            return rc;
    }
    return check_rules_end(c, list, &rules[n - 1].where);
}

static int load_initial(ctx *c, const config_setting_t *root) {
    lm_scenario *sc = c->sc;
    int rc = load_state_rules(c, root, "initial_state", 1, sc->initial, &sc->n_initial);
    return rc ? rc : load_state_rules(c, root, "entrants", 0, sc->entrant, &sc->n_entrant);
}

/* The optional piecewise-constant age term of a logit:
 *     age = { from = [50, 55, 60]; add = [0.2, 0.5, 1.1]; };
 * adds add[k] to eta from age from[k] (completed years) until the next step. */
static int load_age_term(ctx *c, const config_setting_t *e, double bound, lm_logit *lg) {
    static const char *const keys[] = {"from", "add", NULL};
    const config_setting_t *g, *from;
    int rc;
    lg->n_age_steps = 0;
    if ((rc = get_group(c, e, "age", 0, &g)) || !g)
        return rc;
    if ((rc = check_keys(c, g, keys)))
        return rc;
    from = config_setting_get_member(g, "from");
    if (!from)
        return missing(c, g, "from", "an array of ages in years");
    int n = config_setting_length(from);
    if ((config_setting_type(from) != CONFIG_TYPE_ARRAY &&
         config_setting_type(from) != CONFIG_TYPE_LIST) ||
        n < 1 || n > LM_MAX_AGE_STEPS)
        return bad(c, from, "expected an array of 1 to %d ages in years", LM_MAX_AGE_STEPS);
    for (int k = 0; k < n; k++) {
        const config_setting_t *a = config_setting_get_elem(from, (unsigned)k);
        int t = config_setting_type(a);
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            return bad(c, a, "expected an integer age in years");
        long long v = config_setting_get_int64(a);
        if (t == CONFIG_TYPE_INT)
            v = config_setting_get_int(a);
        if (v < LM_AGE_MIN_MONTHS / LM_MONTHS_PER_YEAR ||
            v >= LM_AGE_MAX_MONTHS / LM_MONTHS_PER_YEAR)
            return bad(c, a, "must be an age in [%d, %d]", LM_AGE_MIN_MONTHS / LM_MONTHS_PER_YEAR,
                       LM_AGE_MAX_MONTHS / LM_MONTHS_PER_YEAR - 1);
        if (k > 0 && v <= lg->age_from_years[k - 1])
            return bad(c, a, "ages must be strictly ascending");
        lg->age_from_years[k] = (int)v;
    }
    if ((rc = get_vec(c, g, "add", 1, n, -bound, bound, lg->age_add)))
        return rc;
    lg->n_age_steps = n;
    return LM_OK;
}

static int load_logit(ctx *c, const config_setting_t *e, int origin, lm_logit *lg) {
    static const char *const keys[] = {"to",
                                       "intercept",
                                       "female",
                                       "disabled",
                                       "minority",
                                       "caring",
                                       "age_band",
                                       "qual",
                                       "region",
                                       "log_duration",
                                       "limiting",
                                       "age",
                                       "low_employability",
                                       "pay_churn",
                                       "duration",
                                       NULL};
    /* Coefficients are log-odds: bounded generously, to catch typos like 1e9. */
    const double B = 50.0;
    int rc;
    const char *to;
    const config_setting_t *ts;
    if (config_setting_type(e) != CONFIG_TYPE_GROUP)
        return bad(c, e, "expected a group { to = \"...\"; intercept = ...; }");
    if ((rc = check_keys(c, e, keys)) || (rc = get_str(c, e, "to", 1, NULL, &to, &ts)))
        return rc;
    memset(lg, 0, sizeof *lg);
    lg->cfg_line = (int)config_setting_source_line(e);
    if (strcmp(to, "employed") == 0) {
        if (lm_state_is_employed(origin))
            return bad(c, ts,
                       "\"employed\" is for origins out of work; from a job name "
                       "\"employed_good\" or \"employed_poor\"");
        lg->to = LM_DEST_EMPLOYED;
    } else {
        lg->to = state_index(to);
        if (lg->to < 0)
            return bad(c, ts, "unknown destination (expected a state name or \"employed\")");
        if (lg->to == origin)
            return bad(c, ts, "a destination cannot be the origin (staying is the reference)");
    }
    if ((rc = get_num(c, e, "intercept", 1, -B, B, 0.0, &lg->intercept)) ||
        (rc = get_num(c, e, "female", 0, -B, B, 0.0, &lg->female)) ||
        (rc = get_num(c, e, "disabled", 0, -B, B, 0.0, &lg->disabled)) ||
        (rc = get_num(c, e, "minority", 0, -B, B, 0.0, &lg->minority)) ||
        (rc = get_num(c, e, "caring", 0, -B, B, 0.0, &lg->caring)) ||
        (rc = get_num(c, e, "log_duration", 0, -B, B, 0.0, &lg->log_duration)) ||
        (rc = get_num(c, e, "limiting", 0, -B, B, 0.0, &lg->limiting)) ||
        (rc = get_num(c, e, "low_employability", 0, -B, B, 0.0, &lg->low_employability)) ||
        (rc = get_num(c, e, "pay_churn", 0, -B, B, 0.0, &lg->pay_churn)) ||
        (rc = get_vec(c, e, "age_band", 0, LM_N_AGE_BANDS, -B, B, lg->age_band)) ||
        (rc = get_vec(c, e, "qual", 0, LM_N_QUALS, -B, B, lg->qual)) ||
        (rc = get_vec(c, e, "region", 0, c->sc->n_regions, -B, B, lg->region)))
        return rc;
    /* Which spell the duration term counts: the current state's, or (out of
     * a job) the employment spell, kept across changes of job quality. */
    const char *clock;
    const config_setting_t *cs;
    if ((rc = get_str(c, e, "duration", 0, "in_state", &clock, &cs)))
        return rc;
    if (strcmp(clock, "in_work") == 0) {
        if (!lm_state_is_employed(origin))
            return bad(c, cs,
                       "\"in_work\" counts months in work: only for the destinations of a "
                       "job (employed_good, employed_poor)");
        lg->duration_in_work = 1;
    } else if (strcmp(clock, "in_state") != 0) {
        return bad(c, cs,
                   "expected \"in_state\" (months in the current state) or \"in_work\" "
                   "(months in work, kept across changes of job quality)");
    }
    return load_age_term(c, e, B, lg);
}

static int dest_overlaps(int a, int b) {
    if (a == b)
        return 1;
    if (a == LM_DEST_EMPLOYED)
        return lm_state_is_employed(b);
    if (b == LM_DEST_EMPLOYED)
        return lm_state_is_employed(a);
    return 0;
}

static int load_transitions(ctx *c, const config_setting_t *root) {
    const char *keys[LM_N_STATES + 2];
    lm_scenario *sc = c->sc;
    const config_setting_t *g;
    int rc;
    for (int s = 0; s < LM_N_STATES; s++)
        keys[s] = state_names[s];
    keys[LM_N_STATES] = "duration_cap_months";
    keys[LM_N_STATES + 1] = NULL;
    if ((rc = get_group(c, root, "transitions", 1, &g)) || (rc = check_keys(c, g, keys)))
        return rc;
    long long cap = 0;
    if ((rc = get_int(c, g, "duration_cap_months", 0, 1, 1200, 240, &cap)))
        return rc;
    sc->duration_cap_months = (int)cap;
    for (int o = 0; o < LM_N_STATES; o++) {
        const config_setting_t *list;
        if ((rc = get_list(c, g, state_names[o], 0, &list)))
            return rc;
        if (!list)
            continue;
        int n = config_setting_length(list);
        if (n > LM_N_STATES - 1)
            return bad(c, list, "at most %d destinations", LM_N_STATES - 1);
        for (int d = 0; d < n; d++) {
            const config_setting_t *e = config_setting_get_elem(list, (unsigned)d);
            if ((rc = load_logit(c, e, o, &sc->dest[o][d])))
                return rc;
            for (int q = 0; q < d; q++)
                if (dest_overlaps(sc->dest[o][q].to, sc->dest[o][d].to))
                    return bad(c, config_setting_get_member(e, "to"),
                               "destination given twice for this origin");
        }
        sc->n_dest[o] = n;
    }
    return LM_OK;
}

static int load_quality(ctx *c, const config_setting_t *root) {
    static const char *const keys[] = {"entry", "screened_share", NULL};
    static const char *const rule_keys[] = {"where", "p_good", NULL};
    lm_scenario *sc = c->sc;
    const config_setting_t *g, *list;
    int rc;
    if ((rc = get_group(c, root, "job_quality", 1, &g)) || (rc = check_keys(c, g, keys)) ||
        (rc = get_list(c, g, "entry", 1, &list)) ||
        (rc = get_num(c, g, "screened_share", 0, 0.0, 1.0, 0.0, &sc->screened_share)))
        return rc;
    int n = config_setting_length(list);
    if (n < 1 || n > LM_MAX_RULES)
        return bad(c, list, "expected between 1 and %d rules", LM_MAX_RULES);
    sc->n_quality = n;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return bad(c, e, "expected a group { where = {...}; p_good = ...; }");
        if ((rc = check_keys(c, e, rule_keys)) ||
            (rc = load_selector(c, e, 1, &sc->quality[i].where)) ||
            (rc = get_num(c, e, "p_good", 1, 0.0, 1.0, 0.0, &sc->quality[i].p_good)))
            return rc;
    }
    return check_rules_end(c, list, &sc->quality[n - 1].where);
}

static double logit_of(double p) {
    return log(p / (1.0 - p));
}

static int load_programme(ctx *c, const config_setting_t *g, lm_programme *pg) {
    static const char *const keys[] = {"eligible",
                                       "min_months_in_state",
                                       "once",
                                       "open",
                                       "mandatory",
                                       "referral",
                                       "capacity",
                                       "duration_months",
                                       "in_work_support_months",
                                       "in_work_support_leave_rate",
                                       "effects",
                                       "costs",
                                       NULL};
    static const char *const ref_keys[] = {"probability", "female", "disabled",
                                           "minority",    "caring", NULL};
    static const char *const cap_keys[] = {"places_per_month", "caseload_cap", "max_wait_months",
                                           NULL};
    static const char *const eff_keys[] = {"fidelity",
                                           "job_finding_or",
                                           "good_job_or",
                                           "job_exit_or",
                                           "progression_or",
                                           "health_onset_or",
                                           "sanction_rate",
                                           "sanction_months",
                                           "sanction_inactivity_or",
                                           "sanction_good_job_or",
                                           NULL};
    static const char *const cost_keys[] = {"per_start",
                                            "per_month",
                                            "outcome_payment",
                                            "outcome_months_in_work",
                                            "outcome_window_months",
                                            NULL};
    const double ORMAX = 1000.0, B = 50.0;
    const int R = c->sc->n_regions;
    const config_setting_t *ref, *cap, *eff, *cost;
    int rc;
    long long v;
    memset(pg, 0, sizeof *pg);
    snprintf(pg->name, sizeof pg->name, "%s", config_setting_name(g));
    if (strlen(config_setting_name(g)) >= sizeof pg->name)
        return bad(c, g, "programme names must be shorter than %zu characters", sizeof pg->name);
    if ((rc = check_keys(c, g, keys)) ||
        (rc = load_selector_named(c, g, "eligible", 1, &pg->eligible)))
        return rc;
    if ((rc = get_int(c, g, "min_months_in_state", 0, 0, 1200, 0, &v)))
        return rc;
    pg->min_months_in_state = (int)v;
    const config_setting_t *bs;
    pg->once = 1;
    pg->open = 1;
    if ((bs = config_setting_get_member(g, "once"))) {
        if (config_setting_type(bs) != CONFIG_TYPE_BOOL)
            return bad(c, bs, "expected true or false");
        pg->once = config_setting_get_bool(bs);
    }
    if ((bs = config_setting_get_member(g, "open"))) {
        if (config_setting_type(bs) != CONFIG_TYPE_BOOL)
            return bad(c, bs, "expected true or false");
        pg->open = config_setting_get_bool(bs);
    }
    if ((bs = config_setting_get_member(g, "mandatory"))) {
        if (config_setting_type(bs) != CONFIG_TYPE_BOOL)
            return bad(c, bs, "expected true or false");
        pg->mandatory = config_setting_get_bool(bs);
    }
    double p;
    if ((rc = get_group(c, g, "referral", 1, &ref)) || (rc = check_keys(c, ref, ref_keys)) ||
        (rc = get_num(c, ref, "probability", 1, 0.0, 1.0, 0.0, &p)) ||
        (rc = get_num(c, ref, "female", 0, -B, B, 0.0, &pg->referral_logit[1])) ||
        (rc = get_num(c, ref, "disabled", 0, -B, B, 0.0, &pg->referral_logit[2])) ||
        (rc = get_num(c, ref, "minority", 0, -B, B, 0.0, &pg->referral_logit[3])) ||
        (rc = get_num(c, ref, "caring", 0, -B, B, 0.0, &pg->referral_logit[4])))
        return rc;
    /* Probabilities 0 and 1 are kept exact through +-infinity log-odds. */
    pg->referral_logit[0] = p <= 0.0   ? -(double)INFINITY
                            : p >= 1.0 ? (double)INFINITY
                                       : logit_of(p);
    if ((rc = get_group(c, g, "capacity", 1, &cap)) || (rc = check_keys(c, cap, cap_keys)) ||
        (rc = get_vec(c, cap, "places_per_month", 1, R, 0.0, 1e9, pg->places_per_month)) ||
        (rc = get_vec(c, cap, "caseload_cap", 0, R, 0.0, 1e9, pg->caseload_cap)) ||
        (rc = get_int(c, cap, "max_wait_months", 0, 0, 120, 3, &v)))
        return rc;
    pg->max_wait_months = (int)v;
    if ((rc = get_int(c, g, "duration_months", 1, 1, 1200, 0, &v)))
        return rc;
    pg->duration_months = (int)v;
    if ((rc = get_int(c, g, "in_work_support_months", 0, 0, 1200, 0, &v)))
        return rc;
    pg->in_work_support_months = (int)v;
    if ((rc = get_num(c, g, "in_work_support_leave_rate", 0, 0.0, 1.0, 0.0,
                      &pg->in_work_leave_rate)))
        return rc;
    if ((rc = get_group(c, g, "effects", 1, &eff)) || (rc = check_keys(c, eff, eff_keys)) ||
        (rc = get_num(c, eff, "fidelity", 0, 0.0, 1.0, 1.0, &pg->fidelity)) ||
        (rc = get_num(c, eff, "job_finding_or", 0, 1.0 / ORMAX, ORMAX, 1.0, &pg->job_finding_or)) ||
        (rc = get_num(c, eff, "good_job_or", 0, 1.0 / ORMAX, ORMAX, 1.0, &pg->good_job_or)) ||
        (rc = get_num(c, eff, "job_exit_or", 0, 1.0 / ORMAX, ORMAX, 1.0, &pg->job_exit_or)) ||
        (rc = get_num(c, eff, "progression_or", 0, 1.0 / ORMAX, ORMAX, 1.0, &pg->progression_or)) ||
        (rc = get_num(c, eff, "health_onset_or", 0, 1.0 / ORMAX, ORMAX, 1.0,
                      &pg->health_onset_or)) ||
        (rc = get_num(c, eff, "sanction_rate", 0, 0.0, 1.0, 0.0, &pg->sanction_rate)) ||
        (rc = get_num(c, eff, "sanction_inactivity_or", 0, 1.0 / ORMAX, ORMAX, 1.0,
                      &pg->sanction_inactivity_or)) ||
        (rc = get_num(c, eff, "sanction_good_job_or", 0, 1.0 / ORMAX, ORMAX, 1.0,
                      &pg->sanction_good_job_or)) ||
        (rc = get_int(c, eff, "sanction_months", 0, 0, 120, 1, &v)))
        return rc;
    pg->sanction_months = (int)v;
    if ((rc = get_group(c, g, "costs", 1, &cost)) || (rc = check_keys(c, cost, cost_keys)) ||
        (rc = get_num(c, cost, "per_start", 0, 0.0, 1e9, 0.0, &pg->cost_per_start)) ||
        (rc = get_num(c, cost, "per_month", 0, 0.0, 1e9, 0.0, &pg->cost_per_month)) ||
        (rc = get_num(c, cost, "outcome_payment", 0, 0.0, 1e9, 0.0, &pg->outcome_payment)) ||
        (rc = get_int(c, cost, "outcome_months_in_work", 0, 1, 120, 6, &v)))
        return rc;
    pg->outcome_months_in_work = (int)v;
    if ((rc = get_int(c, cost, "outcome_window_months", 0, 1, 1200, 24, &v)))
        return rc;
    pg->outcome_window_months = (int)v;
    return LM_OK;
}

static int load_programmes(ctx *c, const config_setting_t *root) {
    static const char *const eval_keys[] = {"follow_up_months", "trial", NULL};
    lm_scenario *sc = c->sc;
    const config_setting_t *g, *ev;
    int rc;
    long long v;
    sc->trial = -1;
    sc->follow_up_months = 24;
    if ((rc = get_group(c, root, "programmes", 0, &g)))
        return rc;
    if (g) {
        int n = config_setting_length(g);
        if (n > LM_MAX_PROGRAMMES)
            return bad(c, g, "at most %d programmes", LM_MAX_PROGRAMMES);
        for (int k = 0; k < n; k++) {
            const config_setting_t *e = config_setting_get_elem(g, (unsigned)k);
            if (config_setting_type(e) != CONFIG_TYPE_GROUP)
                return bad(c, e, "expected a programme group { eligible = {...}; ... }");
            if ((rc = load_programme(c, e, &sc->programmes[k])))
                return rc;
        }
        sc->n_programmes = n;
    }
    if ((rc = get_group(c, root, "evaluation", 0, &ev)) || !ev)
        return rc;
    if ((rc = check_keys(c, ev, eval_keys)) ||
        (rc = get_int(c, ev, "follow_up_months", 0, 1, 1200, 24, &v)))
        return rc;
    sc->follow_up_months = (int)v;
    const char *trial = NULL;
    const config_setting_t *ts;
    if ((rc = get_str(c, ev, "trial", 0, NULL, &trial, &ts)))
        return rc;
    if (trial && trial[0]) {
        for (int k = 0; k < sc->n_programmes; k++)
            if (strcmp(sc->programmes[k].name, trial) == 0)
                sc->trial = k;
        if (sc->trial < 0)
            return bad(c, ts, "no programme of that name (the trial needs one under `programmes`)");
    }
    return LM_OK;
}

static const char *const tax_names[LM_TAX_PARAMS + 1] = {"personal_allowance",
                                                         "basic_rate",
                                                         "higher_threshold",
                                                         "higher_rate",
                                                         "additional_threshold",
                                                         "additional_rate",
                                                         "ni_primary_threshold",
                                                         "ni_main_rate",
                                                         "ni_upper_limit",
                                                         "ni_upper_rate",
                                                         "employer_ni_threshold",
                                                         "employer_ni_rate",
                                                         NULL};

const char *lm_tax_param_name(int k) {
    return k >= 0 && k < LM_TAX_PARAMS ? tax_names[k] : "?";
}

/* Tax on annual earnings above `from`, at `rate`, up to `to`. */
static double band(double annual, double from, double to, double rate) {
    double top = annual < to ? annual : to;
    return top > from ? (top - from) * rate : 0.0;
}

void lm_tax_month(const double t[LM_TAX_PARAMS], double monthly, double *tax, double *employer) {
    const double a = 12.0 * monthly;
    double it =
        band(a, t[LM_TAX_PERSONAL_ALLOWANCE], t[LM_TAX_HIGHER_THRESHOLD], t[LM_TAX_BASIC_RATE]) +
        band(a, t[LM_TAX_HIGHER_THRESHOLD], t[LM_TAX_ADDITIONAL_THRESHOLD], t[LM_TAX_HIGHER_RATE]) +
        band(a, t[LM_TAX_ADDITIONAL_THRESHOLD], HUGE_VAL, t[LM_TAX_ADDITIONAL_RATE]);
    double ni =
        band(a, t[LM_TAX_NI_PRIMARY_THRESHOLD], t[LM_TAX_NI_UPPER_LIMIT], t[LM_TAX_NI_MAIN_RATE]) +
        band(a, t[LM_TAX_NI_UPPER_LIMIT], HUGE_VAL, t[LM_TAX_NI_UPPER_RATE]);
    *tax = (it + ni) / 12.0;
    *employer =
        band(a, t[LM_TAX_EMPLOYER_NI_THRESHOLD], HUGE_VAL, t[LM_TAX_EMPLOYER_NI_RATE]) / 12.0;
}

/* "YYYY-MM" of setting s as a month of the run in [1, n_months]. */
static int run_month_of(ctx *c, const config_setting_t *s, int *out) {
    int y, m;
    char tail;
    const lm_scenario *sc = c->sc;
    if (config_setting_type(s) != CONFIG_TYPE_STRING ||
        sscanf(config_setting_get_string(s), "%4d-%2d%c", &y, &m, &tail) != 2 || m < 1 || m > 12)
        return bad(c, s, "expected a month \"YYYY-MM\"");
    *out = (y - sc->start_year) * LM_MONTHS_PER_YEAR + (m - sc->start_month);
    if (*out < 1)
        return bad(c, s, "must be after the run's start month %04d-%02d", sc->start_year,
                   sc->start_month);
    if (*out > sc->n_months)
        *out = sc->n_months + 1; /* after the run: lm_scenario_warnings says so */
    return LM_OK;
}

static int load_appraisal(ctx *c, const config_setting_t *root) {
    static const char *const keys[] = {
        "price_base_year", "discount_rate", "start",     "end", "benefits",
        "health_element",  "tax",           "wellbeing", NULL};
    static const char *const wb_keys[] = {"in_work", "limiting", NULL};
    lm_scenario *sc = c->sc;
    const config_setting_t *g, *b, *t, *w, *s;
    int rc;
    long long v;
    if ((rc = get_group(c, root, "appraisal", 0, &g)) || !g)
        return rc;
    sc->has_appraisal = 1;
    const int first_year = sc->start_year + (sc->start_month) / LM_MONTHS_PER_YEAR;
    const int last_year =
        sc->start_year + (sc->start_month - 1 + sc->n_months) / LM_MONTHS_PER_YEAR;
    if ((rc = check_keys(c, g, keys)) ||
        (rc = get_int(c, g, "price_base_year", 1, 1900, 2200, 0, &v)))
        return rc;
    sc->price_base_year = (int)v;
    if (v < first_year || v > last_year)
        return bad(c, config_setting_get_member(g, "price_base_year"),
                   "must be a year of the run's months 1-%d (%d to %d)", sc->n_months, first_year,
                   last_year);
    if ((rc = get_num(c, g, "discount_rate", 1, 0.0, 0.2, 0.0, &sc->discount_rate)) ||
        (rc = get_num(c, g, "health_element", 0, 0.0, 1e6, 0.0, &sc->health_element)))
        return rc;
    sc->appraisal_first = 1;
    sc->appraisal_last = sc->n_months;
    if ((s = config_setting_get_member(g, "start")) &&
        (rc = run_month_of(c, s, &sc->appraisal_first)))
        return rc;
    if ((s = config_setting_get_member(g, "end")) && (rc = run_month_of(c, s, &sc->appraisal_last)))
        return rc;
    if (sc->appraisal_last > sc->n_months)
        sc->appraisal_last = sc->n_months;
    if (sc->appraisal_last < sc->appraisal_first && sc->appraisal_first <= sc->n_months)
        return bad(c, s, "the appraisal must end at or after its start");
    if ((rc = get_group(c, g, "benefits", 1, &b)))
        return rc;
    for (int k = 0; k < config_setting_length(b); k++) {
        const config_setting_t *e = config_setting_get_elem(b, (unsigned)k);
        int st = state_index(config_setting_name(e));
        if (st < 0)
            return bad(c, e,
                       "unknown labour state (one of inactive_sick, inactive_caring, "
                       "inactive_student, inactive_other, unemployed, employed_poor, "
                       "employed_good)");
    }
    for (int st = 0; st < LM_N_STATES; st++)
        if ((rc = get_num(c, b, lm_state_name(st), 0, 0.0, 1e6, 0.0, &sc->benefit_by_state[st])))
            return rc;
    if ((rc = get_group(c, g, "tax", 1, &t)) || (rc = check_keys(c, t, tax_names)))
        return rc;
    for (int k = 0; k < LM_TAX_PARAMS; k++) {
        const int rate = strstr(tax_names[k], "rate") != NULL;
        if ((rc = get_num(c, t, tax_names[k], 1, 0.0, rate ? 1.0 : 1e9, 0.0, &sc->tax_schedule[k])))
            return rc;
    }
    const double *x = sc->tax_schedule;
    if (x[LM_TAX_HIGHER_THRESHOLD] < x[LM_TAX_PERSONAL_ALLOWANCE])
        return bad(c, config_setting_get_member(t, "higher_threshold"),
                   "must be at least personal_allowance");
    if (x[LM_TAX_ADDITIONAL_THRESHOLD] < x[LM_TAX_HIGHER_THRESHOLD])
        return bad(c, config_setting_get_member(t, "additional_threshold"),
                   "must be at least higher_threshold");
    if (x[LM_TAX_NI_UPPER_LIMIT] < x[LM_TAX_NI_PRIMARY_THRESHOLD])
        return bad(c, config_setting_get_member(t, "ni_upper_limit"),
                   "must be at least ni_primary_threshold");
    if ((rc = get_group(c, g, "wellbeing", 0, &w)) || !w)
        return rc;
    if ((rc = check_keys(c, w, wb_keys)) ||
        (rc = get_num(c, w, "in_work", 0, 0.0, 1e6, 0.0, &sc->wellbeing_in_work)) ||
        (rc = get_num(c, w, "limiting", 0, 0.0, 1e6, 0.0, &sc->wellbeing_limiting)))
        return rc;
    return LM_OK;
}

static int load_earnings(ctx *c, const config_setting_t *root) {
    static const char *const keys[] = {
        "monthly_gbp_full_time",  "log_sd",           "female",         "qual",
        "part_time_share_by_sex", "part_time_factor", "monthly_growth", NULL};
    lm_scenario *sc = c->sc;
    const config_setting_t *g;
    int rc;
    if ((rc = get_group(c, root, "earnings", 0, &g)) || !g)
        return rc;
    sc->has_earnings = 1;
    if ((rc = check_keys(c, g, keys)) ||
        (rc = get_vec(c, g, "monthly_gbp_full_time", 1, 2, 1.0, 1e6, sc->earnings_full_time)) ||
        (rc = get_num(c, g, "log_sd", 1, 0.0, 3.0, 0.0, &sc->earnings_log_sd)) ||
        (rc = get_num(c, g, "female", 0, -3.0, 3.0, 0.0, &sc->earnings_female)) ||
        (rc = get_vec(c, g, "qual", 0, LM_N_QUALS, -3.0, 3.0, sc->earnings_qual)) ||
        (rc = get_vec(c, g, "part_time_share_by_sex", 1, 2, 0.0, 1.0, sc->part_time_share)) ||
        (rc = get_num(c, g, "part_time_factor", 1, 0.01, 1.0, 0.0, &sc->part_time_factor)) ||
        (rc = get_vec(c, g, "monthly_growth", 0, 2, -0.1, 0.1, sc->earnings_growth)))
        return rc;
    return LM_OK;
}

static int load_health(ctx *c, const config_setting_t *root) {
    static const char *const keys[] = {"initial_by_disabled",        "initial_by_state",
                                       "initial_by_state_disabled",  "onset_by_state",
                                       "onset_by_state_disabled",    "recovery_by_state",
                                       "recovery_by_state_disabled", "onset_by_age_band",
                                       "disabled_after_months",      NULL};
    lm_scenario *sc = c->sc;
    const config_setting_t *g;
    int rc;
    long long v;
    if ((rc = get_group(c, root, "health", 0, &g)) || !g)
        return rc;
    sc->has_health = 1;
    if ((rc = check_keys(c, g, keys)))
        return rc;
    /* Initial prevalence: by disability only, or by disability and state. */
    const config_setting_t *by_dis = config_setting_get_member(g, "initial_by_disabled");
    const config_setting_t *by_st = config_setting_get_member(g, "initial_by_state");
    const config_setting_t *by_st_d = config_setting_get_member(g, "initial_by_state_disabled");
    if (by_dis && (by_st || by_st_d))
        return bad(c, by_dis,
                   "give either initial_by_disabled or initial_by_state and "
                   "initial_by_state_disabled, not both");
    if (by_dis || (!by_st && !by_st_d)) {
        double p[2];
        if ((rc = get_vec(c, g, "initial_by_disabled", 1, 2, 0.0, 1.0, p)))
            return rc;
        for (int s = 0; s < LM_N_STATES; s++) {
            sc->health_initial[0][s] = p[0];
            sc->health_initial[1][s] = p[1];
        }
    } else if ((rc = get_vec(c, g, "initial_by_state", 1, LM_N_STATES, 0.0, 1.0,
                             sc->health_initial[0])) ||
               (rc = get_vec(c, g, "initial_by_state_disabled", 1, LM_N_STATES, 0.0, 1.0,
                             sc->health_initial[1]))) {
        return rc;
    }
    if ((rc = get_vec(c, g, "onset_by_state", 1, LM_N_STATES, 0.0, 1.0, sc->health_onset[0])) ||
        (rc = get_vec(c, g, "recovery_by_state", 1, LM_N_STATES, 0.0, 1.0, sc->health_recovery[0])))
        return rc;
    /* Disabled people's rates default to everyone's. */
    memcpy(sc->health_onset[1], sc->health_onset[0], sizeof sc->health_onset[0]);
    memcpy(sc->health_recovery[1], sc->health_recovery[0], sizeof sc->health_recovery[0]);
    for (int b = 0; b < LM_N_AGE_BANDS; b++)
        sc->health_onset_age[b] = 1.0;
    if ((config_setting_get_member(g, "onset_by_state_disabled") &&
         (rc = get_vec(c, g, "onset_by_state_disabled", 1, LM_N_STATES, 0.0, 1.0,
                       sc->health_onset[1]))) ||
        (config_setting_get_member(g, "recovery_by_state_disabled") &&
         (rc = get_vec(c, g, "recovery_by_state_disabled", 1, LM_N_STATES, 0.0, 1.0,
                       sc->health_recovery[1]))) ||
        (config_setting_get_member(g, "onset_by_age_band") &&
         (rc = get_vec(c, g, "onset_by_age_band", 1, LM_N_AGE_BANDS, 0.0, 100.0,
                       sc->health_onset_age))))
        return rc;
    if ((rc = get_int(c, g, "disabled_after_months", 0, 0, 240, 0, &v)))
        return rc;
    sc->disabled_after_months = (int)v;
    return LM_OK;
}

static int load_alignment(ctx *c, const config_setting_t *root) {
    static const char *const keys[] = {"from", "to", "region", "targets", "target_per_month", NULL};
    lm_scenario *sc = c->sc;
    const config_setting_t *list;
    int rc;
    if ((rc = get_list(c, root, "alignment", 0, &list)) || !list)
        return rc;
    int n = config_setting_length(list);
    if (n > LM_MAX_ALIGN)
        return bad(c, list, "at most %d alignment rules", LM_MAX_ALIGN);
    for (int q = 0; q < n; q++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)q), *fs, *ts, *rs;
        lm_alignment *al = &sc->align[q];
        const char *from = "", *to = "", *region = "";
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return bad(c, e, "expected { from = \"STATE\"; to = \"STATE\"; region = ...; }");
        if ((rc = check_keys(c, e, keys)) || (rc = get_str(c, e, "from", 1, NULL, &from, &fs)) ||
            (rc = get_str(c, e, "to", 1, NULL, &to, &ts)) ||
            (rc = get_str(c, e, "region", 1, NULL, &region, &rs)))
            return rc;
        if ((al->origin = state_index(from)) < 0)
            return bad(c, fs, "unknown state");
        int want = strcmp(to, "employed") == 0 ? LM_DEST_EMPLOYED : state_index(to);
        al->dest = -1;
        for (int j = 0; j < sc->n_dest[al->origin]; j++)
            if (sc->dest[al->origin][j].to == want)
                al->dest = j;
        if (al->dest < 0)
            return bad(c, ts, "not a destination of '%s' in `transitions`", from);
        al->region = -1;
        for (int r = 0; r < sc->n_regions; r++)
            if (strcmp(sc->regions[r].name, region) == 0)
                al->region = r;
        if (al->region < 0)
            return bad(c, rs, "unknown region");
        al->targets = lm__calloc((size_t)sc->n_months, sizeof *al->targets);
        if (!al->targets)
            return LM_FAIL(c->err, LM_ENOMEM, "out of memory");
        sc->n_align = q + 1; /* so that destroy frees it */
        const config_setting_t *tv = config_setting_get_member(e, "targets");
        const config_setting_t *tc = config_setting_get_member(e, "target_per_month");
        if (!!tv == !!tc)
            return bad(c, e,
                       "give exactly one of `targets` (one per month) or "
                       "`target_per_month`");
        if (tv) {
            /* At least one value a month; extra values (a scenario run with
             * fewer --months) are ignored. */
            int t = config_setting_type(tv);
            if ((t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) ||
                config_setting_length(tv) < sc->n_months)
                return bad(c, tv, "expected an array of at least %d numbers (one a month)",
                           sc->n_months);
            for (int m = 0; m < sc->n_months; m++) {
                const config_setting_t *x = config_setting_get_elem(tv, (unsigned)m);
                if (!is_number(x) || number_of(x) < 0.0 || !isfinite(number_of(x)))
                    return bad(c, x, "expected a number of moves >= 0");
                al->targets[m] = number_of(x);
            }
        } else {
            double v;
            if ((rc = get_num(c, e, "target_per_month", 1, 0.0, 1e12, 0.0, &v)))
                return rc;
            for (int t = 0; t < sc->n_months; t++)
                al->targets[t] = v;
        }
    }
    return LM_OK;
}

static int load_market(ctx *c, const config_setting_t *root) {
    static const char *const keys[] = {"matching_elasticity", "reference_tightness",
                                       "inactive_search_weight", NULL};
    const config_setting_t *g;
    int rc;
    if ((rc = get_group(c, root, "market", 1, &g)) || (rc = check_keys(c, g, keys)))
        return rc;
    if ((rc =
             get_num(c, g, "matching_elasticity", 1, 0.0, 1.0, 0.0, &c->sc->matching_elasticity)) ||
        (rc = get_num(c, g, "reference_tightness", 1, 1e-6, 1e6, 0.0,
                      &c->sc->reference_tightness)) ||
        (rc = get_num(c, g, "inactive_search_weight", 0, 0.0, 1.0, 0.0,
                      &c->sc->inactive_search_weight)))
        return rc;
    return LM_OK;
}

static int load_output(ctx *c, const config_setting_t *root) {
    static const char *const keys[] = {"panel", "sample_fraction", "deflate_level", "chunk_persons",
                                       NULL};
    static const char *const modes[] = {"full", "none", "sample"};
    lm_scenario *sc = c->sc;
    const config_setting_t *g, *ps;
    int rc;
    long long v;
    const char *mode = "full";
    sc->panel = LM_PANEL_FULL;
    sc->sample_fraction = 1.0;
    sc->deflate_level = 1;
    sc->chunk_persons = 65536;
    if ((rc = get_group(c, root, "output", 0, &g)) || !g)
        return rc;
    if ((rc = check_keys(c, g, keys)) || (rc = get_str(c, g, "panel", 0, "full", &mode, &ps)))
        return rc;
    int m = index_of(modes, 3, mode);
    if (m < 0)
        return bad(c, ps, "expected \"full\", \"none\" or \"sample\"");
    sc->panel = (lm_panel_mode)m;
    if ((rc = get_num(c, g, "sample_fraction", 0, 1e-9, 1.0, 0.01, &sc->sample_fraction)))
        return rc;
    if (sc->panel != LM_PANEL_SAMPLE && config_setting_get_member(g, "sample_fraction") == NULL)
        sc->sample_fraction = 1.0;
    if ((rc = get_int(c, g, "deflate_level", 0, 0, 9, 1, &v)))
        return rc;
    sc->deflate_level = (int)v;
    if ((rc = get_int(c, g, "chunk_persons", 0, 256, 1 << 24, 65536, &v)))
        return rc;
    sc->chunk_persons = v;
    return LM_OK;
}

/* ------------------------------------------------------------------------ */
/* Overrides: --set path=value                                               */

/* Copy the value of src (any type) into the new setting dst of the same type. */
static int copy_setting(const config_setting_t *src, config_setting_t *dst) {
    switch (config_setting_type(src)) {
    case CONFIG_TYPE_INT:
        return config_setting_set_int(dst, config_setting_get_int(src));
    case CONFIG_TYPE_INT64:
        return config_setting_set_int64(dst, config_setting_get_int64(src));
    case CONFIG_TYPE_FLOAT:
        return config_setting_set_float(dst, config_setting_get_float(src));
    case CONFIG_TYPE_BOOL:
        return config_setting_set_bool(dst, config_setting_get_bool(src));
    case CONFIG_TYPE_STRING:
        return config_setting_set_string(dst, config_setting_get_string(src));
    default: {
        int n = config_setting_length(src);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(src, (unsigned)i);
            config_setting_t *d =
                config_setting_add(dst, config_setting_name(e), config_setting_type(e));
            if (!d || !copy_setting(e, d))
                return CONFIG_FALSE;
        }
        return CONFIG_TRUE;
    }
    }
}

/* One element of an array, `PATH.[k]=VALUE`: the value must be a scalar of
 * the array's type (an integer is taken for a number). */
static int set_array_elem(ctx *c, config_setting_t *arr, const char *arr_path, const char *path,
                          const char *leaf, const config_setting_t *nv) {
    char *end = NULL;
    const long k = strtol(leaf + 1, &end, 10);
    const int n = config_setting_length(arr);
    if (end == leaf + 1 || strcmp(end, "]") != 0 || k < 0)
        return LM_FAIL(c->err, LM_EARG, "--set %s: expected an element [k] of '%s'", path,
                       arr_path);
    if (k >= n)
        return LM_FAIL(c->err, LM_EARG, "--set %s: '%s' has %d elements ([0] to [%d])", path,
                       arr_path, n, n - 1);
    config_setting_t *e = config_setting_get_elem(arr, (unsigned)k);
    const int et = config_setting_type(e), nt = config_setting_type(nv);
    const int n_int = nt == CONFIG_TYPE_INT || nt == CONFIG_TYPE_INT64;
    int ok = 0;
    if (et == CONFIG_TYPE_FLOAT && (n_int || nt == CONFIG_TYPE_FLOAT))
        ok = config_setting_set_float(e, n_int ? (double)config_setting_get_int64(nv)
                                               : config_setting_get_float(nv));
    else if ((et == CONFIG_TYPE_INT || et == CONFIG_TYPE_INT64) && n_int)
        ok = config_setting_set_int64(e, config_setting_get_int64(nv));
    else if (et == CONFIG_TYPE_BOOL && nt == CONFIG_TYPE_BOOL)
        ok = config_setting_set_bool(e, config_setting_get_bool(nv));
    else if (et == CONFIG_TYPE_STRING && nt == CONFIG_TYPE_STRING)
        ok = config_setting_set_string(e, config_setting_get_string(nv));
    else
        return LM_FAIL(c->err, LM_EARG, "--set %s: expected a %s, like the other elements of '%s'",
                       path,
                       et == CONFIG_TYPE_FLOAT    ? "number"
                       : et == CONFIG_TYPE_BOOL   ? "true or false"
                       : et == CONFIG_TYPE_STRING ? "string"
                                                  : "integer",
                       arr_path);
    return ok ? LM_OK : LM_FAIL(c->err, LM_EARG, "--set %s: cannot set the element", path);
}

static int apply_override(ctx *c, config_t *cfg, const char *spec) {
    const char *eq = strchr(spec, '=');
    char path[256];
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof path)
        return LM_FAIL(c->err, LM_EARG, "--set '%s': expected path=value, e.g. simulation.seed=7",
                       spec);
    memcpy(path, spec, (size_t)(eq - spec));
    path[eq - spec] = '\0';
    const char *value = eq + 1;
    /* A value is one setting's value: an @include in it (after a newline)
     * would be read from the working folder, and one naming a folder makes
     * libconfig's scanner exit the process. */
    if (lm__cfg_include_line(value))
        return LM_FAIL(c->err, LM_EARG, "--set %s: a value cannot contain @include", path);

    /* Parse the value with libconfig itself, so numbers, booleans, strings,
     * arrays and groups are all accepted; a bare word is taken as a string. */
    config_t tmp;
    config_init(&tmp);
    /* Integers beyond 32 bits get libconfig's L suffix, so that
     * simulation.persons=5000000000 is not cut to 705032704. */
    size_t wn = lm__cfg_widen_ints(value, NULL, 0);
    size_t len = wn + 16;
    char *text = lm__malloc(len + 8), *wide = lm__malloc(wn);
    if (!text || !wide) {
        lm__free(text);
        lm__free(wide);
        config_destroy(&tmp);
        return LM_FAIL(c->err, LM_ENOMEM, "out of memory");
    }
    lm__cfg_widen_ints(value, wide, wn);
    snprintf(text, len + 8, "v = %s;", wide);
    lm__free(wide);
    if (!config_read_string(&tmp, text)) {
        config_destroy(&tmp);
        config_init(&tmp);
        char *q = lm__malloc(2 * strlen(value) + 16);
        if (!q) {
            lm__free(text);
            config_destroy(&tmp);
            return LM_FAIL(c->err, LM_ENOMEM, "out of memory");
        }
        char *o = q + snprintf(q, 8, "v = \"");
        for (const char *p = value; *p; p++) {
            if (*p == '"' || *p == '\\')
                *o++ = '\\';
            *o++ = *p;
        }
        strcpy(o, "\";");
        int ok = config_read_string(&tmp, q);
        lm__free(q);
        if (!ok) {
            lm__free(text);
            config_destroy(&tmp);
            return LM_FAIL(c->err, LM_EARG, "--set %s: cannot parse value '%s'", path, value);
        }
    }
    lm__free(text);
    const config_setting_t *nv = config_lookup(&tmp, "v");
    int ntype = config_setting_type(nv);

    /* Find the parent group; the leaf may or may not exist yet. */
    char parent_path[256];
    const char *leaf = strrchr(path, '.');
    config_setting_t *parent;
    if (leaf) {
        memcpy(parent_path, path, (size_t)(leaf - path));
        parent_path[leaf - path] = '\0';
        leaf++;
        parent = config_lookup(cfg, parent_path);
    } else {
        leaf = path;
        parent = config_root_setting(cfg);
    }
    if (!parent && leaf != path) {
        /* Create missing groups along the path (e.g. `output` when the
         * scenario has none); validation then rejects any unknown name. */
        parent = config_root_setting(cfg);
        char walk[256];
        snprintf(walk, sizeof walk, "%s", parent_path);
        char *save = NULL;
        for (char *tok = strtok_r(walk, ".", &save); tok && parent;
             tok = strtok_r(NULL, ".", &save)) {
            config_setting_t *next = config_setting_get_member(parent, tok);
            if (!next && config_setting_type(parent) == CONFIG_TYPE_GROUP)
                next = config_setting_add(parent, tok, CONFIG_TYPE_GROUP);
            parent = next;
        }
    }
    if (parent && leaf != path && leaf[0] == '[' &&
        config_setting_type(parent) == CONFIG_TYPE_ARRAY) {
        int rc = set_array_elem(c, parent, parent_path, path, leaf, nv);
        config_destroy(&tmp);
        return rc;
    }
    if (!parent || config_setting_type(parent) != CONFIG_TYPE_GROUP) {
        config_destroy(&tmp);
        return LM_FAIL(c->err, LM_EARG, "--set %s: no group '%s' in the scenario", path,
                       leaf == path ? "(root)" : parent_path);
    }
    config_setting_t *old = config_setting_get_member(parent, leaf);
    if (old) {
        /* An integer given for a number that was written as a float stays a float. */
        if (config_setting_type(old) == CONFIG_TYPE_FLOAT &&
            (ntype == CONFIG_TYPE_INT || ntype == CONFIG_TYPE_INT64))
            ntype = CONFIG_TYPE_FLOAT;
        config_setting_remove(parent, leaf);
    }
    config_setting_t *ns = config_setting_add(parent, leaf, ntype);
    int ok = ns != NULL;
    if (ok && ntype == CONFIG_TYPE_FLOAT && config_setting_type(nv) != CONFIG_TYPE_FLOAT)
        ok = config_setting_set_float(ns, (double)config_setting_get_int64(nv));
    else if (ok)
        ok = copy_setting(nv, ns);
    config_destroy(&tmp);
    if (!ok)
        return LM_FAIL(c->err, LM_EARG, "--set %s: cannot set '%s'", path, leaf);
    return LM_OK;
}

/* ------------------------------------------------------------------------ */

static int scenario_text(ctx *c, config_t *cfg) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return LM_FAIL(c->err, LM_ENOMEM, "out of memory");
    config_write(cfg, f);
    fclose(f);
    c->sc->text = lm__malloc(len + 1);
    if (!c->sc->text) {
        free(buf);
        return LM_FAIL(c->err, LM_ENOMEM, "out of memory");
    }
    memcpy(c->sc->text, buf, len);
    c->sc->text[len] = '\0';
    free(buf);
    return LM_OK;
}

/* Deep-merge group src into group dst: groups merge recursively, any other
 * setting (number, string, array, list) replaces dst's. `skip` names a
 * top-level key not to copy (NULL for none). */
static int merge_group(config_setting_t *dst, const config_setting_t *src, const char *skip) {
    int n = config_setting_length(src);
    for (int k = 0; k < n; k++) {
        const config_setting_t *e = config_setting_get_elem(src, (unsigned)k);
        const char *name = config_setting_name(e);
        if (skip && strcmp(name, skip) == 0)
            continue;
        config_setting_t *d = config_setting_get_member(dst, name);
        int type = config_setting_type(e);
        if (type == CONFIG_TYPE_GROUP) {
            if (d && config_setting_type(d) != CONFIG_TYPE_GROUP) {
                config_setting_remove(dst, name);
                d = NULL;
            }
            if (!d && !(d = config_setting_add(dst, name, CONFIG_TYPE_GROUP)))
                return CONFIG_FALSE;
            if (!merge_group(d, e, NULL))
                return CONFIG_FALSE;
            continue;
        }
        if (d && type == CONFIG_TYPE_LIST && skip && strcmp(name, "timeline") == 0 &&
            config_setting_type(d) == CONFIG_TYPE_LIST) {
            /* A derived scenario's timeline continues its base's. */
            int m = config_setting_length(e);
            for (int q = 0; q < m; q++) {
                const config_setting_t *x = config_setting_get_elem(e, (unsigned)q);
                config_setting_t *y = config_setting_add(d, NULL, config_setting_type(x));
                if (!y || !copy_setting(x, y))
                    return CONFIG_FALSE;
            }
            continue;
        }
        if (d)
            config_setting_remove(dst, name);
        if (!(d = config_setting_add(dst, name, type)) || !copy_setting(e, d))
            return CONFIG_FALSE;
    }
    return CONFIG_TRUE;
}

/* Parse one file into cfg (initialised here), with @include relative to its
 * folder. */
static int read_file(ctx *c, const char *path, config_t *cfg) {
    return lm__cfg_read_file(CFG(c), path, "scenario file", cfg);
}

/* Mark setting s and everything under it as coming from file:line. */
static void mark_source(config_setting_t *s, const char *file, unsigned line) {
    s->file = file; /* public fields of libconfig's config_setting_t */
    s->line = line;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_GROUP || t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST)
        for (int k = 0; k < config_setting_length(s); k++)
            mark_source(config_setting_get_elem(s, (unsigned)k), file, line);
}

/* Apply the top-level `set = ( "path=value", ... );` of file `from` (parsed
 * on its own, as the base chain reads it) to cfg, entry by entry in order,
 * exactly as --set overrides. Settings an entry writes carry the entry's
 * file and line, so that validation names them; a bad entry (no such group,
 * unparsable) is reported at its own line. `slot` < LM_MAX_BASE_DEPTH keeps
 * the file name in c->set_file for as long as the load runs. */
static int apply_set_list(ctx *c, config_t *cfg, const config_t *from, const char *file, int slot) {
    const config_setting_t *list = config_lookup(from, "set");
    if (!list)
        return LM_OK;
    int t = config_setting_type(list);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return bad(c, list, "expected a list of overrides ( \"path=value\", ... )");
    const char *src = config_setting_source_file(list);
    snprintf(c->set_file[slot], sizeof c->set_file[slot], "%s", src ? src : file);
    const char *sfile = c->set_file[slot];
    for (int k = 0; k < config_setting_length(list); k++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)k);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return bad(c, e, "expected an override \"path=value\" in double quotes");
        const char *spec = config_setting_get_string(e);
        const int line = (int)config_setting_source_line(e);
        int rc = apply_override(c, cfg, spec);
        if (rc) {
            char msg[LM_ERROR_MSG_MAX];
            const char *m = c->err ? c->err->msg : "", *colon = strstr(m, ": ");
            /* apply_override says "--set PATH: what"; the entry is quoted already. */
            snprintf(msg, sizeof msg, "%s", strncmp(m, "--set ", 6) == 0 && colon ? colon + 2 : m);
            return LM_FAIL_CFG(c->err, rc, sfile, line, "set[%d] = \"%.200s\": %.500s", k, spec,
                               msg);
        }
        char path[256];
        size_t plen = (size_t)(strchr(spec, '=') - spec);
        snprintf(path, sizeof path, "%.*s", (int)(plen < sizeof path ? plen : sizeof path - 1),
                 spec);
        config_setting_t *s = config_lookup(cfg, path);
        if (s)
            mark_source(s, sfile, (unsigned)line);
    }
    return LM_OK;
}

/* Parse `path` into cfg. A scenario with `base = "FILE"` (FILE relative to
 * its folder, itself possibly derived) is its base with the scenario's own
 * settings deep-merged over it: the root-most base is parsed into cfg, so its
 * settings keep their file and line, and each derived file is merged over it
 * in turn. A file's `set` list is applied right after the file itself (over
 * its base): a derived file's overrides see its base and its own settings,
 * and the files derived from it see the result. */
static int read_tree(ctx *c, const char *path, config_t *cfg) {
    config_t chain[LM_MAX_BASE_DEPTH];
    char paths[LM_MAX_BASE_DEPTH][1024];
    int n = 0, rc = LM_OK;
    config_init(cfg); /* so that the caller can always destroy it */
    snprintf(paths[0], sizeof paths[0], "%s", path);
    for (;;) {
        if ((rc = read_file(c, paths[n], &chain[n]))) {
            n++;
            goto done;
        }
        const config_setting_t *bs = config_lookup(&chain[n], "base");
        n++;
        if (!bs)
            break;
        if (config_setting_type(bs) != CONFIG_TYPE_STRING) {
            rc = bad(c, bs, "expected the file name of the base scenario in double quotes");
            goto done;
        }
        if (n >= LM_MAX_BASE_DEPTH) {
            rc = bad(c, bs, "base scenarios nest more than %d deep (a cycle?)",
                     LM_MAX_BASE_DEPTH - 1);
            goto done;
        }
        const char *b = config_setting_get_string(bs);
        const char *slash = strrchr(paths[n - 1], '/');
        if (b[0] == '/' || !slash)
            snprintf(paths[n], sizeof paths[n], "%s", b);
        else
            snprintf(paths[n], sizeof paths[n], "%.*s/%.500s", (int)(slash - paths[n - 1]),
                     paths[n - 1], b);
    }
    config_destroy(cfg);
    if ((rc = read_file(c, paths[n - 1], cfg)))
        goto done;
    config_setting_remove(config_root_setting(cfg), "base");
    config_setting_remove(config_root_setting(cfg), "set");
    if ((rc = apply_set_list(c, cfg, &chain[n - 1], paths[n - 1], n - 1)))
        goto done;
    for (int k = n - 2; k >= 0; k--) {
        if (!merge_group(config_root_setting(cfg), config_root_setting(&chain[k]), "base")) {
            rc = LM_FAIL(c->err, LM_ENOMEM, "out of memory merging '%s'", paths[k]);
            goto done;
        }
        config_setting_remove(config_root_setting(cfg), "set");
        if ((rc = apply_set_list(c, cfg, &chain[k], paths[k], k)))
            goto done;
    }
done:
    for (int k = 0; k < n; k++)
        config_destroy(&chain[k]);
    return rc;
}

/* Validate a parsed tree into c->sc. */
static int validate_tree(ctx *c, config_t *cfg) {
    static const char *const top_keys[] = {
        "name",        "description", "simulation", "population", "initial_state",
        "transitions", "job_quality", "market",     "output",     "programmes",
        "evaluation",  "earnings",    "health",     "timeline",   "base",
        "alignment",   "entrants",    "appraisal",  NULL};
    lm_scenario *sc = c->sc;
    const config_setting_t *root = config_root_setting(cfg);
    const char *name = NULL;
    const char *desc;
    const config_setting_t *ns;
    int rc;
    if ((rc = check_keys(c, root, top_keys)) ||
        (rc = get_str(c, root, "name", 1, NULL, &name, &ns)) ||
        (rc = get_str(c, root, "description", 0, "", &desc, NULL)))
        return rc;
    if (name[0] == '\0' || strlen(name) >= sizeof sc->name)
        return bad(c, ns, "must be 1 to %zu characters", sizeof sc->name - 1);
    snprintf(sc->name, sizeof sc->name, "%s", name);
    if ((rc = load_simulation(c, root)) || (rc = load_population(c, root)) ||
        (rc = load_initial(c, root)) || (rc = load_transitions(c, root)) ||
        (rc = load_quality(c, root)) || (rc = load_market(c, root)) ||
        (rc = load_output(c, root)) || (rc = load_programmes(c, root)) ||
        (rc = load_earnings(c, root)) || (rc = load_health(c, root)) ||
        (rc = load_alignment(c, root)) || (rc = load_appraisal(c, root)))
        return rc;
    return LM_OK;
}

/* "YYYY-MM" of setting s as a month index from the scenario's start. */
static int month_of(ctx *c, const config_setting_t *s, int *out) {
    int y, m;
    char tail;
    if (config_setting_type(s) != CONFIG_TYPE_STRING ||
        sscanf(config_setting_get_string(s), "%4d-%2d%c", &y, &m, &tail) != 2 || m < 1 || m > 12)
        return bad(c, s, "expected a month \"YYYY-MM\"");
    *out = (y - c->sc->start_year) * LM_MONTHS_PER_YEAR + (m - c->sc->start_month);
    if (*out < 1)
        return bad(c, s, "a change must take effect after the start month %04d-%02d",
                   c->sc->start_year, c->sc->start_month);
    return LM_OK;
}

/* Interpolate numeric leaves of `ramp` into dst: value = a + (b - a) * w where
 * a is dst's current value and b the ramp's. */
static int apply_ramp(ctx *c, config_setting_t *dst, const config_setting_t *ramp, double w) {
    int n = config_setting_length(ramp);
    for (int k = 0; k < n; k++) {
        const config_setting_t *e = config_setting_get_elem(ramp, (unsigned)k);
        const char *name = config_setting_name(e);
        config_setting_t *d =
            name ? config_setting_get_member(dst, name) : config_setting_get_elem(dst, (unsigned)k);
        if (!d)
            return bad(c, e, "a ramp can only move a setting the scenario already has");
        int t = config_setting_type(e);
        if (t == CONFIG_TYPE_GROUP || t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
            if (config_setting_type(d) != t ||
                (t != CONFIG_TYPE_GROUP && config_setting_length(d) != config_setting_length(e)))
                return bad(c, e, "does not match the shape of the setting it ramps");
            int rc = apply_ramp(c, d, e, w);
            if (rc)
                return rc;
            continue;
        }
        if (!is_number(e) || !is_number(d))
            return bad(c, e, "a ramp moves numbers only");
        double v = number_of(d) + (number_of(e) - number_of(d)) * w;
        if (config_setting_type(d) == CONFIG_TYPE_FLOAT)
            config_setting_set_float(d, v);
        else
            config_setting_set_int64(d, (long long)llround(v));
    }
    return LM_OK;
}

/* Whether a variant changes what may not change during a run. */
static int structure_differs(const lm_scenario *a, const lm_scenario *b) {
    if (a->n_persons != b->n_persons || a->n_months != b->n_months || a->seed != b->seed ||
        a->start_year != b->start_year || a->start_month != b->start_month ||
        a->n_regions != b->n_regions || a->n_programmes != b->n_programmes ||
        a->has_health != b->has_health || a->has_earnings != b->has_earnings ||
        a->trial != b->trial || a->panel != b->panel || a->represents != b->represents ||
        a->duration_cap_months != b->duration_cap_months ||
        a->sample_fraction != b->sample_fraction || a->deflate_level != b->deflate_level ||
        a->chunk_persons != b->chunk_persons)
        return 1;
    for (int r = 0; r < a->n_regions; r++)
        if (strcmp(a->regions[r].name, b->regions[r].name) != 0)
            return 1;
    for (int k = 0; k < a->n_programmes; k++)
        if (strcmp(a->programmes[k].name, b->programmes[k].name) != 0)
            return 1;
    return 0;
}

/* Build one validated variant per month in which a timeline entry takes
 * effect (every month of a ramp). */
static int build_timeline(ctx *c, config_t *cfg) {
    static const char *const entry_keys[] = {"from", "to", "set", "ramp", NULL};
    lm_scenario *sc = c->sc;
    const config_setting_t *tl;
    int rc;
    if ((rc = get_list(c, config_root_setting(cfg), "timeline", 0, &tl)) || !tl)
        return rc;
    int n = config_setting_length(tl);
    int *months = lm__calloc((size_t)sc->n_months + 1, sizeof *months);
    if (!months)
        return LM_FAIL(c->err, LM_ENOMEM, "out of memory");
    int n_months = 0;
    /* Validate the entries and collect the months of change. */
    for (int k = 0; k < n; k++) {
        const config_setting_t *e = config_setting_get_elem(tl, (unsigned)k), *fs, *ts;
        int from, to = 0;
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            rc = bad(c, e, "expected { from = \"YYYY-MM\"; set = { ... }; }");
            goto done;
        }
        if ((rc = check_keys(c, e, entry_keys)))
            goto done;
        if (!(fs = config_setting_get_member(e, "from"))) {
            rc = missing(c, e, "from", "the month \"YYYY-MM\" the change takes effect");
            goto done;
        }
        if ((rc = month_of(c, fs, &from)))
            goto done;
        const config_setting_t *set = config_setting_get_member(e, "set");
        const config_setting_t *ramp = config_setting_get_member(e, "ramp");
        ts = config_setting_get_member(e, "to");
        if (!!set == !!ramp) {
            rc = bad(c, e, "give exactly one of `set` (a change) or `ramp` (a gradual change)");
            goto done;
        }
        if ((set && config_setting_type(set) != CONFIG_TYPE_GROUP) ||
            (ramp && config_setting_type(ramp) != CONFIG_TYPE_GROUP)) {
            rc = bad(c, set ? set : ramp, "expected a group of settings { ... }");
            goto done;
        }
        const config_setting_t *ap = config_setting_get_member(set ? set : ramp, "appraisal");
        if (ap) {
            rc = bad(c, ap,
                     "the appraisal cannot change over the timeline: its prices, discount "
                     "rate and period are those of the whole run");
            goto done;
        }
        if (ramp) {
            if (!ts) {
                rc = missing(c, e, "to", "the month the ramp reaches its values");
                goto done;
            }
            if ((rc = month_of(c, ts, &to)))
                goto done;
            if (to < from) {
                rc = bad(c, ts, "a ramp must end at or after its start");
                goto done;
            }
        } else if (ts) {
            rc = bad(c, ts, "`to` belongs to a ramp; a `set` takes effect at `from`");
            goto done;
        }
        /* months[] flags the months in which something changes. */
        for (int m = from; m <= (ramp ? to : from) && m <= sc->n_months; m++)
            months[m] = 1;
    }
    for (int m = 1; m <= sc->n_months; m++)
        if (months[m])
            months[n_months++] = m; /* compacts in place: n_months < m */
    sc->variants = n_months ? lm__calloc((size_t)n_months, sizeof *sc->variants) : NULL;
    sc->variant_month = n_months ? lm__calloc((size_t)n_months, sizeof *sc->variant_month) : NULL;
    if (n_months && (!sc->variants || !sc->variant_month)) {
        rc = LM_FAIL(c->err, LM_ENOMEM, "out of memory");
        goto done;
    }
    for (int v = 0; v < n_months; v++) {
        const int mv = months[v];
        config_t vc;
        config_init(&vc);
        if (!config_read_string(&vc, sc->text)) {
            config_destroy(&vc);
            rc = LM_FAIL(c->err, LM_ESYNTAX, "%s: cannot re-read the scenario", c->path);
            goto done;
        }
        const config_setting_t *vtl = config_lookup(&vc, "timeline");
        for (int k = 0; k < n && rc == LM_OK; k++) {
            const config_setting_t *e = config_setting_get_elem(vtl, (unsigned)k);
            int from, to = 0;
            month_of(c, config_setting_get_member(e, "from"), &from);
            if (from > mv)
                continue;
            const config_setting_t *set = config_setting_get_member(e, "set");
            if (set) {
                if (!merge_group(config_root_setting(&vc), set, NULL))
                    rc = LM_FAIL(c->err, LM_ENOMEM, "out of memory");
                continue;
            }
            month_of(c, config_setting_get_member(e, "to"), &to);
            double w = (double)(mv - from + 1) / (double)(to - from + 1);
            rc = apply_ramp(c, config_root_setting(&vc), config_setting_get_member(e, "ramp"),
                            w > 1.0 ? 1.0 : w);
        }
        lm_scenario *var = rc ? NULL : lm__calloc(1, sizeof *var);
        if (!rc && !var)
            rc = LM_FAIL(c->err, LM_ENOMEM, "out of memory");
        if (!rc) {
            ctx vcx = {c->path, c->err, var, {{0}}};
            rc = validate_tree(&vcx, &vc);
            if (!rc && structure_differs(sc, var))
                rc = LM_FAIL_CFG(c->err, LM_ECONFIG, c->path, 0,
                                 "a timeline change may not alter the simulation, represents, "
                                 "regions, programmes (their names and number), the trial, the "
                                 "health or earnings switches, duration_cap_months or output");
            if (rc && c->err && strncmp(c->err->msg, "timeline", 8) != 0) {
                char msg[LM_ERROR_MSG_MAX];
                snprintf(msg, sizeof msg, "%s", c->err->msg);
                snprintf(c->err->msg, sizeof c->err->msg,
                         "timeline (settings in force from month %d): %.600s", mv, msg);
            }
        }
        config_destroy(&vc);
        if (rc) {
            lm_scenario_destroy(var);
            goto done;
        }
        sc->variants[v] = var;
        sc->variant_month[v] = mv;
        sc->n_variants = v + 1;
    }
done:
    lm__free(months);
    return rc;
}

const lm_scenario *lm_scenario_at(const lm_scenario *sc, int month) {
    const lm_scenario *v = sc;
    for (int k = 0; k < sc->n_variants && sc->variant_month[k] <= month; k++)
        v = sc->variants[k];
    return v;
}

/* ------------------------------------------------------------------------ */
/* Warnings: settings that are valid but can have no effect in this run      */

/* Append one line to c->sc->warnings. */
__attribute__((format(printf, 2, 3))) static int add_warning(ctx *c, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    lm_scenario *sc = c->sc;
    size_t old = sc->warnings ? strlen(sc->warnings) : 0, len = strlen(line);
    char *w = lm__malloc(old + len + 2);
    if (!w)
        return LM_FAIL(c->err, LM_ENOMEM, "out of memory");
    if (old) {
        memcpy(w, sc->warnings, old);
        w[old++] = '\n';
    }
    memcpy(w + old, line, len + 1);
    lm__free(sc->warnings);
    sc->warnings = w;
    sc->n_warnings++;
    return LM_OK;
}

/* Where the setting at `path` is ("file:line: path = value"), or, when the
 * tree has no such setting (a default), "file: path". */
static void where_of(ctx *c, const config_t *cfg, const char *path, char *buf, size_t n) {
    const config_setting_t *s = config_lookup(cfg, path);
    if (s)
        lm__cfg_where(CFG(c), s, buf, n);
    else
        snprintf(buf, n, "%s: %s", c->path, path);
}

/* Entries of the timeline taking effect after the last simulated month. */
static int timeline_warnings(ctx *c, const config_t *cfg) {
    const lm_scenario *sc = c->sc;
    const config_setting_t *tl = config_lookup(cfg, "timeline");
    const int end = sc->start_year * LM_MONTHS_PER_YEAR + sc->start_month - 1 + sc->n_months;
    int rc = LM_OK;
    for (int k = 0; tl && k < config_setting_length(tl) && rc == LM_OK; k++) {
        const config_setting_t *e = config_setting_get_elem(tl, (unsigned)k);
        const config_setting_t *fs = config_setting_get_member(e, "from");
        int from;
        if (month_of(c, fs, &from) || from <= sc->n_months)
            continue; /* (validated by build_timeline) */
        char where[512];
        lm__cfg_where(CFG(c), fs, where, sizeof where);
        rc = add_warning(
            c,
            "%s: this %s in month %d, after the run's last month (%d, %04d-%02d): "
            "it has no effect",
            where, config_setting_get_member(e, "ramp") ? "ramp starts" : "change takes effect",
            from, sc->n_months, end / LM_MONTHS_PER_YEAR, end % LM_MONTHS_PER_YEAR + 1);
    }
    return rc;
}

/* A warning about setting `key` of destination j of origin o. */
static int warn_logit(ctx *c, const config_t *cfg, int o, int j, const char *key,
                      const char *what) {
    char path[128], where[512];
    snprintf(path, sizeof path, "transitions.%s.[%d].%s", state_names[o], j, key);
    where_of(c, cfg, path, where, sizeof where);
    return add_warning(c, "%s: %s", where, what);
}

/* Transition settings that cannot act: a months-in-work clock on a
 * destination without a duration term, and the pay-churn type without a
 * coefficient, or coefficients without anyone of the type. A timeline
 * variant that supplies the missing part counts (the settings in force
 * change month by month). */
static int transition_warnings(ctx *c, const config_t *cfg) {
    const lm_scenario *sc = c->sc;
    int rc = LM_OK, any_coef = 0, any_share = 0;
    for (int v = -1; v < sc->n_variants; v++) {
        const lm_scenario *x = v < 0 ? sc : sc->variants[v];
        for (int s = 0; s < LM_N_STATES; s++)
            any_share |= x->pay_churn[s] > 0.0;
        for (int o = 0; o < LM_N_STATES; o++)
            for (int j = 0; j < x->n_dest[o]; j++)
                any_coef |= x->dest[o][j].pay_churn != 0.0;
    }
    for (int o = 0; o < LM_N_STATES && rc == LM_OK; o++)
        for (int j = 0; j < sc->n_dest[o] && rc == LM_OK; j++) {
            const lm_logit *lg = &sc->dest[o][j];
            int dur_term = 0;
            for (int v = -1; v < sc->n_variants; v++) {
                const lm_scenario *x = v < 0 ? sc : sc->variants[v];
                dur_term |= j < x->n_dest[o] && x->dest[o][j].log_duration != 0.0;
            }
            if (lg->duration_in_work && !dur_term)
                rc = warn_logit(c, cfg, o, j, "duration",
                                "months in work count only through log_duration, which is 0 "
                                "here: it has no effect");
            if (lg->pay_churn != 0.0 && !any_share && rc == LM_OK)
                rc = warn_logit(c, cfg, o, j, "pay_churn",
                                "no one is of the pay-churn type (population.pay_churn_by_state "
                                "is all 0): it has no effect");
        }
    if (rc == LM_OK && any_share && !any_coef) {
        char where[512];
        where_of(c, cfg, "population.pay_churn_by_state", where, sizeof where);
        rc = add_warning(c,
                         "%s: no transition has a pay_churn coefficient, so the type changes "
                         "nothing",
                         where);
    }
    return rc;
}

/* Attribute values that some person can have in some month: regions,
 * sexes, ethnic groups and qualifications with a share above 0, and the
 * labour states reachable from the initial and entrant states through the
 * transitions, in the scenario or any of its timeline variants. */
typedef struct present {
    uint32_t region;
    uint8_t sex, minority, qual, state;
} present;

static void add_present(const lm_scenario *v, present *p) {
    for (int r = 0; r < v->n_regions; r++)
        p->region |= v->regions[r].share > 0.0 ? 1u << r : 0u;
    p->sex |= (uint8_t)((v->female_share < 1.0 ? 1u : 0u) | (v->female_share > 0.0 ? 2u : 0u));
    p->minority |=
        (uint8_t)((v->minority_share < 1.0 ? 1u : 0u) | (v->minority_share > 0.0 ? 2u : 0u));
    for (int q = 0; q < LM_N_QUALS; q++)
        p->qual |= (uint8_t)(v->qual_share[q] > 0.0 ? 1u << q : 0u);
    for (int i = 0; i < v->n_initial; i++)
        for (int s = 0; s < LM_N_STATES; s++)
            p->state |= (uint8_t)(v->initial[i].shares[s] > 0.0 ? 1u << s : 0u);
    for (int i = 0; i < v->n_entrant; i++)
        for (int s = 0; s < LM_N_STATES; s++)
            p->state |= (uint8_t)(v->entrant[i].shares[s] > 0.0 ? 1u << s : 0u);
}

static void add_reachable(const lm_scenario *v, present *p) {
    for (int changed = 1; changed;) {
        const uint8_t before = p->state;
        for (int o = 0; o < LM_N_STATES; o++)
            for (int j = 0; ((p->state >> o) & 1u) && j < v->n_dest[o]; j++) {
                const int to = v->dest[o][j].to;
                p->state |= (uint8_t)(to == LM_DEST_EMPLOYED ? (1u << LM_STATE_EMPLOYED_POOR) |
                                                                   (1u << LM_STATE_EMPLOYED_GOOD)
                                                             : 1u << to);
            }
        changed = p->state != before;
    }
}

/* Why no one can match pg's `eligible` (NULL: someone may); *key names the
 * selector key. */
static const char *nobody_eligible(const lm_programme *pg, const present *p, const char **key) {
    const lm_selector *e = &pg->eligible;
    if (!(e->state & p->state))
        return *key = "state", "only states no one can be in (no initial or entrant share, no "
                               "transition into them)";
    if (!(e->region & p->region))
        return *key = "region", "only regions with population share 0";
    if (!(e->sex & p->sex))
        return *key = "sex", "only a sex with population share 0";
    if (!(e->minority & p->minority))
        return *key = "minority", "only an ethnic group with population share 0";
    if (!(e->qual & p->qual))
        return *key = "qual", "only qualifications with population share 0";
    return NULL;
}

/* Programmes that can never refer anyone, or never start anyone, in any
 * month of the run (the settings in force month by month, lm_scenario_at).
 * Places mirror lm__prog_allocate: places x persons / represents accrue as
 * credit every month, whole places are taken out, and a caseload cap (0: no
 * cap) scaled the same way bounds the starts even with nobody on the
 * programme yet. */
/* An appraisal that starts after the run's end appraises nothing. */
static int appraisal_warnings(ctx *c, const config_t *cfg) {
    const lm_scenario *sc = c->sc;
    const config_setting_t *s = config_lookup(cfg, "appraisal.start");
    if (!sc->has_appraisal || sc->appraisal_first <= sc->n_months || !s)
        return LM_OK;
    const int end = sc->start_year * LM_MONTHS_PER_YEAR + sc->start_month - 1 + sc->n_months;
    char where[512];
    lm__cfg_where(CFG(c), s, where, sizeof where);
    return add_warning(c,
                       "%s: the appraisal starts after the run's last month (%d, %04d-%02d): "
                       "lmsim compare appraises nothing",
                       where, sc->n_months, end / LM_MONTHS_PER_YEAR, end % LM_MONTHS_PER_YEAR + 1);
}

static int programme_warnings(ctx *c, const config_t *cfg) {
    const lm_scenario *sc = c->sc;
    const double scale = (double)sc->n_persons / (double)sc->represents;
    present pres = {0, 0, 0, 0, 0};
    add_present(sc, &pres);
    for (int v = 0; v < sc->n_variants; v++)
        add_present(sc->variants[v], &pres);
    add_reachable(sc, &pres);
    for (int v = 0; v < sc->n_variants; v++)
        add_reachable(sc->variants[v], &pres);
    int rc = LM_OK;
    for (int k = 0; k < sc->n_programmes && rc == LM_OK; k++) {
        const char *name = sc->programmes[k].name, *why = NULL, *key = NULL;
        char path[160], where[512];
        int refer_month = 0, open = 0, refers = 0;
        for (int m = 1; m <= sc->n_months && !refer_month; m++) {
            const lm_programme *pg = &lm_scenario_at(sc, m)->programmes[k];
            if (!pg->open)
                continue;
            open = 1;
            if (!(pg->referral_logit[0] > -(double)INFINITY))
                continue;
            refers = 1;
            if (!(why = nobody_eligible(pg, &pres, &key)))
                refer_month = m;
        }
        if (!refer_month) {
            if (!open) {
                snprintf(path, sizeof path, "programmes.%s.open", name);
                where_of(c, cfg, path, where, sizeof where);
                rc = add_warning(c,
                                 "%s: programme '%s' is closed in every month of the run "
                                 "(1-%d): no one is referred to it, it has no effect",
                                 where, name, sc->n_months);
            } else if (!refers) {
                snprintf(path, sizeof path, "programmes.%s.referral.probability", name);
                where_of(c, cfg, path, where, sizeof where);
                rc = add_warning(c,
                                 "%s: programme '%s' has referral probability 0 in every month "
                                 "it is open: no one is referred to it, it has no effect",
                                 where, name);
            } else {
                snprintf(path, sizeof path, "programmes.%s.eligible.%s", name, key);
                where_of(c, cfg, path, where, sizeof where);
                rc = add_warning(c,
                                 "%s: programme '%s' can refer no one: `eligible` selects %s: it "
                                 "has no effect",
                                 where, name, why);
            }
            continue;
        }
        double credit[LM_MAX_REGIONS] = {0};
        int places = 0, uncapped = 0, starts = 0;
        for (int m = 1; m <= sc->n_months && !starts; m++) {
            const lm_programme *pg = &lm_scenario_at(sc, m)->programmes[k];
            for (int r = 0; r < sc->n_regions; r++) {
                credit[r] += pg->places_per_month[r] * scale;
                int64_t avail = (int64_t)floor(credit[r]), capped = avail;
                credit[r] -= (double)avail;
                places |= pg->places_per_month[r] > 0.0;
                if (pg->caseload_cap[r] > 0.0 &&
                    (int64_t)floor(pg->caseload_cap[r] * scale) < capped)
                    capped = (int64_t)floor(pg->caseload_cap[r] * scale);
                if (m >= refer_month && pg->open) {
                    uncapped |= avail > 0;
                    starts |= capped > 0;
                }
            }
        }
        if (starts)
            continue;
        snprintf(path, sizeof path, "programmes.%s.capacity.%s", name,
                 places && uncapped ? "caseload_cap" : "places_per_month");
        where_of(c, cfg, path, where, sizeof where);
        if (!places)
            rc = add_warning(c,
                             "%s: programme '%s' has no places in any month of the run: "
                             "referrals only queue and drop out, no one starts, it has no effect",
                             where, name);
        else if (uncapped)
            rc = add_warning(c,
                             "%s: programme '%s' can start no one: its caseload cap scaled to the "
                             "run (x %.6g = persons / represents) is below one person in every "
                             "region with places: it has no effect",
                             where, name, scale);
        else
            rc = add_warning(c,
                             "%s: programme '%s' can start no one: its places scaled to the run "
                             "(x %.6g = persons / represents) add up to less than one place in "
                             "every region over the %d months: it has no effect",
                             where, name, scale, sc->n_months);
    }
    return rc;
}

int lm_scenario_warnings(const lm_scenario *sc, char *buf, size_t n) {
    if (buf && n > 0)
        snprintf(buf, n, "%s", sc && sc->warnings ? sc->warnings : "");
    return sc ? sc->n_warnings : 0;
}

/* After the tree is read: command-line overrides, validation, the
 * normalised text and the timeline variants, into c->sc. */
static int finish_load(ctx *c, config_t *cfg, const char *const *overrides, size_t n_overrides) {
    int rc;
    for (size_t i = 0; i < n_overrides; i++)
        if ((rc = apply_override(c, cfg, overrides[i])))
            return rc;
    if ((rc = validate_tree(c, cfg)) || (rc = scenario_text(c, cfg)) ||
        (rc = build_timeline(c, cfg)) || (rc = timeline_warnings(c, cfg)) ||
        (rc = transition_warnings(c, cfg)) || (rc = programme_warnings(c, cfg)) ||
        (rc = appraisal_warnings(c, cfg)))
        return rc;
    return LM_OK;
}

int lm_scenario_load(const char *path, const char *const *overrides, size_t n_overrides,
                     lm_scenario **out, lm_error *err) {
    config_t cfg;
    ctx c = {path, err, NULL, {{0}}};
    int rc;
    *out = NULL;
    lm_scenario *sc = lm__calloc(1, sizeof *sc);
    if (!sc)
        return LM_FAIL(err, LM_ENOMEM, "out of memory");
    c.sc = sc;
    snprintf(sc->source_path, sizeof sc->source_path, "%s", path);
    if ((rc = read_tree(&c, path, &cfg)) || (rc = finish_load(&c, &cfg, overrides, n_overrides)))
        goto fail;
    config_destroy(&cfg);
    *out = sc;
    return LM_OK;
fail:
    config_destroy(&cfg);
    lm_scenario_destroy(sc);
    return rc;
}

int lm_scenario_load_string(const char *text, const char *display_name,
                            const char *const *overrides, size_t n_overrides, lm_scenario **out,
                            lm_error *err) {
    const char *name = display_name ? display_name : "(scenario text)";
    config_t cfg, own;
    ctx c = {name, err, NULL, {{0}}};
    int rc;
    *out = NULL;
    config_init(&cfg);
    config_init(&own);
    lm_scenario *sc = lm__calloc(1, sizeof *sc);
    if (!sc) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory");
        goto fail;
    }
    c.sc = sc;
    snprintf(sc->source_path, sizeof sc->source_path, "%s", name);
    /* Text has no folder for @include to be relative to (libconfig would use
     * the working folder, and exits the process on a folder). */
    const int inc = text ? lm__cfg_include_line(text) : 0;
    if (inc) {
        rc = LM_FAIL_CFG(err, LM_ECONFIG, name, inc, "@include is not allowed in scenario text");
        goto fail;
    }
    if (!text || !config_read_string(&cfg, text)) {
        rc = LM_FAIL_CFG(err, LM_ESYNTAX, name, text ? config_error_line(&cfg) : 0, "%s",
                         text ? config_error_text(&cfg) : "no scenario text");
        goto fail;
    }
    /* As for a file: no base here (the text stands alone), and its own `set`
     * list, if any (normalised text has none), from a second parse. */
    config_setting_remove(config_root_setting(&cfg), "base");
    config_setting_remove(config_root_setting(&cfg), "set");
    config_read_string(&own, text);
    if ((rc = apply_set_list(&c, &cfg, &own, name, 0)) ||
        (rc = finish_load(&c, &cfg, overrides, n_overrides)))
        goto fail;
    config_destroy(&own);
    config_destroy(&cfg);
    *out = sc;
    return LM_OK;
fail:
    config_destroy(&own);
    config_destroy(&cfg);
    lm_scenario_destroy(sc);
    return rc;
}

int lm_scenario_setting_number(const lm_scenario *sc, const char *path, double *value,
                               lm_error *err) {
    config_t cfg;
    int rc = LM_OK;
    *value = (double)NAN;
    config_init(&cfg);
    if (!config_read_string(&cfg, sc->text)) {
        config_destroy(&cfg);
        return LM_FAIL(err, LM_ESYNTAX, "%s: cannot re-read the scenario text", sc->source_path);
    }
    const config_setting_t *s = config_lookup(&cfg, path);
    if (!s)
        rc = LM_FAIL(err, LM_EARG, "'%s': no such setting in scenario '%s'", path, sc->name);
    else if (!is_number(s))
        rc = LM_FAIL(err, LM_EARG, "'%s' is not a number in scenario '%s'", path, sc->name);
    else
        *value = number_of(s);
    config_destroy(&cfg);
    return rc;
}

void lm_scenario_destroy(lm_scenario *sc) {
    if (!sc)
        return;
    for (int v = 0; v < sc->n_variants; v++)
        lm_scenario_destroy(sc->variants[v]);
    lm__free(sc->variants);
    lm__free(sc->variant_month);
    lm__free(sc->warnings);
    for (int q = 0; q < sc->n_align; q++)
        lm__free(sc->align[q].targets);
    lm__free(sc->text);
    lm__free(sc);
}
