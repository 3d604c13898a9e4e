/* h5table.c - compound tables whose string columns are variable-length
 * UTF-8 strings (/outcomes/headline, /outcomes/programmes, the sweep
 * index's /tidy; docs/output-format.md, "Integrity").
 *
 * In memory a table row is a C struct with fixed char arrays, described by
 * its "fixed" compound type (the arrays as fixed-length strings of their
 * sizes). Writing stages each row as the struct followed by one char *
 * per string column, pointing at the staged copy's own arrays, so HDF5
 * stores the strings in the global heap; the file type has the struct's
 * columns in the fixed type's order, packed, as H5Tpack gave before the
 * strings became variable-length. Reading accepts either kind of string
 * column (older files have fixed-length ones) and truncates a string to its
 * array.
 *
 * The global heap is not checksummed, so every table written here carries
 * the int64 attribute `strings_crc32`: the CRC-32 (zlib) of its strings,
 * each followed by a NUL, row by row and, within a row, in column order.
 * The reader checks it when present (tables of older files have none).
 */
#define _POSIX_C_SOURCE 200809L

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "internal.h"

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t is a 64-bit integer");

uint32_t lm__h5_crc_str(uint32_t crc, const char *s) {
    if (s == NULL)
        s = "";
    return (uint32_t)crc32((uLong)crc, (const Bytef *)s, (uInt)strlen(s) + 1);
}

static hid_t vlen_utf8(H5T_cset_t cset) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, cset) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

/* Member indices of compound type t in column (index) order, or -1 when
 * it has more than LM__H5_TABLE_MAX_COLS members. */
static int columns(hid_t t, unsigned *order) {
    int n = H5Tget_nmembers(t);
    if (n < 0 || n > LM__H5_TABLE_MAX_COLS)
        return -1;
    for (int k = 0; k < n; k++)
        order[k] = (unsigned)k;
    return n;
}

static size_t round8(size_t n) {
    return (n + 7u) / 8u * 8u;
}

void lm__h5_table_close(lm__h5_table *t) {
    if (t->mem >= 0)
        H5Tclose(t->mem);
    if (t->file >= 0)
        H5Tclose(t->file);
    t->mem = t->file = H5I_INVALID_HID;
}

int lm__h5_table_init(lm__h5_table *t, int64_t fixed) {
    unsigned order[LM__H5_TABLE_MAX_COLS];
    memset(t, 0, sizeof *t);
    t->mem = t->file = H5I_INVALID_HID;
    const int n = columns(fixed, order);
    hid_t s = vlen_utf8(H5T_CSET_UTF8);
    int ok = n > 0 && s >= 0;
    size_t file_size = 0;
    t->row_size = ok ? H5Tget_size(fixed) : 0;
    for (int i = 0; ok && i < n; i++) { /* sizes first: H5Tcreate needs them */
        hid_t m = H5Tget_member_type(fixed, order[i]);
        ok = m >= 0;
        if (ok && H5Tget_class(m) == H5T_STRING) {
            ok = t->n_str < LM__H5_TABLE_MAX_STR;
            if (ok) {
                t->str_off[t->n_str] = H5Tget_member_offset(fixed, order[i]);
                t->str_size[t->n_str] = H5Tget_size(m);
                t->ptr_off[t->n_str] = round8(t->row_size) + (size_t)t->n_str * sizeof(char *);
                t->n_str++;
            }
            file_size += sizeof(char *);
        } else if (ok) {
            file_size += H5Tget_size(m);
        }
        if (m >= 0)
            H5Tclose(m);
    }
    t->stage_size = round8(t->row_size) + (size_t)t->n_str * sizeof(char *);
    ok = ok && (t->mem = H5Tcreate(H5T_COMPOUND, t->stage_size)) >= 0 &&
         (t->file = H5Tcreate(H5T_COMPOUND, file_size)) >= 0;
    size_t at = 0;
    for (int i = 0, j = 0; ok && i < n; i++) {
        char *name = H5Tget_member_name(fixed, order[i]);
        hid_t m = H5Tget_member_type(fixed, order[i]);
        ok = name != NULL && m >= 0;
        if (ok && H5Tget_class(m) == H5T_STRING) {
            ok = H5Tinsert(t->mem, name, t->ptr_off[j++], s) >= 0 &&
                 H5Tinsert(t->file, name, at, s) >= 0;
            at += sizeof(char *);
        } else if (ok) {
            ok = H5Tinsert(t->mem, name, H5Tget_member_offset(fixed, order[i]), m) >= 0 &&
                 H5Tinsert(t->file, name, at, m) >= 0;
            at += H5Tget_size(m);
        }
        if (m >= 0)
            H5Tclose(m);
        if (name)
            H5free_memory(name);
    }
    if (s >= 0)
        H5Tclose(s);
    if (!ok)
        lm__h5_table_close(t);
    return ok ? 0 : -1;
}

int lm__h5_table_write(int64_t d, const lm__h5_table *t, const void *rows, size_t n) {
    unsigned char *stage = lm__calloc(n > 0 ? n : 1, t->stage_size);
    if (stage == NULL)
        return LM__H5_NOMEM;
    uint32_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char *r = stage + i * t->stage_size;
        memcpy(r, (const unsigned char *)rows + i * t->row_size, t->row_size);
        for (int k = 0; k < t->n_str; k++) {
            char *s = (char *)r + t->str_off[k];
            s[t->str_size[k] - 1] = '\0';
            memcpy(r + t->ptr_off[k], &s, sizeof s);
            crc = lm__h5_crc_str(crc, s);
        }
    }
    const int64_t stored = (int64_t)crc;
    hid_t sp = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    int ok =
        (n == 0 || H5Dwrite(d, t->mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, stage) >= 0) && sp >= 0 &&
        (a = H5Acreate2(d, "strings_crc32", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Awrite(a, H5T_NATIVE_INT64, &stored) >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    lm__free(stage);
    return ok ? 0 : -1;
}

int lm__h5_table_read(int64_t d, int64_t fixed, void *rows, size_t n) {
    unsigned order[LM__H5_TABLE_MAX_COLS];
    const int nm = columns(fixed, order);
    const size_t row_size = H5Tget_size(fixed);
    hid_t ft = H5Dget_type(d), mem = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int ok = nm > 0 && row_size > 0 && ft >= 0 && H5Tget_class(ft) == H5T_COMPOUND;
    /* A staged row: the struct, then a slot per string column the file has
     * (a char * when variable-length, else the file's fixed-length bytes). */
    int n_str = 0, vlen[LM__H5_TABLE_MAX_STR] = {0};
    size_t str_off[LM__H5_TABLE_MAX_STR], str_size[LM__H5_TABLE_MAX_STR];
    size_t slot_off[LM__H5_TABLE_MAX_STR], slot_size[LM__H5_TABLE_MAX_STR];
    hid_t slot_type[LM__H5_TABLE_MAX_STR];
    size_t stage_size = round8(row_size);
    for (int i = 0; ok && i < nm; i++) {
        hid_t m = H5Tget_member_type(fixed, order[i]);
        ok = m >= 0;
        if (ok && H5Tget_class(m) == H5T_STRING) {
            char *name = H5Tget_member_name(fixed, order[i]);
            int idx = name ? H5Tget_member_index(ft, name) : -1;
            hid_t fm = idx >= 0 ? H5Tget_member_type(ft, (unsigned)idx) : H5I_INVALID_HID;
            ok = name != NULL && n_str < LM__H5_TABLE_MAX_STR &&
                 (idx < 0 || (fm >= 0 && H5Tget_class(fm) == H5T_STRING));
            if (ok && idx >= 0) { /* a column the file lacks stays empty */
                const int v = H5Tis_variable_str(fm) > 0;
                slot_type[n_str] = v ? vlen_utf8(H5Tget_cset(fm)) : H5Tcopy(fm);
                ok = slot_type[n_str] >= 0;
                if (ok) {
                    vlen[n_str] = v;
                    str_off[n_str] = H5Tget_member_offset(fixed, order[i]);
                    str_size[n_str] = H5Tget_size(m);
                    slot_off[n_str] = stage_size;
                    slot_size[n_str] = v ? sizeof(char *) : H5Tget_size(fm);
                    stage_size += round8(slot_size[n_str]);
                    n_str++;
                }
            }
            if (fm >= 0)
                H5Tclose(fm);
            if (name)
                H5free_memory(name);
        }
        if (m >= 0)
            H5Tclose(m);
    }
    ok = ok && (mem = H5Tcreate(H5T_COMPOUND, stage_size)) >= 0;
    for (int i = 0, j = 0; ok && i < nm; i++) {
        char *name = H5Tget_member_name(fixed, order[i]);
        hid_t m = H5Tget_member_type(fixed, order[i]);
        ok = name != NULL && m >= 0;
        if (ok && H5Tget_class(m) != H5T_STRING)
            ok = H5Tinsert(mem, name, H5Tget_member_offset(fixed, order[i]), m) >= 0;
        else if (ok && j < n_str && str_off[j] == H5Tget_member_offset(fixed, order[i])) {
            ok = H5Tinsert(mem, name, slot_off[j], slot_type[j]) >= 0;
            j++;
        }
        if (m >= 0)
            H5Tclose(m);
        if (name)
            H5free_memory(name);
    }
    unsigned char *stage = ok ? lm__calloc(n > 0 ? n : 1, stage_size) : NULL;
    const int nomem = ok && stage == NULL;
    hsize_t dim = (hsize_t)n;
    ok = ok && stage != NULL && (space = H5Screate_simple(1, &dim, NULL)) >= 0;
    ok = ok && (n == 0 || H5Dread(d, mem, space, H5S_ALL, H5P_DEFAULT, stage) >= 0);
    uint32_t crc = 0;
    for (size_t i = 0; ok && i < n; i++) {
        const unsigned char *r = stage + i * stage_size;
        unsigned char *out = (unsigned char *)rows + i * row_size;
        memcpy(out, r, row_size);
        for (int k = 0; k < n_str; k++) {
            const char *s = "";
            size_t len;
            if (vlen[k]) {
                memcpy(&s, r + slot_off[k], sizeof s);
                s = s ? s : "";
                len = strlen(s);
            } else {
                s = (const char *)r + slot_off[k];
                len = strnlen(s, slot_size[k]);
            }
            crc = (uint32_t)crc32((uLong)crc, (const Bytef *)s, (uInt)len);
            crc = (uint32_t)crc32((uLong)crc, (const Bytef *)"", 1);
            const size_t keep = len < str_size[k] ? len : str_size[k] - 1;
            memcpy(out + str_off[k], s, keep);
            out[str_off[k] + keep] = '\0';
        }
    }
    if (stage != NULL && space >= 0 && n > 0)
        H5Dvlen_reclaim(mem, space, H5P_DEFAULT, stage);
    int damaged = 0;
    if (ok && H5Aexists(d, "strings_crc32") > 0) {
        int64_t stored = -1;
        hid_t a = H5Aopen(d, "strings_crc32", H5P_DEFAULT);
        damaged = a < 0 || H5Aread(a, H5T_NATIVE_INT64, &stored) < 0 || stored != (int64_t)crc;
        if (a >= 0)
            H5Aclose(a);
    }
    lm__free(stage);
    for (int k = 0; k < n_str; k++)
        H5Tclose(slot_type[k]);
    if (space >= 0)
        H5Sclose(space);
    if (mem >= 0)
        H5Tclose(mem);
    if (ft >= 0)
        H5Tclose(ft);
    return nomem ? LM__H5_NOMEM : !ok ? -1 : damaged ? LM__H5_DAMAGED : 0;
}
