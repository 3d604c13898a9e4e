/* fuzz_scenario.c - libFuzzer target: lm_scenario_load on arbitrary file contents.
 *
 * The input is written to input.cfg in the sandbox (fuzz_common.h), where
 * @include and `base` find the repository's scenarios, a folder, a FIFO and
 * a device. Beyond "no crash, no leak, no exit, no hang", it checks the
 * loader's contract (lm_fuzz_check_result) and that a loaded scenario's
 * normalised text (lm_scenario.text, which sweeps and the calibrator
 * re-derive scenarios from) loads again with lm_scenario_load_string and
 * normalises to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "lmsim/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    lm_fuzz_sandbox();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = lm_fuzz_write("input.cfg", data, size);
    lm_scenario *sc = NULL;
    lm_error err = {0};
    int rc = lm_scenario_load(path, NULL, 0, &sc, &err);
    lm_fuzz_check_result(rc, sc, &err);
    if (rc == LM_OK) {
        char warnings[256];
        lm_scenario_warnings(sc, warnings, sizeof warnings);
        lm_scenario *again = NULL;
        lm_error err2 = {0};
        rc = lm_scenario_load_string(sc->text, "normalised", NULL, 0, &again, &err2);
        lm_fuzz_check_result(rc, again, &err2);
        if (rc != LM_OK)
            __builtin_trap(); /* the normalised text of a valid scenario must load */
        if (strcmp(again->text, sc->text) != 0)
            __builtin_trap(); /* ... and normalise to itself */
        lm_scenario_destroy(again);
    }
    lm_scenario_destroy(sc);
    return 0;
}
