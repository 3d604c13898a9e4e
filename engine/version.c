/* version.c - the linked library's version string. */
#include "lmsim/version.h"

const char *lm_version(void) {
    return LM_VERSION_STRING;
}
