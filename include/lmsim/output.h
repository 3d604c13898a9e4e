/* lmsim/output.h - the HDF5 run file: panel, persons, aggregates, outcomes.
 *
 * A run file is written to "NAME.tmp.XXXXXXXX" (a name of its own, created
 * exclusively) and renamed to NAME only by
 * lm_h5_close(): a failed, aborted or killed run never leaves a file under
 * the final name. Layout (docs/output-format.md):
 *   /               attributes: lmsim_version, scenario_name, scenario_text,
 *                   seed (uint64), seed_str, n_persons, n_months, start_month
 *                   ("YYYY-MM"), created_at, panel_mode, sample_fraction,
 *                   n_panel_persons, warnings (lm_scenario_warnings, one per
 *                   line, "" when none)
 *   /persons/<a>    1-D, one row per person who appears in the panel: id,
 *                   slot, entry_month, birth_month, region, female, disabled,
 *                   minority, qual, caring
 *   /panel/<v>      2-D [month, person] for v in state (enum), months_in_state,
 *                   months_since_job, sustained_months, person_id; chunked
 *                   (1, chunk_persons), shuffle + deflate, dimension scales
 *                   "month" and "person"
 *   /aggregates/counts  [month][state][region][sex][disabled][minority][age_band]
 *   /outcomes/headline  compound table, one row per group
 *   /validation     compound table of targets and results (lmsim validate)
 */
#ifndef LMSIM_OUTPUT_H
#define LMSIM_OUTPUT_H

#include <stdint.h>

#include "lmsim/error.h"
#include "lmsim/population.h"
#include "lmsim/programmes.h"
#include "lmsim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LM_HEADLINE_MAX_ROWS 40
#define LM_GROUP_NAME_MAX 40
#define LM_WARNINGS_MAX 4096 /* characters of a file's `warnings` read by lm_h5_describe */

/* One row of the headline table: rates at month 0 and at the last month. */
typedef struct lm_headline_row {
    char group[LM_GROUP_NAME_MAX]; /* "all", "disabled", "region:North Wales", ... */
    int64_t persons[2];            /* persons in the group [start, end] */
    double employment_rate[2];     /* employed / persons */
    double unemployment_rate[2];   /* ILO: unemployed / (employed + unemployed) */
    double inactivity_rate[2];     /* inactive / persons */
    double good_job_share[2];      /* good jobs / employed */
    double mean_earnings[2];       /* mean monthly earnings of the employed, GBP */
} lm_headline_row;

typedef struct lm_headline {
    int n_rows;
    lm_headline_row rows[LM_HEADLINE_MAX_ROWS];
} lm_headline;

/* Create the temporary file tmp exclusively (O_CREAT | O_EXCL, mode 0666
 * less the umask), for an output written under a temporary name and renamed
 * when complete: the last 8 characters of tmp (conventionally
 * "PATH.tmp.XXXXXXXX") are replaced by hex digits of its own, retried while
 * the name exists, so two processes given one output never share a
 * temporary file. The descriptor goes to *fd (closed when fd is NULL).
 * Returns 0, or -1 with errno set. */
int lm_tmp_create(char *tmp, int *fd);

/* Fill a headline table from two months of aggregate counts (LM_AGG_CELLS
 * each): rows "all", by disability, sex, ethnicity, age band and region. */
void lm_headline_compute(const lm_scenario *sc, const int64_t *counts_start,
                         const int64_t *counts_end, lm_headline *out);

/* The same, with mean earnings from earnings sums (pence, laid out like the
 * counts; NULL gives 0). */
void lm_headline_compute_earnings(const lm_scenario *sc, const int64_t *counts_start,
                                  const int64_t *counts_end, const int64_t *earn_start,
                                  const int64_t *earn_end, lm_headline *out);

typedef struct lm_h5_writer lm_h5_writer;

/* Open NAME.tmp.XXXXXXXX for a run of `sc` and write the root attributes, and the
 * month-0 persons table and panel row when a panel is written.
 *   panel, sample_fraction  what to write (LM_PANEL_*); fraction used for SAMPLE.
 * Errors: LM_EIO (cannot create the file, e.g. unwritable directory), LM_EHDF5,
 * LM_ENOMEM. Not thread-safe: one writer per thread. */
int lm_h5_open(const char *path, const lm_scenario *sc, const lm_population *pop,
               lm_panel_mode panel, double sample_fraction, lm_h5_writer **out, lm_error *err);

/* Append month `month` (1, 2, ...) of the panel, and the persons who entered
 * in slots entrants[0..n_entrants) this month. A no-op without a panel. */
int lm_h5_write_month(lm_h5_writer *w, const lm_population *pop, int month, const int64_t *entrants,
                      int64_t n_entrants, lm_error *err);

/* Write aggregates (counts: (n_months + 1) * LM_AGG_CELLS values) and the
 * headline, close the file and rename the temporary file to NAME. The writer is freed
 * whether or not this succeeds; on failure the temporary file is removed. */
int lm_h5_close(lm_h5_writer *w, const int64_t *counts, const lm_headline *headline, lm_error *err);

/* Ask lm_h5_close() to also write /outcomes/programmes (the table) and
 * /aggregates/programmes (monthly: (n_months + 1) * LM_PROG_CELLS counts).
 * Both are borrowed until lm_h5_close() returns. */
void lm_h5_set_programmes(lm_h5_writer *w, const int64_t *monthly, const lm_programme_table *table);

/* Ask lm_h5_close() to also write /aggregates/earnings_pence (laid out like
 * the counts; NULL: none) and /outcomes/employment_gaps is always written.
 * Borrowed until close. */
void lm_h5_set_earnings(lm_h5_writer *w, const int64_t *earnings_pence);

/* Close and remove the temporary file; NULL is a no-op. */
void lm_h5_abort(lm_h5_writer *w);

/* What `lmsim describe` shows of a finished file. */
typedef struct lm_file_info {
    char scenario_name[128];
    char version[32];
    char start_month[16];
    char panel_mode[16];
    uint64_t seed;
    int64_t n_persons;
    int64_t represents; /* simulation.represents (n_persons in files without it) */
    int n_months;
    lm_headline headline;
    lm_programme_table programmes;  /* empty when the run had no programmes */
    char warnings[LM_WARNINGS_MAX]; /* root attribute `warnings`: one per line, "" when none
                                       (or written before lmsim recorded them); truncated */
} lm_file_info;

/* Read the root attributes, /outcomes/headline and /outcomes/programmes of
 * a finished run file (table strings fixed- or variable-length).
 * Errors: LM_EIO (missing or not HDF5), LM_EHDF5 (layout not lmsim's, or
 * damaged: a root string or table string that does not match its
 * checksum), LM_ENOMEM. */
int lm_h5_describe(const char *path, lm_file_info *info, lm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_OUTPUT_H */
