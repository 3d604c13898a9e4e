/* cfgutil.c - the strict layer on libconfig shared by scenario and targets files.
 *
 * Purpose. libconfig parses the syntax (and reports syntax errors with
 * file:line), but it accepts unknown settings silently and converts nothing.
 * These helpers are the strict layer on top, used by config.c (scenarios)
 * and targets.c (targets files): a group lists the keys it allows, every
 * value is checked for type and range, and required settings must be
 * present. Each error names the file (the fragment, for @include'd
 * settings), the line, the setting path, its value and what was expected:
 *
 *     wales.cfg:42: population.female_share = 1.3: must be in [0, 1]
 *
 * Data. The helpers read a parsed tree (config_t) and write only through
 * their out parameters; lm__cfg_ctx carries the top-level file name (for
 * settings that have no source line because an override created them) and
 * the error record.
 *
 * Invariants. No helper allocates or keeps state: all are thread-safe for
 * distinct trees. A helper that fails has filled the error record and
 * returns its negative code; on success it returns LM_OK.
 */
#define _POSIX_C_SOURCE 200809L
#include "cfgutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

void lm__cfg_path(const config_setting_t *s, char *buf, size_t n) {
    const config_setting_t *chain[64];
    int depth = 0;
    for (const config_setting_t *p = s; p && !config_setting_is_root(p) && depth < 64;
         p = config_setting_parent(p))
        chain[depth++] = p;
    size_t len = 0;
    buf[0] = '\0';
    for (int d = depth - 1; d >= 0 && len < n; d--) {
        const char *name = config_setting_name(chain[d]);
        int w;
        if (name)
            w = snprintf(buf + len, n - len, "%s%s", len ? "." : "", name);
        else
            w = snprintf(buf + len, n - len, "[%d]", config_setting_index(chain[d]));
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

void lm__cfg_value(const config_setting_t *s, char *buf, size_t n) {
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
        snprintf(buf, n, "%d", config_setting_get_int(s));
        break;
    case CONFIG_TYPE_INT64:
        snprintf(buf, n, "%lld", config_setting_get_int64(s));
        break;
    case CONFIG_TYPE_FLOAT:
        snprintf(buf, n, "%g", config_setting_get_float(s));
        break;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, n, "%s", config_setting_get_bool(s) ? "true" : "false");
        break;
    case CONFIG_TYPE_STRING: {
        /* Text that is not UTF-8 is shown with \xNN escapes: messages stay
         * printable (and decodable by whoever reads them). */
        const char *v = config_setting_get_string(s);
        if (lm__utf8_valid(v)) {
            snprintf(buf, n, "\"%s\"", v);
            break;
        }
        size_t at = 0;
        if (n < 8) {
            snprintf(buf, n, "?");
            break;
        }
        buf[at++] = '"';
        for (const unsigned char *p = (const unsigned char *)v; *p && at + 5 < n; p++) {
            if (*p < 0x80)
                buf[at++] = (char)*p;
            else
                at += (size_t)snprintf(buf + at, n - at, "\\x%02X", *p);
        }
        buf[at++] = '"'; /* the loop left room for it and the NUL */
        buf[at] = '\0';
        break;
    }
    case CONFIG_TYPE_GROUP:
        snprintf(buf, n, "{...}");
        break;
    case CONFIG_TYPE_ARRAY:
        snprintf(buf, n, "[...]");
        break;
    case CONFIG_TYPE_LIST:
        snprintf(buf, n, "(...)");
        break;
    default:
        snprintf(buf, n, "?");
    }
}

int lm__cfg_bad(const lm__cfg_ctx *c, const config_setting_t *s, const char *fmt, ...) {
    char path[256], value[128], msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lm__cfg_path(s, path, sizeof path);
    lm__cfg_value(s, value, sizeof value);
    const char *file = config_setting_source_file(s);
    int line = (int)config_setting_source_line(s);
    if (line == 0) /* created by a --set override */
        return LM_FAIL_CFG(c->err, LM_ECONFIG, c->path, 0,
                           "--set %s=%s: %s (value set on the command line, by a derived "
                           "scenario or by a timeline change)",
                           path, value, msg);
    return LM_FAIL_CFG(c->err, LM_ECONFIG, file ? file : c->path, line, "%s = %s: %s", path, value,
                       msg);
}

void lm__cfg_where(const lm__cfg_ctx *c, const config_setting_t *s, char *buf, size_t n) {
    char path[256], value[128];
    lm__cfg_path(s, path, sizeof path);
    lm__cfg_value(s, value, sizeof value);
    const char *file = config_setting_source_file(s);
    int line = (int)config_setting_source_line(s);
    if (line > 0)
        snprintf(buf, n, "%s:%d: %s = %s", file ? file : c->path, line, path, value);
    else
        snprintf(buf, n, "%s: %s = %s", c->path, path, value);
}

int lm__cfg_missing(const lm__cfg_ctx *c, const config_setting_t *g, const char *name,
                    const char *what) {
    char path[256];
    lm__cfg_path(g, path, sizeof path);
    const char *file = config_setting_source_file(g);
    int line = config_setting_is_root(g) ? 0 : (int)config_setting_source_line(g);
    return LM_FAIL_CFG(c->err, LM_ECONFIG, file ? file : c->path, line,
                       "missing required setting '%s%s%s' (%s)", path, path[0] ? "." : "", name,
                       what);
}

int lm__cfg_check_keys(const lm__cfg_ctx *c, const config_setting_t *g,
                       const char *const *allowed) {
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(s);
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, name) == 0)
                ok = 1;
        if (!ok) {
            char list[320];
            size_t len = 0;
            list[0] = '\0';
            for (const char *const *a = allowed; *a && len < sizeof list; a++) {
                int w = snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", *a);
                if (w < 0)
                    break;
                len += (size_t)w;
            }
            return lm__cfg_bad(c, s, "unknown setting '%s' (allowed here: %s)", name, list);
        }
    }
    return LM_OK;
}

int lm__cfg_is_number(const config_setting_t *s) {
    int t = config_setting_type(s);
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}

double lm__cfg_number(const config_setting_t *s) {
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
        return (double)config_setting_get_int(s);
    case CONFIG_TYPE_INT64:
        return (double)config_setting_get_int64(s);
    default:
        return config_setting_get_float(s);
    }
}

int lm__cfg_index_of(const char *const *names, int n, const char *v) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], v) == 0)
            return i;
    return -1;
}

int lm__cfg_get_group(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                      int required, const config_setting_t **out) {
    const config_setting_t *s = config_setting_get_member(parent, name);
    *out = NULL;
    if (!s)
        return required ? lm__cfg_missing(c, parent, name, "a group { ... }") : LM_OK;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return lm__cfg_bad(c, s, "expected a group { ... }");
    *out = s;
    return LM_OK;
}

int lm__cfg_get_list(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                     int required, const config_setting_t **out) {
    const config_setting_t *s = config_setting_get_member(parent, name);
    *out = NULL;
    if (!s)
        return required ? lm__cfg_missing(c, parent, name, "a list ( { ... }, ... )") : LM_OK;
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return lm__cfg_bad(c, s, "expected a list ( { ... }, ... )");
    *out = s;
    return LM_OK;
}

int lm__cfg_get_num(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                    int required, double lo, double hi, double dflt, double *out) {
    const config_setting_t *s = config_setting_get_member(parent, name);
    if (!s) {
        if (required) {
            char what[96];
            snprintf(what, sizeof what, "a number in [%g, %g]", lo, hi);
            return lm__cfg_missing(c, parent, name, what);
        }
        *out = dflt;
        return LM_OK;
    }
    if (!lm__cfg_is_number(s))
        return lm__cfg_bad(c, s, "expected a number");
    double v = lm__cfg_number(s);
    if (!isfinite(v) || v < lo || v > hi)
        return lm__cfg_bad(c, s, "must be in [%g, %g]", lo, hi);
    *out = v;
    return LM_OK;
}

/* The integer value of s in [lo, hi], 32- or 64-bit in the file. */
static int int_of(const lm__cfg_ctx *c, const config_setting_t *s, long long lo, long long hi,
                  long long *out) {
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return lm__cfg_bad(c, s, "expected an integer");
    long long v = t == CONFIG_TYPE_INT ? config_setting_get_int(s) : config_setting_get_int64(s);
    if (v < lo || v > hi)
        return lm__cfg_bad(c, s, "must be an integer in [%lld, %lld]", lo, hi);
    *out = v;
    return LM_OK;
}

int lm__cfg_get_int(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                    int required, long long lo, long long hi, long long dflt, long long *out) {
    const config_setting_t *s = config_setting_get_member(parent, name);
    if (!s) {
        if (required) {
            char what[96];
            snprintf(what, sizeof what, "an integer in [%lld, %lld]", lo, hi);
            return lm__cfg_missing(c, parent, name, what);
        }
        *out = dflt;
        return LM_OK;
    }
    return int_of(c, s, lo, hi, out);
}

int lm__cfg_get_str(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                    int required, const char *dflt, const char **out,
                    const config_setting_t **where) {
    const config_setting_t *s = config_setting_get_member(parent, name);
    if (where)
        *where = s;
    if (!s) {
        if (required)
            return lm__cfg_missing(c, parent, name, "a string");
        *out = dflt;
        return LM_OK;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return lm__cfg_bad(c, s, "expected a string in double quotes");
    *out = config_setting_get_string(s);
    /* Run files store text as UTF-8 strings; anything else breaks readers. */
    if (!lm__utf8_valid(*out))
        return lm__cfg_bad(c, s, "is not valid UTF-8 text");
    return LM_OK;
}

int lm__utf8_valid(const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned char b = *s;
        int len = b < 0x80           ? 1
                  : (b >> 5) == 0x6  ? 2
                  : (b >> 4) == 0xE  ? 3
                  : (b >> 3) == 0x1E ? 4
                                     : 0;
        if (len == 0 || (len == 2 && b < 0xC2) || (len == 4 && b > 0xF4))
            return 0; /* a stray continuation byte, an overlong 2-byte form, beyond U+10FFFF */
        uint32_t cp = len == 1 ? b : b & (0x3Fu >> (len - 1));
        for (int k = 1; k < len; k++) {
            if ((s[k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[k] & 0x3Fu);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0; /* overlong, surrogate or out of range */
        s += len;
    }
    return 1;
}

int lm__cfg_get_vec(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                    int required, int n, double lo, double hi, double *out) {
    const config_setting_t *s = config_setting_get_member(parent, name);
    if (!s) {
        if (required) {
            char what[64];
            snprintf(what, sizeof what, "an array of %d numbers", n);
            return lm__cfg_missing(c, parent, name, what);
        }
        for (int i = 0; i < n; i++)
            out[i] = 0.0;
        return LM_OK;
    }
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return lm__cfg_bad(c, s, "expected an array of %d numbers [a, b, ...]", n);
    if (config_setting_length(s) != n)
        return lm__cfg_bad(c, s, "expected exactly %d numbers, found %d", n,
                           config_setting_length(s));
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (!lm__cfg_is_number(e))
            return lm__cfg_bad(c, e, "expected a number");
        double v = lm__cfg_number(e);
        if (!isfinite(v) || v < lo || v > hi)
            return lm__cfg_bad(c, e, "must be in [%g, %g]", lo, hi);
        out[i] = v;
    }
    return LM_OK;
}

int lm__cfg_get_ints(const lm__cfg_ctx *c, const config_setting_t *parent, const char *name,
                     int required, int n, long long lo, long long hi, long long *out) {
    const config_setting_t *s = config_setting_get_member(parent, name);
    if (!s) {
        if (required) {
            char what[64];
            snprintf(what, sizeof what, "an array of %d integers", n);
            return lm__cfg_missing(c, parent, name, what);
        }
        return LM_OK;
    }
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return lm__cfg_bad(c, s, "expected an array of %d integers [a, b, ...]", n);
    if (config_setting_length(s) != n)
        return lm__cfg_bad(c, s, "expected exactly %d integers, found %d", n,
                           config_setting_length(s));
    for (int i = 0; i < n; i++) {
        int rc = int_of(c, config_setting_get_elem(s, (unsigned)i), lo, hi, &out[i]);
        if (rc)
            return rc;
    }
    return LM_OK;
}

int lm__cfg_name_mask(const lm__cfg_ctx *c, const config_setting_t *s, const char *const *names,
                      int n, uint32_t *mask) {
    int t = config_setting_type(s);
    int count = (t == CONFIG_TYPE_STRING) ? 1 : config_setting_length(s);
    if (t != CONFIG_TYPE_STRING && t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return lm__cfg_bad(c, s, "expected a name or an array of names");
    if (count == 0)
        return lm__cfg_bad(c, s, "expected at least one name");
    *mask = 0;
    for (int i = 0; i < count; i++) {
        const config_setting_t *e =
            (t == CONFIG_TYPE_STRING) ? s : config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return lm__cfg_bad(c, e, "expected a string in double quotes");
        if (names == NULL) /* names not known yet: checked later */
            continue;
        int k = lm__cfg_index_of(names, n, config_setting_get_string(e));
        if (k < 0) {
            char list[256];
            size_t len = 0;
            list[0] = '\0';
            for (int j = 0; j < n && len < sizeof list; j++) {
                int w =
                    snprintf(list + len, sizeof list - len, "%s\"%s\"", j ? ", " : "", names[j]);
                if (w < 0)
                    break;
                len += (size_t)w;
            }
            return lm__cfg_bad(c, e, "unknown name (expected one of %s)", list);
        }
        *mask |= 1u << k;
    }
    return LM_OK;
}

int lm__cfg_bool_mask(const lm__cfg_ctx *c, const config_setting_t *s, uint8_t *mask) {
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return lm__cfg_bad(c, s, "expected true or false");
    *mask = config_setting_get_bool(s) ? 2u : 1u;
    return LM_OK;
}

void lm__cfg_selector_all(lm_selector *sel) {
    memset(sel, 0xff, sizeof *sel);
    sel->reserved_ = 0;
}

int lm__cfg_selector(const lm__cfg_ctx *c, const config_setting_t *w,
                     const char *const *region_names, int n_regions, int allow_state,
                     const char *const *extra, lm_selector *sel) {
    static const char *const base_keys[] = {"region",   "sex",  "age_band", "disabled",
                                            "minority", "qual", "caring",   "state"};
    static const char *const sexes[] = {"male", "female"};
    enum { N_BASE = sizeof base_keys / sizeof base_keys[0], N_EXTRA = 8 };
    const char *keys[N_BASE + N_EXTRA + 1];
    const char *states[LM_N_STATES], *bands[LM_N_AGE_BANDS], *quals[LM_N_QUALS];
    const config_setting_t *s;
    int rc, nk = 0;
    uint32_t m;
    for (int k = 0; k < N_BASE; k++)
        keys[nk++] = base_keys[k];
    for (int k = 0; extra && extra[k] && k < N_EXTRA; k++)
        keys[nk++] = extra[k];
    keys[nk] = NULL;
    if ((rc = lm__cfg_check_keys(c, w, keys)))
        return rc;
    for (int k = 0; k < LM_N_STATES; k++)
        states[k] = lm_state_name(k);
    for (int k = 0; k < LM_N_AGE_BANDS; k++)
        bands[k] = lm_age_band_name(k);
    for (int k = 0; k < LM_N_QUALS; k++)
        quals[k] = lm_qual_name(k);
    if ((s = config_setting_get_member(w, "region"))) {
        if ((rc = lm__cfg_name_mask(c, s, region_names, n_regions, &m)))
            return rc;
        if (region_names)
            sel->region = m;
    }
    if ((s = config_setting_get_member(w, "sex"))) {
        if ((rc = lm__cfg_name_mask(c, s, sexes, 2, &m)))
            return rc;
        sel->sex = (uint8_t)m;
    }
    if ((s = config_setting_get_member(w, "age_band"))) {
        if ((rc = lm__cfg_name_mask(c, s, bands, LM_N_AGE_BANDS, &m)))
            return rc;
        sel->age_band = (uint8_t)m;
    }
    if ((s = config_setting_get_member(w, "qual"))) {
        if ((rc = lm__cfg_name_mask(c, s, quals, LM_N_QUALS, &m)))
            return rc;
        sel->qual = (uint8_t)m;
    }
    if ((s = config_setting_get_member(w, "state"))) {
        if (!allow_state)
            return lm__cfg_bad(c, s,
                               "'state' cannot select here (the state is what this rule draws)");
        if ((rc = lm__cfg_name_mask(c, s, states, LM_N_STATES, &m)))
            return rc;
        sel->state = (uint8_t)m;
    }
    if ((s = config_setting_get_member(w, "disabled")) &&
        (rc = lm__cfg_bool_mask(c, s, &sel->disabled)))
        return rc;
    if ((s = config_setting_get_member(w, "minority")) &&
        (rc = lm__cfg_bool_mask(c, s, &sel->minority)))
        return rc;
    if ((s = config_setting_get_member(w, "caring")) &&
        (rc = lm__cfg_bool_mask(c, s, &sel->caring)))
        return rc;
    return LM_OK;
}

/* libconfig 1.5 says "cannot open include file" without naming it: read the
 * offending line and name the file it tried, resolved against the include
 * folder. Other messages pass through unchanged. */
static void include_error_detail(const char *file, const char *dir, int has_dir, int line,
                                 const char *text, char *out, size_t n) {
    snprintf(out, n, "%s", text ? text : "syntax error");
    if (!text || strstr(text, "include") == NULL || line <= 0)
        return;
    char path[1024];
    /* An error inside a fragment names the fragment as written in @include. */
    if (has_dir && file[0] != '/' && strchr(file, '/') == NULL)
        snprintf(path, sizeof path, "%s/%s", dir, file);
    else
        snprintf(path, sizeof path, "%s", file);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char buf[1024];
    for (int k = 1; fgets(buf, sizeof buf, f); k++) {
        if (k != line)
            continue;
        char *q1 = strchr(buf, '"');
        char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
        if (q1 && q2) {
            *q2 = '\0';
            if (has_dir)
                snprintf(out, n, "%.60s \"%.200s\" (include paths are relative to %.200s)", text,
                         q1 + 1, dir);
            else
                snprintf(out, n, "%.60s \"%.200s\"", text, q1 + 1);
        }
        break;
    }
    fclose(f);
}

/* ---- Before libconfig reads a file ----------------------------------------
 *
 * libconfig 1.5 has three ways of being silently wrong or fatal that no
 * setting check can see afterwards:
 *   - an integer literal without the L suffix is read into 32 bits: seed =
 *     4294967297 becomes 1, persons = 5000000000 becomes 705032704;
 *   - its scanner calls exit() when an @include names a directory, and
 *     blocks forever on a FIFO.
 * So every file it will read (the file and, recursively, its @include
 * files, which libconfig resolves against the top file's folder) is first
 * checked to be a regular file and scanned for integer literals that need
 * more than 32 bits without the suffix. Command-line values get the suffix
 * added instead (lm__cfg_widen_ints). */

/* Calls fn for every integer literal of text (outside strings and
 * comments): its extent, line, whether it has the L suffix and whether its
 * value fits in 32 bits; and inc for every @include "path" (path extent,
 * line). A non-zero return of a callback stops the scan with that value. */
typedef struct int_scan {
    int (*fn)(void *u, size_t start, size_t end, int line, int suffixed, int fits32);
    int (*inc)(void *u, const char *path, size_t len, int line);
    void *u;
} int_scan;

static int is_ident(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-' || ch == '*';
}

static int scan_literals(const char *t, size_t n, const int_scan *sc) {
    int line = 1, rc;
    size_t i = 0;
    while (i < n) {
        char ch = t[i];
        if (ch == '\n') {
            line++;
            i++;
        } else if (ch == '"') { /* string: skip, with escapes */
            for (i++; i < n && t[i] != '"'; i++) {
                if (t[i] == '\\' && i + 1 < n)
                    i++;
                else if (t[i] == '\n')
                    line++;
            }
            i++;
        } else if (ch == '#' || (ch == '/' && i + 1 < n && t[i + 1] == '/')) {
            while (i < n && t[i] != '\n')
                i++;
        } else if (ch == '/' && i + 1 < n && t[i + 1] == '*') {
            for (i += 2; i + 1 < n && !(t[i] == '*' && t[i + 1] == '/'); i++)
                line += t[i] == '\n';
            i += 2;
        } else if (ch == '@' && n - i > 8 && strncmp(t + i + 1, "include", 7) == 0) {
            size_t q = i + 8;
            while (q < n && (t[q] == ' ' || t[q] == '\t'))
                q++;
            if (q < n && t[q] == '"') {
                size_t e = q + 1;
                while (e < n && t[e] != '"' && t[e] != '\n')
                    e++;
                if (sc->inc && (rc = sc->inc(sc->u, t + q + 1, e - q - 1, line)))
                    return rc;
                i = e + 1;
            } else {
                i = q;
            }
        } else if ((ch >= '0' && ch <= '9') &&
                   (i == 0 || !(is_ident(t[i - 1]) && t[i - 1] != '-'))) {
            /* A number; with a sign just before it when that sign is not
             * part of a name. */
            size_t start = i, e = i;
            int neg = i > 0 && t[i - 1] == '-' && (i == 1 || !is_ident(t[i - 2]));
            int hex = ch == '0' && i + 1 < n && (t[i + 1] == 'x' || t[i + 1] == 'X');
            if (hex) {
                e = i + 2;
                while (e < n && isxdigit((unsigned char)t[e]))
                    e++;
            } else {
                while (e < n && t[e] >= '0' && t[e] <= '9')
                    e++;
            }
            if (!hex && e < n && (t[e] == '.' || t[e] == 'e' || t[e] == 'E')) {
                /* a float: skip its mantissa and exponent */
                while (e < n &&
                       (isdigit((unsigned char)t[e]) || t[e] == '.' || t[e] == 'e' || t[e] == 'E' ||
                        ((t[e] == '-' || t[e] == '+') && (t[e - 1] == 'e' || t[e - 1] == 'E'))))
                    e++;
                i = e;
                continue;
            }
            int suffixed = e < n && (t[e] == 'L' || t[e] == 'l');
            /* Magnitude, saturating: anything beyond 2^32 does not fit. */
            uint64_t v = 0;
            for (size_t k = hex ? start + 2 : start; k < e; k++) {
                int d = isdigit((unsigned char)t[k]) ? t[k] - '0'
                                                     : (tolower((unsigned char)t[k]) - 'a' + 10);
                v = v > (UINT64_C(1) << 40) ? v : v * (hex ? 16u : 10u) + (uint64_t)d;
            }
            /* libconfig reads hex literals as unsigned 32-bit patterns. */
            int fits32 = hex ? v <= UINT64_C(0xFFFFFFFF)
                             : (neg ? v <= UINT64_C(2147483648) : v <= UINT64_C(2147483647));
            if (sc->fn && (rc = sc->fn(sc->u, neg ? start - 1 : start, e, line, suffixed, fits32)))
                return rc;
            i = e + (size_t)suffixed;
        } else {
            i++;
        }
    }
    return 0;
}

/* Whole file into *out (a new buffer, owned by caller) and its length *n.
 * Returns LM_OK, LM_EIO (cannot open or read: errno is kept) or LM_ENOMEM. */
static int slurp(const char *path, char **out, size_t *n) {
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return LM_EIO;
    size_t cap = 4096, len = 0;
    char *b = lm__malloc(cap);
    while (b) {
        size_t r = fread(b + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
        if (len == cap) {
            char *nb = lm__malloc(cap * 2);
            if (nb)
                memcpy(nb, b, len);
            lm__free(b);
            b = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!b)
        return LM_ENOMEM;
    if (bad) {
        lm__free(b);
        return LM_EIO;
    }
    *out = b;
    *n = len;
    return LM_OK;
}

typedef struct prescan_ctx {
    const lm__cfg_ctx *c;
    const char *path;        /* file being scanned */
    const char *include_dir; /* folder @include paths are resolved against, or NULL */
    const char *what;
    int depth;
    const char *text;
} prescan_ctx;

static int prescan(const lm__cfg_ctx *c, const char *path, const char *include_dir,
                   const char *what, int depth);

static int prescan_int(void *u, size_t start, size_t end, int line, int suffixed, int fits32) {
    const prescan_ctx *p = u;
    if (suffixed || fits32)
        return 0;
    int len = (int)(end - start);
    return LM_FAIL_CFG(p->c->err, LM_ECONFIG, p->path, line,
                       "integer %.*s does not fit in 32 bits, and libconfig would cut it without "
                       "a message: write it with the 64-bit suffix, %.*sL",
                       len, p->text + start, len, p->text + start);
}

/* Include nesting libconfig allows (its own limit is 10). */
#define LM__MAX_INCLUDE_DEPTH 10

static int prescan_inc(void *u, const char *name, size_t len, int line) {
    const prescan_ctx *p = u;
    char full[1024];
    if (p->include_dir)
        snprintf(full, sizeof full, "%s/%.*s", p->include_dir, (int)len, name);
    else
        snprintf(full, sizeof full, "%.*s", (int)len, name);
    struct stat st;
    if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
        return LM_FAIL_CFG(p->c->err, LM_ECONFIG, p->path, line, "@include \"%.*s\": %s (%s)",
                           (int)len, name,
                           stat(full, &st) != 0 ? strerror(errno) : "not a regular file", full);
    if (p->depth + 1 >= LM__MAX_INCLUDE_DEPTH)
        return LM_FAIL_CFG(p->c->err, LM_ECONFIG, p->path, line,
                           "@include \"%.*s\": includes nest more than %d deep (a cycle?)",
                           (int)len, name, LM__MAX_INCLUDE_DEPTH);
    return prescan(p->c, full, p->include_dir, p->what, p->depth + 1);
}

static int prescan(const lm__cfg_ctx *c, const char *path, const char *include_dir,
                   const char *what, int depth) {
    size_t n = 0;
    char *text;
    int rc = slurp(path, &text, &n);
    if (rc == LM_ENOMEM)
        return LM_FAIL(c->err, LM_ENOMEM, "out of memory reading '%s'", path);
    if (rc)
        return LM_FAIL_CFG(c->err, LM_EIO, path, 0, "cannot read %s: %s", what, strerror(errno));
    prescan_ctx p = {c, path, include_dir, what, depth, text};
    const int_scan sc = {prescan_int, prescan_inc, &p};
    rc = scan_literals(text, n, &sc);
    lm__free(text);
    return rc;
}

typedef struct widen_ctx {
    const char *in;
    char *out;
    size_t n, at, from; /* out size, bytes written, input copied up to */
} widen_ctx;

static void widen_copy(widen_ctx *w, size_t to) {
    for (; w->from < to; w->from++)
        if (w->at + 1 < w->n)
            w->out[w->at++] = w->in[w->from];
}

static int widen_int(void *u, size_t start, size_t end, int line, int suffixed, int fits32) {
    widen_ctx *w = u;
    (void)start;
    (void)line;
    widen_copy(w, end);
    if (!suffixed && !fits32 && w->at + 1 < w->n)
        w->out[w->at++] = 'L';
    return 0;
}

size_t lm__cfg_widen_ints(const char *in, char *out, size_t n) {
    widen_ctx w = {in, out, n, 0, 0};
    const int_scan sc = {widen_int, NULL, &w};
    size_t len = strlen(in);
    scan_literals(in, len, &sc);
    widen_copy(&w, len);
    if (n > 0)
        out[w.at < n ? w.at : n - 1] = '\0';
    return len + 1 + len / 2; /* enough for any input: at most one L per two bytes */
}

static int find_include(void *u, const char *name, size_t len, int line) {
    (void)name;
    (void)len;
    *(int *)u = line;
    return 1; /* stop at the first */
}

int lm__cfg_include_line(const char *text) {
    int line = 0;
    const int_scan sc = {NULL, find_include, &line};
    scan_literals(text, strlen(text), &sc);
    return line;
}

int lm__cfg_read_file(const lm__cfg_ctx *c, const char *path, const char *what, config_t *cfg) {
    config_init(cfg);
    /* stat, not fopen: opening a FIFO for reading blocks until a writer. */
    struct stat st;
    if (stat(path, &st) != 0)
        return LM_FAIL_CFG(c->err, LM_EIO, path, 0, "cannot open %s: %s", what, strerror(errno));
    /* libconfig's scanner exits the process when a read fails (a directory),
     * so only regular files are handed to it. */
    if (!S_ISREG(st.st_mode))
        return LM_FAIL_CFG(c->err, LM_EIO, path, 0, "cannot open %s: not a regular file", what);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        config_set_include_dir(cfg, dir);
    }
    int rc = prescan(c, path, slash ? dir : NULL, what, 0);
    if (rc)
        return rc;
    if (!config_read_file(cfg, path)) {
        const char *efile = config_error_file(cfg);
        char detail[512];
        include_error_detail(efile ? efile : path, dir, slash != NULL, config_error_line(cfg),
                             config_error_text(cfg), detail, sizeof detail);
        return LM_FAIL_CFG(c->err, LM_ESYNTAX, efile ? efile : path, config_error_line(cfg), "%s",
                           detail);
    }
    return LM_OK;
}
