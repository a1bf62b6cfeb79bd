/* The ONNX loader: weights in every storage form, old and new opset forms
 * of attributes, the shape arithmetic PyTorch exports around view(), and
 * precise errors for files nnheat cannot or must not load, including
 * truncated and corrupt bytes. The models come from
 * tests/data/make_onnx_models.py. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/file.h"
#include "model/graph.h"
#include "model/onnx.h"
#include "nn/exec.h"

#define DATA_DIR NH_SOURCE_DIR "/tests/data/onnx/"

static void *read_data(const char *file, size_t *size)
{
    char path[1024];
    void *data = NULL;
    nh_error err;

    snprintf(path, sizeof path, DATA_DIR "%s", file);
    if (nh_read_file(path, &data, size, &err) != NH_OK) {
        fprintf(stderr, "%s\n", err.message);
        return NULL;
    }
    return data;
}

/* Loads tests/data/onnx/file; NULL (and a failed check) on error. */
static nh_graph *load(const char *file)
{
    size_t size;
    void *data = read_data(file, &size);
    nh_graph *g = NULL;
    nh_error err;

    if (!data) {
        CHECK(!"test file readable");
        return NULL;
    }
    CHECK_OK(nh_onnx_load(data, size, file, &g, &err), &err);
    free(data);
    return g;
}

/* Loads a file that must fail with status st and a message holding every
 * string of want (NULL-terminated). */
static void expect_error(const char *file, nh_status st, const char *const *want)
{
    size_t size;
    void *data = read_data(file, &size);
    nh_graph *g = NULL;
    nh_error err;
    nh_status got;

    if (!data) {
        CHECK(!"test file readable");
        return;
    }
    got = nh_onnx_load(data, size, file, &g, &err);
    CHECK(got == st);
    CHECK(g == NULL);
    if (got != NH_OK) {
        CHECK(strncmp(err.message, file, strlen(file)) == 0);
        for (; *want; want++)
            if (!strstr(err.message, *want)) {
                fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", file, err.message, *want);
                CHECK(!"message names the culprit");
            }
    }
    nh_graph_destroy(g);
    free(data);
}

static const nh_node *node_named(const nh_graph *g, const char *name)
{
    int k;

    for (k = 0; k < g->n_nodes; k++)
        if (strcmp(g->nodes[k].name, name) == 0)
            return &g->nodes[k];
    fprintf(stderr, "no node %s\n", name);
    return NULL;
}

static const nh_value *value_named(const nh_graph *g, const char *name)
{
    int k = nh_graph_find_value(g, name);

    return k >= 0 ? &g->values[k] : NULL;
}

static int dims_are(const nh_value *v, int ndim, const int64_t *dims)
{
    return v && v->ndim == ndim && memcmp(v->dims, dims, (size_t)ndim * sizeof *dims) == 0;
}

static void check_gemm_weights(const nh_graph *g)
{
    const nh_value *w = value_named(g, "W"), *b = value_named(g, "B");
    const int64_t wd[2] = {2, 3}, bd[1] = {2};
    int k;

    CHECK(w && w->is_const && w->dtype == NH_DTYPE_FLOAT && dims_are(w, 2, wd));
    CHECK(b && b->is_const && dims_are(b, 1, bd));
    if (!w || !b || !w->f || !b->f)
        return;
    for (k = 0; k < 6; k++)
        CHECK_CLOSE(w->f[k], 0.1f * (float)k - 0.2f, 1e-6, 1e-7);
    CHECK_CLOSE(b->f[0], 0.5, 0, 0);
    CHECK_CLOSE(b->f[1], -0.5, 0, 0);
}

static void check_gemm_node(const nh_graph *g, const nh_node *n, float alpha, float beta)
{
    if (!n)
        return;
    CHECK(n->op == NH_OP_GEMM && strcmp(n->op_type, "Gemm") == 0);
    CHECK(n->n_in == 3 && n->in[0] == g->input);
    CHECK(n->in[1] == nh_graph_find_value(g, "W") && n->in[2] == nh_graph_find_value(g, "B"));
    CHECK_CLOSE(n->a.alpha, alpha, 0, 0);
    CHECK_CLOSE(n->a.beta, beta, 0, 0);
    CHECK(n->a.trans_a == 0 && n->a.trans_b == 1);
}

static void test_gemm_raw_data(void)
{
    nh_graph *g = load("gemm_raw.onnx");
    const int64_t xd[2] = {NH_DIM_BATCH, 3};

    if (!g)
        return;
    CHECK(g->n_nodes == 1 && g->n_values == 4);
    CHECK(g->input >= 0 && strcmp(g->values[g->input].name, "x") == 0);
    CHECK(dims_are(&g->values[g->input], 2, xd) && !g->values[g->input].is_const);
    CHECK(g->output == g->nodes[0].out && strcmp(g->values[g->output].name, "y") == 0);
    CHECK(g->values[g->output].producer == 0);
    check_gemm_weights(g);
    check_gemm_node(g, node_named(g, "dense"), 0.5f, 2.0f);
    nh_graph_destroy(g);
}

static void test_gemm_float_data(void)
{
    nh_graph *g = load("gemm_float_data.onnx");
    const nh_node *relu;

    if (!g)
        return;
    check_gemm_weights(g);
    check_gemm_node(g, node_named(g, "dense"), 0.5f, 2.0f);
    relu = node_named(g, "Relu_1"); /* unnamed in the file */
    CHECK(relu && relu->op == NH_OP_RELU && relu->n_in == 1 && relu->out == g->output);
    nh_graph_destroy(g);
}

static void test_initializers_listed_as_inputs(void)
{
    nh_graph *g = load("old_style.onnx");
    const int64_t xd[2] = {NH_DIM_BATCH, 3};

    if (!g)
        return;
    CHECK(strcmp(g->values[g->input].name, "x") == 0);
    CHECK(dims_are(&g->values[g->input], 2, xd)); /* the fixed batch of 1 is the batch */
    check_gemm_weights(g);
    check_gemm_node(g, node_named(g, "dense"), 1.0f, 1.0f);
    CHECK(g->n_nodes == 2 && g->nodes[1].op == NH_OP_SIGMOID);
    nh_graph_destroy(g);
}

static void test_constant_nodes_and_pruning(void)
{
    nh_graph *g = load("constant_node.onnx");
    const nh_value *c, *s;
    const nh_node *r;
    const int64_t cd[1] = {4};

    if (!g)
        return;
    CHECK(g->n_nodes == 3); /* add, mul, reshape; the Constants make no node */
    CHECK(nh_graph_find_value(g, "dead") < 0);
    CHECK(nh_graph_find_value(g, "shape") < 0); /* folded into Reshape's attributes */
    c = value_named(g, "c");
    s = value_named(g, "s");
    CHECK(c && c->is_const && dims_are(c, 1, cd) && c->producer == -1);
    if (c && c->f)
        CHECK(c->f[0] == 1.0f && c->f[3] == 4.0f);
    CHECK(s && s->is_const && s->ndim == 0 && s->f && s->f[0] == 0.25f);
    r = node_named(g, "reshape");
    CHECK(r && r->op == NH_OP_RESHAPE && r->n_in == 1 && r->a.n_ints == 2);
    if (r)
        CHECK(r->a.ints[0] == -1 && r->a.ints[1] == 4 && r->a.allowzero == 0);
    for (int k = 0; k < g->n_nodes; k++) { /* indices stay consistent after pruning */
        CHECK(g->nodes[k].out >= 0 && g->nodes[k].out < g->n_values);
        CHECK(g->values[g->nodes[k].out].producer == k);
    }
    nh_graph_destroy(g);
}

static void test_dtypes(void)
{
    nh_graph *g = load("dtypes.onnx");
    const nh_value *h, *d, *i8f;
    const nh_node *r;

    if (!g)
        return;
    h = value_named(g, "h");
    d = value_named(g, "d");
    i8f = value_named(g, "i8f");
    CHECK(h && h->dtype == NH_DTYPE_FLOAT && h->f);
    if (h && h->f)
        CHECK(h->f[0] == 0.5f && h->f[1] == -1.5f && h->f[2] == 2.0f && h->f[3] == 65504.0f);
    CHECK(d && d->f);
    if (d && d->f) {
        CHECK_CLOSE(d->f[0], 0.1, 1e-7, 0);
        CHECK_CLOSE(d->f[3], 1e-3, 1e-7, 0);
    }
    CHECK(i8f && i8f->is_const && i8f->dtype == NH_DTYPE_FLOAT); /* Cast folded */
    if (i8f && i8f->f)
        CHECK(i8f->f[0] == -3.0f && i8f->f[1] == 1.0f && i8f->f[3] == 127.0f);
    CHECK(nh_graph_find_value(g, "i8") < 0 && g->n_nodes == 4);
    r = node_named(g, "reshape");
    CHECK(r && r->a.n_ints == 3);
    if (r)
        CHECK(r->a.ints[0] == 0 && r->a.ints[1] == 2 && r->a.ints[2] == 2);
    nh_graph_destroy(g);
}

static void test_window_attributes(void)
{
    nh_graph *g = load("conv_attrs.onnx");
    const nh_node *n;

    if (!g)
        return;
    n = node_named(g, "conv");
    CHECK(n && n->op == NH_OP_CONV && n->n_in == 2);
    if (n) {
        CHECK(n->a.n_spatial == 2 && n->a.kernel[0] == 3 && n->a.kernel[1] == 2);
        CHECK(n->a.strides[0] == 1 && n->a.strides[1] == 2);
        CHECK(n->a.dilations[0] == 2 && n->a.dilations[1] == 1);
        CHECK(n->a.pads[0] == 1 && n->a.pads[1] == 0 && n->a.pads[2] == 2 && n->a.pads[3] == 1);
        CHECK(n->a.group == 1 && n->a.auto_pad == NH_PAD_NOTSET);
    }
    n = node_named(g, "bn");
    CHECK(n && n->op == NH_OP_BATCHNORM && n->n_in == 5);
    if (n)
        CHECK_CLOSE(n->a.epsilon, 1e-3, 1e-6, 0);
    n = node_named(g, "maxpool");
    CHECK(n && n->op == NH_OP_MAXPOOL);
    if (n) {
        CHECK(n->a.n_spatial == 2 && n->a.kernel[0] == 2 && n->a.kernel[1] == 2);
        CHECK(n->a.strides[0] == 2 && n->a.strides[1] == 1 && n->a.ceil_mode == 1);
        CHECK(n->a.auto_pad == NH_PAD_SAME_UPPER);
    }
    n = node_named(g, "avgpool");
    CHECK(n && n->op == NH_OP_AVGPOOL);
    if (n) {
        CHECK(n->a.kernel[0] == 3 && n->a.kernel[1] == 2 && n->a.count_include_pad == 1);
        CHECK(n->a.pads[0] == 1 && n->a.pads[3] == 1 && n->a.strides[0] == 3);
        CHECK(n->a.ceil_mode == 0);
    }
    nh_graph_destroy(g);
}

static void test_opset7_forms(void)
{
    nh_graph *g = load("ops_opset7.onnx");
    const nh_node *n;

    if (!g)
        return;
    n = node_named(g, "clip");
    CHECK(n && n->op == NH_OP_CLIP && n->a.min_value == -1.0f && n->a.max_value == 6.0f);
    n = node_named(g, "pad");
    CHECK(n && n->op == NH_OP_PAD && n->n_in == 1 && n->a.n_ints == 4 && n->a.value == 0.5f);
    if (n)
        CHECK(n->a.ints[0] == 0 && n->a.ints[1] == 1 && n->a.ints[3] == 1);
    n = node_named(g, "dropout");
    CHECK(n && n->op == NH_OP_IDENTITY && n->n_in == 1);
    n = node_named(g, "leaky");
    CHECK(n && n->op == NH_OP_LEAKYRELU && n->a.alpha == 0.01f);
    n = node_named(g, "softmax");
    CHECK(n && n->a.axis == 1 && n->a.softmax_single_axis == 0);
    nh_graph_destroy(g);
}

static void test_opset13_forms(void)
{
    nh_graph *g = load("ops_opset13.onnx");
    const nh_node *n;
    nh_error err;

    if (!g)
        return;
    n = node_named(g, "squeeze"); /* of a computed tensor: a Reshape */
    CHECK(n && n->op == NH_OP_RESHAPE && n->n_in == 1 && n->a.n_ints == 2);
    if (n)
        CHECK(n->a.ints[0] == NH_DIM_BATCH && n->a.ints[1] == 3);
    n = node_named(g, "clip");
    CHECK(n && n->n_in == 1 && n->a.min_value == 0.0f && isinf(n->a.max_value) &&
          n->a.max_value > 0);
    n = node_named(g, "pad");
    CHECK(n && n->n_in == 1 && n->a.n_ints == 4 && n->a.value == -2.0f);
    if (n)
        CHECK(n->a.ints[1] == 2 && n->a.ints[3] == 2);
    n = node_named(g, "dropout");
    CHECK(n && n->op == NH_OP_IDENTITY);
    n = node_named(g, "selu");
    CHECK(n && n->a.alpha == 1.67326319217681884765625f &&
          n->a.gamma == 1.05070102214813232421875f);
    n = node_named(g, "hsig");
    CHECK(n && n->a.alpha == 0.2f && n->a.beta == 0.25f);
    n = node_named(g, "transpose");
    CHECK(n && n->a.n_ints == 2 && n->a.ints[0] == 0 && n->a.ints[1] == 1);
    n = node_named(g, "softmax");
    CHECK(n && n->a.axis == -1 && n->a.softmax_single_axis == 1);
    CHECK_OK(nh_graph_infer_shapes(g, &err), &err);
    CHECK(g->values[g->output].ndim == 2 && g->values[g->output].dims[1] == 7);
    nh_graph_destroy(g);
}

/* Reads the input and expected output written by make_onnx_models.py. */
static int read_torch_reference(float *x, int nx, float *y, int ny)
{
    char path[1024];
    FILE *f;
    int k, ok = 1;

    snprintf(path, sizeof path, DATA_DIR "torch_view.txt");
    f = fopen(path, "r");
    if (!f)
        return 0;
    ok = fscanf(f, "%*[^\n]") == 0;
    for (k = 0; ok && k < nx; k++)
        ok = fscanf(f, "%f", &x[k]) == 1;
    for (k = 0; ok && k < ny; k++)
        ok = fscanf(f, "%f", &y[k]) == 1;
    fclose(f);
    return ok;
}

/* x.view(x.size(0), -1) folds into a Reshape to [batch, -1], and the graph
 * computes what PyTorch did, for a batch of 2 although the file was
 * exported with 1. */
static void check_torch_view(const char *file)
{
    nh_graph *g = load(file);
    nh_exec *ex = NULL;
    float x[32], want[6];
    const nh_node *r = NULL;
    const float *y;
    nh_error err;
    int k;

    if (!g)
        return;
    for (k = 0; k < g->n_nodes; k++) {
        CHECK(g->nodes[k].op != NH_OP_CONCAT);
        if (g->nodes[k].op == NH_OP_RESHAPE)
            r = &g->nodes[k];
    }
    CHECK(g->n_nodes == 4); /* Conv, Relu, Reshape, Gemm */
    CHECK(r && r->n_in == 1 && r->a.n_ints == 2);
    if (r)
        CHECK(r->a.ints[0] == NH_DIM_BATCH && r->a.ints[1] == -1);
    CHECK_OK(nh_graph_infer_shapes(g, &err), &err);
    CHECK(g->values[g->output].ndim == 2 && g->values[g->output].dims[0] == NH_DIM_BATCH &&
          g->values[g->output].dims[1] == 3);

    CHECK(read_torch_reference(x, 32, want, 6));
    CHECK_OK(nh_exec_create(g, 2, &ex, &err), &err);
    if (ex) {
        CHECK_OK(nh_exec_run(ex, x, 2, &err), &err);
        y = nh_exec_value(ex, g->output);
        for (k = 0; y && k < 6; k++)
            CHECK_CLOSE(y[k], want[k], 1e-5, 1e-6);
    }
    nh_exec_destroy(ex);
    nh_graph_destroy(g);
}

static void test_torch_view(void)
{
    check_torch_view("torch_view.onnx");        /* Shape, Gather, Unsqueeze, Concat */
    check_torch_view("torch_view_static.onnx"); /* Reshape to the constant [1, -1] */
}

static void test_bound_inputs(void)
{
    size_t size;
    void *data = read_data("two_inputs.onnx", &size);
    const char *names[1] = {"z"}, *bad[1] = {"nope"};
    float zv[3] = {1, 2, 3}, sv[2] = {0, -1};
    float *values[1] = {zv}, *svalues[1] = {sv};
    const int64_t zd[2] = {1, 3}, sd[1] = {2};
    const int64_t *dims[1] = {zd}, *sdims[1] = {sd};
    int ndim[1] = {2}, sndim[1] = {1};
    nh_graph *g = NULL;
    nh_error err;

    if (!data)
        return;
    CHECK_OK(nh_onnx_load_bind(data, size, "two_inputs.onnx", names, values, ndim, dims, 1,
                               &g, &err), &err);
    if (g) {
        const nh_value *z = value_named(g, "z");

        CHECK(strcmp(g->values[g->input].name, "x") == 0);
        CHECK(z && z->is_const && dims_are(z, 2, zd) && z->f && z->f[2] == 3.0f);
        CHECK(g->n_nodes == 1 && g->nodes[0].in[1] == nh_graph_find_value(g, "z"));
    }
    nh_graph_destroy(g);
    g = NULL;
    CHECK(nh_onnx_load_bind(data, size, "two_inputs.onnx", bad, values, ndim, dims, 1, &g,
                            &err) == NH_EINVAL);
    CHECK(g == NULL && strstr(err.message, "nope"));
    free(data);

    /* An int64 input bound to floats holding integers. */
    data = read_data("reshape_bind.onnx", &size);
    if (!data)
        return;
    names[0] = "shape";
    CHECK_OK(nh_onnx_load_bind(data, size, "reshape_bind.onnx", names, svalues, sndim, sdims,
                               1, &g, &err), &err);
    if (g) {
        const nh_node *r = node_named(g, "reshape");

        CHECK(r && r->n_in == 1 && r->a.n_ints == 2 && r->a.ints[0] == 0 &&
              r->a.ints[1] == -1);
    }
    nh_graph_destroy(g);
    free(data);
}

static void test_tensor_files(void)
{
    size_t size;
    void *data = read_data("tensor_float.pb", &size);
    int64_t dims[NH_MAX_DIMS];
    float *v = NULL;
    nh_error err;
    int ndim, k;

    if (data) {
        CHECK_OK(nh_onnx_load_tensor(data, size, &ndim, dims, &v, &err), &err);
        CHECK(ndim == 2 && dims[0] == 2 && dims[1] == 3);
        for (k = 0; v && k < 6; k++)
            CHECK(v[k] == (float)k / 4);
        free(v);
        v = NULL;
        CHECK(nh_onnx_load_tensor(data, size / 2, &ndim, dims, &v, &err) == NH_EFORMAT);
        CHECK(v == NULL);
        free(data);
    }
    data = read_data("tensor_int64.pb", &size);
    if (data) {
        CHECK_OK(nh_onnx_load_tensor(data, size, &ndim, dims, &v, &err), &err);
        CHECK(ndim == 2 && dims[0] == 2 && dims[1] == 1 && v && v[0] == 7 && v[1] == -2);
        free(v);
        free(data);
    }
}

static void test_errors_name_the_culprit(void)
{
    static const char *const lstm[] = {"node \"lstm7\" (LSTM): operator not supported by nnheat",
                                       NULL};
    static const char *const domain[] = {"\"fused\"", "com.microsoft", NULL};
    static const char *const two[] = {"2 inputs", "\"x\"", "\"z\"", NULL};
    static const char *const ghost[] = {"\"add_ghost\"", "\"ghost\"", NULL};
    static const char *const no_input[] = {"node \"shape\" (Shape)", "input 0", NULL};
    static const char *const raw[] = {"\"bias\"", "raw_data", NULL};
    static const char *const ext[] = {"\"bias\"", "external", NULL};
    static const char *const indices[] = {"\"pool\"", "\"idx\"", NULL};
    static const char *const reflect[] = {"\"pad_reflect\"", "reflect", NULL};
    static const char *const opset6[] = {"node \"add\" (Add)", "opset 6", NULL};
    static const char *const opset22[] = {"opset 22", NULL};
    static const char *const symbolic[] = {"\"x\"", "axis 1", "\"C\"", NULL};
    static const char *const int_input[] = {"\"x\"", "INT64", NULL};

    expect_error("unsupported_op.onnx", NH_EUNSUPPORTED, lstm);
    expect_error("other_domain.onnx", NH_EUNSUPPORTED, domain);
    expect_error("two_inputs.onnx", NH_EUNSUPPORTED, two);
    expect_error("missing_input.onnx", NH_EFORMAT, ghost);
    expect_error("shape_no_input.onnx", NH_EFORMAT, no_input);
    expect_error("bad_raw_size.onnx", NH_EFORMAT, raw);
    expect_error("external_data.onnx", NH_EUNSUPPORTED, ext);
    expect_error("maxpool_indices.onnx", NH_EUNSUPPORTED, indices);
    expect_error("pad_reflect.onnx", NH_EUNSUPPORTED, reflect);
    expect_error("opset6.onnx", NH_EUNSUPPORTED, opset6);
    expect_error("opset22.onnx", NH_EUNSUPPORTED, opset22);
    expect_error("symbolic_axis.onnx", NH_EUNSUPPORTED, symbolic);
    expect_error("int_input.onnx", NH_EUNSUPPORTED, int_input);
}

/* A tiny deterministic generator for the corruption tests. */
static uint32_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*state >> 33);
}

/* Loads bytes that may be anything; whatever the loader says, it must not
 * crash, and a graph it accepts must be whole. */
static nh_status load_anything(const void *data, size_t size, nh_error *err)
{
    nh_graph *g = NULL;
    nh_status st = nh_onnx_load(data, size, "fuzz", &g, err);

    CHECK((st == NH_OK) == (g != NULL));
    if (st != NH_OK)
        CHECK(strncmp(err->message, "fuzz: ", 6) == 0);
    if (g) {
        nh_error e2;

        CHECK(g->input >= 0 && g->output >= 0);
        nh_graph_infer_shapes(g, &e2);
    }
    nh_graph_destroy(g);
    return st;
}

/* Overwrites one byte of data with a random value, a flipped bit or a value
 * that protobuf or the loader treat specially. */
static void mutate(unsigned char *data, size_t size, uint64_t *state)
{
    static const unsigned char special[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x12, 0x3a};
    size_t at = next_random(state) % size;

    switch (next_random(state) % 3) {
    case 0:
        data[at] = (unsigned char)next_random(state);
        break;
    case 1:
        data[at] ^= (unsigned char)(1u << (next_random(state) % 8));
        break;
    default:
        data[at] = special[next_random(state) % sizeof special];
        break;
    }
}

static void test_corrupt_bytes(void)
{
    static const char *const files[] = {
        "gemm_raw.onnx", "gemm_float_data.onnx", "old_style.onnx", "constant_node.onnx",
        "dtypes.onnx", "conv_attrs.onnx", "ops_opset7.onnx", "ops_opset13.onnx",
        "torch_view.onnx", "torch_view_static.onnx", "reshape_bind.onnx", "two_inputs.onnx"};
    unsigned char junk[512];
    uint64_t state = 12345;
    nh_error err;
    size_t f, n, k;
    size_t rounds;

    CHECK(load_anything("", 0, &err) == NH_EFORMAT); /* parses, but has no graph */
    CHECK(strstr(err.message, "no graph") != NULL);
    for (n = 1; n <= sizeof junk; n *= 2) {
        nh_status st;

        for (k = 0; k < n; k++)
            junk[k] = (unsigned char)next_random(&state);
        st = load_anything(junk, n, &err);
        CHECK(st == NH_EFORMAT || st == NH_EUNSUPPORTED);
    }
    junk[0] = 0x3a; /* field 7 (graph), length 200, but 3 bytes follow */
    junk[1] = 0xc8;
    junk[2] = 0x01;
    CHECK(load_anything(junk, 6, &err) == NH_EFORMAT);
    CHECK(strstr(err.message, "protobuf parse failed") != NULL);

    for (f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t size;
        unsigned char *data = read_data(files[f], &size), *copy;

        if (!data)
            continue;
        /* Every truncation fails cleanly; cutting the last byte cuts a
         * length-delimited field, so the parse itself fails. */
        for (n = 0; n < size; n++)
            CHECK(load_anything(data, n, &err) != NH_OK);
        CHECK(load_anything(data, size - 1, &err) == NH_EFORMAT);
        /* Random damage, sometimes truncated too. */
        copy = malloc(size);
        for (rounds = 0; copy && rounds < 4000; rounds++) {
            memcpy(copy, data, size);
            for (k = 0; k < 1 + rounds % 8; k++)
                mutate(copy, size, &state);
            load_anything(copy, rounds % 10 ? size : next_random(&state) % size, &err);
        }
        free(copy);
        free(data);
    }
}

static void test_read_file_errors(void)
{
    void *data = NULL;
    size_t size = 1;
    nh_error err;

    CHECK(nh_read_file(DATA_DIR "no_such_file.onnx", &data, &size, &err) == NH_EIO);
    CHECK(data == NULL && size == 0);
    CHECK(strstr(err.message, "no_such_file.onnx") && strstr(err.message, "No such file"));
    CHECK(nh_read_file(DATA_DIR, &data, &size, &err) == NH_EIO); /* a directory */
}

int main(void)
{
    test_gemm_raw_data();
    test_gemm_float_data();
    test_initializers_listed_as_inputs();
    test_constant_nodes_and_pruning();
    test_dtypes();
    test_window_attributes();
    test_opset7_forms();
    test_opset13_forms();
    test_torch_view();
    test_bound_inputs();
    test_tensor_files();
    test_errors_name_the_culprit();
    test_corrupt_bytes();
    test_read_file_errors();
    return check_summary();
}
