/* test_rng.c - the counter-based stream: purity, independence of keys, uniformity. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "internal.h"
#include "lmsim/rng.h"

/* Same key -> same draw; any change of seed, person, month, purpose or k
 * changes it. */
static void test_pure_and_keyed(void **state) {
    (void)state;
    const uint64_t seed = 0x9e3779b97f4a7c15ULL;
    uint32_t a = lm_rng_u32(seed, 123457, 17, LM_PURPOSE_TRANSITION, 0);
    assert_int_equal(a, lm_rng_u32(seed, 123457, 17, LM_PURPOSE_TRANSITION, 0));
    assert_int_not_equal(a, lm_rng_u32(seed + 1, 123457, 17, LM_PURPOSE_TRANSITION, 0));
    assert_int_not_equal(a, lm_rng_u32(seed, 123458, 17, LM_PURPOSE_TRANSITION, 0));
    assert_int_not_equal(a, lm_rng_u32(seed, 123457, 18, LM_PURPOSE_TRANSITION, 0));
    assert_int_not_equal(a, lm_rng_u32(seed, 123457, 17, LM_PURPOSE_JOB_QUALITY, 0));
    assert_int_not_equal(a, lm_rng_u32(seed, 123457, 17, LM_PURPOSE_TRANSITION, 1));
}

/* The public draw equals word (id % 4) of the block call the engine uses. */
static void test_block_matches_public(void **state) {
    (void)state;
    uint32_t w[4];
    for (uint64_t id = 1000; id < 1040; id++) {
        lm__rng_block(42, id >> 2, 5, LM_PURPOSE_TRANSITION, 0, w);
        assert_int_equal(w[id & 3], lm_rng_u32(42, id, 5, LM_PURPOSE_TRANSITION, 0));
    }
}

/* Mean and variance of n uniforms within 5 standard errors of 1/2 and 1/12;
 * chi-square over 16 bins below the 0.9999 quantile of chi2(15) = 44.3. */
/* The engine's vectorised fill gives exactly the scalar block calls, for
 * each instruction set the CPU has (scalar, SSE2, AVX2), any count (the
 * vector loops and their tails), any seed and counter words, including
 * blocks whose high half is non-zero. */
static void test_vector_fill_matches_scalar(void **state) {
    (void)state;
    enum { MAXB = 71 };
    uint64_t blk[MAXB];
    uint32_t w[4 * MAXB], ref[4];
    const int best = lm__fill_set_isa(-1);
    printf("widest fill: %s\n", best == LM_FILL_AVX2   ? "AVX2"
                                : best == LM_FILL_SSE2 ? "SSE2"
                                                       : "scalar");
    for (int isa = LM_FILL_SCALAR; isa <= best; isa++) {
        assert_int_equal(lm__fill_set_isa(isa), isa);
        uint64_t x = 0x243f6a8885a308d3ULL; /* splitmix-style walk over inputs */
        for (int trial = 0; trial < 300; trial++) {
            for (int g = 0; g < MAXB; g++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                blk[g] = trial % 2 ? x : x >> 40;
            }
            const uint64_t seed = x ^ (uint64_t)trial << 17;
            const uint32_t month = (uint32_t)(x >> 7) % 1000, purpose = (uint32_t)trial % 32;
            const int ng = trial % (MAXB + 1);
            lm__fill_blocks(seed, month, purpose, blk, ng, w);
            for (int g = 0; g < ng; g++) {
                lm__rng_block(seed, blk[g], month, purpose, 0, ref);
                assert_memory_equal(w + 4 * g, ref, sizeof ref);
            }
        }
    }
    lm__fill_set_isa(-1);
}

static void test_uniformity(void **state) {
    (void)state;
    const int n = 1 << 20;
    double sum = 0.0, sum2 = 0.0;
    long bins[16] = {0};
    for (int i = 0; i < n; i++) {
        double u = lm_rng_uniform(7, (uint64_t)i, 3, LM_PURPOSE_TRANSITION, 0);
        assert_true(u > 0.0 && u < 1.0);
        sum += u;
        sum2 += u * u;
        bins[(int)(u * 16)]++;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    assert_true(fabs(mean - 0.5) < 5.0 * sqrt(1.0 / 12.0 / n));
    /* Var of u^2 is 4/45; the s.e. of the variance estimate is about sqrt(1/180/n). */
    assert_true(fabs(var - 1.0 / 12.0) < 5.0 * sqrt(1.0 / 180.0 / n));
    double chi2 = 0.0, e = n / 16.0;
    for (int b = 0; b < 16; b++)
        chi2 += (bins[b] - e) * (bins[b] - e) / e;
    assert_true(chi2 < 44.3);
}

/* The health bound is exact: the word above it keeps the condition and
 * the word at it (when the bound is not 0) changes it, for rates across
 * the scale, including rates on a word's own boundary, 0 and 1. */
static void test_health_word(void **state) {
    (void)state;
    double rates[400];
    int n = 0;
    rates[n++] = 0.0;
    rates[n++] = 1.0;
    rates[n++] = 1e-12;
    rates[n++] = 1.0 - 1e-12;
    for (uint32_t x = 0; x < 8; x++) { /* exactly some lm__u01(w), and its neighbours */
        const double v = lm__u01(x * 0x20000001u);
        rates[n++] = v;
        rates[n++] = nextafter(v, 0.0);
        rates[n++] = nextafter(v, 2.0);
    }
    for (int k = 0; n < 400; k++)
        rates[n++] = lm__uniform(7, (uint64_t)k, 1, LM_PURPOSE_HEALTH, 0) * (k % 2 ? 1.0 : 0.05);
    for (int k = 0; k < n; k++) {
        const double r = rates[k];
        const uint32_t b = lm__health_word(r);
        if (b < UINT32_MAX)
            assert_false(lm__u01(b + 1) < r); /* above the bound: no change */
        else
            assert_true(lm__u01(UINT32_MAX) < r);
        if (b > 0)
            assert_true(lm__u01(b) < r); /* the bound is tight */
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pure_and_keyed),
        cmocka_unit_test(test_block_matches_public),
        cmocka_unit_test(test_vector_fill_matches_scalar),
        cmocka_unit_test(test_uniformity),
        cmocka_unit_test(test_health_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
