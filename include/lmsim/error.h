/* lmsim/error.h - error codes, the error record and the logging callback.
 *
 * Every fallible lmsim function returns an int: LM_OK (0) on success, a
 * negative LM_E* code on failure. Fallible entry points take a last argument
 * `lm_error *err` (which may be NULL) that receives the code, a message and,
 * for scenario errors, the file and line that caused it. The library never
 * prints and never exits: messages go to the caller through lm_error or
 * through an lm_log_fn callback.
 */
#ifndef LMSIM_ERROR_H
#define LMSIM_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, code, message): one table generates the enum, the names and the
 * messages (libuv's UV_ERRNO_MAP). */
#define LM_ERRNO_MAP(X)                                                                            \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(IO, -2, "input/output error")                                                                \
    X(SYNTAX, -3, "scenario syntax error")                                                         \
    X(CONFIG, -4, "invalid scenario setting")                                                      \
    X(HDF5, -5, "HDF5 error")                                                                      \
    X(ARG, -6, "invalid argument")                                                                 \
    X(INTERRUPTED, -7, "interrupted")                                                              \
    X(RANGE, -8, "value out of range")

typedef enum lm_errno {
    LM_OK = 0,
#define LM__ERRNO_ENUM(name, code, msg) LM_E##name = (code),
    LM_ERRNO_MAP(LM__ERRNO_ENUM)
#undef LM__ERRNO_ENUM
} lm_errno;

#define LM_ERROR_MSG_MAX 768

typedef struct lm_error {
    int code;                   /* LM_OK or a negative LM_E* code */
    char msg[LM_ERROR_MSG_MAX]; /* human-readable; for scenario errors it starts "file:line: " */
    const char *src_file;       /* lmsim source file that raised it (for bug reports) */
    int src_line;               /* line in src_file */
    char cfg_file[256];         /* scenario file the error refers to, or "" */
    int cfg_line;               /* line in cfg_file, or 0 when unknown */
} lm_error;

/* Short symbolic name of a code, e.g. "LM_ECONFIG"; "LM_UNKNOWN" for others. */
const char *lm_err_name(int code);
/* Generic message for a code, e.g. "invalid scenario setting". */
const char *lm_strerror(int code);
/* Reset an error record to LM_OK with an empty message. NULL is a no-op. */
void lm_error_clear(lm_error *err);

/* Log levels, most to least severe. */
typedef enum lm_log_level {
    LM_LOG_ERROR = 0,
    LM_LOG_WARN = 1,
    LM_LOG_INFO = 2,
    LM_LOG_DEBUG = 3
} lm_log_level;

/* Logging callback: the library's only way to say something outside errors.
 * `msg` is borrowed for the duration of the call. */
typedef void (*lm_log_fn)(void *user, lm_log_level level, const char *msg);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_ERROR_H */
