/* IDX files, the format of MNIST and Fashion-MNIST.
 *
 * Layout (LeCun's MNIST page): the magic bytes 00 00 TYPE NDIM, then NDIM
 * dimensions as 32-bit big-endian unsigned integers, then the data in C
 * order, multi-byte values big-endian. TYPE is 0x08 unsigned byte, 0x09
 * signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. The
 * first dimension counts samples. */
#include <string.h>

#include "core/error.h"
#include "data/source-impl.h"

/* The element type of an IDX type byte; 0 if it is not one. */
static int idx_type(unsigned code, nh_elem_type *t)
{
    static const struct {
        unsigned code;
        nh_elem_kind kind;
        int size;
    } types[] = {{0x08, NH_ELEM_UINT, 1}, {0x09, NH_ELEM_INT, 1},  {0x0B, NH_ELEM_INT, 2},
                 {0x0C, NH_ELEM_INT, 4},  {0x0D, NH_ELEM_FLOAT, 4}, {0x0E, NH_ELEM_FLOAT, 8}};

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (types[i].code == code) {
            t->kind = types[i].kind;
            t->size = types[i].size;
            t->big_endian = 1;
            return 1;
        }
    }
    return 0;
}

int nh_idx_magic(const unsigned char magic[4])
{
    nh_elem_type t;

    return magic[0] == 0 && magic[1] == 0 && idx_type(magic[2], &t);
}

nh_status nh_idx_open(nh_source *src, gzFile f, nh_error *err)
{
    unsigned char head[4 + 4 * (NH_MAX_DIMS + 1)];
    nh_array_layout lay;
    size_t got, need;
    int ndim;
    nh_status s;

    memset(&lay, 0, sizeof lay);
    s = nh_data_gz_read(f, src->name, head, 4, &got, err);
    if (s != NH_OK)
        goto fail;
    if (got < 4 || !nh_idx_magic(head)) {
        s = nh_fail(err, NH_EFORMAT, "%s: not an IDX file: expected the magic 00 00 TYPE NDIM",
                    src->name);
        goto fail;
    }
    ndim = head[3];
    if (ndim == 0) {
        s = nh_fail(err, NH_EFORMAT, "%s: a 0-d IDX array has no sample axis: no samples",
                    src->name);
        goto fail;
    }
    if (ndim > NH_MAX_DIMS + 1) {
        s = nh_fail(err, NH_EUNSUPPORTED,
                    "%s: IDX arrays of more than %d dimensions are not supported (this one has "
                    "%d)", src->name, NH_MAX_DIMS + 1, ndim);
        goto fail;
    }
    need = 4 * (size_t)ndim;
    s = nh_data_gz_read(f, src->name, head + 4, need, &got, err);
    if (s != NH_OK)
        goto fail;
    if (got < need) {
        s = nh_fail(err, NH_EFORMAT, "%s: truncated: expected %zu bytes of IDX dimensions, "
                    "got %zu", src->name, need, got);
        goto fail;
    }

    idx_type(head[2], &lay.type);
    for (int k = 0; k < ndim; k++) {
        const unsigned char *p = head + 4 + 4 * k;
        int64_t dim = (int64_t)p[0] << 24 | (int64_t)p[1] << 16 | (int64_t)p[2] << 8 | p[3];

        if (k == 0)
            lay.count = dim;
        else
            lay.shape[k - 1] = dim;
    }
    lay.ndim = ndim - 1;
    lay.data_offset = 4 + (int64_t)need;
    return nh_array_reader_open(src, f, &lay, err);

fail:
    gzclose(f);
    return s;
}
