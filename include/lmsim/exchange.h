/* lmsim/exchange.h - one run split across processes (MPI ranks).
 *
 * A distributed run gives each of K ranks a contiguous block of person slots
 * (lm_part_first). Every rank steps only its own persons; the only data that
 * cross ranks are, each month, integer sums (regional counts, programme
 * caseloads and queue sizes, allocation histograms), the per-block sums of
 * the alignment solver (each block owned by one rank, so the sum is exact),
 * and, for the file, the /persons rows gathered on rank 0. The engine calls
 * the hooks below at the same points on every rank, in the same order.
 *
 * The library does not link MPI: the caller supplies the hooks (the lmsim
 * command does, with MPI_Allreduce and MPI_Gatherv, when built with
 * -DLMSIM_MPI=ON). A NULL exchange, or one with n_ranks == 1, is a
 * single-process run.
 *
 * Every draw is keyed by person id, so a person's draws do not depend on
 * the rank that steps them. Block boundaries are multiples of LM_PART_ALIGN
 * slots because the alignment solver sums over fixed blocks of that size:
 * each block lies on one rank, so its sum is the same for any K and the run
 * is bit-identical for any K.
 */
#ifndef LMSIM_EXCHANGE_H
#define LMSIM_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LM_PART_ALIGN 4096

typedef struct lm_exchange {
    int rank;    /* this process, 0 .. n_ranks - 1 */
    int n_ranks; /* processes sharing the run */
    void *user;  /* passed to every hook */
    /* In-place element-wise sum of buf[0..n) over all ranks; every rank gets
     * the result. Return 0, or non-zero on failure. */
    int (*sum_i64)(void *user, int64_t *buf, size_t n);
    int (*sum_f64)(void *user, double *buf, size_t n);
    /* Concatenate every rank's send[0..bytes) on rank 0, in rank order, into
     * recv; on rank 0 counts[r] is the number of bytes rank r sends (recv and
     * counts are ignored elsewhere). Return 0, or non-zero on failure. */
    int (*gather)(void *user, const void *send, size_t bytes, void *recv, const size_t *counts);
} lm_exchange;

/* First slot of rank r's block of n slots split K ways (r = K gives n):
 * n * r / K rounded down to a multiple of LM_PART_ALIGN. Blocks may be empty
 * when n is small. */
static inline int64_t lm_part_first(int64_t n, int r, int n_ranks) {
    if (r >= n_ranks)
        return n;
    /* floor(n * r / K) without overflow: n = q K + s. */
    int64_t v = n / n_ranks * r + n % n_ranks * r / n_ranks;
    return v / LM_PART_ALIGN * LM_PART_ALIGN;
}

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_EXCHANGE_H */
