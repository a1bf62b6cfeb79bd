/* Sample sources (.npy, IDX, CSV, generators, memory) and the .npy writer.
 *
 * The input files and the values numpy reads from them come from
 * tests/data/make_data.py; tests/data/samples/manifest.txt lists, for every
 * readable file, its count, sample shape and values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/npy_write.h"
#include "nnheat.h"

#define SAMPLES NH_SOURCE_DIR "/tests/data/samples/"
#define FASHION "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static const char *sample_path(const char *name)
{
    static char buf[4096];

    if (name[0] == '/' || strchr(name, ':'))
        return name;
    snprintf(buf, sizeof buf, "%s%s", SAMPLES, name);
    return buf;
}

static nh_source *open_named(const char *name, const nh_source_options *opt)
{
    nh_error err = {0};
    nh_source *src = NULL;

    CHECK_OK(nh_source_open(sample_path(name), opt, &src, &err), &err);
    if (!src)
        fprintf(stderr, "  while opening %s\n", name);
    return src;
}

/* Reads every sample left in src, batch at a time, into a new array. */
static float *read_all(nh_source *src, size_t batch, size_t *count, nh_status *status,
                       nh_error *err)
{
    size_t size = nh_source_sample_size(src), cap = 16, n = 0;
    float *all = malloc(cap * size * sizeof *all);
    float *buf = malloc(batch * size * sizeof *buf);

    *status = NH_OK;
    for (;;) {
        size_t got = 0;

        *status = nh_source_read(src, buf, batch, &got, err);
        if (*status != NH_OK || got == 0)
            break;
        if (n + got > cap) {
            while (n + got > cap)
                cap *= 2;
            all = realloc(all, cap * size * sizeof *all);
        }
        memcpy(all + n * size, buf, got * size * sizeof *buf);
        n += got;
    }
    free(buf);
    *count = n;
    return all;
}

/* ------------------------------------------------------- every file type */

typedef struct expected {
    char name[256];
    long long count;
    int ndim;
    int64_t shape[NH_MAX_DIMS];
    size_t size;
    float *values;
} expected;

/* Parses one manifest line: name count ndim dims... values... */
static int parse_expected(char *line, expected *e)
{
    char *tok = strtok(line, " \n");
    size_t n;

    if (!tok)
        return 0;
    snprintf(e->name, sizeof e->name, "%s", tok);
    e->count = atoll(strtok(NULL, " \n"));
    e->ndim = atoi(strtok(NULL, " \n"));
    e->size = 1;
    for (int k = 0; k < e->ndim; k++) {
        e->shape[k] = atoll(strtok(NULL, " \n"));
        e->size *= (size_t)e->shape[k];
    }
    n = (size_t)e->count * e->size;
    e->values = malloc(n * sizeof *e->values);
    for (size_t i = 0; i < n; i++) {
        tok = strtok(NULL, " \n");
        e->values[i] = tok ? (float)strtod(tok, NULL) : NAN;
    }
    return 1;
}

static int is_text(const char *name)
{
    return strstr(name, ".csv") || strstr(name, ".tsv") || strstr(name, ".txt");
}

/* Reads the file with several batch sizes and compares with numpy. */
static void check_expected_file(const expected *e)
{
    static const size_t batches[] = {1, 2, 3, 1000};
    int64_t shape[NH_MAX_DIMS];
    nh_source *src = open_named(e->name, NULL);
    nh_error err = {0};
    int bad = 0;

    if (!src)
        return;
    CHECK(nh_source_count(src) == (is_text(e->name) ? -1 : e->count));
    CHECK(nh_source_shape(src, shape) == e->ndim);
    CHECK(memcmp(shape, e->shape, (size_t)e->ndim * sizeof *shape) == 0);
    CHECK(nh_source_sample_size(src) == e->size);
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        nh_status s;
        size_t n;
        float *got;

        CHECK_OK(nh_source_rewind(src, &err), &err);
        got = read_all(src, batches[b], &n, &s, &err);
        CHECK_OK(s, &err);
        CHECK(n == (size_t)e->count);
        for (size_t i = 0; s == NH_OK && i < n * e->size && i < (size_t)e->count * e->size; i++) {
            if (got[i] != e->values[i] && bad++ < 3)
                fprintf(stderr, "%s: value %zu is %.9g, numpy reads %.9g (batch %zu)\n", e->name,
                        i, got[i], e->values[i], batches[b]);
        }
        free(got);
    }
    CHECK(bad == 0);
    nh_source_destroy(src);
}

static void test_files_read_as_numpy_reads_them(void)
{
    FILE *f = fopen(SAMPLES "manifest.txt", "r");
    char *line = NULL;
    size_t cap = 0;
    int files = 0;

    CHECK(f != NULL);
    if (!f)
        return;
    while (getline(&line, &cap, f) > 0) {
        expected e;

        if (!parse_expected(line, &e))
            continue;
        check_expected_file(&e);
        free(e.values);
        files++;
    }
    free(line);
    fclose(f);
    CHECK(files >= 50);
}

/* ------------------------------------------------------- windows */

/* Reading [first, first + count) in a fresh source gives that part of the
 * whole, for files read sequentially, with seeks, or whole (Fortran gz). */
static void test_ranges_split_a_source(void)
{
    static const char *names[] = {"fortran_f4.npy", "fortran_f8.npy.gz", "c_u2.npy.gz",
                                  "dtype_i2_be.npy", "header.csv", "idx_u8_gz-idx3-ubyte.gz",
                                  "normal:0,1"};
    nh_source_options opt;

    nh_source_options_default(&opt);
    opt.limit = 9;
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        nh_source *src = open_named(names[f], strchr(names[f], ':') ? &opt : NULL);
        int64_t shape[2] = {2, 3};
        nh_error err = {0};
        size_t total, size;
        nh_status s;
        float *all;

        if (!src)
            continue;
        if (strchr(names[f], ':'))
            CHECK_OK(nh_source_set_shape(src, 2, shape, NULL, &err), &err);
        size = nh_source_sample_size(src);
        all = read_all(src, 1000, &total, &s, &err);
        CHECK_OK(s, &err);
        for (size_t workers = 1; workers <= 4; workers++) {
            size_t done = 0;

            for (size_t w = 0; w < workers; w++) {
                int64_t first = (int64_t)(total * w / workers);
                int64_t count = (int64_t)(total * (w + 1) / workers) - first;
                nh_source *part = open_named(names[f], strchr(names[f], ':') ? &opt : NULL);
                size_t n;
                float *got;

                if (strchr(names[f], ':'))
                    nh_source_set_shape(part, 2, shape, NULL, &err);
                CHECK_OK(nh_source_set_range(part, first, count, &err), &err);
                if (nh_source_count(part) >= 0)
                    CHECK(nh_source_count(part) == count);
                got = read_all(part, 2, &n, &s, &err);
                CHECK_OK(s, &err);
                CHECK(n == (size_t)count);
                CHECK(memcmp(got, all + (size_t)first * size, n * size * sizeof *got) == 0);
                done += n;
                free(got);
                nh_source_destroy(part);
            }
            CHECK(done == total);
        }
        free(all);
        nh_source_destroy(src);
    }
}

static void test_limit_takes_the_first_samples(void)
{
    nh_source_options opt;
    nh_error err = {0};
    nh_source *src, *whole;
    float a[12 * 3], b[12 * 3];
    size_t n;

    nh_source_options_default(&opt);
    opt.limit = 2;
    whole = open_named("dtype_f4_le.npy", NULL);
    src = open_named("dtype_f4_le.npy", &opt);
    if (!src || !whole)
        return;
    CHECK(nh_source_count(src) == 2);
    CHECK_OK(nh_source_read(whole, a, 3, &n, &err), &err);
    CHECK_OK(nh_source_read(src, b, 3, &n, &err), &err);
    CHECK(n == 2);
    CHECK(memcmp(a, b, 2 * 4 * sizeof *a) == 0);
    CHECK_OK(nh_source_read(src, b, 3, &n, &err), &err);
    CHECK(n == 0);
    nh_source_destroy(src);

    /* More than the file has: all of it. */
    opt.limit = 100;
    src = open_named("dtype_f4_le.npy", &opt);
    CHECK(nh_source_count(src) == 3);
    nh_source_destroy(src);

    /* CSV: the count stays unknown, but reading stops at the limit. */
    opt.limit = 3;
    src = open_named("plain.csv", &opt);
    CHECK(nh_source_count(src) == -1);
    CHECK_OK(nh_source_read(src, b, 10, &n, &err), &err);
    CHECK(n == 3);
    CHECK_OK(nh_source_read(src, b, 10, &n, &err), &err);
    CHECK(n == 0);

    /* A range inside the limit, and a rewind back to its start. */
    CHECK_OK(nh_source_set_range(src, 1, 5, &err), &err);
    CHECK_OK(nh_source_read(src, b, 10, &n, &err), &err);
    CHECK(n == 2 && b[0] == 4.0f);
    CHECK_OK(nh_source_rewind(src, &err), &err);
    CHECK_OK(nh_source_read(src, b, 1, &n, &err), &err);
    CHECK(n == 1 && b[0] == 4.0f);
    nh_source_destroy(src);
    nh_source_destroy(whole);
}

/* x * scale + shift, computed in double, then rounded to float. */
static void test_scale_and_shift(void)
{
    static const unsigned char first[4] = {0, 255, 178, 57}; /* dtype_u1_na.npy */
    nh_source_options opt;
    nh_error err = {0};
    nh_source *src;
    float buf[4];
    size_t n;

    nh_source_options_default(&opt);
    opt.scale = 1.0 / 255;
    opt.shift = -0.5;
    src = open_named("dtype_u1_na.npy", &opt);
    if (!src)
        return;
    CHECK_OK(nh_source_read(src, buf, 1, &n, &err), &err);
    for (int i = 0; i < 4; i++)
        CHECK(buf[i] == (float)(first[i] * (1.0 / 255) + -0.5));
    nh_source_destroy(src);

    src = open_named("plain.csv", &opt);
    CHECK_OK(nh_source_read(src, buf, 1, &n, &err), &err);
    CHECK(buf[0] == (float)(1.5 / 255 - 0.5));
    nh_source_destroy(src);
}

/* ------------------------------------------------------- shapes */

static void test_set_shape_fits_the_model(void)
{
    static const int64_t same[3] = {2, 2}, flat[1] = {4}, other[2] = {1, 4}, wrong[1] = {5};
    static const int64_t image[3] = {1, 28, 28};
    int64_t shape[NH_MAX_DIMS];
    nh_error err = {0};
    nh_source *src = open_named("dtype_f4_le.npy", NULL);
    int reshaped = -1;

    if (!src)
        return;
    CHECK_OK(nh_source_set_shape(src, 2, same, &reshaped, &err), &err);
    CHECK(reshaped == 0);
    CHECK_OK(nh_source_set_shape(src, 1, flat, &reshaped, &err), &err);
    CHECK(reshaped == 1);
    CHECK(nh_source_shape(src, shape) == 1 && shape[0] == 4);
    CHECK_OK(nh_source_set_shape(src, 2, other, &reshaped, &err), &err);
    CHECK(reshaped == 1);
    CHECK(nh_source_set_shape(src, 1, wrong, &reshaped, &err) == NH_ESHAPE);
    CHECK(strstr(err.message, "dtype_f4_le.npy: samples have shape (2, 2) (4 values); the "
                              "model expects (5,) (5 values)") != NULL);
    nh_source_destroy(src);

    src = open_named("shape_28x27.npy", NULL);
    CHECK(nh_source_set_shape(src, 3, image, NULL, &err) == NH_ESHAPE);
    CHECK(strstr(err.message, "shape_28x27.npy: samples have shape (28, 27) (756 values); the "
                              "model expects (1, 28, 28) (784 values)") != NULL);
    nh_source_destroy(src);

    /* Scalars (a 1-d array) fit a model of one input. */
    src = open_named("scalars.npy", NULL);
    CHECK(nh_source_shape(src, shape) == 0 && nh_source_sample_size(src) == 1);
    CHECK_OK(nh_source_set_shape(src, 1, (const int64_t[]){1}, &reshaped, &err), &err);
    CHECK(reshaped == 1);
    nh_source_destroy(src);
}

/* ------------------------------------------------------- generators */

static nh_source *open_generator(const char *spec, int64_t n, uint64_t seed, uint64_t stream,
                                 int ndim, const int64_t *shape)
{
    nh_source_options opt;
    nh_error err = {0};
    nh_source *src = NULL;

    nh_source_options_default(&opt);
    opt.limit = n;
    opt.seed = seed;
    opt.stream = stream;
    CHECK_OK(nh_source_open(spec, &opt, &src, &err), &err);
    if (src)
        CHECK_OK(nh_source_set_shape(src, ndim, shape, NULL, &err), &err);
    return src;
}

static void test_generators_do_not_depend_on_batches(void)
{
    static const int64_t shape[2] = {3, 5}; /* odd: the last value has no pair */
    nh_source *src = open_generator("normal:1,2", 40, 7, 0, 2, shape);
    nh_source *again = open_generator("normal:1,2", 40, 7, 0, 2, shape);
    nh_source *stream1 = open_generator("normal:1,2", 40, 7, 1, 2, shape);
    nh_source *seed8 = open_generator("normal:1,2", 40, 8, 0, 2, shape);
    nh_error err = {0};
    float *a, *b, *c, *d;
    size_t n, m;
    nh_status s;

    if (!src || !again || !stream1 || !seed8)
        return;
    CHECK(nh_source_count(src) == 40);
    a = read_all(src, 40, &n, &s, &err);
    CHECK(n == 40);
    b = read_all(again, 3, &m, &s, &err);
    CHECK(m == 40 && memcmp(a, b, 40 * 15 * sizeof *a) == 0);
    free(b);
    CHECK_OK(nh_source_rewind(again, &err), &err);
    b = read_all(again, 1, &m, &s, &err);
    CHECK(m == 40 && memcmp(a, b, 40 * 15 * sizeof *a) == 0);
    c = read_all(stream1, 40, &m, &s, &err);
    d = read_all(seed8, 40, &m, &s, &err);
    CHECK(memcmp(a, c, 15 * sizeof *a) != 0);
    CHECK(memcmp(a, d, 15 * sizeof *a) != 0);
    CHECK(memcmp(c, d, 15 * sizeof *a) != 0);
    free(b);
    free(c);
    free(d);

    /* Jumping to sample 33 gives sample 33. */
    CHECK_OK(nh_source_set_range(again, 33, 4, &err), &err);
    b = read_all(again, 10, &m, &s, &err);
    CHECK(m == 4 && memcmp(a + 33 * 15, b, 4 * 15 * sizeof *a) == 0);
    free(a);
    free(b);
    nh_source_destroy(src);
    nh_source_destroy(again);
    nh_source_destroy(stream1);
    nh_source_destroy(seed8);
}

/* Sample moments of n = 100000 values. The tolerances are 5 standard
 * errors: mean sigma / sqrt(n), standard deviation about sigma / sqrt(2 n),
 * correlation 1 / sqrt(n). */
static void test_generator_moments(void)
{
    static const int64_t pair[1] = {2};
    const size_t n = 50000; /* samples of 2 values: 100000 values */
    nh_source *src = open_generator("normal:1.5,2", (int64_t)n, 42, 0, 1, pair);
    nh_source *uni = open_generator("uniform:-1,3", (int64_t)n, 42, 1, 1, pair);
    double sum = 0, sum2 = 0, cross = 0, lo = INFINITY, hi = -INFINITY;
    const double sd_n = sqrt(2.0 * n);
    nh_error err = {0};
    float *v;
    size_t m;
    nh_status s;

    if (!src || !uni)
        return;
    v = read_all(src, 256, &m, &s, &err);
    CHECK(m == n);
    for (size_t i = 0; i < 2 * n; i++) {
        sum += v[i];
        sum2 += (double)v[i] * v[i];
    }
    for (size_t i = 0; i < n; i++) /* the cosine and sine of one pair */
        cross += (v[2 * i] - 1.5) * (v[2 * i + 1] - 1.5);
    CHECK_CLOSE(sum / (2 * n), 1.5, 0, 5 * 2 / sd_n);
    CHECK_CLOSE(sqrt(sum2 / (2 * n) - pow(sum / (2 * n), 2)), 2.0, 0, 5 * 2 / sqrt(4.0 * n));
    CHECK_CLOSE(cross / n / 4, 0, 0, 5 / sqrt((double)n));
    free(v);

    sum = sum2 = 0;
    v = read_all(uni, 1000, &m, &s, &err);
    for (size_t i = 0; i < 2 * n; i++) {
        sum += v[i];
        sum2 += (double)v[i] * v[i];
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
    }
    CHECK(lo >= -1 && hi <= 3 && lo < -0.999 && hi > 2.999);
    CHECK_CLOSE(sum / (2 * n), 1.0, 0, 5 * (4 / sqrt(12.0)) / sd_n);
    CHECK_CLOSE(sum2 / (2 * n) - pow(sum / (2 * n), 2), 16.0 / 12, 0, 0.02);
    free(v);
    nh_source_destroy(src);
    nh_source_destroy(uni);
}

static void test_generator_specs_are_strict(void)
{
    static const char *bad[] = {"normal:0",      "normal:0,0",  "normal:0,-1", "normal:a,1",
                                "normal:0,1,2",  "normal:",     "normal:nan,1", "normal:0,inf",
                                "uniform:1,1",   "uniform:2,1", "uniform:0,1x", "uniform:,1",
                                "uniform:0,1e999"};
    nh_source_options opt;
    nh_error err = {0};
    nh_source *src = NULL;
    float buf[4];
    size_t n;

    nh_source_options_default(&opt);
    opt.limit = 10;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(nh_source_open(bad[i], &opt, &src, &err) == NH_EINVAL);
        CHECK(src == NULL);
        CHECK(strstr(err.message, bad[i]) != NULL);
        CHECK(strstr(err.message, bad[i][0] == 'n' ? "expected normal:MU,SIGMA"
                                                   : "expected uniform:A,B") != NULL);
    }
    CHECK_OK(nh_source_open("normal: -1.5 , 2e-3 ", &opt, &src, &err), &err);
    nh_source_destroy(src);

    opt.limit = -1;
    CHECK(nh_source_open("uniform:0,1", &opt, &src, &err) == NH_EINVAL);
    CHECK(strstr(err.message, "generator needs a sample count (-n)") != NULL);

    opt.limit = 3;
    CHECK_OK(nh_source_open("uniform:0,1", &opt, &src, &err), &err);
    CHECK(nh_source_sample_size(src) == 0);
    CHECK(nh_source_read(src, buf, 1, &n, &err) == NH_EINVAL);
    CHECK(strstr(err.message, "nh_source_set_shape") != NULL);
    nh_source_destroy(src);
}

/* ------------------------------------------------------- memory */

static void test_memory_source(void)
{
    float data[5 * 3] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    nh_source_options opt;
    nh_error err = {0};
    nh_source *src = NULL;
    float buf[5 * 3];
    size_t n;

    nh_source_options_default(&opt);
    opt.limit = 4;
    opt.scale = 2;
    opt.shift = 1;
    CHECK_OK(nh_source_open_memory(data, 5, 3, &opt, &src, &err), &err);
    if (!src)
        return;
    CHECK(nh_source_count(src) == 4 && nh_source_sample_size(src) == 3);
    CHECK_OK(nh_source_set_range(src, 1, 2, &err), &err);
    CHECK_OK(nh_source_read(src, buf, 5, &n, &err), &err);
    CHECK(n == 2 && buf[0] == 7 && buf[5] == 17);
    nh_source_destroy(src);

    data[7] = NAN;
    CHECK_OK(nh_source_open_memory(data, 5, 3, NULL, &src, &err), &err);
    CHECK(nh_source_read(src, buf, 5, &n, &err) == NH_ENUMERIC);
    CHECK(n == 0);
    CHECK(strstr(err.message, "memory: sample 2, value 1 is NaN") != NULL);
    nh_source_destroy(src);
}

/* ------------------------------------------------------- errors */

typedef struct error_case {
    const char *name;
    int at_read; /* 0: opening fails; 1: reading fails */
    nh_status status;
    const char *text;
} error_case;

static const error_case error_cases[] = {
    {"missing.npy", 0, NH_EIO, "missing.npy: cannot open: No such file or directory"},
    {"empty.npy", 0, NH_EFORMAT, "empty.npy: empty file: expected a .npy file"},
    {"empty.csv", 0, NH_EFORMAT, "empty.csv: empty file"},
    {"empty.dat", 0, NH_EFORMAT, "empty.dat: empty file"},
    {"unknown.bin", 0, NH_EUNSUPPORTED, "unknown.bin: unknown format"},
    {"truncated.npy", 0, NH_EFORMAT,
     "truncated.npy: truncated: expected 28 bytes of data for sample 10, got 12"},
    {"truncated.npy.gz", 1, NH_EFORMAT,
     "truncated.npy.gz: truncated: expected 28 bytes of data for sample 10, got 12"},
    {"truncated_fortran.npy", 0, NH_EFORMAT, "truncated: expected 560 bytes of data, got 292"},
    {"truncated_header.npy", 0, NH_EFORMAT, "truncated: expected a .npy header of 118 bytes"},
    {"truncated_magic.npy", 0, NH_EFORMAT, "truncated_magic.npy: truncated"},
    {"cut_stream.npy.gz", 1, NH_EFORMAT, "cut_stream.npy.gz: truncated"},
    {"bad_crc.npy.gz", 0, NH_EFORMAT, "bad_crc.npy.gz: damaged gzip data: incorrect data check"},
    {"cut_gzip_header.npy.gz", 0, NH_EFORMAT, "cut_gzip_header.npy.gz: truncated gzip data"},
    {"bad_header.npy", 0, NH_EFORMAT, "bad_header.npy: malformed .npy header"},
    {"no_shape.npy", 0, NH_EFORMAT, "no_shape.npy: the .npy header lacks 'shape'"},
    {"version4.npy", 0, NH_EUNSUPPORTED, "version4.npy: .npy format version 4.0"},
    {"fortran_huge.npy.gz", 0, NH_EUNSUPPORTED, "save it in C order"},
    {"complex.npy", 0, NH_EUNSUPPORTED, "complex.npy: dtype '<c16' (complex)"},
    {"unicode.npy", 0, NH_EUNSUPPORTED, "unicode.npy: dtype '<U2'"},
    {"object.npy", 0, NH_EUNSUPPORTED, "object.npy: dtype '|O'"},
    {"datetime.npy", 0, NH_EUNSUPPORTED, "datetime.npy: dtype '<M8[s]'"},
    {"structured.npy", 0, NH_EUNSUPPORTED,
     "structured.npy: structured dtype [('a', '<i4'), ('b', '<f8')]"},
    {"zero_d.npy", 0, NH_EFORMAT, "zero_d.npy: a 0-d array has no sample axis: no samples"},
    {"zero_samples.npy", 0, NH_EFORMAT, "zero_samples.npy: no samples"},
    {"zero_values.npy", 0, NH_EFORMAT, "zero_values.npy: samples have shape (0,): no values"},
    {"idx_truncated-idx3-ubyte", 0, NH_EFORMAT,
     "truncated: expected 12 bytes of IDX dimensions, got 8"},
    {"nan.npy", 1, NH_ENUMERIC, "nan.npy: sample 2, value 1 is NaN"},
    {"inf.npy", 1, NH_ENUMERIC, "inf.npy: sample 1, value 0 is -infinity"},
    {"huge_f8.npy", 1, NH_ENUMERIC, "huge_f8.npy: sample 0, value 0 is +infinity"},
    {"bad_fields.csv", 1, NH_EFORMAT, "bad_fields.csv: line 3 has 2 fields, expected 3"},
    {"bad_word.csv", 1, NH_EFORMAT, "bad_word.csv: line 4, column 2: 'abc' is not a number"},
    {"bad_empty_field.csv", 1, NH_EFORMAT, "bad_empty_field.csv: line 2, column 2: empty field"},
    {"bad_blank_line.csv", 1, NH_EFORMAT, "bad_blank_line.csv: line 2 is empty"},
    {"bad_mixed.csv", 0, NH_EFORMAT, "bad_mixed.csv: line 1 mixes delimiters"},
    {"nan.csv", 1, NH_ENUMERIC, "nan.csv: sample 1, value 1 is NaN"},
    {"header_only.csv", 0, NH_EFORMAT, "header_only.csv: no samples"},
    {"gauss:0,1", 0, NH_EIO, "(generators are normal:MU,SIGMA and uniform:A,B)"},
};

static void check_error_case(const error_case *c)
{
    nh_error err = {0};
    nh_source *src = NULL;
    nh_status s = nh_source_open(sample_path(c->name), NULL, &src, &err);
    int ok;

    if (c->at_read) {
        size_t n;
        float *all;

        CHECK_OK(s, &err);
        if (!src)
            return;
        all = read_all(src, 4, &n, &s, &err);
        free(all);
        nh_source_destroy(src);
    } else {
        CHECK(src == NULL);
    }
    ok = s == c->status && strstr(err.message, c->text) != NULL &&
         (strchr(c->name, ':') || strstr(err.message, sample_path(c->name)) != NULL);
    if (!ok)
        fprintf(stderr, "%s: got status %d \"%s\"; expected %d \"...%s...\"\n", c->name, s,
                err.message, c->status, c->text);
    CHECK(ok);
}

static void test_errors_name_the_file(void)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++)
        check_error_case(&error_cases[i]);
}

static void test_bad_arguments(void)
{
    nh_source_options opt;
    nh_error err = {0};
    nh_source *src = NULL;
    float buf[16];
    size_t n;

    nh_source_options_default(&opt);
    opt.limit = 0;
    CHECK(nh_source_open(sample_path("plain.csv"), &opt, &src, &err) == NH_EINVAL);
    CHECK(strstr(err.message, "limit") != NULL);
    opt.limit = -1;
    opt.scale = NAN;
    CHECK(nh_source_open(sample_path("plain.csv"), &opt, &src, &err) == NH_EINVAL);
    CHECK(strstr(err.message, "scale") != NULL);

    /* Finite data that scaling makes infinite. */
    opt.scale = 10;
    CHECK_OK(nh_source_open(sample_path("dtype_f4_le.npy"), &opt, &src, &err), &err);
    CHECK(nh_source_read(src, buf, 1, &n, &err) == NH_ENUMERIC);
    CHECK(strstr(err.message, "sample 0, value 0 is +infinity after scale and shift") != NULL);

    CHECK(nh_source_read(src, buf, 0, &n, &err) == NH_EINVAL);
    CHECK(nh_source_set_range(src, -1, 2, &err) == NH_EINVAL);
    CHECK(nh_source_set_range(src, 4, 0, &err) == NH_EINVAL);
    CHECK_OK(nh_source_set_range(src, 3, 0, &err), &err);
    CHECK(nh_source_count(src) == 0);
    CHECK_OK(nh_source_read(src, buf, 1, &n, &err), &err);
    CHECK(n == 0);
    nh_source_destroy(src);
    nh_source_destroy(NULL);

    CHECK(nh_source_open(SAMPLES, NULL, &src, &err) != NH_OK);
    CHECK(src == NULL);
}

/* ------------------------------------------------------- Fashion-MNIST */

static void test_fashion_mnist_first_and_last_images(void)
{
    FILE *f = fopen(SAMPLES "fashion_mnist_t10k.txt", "r");
    int count, rows, cols, want[2][784];
    int64_t shape[NH_MAX_DIMS];
    nh_source *src = NULL;
    nh_error err = {0};
    float image[784];
    size_t n;
    FILE *data = fopen(FASHION, "rb");

    if (!f || !data) {
        printf("skipped: %s not installed\n", FASHION);
        if (f)
            fclose(f);
        if (data)
            fclose(data);
        return;
    }
    fclose(data);
    CHECK(fscanf(f, "%d %d %d", &count, &rows, &cols) == 3);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 784; i++)
            CHECK(fscanf(f, "%d", &want[k][i]) == 1);
    fclose(f);

    CHECK_OK(nh_source_open(FASHION, NULL, &src, &err), &err);
    if (!src)
        return;
    CHECK(nh_source_count(src) == count);
    CHECK(nh_source_shape(src, shape) == 2 && shape[0] == rows && shape[1] == cols);
    CHECK_OK(nh_source_read(src, image, 1, &n, &err), &err);
    for (int i = 0; i < 784; i++)
        CHECK(image[i] == (float)want[0][i]);
    CHECK_OK(nh_source_set_range(src, count - 1, 5, &err), &err);
    CHECK_OK(nh_source_read(src, image, 1, &n, &err), &err);
    CHECK(n == 1);
    for (int i = 0; i < 784; i++)
        CHECK(image[i] == (float)want[1][i]);
    CHECK_OK(nh_source_read(src, image, 1, &n, &err), &err);
    CHECK(n == 0);
    nh_source_destroy(src);
}

/* ------------------------------------------------------- writing .npy */

static long file_bytes(const char *path, unsigned char *head, size_t head_size)
{
    FILE *f = fopen(path, "rb");
    long size;

    if (!f)
        return -1;
    memset(head, 0, head_size);
    if (fread(head, 1, head_size, f) == 0)
        head[0] = 0;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    return size;
}

static void test_npy_writer_round_trip(void)
{
    static const char *path = "test_data_writer.npy";
    static const int64_t shape[2] = {2, 3};
    float data[7 * 6], got[7 * 6];
    unsigned char head[256];
    nh_npy_writer *w = NULL;
    nh_source *src = NULL;
    nh_error err = {0};
    size_t header, n;
    long size;

    for (int i = 0; i < 7 * 6; i++)
        data[i] = (float)i * 0.5f - 3;
    CHECK_OK(nh_npy_writer_open(path, 2, shape, -1, &w, &err), &err);
    if (!w)
        return;
    CHECK_OK(nh_npy_writer_append(w, data, 3, &err), &err);
    CHECK_OK(nh_npy_writer_append(w, data + 3 * 6, 4, &err), &err);
    CHECK_OK(nh_npy_writer_close(w, &err), &err);

    size = file_bytes(path, head, sizeof head);
    header = 10 + (size_t)(head[8] | head[9] << 8);
    CHECK(memcmp(head, "\x93NUMPY\x01\x00", 8) == 0);
    CHECK(header % 64 == 0 && head[header - 1] == '\n');
    CHECK(size == (long)(header + sizeof data));
    CHECK(strstr((const char *)head + 10,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 2, 3), }") != NULL);
    CHECK_OK(nh_source_open(path, NULL, &src, &err), &err);
    CHECK(nh_source_count(src) == 7);
    CHECK_OK(nh_source_read(src, got, 10, &n, &err), &err);
    CHECK(n == 7 && memcmp(got, data, sizeof data) == 0);
    nh_source_destroy(src);

    /* A count given in advance that turns out wrong is patched too. */
    CHECK_OK(nh_npy_writer_open(path, 1, shape + 1, 9, &w, &err), &err);
    CHECK_OK(nh_npy_writer_append(w, data, 2, &err), &err);
    CHECK_OK(nh_npy_writer_close(w, &err), &err);
    size = file_bytes(path, head, sizeof head);
    CHECK(strstr((const char *)head + 10, "'shape': (2, 3), }") != NULL);
    CHECK(size == (long)(10 + (head[8] | head[9] << 8) + 6 * sizeof(float)));

    /* Standard output needs the count first. */
    CHECK(nh_npy_writer_open("-", 2, shape, -1, &w, &err) == NH_EINVAL);
    CHECK(w == NULL);
    CHECK(nh_npy_writer_close(NULL, &err) == NH_OK);
    CHECK(nh_npy_writer_open("/nonexistent-dir/x.npy", 2, shape, -1, &w, &err) == NH_EIO);
    CHECK(strstr(err.message, "/nonexistent-dir/x.npy: cannot open") != NULL);
    remove(path);
}

static void test_npy_write_f64(void)
{
    static const char *path = "test_data_f64.npy";
    static const double values[5] = {1.0 / 3, -2, 1e300, 0, 5e-324};
    unsigned char head[256];
    nh_error err = {0};
    size_t header;
    long size;

    CHECK_OK(nh_npy_write_f64(path, 1, (const int64_t[]){5}, values, &err), &err);
    size = file_bytes(path, head, sizeof head);
    CHECK(strstr((const char *)head + 10,
                 "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }") != NULL);
    header = 10 + (size_t)(head[8] | head[9] << 8);
    CHECK(header % 64 == 0 && size == (long)(header + 5 * 8));
    {
        FILE *f = fopen(path, "rb");
        double back[5];

        CHECK(f && fseek(f, (long)header, SEEK_SET) == 0 && fread(back, 8, 5, f) == 5);
        CHECK(memcmp(back, values, sizeof back) == 0);
        if (f)
            fclose(f);
    }
    CHECK_OK(nh_npy_write_f64(path, 2, (const int64_t[]){1, 5}, values, &err), &err);
    file_bytes(path, head, sizeof head);
    CHECK(strstr((const char *)head + 10, "'shape': (1, 5), }") != NULL);
    CHECK_OK(nh_npy_write_f64(path, 0, NULL, values, &err), &err);
    size = file_bytes(path, head, sizeof head);
    header = 10 + (size_t)(head[8] | head[9] << 8);
    CHECK(strstr((const char *)head + 10, "'shape': (), }") != NULL);
    CHECK(header % 64 == 0 && size == (long)(header + 8));
    remove(path);
}

int main(void)
{
    test_files_read_as_numpy_reads_them();
    test_ranges_split_a_source();
    test_limit_takes_the_first_samples();
    test_scale_and_shift();
    test_set_shape_fits_the_model();
    test_generators_do_not_depend_on_batches();
    test_generator_moments();
    test_generator_specs_are_strict();
    test_memory_source();
    test_errors_name_the_file();
    test_bad_arguments();
    test_fashion_mnist_first_and_last_images();
    test_npy_writer_round_trip();
    test_npy_write_f64();
    return check_summary();
}
