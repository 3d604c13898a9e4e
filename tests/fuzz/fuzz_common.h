/* fuzz_common.h - the sandbox the loader fuzz targets (tests/fuzz/) load their inputs in.
 *
 * Each fuzz target writes its input bytes to a file in a private temporary
 * folder (the sandbox) and loads that file, so that @include, `base` and a
 * sweep's `../base.cfg` resolve inside the sandbox and nowhere else. The
 * sandbox holds copies of the repository's scenarios (so that seeds taken
 * from scenarios/ and tests/data/ resolve their includes) and some hazards:
 * a directory, a FIFO, a symbolic link to /dev/zero and one to itself. It is
 * removed when the process ends, also on a crash (by a watchdog child);
 * tests/fuzz/run.sh also points TMPDIR at a folder it removes.
 */
#ifndef LMSIM_FUZZ_COMMON_H
#define LMSIM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "lmsim/error.h"

/* Create the sandbox (once per process). Aborts the process when it cannot
 * (a harness failure, not a finding). */
void lm_fuzz_sandbox(void);

/* Make the sandbox the working folder (for loaders that resolve relative
 * to it) and go back to the previous one (libFuzzer's corpus paths may be
 * relative). */
void lm_fuzz_enter(void);
void lm_fuzz_leave(void);

/* Absolute path of `rel` in the sandbox (static buffer, valid until the
 * next call). */
const char *lm_fuzz_path(const char *rel);

/* Write data[0..n) to sandbox file `rel` (replacing it); returns its
 * absolute path as lm_fuzz_path does. */
const char *lm_fuzz_write(const char *rel, const uint8_t *data, size_t n);

/* The loader contract every target checks after a load: a negative code
 * with a message on failure, LM_OK and an object on success. Traps when it
 * does not hold (libFuzzer then reports a crash). */
void lm_fuzz_check_result(int rc, const void *obj, const lm_error *err);

#endif /* LMSIM_FUZZ_COMMON_H */
