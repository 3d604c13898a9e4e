/* lmsim/version.h - library version. */
#ifndef LMSIM_VERSION_H
#define LMSIM_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

#define LM_VERSION_MAJOR 0
#define LM_VERSION_MINOR 1
#define LM_VERSION_PATCH 0
#define LM_VERSION_STRING "0.1.0"

/* Version of the library actually linked, e.g. "0.1.0". */
const char *lm_version(void);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_VERSION_H */
