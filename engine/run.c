/* run.c - one complete run: engine + writer, with progress and interruption.
 *
 * lm_run() owns every object it creates and releases them on every path.
 * The aggregate counts of all months are kept in memory (a few hundred
 * integers a month) and written at the end with the headline table; the
 * panel is written month by month. Any failure, or a stop request, aborts
 * the writer, which removes the temporary file: no file ever appears under
 * the final name unless the run completed.
 */
#include "lmsim/run.h"

#include <omp.h>
#include <string.h>

#include "internal.h"
#include "lmsim/sim.h"

int lm_run(const lm_scenario *sc, const lm_run_options *opt, lm_headline *headline, lm_error *err) {
    lm_sim *sim = NULL;
    lm_h5_writer *w = NULL;
    int64_t *counts = NULL, *prog = NULL, *earn = NULL;
    lm_headline h;
    lm_programme_table *table = NULL;
    int rc;

    /* The thread count applies to every parallel phase: synthesis, the
     * monthly step and panel compression. */
    if (opt->threads > 0)
        omp_set_num_threads(opt->threads);
    if ((rc = lm_sim_create(sc, opt->threads, &sim, err)))
        goto fail;
    const size_t n_agg = LM_AGG_CELLS(sc->n_regions);
    counts = lm__malloc((size_t)(sc->n_months + 1) * n_agg * sizeof *counts);
    prog = lm__calloc((size_t)(sc->n_months + 1) * LM_PROG_CELLS, sizeof *prog);
    earn = lm__malloc((size_t)(sc->n_months + 1) * n_agg * sizeof *earn);
    table = lm__calloc(1, sizeof *table);
    if (!counts || !prog || !table || !earn) {
        rc = LM_FAIL(err, LM_ENOMEM, "out of memory for aggregate counts");
        goto fail;
    }
    memcpy(counts, lm_sim_counts(sim), n_agg * sizeof *counts);
    memcpy(earn, lm_sim_earnings(sim), n_agg * sizeof *earn);
    if (opt->out_path && (rc = lm_h5_open(opt->out_path, sc, lm_sim_population(sim), sc->panel,
                                          sc->sample_fraction, &w, err)))
        goto fail;
    for (int m = 1; m <= sc->n_months; m++) {
        if (opt->stop && *opt->stop) {
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
        if (w) {
            int64_t n_entr;
            const int64_t *entr = lm_sim_entrants(sim, &n_entr);
            if ((rc = lm_h5_write_month(w, lm_sim_population(sim), m, entr, n_entr, err)))
                goto fail;
        }
        if (opt->progress)
            opt->progress(opt->progress_user, m, sc->n_months);
    }
    lm_headline_compute_earnings(sc, counts, counts + (size_t)sc->n_months * n_agg, earn,
                                 earn + (size_t)sc->n_months * n_agg, &h);
    lm_programme_table_compute(sc, prog, table);
    if (w) {
        lm_h5_set_programmes(w, prog, table);
        lm_h5_set_earnings(w, sc->has_earnings ? earn : NULL);
        rc = lm_h5_close(w, counts, &h, err);
        w = NULL;
        if (rc)
            goto fail;
    }
    if (headline)
        *headline = h;
    if (opt->programmes)
        *opt->programmes = *table;
    lm__free(counts);
    lm__free(prog);
    lm__free(earn);
    lm__free(table);
    lm_sim_destroy(sim);
    return LM_OK;
fail:
    lm_h5_abort(w);
    lm__free(counts);
    lm__free(prog);
    lm__free(earn);
    lm__free(table);
    lm_sim_destroy(sim);
    return rc;
}
