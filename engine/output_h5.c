/* output_h5.c - the HDF5 run file: panel, persons, aggregates and outcomes.
 *
 * Purpose. One run writes one file. It is created as PATH.tmp.XXXXXXXX (a
 * name of its own, created exclusively) and renamed to
 * PATH only by lm_h5_close(), after every dataset is written and the file is
 * closed (H5Fclose), so a failed, aborted or killed run never leaves a file
 * under the final name. Every error path closes the file and removes the
 * temporary: after a failed lm_h5_write_month() the writer is "dead" and
 * lm_h5_close() / lm_h5_abort() only free it. HDF5's automatic error
 * printing is switched off for the duration of each call (and restored on
 * return): the library never prints. HDF5's own reason for a failure is
 * appended to the lm_error message instead.
 *
 * Layout (docs/output-format.md; R and xarray friendly, DESIGN.md §4, §7):
 *   /  attributes  lmsim_version, scenario_name, scenario_text (the whole
 *                  scenario after includes, "" when unknown), seed (uint64),
 *                  seed_str (decimal string: R mishandles 64-bit integers),
 *                  n_persons (int64), n_months (int32), start_month "YYYY-MM",
 *                  created_at (ISO-8601 UTC), panel_mode "full"|"none"|
 *                  "sample", sample_fraction (double: 1 full, 0 none),
 *                  n_panel_persons (int64), warnings (the scenario's
 *                  lm_scenario_warnings, one per line, "" when none).
 *                  Strings are variable-length UTF-8.
 *   /panel/<v>     2-D [month, column], n_months + 1 rows (month 0 is the
 *                  initial population), fixed size. v = state (enum over
 *                  uint8 with the lm_state_name() names), months_in_state,
 *                  months_since_job, sustained_months (uint16),
 *                  person_id (int32; the id of the occupant of the column's
 *                  slot that month). Chunks (1, W) with W = min(chunk_persons,
 *                  columns); shuffle then deflate at deflate_level (no
 *                  filters at level 0).
 *   /panel/month   int32 0..n_months, dimension scale "month" (dim 0)
 *   /panel/person  int32 slot of each column, dimension scale "person" (dim 1)
 *   /persons/<a>   1-D, extendible, one row per person who appears in the
 *                  panel: id, slot, entry_month (0 for the initial
 *                  population), birth_month (int32); region, female,
 *                  disabled, minority, qual, caring (uint8). Attribute
 *                  region_names on /persons.
 *   /aggregates/counts  int64 [month][state][region][sex][disabled][minority]
 *                  [age_band], n_months + 1 rows, chunked by month; attributes
 *                  dimensions and <dim>_names to decode every index.
 *   /outcomes/headline  compound table of lm_headline rows with flat fields
 *                  group (string), persons_start, persons_end,
 *                  employment_rate_start, ..., good_job_share_end.
 *                  Strings of this and every compound table (also
 *                  /outcomes/programmes) are variable-length UTF-8, with the
 *                  table's strings_crc32 (h5table.c) checked by
 *                  lm_h5_describe: the global heap is not checksummed.
 *   /validation    compound table of targets and results (lmsim validate):
 *                  id, evidence, use, measure, describe (variable-length
 *                  UTF-8), published, simulated, tolerance, se (float64),
 *                  pass (uint8), attribute strings_crc32; only when
 *                  lm__h5_set_validation was called.
 *   CF / netCDF-4 metadata (dimension scales of every dimension, long_name,
 *   units, flag_values / flag_meanings, a time coordinate; the enum types
 *   of state and phase committed at the root): output_cf.c, at close.
 *   No /panel and no /persons in panel mode "none". In mode "sample" the
 *   columns are the slots i with lm_rng_uniform(seed, i, 0, SAMPLE, 0) <
 *   sample_fraction, in slot order; the same slots for every scenario run with
 *   the same seed (common random numbers).
 *
 * Panel write path. Serial H5Dwrite through the deflate filter is the
 * bottleneck of a full panel (~11 bytes per person-month, 2.5 GB raw for
 * Wales), so each month is packed here: for every (variable, chunk) task, in
 * an OpenMP loop, the row is gathered from the population straight into the
 * byte-shuffled layout of HDF5's shuffle filter (byte 0 of every element,
 * then byte 1, ...), written little-endian whatever the host, and deflated
 * into the zlib format by libdeflate with a per-thread compressor (a zlib
 * stream any HDF5 reader inflates; libdeflate is about 3x faster than zlib
 * at level 1, benchmarks/README.md).
 * The packed chunks are then written serially in chunk order with
 * H5Dwrite_chunk(filter_mask 0), which the ordinary filter pipeline reads
 * back. Edge chunks are padded with zeros to the full chunk width, because
 * HDF5 filters and stores the whole chunk. At level 0 the gathered chunks are
 * written raw the same way. All buffers (gather, packed, compressors) are
 * allocated in lm_h5_open(); a month allocates nothing (each compressor's
 * state is reused).
 *
 * Invariants: rows are written in order 0, 1, ..., n_months (close checks
 * that all were); the packed output depends only on the population, never on
 * the thread count (tasks are independent and written in a fixed order);
 * person ids and slots must fit in int32 (LM_ERANGE otherwise).
 */
#define _POSIX_C_SOURCE 200809L

#include "lmsim/output.h"

#include <errno.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>
#include <libdeflate.h>
#include <zlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "lmsim/hash.h"
#include "lmsim/json.h"
#include "lmsim/messages.h"
#include "lmsim/rng.h"
#include "lmsim/sim.h"
#include "lmsim/targets.h"
#include "lmsim/version.h"
#include "internal.h"

/* Panel variables, in dataset creation and chunk-write order. */
enum {
    VAR_STATE,
    VAR_MONTHS_IN_STATE,
    VAR_MONTHS_SINCE_JOB,
    VAR_SUSTAINED,
    VAR_PERSON_ID,
    VAR_PROGRAMME,
    VAR_PHASE,
    VAR_LIMITING,
    VAR_HOURS,
    VAR_EARNINGS,
    VAR_DISABLED,
    N_VARS
};

static const char *const var_name[N_VARS] = {"state",
                                             "months_in_state",
                                             "months_since_job",
                                             "sustained_months",
                                             "person_id",
                                             "programme",
                                             "phase",
                                             "limiting",
                                             "hours",
                                             "earnings",
                                             "disabled"};
static const int var_size[N_VARS] = {1, 2, 2, 2, 4, 1, 1, 1, 1, 2, 1};
static const char *const var_desc[N_VARS] = {
    "labour state (enum lm_state)",
    "completed months in the current state, saturating",
    "months since the last job; 0 while employed; 65535 = never worked in the simulation",
    "consecutive months in work (either quality), saturating",
    "id of the person occupying the column's slot this month",
    "programme of the current spell: index + 1 into the programme_names attribute, 0 none",
    "phase of the programme spell (enum lm_phase)",
    "1 limiting health condition (0 when the scenario does not model health)",
    "0 not in work, 1 part time, 2 full time",
    "monthly gross earnings in whole GBP (rounded, saturating at 65535), 0 when not in work",
    ("1 disabled (Equality Act) this month: as in /persons at entry, or acquired since "
     "(health.disabled_after_months)")};

/* Person attributes of /persons, in creation order. */
enum {
    ATTR_ID,
    ATTR_SLOT,
    ATTR_ENTRY_MONTH,
    ATTR_BIRTH_MONTH,
    ATTR_REGION,
    ATTR_FEMALE,
    ATTR_DISABLED,
    ATTR_MINORITY,
    ATTR_QUAL,
    ATTR_CARING,
    ATTR_LOW_EMP,
    N_ATTRS
};
#define N_INT32_ATTRS 4 /* attributes before ATTR_REGION are int32, the rest uint8 */

static const char *const attr_name[N_ATTRS] = {
    "id",       "slot",     "entry_month", "birth_month", "region",           "female",
    "disabled", "minority", "qual",        "caring",      "low_employability"};

/* A libdeflate compressor per thread, on its own cache lines (the
 * compressor is a separate allocation; the pointers do not share a line). */
typedef struct zslot {
    struct libdeflate_compressor *zc;
    char pad_[128 - sizeof(struct libdeflate_compressor *)];
} zslot;

struct lm_h5_writer {
    char *path;     /* final file name (owned) */
    char *tmp_path; /* path + ".tmp", the file being written (owned) */
    lm_scenario sc; /* copy of the scenario (text = NULL): dimensions, names, seed */
    lm_panel_mode mode;
    int panel;      /* 1 when /panel and /persons are written */
    int dead;       /* an error closed and removed the file; only free remains */
    int last_month; /* last month passed to lm_h5_write_month (or 0) */
    int level;      /* deflate level, 0 = raw chunks without filters */

    lm__h5_role role;      /* whole file, or one part / the main file of a distributed run */
    int64_t n_slots;       /* persons (slots) of the population */
    int64_t slot0;         /* first slot of the columns (a part's first slot; else 0) */
    int n_parts;           /* MAIN: ranks, each with its part file (or none if empty) */
    int64_t n_cols;        /* panel columns */
    int64_t *cols;         /* slot of each column in SAMPLE mode (ascending); NULL: column =
                              slot0 + column */
    int64_t width;         /* chunk width in persons, >= 1 */
    int64_t n_chunks;      /* chunks per panel row */
    int64_t n_person_rows; /* rows in /persons so far */

    uint8_t *raw[N_VARS];    /* n_chunks * width * size: gathered (shuffled if level > 0) row */
    uint8_t *packed[N_VARS]; /* n_chunks * bound[v]: deflated chunks (level > 0) */
    size_t bound[N_VARS];    /* compression bound of one chunk of variable v */
    size_t *packed_size;     /* [v * n_chunks + c]: deflated size of chunk c of variable v */
    int n_streams;           /* compressors = threads used for packing */
    zslot *streams;          /* one per thread, allocated when zs_ready */
    int zs_ready;            /* streams [0, zs_ready) hold a compressor */

    hid_t file;
    hid_t g_panel;
    hid_t g_persons;
    hid_t dset[N_VARS];
    hid_t pdset[N_ATTRS];
    hid_t referrals;         /* /referrals (not in a part file) */
    int64_t n_referral_rows; /* rows in /referrals so far */

    const int64_t *earnings;     /* borrowed: (n_months + 1) * LM_AGG_CELLS pence, or NULL */
    const int64_t *prog_monthly; /* borrowed: (n_months + 1) * LM_PROG_CELLS */
    const lm_programme_table *prog_table; /* borrowed */
    const lm_targets *val_targets;        /* borrowed: /validation rows, or NULL */
    const lm_target_result *val_res;      /* borrowed: their results */
};

/* ---- HDF5 error handling ------------------------------------------------ */

typedef struct quiet {
    H5E_auto2_t fn;
    void *data;
} quiet;

/* Silence HDF5's automatic error printing for one public call. */
static void quiet_begin(quiet *q) {
    q->fn = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_end(const quiet *q) {
    H5Eset_auto2(H5E_DEFAULT, q->fn, q->data);
}

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
    char *buf = data;
    (void)n;
    if (buf[0] == '\0' && e->desc != NULL && e->desc[0] != '\0')
        snprintf(buf, 200, "%s", e->desc);
    return 0;
}

/* Record LM_EHDF5 with the innermost reason on HDF5's error stack. */
__attribute__((format(printf, 3, 4))) static int h5_fail(lm_error *err, int line, const char *fmt,
                                                         ...) {
    char what[512], why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    why[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, why);
    if (why[0] == '\0')
        snprintf(why, sizeof why, "no detail");
    return lm__fail(err, LM_EHDF5, __FILE__, line, "%s (HDF5: %s)", what, why);
}

/* Evaluate an HDF5 call returning herr_t or hid_t; on a negative result
 * record LM_EHDF5 naming the file being written and jump to `fail`. */
#define H5TRY(call, ...)                                                                           \
    do {                                                                                           \
        if ((call) < 0) {                                                                          \
            rc = h5_fail(err, __LINE__, __VA_ARGS__);                                              \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

static void close_id(hid_t *id) {
    if (*id < 0)
        return;
    switch (H5Iget_type(*id)) {
    case H5I_FILE:
        H5Fclose(*id);
        break;
    case H5I_GROUP:
        H5Gclose(*id);
        break;
    case H5I_DATATYPE:
        H5Tclose(*id);
        break;
    case H5I_DATASPACE:
        H5Sclose(*id);
        break;
    case H5I_DATASET:
        H5Dclose(*id);
        break;
    case H5I_ATTR:
        H5Aclose(*id);
        break;
    case H5I_GENPROP_LST:
        H5Pclose(*id);
        break;
    default:
        break;
    }
    *id = H5I_INVALID_HID;
}

/* ---- attributes --------------------------------------------------------- */

static hid_t vlen_str_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* Write attribute `name` of `n` elements (n = 0: scalar) of memory type
 * `mtype`, stored as `ftype`. */
static herr_t put_attr(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                       const void *value) {
    hid_t space = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5I_INVALID_HID;
    herr_t r = -1;
    if (space < 0)
        return -1;
    a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0)
        r = H5Awrite(a, mtype, value);
    close_id(&a);
    close_id(&space);
    return r;
}

static herr_t put_strs(hid_t loc, const char *name, const char *const *v, hsize_t n) {
    hid_t t = vlen_str_type();
    herr_t r;
    if (t < 0)
        return -1;
    r = put_attr(loc, name, t, t, n, v);
    H5Tclose(t);
    return r;
}

static herr_t put_str(hid_t loc, const char *name, const char *value) {
    const char *v[1] = {value ? value : ""};
    hid_t t = vlen_str_type();
    herr_t r;
    if (t < 0)
        return -1;
    r = put_attr(loc, name, t, t, 0, v);
    H5Tclose(t);
    return r;
}

static herr_t put_i64(hid_t loc, const char *name, int64_t v) {
    return put_attr(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &v);
}

static herr_t put_u64(hid_t loc, const char *name, uint64_t v) {
    return put_attr(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, &v);
}

static herr_t put_i32(hid_t loc, const char *name, int32_t v) {
    return put_attr(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, 0, &v);
}

static herr_t put_f64(hid_t loc, const char *name, double v) {
    return put_attr(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, &v);
}

static const char *mode_name(lm_panel_mode m) {
    switch (m) {
    case LM_PANEL_FULL:
        return "full";
    case LM_PANEL_SAMPLE:
        return "sample";
    default:
        return "none";
    }
}

static herr_t put_region_names(hid_t loc, const lm_scenario *sc) {
    const char *names[LM_MAX_REGIONS];
    for (int r = 0; r < sc->n_regions; r++)
        names[r] = sc->regions[r].name;
    return put_strs(loc, "region_names", names, (hsize_t)sc->n_regions);
}

/* The root string attributes covered by `strings_crc32`. Variable-length
 * strings live in HDF5's global heap, which the file format does not
 * checksum (object headers, where numbers live, are): a flipped bit there
 * would read as garbled text, so lmsim checks these itself. Not created_at,
 * which differs between otherwise identical runs. */
static const char *const crc_strings[] = {"lmsim_version", "scenario_name", "scenario_text",
                                          "seed_str",      "start_month",   "panel_mode",
                                          "warnings"};
#define N_CRC_STRINGS (sizeof crc_strings / sizeof *crc_strings)

/* CRC-32 (zlib) over "name\0value\0" of every string in crc_strings. */
static uint32_t strings_crc(const char *const *values) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t k = 0; k < N_CRC_STRINGS; k++) {
        crc = crc32(crc, (const Bytef *)crc_strings[k], (uInt)strlen(crc_strings[k]) + 1);
        crc = crc32(crc, (const Bytef *)values[k], (uInt)strlen(values[k]) + 1);
    }
    return (uint32_t)crc;
}

/* CRC-32 (zlib) of the scenario_json text. */
static uint32_t json_crc(const char *json) {
    uLong crc = crc32(0L, Z_NULL, 0);
    return (uint32_t)crc32(crc, (const Bytef *)json, (uInt)strlen(json));
}

/* Whether scenario_json matches its own json_crc32 (a separate checksum, so
 * files written before scenario_json existed still pass their
 * strings_crc32). 0: match or neither present; -1: damaged. */
static int check_json_crc(hid_t f) {
    const int has_json = H5Aexists(f, "scenario_json") > 0;
    const int has_crc = H5Aexists(f, "json_crc32") > 0;
    if (!has_json && !has_crc)
        return 0;
    if (!has_json || !has_crc)
        return -1;
    int64_t stored = -1;
    char *json = NULL;
    hid_t a = H5Aopen(f, "json_crc32", H5P_DEFAULT);
    int ok = a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &stored) >= 0;
    close_id(&a);
    hid_t mt = vlen_str_type();
    hid_t at = ok ? H5Aopen(f, "scenario_json", H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t ft = at >= 0 ? H5Aget_type(at) : H5I_INVALID_HID;
    ok = ok && at >= 0 && ft >= 0 && H5Tis_variable_str(ft) > 0 && mt >= 0 &&
         H5Aread(at, mt, &json) >= 0 && json != NULL;
    close_id(&ft);
    close_id(&at);
    close_id(&mt);
    ok = ok && (int64_t)json_crc(json) == stored;
    if (json)
        H5free_memory(json);
    return ok ? 0 : -1;
}

/* Whether the root strings of open file f match its strings_crc32 (files
 * written before it existed have none and pass). -1: damaged or unreadable. */
static int check_strings_crc(hid_t f) {
    if (H5Aexists(f, "strings_crc32") <= 0)
        return 0;
    int64_t stored = -1;
    hid_t a = H5Aopen(f, "strings_crc32", H5P_DEFAULT);
    int ok = a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &stored) >= 0;
    if (a >= 0)
        H5Aclose(a);
    char *vals[N_CRC_STRINGS] = {NULL};
    hid_t mt = vlen_str_type();
    for (size_t k = 0; ok && k < N_CRC_STRINGS; k++) {
        hid_t at = H5Aopen(f, crc_strings[k], H5P_DEFAULT);
        hid_t ft = at >= 0 ? H5Aget_type(at) : H5I_INVALID_HID;
        ok = at >= 0 && ft >= 0 && H5Tis_variable_str(ft) > 0 && mt >= 0 &&
             H5Aread(at, mt, &vals[k]) >= 0 && vals[k] != NULL;
        close_id(&ft);
        close_id(&at);
    }
    close_id(&mt);
    ok = ok && (int64_t)strings_crc((const char *const *)vals) == stored;
    for (size_t k = 0; k < N_CRC_STRINGS; k++)
        if (vals[k])
            H5free_memory(vals[k]);
    return ok ? check_json_crc(f) : -1;
}

static int write_root_attrs(lm_h5_writer *w, const lm_scenario *sc, const lm_population *pop,
                            double fraction, lm_error *err) {
    char seed_str[32], start[32], created[32];
    time_t now = time(NULL);
    struct tm utc;
    int rc = LM_OK;
    hid_t f = w->file;
    const char *file = w->tmp_path;

    snprintf(seed_str, sizeof seed_str, "%" PRIu64, sc->seed);
    snprintf(start, sizeof start, "%04d-%02d", sc->start_year, sc->start_month);
    if (gmtime_r(&now, &utc) == NULL ||
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0)
        snprintf(created, sizeof created, "unknown");

    H5TRY(put_str(f, "lmsim_version", LM_VERSION_STRING), "writing '%s': root attributes", file);
    H5TRY(put_str(f, "scenario_name", sc->name), "writing '%s': root attributes", file);
    H5TRY(put_str(f, "scenario_text", sc->text), "writing '%s': root attributes", file);
    char sha[LM_SHA256_HEX]; /* of scenario_text: sweeps compare it on resume */
    lm_sha256_hex(sc->text, sha);
    H5TRY(put_str(f, "scenario_sha256", sha), "writing '%s': root attributes", file);
    H5TRY(put_u64(f, "seed", sc->seed), "writing '%s': root attributes", file);
    H5TRY(put_str(f, "seed_str", seed_str), "writing '%s': root attributes", file);
    H5TRY(put_i64(f, "n_persons", pop->n), "writing '%s': root attributes", file);
    H5TRY(put_i64(f, "represents", sc->represents), "writing '%s': root attributes", file);
    H5TRY(put_i32(f, "n_months", sc->n_months), "writing '%s': root attributes", file);
    H5TRY(put_str(f, "start_month", start), "writing '%s': root attributes", file);
    H5TRY(put_str(f, "created_at", created), "writing '%s': root attributes", file);
    H5TRY(put_str(f, "panel_mode", mode_name(w->mode)), "writing '%s': root attributes", file);
    H5TRY(put_f64(f, "sample_fraction", fraction), "writing '%s': root attributes", file);
    H5TRY(put_i64(f, "n_panel_persons", w->panel ? w->n_cols : 0), "writing '%s': root attributes",
          file);
    H5TRY(put_str(f, "warnings", sc->warnings ? sc->warnings : ""), "writing '%s': root attributes",
          file);
    {
        const char *vals[N_CRC_STRINGS] = {LM_VERSION_STRING,
                                           sc->name,
                                           sc->text ? sc->text : "",
                                           seed_str,
                                           start,
                                           mode_name(w->mode),
                                           sc->warnings ? sc->warnings : ""};
        H5TRY(put_i64(f, "strings_crc32", (int64_t)strings_crc(vals)),
              "writing '%s': root attributes", file);
    }
    /* The scenario as the engine read it, as JSON (lmsim/json.h), so tools
     * read settings without a second libconfig parser. */
    {
        char *json = NULL;
        size_t len = 0;
        FILE *js = open_memstream(&json, &len);
        if (!js) {
            rc = LM_FAIL(err, LM_ENOMEM, "writing '%s': out of memory for scenario_json", file);
            goto fail;
        }
        rc = lm_json_write_scenario(sc, js, err);
        if (fclose(js) != 0 && rc == LM_OK)
            rc = LM_FAIL(err, LM_ENOMEM, "writing '%s': out of memory for scenario_json", file);
        if (rc == LM_OK) {
            if (put_str(f, "scenario_json", json) < 0 ||
                put_i64(f, "json_crc32", (int64_t)json_crc(json)) < 0)
                rc = h5_fail(err, __LINE__, "writing '%s': root attributes", file);
        }
        free(json);
        if (rc != LM_OK)
            goto fail;
    }
fail:
    return rc;
}

static void discard(lm_h5_writer *w);

/* ---- panel packing ------------------------------------------------------ */

static inline int64_t col_slot(const lm_h5_writer *w, int64_t j) {
    return w->cols ? w->cols[j] : w->slot0 + j;
}

/* Store element j (of a chunk `width` wide) of `size` bytes, little-endian;
 * shuffled: byte b goes to plane b. */
static inline void put_elem(uint8_t *dst, int64_t width, int size, int shuffled, int64_t j,
                            uint32_t x) {
    for (int b = 0; b < size; b++) {
        uint8_t byte = (uint8_t)(x >> (8 * b));
        if (shuffled)
            dst[(int64_t)b * width + j] = byte;
        else
            dst[j * size + b] = byte;
    }
}

static void gather_u16(uint8_t *dst, const lm_h5_writer *w, const uint16_t *src, int64_t j0,
                       int64_t m, int shuffled) {
    if (w->cols == NULL) {
        const uint16_t *s = src + w->slot0 + j0;
        if (shuffled) {
            for (int64_t j = 0; j < m; j++) {
                dst[j] = (uint8_t)s[j];
                dst[w->width + j] = (uint8_t)(s[j] >> 8);
            }
        } else {
            for (int64_t j = 0; j < m; j++) {
                dst[2 * j] = (uint8_t)s[j];
                dst[2 * j + 1] = (uint8_t)(s[j] >> 8);
            }
        }
        return;
    }
    for (int64_t j = 0; j < m; j++)
        put_elem(dst, w->width, 2, shuffled, j, src[w->cols[j0 + j]]);
}

/* Gather chunk c of variable v for the population's current month and, at
 * level > 0, deflate it with stream zs. Returns 0, or LM_ERANGE when a person
 * id does not fit in int32, or LM_EHDF5 when deflate fails. Called in parallel:
 * writes only this chunk's slices of raw/packed/packed_size. */
static int pack_chunk(lm_h5_writer *w, const lm_population *pop, int v, int64_t c,
                      struct libdeflate_compressor *zc) {
    const int size = var_size[v];
    const int64_t width = w->width;
    const int64_t j0 = c * width;
    const int64_t m = (w->n_cols - j0 < width) ? w->n_cols - j0 : width;
    const int shuffled = w->level > 0;
    uint8_t *dst = w->raw[v] + (size_t)j0 * (size_t)size;
    int rc = 0;

    switch (v) {
    case VAR_STATE:
        if (w->cols == NULL)
            memcpy(dst, pop->state + w->slot0 + j0, (size_t)m);
        else
            for (int64_t j = 0; j < m; j++)
                dst[j] = pop->state[w->cols[j0 + j]];
        break;
    case VAR_MONTHS_IN_STATE:
        gather_u16(dst, w, pop->months_in_state, j0, m, shuffled);
        break;
    case VAR_MONTHS_SINCE_JOB:
        gather_u16(dst, w, pop->months_since_job, j0, m, shuffled);
        break;
    case VAR_SUSTAINED:
        gather_u16(dst, w, pop->sustained_months, j0, m, shuffled);
        break;
    case VAR_EARNINGS:
        /* Whole pounds as uint16 (saturating): half the bytes of float32 and
         * far more compressible; the engine keeps the exact value. */
        for (int64_t j = 0; j < m; j++) {
            double e = (double)pop->earnings[col_slot(w, j0 + j)] + 0.5;
            uint32_t gbp = e >= 65535.0 ? 65535u : (uint32_t)e;
            put_elem(dst, width, 2, shuffled, j, gbp);
        }
        break;
    case VAR_PROGRAMME:
    case VAR_PHASE:
    case VAR_LIMITING:
    case VAR_DISABLED:
    case VAR_HOURS: {
        const uint8_t *src = v == VAR_PROGRAMME  ? pop->prog
                             : v == VAR_PHASE    ? pop->prog_phase
                             : v == VAR_LIMITING ? pop->limiting
                             : v == VAR_DISABLED ? pop->disabled
                                                 : pop->hours;
        if (w->cols == NULL)
            memcpy(dst, src + w->slot0 + j0, (size_t)m);
        else
            for (int64_t j = 0; j < m; j++)
                dst[j] = src[w->cols[j0 + j]];
        break;
    }
    default:
        for (int64_t j = 0; j < m; j++) {
            int64_t id = lm_population_id(pop, col_slot(w, j0 + j));
            if (id > INT32_MAX)
                rc = LM_ERANGE;
            put_elem(dst, width, 4, shuffled, j, (uint32_t)id);
        }
        break;
    }
    /* Zero the padding of an edge chunk: the scratch uses of raw[] may have
     * dirtied it, and the bytes are stored (and compressed) with the chunk. */
    if (m < width) {
        if (shuffled)
            for (int b = 0; b < size; b++)
                memset(dst + (int64_t)b * width + m, 0, (size_t)(width - m));
        else
            memset(dst + m * size, 0, (size_t)((width - m) * size));
    }
    if (w->level > 0 && rc == 0) {
        size_t chunk_bytes = (size_t)width * (size_t)size;
        size_t out = libdeflate_zlib_compress(zc, dst, chunk_bytes,
                                              w->packed[v] + (size_t)c * w->bound[v], w->bound[v]);
        if (out == 0) /* cannot happen: the buffer holds the bound */
            return LM_EHDF5;
        w->packed_size[(int64_t)v * w->n_chunks + c] = out;
    }
    return rc;
}

/* Pack and write panel row `month` from the population's current state. */
static int write_panel_row(lm_h5_writer *w, const lm_population *pop, int month, lm_error *err) {
    const int64_t n_tasks = (int64_t)N_VARS * w->n_chunks;
    int bad_range = 0, bad_zlib = 0;
    int rc = LM_OK;

#pragma omp parallel for schedule(dynamic, 1) num_threads(w->n_streams)                            \
    reduction(|                                                                                    \
              : bad_range, bad_zlib)
    for (int64_t t = 0; t < n_tasks; t++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        struct libdeflate_compressor *zc = w->level > 0 ? w->streams[tid].zc : NULL;
        int r = pack_chunk(w, pop, (int)(t / w->n_chunks), t % w->n_chunks, zc);
        bad_range |= r == LM_ERANGE;
        bad_zlib |= r == LM_EHDF5;
    }
    if (bad_range)
        return LM_FAIL(err, LM_ERANGE,
                       "writing '%s': month %d: a person id exceeds %" PRId32
                       " and cannot be stored as int32",
                       w->tmp_path, month, INT32_MAX);
    if (bad_zlib)
        return LM_FAIL(err, LM_EHDF5, "writing '%s': month %d: deflate (libdeflate) failed",
                       w->tmp_path, month);

    for (int v = 0; v < N_VARS; v++) {
        size_t raw_bytes = (size_t)w->width * (size_t)var_size[v];
        for (int64_t c = 0; c < w->n_chunks; c++) {
            hsize_t off[2] = {(hsize_t)month, (hsize_t)(c * w->width)};
            const uint8_t *buf;
            size_t n;
            if (w->level > 0) {
                buf = w->packed[v] + (size_t)c * w->bound[v];
                n = w->packed_size[(int64_t)v * w->n_chunks + c];
            } else {
                buf = w->raw[v] + (size_t)c * raw_bytes;
                n = raw_bytes;
            }
            H5TRY(H5Dwrite_chunk(w->dset[v], H5P_DEFAULT, 0, off, n, buf),
                  "writing '%s': /panel/%s month %d chunk %" PRId64, w->tmp_path, var_name[v],
                  month, c);
        }
    }
fail:
    return rc;
}

/* ---- /persons ----------------------------------------------------------- */

/* First column of the slots from `slot` on. */
static int64_t first_col(const lm_h5_writer *w, int64_t slot) {
    if (w->cols == NULL)
        return slot - w->slot0;
    int64_t lo = 0, hi = w->n_cols;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (w->cols[mid] < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Whether `slot` is a panel column. */
static int in_panel(const lm_h5_writer *w, int64_t slot) {
    int64_t c = first_col(w, slot);
    return c >= 0 && c < w->n_cols && col_slot(w, c) == slot;
}

static int32_t attr_value(const lm_population *pop, int a, int64_t slot, int entry_month) {
    switch (a) {
    case ATTR_ID: {
        int64_t id = lm_population_id(pop, slot);
        return id > INT32_MAX ? -1 : (int32_t)id; /* -1: rejected by write_rows */
    }
    case ATTR_SLOT:
        return (int32_t)slot;
    case ATTR_ENTRY_MONTH:
        return entry_month;
    case ATTR_BIRTH_MONTH:
        return pop->birth_month[slot];
    case ATTR_REGION:
        return pop->region[slot];
    case ATTR_FEMALE:
        return pop->female[slot];
    case ATTR_DISABLED:
        return pop->disabled[slot];
    case ATTR_MINORITY:
        return pop->minority[slot];
    case ATTR_QUAL:
        return pop->qual[slot];
    case ATTR_LOW_EMP:
        return pop->low_emp[slot];
    default:
        return pop->caring[slot];
    }
}

int64_t lm__h5_person_rows(const lm_h5_writer *w, const lm_population *pop, const int64_t *entrants,
                           int64_t n_entrants, int entry_month, int64_t col_from, int64_t col_to,
                           int32_t *rows) {
    if (w == NULL || !w->panel)
        return 0;
    if (entrants == NULL) {
        col_from = col_from < 0 ? 0 : col_from;
        col_to = col_to > w->n_cols ? w->n_cols : col_to;
    }
    int64_t n_src = entrants ? n_entrants : col_to - col_from, n = 0;
    for (int64_t k = 0; k < n_src; k++) {
        int64_t slot = entrants ? entrants[k] : col_slot(w, col_from + k);
        if (entrants && !in_panel(w, slot))
            continue;
        if (rows != NULL)
            for (int a = 0; a < N_ATTRS; a++)
                rows[n * N_ATTRS + a] = attr_value(pop, a, slot, entry_month);
        n++;
    }
    return n;
}

/* Append rows[0..n) (N_ATTRS int32 each, as lm__h5_person_rows makes them)
 * to /persons. */
static int write_rows(lm_h5_writer *w, const int32_t *rows, int64_t n, lm_error *err) {
    int rc = LM_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    int32_t *col = NULL;
    if (n == 0)
        return LM_OK;
    for (int64_t k = 0; k < n; k++)
        if (rows[k * N_ATTRS + ATTR_ID] < 0)
            return LM_FAIL(err, LM_ERANGE,
                           "writing '%s': person id of slot %" PRId32
                           " exceeds the int32 range of /persons/id",
                           w->tmp_path, rows[k * N_ATTRS + ATTR_SLOT]);
    col = lm__malloc((size_t)n * sizeof *col);
    if (col == NULL)
        return LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory for %" PRId64 " /persons rows",
                       w->tmp_path, n);
    hsize_t start = (hsize_t)w->n_person_rows, count = (hsize_t)n;
    hsize_t total = start + count;
    H5TRY(mspace = H5Screate_simple(1, &count, NULL), "writing '%s': /persons", w->tmp_path);
    for (int a = 0; a < N_ATTRS; a++) {
        uint8_t *u8 = (uint8_t *)(void *)col;
        for (int64_t k = 0; k < n; k++) {
            if (a < N_INT32_ATTRS)
                col[k] = rows[k * N_ATTRS + a];
            else
                u8[k] = (uint8_t)rows[k * N_ATTRS + a];
        }
        H5TRY(H5Dset_extent(w->pdset[a], &total), "writing '%s': extending /persons/%s",
              w->tmp_path, attr_name[a]);
        H5TRY(fspace = H5Dget_space(w->pdset[a]), "writing '%s': /persons/%s", w->tmp_path,
              attr_name[a]);
        H5TRY(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL),
              "writing '%s': /persons/%s", w->tmp_path, attr_name[a]);
        H5TRY(H5Dwrite(w->pdset[a], a < N_INT32_ATTRS ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT8, mspace,
                       fspace, H5P_DEFAULT, col),
              "writing '%s': /persons/%s", w->tmp_path, attr_name[a]);
        close_id(&fspace);
    }
    w->n_person_rows = (int64_t)total;
fail:
    lm__free(col);
    close_id(&fspace);
    close_id(&mspace);
    return rc;
}

/* Rows of /persons built and written per batch: bounded scratch memory. */
#define PERSON_BATCH 65536

/* Append persons to /persons: the panel columns (entrants == NULL) or the
 * entrants in panel columns, in batches. */
static int append_persons(lm_h5_writer *w, const lm_population *pop, const int64_t *entrants,
                          int64_t n_entrants, int entry_month, lm_error *err) {
    int64_t n_src = entrants ? n_entrants : w->n_cols;
    int32_t *rows = lm__malloc(PERSON_BATCH * N_ATTRS * sizeof *rows);
    int rc = LM_OK;
    if (rows == NULL)
        return LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory for /persons rows", w->tmp_path);
    for (int64_t b = 0; b < n_src && rc == LM_OK; b += PERSON_BATCH) {
        int64_t e = b + PERSON_BATCH < n_src ? b + PERSON_BATCH : n_src;
        int64_t n = entrants
                        ? lm__h5_person_rows(w, pop, entrants + b, e - b, entry_month, 0, 0, rows)
                        : lm__h5_person_rows(w, pop, NULL, 0, entry_month, b, e, rows);
        rc = write_rows(w, rows, n, err);
    }
    lm__free(rows);
    return rc;
}

_Static_assert(N_ATTRS == LM__H5_ROW_WORDS, "row layout shared with run.c");

int64_t lm__h5_columns(const lm_h5_writer *w) {
    return w != NULL && w->panel ? w->n_cols : 0;
}

int lm__h5_append_rows(lm_h5_writer *w, const int32_t *rows, int64_t n, lm_error *err) {
    quiet q;
    if (w == NULL || w->dead || w->role != LM__H5_MAIN || n < 0 || (n > 0 && rows == NULL))
        return LM_FAIL(err, LM_EARG, "lm__h5_append_rows: a live main writer and rows required");
    if (!w->panel)
        return LM_OK;
    quiet_begin(&q);
    int rc = write_rows(w, rows, n, err);
    if (rc != LM_OK)
        discard(w);
    quiet_end(&q);
    return rc;
}

/* ---- /referrals --------------------------------------------------------- */

static hid_t make_dcpl(const lm_h5_writer *w, int rank, const hsize_t *chunk, int checksum);

/* One row of /referrals as stored (person ids are int32, as in /persons). */
typedef struct referral_rec {
    int32_t person_id;
    uint8_t programme, arm;
    int32_t referral_month, offer_month, start_month, end_month;
    uint8_t reason;
} referral_rec;

static hid_t referral_mem_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(referral_rec));
    int ok = t >= 0;
#define LM__RF(f, ty) ok = ok && H5Tinsert(t, #f, offsetof(referral_rec, f), ty) >= 0
    LM__RF(person_id, H5T_NATIVE_INT32);
    LM__RF(programme, H5T_NATIVE_UINT8);
    LM__RF(arm, H5T_NATIVE_UINT8);
    LM__RF(referral_month, H5T_NATIVE_INT32);
    LM__RF(offer_month, H5T_NATIVE_INT32);
    LM__RF(start_month, H5T_NATIVE_INT32);
    LM__RF(end_month, H5T_NATIVE_INT32);
    LM__RF(reason, H5T_NATIVE_UINT8);
#undef LM__RF
    if (!ok && t >= 0) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

/* Create the empty, extendible /referrals with its name attributes. */
static int create_referrals(lm_h5_writer *w, lm_error *err) {
    hid_t mtype = H5I_INVALID_HID, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID,
          dcpl = H5I_INVALID_HID;
    const char *file = w->tmp_path;
    int rc = LM_OK;
    static const char *const arm_names[LM_N_ARMS] = {"none", "treatment", "control"};
    const char *reasons[LM_N_ENDS], *progs[LM_MAX_PROGRAMMES + 1];
    for (int r = 0; r < LM_N_ENDS; r++)
        reasons[r] = lm_spell_end_name(r);
    progs[0] = "none";
    for (int k = 0; k < w->sc.n_programmes; k++)
        progs[k + 1] = w->sc.programmes[k].name;
    hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 4096;
    H5TRY(mtype = referral_mem_type(), "writing '%s': /referrals type", file);
    H5TRY(ftype = H5Tcopy(mtype), "writing '%s': /referrals type", file);
    H5TRY(H5Tpack(ftype), "writing '%s': /referrals type", file);
    H5TRY(space = H5Screate_simple(1, &zero, &unlimited), "writing '%s': /referrals", file);
    H5TRY(dcpl = make_dcpl(w, 1, &chunk, 1), "writing '%s': /referrals chunking and filters", file);
    H5TRY(w->referrals =
              H5Dcreate2(w->file, "referrals", ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
          "writing '%s': creating /referrals", file);
    H5TRY(lm__h5_put_text(
              w->referrals, "description",
              w->mode == LM_PANEL_SAMPLE
                  ? "programme spells of the persons in the panel sample: one row per referral, "
                    "from the referral to leaving the programme, in order of end month then slot"
                  : "programme spells of every person: one row per referral, from the referral "
                    "to leaving the programme, in order of end month then slot"),
          "writing '%s': /referrals attributes", file);
    H5TRY(put_strs(w->referrals, "programme_names", progs, (hsize_t)w->sc.n_programmes + 1),
          "writing '%s': /referrals attributes", file);
    H5TRY(put_strs(w->referrals, "arm_names", arm_names, LM_N_ARMS),
          "writing '%s': /referrals attributes", file);
    H5TRY(put_strs(w->referrals, "reason_names", reasons, LM_N_ENDS),
          "writing '%s': /referrals attributes", file);
fail:
    close_id(&dcpl);
    close_id(&space);
    close_id(&ftype);
    close_id(&mtype);
    return rc;
}

int64_t lm__referrals_in_panel(const lm_scenario *sc, lm_referral *rows, int64_t n) {
    if (sc->panel != LM_PANEL_SAMPLE)
        return n;
    int64_t kept = 0;
    for (int64_t q = 0; q < n; q++) {
        const int64_t slot = rows[q].person_id % sc->n_persons;
        if (lm_rng_uniform(sc->seed, (uint64_t)slot, 0, LM_PURPOSE_SAMPLE, 0) < sc->sample_fraction)
            rows[kept++] = rows[q];
    }
    return kept;
}

int lm__h5_append_referrals(lm_h5_writer *w, const lm_referral *rows, int64_t n, lm_error *err) {
    quiet q;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    referral_rec *rec = NULL;
    int rc = LM_OK;
    if (w == NULL || w->dead || w->role == LM__H5_PART || n < 0 || (n > 0 && rows == NULL))
        return LM_FAIL(err, LM_EARG, "lm__h5_append_referrals: a live writer and rows required");
    if (n == 0)
        return LM_OK;
    quiet_begin(&q);
    if ((rec = lm__malloc((size_t)n * sizeof *rec)) == NULL) {
        rc = LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory for %" PRId64 " /referrals rows",
                     w->tmp_path, n);
        goto fail;
    }
    for (int64_t k = 0; k < n; k++) {
        const lm_referral *r = &rows[k];
        if (r->person_id > INT32_MAX) {
            rc = LM_FAIL(err, LM_ERANGE,
                         "writing '%s': person id %" PRId64
                         " exceeds the int32 range of /referrals/person_id",
                         w->tmp_path, r->person_id);
            goto fail;
        }
        rec[k] =
            (referral_rec){(int32_t)r->person_id, r->programme,   r->arm,       r->referral_month,
                           r->offer_month,        r->start_month, r->end_month, r->reason};
    }
    hsize_t start = (hsize_t)w->n_referral_rows, count = (hsize_t)n, total = start + count;
    H5TRY(mtype = referral_mem_type(), "writing '%s': /referrals type", w->tmp_path);
    H5TRY(mspace = H5Screate_simple(1, &count, NULL), "writing '%s': /referrals", w->tmp_path);
    H5TRY(H5Dset_extent(w->referrals, &total), "writing '%s': extending /referrals", w->tmp_path);
    H5TRY(fspace = H5Dget_space(w->referrals), "writing '%s': /referrals", w->tmp_path);
    H5TRY(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL),
          "writing '%s': /referrals", w->tmp_path);
    H5TRY(H5Dwrite(w->referrals, mtype, mspace, fspace, H5P_DEFAULT, rec),
          "writing '%s': /referrals", w->tmp_path);
    w->n_referral_rows = (int64_t)total;
fail:
    lm__free(rec);
    close_id(&fspace);
    close_id(&mspace);
    close_id(&mtype);
    if (rc != LM_OK)
        discard(w);
    quiet_end(&q);
    return rc;
}

/* ---- creation ----------------------------------------------------------- */

/* Panel columns: the slots [lo, hi) (FULL) or the sampled slots among them. */
static int select_columns(lm_h5_writer *w, int64_t lo, int64_t hi, double fraction, lm_error *err) {
    w->slot0 = lo;
    if (w->mode == LM_PANEL_FULL) {
        w->n_cols = hi - lo;
        return LM_OK;
    }
    int64_t n = 0;
    for (int64_t i = lo; i < hi; i++)
        n += lm_rng_uniform(w->sc.seed, (uint64_t)i, 0, LM_PURPOSE_SAMPLE, 0) < fraction;
    w->cols = lm__malloc((size_t)(n ? n : 1) * sizeof *w->cols);
    if (w->cols == NULL)
        return LM_FAIL(err, LM_ENOMEM,
                       "writing '%s': no memory for the panel sample (%" PRId64 " persons)",
                       w->tmp_path, n);
    w->n_cols = 0;
    for (int64_t i = lo; i < hi; i++)
        if (lm_rng_uniform(w->sc.seed, (uint64_t)i, 0, LM_PURPOSE_SAMPLE, 0) < fraction)
            w->cols[w->n_cols++] = i;
    return LM_OK;
}

/* Chunk width and chunks per panel row. */
static void set_width(lm_h5_writer *w) {
    w->width = w->n_cols < w->sc.chunk_persons ? w->n_cols : w->sc.chunk_persons;
    if (w->width < 1)
        w->width = 1;
    w->n_chunks = (w->n_cols + w->width - 1) / w->width;
}

static int alloc_buffers(lm_h5_writer *w, lm_error *err) {
    size_t cells = (size_t)w->n_chunks * (size_t)w->width;
    for (int v = 0; v < N_VARS; v++) {
        w->raw[v] = lm__aligned_alloc(cells * (size_t)var_size[v]);
        if (w->raw[v] == NULL)
            goto nomem;
        memset(w->raw[v], 0, cells * (size_t)var_size[v]);
        if (w->level > 0) {
            w->bound[v] =
                libdeflate_zlib_compress_bound(NULL, (size_t)w->width * (size_t)var_size[v]);
            w->packed[v] = lm__aligned_alloc((size_t)w->n_chunks * w->bound[v]);
            if (w->packed[v] == NULL)
                goto nomem;
        }
    }
    w->n_streams = 1;
#ifdef _OPENMP
    w->n_streams = omp_get_max_threads();
#endif
    if (w->level > 0) {
        w->packed_size = lm__calloc((size_t)N_VARS * (size_t)w->n_chunks, sizeof *w->packed_size);
        w->streams = lm__aligned_alloc((size_t)w->n_streams * sizeof *w->streams);
        if (w->packed_size == NULL || w->streams == NULL)
            goto nomem;
        memset(w->streams, 0, (size_t)w->n_streams * sizeof *w->streams);
        for (; w->zs_ready < w->n_streams; w->zs_ready++)
            if ((w->streams[w->zs_ready].zc = libdeflate_alloc_compressor(w->level)) == NULL)
                goto nomem;
    }
    return LM_OK;
nomem:
    return LM_FAIL(err, LM_ENOMEM,
                   "writing '%s': no memory for panel buffers (%" PRId64
                   " columns in chunks of %" PRId64 ")",
                   w->tmp_path, w->n_cols, w->width);
}

/* dcpl for a chunked dataset of `rank` with chunk dims `chunk`, filtered at
 * the writer's level (shuffle then deflate; none at level 0), and with a
 * Fletcher-32 checksum of every chunk when `checksum`: damaged data then
 * fails to read instead of passing as garbled numbers. The panel has none:
 * its chunks are packed here and written raw (H5Dwrite_chunk), and it is
 * by far the largest part of a file. */
static hid_t make_dcpl(const lm_h5_writer *w, int rank, const hsize_t *chunk, int checksum) {
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p < 0)
        return p;
    if (H5Pset_chunk(p, rank, chunk) < 0 ||
        (w->level > 0 && (H5Pset_shuffle(p) < 0 || H5Pset_deflate(p, (unsigned)w->level) < 0)) ||
        (checksum && H5Pset_fletcher32(p) < 0)) {
        H5Pclose(p);
        return H5I_INVALID_HID;
    }
    return p;
}

static hid_t state_enum_type(void) {
    hid_t t = H5Tenum_create(H5T_STD_U8LE);
    if (t < 0)
        return t;
    for (int s = 0; s < LM_N_STATES; s++) {
        uint8_t v = (uint8_t)s;
        if (H5Tenum_insert(t, lm_state_name(s), &v) < 0) {
            H5Tclose(t);
            return H5I_INVALID_HID;
        }
    }
    return t;
}

/* Create the 1-D int32 dimension scale /panel/<name> holding data[0..n). */
static hid_t phase_enum_type(void) {
    static const char *const names[4] = {"none", "queued", "search", "in_work"};
    hid_t t = H5Tenum_create(H5T_NATIVE_UINT8);
    for (uint8_t v = 0; t >= 0 && v < 4; v++)
        if (H5Tenum_insert(t, names[v], &v) < 0) {
            H5Tclose(t);
            return H5I_INVALID_HID;
        }
    return t;
}

static hid_t make_scale(lm_h5_writer *w, const char *name, hsize_t n, const int32_t *data,
                        lm_error *err, int *rc) {
    hid_t space = H5I_INVALID_HID, d = H5I_INVALID_HID;
    *rc = LM_OK;
    if ((space = H5Screate_simple(1, &n, NULL)) < 0 ||
        (d = H5Dcreate2(w->g_panel, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT)) < 0 ||
        (n > 0 && H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) ||
        H5DSset_scale(d, name) < 0) {
        *rc = h5_fail(err, __LINE__, "writing '%s': dimension scale /panel/%s", w->tmp_path, name);
        close_id(&d);
    }
    close_id(&space);
    return d;
}

char *lm__h5_part_path(const char *path, int part, int n_parts) {
    size_t len = strlen(path);
    if (len >= 3 && strcmp(path + len - 3, ".h5") == 0)
        len -= 3;
    size_t size = len + 64;
    char *p = lm__malloc(size);
    if (p != NULL)
        snprintf(p, size, "%.*s.part%dof%d.h5", (int)len, path, part, n_parts);
    return p;
}

/* Whether /panel of the main file of a distributed run is virtual: it is
 * unless there are no columns (then every part is empty too and the main
 * file holds the empty datasets itself). */
static int panel_is_virtual(const lm_h5_writer *w) {
    return w->role == LM__H5_MAIN && w->n_cols > 0;
}

/* dcpl of virtual dataset /panel/<v> of the main file: each part's columns
 * [c0, c1) map from /panel/<v> of the part file, named relative to the main
 * file (HDF5 looks for it beside the main file). Parts without columns have
 * no file. */
/* Main file: whether part r has columns, [*c0, *c1) (a part without any has
 * no file). */
static int part_columns(const lm_h5_writer *w, int r, int64_t *c0, int64_t *c1) {
    *c0 = first_col(w, lm_part_first(w->n_slots, r, w->n_parts));
    *c1 = first_col(w, lm_part_first(w->n_slots, r + 1, w->n_parts));
    return *c1 > *c0;
}

/* Main file: the name of part r's file relative to the main file's
 * directory. Owned by caller; NULL when out of memory. */
static char *part_name(const lm_h5_writer *w, int r) {
    char *p = lm__h5_part_path(w->path, r, w->n_parts);
    const char *base = p ? strrchr(p, '/') : NULL;
    if (base != NULL)
        memmove(p, base + 1, strlen(base + 1) + 1);
    return p;
}

static hid_t make_vds_dcpl(const lm_h5_writer *w, int v, const hsize_t *dims) {
    hid_t p = H5Pcreate(H5P_DATASET_CREATE), vspace = H5I_INVALID_HID, sspace = H5I_INVALID_HID;
    char src[64];
    int ok = p >= 0 && (vspace = H5Screate_simple(2, dims, NULL)) >= 0;
    snprintf(src, sizeof src, "/panel/%s", var_name[v]);
    for (int r = 0; ok && r < w->n_parts; r++) {
        int64_t c0, c1;
        if (!part_columns(w, r, &c0, &c1))
            continue;
        hsize_t start[2] = {0, (hsize_t)c0}, count[2] = {dims[0], (hsize_t)(c1 - c0)};
        char *part = part_name(w, r);
        /* H5Pset_virtual reads the name as a printf-like pattern: '%' is written "%%". */
        char *name = part ? lm__malloc(2 * strlen(part) + 1) : NULL;
        if (name != NULL) {
            char *o = name;
            for (const char *c = part; *c; c++) {
                if (*c == '%')
                    *o++ = '%';
                *o++ = *c;
            }
            *o = '\0';
        }
        ok = name != NULL && (sspace = H5Screate_simple(2, count, NULL)) >= 0 &&
             H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             H5Pset_virtual(p, vspace, name, src, sspace) >= 0;
        lm__free(name);
        lm__free(part);
        close_id(&sspace);
    }
    close_id(&vspace);
    if (!ok)
        close_id(&p);
    return p;
}

static int create_panel(lm_h5_writer *w, const lm_population *pop, lm_error *err) {
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, etype = H5I_INVALID_HID,
          ptype = H5I_INVALID_HID, vdcpl = H5I_INVALID_HID;
    hid_t s_month = H5I_INVALID_HID, s_person = H5I_INVALID_HID;
    const char *file = w->tmp_path;
    int32_t *months = NULL, *slots = NULL;
    int rc = LM_OK;

    /* /panel/<v> */
    hsize_t dims[2] = {(hsize_t)w->sc.n_months + 1, (hsize_t)w->n_cols};
    hsize_t maxdims[2] = {dims[0], w->n_cols > 0 ? dims[1] : H5S_UNLIMITED};
    hsize_t chunk[2] = {1, (hsize_t)w->width};
    H5TRY(w->g_panel = H5Gcreate2(w->file, "panel", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          "writing '%s': group /panel", file);
    H5TRY(space = H5Screate_simple(2, dims, maxdims), "writing '%s': /panel", file);
    H5TRY(dcpl = make_dcpl(w, 2, chunk, 0), "writing '%s': /panel chunking and filters", file);
    H5TRY(etype = state_enum_type(), "writing '%s': enum type of /panel/state", file);
    H5TRY(ptype = phase_enum_type(), "writing '%s': enum type of /panel/phase", file);
    /* Committed at the root, so that netCDF-C, which reads the root's named
     * types before any group and skips a variable whose enum type it has
     * not seen named, reads state and phase (output_cf.c). */
    H5TRY(H5Tcommit2(w->file, LM__H5_STATE_TYPE, etype, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          "writing '%s': enum type of /panel/state", file);
    H5TRY(H5Tcommit2(w->file, LM__H5_PHASE_TYPE, ptype, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          "writing '%s': enum type of /panel/phase", file);
    for (int v = 0; v < N_VARS; v++) {
        hid_t ftype = v == VAR_STATE       ? etype
                      : v == VAR_PHASE     ? ptype
                      : v == VAR_PROGRAMME ? H5T_STD_U8LE
                      : v == VAR_LIMITING  ? H5T_STD_U8LE
                      : v == VAR_DISABLED  ? H5T_STD_U8LE
                      : v == VAR_HOURS     ? H5T_STD_U8LE
                      : v == VAR_EARNINGS  ? H5T_STD_U16LE
                      : v == VAR_PERSON_ID ? H5T_STD_I32LE
                                           : H5T_STD_U16LE;
        if (panel_is_virtual(w))
            H5TRY(vdcpl = make_vds_dcpl(w, v, dims), "writing '%s': mapping /panel/%s to the parts",
                  file, var_name[v]);
        H5TRY(w->dset[v] = H5Dcreate2(w->g_panel, var_name[v], ftype, space, H5P_DEFAULT,
                                      panel_is_virtual(w) ? vdcpl : dcpl, H5P_DEFAULT),
              "writing '%s': creating /panel/%s", file, var_name[v]);
        close_id(&vdcpl);
        H5TRY(lm__h5_put_text(w->dset[v], "description", var_desc[v]), "writing '%s': /panel/%s",
              file, var_name[v]);
    }
    if (w->sc.n_programmes > 0) {
        const char *pn[LM_MAX_PROGRAMMES];
        for (int k = 0; k < w->sc.n_programmes; k++)
            pn[k] = w->sc.programmes[k].name;
        H5TRY(put_strs(w->dset[VAR_PROGRAMME], "programme_names", pn, (hsize_t)w->sc.n_programmes),
              "writing '%s': /panel/programme", file);
    }

    /* A part holds the panel datasets only: the main file has the rest. */
    if (w->role == LM__H5_PART)
        goto fail;

    /* Dimension scales: /panel/month = 0..n_months, /panel/person = slot of
     * each column. */
    months = lm__malloc((size_t)dims[0] * sizeof *months);
    slots = lm__malloc((size_t)(w->n_cols > 0 ? w->n_cols : 1) * sizeof *slots);
    if (months == NULL || slots == NULL) {
        rc = LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory for /panel/month", file);
        goto fail;
    }
    for (hsize_t m = 0; m < dims[0]; m++)
        months[m] = (int32_t)m;
    s_month = make_scale(w, "month", dims[0], months, err, &rc);
    if (rc != LM_OK)
        goto fail;
    for (int64_t j = 0; j < w->n_cols; j++)
        slots[j] = (int32_t)col_slot(w, j);
    s_person = make_scale(w, "person", dims[1], slots, err, &rc);
    if (rc != LM_OK)
        goto fail;
    for (int v = 0; v < N_VARS; v++) {
        H5TRY(H5DSattach_scale(w->dset[v], s_month, 0),
              "writing '%s': attaching month to /panel/%s", file, var_name[v]);
        H5TRY(H5DSattach_scale(w->dset[v], s_person, 1),
              "writing '%s': attaching person to /panel/%s", file, var_name[v]);
        /* Labels too, so that h5py's dims[i].label names the dimensions. */
        H5TRY(H5DSset_label(w->dset[v], 0, "month"), "writing '%s': labelling /panel/%s", file,
              var_name[v]);
        H5TRY(H5DSset_label(w->dset[v], 1, "person"), "writing '%s': labelling /panel/%s", file,
              var_name[v]);
    }

    /* /persons/<a> */
    close_id(&space);
    close_id(&dcpl);
    hsize_t zero = 0, unlimited = H5S_UNLIMITED, pchunk = (hsize_t)w->width;
    H5TRY(w->g_persons = H5Gcreate2(w->file, "persons", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          "writing '%s': group /persons", file);
    H5TRY(put_region_names(w->g_persons, &w->sc), "writing '%s': /persons region_names", file);
    H5TRY(space = H5Screate_simple(1, &zero, &unlimited), "writing '%s': /persons", file);
    H5TRY(dcpl = make_dcpl(w, 1, &pchunk, 1), "writing '%s': /persons chunking and filters", file);
    for (int a = 0; a < N_ATTRS; a++)
        H5TRY(w->pdset[a] = H5Dcreate2(w->g_persons, attr_name[a],
                                       a < N_INT32_ATTRS ? H5T_STD_I32LE : H5T_STD_U8LE, space,
                                       H5P_DEFAULT, dcpl, H5P_DEFAULT),
              "writing '%s': creating /persons/%s", file, attr_name[a]);
    /* The main file of a distributed run receives its rows from the ranks. */
    if (w->role == LM__H5_WHOLE)
        rc = append_persons(w, pop, NULL, 0, 0, err);
fail:
    lm__free(months);
    lm__free(slots);
    close_id(&vdcpl);
    close_id(&s_month);
    close_id(&s_person);
    close_id(&etype);
    close_id(&ptype);
    close_id(&dcpl);
    close_id(&space);
    return rc;
}

/* Close every HDF5 object of the writer; returns H5Fclose's result. */
static herr_t close_all(lm_h5_writer *w) {
    herr_t r = 0;
    for (int v = 0; v < N_VARS; v++)
        close_id(&w->dset[v]);
    for (int a = 0; a < N_ATTRS; a++)
        close_id(&w->pdset[a]);
    close_id(&w->referrals);
    close_id(&w->g_panel);
    close_id(&w->g_persons);
    if (w->file >= 0) {
        r = H5Fclose(w->file);
        w->file = H5I_INVALID_HID;
    }
    return r;
}

/* Close and remove the temporary file; the writer stays allocated. */
static void discard(lm_h5_writer *w) {
    close_all(w);
    if (w->tmp_path != NULL && !w->dead)
        remove(w->tmp_path);
    w->dead = 1;
}

static void free_writer(lm_h5_writer *w) {
    if (w == NULL)
        return;
    for (int i = 0; i < w->zs_ready; i++)
        libdeflate_free_compressor(w->streams[i].zc);
    lm__free(w->streams);
    lm__free(w->packed_size);
    for (int v = 0; v < N_VARS; v++) {
        lm__free(w->raw[v]);
        lm__free(w->packed[v]);
    }
    lm__free(w->cols);
    lm__free(w->path);
    lm__free(w->tmp_path);
    lm__free(w);
}

static char *dup_str(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    char *p = lm__malloc(a + b + 1);
    if (p != NULL) {
        memcpy(p, s, a);
        memcpy(p + a, suffix, b + 1);
    }
    return p;
}

int lm_h5_open(const char *path, const lm_scenario *sc, const lm_population *pop,
               lm_panel_mode panel, double sample_fraction, lm_h5_writer **out, lm_error *err) {
    return lm__h5_open(path, sc, pop, panel, sample_fraction, NULL, out, err);
}

/* Root attributes saying how the file of a distributed run is split. */
static int write_part_attrs(lm_h5_writer *w, const lm__h5_layout *lay, lm_error *err) {
    int rc = LM_OK, n = 0;
    const char *file = w->tmp_path;
    char *names[LM_MAX_PARTS_LISTED];
    if (lay->role == LM__H5_PART) {
        H5TRY(put_i32(w->file, "part", lay->part), "writing '%s': root attributes", file);
        H5TRY(put_i32(w->file, "n_parts", lay->n_parts), "writing '%s': root attributes", file);
        H5TRY(put_i64(w->file, "part_first_slot", w->slot0), "writing '%s': root attributes", file);
        return LM_OK;
    }
    /* Main: the part files /panel maps from, for readers to check they exist. */
    for (int r = 0; r < lay->n_parts && n < LM_MAX_PARTS_LISTED && panel_is_virtual(w); r++) {
        int64_t c0, c1;
        if (!part_columns(w, r, &c0, &c1))
            continue;
        if ((names[n] = part_name(w, r)) == NULL) {
            rc = LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory", file);
            goto fail;
        }
        n++;
    }
    H5TRY(put_i32(w->file, "n_ranks", lay->n_parts), "writing '%s': root attributes", file);
    if (n > 0)
        H5TRY(put_strs(w->file, "panel_parts", (const char *const *)names, (hsize_t)n),
              "writing '%s': root attributes", file);
fail:
    for (int k = 0; k < n; k++)
        lm__free(names[k]);
    return rc;
}

/* Create tmp (path + ".tmp.XXXXXXXX") exclusively under a name of its own. */
static int create_tmp(char *tmp, const char *path, lm_error *err) {
    if (lm_tmp_create(tmp, NULL) != 0)
        return LM_FAIL(err, LM_EIO, "cannot create '%s' (the temporary file of '%s'): %s", tmp,
                       path, strerror(errno));
    return LM_OK;
}

const char *lm__h5_tmp_path(const lm_h5_writer *w) {
    return w ? w->tmp_path : NULL;
}

int lm__h5_open(const char *path, const lm_scenario *sc, const lm_population *pop,
                lm_panel_mode panel, double sample_fraction, const lm__h5_layout *lay,
                lm_h5_writer **out, lm_error *err) {
    const lm__h5_layout whole = {LM__H5_WHOLE, 0, 1};
    lm_h5_writer *w = NULL;
    hid_t fapl = H5I_INVALID_HID;
    quiet q;
    int rc = LM_OK;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || path[0] == '\0' || sc == NULL || pop == NULL || out == NULL)
        return LM_FAIL(err, LM_EARG, "lm_h5_open: path, scenario, population and out are required");
    if (panel != LM_PANEL_FULL && panel != LM_PANEL_NONE && panel != LM_PANEL_SAMPLE)
        return LM_FAIL(err, LM_EARG, "writing '%s': unknown panel mode %d", path, (int)panel);
    if (panel == LM_PANEL_SAMPLE && !(sample_fraction > 0.0 && sample_fraction <= 1.0))
        return LM_FAIL(err, LM_EARG, "writing '%s': sample fraction %g is not in (0, 1]", path,
                       sample_fraction);
    if (sc->n_months < 0 || sc->n_regions < 1 || sc->n_regions > LM_MAX_REGIONS ||
        sc->deflate_level < 0 || sc->deflate_level > 9 || pop->n < 1)
        return LM_FAIL(err, LM_EARG,
                       "writing '%s': invalid scenario (n_months %d, n_regions %d, deflate_level "
                       "%d) or population (%" PRId64 " persons)",
                       path, sc->n_months, sc->n_regions, sc->deflate_level, pop->n);
    if (panel != LM_PANEL_NONE && sc->chunk_persons < 1)
        return LM_FAIL(err, LM_EARG, "writing '%s': chunk_persons %" PRId64 " must be >= 1", path,
                       sc->chunk_persons);
    if (panel != LM_PANEL_NONE && sc->chunk_persons > INT32_MAX / 4)
        return LM_FAIL(err, LM_EARG,
                       "writing '%s': chunk_persons %" PRId64 " exceeds HDF5's 4 GB chunk limit",
                       path, sc->chunk_persons);
    if (panel != LM_PANEL_NONE && pop->n > INT32_MAX)
        return LM_FAIL(err, LM_ERANGE,
                       "writing '%s': %" PRId64 " persons: slots and ids of a panel must fit "
                       "in int32",
                       path, pop->n);

    if (lay == NULL)
        lay = &whole;
    if (lay->n_parts < 1 ||
        (lay->role == LM__H5_PART && (lay->part < 0 || lay->part >= lay->n_parts)))
        return LM_FAIL(err, LM_EARG, "writing '%s': part %d of %d", path, lay->part, lay->n_parts);

    quiet_begin(&q);
    w = lm__calloc(1, sizeof *w);
    if (w == NULL) {
        rc = LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory for the writer", path);
        goto fail;
    }
    w->file = w->g_panel = w->g_persons = w->referrals = H5I_INVALID_HID;
    for (int v = 0; v < N_VARS; v++)
        w->dset[v] = H5I_INVALID_HID;
    for (int a = 0; a < N_ATTRS; a++)
        w->pdset[a] = H5I_INVALID_HID;
    w->dead = 1; /* nothing to remove until the file exists */
    w->sc = *sc;
    w->sc.text = NULL;
    w->sc.warnings = NULL;
    w->mode = panel;
    w->panel = panel != LM_PANEL_NONE;
    w->level = sc->deflate_level;
    w->n_slots = pop->n;
    w->role = lay->role;
    w->n_parts = lay->n_parts;
    w->path = dup_str(path, "");
    w->tmp_path = dup_str(path, ".tmp.XXXXXXXX");
    if (w->path == NULL || w->tmp_path == NULL) {
        rc = LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory", path);
        goto fail;
    }
    /* Never rename a file over something that is not a regular file (an
     * output of /dev/full would replace the device node and exit 0). */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        rc = LM_FAIL(err, LM_EIO, "cannot write '%s': it exists and is not a regular file", path);
        goto fail;
    }
    /* The temporary file is created exclusively under a name of its own,
     * so two runs given the same output never write, truncate or delete
     * each other's file. POSIX first: HDF5 does not report errno, and "No
     * such file or directory" / "Permission denied" is what the user needs
     * to see. */
    if ((rc = create_tmp(w->tmp_path, path, err)) != LM_OK)
        goto fail;
    w->dead = 0;

    H5TRY(fapl = H5Pcreate(H5P_FILE_ACCESS), "writing '%s'", w->tmp_path);
    /* Strong close: H5Fclose closes every object still open, so a leaked id
     * can never keep the file open past close or abort. */
    H5TRY(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG), "writing '%s'", w->tmp_path);
    /* The 1.10 file format checksums every piece of metadata (superblock,
     * object headers, heaps, B-trees): a damaged file is a clear read error
     * instead of a crash or a hang in a reader (HDF5 1.10, h5py, R's hdf5r
     * and netCDF-4 read it). */
    H5TRY(H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_LATEST), "writing '%s'",
          w->tmp_path);
    w->file = H5Fcreate(w->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (w->file < 0) {
        rc = LM_FAIL(err, LM_EIO, "cannot create HDF5 file '%s'", w->tmp_path);
        goto fail;
    }

    if (w->panel) {
        int64_t lo = 0, hi = pop->n;
        if (lay->role == LM__H5_PART) {
            lo = lm_part_first(pop->n, lay->part, lay->n_parts);
            hi = lm_part_first(pop->n, lay->part + 1, lay->n_parts);
        }
        rc = select_columns(w, lo, hi, sample_fraction, err);
        if (rc != LM_OK)
            goto fail;
    }
    rc = write_root_attrs(w, sc, pop,
                          panel == LM_PANEL_FULL     ? 1.0
                          : panel == LM_PANEL_SAMPLE ? sample_fraction
                                                     : 0.0,
                          err);
    if (rc == LM_OK && lay->role != LM__H5_WHOLE)
        rc = write_part_attrs(w, lay, err);
    if (rc == LM_OK && lay->role != LM__H5_PART)
        rc = create_referrals(w, err);
    if (rc != LM_OK)
        goto fail;
    if (w->panel) {
        /* The main file of a distributed run packs no panel rows: the parts do. */
        set_width(w);
        if ((lay->role != LM__H5_MAIN && (rc = alloc_buffers(w, err)) != LM_OK) ||
            (rc = create_panel(w, pop, err)) != LM_OK ||
            (lay->role != LM__H5_MAIN && (rc = write_panel_row(w, pop, 0, err)) != LM_OK))
            goto fail;
    }
    close_id(&fapl);
    quiet_end(&q);
    *out = w;
    return LM_OK;

fail:
    close_id(&fapl);
    if (w != NULL) {
        discard(w);
        free_writer(w);
    }
    quiet_end(&q);
    return rc;
}

int lm_h5_write_month(lm_h5_writer *w, const lm_population *pop, int month, const int64_t *entrants,
                      int64_t n_entrants, lm_error *err) {
    quiet q;
    int rc;

    if (w == NULL || pop == NULL || (n_entrants > 0 && entrants == NULL) || n_entrants < 0)
        return LM_FAIL(err, LM_EARG, "lm_h5_write_month: writer, population and entrants required");
    if (w->dead)
        return LM_FAIL(err, LM_EARG, "writing '%s': the writer failed earlier", w->tmp_path);
    if (month != w->last_month + 1 || month > w->sc.n_months)
        return LM_FAIL(err, LM_EARG, "writing '%s': month %d out of order (expected %d of %d)",
                       w->tmp_path, month, w->last_month + 1, w->sc.n_months);
    if (!w->panel) {
        w->last_month = month;
        return LM_OK;
    }
    if (pop->n != w->n_slots)
        return LM_FAIL(err, LM_EARG,
                       "writing '%s': population has %" PRId64 " persons, not %" PRId64,
                       w->tmp_path, pop->n, w->n_slots);
    for (int64_t k = 0; k < n_entrants; k++)
        if (entrants[k] < 0 || entrants[k] >= pop->n)
            return LM_FAIL(err, LM_EARG, "writing '%s': entrant slot %" PRId64 " out of range",
                           w->tmp_path, entrants[k]);

    quiet_begin(&q);
    /* A part writes panel rows only; the main file receives /persons rows
     * (lm__h5_append_rows) and its panel lives in the parts. */
    rc = w->role == LM__H5_MAIN ? LM_OK : write_panel_row(w, pop, month, err);
    if (rc == LM_OK && w->role == LM__H5_WHOLE)
        rc = append_persons(w, pop, entrants, n_entrants, month, err);
    if (rc == LM_OK)
        w->last_month = month;
    else
        discard(w);
    quiet_end(&q);
    return rc;
}

/* ---- close: aggregates and headline ------------------------------------- */

static int write_aggregates(lm_h5_writer *w, const int64_t *counts, lm_error *err) {
    const lm_scenario *sc = &w->sc;
    hid_t g = H5I_INVALID_HID, space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hid_t d = H5I_INVALID_HID;
    int rc = LM_OK;
    const char *file = w->tmp_path;
    hsize_t dims[7] = {
        (hsize_t)sc->n_months + 1, LM_N_STATES, (hsize_t)sc->n_regions, 2, 2, 2, LM_N_AGE_BANDS};
    hsize_t chunk[7] = {1, LM_N_STATES, (hsize_t)sc->n_regions, 2, 2, 2, LM_N_AGE_BANDS};
    static const char *const dim_names[7] = {"month",    "state",    "region",  "sex",
                                             "disabled", "minority", "age_band"};
    static const char *const sex_names[2] = {"male", "female"};
    static const char *const dis_names[2] = {"not_disabled", "disabled"};
    static const char *const min_names[2] = {"white", "ethnic_minority"};
    const char *state_names[LM_N_STATES], *age_names[LM_N_AGE_BANDS];

    for (int s = 0; s < LM_N_STATES; s++)
        state_names[s] = lm_state_name(s);
    for (int a = 0; a < LM_N_AGE_BANDS; a++)
        age_names[a] = lm_age_band_name(a);

    H5TRY(g = H5Gcreate2(w->file, "aggregates", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          "writing '%s': group /aggregates", file);
    H5TRY(space = H5Screate_simple(7, dims, NULL), "writing '%s': /aggregates/counts", file);
    H5TRY(dcpl = make_dcpl(w, 7, chunk, 1), "writing '%s': /aggregates/counts", file);
    H5TRY(d = H5Dcreate2(g, "counts", H5T_STD_I64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
          "writing '%s': creating /aggregates/counts", file);
    H5TRY(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, counts),
          "writing '%s': /aggregates/counts", file);
    H5TRY(lm__h5_put_text(
              d, "description",
              "persons by month, labour state, region, sex, disability, ethnicity, age band"),
          "writing '%s': /aggregates/counts attributes", file);
    H5TRY(put_strs(d, "dimensions", dim_names, 7), "writing '%s': /aggregates/counts attributes",
          file);
    H5TRY(put_strs(d, "state_names", state_names, LM_N_STATES),
          "writing '%s': /aggregates/counts attributes", file);
    H5TRY(put_region_names(d, sc), "writing '%s': /aggregates/counts attributes", file);
    H5TRY(put_strs(d, "sex_names", sex_names, 2), "writing '%s': /aggregates/counts attributes",
          file);
    H5TRY(put_strs(d, "disabled_names", dis_names, 2),
          "writing '%s': /aggregates/counts attributes", file);
    H5TRY(put_strs(d, "minority_names", min_names, 2),
          "writing '%s': /aggregates/counts attributes", file);
    H5TRY(put_strs(d, "age_band_names", age_names, LM_N_AGE_BANDS),
          "writing '%s': /aggregates/counts attributes", file);
fail:
    close_id(&d);
    close_id(&dcpl);
    close_id(&space);
    close_id(&g);
    return rc;
}

/* Memory compound type of lm_headline_row with flat field names. */
/* End a compound type built with string type s: close s, and return t, or
 * an invalid id (t closed) when building failed. */
static hid_t end_type(hid_t t, hid_t s, int ok) {
    if (s >= 0)
        H5Tclose(s);
    if (!ok && t >= 0) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

static hid_t headline_mem_type(void) {
    static const char *const fields[6] = {"persons",         "employment_rate", "unemployment_rate",
                                          "inactivity_rate", "good_job_share",  "mean_earnings"};
    const size_t offs[6] = {
        offsetof(lm_headline_row, persons),           offsetof(lm_headline_row, employment_rate),
        offsetof(lm_headline_row, unemployment_rate), offsetof(lm_headline_row, inactivity_rate),
        offsetof(lm_headline_row, good_job_share),    offsetof(lm_headline_row, mean_earnings)};
    static const char *const when[2] = {"start", "end"};
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(lm_headline_row));
    hid_t s = H5Tcopy(H5T_C_S1);
    char name[64];
    int ok = t >= 0 && s >= 0 && H5Tset_size(s, LM_GROUP_NAME_MAX) >= 0 &&
             H5Tset_strpad(s, H5T_STR_NULLTERM) >= 0 &&
             H5Tinsert(t, "group", offsetof(lm_headline_row, group), s) >= 0;
    for (int f = 0; ok && f < 6; f++)
        for (int k = 0; ok && k < 2; k++) {
            snprintf(name, sizeof name, "%s_%s", fields[f], when[k]);
            ok = H5Tinsert(t, name, offs[f] + (size_t)k * 8u,
                           f == 0 ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE) >= 0;
        }
    return end_type(t, s, ok);
}

/* Write n rows of a compound table at `path` with a description attribute.
 * crc NULL: make_type gives the row struct with its char arrays as
 * fixed-length strings, stored as variable-length UTF-8 with their
 * strings_crc32 (lm__h5_table_write). Else the memory type's strings are
 * variable-length already (char * in the rows), stored packed, and *crc is
 * their strings_crc32. */
static int write_table(lm_h5_writer *w, const char *path, hid_t (*make_type)(void),
                       const void *rows, hsize_t n, const char *description, const uint32_t *crc,
                       lm_error *err) {
    hid_t space = H5I_INVALID_HID, mtype = H5I_INVALID_HID, ftype = H5I_INVALID_HID;
    hid_t d = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    lm__h5_table tab = {.mem = H5I_INVALID_HID, .file = H5I_INVALID_HID};
    const char *file = w->tmp_path;
    int rc = LM_OK;
    H5TRY(mtype = make_type(), "writing '%s': %s type", file, path);
    if (crc == NULL) {
        H5TRY(lm__h5_table_init(&tab, mtype), "writing '%s': %s type", file, path);
        H5TRY(ftype = H5Tcopy(tab.file), "writing '%s': %s type", file, path);
    } else {
        H5TRY(ftype = H5Tcopy(mtype), "writing '%s': %s type", file, path);
        H5TRY(H5Tpack(ftype), "writing '%s': %s type", file, path);
    }
    H5TRY(space = H5Screate_simple(1, &n, NULL), "writing '%s': %s", file, path);
    /* One chunk with a Fletcher-32 checksum: a damaged table fails to read. */
    if (n > 0)
        H5TRY(dcpl = make_dcpl(w, 1, &n, 1), "writing '%s': %s", file, path);
    H5TRY(d = H5Dcreate2(w->file, path, ftype, space, H5P_DEFAULT, n > 0 ? dcpl : H5P_DEFAULT,
                         H5P_DEFAULT),
          "writing '%s': creating %s", file, path);
    if (crc == NULL) {
        int got = lm__h5_table_write(d, &tab, rows, (size_t)n);
        if (got == LM__H5_NOMEM) {
            rc = LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory for %s", file, path);
            goto fail;
        }
        H5TRY(got, "writing '%s': %s", file, path);
    } else {
        if (n > 0)
            H5TRY(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows), "writing '%s': %s", file,
                  path);
        H5TRY(put_i64(d, "strings_crc32", (int64_t)*crc), "writing '%s': %s attributes", file,
              path);
    }
    H5TRY(lm__h5_put_text(d, "description", description), "writing '%s': %s attributes", file,
          path);
fail:
    lm__h5_table_close(&tab);
    close_id(&d);
    close_id(&dcpl);
    close_id(&space);
    close_id(&ftype);
    close_id(&mtype);
    return rc;
}

static int write_headline(lm_h5_writer *w, const lm_headline *h, lm_error *err) {
    hid_t g = H5I_INVALID_HID;
    const char *file = w->tmp_path;
    int rc = LM_OK;

    if (h->n_rows < 0 || h->n_rows > LM_HEADLINE_MAX_ROWS)
        return LM_FAIL(err, LM_EARG, "writing '%s': headline has %d rows", file, h->n_rows);
    H5TRY(g = H5Gcreate2(w->file, "outcomes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          "writing '%s': group /outcomes", file);
    rc = write_table(w, "/outcomes/headline", headline_mem_type, h->rows, (hsize_t)h->n_rows,
                     "rates at month 0 (_start) and the last month (_end); unemployment is ILO, "
                     "over employed + unemployed; a rate with a zero denominator is 0",
                     NULL, err);
fail:
    close_id(&g);
    return rc;
}

void lm_h5_set_programmes(lm_h5_writer *w, const int64_t *monthly,
                          const lm_programme_table *table) {
    w->prog_monthly = monthly;
    w->prog_table = table;
}

void lm_h5_set_earnings(lm_h5_writer *w, const int64_t *earnings_pence) {
    w->earnings = earnings_pence;
}

/* /aggregates/earnings_pence (like counts) and /outcomes/employment_gaps:
 * employment rate differences in points by month (not disabled - disabled,
 * men - women, white - ethnic minority). */
static int write_earnings_gaps(lm_h5_writer *w, const int64_t *counts, lm_error *err) {
    const lm_scenario *sc = &w->sc;
    const int R = sc->n_regions;
    const size_t cells = LM_AGG_CELLS(R);
    const char *file = w->tmp_path;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    int rc = LM_OK;
    double *gaps = lm__malloc((size_t)(sc->n_months + 1) * 3 * sizeof *gaps);
    if (!gaps)
        return LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory for the gaps", file);
    for (int t = 0; t <= sc->n_months; t++) {
        const int64_t *c = counts + (size_t)t * cells;
        int64_t emp[3][2] = {{0}}, pop[3][2] = {{0}};
        for (int st = 0; st < LM_N_STATES; st++)
            for (int r = 0; r < R; r++)
                for (int f = 0; f < 2; f++)
                    for (int di = 0; di < 2; di++)
                        for (int mi = 0; mi < 2; mi++)
                            for (int a = 0; a < LM_N_AGE_BANDS; a++) {
                                int64_t v = c[lm_agg_index(R, st, r, f, di, mi, a)];
                                int e = lm_state_is_employed(st);
                                pop[0][di] += v, pop[1][f] += v, pop[2][mi] += v;
                                if (e)
                                    emp[0][di] += v, emp[1][f] += v, emp[2][mi] += v;
                            }
        /* Advantaged minus disadvantaged group: index 0 minus 1, except sex
         * (men are 0 too: female = 1). */
        for (int g = 0; g < 3; g++) {
            double r0 = pop[g][0] ? (double)emp[g][0] / (double)pop[g][0] : 0.0;
            double r1 = pop[g][1] ? (double)emp[g][1] / (double)pop[g][1] : 0.0;
            gaps[(size_t)t * 3 + (size_t)g] = 100.0 * (r0 - r1);
        }
    }
    static const char *const cols[3] = {"disability", "gender", "ethnicity"};
    hsize_t dims[2] = {(hsize_t)sc->n_months + 1, 3};
    H5TRY(space = H5Screate_simple(2, dims, NULL), "writing '%s': /outcomes/employment_gaps", file);
    H5TRY(d = H5Dcreate2(w->file, "/outcomes/employment_gaps", H5T_IEEE_F64LE, space, H5P_DEFAULT,
                         H5P_DEFAULT, H5P_DEFAULT),
          "writing '%s': /outcomes/employment_gaps", file);
    H5TRY(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, gaps),
          "writing '%s': /outcomes/employment_gaps", file);
    H5TRY(put_strs(d, "columns", cols, 3), "writing '%s': /outcomes/employment_gaps", file);
    H5TRY(lm__h5_put_text(d, "description",
                          "employment-rate gaps in percentage points by month: not disabled minus "
                          "disabled, men minus women, white minus ethnic minority"),
          "writing '%s': /outcomes/employment_gaps", file);
    close_id(&d);
    close_id(&space);
    if (w->earnings) {
        hsize_t edims[7] = {
            (hsize_t)sc->n_months + 1, LM_N_STATES, (hsize_t)R, 2, 2, 2, LM_N_AGE_BANDS};
        hsize_t chunk[7] = {1, LM_N_STATES, (hsize_t)R, 2, 2, 2, LM_N_AGE_BANDS};
        H5TRY(space = H5Screate_simple(7, edims, NULL), "writing '%s': earnings", file);
        H5TRY(dcpl = make_dcpl(w, 7, chunk, 1), "writing '%s': earnings", file);
        H5TRY(d = H5Dcreate2(w->file, "/aggregates/earnings_pence", H5T_STD_I64LE, space,
                             H5P_DEFAULT, dcpl, H5P_DEFAULT),
              "writing '%s': /aggregates/earnings_pence", file);
        H5TRY(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->earnings),
              "writing '%s': /aggregates/earnings_pence", file);
        H5TRY(lm__h5_put_text(
                  d, "description",
                  "summed monthly earnings in pence of the persons in each cell of "
                  "/aggregates/counts (same dimensions); mean = earnings_pence / 100 / counts"),
              "writing '%s': /aggregates/earnings_pence", file);
    }
fail:
    lm__free(gaps);
    close_id(&d);
    close_id(&dcpl);
    close_id(&space);
    return rc;
}

/* Memory compound type of lm_programme_row with flat field names: each
 * measure for the represented population (float64) and, as NAME_sim, for
 * the simulated persons (int64); costs likewise. */
static hid_t programme_mem_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(lm_programme_row));
    hid_t s = H5Tcopy(H5T_C_S1);
    char name[64];
    int ok = t >= 0 && s >= 0 && H5Tset_size(s, sizeof(((lm_programme_row *)0)->programme)) >= 0 &&
             H5Tset_strpad(s, H5T_STR_NULLTERM) >= 0 &&
             H5Tinsert(t, "programme", offsetof(lm_programme_row, programme), s) >= 0 &&
             H5Tinsert(t, "arm", offsetof(lm_programme_row, arm), H5T_NATIVE_INT) >= 0 &&
             H5Tinsert(t, "outcome_window_months",
                       offsetof(lm_programme_row, outcome_window_months), H5T_NATIVE_INT) >= 0;
    for (int m = 0; ok && m < LM_PM_N; m++) {
        snprintf(name, sizeof name, "%s_sim", lm_prog_measure_name(m));
        ok = H5Tinsert(t, lm_prog_measure_name(m),
                       offsetof(lm_programme_row, represented) + (size_t)m * sizeof(double),
                       H5T_NATIVE_DOUBLE) >= 0 &&
             H5Tinsert(t, name, offsetof(lm_programme_row, counts) + (size_t)m * sizeof(int64_t),
                       H5T_NATIVE_INT64) >= 0;
    }
#define LM__PF(f) ok = ok && H5Tinsert(t, #f, offsetof(lm_programme_row, f), H5T_NATIVE_DOUBLE) >= 0
    LM__PF(cost_starts);
    LM__PF(cost_starts_sim);
    LM__PF(cost_support);
    LM__PF(cost_support_sim);
    LM__PF(cost_outcomes);
    LM__PF(cost_outcomes_sim);
    LM__PF(cost_total);
    LM__PF(cost_total_sim);
    LM__PF(cost_per_referral);
    LM__PF(cost_per_start);
    LM__PF(cost_per_sustained_6);
    LM__PF(good_entry_share);
    LM__PF(outcome_rate);
    LM__PF(employed_12_rate);
    LM__PF(any_job_12_rate);
    LM__PF(worked_13w_12_rate);
    LM__PF(sustained_6_12_rate);
    LM__PF(mean_earnings_12);
#undef LM__PF
    return end_type(t, s, ok);
}

/* /appraisal: the scenario's appraisal settings, for lmsim compare. */
static int write_appraisal(lm_h5_writer *w, lm_error *err) {
    const lm_scenario *sc = &w->sc;
    const char *file = w->tmp_path;
    const char *states[LM_N_STATES], *tax[LM_TAX_PARAMS];
    for (int k = 0; k < LM_N_STATES; k++)
        states[k] = lm_state_name(k);
    for (int k = 0; k < LM_TAX_PARAMS; k++)
        tax[k] = lm_tax_param_name(k);
    int rc = LM_OK;
    hid_t g = H5I_INVALID_HID;
    H5TRY(g = H5Gcreate2(w->file, "/appraisal", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          "writing '%s': creating /appraisal", file);
    H5TRY(put_i32(g, "price_base_year", sc->price_base_year) < 0 ||
                  put_f64(g, "discount_rate", sc->discount_rate) < 0 ||
                  put_i32(g, "first_month", sc->appraisal_first) < 0 ||
                  put_i32(g, "last_month", sc->appraisal_last) < 0 ||
                  put_attr(g, "benefit_by_state", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, LM_N_STATES,
                           sc->benefit_by_state) < 0 ||
                  put_strs(g, "state_names", states, LM_N_STATES) < 0 ||
                  put_f64(g, "health_element", sc->health_element) < 0 ||
                  put_attr(g, "tax_schedule", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, LM_TAX_PARAMS,
                           sc->tax_schedule) < 0 ||
                  put_strs(g, "tax_schedule_names", tax, LM_TAX_PARAMS) < 0 ||
                  put_f64(g, "wellbeing_in_work", sc->wellbeing_in_work) < 0 ||
                  put_f64(g, "wellbeing_limiting", sc->wellbeing_limiting) < 0 ||
                  lm__h5_put_text(
                      g, "description",
                      "appraisal settings of the scenario (section `appraisal`): GBP a month "
                      "in prices of price_base_year, discounted to that year; months "
                      "first_month..last_month of the run")
              ? -1
              : 0,
          "writing '%s': /appraisal attributes", file);
fail:
    close_id(&g);
    return rc;
}

static int write_programmes(lm_h5_writer *w, lm_error *err) {
    const lm_scenario *sc = &w->sc;
    const lm_programme_table *tab = w->prog_table;
    double *cost = NULL;
    hid_t space = H5I_INVALID_HID, d = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hid_t mspace = H5I_INVALID_HID;
    const char *file = w->tmp_path;
    int rc = LM_OK;
    const char *names[LM_MAX_PROGRAMMES], *measures[LM_PM_N];
    static const char *const arm_names[LM_N_ARMS] = {"none", "treatment", "control"};
    static const char *const dim_names[4] = {"month", "programme", "arm", "measure"};
    for (int k = 0; k < sc->n_programmes; k++)
        names[k] = sc->programmes[k].name;
    for (int m = 0; m < LM_PM_N; m++)
        measures[m] = lm_prog_measure_name(m);

    if ((rc = write_table(w, "/outcomes/programmes", programme_mem_type, tab->rows,
                          (hsize_t)tab->n_rows,
                          "one row per programme (per arm for the programme under trial): counts "
                          "summed over the run (queued and caseload at the last month) and costs "
                          "in GBP for the represented population (x scale), NAME_sim for the "
                          "simulated persons; rates over the referrals followed to their horizon",
                          NULL, err)))
        return rc;
    H5TRY(d = H5Dopen2(w->file, "/outcomes/programmes", H5P_DEFAULT),
          "writing '%s': /outcomes/programmes", file);
    H5TRY(put_f64(d, "scale", tab->scale), "writing '%s': /outcomes/programmes attributes", file);
    H5TRY(put_i64(d, "represents", tab->represents),
          "writing '%s': /outcomes/programmes attributes", file);
    H5TRY(put_i64(d, "persons", tab->persons), "writing '%s': /outcomes/programmes attributes",
          file);
    close_id(&d);

    if (sc->n_programmes > 0) {
        /* [month][programme][arm][measure], only the scenario's programmes. */
        hsize_t dims[4] = {(hsize_t)sc->n_months + 1, (hsize_t)sc->n_programmes, LM_N_ARMS,
                           LM_PM_N};
        hsize_t chunk[4] = {1, (hsize_t)sc->n_programmes, LM_N_ARMS, LM_PM_N};
        hsize_t mdims[2] = {(hsize_t)sc->n_months + 1, LM_PROG_CELLS};
        hsize_t start[2] = {0, 0}, count[2] = {(hsize_t)sc->n_months + 1,
                                               (hsize_t)sc->n_programmes * LM_N_ARMS * LM_PM_N};
        H5TRY(space = H5Screate_simple(4, dims, NULL), "writing '%s': /aggregates/programmes",
              file);
        H5TRY(mspace = H5Screate_simple(2, mdims, NULL), "writing '%s': /aggregates/programmes",
              file);
        H5TRY(H5Sselect_hyperslab(mspace, H5S_SELECT_SET, start, NULL, count, NULL),
              "writing '%s': /aggregates/programmes", file);
        H5TRY(dcpl = make_dcpl(w, 4, chunk, 1), "writing '%s': /aggregates/programmes", file);
        H5TRY(d = H5Dcreate2(w->file, "/aggregates/programmes", H5T_STD_I64LE, space, H5P_DEFAULT,
                             dcpl, H5P_DEFAULT),
              "writing '%s': creating /aggregates/programmes", file);
        H5TRY(H5Dwrite(d, H5T_NATIVE_INT64, mspace, H5S_ALL, H5P_DEFAULT, w->prog_monthly),
              "writing '%s': /aggregates/programmes", file);
        H5TRY(put_strs(d, "dimensions", dim_names, 4), "writing '%s': /aggregates/programmes",
              file);
        H5TRY(put_strs(d, "programme_names", names, (hsize_t)sc->n_programmes),
              "writing '%s': /aggregates/programmes", file);
        H5TRY(put_strs(d, "arm_names", arm_names, LM_N_ARMS),
              "writing '%s': /aggregates/programmes", file);
        H5TRY(put_strs(d, "measure_names", measures, LM_PM_N),
              "writing '%s': /aggregates/programmes", file);
        H5TRY(put_f64(d, "scale", tab->scale), "writing '%s': /aggregates/programmes", file);
        H5TRY(lm__h5_put_text(
                  d, "description",
                  "flows in the month (stocks queued and caseload at its end) per programme "
                  "and trial arm"),
              "writing '%s': /aggregates/programmes", file);
        close_id(&d);
        close_id(&dcpl);
        close_id(&mspace);
        close_id(&space);

        /* [month][programme] GBP for the represented population (for discounting). */
        const size_t nc = ((size_t)sc->n_months + 1) * (size_t)sc->n_programmes;
        cost = lm__malloc(nc * sizeof *cost);
        if (!cost) {
            rc = LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory for /outcomes/programme_costs",
                         file);
            goto fail;
        }
        lm_programme_monthly_costs(sc, w->prog_monthly, cost);
        for (size_t i = 0; i < nc; i++)
            cost[i] *= tab->scale;
        hsize_t cdims[2] = {(hsize_t)sc->n_months + 1, (hsize_t)sc->n_programmes};
        H5TRY(space = H5Screate_simple(2, cdims, NULL), "writing '%s': /outcomes/programme_costs",
              file);
        H5TRY(dcpl = make_dcpl(w, 2, cdims, 1), "writing '%s': /outcomes/programme_costs", file);
        H5TRY(d = H5Dcreate2(w->file, "/outcomes/programme_costs", H5T_IEEE_F64LE, space,
                             H5P_DEFAULT, dcpl, H5P_DEFAULT),
              "writing '%s': creating /outcomes/programme_costs", file);
        H5TRY(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, cost),
              "writing '%s': /outcomes/programme_costs", file);
        H5TRY(put_strs(d, "programme_names", names, (hsize_t)sc->n_programmes),
              "writing '%s': /outcomes/programme_costs", file);
        H5TRY(put_f64(d, "scale", tab->scale), "writing '%s': /outcomes/programme_costs", file);
        H5TRY(lm__h5_put_text(
                  d, "description",
                  "programme costs in the month, GBP for the represented population, all "
                  "arms (starts, months of support and paid outcomes at the unit costs in "
                  "force); undiscounted, in the scenario's prices"),
              "writing '%s': /outcomes/programme_costs", file);
    }
fail:
    lm__free(cost);
    close_id(&d);
    close_id(&dcpl);
    close_id(&mspace);
    close_id(&space);
    return rc;
}

void lm__h5_set_validation(lm_h5_writer *w, const lm_targets *t, const lm_target_result *res) {
    if (w == NULL)
        return;
    w->val_targets = t;
    w->val_res = res;
}

/* One row of /validation in memory: strings are variable-length UTF-8. */
typedef struct validation_row {
    const char *id, *evidence, *use, *measure, *describe;
    double published, simulated, tolerance, se;
    uint8_t pass;
} validation_row;

static hid_t validation_mem_type(void) {
    static const char *const strs[5] = {"id", "evidence", "use", "measure", "describe"};
    const size_t str_off[5] = {offsetof(validation_row, id), offsetof(validation_row, evidence),
                               offsetof(validation_row, use), offsetof(validation_row, measure),
                               offsetof(validation_row, describe)};
    static const char *const nums[4] = {"published", "simulated", "tolerance", "se"};
    const size_t num_off[4] = {offsetof(validation_row, published),
                               offsetof(validation_row, simulated),
                               offsetof(validation_row, tolerance), offsetof(validation_row, se)};
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(validation_row));
    hid_t s = vlen_str_type();
    int ok = t >= 0 && s >= 0;
    for (int k = 0; ok && k < 5; k++)
        ok = H5Tinsert(t, strs[k], str_off[k], s) >= 0;
    for (int k = 0; ok && k < 4; k++)
        ok = H5Tinsert(t, nums[k], num_off[k], H5T_NATIVE_DOUBLE) >= 0;
    ok = ok && H5Tinsert(t, "pass", offsetof(validation_row, pass), H5T_NATIVE_UINT8) >= 0;
    return end_type(t, s, ok);
}

/* /validation: one row per target, its published value and the result. */
static int write_validation(lm_h5_writer *w, lm_error *err) {
    const size_t n = lm_targets_count(w->val_targets);
    validation_row *rows = lm__calloc(n > 0 ? n : 1, sizeof *rows);
    uint32_t crc = 0; /* strings_crc32, as lm__h5_table_write computes it */
    if (rows == NULL)
        return LM_FAIL(err, LM_ENOMEM, "writing '%s': no memory for /validation", w->tmp_path);
    for (size_t i = 0; i < n; i++) {
        lm_target_info info;
        const lm_target_result *r = &w->val_res[i];
        lm_targets_info(w->val_targets, i, &info);
        rows[i] = (validation_row){info.id,       info.evidence,
                                   info.use,      info.measure,
                                   info.describe, info.value,
                                   r->simulated,  info.tolerance,
                                   r->se,         (uint8_t)(r->available && r->pass)};
        const char *const strs[5] = {info.id, info.evidence, info.use, info.measure, info.describe};
        for (int k = 0; k < 5; k++)
            crc = lm__h5_crc_str(crc, strs[k]);
    }
    int rc = write_table(w, "/validation", validation_mem_type, rows, (hsize_t)n,
                         "targets of lmsim validate: published value, simulated value (NaN when "
                         "it could not be computed), tolerance, approximate s.e., pass "
                         "(1 within tolerance)",
                         &crc, err);
    lm__free(rows);
    return rc;
}

int lm_h5_close(lm_h5_writer *w, const int64_t *counts, const lm_headline *headline,
                lm_error *err) {
    quiet q;
    int rc = LM_OK;
    size_t cells;
    lm_headline computed;

    if (w == NULL)
        return LM_FAIL(err, LM_EARG, "lm_h5_close: no writer");
    quiet_begin(&q);
    if (w->dead) {
        rc = LM_FAIL(err, LM_EARG, "writing '%s': the writer failed earlier; no file written",
                     w->path);
        goto fail;
    }
    if (counts == NULL && w->role != LM__H5_PART) {
        rc = LM_FAIL(err, LM_EARG, "writing '%s': no aggregate counts", w->tmp_path);
        goto fail;
    }
    if (w->panel && w->last_month != w->sc.n_months) {
        rc = LM_FAIL(err, LM_EARG, "writing '%s': only %d of %d months written", w->tmp_path,
                     w->last_month, w->sc.n_months);
        goto fail;
    }
    if (w->role == LM__H5_PART) {
        /* nothing but the panel in a part */
    } else if (headline == NULL) {
        cells = LM_AGG_CELLS(w->sc.n_regions);
        lm_headline_compute(&w->sc, counts, counts + (size_t)w->sc.n_months * cells, &computed);
        headline = &computed;
    }
    if (w->role != LM__H5_PART &&
        ((rc = write_aggregates(w, counts, err)) != LM_OK ||
         (rc = write_headline(w, headline, err)) != LM_OK ||
         (rc = write_earnings_gaps(w, counts, err)) != LM_OK ||
         (w->prog_table && (rc = write_programmes(w, err)) != LM_OK) ||
         (w->val_targets && (rc = write_validation(w, err)) != LM_OK) ||
         (w->sc.has_appraisal && (rc = write_appraisal(w, err)) != LM_OK)))
        goto fail;
    if (w->role != LM__H5_PART) {
        const char *what = NULL;
        if (lm__h5_cf_annotate(w->file, &w->sc, &what) != 0) {
            rc = h5_fail(err, __LINE__, "writing '%s': CF attributes of %s", w->tmp_path,
                         what ? what : "/");
            goto fail;
        }
    }
    if (close_all(w) < 0) {
        rc = h5_fail(err, __LINE__, "writing '%s': closing the file", w->tmp_path);
        goto fail;
    }
    /* A part stays under its temporary name: lm_run renames the parts only
     * after the main file that maps them is in place. */
    if (w->role != LM__H5_PART && rename(w->tmp_path, w->path) != 0) {
        rc = LM_FAIL(err, LM_EIO, "cannot rename '%s' to '%s': %s", w->tmp_path, w->path,
                     strerror(errno));
        goto fail;
    }
    w->dead = 1; /* the file is complete: nothing to remove */
fail:
    discard(w);
    free_writer(w);
    quiet_end(&q);
    return rc;
}

void lm_h5_abort(lm_h5_writer *w) {
    quiet q;
    if (w == NULL)
        return;
    quiet_begin(&q);
    discard(w);
    free_writer(w);
    quiet_end(&q);
}

/* ---- describe ----------------------------------------------------------- */

/* The error of a failed lm__h5_table_read (got != 0) of table `name`. */
static int table_read_failed(lm_error *err, int got, const char *path, const char *name) {
    if (got == LM__H5_DAMAGED)
        return LM_FAIL(err, LM_EHDF5, LM_MSG_TABLE_DAMAGED, path, name);
    if (got == LM__H5_NOMEM)
        return LM_FAIL(err, LM_ENOMEM, "'%s': no memory for %s", path, name);
    return h5_fail(err, __LINE__, "'%s': cannot read %s as lmsim's table", path, name);
}

/* Read string attribute `name` of loc (fixed or variable length) into buf. */
static int get_str(hid_t loc, const char *name, char *buf, size_t size) {
    hid_t a = H5I_INVALID_HID, ft = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    int ok = 0;
    buf[0] = '\0';
    if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (ft = H5Aget_type(a)) < 0 ||
        H5Tget_class(ft) != H5T_STRING)
        goto done;
    if (H5Tis_variable_str(ft) > 0) {
        char *p = NULL;
        if ((mt = vlen_str_type()) < 0 || H5Aread(a, mt, &p) < 0)
            goto done;
        snprintf(buf, size, "%s", p ? p : "");
        H5free_memory(p);
        ok = 1;
    } else {
        size_t n = H5Tget_size(ft);
        char *tmp = lm__malloc(n + 1);
        if (tmp == NULL || (mt = H5Tcopy(ft)) < 0 || H5Aread(a, mt, tmp) < 0) {
            lm__free(tmp);
            goto done;
        }
        tmp[n] = '\0';
        snprintf(buf, size, "%s", tmp);
        lm__free(tmp);
        ok = 1;
    }
done:
    close_id(&mt);
    close_id(&ft);
    close_id(&a);
    return ok;
}

static int get_num(hid_t loc, const char *name, hid_t mtype, void *value) {
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    int ok = a >= 0 && H5Aread(a, mtype, value) >= 0;
    close_id(&a);
    return ok;
}

int lm_h5_describe(const char *path, lm_file_info *info, lm_error *err) {
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t mtype = H5I_INVALID_HID;
    quiet q;
    int rc = LM_OK;
    int32_t n_months = 0;
    const char *missing = NULL;

    if (path == NULL || info == NULL)
        return LM_FAIL(err, LM_EARG, "lm_h5_describe: path and info are required");
    memset(info, 0, sizeof *info);
    if (access(path, R_OK) != 0)
        return LM_FAIL(err, LM_EIO, LM_MSG_CANNOT_OPEN, path, strerror(errno));
    quiet_begin(&q);
    if (H5Fis_hdf5(path) <= 0) {
        rc = LM_FAIL(err, LM_EIO, LM_MSG_NOT_HDF5, path);
        goto fail;
    }
    if ((f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        rc = LM_FAIL(err, LM_EIO, LM_MSG_CANNOT_OPEN_HDF5, path);
        goto fail;
    }
    if (check_strings_crc(f) != 0) {
        rc = LM_FAIL(err, LM_EHDF5,
                     "'%s' is damaged: its root attributes do not match their checksum "
                     "(strings_crc32)",
                     path);
        goto fail;
    }
    if (!get_str(f, "scenario_name", info->scenario_name, sizeof info->scenario_name))
        missing = "scenario_name";
    else if (!get_str(f, "lmsim_version", info->version, sizeof info->version))
        missing = "lmsim_version";
    else if (!get_str(f, "start_month", info->start_month, sizeof info->start_month))
        missing = "start_month";
    else if (!get_str(f, "panel_mode", info->panel_mode, sizeof info->panel_mode))
        missing = "panel_mode";
    else if (!get_num(f, "seed", H5T_NATIVE_UINT64, &info->seed))
        missing = "seed";
    else if (!get_num(f, "n_persons", H5T_NATIVE_INT64, &info->n_persons))
        missing = "n_persons";
    else if (!get_num(f, "n_months", H5T_NATIVE_INT32, &n_months))
        missing = "n_months";
    if (missing != NULL) {
        rc = LM_FAIL(err, LM_EHDF5, LM_MSG_NOT_LMSIM, path, missing);
        goto fail;
    }
    info->n_months = n_months;
    /* Optional: files written before lmsim recorded warnings have none. */
    get_str(f, "warnings", info->warnings, sizeof info->warnings);
    if (!get_num(f, "represents", H5T_NATIVE_INT64, &info->represents) || info->represents < 1)
        info->represents = info->n_persons;

    hsize_t n = 0;
    if ((d = H5Dopen2(f, "/outcomes/headline", H5P_DEFAULT)) < 0 || (space = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, &n, NULL) < 0 ||
        n > LM_HEADLINE_MAX_ROWS) {
        rc = LM_FAIL(err, LM_EHDF5, LM_MSG_NO_HEADLINE, path, LM_HEADLINE_MAX_ROWS);
        goto fail;
    }
    int got = (mtype = headline_mem_type()) < 0
                  ? -1
                  : lm__h5_table_read(d, mtype, info->headline.rows, (size_t)n);
    if (got != 0) {
        rc = table_read_failed(err, got, path, "/outcomes/headline");
        goto fail;
    }
    info->headline.n_rows = (int)n;

    /* Programmes: optional (files without programmes have an empty table). */
    info->programmes.n_rows = 0;
    close_id(&mtype);
    close_id(&space);
    close_id(&d);
    if (H5Lexists(f, "/outcomes/programmes", H5P_DEFAULT) > 0) {
        got = (d = H5Dopen2(f, "/outcomes/programmes", H5P_DEFAULT)) < 0 ||
                      (space = H5Dget_space(d)) < 0 || H5Sget_simple_extent_ndims(space) != 1 ||
                      H5Sget_simple_extent_dims(space, &n, NULL) < 0 ||
                      n > LM_MAX_PROGRAMMES * LM_N_ARMS || (mtype = programme_mem_type()) < 0
                  ? -1
                  : lm__h5_table_read(d, mtype, info->programmes.rows, (size_t)n);
        if (got != 0) {
            rc = table_read_failed(err, got, path, "/outcomes/programmes");
            goto fail;
        }
        info->programmes.n_rows = (int)n;
        info->programmes.scale = 1.0;
        get_num(d, "scale", H5T_NATIVE_DOUBLE, &info->programmes.scale);
        get_num(d, "represents", H5T_NATIVE_INT64, &info->programmes.represents);
        get_num(d, "persons", H5T_NATIVE_INT64, &info->programmes.persons);
    }
fail:
    close_id(&mtype);
    close_id(&space);
    close_id(&d);
    close_id(&f);
    quiet_end(&q);
    return rc;
}
