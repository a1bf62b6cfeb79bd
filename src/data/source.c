/* Sample sources: what every source shares, whatever its format.
 *
 * A source gives the samples [first, end) of a file or generator: end is the
 * file's count or the limit (-n), whichever is smaller, cut further by
 * nh_source_set_range. Readers (npy.c, idx.c, csv.c, generator.c, and the
 * memory reader below) deliver floats already scaled and shifted; this file
 * checks that they are finite. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/source-impl.h"

/* zlib's buffer for each open file (its default is 8 KiB). */
#define NH_GZ_BUFFER (64 * 1024)

void nh_source_options_default(nh_source_options *opt)
{
    opt->limit = -1;
    opt->scale = 1.0;
    opt->shift = 0.0;
    opt->seed = 0;
    opt->stream = 0;
}

static nh_status options_check(const nh_source_options *opt, nh_error *err)
{
    if (opt->limit < -1 || opt->limit == 0)
        return nh_fail(err, NH_EINVAL, "limit must be -1 (all samples) or at least 1, not %lld",
                       (long long)opt->limit);
    if (!isfinite(opt->scale))
        return nh_fail(err, NH_EINVAL, "scale must be finite");
    if (!isfinite(opt->shift))
        return nh_fail(err, NH_EINVAL, "shift must be finite");
    return NH_OK;
}

void nh_data_shape_format(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t n = 0;

    if (size == 0)
        return;
    buf[0] = '\0';
    n += (size_t)snprintf(buf, size, "(");
    for (int k = 0; k < ndim && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", k ? ", " : "", (long long)shape[k]);
    if (n < size)
        snprintf(buf + n, size - n, ndim == 1 ? ",)" : ")");
}

void nh_data_quote(char *out, size_t size, const char *text, size_t len)
{
    size_t n = 0;

    if (size < 8)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        if (n + 8 >= size) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7f)
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, size - n, "\\x%02x", c);
    }
    out[n] = '\0';
}

/* Values per sample of a shape; 0 if the product does not fit. */
static size_t shape_size(int ndim, const int64_t *shape)
{
    size_t size = 1;

    for (int k = 0; k < ndim; k++) {
        if (shape[k] <= 0 || (uint64_t)shape[k] > SIZE_MAX / sizeof(float) / size)
            return 0;
        size *= (size_t)shape[k];
    }
    return size;
}

/* ------------------------------------------------------------- memory */

typedef struct memory_state {
    const float *data;
} memory_state;

static nh_status memory_seek(nh_source *src, int64_t sample, nh_error *err)
{
    return NH_OK;
}

static nh_status memory_read(nh_source *src, float *buf, size_t n, size_t *n_read,
                             nh_error *err)
{
    const memory_state *st = src->state;
    const float *in = st->data + (size_t)src->pos * src->sample_size;

    for (size_t i = 0; i < n * src->sample_size; i++)
        buf[i] = (float)(in[i] * src->opt.scale + src->opt.shift);
    *n_read = n;
    return NH_OK;
}

static void memory_close(void *state)
{
    free(state);
}

static const nh_source_reader memory_reader = {memory_seek, memory_read, memory_close};

/* ------------------------------------------------------------- opening */

static nh_source *source_new(const char *name, const nh_source_options *opt, nh_error *err)
{
    nh_source *src = nh_calloc(err, 1, sizeof *src);

    if (!src)
        return NULL;
    src->name = nh_strdup(err, name);
    if (!src->name) {
        free(src);
        return NULL;
    }
    if (opt)
        src->opt = *opt;
    else
        nh_source_options_default(&src->opt);
    return src;
}

/* The end of the source before any range: the count, cut by the limit. */
static int64_t source_full_end(const nh_source *src)
{
    int64_t end = src->file_count;

    if (src->opt.limit >= 0 && (end < 0 || src->opt.limit < end))
        end = src->opt.limit;
    return end;
}

/* Sets the shape from the file's and the window to the whole source. */
static void source_start(nh_source *src)
{
    src->ndim = src->file_ndim;
    memcpy(src->shape, src->file_shape, sizeof src->shape);
    src->sample_size = src->is_generator ? 0 : shape_size(src->file_ndim, src->file_shape);
    src->first = 0;
    src->end = source_full_end(src);
    src->pos = 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    if (n < m)
        return 0;
    for (size_t i = 0; i < m; i++) {
        if (tolower((unsigned char)s[n - m + i]) != suffix[i])
            return 0;
    }
    return 1;
}

static int has_extension(const char *name, const char *ext)
{
    char gz[32];

    snprintf(gz, sizeof gz, "%s.gz", ext);
    return ends_with(name, ext) || ends_with(name, gz);
}

/* Opens a file and picks its reader: by magic bytes (.npy, IDX), then by
 * extension (.csv, .tsv, .txt). */
static nh_status source_open_file(nh_source *src, nh_error *err)
{
    unsigned char magic[8];
    size_t got;
    gzFile f;
    nh_status s;

    errno = 0;
    f = gzopen(src->name, "rb");
    if (!f) {
        const char *hint = strchr(src->name, ':') && !strchr(src->name, '/')
                               ? " (generators are normal:MU,SIGMA and uniform:A,B)"
                               : "";

        return nh_fail(err, NH_EIO, "%s: cannot open: %s%s", src->name,
                       errno ? strerror(errno) : "out of memory", hint);
    }
    gzbuffer(f, NH_GZ_BUFFER);
    s = nh_data_gz_read(f, src->name, magic, sizeof magic, &got, err);
    if (s == NH_OK && got < sizeof magic) {
        int code;

        nh_data_gz_error(f, src->name, &code);
        if (code == Z_BUF_ERROR)
            s = nh_fail(err, NH_EFORMAT, "%s: truncated gzip data: %zu bytes in all",
                        src->name, got);
    }
    if (s == NH_OK && gzrewind(f) != 0)
        s = nh_fail(err, NH_EIO, "%s: cannot go back to the start", src->name);
    if (s != NH_OK) {
        gzclose(f);
        return s;
    }

    if (got >= 6 && memcmp(magic, "\x93NUMPY", 6) == 0)
        return nh_npy_open(src, f, err);
    if (got >= 4 && nh_idx_magic(magic))
        return nh_idx_open(src, f, err);
    if (has_extension(src->name, ".csv") || has_extension(src->name, ".tsv") ||
        has_extension(src->name, ".txt"))
        return nh_csv_open(src, f, err);
    gzclose(f);

    if (has_extension(src->name, ".npy"))
        return nh_fail(err, NH_EFORMAT, "%s: %s: expected a .npy file (magic \\x93NUMPY)",
                       src->name, got == 0 ? "empty file" : got < 6 ? "truncated" : "bad magic");
    if (got == 0)
        return nh_fail(err, NH_EFORMAT, "%s: empty file: expected a .npy, IDX or CSV file",
                       src->name);
    return nh_fail(err, NH_EUNSUPPORTED,
                   "%s: unknown format: expected .npy (magic \\x93NUMPY), IDX (magic 00 00 "
                   "TYPE NDIM) or .csv/.tsv/.txt",
                   src->name);
}

static nh_status source_finish_open(nh_source *src, nh_status s, nh_source **out)
{
    if (s != NH_OK) {
        nh_source_destroy(src);
        return s;
    }
    source_start(src);
    *out = src;
    return NH_OK;
}

nh_status nh_source_open(const char *spec, const nh_source_options *opt, nh_source **out,
                         nh_error *err)
{
    nh_source *src;
    nh_status s;

    if (out)
        *out = NULL;
    if (!spec || !*spec || !out)
        return nh_fail(err, NH_EINVAL, "nh_source_open: no source named");
    if (opt && (s = options_check(opt, err)) != NH_OK)
        return s;
    src = source_new(spec, opt, err);
    if (!src)
        return NH_ENOMEM;
    if (nh_generator_spec(spec))
        s = nh_generator_open(src, spec, err);
    else
        s = source_open_file(src, err);
    return source_finish_open(src, s, out);
}

nh_status nh_source_open_memory(const float *data, size_t n, size_t sample_size,
                                const nh_source_options *opt, nh_source **out, nh_error *err)
{
    memory_state *st;
    nh_source *src;
    nh_status s;

    if (out)
        *out = NULL;
    if (!out || !data || n == 0 || sample_size == 0 || n > INT64_MAX ||
        sample_size > INT64_MAX)
        return nh_fail(err, NH_EINVAL, "memory source: needs data, n >= 1 and sample_size >= 1");
    if (opt && (s = options_check(opt, err)) != NH_OK)
        return s;
    src = source_new("memory", opt, err);
    if (!src)
        return NH_ENOMEM;
    st = nh_calloc(err, 1, sizeof *st);
    if (!st)
        return source_finish_open(src, NH_ENOMEM, out);
    st->data = data;
    src->reader = &memory_reader;
    src->state = st;
    src->file_count = (int64_t)n;
    src->file_ndim = 1;
    src->file_shape[0] = (int64_t)sample_size;
    return source_finish_open(src, NH_OK, out);
}

void nh_source_destroy(nh_source *src)
{
    if (!src)
        return;
    if (src->reader && src->state)
        src->reader->close(src->state);
    free(src->name);
    free(src);
}

/* ------------------------------------------------------------- accessors */

const char *nh_source_name(const nh_source *src)
{
    return src->name;
}

int64_t nh_source_count(const nh_source *src)
{
    if (src->file_count < 0 || src->end < 0)
        return -1;
    return src->end > src->first ? src->end - src->first : 0;
}

size_t nh_source_sample_size(const nh_source *src)
{
    return src->sample_size;
}

int nh_source_shape(const nh_source *src, int64_t shape[NH_MAX_DIMS])
{
    memcpy(shape, src->shape, (size_t)src->ndim * sizeof *shape);
    return src->ndim;
}

/* ------------------------------------------------------------- shape */

nh_status nh_source_set_shape(nh_source *src, int ndim, const int64_t *shape, int *reshaped,
                              nh_error *err)
{
    char have[160], want[160];
    size_t size, file_size;

    if (reshaped)
        *reshaped = 0;
    if (!src || ndim < 0 || ndim > NH_MAX_DIMS || (ndim > 0 && !shape))
        return nh_fail(err, NH_EINVAL, "nh_source_set_shape: a shape of rank 0 to %d is needed",
                       NH_MAX_DIMS);
    nh_data_shape_format(want, sizeof want, ndim, shape);
    size = shape_size(ndim, shape);
    if (size == 0)
        return nh_fail(err, NH_ESHAPE, "%s: the model's input shape %s is not a fixed shape "
                       "of at least one value", src->name, want);

    if (!src->is_generator) {
        file_size = shape_size(src->file_ndim, src->file_shape);
        if (file_size != size) {
            nh_data_shape_format(have, sizeof have, src->file_ndim, src->file_shape);
            return nh_fail(err, NH_ESHAPE,
                           "%s: samples have shape %s (%zu values); the model expects %s "
                           "(%zu values)",
                           src->name, have, file_size, want, size);
        }
        if (reshaped)
            *reshaped = ndim != src->file_ndim ||
                        memcmp(shape, src->file_shape, (size_t)ndim * sizeof *shape) != 0;
    } else {
        src->file_ndim = ndim;
        memcpy(src->file_shape, shape, (size_t)ndim * sizeof *shape);
    }
    src->ndim = ndim;
    memcpy(src->shape, shape, (size_t)ndim * sizeof *shape);
    src->sample_size = size;
    return NH_OK;
}

/* ------------------------------------------------------------- reading */

static nh_status check_finite(const nh_source *src, const float *buf, size_t n, nh_error *err)
{
    size_t total = n * src->sample_size;

    for (size_t i = 0; i < total; i++) {
        if (!isfinite(buf[i])) {
            int transformed = src->opt.scale != 1.0 || src->opt.shift != 0.0;

            return nh_fail(err, NH_ENUMERIC, "%s: sample %lld, value %zu is %s%s; samples must "
                           "be finite%s", src->name,
                           (long long)(src->pos + (int64_t)(i / src->sample_size)),
                           i % src->sample_size,
                           isnan(buf[i]) ? "NaN" : buf[i] > 0 ? "+infinity" : "-infinity",
                           transformed ? " after scale and shift" : "",
                           isnan(buf[i]) ? "" : " (values are read as float32, whose largest "
                                                "is 3.4e38)");
        }
    }
    return NH_OK;
}

nh_status nh_source_read(nh_source *src, float *buf, size_t max, size_t *n_read, nh_error *err)
{
    size_t n = max, got = 0;
    nh_status s;

    if (n_read)
        *n_read = 0;
    if (!src || !buf || !n_read || max == 0)
        return nh_fail(err, NH_EINVAL, "nh_source_read: needs a source, a buffer, n_read and "
                       "max >= 1");
    if (src->sample_size == 0)
        return nh_fail(err, NH_EINVAL, "%s: no sample shape yet: call nh_source_set_shape",
                       src->name);
    if (src->end >= 0) {
        if (src->pos >= src->end)
            return NH_OK;
        if ((uint64_t)(src->end - src->pos) < n)
            n = (size_t)(src->end - src->pos);
    }

    s = src->reader->read(src, buf, n, &got, err);
    if (s == NH_OK)
        s = check_finite(src, buf, got, err);
    if (s != NH_OK)
        return s;
    src->pos += (int64_t)got;
    *n_read = got;
    return NH_OK;
}

nh_status nh_source_rewind(nh_source *src, nh_error *err)
{
    if (!src)
        return nh_fail(err, NH_EINVAL, "nh_source_rewind: no source");
    src->pos = src->first;
    return src->reader->seek(src, src->first, err);
}

nh_status nh_source_set_range(nh_source *src, int64_t first, int64_t count, nh_error *err)
{
    int64_t end;

    if (!src || first < 0 || count < -1)
        return nh_fail(err, NH_EINVAL, "nh_source_set_range: needs first >= 0 and count >= -1");
    end = source_full_end(src);
    if (end >= 0 && first > end)
        return nh_fail(err, NH_EINVAL, "%s: the range starts at sample %lld, but the source "
                       "has %lld", src->name, (long long)first, (long long)end);
    if (count >= 0 && count <= INT64_MAX - first && (end < 0 || first + count < end))
        end = first + count;
    src->first = first;
    src->end = end;
    return nh_source_rewind(src, err);
}
