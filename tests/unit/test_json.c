#define _POSIX_C_SOURCE 200809L
/* test_json.c - the scenario as JSON (lmsim/json.h).
 *
 * Each libconfig type maps to its JSON form; floats keep a '.' or exponent
 * and round-trip; strings are escaped and repaired to UTF-8; groups and
 * lists nest; a syntax error is LM_ESYNTAX with the line; a loaded scenario
 * with --set overrides gives the overridden values. Output is written to a
 * memory stream and compared as text (Python's json module checks it
 * parses: tests/e2e/test_cli.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lmsim.h"
#include "test_util.h"

/* JSON of `text`, owned by the caller; *rc gets the return code. */
static char *json_of(const char *text, int *rc, lm_error *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *rc = lm_json_write_config_text(text, "t.cfg", f, err);
    fclose(f);
    return buf;
}

static void test_types(void **state) {
    (void)state;
    lm_error err;
    lm_error_clear(&err);
    int rc;
    char *j = json_of("a = 7; b = 5000000000L; c = 0.25; d = 3.0; e = true; f = \"x\";"
                      "g = [1, 2]; h = ( { k = false; }, \"s\" ); i = { }; m = 1e-07;",
                      &rc, &err);
    assert_int_equal(rc, LM_OK);
    const char *want = "{\n  \"a\": 7,\n  \"b\": 5000000000,\n  \"c\": 0.25,\n  \"d\": 3.0,\n"
                       "  \"e\": true,\n  \"f\": \"x\",\n  \"g\": [\n    1,\n    2\n  ],\n"
                       "  \"h\": [\n    {\n      \"k\": false\n    },\n    \"s\"\n  ],\n"
                       "  \"i\": {},\n  \"m\": 1e-07\n}\n";
    assert_string_equal(j, want);
    free(j);
}

static void test_float_round_trip(void **state) {
    (void)state;
    lm_error err;
    lm_error_clear(&err);
    int rc;
    char *j = json_of("x = 0.1; y = 0.30000000000000004; z = -2.5e+300;", &rc, &err);
    assert_int_equal(rc, LM_OK);
    assert_non_null(strstr(j, "\"x\": 0.1,"));
    assert_non_null(strstr(j, "\"y\": 0.30000000000000004,"));
    assert_non_null(strstr(j, "\"z\": -2.5e+300\n"));
    free(j);
}

static void test_strings(void **state) {
    (void)state;
    lm_error err;
    lm_error_clear(&err);
    int rc;
    /* Quote, backslash, tab, newline, a control byte, valid UTF-8 (e with
     * acute, 2 bytes), a lone continuation byte and a truncated sequence. */
    char *j = json_of("s = \"q\\\"b\\\\t\\tn\\nc\\x01\xc3\xa9 \x80 \xe2\x82\";", &rc, &err);
    assert_int_equal(rc, LM_OK);
    assert_string_equal(j, "{\n  \"s\": \"q\\\"b\\\\t\\tn\\nc\\u0001\xc3\xa9 \\ufffd "
                           "\\ufffd\\ufffd\"\n}\n");
    free(j);
}

static void test_syntax_error(void **state) {
    (void)state;
    lm_error err;
    lm_error_clear(&err);
    int rc;
    char *j = json_of("a = 1;\nb = ;\n", &rc, &err);
    assert_int_equal(rc, LM_ESYNTAX);
    assert_int_equal(err.cfg_line, 2);
    assert_non_null(strstr(err.msg, "t.cfg:2:"));
    free(j);
}

static void test_scenario_with_overrides(void **state) {
    (void)state;
    char path[1024];
    lm_error err;
    lm_error_clear(&err);
    const char *sets[] = {"simulation.persons=4321", "market.matching_elasticity=1"};
    lm_scenario *sc = NULL;
    assert_int_equal(
        lm_scenario_load(lm_test_data(path, sizeof path, "e2e_tiny.cfg"), sets, 2, &sc, &err),
        LM_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(lm_json_write_scenario(sc, f, &err), LM_OK);
    fclose(f);
    assert_non_null(strstr(buf, "\"persons\": 4321"));
    /* An integer given for a float setting stays a float. */
    assert_non_null(strstr(buf, "\"matching_elasticity\": 1.0"));
    free(buf);
    lm_scenario_destroy(sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_float_round_trip),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_scenario_with_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
