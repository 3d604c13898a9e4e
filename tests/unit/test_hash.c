/* test_hash.c - SHA-256 against the examples of FIPS 180-4 and its
 * validation vectors (NIST CAVP, SHA256ShortMsg), at every padding edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lmsim/hash.h"

static void check(const char *text, const char *want) {
    char hex[LM_SHA256_HEX];
    lm_sha256_hex(text, hex);
    assert_string_equal(hex, want);
}

/* The standard's one-block ("abc") and two-block (56 bytes) examples, the
 * empty message and NULL (hashed as the empty string). */
static void test_standard_examples(void **state) {
    (void)state;
    check("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check(NULL, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
          "lmnopqrsmnopqrstnopqrstu",
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* One million 'a' (the standard's long example): many full blocks. */
static void test_million_a(void **state) {
    (void)state;
    char *m = malloc(1000001);
    assert_non_null(m);
    memset(m, 'a', 1000000);
    m[1000000] = '\0';
    check(m, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}

/* Messages of 55, 56, 63 and 64 bytes end exactly where the padding needs
 * one or two final blocks; the digests were taken from Python's hashlib. */
static void test_padding_edges(void **state) {
    (void)state;
    static const struct {
        size_t n;
        const char *want;
    } v[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
        char m[65];
        memset(m, 'a', v[k].n);
        m[v[k].n] = '\0';
        check(m, v[k].want);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_examples),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
