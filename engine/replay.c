/* replay.c - validation moments from existing run files.
 *
 * Purpose. `lmsim validate --run FILE.h5` computes the targets from runs
 * already made, through the same accumulators as a streamed run
 * (moments.c): each month of the file's panel is presented to
 * lm__moments_observe() as the population of that month, so a full panel
 * gives exactly the values the run itself would have given.
 *
 * Data. The panel's columns stand for slots (full panel: every slot; a
 * sampled panel: the sampled slots, in slot order). A column's occupant's
 * fixed attributes come from /persons: its first rows are the month-0
 * occupants in column order, then each month's entrants into panel columns
 * (ascending slot) in month order (docs/output-format.md). Per month we read
 * one row of /panel/state, /panel/months_in_state and
 * /panel/sustained_months, update the attributes of that month's entrants
 * and observe. /aggregates/programmes gives the programme counts of each
 * month (all persons, in every panel mode).
 *
 * What a file cannot give: without a panel (mode "none") every person
 * measure; and the follow-up of programme referrals (referral month and
 * trial arm are not in the panel), so `programme` targets. Those targets
 * are left unavailable with the reason (lm__moments_lack).
 *
 * Invariants: HDF5's error printing is off during each call (the library
 * never prints); every id opened is closed on every path; buffers are
 * allocated once per file.
 */
#define _POSIX_C_SOURCE 200809L
#include "lmsim/moments.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "lmsim/population.h"
#include "lmsim/programmes.h"
#include "targets_internal.h"

/* Attributes of /persons read for each column's occupant. */
enum { P_ENTRY, P_SLOT, P_BIRTH, P_REGION, P_FEMALE, P_DISABLED, P_MINORITY, P_QUAL, P_CARING, NP };
static const char *const person_ds[NP] = {
    "/persons/entry_month", "/persons/slot",   "/persons/birth_month",
    "/persons/region",      "/persons/female", "/persons/disabled",
    "/persons/minority",    "/persons/qual",   "/persons/caring"};

/* A root attribute: a variable-length string (owned by caller, free with
 * H5free_memory) or a number of mem_type. */
static char *root_str(hid_t f, const char *name) {
    hid_t a = H5Aopen(f, name, H5P_DEFAULT), t = H5I_INVALID_HID;
    char *v = NULL;
    if (a >= 0 && (t = H5Tcopy(H5T_C_S1)) >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
        H5Tset_cset(t, H5T_CSET_UTF8) >= 0 && H5Aread(a, t, &v) < 0)
        v = NULL;
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return v;
}

static int root_num(hid_t f, const char *name, hid_t mem_type, void *v) {
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    int ok = a >= 0 && H5Aread(a, mem_type, v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

/* Open a run file read-only: LM_EIO unless it is a readable HDF5 file. */
static int open_run(const char *path, hid_t *f, lm_error *err) {
    *f = H5I_INVALID_HID;
    if (access(path, R_OK) != 0)
        return LM_FAIL(err, LM_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return LM_FAIL(err, LM_EIO, "'%s' is not an HDF5 file", path);
    if ((*f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        return LM_FAIL(err, LM_EIO, "cannot open HDF5 file '%s'", path);
    return LM_OK;
}

int lm_moments_file_scenario(const char *path, lm_scenario **out, lm_error *err) {
    H5E_auto2_t efn = NULL;
    void *edata = NULL;
    hid_t f;
    char *text = NULL;
    char name[600];
    *out = NULL;
    H5Eget_auto2(H5E_DEFAULT, &efn, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = open_run(path, &f, err);
    if (rc == LM_OK && (text = root_str(f, "scenario_text")) == NULL)
        rc = LM_FAIL(err, LM_EHDF5,
                     "'%s' is not an lmsim run file: root attribute 'scenario_text' missing", path);
    if (rc == LM_OK) {
        snprintf(name, sizeof name, "%.500s (scenario_text)", path);
        rc = lm_scenario_load_string(text, name, NULL, 0, out, err);
    }
    if (text)
        H5free_memory(text);
    if (f >= 0)
        H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, efn, edata);
    return rc;
}

/* Buffers of one file. */
typedef struct replay {
    lm_population pop; /* columns as slots; track_* NULL */
    int32_t *cols;     /* /panel/person: slot of each column */
    int32_t *rows[NP]; /* /persons (uint8 attributes widened) */
    int64_t n_rows;
    int64_t *entrants; /* columns receiving a new person this month */
    int64_t *prog;     /* (n_months + 1) * LM_PROG_CELLS, or NULL */
} replay;

static void replay_free(replay *r) {
    lm__free(r->pop.birth_month);
    lm__free(r->pop.region);
    lm__free(r->pop.female);
    lm__free(r->pop.disabled);
    lm__free(r->pop.minority);
    lm__free(r->pop.qual);
    lm__free(r->pop.caring);
    lm__free(r->pop.state);
    lm__free(r->pop.months_in_state);
    lm__free(r->pop.sustained_months);
    lm__free(r->cols);
    for (int k = 0; k < NP; k++)
        lm__free(r->rows[k]);
    lm__free(r->entrants);
    lm__free(r->prog);
}

/* Attributes of persons row q into column j. */
static void place(replay *r, int64_t q, int64_t j) {
    r->pop.birth_month[j] = r->rows[P_BIRTH][q];
    r->pop.region[j] = (uint8_t)r->rows[P_REGION][q];
    r->pop.female[j] = (uint8_t)r->rows[P_FEMALE][q];
    r->pop.disabled[j] = (uint8_t)r->rows[P_DISABLED][q];
    r->pop.minority[j] = (uint8_t)r->rows[P_MINORITY][q];
    r->pop.qual[j] = (uint8_t)r->rows[P_QUAL][q];
    r->pop.caring[j] = (uint8_t)r->rows[P_CARING][q];
}

/* /aggregates/programmes into r->prog, laid out as LM_PROG_CELLS a month. */
static int read_programmes(hid_t f, const lm_scenario *sc, replay *r, const char *path,
                           lm_error *err) {
    const int P = sc->n_programmes;
    if (P == 0 || H5Lexists(f, "/aggregates/programmes", H5P_DEFAULT) <= 0)
        return LM_OK;
    const size_t per = (size_t)P * LM_N_ARMS * LM_PM_N, months = (size_t)sc->n_months + 1;
    int64_t *flat = lm__malloc(months * per * sizeof *flat);
    r->prog = lm__calloc(months * LM_PROG_CELLS, sizeof *r->prog);
    if (!flat || !r->prog) {
        lm__free(flat);
        return LM_FAIL(err, LM_ENOMEM, "'%s': no memory for /aggregates/programmes", path);
    }
    hid_t d = H5Dopen2(f, "/aggregates/programmes", H5P_DEFAULT);
    hid_t s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    hsize_t dims[4] = {0, 0, 0, 0};
    int ok = s >= 0 && H5Sget_simple_extent_ndims(s) == 4 &&
             H5Sget_simple_extent_dims(s, dims, NULL) == 4 && dims[0] == months &&
             dims[1] == (hsize_t)P && dims[2] == LM_N_ARMS && dims[3] == LM_PM_N &&
             H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, flat) >= 0;
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    /* Programme k, arm a, measure q is at lm_prog_index(k, a, q) in both. */
    for (size_t t = 0; ok && t < months; t++)
        memcpy(r->prog + t * LM_PROG_CELLS, flat + t * per, per * sizeof *flat);
    lm__free(flat);
    if (!ok)
        return LM_FAIL(err, LM_EHDF5,
                       "'%s': /aggregates/programmes is not [%zu months][%d programmes][%d arms]"
                       "[%d measures]",
                       path, months, P, LM_N_ARMS, LM_PM_N);
    return LM_OK;
}

/* The panel's columns and /persons, and the population buffers. */
static int read_persons(hid_t f, const lm_scenario *sc, replay *r, const char *path,
                        lm_error *err) {
    const int64_t n = lm__h5_vec_len(f, "/panel/person");
    const int64_t rows = lm__h5_vec_len(f, "/persons/id");
    if (n < 1 || rows < n)
        return LM_FAIL(err, LM_EHDF5, "'%s': no panel columns /panel/person or rows /persons",
                       path);
    const size_t c = (size_t)n;
    r->n_rows = rows;
    r->pop.n = n;
    r->cols = lm__malloc(c * sizeof *r->cols);
    r->entrants = lm__malloc(c * sizeof *r->entrants);
    r->pop.birth_month = lm__malloc(c * sizeof *r->pop.birth_month);
    r->pop.region = lm__malloc(c);
    r->pop.female = lm__malloc(c);
    r->pop.disabled = lm__malloc(c);
    r->pop.minority = lm__malloc(c);
    r->pop.qual = lm__malloc(c);
    r->pop.caring = lm__malloc(c);
    r->pop.state = lm__malloc(c);
    r->pop.months_in_state = lm__malloc(c * sizeof *r->pop.months_in_state);
    r->pop.sustained_months = lm__malloc(c * sizeof *r->pop.sustained_months);
    int ok = r->cols && r->entrants && r->pop.birth_month && r->pop.region && r->pop.female &&
             r->pop.disabled && r->pop.minority && r->pop.qual && r->pop.caring && r->pop.state &&
             r->pop.months_in_state && r->pop.sustained_months;
    for (int k = 0; ok && k < NP; k++)
        ok = (r->rows[k] = lm__malloc((size_t)rows * sizeof *r->rows[k])) != NULL;
    if (!ok)
        return LM_FAIL(err, LM_ENOMEM, "'%s': no memory for %lld panel columns", path,
                       (long long)n);
    if (lm__h5_read_vec(f, "/panel/person", H5T_NATIVE_INT32, 4, -1, n, r->cols))
        return LM_FAIL(err, LM_EHDF5, "'%s': cannot read /panel/person", path);
    for (int k = 0; k < NP; k++)
        if (lm__h5_read_vec(f, person_ds[k], H5T_NATIVE_INT32, 4, -1, rows, r->rows[k]))
            return LM_FAIL(err, LM_EHDF5, "'%s': cannot read %s", path, person_ds[k]);
    /* Attributes index the accumulators' tables: they must be in range. */
    const int32_t top[NP] = {INT32_MAX, INT32_MAX,      INT32_MAX, sc->n_regions - 1, 1, 1,
                             1,         LM_N_QUALS - 1, 1};
    for (int64_t q = 0; q < rows; q++)
        for (int k = P_REGION; k < NP; k++)
            if (r->rows[k][q] < 0 || r->rows[k][q] > top[k])
                return LM_FAIL(err, LM_EHDF5,
                               "'%s': %s[%lld] = %d is out of range for the scenario of the "
                               "validation (%d regions)",
                               path, person_ds[k], (long long)q, r->rows[k][q], sc->n_regions);
    return LM_OK;
}

int lm_moments_replay(lm_moments *m, const char *path, lm_error *err) {
    H5E_auto2_t efn = NULL;
    void *edata = NULL;
    hid_t f = H5I_INVALID_HID;
    replay r;
    char *mode = NULL;
    int64_t n_persons = 0;
    int32_t n_months = 0;
    int rc;
    const lm_scenario *sc = NULL;
    memset(&r, 0, sizeof r);
    H5Eget_auto2(H5E_DEFAULT, &efn, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if ((rc = open_run(path, &f, err)))
        goto done;
    if (!root_num(f, "n_persons", H5T_NATIVE_INT64, &n_persons) ||
        !root_num(f, "n_months", H5T_NATIVE_INT32, &n_months) ||
        (mode = root_str(f, "panel_mode")) == NULL) {
        rc = LM_FAIL(err, LM_EHDF5,
                     "'%s' is not an lmsim run file: root attributes n_persons, n_months, "
                     "panel_mode missing",
                     path);
        goto done;
    }
    sc = lm__moments_scenario(m);
    if (n_persons != sc->n_persons || n_months != sc->n_months) {
        rc = LM_FAIL(err, LM_EARG,
                     "'%s' is a run of %lld persons x %d months, not of %lld x %d like the "
                     "scenario of the validation",
                     path, (long long)n_persons, n_months, (long long)sc->n_persons, sc->n_months);
        goto done;
    }
    const int has_panel = strcmp(mode, "none") != 0;
    if ((rc = read_programmes(f, sc, &r, path, err)) ||
        (has_panel && (rc = read_persons(f, sc, &r, path, err))))
        goto done;
    if (!has_panel) {
        char why[LM_TARGET_REASON_MAX];
        snprintf(why, sizeof why, "'%.80s' has no panel (run with --panel full or sample:F)", path);
        lm__moments_lack(m, LM__LACK_PANEL, why);
    }
    lm__moments_lack(m, LM__LACK_FOLLOW_UP,
                     "run files do not hold the referral follow-up: run lmsim validate on the "
                     "scenario");
    lm__moments_new_run(m);
    const int64_t n = r.pop.n;
    const int has_disabled = H5Lexists(f, "/panel/disabled", H5P_DEFAULT) > 0;
    int64_t next = n; /* /persons rows: month-0 occupants, then entrants */
    for (int64_t j = 0; j < n; j++)
        place(&r, j, j);
    for (int t = 0; t <= n_months; t++) {
        int64_t n_entr = 0;
        while (t > 0 && next < r.n_rows && r.rows[P_ENTRY][next] == t) {
            int64_t j = lm__column_of(r.cols, n, r.rows[P_SLOT][next]);
            if (j < 0 || n_entr >= n) {
                rc = LM_FAIL(err, LM_EHDF5, "'%s': /persons row %lld is in no panel column", path,
                             (long long)next);
                goto done;
            }
            place(&r, next++, j);
            r.entrants[n_entr++] = j;
        }
        if (has_panel && (lm__h5_read_vec(f, "/panel/state", 0, 1, t, n, r.pop.state) ||
                          lm__h5_read_vec(f, "/panel/months_in_state", H5T_NATIVE_UINT16, 2, t, n,
                                          r.pop.months_in_state) ||
                          lm__h5_read_vec(f, "/panel/sustained_months", H5T_NATIVE_UINT16, 2, t, n,
                                          r.pop.sustained_months))) {
            rc = LM_FAIL(err, LM_EHDF5, "'%s': cannot read month %d of the panel", path, t);
            goto done;
        }
        /* Disability can be acquired after entry: this month's from the
         * panel (files without /panel/disabled keep /persons at entry). */
        if (has_panel && has_disabled &&
            lm__h5_read_vec(f, "/panel/disabled", H5T_NATIVE_UINT8, 1, t, n, r.pop.disabled)) {
            rc = LM_FAIL(err, LM_EHDF5, "'%s': cannot read month %d of /panel/disabled", path, t);
            goto done;
        }
        for (int64_t j = 0; has_panel && j < n; j++)
            if (r.pop.state[j] >= LM_N_STATES) {
                rc = LM_FAIL(err, LM_EHDF5, "'%s': /panel/state[%d, %lld] = %d is not a state",
                             path, t, (long long)j, r.pop.state[j]);
                goto done;
            }
        lm__obs ob = {
            &r.pop, t, 0, n, r.entrants, n_entr, r.prog ? r.prog + (size_t)t * LM_PROG_CELLS : NULL,
            NULL};
        if ((rc = lm__moments_observe(m, &ob, err)))
            goto done;
    }
done:
    if (mode)
        H5free_memory(mode);
    if (f >= 0)
        H5Fclose(f);
    replay_free(&r);
    H5Eset_auto2(H5E_DEFAULT, efn, edata);
    return rc;
}
