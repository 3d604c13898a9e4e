/* h5read.c - small HDF5 readers shared by the tools that read run files
 * (compare.c, replay.c).
 *
 * Both read panel rows and /persons columns of a finished run file: a 1-D
 * dataset whole, or one row of a 2-D [month, person] dataset, as one memory
 * type, checking the shape first. They return -1 on any mismatch or HDF5
 * failure and leave the message to the caller, which knows what it wanted.
 */
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* internal.h declares the readers with int64_t for hid_t (HDF5 1.10+). */
_Static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t is a 64-bit integer");

int lm__h5_read_vec(int64_t f, const char *name, int64_t mem_type, size_t size, int64_t row,
                    int64_t count, void *buf) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t fs = H5Dget_space(d), ms = H5I_INVALID_HID, ft = H5I_INVALID_HID;
    int ok = fs >= 0;
    int nd = ok ? H5Sget_simple_extent_ndims(fs) : -1;
    hsize_t dims[2] = {0, 0};
    ok = ok && (nd == 1 || nd == 2) && H5Sget_simple_extent_dims(fs, dims, NULL) == nd;
    if (ok && mem_type == 0) {
        ft = H5Dget_type(d);
        ok = ft >= 0 && H5Tget_size(ft) == size &&
             (H5Tget_class(ft) == H5T_INTEGER || H5Tget_class(ft) == H5T_ENUM);
        mem_type = ft;
    }
    if (ok && nd == 1) {
        ok = row < 0 && dims[0] == (hsize_t)count;
    } else if (ok) {
        hsize_t start[2] = {(hsize_t)row, 0}, cnt[2] = {1, (hsize_t)count};
        ok = row >= 0 && (hsize_t)row < dims[0] && dims[1] == (hsize_t)count &&
             H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) >= 0;
    }
    hsize_t mdim = (hsize_t)count;
    ok = ok && (ms = H5Screate_simple(1, &mdim, NULL)) >= 0;
    ok = ok && (count == 0 || H5Dread(d, mem_type, ms, fs, H5P_DEFAULT, buf) >= 0);
    if (ms >= 0)
        H5Sclose(ms);
    if (ft >= 0)
        H5Tclose(ft);
    if (fs >= 0)
        H5Sclose(fs);
    H5Dclose(d);
    return ok ? 0 : -1;
}

/* Length of a 1-D dataset, or -1. */
int64_t lm__h5_vec_len(int64_t f, const char *name) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t s = H5Dget_space(d);
    hsize_t n = 0;
    int ok =
        s >= 0 && H5Sget_simple_extent_ndims(s) == 1 && H5Sget_simple_extent_dims(s, &n, NULL) == 1;
    if (s >= 0)
        H5Sclose(s);
    H5Dclose(d);
    return ok ? (int64_t)n : -1;
}

/* The variable-length string attribute `name` of object loc (lm__free it),
 * or NULL when it is absent or not a string. HDF5 errors silenced by the
 * caller. */
char *lm__h5_text_attr(int64_t loc, const char *name) {
    if (H5Aexists(loc, name) <= 0)
        return NULL;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
    hid_t mt = H5Tcopy(H5T_C_S1);
    char *p = NULL, *out = NULL;
    if (t >= 0 && mt >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0 &&
        H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Tset_cset(mt, H5Tget_cset(t)) >= 0 &&
        H5Aread(a, mt, &p) >= 0) {
        size_t n = p ? strlen(p) : 0;
        if ((out = lm__malloc(n + 1)) != NULL) {
            memcpy(out, p ? p : "", n);
            out[n] = '\0';
        }
        H5free_memory(p);
    }
    if (mt >= 0)
        H5Tclose(mt);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return out;
}
