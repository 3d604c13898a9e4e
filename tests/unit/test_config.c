#define _POSIX_C_SOURCE 200809L
/* test_config.c - scenario loading: values, overrides, error records, OOM.
 *
 * The catalogue of bad scenario files is in tests/e2e/test_bad_inputs.py
 * (through the CLI); here the library contract is checked directly: the
 * lm_error fields (code, file, line), overrides of each type, the warnings
 * about settings that can have no effect (lm_scenario_warnings), and that every
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

    /* One element of an array (what `lmsim calibrate --free` needs for a
     * share by state): an integer is taken for a number; the index must
     * exist and the value fit the array's type. */
    const char *elem[] = {"population.pay_churn_by_state.[5]=0.5",
                          "population.pay_churn_by_state.[0]=0",
                          "transitions.duration_cap_months=120"};
    assert_int_equal(lm_scenario_load(path, elem, 3, &sc, &err), LM_OK);
    assert_true(sc->pay_churn[LM_STATE_EMPLOYED_POOR] == 0.5);
    assert_true(sc->pay_churn[0] == 0.0);
    assert_true(sc->pay_churn[LM_STATE_EMPLOYED_GOOD] > 0.0); /* the others as in the file */
    lm_scenario_destroy(sc);
    const char *elem_range[] = {"population.pay_churn_by_state.[7]=0.5"};
    assert_int_equal(lm_scenario_load(path, elem_range, 1, &sc, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "has 7 elements ([0] to [6])"));
    const char *elem_type[] = {"population.pay_churn_by_state.[1]=\"x\""};
    assert_int_equal(lm_scenario_load(path, elem_type, 1, &sc, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "expected a number"));
    const char *elem_index[] = {"population.pay_churn_by_state.[-1]=0.5"};
    assert_int_equal(lm_scenario_load(path, elem_index, 1, &sc, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "expected an element [k]"));
    const char *elem_bound[] = {"population.pay_churn_by_state.[2]=1.5"};
    assert_int_equal(lm_scenario_load(path, elem_bound, 1, &sc, &err), LM_ECONFIG);
    assert_non_null(strstr(err.msg, "pay_churn_by_state"));
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

/* Load `rel` (a path in the source tree) with overrides; the scenario's
 * warnings into buf; returns their number. */
static int warnings_of(const char *rel, const char *const *sets, size_t n, char *buf, size_t size) {
    char path[1024];
    lm_scenario *sc;
    lm_error err;
    int rc = lm_scenario_load(lm_test_src(path, sizeof path, rel), sets, n, &sc, &err);
    if (rc)
        printf("%s\n", err.msg);
    assert_int_equal(rc, LM_OK);
    int k = lm_scenario_warnings(sc, buf, size);
    assert_int_equal(k, sc->n_warnings);
    lm_scenario_destroy(sc);
    return k;
}

/* lm_scenario_warnings: settings that load but can have no effect. */
static void test_warnings(void **state) {
    (void)state;
    char buf[8192];
    const char *wales_cfg = "scenarios/wales_baseline.cfg";
    const char *devolved = "scenarios/wales_devolved_ips.cfg";
    /* The shipped scenarios as they are: none. */
    assert_int_equal(warnings_of(wales_cfg, NULL, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(warnings_of(devolved, NULL, 0, buf, sizeof buf), 0);
    assert_int_equal(warnings_of("scenarios/wales_good_work.cfg", NULL, 0, buf, sizeof buf), 0);

    /* Devolved IPS run for 24 months ends before its policy (2026-04, month
     * 27): one warning per timeline entry, naming the setting. */
    const char *m24[] = {"simulation.months=24"};
    assert_int_equal(warnings_of(devolved, m24, 1, buf, sizeof buf), 2);
    assert_non_null(strstr(buf, "wales_devolved_ips.cfg: timeline[0].from = \"2026-04\": this "
                                "change takes effect in month 27, after the run's last month "
                                "(24, 2026-01): it has no effect\n"));
    assert_non_null(strstr(buf, "timeline[1].from = \"2026-04\": this ramp starts in month 27"));
    assert_null(strchr(strchr(buf, '\n') + 1, '\n')); /* one line each, no trailing newline */
    const char *m27[] = {"simulation.months=27"};
    assert_int_equal(warnings_of(devolved, m27, 1, buf, sizeof buf), 0);
    /* The good-work levers too, and its programme closed until 2026-04. */
    assert_int_equal(warnings_of("scenarios/wales_good_work.cfg", m24, 1, buf, sizeof buf), 4);
    assert_non_null(strstr(buf, "programmes.progression.open = false: programme 'progression' "
                                "is closed in every month of the run (1-24)"));

    /* Count without a buffer; a short buffer is truncated and terminated. */
    char path[1024], small[16], full[8192];
    lm_scenario *sc;
    lm_error err;
    assert_int_equal(lm_scenario_load(lm_test_src(path, sizeof path, devolved), m24, 1, &sc, &err),
                     LM_OK);
    assert_int_equal(lm_scenario_warnings(sc, NULL, 0), 2);
    assert_int_equal(lm_scenario_warnings(sc, full, sizeof full), 2);
    assert_int_equal(lm_scenario_warnings(sc, small, sizeof small), 2);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, full, sizeof small - 1);
    lm_scenario_destroy(sc);

    /* Programmes that can refer or start no one, one warning each. */
    static const struct {
        const char *sets[3];
        const char *want;
    } cases[] = {
        {{"programmes.ips.referral.probability=0.0"},
         "wales_baseline.cfg: programmes.ips.referral.probability = 0: programme 'ips' has "
         "referral probability 0 in every month it is open: no one is referred to it"},
        {{"programmes.ips.open=false"},
         "programmes.ips.open = false: programme 'ips' is closed "
         "in every month of the run (1-120)"},
        {{"programmes.work_first.capacity.places_per_month=[0.0, 0.0, 0.0]"},
         "programmes.work_first.capacity.places_per_month = [...]: programme 'work_first' has no "
         "places in any month of the run"},
        /* scaled to 1000 of 1,947,716 persons: a cap of 200-440 is under one person */
        {{"simulation.persons=1000"},
         "programmes/ips.cfg:22: programmes.ips.capacity."
         "caseload_cap = [...]: programme 'ips' can start no one"},
        /* 2000 persons for 12 months: 15-35 places a month add up to under one place */
        {{"simulation.persons=2000", "simulation.months=12"},
         "programmes/ips.cfg:21: programmes.ips.capacity.places_per_month = [...]: programme "
         "'ips' can start no one: its places scaled to the run"},
        /* closed by the timeline from the first simulated month on */
        {{"timeline=({from=\"2024-02\"; set={programmes={ips={open=false;};};};})"},
         "wales_baseline.cfg: programmes.ips.open: programme 'ips' is closed in every month"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = 0;
        while (n < 3 && cases[k].sets[n])
            n++;
        int got = warnings_of(wales_cfg, cases[k].sets, n, buf, sizeof buf);
        if (got != 1 || !strstr(buf, cases[k].want))
            printf("case %zu: %d warnings: %s\n", k, got, buf);
        assert_int_equal(got, 1);
        assert_non_null(strstr(buf, cases[k].want));
    }
    /* Referral probability 0 until a timeline raises it within the run: none. */
    const char *later[] = {"programmes.ips.referral.probability=0.0",
                           "timeline=({from=\"2025-02\"; set={programmes={ips={referral={"
                           "probability=0.01;};};};};})"};
    assert_int_equal(warnings_of(wales_cfg, later, 2, buf, sizeof buf), 0);
    /* An `eligible` state that no one can be in: markov.cfg has nobody in the
     * first three states and no transition into them. */
    const char *unreachable[] = {
        "programmes={p={eligible={state=[\"inactive_sick\",\"inactive_caring\"];};referral={"
        "probability=0.1;};capacity={places_per_month=[10.0];};duration_months=3;effects={};"
        "costs={};};}"};
    assert_int_equal(warnings_of("tests/data/markov.cfg", unreachable, 1, buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "programmes.p.eligible.state = [...]: programme 'p' can refer no "
                                "one: `eligible` selects only states no one can be in"));
    const char *reachable[] = {
        "programmes={p={eligible={state=[\"inactive_sick\",\"unemployed\"];};referral={"
        "probability=0.1;};capacity={places_per_month=[10.0];};duration_months=3;effects={};"
        "costs={};};}"};
    assert_int_equal(warnings_of("tests/data/markov.cfg", reachable, 1, buf, sizeof buf), 0);
}

/* Every allocation in load + engine creation can fail cleanly. */
static void test_out_of_memory(void **state) {
    (void)state;
    char path[1024];
    /* At 1000 persons IPS's caseload cap rounds to nobody: the load also
     * allocates a warning. */
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

/* Text parsed in memory has no folder for @include: libconfig would read it
 * from the working folder, and its scanner exits the process on a folder.
 * Both ways in are refused (found by tests/fuzz, regressions/exit-*). */
static void test_no_include_in_text(void **state) {
    (void)state;
    char path[1024];
    lm_scenario *sc = NULL;
    lm_error err;
    assert_int_equal(
        lm_scenario_load_string("name = \"x\";\n@include \".\"\n", "t", NULL, 0, &sc, &err),
        LM_ECONFIG);
    assert_null(sc);
    assert_int_equal(err.cfg_line, 2);
    assert_non_null(strstr(err.msg, "@include is not allowed"));
    const char *sets[] = {"description=1;\n@include \".\""};
    assert_int_equal(lm_scenario_load(wales(path, sizeof path), sets, 1, &sc, &err), LM_EARG);
    assert_null(sc);
    assert_non_null(strstr(err.msg, "cannot contain @include"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_values),   cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_error_record),  cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_out_of_memory), cmocka_unit_test(test_no_include_in_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
