/* output_cf.c - CF conventions and netCDF-4 metadata of a run file.
 *
 * Purpose. A run file is plain HDF5 (output_h5.c). This pass, run by
 * lm_h5_close() after every dataset is written and before the file is
 * closed, adds what netCDF-4 readers (netCDF-C, xarray with the netcdf4 or
 * h5netcdf engine) need to see named dimensions and to interpret values,
 * following the CF conventions (cfconventions.org, version 1.8):
 *
 *   - every dataset gets `long_name` and `units` ("1" for counts, indices
 *     and codes), and the root gets `Conventions = "CF-1.8"`;
 *   - every dimension of every dataset is an HDF5 dimension scale with a
 *     name (H5DSset_scale / H5DSattach_scale), so no reader invents
 *     phony_dim_N: in /aggregates and /outcomes `month`, `state`, `region`,
 *     `sex`, `disabled`, `minority`, `age_band`, `programme`, `arm`,
 *     `measure`, `gap`, `headline_row`, `programme_row`; `row` in /persons;
 *     `referral` and `target` at the root for /referrals and /validation.
 *     A scale is int32 0..n-1 (the index, as before); a categorical one
 *     carries CF `flag_values` / `flag_meanings` (the names, blanks and
 *     other characters CF does not allow in a word replaced by '_');
 *   - each group with a month dimension has an auxiliary coordinate `time`
 *     [month]: int32 days from the first day of start_month to the first
 *     day of each month, units "days since YYYY-MM-01", calendar
 *     "proleptic_gregorian"; datasets with a month dimension name it in
 *     `coordinates`. The month scale itself stays the month index (units
 *     "1"): "months since" is decoded by cftime only in the 360_day
 *     calendar, and UDUNITS' month is 30.436875 days, so no real-calendar
 *     month unit decodes to the first of each month (docs/output-format.md,
 *     "Reading with xarray / netCDF");
 *   - categorical panel variables (/panel/state, /panel/phase) keep their
 *     HDF5 enum, now a committed datatype at the root (output_h5.c commits
 *     it before the panel is created: netCDF-C reads an enum variable only
 *     when it has read the enum's named type first, and it reads the root
 *     before any group), and also get `flag_values` / `flag_meanings`.
 *
 * Invariants. Data values are never touched: scales and `time` are new
 * datasets; everything else is attributes. Every string attribute added
 * here is fixed-length (as netCDF-C writes text attributes), so this pass
 * adds nothing to HDF5's global heap, whose collection headers are not
 * checksummed (docs/output-format.md, Integrity); only the dimension-scale
 * API's own DIMENSION_LIST attributes (variable-length references) live
 * there. New datasets outside /panel carry a Fletcher-32 checksum like the
 * rest of the file. A dataset that is absent (panel mode "none", a run
 * without programmes or targets) is skipped.
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "lmsim/programmes.h"
#include "lmsim/scenario.h"
#include "internal.h"

/* Longest flag_meanings: LM_MAX_REGIONS region names or the measures. */
#define FLAG_TEXT 4096
#define MAX_DIMS 7

/* How the values of a dimension or variable are named (flag_meanings). */
typedef enum cf_flags {
    FL_NONE,
    FL_STATE,
    FL_PHASE,
    FL_HOURS,
    FL_PROGRAMME0, /* 0 none, then the programmes (panel, referrals) */
    FL_PROGRAMME,  /* the programmes from index 0 (aggregates, costs) */
    FL_REGION,
    FL_SEX,
    FL_DISABLED,
    FL_MINORITY,
    FL_AGE_BAND,
    FL_ARM,
    FL_MEASURE,
    FL_GAP,
    FL_QUAL
} cf_flags;

/* One dimension name with its meaning. */
typedef struct cf_dim {
    const char *name;
    const char *long_name;
    cf_flags flags;
} cf_dim;

static const cf_dim cf_dims[] = {
    {"month", "month of the run (0: start_month, the initial population)", FL_NONE},
    {"state", "labour state", FL_STATE},
    {"region", "region", FL_REGION},
    {"sex", "sex", FL_SEX},
    {"disabled", "disability", FL_DISABLED},
    {"minority", "ethnicity", FL_MINORITY},
    {"age_band", "age band", FL_AGE_BAND},
    {"programme", "programme", FL_PROGRAMME},
    {"arm", "trial arm", FL_ARM},
    {"measure", "programme measure", FL_MEASURE},
    {"gap", "employment-rate gap", FL_GAP},
    {"headline_row", "row of /outcomes/headline (a group of persons)", FL_NONE},
    {"programme_row", "row of /outcomes/programmes", FL_NONE},
    {"row", "row of /persons (a person who appears in the panel)", FL_NONE},
    {"referral", "row of /referrals (a programme spell)", FL_NONE},
    {"target", "row of /validation (a target)", FL_NONE},
};

/* One dataset: where, what, in which unit, along which dimensions (NULL
 * dims: already attached, as the panel's month and person). */
typedef struct cf_var {
    const char *path;
    const char *long_name;
    const char *units;
    cf_flags flags;
    const char *dims[MAX_DIMS];
} cf_var;

#define AGG_DIMS                                                                                   \
    { "month", "state", "region", "sex", "disabled", "minority", "age_band" }

static const cf_var cf_vars[] = {
    {"/panel/state", "labour state", "1", FL_STATE, {NULL}},
    {"/panel/months_in_state",
     "completed months in the current labour state",
     "months",
     FL_NONE,
     {NULL}},
    {"/panel/months_since_job",
     "months since the last job (0 in work, 65535 has not worked)",
     "months",
     FL_NONE,
     {NULL}},
    {"/panel/sustained_months", "consecutive months in work", "months", FL_NONE, {NULL}},
    {"/panel/person_id", "id of the person occupying the column's slot", "1", FL_NONE, {NULL}},
    {"/panel/programme", "programme of the current spell", "1", FL_PROGRAMME0, {NULL}},
    {"/panel/phase", "phase of the programme spell", "1", FL_PHASE, {NULL}},
    {"/panel/limiting", "limiting health condition (1 yes)", "1", FL_NONE, {NULL}},
    {"/panel/hours", "hours of work", "1", FL_HOURS, {NULL}},
    {"/panel/earnings",
     "monthly gross earnings in whole pounds (saturating at 65535)",
     "GBP",
     FL_NONE,
     {NULL}},
    {"/panel/disabled", "disabled this month (1 yes)", "1", FL_NONE, {NULL}},
    {"/panel/month",
     "month of the run (0: start_month, the initial population)",
     "1",
     FL_NONE,
     {NULL}},
    {"/panel/person", "slot of the panel column", "1", FL_NONE, {NULL}},
    {"/persons/id", "person id", "1", FL_NONE, {"row"}},
    {"/persons/slot", "slot (panel column in full mode)", "1", FL_NONE, {"row"}},
    {"/persons/entry_month", "month of entry (0: the initial population)", "1", FL_NONE, {"row"}},
    {"/persons/birth_month", "month of birth on the run's month scale", "1", FL_NONE, {"row"}},
    {"/persons/region", "region", "1", FL_REGION, {"row"}},
    {"/persons/female", "woman (1 yes)", "1", FL_NONE, {"row"}},
    {"/persons/disabled", "disabled at entry (1 yes)", "1", FL_NONE, {"row"}},
    {"/persons/minority", "ethnic minority (1 yes)", "1", FL_NONE, {"row"}},
    {"/persons/qual", "qualification", "1", FL_QUAL, {"row"}},
    {"/persons/caring", "caring responsibility (1 yes)", "1", FL_NONE, {"row"}},
    {"/persons/low_employability", "low-employability type (1 yes)", "1", FL_NONE, {"row"}},
    {"/aggregates/counts", "persons", "1", FL_NONE, AGG_DIMS},
    {"/aggregates/earnings_pence", "summed monthly earnings", "pence", FL_NONE, AGG_DIMS},
    {"/aggregates/programmes",
     "programme flows in the month and stocks at its end, simulated persons",
     "1",
     FL_NONE,
     {"month", "programme", "arm", "measure"}},
    {"/outcomes/employment_gaps",
     "employment-rate gap in percentage points",
     "percent",
     FL_NONE,
     {"month", "gap"}},
    {"/outcomes/programme_costs",
     "programme costs in the month, represented population",
     "GBP",
     FL_NONE,
     {"month", "programme"}},
    {"/outcomes/headline",
     "headline outcomes by group (compound table)",
     "1",
     FL_NONE,
     {"headline_row"}},
    {"/outcomes/programmes",
     "outcomes and costs by programme and arm (compound table)",
     "1",
     FL_NONE,
     {"programme_row"}},
    {"/referrals", "programme spells (compound table)", "1", FL_NONE, {"referral"}},
    {"/validation", "validation targets and results (compound table)", "1", FL_NONE, {"target"}},
};

#define N_CF_VARS (sizeof cf_vars / sizeof *cf_vars)
#define N_CF_DIMS (sizeof cf_dims / sizeof *cf_dims)

/* Write the fixed-length UTF-8 string attribute `name` (replacing one of
 * that name): netCDF-C reads it as text, and it is stored in the object
 * header, not the global heap. */
int lm__h5_put_text(int64_t loc, const char *name, const char *value) {
    size_t n = strlen(value);
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    int ok = t >= 0 && s >= 0 && H5Tset_size(t, n > 0 ? n : 1) >= 0 &&
             H5Tset_strpad(t, H5T_STR_NULLTERM) >= 0 && H5Tset_cset(t, H5T_CSET_UTF8) >= 0;
    if (ok && H5Aexists(loc, name) > 0)
        ok = H5Adelete(loc, name) >= 0;
    ok = ok && (a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
         H5Awrite(a, t, n > 0 ? value : "") >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    return ok ? 0 : -1;
}

/* Append `name` to the blank-separated list `buf` as one CF word: a
 * character other than a letter, digit or one of _.+-@ becomes '_'. */
static void add_word(char *buf, const char *name) {
    size_t n = strlen(buf);
    if (n > 0 && n + 1 < FLAG_TEXT)
        buf[n++] = ' ';
    for (const char *c = name; *c && n + 1 < FLAG_TEXT; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 strchr("_.+-@", *c) != NULL;
        buf[n++] = ok ? *c : '_';
    }
    buf[n] = '\0';
}

/* The names of the values 0..*n-1 of `flags`, as flag_meanings in buf.
 * Returns 0, or -1 when the values are not named. */
static int flag_meanings(const lm_scenario *sc, cf_flags flags, char *buf, int *n) {
    static const char *const phase[] = {"none", "queued", "search", "in_work"};
    static const char *const hours[] = {"not_in_work", "part_time", "full_time"};
    static const char *const sex[] = {"male", "female"};
    static const char *const dis[] = {"not_disabled", "disabled"};
    static const char *const min[] = {"white", "ethnic_minority"};
    static const char *const arm[] = {"none", "treatment", "control"};
    static const char *const gap[] = {"disability", "gender", "ethnicity"};
    static const char *const qual[] = {"none", "low", "mid", "high"};
    const char *const *fixed = NULL;
    buf[0] = '\0';
    *n = 0;
    switch (flags) {
    case FL_STATE:
        for (int s = 0; s < LM_N_STATES; s++)
            add_word(buf, lm_state_name(s));
        *n = LM_N_STATES;
        return 0;
    case FL_AGE_BAND:
        for (int a = 0; a < LM_N_AGE_BANDS; a++)
            add_word(buf, lm_age_band_name(a));
        *n = LM_N_AGE_BANDS;
        return 0;
    case FL_REGION:
        for (int r = 0; r < sc->n_regions; r++)
            add_word(buf, sc->regions[r].name);
        *n = sc->n_regions;
        return 0;
    case FL_PROGRAMME0:
    case FL_PROGRAMME:
        if (sc->n_programmes == 0)
            return -1;
        if (flags == FL_PROGRAMME0)
            add_word(buf, "none");
        for (int p = 0; p < sc->n_programmes; p++)
            add_word(buf, sc->programmes[p].name);
        *n = sc->n_programmes + (flags == FL_PROGRAMME0);
        return 0;
    case FL_MEASURE:
        for (int m = 0; m < LM_PM_N; m++)
            add_word(buf, lm_prog_measure_name(m));
        *n = LM_PM_N;
        return 0;
    case FL_PHASE:
        fixed = phase, *n = 4;
        break;
    case FL_HOURS:
        fixed = hours, *n = 3;
        break;
    case FL_SEX:
        fixed = sex, *n = 2;
        break;
    case FL_DISABLED:
        fixed = dis, *n = 2;
        break;
    case FL_MINORITY:
        fixed = min, *n = 2;
        break;
    case FL_ARM:
        fixed = arm, *n = 3;
        break;
    case FL_GAP:
        fixed = gap, *n = 3;
        break;
    case FL_QUAL:
        fixed = qual, *n = 4;
        break;
    default:
        return -1;
    }
    for (int k = 0; k < *n; k++)
        add_word(buf, fixed[k]);
    return 0;
}

/* flag_values 0..n-1 of the dataset's own integer width (uint8 for the
 * panel's enums and codes, int32 for the scales) and flag_meanings. */
static int put_flags(hid_t d, const lm_scenario *sc, cf_flags flags) {
    char buf[FLAG_TEXT];
    int n = 0;
    if (flags == FL_NONE || flag_meanings(sc, flags, buf, &n) != 0 || n <= 0)
        return 0;
    hid_t t = H5Dget_type(d);
    if (t < 0)
        return -1;
    int narrow = H5Tget_size(t) == 1;
    H5Tclose(t);
    uint8_t v8[256];
    int32_t v32[256];
    if (n > 256)
        return -1;
    for (int k = 0; k < n; k++)
        v8[k] = (uint8_t)k, v32[k] = k;
    hsize_t dim = (hsize_t)n;
    hid_t s = H5Screate_simple(1, &dim, NULL), a = H5I_INVALID_HID;
    int ok =
        s >= 0 &&
        (a = H5Acreate2(d, "flag_values", narrow ? H5T_STD_U8LE : H5T_STD_I32LE, s, H5P_DEFAULT,
                        H5P_DEFAULT)) >= 0 &&
        H5Awrite(a, narrow ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT32, narrow ? (void *)v8 : v32) >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (s >= 0)
        H5Sclose(s);
    return ok && lm__h5_put_text(d, "flag_meanings", buf) == 0 ? 0 : -1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Values of a new 1-D dataset: the index k itself (!is_time), or the days
 * from the first of month 0 to the first of month k (calendar month
 * start_month + k of start_year), so that nothing needs a buffer. */
typedef struct vec_fill {
    int is_time;
    int64_t day0;
    int year, month;
} vec_fill;

static int32_t fill_value(const vec_fill *fill, hsize_t k) {
    if (!fill->is_time)
        return (int32_t)k;
    int64_t m = (int64_t)fill->month - 1 + (int64_t)k;
    return (int32_t)(days_from_civil(fill->year + m / 12, (int)(m % 12) + 1, 1) - fill->day0);
}

#define VEC_BLOCK 4096 /* values written per H5Dwrite, from the stack */

/* A new 1-D int32 dataset `name` in g of n values, chunked by at most
 * 4 x VEC_BLOCK with a Fletcher-32 checksum (contiguous when empty),
 * written in blocks: no allocation, whatever n. */
static hid_t new_vec(hid_t g, const char *name, hsize_t n, const vec_fill *fill) {
    hsize_t chunk = n < 4 * VEC_BLOCK ? n : 4 * VEC_BLOCK;
    hid_t s = H5Screate_simple(1, &n, NULL), p = H5Pcreate(H5P_DATASET_CREATE), d = H5I_INVALID_HID,
          ms = H5I_INVALID_HID;
    int32_t buf[VEC_BLOCK];
    int ok = s >= 0 && p >= 0 &&
             (n == 0 || (H5Pset_chunk(p, 1, &chunk) >= 0 && H5Pset_shuffle(p) >= 0 &&
                         H5Pset_deflate(p, 1) >= 0 && H5Pset_fletcher32(p) >= 0));
    ok = ok && (d = H5Dcreate2(g, name, H5T_STD_I32LE, s, H5P_DEFAULT, p, H5P_DEFAULT)) >= 0;
    for (hsize_t k0 = 0; ok && k0 < n; k0 += VEC_BLOCK) {
        hsize_t m = n - k0 < VEC_BLOCK ? n - k0 : VEC_BLOCK;
        for (hsize_t k = 0; k < m; k++)
            buf[k] = fill_value(fill, k0 + k);
        ok = (ms = H5Screate_simple(1, &m, NULL)) >= 0 &&
             H5Sselect_hyperslab(s, H5S_SELECT_SET, &k0, NULL, &m, NULL) >= 0 &&
             H5Dwrite(d, H5T_NATIVE_INT32, ms, s, H5P_DEFAULT, buf) >= 0;
        if (ms >= 0)
            H5Sclose(ms);
        ms = H5I_INVALID_HID;
    }
    if (!ok && d >= 0) {
        H5Dclose(d);
        d = H5I_INVALID_HID;
    }
    if (p >= 0)
        H5Pclose(p);
    if (s >= 0)
        H5Sclose(s);
    return d;
}

static const cf_dim *find_dim(const char *name) {
    for (size_t k = 0; k < N_CF_DIMS; k++)
        if (strcmp(cf_dims[k].name, name) == 0)
            return &cf_dims[k];
    return NULL;
}

/* The dimension scale `name` of group g with n values 0..n-1: opened, or
 * created with its attributes. */
static hid_t get_scale(hid_t g, const lm_scenario *sc, const char *name, hsize_t n) {
    const cf_dim *dim = find_dim(name);
    if (dim == NULL)
        return H5I_INVALID_HID;
    if (H5Lexists(g, name, H5P_DEFAULT) > 0)
        return H5Dopen2(g, name, H5P_DEFAULT);
    const vec_fill index = {0, 0, 0, 0};
    hid_t d = new_vec(g, name, n, &index);
    if (d >= 0 && (H5DSset_scale(d, name) < 0 || lm__h5_put_text(d, "long_name", dim->long_name) ||
                   lm__h5_put_text(d, "units", "1") || put_flags(d, sc, dim->flags))) {
        H5Dclose(d);
        d = H5I_INVALID_HID;
    }
    return d;
}

/* The auxiliary coordinate `time` [month] of group g: the first day of
 * each month as days since the first day of start_month. */
static int make_time(hid_t g, const lm_scenario *sc, hid_t month) {
    if (H5Lexists(g, "time", H5P_DEFAULT) > 0)
        return 0;
    const hsize_t n = (hsize_t)sc->n_months + 1;
    const vec_fill days = {1, days_from_civil(sc->start_year, sc->start_month, 1), sc->start_year,
                           sc->start_month};
    char units[64];
    snprintf(units, sizeof units, "days since %04d-%02d-01 00:00:00", sc->start_year,
             sc->start_month);
    hid_t d = new_vec(g, "time", n, &days);
    int ok = d >= 0 && H5DSattach_scale(d, month, 0) >= 0 &&
             lm__h5_put_text(d, "standard_name", "time") == 0 &&
             lm__h5_put_text(d, "long_name", "first day of the month") == 0 &&
             lm__h5_put_text(d, "units", units) == 0 &&
             lm__h5_put_text(d, "calendar", "proleptic_gregorian") == 0;
    if (d >= 0)
        H5Dclose(d);
    return ok ? 0 : -1;
}

/* Annotate one dataset v (open as d in group g). */
static int annotate(hid_t g, hid_t d, const lm_scenario *sc, const cf_var *v) {
    hsize_t dims[MAX_DIMS];
    hid_t s = H5Dget_space(d);
    int rank = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    if (rank > MAX_DIMS)
        rank = -1;
    if (rank >= 0)
        rank = H5Sget_simple_extent_dims(s, dims, NULL);
    if (s >= 0)
        H5Sclose(s);
    if (rank < 0 || lm__h5_put_text(d, "long_name", v->long_name) ||
        lm__h5_put_text(d, "units", v->units) || put_flags(d, sc, v->flags))
        return -1;
    int has_month = 0;
    for (int k = 0; k < rank && v->dims[0] != NULL; k++) {
        if (k >= MAX_DIMS || v->dims[k] == NULL)
            return -1;
        hid_t sd = get_scale(g, sc, v->dims[k], dims[k]);
        int ok = sd >= 0 && H5DSattach_scale(d, sd, (unsigned)k) >= 0;
        if (ok && k == 0 && strcmp(v->dims[0], "month") == 0)
            ok = make_time(g, sc, sd) == 0;
        if (sd >= 0)
            H5Dclose(sd);
        if (!ok)
            return -1;
    }
    if (v->dims[0] == NULL && rank == 2 && H5Lexists(g, "month", H5P_DEFAULT) > 0) {
        /* A panel variable: month and person are attached already. */
        hid_t sd = H5Dopen2(g, "month", H5P_DEFAULT);
        int ok = sd >= 0 && make_time(g, sc, sd) == 0;
        if (sd >= 0)
            H5Dclose(sd);
        if (!ok)
            return -1;
        has_month = 1;
    }
    if (rank > 0 && v->dims[0] != NULL && strcmp(v->dims[0], "month") == 0)
        has_month = 1;
    return has_month ? lm__h5_put_text(d, "coordinates", "time") : 0;
}

int lm__h5_cf_annotate(int64_t file, const lm_scenario *sc, const char **failed) {
    *failed = "/";
    if (lm__h5_put_text(file, "Conventions", "CF-1.8") != 0)
        return -1;
    for (size_t k = 0; k < N_CF_VARS; k++) {
        const cf_var *v = &cf_vars[k];
        *failed = v->path;
        if (H5LTpath_valid(file, v->path, 1) <= 0)
            continue;
        const char *slash = strrchr(v->path, '/');
        char group[64];
        snprintf(group, sizeof group, "%.*s", slash == v->path ? 1 : (int)(slash - v->path),
                 v->path);
        hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
        hid_t d = g >= 0 ? H5Dopen2(file, v->path, H5P_DEFAULT) : H5I_INVALID_HID;
        int ok = d >= 0 && annotate(g, d, sc, v) == 0;
        if (d >= 0)
            H5Dclose(d);
        if (g >= 0)
            H5Gclose(g);
        if (!ok)
            return -1;
    }
    *failed = NULL;
    return 0;
}
