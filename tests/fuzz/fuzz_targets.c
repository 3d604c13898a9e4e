/* fuzz_targets.c - libFuzzer target: lm_targets_load on arbitrary file contents.
 *
 * The input is written to input.cfg in the sandbox (fuzz_common.h). A
 * loaded targets file is checked against the Wales baseline (loaded once:
 * the scenario scenarios/targets/wales.cfg is written for), and every
 * target's facts and the run variants are read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "lmsim/targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static lm_scenario *wales; /* loaded once, freed at exit */

static void free_wales(void) {
    lm_scenario_destroy(wales);
    wales = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    lm_fuzz_sandbox();
    lm_error err = {0};
    if (lm_scenario_load(lm_fuzz_path("wales_baseline.cfg"), NULL, 0, &wales, &err) != LM_OK)
        __builtin_trap();
    atexit(free_wales);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = lm_fuzz_write("input.cfg", data, size);
    lm_targets *t = NULL;
    lm_error err = {0};
    int rc = lm_targets_load(path, &t, &err);
    lm_fuzz_check_result(rc, t, &err);
    if (rc == LM_OK) {
        size_t n = lm_targets_count(t);
        for (size_t i = 0; i < n; i++) {
            lm_target_info info;
            lm_targets_info(t, i, &info);
            if (!info.id || !info.measure || !info.describe || strlen(info.describe) == (size_t)-1)
                __builtin_trap();
        }
        for (int v = 0; v < lm_targets_n_variants(t); v++)
            (void)lm_targets_variant_trial(t, v);
        lm_error err2 = {0};
        rc = lm_targets_check(t, wales, &err2);
        if (rc > 0 || (rc < 0 && err2.msg[0] == '\0'))
            __builtin_trap();
    }
    lm_targets_destroy(t);
    return 0;
}
