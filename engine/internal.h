/* internal.h - declarations shared by engine files, not part of the public API.
 *
 * Holds the error choke point (LM_FAIL), the allocation wrappers that tests
 * use to inject failures, and the inline Philox helpers used by the hot loops.
 * Internal non-static names use the lm__ prefix (libuv convention).
 */
#ifndef LMSIM_INTERNAL_H
#define LMSIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lmsim/error.h"
#include "lmsim/exchange.h"
#include "lmsim/scenario.h"

#if defined(__GNUC__)
#pragma GCC system_header /* Random123's headers are not -Wpedantic clean */
#endif
#include <Random123/philox.h>

int lm__fail(lm_error *err, int code, const char *src_file, int src_line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int lm__fail_cfg(lm_error *err, int code, const char *src_file, int src_line, const char *cfg_file,
                 int cfg_line, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Record an error and evaluate to its code: `return LM_FAIL(err, LM_EIO, "...")`. */
#define LM_FAIL(err, code, ...) lm__fail((err), (code), __FILE__, __LINE__, __VA_ARGS__)
#define LM_FAIL_CFG(err, code, file, line, ...)                                                    \
    lm__fail_cfg((err), (code), __FILE__, __LINE__, (file), (line), __VA_ARGS__)

/* Allocation. Every engine allocation goes through these so that tests can
 * make the k-th allocation fail (lm__alloc_fail_after). Aligned blocks are
 * 64-byte aligned with the size rounded up to 64. */
void *lm__malloc(size_t size);
void *lm__calloc(size_t n, size_t size);
void *lm__aligned_alloc(size_t size);
void lm__free(void *p);
/* Test hook: after `n` more successful allocations, fail every allocation;
 * a negative n disables failures (the default). Not for production use. */
void lm__alloc_fail_after(long n);

/* One Philox4x32-10 call: key = seed, counter = (block, month, purpose << 16 | k). */
static inline void lm__rng_block(uint64_t seed, uint64_t block, uint32_t month, uint32_t purpose,
                                 uint32_t k, uint32_t out[4]) {
    philox4x32_ctr_t c = {{(uint32_t)block, (uint32_t)(block >> 32), month, (purpose << 16) | k}};
    philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32(c, key);
    out[0] = r.v[0];
    out[1] = r.v[1];
    out[2] = r.v[2];
    out[3] = r.v[3];
}

/* The bound on a health draw's word x above which a limiting condition
 * stays as it is: it changes when lm__u01(x) < rate. Returns H - 1 for the
 * least H that does not change it (UINT32_MAX when every word does; 0 when
 * H = 0, which sends x = 0 to the full computation needlessly but never
 * wrongly). sim.c */
uint32_t lm__health_word(double rate);

/* Instruction sets of the vector code (lm__fill_blocks and the step's
 * marking of the persons who stay), narrowest first. */
enum { LM_FILL_SCALAR = 0, LM_FILL_SSE2 = 1, LM_FILL_AVX2 = 2 };
/* Use at most `isa` (the widest the CPU has when larger or negative);
 * returns the one now used. For tests and benchmarks: every choice gives
 * the same words and the same results. The vector code makes the first
 * choice itself (the widest) on first use; the choice is stored
 * atomically, so that first use may come from several threads at once.
 * sim.c */
int lm__fill_set_isa(int isa);

/* lm__rng_block(seed, blk[g], month, purpose, 0, w + 4 g) for g < ng, with
 * vectorised Philox rounds (AVX2 when the CPU has it, else SSE2). sim.c */
void lm__fill_blocks(uint64_t seed, uint32_t month, uint32_t purpose, const uint64_t *blk, int ng,
                     uint32_t *w);

/* Turn the step's stayers pass off (0) or on (1, the default) for one
 * engine: off, every slot takes the full computation. The results are the
 * same either way; for the test that says so. sim.c */
struct lm_sim;
void lm__sim_set_fast(struct lm_sim *sim, int on);

/* Exchanges of a distributed run (lmsim/exchange.h). A NULL exchange or one
 * rank is a single process, where every sum is the local value. */
static inline int lm__distributed(const lm_exchange *ex) {
    return ex != NULL && ex->n_ranks > 1;
}
/* Sum buf over the ranks in place; non-zero when the hook failed. */
static inline int lm__xsum_i64(const lm_exchange *ex, int64_t *buf, size_t n) {
    return lm__distributed(ex) && ex->sum_i64(ex->user, buf, n) != 0;
}
static inline int lm__xsum_f64(const lm_exchange *ex, double *buf, size_t n) {
    return lm__distributed(ex) && ex->sum_f64(ex->user, buf, n) != 0;
}
/* How many ranks failed (this one counts as failed when the exchange does),
 * and, when stop is not NULL, whether any was asked to stop (into *stop).
 * Every rank must call it at the same point. */
static inline int64_t lm__agree(const lm_exchange *ex, int failed, int *stop) {
    int64_t v[2] = {failed != 0, stop && *stop};
    if (lm__xsum_i64(ex, v, 2))
        return 1;
    if (stop)
        *stop = v[1] > 0;
    return v[0];
}

/* 32-bit word to a double in the open interval (0, 1). */
static inline double lm__u01(uint32_t x) {
    return ((double)x + 0.5) * 0x1p-32;
}

/* Draw for one person: word (person & 3) of the block person >> 2. */
static inline double lm__uniform(uint64_t seed, uint64_t person, uint32_t month, uint32_t purpose,
                                 uint32_t k) {
    uint32_t w[4];
    lm__rng_block(seed, person >> 2, month, purpose, k, w);
    return lm__u01(w[person & 3u]);
}

/* Index of the category chosen by u in a discrete distribution p[0..n)
 * (cumulative search; the last category absorbs rounding). */
static inline int lm__pick(const double *p, int n, double u) {
    double c = 0.0;
    for (int i = 0; i < n - 1; i++) {
        c += p[i];
        if (u < c)
            return i;
    }
    return n - 1;
}

/* Draw hours and monthly earnings of the job person i holds in `state` (or
 * clear them when not employed), from the LM_PURPOSE_HOURS and
 * LM_PURPOSE_EARNINGS streams of (id, month). population.c. */
struct lm_scenario;
struct lm_population;
void lm__draw_job(const struct lm_scenario *sc, struct lm_population *p, int64_t i, uint64_t id,
                  uint32_t month, int state);

/* Slots whose programme spell ended in this step, for one thread's range of
 * slots: a fixed list (no allocation in the monthly loop). The spell's
 * record is in the population (spell_end, spell_ref, spell_wait); the list
 * only says where. When more than `cap` spells end, n keeps counting and
 * the range is scanned for non-zero spell_end instead (sim.c). */
#define LM_ENDS_CAP 4096 /* slots listed per thread and step */
typedef struct lm__ends {
    int64_t *slot; /* cap entries */
    int64_t n;     /* spells ended in the range this step (may exceed cap) */
    int64_t cap;
    char pad_[40]; /* one cache line per thread */
} lm__ends;
static inline void lm__ends_push(lm__ends *e, int64_t i) {
    if (e->n < e->cap)
        e->slot[e->n] = i;
    e->n++;
}

/* Programmes (programmes.c): context shared by the per-person routines. */
struct lm_scenario;
struct lm_population;
typedef struct lm__prog_ctx {
    const struct lm_scenario *sc;
    struct lm_population *pop;
    uint32_t month; /* the month being produced (t + 1): keys every draw */
    double scale;   /* simulated persons / persons represented: scales places */
    /* Where spell ends go: the list of the thread that owns the slot. In a
     * parallel range, one list (n_lists 1); in the serial allocation, every
     * thread's list and the split of [lo, hi) into n_lists ranges. */
    lm__ends *ends;
    int n_lists;
    int64_t lo, hi;
} lm__prog_ctx;

/* First slot of range k of [lo, hi) split n ways (the thread split of sim.c). */
static inline int64_t lm__range_first(int64_t lo, int64_t hi, int k, int n) {
    return lo + (hi - lo) * k / n;
}
/* The list of ends of the range holding slot i. */
static inline lm__ends *lm__ends_of(const lm__prog_ctx *c, int64_t i) {
    int k = c->n_lists - 1;
    while (k > 0 && lm__range_first(c->lo, c->hi, k, c->n_lists) > i)
        k--;
    return &c->ends[k];
}
/* spell_end byte of person i's spell ending now for `reason` (the arm is that
 * of the spell: trial treatment if started under a trial, control, or 0). */
uint8_t lm__prog_end_code(const lm__prog_ctx *c, int64_t i, int reason);
/* Person i, on a programme, leaves the population at 65 this step: the
 * spell ends (spell_end, kept by lm_population_draw_person for the slot's
 * entrant until the next step; listed in c->ends). */
void lm__prog_leaves(const lm__prog_ctx *c, int64_t i);
/* The referral-history row of slot i: its spell that ended in month `month`
 * (spell_end non-zero; for a leaver at 65 the id is the slot's entrant's
 * minus n), or with reason LM_END_RUN_ENDED its spell under way (phase not
 * none). */
struct lm_referral;
void lm__prog_spell_row(const struct lm_scenario *sc, const struct lm_population *p, int64_t i,
                        int month, int reason, struct lm_referral *row);

/* Referral probability of each programme k by (female, disabled, minority,
 * caring), at refer_p[k * 16 + lm__refer_cell(...)], for lm__prog_before
 * (no exp() per person): fills refer_p[LM_MAX_PROGRAMMES * 16]. */
void lm__prog_referral_table(const struct lm_scenario *sc, double *refer_p);
static inline int lm__refer_cell(int female, int disabled, int minority, int caring) {
    return ((female * 2 + disabled) * 2 + minority) * 2 + caring;
}

/* Before transitions, for person i of age band `band`: queue upkeep and
 * referral (probabilities from lm__prog_referral_table). Counts go to
 * `counts` (LM_PROG_CELLS); queued persons are appended to cand[*n_cand].
 * Thread-safe for distinct i. */
void lm__prog_before(const lm__prog_ctx *c, const double *refer_p, int64_t i, int band,
                     int64_t *counts, int64_t *cand, int64_t *n_cand);
/* How the allocation reaches the other ranks of a distributed run. */
/* Priority-key histogram of the allocation: the top 12 bits of the 32-bit
 * key. Which candidates start does not depend on it (the boundary bin is
 * sorted by exact key); 4096 bins keep the monthly clearing and the MPI sum
 * small (65,536 bins cost 9 % of a 100,000-person month). */
#define LM_PROG_HIST_SHIFT 20
#define LM_PROG_HIST_BINS (1 << (32 - LM_PROG_HIST_SHIFT))
typedef struct lm__prog_alloc_io {
    const lm_exchange *ex; /* NULL or one rank: single process */
    int64_t lo, hi;        /* this process's slots */
    int64_t *hist;         /* LM_PROG_HIST_BINS words of scratch */
    int64_t *per_rank;     /* n_ranks + 1 words of scratch (1 + 1 without ranks) */
    int failed;            /* set when an exchange hook failed */
} lm__prog_alloc_io;
/* Serially give places to candidates (this process's queued persons,
 * cand[0..n_cand), ascending slots). caseload[k * LM_MAX_REGIONS + r]:
 * persons on programme k in region r, over all ranks; credit: fractional
 * places carried over (same layout). Queue sizes, key histograms and the
 * candidates at the boundary key are summed over ranks, so every rank
 * starts exactly the persons the single-process run would. Returns LM_OK or
 * LM_ENOMEM, the same on every rank. */
int lm__prog_allocate(const lm__prog_ctx *c, lm__prog_alloc_io *io, const int64_t *cand,
                      int64_t n_cand, const int64_t *caseload, double *credit, int64_t *counts);
/* After person i's transition from old_state: support phases, sanctions and
 * follow-up of a referral. Thread-safe for distinct i. */
void lm__prog_after(const lm__prog_ctx *c, int64_t i, int old_state, int64_t *counts);

/* The file of a distributed run (output_h5.c): each rank writes the panel
 * columns of its slots to a part file; rank 0 also writes the main file,
 * whose /panel/<v> are virtual datasets mapping every part's columns, and
 * whose /persons rows are gathered from the ranks. */
struct lm_h5_writer;
struct lm_population;
#define LM_MAX_PARTS_LISTED 4096 /* part names listed in the main file's panel_parts */
typedef enum lm__h5_role { LM__H5_WHOLE = 0, LM__H5_PART, LM__H5_MAIN } lm__h5_role;
typedef struct lm__h5_layout {
    lm__h5_role role;
    int part;    /* PART: this part (rank) */
    int n_parts; /* PART, MAIN: parts (ranks) in all */
} lm__h5_layout;
/* lm_h5_open() for one role; layout NULL: the whole file. A PART's path is
 * the part's own (lm__h5_part_path); lm_h5_close() leaves a part complete
 * under its temporary name (lm__h5_tmp_path), for the caller to rename. */
int lm__h5_open(const char *path, const lm_scenario *sc, const struct lm_population *pop,
                lm_panel_mode panel, double sample_fraction, const lm__h5_layout *lay,
                struct lm_h5_writer **out, lm_error *err);
/* Part file of `path` for rank `part` of n_parts: "STEM.partRofK.h5", STEM
 * being path without a final ".h5". Owned by caller; NULL when out of memory. */
char *lm__h5_part_path(const char *path, int part, int n_parts);
/* /persons rows (N_ATTRS = 11 int32 each) of this writer's panel columns
 * [col_from, col_to) (entrants == NULL) or of the entrants among its
 * columns; written to rows unless NULL. Returns the number of rows. */
#define LM__H5_ROW_WORDS 11
int64_t lm__h5_person_rows(const struct lm_h5_writer *w, const struct lm_population *pop,
                           const int64_t *entrants, int64_t n_entrants, int entry_month,
                           int64_t col_from, int64_t col_to, int32_t *rows);
/* The temporary name a writer writes to (PATH.tmp.XXXXXXXX, created
 * exclusively), where lm_h5_close() leaves a PART; borrowed, NULL for NULL. */
const char *lm__h5_tmp_path(const struct lm_h5_writer *w);
/* Number of panel columns of a writer (0 for NULL or without a panel). */
int64_t lm__h5_columns(const struct lm_h5_writer *w);

/* CF / netCDF-4 metadata of a run file (output_cf.c): dimension scales,
 * long_name, units, flag_values / flag_meanings and a time coordinate for
 * every dataset present, on open file f (an hid_t) before it is closed.
 * Returns 0, or -1 with *failed naming the dataset (HDF5's error stack
 * says why). Data values are not changed. */
int lm__h5_cf_annotate(int64_t f, const struct lm_scenario *sc, const char **failed);
/* Write the fixed-length UTF-8 string attribute `name` of object loc (an
 * hid_t), replacing one of that name: stored in the object header (which
 * is checksummed), not in the global heap; netCDF-C reads it as text, h5py
 * as bytes. Returns 0 or -1. */
int lm__h5_put_text(int64_t loc, const char *name, const char *value);
/* Names of the committed enum types at the root of a run file, used by
 * /panel/state and /panel/phase (netCDF-C needs the enum named). */
#define LM__H5_STATE_TYPE "labour_state"
#define LM__H5_PHASE_TYPE "programme_phase"

/* Readers of finished run files (h5read.c). lm__h5_read_vec reads a 1-D
 * dataset of `count` elements (row < 0), or row `row` of a 2-D one with
 * `count` columns, into buf as mem_type (0: the file's own integer or enum
 * type, which must be `size` bytes); lm__h5_vec_len is the length of a 1-D
 * dataset. f is an hid_t (int64_t). Both return -1 on failure. */
int lm__h5_read_vec(int64_t f, const char *name, int64_t mem_type, size_t size, int64_t row,
                    int64_t count, void *buf);
int64_t lm__h5_vec_len(int64_t f, const char *name);
/* The variable-length string attribute `name` of object loc (lm__free it),
 * or NULL when it is absent or not a string. HDF5 errors silenced by the
 * caller. */
char *lm__h5_text_attr(int64_t loc, const char *name);
/* Compound tables with variable-length UTF-8 string columns (h5table.c).
 * `fixed` (an hid_t) is the compound memory type of the table's row
 * struct, its char arrays as fixed-length strings of their sizes, at most
 * LM__H5_TABLE_MAX_COLS columns of which LM__H5_TABLE_MAX_STR strings.
 * lm__h5_table_init makes t->file (create the dataset with it: the
 * columns of `fixed` in its order, packed, strings variable-length UTF-8)
 * and t->mem; lm__h5_table_write writes n rows to dataset d and its
 * attribute strings_crc32 (CRC-32 of every string and a NUL, row by row, in
 * column order). lm__h5_table_read reads the n rows of dataset d into rows
 * whether its strings are variable- or fixed-length (older files),
 * truncating them to the arrays, and checks strings_crc32 when the table
 * has it: 0, -1 (HDF5 failure, a string column that is not a string),
 * LM__H5_NOMEM or LM__H5_DAMAGED. lm__h5_table_init returns 0 or -1,
 * lm__h5_table_write 0, -1 or LM__H5_NOMEM. HDF5 errors silenced by the
 * caller. */
#define LM__H5_TABLE_MAX_COLS 128
#define LM__H5_TABLE_MAX_STR 8
#define LM__H5_DAMAGED (-2)
#define LM__H5_NOMEM (-3)
typedef struct lm__h5_table {
    int64_t mem, file;
    size_t row_size, stage_size;
    int n_str;
    size_t str_off[LM__H5_TABLE_MAX_STR], str_size[LM__H5_TABLE_MAX_STR];
    size_t ptr_off[LM__H5_TABLE_MAX_STR];
} lm__h5_table;
int lm__h5_table_init(lm__h5_table *t, int64_t fixed);
void lm__h5_table_close(lm__h5_table *t);
int lm__h5_table_write(int64_t d, const lm__h5_table *t, const void *rows, size_t n);
int lm__h5_table_read(int64_t d, int64_t fixed, void *rows, size_t n);
/* crc extended by the CRC-32 (zlib) of s and its NUL (NULL: ""); start at 0. */
uint32_t lm__h5_crc_str(uint32_t crc, const char *s);
/* Column of `slot` in a run file's ascending list of panel slots
 * (/panel/person, n columns), or -1. */
static inline int64_t lm__column_of(const int32_t *slot, int64_t n, int32_t s) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (slot[mid] < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && slot[lo] == s ? lo : -1;
}

/* Referral-history rows of the persons in the file's panel (panel mode
 * sample: the sampled slots; full and none: every row), compacted in place;
 * returns how many. */
int64_t lm__referrals_in_panel(const lm_scenario *sc, struct lm_referral *rows, int64_t n);
/* Append rows to /referrals of a whole or main writer (LM_ERANGE when an id
 * exceeds int32). On failure the writer is dead. */
int lm__h5_append_referrals(struct lm_h5_writer *w, const struct lm_referral *rows, int64_t n,
                            lm_error *err);
/* Append gathered rows to /persons of a MAIN writer. */
int lm__h5_append_rows(struct lm_h5_writer *w, const int32_t *rows, int64_t n, lm_error *err);
/* Ask lm_h5_close() to also write /validation: one row per target of t with
 * res[i] (lm_targets_count(t) results). Both borrowed until close. */
struct lm_targets;
struct lm_target_result;
void lm__h5_set_validation(struct lm_h5_writer *w, const struct lm_targets *t,
                           const struct lm_target_result *res);

#endif /* LMSIM_INTERNAL_H */
