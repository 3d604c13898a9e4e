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
