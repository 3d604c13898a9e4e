#define _POSIX_C_SOURCE 200809L
/* test_targets.c - targets files: loading, errors, checks against a scenario.
 *
 * Each bad targets file is a small text written to a scratch folder; the
 * test asserts the error code, and that the message names the file, the
 * line of the offending setting (err.cfg_line too) and the setting path:
 * unknown measure, unknown key (with the allowed keys listed), unknown state
 * name, tolerance <= 0, a month past the run, a cohort whose follow-up runs
 * past the run, an unknown programme, a horizon longer than the follow-up,
 * a duplicate id, an unknown region in a group, and more. A good file gives
 * its run variants, infos and results "not computed"; every allocation
 * failure of a load is LM_ENOMEM; lm_scenario_load_string reloads a
 * scenario's text and applies overrides.
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

static char dir[] = "/tmp/lmsim_test_targets_XXXXXX";
static int n_files = 0;

static int setup(void **state) {
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char path[256];
    for (int k = 0; k < n_files; k++) {
        snprintf(path, sizeof path, "%s/t%d.cfg", dir, k);
        remove(path);
    }
    rmdir(dir);
    return 0;
}

/* Write text to a new file in the scratch folder; its path into buf. */
static const char *write_file(const char *text, char *buf, size_t n) {
    snprintf(buf, n, "%s/t%d.cfg", dir, n_files++);
    FILE *f = fopen(buf, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return buf;
}

/* 1-based line of the unique occurrence of needle in text. */
static int line_of(const char *text, const char *needle) {
    const char *p = strstr(text, needle);
    assert_non_null(p);
    assert_null(strstr(p + 1, needle));
    int line = 1;
    for (const char *q = text; q < p; q++)
        line += *q == '\n';
    return line;
}

static lm_scenario *programmes_scenario(void) {
    char path[1024];
    lm_scenario *sc = NULL;
    lm_error err;
    int rc =
        lm_scenario_load(lm_test_data(path, sizeof path, "programmes.cfg"), NULL, 0, &sc, &err);
    if (rc)
        printf("load failed: %s\n", err.msg);
    assert_int_equal(rc, LM_OK);
    return sc;
}

/* A valid target (share of employment) used around the bad ones. */
#define GOOD                                                                                       \
    "  { id = \"emp\"; measure = \"share\"; states = \"employed\"; months = [0, 12];\n"            \
    "    value = 0.7; tolerance = 0.01; evidence = \"E1\"; use = \"tuned\"; }"

/* Load (and, with sc, check) text: expect code, the line of `at` in the
 * text, the setting path and a fragment of the message. */
static void expect_error(const char *name, const char *text, const lm_scenario *sc, int code,
                         const char *at, const char *setting, const char *fragment) {
    char path[512], want[600];
    lm_targets *t = NULL;
    lm_error err;
    lm_error_clear(&err);
    write_file(text, path, sizeof path);
    int rc = lm_targets_load(path, &t, &err);
    if (rc == LM_OK && sc) {
        rc = lm_targets_check(t, sc, &err);
        lm_targets_destroy(t);
        t = NULL;
    }
    printf("%s: %s\n", name, err.msg);
    assert_int_equal(rc, code);
    assert_null(t);
    const int line = line_of(text, at);
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    assert_non_null(strstr(err.msg, want));
    assert_string_equal(err.cfg_file, path);
    assert_int_equal(err.cfg_line, line);
    assert_non_null(strstr(err.msg, setting));
    assert_non_null(strstr(err.msg, fragment));
}

static void test_load_errors(void **state) {
    (void)state;
    expect_error("unknown measure",
                 "targets = (\n" GOOD ",\n"
                 "  { id = \"x\"; measure = \"shares\"; states = \"employed\"; months = [0, 1];\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 NULL, LM_ECONFIG, "\"shares\"", "targets[1].measure",
                 "unknown value (expected one of \"share\", \"flow\"");
    expect_error("unknown key",
                 "targets = (\n" GOOD ",\n"
                 "  { id = \"x\"; measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\";\n"
                 "    after = 3; }\n);\n",
                 NULL, LM_ECONFIG, "after = 3", "targets[1].after",
                 "unknown setting 'after' (allowed here: id, measure, value, tolerance, evidence, "
                 "use, note, group, versus, compare, states, among, months)");
    expect_error("bad state name",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"flow\"; from = [\"unemployed\",\n"
                 "    \"employd\"]; to = \"employed\"; months = [1, 2];\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 NULL, LM_ECONFIG, "\"employd\"", "targets[0].from[1]", "unknown state");
    expect_error("tolerance 0",
                 "targets = (\n" GOOD ",\n"
                 "  { id = \"x\"; measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
                 "    value = 0.5; evidence = \"E\"; use = \"tuned\";\n"
                 "    tolerance = 0; }\n);\n",
                 NULL, LM_ECONFIG, "tolerance = 0;", "targets[1].tolerance = 0", "must be > 0");
    expect_error("tolerance < 0",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
                 "    value = 0.5; evidence = \"E\"; use = \"tuned\";\n"
                 "    tolerance = -0.5; }\n);\n",
                 NULL, LM_ECONFIG, "tolerance = -0.5", "targets[0].tolerance", "must be > 0");
    expect_error(
        "duplicate id",
        "targets = (\n" GOOD ",\n"
        "  { measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
        "    id = \"emp\"; value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; "
        "}\n);\n",
        NULL, LM_ECONFIG, "id = \"emp\"; value", "targets[1].id",
        "duplicate id (first used at line 2)");
    expect_error("bad use",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\";\n"
                 "    use = \"calibration\"; }\n);\n",
                 NULL, LM_ECONFIG, "\"calibration\"", "targets[0].use",
                 "expected one of \"tuned\", \"validation\"");
    expect_error("bad id",
                 "targets = (\n"
                 "  { measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
                 "    id = \"Emp-Rate\"; value = 0.5; tolerance = 0.1; evidence = \"E\"; use = "
                 "\"tuned\"; }\n);\n",
                 NULL, LM_ECONFIG, "Emp-Rate", "targets[0].id", "a-z, 0-9 and _");
    expect_error("value not a fraction",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
                 "    tolerance = 0.1; evidence = \"E\"; use = \"tuned\";\n"
                 "    value = 74.1; }\n);\n",
                 NULL, LM_ECONFIG, "value = 74.1", "targets[0].value", "must be in [0, 1]");
    expect_error("unknown group key",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
                 "    group = { disabled = true;\n"
                 "              colour = \"red\"; };\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 NULL, LM_ECONFIG, "colour", "targets[0].group.colour", "unknown setting 'colour'");
    expect_error("versus without compare",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
                 "    group = { disabled = true; }; versus = { disabled = false; };\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 NULL, LM_ECONFIG, "{ id = \"x\"", "targets[0].compare",
                 "missing required setting");
    expect_error(
        "trial arm without trial",
        "targets = (\n"
        "  { id = \"x\"; measure = \"programme\"; programme = \"ips\"; outcome = \"started\";\n"
        "    horizon = 3; months = [1, 2];\n"
        "    arm = \"treatment\";\n"
        "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
        NULL, LM_ECONFIG, "arm = ", "targets[0].arm", "trial = true");
    expect_error("entry from work",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"job_survival\"; after = 6; months = [1, 2];\n"
                 "    from = [\"unemployed\", \"employed_poor\"];\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 NULL, LM_ECONFIG, "from = [", "targets[0].from", "out of work");
}

static void test_check_errors(void **state) {
    (void)state;
    lm_scenario *sc = programmes_scenario(); /* 36 months, follow-up 24, regions A and B */
    expect_error("month beyond the run",
                 "targets = (\n" GOOD ",\n"
                 "  { id = \"x\"; measure = \"share\"; states = \"employed\";\n"
                 "    months = [1, 40];\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 sc, LM_ECONFIG, "months = [1, 40]", "targets[1].months",
                 "month 40 is past the last month (36)");
    expect_error("cohort follow-up past the end",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"state_after\"; from = \"unemployed\"; to = "
                 "\"employed\";\n"
                 "    after = 12; months = [1, 30];\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 sc, LM_ECONFIG, "months = [1, 30]", "targets[0].months",
                 "the cohort of month 30 is followed to month 42, past the last month (36)");
    expect_error("low pay past the end",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"low_pay\"; outcome = \"stuck\";\n"
                 "    month = 12; years = 3;\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 sc, LM_ECONFIG, "month = 12", "targets[0].month", "followed to month 48");
    expect_error("unknown programme",
                 "targets = (\n" GOOD ",\n"
                 "  { id = \"x\"; measure = \"programme_count\"; event = \"starts\";\n"
                 "    programme = \"nope\"; months = [1, 12];\n"
                 "    value = 50.0; tolerance = 10.0; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 sc, LM_ECONFIG, "\"nope\"", "targets[1].programme",
                 "has no programme of that name");
    expect_error("horizon past the follow-up",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"programme\"; programme = \"wf\"; outcome = "
                 "\"any_job\";\n"
                 "    horizon = 30; months = [1, 2];\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 sc, LM_ECONFIG, "horizon = 30", "targets[0].horizon",
                 "evaluation.follow_up_months = 24");
    expect_error("unknown region",
                 "targets = (\n"
                 "  { id = \"x\"; measure = \"share\"; states = \"employed\"; months = [0, 1];\n"
                 "    group = { region = \"C\"; };\n"
                 "    value = 0.5; tolerance = 0.1; evidence = \"E\"; use = \"tuned\"; }\n);\n",
                 sc, LM_ECONFIG, "region = \"C\"", "targets[0].group.region",
                 "unknown name (expected one of \"A\", \"B\")");
    lm_scenario_destroy(sc);
}

static void test_good_file(void **state) {
    (void)state;
    static const char text[] =
        "# comment\n"
        "targets = (\n" GOOD ",\n"
        "  { id = \"ips_rr\"; measure = \"programme\"; programme = \"ips\"; outcome = "
        "\"employed\";\n"
        "    horizon = 12; months = [1, 12]; arm = \"treatment\"; versus_arm = \"control\";\n"
        "    compare = \"ratio\"; trial = true; value = 1.5; tolerance = 0.5;\n"
        "    evidence = \"E2\"; use = \"validation\"; note = \"a trial\"; },\n"
        "  { id = \"wf_starts\"; measure = \"programme_count\"; programme = \"wf\";\n"
        "    event = \"starts\"; months = [1, 36]; trial = true; value = 1000.0;\n"
        "    tolerance = 100.0; evidence = \"E3\"; use = \"tuned\"; },\n"
        "  { id = \"ips_n\"; measure = \"programme_count\"; programme = \"ips\";\n"
        "    event = \"referrals\"; months = [1, 36]; trial = true; value = 1000.0;\n"
        "    tolerance = 100.0; evidence = \"E3\"; use = \"tuned\"; },\n"
        "  { id = \"gap\"; measure = \"flow\"; from = \"unemployed\"; to = \"employed\";\n"
        "    months = [1, 12]; group = { disabled = true; region = [\"A\", \"B\"]; };\n"
        "    versus = { disabled = false; duration = [0, 5]; }; compare = \"difference\";\n"
        "    value = -0.05; tolerance = 0.02; evidence = \"E4\"; use = \"validation\"; }\n"
        ");\n";
    char path[512];
    lm_targets *t = NULL;
    lm_error err;
    assert_int_equal(lm_targets_load(write_file(text, path, sizeof path), &t, &err), LM_OK);
    assert_int_equal(lm_targets_count(t), 5);
    assert_int_equal(lm_targets_n_variants(t), 3);
    assert_null(lm_targets_variant_trial(t, 0));
    assert_string_equal(lm_targets_variant_trial(t, 1), "ips");
    assert_string_equal(lm_targets_variant_trial(t, 2), "wf");
    lm_target_info info;
    lm_targets_info(t, 1, &info);
    assert_string_equal(info.id, "ips_rr");
    assert_string_equal(info.measure, "programme");
    assert_string_equal(info.evidence, "E2");
    assert_string_equal(info.note, "a trial");
    assert_int_equal(info.tuned, 0);
    assert_int_equal(info.variant, 1);
    assert_int_equal(info.cfg_line, line_of(text, "{ id = \"ips_rr\""));
    assert_true(info.value == 1.5 && info.tolerance == 0.5);
    assert_non_null(strstr(info.describe, "ips referrals (treatment): employed within 12 months"));
    lm_targets_info(t, 2, &info);
    assert_int_equal(info.variant, 2);
    lm_targets_info(t, 3, &info);
    assert_int_equal(info.variant, 1);
    lm_targets_info(t, 4, &info);
    assert_int_equal(info.variant, 0);
    assert_string_equal(info.note, "");
    assert_non_null(strstr(info.describe, "disabled=true"));
    lm_scenario *sc = programmes_scenario();
    assert_int_equal(lm_targets_check(t, sc, &err), LM_OK);
    lm_target_result res[5];
    lm_targets_results_init(t, res);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(res[i].available, 0);
        assert_int_equal(res[i].pass, 0);
        assert_true(isnan(res[i].simulated));
    }
    assert_non_null(strstr(res[1].reason, "evaluation.trial = \"ips\""));
    /* Variant 1 needs the scenario with the trial of ips. */
    lm_moments *m = NULL;
    assert_int_equal(lm_moments_create(t, 1, sc, &m, &err), LM_EARG);
    assert_null(m);
    lm_scenario_destroy(sc);
    lm_targets_destroy(t);
    lm_targets_destroy(NULL);
}

static void test_io_errors(void **state) {
    (void)state;
    char path[512];
    lm_targets *t = NULL;
    lm_error err;
    assert_int_equal(lm_targets_load("/nonexistent/t.cfg", &t, &err), LM_EIO);
    assert_null(t);
    assert_non_null(strstr(err.msg, "cannot open targets file"));
    assert_int_equal(
        lm_targets_load(write_file("targets = ( { id = 1 ", path, sizeof path), &t, &err),
        LM_ESYNTAX);
    assert_string_equal(err.cfg_file, path);
    assert_int_equal(lm_targets_load(write_file("targets = ();\n", path, sizeof path), &t, &err),
                     LM_ECONFIG);
    assert_non_null(strstr(err.msg, "at least one target"));
    assert_int_equal(lm_targets_load(write_file("target = ();\n", path, sizeof path), &t, &err),
                     LM_ECONFIG);
    assert_non_null(strstr(err.msg, "unknown setting 'target' (allowed here: targets)"));
}

/* Every allocation failure of a load is LM_ENOMEM, without leaks. */
static void test_out_of_memory(void **state) {
    (void)state;
    char path[512];
    write_file("targets = (\n" GOOD ",\n"
               "  { id = \"r\"; measure = \"programme\"; programme = \"ips\"; outcome = "
               "\"employed\";\n"
               "    horizon = 12; months = [1, 12]; trial = true; value = 0.5; tolerance = 0.5;\n"
               "    evidence = \"E2\"; use = \"validation\"; }\n);\n",
               path, sizeof path);
    int saw_ok = 0;
    for (long k = 0; k < 50 && !saw_ok; k++) {
        lm_targets *t = NULL;
        lm_error err;
        lm__alloc_fail_after(k);
        int rc = lm_targets_load(path, &t, &err);
        lm__alloc_fail_after(-1);
        if (rc == LM_OK)
            saw_ok = 1;
        else
            assert_int_equal(rc, LM_ENOMEM);
        lm_targets_destroy(t);
    }
    assert_true(saw_ok);
}

static void test_load_string(void **state) {
    (void)state;
    lm_scenario *sc = programmes_scenario(), *again = NULL, *trial = NULL;
    lm_error err;
    assert_int_equal(lm_scenario_load_string(sc->text, "copy", NULL, 0, &again, &err), LM_OK);
    assert_string_equal(again->text, sc->text);
    assert_string_equal(again->source_path, "copy");
    assert_int_equal(again->n_persons, sc->n_persons);
    assert_int_equal(again->trial, -1);
    const char *sets[] = {"evaluation.trial=\"ips\""};
    assert_int_equal(lm_scenario_load_string(sc->text, "copy", sets, 1, &trial, &err), LM_OK);
    assert_int_equal(trial->trial, 1);
    lm_scenario *bad = NULL;
    assert_int_equal(lm_scenario_load_string("name = ;", "bad text", NULL, 0, &bad, &err),
                     LM_ESYNTAX);
    assert_null(bad);
    assert_non_null(strstr(err.msg, "bad text:1:"));
    lm_scenario_destroy(sc);
    lm_scenario_destroy(again);
    lm_scenario_destroy(trial);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors),   cmocka_unit_test(test_check_errors),
        cmocka_unit_test(test_good_file),     cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_out_of_memory), cmocka_unit_test(test_load_string),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
