/* error.c - error codes, names and the single point that fills lm_error.
 *
 * All failures in lmsim pass through lm__fail() (via the LM_FAIL macro in
 * internal.h), which records the code, a formatted message and the lmsim
 * source location, and returns the code so a caller can write
 * `return LM_FAIL(err, LM_EIO, "...")`. Scenario errors also record the
 * scenario file and line through lm__fail_cfg().
 */
#include "lmsim/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *lm_err_name(int code) {
    switch (code) {
    case LM_OK:
        return "LM_OK";
#define LM__ERRNO_NAME(name, c, m)                                                                 \
    case LM_E##name:                                                                               \
        return "LM_E" #name;
        LM_ERRNO_MAP(LM__ERRNO_NAME)
#undef LM__ERRNO_NAME
    default:
        return "LM_UNKNOWN";
    }
}

const char *lm_strerror(int code) {
    switch (code) {
    case LM_OK:
        return "success";
#define LM__ERRNO_MSG(name, c, m)                                                                  \
    case LM_E##name:                                                                               \
        return m;
        LM_ERRNO_MAP(LM__ERRNO_MSG)
#undef LM__ERRNO_MSG
    default:
        return "unknown error";
    }
}

void lm_error_clear(lm_error *err) {
    if (err == NULL)
        return;
    memset(err, 0, sizeof *err);
}

static void vfill(lm_error *err, int code, const char *src_file, int src_line, const char *fmt,
                  va_list ap) {
    err->code = code;
    err->src_file = src_file;
    err->src_line = src_line;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int lm__fail(lm_error *err, int code, const char *src_file, int src_line, const char *fmt, ...) {
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vfill(err, code, src_file, src_line, fmt, ap);
    va_end(ap);
    err->cfg_file[0] = '\0';
    err->cfg_line = 0;
    return code;
}

int lm__fail_cfg(lm_error *err, int code, const char *src_file, int src_line, const char *cfg_file,
                 int cfg_line, const char *fmt, ...) {
    if (err == NULL)
        return code;
    char body[LM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    err->code = code;
    err->src_file = src_file;
    err->src_line = src_line;
    snprintf(err->cfg_file, sizeof err->cfg_file, "%s", cfg_file ? cfg_file : "");
    err->cfg_line = cfg_line;
    if (cfg_file && cfg_line > 0)
        snprintf(err->msg, sizeof err->msg, "%.250s:%d: %.500s", cfg_file, cfg_line, body);
    else if (cfg_file)
        snprintf(err->msg, sizeof err->msg, "%.250s: %.500s", cfg_file, body);
    else
        snprintf(err->msg, sizeof err->msg, "%.760s", body);
    return code;
}
