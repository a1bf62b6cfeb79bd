/* ONNX's backend node tests (Debian's libonnx-testdata) for every operator
 * nnheat computes: load model.onnx with its extra inputs bound as
 * constants, infer shapes, run input_0 (its first axis is the batch) and
 * compare with output_0 (relative 1e-4, absolute 1e-5).
 *
 * A model is first inferred with a symbolic batch. When that is refused
 * because the operator moves or merges the batch axis, or lines it up with a
 * constant of the test's batch size (as test_add does with two [3,4,5]
 * tensors), it is inferred again with the batch fixed to input_0's first
 * dim and run as one tensor. A batched run is also checked sample by sample
 * against the batch.
 *
 * Directories listed in expected_unsupported must fail to load with
 * NH_EUNSUPPORTED; every other matching directory must pass. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/file.h"
#include "model/graph.h"
#include "model/onnx.h"
#include "nn/exec.h"
#include "onnx.pb-c.h"

#define REL_TOL 1e-4
#define ABS_TOL 1e-5
#define MAX_INPUTS 8
#define MAX_SETS 8

/* The operators nnheat computes, as ONNX's test directories name them:
 * test_<op> or test_<op>_<case> (so test_convinteger, test_convtranspose
 * and test_matmulinteger do not match). */
static const char *const operators[] = {
    "gemm", "matmul", "conv", "maxpool", "averagepool", "globalaveragepool",
    "globalmaxpool", "pad", "flatten", "reshape", "transpose", "identity", "dropout",
    "concat", "relu", "leakyrelu", "elu", "selu", "sigmoid", "hardsigmoid", "tanh",
    "softplus", "clip", "softmax", "batchnorm", "add", "sub", "mul", "div",
};

/* ONNX names its Pad tests after the mode, and two Conv tests "basic". */
static const char *const also_run[] = {
    "test_constant_pad", "test_edge_pad", "test_reflect_pad",
    "test_basic_conv_with_padding", "test_basic_conv_without_padding",
};

typedef struct expected {
    const char *dir;
    const char *reason;
} expected;

static const expected expected_unsupported[] = {
    {"test_add_uint8", "uint8 tensors"},
    {"test_sub_uint8", "uint8 tensors"},
    {"test_mul_uint8", "uint8 tensors"},
    {"test_div_uint8", "uint8 tensors"},
    {"test_maxpool_2d_uint8", "uint8 tensors"},
    {"test_clip_default_int8_inbounds", "int8 tensors"},
    {"test_clip_default_int8_max", "int8 tensors"},
    {"test_clip_default_int8_min", "int8 tensors"},
    {"test_maxpool_with_argmax_2d_precomputed_pads", "MaxPool's Indices output"},
    {"test_maxpool_with_argmax_2d_precomputed_strides", "MaxPool's Indices output"},
    {"test_batchnorm_epsilon_training_mode", "training-mode BatchNormalization"},
    {"test_batchnorm_example_training_mode", "training-mode BatchNormalization"},
    {"test_dropout_default_mask", "Dropout's mask output"},
    {"test_dropout_default_mask_ratio", "Dropout's mask output"},
    {"test_identity_opt", "optional-typed input"},
    {"test_identity_sequence", "sequence-typed input"},
    {"test_edge_pad", "int32 tensors (and Pad mode edge)"},
    {"test_reflect_pad", "int32 tensors (and Pad mode reflect)"},
    {"test_softmax_axis_0_expanded", "Softmax expanded into ReduceMax, Exp, ReduceSum"},
    {"test_softmax_axis_1_expanded", "Softmax expanded into ReduceMax, Exp, ReduceSum"},
    {"test_softmax_axis_2_expanded", "Softmax expanded into ReduceMax, Exp, ReduceSum"},
    {"test_softmax_default_axis_expanded", "Softmax expanded into ReduceMax, Exp, ReduceSum"},
    {"test_softmax_example_expanded", "Softmax expanded into ReduceMax, Exp, ReduceSum"},
    {"test_softmax_large_number_expanded", "Softmax expanded into ReduceMax, Exp, ReduceSum"},
    {"test_softmax_negative_axis_expanded", "Softmax expanded into ReduceMax, Exp, ReduceSum"},
};

typedef enum outcome { OUT_PASS, OUT_UNSUPPORTED, OUT_FAIL } outcome;

typedef struct tensor {
    int ndim;
    int64_t dims[NH_MAX_DIMS];
    float *data;
} tensor;

static int matches(const char *name)
{
    size_t n = sizeof operators / sizeof operators[0];

    for (size_t i = 0; i < sizeof also_run / sizeof also_run[0]; i++)
        if (!strcmp(name, also_run[i]))
            return 1;
    if (strncmp(name, "test_", 5))
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(operators[i]);

        if (!strncmp(name + 5, operators[i], len) &&
            (name[5 + len] == '\0' || name[5 + len] == '_'))
            return 1;
    }
    return 0;
}

static const char *expected_reason(const char *name)
{
    for (size_t i = 0; i < sizeof expected_unsupported / sizeof expected_unsupported[0]; i++)
        if (!strcmp(name, expected_unsupported[i].dir))
            return expected_unsupported[i].reason;
    return NULL;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir whose names start with prefix, sorted; returns the
 * count (names freed by the caller). */
static int list_dir(const char *dir, const char *prefix, char **names, int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) && n < max)
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    return n;
}

/* dir/name or dir/set/name into buf; returns 0 if it does not fit. */
static int path_join(char *buf, size_t size, const char *dir, const char *set, const char *name)
{
    int n = set ? snprintf(buf, size, "%s/%s/%s", dir, set, name)
                : snprintf(buf, size, "%s/%s", dir, name);

    return n >= 0 && (size_t)n < size;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");

    if (f)
        fclose(f);
    return f != NULL;
}

static nh_status read_tensor(const char *path, tensor *t, nh_error *err)
{
    void *data = NULL;
    size_t size;
    nh_status st = nh_read_file(path, &data, &size, err);

    if (!st)
        st = nh_onnx_load_tensor(data, size, &t->ndim, t->dims, &t->data, err);
    if (st)
        nh_error_prefix(err, "%s", path);
    free(data);
    return st;
}

/* Names of the graph inputs that are not initializers, in order, and
 * whether each is a tensor (not a sequence or an optional). */
static int graph_inputs(const void *model, size_t size, char **names, int *is_tensor, int max)
{
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, model);
    int n = 0;

    if (!mp || !mp->graph) {
        if (mp)
            onnx__model_proto__free_unpacked(mp, NULL);
        return -1;
    }
    for (size_t i = 0; i < mp->graph->n_input && n < max; i++) {
        const char *name = mp->graph->input[i]->name;
        int init = 0;

        for (size_t j = 0; j < mp->graph->n_initializer; j++)
            init |= !strcmp(mp->graph->initializer[j]->name, name);
        if (init)
            continue;
        is_tensor[n] = mp->graph->input[i]->type && mp->graph->input[i]->type->value_case ==
                                                        ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        names[n++] = strdup(name);
    }
    onnx__model_proto__free_unpacked(mp, NULL);
    return n;
}

static int close_enough(float got, float want)
{
    if (got != got || want != want)
        return got != got && want != want;
    if (got == want)
        return 1;
    return fabs((double)got - want) <= ABS_TOL + REL_TOL * fabs((double)want);
}

/* Compares n values; on the first difference writes a message. */
static int compare(const float *got, const float *want, size_t n, char *msg, size_t msz)
{
    for (size_t i = 0; i < n; i++) {
        if (close_enough(got[i], want[i]))
            continue;
        snprintf(msg, msz, "value %zu of %zu is %.9g, expected %.9g", i, n, got[i], want[i]);
        return 0;
    }
    return 1;
}

/* Runs the graph (inferred) on x and compares the output with want.
 * *batched tells whether the batch stayed symbolic. */
static outcome run_graph(nh_graph *g, const tensor *x, const tensor *want, int batched,
                         char *msg, size_t msz)
{
    const nh_value *ov = &g->values[g->output];
    size_t n = batched ? (size_t)x->dims[0] : 1, count = 1, per;
    nh_exec *ex = NULL;
    nh_error err;
    outcome res = OUT_FAIL;

    if (ov->ndim != want->ndim) {
        snprintf(msg, msz, "output rank %d, expected %d", ov->ndim, want->ndim);
        return OUT_FAIL;
    }
    for (int i = 0; i < ov->ndim; i++) {
        int64_t d = ov->dims[i] == NH_DIM_BATCH ? (int64_t)n : ov->dims[i];

        if (d != want->dims[i]) {
            snprintf(msg, msz, "output axis %d has size %lld, expected %lld", i, (long long)d,
                     (long long)want->dims[i]);
            return OUT_FAIL;
        }
        count *= (size_t)d;
    }
    if (n == 0) { /* an empty batch: nothing to run */
        snprintf(msg, msz, "empty batch");
        return count == 0 ? OUT_PASS : OUT_FAIL;
    }
    if (nh_exec_create(g, n, &ex, &err) || nh_exec_run(ex, x->data, n, &err)) {
        snprintf(msg, msz, "%s", err.message);
        goto done;
    }
    if (!compare(nh_exec_value(ex, g->output), want->data, count, msg, msz))
        goto done;

    /* Each sample alone gives its slice of the batch. */
    per = count / n;
    for (size_t s = 0; batched && n > 1 && s < n; s++) {
        size_t in_per = 1;

        for (int i = 1; i < x->ndim; i++)
            in_per *= (size_t)x->dims[i];
        if (nh_exec_run(ex, x->data + s * in_per, 1, &err)) {
            snprintf(msg, msz, "sample %zu alone: %s", s, err.message);
            goto done;
        }
        if (!compare(nh_exec_value(ex, g->output), want->data + s * per, per, msg, msz)) {
            size_t len = strlen(msg);

            snprintf(msg + len, msz - len, " (sample %zu run alone)", s);
            goto done;
        }
    }
    res = OUT_PASS;
done:
    nh_exec_destroy(ex);
    return res;
}

static void free_tensors(tensor *t, int n)
{
    for (int i = 0; i < n; i++)
        free(t[i].data);
}

/* One test_data_set_*: bind inputs 1..k, load, infer, run, compare. */
static outcome run_set(const char *dir, const char *set, const void *model, size_t size,
                       char *const *names, const int *is_tensor, int n_names,
                       const char *expect, char *msg, size_t msz, int *static_batch)
{
    char path[2048], file[32];
    tensor in[MAX_INPUTS] = {{0}}, out = {0};
    float *values[MAX_INPUTS];
    const int64_t *dims[MAX_INPUTS];
    int ndims[MAX_INPUTS], n_in = 0;
    nh_graph *g = NULL;
    nh_error err = {0};
    nh_status st;
    outcome res = OUT_FAIL;

    for (; n_in < n_names && n_in < MAX_INPUTS; n_in++) {
        snprintf(file, sizeof file, "input_%d.pb", n_in);
        if (!is_tensor[n_in] || !path_join(path, sizeof path, dir, set, file) ||
            !file_exists(path))
            break;
        if (read_tensor(path, &in[n_in], &err)) {
            if (expect)
                break; /* such as a sequence: let the loader say why */
            goto fail;
        }
        values[n_in] = in[n_in].data;
        dims[n_in] = in[n_in].dims;
        ndims[n_in] = in[n_in].ndim;
    }
    path_join(path, sizeof path, dir, NULL, "model.onnx");
    st = nh_onnx_load_bind(model, size, path, (const char *const *)names + 1, values + 1,
                           ndims + 1, dims + 1, n_in > 1 ? n_in - 1 : 0, &g, &err);
    if (expect) {
        snprintf(msg, msz, "%s", st ? err.message : "loaded, but expected NH_EUNSUPPORTED");
        res = st == NH_EUNSUPPORTED ? OUT_UNSUPPORTED : OUT_FAIL;
        goto done;
    }
    if (st)
        goto fail;
    if (n_in == 0) {
        snprintf(msg, msz, "no input_0.pb");
        goto done;
    }
    path_join(path, sizeof path, dir, set, "output_0.pb");
    if (read_tensor(path, &out, &err))
        goto fail;

    /* The symbolic batch first; a fixed one if the operator needs it. */
    *static_batch = 0;
    st = nh_graph_infer_shapes(g, &err);
    if (st == NH_EUNSUPPORTED) {
        g->values[g->input].dims[0] = in[0].dims[0];
        *static_batch = 1;
        st = nh_graph_infer_shapes(g, &err);
    }
    if (st)
        goto fail;
    res = run_graph(g, &in[0], &out, !*static_batch, msg, msz);
    goto done;

fail:
    snprintf(msg, msz, "%s: %s", nh_strerror(err.status), err.message);
done:
    nh_graph_destroy(g);
    free_tensors(in, n_in);
    free(out.data);
    return res;
}

/* Every data set of one test directory; the outcome of the first that does
 * not pass. */
static outcome run_dir(const char *root, const char *name, char *msg, size_t msz,
                       int *static_batch)
{
    char dir[1024], path[2048], *names[MAX_INPUTS], *sets[MAX_SETS];
    int is_tensor[MAX_INPUTS];
    const char *expect = expected_reason(name);
    void *model = NULL;
    size_t size;
    int n_names, n_sets;
    outcome res = OUT_FAIL;
    nh_error err;

    if (!path_join(dir, sizeof dir, root, NULL, name) ||
        !path_join(path, sizeof path, dir, NULL, "model.onnx")) {
        snprintf(msg, msz, "path too long");
        return OUT_FAIL;
    }
    if (nh_read_file(path, &model, &size, &err)) {
        snprintf(msg, msz, "%s", err.message);
        return OUT_FAIL;
    }
    n_names = graph_inputs(model, size, names, is_tensor, MAX_INPUTS);
    n_sets = list_dir(dir, "test_data_set_", sets, MAX_SETS);
    if (n_names < 1 || n_sets < 1)
        snprintf(msg, msz, "model has %d inputs and %d data sets", n_names, n_sets);
    for (int i = 0; i < n_sets && n_names >= 1; i++) {
        res = run_set(dir, sets[i], model, size, names, is_tensor, n_names, expect, msg, msz,
                      static_batch);
        if (res != OUT_PASS)
            break;
    }
    for (int i = 0; i < n_names; i++)
        free(names[i]);
    for (int i = 0; i < n_sets; i++)
        free(sets[i]);
    free(model);
    return res;
}

int main(void)
{
    const char *root = NH_ONNX_TESTDATA "/node";
    char *dirs[2048], msg[1200];
    int n = list_dir(root, "test_", dirs, 2048), counts[3] = {0, 0, 0}, run = 0, fixed = 0;

    if (n == 0) {
        fprintf(stderr, "no ONNX test data under %s (install libonnx-testdata)\n", root);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        int static_batch = 0;
        outcome res;

        if (!matches(dirs[i])) {
            free(dirs[i]);
            continue;
        }
        msg[0] = '\0';
        res = run_dir(root, dirs[i], msg, sizeof msg, &static_batch);
        run++;
        counts[res]++;
        CHECK(res != OUT_FAIL);
        if (res == OUT_PASS) {
            fixed += static_batch;
            printf("PASS %s%s\n", dirs[i], static_batch ? " (batch fixed)" : "");
        } else if (res == OUT_UNSUPPORTED) {
            printf("UNSUPPORTED(expected) %s: %s [%s]\n", dirs[i], expected_reason(dirs[i]),
                   msg);
        } else {
            printf("FAIL %s: %s\n", dirs[i], msg);
        }
        free(dirs[i]);
    }
    printf("%d directories: %d passed (%d with the batch fixed), %d unsupported as expected, "
           "%d failed\n", run, counts[OUT_PASS], fixed, counts[OUT_UNSUPPORTED],
           counts[OUT_FAIL]);
    CHECK(run > 0);
    return check_summary();
}
