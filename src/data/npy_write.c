/* Writing .npy files, format version 1.0 (numpy's NEP 1).
 *
 * The header is the dict {'descr': ..., 'fortran_order': False, 'shape':
 * (...), } padded with spaces and ended by a newline so that the data
 * starts at a multiple of 64 bytes, as numpy does. While the count is not
 * known, the header is sized for a count of 20 digits; closing rewrites it
 * with the real count and the same length. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/npy_write.h"
#include "data/source-impl.h"

#define NH_NPY_ALIGN 64

struct nh_npy_writer {
    FILE *f;
    char *path;
    int to_stdout;
    int ndim;
    int64_t shape[NH_MAX_DIMS];
    size_t sample_size;
    int64_t header_count; /* the count the header holds now */
    int64_t count;    /* samples written */
    size_t header_len; /* the whole header: preamble, dict, padding */
    int failed;
};

static int host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;

    memcpy(&first, &one, 1);
    return first == 1;
}

/* Writes into buf the header of an array of shape (count, shape...) when
 * count >= 0, else of shape (shape...). Its length is total when total > 0,
 * else the next multiple of NH_NPY_ALIGN that leaves `reserve` spare bytes
 * (room for a longer count later). Returns the length, 0 if it does not
 * fit. */
static size_t npy_header(char *buf, size_t cap, const char *descr, int64_t count, int ndim,
                         const int64_t *shape, size_t reserve, size_t total)
{
    char dict[512];
    size_t n, len;
    int items = 0;

    n = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                         descr);
    if (count >= 0) {
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%lld", (long long)count);
        items++;
    }
    for (int k = 0; k < ndim && n < sizeof dict; k++, items++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%lld", items ? ", " : "",
                              (long long)shape[k]);
    if (n < sizeof dict)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", items == 1 ? "," : "");
    if (n >= sizeof dict)
        return 0;

    /* 10 bytes of preamble, the dict, padding, a newline. */
    len = total ? total
                : (10 + n + reserve + 1 + NH_NPY_ALIGN - 1) / NH_NPY_ALIGN * NH_NPY_ALIGN;
    if (len < 10 + n + 1 || len > cap || len - 10 > 65535)
        return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((len - 10) & 0xff);
    buf[9] = (char)((len - 10) >> 8);
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', len - 10 - n - 1);
    buf[len - 1] = '\n';
    return len;
}

static nh_status write_bytes(nh_npy_writer *w, const void *data, size_t size, nh_error *err)
{
    if (fwrite(data, 1, size, w->f) != size) {
        w->failed = 1;
        return nh_fail(err, NH_EIO, "%s: write failed: %s", w->path, strerror(errno));
    }
    return NH_OK;
}

static nh_status check_shape(const char *path, int ndim, const int64_t *shape, size_t *size,
                             nh_error *err)
{
    *size = 1;
    if (ndim < 0 || ndim > NH_MAX_DIMS || (ndim > 0 && !shape))
        return nh_fail(err, NH_EINVAL, "%s: .npy shapes need a rank of 0 to %d", path,
                       NH_MAX_DIMS);
    for (int k = 0; k < ndim; k++) {
        if (shape[k] < 0 || (shape[k] > 0 && (uint64_t)shape[k] > SIZE_MAX / 8 / *size))
            return nh_fail(err, NH_EINVAL, "%s: bad dimension %lld in a .npy shape", path,
                           (long long)shape[k]);
        *size *= (size_t)shape[k];
    }
    return NH_OK;
}

static void writer_free(nh_npy_writer *w)
{
    if (w->f && !w->to_stdout)
        fclose(w->f);
    free(w->path);
    free(w);
}

nh_status nh_npy_writer_open(const char *path, int ndim, const int64_t *shape,
                             int64_t expected_count, nh_npy_writer **out, nh_error *err)
{
    char header[1024];
    nh_npy_writer *w;
    nh_status s;
    size_t size;

    *out = NULL;
    if ((s = check_shape(path, ndim, shape, &size, err)) != NH_OK)
        return s;
    if (strcmp(path, "-") == 0 && expected_count < 0)
        return nh_fail(err, NH_EINVAL, "writing .npy to standard output needs the sample count "
                       "in advance");
    w = nh_calloc(err, 1, sizeof *w);
    if (!w)
        return NH_ENOMEM;
    w->path = nh_strdup(err, path);
    if (!w->path) {
        free(w);
        return NH_ENOMEM;
    }
    w->to_stdout = strcmp(path, "-") == 0;
    w->ndim = ndim;
    if (ndim > 0)
        memcpy(w->shape, shape, (size_t)ndim * sizeof *shape);
    w->sample_size = size;

    w->f = w->to_stdout ? stdout : fopen(path, "wb");
    if (!w->f) {
        s = nh_fail(err, NH_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
        writer_free(w);
        return s;
    }
    /* The expected count or 0 for now, with room for any count (int64 has at
     * most 19 digits) when closing patches it. */
    w->header_count = expected_count >= 0 ? expected_count : 0;
    w->header_len = npy_header(header, sizeof header, "<f4", w->header_count, ndim, shape, 20, 0);
    s = w->header_len ? write_bytes(w, header, w->header_len, err)
                      : nh_fail(err, NH_EINVAL, "%s: .npy header too long", path);
    if (s != NH_OK) {
        writer_free(w);
        return s;
    }
    *out = w;
    return NH_OK;
}

nh_status nh_npy_writer_append(nh_npy_writer *w, const float *data, size_t n, nh_error *err)
{
    size_t total;
    nh_status s;

    if (w->failed)
        return nh_fail(err, NH_EIO, "%s: an earlier write failed", w->path);
    if (n > SIZE_MAX / sizeof(float) / (w->sample_size ? w->sample_size : 1))
        return nh_fail(err, NH_EINVAL, "%s: too many samples in one append", w->path);
    total = n * w->sample_size;
    if (host_little_endian()) {
        s = write_bytes(w, data, total * sizeof(float), err);
    } else {
        unsigned char buf[4096];

        s = NH_OK;
        for (size_t i = 0; i < total && s == NH_OK;) {
            size_t m = total - i < sizeof buf / 4 ? total - i : sizeof buf / 4;

            for (size_t j = 0; j < m; j++) {
                uint32_t u;

                memcpy(&u, data + i + j, 4);
                for (int b = 0; b < 4; b++)
                    buf[4 * j + (size_t)b] = (unsigned char)(u >> (8 * b));
            }
            s = write_bytes(w, buf, 4 * m, err);
            i += m;
        }
    }
    if (s == NH_OK)
        w->count += (int64_t)n;
    return s;
}

/* Rewrites the header with the final count. */
static nh_status writer_patch(nh_npy_writer *w, nh_error *err)
{
    char header[1024];
    size_t len;

    len = npy_header(header, sizeof header, "<f4", w->count, w->ndim, w->shape, 0,
                     w->header_len);
    if (!len)
        return nh_fail(err, NH_EINVAL, "%s: the count %lld does not fit the header", w->path,
                       (long long)w->count);
    if (fseek(w->f, 0, SEEK_SET) != 0)
        return nh_fail(err, NH_EIO, "%s: cannot go back to patch the header (%s); give the "
                       "count in advance", w->path, strerror(errno));
    return write_bytes(w, header, len, err);
}

nh_status nh_npy_writer_close(nh_npy_writer *w, nh_error *err)
{
    nh_status s = NH_OK;

    if (!w)
        return NH_OK;
    if (w->failed)
        s = nh_fail(err, NH_EIO, "%s: an earlier write failed", w->path);
    else if (w->count != w->header_count && w->to_stdout)
        s = nh_fail(err, NH_EINVAL, "%s: wrote %lld samples, the header says %lld", w->path,
                    (long long)w->count, (long long)w->header_count);
    else if (w->count != w->header_count)
        s = writer_patch(w, err);
    if (fflush(w->f) != 0 && s == NH_OK)
        s = nh_fail(err, NH_EIO, "%s: write failed: %s", w->path, strerror(errno));
    if (!w->to_stdout) {
        if (fclose(w->f) != 0 && s == NH_OK)
            s = nh_fail(err, NH_EIO, "%s: write failed: %s", w->path, strerror(errno));
        w->f = NULL;
    }
    writer_free(w);
    return s;
}

nh_status nh_npy_write_f64(const char *path, int ndim, const int64_t *shape, const double *data,
                           nh_error *err)
{
    char header[1024];
    size_t size, len;
    FILE *f;
    nh_status s;
    int ok;

    if ((s = check_shape(path, ndim, shape, &size, err)) != NH_OK)
        return s;
    len = npy_header(header, sizeof header, "<f8", -1, ndim, shape, 0, 0);
    if (!len)
        return nh_fail(err, NH_EINVAL, "%s: .npy header too long", path);
    f = fopen(path, "wb");
    if (!f)
        return nh_fail(err, NH_EIO, "%s: cannot open for writing: %s", path, strerror(errno));

    ok = fwrite(header, 1, len, f) == len;
    if (host_little_endian()) {
        ok = ok && fwrite(data, sizeof *data, size, f) == size;
    } else {
        for (size_t i = 0; ok && i < size; i++) {
            unsigned char b[8];
            uint64_t u;

            memcpy(&u, data + i, 8);
            for (int k = 0; k < 8; k++)
                b[k] = (unsigned char)(u >> (8 * k));
            ok = fwrite(b, 1, 8, f) == 8;
        }
    }
    if (fclose(f) != 0)
        ok = 0;
    if (!ok)
        return nh_fail(err, NH_EIO, "%s: write failed: %s", path, strerror(errno));
    return NH_OK;
}
