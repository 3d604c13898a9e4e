/* bench_compression.c - HDF5 filter pipelines on a realistic lmsim panel.
 *
 * Takes one month-by-month panel (the five /panel variables of an lmsim run:
 * state uint8, months_in_state, months_since_job, sustained_months uint16,
 * person_id int32; [month, person], months + 1 rows) and writes it with each
 * filter pipeline below, then reads it back and checks it bit for bit. The
 * panel comes from the Wales baseline simulated in-process through the
 * library API (default 200,000 persons x 24 months), or from an existing run
 * file with --input.
 *
 * Writes are SERIAL H5Dwrite calls, one [1, persons] row per variable per
 * month, through HDF5's own filter pipeline, chunks (1, 65536) like lmsim's
 * writer. (lmsim itself compresses chunks on all threads and writes them with
 * H5Dwrite_chunk; this program compares filters, not that path.) The write
 * time includes H5Fclose; the best of --reps repetitions is reported.
 * "MB/s" is raw (uncompressed) bytes per second; "ratio" is raw bytes / bytes
 * stored (H5Dget_storage_size).
 *
 * Filters that come from plugins (LZ4 32004, bitshuffle 32008, Blosc 32001)
 * are loaded by HDF5 from its plugin path (Debian: hdf5-filter-plugin,
 * hdf5-filter-plugin-blosc-serial); a row whose plugin is missing says so.
 * Debian 12 ships no bitshuffle plugin (32008); Blosc's bit-shuffle with LZ4
 * is the same transform and codec inside one filter.
 *
 *   bench_compression [--persons N] [--months M] [--reps R] [--input RUN.h5]
 *                     [--file TMP.h5] [--scenario CFG]
 */
#define _GNU_SOURCE

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>

#include "lmsim.h"

#ifndef LM_SOURCE_DIR
#define LM_SOURCE_DIR "."
#endif

#define N_VARS 5
#define CHUNK 65536
#define FILTER_LZ4 32004
#define FILTER_BITSHUFFLE 32008
#define FILTER_BLOSC 32001

static const char *const var_name[N_VARS] = {"state", "months_in_state", "months_since_job",
                                             "sustained_months", "person_id"};
static const int var_size[N_VARS] = {1, 2, 2, 2, 4};

typedef struct panel {
    int64_t persons;
    int rows;           /* months + 1 */
    void *data[N_VARS]; /* [rows][persons] */
} panel;

typedef struct filter_cfg {
    const char *name;
    int shuffle;     /* HDF5 byte shuffle first */
    int deflate;     /* deflate level, 0 = none */
    H5Z_filter_t id; /* plugin filter, 0 = none */
    size_t n_cd;     /* plugin parameters */
    unsigned cd[8];
} filter_cfg;

/* Blosc parameters: [0..3] are set by the filter itself; [4] level, [5]
 * shuffle (0 none, 1 byte, 2 bit), [6] codec (1 lz4, 5 zstd). */
static const filter_cfg filters[] = {
    {"none (chunked, no filter)", 0, 0, 0, 0, {0}},
    {"deflate 1", 0, 1, 0, 0, {0}},
    {"shuffle + deflate 1 (lmsim default)", 1, 1, 0, 0, {0}},
    {"shuffle + deflate 4", 1, 4, 0, 0, {0}},
    {"shuffle + deflate 6", 1, 6, 0, 0, {0}},
    {"lz4 (plugin 32004)", 0, 0, FILTER_LZ4, 0, {0}},
    {"shuffle + lz4 (plugin 32004)", 1, 0, FILTER_LZ4, 0, {0}},
    {"bitshuffle + lz4 (plugin 32008)", 0, 0, FILTER_BITSHUFFLE, 2, {0, 2}},
    {"blosc bitshuffle + lz4 5 (plugin 32001)", 0, 0, FILTER_BLOSC, 7, {0, 0, 0, 0, 5, 2, 1}},
    {"blosc bitshuffle + zstd 1 (plugin 32001)", 0, 0, FILTER_BLOSC, 7, {0, 0, 0, 0, 1, 2, 5}},
};
#define N_FILTERS (sizeof filters / sizeof filters[0])

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static hid_t mem_type(int v) {
    switch (var_size[v]) {
    case 1:
        return H5T_NATIVE_UINT8;
    case 2:
        return H5T_NATIVE_UINT16;
    default:
        return H5T_NATIVE_INT32;
    }
}

static hid_t file_type(int v) {
    switch (var_size[v]) {
    case 1:
        return H5T_STD_U8LE;
    case 2:
        return H5T_STD_U16LE;
    default:
        return H5T_STD_I32LE;
    }
}

static int alloc_panel(panel *p) {
    for (int v = 0; v < N_VARS; v++) {
        p->data[v] = malloc((size_t)p->rows * (size_t)p->persons * (size_t)var_size[v]);
        if (!p->data[v])
            return -1;
    }
    return 0;
}

static void copy_month(panel *p, const lm_population *pop, int m) {
    const size_t n = (size_t)p->persons, off = (size_t)m * n;
    memcpy((uint8_t *)p->data[0] + off, pop->state, n);
    memcpy((uint16_t *)p->data[1] + off, pop->months_in_state, n * 2);
    memcpy((uint16_t *)p->data[2] + off, pop->months_since_job, n * 2);
    memcpy((uint16_t *)p->data[3] + off, pop->sustained_months, n * 2);
    int32_t *id = (int32_t *)p->data[4] + off;
    for (size_t i = 0; i < n; i++)
        id[i] = (int32_t)lm_population_id(pop, (int64_t)i);
}

/* Simulate the panel through the library. */
static int make_panel(const char *scenario, int64_t persons, int months, panel *p) {
    char o1[64], o2[64];
    const char *ov[3] = {o1, o2, "output.panel=\"none\""};
    lm_error err;
    lm_scenario *sc = NULL;
    lm_sim *sim = NULL;
    snprintf(o1, sizeof o1, "simulation.persons=%" PRId64, persons);
    snprintf(o2, sizeof o2, "simulation.months=%d", months);
    if (lm_scenario_load(scenario, ov, 3, &sc, &err) || lm_sim_create(sc, 0, &sim, &err)) {
        fprintf(stderr, "bench_compression: %s\n", err.msg);
        lm_scenario_destroy(sc);
        return -1;
    }
    p->persons = persons;
    p->rows = months + 1;
    if (alloc_panel(p))
        goto nomem;
    copy_month(p, lm_sim_population(sim), 0);
    for (int m = 1; m <= months; m++) {
        if (lm_sim_step(sim, &err)) {
            fprintf(stderr, "bench_compression: %s\n", err.msg);
            goto fail;
        }
        copy_month(p, lm_sim_population(sim), m);
    }
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
    return 0;
nomem:
    fprintf(stderr, "bench_compression: out of memory\n");
fail:
    lm_sim_destroy(sim);
    lm_scenario_destroy(sc);
    return -1;
}

/* Read the panel of an existing lmsim run file. */
static int read_panel(const char *path, panel *p) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "bench_compression: cannot open %s\n", path);
        return -1;
    }
    int rc = -1;
    for (int v = 0; v < N_VARS; v++) {
        char name[64];
        snprintf(name, sizeof name, "/panel/%s", var_name[v]);
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        if (d < 0) {
            fprintf(stderr, "bench_compression: %s has no %s\n", path, name);
            goto done;
        }
        hid_t s = H5Dget_space(d);
        hsize_t dims[2] = {0, 0};
        H5Sget_simple_extent_dims(s, dims, NULL);
        H5Sclose(s);
        if (v == 0) {
            p->rows = (int)dims[0];
            p->persons = (int64_t)dims[1];
            if (alloc_panel(p)) {
                H5Dclose(d);
                goto done;
            }
        }
        /* state is an enum over uint8: read it with its own (1-byte) type. */
        hid_t t = v == 0 ? H5Dget_type(d) : mem_type(v);
        herr_t r = H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->data[v]);
        if (v == 0)
            H5Tclose(t);
        H5Dclose(d);
        if (r < 0 || dims[0] != (hsize_t)p->rows || dims[1] != (hsize_t)p->persons)
            goto done;
    }
    rc = 0;
done:
    H5Fclose(f);
    return rc;
}

static hid_t make_dcpl(const filter_cfg *fc, hsize_t width) {
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[2] = {1, width};
    if (p < 0 || H5Pset_chunk(p, 2, chunk) < 0)
        return -1;
    if (fc->shuffle && H5Pset_shuffle(p) < 0)
        return -1;
    if (fc->deflate && H5Pset_deflate(p, (unsigned)fc->deflate) < 0)
        return -1;
    if (fc->id && H5Pset_filter(p, fc->id, H5Z_FLAG_MANDATORY, fc->n_cd, fc->cd) < 0)
        return -1;
    return p;
}

typedef struct outcome {
    double write_s, read_s, file_bytes;
    double stored[N_VARS];
    int verified;
} outcome;

static int write_once(const char *path, const filter_cfg *fc, const panel *p, double *secs) {
    hsize_t width = (hsize_t)(p->persons < CHUNK ? p->persons : CHUNK);
    hsize_t dims[2] = {(hsize_t)p->rows, (hsize_t)p->persons};
    hsize_t row = (hsize_t)p->persons;
    hid_t dset[N_VARS];
    double t0 = now_s();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t mspace = H5Screate_simple(1, &row, NULL);
    hid_t dcpl = make_dcpl(fc, width);
    if (f < 0 || space < 0 || mspace < 0 || dcpl < 0)
        return -1;
    for (int v = 0; v < N_VARS; v++) {
        dset[v] = H5Dcreate2(f, var_name[v], file_type(v), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (dset[v] < 0)
            return -1;
    }
    for (int m = 0; m < p->rows; m++) {
        hsize_t start[2] = {(hsize_t)m, 0}, count[2] = {1, row};
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
        for (int v = 0; v < N_VARS; v++) {
            const uint8_t *src =
                (const uint8_t *)p->data[v] + (size_t)m * (size_t)p->persons * (size_t)var_size[v];
            if (H5Dwrite(dset[v], mem_type(v), mspace, space, H5P_DEFAULT, src) < 0)
                return -1;
        }
    }
    for (int v = 0; v < N_VARS; v++)
        H5Dclose(dset[v]);
    H5Pclose(dcpl);
    H5Sclose(mspace);
    H5Sclose(space);
    if (H5Fclose(f) < 0)
        return -1;
    *secs = now_s() - t0;
    return 0;
}

static int read_check(const char *path, const panel *p, outcome *o) {
    size_t max_bytes = (size_t)p->rows * (size_t)p->persons * 4u;
    void *buf = malloc(max_bytes);
    if (!buf)
        return -1;
    double t0 = now_s();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int ok = f >= 0;
    o->verified = 1;
    for (int v = 0; ok && v < N_VARS; v++) {
        hid_t d = H5Dopen2(f, var_name[v], H5P_DEFAULT);
        ok = d >= 0 && H5Dread(d, mem_type(v), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
        if (ok) {
            o->stored[v] = (double)H5Dget_storage_size(d);
            size_t bytes = (size_t)p->rows * (size_t)p->persons * (size_t)var_size[v];
            o->verified &= memcmp(buf, p->data[v], bytes) == 0;
        }
        if (d >= 0)
            H5Dclose(d);
    }
    if (f >= 0)
        H5Fclose(f);
    o->read_s = now_s() - t0;
    free(buf);
    struct stat st;
    o->file_bytes = stat(path, &st) == 0 ? (double)st.st_size : 0.0;
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    int64_t persons = 196608; /* 3 chunks of 65536: no padded edge chunk */
    int months = 24, reps = 3;
    const char *input = NULL, *scenario = LM_SOURCE_DIR "/scenarios/wales_baseline.cfg";
    char path_buf[256];
    const char *path = NULL;
    for (int i = 1; i < argc; i += 2) { /* option and value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "usage: bench_compression [--persons N] [--months M] [--reps R] "
                            "[--input RUN.h5] [--file TMP.h5] [--scenario CFG]\n");
            return 2;
        }
        if (strcmp(a, "--persons") == 0)
            persons = strtoll(v, NULL, 10);
        else if (strcmp(a, "--months") == 0)
            months = atoi(v);
        else if (strcmp(a, "--reps") == 0)
            reps = atoi(v);
        else if (strcmp(a, "--input") == 0)
            input = v;
        else if (strcmp(a, "--file") == 0)
            path = v;
        else if (strcmp(a, "--scenario") == 0)
            scenario = v;
        else {
            fprintf(stderr, "bench_compression: unknown option %s\n", a);
            return 2;
        }
    }
    if (persons < 1 || months < 1 || reps < 1)
        return 2;
    if (!path) {
        snprintf(path_buf, sizeof path_buf, "/tmp/lmsim_bench_comp_%ld.h5", (long)getpid());
        path = path_buf;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    panel p;
    memset(&p, 0, sizeof p);
    if (input ? read_panel(input, &p) : make_panel(scenario, persons, months, &p))
        return 1;
    double raw[N_VARS], raw_all = 0.0;
    for (int v = 0; v < N_VARS; v++) {
        raw[v] = (double)p.rows * (double)p.persons * var_size[v];
        raw_all += raw[v];
    }
    printf("panel: %s, %" PRId64 " persons x %d rows (months 0..%d), %.1f MB raw in %d "
           "variables; chunks (1, %d); serial H5Dwrite row by row, best of %d; HDF5 %d.%d.%d\n\n",
           input ? input : "Wales baseline simulated in-process", p.persons, p.rows, p.rows - 1,
           raw_all / 1e6, N_VARS, CHUNK, reps, H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
    printf("| filter pipeline | write s | write MB/s (raw) | read MB/s (raw) | ratio all | state | "
           "months_in_state | months_since_job | sustained_months | person_id | file MB |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    int failures = 0;
    for (size_t k = 0; k < N_FILTERS; k++) {
        const filter_cfg *fc = &filters[k];
        if (fc->id && H5Zfilter_avail(fc->id) <= 0) {
            printf("| %s | n/a: filter %u not available (plugin not installed) | | | | | | | | | "
                   "|\n",
                   fc->name, (unsigned)fc->id);
            continue;
        }
        outcome o;
        memset(&o, 0, sizeof o);
        double best = 0.0;
        int ok = 1;
        for (int r = 0; ok && r < reps; r++) {
            double s = 0.0;
            ok = write_once(path, fc, &p, &s) == 0;
            if (ok && (r == 0 || s < best))
                best = s;
        }
        if (!ok || read_check(path, &p, &o) != 0 || !o.verified) {
            printf("| %s | FAILED (%s) | | | | | | | | | |\n", fc->name,
                   !ok           ? "write"
                   : !o.verified ? "read back differs"
                                 : "read");
            failures++;
            remove(path);
            continue;
        }
        double stored_all = 0.0;
        for (int v = 0; v < N_VARS; v++)
            stored_all += o.stored[v];
        printf("| %s | %.3f | %.0f | %.0f | %.2f", fc->name, best, raw_all / 1e6 / best,
               raw_all / 1e6 / o.read_s, raw_all / stored_all);
        for (int v = 0; v < N_VARS; v++)
            printf(" | %.2f", o.stored[v] > 0 ? raw[v] / o.stored[v] : 0.0);
        printf(" | %.1f |\n", o.file_bytes / 1e6);
        remove(path);
    }
    printf("\nratio: raw bytes / stored bytes (H5Dget_storage_size), per variable and all five; "
           "read: one H5Dread per variable, checked bit for bit against what was written.\n");
    for (int v = 0; v < N_VARS; v++)
        free(p.data[v]);
    return failures ? 1 : 0;
}
