/* test_util.h - helpers shared by the C tests. */
#ifndef LMSIM_TEST_UTIL_H
#define LMSIM_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/* Path of a file in tests/data (LM_SOURCE_DIR is set by ctest). */
static inline const char *lm_test_data(char *buf, size_t n, const char *name) {
    const char *src = getenv("LM_SOURCE_DIR");
    snprintf(buf, n, "%s/tests/data/%s", src ? src : ".", name);
    return buf;
}

/* Path of a file in the source tree. */
static inline const char *lm_test_src(char *buf, size_t n, const char *rel) {
    const char *src = getenv("LM_SOURCE_DIR");
    snprintf(buf, n, "%s/%s", src ? src : ".", rel);
    return buf;
}

#endif /* LMSIM_TEST_UTIL_H */
