/* test_output.c - unit tests of the HDF5 run file writer and the headline table.
 *
 * Builds a small scenario and population by hand (no config, no sim), writes
 * run files through lm_h5_open / lm_h5_write_month / lm_h5_close and reads
 * them back with the HDF5 C API. Panel values are high-entropy functions of
 * (slot, month) so that a misplaced byte, a wrong shuffle plane or a swapped
 * chunk shows up. chunk_persons is smaller than n and does not divide it, so
 * the parallel deflate path writes several chunks and a padded edge chunk.
 * Error paths: unwritable directory (LM_EIO, no file), abort (no file),
 * months out of order, missing months at close, ids beyond int32, describe
 * of missing / non-HDF5 / foreign HDF5 files.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h" /* lm__alloc_fail_after */

#include "lmsim/output.h"
#include "lmsim/rng.h"
#include "lmsim/sim.h"

#define N_PERSONS 1003 /* not a multiple of the chunk width */
#define CHUNK 256
#define N_MONTHS 4

static char tmpdir[64];

/* ---- fixtures ------------------------------------------------------------ */

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t h2(int64_t slot, int month, int k) {
    return mix(((uint64_t)slot << 20) ^ ((uint64_t)month << 4) ^ (uint64_t)k ^ 0x5bd1e995ULL);
}

static lm_scenario *make_scenario(int level, lm_panel_mode panel) {
    lm_scenario *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    snprintf(sc->name, sizeof sc->name, "unit_output");
    sc->text = NULL; /* must be written as "" */
    sc->n_persons = N_PERSONS;
    sc->n_months = N_MONTHS;
    sc->start_year = 2025;
    sc->start_month = 4;
    sc->seed = 0xF00DFACE12345678ULL; /* above INT64_MAX: seed must stay unsigned */
    sc->n_regions = 3;
    snprintf(sc->regions[0].name, sizeof sc->regions[0].name, "North Wales");
    snprintf(sc->regions[1].name, sizeof sc->regions[1].name, "Mid and South West Wales");
    snprintf(sc->regions[2].name, sizeof sc->regions[2].name, "South East Wales");
    sc->panel = panel;
    sc->sample_fraction = 0.3;
    sc->deflate_level = level;
    sc->chunk_persons = CHUNK;
    return sc;
}

static lm_population *make_population(int64_t n) {
    lm_population *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->n = n;
    p->generation = calloc((size_t)n, sizeof *p->generation);
    p->birth_month = calloc((size_t)n, sizeof *p->birth_month);
    p->region = calloc((size_t)n, 1);
    p->female = calloc((size_t)n, 1);
    p->disabled = calloc((size_t)n, 1);
    p->minority = calloc((size_t)n, 1);
    p->qual = calloc((size_t)n, 1);
    p->caring = calloc((size_t)n, 1);
    p->low_emp = calloc((size_t)n, 1);
    p->state = calloc((size_t)n, 1);
    p->months_in_state = calloc((size_t)n, sizeof *p->months_in_state);
    p->months_since_job = calloc((size_t)n, sizeof *p->months_since_job);
    p->sustained_months = calloc((size_t)n, sizeof *p->sustained_months);
    assert_non_null(p->sustained_months);
    p->prog = calloc((size_t)n, 1);
    p->prog_phase = calloc((size_t)n, 1);
    p->limiting = calloc((size_t)n, 1);
    p->hours = calloc((size_t)n, 1);
    p->earnings = calloc((size_t)n, sizeof(float));
    assert_non_null(p->earnings);
    assert_non_null(p->prog);
    assert_non_null(p->prog_phase);
    return p;
}

static void free_population(lm_population *p) {
    free(p->generation);
    free(p->birth_month);
    free(p->region);
    free(p->female);
    free(p->disabled);
    free(p->minority);
    free(p->qual);
    free(p->caring);
    free(p->low_emp);
    free(p->state);
    free(p->months_in_state);
    free(p->months_since_job);
    free(p->sustained_months);
    free(p->prog);
    free(p->prog_phase);
    free(p->limiting);
    free(p->hours);
    free(p->earnings);
    free(p);
}

static void draw_fixed(lm_population *p, int64_t i, int month) {
    uint64_t h = h2(i, month, 1);
    p->birth_month[i] = month - 16 * 12 - (int32_t)(h % (48 * 12));
    p->region[i] = (uint8_t)((h >> 12) % 3);
    p->female[i] = (uint8_t)((h >> 16) & 1);
    p->disabled[i] = (uint8_t)((h >> 17) & 1);
    p->minority[i] = (uint8_t)((h >> 18) & 1);
    p->qual[i] = (uint8_t)((h >> 19) & 3);
    p->caring[i] = (uint8_t)((h >> 21) & 1);
    p->low_emp[i] = (uint8_t)((h >> 22) & 1);
}

/* Changing variables of every slot at `month`; entrants are slots with
 * h % 29 == 0 (their generation and fixed attributes change). */
static int64_t set_month(lm_population *p, int month, int64_t *entrants) {
    int64_t n_entr = 0;
    for (int64_t i = 0; i < p->n; i++) {
        uint64_t h = h2(i, month, 0);
        if (month == 0) {
            p->generation[i] = (uint16_t)(h % 3);
            draw_fixed(p, i, 0);
        } else if (h % 29 == 0) {
            p->generation[i]++;
            draw_fixed(p, i, month);
            entrants[n_entr++] = i;
        }
        p->state[i] = (uint8_t)((h >> 8) % LM_N_STATES);
        p->months_in_state[i] = (uint16_t)(h >> 16);
        p->months_since_job[i] = (h >> 32) % 5 == 0 ? LM_NEVER_WORKED : (uint16_t)(h >> 40);
        p->sustained_months[i] = (uint16_t)((h >> 48) % 700);
    }
    return n_entr;
}

static void path_in_tmp(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whether any temporary file of path (PATH.tmp.XXXXXXXX) exists. */
static int tmp_exists(const char *path) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash)
        *slash = '\0';
    DIR *d = opendir(slash ? dir : ".");
    if (!d)
        return 0;
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s.tmp", base);
    int found = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        found |= strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return found;
}

/* Aggregate counts for all months: (n_months + 1) * cells, from the population. */
static void count_month(const lm_scenario *sc, const lm_population *p, int64_t *c) {
    memset(c, 0, LM_AGG_CELLS(sc->n_regions) * sizeof *c);
    for (int64_t i = 0; i < p->n; i++)
        c[lm_agg_index(sc->n_regions, p->state[i], p->region[i], p->female[i], p->disabled[i],
                       p->minority[i], (int)(i % LM_N_AGE_BANDS))]++;
}

/* Snapshot of the panel variables of a month, [var][slot] as written. */
typedef struct snapshot {
    uint8_t state[N_PERSONS];
    uint16_t mis[N_PERSONS], msj[N_PERSONS], sus[N_PERSONS];
    int32_t id[N_PERSONS];
} snapshot;

static void take(snapshot *s, const lm_population *p) {
    for (int64_t i = 0; i < p->n; i++) {
        s->state[i] = p->state[i];
        s->mis[i] = p->months_in_state[i];
        s->msj[i] = p->months_since_job[i];
        s->sus[i] = p->sustained_months[i];
        s->id[i] = (int32_t)lm_population_id(p, i);
    }
}

/* Expected /persons rows, appended as the writer should. */
typedef struct prow {
    int32_t id, slot, entry, birth;
    uint8_t region, female, disabled, minority, qual, caring, low_emp;
} prow;

typedef struct run_record {
    snapshot snap[N_MONTHS + 1];
    prow rows[N_PERSONS * (N_MONTHS + 1)];
    int64_t n_rows;
    int64_t counts[(N_MONTHS + 1) * 7 * 3 * 32];
    lm_headline headline;
} run_record;

static void add_prow(run_record *r, const lm_population *p, int64_t i, int month) {
    prow *x = &r->rows[r->n_rows++];
    x->id = (int32_t)lm_population_id(p, i);
    x->slot = (int32_t)i;
    x->entry = month;
    x->birth = p->birth_month[i];
    x->region = p->region[i];
    x->female = p->female[i];
    x->disabled = p->disabled[i];
    x->minority = p->minority[i];
    x->qual = p->qual[i];
    x->caring = p->caring[i];
    x->low_emp = p->low_emp[i];
}

/* Columns of the panel for a mode: all slots, or the deterministic sample. */
static int64_t columns(const lm_scenario *sc, lm_panel_mode mode, int64_t *cols) {
    int64_t n = 0;
    for (int64_t i = 0; i < N_PERSONS; i++)
        if (mode == LM_PANEL_FULL ||
            lm_rng_uniform(sc->seed, (uint64_t)i, 0, LM_PURPOSE_SAMPLE, 0) < sc->sample_fraction)
            cols[n++] = i;
    return n;
}

static int is_col(const int64_t *cols, int64_t n, int64_t slot) {
    for (int64_t j = 0; j < n; j++)
        if (cols[j] == slot)
            return 1;
    return 0;
}

/* Write a complete file and record what was written. */
static void write_run(const char *path, lm_scenario *sc, lm_panel_mode mode, run_record *r) {
    lm_population *p = make_population(N_PERSONS);
    int64_t entrants[N_PERSONS], cols[N_PERSONS];
    int64_t n_cols = columns(sc, mode, cols);
    size_t cells = LM_AGG_CELLS(sc->n_regions);
    lm_h5_writer *w = NULL;
    lm_error err;

    r->n_rows = 0;
    set_month(p, 0, entrants);
    take(&r->snap[0], p);
    count_month(sc, p, r->counts);
    for (int64_t j = 0; j < n_cols; j++)
        add_prow(r, p, cols[j], 0);
    assert_int_equal(lm_h5_open(path, sc, p, mode, sc->sample_fraction, &w, &err), LM_OK);
    assert_non_null(w);
    assert_true(tmp_exists(path));
    assert_false(exists(path));
    for (int m = 1; m <= N_MONTHS; m++) {
        int64_t n_entr = set_month(p, m, entrants);
        take(&r->snap[m], p);
        count_month(sc, p, r->counts + (size_t)m * cells);
        for (int64_t k = 0; k < n_entr; k++)
            if (mode != LM_PANEL_NONE && is_col(cols, n_cols, entrants[k]))
                add_prow(r, p, entrants[k], m);
        assert_int_equal(lm_h5_write_month(w, p, m, entrants, n_entr, &err), LM_OK);
    }
    lm_headline_compute(sc, r->counts, r->counts + (size_t)N_MONTHS * cells, &r->headline);
    assert_int_equal(lm_h5_close(w, r->counts, &r->headline, &err), LM_OK);
    assert_false(tmp_exists(path));
    assert_true(exists(path));
    free_population(p);
}

/* ---- readers -------------------------------------------------------------- */

static void read_ds(hid_t f, const char *name, hid_t mtype, void *buf, hsize_t *dims, int rank) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t s = H5Dget_space(d);
    assert_int_equal(H5Sget_simple_extent_ndims(s), rank);
    H5Sget_simple_extent_dims(s, dims, NULL);
    hid_t t = mtype;
    if (t < 0)
        t = H5Dget_type(d); /* enum: read with its own type */
    assert_true(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    if (mtype < 0)
        H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
}

static void read_str_attr(hid_t loc, const char *name, char *buf, size_t size) {
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *p = NULL;
    assert_true(H5Aread(a, t, &p) >= 0);
    snprintf(buf, size, "%s", p);
    H5free_memory(p);
    H5Tclose(t);
    H5Aclose(a);
}

static void check_panel(const char *path, const lm_scenario *sc, lm_panel_mode mode,
                        const run_record *r) {
    int64_t cols[N_PERSONS];
    int64_t n_cols = columns(sc, mode, cols);
    size_t rows = N_MONTHS + 1;
    uint8_t *u8 = malloc(rows * (size_t)n_cols);
    uint16_t *u16 = malloc(rows * (size_t)n_cols * 2);
    int32_t *i32 = malloc(rows * (size_t)n_cols * 4);
    hsize_t dims[2];
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);

    read_ds(f, "/panel/state", H5I_INVALID_HID, u8, dims, 2);
    assert_int_equal(dims[0], rows);
    assert_int_equal(dims[1], n_cols);
    for (size_t m = 0; m < rows; m++)
        for (int64_t j = 0; j < n_cols; j++)
            assert_int_equal(u8[m * (size_t)n_cols + (size_t)j], r->snap[m].state[cols[j]]);
    const char *u16_names[3] = {"/panel/months_in_state", "/panel/months_since_job",
                                "/panel/sustained_months"};
    for (int v = 0; v < 3; v++) {
        read_ds(f, u16_names[v], H5T_NATIVE_UINT16, u16, dims, 2);
        assert_int_equal(dims[1], n_cols);
        for (size_t m = 0; m < rows; m++)
            for (int64_t j = 0; j < n_cols; j++) {
                const snapshot *s = &r->snap[m];
                uint16_t want = v == 0   ? s->mis[cols[j]]
                                : v == 1 ? s->msj[cols[j]]
                                         : s->sus[cols[j]];
                assert_int_equal(u16[m * (size_t)n_cols + (size_t)j], want);
            }
    }
    read_ds(f, "/panel/person_id", H5T_NATIVE_INT32, i32, dims, 2);
    for (size_t m = 0; m < rows; m++)
        for (int64_t j = 0; j < n_cols; j++)
            assert_int_equal(i32[m * (size_t)n_cols + (size_t)j], r->snap[m].id[cols[j]]);
    read_ds(f, "/panel/person", H5T_NATIVE_INT32, i32, dims, 1);
    assert_int_equal(dims[0], n_cols);
    for (int64_t j = 0; j < n_cols; j++)
        assert_int_equal(i32[j], cols[j]);
    read_ds(f, "/panel/month", H5T_NATIVE_INT32, i32, dims, 1);
    assert_int_equal(dims[0], rows);
    for (size_t m = 0; m < rows; m++)
        assert_int_equal(i32[m], m);

    /* chunking and filters: (1, CHUNK), shuffle then deflate (none at level 0) */
    hid_t d = H5Dopen2(f, "/panel/months_in_state", H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(d);
    hsize_t chunk[2];
    assert_int_equal(H5Pget_chunk(dcpl, 2, chunk), 2);
    assert_int_equal(chunk[0], 1);
    assert_int_equal(chunk[1], n_cols < CHUNK ? n_cols : CHUNK);
    if (sc->deflate_level > 0) {
        unsigned flags, cd[4];
        size_t ncd = 4;
        assert_int_equal(H5Pget_nfilters(dcpl), 2);
        assert_int_equal(H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, NULL, NULL),
                         H5Z_FILTER_SHUFFLE);
        ncd = 4;
        assert_int_equal(H5Pget_filter2(dcpl, 1, &flags, &ncd, cd, 0, NULL, NULL),
                         H5Z_FILTER_DEFLATE);
    } else {
        assert_int_equal(H5Pget_nfilters(dcpl), 0);
    }
    H5Pclose(dcpl);
    H5Dclose(d);

    /* state is an enum with the lm_state names */
    d = H5Dopen2(f, "/panel/state", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    assert_int_equal(H5Tget_class(t), H5T_ENUM);
    for (int s = 0; s < LM_N_STATES; s++) {
        char name[64];
        uint8_t v = (uint8_t)s;
        assert_true(H5Tenum_nameof(t, &v, name, sizeof name) >= 0);
        assert_string_equal(name, lm_state_name(s));
    }
    H5Tclose(t);
    H5Dclose(d);

    /* /persons */
    int32_t *pi = malloc((size_t)r->n_rows * 4);
    uint8_t *pu = malloc((size_t)r->n_rows);
    const char *i32_names[4] = {"/persons/id", "/persons/slot", "/persons/entry_month",
                                "/persons/birth_month"};
    for (int a = 0; a < 4; a++) {
        read_ds(f, i32_names[a], H5T_NATIVE_INT32, pi, dims, 1);
        assert_int_equal(dims[0], r->n_rows);
        for (int64_t k = 0; k < r->n_rows; k++) {
            const prow *x = &r->rows[k];
            int32_t want = a == 0 ? x->id : a == 1 ? x->slot : a == 2 ? x->entry : x->birth;
            assert_int_equal(pi[k], want);
        }
    }
    const char *u8_names[7] = {"/persons/region",           "/persons/female", "/persons/disabled",
                               "/persons/minority",         "/persons/qual",   "/persons/caring",
                               "/persons/low_employability"};
    for (int a = 0; a < 7; a++) {
        read_ds(f, u8_names[a], H5T_NATIVE_UINT8, pu, dims, 1);
        assert_int_equal(dims[0], r->n_rows);
        for (int64_t k = 0; k < r->n_rows; k++) {
            const prow *x = &r->rows[k];
            uint8_t want = a == 0   ? x->region
                           : a == 1 ? x->female
                           : a == 2 ? x->disabled
                           : a == 3 ? x->minority
                           : a == 4 ? x->qual
                           : a == 5 ? x->caring
                                    : x->low_emp;
            assert_int_equal(pu[k], want);
        }
    }
    free(pi);
    free(pu);
    free(u8);
    free(u16);
    free(i32);
    H5Fclose(f);
}

static void check_root_and_aggregates(const char *path, const lm_scenario *sc, const run_record *r,
                                      const char *mode) {
    char buf[256];
    uint64_t seed = 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    read_str_attr(f, "scenario_name", buf, sizeof buf);
    assert_string_equal(buf, "unit_output");
    read_str_attr(f, "scenario_text", buf, sizeof buf);
    assert_string_equal(buf, "");
    read_str_attr(f, "start_month", buf, sizeof buf);
    assert_string_equal(buf, "2025-04");
    read_str_attr(f, "panel_mode", buf, sizeof buf);
    assert_string_equal(buf, mode);
    read_str_attr(f, "seed_str", buf, sizeof buf);
    assert_string_equal(buf, "17297757506775570040"); /* 0xF00DFACE12345678 */
    read_str_attr(f, "created_at", buf, sizeof buf);
    assert_int_equal(strlen(buf), 20);
    assert_int_equal(buf[19], 'Z');
    hid_t a = H5Aopen(f, "seed", H5P_DEFAULT);
    assert_true(H5Aread(a, H5T_NATIVE_UINT64, &seed) >= 0);
    H5Aclose(a);
    assert_true(seed == sc->seed);

    size_t cells = LM_AGG_CELLS(sc->n_regions);
    int64_t *c = malloc((N_MONTHS + 1) * cells * sizeof *c);
    hsize_t dims[7];
    read_ds(f, "/aggregates/counts", H5T_NATIVE_INT64, c, dims, 7);
    assert_int_equal(dims[0], N_MONTHS + 1);
    assert_int_equal(dims[1], LM_N_STATES);
    assert_int_equal(dims[2], 3);
    assert_int_equal(dims[6], LM_N_AGE_BANDS);
    assert_memory_equal(c, r->counts, (N_MONTHS + 1) * cells * sizeof *c);
    free(c);
    H5Fclose(f);
}

/* ---- tests ---------------------------------------------------------------- */

static void roundtrip(lm_panel_mode mode, int level, const char *name, const char *mode_str) {
    char path[512];
    lm_scenario *sc = make_scenario(level, mode);
    run_record *r = calloc(1, sizeof *r);
    path_in_tmp(path, sizeof path, name);
    write_run(path, sc, mode, r);
    if (mode != LM_PANEL_NONE)
        check_panel(path, sc, mode, r);
    check_root_and_aggregates(path, sc, r, mode_str);
    remove(path);
    free(r);
    free(sc);
}

static void test_full_deflate(void **state) {
    (void)state;
    roundtrip(LM_PANEL_FULL, 1, "full_deflate.h5", "full");
}

static void test_full_level9(void **state) {
    (void)state;
    roundtrip(LM_PANEL_FULL, 9, "full_level9.h5", "full");
}

static void test_full_raw(void **state) {
    (void)state;
    roundtrip(LM_PANEL_FULL, 0, "full_raw.h5", "full");
}

static void test_sample(void **state) {
    (void)state;
    roundtrip(LM_PANEL_SAMPLE, 4, "sample.h5", "sample");
}

static void test_none(void **state) {
    char path[512];
    (void)state;
    roundtrip(LM_PANEL_NONE, 1, "none.h5", "none");
    /* and there is no /panel or /persons */
    lm_scenario *sc = make_scenario(1, LM_PANEL_NONE);
    run_record *r = calloc(1, sizeof *r);
    path_in_tmp(path, sizeof path, "none2.h5");
    write_run(path, sc, LM_PANEL_NONE, r);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_int_equal(H5Lexists(f, "panel", H5P_DEFAULT), 0);
    assert_int_equal(H5Lexists(f, "persons", H5P_DEFAULT), 0);
    assert_true(H5Lexists(f, "outcomes", H5P_DEFAULT) > 0);
    H5Fclose(f);
    remove(path);
    free(r);
    free(sc);
}

static void test_abort_leaves_no_file(void **state) {
    char path[512];
    int64_t entrants[N_PERSONS];
    lm_h5_writer *w = NULL;
    lm_error err;
    (void)state;
    lm_scenario *sc = make_scenario(1, LM_PANEL_FULL);
    lm_population *p = make_population(N_PERSONS);
    path_in_tmp(path, sizeof path, "aborted.h5");
    set_month(p, 0, entrants);
    assert_int_equal(lm_h5_open(path, sc, p, LM_PANEL_FULL, 1.0, &w, &err), LM_OK);
    int64_t n = set_month(p, 1, entrants);
    assert_int_equal(lm_h5_write_month(w, p, 1, entrants, n, &err), LM_OK);
    assert_true(tmp_exists(path));
    lm_h5_abort(w);
    assert_false(tmp_exists(path));
    assert_false(exists(path));
    lm_h5_abort(NULL); /* no-op */
    free_population(p);
    free(sc);
}

static void test_unwritable_dir(void **state) {
    char path[512];
    lm_h5_writer *w = (lm_h5_writer *)&path; /* must be reset to NULL */
    lm_error err;
    int64_t entrants[N_PERSONS];
    (void)state;
    lm_scenario *sc = make_scenario(1, LM_PANEL_FULL);
    lm_population *p = make_population(N_PERSONS);
    set_month(p, 0, entrants);
    path_in_tmp(path, sizeof path, "no_such_dir/out.h5");
    assert_int_equal(lm_h5_open(path, sc, p, LM_PANEL_FULL, 1.0, &w, &err), LM_EIO);
    assert_null(w);
    assert_int_equal(err.code, LM_EIO);
    assert_non_null(strstr(err.msg, "no_such_dir/out.h5.tmp"));
    assert_false(exists(path));
    assert_false(tmp_exists(path));
    /* a parent that is a regular file */
    char file_parent[256];
    path_in_tmp(file_parent, sizeof file_parent, "plainfile");
    FILE *fp = fopen(file_parent, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/out.h5", file_parent);
    assert_int_equal(lm_h5_open(path, sc, p, LM_PANEL_NONE, 1.0, &w, &err), LM_EIO);
    assert_null(w);
    remove(file_parent);
    free_population(p);
    free(sc);
}

static void test_order_and_missing_months(void **state) {
    char path[512];
    int64_t entrants[N_PERSONS], counts[(N_MONTHS + 1) * 7 * 3 * 32] = {0};
    lm_h5_writer *w = NULL;
    lm_error err;
    (void)state;
    lm_scenario *sc = make_scenario(1, LM_PANEL_FULL);
    lm_population *p = make_population(N_PERSONS);
    path_in_tmp(path, sizeof path, "short.h5");
    set_month(p, 0, entrants);
    assert_int_equal(lm_h5_open(path, sc, p, LM_PANEL_FULL, 1.0, &w, &err), LM_OK);
    assert_int_equal(lm_h5_write_month(w, p, 2, NULL, 0, &err), LM_EARG);
    assert_int_equal(lm_h5_write_month(w, p, 1, NULL, 0, &err), LM_OK);
    /* close with months missing: refused, writer freed, no file */
    assert_int_equal(lm_h5_close(w, counts, NULL, &err), LM_EARG);
    assert_false(exists(path));
    assert_false(tmp_exists(path));
    free_population(p);
    free(sc);
}

static void test_id_out_of_range(void **state) {
    char path[512];
    int64_t counts[(N_MONTHS + 1) * 7 * 3 * 32] = {0};
    lm_h5_writer *w = NULL;
    lm_error err;
    (void)state;
    /* id = slot + n * generation exceeds INT32_MAX once n * 65535 does:
     * n = 40000 is enough. */
    const int64_t n = 40000;
    lm_scenario *sc = make_scenario(1, LM_PANEL_FULL);
    lm_population *p = make_population(n);
    path_in_tmp(path, sizeof path, "range.h5");

    /* at open (the month-0 persons table and panel row) */
    p->generation[n - 1] = 65535;
    assert_int_equal(lm_h5_open(path, sc, p, LM_PANEL_FULL, 1.0, &w, &err), LM_ERANGE);
    assert_null(w);
    assert_false(tmp_exists(path));
    assert_false(exists(path));

    /* in a month: the writer discards the file at once */
    p->generation[n - 1] = 0;
    assert_int_equal(lm_h5_open(path, sc, p, LM_PANEL_FULL, 1.0, &w, &err), LM_OK);
    p->generation[7] = 60000;
    assert_int_equal(lm_h5_write_month(w, p, 1, NULL, 0, &err), LM_ERANGE);
    assert_non_null(strstr(err.msg, "int32"));
    assert_false(tmp_exists(path));
    assert_int_equal(lm_h5_write_month(w, p, 1, NULL, 0, &err), LM_EARG); /* dead writer */
    assert_int_equal(lm_h5_close(w, counts, NULL, &err), LM_EARG);
    assert_false(tmp_exists(path));
    assert_false(exists(path));
    free_population(p);
    free(sc);
}

/* Every allocation failure in open / write / close gives LM_ENOMEM and
 * leaves no file under either name (libuv's test-loop-oom.c pattern). */
static void test_alloc_failures(void **state) {
    char path[512];
    int64_t entrants[N_PERSONS], counts[(N_MONTHS + 1) * 7 * 3 * 32] = {0};
    lm_error err;
    (void)state;
    lm_scenario *sc = make_scenario(1, LM_PANEL_SAMPLE);
    lm_population *p = make_population(N_PERSONS);
    path_in_tmp(path, sizeof path, "oom.h5");
    for (long k = 0;; k++) {
        lm_h5_writer *w = NULL;
        int rc;
        set_month(p, 0, entrants);
        lm__alloc_fail_after(k);
        rc = lm_h5_open(path, sc, p, LM_PANEL_SAMPLE, 0.3, &w, &err);
        for (int m = 1; rc == LM_OK && m <= N_MONTHS; m++) {
            int64_t n = set_month(p, m, entrants);
            rc = lm_h5_write_month(w, p, m, entrants, n, &err);
            if (rc != LM_OK)
                lm_h5_abort(w);
        }
        if (rc == LM_OK)
            rc = lm_h5_close(w, counts, NULL, &err);
        lm__alloc_fail_after(-1);
        if (rc == LM_OK) {
            assert_true(k > 3); /* the writer does allocate */
            assert_true(exists(path));
            remove(path);
            break;
        }
        assert_int_equal(rc, LM_ENOMEM);
        assert_false(exists(path));
        assert_false(tmp_exists(path));
    }
    free_population(p);
    free(sc);
}

/* The deflated chunks are byte-identical whatever the number of threads. */
static void test_threads_identical_chunks(void **state) {
    char path[2][512];
    int threads[2] = {1, 3};
    run_record *r = calloc(1, sizeof *r);
    lm_scenario *sc = make_scenario(6, LM_PANEL_FULL);
    (void)state;
#ifdef _OPENMP
    int saved = omp_get_max_threads();
#endif
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "threads%d.h5", threads[k]);
        path_in_tmp(path[k], sizeof path[k], name);
#ifdef _OPENMP
        omp_set_num_threads(threads[k]);
#endif
        write_run(path[k], sc, LM_PANEL_FULL, r);
    }
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    hid_t f0 = H5Fopen(path[0], H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t f1 = H5Fopen(path[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    const char *vars[5] = {"/panel/state", "/panel/months_in_state", "/panel/months_since_job",
                           "/panel/sustained_months", "/panel/person_id"};
    for (int v = 0; v < 5; v++) {
        hid_t d0 = H5Dopen2(f0, vars[v], H5P_DEFAULT), d1 = H5Dopen2(f1, vars[v], H5P_DEFAULT);
        for (hsize_t m = 0; m <= N_MONTHS; m++)
            for (hsize_t c = 0; c * CHUNK < N_PERSONS; c++) {
                hsize_t off[2] = {m, c * CHUNK};
                hsize_t n0 = 0, n1 = 0;
                uint32_t fm0 = 1, fm1 = 1;
                unsigned char b0[CHUNK * 8], b1[CHUNK * 8];
                assert_true(H5Dget_chunk_storage_size(d0, off, &n0) >= 0);
                assert_true(H5Dget_chunk_storage_size(d1, off, &n1) >= 0);
                assert_int_equal(n0, n1);
                assert_true(n0 <= sizeof b0);
                assert_true(H5Dread_chunk(d0, H5P_DEFAULT, off, &fm0, b0) >= 0);
                assert_true(H5Dread_chunk(d1, H5P_DEFAULT, off, &fm1, b1) >= 0);
                assert_int_equal(fm0, 0);
                assert_memory_equal(b0, b1, (size_t)n0);
            }
        H5Dclose(d0);
        H5Dclose(d1);
    }
    H5Fclose(f0);
    H5Fclose(f1);
    remove(path[0]);
    remove(path[1]);
    free(r);
    free(sc);
}

static void test_describe(void **state) {
    char path[512], other[512];
    lm_file_info info;
    lm_error err;
    (void)state;
    lm_scenario *sc = make_scenario(1, LM_PANEL_SAMPLE);
    run_record *r = calloc(1, sizeof *r);
    path_in_tmp(path, sizeof path, "describe.h5");
    write_run(path, sc, LM_PANEL_SAMPLE, r);
    assert_int_equal(lm_h5_describe(path, &info, &err), LM_OK);
    assert_string_equal(info.scenario_name, "unit_output");
    assert_string_equal(info.start_month, "2025-04");
    assert_string_equal(info.panel_mode, "sample");
    assert_true(info.seed == sc->seed);
    assert_int_equal(info.n_persons, N_PERSONS);
    assert_int_equal(info.n_months, N_MONTHS);
    assert_int_equal(info.headline.n_rows, r->headline.n_rows);
    assert_int_equal(info.headline.n_rows, 7 + LM_N_AGE_BANDS + 3);
    for (int i = 0; i < info.headline.n_rows; i++) {
        const lm_headline_row *a = &info.headline.rows[i], *b = &r->headline.rows[i];
        assert_string_equal(a->group, b->group);
        assert_memory_equal(a->persons, b->persons, sizeof a->persons);
        assert_memory_equal(a->employment_rate, b->employment_rate, sizeof a->employment_rate);
        assert_memory_equal(a->unemployment_rate, b->unemployment_rate,
                            sizeof a->unemployment_rate);
        assert_memory_equal(a->inactivity_rate, b->inactivity_rate, sizeof a->inactivity_rate);
        assert_memory_equal(a->good_job_share, b->good_job_share, sizeof a->good_job_share);
    }
    assert_string_equal(info.headline.rows[0].group, "all");
    assert_string_equal(info.headline.rows[13].group, "region:South East Wales");

    /* missing file, not HDF5, HDF5 but not lmsim */
    path_in_tmp(other, sizeof other, "missing.h5");
    assert_int_equal(lm_h5_describe(other, &info, &err), LM_EIO);
    path_in_tmp(other, sizeof other, "text.h5");
    FILE *fp = fopen(other, "w");
    fputs("not hdf5\n", fp);
    fclose(fp);
    assert_int_equal(lm_h5_describe(other, &info, &err), LM_EIO);
    remove(other);
    path_in_tmp(other, sizeof other, "foreign.h5");
    hid_t f = H5Fcreate(other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    assert_int_equal(lm_h5_describe(other, &info, &err), LM_EHDF5);
    remove(other);
    remove(path);
    free(r);
    free(sc);
}

static void test_headline_values(void **state) {
    lm_headline h;
    (void)state;
    lm_scenario *sc = make_scenario(1, LM_PANEL_NONE);
    size_t cells = LM_AGG_CELLS(sc->n_regions);
    int64_t *c0 = calloc(cells, sizeof *c0), *c1 = calloc(cells, sizeof *c1);
    /* month 0: region 0, men, not disabled, white, 25-34: 60 good, 20 poor,
     * 10 unemployed, 10 sick. Month 1: everyone gone from region 0 but 5
     * inactive women in region 1. */
    int n0 = sc->n_regions;
    c0[lm_agg_index(n0, LM_STATE_EMPLOYED_GOOD, 0, 0, 0, 0, 1)] = 60;
    c0[lm_agg_index(n0, LM_STATE_EMPLOYED_POOR, 0, 0, 0, 0, 1)] = 20;
    c0[lm_agg_index(n0, LM_STATE_UNEMPLOYED, 0, 0, 0, 0, 1)] = 10;
    c0[lm_agg_index(n0, LM_STATE_INACTIVE_SICK, 0, 0, 0, 0, 1)] = 10;
    c1[lm_agg_index(n0, LM_STATE_INACTIVE_CARING, 1, 1, 0, 0, 3)] = 5;
    lm_headline_compute(sc, c0, c1, &h);
    assert_int_equal(h.n_rows, 14);
    const lm_headline_row *all = &h.rows[0];
    assert_string_equal(all->group, "all");
    assert_int_equal(all->persons[0], 100);
    assert_true(all->employment_rate[0] == 0.8);
    assert_true(all->unemployment_rate[0] == 10.0 / 90.0);
    assert_true(all->inactivity_rate[0] == 0.1);
    assert_true(all->good_job_share[0] == 0.75);
    assert_int_equal(all->persons[1], 5);
    assert_true(all->employment_rate[1] == 0.0);
    assert_true(all->unemployment_rate[1] == 0.0); /* no one active: 0 by convention */
    assert_true(all->inactivity_rate[1] == 1.0);
    assert_true(all->good_job_share[1] == 0.0);
    assert_string_equal(h.rows[1].group, "disabled");
    assert_int_equal(h.rows[1].persons[0], 0);
    assert_true(h.rows[1].employment_rate[0] == 0.0); /* empty group: 0 */
    assert_string_equal(h.rows[4].group, "male");
    assert_int_equal(h.rows[4].persons[0], 100);
    assert_string_equal(h.rows[8].group, "age:25-34");
    assert_int_equal(h.rows[8].persons[0], 100);
    assert_string_equal(h.rows[11].group, "region:North Wales");
    assert_string_equal(h.rows[12].group, "region:Mid and South West Wales");
    assert_int_equal(h.rows[12].persons[1], 5);
    free(c0);
    free(c1);
    free(sc);
}

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lmsim_test_output_XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state) {
    (void)state;
    return rmdir(tmpdir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headline_values),
        cmocka_unit_test(test_full_deflate),
        cmocka_unit_test(test_full_level9),
        cmocka_unit_test(test_full_raw),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_abort_leaves_no_file),
        cmocka_unit_test(test_unwritable_dir),
        cmocka_unit_test(test_order_and_missing_months),
        cmocka_unit_test(test_id_out_of_range),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_threads_identical_chunks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
