/* run.c - one complete run: engine + writer, with progress and interruption.
 *
 * lm_run() owns every object it creates and releases them on every path.
 * The aggregate counts of all months are kept in memory (a few hundred
 * integers a month) and written at the end with the headline table; the
 * panel is written month by month. Any failure, or a stop request, aborts
 * the writer, which removes the temporary file: no file ever appears under
 * the final name unless the run completed.
 *
 * With opt->moments, the validation moments (lmsim/moments.h) observe
 * month 0 and every month after the step; with opt->results too, their
 * results are filled after the last month and, with a file, written to
 * /validation before the file is closed and renamed.
 *
 * The referral history (/referrals) is appended after each month from the
 * spells that ended in it (lm_sim_ended_spells), and at the end from the
 * spells still under way; in panel mode sample only the sampled persons'.
 *
 * A distributed run (opt->exchange with more than one rank) has one writer
 * per rank for its part file (the panel columns of its slots) and, on rank
 * 0, the main writer. /persons and /referrals rows are gathered on rank 0
 * in slot order: ranks own ascending blocks of slots, so concatenating in
 * rank order gives the single-process order. Every rank makes the same sequence of exchange
 * calls, and the ranks agree at the end of each month on whether any rank
 * failed or was asked to stop, so that none is left waiting for the others.
 *
 * The folder of the output must exist and be writable: lm_run() checks it
 * before any work (synthesis can take minutes) and does not create it, so
 * that a mistyped path is an error rather than a new folder, and ranks on
 * different nodes cannot race to create it (docs/cluster.md).
 */
#define _POSIX_C_SOURCE 200809L

#include "lmsim/run.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "lmsim/moments.h"
#include "lmsim/sim.h"
#include "targets_internal.h"

#define ROW_BYTES (LM__H5_ROW_WORDS * sizeof(int32_t))
#define GATHER_BATCH 65536 /* /persons rows per gather of the initial population */

/* The files of one run: the whole file, or this rank's part and (rank 0)
 * the main file. */
typedef struct files {
    const lm_exchange *ex; /* NULL unless distributed */
    lm_h5_writer *whole;   /* single process */
    lm_h5_writer *part;    /* distributed: this rank's panel columns (NULL if none) */
    lm_h5_writer *main;    /* distributed, rank 0: the file users open */
    char *part_path;       /* final name of this rank's part */
    char *part_tmp;        /* its temporary name, where lm_h5_close leaves it */
    int part_closed;       /* the part is complete under part_tmp */
    int part_done;         /* the part file was renamed into place */
    const char *main_path; /* rank 0: the main file, once renamed into place */
    int64_t *count;        /* distributed: n_ranks + 1 words of exchange scratch */
    size_t *bytes;         /* distributed: n_ranks byte counts of a gather */
    int failed_all;        /* a failure was agreed during a gather */
} files;

/* Append gathered records to the main file. */
typedef int (*append_fn)(lm_h5_writer *w, const void *recs, int64_t n, lm_error *err);

static int append_persons(lm_h5_writer *w, const void *recs, int64_t n, lm_error *err) {
    return lm__h5_append_rows(w, recs, n, err);
}

static int append_referrals(lm_h5_writer *w, const void *recs, int64_t n, lm_error *err) {
    return lm__h5_append_referrals(w, recs, n, err);
}

/* Gather every rank's records rows[0..n) (`size` bytes each) on rank 0 and
 * append them to the main file, in rank order. Every rank calls this the
 * same number of times whatever happened before: a rank that failed passes
 * its error as rc_in (and no rows), every rank learns of it from the count
 * exchange, sets f->failed_all and returns an error, and none is left
 * waiting in a collective. Returns rc_in if it is an error. */
static int gather_records(files *f, const void *rows, int64_t n, size_t size, append_fn append,
                          int rc_in, lm_error *err) {
    const lm_exchange *ex = f->ex;
    const int K = ex->n_ranks;
    int64_t *count = f->count, total = 0;
    void *all = NULL;
    int rc = LM_OK;
    memset(count, 0, (size_t)(K + 1) * sizeof *count);
    count[ex->rank] = rc_in == LM_OK ? n : 0;
    count[K] = rc_in != LM_OK; /* ranks that failed */
    if (ex->sum_i64(ex->user, count, (size_t)K + 1))
        return LM_FAIL(err, LM_EIO, "exchanging row counts between ranks failed");
    if (count[K] > 0) {
        f->failed_all = 1;
        return rc_in != LM_OK ? rc_in
                              : LM_FAIL(err, LM_EIO, "another rank failed while writing rows");
    }
    for (int r = 0; r < K; r++) {
        f->bytes[r] = (size_t)count[r] * size;
        total += count[r];
    }
    /* Rank 0 needs room for every row; all ranks learn whether it has it. */
    int64_t nomem = 0;
    if (ex->rank == 0)
        nomem = (all = lm__malloc((size_t)(total > 0 ? total : 1) * size)) == NULL;
    if (ex->sum_i64(ex->user, &nomem, 1) || nomem) {
        lm__free(all);
        f->failed_all = 1;
        return LM_FAIL(err, nomem ? LM_ENOMEM : LM_EIO, "rank 0: no memory to gather %lld rows",
                       (long long)total);
    }
    if (ex->gather(ex->user, rows, (size_t)n * size, all, f->bytes))
        rc = LM_FAIL(err, LM_EIO, "gathering rows on rank 0 failed");
    else if (ex->rank == 0 && f->main)
        rc = append(f->main, all, total, err);
    lm__free(all);
    return rc;
}

/* Columns of every rank's part, so each knows where its columns start in
 * the main file: *first = columns of ranks before this one, *total = all. */
static int column_offsets(const files *f, int64_t *first, int64_t *total) {
    const lm_exchange *ex = f->ex;
    int64_t *cols = f->count;
    memset(cols, 0, (size_t)(ex->n_ranks + 1) * sizeof *cols);
    cols[ex->rank] = lm__h5_columns(f->part);
    int bad = ex->sum_i64(ex->user, cols, (size_t)ex->n_ranks);
    *first = *total = 0;
    for (int r = 0; r < ex->n_ranks; r++) {
        *first += r < ex->rank ? cols[r] : 0;
        *total += cols[r];
    }
    return bad ? LM_EIO : LM_OK;
}

/* /persons rows of the initial population: global columns are gathered
 * GATHER_BATCH at a time, each rank sending its columns within the batch.
 * Every rank takes part in every batch until a failure is agreed. */
static int gather_initial(files *f, const lm_population *pop, lm_error *err) {
    int64_t first, total;
    if (column_offsets(f, &first, &total) != LM_OK)
        return LM_FAIL(err, LM_EIO, "exchanging panel column counts between ranks failed");
    const int64_t mine = lm__h5_columns(f->part);
    int32_t *rows = lm__malloc(GATHER_BATCH * ROW_BYTES);
    int rc = rows ? LM_OK : LM_FAIL(err, LM_ENOMEM, "no memory for /persons rows");
    for (int64_t b = 0; b < total && !f->failed_all; b += GATHER_BATCH) {
        /* This rank's columns [first, first + mine) within [b, b + batch). */
        int64_t lo = b > first ? b : first;
        int64_t hi = b + GATHER_BATCH < first + mine ? b + GATHER_BATCH : first + mine;
        int64_t n = 0;
        if (hi > lo && rc == LM_OK)
            n = lm__h5_person_rows(f->part, pop, NULL, 0, 0, lo - first, hi - first, rows);
        rc = gather_records(f, rows, n, ROW_BYTES, append_persons, rc, err);
    }
    lm__free(rows);
    return rc;
}

/* Entrants of this month among this rank's panel columns, gathered. */
static int gather_entrants(files *f, const lm_population *pop, const int64_t *entr, int64_t n_entr,
                           int month, int rc, lm_error *err) {
    int64_t n = lm__h5_person_rows(f->part, pop, entr, n_entr, month, 0, 0, NULL);
    int32_t *rows = lm__malloc((size_t)(n > 0 ? n : 1) * ROW_BYTES);
    if (rows == NULL && rc == LM_OK)
        rc = LM_FAIL(err, LM_ENOMEM, "no memory for /persons rows");
    if (rows != NULL)
        lm__h5_person_rows(f->part, pop, entr, n_entr, month, 0, 0, rows);
    rc = gather_records(f, rows, n, ROW_BYTES, append_persons, rc, err);
    lm__free(rows);
    return rc;
}

/* The referral-history rows of the spells that ended in the last step
 * (open == 0) or of those still under way (open == 1), of the persons in
 * the file's panel: appended to the whole file, or gathered on rank 0.
 * Every rank takes part, even after a failure (rc). */
static int write_referrals(files *f, const lm_scenario *sc, const lm_sim *sim, int open, int rc,
                           lm_error *err) {
    if (sc->n_programmes == 0)
        return rc;
    int64_t n =
        rc == LM_OK ? (open ? lm_sim_open_spells(sim, NULL) : lm_sim_ended_spells(sim, NULL)) : 0;
    lm_referral *rows = lm__malloc((size_t)(n > 0 ? n : 1) * sizeof *rows);
    if (rows == NULL && rc == LM_OK)
        rc = LM_FAIL(err, LM_ENOMEM, "no memory for %lld /referrals rows", (long long)n);
    if (rows == NULL || rc != LM_OK)
        n = 0;
    else
        n = lm__referrals_in_panel(
            sc, rows, open ? lm_sim_open_spells(sim, rows) : lm_sim_ended_spells(sim, rows));
    if (f->whole) {
        if (rc == LM_OK)
            rc = lm__h5_append_referrals(f->whole, rows, n, err);
    } else {
        rc = gather_records(f, rows, n, sizeof *rows, append_referrals, rc, err);
    }
    lm__free(rows);
    return rc;
}

static int open_files(files *f, const lm_scenario *sc, const char *path, const lm_population *pop,
                      lm_error *err) {
    const lm_exchange *ex = f->ex;
    if (!ex)
        return lm_h5_open(path, sc, pop, sc->panel, sc->sample_fraction, &f->whole, err);
    int rc = LM_OK;
    if (ex->rank == 0) {
        const lm__h5_layout main = {LM__H5_MAIN, 0, ex->n_ranks};
        rc = lm__h5_open(path, sc, pop, sc->panel, sc->sample_fraction, &main, &f->main, err);
    }
    const int64_t lo = lm_part_first(sc->n_persons, ex->rank, ex->n_ranks),
                  hi = lm_part_first(sc->n_persons, ex->rank + 1, ex->n_ranks);
    if (rc == LM_OK && sc->panel != LM_PANEL_NONE && hi > lo) {
        const lm__h5_layout part = {LM__H5_PART, ex->rank, ex->n_ranks};
        f->part_path = lm__h5_part_path(path, ex->rank, ex->n_ranks);
        if (f->part_path == NULL)
            rc = LM_FAIL(err, LM_ENOMEM, "no memory");
        else
            rc = lm__h5_open(f->part_path, sc, pop, sc->panel, sc->sample_fraction, &part, &f->part,
                             err);
        /* Where lm_h5_close will leave the part (a name of its own). */
        if (rc == LM_OK) {
            const char *t = lm__h5_tmp_path(f->part);
            if ((f->part_tmp = lm__malloc(strlen(t) + 1)) == NULL)
                rc = LM_FAIL(err, LM_ENOMEM, "no memory");
            else
                memcpy(f->part_tmp, t, strlen(t) + 1);
        }
        /* A block whose slots hold no sampled column has no part file. */
        if (rc == LM_OK && lm__h5_columns(f->part) == 0) {
            lm_h5_abort(f->part);
            f->part = NULL;
        }
    }
    if (lm__agree(ex, rc != LM_OK, NULL) > 0 && rc == LM_OK)
        rc = LM_FAIL(err, LM_EIO, "another rank could not create its file");
    if (rc == LM_OK && sc->panel != LM_PANEL_NONE) {
        rc = gather_initial(f, pop, err);
        if (lm__agree(ex, rc != LM_OK, NULL) > 0 && rc == LM_OK)
            rc = LM_FAIL(err, LM_EIO, "another rank failed writing /persons");
    }
    return rc;
}

/* One month of output. Returns this rank's result; the caller agrees. */
static int write_month(files *f, const lm_scenario *sc, const lm_sim *sim, int m, lm_error *err) {
    int64_t n_entr;
    const int64_t *entr = lm_sim_entrants(sim, &n_entr);
    const lm_population *pop = lm_sim_population(sim);
    if (f->whole) {
        int rc = lm_h5_write_month(f->whole, pop, m, entr, n_entr, err);
        return rc == LM_OK ? write_referrals(f, sc, sim, 0, rc, err) : rc;
    }
    int rc = LM_OK;
    if (f->part)
        rc = lm_h5_write_month(f->part, pop, m, NULL, 0, err);
    if (f->main && rc == LM_OK)
        rc = lm_h5_write_month(f->main, pop, m, NULL, 0, err);
    /* Every rank takes part in the gather, even after a failure here, so
     * that none waits for another; the agreement that follows reports it. */
    if (sc->panel != LM_PANEL_NONE)
        rc = gather_entrants(f, pop, entr, n_entr, m, rc, err);
    return write_referrals(f, sc, sim, 0, rc, err);
}

/* Write the totals and close: the whole file, or (distributed) the parts
 * under their temporary names, then the main file renamed into place, then
 * the parts renamed. A failure before the main file's rename leaves any
 * previous run under the same name as it was. */
static int close_files(files *f, const char *path, const int64_t *counts, const int64_t *prog,
                       const int64_t *earn, const lm_scenario *sc, const lm_programme_table *table,
                       const lm_headline *h, const lm_run_options *opt, lm_error *err) {
    lm_h5_writer *w = f->ex ? f->main : f->whole;
    int rc = LM_OK;
    if (f->part) {
        rc = lm_h5_close(f->part, NULL, NULL, err);
        f->part = NULL;
        f->part_closed = rc == LM_OK;
    }
    if (lm__agree(f->ex, rc != LM_OK, NULL) > 0) {
        if (rc == LM_OK)
            rc = LM_FAIL(err, LM_EIO, "another rank failed to finish its part file");
        return rc;
    }
    if (w) {
        lm_h5_set_programmes(w, prog, table);
        lm_h5_set_earnings(w, sc->has_earnings ? earn : NULL);
        if (opt->moments && opt->results)
            lm__h5_set_validation(w, lm__moments_targets(opt->moments), opt->results);
        rc = lm_h5_close(w, counts, h, err);
        f->main = f->whole = NULL;
        if (rc == LM_OK && f->ex)
            f->main_path = path;
    }
    if (lm__agree(f->ex, rc != LM_OK, NULL) > 0) {
        if (rc == LM_OK)
            rc = LM_FAIL(err, LM_EIO, "rank 0 failed to write the main file");
        return rc;
    }
    if (f->part_closed) {
        if (rename(f->part_tmp, f->part_path) != 0)
            rc = LM_FAIL(err, LM_EIO, "cannot rename '%s' to '%s'", f->part_tmp, f->part_path);
        else
            f->part_done = 1;
    }
    if (lm__agree(f->ex, rc != LM_OK, NULL) > 0 && rc == LM_OK)
        rc = LM_FAIL(err, LM_EIO, "another rank could not rename its part file");
    return rc;
}

static void free_files(files *f) {
    lm__free(f->part_path);
    lm__free(f->part_tmp);
    lm__free(f->count);
    lm__free(f->bytes);
    memset(f, 0, sizeof *f);
}

/* After a failure: remove every file of this rank, finished or not. */
static void abort_files(files *f) {
    lm_h5_abort(f->whole);
    lm_h5_abort(f->part);
    lm_h5_abort(f->main);
    if (f->part_done && f->part_path)
        remove(f->part_path);
    else if (f->part_closed && f->part_tmp)
        remove(f->part_tmp);
    if (f->main_path)
        remove(f->main_path);
    free_files(f);
}

/* The folder of out_path must be an existing, writable folder. */
static int check_out_dir(const char *out_path, lm_error *err) {
    char dir[1024];
    const char *slash = strrchr(out_path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == out_path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - out_path), out_path);
    struct stat st;
    if (stat(dir, &st) != 0)
        return LM_FAIL(err, LM_EIO,
                       "cannot write '%s': its folder '%s' %s (lmsim run does not create "
                       "folders: mkdir -p '%s' first)",
                       out_path, dir, errno == ENOENT ? "does not exist" : strerror(errno), dir);
    if (!S_ISDIR(st.st_mode))
        return LM_FAIL(err, LM_EIO, "cannot write '%s': '%s' is not a folder", out_path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return LM_FAIL(err, LM_EIO, "cannot write '%s': no permission to create files in '%s'",
                       out_path, dir);
    return LM_OK;
}

int lm_run(const lm_scenario *sc, const lm_run_options *opt, lm_headline *headline, lm_error *err) {
    lm_sim *sim = NULL;
    int64_t *counts = NULL, *prog = NULL, *earn = NULL;
    lm_headline h;
    lm_programme_table *table = NULL;
    files f;
    int rc;

    memset(&f, 0, sizeof f);
    f.ex = lm__distributed(opt->exchange) ? opt->exchange : NULL;
    if (f.ex && (!f.ex->sum_i64 || !f.ex->sum_f64 || !f.ex->gather))
        return LM_FAIL(err, LM_EARG, "rank %d of %d: the exchange lacks a hook", f.ex->rank,
                       f.ex->n_ranks);
    /* A missing output folder fails now, on every rank, not after
     * synthesis (and every rank agrees, so none waits in an exchange). */
    rc = opt->out_path ? check_out_dir(opt->out_path, err) : LM_OK;
    if (lm__agree(f.ex, rc != LM_OK, NULL) > 0) {
        if (rc == LM_OK)
            rc = LM_FAIL(err, LM_EIO, "another rank cannot write '%s'", opt->out_path);
        return rc;
    }
    /* The thread count applies to every parallel phase: synthesis, the
     * monthly step and panel compression. */
    if (opt->threads > 0)
        omp_set_num_threads(opt->threads);
    if ((rc = lm_sim_create_part(sc, opt->threads, f.ex, &sim, err)))
        goto fail;
    const size_t n_agg = LM_AGG_CELLS(sc->n_regions);
    counts = lm__malloc((size_t)(sc->n_months + 1) * n_agg * sizeof *counts);
    prog = lm__calloc((size_t)(sc->n_months + 1) * LM_PROG_CELLS, sizeof *prog);
    earn = lm__malloc((size_t)(sc->n_months + 1) * n_agg * sizeof *earn);
    table = lm__calloc(1, sizeof *table);
    if (f.ex) {
        f.count = lm__calloc((size_t)f.ex->n_ranks + 1, sizeof *f.count);
        f.bytes = lm__calloc((size_t)f.ex->n_ranks, sizeof *f.bytes);
    }
    if (!counts || !prog || !table || !earn || (f.ex && (!f.count || !f.bytes)))
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory for aggregate counts");
    if (lm__agree(f.ex, rc != LM_OK, NULL) > 0) {
        if (rc == LM_OK)
            rc = LM_FAIL(err, LM_ENOMEM, "another rank ran out of memory");
        goto fail;
    }
    memcpy(counts, lm_sim_counts(sim), n_agg * sizeof *counts);
    memcpy(earn, lm_sim_earnings(sim), n_agg * sizeof *earn);
    /* Validation moments observe month 0 (the same on every rank: a
     * failure is an argument error or a failed exchange, seen by all). */
    if (opt->moments && (rc = lm_moments_observe(opt->moments, sim, err)))
        goto fail;
    if (opt->out_path && (rc = open_files(&f, sc, opt->out_path, lm_sim_population(sim), err)))
        goto fail;
    for (int m = 1; m <= sc->n_months; m++) {
        int stop = opt->stop && *opt->stop;
        if (lm__agree(f.ex, 0, &stop), stop) {
            rc = LM_FAIL(err, LM_EINTERRUPTED, "run interrupted at month %d of %d; no file written",
                         m - 1, sc->n_months);
            goto fail;
        }
        if ((rc = lm_sim_step(sim, err)))
            goto fail;
        memcpy(counts + (size_t)m * n_agg, lm_sim_counts(sim), n_agg * sizeof *counts);
        memcpy(earn + (size_t)m * n_agg, lm_sim_earnings(sim), n_agg * sizeof *earn);
        memcpy(prog + (size_t)m * LM_PROG_CELLS, lm_sim_prog_counts(sim),
               LM_PROG_CELLS * sizeof *prog);
        if (opt->moments && (rc = lm_moments_observe(opt->moments, sim, err)))
            goto fail;
        if (opt->out_path)
            rc = write_month(&f, sc, sim, m, err);
        if (lm__agree(f.ex, rc != LM_OK, NULL) > 0) {
            if (rc == LM_OK)
                rc = LM_FAIL(err, LM_EIO, "month %d: another rank failed writing", m);
            goto fail;
        }
        if (opt->progress)
            opt->progress(opt->progress_user, m, sc->n_months);
    }
    lm_headline_compute_earnings(sc, counts, counts + (size_t)sc->n_months * n_agg, earn,
                                 earn + (size_t)sc->n_months * n_agg, &h);
    lm_programme_table_compute(sc, prog, table);
    if (opt->moments && opt->results &&
        (rc = lm_moments_results(opt->moments, opt->widen, opt->results, err)))
        goto fail;
    /* Spells under way at the last month: cut off by the end of the run. */
    if (opt->out_path) {
        rc = write_referrals(&f, sc, sim, 1, LM_OK, err);
        if (lm__agree(f.ex, rc != LM_OK, NULL) > 0) {
            if (rc == LM_OK)
                rc = LM_FAIL(err, LM_EIO, "another rank failed writing /referrals");
            goto fail;
        }
    }
    if (opt->out_path &&
        (rc = close_files(&f, opt->out_path, counts, prog, earn, sc, table, &h, opt, err)))
        goto fail;
    if (headline)
        *headline = h;
    if (opt->programmes)
        *opt->programmes = *table;
    free_files(&f);
    lm__free(counts);
    lm__free(prog);
    lm__free(earn);
    lm__free(table);
    lm_sim_destroy(sim);
    return LM_OK;
fail:
    abort_files(&f);
    lm__free(counts);
    lm__free(prog);
    lm__free(earn);
    lm__free(table);
    lm_sim_destroy(sim);
    return rc;
}
