/* Binary arrays: decoding of numeric elements, the reader shared by .npy and
 * IDX files, and the .npy header.
 *
 * The .npy format (numpy's NEP 1): the magic "\x93NUMPY", a major and minor
 * version byte, the header length (2 bytes little-endian in version 1, 4
 * bytes in versions 2 and 3), then the header, a Python dict literal
 * {'descr': ..., 'fortran_order': ..., 'shape': ...} padded with spaces and
 * a newline. Version 3 only allows utf-8 in the header. The data follows. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "data/source-impl.h"

/* Bytes read at a time from a file (a multiple of every element size). */
#define NH_READ_CHUNK (64 * 1024)

/* A Fortran-order array in a compressed file is read whole (seeking in a
 * gzip stream means decompressing again from the start); up to this size. */
#define NH_FORTRAN_GZ_MAX ((int64_t)256 << 20)

/* zlib's buffer when reading a plain Fortran-order file with seeks. */
#define NH_FORTRAN_GZ_BUFFER 4096

/* Longest .npy header accepted; numpy writes well under 1 KiB. */
#define NH_NPY_HEADER_MAX (1u << 20)

/* ------------------------------------------------------------ elements */

static int host_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;

    memcpy(&first, &one, 1);
    return first == 0;
}

/* IEEE 754 binary16 to double: sign, 5 exponent bits (bias 15), 10
 * mantissa bits; exponent 0 is subnormal, 31 infinity or NaN. */
static double half_to_double(unsigned h)
{
    unsigned exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double v;

    if (exponent == 0)
        v = ldexp((double)mantissa, -24);
    else if (exponent == 31)
        v = mantissa ? NAN : INFINITY;
    else
        v = ldexp((double)(mantissa | 0x400), (int)exponent - 25);
    return (h & 0x8000) ? -v : v;
}

static uint64_t load_bits(const unsigned char *p, int size, int big_endian)
{
    uint64_t u = 0;

    if (big_endian) {
        for (int k = 0; k < size; k++)
            u = u << 8 | p[k];
    } else {
        for (int k = size - 1; k >= 0; k--)
            u = u << 8 | p[k];
    }
    return u;
}

static double elem_value(const nh_elem_type *t, const unsigned char *p)
{
    uint64_t u = load_bits(p, t->size, t->big_endian);
    int bits = 8 * t->size;

    switch (t->kind) {
    case NH_ELEM_BOOL:
        return u != 0;
    case NH_ELEM_UINT:
        return (double)u;
    case NH_ELEM_INT: {
        int64_t v;

        if (bits < 64 && (u >> (bits - 1) & 1))
            u |= ~UINT64_C(0) << bits; /* sign-extend */
        memcpy(&v, &u, sizeof v);
        return (double)v;
    }
    case NH_ELEM_FLOAT:
        if (t->size == 2) {
            return half_to_double((unsigned)u);
        } else if (t->size == 4) {
            uint32_t w = (uint32_t)u;
            float f;

            memcpy(&f, &w, sizeof f);
            return f;
        } else {
            double d;

            memcpy(&d, &u, sizeof d);
            return d;
        }
    }
    return 0;
}

void nh_elem_decode(const nh_elem_type *t, const unsigned char *raw, size_t n, double scale,
                    double shift, float *out, size_t stride)
{
    /* Bytes (MNIST) are by far the most common; give them a loop of their own. */
    if (t->kind == NH_ELEM_UINT && t->size == 1) {
        for (size_t i = 0; i < n; i++)
            out[i * stride] = (float)(raw[i] * scale + shift);
        return;
    }
    if (t->kind == NH_ELEM_FLOAT && t->size == 4 && t->big_endian == host_big_endian()) {
        for (size_t i = 0; i < n; i++) {
            float v;

            memcpy(&v, raw + 4 * i, sizeof v);
            out[i * stride] = (float)(v * scale + shift);
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i * stride] = (float)(elem_value(t, raw + i * (size_t)t->size) * scale + shift);
}

/* ------------------------------------------------------------ reading */

const char *nh_data_gz_error(gzFile f, const char *name, int *code)
{
    const char *msg = gzerror(f, code);
    size_t n = strlen(name);

    if (*code == Z_ERRNO)
        return strerror(errno);
    if (strncmp(msg, name, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        msg += n + 2;
    return msg;
}

nh_status nh_data_gz_read(gzFile f, const char *name, void *buf, size_t len, size_t *got,
                         nh_error *err)
{
    unsigned char *p = buf;

    *got = 0;
    while (*got < len) {
        size_t want = len - *got > INT_MAX / 2 ? INT_MAX / 2 : len - *got;
        int r = gzread(f, p + *got, (unsigned)want);

        if (r < 0) {
            int code;
            const char *msg = nh_data_gz_error(f, name, &code);

            if (code == Z_ERRNO)
                return nh_fail(err, NH_EIO, "%s: read error: %s", name, msg);
            return nh_fail(err, NH_EFORMAT, "%s: damaged gzip data: %s", name, msg);
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return NH_OK;
}

/* ------------------------------------------------------ the array reader */

typedef struct array_state {
    gzFile f;
    nh_array_layout lay;
    size_t sample_size;   /* values per sample */
    size_t sample_bytes;
    int64_t next;         /* the sample f is positioned at (C order); -1 unknown */
    unsigned char *chunk; /* NH_READ_CHUNK bytes */
    unsigned char *whole; /* Fortran order from a compressed file: all the data */
} array_state;

static void array_close(void *state)
{
    array_state *st = state;

    if (st->f)
        gzclose(st->f);
    free(st->chunk);
    free(st->whole);
    free(st);
}

static nh_status array_seek(nh_source *src, int64_t sample, nh_error *err)
{
    array_state *st = src->state;
    int64_t offset;

    if (st->lay.fortran || st->next == sample)
        return NH_OK;
    offset = st->lay.data_offset + sample * (int64_t)st->sample_bytes;
    if (gzseek(st->f, (z_off_t)offset, SEEK_SET) < 0) {
        int code;
        const char *msg = nh_data_gz_error(st->f, src->name, &code);

        st->next = -1;
        return nh_fail(err, NH_EIO, "%s: cannot seek to sample %lld: %s", src->name,
                       (long long)sample, msg);
    }
    st->next = sample;
    return NH_OK;
}

/* C order: the n samples are one run of n * sample_bytes bytes. */
static nh_status array_read_c(nh_source *src, float *buf, size_t n, nh_error *err)
{
    array_state *st = src->state;
    size_t esize = (size_t)st->lay.type.size;
    size_t total = n * st->sample_bytes, done = 0;
    nh_status s;

    s = array_seek(src, src->pos, err);
    if (s != NH_OK)
        return s;
    st->next = -1; /* unknown until the run is read whole */
    while (done < total) {
        size_t want = total - done < NH_READ_CHUNK ? total - done : NH_READ_CHUNK;
        size_t got;

        s = nh_data_gz_read(st->f, src->name, st->chunk, want, &got, err);
        if (s != NH_OK)
            return s;
        nh_elem_decode(&st->lay.type, st->chunk, got / esize, src->opt.scale, src->opt.shift,
                       buf + done / esize, 1);
        done += got;
        if (got < want)
            return nh_fail(err, NH_EFORMAT,
                           "%s: truncated: expected %zu bytes of data for sample %lld, got %zu",
                           src->name, st->sample_bytes,
                           (long long)(src->pos + (int64_t)(done / st->sample_bytes)),
                           done % st->sample_bytes);
    }
    st->next = src->pos + (int64_t)n;
    return NH_OK;
}

/* Reads the n consecutive elements from element index `at` of the array
 * into out[0], out[stride], ... */
static nh_status array_read_run(nh_source *src, int64_t at, size_t n, float *out, size_t stride,
                                nh_error *err)
{
    array_state *st = src->state;
    size_t esize = (size_t)st->lay.type.size, done = 0;

    if (st->whole) {
        nh_elem_decode(&st->lay.type, st->whole + (size_t)at * esize, n, src->opt.scale,
                       src->opt.shift, out, stride);
        return NH_OK;
    }
    if (gzseek(st->f, (z_off_t)(st->lay.data_offset + at * (int64_t)esize), SEEK_SET) < 0)
        return nh_fail(err, NH_EIO, "%s: cannot seek to element %lld: %s", src->name,
                       (long long)at, strerror(errno));
    while (done < n) {
        size_t want = n - done < NH_READ_CHUNK / esize ? n - done : NH_READ_CHUNK / esize;
        size_t got;
        nh_status s = nh_data_gz_read(st->f, src->name, st->chunk, want * esize, &got, err);

        if (s != NH_OK)
            return s;
        nh_elem_decode(&st->lay.type, st->chunk, got / esize, src->opt.scale, src->opt.shift,
                       out + done * stride, stride);
        done += got / esize;
        if (got < want * esize)
            return nh_fail(err, NH_EFORMAT,
                           "%s: truncated: the Fortran-order data ends at element %lld of %lld",
                           src->name, (long long)(at + (int64_t)done),
                           (long long)(st->lay.count * (int64_t)st->sample_size));
    }
    return NH_OK;
}

/* Fortran order numbers the elements with the first axis fastest: value
 * (j1..jk) of sample i is element i + count * (j1 + d1 * (j2 + ...)). So
 * each value f (Fortran index within a sample) of samples pos..pos+n-1 is
 * one run of n elements, and a batch costs sample_size seeks and reads of n
 * elements each: memory stays one batch, but small batches are slow (about
 * 0.5 ms per 784-value sample read one at a time). A compressed file cannot
 * seek cheaply, so it was read whole when opened (array_load_whole), at the
 * cost of holding it. The odometer idx walks the sample's indices in Fortran
 * order while c follows the same value's C-order index. */
static nh_status array_read_fortran(nh_source *src, float *buf, size_t n, nh_error *err)
{
    array_state *st = src->state;
    const nh_array_layout *lay = &st->lay;
    int64_t idx[NH_MAX_DIMS] = {0};
    size_t cstride[NH_MAX_DIMS];
    size_t c = 0;

    for (int k = lay->ndim - 1; k >= 0; k--)
        cstride[k] = k == lay->ndim - 1 ? 1 : cstride[k + 1] * (size_t)lay->shape[k + 1];
    for (size_t f = 0; f < st->sample_size; f++) {
        nh_status s = array_read_run(src, (int64_t)f * lay->count + src->pos, n, buf + c,
                                     st->sample_size, err);

        if (s != NH_OK)
            return s;
        for (int k = 0; k < lay->ndim; k++) {
            if (++idx[k] < lay->shape[k]) {
                c += cstride[k];
                break;
            }
            c -= (size_t)(lay->shape[k] - 1) * cstride[k];
            idx[k] = 0;
        }
    }
    return NH_OK;
}

static nh_status array_read(nh_source *src, float *buf, size_t n, size_t *n_read, nh_error *err)
{
    array_state *st = src->state;
    nh_status s;

    *n_read = 0;
    s = st->lay.fortran ? array_read_fortran(src, buf, n, err) : array_read_c(src, buf, n, err);
    if (s == NH_OK)
        *n_read = n;
    return s;
}

static const nh_source_reader array_reader = {array_seek, array_read, array_close};

/* Checks the size of an uncompressed file against the layout, so that a
 * truncated file fails when opened. */
static nh_status array_check_plain_size(nh_source *src, const array_state *st, int64_t total,
                                        nh_error *err)
{
    struct stat sb;
    int64_t have;

    if (stat(src->name, &sb) != 0 || !S_ISREG(sb.st_mode))
        return NH_OK; /* not a regular file: find out while reading */
    have = (int64_t)sb.st_size - st->lay.data_offset;
    if (have < 0)
        have = 0;
    if (have >= total)
        return NH_OK;
    if (st->lay.fortran)
        return nh_fail(err, NH_EFORMAT,
                       "%s: truncated: expected %lld bytes of data, got %lld", src->name,
                       (long long)total, (long long)have);
    return nh_fail(err, NH_EFORMAT,
                   "%s: truncated: expected %zu bytes of data for sample %lld, got %lld",
                   src->name, st->sample_bytes, (long long)(have / (int64_t)st->sample_bytes),
                   (long long)(have % (int64_t)st->sample_bytes));
}

/* Fortran order from a plain file reads short runs after seeks, and zlib
 * refills its whole buffer (twice its size) after each seek: reopen the file
 * with a small buffer. */
static nh_status array_reopen_small(nh_source *src, array_state *st, nh_error *err)
{
    gzclose(st->f);
    errno = 0;
    st->f = gzopen(src->name, "rb");
    if (!st->f)
        return nh_fail(err, NH_EIO, "%s: cannot open again: %s", src->name,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(st->f, NH_FORTRAN_GZ_BUFFER);
    return NH_OK;
}

static nh_status array_load_whole(nh_source *src, array_state *st, int64_t total, nh_error *err)
{
    size_t got;
    nh_status s;

    if (total > NH_FORTRAN_GZ_MAX)
        return nh_fail(err, NH_EUNSUPPORTED,
                       "%s: a compressed Fortran-order array is read whole, and this one has "
                       "%lld bytes (more than %lld); decompress it or save it in C order",
                       src->name, (long long)total, (long long)NH_FORTRAN_GZ_MAX);
    st->whole = nh_alloc(err, (size_t)total, 1);
    if (!st->whole)
        return NH_ENOMEM;
    if (gzseek(st->f, (z_off_t)st->lay.data_offset, SEEK_SET) < 0)
        return nh_fail(err, NH_EIO, "%s: cannot seek to the data", src->name);
    s = nh_data_gz_read(st->f, src->name, st->whole, (size_t)total, &got, err);
    if (s != NH_OK)
        return s;
    if (got < (size_t)total)
        return nh_fail(err, NH_EFORMAT, "%s: truncated: expected %lld bytes of data, got %zu",
                       src->name, (long long)total, got);
    return NH_OK;
}

/* Checks that lay holds at least one sample of at least one value, and
 * that its sizes fit: values per sample into *size, bytes in all into *total. */
static nh_status array_check_layout(const nh_source *src, const nh_array_layout *lay,
                                    size_t *size, int64_t *total, nh_error *err)
{
    char shape[160];

    nh_data_shape_format(shape, sizeof shape, lay->ndim, lay->shape);
    if (lay->count <= 0)
        return nh_fail(err, NH_EFORMAT, "%s: no samples (the array has %lld along its first "
                       "axis)", src->name, (long long)lay->count);
    *size = 1;
    for (int k = 0; k < lay->ndim; k++) {
        if (lay->shape[k] <= 0)
            return nh_fail(err, NH_EFORMAT, "%s: samples have shape %s: no values", src->name,
                           shape);
        if ((uint64_t)lay->shape[k] > (uint64_t)(INT64_MAX / 16) / *size)
            return nh_fail(err, NH_EFORMAT, "%s: samples of shape %s are too large", src->name,
                           shape);
        *size *= (size_t)lay->shape[k];
    }
    if ((uint64_t)lay->count > (uint64_t)INT64_MAX / (*size * (size_t)lay->type.size))
        return nh_fail(err, NH_EFORMAT, "%s: %lld samples of shape %s are too large",
                       src->name, (long long)lay->count, shape);
    *total = lay->count * (int64_t)(*size * (size_t)lay->type.size);
    return NH_OK;
}

nh_status nh_array_reader_open(nh_source *src, gzFile f, const nh_array_layout *lay,
                               nh_error *err)
{
    array_state *st = NULL;
    size_t size = 0;
    int64_t total = 0;
    nh_status s;

    s = array_check_layout(src, lay, &size, &total, err);
    if (s != NH_OK)
        goto fail;
    st = nh_calloc(err, 1, sizeof *st);
    if (!st) {
        s = NH_ENOMEM;
        goto fail;
    }
    st->f = f;
    f = NULL;
    st->lay = *lay;
    st->sample_size = size;
    st->sample_bytes = size * (size_t)lay->type.size;
    st->next = -1;
    st->chunk = nh_alloc(err, NH_READ_CHUNK, 1);
    if (!st->chunk) {
        s = NH_ENOMEM;
        goto fail;
    }

    /* gzdirect: 1 when the file is not compressed (it has been read from). */
    if (gzdirect(st->f)) {
        s = array_check_plain_size(src, st, total, err);
        if (s == NH_OK && lay->fortran)
            s = array_reopen_small(src, st, err);
    } else if (lay->fortran) {
        s = array_load_whole(src, st, total, err);
    }
    if (s != NH_OK)
        goto fail;

    src->reader = &array_reader;
    src->state = st;
    src->file_count = lay->count;
    src->file_ndim = lay->ndim;
    memcpy(src->file_shape, lay->shape, sizeof src->file_shape);
    return NH_OK;

fail:
    if (f)
        gzclose(f);
    if (st)
        array_close(st);
    return s;
}

/* ------------------------------------------------------ the .npy header */

/* A cursor over a Python literal. */
typedef struct lit {
    const char *p, *end;
} lit;

static int lit_peek(lit *l)
{
    while (l->p < l->end && isspace((unsigned char)*l->p))
        l->p++;
    return l->p < l->end ? (unsigned char)*l->p : -1;
}

static int lit_eat(lit *l, int c)
{
    if (lit_peek(l) != c)
        return 0;
    l->p++;
    return 1;
}

/* A quoted string into out (cut to size - 1 bytes); 0 if there is none. */
static int lit_string(lit *l, char *out, size_t size)
{
    int quote = lit_peek(l);
    size_t n = 0;

    if (quote != '\'' && quote != '"')
        return 0;
    for (l->p++; l->p < l->end && *l->p != quote; l->p++) {
        if (*l->p == '\\' && l->p + 1 < l->end)
            l->p++;
        if (n + 1 < size)
            out[n++] = *l->p;
    }
    if (l->p >= l->end)
        return 0;
    l->p++;
    if (size)
        out[n] = '\0';
    return 1;
}

/* A bare token such as True, 28, 28L or -1.5; 0 if there is none. */
static int lit_token(lit *l, char *out, size_t size)
{
    const char *start;
    size_t n;

    lit_peek(l);
    start = l->p;
    while (l->p < l->end && (isalnum((unsigned char)*l->p) || strchr("._+-", *l->p)))
        l->p++;
    n = (size_t)(l->p - start);
    if (n == 0 || n >= size)
        return 0;
    memcpy(out, start, n);
    out[n] = '\0';
    return 1;
}

/* Skips any value: a string, a token, or a bracketed tuple, list or dict. */
static int lit_skip(lit *l, int depth)
{
    int c = lit_peek(l), close;
    char tmp[64];

    if (c == '\'' || c == '"')
        return lit_string(l, tmp, sizeof tmp);
    if (c != '(' && c != '[' && c != '{')
        return lit_token(l, tmp, sizeof tmp);
    if (depth > 16)
        return 0;
    close = c == '(' ? ')' : c == '[' ? ']' : '}';
    l->p++;
    for (;;) {
        if (lit_eat(l, close))
            return 1;
        if (!lit_skip(l, depth + 1))
            return 0;
        if (!lit_eat(l, ',') && !lit_eat(l, ':') && lit_peek(l) != close)
            return 0;
    }
}

/* A tuple (or list) of non-negative integers, Python 2's "28L" included. */
static int lit_shape(lit *l, int64_t *dims, int max, int *ndim)
{
    int close;

    if (lit_eat(l, '('))
        close = ')';
    else if (lit_eat(l, '['))
        close = ']';
    else
        return 0;
    *ndim = 0;
    for (;;) {
        char tok[32], *end;
        long long v;
        size_t n;

        if (lit_eat(l, close))
            return 1;
        if (!lit_token(l, tok, sizeof tok))
            return 0;
        n = strlen(tok);
        if (n > 1 && (tok[n - 1] == 'L' || tok[n - 1] == 'l'))
            tok[n - 1] = '\0';
        errno = 0;
        v = strtoll(tok, &end, 10);
        if (*end || errno || v < 0 || *ndim >= max)
            return *ndim >= max ? -1 : 0;
        dims[(*ndim)++] = v;
        if (!lit_eat(l, ',') && lit_peek(l) != close)
            return 0;
    }
}

static const char *descr_kind_name(char code)
{
    switch (code) {
    case 'c': return "complex";
    case 'O': return "Python objects";
    case 'U': return "unicode strings";
    case 'S':
    case 'a': return "byte strings";
    case 'V': return "raw bytes";
    case 'M': return "datetimes";
    case 'm': return "time deltas";
    case 'f': return "floating point of an unsupported size";
    case 'i':
    case 'u': return "integers of an unsupported size";
    default: return "unknown type";
    }
}

/* A dtype string such as '<f4', '|u1', '>i8', '|b1', '=f2'. */
static nh_status parse_descr(const nh_source *src, const char *descr, nh_elem_type *t,
                             nh_error *err)
{
    const char *p = descr;
    char order = '=', code;
    long size = 0;
    int ok = 0;

    if (*p && strchr("<>|=", *p))
        order = *p++;
    code = *p ? *p++ : '\0';
    if (isdigit((unsigned char)*p)) {
        char *end;

        size = strtol(p, &end, 10);
        p = end;
    } else if (code == '?')
        size = 1;

    t->size = (int)size;
    t->big_endian = order == '>' || (order != '<' && host_big_endian());
    if (*p == '\0') {
        switch (code) {
        case 'b':
        case '?':
            t->kind = NH_ELEM_BOOL;
            ok = size == 1;
            break;
        case 'i':
        case 'u':
            t->kind = code == 'i' ? NH_ELEM_INT : NH_ELEM_UINT;
            ok = size == 1 || size == 2 || size == 4 || size == 8;
            break;
        case 'f':
            t->kind = NH_ELEM_FLOAT;
            ok = size == 2 || size == 4 || size == 8;
            break;
        default:
            break;
        }
    }
    if (!ok) {
        char shown[80];

        nh_data_quote(shown, sizeof shown, descr, strlen(descr));
        return nh_fail(err, NH_EUNSUPPORTED,
                       "%s: dtype '%s' (%s) is not supported; nnheat reads bool, integer "
                       "and floating-point arrays",
                       src->name, shown, descr_kind_name(code));
    }
    return NH_OK;
}

/* The fields of the header dict that matter. */
typedef struct npy_header {
    int has_descr, has_order, has_shape;
    char descr[64];
    int fortran;
    int ndim;
    int64_t shape[NH_MAX_DIMS + 1];
} npy_header;

static nh_status npy_malformed(const nh_source *src, const char *text, size_t len, const lit *l,
                               const char *what, nh_error *err)
{
    size_t at = (size_t)(l->p - text), n = len;
    char shown[160];

    while (n > 0 && isspace((unsigned char)text[n - 1]))
        n--;
    nh_data_quote(shown, sizeof shown, text, n);
    return nh_fail(err, NH_EFORMAT, "%s: malformed .npy header at byte %zu of %zu (%s): %s",
                   src->name, at, len, what, shown);
}

static nh_status npy_structured(const nh_source *src, const char *descr, size_t len,
                                nh_error *err)
{
    char shown[208];

    nh_data_quote(shown, sizeof shown, descr, len);
    return nh_fail(err, NH_EUNSUPPORTED,
                   "%s: structured dtype %s is not supported; nnheat reads bool, integer and "
                   "floating-point arrays",
                   src->name, shown);
}

/* Parses the value of one key of the header dict into h; other keys are
 * skipped (numpy writes no others, but allows none either). */
static nh_status npy_parse_entry(const nh_source *src, lit *l, const char *key, npy_header *h,
                                 const char *text, size_t len, nh_error *err)
{
    const char *value;
    char tok[16];
    int r;

    lit_peek(l);
    value = l->p;
    if (strcmp(key, "descr") == 0) {
        if (lit_peek(l) == '\'' || lit_peek(l) == '"') {
            h->has_descr = lit_string(l, h->descr, sizeof h->descr);
            return h->has_descr ? NH_OK : npy_malformed(src, text, len, l, "bad 'descr'", err);
        }
        if (!lit_skip(l, 0))
            return npy_malformed(src, text, len, l, "bad 'descr'", err);
        return npy_structured(src, value, (size_t)(l->p - value), err);
    }
    if (strcmp(key, "fortran_order") == 0) {
        if (!lit_token(l, tok, sizeof tok) ||
            (strcmp(tok, "True") != 0 && strcmp(tok, "False") != 0))
            return npy_malformed(src, text, len, l, "'fortran_order' is not True or False", err);
        h->fortran = strcmp(tok, "True") == 0;
        h->has_order = 1;
        return NH_OK;
    }
    if (strcmp(key, "shape") == 0) {
        r = lit_shape(l, h->shape, NH_MAX_DIMS + 1, &h->ndim);
        if (r < 0)
            return nh_fail(err, NH_EUNSUPPORTED,
                           "%s: arrays of more than %d dimensions are not supported", src->name,
                           NH_MAX_DIMS + 1);
        if (r == 0)
            return npy_malformed(src, text, len, l, "'shape' is not a tuple of integers", err);
        h->has_shape = 1;
        return NH_OK;
    }
    return lit_skip(l, 0) ? NH_OK : npy_malformed(src, text, len, l, "bad value", err);
}

static nh_status npy_parse_header(const nh_source *src, const char *text, size_t len,
                                  npy_header *h, nh_error *err)
{
    lit l = {text, text + len};

    memset(h, 0, sizeof *h);
    if (!lit_eat(&l, '{'))
        return npy_malformed(src, text, len, &l, "expected '{'", err);
    while (!lit_eat(&l, '}')) {
        char key[64];
        nh_status s;

        if (!lit_string(&l, key, sizeof key))
            return npy_malformed(src, text, len, &l, "expected a quoted key", err);
        if (!lit_eat(&l, ':'))
            return npy_malformed(src, text, len, &l, "expected ':'", err);
        s = npy_parse_entry(src, &l, key, h, text, len, err);
        if (s != NH_OK)
            return s;
        if (!lit_eat(&l, ',') && lit_peek(&l) != '}')
            return npy_malformed(src, text, len, &l, "expected ',' or '}'", err);
    }
    if (!h->has_descr || !h->has_order || !h->has_shape)
        return nh_fail(err, NH_EFORMAT, "%s: the .npy header lacks '%s'", src->name,
                       !h->has_descr ? "descr" : !h->has_order ? "fortran_order" : "shape");
    return NH_OK;
}

/* Reads the preamble and the header text (the caller frees *text). */
static nh_status npy_read_header(nh_source *src, gzFile f, char **text, size_t *len,
                                 int64_t *data_offset, nh_error *err)
{
    unsigned char pre[12];
    size_t got, pre_len, hlen;
    nh_status s;

    *text = NULL;
    s = nh_data_gz_read(f, src->name, pre, 10, &got, err);
    if (s != NH_OK)
        return s;
    if (got < 8 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return nh_fail(err, NH_EFORMAT, "%s: not a .npy file: expected the magic \\x93NUMPY "
                       "and a version", src->name);
    if (pre[6] < 1 || pre[6] > 3)
        return nh_fail(err, NH_EUNSUPPORTED,
                       "%s: .npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)",
                       src->name, pre[6], pre[7]);
    pre_len = pre[6] == 1 ? 10 : 12;
    if (pre_len == 12 && got == 10) {
        s = nh_data_gz_read(f, src->name, pre + 10, 2, &got, err);
        if (s != NH_OK)
            return s;
        got += 10;
    }
    if (got < pre_len)
        return nh_fail(err, NH_EFORMAT, "%s: truncated: expected a %zu-byte .npy preamble, "
                       "got %zu bytes", src->name, pre_len, got);
    hlen = pre_len == 10 ? (size_t)pre[8] | (size_t)pre[9] << 8
                         : (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
                               (size_t)pre[11] << 24;
    if (hlen > NH_NPY_HEADER_MAX)
        return nh_fail(err, NH_EFORMAT, "%s: .npy header of %zu bytes is too long", src->name,
                       hlen);

    *text = nh_alloc(err, hlen + 1, 1);
    if (!*text)
        return NH_ENOMEM;
    s = nh_data_gz_read(f, src->name, *text, hlen, &got, err);
    if (s != NH_OK)
        return s;
    if (got < hlen)
        return nh_fail(err, NH_EFORMAT, "%s: truncated: expected a .npy header of %zu bytes, "
                       "got %zu", src->name, hlen, got);
    (*text)[hlen] = '\0';
    *len = hlen;
    *data_offset = (int64_t)(pre_len + hlen);
    return NH_OK;
}

nh_status nh_npy_open(nh_source *src, gzFile f, nh_error *err)
{
    nh_array_layout lay;
    npy_header h;
    char *text = NULL;
    size_t len = 0;
    nh_status s;

    memset(&lay, 0, sizeof lay);
    s = npy_read_header(src, f, &text, &len, &lay.data_offset, err);
    if (s == NH_OK)
        s = npy_parse_header(src, text, len, &h, err);
    free(text);
    if (s == NH_OK)
        s = parse_descr(src, h.descr, &lay.type, err);
    if (s == NH_OK && h.ndim == 0)
        s = nh_fail(err, NH_EFORMAT, "%s: a 0-d array has no sample axis: no samples",
                    src->name);
    if (s != NH_OK) {
        gzclose(f);
        return s;
    }

    lay.fortran = h.fortran && h.ndim > 1;
    lay.count = h.shape[0];
    lay.ndim = h.ndim - 1;
    for (int k = 1; k < h.ndim; k++)
        lay.shape[k - 1] = h.shape[k];
    return nh_array_reader_open(src, f, &lay, err);
}
