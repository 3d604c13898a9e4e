/* fuzz_scenario_string.c - libFuzzer target: lm_scenario_load_string on arbitrary text.
 *
 * lm_scenario_load_string() re-derives scenarios from text kept in memory
 * (sweeps, the calibrator, run files' stored scenario text, which a damaged
 * file can garble), so it must be as robust as the file loader. The input is
 * NUL-terminated (an embedded NUL ends the text) and loaded with the sandbox
 * (fuzz_common.h) as the working folder, where a relative @include goes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    lm_scenario *sc = NULL;
    lm_error err = {0};
    lm_fuzz_enter();
    int rc = lm_scenario_load_string(text, "fuzz", NULL, 0, &sc, &err);
    lm_fuzz_leave();
    lm_fuzz_check_result(rc, sc, &err);
    lm_scenario_destroy(sc);
    free(text);
    return 0;
}
