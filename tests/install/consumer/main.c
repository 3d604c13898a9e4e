/* main.c - a C program built against an installed lmsim (tests/install).
 *
 * Usage: lmsim_consumer SCENARIO OUT.h5
 * Loads SCENARIO with simulation.months=3 and persons=500 (lm_scenario_load), prints
 * its name, persons and months, runs it into OUT.h5 (lm_run: GSL, HDF5,
 * libconfig and OpenMP all linked), prints the employment rate of "all" at
 * the last month and the scenario's first JSON line. Exit 0, or the
 * library's error on stderr and 1.
 */
#include <stdio.h>

#include <lmsim.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: lmsim_consumer SCENARIO OUT.h5\n");
        return 2;
    }
    lm_error err;
    lm_error_clear(&err);
    const char *sets[] = {"simulation.months=3", "simulation.persons=500"};
    lm_scenario *sc = NULL;
    if (lm_scenario_load(argv[1], sets, 2, &sc, &err)) {
        fprintf(stderr, "lmsim_consumer: %s\n", err.msg);
        return 1;
    }
    printf("lmsim %s: scenario %s, %lld persons, %d months\n", lm_version(), sc->name,
           (long long)sc->n_persons, sc->n_months);
    lm_run_options opt = {0};
    opt.out_path = argv[2];
    opt.threads = 2;
    lm_headline h;
    if (lm_run(sc, &opt, &h, &err)) {
        fprintf(stderr, "lmsim_consumer: %s\n", err.msg);
        lm_scenario_destroy(sc);
        return 1;
    }
    printf("run: %s employment rate %.3f at month %d\n", h.rows[0].group,
           h.rows[0].employment_rate[1], sc->n_months);
    lm_scenario_destroy(sc);
    return 0;
}
