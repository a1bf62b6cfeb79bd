/* Keras layers as graph nodes (see model/keras.h for the layout).
 *
 * Each builder reads its layer's config with Keras's defaults, fetches and
 * checks the layer's stored weights, and adds nodes. The first node of a
 * layer carries its name; its activation, bias or offset nodes are called
 * "NAME/what". Kernels are converted to the graph's layouts: Conv weights
 * from Keras's [K1..Kn, C/group, M] to [M, C/group, K1..Kn]; Dense kernels
 * [K, M] are used as stored (Gemm with transB = 0). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/keras-impl.h"

/* Keras's SELU constants (keras.activations.selu). */
#define KERAS_SELU_ALPHA 1.6732632423543772f
#define KERAS_SELU_SCALE 1.0507009873554805f

nh_status nh_keras_fail(const nh_kb *b, const nh_kl *l, nh_status st, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nh_fail(b->err, st, "%s: layer '%s' (%s): %s", b->file, l->name, l->cls, msg);
}

/* ------------------------------------------------------------- config */

static const cJSON *get(const cJSON *config, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(config, key);

    return v && !cJSON_IsNull(v) ? v : NULL;
}

static double get_number(const cJSON *config, const char *key, double def)
{
    const cJSON *v = get(config, key);

    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static int get_bool(const cJSON *config, const char *key, int def)
{
    const cJSON *v = get(config, key);

    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static const char *get_string(const cJSON *config, const char *key, const char *def)
{
    const cJSON *v = get(config, key);

    return cJSON_IsString(v) ? v->valuestring : def;
}

static int is_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble)
           && fabs(v->valuedouble) < 1e15;
}

/* n integers from config[key]: a list of n, or one number for all; def when
 * absent. */
static nh_status get_ints(const nh_kb *b, const nh_kl *l, const char *key, int n, int64_t def,
                          int64_t *out)
{
    const cJSON *v = get(l->config, key);

    if (!v) {
        for (int i = 0; i < n; i++)
            out[i] = def;
        return NH_OK;
    }
    if (is_int(v)) {
        for (int i = 0; i < n; i++)
            out[i] = (int64_t)v->valuedouble;
        return NH_OK;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != n)
        return nh_keras_fail(b, l, NH_EFORMAT, "'%s' should be %d integers", key, n);
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(v, i);

        if (!is_int(e))
            return nh_keras_fail(b, l, NH_EFORMAT, "'%s' should be %d integers", key, n);
        out[i] = (int64_t)e->valuedouble;
    }
    return NH_OK;
}

/* An axis given as an integer or a list of one. */
static nh_status get_axis(const nh_kb *b, const nh_kl *l, const char *key, int def, int *out)
{
    const cJSON *v = get(l->config, key);

    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1)
        v = cJSON_GetArrayItem(v, 0);
    if (!v) {
        *out = def;
        return NH_OK;
    }
    if (!is_int(v) || fabs(v->valuedouble) > NH_MAX_DIMS)
        return nh_keras_fail(b, l, NH_EUNSUPPORTED, "'%s' should be one axis", key);
    *out = (int)v->valuedouble;
    return NH_OK;
}

static int channels_last(const nh_kl *l)
{
    return strcmp(get_string(l->config, "data_format", "channels_last"), "channels_first") != 0;
}

/* -------------------------------------------------------------- graph */

/* The name of this call of the layer, with "/suffix" when suffix is given. */
static void node_name(const nh_kl *l, const char *suffix, char *buf, size_t size)
{
    if (l->call)
        snprintf(buf, size, "%s:%d%s%s", l->name, l->call, suffix ? "/" : "",
                 suffix ? suffix : "");
    else
        snprintf(buf, size, "%s%s%s", l->name, suffix ? "/" : "", suffix ? suffix : "");
}

/* Adds a node computing a new value of the same name from in[0..n_in-1]. */
static nh_status add_node(nh_kb *b, nh_op op, const char *name, const char *op_type,
                          const int *in, int n_in, nh_node **node, int *out)
{
    int v = nh_graph_add_value(b->g, name, b->err);
    int k = v < 0 ? -1 : nh_graph_add_node(b->g, op, name, op_type, b->err);
    nh_node *n = NULL;

    if (k < 0)
        return b->err ? b->err->status : NH_ENOMEM;
    n = &b->g->nodes[k];
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++)
        n->in[i] = in[i];
    n->out = v;
    b->g->values[v].producer = k;
    *node = n;
    *out = v;
    return NH_OK;
}

/* A constant value holding data (taken over, freed on failure). */
static int add_const(nh_kb *b, const char *name, int ndim, const int64_t *dims, float *data)
{
    int v = nh_graph_add_value(b->g, name, b->err);

    if (v < 0) {
        free(data);
        return -1;
    }
    b->g->values[v].is_const = 1;
    b->g->values[v].ndim = ndim;
    memcpy(b->g->values[v].dims, dims, (size_t)ndim * sizeof *dims);
    b->g->values[v].f = data;
    return v;
}

static int add_const_copy(nh_kb *b, const char *name, int ndim, const int64_t *dims,
                          const float *src, size_t count)
{
    float *data = nh_alloc(b->err, count, sizeof *data);

    if (!data)
        return -1;
    memcpy(data, src, count * sizeof *data);
    return add_const(b, name, ndim, dims, data);
}

/* The static shape of value v (batch first, as NH_DIM_BATCH), from shape
 * inference over the graph built so far. */
static nh_status value_shape(nh_kb *b, int v, int *ndim, int64_t *dims)
{
    nh_graph *g = b->g;

    if (!g->values[v].is_const && g->values[v].ndim == 0) {
        int saved = g->output;
        nh_status st;

        g->output = v;
        st = nh_graph_infer_shapes(g, b->err);
        g->output = saved;
        if (st)
            return st;
    }
    *ndim = g->values[v].ndim;
    memcpy(dims, g->values[v].dims, sizeof g->values[v].dims);
    return NH_OK;
}

static const char *format_dims(const int64_t *dims, int n, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    len += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, i ? ",%lld" : "%lld",
                                (long long)dims[i]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
    return buf;
}

/* Shape of value v for layer messages, batch as "None". */
static nh_status input_shape(nh_kb *b, const nh_kl *l, int v, int lo, int hi, int *ndim,
                             int64_t *dims)
{
    nh_status st = value_shape(b, v, ndim, dims);
    char buf[160];

    if (st)
        return st;
    if (*ndim >= lo && *ndim <= hi)
        return NH_OK;
    format_dims(dims + 1, *ndim - 1, buf, sizeof buf);
    return nh_keras_fail(b, l, NH_ESHAPE, "input of shape (None, %.*s) has rank %d, the layer "
                         "needs %d to %d", (int)strlen(buf) - 2, buf + 1, *ndim, lo, hi);
}

/* ------------------------------------------------------------ weights */

/* The role of a stored tensor from its name: "dense/kernel:0" -> "kernel". */
static void weight_role(const char *name, char *buf, size_t size)
{
    const char *slash = strrchr(name, '/'), *s = slash ? slash + 1 : name;
    size_t n = strcspn(s, ":");

    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

/* Orders the layer's stored tensors as roles[0..n-1]: by their names when
 * every name ends in a distinct role, else as stored. */
static nh_status take_weights(const nh_kb *b, const nh_kl *l, const char *const *roles, int n,
                              const nh_kw_tensor **out)
{
    size_t have = l->w ? l->w->n : 0;
    int by_name = 1;

    if (have != (size_t)n) {
        char list[160] = "";
        size_t len = 0;

        for (int i = 0; i < n && len < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, i ? ", %s" : "%s", roles[i]);
        return nh_keras_fail(b, l, NH_EFORMAT, "%s holds %zu weight tensors for it, its config "
                             "needs %d (%s)", b->wfile, have, n, list);
    }
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    for (size_t k = 0; k < have && by_name; k++) {
        char role[64];
        int found = 0;

        weight_role(l->w->t[k].name, role, sizeof role);
        for (int i = 0; i < n; i++) {
            if (strcmp(role, roles[i]) == 0 && !out[i]) {
                out[i] = &l->w->t[k];
                found = 1;
            }
        }
        by_name = found;
    }
    if (!by_name)
        for (int i = 0; i < n; i++)
            out[i] = &l->w->t[i];
    return NH_OK;
}

static nh_status check_weight(const nh_kb *b, const nh_kl *l, const char *role,
                              const nh_kw_tensor *t, int ndim, const int64_t *dims)
{
    char have[160], want[160];

    if (t->ndim == ndim && memcmp(t->dims, dims, (size_t)ndim * sizeof *dims) == 0)
        return NH_OK;
    return nh_keras_fail(b, l, NH_EFORMAT, "weight '%s' (%s in %s) has shape %s, the config "
                         "needs %s", role, t->name, b->wfile,
                         format_dims(t->dims, t->ndim, have, sizeof have),
                         format_dims(dims, ndim, want, sizeof want));
}

/* ---------------------------------------------------------- activations */

/* The activation's name: a string, or Keras 3's serialised function
 * {"class_name": "function", "config": "relu", ...}. */
static const char *activation_name(const cJSON *act)
{
    const cJSON *c;

    if (!act || cJSON_IsNull(act))
        return "linear";
    if (cJSON_IsString(act))
        return act->valuestring;
    c = cJSON_GetObjectItemCaseSensitive(act, "config");
    if (cJSON_IsString(c))
        return c->valuestring;
    c = cJSON_GetObjectItemCaseSensitive(act, "class_name");
    return cJSON_IsString(c) ? c->valuestring : "?";
}

/* Adds activation act after value in (named NAME/act, or NAME when
 * own_layer is set, for an Activation layer). Linear adds nothing, or an
 * Identity node for an Activation layer. */
static nh_status add_activation(nh_kb *b, const nh_kl *l, const cJSON *act_json, int own_layer,
                                int in, int *out)
{
    const char *act = activation_name(act_json);
    char name[300];
    nh_node *n = NULL;
    nh_op op;
    nh_status st;

    if (strcmp(act, "linear") == 0 && !own_layer) {
        *out = in;
        return NH_OK;
    }
    if (strcmp(act, "linear") == 0) op = NH_OP_IDENTITY;
    else if (strcmp(act, "relu") == 0) op = NH_OP_RELU;
    else if (strcmp(act, "relu6") == 0) op = NH_OP_CLIP;
    else if (strcmp(act, "sigmoid") == 0) op = NH_OP_SIGMOID;
    else if (strcmp(act, "hard_sigmoid") == 0 || strcmp(act, "hardSigmoid") == 0)
        op = NH_OP_HARDSIGMOID;
    else if (strcmp(act, "tanh") == 0) op = NH_OP_TANH;
    else if (strcmp(act, "softmax") == 0) op = NH_OP_SOFTMAX;
    else if (strcmp(act, "elu") == 0) op = NH_OP_ELU;
    else if (strcmp(act, "selu") == 0) op = NH_OP_SELU;
    else if (strcmp(act, "softplus") == 0) op = NH_OP_SOFTPLUS;
    else if (strcmp(act, "softsign") == 0) op = NH_OP_SOFTSIGN;
    else if (strcmp(act, "swish") == 0 || strcmp(act, "silu") == 0) op = NH_OP_SWISH;
    else if (strcmp(act, "gelu") == 0 || strcmp(act, "gelu_new") == 0) op = NH_OP_GELU;
    else if (strcmp(act, "leaky_relu") == 0) op = NH_OP_LEAKYRELU;
    else
        return nh_keras_fail(b, l, NH_EUNSUPPORTED, "activation '%s' is not supported (linear, "
                             "relu, relu6, sigmoid, hard_sigmoid, tanh, softmax, elu, selu, "
                             "softplus, softsign, swish, silu, gelu, leaky_relu are)", act);

    node_name(l, own_layer ? NULL : act, name, sizeof name);
    st = add_node(b, op, name, act, &in, 1, &n, out);
    if (st)
        return st;
    switch (op) {
    case NH_OP_CLIP:
        n->a.min_value = 0.0f;
        n->a.max_value = 6.0f;
        break;
    case NH_OP_HARDSIGMOID: /* Keras 3: relu6(x + 3) / 6; Keras 2 and TF.js: 0.2 x + 0.5 */
        n->a.alpha = b->keras3 ? 1.0f / 6.0f : 0.2f;
        n->a.beta = 0.5f;
        break;
    case NH_OP_SOFTMAX:
        n->a.axis = -1;
        n->a.softmax_single_axis = 1;
        break;
    case NH_OP_ELU: n->a.alpha = 1.0f; break;
    case NH_OP_SELU:
        n->a.alpha = KERAS_SELU_ALPHA;
        n->a.gamma = KERAS_SELU_SCALE;
        break;
    case NH_OP_LEAKYRELU: n->a.alpha = 0.2f; break;
    case NH_OP_GELU: n->a.approximate = strcmp(act, "gelu_new") == 0; break;
    default: break;
    }
    return NH_OK;
}

/* --------------------------------------------------------------- Dense */

/* Gemm (x, kernel, bias) on a matrix; MatMul then a bias Add on a higher
 * rank input (Keras applies the kernel to the last axis). */
static nh_status build_dense(nh_kb *b, const nh_kl *l, int x, int *out)
{
    static const char *const roles[] = {"kernel", "bias"};
    int use_bias = get_bool(l->config, "use_bias", 1), nd, in[3], y;
    double units = get_number(l->config, "units", -1);
    const nh_kw_tensor *w[2];
    int64_t dims[NH_MAX_DIMS], kd[2];
    char name[300];
    nh_node *n = NULL;
    nh_status st;

    if (units < 1 || units != floor(units) || units > 1e9)
        return nh_keras_fail(b, l, NH_EFORMAT, "'units' should be a positive integer");
    if ((st = input_shape(b, l, x, 2, NH_MAX_DIMS, &nd, dims))
        || (st = take_weights(b, l, roles, 1 + use_bias, w)))
        return st;
    kd[0] = dims[nd - 1];
    kd[1] = (int64_t)units;
    if ((st = check_weight(b, l, "kernel", w[0], 2, kd))
        || (use_bias && (st = check_weight(b, l, "bias", w[1], 1, kd + 1))))
        return st;

    in[0] = x;
    node_name(l, "kernel", name, sizeof name);
    in[1] = add_const_copy(b, name, 2, kd, w[0]->data, (size_t)(kd[0] * kd[1]));
    in[2] = -1;
    if (use_bias) {
        node_name(l, "bias", name, sizeof name);
        in[2] = add_const_copy(b, name, 1, kd + 1, w[1]->data, (size_t)kd[1]);
    }
    if (in[1] < 0 || (use_bias && in[2] < 0))
        return NH_ENOMEM;
    node_name(l, NULL, name, sizeof name);
    if (nd == 2) {
        st = add_node(b, NH_OP_GEMM, name, l->cls, in, use_bias ? 3 : 2, &n, &y);
    } else {
        st = add_node(b, NH_OP_MATMUL, name, l->cls, in, 2, &n, &y);
        if (!st && use_bias) {
            int bin[2] = {y, in[2]};

            node_name(l, "bias_add", name, sizeof name);
            st = add_node(b, NH_OP_ADD, name, "BiasAdd", bin, 2, &n, &y);
        }
    }
    if (st)
        return st;
    return add_activation(b, l, get(l->config, "activation"), 0, y, out);
}

/* ---------------------------------------------------------------- Conv */

/* Keras kernel [K1..Kn, C/g, M] to [M, C/g, K1..Kn]. */
static float *conv_kernel(const nh_kw_tensor *t, int ns, int64_t *odims, nh_error *err)
{
    int64_t cg = t->dims[ns], m = t->dims[ns + 1], kk = 1;
    float *w;

    for (int i = 0; i < ns; i++)
        kk *= t->dims[i];
    w = nh_alloc(err, (size_t)(kk * cg * m), sizeof *w);
    if (!w)
        return NULL;
    for (int64_t k = 0; k < kk; k++)
        for (int64_t c = 0; c < cg; c++)
            for (int64_t o = 0; o < m; o++)
                w[(o * cg + c) * kk + k] = t->data[(k * cg + c) * m + o];
    odims[0] = m;
    odims[1] = cg;
    memcpy(odims + 2, t->dims, (size_t)ns * sizeof *odims);
    return w;
}

static nh_status window_padding(const nh_kb *b, const nh_kl *l, nh_attrs *a, int causal_ok)
{
    const char *pad = get_string(l->config, "padding", "valid");

    if (strcmp(pad, "valid") == 0) {
        a->auto_pad = NH_PAD_VALID;
    } else if (strcmp(pad, "same") == 0) {
        a->auto_pad = NH_PAD_SAME_UPPER; /* TensorFlow puts the odd pad at the end */
    } else if (strcmp(pad, "causal") == 0 && causal_ok) {
        a->auto_pad = NH_PAD_NOTSET; /* all of the dilated kernel's reach before */
        a->pads[0] = (a->kernel[0] - 1) * a->dilations[0];
        a->pads[1] = 0;
    } else {
        return nh_keras_fail(b, l, NH_EUNSUPPORTED, "padding '%s' is not supported", pad);
    }
    return NH_OK;
}

static nh_status build_conv(nh_kb *b, const nh_kl *l, int x, int ns, int *out)
{
    static const char *const roles[] = {"kernel", "bias"};
    int use_bias = get_bool(l->config, "use_bias", 1), last = channels_last(l), nd, in[3], y;
    double filters = get_number(l->config, "filters", -1);
    int64_t dims[NH_MAX_DIMS], kd[NH_MAX_DIMS], wd[NH_MAX_DIMS], groups = 1, ch;
    const nh_kw_tensor *w[2];
    nh_attrs a;
    char name[300];
    nh_node *n = NULL;
    float *kernel;
    nh_status st;

    nh_attrs_default(&a);
    a.n_spatial = ns;
    a.channels_last = last;
    if (filters < 1 || filters != floor(filters) || filters > 1e9)
        return nh_keras_fail(b, l, NH_EFORMAT, "'filters' should be a positive integer");
    if ((st = get_ints(b, l, "kernel_size", ns, 0, a.kernel))
        || (st = get_ints(b, l, "strides", ns, 1, a.strides))
        || (st = get_ints(b, l, "dilation_rate", ns, 1, a.dilations))
        || (st = get_ints(b, l, "groups", 1, 1, &groups))
        || (st = window_padding(b, l, &a, ns == 1))
        || (st = input_shape(b, l, x, ns + 2, ns + 2, &nd, dims)))
        return st;
    ch = dims[last ? nd - 1 : 1];
    if (groups < 1 || ch % groups || (int64_t)filters % groups)
        return nh_keras_fail(b, l, NH_ESHAPE, "%lld input channels and %lld filters do not "
                             "divide into %lld groups", (long long)ch, (long long)filters,
                             (long long)groups);
    a.group = groups;
    if ((st = take_weights(b, l, roles, 1 + use_bias, w)))
        return st;
    memcpy(kd, a.kernel, (size_t)ns * sizeof *kd);
    kd[ns] = ch / groups;
    kd[ns + 1] = (int64_t)filters;
    if ((st = check_weight(b, l, "kernel", w[0], ns + 2, kd))
        || (use_bias && (st = check_weight(b, l, "bias", w[1], 1, kd + ns + 1))))
        return st;

    kernel = conv_kernel(w[0], ns, wd, b->err);
    node_name(l, "kernel", name, sizeof name);
    in[0] = x;
    in[1] = kernel ? add_const(b, name, ns + 2, wd, kernel) : -1;
    in[2] = -1;
    if (use_bias) {
        node_name(l, "bias", name, sizeof name);
        in[2] = add_const_copy(b, name, 1, kd + ns + 1, w[1]->data, (size_t)kd[ns + 1]);
    }
    if (in[1] < 0 || (use_bias && in[2] < 0))
        return NH_ENOMEM;
    node_name(l, NULL, name, sizeof name);
    if ((st = add_node(b, NH_OP_CONV, name, l->cls, in, use_bias ? 3 : 2, &n, &y)))
        return st;
    n->a = a;
    return add_activation(b, l, get(l->config, "activation"), 0, y, out);
}

/* --------------------------------------------------------------- pools */

/* Max or average pooling; an average over a 'same' window divides by the
 * input positions it covers, as TensorFlow does. */
static nh_status build_pool(nh_kb *b, const nh_kl *l, int x, int ns, nh_op op, int *out)
{
    int nd;
    int64_t dims[NH_MAX_DIMS];
    nh_attrs a;
    char name[300];
    nh_node *n = NULL;
    nh_status st;

    nh_attrs_default(&a);
    a.n_spatial = ns;
    a.channels_last = channels_last(l);
    if ((st = get_ints(b, l, "pool_size", ns, 2, a.kernel))
        || (st = input_shape(b, l, x, ns + 2, ns + 2, &nd, dims)))
        return st;
    if (get(l->config, "strides"))
        st = get_ints(b, l, "strides", ns, 1, a.strides);
    else
        memcpy(a.strides, a.kernel, sizeof a.strides);
    if (st || (st = window_padding(b, l, &a, 0)))
        return st;
    node_name(l, NULL, name, sizeof name);
    if ((st = add_node(b, op, name, l->cls, &x, 1, &n, out)))
        return st;
    n->a = a;
    return NH_OK;
}

/* Keras drops the pooled axes unless keepdims. A channels-last global pool
 * gives [N, C] (see graph.h); a channels-first one [N, C, 1...], flattened
 * unless keepdims. */
static nh_status build_global_pool(nh_kb *b, const nh_kl *l, int x, nh_op op, int *out)
{
    int last = channels_last(l), keep = get_bool(l->config, "keepdims", 0), nd, y;
    int64_t dims[NH_MAX_DIMS];
    char name[300];
    nh_node *n = NULL;
    nh_status st;

    if ((st = input_shape(b, l, x, 3, NH_MAX_DIMS, &nd, dims)))
        return st;
    node_name(l, NULL, name, sizeof name);
    if ((st = add_node(b, op, name, l->cls, &x, 1, &n, &y)))
        return st;
    n->a.channels_last = last;
    *out = y;
    if (last == keep) { /* channels-last and keepdims, or channels-first dropping */
        node_name(l, "reshape", name, sizeof name);
        if ((st = add_node(b, last ? NH_OP_RESHAPE : NH_OP_FLATTEN, name, "Reshape", &y, 1, &n,
                           out)))
            return st;
        if (last) {
            n->a.n_ints = nd;
            n->a.ints[0] = NH_DIM_BATCH;
            for (int i = 1; i < nd - 1; i++)
                n->a.ints[i] = 1;
            n->a.ints[nd - 1] = dims[nd - 1];
        }
    }
    return NH_OK;
}

/* ------------------------------------------------------- data movement */

/* A channels-first Flatten moves the channels last first, as Keras does, so
 * that the flat order is always (D1..Dn, C). */
static nh_status build_flatten(nh_kb *b, const nh_kl *l, int x, int *out)
{
    int nd, y = x;
    int64_t dims[NH_MAX_DIMS];
    char name[300];
    nh_node *n = NULL;
    nh_status st;

    if ((st = input_shape(b, l, x, 2, NH_MAX_DIMS, &nd, dims)))
        return st;
    node_name(l, NULL, name, sizeof name);
    if (!channels_last(l) && nd > 2) {
        if ((st = add_node(b, NH_OP_TRANSPOSE, name, "Transpose", &x, 1, &n, &y)))
            return st;
        n->a.n_ints = nd;
        n->a.ints[0] = 0;
        for (int i = 1; i < nd - 1; i++)
            n->a.ints[i] = i + 1;
        n->a.ints[nd - 1] = 1;
        node_name(l, "flatten", name, sizeof name);
    }
    if ((st = add_node(b, NH_OP_FLATTEN, name, l->cls, &y, 1, &n, out)))
        return st;
    n->a.axis = 1;
    return NH_OK;
}

static nh_status build_reshape(nh_kb *b, const nh_kl *l, int x, int *out)
{
    const cJSON *t = get(l->config, "target_shape");
    int r = cJSON_IsArray(t) ? cJSON_GetArraySize(t) : -1;
    char name[300];
    nh_node *n = NULL;
    nh_status st;

    if (r < 0 || r + 1 > NH_MAX_DIMS)
        return nh_keras_fail(b, l, r < 0 ? NH_EFORMAT : NH_EUNSUPPORTED,
                             "'target_shape' should list at most %d dims", NH_MAX_DIMS - 1);
    node_name(l, NULL, name, sizeof name);
    if ((st = add_node(b, NH_OP_RESHAPE, name, l->cls, &x, 1, &n, out)))
        return st;
    n->a.n_ints = r + 1;
    n->a.ints[0] = NH_DIM_BATCH;
    for (int i = 0; i < r; i++) {
        const cJSON *e = cJSON_GetArrayItem(t, i);

        if (!is_int(e) || (e->valuedouble < 1 && e->valuedouble != -1))
            return nh_keras_fail(b, l, NH_EFORMAT, "'target_shape' dim %d is not a positive "
                                 "integer or -1", i);
        n->a.ints[1 + i] = (int64_t)e->valuedouble;
    }
    return NH_OK;
}

/* Dropout, noise and augmentation layers pass their input on at inference.
 * RandomCrop resizes unless its size is the input's: only that case is an
 * identity. */
static nh_status build_identity(nh_kb *b, const nh_kl *l, int x, int *out)
{
    char name[300];
    nh_node *n = NULL;

    if (strcmp(l->cls, "RandomCrop") == 0) {
        int64_t dims[NH_MAX_DIMS];
        int nd;
        nh_status st = input_shape(b, l, x, 4, 4, &nd, dims);

        if (st)
            return st;
        if (get_number(l->config, "height", -1) != (double)dims[1]
            || get_number(l->config, "width", -1) != (double)dims[2])
            return nh_keras_fail(b, l, NH_EUNSUPPORTED, "at inference it resizes %lldx%lld "
                                 "images, which nnheat does not do", (long long)dims[1],
                                 (long long)dims[2]);
    }
    node_name(l, NULL, name, sizeof name);
    return add_node(b, NH_OP_IDENTITY, name, l->cls, &x, 1, &n, out);
}

static nh_status build_concatenate(nh_kb *b, const nh_kl *l, const int *in, int n_in, int *out)
{
    char name[300];
    nh_node *n = NULL;
    nh_status st;
    int axis;

    if (n_in > NH_MAX_NODE_INPUTS)
        return nh_keras_fail(b, l, NH_EUNSUPPORTED, "%d inputs, at most %d", n_in,
                             NH_MAX_NODE_INPUTS);
    if ((st = get_axis(b, l, "axis", -1, &axis)))
        return st;
    node_name(l, NULL, name, sizeof name);
    if ((st = add_node(b, NH_OP_CONCAT, name, l->cls, in, n_in, &n, out)))
        return st;
    n->a.axis = axis;
    return NH_OK;
}

/* ---------------------------------------------------- per-neuron layers */

static nh_status build_add(nh_kb *b, const nh_kl *l, const int *in, int n_in, int *out)
{
    int y = in[0];

    for (int k = 1; k < n_in; k++) {
        int pair[2] = {y, in[k]};
        char name[300], suffix[32];
        nh_node *n;
        nh_status st;

        snprintf(suffix, sizeof suffix, "%d", k);
        node_name(l, k > 1 ? suffix : NULL, name, sizeof name);
        if ((st = add_node(b, NH_OP_ADD, name, l->cls, pair, 2, &n, &y)))
            return st;
    }
    *out = y;
    return NH_OK;
}

/* ReLU(max_value, negative_slope, threshold): LeakyRelu (or Relu), then a
 * Clip at max_value; or one Clip(0, max_value). */
static nh_status build_relu(nh_kb *b, const nh_kl *l, int x, int *out)
{
    double slope = get_number(l->config, "negative_slope", 0);
    double max = get_number(l->config, "max_value", INFINITY);
    char name[300];
    nh_node *n = NULL;
    nh_status st;

    if (get_number(l->config, "threshold", 0) != 0)
        return nh_keras_fail(b, l, NH_EUNSUPPORTED, "a threshold other than 0 is not supported");
    node_name(l, NULL, name, sizeof name);
    if (slope == 0 && isfinite(max)) {
        if ((st = add_node(b, NH_OP_CLIP, name, l->cls, &x, 1, &n, out)))
            return st;
        n->a.min_value = 0.0f;
        n->a.max_value = (float)max;
        return NH_OK;
    }
    if ((st = add_node(b, slope ? NH_OP_LEAKYRELU : NH_OP_RELU, name, l->cls, &x, 1, &n, out)))
        return st;
    n->a.alpha = (float)slope;
    if (!isfinite(max))
        return NH_OK;
    node_name(l, "max", name, sizeof name);
    x = *out;
    if ((st = add_node(b, NH_OP_CLIP, name, l->cls, &x, 1, &n, out)))
        return st;
    n->a.max_value = (float)max;
    return NH_OK;
}

/* LeakyReLU (alpha in Keras 2, negative_slope in Keras 3; 0.3 by default),
 * ELU (alpha, 1), Softmax (axis, -1). */
static nh_status build_param_activation(nh_kb *b, const nh_kl *l, int x, nh_op op, int *out)
{
    char name[300];
    nh_node *n = NULL;
    nh_status st;
    int axis;

    node_name(l, NULL, name, sizeof name);
    if ((st = add_node(b, op, name, l->cls, &x, 1, &n, out)))
        return st;
    if (op == NH_OP_LEAKYRELU)
        n->a.alpha = (float)get_number(l->config, "negative_slope",
                                       get_number(l->config, "alpha", 0.3));
    else if (op == NH_OP_ELU)
        n->a.alpha = (float)get_number(l->config, "alpha", 1.0);
    if (op != NH_OP_SOFTMAX)
        return NH_OK;
    if ((st = get_axis(b, l, "axis", -1, &axis)))
        return st;
    n->a.axis = axis;
    n->a.softmax_single_axis = 1;
    return NH_OK;
}

/* A constant [C] filled with value. */
static int const_fill(nh_kb *b, const char *name, int64_t c, float value)
{
    float *d = nh_alloc(b->err, (size_t)c, sizeof *d);

    if (!d)
        return -1;
    for (int64_t i = 0; i < c; i++)
        d[i] = value;
    return add_const(b, name, 1, &c, d);
}

/* BatchNormalization at inference, over the last axis (channels-last) or
 * axis 1. Absent gamma (scale=False) is 1, absent beta (center=False) 0. */
static nh_status build_batchnorm(nh_kb *b, const nh_kl *l, int x, int *out)
{
    const char *names[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    const char *roles[4];
    const nh_kw_tensor *w[4];
    int scale = get_bool(l->config, "scale", 1), center = get_bool(l->config, "center", 1);
    int nd, axis, nr = 0, in[5], k = 0;
    int64_t dims[NH_MAX_DIMS], c;
    char name[300];
    nh_node *n = NULL;
    nh_status st;

    if ((st = input_shape(b, l, x, 2, NH_MAX_DIMS, &nd, dims))
        || (st = get_axis(b, l, "axis", -1, &axis)))
        return st;
    if (axis < 0)
        axis += nd;
    if (axis != 1 && axis != nd - 1)
        return nh_keras_fail(b, l, NH_EUNSUPPORTED, "normalising axis %d of a rank-%d input; "
                             "nnheat does the channel axis, 1 or last", axis, nd);
    c = dims[axis];
    if (scale)
        roles[nr++] = names[0];
    if (center)
        roles[nr++] = names[1];
    roles[nr++] = names[2];
    roles[nr++] = names[3];
    if ((st = take_weights(b, l, roles, nr, w)))
        return st;
    for (int i = 0; i < nr; i++)
        if ((st = check_weight(b, l, roles[i], w[i], 1, &c)))
            return st;

    in[0] = x;
    for (int i = 0; i < 4; i++) {
        node_name(l, names[i], name, sizeof name);
        if ((i == 0 && !scale) || (i == 1 && !center))
            in[1 + i] = const_fill(b, name, c, i == 0 ? 1.0f : 0.0f);
        else
            in[1 + i] = add_const_copy(b, name, 1, &c, w[k++]->data, (size_t)c);
        if (in[1 + i] < 0)
            return NH_ENOMEM;
    }
    node_name(l, NULL, name, sizeof name);
    if ((st = add_node(b, NH_OP_BATCHNORM, name, l->cls, in, 5, &n, out)))
        return st;
    n->a.epsilon = (float)get_number(l->config, "epsilon", 1e-3);
    n->a.channels_last = axis == nd - 1 && nd > 2;
    return NH_OK;
}

/* scale and offset of Rescaling: a number, or a list over the last axis. */
static int rescaling_const(nh_kb *b, const nh_kl *l, const char *key, double def, int *is_def)
{
    const cJSON *v = get(l->config, key);
    int64_t n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;
    float *d = nh_alloc(b->err, (size_t)(n ? n : 1), sizeof *d);
    char name[300];

    if (!d)
        return -1;
    *is_def = 1;
    for (int64_t i = 0; i < n; i++) {
        const cJSON *e = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, (int)i) : v;

        if (e && !cJSON_IsNumber(e)) {
            free(d);
            nh_keras_fail(b, l, NH_EFORMAT, "'%s' should be a number or a list of numbers",
                          key);
            return -2;
        }
        d[i] = (float)(e ? e->valuedouble : def);
        *is_def &= d[i] == (float)def;
    }
    node_name(l, key, name, sizeof name);
    return add_const(b, name, 1, &n, d);
}

/* x * scale + offset: Mul, then Add unless the offset is 0. */
static nh_status build_rescaling(nh_kb *b, const nh_kl *l, int x, int *out)
{
    int unit, zero, in[2] = {x, 0};
    int s = rescaling_const(b, l, "scale", 1.0, &unit);
    int o = s < 0 ? -1 : rescaling_const(b, l, "offset", 0.0, &zero);
    char name[300];
    nh_node *n = NULL;
    nh_status st;

    if (s < 0 || o < 0)
        return b->err ? b->err->status : NH_ENOMEM;
    in[1] = s;
    node_name(l, NULL, name, sizeof name);
    if ((st = add_node(b, NH_OP_MUL, name, l->cls, in, 2, &n, out)))
        return st;
    if (zero)
        return NH_OK;
    in[0] = *out;
    in[1] = o;
    node_name(l, "offset_add", name, sizeof name);
    return add_node(b, NH_OP_ADD, name, l->cls, in, 2, &n, out);
}

/* ------------------------------------------------------------ dispatch */

int nh_keras_class_has_weights(const char *cls)
{
    return strcmp(cls, "Dense") == 0 || strcmp(cls, "Conv1D") == 0 || strcmp(cls, "Conv2D") == 0
           || strcmp(cls, "Conv3D") == 0 || strcmp(cls, "Convolution1D") == 0
           || strcmp(cls, "Convolution2D") == 0 || strcmp(cls, "Convolution3D") == 0
           || strcmp(cls, "BatchNormalization") == 0;
}

/* Layer classes and what they become; arg is the number of spatial axes
 * or the operator. */
typedef enum kind {
    K_DENSE, K_CONV, K_MAXPOOL, K_AVGPOOL, K_GLOBAL, K_FLATTEN, K_RESHAPE, K_IDENTITY,
    K_ACTIVATION, K_RELU, K_PARAM, K_BATCHNORM, K_RESCALING, K_ADD, K_CONCAT
} kind;

static const struct {
    const char *cls;
    kind kind;
    int arg;
} classes[] = {
    {"Dense", K_DENSE, 0},
    {"Conv1D", K_CONV, 1}, {"Conv2D", K_CONV, 2}, {"Conv3D", K_CONV, 3},
    {"Convolution1D", K_CONV, 1}, {"Convolution2D", K_CONV, 2}, {"Convolution3D", K_CONV, 3},
    {"MaxPooling1D", K_MAXPOOL, 1}, {"MaxPooling2D", K_MAXPOOL, 2},
    {"MaxPooling3D", K_MAXPOOL, 3}, {"MaxPool1D", K_MAXPOOL, 1}, {"MaxPool2D", K_MAXPOOL, 2},
    {"MaxPool3D", K_MAXPOOL, 3},
    {"AveragePooling1D", K_AVGPOOL, 1}, {"AveragePooling2D", K_AVGPOOL, 2},
    {"AveragePooling3D", K_AVGPOOL, 3}, {"AvgPool1D", K_AVGPOOL, 1},
    {"AvgPool2D", K_AVGPOOL, 2}, {"AvgPool3D", K_AVGPOOL, 3},
    {"GlobalAveragePooling1D", K_GLOBAL, NH_OP_GLOBALAVGPOOL},
    {"GlobalAveragePooling2D", K_GLOBAL, NH_OP_GLOBALAVGPOOL},
    {"GlobalAveragePooling3D", K_GLOBAL, NH_OP_GLOBALAVGPOOL},
    {"GlobalAvgPool1D", K_GLOBAL, NH_OP_GLOBALAVGPOOL},
    {"GlobalAvgPool2D", K_GLOBAL, NH_OP_GLOBALAVGPOOL},
    {"GlobalAvgPool3D", K_GLOBAL, NH_OP_GLOBALAVGPOOL},
    {"GlobalMaxPooling1D", K_GLOBAL, NH_OP_GLOBALMAXPOOL},
    {"GlobalMaxPooling2D", K_GLOBAL, NH_OP_GLOBALMAXPOOL},
    {"GlobalMaxPooling3D", K_GLOBAL, NH_OP_GLOBALMAXPOOL},
    {"GlobalMaxPool1D", K_GLOBAL, NH_OP_GLOBALMAXPOOL},
    {"GlobalMaxPool2D", K_GLOBAL, NH_OP_GLOBALMAXPOOL},
    {"GlobalMaxPool3D", K_GLOBAL, NH_OP_GLOBALMAXPOOL},
    {"Flatten", K_FLATTEN, 0}, {"Reshape", K_RESHAPE, 0},
    {"Dropout", K_IDENTITY, 0}, {"SpatialDropout1D", K_IDENTITY, 0},
    {"SpatialDropout2D", K_IDENTITY, 0}, {"SpatialDropout3D", K_IDENTITY, 0},
    {"GaussianNoise", K_IDENTITY, 0}, {"GaussianDropout", K_IDENTITY, 0},
    {"AlphaDropout", K_IDENTITY, 0}, {"ActivityRegularization", K_IDENTITY, 0},
    {"Activation", K_ACTIVATION, 0}, {"ReLU", K_RELU, 0},
    {"LeakyReLU", K_PARAM, NH_OP_LEAKYRELU}, {"ELU", K_PARAM, NH_OP_ELU},
    {"Softmax", K_PARAM, NH_OP_SOFTMAX},
    {"BatchNormalization", K_BATCHNORM, 0}, {"Rescaling", K_RESCALING, 0},
    {"Add", K_ADD, 0}, {"Concatenate", K_CONCAT, 0},
};

/* Random* augmentation layers (RandomFlip, RandomRotation, RandomZoom,
 * RandomContrast, ...) are identities at inference. */
static int is_augmentation(const char *cls)
{
    return strncmp(cls, "Random", 6) == 0 && cls[6] >= 'A' && cls[6] <= 'Z';
}

nh_status nh_keras_build_layer(nh_kb *b, const nh_kl *l, const int *in, int n_in, int *out)
{
    int k, n = (int)(sizeof classes / sizeof classes[0]);

    for (k = 0; k < n && strcmp(classes[k].cls, l->cls) != 0; k++)
        ;
    if (k == n && is_augmentation(l->cls))
        return n_in == 1 ? build_identity(b, l, in[0], out)
                         : nh_keras_fail(b, l, NH_EUNSUPPORTED, "%d inputs", n_in);
    if (k == n)
        return nh_keras_fail(b, l, NH_EUNSUPPORTED, "layer class '%s' is not supported",
                             l->cls);
    if (classes[k].kind == K_ADD || classes[k].kind == K_CONCAT) {
        if (n_in < 2)
            return nh_keras_fail(b, l, NH_EFORMAT, "%d input, needs at least 2", n_in);
        return classes[k].kind == K_ADD ? build_add(b, l, in, n_in, out)
                                        : build_concatenate(b, l, in, n_in, out);
    }
    if (n_in != 1)
        return nh_keras_fail(b, l, NH_EUNSUPPORTED, "%d inputs, the layer takes one", n_in);

    switch (classes[k].kind) {
    case K_DENSE: return build_dense(b, l, in[0], out);
    case K_CONV: return build_conv(b, l, in[0], classes[k].arg, out);
    case K_MAXPOOL: return build_pool(b, l, in[0], classes[k].arg, NH_OP_MAXPOOL, out);
    case K_AVGPOOL: return build_pool(b, l, in[0], classes[k].arg, NH_OP_AVGPOOL, out);
    case K_GLOBAL: return build_global_pool(b, l, in[0], (nh_op)classes[k].arg, out);
    case K_FLATTEN: return build_flatten(b, l, in[0], out);
    case K_RESHAPE: return build_reshape(b, l, in[0], out);
    case K_IDENTITY: return build_identity(b, l, in[0], out);
    case K_ACTIVATION:
        return add_activation(b, l, get(l->config, "activation"), 1, in[0], out);
    case K_RELU: return build_relu(b, l, in[0], out);
    case K_PARAM: return build_param_activation(b, l, in[0], (nh_op)classes[k].arg, out);
    case K_BATCHNORM: return build_batchnorm(b, l, in[0], out);
    case K_RESCALING: return build_rescaling(b, l, in[0], out);
    default: break;
    }
    return nh_keras_fail(b, l, NH_EUNSUPPORTED, "layer class '%s' is not supported", l->cls);
}

/* ---------------------------------------------------------------- input */

nh_status nh_keras_input(nh_kb *b, const char *name, const cJSON *config,
                         const cJSON *fallback_shape, int *out)
{
    const cJSON *s = get(config, "batch_shape");
    nh_value *v;
    int r, k;

    if (!s)
        s = get(config, "batch_input_shape");
    if (!s)
        s = fallback_shape;
    r = cJSON_IsArray(s) ? cJSON_GetArraySize(s) : -1;
    if (r < 1)
        return nh_fail(b->err, NH_EFORMAT, "%s: input '%s' has no batch_shape", b->file, name);
    if (r > NH_MAX_DIMS)
        return nh_fail(b->err, NH_EUNSUPPORTED, "%s: input '%s' has %d axes (at most %d)",
                       b->file, name, r, NH_MAX_DIMS);
    k = nh_graph_add_value(b->g, name, b->err);
    if (k < 0)
        return b->err ? b->err->status : NH_ENOMEM;
    v = &b->g->values[k];
    v->ndim = r;
    v->dims[0] = NH_DIM_BATCH;
    for (int i = 1; i < r; i++) {
        const cJSON *e = cJSON_GetArrayItem(s, i);

        if (!is_int(e) || e->valuedouble < 1)
            return nh_fail(b->err, NH_EUNSUPPORTED, "%s: input '%s' has no fixed size on axis "
                           "%d (None); nnheat needs the whole input shape", b->file, name, i);
        v->dims[i] = (int64_t)e->valuedouble;
    }
    *out = k;
    return NH_OK;
}
