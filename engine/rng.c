/* rng.c - exported wrappers around the inline Philox helpers of internal.h.
 *
 * The hot paths in sim.c and population.c use lm__rng_block() directly; these
 * out-of-line versions exist for tests, tools and callers of the public API.
 */
#include "lmsim/rng.h"

#include "internal.h"

uint32_t lm_rng_u32(uint64_t seed, uint64_t person, uint32_t month, lm_purpose purpose,
                    uint32_t k) {
    uint32_t w[4];
    lm__rng_block(seed, person >> 2, month, (uint32_t)purpose, k, w);
    return w[person & 3u];
}

double lm_rng_uniform(uint64_t seed, uint64_t person, uint32_t month, lm_purpose purpose,
                      uint32_t k) {
    return lm__u01(lm_rng_u32(seed, person, month, purpose, k));
}
