/* Internals of the sample sources.
 *
 * nh_source (source.c) keeps what every source shares: its name, options,
 * shape, and the window of samples [first, end) it gives. Each format plugs
 * in a reader: npy.c (which also reads the binary arrays of idx.c), csv.c
 * and generator.c. Samples are numbered from 0 in the underlying file or
 * generator, whatever the window. */
#ifndef NH_DATA_SOURCE_IMPL_H
#define NH_DATA_SOURCE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "nnheat.h"

/* What a format implements. state is the reader's own object. */
typedef struct nh_source_reader {
    /* Makes `sample` the next sample that read gives. */
    nh_status (*seek)(nh_source *src, int64_t sample, nh_error *err);
    /* Reads n samples starting at src->pos into buf (n * src->sample_size
     * floats, C order), each value x stored as (float)(x * scale + shift)
     * computed in double. *n_read is below n only at the end of a file whose
     * count is unknown; a file that ends early otherwise is NH_EFORMAT. */
    nh_status (*read)(nh_source *src, float *buf, size_t n, size_t *n_read, nh_error *err);
    /* Frees state (never NULL when called). */
    void (*close)(void *state);
} nh_source_reader;

struct nh_source {
    char *name;
    nh_source_options opt;
    const nh_source_reader *reader;
    void *state;
    int is_generator;

    /* The samples as stored: file_count samples (-1 when unknown) of
     * file_shape. Generators have no shape until nh_source_set_shape. */
    int64_t file_count;
    int file_ndim;
    int64_t file_shape[NH_MAX_DIMS];

    /* The shape reported to the caller: file_shape, or the model's shape
     * once nh_source_set_shape has accepted it. */
    int ndim;
    int64_t shape[NH_MAX_DIMS];
    size_t sample_size;

    int64_t first; /* first sample of the window */
    int64_t end;   /* one past its last sample; -1 for the end of the file */
    int64_t pos;   /* the next sample read gives */
};

/* ---------------------------------------------------- binary element types */

typedef enum nh_elem_kind {
    NH_ELEM_BOOL,
    NH_ELEM_INT,
    NH_ELEM_UINT,
    NH_ELEM_FLOAT
} nh_elem_kind;

typedef struct nh_elem_type {
    nh_elem_kind kind;
    int size;       /* bytes: 1, 2, 4 or 8 (2 for floats is IEEE half) */
    int big_endian; /* byte order of the values in the file */
} nh_elem_type;

/* Converts n values of type t at raw to float: out[i * stride] =
 * (float)(x_i * scale + shift), computed in double. */
void nh_elem_decode(const nh_elem_type *t, const unsigned char *raw, size_t n, double scale,
                    double shift, float *out, size_t stride);

/* Where a binary array lies in a file: count samples of shape[0..ndim) in
 * elements of type, from byte data_offset on, in C order or (fortran)
 * Fortran order over the whole array, sample axis included. */
typedef struct nh_array_layout {
    int64_t data_offset;
    nh_elem_type type;
    int fortran;
    int64_t count;
    int ndim;
    int64_t shape[NH_MAX_DIMS];
} nh_array_layout;

/* Makes src read the array lay from f (opened on src->name and positioned
 * anywhere). Takes ownership of f, also on failure. Fills src's file shape
 * and count. Rejects zero samples and zero-size samples. */
nh_status nh_array_reader_open(nh_source *src, gzFile f, const nh_array_layout *lay,
                               nh_error *err);

/* ------------------------------------------------------------ the formats */

/* Each takes ownership of f (positioned at the start of the file), also on
 * failure, and sets src->reader, src->state, the file shape and count. */
nh_status nh_npy_open(nh_source *src, gzFile f, nh_error *err);
nh_status nh_idx_open(nh_source *src, gzFile f, nh_error *err);
nh_status nh_csv_open(nh_source *src, gzFile f, nh_error *err);

/* 1 when the 4 bytes at magic start an IDX file (00 00 type ndim). */
int nh_idx_magic(const unsigned char magic[4]);

/* 1 when spec names a generator ("normal:..." or "uniform:..."). */
int nh_generator_spec(const char *spec);

/* Parses a generator spec into src (which has name and options set).
 * Malformed specs are NH_EINVAL. */
nh_status nh_generator_open(nh_source *src, const char *spec, nh_error *err);

/* Writes shape as Python prints a tuple: "()", "(784,)", "(1, 28, 28)". */
void nh_data_shape_format(char *buf, size_t size, int ndim, const int64_t *shape);

/* Copies len bytes of file content into out (size bytes) for a message:
 * printable ASCII as is, other bytes as \xNN, cut with "..." if too long. */
void nh_data_quote(char *out, size_t size, const char *text, size_t len);

/* zlib's last error on f as *code (Z_OK when none) and a message without
 * the "path: " zlib puts in front (strerror(errno) for Z_ERRNO). */
const char *nh_data_gz_error(gzFile f, const char *name, int *code);

/* Reads exactly len bytes from f into buf; *got is what was read. Returns
 * NH_EIO (naming name) on a read error, NH_OK otherwise even when *got <
 * len: the caller says what was expected. A damaged gzip stream that ends
 * early counts as a short read. */
nh_status nh_data_gz_read(gzFile f, const char *name, void *buf, size_t len, size_t *got,
                         nh_error *err);

#endif
