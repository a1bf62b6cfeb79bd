/* Writing .npy files (float32, C order, little-endian) one batch at a time:
 * the sample count in the header is patched when the file is closed. */
#ifndef NH_DATA_NPY_WRITE_H
#define NH_DATA_NPY_WRITE_H

#include <stdio.h>

#include "nnheat.h"

typedef struct nh_npy_writer nh_npy_writer;

/* Opens path for writing arrays of shape (count, shape...); "-" is stdout
 * (then the count must be known in advance: pass it as expected_count, or
 * -1 when the file is seekable). */
nh_status nh_npy_writer_open(const char *path, int ndim, const int64_t *shape,
                             int64_t expected_count, nh_npy_writer **out, nh_error *err);

/* Appends n samples of the per-sample shape. */
nh_status nh_npy_writer_append(nh_npy_writer *w, const float *data, size_t n, nh_error *err);

/* Patches the header with the final count and closes; frees w even on error. */
nh_status nh_npy_writer_close(nh_npy_writer *w, nh_error *err);

/* Writes a whole float64 array in one go (per-neuron results). */
nh_status nh_npy_write_f64(const char *path, int ndim, const int64_t *shape,
                           const double *data, nh_error *err);

#endif
