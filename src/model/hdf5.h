/* Reading the parts of HDF5 files that Keras writes: string attributes,
 * float datasets and group listings, from a file image held in memory.
 *
 * Keras stores a model's architecture as a JSON string attribute, layer and
 * weight names as string-array attributes (fixed-length byte strings in
 * Keras 2, variable-length UTF-8 in Keras 3, split into NAME0, NAME1, ...
 * when they outgrow the 64 KiB attribute limit), and weights as datasets.
 *
 * libhdf5 keeps global state and Debian's serial build is not thread-safe:
 * open and read one image at a time. Messages start with the name given to
 * nh_h5_open. */
#ifndef NH_MODEL_HDF5_H
#define NH_MODEL_HDF5_H

#include <stddef.h>
#include <stdint.h>

#include "nnheat.h"

/* Eight bytes that start every HDF5 file (or its superblock, which may sit
 * at offset 0, 512, 1024, 2048, ...). */
int nh_h5_is_hdf5(const void *data, size_t size);

typedef struct nh_h5 nh_h5;

/* Opens the HDF5 file image data[0..size) read-only, without copying it:
 * the caller keeps data alive until nh_h5_close. name is used in messages. */
nh_status nh_h5_open(const void *data, size_t size, const char *name, nh_h5 **out,
                     nh_error *err);
void nh_h5_close(nh_h5 *f);

/* The name given to nh_h5_open. */
const char *nh_h5_name(const nh_h5 *f);

/* Whether path ("/" or "a/b/c", relative to the root) names a group or a
 * dataset, and whether the object at path has the attribute attr (or its
 * split form attr0). */
int nh_h5_exists(nh_h5 *f, const char *path);
int nh_h5_has_attr(nh_h5 *f, const char *path, const char *attr);

/* A list of strings; free with nh_h5_strings_free. */
typedef struct nh_h5_strings {
    size_t n;
    char **s;
} nh_h5_strings;

void nh_h5_strings_free(nh_h5_strings *l);

/* Reads the string attribute attr of the object at path: a scalar gives one
 * string, an array its elements; an attribute with no elements (Keras writes
 * an empty float64 array for a layer without weights) gives none. When attr
 * is absent, attr0, attr1, ... are read and joined. Errors: NH_EFORMAT for
 * an absent attribute or one that holds something else than strings. */
nh_status nh_h5_attr_strings(nh_h5 *f, const char *path, const char *attr, nh_h5_strings *out,
                             nh_error *err);

/* The names of the links in the group at path, in the order of their names
 * (HDF5's default index). */
nh_status nh_h5_list(nh_h5 *f, const char *path, nh_h5_strings *out, nh_error *err);

/* Reads the dataset at path, converted to float32 by HDF5 (any float or
 * integer type): its rank (0 for a scalar) into *ndim, its dims, and a new
 * array of prod(dims) floats (at least one allocated) that the caller frees
 * with free. */
nh_status nh_h5_read_floats(nh_h5 *f, const char *path, int *ndim, int64_t dims[NH_MAX_DIMS],
                            float **data, nh_error *err);

#endif
