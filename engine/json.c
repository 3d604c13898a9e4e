/* json.c - the normalised scenario as JSON (lmsim/json.h).
 *
 * The scenario text (lm_scenario.text, written by libconfig's config_write
 * after includes, `base` and overrides) is read back into a libconfig tree
 * and walked depth-first; every node is written as it is reached, so the
 * only memory used is libconfig's tree. Output goes to a caller's FILE*; the
 * library itself never writes to stdout or stderr.
 *
 * Invariants: the output is one JSON value (RFC 8259) whatever the input
 * bytes are: strings are escaped and repaired to UTF-8 (each byte of an
 * ill-formed sequence becomes U+FFFD), non-finite floats become null.
 * Floats always carry a '.' or an exponent so that readers keep them floats;
 * "%.17g" round-trips every double.
 */
#include "lmsim/json.h"

#include <libconfig.h>
#include <math.h>
#include <string.h>

#include "internal.h"

/* Length of the well-formed UTF-8 sequence at s (1-4), or 0 if ill-formed
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static int utf8_len(const unsigned char *s) {
    const unsigned c = s[0];
    int n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (int k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[k] & 0x3F);
    }
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static void put_string(FILE *f, const char *str) {
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    fputc('"', f);
    while (*s) {
        const unsigned char c = *s;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            s++;
        } else if (c == '\n') {
            fputs("\\n", f);
            s++;
        } else if (c == '\t') {
            fputs("\\t", f);
            s++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(f, "\\u%04x", c);
            s++;
        } else {
            int n = utf8_len(s);
            if (n == 0) {
                fputs("\\ufffd", f);
                s++;
            } else {
                fwrite(s, 1, (size_t)n, f);
                s += n;
            }
        }
    }
    fputc('"', f);
}

static void put_float(FILE *f, double v) {
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    /* The shortest of %.15g..%.17g that reads back as v: what a person wrote. */
    for (int p = 15; p < 17; p++) {
        char t[40];
        snprintf(t, sizeof t, "%.*g", p, v);
        if (strtod(t, NULL) == v) {
            memcpy(buf, t, sizeof t);
            break;
        }
    }
    fputs(buf, f);
    if (!strpbrk(buf, ".eE"))
        fputs(".0", f);
}

static void put_indent(FILE *f, int depth) {
    for (int k = 0; k < depth; k++)
        fputs("  ", f);
}

/* Setting s (and everything under it) at nesting depth `depth`. */
static void put_setting(FILE *f, const config_setting_t *s, int depth) {
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:
    case CONFIG_TYPE_LIST:
    case CONFIG_TYPE_ARRAY: {
        const int group = config_setting_is_group(s);
        const int n = config_setting_length(s);
        fputc(group ? '{' : '[', f);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            fputs(i ? ",\n" : "\n", f);
            put_indent(f, depth + 1);
            if (group) {
                put_string(f, config_setting_name(e));
                fputs(": ", f);
            }
            put_setting(f, e, depth + 1);
        }
        if (n > 0) {
            fputc('\n', f);
            put_indent(f, depth);
        }
        fputc(group ? '}' : ']', f);
        break;
    }
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        fprintf(f, "%lld", config_setting_get_int64(s));
        break;
    case CONFIG_TYPE_FLOAT:
        put_float(f, config_setting_get_float(s));
        break;
    case CONFIG_TYPE_BOOL:
        fputs(config_setting_get_bool(s) ? "true" : "false", f);
        break;
    case CONFIG_TYPE_STRING:
        put_string(f, config_setting_get_string(s));
        break;
    default:
        fputs("null", f);
        break;
    }
}

int lm_json_write_config_text(const char *text, const char *display_name, FILE *out,
                              lm_error *err) {
    const char *name = display_name ? display_name : "(scenario text)";
    config_t cfg;
    config_init(&cfg);
    if (!config_read_string(&cfg, text ? text : "")) {
        int rc = LM_FAIL_CFG(err, LM_ESYNTAX, name, config_error_line(&cfg), "%s",
                             config_error_text(&cfg));
        config_destroy(&cfg);
        return rc;
    }
    put_setting(out, config_root_setting(&cfg), 0);
    fputc('\n', out);
    config_destroy(&cfg);
    if (fflush(out) != 0 || ferror(out))
        return LM_FAIL(err, LM_EIO, "writing the JSON of '%s' failed", name);
    return LM_OK;
}

int lm_json_write_scenario(const lm_scenario *sc, FILE *out, lm_error *err) {
    return lm_json_write_config_text(sc->text, sc->source_path, out, err);
}
