/* cfgutil.h - strict validation helpers on libconfig trees, shared by the
 * scenario loader (config.c) and the targets loader (targets.c).
 *
 * Not part of the public API. Every helper reports through lm__cfg_bad() or
 * lm__cfg_missing(), so that every error names the file (the fragment, for
 * @include'd settings), the line, the setting path and its value:
 *
 *     wales.cfg:42: population.female_share = 1.3: must be in [0, 1]
 *
 * A setting without a line (created by a --set override) is reported as
 * "--set path=value: ..." against the top-level file.
 */
#ifndef LMSIM_CFGUTIL_H
#define LMSIM_CFGUTIL_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

#include "lmsim/error.h"
#include "lmsim/scenario.h"

/* What every helper needs: the top-level file (named for settings without a
 * source file) and the error record. */
typedef struct lm__cfg_ctx {
    const char *path;
    lm_error *err;
} lm__cfg_ctx;

/* "a.b[2].c" of setting s, and its value as text ("1.5", "\"x\"", "[...]"). */
void lm__cfg_path(const config_setting_t *s, char *buf, size_t n);
void lm__cfg_value(const config_setting_t *s, char *buf, size_t n);

/* Report a problem with setting s ("file:line: path = value: <msg>"). */
int lm__cfg_bad(const lm__cfg_ctx *c, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Where setting s is, as messages name it: "file:line: path = value", or
 * "file: path = value" for a setting without a line (from an override, a
 * derived file or a timeline change; file is then the top-level one). For
 * warnings, which are not errors. */
void lm__cfg_where(const lm__cfg_ctx *c, const config_setting_t *s, char *buf, size_t n);
/* Report a required setting `name` missing from group g (`what` it must be). */
int lm__cfg_missing(const lm__cfg_ctx *c, const config_setting_t *g, const char *name,
                    const char *what);
/* Every child of group g must be named in allowed[] (NULL-terminated); the
 * error lists the allowed names. */
int lm__cfg_check_keys(const lm__cfg_ctx *c, const config_setting_t *g, const char *const *allowed);

int lm__cfg_is_number(const config_setting_t *s);
double lm__cfg_number(const config_setting_t *s);
/* Index of v in names[0..n), or -1. */
int lm__cfg_index_of(const char *const *names, int n, const char *v);

/* Typed getters of member `name` of `parent`. Absent and not required: *out
 * is the default (NULL for groups and lists). */
int lm__cfg_get_group(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                      int required, const config_setting_t **out);
int lm__cfg_get_list(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                     int required, const config_setting_t **out);
int lm__cfg_get_num(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                    int required, double lo, double hi, double dflt, double *out);
/* An integer (32- or 64-bit in the file) in [lo, hi]. */
int lm__cfg_get_int(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                    int required, long long lo, long long hi, long long dflt, long long *out);
int lm__cfg_get_str(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                    int required, const char *dflt, const char **out,
                    const config_setting_t **where);
/* An array or list of exactly n numbers in [lo, hi] (absent: zeros). */
int lm__cfg_get_vec(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                    int required, int n, double lo, double hi, double *out);
/* An array or list of exactly n integers in [lo, hi], 32- or 64-bit. */
int lm__cfg_get_ints(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                     int required, int n, long long lo, long long hi, long long *out);

/* Bits of the names given by a string or an array/list of strings. */
int lm__cfg_name_mask(const lm__cfg_ctx *c, const config_setting_t *s, const char *const *names,
                      int n, uint32_t *mask);
/* true -> 2 (bit 1), false -> 1 (bit 0). */
int lm__cfg_bool_mask(const lm__cfg_ctx *c, const config_setting_t *s, uint8_t *mask);

/* A selector that matches everyone. */
void lm__cfg_selector_all(lm_selector *sel);
/* The keys of selector group w (a rule's `where`; docs/scenario-reference.md
 * "Selectors") set their masks in *sel; keys not given leave *sel as it is.
 * region_names[0..n_regions) resolve `region`; with region_names NULL a
 * region value is only checked to be names (for a file read before its
 * scenario is known). allow_state: whether `state` may select. extra: further
 * keys allowed in w (NULL-terminated, or NULL), left to the caller. */
int lm__cfg_selector(const lm__cfg_ctx *c, const config_setting_t *w,
                     const char *const *region_names, int n_regions, int allow_state,
                     const char *const *extra, lm_selector *sel);

/* Parse file `path` into cfg (initialised here: the caller always destroys
 * it), with @include relative to its folder. `what` names the kind of file
 * in messages ("scenario file", "targets file"). Errors: LM_EIO, LM_ESYNTAX. */
int lm__cfg_read_file(const lm__cfg_ctx *c, const char *path, const char *what, config_t *cfg);
/* Copy libconfig text `in` to out (n bytes) with an L suffix added to every
 * integer literal that needs more than 32 bits (libconfig 1.5 would cut it
 * silently). Returns the size out needs for any input of in's length. */
size_t lm__cfg_widen_ints(const char *in, char *out, size_t n);
/* Line of the first @include directive in libconfig text, 0 if none. Text
 * parsed by config_read_string() must have none: libconfig resolves it
 * against the working folder, and its scanner exits the process when the
 * file is a folder (`@include "."`). */
int lm__cfg_include_line(const char *text);
/* Whether the NUL-terminated string is valid UTF-8 (no overlong forms, no
 * surrogates, at most U+10FFFF). Every string setting must be. */
int lm__utf8_valid(const char *s);

#endif /* LMSIM_CFGUTIL_H */
