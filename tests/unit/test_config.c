#define _POSIX_C_SOURCE 200809L
/* test_config.c - scenario loading: values, overrides, error records, OOM.
 *
 * The catalogue of bad scenario files is in tests/e2e/test_bad_inputs.py
 * (through the CLI); here the library contract is checked directly: the
 * lm_error fields (code, file, line), overrides of each type, and that every
 * allocation failure during load and engine creation is reported as
 * LM_ENOMEM without leaks or crashes (run under ASan in the sanitizer test).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "internal.h"
#include "lmsim.h"
#include "test_util.h"

static const char *wales(char *buf, size_t n) {
    return lm_test_src(buf, n, "scenarios/wales_baseline.cfg");
}

static void test_load_values(void **state) {
    (void)state;
    char path[1024];
    lm_scenario *sc;
    lm_error err;
    assert_int_equal(lm_scenario_load(wales(path, sizeof path), NULL, 0, &sc, &err), LM_OK);
    assert_string_equal(sc->name, "wales_baseline");
    assert_int_equal(sc->n_persons, 1947716);
    assert_int_equal(sc->n_months, 120);
    assert_int_equal(sc->start_year, 2024);
    assert_int_equal(sc->start_month, 1);
    assert_int_equal(sc->n_regions, 3);
    assert_string_equal(sc->regions[0].name, "North Wales");
    assert_true(fabs(sc->female_share - 0.50682) < 1e-12);
    assert_int_equal(sc->dest[LM_STATE_UNEMPLOYED][0].to, LM_DEST_EMPLOYED);
    assert_int_equal(sc->disabled_after_months, 12); /* Equality Act: long-term */
    assert_non_null(strstr(sc->text, "wales_baseline"));
    lm_scenario_destroy(sc);
}

static void test_overrides(void **state) {
    (void)state;
    char path[1024];
    lm_scenario *sc;
    lm_error err;
    const char *sets[] = {"simulation.persons=1234", "market.matching_elasticity=1", "name=renamed",
                          "output.panel=\"sample\"",
                          "population.age_band_shares=[0.25, 0.25, 0.25, 0.25]"};
    assert_int_equal(lm_scenario_load(wales(path, sizeof path), sets, 5, &sc, &err), LM_OK);
    assert_int_equal(sc->n_persons, 1234);
    assert_true(sc->matching_elasticity == 1.0); /* an int given for a float stays a float */
    assert_string_equal(sc->name, "renamed");
    assert_int_equal(sc->panel, LM_PANEL_SAMPLE);
    assert_true(sc->age_band_share[3] == 0.25);
    assert_non_null(strstr(sc->text, "1234"));
    lm_scenario_destroy(sc);

    const char *bad_group[] = {"nosuch.group.key=1"};
    assert_int_equal(lm_scenario_load(path, bad_group, 1, &sc, &err), LM_ECONFIG);
    assert_null(sc);
    assert_non_null(strstr(err.msg, "unknown setting 'nosuch'"));
    assert_non_null(strstr(err.msg, "--set"));

    const char *bad_syntax[] = {"noequals"};
    assert_int_equal(lm_scenario_load(path, bad_syntax, 1, &sc, &err), LM_EARG);
    assert_null(sc);

    const char *bad_value[] = {"population.female_share=1.5"};
    assert_int_equal(lm_scenario_load(path, bad_value, 1, &sc, &err), LM_ECONFIG);
    assert_non_null(strstr(err.msg, "--set population.female_share"));
    assert_non_null(strstr(err.msg, "[0, 1]"));
}

static void test_error_record(void **state) {
    (void)state;
    char path[1024];
    lm_scenario *sc;
    lm_error err;
    const char *sets[] = {"simulation.typo=3"};
    assert_int_equal(lm_scenario_load(wales(path, sizeof path), sets, 1, &sc, &err), LM_ECONFIG);
    assert_non_null(strstr(err.msg, "unknown setting 'typo'"));
    assert_non_null(strstr(err.msg, "simulation.typo"));
    assert_int_equal(lm_scenario_load("/nonexistent/x.cfg", NULL, 0, &sc, &err), LM_EIO);
    assert_string_equal(err.cfg_file, "/nonexistent/x.cfg");
    assert_string_equal(lm_err_name(LM_ECONFIG), "LM_ECONFIG");
    assert_string_equal(lm_strerror(LM_ENOMEM), "out of memory");
    assert_string_equal(lm_err_name(12345), "LM_UNKNOWN");

    /* A bad value inside the file: the record carries file and line. */
    /* A copy in a scratch folder, with the fragments linked beside it. */
    char dir[] = "/tmp/lmsim_test_cfg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char tmp[1100], link_path[1100], link2[1100], frag[1100];
    snprintf(tmp, sizeof tmp, "%s/bad.cfg", dir);
    snprintf(link_path, sizeof link_path, "%s/programmes", dir);
    lm_test_src(frag, sizeof frag, "scenarios/programmes");
    assert_int_equal(symlink(frag, link_path), 0);
    snprintf(link2, sizeof link2, "%s/fragments", dir);
    lm_test_src(frag, sizeof frag, "scenarios/fragments");
    assert_int_equal(symlink(frag, link2), 0);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    FILE *in = fopen(path, "r");
    char line[4096];
    int lineno = 0, bad_line = 0;
    while (fgets(line, sizeof line, in)) {
        lineno++;
        if (strstr(line, "female_share = 0.50682")) {
            fputs("  female_share = 1.50682;\n", f);
            bad_line = lineno;
        } else {
            fputs(line, f);
        }
    }
    fclose(in);
    fclose(f);
    assert_true(bad_line > 0);
    assert_int_equal(lm_scenario_load(tmp, NULL, 0, &sc, &err), LM_ECONFIG);
    assert_int_equal(err.cfg_line, bad_line);
    assert_string_equal(err.cfg_file, tmp);
    assert_non_null(strstr(err.msg, "population.female_share"));
    remove(tmp);
    remove(link_path);
    remove(link2);
    rmdir(dir);
}

/* Every allocation in load + engine creation can fail cleanly. */
static void test_out_of_memory(void **state) {
    (void)state;
    char path[1024];
    const char *sets[] = {"simulation.persons=1000"};
    int saw_ok = 0;
    for (long k = 0; k < 400 && !saw_ok; k++) {
        lm_scenario *sc = NULL;
        lm_sim *sim = NULL;
        lm_error err;
        lm__alloc_fail_after(k);
        int rc = lm_scenario_load(wales(path, sizeof path), sets, 1, &sc, &err);
        if (rc == LM_OK)
            rc = lm_sim_create(sc, 2, &sim, &err);
        lm__alloc_fail_after(-1);
        if (rc == LM_OK)
            saw_ok = 1;
        else
            assert_int_equal(rc, LM_ENOMEM);
        lm_sim_destroy(sim);
        lm_scenario_destroy(sc);
    }
    assert_true(saw_ok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_values),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_error_record),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
