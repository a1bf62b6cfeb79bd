/* Keras support: channels-last operators against their channels-first
 * form (bit for bit), the activations Keras adds, channels-last shape
 * inference, and loading Keras files through the public API, from disk and
 * from memory, with the errors of bad files. The files are the small ones
 * of tests/data/keras (make_keras_models.py); the real models of
 * ../shared/fixtures/keras are loaded when present. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/file.h"
#include "model/graph.h"
#include "model/keras.h"
#include "nn/exec.h"
#include "nn/ops-impl.h"
#include "node_helpers.h"

#define DATA NH_SOURCE_DIR "/tests/data/keras/"

static nh_error err;


/* Deterministic values in [-1, 1). */
static void fill(float *x, size_t n, unsigned seed)
{
    unsigned s = seed * 2654435761u + 1;

    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* x [N, C, P] to [N, P, C]. */
static void to_last(const float *x, float *y, int64_t nb, int64_t c, int64_t p)
{
    for (int64_t b = 0; b < nb; b++)
        for (int64_t k = 0; k < c; k++)
            for (int64_t i = 0; i < p; i++)
                y[(b * p + i) * c + k] = x[(b * c + k) * p + i];
}

/* Runs node n on x (channels-first dims dx) both ways: channels-first, and
 * channels-last on the transposed input; the channels-last result moved
 * back must equal the channels-first one exactly. in[1..] are the other
 * inputs (weights), the same for both. dy is the channels-first output. */
static void check_both_layouts(nh_node n, const float *x, const int64_t *dx, int r,
                               nh_tensor_view *in, int n_in, const int64_t *dy, int ry)
{
    int64_t p = 1, q = 1, dxl[NH_MAX_DIMS], dyl[NH_MAX_DIMS];
    size_t nx, ny;
    float *xl, *ycf, *yl, *yback;
    int global = n.op == NH_OP_GLOBALAVGPOOL || n.op == NH_OP_GLOBALMAXPOOL, same = 1;

    for (int i = 2; i < r; i++)
        p *= dx[i];
    for (int i = 2; i < ry; i++)
        q *= dy[i];
    nx = (size_t)(dx[0] * dx[1] * p);
    ny = (size_t)(dy[0] * dy[1] * q);
    xl = malloc(nx * sizeof *xl);
    ycf = malloc(ny * sizeof *ycf);
    yl = malloc(ny * sizeof *yl);
    yback = malloc(ny * sizeof *yback);
    to_last(x, xl, dx[0], dx[1], p);

    in[0] = (nh_tensor_view){x, r, dx};
    CHECK_OK(nh_op_run(&n, in, n_in, ycf, ry, dy, &err), &err);

    dxl[0] = dx[0];
    memcpy(dxl + 1, dx + 2, (size_t)(r - 2) * sizeof *dxl);
    dxl[r - 1] = dx[1];
    dyl[0] = dy[0];
    memcpy(dyl + 1, dy + 2, (size_t)(ry - 2) * sizeof *dyl);
    dyl[ry - 1] = dy[1];
    n.a.channels_last = 1;
    in[0] = (nh_tensor_view){xl, r, dxl};
    if (global) /* [N, C] */
        CHECK_OK(nh_op_run(&n, in, n_in, yl, 2, dy, &err), &err);
    else
        CHECK_OK(nh_op_run(&n, in, n_in, yl, ry, dyl, &err), &err);
    /* back to channels-first: y[n, p, c] -> [n, c, p] */
    for (int64_t b = 0; b < dy[0]; b++)
        for (int64_t k = 0; k < dy[1]; k++)
            for (int64_t i = 0; i < q; i++)
                yback[(b * dy[1] + k) * q + i] = yl[(b * q + i) * dy[1] + k];
    for (size_t i = 0; i < ny; i++)
        same &= memcmp(&yback[i], &ycf[i], sizeof(float)) == 0;
    CHECK(same);
    free(xl);
    free(ycf);
    free(yl);
    free(yback);
}

static void test_channels_last_conv_is_bit_identical(void)
{
    nh_node n = make_node(NH_OP_CONV, "Conv2D");
    const int64_t dx[] = {3, 4, 7, 6}, dw[] = {6, 2, 3, 2}, db[] = {6}, dy[] = {3, 6, 4, 3};
    float x[3 * 4 * 7 * 6], w[6 * 2 * 3 * 2], b[6];
    nh_tensor_view in[3] = {{0}, {w, 4, dw}, {b, 1, db}};

    fill(x, sizeof x / sizeof *x, 1);
    fill(w, sizeof w / sizeof *w, 2);
    fill(b, 6, 3);
    n.a.n_spatial = 2;
    n.a.kernel[0] = 3;
    n.a.kernel[1] = 2;
    n.a.strides[0] = 2;
    n.a.strides[1] = 2;
    n.a.dilations[1] = 2;
    n.a.group = 2;
    n.a.auto_pad = NH_PAD_SAME_UPPER; /* 7 -> 4 rows, 6 -> 3 columns */
    check_both_layouts(n, x, dx, 4, in, 3, dy, 4);
}

static void test_channels_last_pools_and_batchnorm(void)
{
    const int64_t dx[] = {2, 3, 5, 5}, dy[] = {2, 3, 5, 5}, dg[] = {2, 3, 1, 1}, dp[] = {3};
    float x[2 * 3 * 5 * 5], s[3] = {1.5f, -0.5f, 2}, t[3] = {0.1f, 0, -1};
    float mean[3] = {0.2f, -0.1f, 0}, var[3] = {1, 0.5f, 2};
    nh_tensor_view in[5] = {{0}, {s, 1, dp}, {t, 1, dp}, {mean, 1, dp}, {var, 1, dp}};
    nh_node n;

    fill(x, sizeof x / sizeof *x, 4);
    for (int k = 0; k < 2; k++) {
        n = make_node(k ? NH_OP_AVGPOOL : NH_OP_MAXPOOL, "Pool");
        n.a.n_spatial = 2;
        n.a.kernel[0] = n.a.kernel[1] = 2;
        n.a.auto_pad = NH_PAD_SAME_UPPER; /* averages over the valid positions only */
        check_both_layouts(n, x, dx, 4, in, 1, dy, 4);
    }
    n = make_node(NH_OP_GLOBALAVGPOOL, "GlobalAveragePooling2D");
    check_both_layouts(n, x, dx, 4, in, 1, dg, 4);
    n = make_node(NH_OP_GLOBALMAXPOOL, "GlobalMaxPooling2D");
    check_both_layouts(n, x, dx, 4, in, 1, dg, 4);
    n = make_node(NH_OP_BATCHNORM, "BatchNormalization");
    n.a.epsilon = 1e-3f;
    check_both_layouts(n, x, dx, 4, in, 5, dy, 4);
}

static void test_keras_activations(void)
{
    const float x[] = {-2, -1, 0, 1, 3};
    const int64_t d[] = {5};
    nh_tensor_view in = {x, 1, d};
    float y[5];
    nh_node n;

    n = make_node(NH_OP_SOFTSIGN, "softsign");
    CHECK_OK(nh_op_run(&n, &in, 1, y, 1, d, &err), &err);
    CHECK_CLOSE(y[0], -2.0 / 3, 1e-7, 0);
    CHECK_CLOSE(y[3], 0.5, 1e-7, 0);
    CHECK(y[2] == 0);

    n = make_node(NH_OP_SWISH, "swish"); /* x / (1 + e^-x) */
    CHECK_OK(nh_op_run(&n, &in, 1, y, 1, d, &err), &err);
    CHECK_CLOSE(y[1], -0.2689414213699951, 1e-7, 0);
    CHECK_CLOSE(y[4], 2.8577223804673, 1e-7, 0);
    CHECK(y[2] == 0);

    n = make_node(NH_OP_GELU, "gelu"); /* x Phi(x) */
    CHECK_OK(nh_op_run(&n, &in, 1, y, 1, d, &err), &err);
    CHECK_CLOSE(y[0], -0.04550026389635842, 1e-6, 0);
    CHECK_CLOSE(y[3], 0.8413447460685429, 1e-7, 0);
    n.a.approximate = 1; /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    CHECK_OK(nh_op_run(&n, &in, 1, y, 1, d, &err), &err);
    CHECK_CLOSE(y[3], 0.8411919906082768, 1e-7, 0);
    CHECK_CLOSE(y[0], -0.04540230591222, 1e-6, 0);

    /* Keras 3's hard_sigmoid is relu6(x + 3) / 6: HardSigmoid(1/6, 1/2). */
    n = make_node(NH_OP_HARDSIGMOID, "hard_sigmoid");
    n.a.alpha = 1.0f / 6.0f;
    n.a.beta = 0.5f;
    CHECK_OK(nh_op_run(&n, &in, 1, y, 1, d, &err), &err);
    CHECK_CLOSE(y[1], 2.0 / 6, 1e-6, 0);
    CHECK(y[4] == 1.0f);
}

static void test_channels_last_shapes(void)
{
    nh_node n = make_node(NH_OP_CONV, "Conv2D");
    nh_shape in[2] = {{4, {NH_DIM_BATCH, 10, 10, 2}}, {4, {3, 2, 3, 3}}}, out;
    nh_attrs a;

    n.a.channels_last = 1;
    n.a.strides[0] = n.a.strides[1] = 2;
    n.a.auto_pad = NH_PAD_SAME_UPPER;
    a = n.a;
    CHECK_OK(nh_op_shape(&n, &a, in, 2, NULL, &out, &err), &err);
    CHECK(out.ndim == 4 && out.d[0] == NH_DIM_BATCH && out.d[1] == 5 && out.d[2] == 5
          && out.d[3] == 3);
    CHECK(a.pads[0] == 0 && a.pads[2] == 1); /* TensorFlow's odd pad goes at the end */

    n = make_node(NH_OP_GLOBALAVGPOOL, "GlobalAveragePooling2D");
    n.a.channels_last = 1;
    a = n.a;
    CHECK_OK(nh_op_shape(&n, &a, in, 1, NULL, &out, &err), &err);
    CHECK(out.ndim == 2 && out.d[1] == 2);

    /* Channels must match the weights on the last axis. */
    in[0].d[3] = 4;
    n = make_node(NH_OP_CONV, "Conv2D");
    n.a.channels_last = 1;
    a = n.a;
    CHECK(nh_op_shape(&n, &a, in, 2, NULL, &out, &err) == NH_ESHAPE);
}

/* ------------------------------------------------------------ loading */

static nh_model *load(const char *path, const char *config)
{
    nh_model *m = NULL;

    CHECK_OK(nh_model_load_file_config(path, config, &m, &err), &err);
    return m;
}

static void check_layer(const nh_model *m, size_t i, nh_layer_kind kind, int ndim,
                        const int64_t *shape, size_t initial)
{
    nh_layer_info li;

    CHECK_OK(nh_model_layer(m, i, &li, &err), &err);
    CHECK(li.kind == kind);
    CHECK(li.ndim == ndim && memcmp(li.shape, shape, (size_t)ndim * sizeof *shape) == 0);
    CHECK(li.initial_set == initial);
}

static void test_cnn_layers_have_keras_shapes(void)
{
    const char *files[] = {DATA "cnn.keras", DATA "cnn_k2.h5", DATA "cnn_k3.h5",
                           DATA "cnn_tfjs.json"};
    const int64_t conv[] = {10, 10, 6}, grouped[] = {5, 5, 6}, gap[] = {6}, rows[] = {25, 2};

    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        nh_model *m = load(files[f], NULL);
        nh_layer_info li;
        int64_t in[NH_MAX_DIMS];

        if (!m)
            continue;
        CHECK(nh_model_layer_count(m) == 20);
        CHECK(nh_model_input_shape(m, in) == 3 && in[0] == 10 && in[1] == 10 && in[2] == 2);
        check_layer(m, 2, NH_LAYER_CONV, 3, conv, 2 * 9); /* 3x3 over 2 channels */
        check_layer(m, 4, NH_LAYER_CONV, 3, grouped, 3 * 9); /* 2 groups of 3 */
        check_layer(m, 8, NH_LAYER_POOL, 1, gap, 25);
        check_layer(m, 15, NH_LAYER_DENSE, 2, rows, 3); /* Dense on (25, 3) rows */
        CHECK_OK(nh_model_layer(m, 2, &li, &err), &err);
        CHECK(strcmp(li.name, "conv_a") == 0 && li.n_ops == 3);
        nh_model_destroy(m);
    }
}

/* .keras and legacy .h5 from memory give the same outputs as from disk. */
static void test_load_from_memory(void)
{
    const char *files[] = {DATA "cnn.keras", DATA "cnn_k2.h5"};
    float x[2 * 200], y1[8], y2[8];

    fill(x, 400, 9);
    for (size_t f = 0; f < 2; f++) {
        nh_model *a = load(files[f], NULL), *b = NULL;
        void *data = NULL;
        size_t size = 0;

        CHECK_OK(nh_read_file(files[f], &data, &size, &err), &err);
        CHECK_OK(nh_model_load_memory(data, size, "in memory", &b, &err), &err);
        free(data);
        if (a && b) {
            CHECK_OK(nh_model_forward(a, x, 2, y1, &err), &err);
            CHECK_OK(nh_model_forward(b, x, 2, y2, &err), &err);
            CHECK(memcmp(y1, y2, sizeof y1) == 0);
            CHECK(fabs(y1[0] + y1[1] + y1[2] + y1[3] - 1) < 1e-6); /* softmax */
        }
        nh_model_destroy(a);
        nh_model_destroy(b);
    }
}

/* The load fails with status st and a message containing every word. */
static void check_fails(const char *path, const char *config, nh_status st, const char *w1,
                        const char *w2)
{
    nh_model *m = NULL;
    nh_status got = nh_model_load_file_config(path, config, &m, &err);

    CHECK(got == st);
    CHECK(m == NULL);
    CHECK(strstr(err.message, w1) != NULL);
    CHECK(!w2 || strstr(err.message, w2) != NULL);
    if (got != st || !strstr(err.message, w1) || (w2 && !strstr(err.message, w2)))
        fprintf(stderr, "  %s: status %d, message: %s\n", path, (int)got, err.message);
    nh_model_destroy(m);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_bad_files(void)
{
    /* mkdtemp template, in the test's working directory (the build tree) */
    char dir[] = "nh_keras_tmp_XXXXXX", path[256], json[4096];

    check_fails(DATA "bad/no_config.keras", NULL, NH_EFORMAT, "no_config.keras",
                "config.json");
    check_fails(DATA "cnn_weights.h5", NULL, NH_EINVAL, "cnn_weights.h5", "--config");
    check_fails(DATA "bad/wrong_shape.h5", NULL, NH_EFORMAT, "'dense_c'", "[12,4]");
    check_fails(DATA "bad/unsupported.h5", NULL, NH_EUNSUPPORTED, "'drop'",
                "UnitNormalization");
    /* A Keras architecture alone holds no weights. */
    check_fails(DATA "cnn_in.npy", DATA "cnn_tfjs.json", NH_EFORMAT, "cnn_in.npy", NULL);

    /* TF.js: quantised weights are refused; a shard shorter than the
     * manifest is malformed. */
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    snprintf(json, sizeof json,
             "{\"modelTopology\": {\"model_config\": {\"class_name\": \"Sequential\", "
             "\"config\": {\"layers\": [{\"class_name\": \"Dense\", \"config\": {\"name\": "
             "\"d\", \"units\": 2, \"batch_input_shape\": [null, 3]}}]}}}, "
             "\"weightsManifest\": [{\"paths\": [\"w.bin\"], \"weights\": ["
             "{\"name\": \"d/kernel\", \"shape\": [3, 2], \"dtype\": \"float32\"%s}, "
             "{\"name\": \"d/bias\", \"shape\": [2], \"dtype\": \"float32\"}]}]}",
             ", \"quantization\": {\"dtype\": \"uint8\", \"min\": 0, \"scale\": 1}");
    snprintf(path, sizeof path, "%s/q.json", dir);
    write_text(path, json);
    check_fails(path, NULL, NH_EUNSUPPORTED, "d/kernel", "quantised");

    snprintf(json, sizeof json,
             "{\"modelTopology\": {\"model_config\": {\"class_name\": \"Sequential\", "
             "\"config\": {\"layers\": [{\"class_name\": \"Dense\", \"config\": {\"name\": "
             "\"d\", \"units\": 2, \"batch_input_shape\": [null, 3]}}]}}}, "
             "\"weightsManifest\": [{\"paths\": [\"w.bin\"], \"weights\": ["
             "{\"name\": \"d/kernel\", \"shape\": [3, 2], \"dtype\": \"float32\"}, "
             "{\"name\": \"d/bias\", \"shape\": [2], \"dtype\": \"float32\"}]}]}");
    snprintf(path, sizeof path, "%s/w.bin", dir);
    write_text(path, "0123456789abcdef"); /* 4 floats of the 8 */
    snprintf(path, sizeof path, "%s/short.json", dir);
    write_text(path, json);
    check_fails(path, NULL, NH_EFORMAT, "short.json", "d/kernel");

    snprintf(path, sizeof path, "%s/q.json", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/short.json", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/w.bin", dir);
    remove(path);
    remove(dir);
}

/* Keras 3's .keras groups weights by class and rank ("conv2d_1"), whatever
 * the layers are called: the fixture's config.json says conv2d_8, conv2d_9. */
static void test_fixtures(void)
{
    const char *env = getenv("NH_FIXTURES_DIR");
    char dir[512], path[600], config[600];
    const int64_t conv[] = {26, 26, 32}, pool[] = {5, 5, 64};
    nh_model *m;
    FILE *f;

    snprintf(dir, sizeof dir, "%s/keras", env ? env : NH_SOURCE_DIR "/../shared/fixtures");
    snprintf(path, sizeof path, "%s/ASLaskin.keras", dir);
    f = fopen(path, "rb");
    if (!f) {
        printf("skipped: the real Keras files of %s are absent\n", dir);
        return;
    }
    fclose(f);
    m = load(path, NULL);
    if (m) {
        check_layer(m, 1, NH_LAYER_CONV, 3, conv, 9);
        check_layer(m, 4, NH_LAYER_POOL, 3, pool, 4);
        nh_model_destroy(m);
    }
    snprintf(path, sizeof path, "%s/andres.h5", dir);
    snprintf(config, sizeof config, "%s/andres_model.json", dir);
    m = load(path, config);
    CHECK(m && nh_model_layer_count(m) == 8);
    nh_model_destroy(m);
    check_fails(path, NULL, NH_EINVAL, "andres.h5", "--config");
}

int main(void)
{
    test_channels_last_conv_is_bit_identical();
    test_channels_last_pools_and_batchnorm();
    test_keras_activations();
    test_channels_last_shapes();
    test_cnn_layers_have_keras_shapes();
    test_load_from_memory();
    test_bad_files();
    test_fixtures();
    return check_summary();
}
