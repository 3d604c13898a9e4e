#define _POSIX_C_SOURCE 200809L
/* test_scenario_set.c - `set` lists of derived scenarios, loading from text,
 * reading a setting's number.
 *
 * A derived file's `set = ( "path=value", ... );` must give exactly the
 * scenario that the same --set overrides give (the same normalised text),
 * apply in order after the base merge and before command-line overrides,
 * and report a bad entry at its own file and line. lm_scenario_load_string()
 * of a scenario's text with overrides must equal loading the file with them.
 * The files are written to a scratch folder; the base is tests/data.
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

#include "lmsim.h"
#include "test_util.h"

typedef struct scratch {
    char dir[64];
    char files[32][1200];
    int n;
} scratch;

static int setup(void **state) {
    scratch *s = calloc(1, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/lmsim_test_set_XXXXXX");
    if (!s || !mkdtemp(s->dir))
        return -1;
    *state = s;
    return 0;
}

static int teardown(void **state) {
    scratch *s = *state;
    for (int k = 0; k < s->n; k++)
        remove(s->files[k]);
    rmdir(s->dir);
    free(s);
    return 0;
}

/* Write `text` to DIR/name; returns the path (owned by s). */
static const char *write_file(scratch *s, const char *name, const char *text) {
    char *path = s->files[s->n++];
    const char *dir = s->dir;
    strcpy(path, dir);
    strcat(path, "/");
    strcat(path, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *base_path(char *buf, size_t n) {
    return lm_test_data(buf, n, "programmes.cfg");
}

/* A derived file: base line, then `set` and its entries one a line. */
static const char *derived(scratch *s, const char *name, const char *set_block) {
    char base[1024], text[4096];
    snprintf(text, sizeof text, "base = \"%s\";\nname = \"derived\";\n%s",
             base_path(base, sizeof base), set_block);
    return write_file(s, name, text);
}

static void test_set_equals_overrides(void **state) {
    scratch *s = *state;
    const char *path = derived(s, "d1.cfg",
                               "set = ( \"transitions.unemployed.[0].intercept=-1.7\",\n"
                               "        \"market.matching_elasticity=0.3\",\n"
                               "        \"population.regions.[1].vacancies_per_1000=25\" );\n");
    lm_scenario *a, *b;
    lm_error err;
    assert_int_equal(lm_scenario_load(path, NULL, 0, &a, &err), LM_OK);
    char base[1024];
    const char *sets[] = {"name=\"derived\"", "transitions.unemployed.[0].intercept=-1.7",
                          "market.matching_elasticity=0.3",
                          "population.regions.[1].vacancies_per_1000=25"};
    assert_int_equal(lm_scenario_load(base_path(base, sizeof base), sets, 4, &b, &err), LM_OK);
    assert_true(a->dest[LM_STATE_UNEMPLOYED][0].intercept == -1.7);
    assert_true(a->matching_elasticity == 0.3);
    assert_true(a->regions[1].vacancies_per_1000 == 25.0);
    /* The other destinations of the list are kept (a list merge would drop them). */
    assert_int_equal(a->n_dest[LM_STATE_UNEMPLOYED], b->n_dest[LM_STATE_UNEMPLOYED]);
    assert_true(a->dest[LM_STATE_UNEMPLOYED][0].log_duration == -0.3);
    assert_string_equal(a->text, b->text);
    assert_null(strstr(a->text, "\nset ")); /* applied, not kept */

    /* The same engine results (bit for bit) after a few months. */
    lm_sim *sa, *sb;
    const char *small[] = {"simulation.persons=4000"};
    lm_scenario *a2, *b2;
    assert_int_equal(lm_scenario_load_string(a->text, "a", small, 1, &a2, &err), LM_OK);
    assert_int_equal(lm_scenario_load_string(b->text, "b", small, 1, &b2, &err), LM_OK);
    assert_int_equal(lm_sim_create(a2, 1, &sa, &err), LM_OK);
    assert_int_equal(lm_sim_create(b2, 2, &sb, &err), LM_OK);
    for (int m = 0; m < 6; m++) {
        assert_int_equal(lm_sim_step(sa, &err), LM_OK);
        assert_int_equal(lm_sim_step(sb, &err), LM_OK);
    }
    assert_memory_equal(lm_sim_counts(sa), lm_sim_counts(sb),
                        LM_AGG_CELLS(a2->n_regions) * sizeof(int64_t));
    lm_sim_destroy(sa);
    lm_sim_destroy(sb);
    lm_scenario_destroy(a2);
    lm_scenario_destroy(b2);
    lm_scenario_destroy(a);
    lm_scenario_destroy(b);

    /* An array of strings works as well as a list. */
    path = derived(s, "d1a.cfg", "set = [ \"market.matching_elasticity=0.35\" ];\n");
    assert_int_equal(lm_scenario_load(path, NULL, 0, &a, &err), LM_OK);
    assert_true(a->matching_elasticity == 0.35);
    lm_scenario_destroy(a);
}

static void test_set_order(void **state) {
    scratch *s = *state;
    /* In order: the later entry wins; command-line --set after the file's. */
    const char *path = derived(s, "d2.cfg",
                               "market = { matching_elasticity = 0.2; };\n"
                               "set = ( \"market.matching_elasticity=0.3\",\n"
                               "        \"market.matching_elasticity=0.4\" );\n");
    lm_scenario *sc;
    lm_error err;
    assert_int_equal(lm_scenario_load(path, NULL, 0, &sc, &err), LM_OK);
    assert_true(sc->matching_elasticity == 0.4); /* after the file's own settings */
    lm_scenario_destroy(sc);
    const char *cli[] = {"market.matching_elasticity=0.5"};
    assert_int_equal(lm_scenario_load(path, cli, 1, &sc, &err), LM_OK);
    assert_true(sc->matching_elasticity == 0.5);
    lm_scenario_destroy(sc);

    /* A base's `set` applies before the file derived from it. */
    char text[256];
    snprintf(text, sizeof text, "base = \"d2.cfg\";\nmarket = { matching_elasticity = 0.25; };\n");
    path = write_file(s, "d3.cfg", text);
    assert_int_equal(lm_scenario_load(path, NULL, 0, &sc, &err), LM_OK);
    assert_true(sc->matching_elasticity == 0.25);
    lm_scenario_destroy(sc);
}

static void test_set_errors(void **state) {
    scratch *s = *state;
    lm_scenario *sc;
    lm_error err;
    /* A path through a list element that does not exist: line 5. */
    const char *path = derived(s, "e1.cfg",
                               "set = (\n"
                               "  \"market.matching_elasticity=0.3\",\n"
                               "  \"transitions.unemployed.[9].intercept=-1\" );\n");
    assert_int_equal(lm_scenario_load(path, NULL, 0, &sc, &err), LM_EARG);
    assert_null(sc);
    assert_string_equal(err.cfg_file, path);
    assert_int_equal(err.cfg_line, 5);
    assert_non_null(strstr(err.msg, "set[1]"));
    assert_non_null(strstr(err.msg, "transitions.unemployed.[9].intercept"));

    /* A value the validation rejects: named at the entry's line. */
    path = derived(s, "e2.cfg", "set = ( \"market.matching_elasticity=1.4\" );\n");
    assert_int_equal(lm_scenario_load(path, NULL, 0, &sc, &err), LM_ECONFIG);
    assert_string_equal(err.cfg_file, path);
    assert_int_equal(err.cfg_line, 3);
    assert_non_null(strstr(err.msg, "market.matching_elasticity"));
    assert_non_null(strstr(err.msg, "[0, 1]"));

    /* An unknown setting created by an entry: also at its line. */
    path = derived(s, "e3.cfg", "\nset = ( \"market.nosuch=1\" );\n");
    assert_int_equal(lm_scenario_load(path, NULL, 0, &sc, &err), LM_ECONFIG);
    assert_int_equal(err.cfg_line, 4);
    assert_non_null(strstr(err.msg, "unknown setting 'nosuch'"));

    /* Not a list of strings. */
    path = derived(s, "e4.cfg", "set = ( 3 );\n");
    assert_int_equal(lm_scenario_load(path, NULL, 0, &sc, &err), LM_ECONFIG);
    assert_int_equal(err.cfg_line, 3);
    path = derived(s, "e5.cfg", "set = \"market.matching_elasticity=0.3\";\n");
    assert_int_equal(lm_scenario_load(path, NULL, 0, &sc, &err), LM_ECONFIG);
    assert_non_null(strstr(err.msg, "expected a list"));
    path = derived(s, "e6.cfg", "set = ( \"no equals sign\" );\n");
    assert_int_equal(lm_scenario_load(path, NULL, 0, &sc, &err), LM_EARG);
    assert_int_equal(err.cfg_line, 3);
}

static void test_load_string(void **state) {
    (void)state;
    char base[1024];
    lm_scenario *a, *b, *c;
    lm_error err;
    const char *sets[] = {"transitions.unemployed.[1].intercept=-3.25", "simulation.seed=9"};
    assert_int_equal(lm_scenario_load(base_path(base, sizeof base), NULL, 0, &a, &err), LM_OK);
    assert_int_equal(lm_scenario_load(base, sets, 2, &b, &err), LM_OK);
    assert_int_equal(lm_scenario_load_string(a->text, "from_text", sets, 2, &c, &err), LM_OK);
    assert_string_equal(b->text, c->text);
    assert_string_equal(c->source_path, "from_text");
    assert_true(c->dest[LM_STATE_UNEMPLOYED][1].intercept == -3.25);
    assert_int_equal(c->seed, 9);

    double v;
    assert_int_equal(
        lm_scenario_setting_number(c, "transitions.unemployed.[1].intercept", &v, &err), LM_OK);
    assert_true(v == -3.25);
    assert_int_equal(lm_scenario_setting_number(c, "simulation.persons", &v, &err), LM_OK);
    assert_true(v == 60000.0);
    assert_int_equal(lm_scenario_setting_number(c, "market.nosuch", &v, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "market.nosuch"));
    assert_int_equal(lm_scenario_setting_number(c, "name", &v, &err), LM_EARG);
    assert_non_null(strstr(err.msg, "not a number"));
    assert_int_equal(lm_scenario_setting_number(c, "transitions.unemployed", &v, &err), LM_EARG);
    lm_scenario_destroy(c);

    /* Errors name the display name. */
    assert_int_equal(lm_scenario_load_string("name = ;", "broken", NULL, 0, &c, &err), LM_ESYNTAX);
    assert_null(c);
    assert_string_equal(err.cfg_file, "broken");
    assert_int_equal(err.cfg_line, 1);
    const char *bad[] = {"market.matching_elasticity=7"};
    assert_int_equal(lm_scenario_load_string(a->text, "t", bad, 1, &c, &err), LM_ECONFIG);
    assert_non_null(strstr(err.msg, "matching_elasticity"));
    lm_scenario_destroy(a);
    lm_scenario_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_equals_overrides),
        cmocka_unit_test(test_set_order),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_load_string),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
