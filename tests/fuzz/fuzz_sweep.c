/* fuzz_sweep.c - libFuzzer target: lm_sweep_load on arbitrary file contents.
 *
 * The input is written to sweeps/input.cfg in the sandbox (fuzz_common.h),
 * so that `base = "../wales_baseline.cfg"` (as in scenarios/sweeps/) or
 * "../e2e_tiny.cfg" names a real scenario and every point's overrides are
 * applied to it. The output folder is given (and never created: loading
 * writes nothing). A loaded sweep's tasks are enumerated.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "lmsim/sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    lm_fuzz_sandbox();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = lm_fuzz_write("sweeps/input.cfg", data, size);
    lm_sweep *sw = NULL;
    lm_error err = {0};
    int rc = lm_sweep_load(path, "out-never-created", &sw, &err);
    lm_fuzz_check_result(rc, sw, &err);
    if (rc == LM_OK) {
        int n = lm_sweep_n_tasks(sw);
        if (n < 1)
            __builtin_trap();
        for (int t = 0; t < n && t < 1000; t++) {
            char buf[1024];
            lm_sweep_task_path(sw, t, buf, sizeof buf);
            (void)lm_sweep_task_point(sw, t);
            (void)lm_sweep_task_seed(sw, t);
        }
    }
    lm_sweep_destroy(sw);
    return 0;
}
