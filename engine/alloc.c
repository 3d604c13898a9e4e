/* alloc.c - allocation wrappers with a fault-injection hook for tests.
 *
 * lm__alloc_fail_after(n) arms a countdown: after n more successful
 * allocations every allocation returns NULL, so tests can walk every
 * allocation failure of a create function (libuv's test-loop-oom.c,
 * SQLite's malloc fault tests). The countdown is the only process-wide
 * mutable state in liblmsim; it is atomic and disabled (-1) by default.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

static atomic_long fail_countdown = -1;

void lm__alloc_fail_after(long n) {
    atomic_store(&fail_countdown, n);
}

static int should_fail(void) {
    long v = atomic_load(&fail_countdown);
    while (v >= 0) {
        if (v == 0)
            return 1;
        if (atomic_compare_exchange_weak(&fail_countdown, &v, v - 1))
            return 0;
    }
    return 0;
}

void *lm__malloc(size_t size) {
    if (should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *lm__calloc(size_t n, size_t size) {
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *lm__aligned_alloc(size_t size) {
    if (should_fail())
        return NULL;
    size_t rounded = (size + 63u) & ~(size_t)63u;
    return aligned_alloc(64, rounded ? rounded : 64);
}

void lm__free(void *p) {
    free(p);
}
