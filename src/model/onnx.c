/* The ONNX loader: ModelProto (parsed by protobuf-c) to the graph IR.
 *
 * Loading runs in phases: the opset, the initializers (constants), the graph
 * inputs (one computed, the rest constants when bound), the nodes in file
 * order, then the output and pruning. A node whose inputs are all constant
 * (or that reads the shape of a computed value) is evaluated at once and
 * becomes a constant; every other node becomes a graph node with its
 * attributes normalised. */
#include "model/onnx.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "onnx.pb-c.h"

/* Folding shape arithmetic never needs large tensors; the cap keeps a
 * malicious file from making Gather or Concat allocate without bound. */
#define NH_FOLD_MAX_ELEMS ((int64_t)1 << 26)

/* Bound on any size, stride, pad or group read from a file: far above any
 * real model, and a first line of defence against values that wrap int64
 * arithmetic (products are still checked where they are formed). */
#define NH_MAX_SIZE ((int64_t)1 << 40)

/* --------------------------------------------------------------- name map */

/* Open addressing from a string to an int; keys are borrowed. */
typedef struct str_map {
    const char **keys;
    int *vals;
    size_t cap, n;
} str_map;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static int map_get(const str_map *m, const char *key)
{
    size_t k;

    if (!m->cap)
        return -1;
    for (k = hash_str(key) & (m->cap - 1); m->keys[k]; k = (k + 1) & (m->cap - 1))
        if (strcmp(m->keys[k], key) == 0)
            return m->vals[k];
    return -1;
}

static void map_insert(str_map *m, const char *key, int val)
{
    size_t k;

    for (k = hash_str(key) & (m->cap - 1); m->keys[k]; k = (k + 1) & (m->cap - 1))
        if (strcmp(m->keys[k], key) == 0) {
            m->vals[k] = val;
            return;
        }
    m->keys[k] = key;
    m->vals[k] = val;
    m->n++;
}

/* Sets key to val, growing the table to keep it at most half full. */
static nh_status map_put(str_map *m, const char *key, int val, nh_error *err)
{
    if (2 * (m->n + 1) > m->cap) {
        str_map bigger = {0};
        size_t k;

        bigger.cap = m->cap ? 2 * m->cap : 64;
        bigger.keys = nh_calloc(err, bigger.cap, sizeof *bigger.keys);
        bigger.vals = nh_calloc(err, bigger.cap, sizeof *bigger.vals);
        if (!bigger.keys || !bigger.vals) {
            free(bigger.keys);
            free(bigger.vals);
            return NH_ENOMEM;
        }
        for (k = 0; k < m->cap; k++)
            if (m->keys[k])
                map_insert(&bigger, m->keys[k], m->vals[k]);
        free(m->keys);
        free(m->vals);
        *m = bigger;
    }
    map_insert(m, key, val);
    return NH_OK;
}

static void map_free(str_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ----------------------------------------------------------------- dtypes */

static const char *dtype_name(int t)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
        "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
        "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
        "FLOAT8E5M2FNUZ", "UINT4", "INT4"};

    if (t >= 0 && t < (int)(sizeof names / sizeof names[0]))
        return names[t];
    return "unknown";
}

/* Bytes per element in raw_data, or 0 for types nnheat does not read. */
static int dtype_size(int t)
{
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        return 1;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
        return 2;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
        return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        return 8;
    default:
        return 0;
    }
}

static int dtype_is_float(int t)
{
    return t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
}

/* IEEE half: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits. */
static float half_to_float(uint16_t h)
{
    int exp = (h >> 10) & 0x1f;
    int man = h & 0x3ff;
    float v;

    if (exp == 0)
        v = ldexpf((float)man, -24);
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

static float bits_to_float(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof f);
    return f;
}

/* A double out of float's range converts to infinity (the C conversion
 * would be undefined). */
static float double_to_float(double d)
{
    if (d > FLT_MAX)
        return INFINITY;
    if (d < -FLT_MAX)
        return -INFINITY;
    return (float)d;
}

static uint64_t read_le(const uint8_t *p, int size)
{
    uint64_t v = 0;
    int k;

    for (k = size - 1; k >= 0; k--)
        v = (v << 8) | p[k];
    return v;
}

/* ---------------------------------------------------------------- tensors */

/* A tensor on its way to becoming a constant value, or a view of one. */
typedef struct tensor {
    nh_dtype dtype;
    int ndim;
    int64_t dims[NH_MAX_DIMS];
    int64_t count;
    float *f;
    int64_t *i;
} tensor;

static void tensor_free(tensor *t)
{
    free(t->f);
    free(t->i);
    t->f = NULL;
    t->i = NULL;
}

static tensor tensor_view(const nh_value *v)
{
    tensor t;

    memset(&t, 0, sizeof t);
    t.dtype = v->dtype;
    t.ndim = v->ndim;
    memcpy(t.dims, v->dims, sizeof t.dims);
    t.count = nh_shape_count(v->ndim, v->dims, 1);
    t.f = v->f;
    t.i = v->i;
    return t;
}

/* "2x3x4", or "[]" for a scalar. */
static const char *dims_str(char *buf, size_t cap, int ndim, const int64_t *dims)
{
    size_t len = 0;
    int k;

    buf[0] = '\0';
    if (ndim == 0)
        snprintf(buf, cap, "[]");
    for (k = 0; k < ndim && len < cap; k++) {
        int w;

        if (dims[k] == NH_DIM_BATCH)
            w = snprintf(buf + len, cap - len, "%sbatch", k ? "x" : "");
        else
            w = snprintf(buf + len, cap - len, "%s%lld", k ? "x" : "", (long long)dims[k]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return buf;
}

/* Allocates t's data for the given dtype and shape (within the folding cap
 * when cap is non-zero). */
static nh_status tensor_alloc(tensor *t, nh_dtype dtype, int ndim, const int64_t *dims,
                              int64_t cap, const char *label, nh_error *err)
{
    char buf[128];

    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim)
        memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->count = nh_shape_count(ndim, dims, 1);
    if (t->count < 0)
        return nh_fail(err, NH_EFORMAT, "%s: invalid shape %s", label,
                       dims_str(buf, sizeof buf, ndim, dims));
    if (cap && t->count > cap)
        return nh_fail(err, NH_EUNSUPPORTED,
                       "%s: constant of shape %s is too large to evaluate at load time",
                       label, dims_str(buf, sizeof buf, ndim, dims));
    if (dtype == NH_DTYPE_FLOAT)
        t->f = nh_alloc(err, (size_t)t->count, sizeof *t->f);
    else
        t->i = nh_alloc(err, (size_t)t->count, sizeof *t->i);
    if (!t->f && !t->i)
        return NH_ENOMEM;
    return NH_OK;
}

/* How many values a TensorProto stores in the typed field its type uses. */
static size_t typed_count(const Onnx__TensorProto *t, int dt)
{
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        return t->n_float_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        return t->n_double_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        return t->n_int64_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
        return t->n_uint64_data;
    default:
        return t->n_int32_data; /* the narrow integers, BOOL and the 16-bit floats */
    }
}

/* Element k of raw little-endian data of type dt, as float or as int64. */
static void decode_raw(const uint8_t *p, int dt, int64_t count, float *f, int64_t *i)
{
    int size = dtype_size(dt);
    int64_t k;

    for (k = 0; k < count; k++, p += size) {
        uint64_t u = read_le(p, size);

        switch (dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
            f[k] = bits_to_float((uint32_t)u);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double d;

            memcpy(&d, &u, sizeof d);
            f[k] = double_to_float(d);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
            f[k] = half_to_float((uint16_t)u);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
            f[k] = bits_to_float((uint32_t)u << 16);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
            i[k] = (int8_t)(uint8_t)u;
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
            i[k] = (int16_t)(uint16_t)u;
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
            i[k] = (int32_t)(uint32_t)u;
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
            i[k] = u != 0;
            break;
        default: /* UINT8, UINT16, UINT32, INT64, UINT64 */
            i[k] = (int64_t)u;
            break;
        }
    }
}

/* Element k of the typed field (float_data, int32_data, ...). */
static void decode_typed(const Onnx__TensorProto *t, int dt, int64_t count, float *f,
                         int64_t *i)
{
    int64_t k;

    for (k = 0; k < count; k++) {
        switch (dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
            f[k] = t->float_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
            f[k] = double_to_float(t->double_data[k]);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
            f[k] = half_to_float((uint16_t)t->int32_data[k]);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
            f[k] = bits_to_float((uint32_t)(uint16_t)t->int32_data[k] << 16);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
            i[k] = t->int64_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
            i[k] = (int64_t)t->uint64_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
            i[k] = t->int32_data[k] != 0;
            break;
        default:
            i[k] = t->int32_data[k];
            break;
        }
    }
}

/* Decodes a TensorProto into *out (which owns new data). label names the
 * tensor in messages, such as `initializer "fc.weight"`. */
static nh_status tensor_decode(const Onnx__TensorProto *t, const char *label, tensor *out,
                               nh_error *err)
{
    int dt = t->has_data_type ? t->data_type : 0;
    int size = dtype_size(dt);
    int64_t dims[NH_MAX_DIMS];
    char buf[128];
    int64_t count;
    nh_status st;
    size_t k;

    memset(out, 0, sizeof *out);
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return nh_fail(err, NH_EUNSUPPORTED,
                       "%s: data stored in an external file is not supported "
                       "(save the model with its weights inside)", label);
    if (t->segment)
        return nh_fail(err, NH_EUNSUPPORTED, "%s: segmented tensors are not supported", label);
    if (!size)
        return nh_fail(err, dt ? NH_EUNSUPPORTED : NH_EFORMAT,
                       "%s: data type %s (%d) is not supported", label, dtype_name(dt), dt);
    if (t->n_dims > NH_MAX_DIMS)
        return nh_fail(err, NH_EUNSUPPORTED, "%s has %zu axes (at most %d are supported)",
                       label, t->n_dims, NH_MAX_DIMS);
    for (k = 0; k < t->n_dims; k++) {
        if (t->dims[k] < 0)
            return nh_fail(err, NH_EFORMAT, "%s: negative dimension %lld", label,
                           (long long)t->dims[k]);
        dims[k] = t->dims[k];
    }

    /* The stored data must match the shape before anything is allocated
     * for it, so that a corrupt shape cannot ask for any amount of memory. */
    count = nh_shape_count((int)t->n_dims, dims, 1);
    dims_str(buf, sizeof buf, (int)t->n_dims, dims);
    if (count < 0)
        return nh_fail(err, NH_EFORMAT, "%s: shape %s is too large", label, buf);
    if (t->has_raw_data) {
        if (t->raw_data.len % (size_t)size || t->raw_data.len / (size_t)size != (uint64_t)count)
            return nh_fail(err, NH_EFORMAT,
                           "%s: raw_data holds %zu bytes, but shape %s of %s needs %lld x %d",
                           label, t->raw_data.len, buf, dtype_name(dt), (long long)count, size);
    } else if (typed_count(t, dt) != (uint64_t)count) {
        return nh_fail(err, NH_EFORMAT, "%s: %zu values stored, but shape %s needs %lld",
                       label, typed_count(t, dt), buf, (long long)count);
    }

    st = tensor_alloc(out, dtype_is_float(dt) ? NH_DTYPE_FLOAT : NH_DTYPE_INT64,
                      (int)t->n_dims, dims, 0, label, err);
    if (st)
        return st;
    if (t->has_raw_data)
        decode_raw(t->raw_data.data, dt, out->count, out->f, out->i);
    else
        decode_typed(t, dt, out->count, out->f, out->i);
    return NH_OK;
}

/* ----------------------------------------------------------------- loader */

/* Graph inputs the caller binds to constant data (nh_onnx_load_bind). */
typedef struct binding {
    const char *const *names;
    float *const *values;
    const int *ndim;
    const int64_t *const *dims;
    int n;
} binding;

typedef struct loader {
    const char *name;
    const Onnx__GraphProto *gp;
    nh_graph *g;
    int64_t opset;
    str_map values;      /* value name -> index in g->values */
    str_map used;        /* names some node or graph output reads */
    int64_t fixed_batch; /* the input's first dimension if the file fixes it */
    int prefixed;        /* err already starts with the name (from shape inference) */
    nh_error *err;
} loader;

/* The node being loaded, for messages and its resolved inputs. */
typedef struct node_ctx {
    loader *L;
    const Onnx__NodeProto *np;
    const char *op;
    const char *name; /* the file's, or gen */
    char gen[96];     /* "<OpType>_<index>" for a node without a name */
    char *label;      /* `node "NAME" (OP)`, for tensor messages */
    int n_in;
    int *in; /* value index per input, -1 for an absent optional */
} node_ctx;

static nh_status node_fail(const node_ctx *c, nh_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails with `node "NAME" (OP): ` and the formatted detail. */
static nh_status node_fail(const node_ctx *c, nh_status st, const char *fmt, ...)
{
    char detail[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return nh_fail(c->L->err, st, "node \"%s\" (%s): %s", c->name, c->op, detail);
}

/* Adds a constant value that takes t's data. */
static nh_status add_const(loader *L, const char *name, tensor *t)
{
    nh_value *v;
    int idx;

    if (map_get(&L->values, name) >= 0) {
        tensor_free(t);
        return nh_fail(L->err, NH_EFORMAT, "value \"%s\" is defined twice", name);
    }
    idx = nh_graph_add_value(L->g, name, L->err);
    if (idx < 0 || map_put(&L->values, L->g->values[idx].name, idx, L->err)) {
        tensor_free(t);
        return NH_ENOMEM;
    }
    v = &L->g->values[idx];
    v->dtype = t->dtype;
    v->ndim = t->ndim;
    memcpy(v->dims, t->dims, sizeof v->dims);
    v->is_const = 1;
    v->f = t->f;
    v->i = t->i;
    t->f = NULL;
    t->i = NULL;
    return NH_OK;
}

/* Adds a computed value; its shape is left to shape inference. */
static int add_computed(loader *L, const char *name, int producer)
{
    int idx;

    if (map_get(&L->values, name) >= 0) {
        nh_fail(L->err, NH_EFORMAT, "value \"%s\" is defined twice", name);
        return -1;
    }
    idx = nh_graph_add_value(L->g, name, L->err);
    if (idx < 0 || map_put(&L->values, L->g->values[idx].name, idx, L->err))
        return -1;
    L->g->values[idx].producer = producer;
    return idx;
}

static const nh_value *in_value(const node_ctx *c, int k)
{
    return k < c->n_in && c->in[k] >= 0 ? &c->L->g->values[c->in[k]] : NULL;
}

static int in_is_const(const node_ctx *c, int k)
{
    const nh_value *v = in_value(c, k);

    return v && v->is_const;
}

/* ------------------------------------------------------------- attributes */

static const Onnx__AttributeProto *attr_find(const node_ctx *c, const char *name)
{
    size_t k;

    for (k = 0; k < c->np->n_attribute; k++) {
        const Onnx__AttributeProto *a = c->np->attribute[k];

        if (a->name && strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

/* The type field of an attribute, guessed from the filled field for IR
 * version 1 files that did not write it. */
static int attr_type(const Onnx__AttributeProto *a)
{
    if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return a->type;
    if (a->has_i)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    if (a->has_f)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    if (a->has_s)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (a->t)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->n_ints)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (a->n_floats)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static nh_status attr_int(const node_ctx *c, const char *name, int64_t def, int64_t *out)
{
    const Onnx__AttributeProto *a = attr_find(c, name);

    *out = def;
    if (!a)
        return NH_OK;
    if (attr_type(a) != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
        return node_fail(c, NH_EFORMAT, "attribute %s is not an integer", name);
    *out = a->i;
    return NH_OK;
}

/* A flag or small count attribute, checked to lie in [lo, hi]. */
static nh_status attr_small(const node_ctx *c, const char *name, int def, int lo, int hi,
                            int *out)
{
    int64_t v;
    nh_status st = attr_int(c, name, def, &v);

    if (st)
        return st;
    if (v < lo || v > hi)
        return node_fail(c, NH_EFORMAT, "attribute %s = %lld is out of range [%d, %d]", name,
                         (long long)v, lo, hi);
    *out = (int)v;
    return NH_OK;
}

static nh_status attr_float(const node_ctx *c, const char *name, float def, float *out)
{
    const Onnx__AttributeProto *a = attr_find(c, name);
    int type;

    *out = def;
    if (!a)
        return NH_OK;
    type = attr_type(a);
    if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
        *out = a->f;
    else if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
        *out = (float)a->i;
    else
        return node_fail(c, NH_EFORMAT, "attribute %s is not a number", name);
    return NH_OK;
}

/* A list of integers into out[0..max-1]; *n is -1 when the attribute is
 * absent. */
static nh_status attr_ints(const node_ctx *c, const char *name, int64_t *out, int max, int *n)
{
    const Onnx__AttributeProto *a = attr_find(c, name);

    *n = -1;
    if (!a)
        return NH_OK;
    if (attr_type(a) != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS &&
        !(a->n_ints == 0 && attr_type(a) == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED))
        return node_fail(c, NH_EFORMAT, "attribute %s is not a list of integers", name);
    if (a->n_ints > (size_t)max)
        return node_fail(c, NH_EUNSUPPORTED, "attribute %s has %zu values (at most %d)", name,
                         a->n_ints, max);
    if (a->n_ints)
        memcpy(out, a->ints, a->n_ints * sizeof *out);
    *n = (int)a->n_ints;
    return NH_OK;
}

/* A string attribute copied into out (cap bytes), or def when absent. */
static nh_status attr_string(const node_ctx *c, const char *name, const char *def, char *out,
                             size_t cap)
{
    const Onnx__AttributeProto *a = attr_find(c, name);
    size_t len;

    snprintf(out, cap, "%s", def);
    if (!a)
        return NH_OK;
    if (attr_type(a) != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
        return node_fail(c, NH_EFORMAT, "attribute %s is not a string", name);
    len = a->s.len < cap - 1 ? a->s.len : cap - 1;
    if (len)
        memcpy(out, a->s.data, len);
    out[len] = '\0';
    return NH_OK;
}

/* Input k as a constant list of integers (axes, pads, shapes, ...); fails
 * unless it is a constant integer tensor of rank 0 or 1 with at most max
 * values. */
static nh_status const_ints(const node_ctx *c, int k, const char *what, int64_t *out, int max,
                            int *n)
{
    const nh_value *v = in_value(c, k);
    int64_t count;

    if (!v)
        return node_fail(c, NH_EFORMAT, "input %d (%s) is missing", k, what);
    if (!v->is_const)
        return node_fail(c, NH_EUNSUPPORTED,
                         "input %d (%s, \"%s\") is computed; nnheat needs it constant", k,
                         what, v->name);
    if (v->dtype != NH_DTYPE_INT64 || v->ndim > 1)
        return node_fail(c, NH_EFORMAT, "input %d (%s) is not a list of integers", k, what);
    count = nh_shape_count(v->ndim, v->dims, 1);
    if (count > max)
        return node_fail(c, NH_EUNSUPPORTED, "input %d (%s) has %lld values (at most %d)", k,
                         what, (long long)count, max);
    if (count)
        memcpy(out, v->i, (size_t)count * sizeof *out);
    *n = (int)count;
    return NH_OK;
}

/* Input k as a constant scalar (one value of any dtype). */
static nh_status const_scalar(const node_ctx *c, int k, const char *what, float *out)
{
    const nh_value *v = in_value(c, k);

    if (!v->is_const)
        return node_fail(c, NH_EUNSUPPORTED,
                         "input %d (%s, \"%s\") is computed; nnheat needs it constant", k,
                         what, v->name);
    if (nh_shape_count(v->ndim, v->dims, 1) != 1)
        return node_fail(c, NH_EFORMAT, "input %d (%s) is not a single value", k, what);
    if (v->dtype == NH_DTYPE_INT64 && v->i[0] == NH_DIM_BATCH)
        return node_fail(c, NH_EUNSUPPORTED, "input %d (%s) is the batch size", k, what);
    *out = v->dtype == NH_DTYPE_FLOAT ? v->f[0] : (float)v->i[0];
    return NH_OK;
}

/* Resolves a negative axis against rank r; fails if out of [-r, r-1]. */
static nh_status norm_axis(const node_ctx *c, int64_t axis, int r, int *out)
{
    *out = 0;
    if (axis < -r || axis >= r)
        return node_fail(c, NH_EFORMAT, "axis %lld is out of range for rank %d",
                         (long long)axis, r);
    *out = (int)(axis < 0 ? axis + r : axis);
    return NH_OK;
}

/* ----------------------------------------------------------- static shapes */

/* The static shape of value v. A computed value's shape comes from running
 * shape inference over the graph built so far (once per value: inference
 * fills the shapes of everything before it). */
static nh_status static_shape(const node_ctx *c, int v, int *ndim, int64_t *dims)
{
    nh_graph *g = c->L->g;
    nh_status st;

    if (!g->values[v].is_const && g->values[v].ndim == 0) {
        int saved = g->output;

        g->output = v;
        st = nh_graph_infer_shapes(g, c->L->err);
        g->output = saved;
        if (st) {
            c->L->prefixed = 1; /* shape inference names g->source */
            return st;
        }
        if (g->values[v].ndim == 0)
            return node_fail(c, NH_EUNSUPPORTED, "the shape of \"%s\" is not known",
                             g->values[v].name);
    }
    *ndim = g->values[v].ndim;
    memcpy(dims, g->values[v].dims, sizeof g->values[v].dims);
    return NH_OK;
}

/* The axes of Squeeze and Unsqueeze: an attribute before opset 13, input 1
 * from opset 13. *n is -1 when absent. */
static nh_status read_axes(const node_ctx *c, int64_t *axes, int *n)
{
    if (c->L->opset < 13)
        return attr_ints(c, "axes", axes, NH_MAX_DIMS, n);
    *n = -1;
    if (!in_value(c, 1))
        return NH_OK;
    return const_ints(c, 1, "axes", axes, NH_MAX_DIMS, n);
}

static nh_status unsqueeze_dims(const node_ctx *c, int ndim, const int64_t *dims, int *ondim,
                                int64_t *odims)
{
    int64_t axes[NH_MAX_DIMS];
    char inserted[NH_MAX_DIMS] = {0};
    int n, k, j = 0, r;
    nh_status st = read_axes(c, axes, &n);

    if (st)
        return st;
    if (n < 0)
        return node_fail(c, NH_EFORMAT, "axes are missing");
    r = ndim + n;
    if (r > NH_MAX_DIMS)
        return node_fail(c, NH_EUNSUPPORTED, "the result would have %d axes (at most %d)", r,
                         NH_MAX_DIMS);
    for (k = 0; k < n; k++) {
        int a;

        if ((st = norm_axis(c, axes[k], r, &a)))
            return st;
        if (inserted[a])
            return node_fail(c, NH_EFORMAT, "axis %d is repeated", a);
        inserted[a] = 1;
    }
    for (k = 0; k < r; k++)
        odims[k] = inserted[k] ? 1 : dims[j++];
    *ondim = r;
    return NH_OK;
}

static nh_status squeeze_dims(const node_ctx *c, int ndim, const int64_t *dims, int *ondim,
                              int64_t *odims)
{
    int64_t axes[NH_MAX_DIMS];
    char removed[NH_MAX_DIMS] = {0};
    int n, k, r = 0;
    nh_status st = read_axes(c, axes, &n);

    if (st)
        return st;
    for (k = 0; k < n; k++) {
        int a;

        if ((st = norm_axis(c, axes[k], ndim, &a)))
            return st;
        if (dims[a] == NH_DIM_BATCH)
            return node_fail(c, NH_EUNSUPPORTED, "squeezing the batch axis is not supported");
        if (dims[a] != 1)
            return node_fail(c, NH_EFORMAT, "axis %d has size %lld, not 1", a,
                             (long long)dims[a]);
        removed[a] = 1;
    }
    for (k = 0; k < ndim; k++)
        if (n < 0 ? dims[k] != 1 : !removed[k])
            odims[r++] = dims[k];
    *ondim = r;
    return NH_OK;
}

/* ---------------------------------------------------------------- folding */

/* Offset into a tensor with the given strides of the element whose index in
 * a C-ordered tensor of shape dims is j. */
static int64_t offset_of(int64_t j, int ndim, const int64_t *dims, const int64_t *strides)
{
    int64_t off = 0;
    int k;

    for (k = ndim - 1; k >= 0; k--) {
        if (dims[k]) {
            off += (j % dims[k]) * strides[k];
            j /= dims[k];
        }
    }
    return off;
}

static void c_strides(int ndim, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    int k;

    for (k = ndim - 1; k >= 0; k--) {
        strides[k] = s;
        s *= dims[k];
    }
}

static void elem_copy(tensor *dst, int64_t j, const tensor *src, int64_t k)
{
    if (dst->dtype == NH_DTYPE_FLOAT)
        dst->f[j] = src->f[k];
    else
        dst->i[j] = src->i[k];
}

static int has_batch(const tensor *t)
{
    int64_t k;

    if (t->dtype != NH_DTYPE_INT64)
        return 0;
    for (k = 0; k < t->count; k++)
        if (t->i[k] == NH_DIM_BATCH)
            return 1;
    return 0;
}

/* The same data with another shape (Identity, Dropout, Reshape, Flatten,
 * Squeeze, Unsqueeze). */
static nh_status fold_copy(const node_ctx *c, const tensor *x, int ndim, const int64_t *dims,
                           tensor *out)
{
    nh_status st = tensor_alloc(out, x->dtype, ndim, dims, NH_FOLD_MAX_ELEMS, c->label,
                                c->L->err);
    int64_t k;

    if (st)
        return st;
    if (out->count != x->count) {
        tensor_free(out);
        return node_fail(c, NH_ESHAPE, "%lld values cannot take a shape of %lld",
                         (long long)x->count, (long long)out->count);
    }
    for (k = 0; k < x->count; k++)
        elem_copy(out, k, x, k);
    return NH_OK;
}

/* Reshape's target: 0 copies the input's dimension (unless allowzero), -1
 * takes what is left. */
static nh_status reshape_dims(const node_ctx *c, const tensor *x, const int64_t *shape, int n,
                              int allowzero, int64_t *dims)
{
    int64_t known = 1;
    int k, infer = -1;

    for (k = 0; k < n; k++) {
        dims[k] = shape[k];
        if (shape[k] == 0 && !allowzero) {
            if (k >= x->ndim)
                return node_fail(c, NH_ESHAPE, "shape[%d] = 0 copies an axis the input lacks", k);
            dims[k] = x->dims[k];
        }
        if (dims[k] == -1) {
            if (infer >= 0)
                return node_fail(c, NH_ESHAPE, "the shape has more than one -1");
            infer = k;
        } else if (dims[k] < 0) {
            return node_fail(c, NH_ESHAPE, "the shape holds %lld", (long long)dims[k]);
        } else if (dims[k] && known > INT64_MAX / dims[k]) {
            return node_fail(c, NH_ESHAPE, "the shape overflows");
        } else {
            known *= dims[k];
        }
    }
    if (infer >= 0) {
        if (known == 0 || x->count % known)
            return node_fail(c, NH_ESHAPE, "cannot infer -1 from %lld values",
                             (long long)x->count);
        dims[infer] = x->count / known;
    }
    return NH_OK;
}

static nh_status fold_reshape(const node_ctx *c, const tensor *x, tensor *out)
{
    int64_t shape[NH_MAX_DIMS], dims[NH_MAX_DIMS];
    int n, allowzero;
    nh_status st;

    if ((st = const_ints(c, 1, "shape", shape, NH_MAX_DIMS, &n)) ||
        (st = attr_small(c, "allowzero", 0, 0, 1, &allowzero)) ||
        (st = reshape_dims(c, x, shape, n, allowzero, dims)))
        return st;
    return fold_copy(c, x, n, dims, out);
}

static nh_status fold_flatten(const node_ctx *c, const tensor *x, tensor *out)
{
    int64_t axis, dims[2] = {1, 1};
    int a, k;
    nh_status st;

    if ((st = attr_int(c, "axis", 1, &axis)))
        return st;
    if (axis < -x->ndim || axis > x->ndim)
        return node_fail(c, NH_EFORMAT, "axis %lld is out of range", (long long)axis);
    a = (int)(axis < 0 ? axis + x->ndim : axis);
    for (k = 0; k < x->ndim; k++)
        dims[k < a ? 0 : 1] *= x->dims[k];
    return fold_copy(c, x, 2, dims, out);
}

static nh_status fold_transpose(const node_ctx *c, const tensor *x, tensor *out)
{
    int64_t perm[NH_MAX_DIMS], dims[NH_MAX_DIMS], src[NH_MAX_DIMS], strides[NH_MAX_DIMS];
    char seen[NH_MAX_DIMS] = {0};
    int n, k;
    int64_t j;
    nh_status st;

    if ((st = attr_ints(c, "perm", perm, NH_MAX_DIMS, &n)))
        return st;
    if (n < 0)
        for (n = x->ndim, k = 0; k < n; k++)
            perm[k] = n - 1 - k;
    if (n != x->ndim)
        return node_fail(c, NH_EFORMAT, "perm has %d values for rank %d", n, x->ndim);
    c_strides(x->ndim, x->dims, src);
    for (k = 0; k < n; k++) {
        if (perm[k] < 0 || perm[k] >= n || seen[perm[k]])
            return node_fail(c, NH_EFORMAT, "perm is not a permutation");
        seen[perm[k]] = 1;
        dims[k] = x->dims[perm[k]];
        strides[k] = src[perm[k]];
    }
    if ((st = tensor_alloc(out, x->dtype, n, dims, NH_FOLD_MAX_ELEMS, c->label, c->L->err)))
        return st;
    for (j = 0; j < out->count; j++)
        elem_copy(out, j, x, offset_of(j, n, dims, strides));
    return NH_OK;
}

static nh_status fold_concat(const node_ctx *c, const tensor *xs, tensor *out)
{
    const tensor *x0 = &xs[0];
    int64_t dims[NH_MAX_DIMS], axis, outer = 1, j = 0, o;
    int a, k, d;
    nh_status st;

    if (!attr_find(c, "axis"))
        return node_fail(c, NH_EFORMAT, "attribute axis is missing");
    if ((st = attr_int(c, "axis", 0, &axis)) || (st = norm_axis(c, axis, x0->ndim, &a)))
        return st;
    memcpy(dims, x0->dims, sizeof dims);
    dims[a] = 0;
    for (k = 0; k < c->n_in; k++) {
        if (!xs[k].count && xs[k].ndim == 0)
            continue; /* absent */
        if (xs[k].dtype != x0->dtype || xs[k].ndim != x0->ndim)
            return node_fail(c, NH_EFORMAT, "input %d differs from input 0 in type or rank", k);
        for (d = 0; d < x0->ndim; d++)
            if (d != a && xs[k].dims[d] != x0->dims[d])
                return node_fail(c, NH_ESHAPE, "input %d does not fit input 0 on axis %d", k,
                                 d);
        dims[a] += xs[k].dims[a];
    }
    if ((st = tensor_alloc(out, x0->dtype, x0->ndim, dims, NH_FOLD_MAX_ELEMS, c->label,
                           c->L->err)))
        return st;
    for (d = 0; d < a; d++)
        outer *= dims[d];
    for (o = 0; o < outer; o++) {
        for (k = 0; k < c->n_in; k++) {
            int64_t block = xs[k].count / (outer ? outer : 1), e;

            if (outer == 0 || !xs[k].count)
                continue;
            for (e = 0; e < block; e++)
                elem_copy(out, j++, &xs[k], o * block + e);
        }
    }
    return NH_OK;
}

static nh_status fold_gather(const node_ctx *c, const tensor *x, const tensor *idx,
                             tensor *out)
{
    int64_t dims[NH_MAX_DIMS], axis, outer = 1, inner = 1, o, q, e, j = 0;
    int a, k, r;
    nh_status st;

    if ((st = attr_int(c, "axis", 0, &axis)) || (st = norm_axis(c, axis, x->ndim, &a)))
        return st;
    if (idx->dtype != NH_DTYPE_INT64)
        return node_fail(c, NH_EFORMAT, "the indices are not integers");
    r = x->ndim - 1 + idx->ndim;
    if (r > NH_MAX_DIMS)
        return node_fail(c, NH_EUNSUPPORTED, "the result would have %d axes", r);
    for (k = 0; k < a; k++)
        outer *= (dims[k] = x->dims[k]);
    for (k = 0; k < idx->ndim; k++)
        dims[a + k] = idx->dims[k];
    for (k = a + 1; k < x->ndim; k++)
        inner *= (dims[k - 1 + idx->ndim] = x->dims[k]);
    for (q = 0; q < idx->count; q++)
        if (idx->i[q] < -x->dims[a] || idx->i[q] >= x->dims[a])
            return node_fail(c, NH_EFORMAT, "index %lld is out of range for size %lld",
                             (long long)idx->i[q], (long long)x->dims[a]);
    if ((st = tensor_alloc(out, x->dtype, r, dims, NH_FOLD_MAX_ELEMS, c->label, c->L->err)))
        return st;
    for (o = 0; o < outer; o++)
        for (q = 0; q < idx->count; q++) {
            int64_t i = idx->i[q] < 0 ? idx->i[q] + x->dims[a] : idx->i[q];

            for (e = 0; e < inner; e++)
                elem_copy(out, j++, x, (o * x->dims[a] + i) * inner + e);
        }
    return NH_OK;
}

/* Slice's starts, ends, axes and steps: attributes before opset 10, inputs
 * 1 to 4 from opset 10. */
static nh_status slice_params(const node_ctx *c, int64_t *starts, int64_t *ends,
                              int64_t *axes, int64_t *steps, int *n)
{
    int ne, na = -1, ns = -1, k;
    nh_status st;

    if (c->L->opset < 10) {
        if ((st = attr_ints(c, "starts", starts, NH_MAX_DIMS, n)) ||
            (st = attr_ints(c, "ends", ends, NH_MAX_DIMS, &ne)) ||
            (st = attr_ints(c, "axes", axes, NH_MAX_DIMS, &na)))
            return st;
    } else {
        if ((st = const_ints(c, 1, "starts", starts, NH_MAX_DIMS, n)) ||
            (st = const_ints(c, 2, "ends", ends, NH_MAX_DIMS, &ne)))
            return st;
        if (in_value(c, 3) && (st = const_ints(c, 3, "axes", axes, NH_MAX_DIMS, &na)))
            return st;
        if (in_value(c, 4) && (st = const_ints(c, 4, "steps", steps, NH_MAX_DIMS, &ns)))
            return st;
    }
    if (*n < 0 || ne != *n || (na >= 0 && na != *n) || (ns >= 0 && ns != *n))
        return node_fail(c, NH_EFORMAT, "starts, ends, axes and steps differ in length");
    for (k = 0; k < *n; k++) {
        if (na < 0)
            axes[k] = k;
        if (ns < 0)
            steps[k] = 1;
    }
    return NH_OK;
}

/* Clamps start and end into the axis of size d as ONNX's Slice does and
 * returns the number of elements taken. */
static int64_t slice_axis(int64_t d, int64_t *start, int64_t end, int64_t step)
{
    int64_t s = *start, e = end;

    if (s < 0)
        s = s < -d ? 0 : s + d;
    if (e < 0)
        e = e < -d ? -1 : e + d;
    if (step > 0) {
        s = s > d ? d : (s < 0 ? 0 : s);
        e = e > d ? d : (e < 0 ? 0 : e);
        *start = s;
        return e > s ? (e - s - 1) / step + 1 : 0;
    }
    s = s > d - 1 ? d - 1 : s;
    e = e > d - 1 ? d - 1 : (e < -1 ? -1 : e);
    *start = s;
    return s > e ? (s - e - 1) / -step + 1 : 0;
}

static nh_status fold_slice(const node_ctx *c, const tensor *x, tensor *out)
{
    int64_t starts[NH_MAX_DIMS], ends[NH_MAX_DIMS], axes[NH_MAX_DIMS], steps[NH_MAX_DIMS];
    int64_t first[NH_MAX_DIMS] = {0}, step[NH_MAX_DIMS], dims[NH_MAX_DIMS];
    int64_t src[NH_MAX_DIMS], strides[NH_MAX_DIMS], base = 0, j;
    char seen[NH_MAX_DIMS] = {0};
    int n, k, a;
    nh_status st;

    if ((st = slice_params(c, starts, ends, axes, steps, &n)))
        return st;
    memcpy(dims, x->dims, sizeof dims);
    for (k = 0; k < x->ndim; k++)
        step[k] = 1;
    for (k = 0; k < n; k++) {
        if ((st = norm_axis(c, axes[k], x->ndim, &a)))
            return st;
        if (seen[a] || steps[k] == 0 || steps[k] == INT64_MIN)
            return node_fail(c, NH_EFORMAT, "axis %d is repeated or has step 0", a);
        seen[a] = 1;
        first[a] = starts[k];
        step[a] = steps[k];
        dims[a] = slice_axis(x->dims[a], &first[a], ends[k], steps[k]);
        if (dims[a] <= 1)
            step[a] = 1; /* a huge step taking one element must not overflow */
    }
    c_strides(x->ndim, x->dims, src);
    for (k = 0; k < x->ndim; k++) {
        base += first[k] * src[k];
        strides[k] = step[k] * src[k];
    }
    if ((st = tensor_alloc(out, x->dtype, x->ndim, dims, NH_FOLD_MAX_ELEMS, c->label,
                           c->L->err)))
        return st;
    for (j = 0; j < out->count; j++)
        elem_copy(out, j, x, base + offset_of(j, x->ndim, dims, strides));
    return NH_OK;
}

/* Shape of a constant, or of a computed value (its first element is then
 * NH_DIM_BATCH); opset 15's start and end select a part. */
static nh_status fold_shape(const node_ctx *c, tensor *out)
{
    int64_t dims[NH_MAX_DIMS], start, end, n;
    int ndim, k;
    nh_status st;

    if ((st = static_shape(c, c->in[0], &ndim, dims)) ||
        (st = attr_int(c, "start", 0, &start)) || (st = attr_int(c, "end", ndim, &end)))
        return st;
    if (start < 0)
        start = start < -ndim ? 0 : start + ndim;
    if (end < 0)
        end = end < -ndim ? 0 : end + ndim;
    start = start > ndim ? ndim : start;
    end = end > ndim ? ndim : end;
    n = end > start ? end - start : 0;
    if ((st = tensor_alloc(out, NH_DTYPE_INT64, 1, &n, 0, c->label, c->L->err)))
        return st;
    for (k = 0; k < n; k++)
        out->i[k] = dims[start + k];
    return NH_OK;
}

/* Cast between float and integer types. Integer narrowing is not modelled:
 * shape arithmetic stays far inside every type's range. */
static nh_status fold_cast(const node_ctx *c, const tensor *x, tensor *out)
{
    int64_t to, k;
    nh_status st;

    if ((st = attr_int(c, "to", 0, &to)))
        return st;
    if (!dtype_size((int)to))
        return node_fail(c, NH_EUNSUPPORTED, "cast to %s is not supported",
                         dtype_name((int)to));
    if (has_batch(x) && dtype_is_float((int)to))
        return node_fail(c, NH_EUNSUPPORTED, "arithmetic on the batch size is not supported");
    if ((st = tensor_alloc(out, dtype_is_float((int)to) ? NH_DTYPE_FLOAT : NH_DTYPE_INT64,
                           x->ndim, x->dims, NH_FOLD_MAX_ELEMS, c->label, c->L->err)))
        return st;
    for (k = 0; k < x->count; k++) {
        if (out->dtype == NH_DTYPE_FLOAT) {
            out->f[k] = x->dtype == NH_DTYPE_FLOAT ? x->f[k] : (float)x->i[k];
        } else if (x->dtype == NH_DTYPE_INT64) {
            out->i[k] = to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? x->i[k] != 0 : x->i[k];
        } else if (to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL) {
            out->i[k] = x->f[k] != 0;
        } else if (x->f[k] > -9.2e18f && x->f[k] < 9.2e18f) {
            out->i[k] = (int64_t)x->f[k];
        } else {
            tensor_free(out);
            return node_fail(c, NH_EFORMAT, "value %g does not fit in %s", x->f[k],
                             dtype_name((int)to));
        }
    }
    return NH_OK;
}

/* Add, Sub, Mul, Div with numpy broadcasting; integer when both inputs are,
 * otherwise float. */
static nh_status fold_binary(const node_ctx *c, const tensor *x, const tensor *y, tensor *out)
{
    int64_t dims[NH_MAX_DIMS], sx[NH_MAX_DIMS] = {0}, sy[NH_MAX_DIMS] = {0};
    int64_t ax[NH_MAX_DIMS], ay[NH_MAX_DIMS], j;
    int r = x->ndim > y->ndim ? x->ndim : y->ndim, k;
    char op = c->op[0]; /* 'A', 'S', 'M' or 'D' */
    nh_status st;

    if (has_batch(x) || has_batch(y))
        return node_fail(c, NH_EUNSUPPORTED, "arithmetic on the batch size is not supported");
    c_strides(x->ndim, x->dims, ax);
    c_strides(y->ndim, y->dims, ay);
    for (k = 0; k < r; k++) {
        int kx = k - (r - x->ndim), ky = k - (r - y->ndim);
        int64_t dx = kx >= 0 ? x->dims[kx] : 1, dy = ky >= 0 ? y->dims[ky] : 1;

        if (dx != dy && dx != 1 && dy != 1)
            return node_fail(c, NH_ESHAPE, "shapes do not broadcast on axis %d", k);
        dims[k] = dx == 1 ? dy : dx;
        sx[k] = kx >= 0 && dx != 1 ? ax[kx] : 0;
        sy[k] = ky >= 0 && dy != 1 ? ay[ky] : 0;
    }
    if ((st = tensor_alloc(out,
                           x->dtype == NH_DTYPE_INT64 && y->dtype == NH_DTYPE_INT64
                               ? NH_DTYPE_INT64 : NH_DTYPE_FLOAT,
                           r, dims, NH_FOLD_MAX_ELEMS, c->label, c->L->err)))
        return st;
    for (j = 0; j < out->count; j++) {
        int64_t ox = offset_of(j, r, dims, sx), oy = offset_of(j, r, dims, sy);

        if (out->dtype == NH_DTYPE_INT64) {
            int64_t a = x->i[ox], b = y->i[oy];

            if (op == 'D' && (b == 0 || (a == INT64_MIN && b == -1))) {
                tensor_free(out);
                return node_fail(c, NH_EFORMAT, "integer division by zero");
            }
            /* Wrapping arithmetic through uint64 keeps overflow defined. */
            out->i[j] = op == 'A' ? (int64_t)((uint64_t)a + (uint64_t)b)
                      : op == 'S' ? (int64_t)((uint64_t)a - (uint64_t)b)
                      : op == 'M' ? (int64_t)((uint64_t)a * (uint64_t)b)
                      : a / b;
        } else {
            float a = x->dtype == NH_DTYPE_FLOAT ? x->f[ox] : (float)x->i[ox];
            float b = y->dtype == NH_DTYPE_FLOAT ? y->f[oy] : (float)y->i[oy];

            out->f[j] = op == 'A' ? a + b : op == 'S' ? a - b : op == 'M' ? a * b : a / b;
        }
    }
    return NH_OK;
}

static int is_op(const node_ctx *c, const char *op)
{
    return strcmp(c->op, op) == 0;
}

/* Operators evaluated when all their inputs are constant. */
static int is_foldable(const char *op)
{
    static const char *const ops[] = {
        "Identity", "Dropout", "Cast", "Reshape", "Flatten", "Transpose", "Unsqueeze",
        "Squeeze", "Concat", "Gather", "Slice", "Shape", "Add", "Sub", "Mul", "Div"};
    size_t k;

    for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (strcmp(op, ops[k]) == 0)
            return 1;
    return 0;
}

/* Evaluates a foldable node on its constant inputs (Shape: any input) into
 * a new constant named after its first output. */
static nh_status fold_node(const node_ctx *c)
{
    tensor *xs, out;
    int64_t dims[NH_MAX_DIMS];
    int ndim, k;
    nh_status st;

    memset(&out, 0, sizeof out);
    if (c->n_in < 1 || c->in[0] < 0)
        return node_fail(c, NH_EFORMAT, "input 0 is missing");
    if (is_op(c, "Shape")) {
        st = fold_shape(c, &out);
        return st ? st : add_const(c->L, c->np->output[0], &out);
    }
    xs = nh_calloc(c->L->err, (size_t)c->n_in, sizeof *xs);
    if (!xs)
        return NH_ENOMEM;
    for (k = 0; k < c->n_in; k++)
        if (c->in[k] >= 0)
            xs[k] = tensor_view(&c->L->g->values[c->in[k]]);

    if (is_op(c, "Identity") || is_op(c, "Dropout"))
        st = fold_copy(c, &xs[0], xs[0].ndim, xs[0].dims, &out);
    else if (is_op(c, "Cast"))
        st = fold_cast(c, &xs[0], &out);
    else if (is_op(c, "Reshape"))
        st = fold_reshape(c, &xs[0], &out);
    else if (is_op(c, "Flatten"))
        st = fold_flatten(c, &xs[0], &out);
    else if (is_op(c, "Transpose"))
        st = fold_transpose(c, &xs[0], &out);
    else if (is_op(c, "Unsqueeze") || is_op(c, "Squeeze")) {
        st = is_op(c, "Squeeze") ? squeeze_dims(c, xs[0].ndim, xs[0].dims, &ndim, dims)
                                 : unsqueeze_dims(c, xs[0].ndim, xs[0].dims, &ndim, dims);
        if (!st)
            st = fold_copy(c, &xs[0], ndim, dims, &out);
    } else if (is_op(c, "Concat"))
        st = fold_concat(c, xs, &out);
    else if (is_op(c, "Slice"))
        st = fold_slice(c, &xs[0], &out);
    else if (c->n_in < 2 || c->in[1] < 0)
        st = node_fail(c, NH_EFORMAT, "input 1 is missing");
    else if (is_op(c, "Gather"))
        st = fold_gather(c, &xs[0], &xs[1], &out);
    else
        st = fold_binary(c, &xs[0], &xs[1], &out);

    free(xs);
    return st ? st : add_const(c->L, c->np->output[0], &out);
}

/* -------------------------------------------------------------- operators */

static const struct op_entry {
    const char *name;
    nh_op op;
    int min_inputs;
} op_table[] = {
    {"Gemm", NH_OP_GEMM, 2},
    {"MatMul", NH_OP_MATMUL, 2},
    {"Conv", NH_OP_CONV, 2},
    {"MaxPool", NH_OP_MAXPOOL, 1},
    {"AveragePool", NH_OP_AVGPOOL, 1},
    {"GlobalAveragePool", NH_OP_GLOBALAVGPOOL, 1},
    {"GlobalMaxPool", NH_OP_GLOBALMAXPOOL, 1},
    {"Pad", NH_OP_PAD, 1},
    {"Flatten", NH_OP_FLATTEN, 1},
    {"Reshape", NH_OP_RESHAPE, 2},
    {"Transpose", NH_OP_TRANSPOSE, 1},
    {"Identity", NH_OP_IDENTITY, 1},
    {"Dropout", NH_OP_IDENTITY, 1},
    {"Concat", NH_OP_CONCAT, 1},
    {"Relu", NH_OP_RELU, 1},
    {"LeakyRelu", NH_OP_LEAKYRELU, 1},
    {"Elu", NH_OP_ELU, 1},
    {"Selu", NH_OP_SELU, 1},
    {"Sigmoid", NH_OP_SIGMOID, 1},
    {"HardSigmoid", NH_OP_HARDSIGMOID, 1},
    {"Tanh", NH_OP_TANH, 1},
    {"Softplus", NH_OP_SOFTPLUS, 1},
    {"Clip", NH_OP_CLIP, 1},
    {"Softmax", NH_OP_SOFTMAX, 1},
    {"BatchNormalization", NH_OP_BATCHNORM, 5},
    {"Add", NH_OP_ADD, 2},
    {"Sub", NH_OP_SUB, 2},
    {"Mul", NH_OP_MUL, 2},
    {"Div", NH_OP_DIV, 2},
    /* On computed tensors, Squeeze and Unsqueeze become a Reshape to their
     * static output shape, and Cast to float an Identity. */
    {"Squeeze", NH_OP_RESHAPE, 1},
    {"Unsqueeze", NH_OP_RESHAPE, 1},
    {"Cast", NH_OP_IDENTITY, 1},
};

static const struct op_entry *op_find(const char *name)
{
    size_t k;

    for (k = 0; k < sizeof op_table / sizeof op_table[0]; k++)
        if (strcmp(op_table[k].name, name) == 0)
            return &op_table[k];
    return NULL;
}

static nh_status attrs_gemm(const node_ctx *c, nh_attrs *a)
{
    nh_status st;

    if ((st = attr_float(c, "alpha", 1.0f, &a->alpha)) ||
        (st = attr_float(c, "beta", 1.0f, &a->beta)) ||
        (st = attr_small(c, "transA", 0, 0, 1, &a->trans_a)))
        return st;
    return attr_small(c, "transB", 0, 0, 1, &a->trans_b);
}

static nh_status attrs_auto_pad(const node_ctx *c, nh_attrs *a)
{
    char s[32];
    nh_status st = attr_string(c, "auto_pad", "NOTSET", s, sizeof s);

    if (st)
        return st;
    if (strcmp(s, "NOTSET") == 0 || s[0] == '\0')
        a->auto_pad = NH_PAD_NOTSET;
    else if (strcmp(s, "VALID") == 0)
        a->auto_pad = NH_PAD_VALID;
    else if (strcmp(s, "SAME_UPPER") == 0)
        a->auto_pad = NH_PAD_SAME_UPPER;
    else if (strcmp(s, "SAME_LOWER") == 0)
        a->auto_pad = NH_PAD_SAME_LOWER;
    else
        return node_fail(c, NH_EFORMAT, "auto_pad \"%s\" is not a known mode", s);
    return NH_OK;
}

/* Checks that list `name` of n values has want values (when present) that
 * are all at least lo. */
static nh_status check_list(const node_ctx *c, const char *name, const int64_t *v, int n,
                            int want, int64_t lo)
{
    int k;

    if (n < 0)
        return NH_OK;
    if (n != want)
        return node_fail(c, NH_EFORMAT, "attribute %s has %d values, expected %d", name, n,
                         want);
    for (k = 0; k < n; k++)
        if (v[k] < lo || v[k] > NH_MAX_SIZE)
            return node_fail(c, NH_EFORMAT, "attribute %s holds %lld", name, (long long)v[k]);
    return NH_OK;
}

/* The sliding window of Conv and the pools: kernel_shape (for Conv, from
 * the weight's shape when absent), strides, dilations, pads and auto_pad. */
static nh_status attrs_window(const node_ctx *c, nh_attrs *a)
{
    int n, m;
    nh_status st;

    if ((st = attr_ints(c, "kernel_shape", a->kernel, NH_MAX_SPATIAL, &n)))
        return st;
    if (n < 0 && is_op(c, "Conv")) {
        int64_t w[NH_MAX_DIMS];
        int r, k;

        if ((st = static_shape(c, c->in[1], &r, w)))
            return st;
        if (r < 3 || r > 2 + NH_MAX_SPATIAL)
            return node_fail(c, NH_EUNSUPPORTED, "weight of rank %d (1 to %d spatial axes "
                             "are supported)", r, NH_MAX_SPATIAL);
        for (n = r - 2, k = 0; k < n; k++)
            a->kernel[k] = w[k + 2];
    }
    if (n < 0)
        return node_fail(c, NH_EFORMAT, "attribute kernel_shape is missing");
    if (n == 0)
        return node_fail(c, NH_EFORMAT, "attribute kernel_shape is empty");
    a->n_spatial = n;
    if ((st = check_list(c, "kernel_shape", a->kernel, n, n, 1)))
        return st;

    if ((st = attr_ints(c, "strides", a->strides, NH_MAX_SPATIAL, &m)) ||
        (st = check_list(c, "strides", a->strides, m, n, 1)) ||
        (st = attr_ints(c, "dilations", a->dilations, NH_MAX_SPATIAL, &m)) ||
        (st = check_list(c, "dilations", a->dilations, m, n, 1)) ||
        (st = attr_ints(c, "pads", a->pads, 2 * NH_MAX_SPATIAL, &m)) ||
        (st = check_list(c, "pads", a->pads, m, 2 * n, 0)))
        return st;
    return attrs_auto_pad(c, a);
}

static nh_status attrs_conv(const node_ctx *c, nh_attrs *a)
{
    int64_t group;
    nh_status st;

    if ((st = attrs_window(c, a)) || (st = attr_int(c, "group", 1, &group)))
        return st;
    if (group < 1 || group > NH_MAX_SIZE)
        return node_fail(c, NH_EFORMAT, "attribute group = %lld", (long long)group);
    a->group = group;
    return NH_OK;
}

static nh_status attrs_pool(const node_ctx *c, nh_attrs *a)
{
    nh_status st;

    if ((st = attrs_window(c, a)) || (st = attr_small(c, "ceil_mode", 0, 0, 1, &a->ceil_mode)))
        return st;
    if (is_op(c, "AveragePool"))
        return attr_small(c, "count_include_pad", 0, 0, 1, &a->count_include_pad);
    return NH_OK;
}

/* Clip's bounds: attributes before opset 11, constant inputs 1 and 2 from
 * opset 11 (absent ones leave the value unbounded). */
static nh_status attrs_clip(const node_ctx *c, nh_attrs *a)
{
    nh_status st;

    if (c->L->opset < 11) {
        if ((st = attr_float(c, "min", -INFINITY, &a->min_value)))
            return st;
        return attr_float(c, "max", INFINITY, &a->max_value);
    }
    if (in_value(c, 1) && (st = const_scalar(c, 1, "min", &a->min_value)))
        return st;
    if (in_value(c, 2) && (st = const_scalar(c, 2, "max", &a->max_value)))
        return st;
    return NH_OK;
}

/* Opset 18's axes input: pads for the listed axes only, spread over all
 * axes of the data. */
static nh_status pad_axes(const node_ctx *c, nh_attrs *a)
{
    int64_t axes[NH_MAX_DIMS], dims[NH_MAX_DIMS], full[2 * NH_MAX_DIMS] = {0};
    int n, r, k, ax;
    nh_status st;

    if ((st = const_ints(c, 3, "axes", axes, NH_MAX_DIMS, &n)) ||
        (st = static_shape(c, c->in[0], &r, dims)))
        return st;
    if (a->n_ints != 2 * n)
        return node_fail(c, NH_EFORMAT, "pads has %d values for %d axes", a->n_ints, n);
    for (k = 0; k < n; k++) {
        if ((st = norm_axis(c, axes[k], r, &ax)))
            return st;
        full[ax] = a->ints[k];
        full[ax + r] = a->ints[k + n];
    }
    memcpy(a->ints, full, sizeof full);
    a->n_ints = 2 * r;
    return NH_OK;
}

/* Pad, constant mode only: pads and value from attributes before opset 11,
 * from constant inputs 1 to 3 from opset 11. */
static nh_status attrs_pad(const node_ctx *c, nh_attrs *a)
{
    char mode[32];
    int k;
    nh_status st;

    if ((st = attr_string(c, "mode", "constant", mode, sizeof mode)))
        return st;
    if (strcmp(mode, "constant") != 0)
        return node_fail(c, NH_EUNSUPPORTED, "mode \"%s\" is not supported (only \"constant\")",
                         mode);
    if (c->L->opset < 11) {
        if ((st = attr_ints(c, "pads", a->ints, 2 * NH_MAX_DIMS, &a->n_ints)) ||
            (st = attr_float(c, "value", 0.0f, &a->value)))
            return st;
        if (a->n_ints < 0)
            return node_fail(c, NH_EFORMAT, "attribute pads is missing");
    } else {
        if ((st = const_ints(c, 1, "pads", a->ints, 2 * NH_MAX_DIMS, &a->n_ints)))
            return st;
        if (in_value(c, 2) && (st = const_scalar(c, 2, "constant_value", &a->value)))
            return st;
        if (in_value(c, 3) && (st = pad_axes(c, a)))
            return st;
    }
    if (a->n_ints % 2)
        return node_fail(c, NH_EFORMAT, "pads has an odd number of values (%d)", a->n_ints);
    for (k = 0; k < a->n_ints; k++)
        if (a->ints[k] < -NH_MAX_SIZE || a->ints[k] > NH_MAX_SIZE)
            return node_fail(c, NH_EFORMAT, "pads holds %lld", (long long)a->ints[k]);
    return NH_OK;
}

/* Reshape of a computed tensor to a constant shape. A file exported with a
 * fixed batch size b (say 1) writes b where it means "the batch"; a target
 * that starts with b therefore keeps the batch axis. */
static nh_status attrs_reshape(const node_ctx *c, nh_attrs *a)
{
    int k;
    nh_status st;

    if ((st = const_ints(c, 1, "shape", a->ints, NH_MAX_DIMS, &a->n_ints)) ||
        (st = attr_small(c, "allowzero", 0, 0, 1, &a->allowzero)))
        return st;
    for (k = 0; k < a->n_ints; k++)
        if ((a->ints[k] < -1 && a->ints[k] != NH_DIM_BATCH) || a->ints[k] > NH_MAX_SIZE)
            return node_fail(c, NH_EFORMAT, "the shape holds %lld", (long long)a->ints[k]);
    if (c->L->fixed_batch > 0 && a->n_ints > 0 && a->ints[0] == c->L->fixed_batch)
        a->ints[0] = NH_DIM_BATCH;
    return NH_OK;
}

/* Squeeze and Unsqueeze of a computed tensor: a Reshape to the static
 * output shape, which must keep the batch axis first. */
static nh_status attrs_squeeze(const node_ctx *c, nh_attrs *a)
{
    int64_t dims[NH_MAX_DIMS];
    int ndim;
    nh_status st;

    if ((st = static_shape(c, c->in[0], &ndim, dims)))
        return st;
    if (is_op(c, "Squeeze"))
        st = squeeze_dims(c, ndim, dims, &a->n_ints, a->ints);
    else
        st = unsqueeze_dims(c, ndim, dims, &a->n_ints, a->ints);
    if (st)
        return st;
    if (a->n_ints < 1 || a->ints[0] != NH_DIM_BATCH)
        return node_fail(c, NH_EUNSUPPORTED, "moving the batch axis is not supported");
    a->allowzero = 1;
    return NH_OK;
}

static nh_status attrs_transpose(const node_ctx *c, nh_attrs *a)
{
    int64_t dims[NH_MAX_DIMS];
    int k, r;
    nh_status st;

    if ((st = attr_ints(c, "perm", a->ints, NH_MAX_DIMS, &a->n_ints)))
        return st;
    if (a->n_ints >= 0)
        return NH_OK;
    if ((st = static_shape(c, c->in[0], &r, dims)))
        return st;
    for (k = 0; k < r; k++)
        a->ints[k] = r - 1 - k;
    a->n_ints = r;
    return NH_OK;
}

/* Softmax's axis is 1 before opset 13 (over the flattened trailing axes)
 * and -1 from opset 13 (over that one axis). */
static nh_status attrs_axis(const node_ctx *c, nh_attrs *a)
{
    int def = 1;

    if (is_op(c, "Concat") && !attr_find(c, "axis"))
        return node_fail(c, NH_EFORMAT, "attribute axis is missing");
    if (is_op(c, "Softmax")) {
        a->softmax_single_axis = c->L->opset >= 13;
        def = a->softmax_single_axis ? -1 : 1;
    }
    return attr_small(c, "axis", def, -NH_MAX_DIMS, NH_MAX_DIMS, &a->axis);
}

static nh_status attrs_activation(const node_ctx *c, nh_attrs *a)
{
    nh_status st = NH_OK;

    if (is_op(c, "LeakyRelu"))
        st = attr_float(c, "alpha", 0.01f, &a->alpha);
    else if (is_op(c, "Elu"))
        st = attr_float(c, "alpha", 1.0f, &a->alpha);
    else if (is_op(c, "Selu")) {
        st = attr_float(c, "alpha", 1.67326319217681884765625f, &a->alpha);
        if (!st)
            st = attr_float(c, "gamma", 1.05070102214813232421875f, &a->gamma);
    } else if (is_op(c, "HardSigmoid")) {
        st = attr_float(c, "alpha", 0.2f, &a->alpha);
        if (!st)
            st = attr_float(c, "beta", 0.5f, &a->beta);
    }
    return st;
}

/* Inference-mode batch normalisation over constant statistics. */
static nh_status attrs_batchnorm(const node_ctx *c, nh_attrs *a)
{
    static const char *const names[] = {"X", "scale", "B", "mean", "var"};
    int k, flag;
    nh_status st;

    for (k = 1; k < 5; k++)
        if (!in_is_const(c, k))
            return node_fail(c, NH_EUNSUPPORTED, "input %d (%s) must be a constant", k,
                             names[k]);
    if ((st = attr_float(c, "epsilon", 1e-5f, &a->epsilon)))
        return st;
    if (c->L->opset < 9) {
        if ((st = attr_small(c, "spatial", 1, 0, 1, &flag)))
            return st;
        if (!flag)
            return node_fail(c, NH_EUNSUPPORTED, "spatial = 0 is not supported");
    }
    if ((st = attr_small(c, "training_mode", 0, 0, 1, &flag)))
        return st;
    if (flag)
        return node_fail(c, NH_EUNSUPPORTED, "training mode is not supported");
    return NH_OK;
}

/* Dropout is the identity at inference; opset 12's training_mode input
 * must be absent or a constant false. */
static nh_status attrs_dropout(const node_ctx *c)
{
    const nh_value *t = in_value(c, 2);

    if (!t)
        return NH_OK;
    if (!t->is_const || nh_shape_count(t->ndim, t->dims, 1) != 1)
        return node_fail(c, NH_EUNSUPPORTED, "training_mode must be a constant");
    if (t->dtype == NH_DTYPE_INT64 ? t->i[0] != 0 : t->f[0] != 0)
        return node_fail(c, NH_EUNSUPPORTED, "training mode is not supported");
    return NH_OK;
}

static nh_status attrs_cast(const node_ctx *c)
{
    int64_t to;
    nh_status st = attr_int(c, "to", 0, &to);

    if (st)
        return st;
    if (to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return node_fail(c, NH_EUNSUPPORTED, "cast of a computed tensor to %s is not supported",
                         dtype_name((int)to));
    return NH_OK;
}

/* The normalised attributes of a computed node, and how many of its inputs
 * the graph node keeps (inputs folded into attributes are dropped). */
static nh_status node_attrs(const node_ctx *c, nh_op op, nh_attrs *a, int *n_keep)
{
    *n_keep = c->n_in;
    switch (op) {
    case NH_OP_GEMM:
        return attrs_gemm(c, a);
    case NH_OP_CONV:
        return attrs_conv(c, a);
    case NH_OP_MAXPOOL:
    case NH_OP_AVGPOOL:
        return attrs_pool(c, a);
    case NH_OP_PAD:
        *n_keep = 1;
        return attrs_pad(c, a);
    case NH_OP_RESHAPE:
        *n_keep = 1;
        return is_op(c, "Reshape") ? attrs_reshape(c, a) : attrs_squeeze(c, a);
    case NH_OP_TRANSPOSE:
        return attrs_transpose(c, a);
    case NH_OP_FLATTEN:
    case NH_OP_CONCAT:
    case NH_OP_SOFTMAX:
        return attrs_axis(c, a);
    case NH_OP_CLIP:
        *n_keep = 1;
        return attrs_clip(c, a);
    case NH_OP_BATCHNORM:
        *n_keep = 5;
        return attrs_batchnorm(c, a);
    case NH_OP_IDENTITY:
        *n_keep = 1;
        if (is_op(c, "Dropout"))
            return attrs_dropout(c);
        return is_op(c, "Cast") ? attrs_cast(c) : NH_OK;
    default:
        return attrs_activation(c, a);
    }
}

/* Adds the graph node for a computed operator and its output value. */
static nh_status add_compute_node(const node_ctx *c, const struct op_entry *e)
{
    loader *L = c->L;
    nh_attrs a;
    nh_node *n;
    int n_keep, node, v, k;
    nh_status st;

    for (k = 0; k < e->min_inputs; k++)
        if (!in_value(c, k))
            return node_fail(c, NH_EFORMAT, "input %d is missing", k);
    nh_attrs_default(&a);
    if ((st = node_attrs(c, e->op, &a, &n_keep)))
        return st;
    if (n_keep > c->n_in)
        n_keep = c->n_in;
    while (n_keep > 0 && c->in[n_keep - 1] < 0)
        n_keep--;
    if (n_keep > NH_MAX_NODE_INPUTS)
        return node_fail(c, NH_EUNSUPPORTED, "%d inputs (at most %d are supported)", n_keep,
                         NH_MAX_NODE_INPUTS);

    node = nh_graph_add_node(L->g, e->op, c->name, c->op, L->err);
    if (node < 0)
        return NH_ENOMEM;
    v = add_computed(L, c->np->output[0], node);
    if (v < 0)
        return L->err->status;
    n = &L->g->nodes[node];
    n->a = a;
    n->n_in = n_keep;
    for (k = 0; k < n_keep; k++)
        n->in[k] = c->in[k];
    n->out = v;
    return NH_OK;
}

/* A Constant node: its value becomes a constant named after its output. */
static nh_status load_constant(const node_ctx *c)
{
    const Onnx__AttributeProto *a;
    const char *label = c->label;
    tensor t;
    int type;
    nh_status st;

    if (c->np->n_attribute != 1 || !c->np->attribute[0]->name)
        return node_fail(c, NH_EFORMAT, "a Constant needs exactly one attribute");
    a = c->np->attribute[0];
    type = attr_type(a);
    if (strcmp(a->name, "value") == 0 && a->t) {
        st = tensor_decode(a->t, label, &t, c->L->err);
    } else if (strcmp(a->name, "value_float") == 0 &&
               type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) {
        if (!(st = tensor_alloc(&t, NH_DTYPE_FLOAT, 0, NULL, 0, label, c->L->err)))
            t.f[0] = a->f;
    } else if (strcmp(a->name, "value_int") == 0 &&
               type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) {
        if (!(st = tensor_alloc(&t, NH_DTYPE_INT64, 0, NULL, 0, label, c->L->err)))
            t.i[0] = a->i;
    } else if (strcmp(a->name, "value_floats") == 0 &&
               type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS) {
        int64_t n = (int64_t)a->n_floats;

        if (!(st = tensor_alloc(&t, NH_DTYPE_FLOAT, 1, &n, 0, label, c->L->err)) && n)
            memcpy(t.f, a->floats, (size_t)n * sizeof *t.f);
    } else if (strcmp(a->name, "value_ints") == 0 &&
               type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) {
        int64_t n = (int64_t)a->n_ints;

        if (!(st = tensor_alloc(&t, NH_DTYPE_INT64, 1, &n, 0, label, c->L->err)) && n)
            memcpy(t.i, a->ints, (size_t)n * sizeof *t.i);
    } else {
        return node_fail(c, NH_EUNSUPPORTED, "attribute %s is not supported", a->name);
    }
    return st ? st : add_const(c->L, c->np->output[0], &t);
}

/* The first opset whose form of op the loader reads; older forms differ
 * (Pad's "paddings", Concat's default axis, Reshape's shape attribute,
 * Cast's type as a string, the legacy broadcast attribute of Gemm and the
 * arithmetic operators, is_test in BatchNormalization and Dropout). The
 * other operators read here have kept their form since opset 1, give or
 * take the consumed_inputs hint, which is ignored. */
static int first_opset(const char *op)
{
    static const struct {
        const char *op;
        int opset;
    } forms[] = {{"Pad", 2}, {"Concat", 4}, {"Reshape", 5}, {"Cast", 6}, {"Gemm", 7},
                 {"Add", 7}, {"Sub", 7}, {"Mul", 7}, {"Div", 7}, {"BatchNormalization", 7},
                 {"Dropout", 7}};
    size_t k;

    for (k = 0; k < sizeof forms / sizeof forms[0]; k++)
        if (strcmp(op, forms[k].op) == 0)
            return forms[k].opset;
    return 1;
}

/* Loads one node whose inputs are resolved: a Constant, a folded node or a
 * computed one. */
static nh_status load_node_body(const node_ctx *c)
{
    const struct op_entry *e;
    int k, n_present = 0, all_const = 1;

    if (is_op(c, "Constant"))
        return load_constant(c);
    e = op_find(c->op);
    if (!e && !is_foldable(c->op))
        return node_fail(c, NH_EUNSUPPORTED, "operator not supported by nnheat");
    if (first_opset(c->op) > c->L->opset)
        return node_fail(c, NH_EUNSUPPORTED, "the opset %lld form of this operator is not "
                         "supported (opset %d or later is)", (long long)c->L->opset,
                         first_opset(c->op));
    for (k = 1; k < (int)c->np->n_output; k++) {
        const char *o = c->np->output[k];

        if (o && o[0] && map_get(&c->L->used, o) >= 0)
            return node_fail(c, NH_EUNSUPPORTED,
                             "output %d (\"%s\") is used, but nnheat computes only the first "
                             "output", k, o);
    }
    for (k = 0; k < c->n_in; k++) {
        if (c->in[k] < 0)
            continue;
        n_present++;
        all_const &= c->L->g->values[c->in[k]].is_const;
    }

    if (is_op(c, "Shape") || (all_const && n_present > 0)) {
        if (!is_foldable(c->op))
            return node_fail(c, NH_EUNSUPPORTED, "all inputs are constant, and nnheat "
                             "evaluates only shape arithmetic at load time");
        return fold_node(c);
    }
    if (!e)
        return node_fail(c, NH_EUNSUPPORTED, "%s of a computed tensor is not supported "
                         "(nnheat evaluates it on constants and shapes only)", c->op);
    return add_compute_node(c, e);
}

/* Names the node, checks its domain and resolves its inputs. */
static nh_status load_node(loader *L, const Onnx__NodeProto *np, size_t index)
{
    node_ctx c;
    size_t k;
    nh_status st = NH_OK;

    memset(&c, 0, sizeof c);
    c.L = L;
    c.np = np;
    c.op = np->op_type ? np->op_type : "";
    c.name = np->name && np->name[0] ? np->name : c.gen;
    snprintf(c.gen, sizeof c.gen, "%.64s_%zu", c.op, index);

    if (np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx") != 0)
        return node_fail(&c, NH_EUNSUPPORTED, "operators of domain \"%s\" are not supported",
                         np->domain);
    if (np->n_output < 1 || !np->output[0] || !np->output[0][0])
        return node_fail(&c, NH_EFORMAT, "the node has no output");
    if (map_get(&L->values, np->output[0]) >= 0)
        return node_fail(&c, NH_EFORMAT, "output \"%s\" is already defined", np->output[0]);
    if (np->n_input > (1u << 20))
        return node_fail(&c, NH_EFORMAT, "%zu inputs", np->n_input);
    c.n_in = (int)np->n_input;
    c.in = nh_calloc(L->err, np->n_input, sizeof *c.in);
    c.label = nh_alloc(L->err, strlen(c.name) + strlen(c.op) + 16, 1);
    if (!c.in || !c.label) {
        free(c.in);
        free(c.label);
        return NH_ENOMEM;
    }
    sprintf(c.label, "node \"%s\" (%s)", c.name, c.op);
    for (k = 0; k < np->n_input && !st; k++) {
        const char *name = np->input[k];

        c.in[k] = -1;
        if (!name || !name[0])
            continue;
        c.in[k] = map_get(&L->values, name);
        if (c.in[k] < 0)
            st = node_fail(&c, NH_EFORMAT, "input \"%s\" is not defined before the node", name);
    }
    if (!st)
        st = load_node_body(&c);
    free(c.in);
    free(c.label);
    return st;
}

/* ------------------------------------------------------------------ graph */

static nh_status read_opset(loader *L, const Onnx__ModelProto *mp)
{
    size_t k;

    L->opset = -1;
    for (k = 0; k < mp->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[k];

        if (!o->domain || !o->domain[0] || strcmp(o->domain, "ai.onnx") == 0)
            L->opset = o->has_version ? o->version : 0;
    }
    if (mp->n_opset_import == 0)
        L->opset = 1; /* IR versions 1 and 2 had no opset_import */
    if (L->opset < 0)
        return nh_fail(L->err, NH_EUNSUPPORTED, "the model imports no default-domain opset");
    if (L->opset < NH_ONNX_OPSET_MIN || L->opset > NH_ONNX_OPSET_MAX)
        return nh_fail(L->err, NH_EUNSUPPORTED,
                       "ONNX opset %lld is not supported (opsets %d to %d are)",
                       (long long)L->opset, NH_ONNX_OPSET_MIN, NH_ONNX_OPSET_MAX);
    return NH_OK;
}

/* Every name a node or a graph output reads, so that extra outputs (MaxPool's
 * indices, Dropout's mask) can be checked unused. */
static nh_status collect_used(loader *L)
{
    const Onnx__GraphProto *gp = L->gp;
    size_t k, j;
    nh_status st;

    for (k = 0; k < gp->n_node; k++)
        for (j = 0; j < gp->node[k]->n_input; j++) {
            const char *name = gp->node[k]->input[j];

            if (name && name[0] && (st = map_put(&L->used, name, 1, L->err)))
                return st;
        }
    for (k = 0; k < gp->n_output; k++) {
        const char *name = gp->output[k]->name;

        if (name && name[0] && (st = map_put(&L->used, name, 1, L->err)))
            return st;
    }
    return NH_OK;
}

static nh_status load_initializers(loader *L)
{
    const Onnx__GraphProto *gp = L->gp;
    char label[320];
    tensor t;
    size_t k;
    nh_status st;

    if (gp->n_sparse_initializer)
        return nh_fail(L->err, NH_EUNSUPPORTED, "sparse initializers are not supported");
    for (k = 0; k < gp->n_initializer; k++) {
        const Onnx__TensorProto *init = gp->initializer[k];

        if (!init->name || !init->name[0])
            return nh_fail(L->err, NH_EFORMAT, "initializer %zu has no name", k);
        snprintf(label, sizeof label, "initializer \"%s\"", init->name);
        if ((st = tensor_decode(init, label, &t, L->err)) ||
            (st = add_const(L, init->name, &t)))
            return st;
    }
    return NH_OK;
}

static const Onnx__TypeProto__Tensor *tensor_type(const Onnx__ValueInfoProto *vi)
{
    if (vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return vi->type->tensor_type;
    return NULL;
}

/* A graph input bound to the caller's data; integer-typed inputs take the
 * floats rounded. */
static nh_status bind_input(loader *L, const Onnx__ValueInfoProto *vi, const binding *b, int k)
{
    const Onnx__TypeProto__Tensor *tt = tensor_type(vi);
    int elem = tt && tt->has_elem_type ? tt->elem_type : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    char label[320];
    tensor t;
    int64_t j;
    int d;
    nh_status st;

    snprintf(label, sizeof label, "bound input \"%s\"", vi->name);
    if (b->ndim[k] < 0 || b->ndim[k] > NH_MAX_DIMS)
        return nh_fail(L->err, NH_EINVAL, "%s has rank %d", label, b->ndim[k]);
    for (d = 0; d < b->ndim[k]; d++)
        if (b->dims[k][d] < 0)
            return nh_fail(L->err, NH_EINVAL, "%s has a negative dimension", label);
    if ((st = tensor_alloc(&t, dtype_is_float(elem) ? NH_DTYPE_FLOAT : NH_DTYPE_INT64,
                           b->ndim[k], b->dims[k], 0, label, L->err)))
        return st;
    for (j = 0; j < t.count; j++) {
        float x = b->values[k][j];

        if (t.dtype == NH_DTYPE_FLOAT) {
            t.f[j] = x;
        } else if (x > -9.2e18f && x < 9.2e18f) {
            t.i[j] = (int64_t)nearbyintf(x);
        } else {
            tensor_free(&t);
            return nh_fail(L->err, NH_EINVAL, "%s: value %g is not an integer", label, x);
        }
    }
    return add_const(L, vi->name, &t);
}

/* The one computed input: a floating-point tensor whose first axis is the
 * batch and whose other axes have fixed sizes. */
static nh_status set_computed_input(loader *L, const Onnx__ValueInfoProto *vi)
{
    const Onnx__TypeProto__Tensor *tt = tensor_type(vi);
    const char *name = vi->name;
    nh_value *v;
    int64_t dims[NH_MAX_DIMS];
    size_t r, k;
    int idx;

    if (!tt)
        return nh_fail(L->err, NH_EUNSUPPORTED, "input \"%s\" is not a tensor", name);
    if (!tt->has_elem_type || !dtype_is_float(tt->elem_type))
        return nh_fail(L->err, NH_EUNSUPPORTED,
                       "input \"%s\" has type %s; nnheat needs a floating-point input", name,
                       dtype_name(tt->has_elem_type ? tt->elem_type : 0));
    if (!tt->shape)
        return nh_fail(L->err, NH_EUNSUPPORTED, "input \"%s\" has no shape in the file", name);
    r = tt->shape->n_dim;
    if (r == 0 || r > NH_MAX_DIMS)
        return nh_fail(L->err, NH_EUNSUPPORTED,
                       "input \"%s\" has rank %zu (1 to %d, the batch axis first)", name, r,
                       NH_MAX_DIMS);
    for (k = 0; k < r; k++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
        int fixed = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;

        if (k == 0) {
            dims[0] = NH_DIM_BATCH;
            L->fixed_batch = fixed && d->dim_value > 0 ? d->dim_value : 0;
        } else if (fixed && d->dim_value > 0 && d->dim_value <= NH_MAX_SIZE) {
            dims[k] = d->dim_value;
        } else if (fixed) {
            return nh_fail(L->err, NH_EUNSUPPORTED, "input \"%s\": axis %zu has size %lld",
                           name, k, (long long)d->dim_value);
        } else {
            int param = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;

            return nh_fail(L->err, NH_EUNSUPPORTED,
                           "input \"%s\": axis %zu has no fixed size%s%s%s", name, k,
                           param ? " (it is \"" : "", param && d->dim_param ? d->dim_param : "",
                           param ? "\")" : "");
        }
    }

    idx = nh_graph_add_value(L->g, name, L->err);
    if (idx < 0 || map_put(&L->values, L->g->values[idx].name, idx, L->err))
        return NH_ENOMEM;
    v = &L->g->values[idx];
    v->ndim = (int)r;
    memcpy(v->dims, dims, r * sizeof *dims);
    L->g->input = idx;
    return NH_OK;
}

/* Graph inputs: initializers are constants already, bound inputs become
 * constants, and exactly one must be left. */
static nh_status load_inputs(loader *L, const binding *b)
{
    const Onnx__GraphProto *gp = L->gp;
    const Onnx__ValueInfoProto *left = NULL;
    char names[512] = "";
    size_t k, n_left = 0, len = 0;
    int j;
    nh_status st;

    for (j = 0; j < b->n; j++) {
        for (k = 0; k < gp->n_input; k++)
            if (gp->input[k]->name && strcmp(gp->input[k]->name, b->names[j]) == 0)
                break;
        if (k == gp->n_input)
            return nh_fail(L->err, NH_EINVAL, "bound input \"%s\" is not a graph input",
                           b->names[j]);
    }
    for (k = 0; k < gp->n_input; k++) {
        const Onnx__ValueInfoProto *vi = gp->input[k];

        if (!vi->name || !vi->name[0])
            return nh_fail(L->err, NH_EFORMAT, "graph input %zu has no name", k);
        if (map_get(&L->values, vi->name) >= 0)
            continue; /* an initializer listed as an input (IR version < 4) */
        for (j = 0; j < b->n && strcmp(b->names[j], vi->name) != 0; j++)
            ;
        if (j < b->n) {
            if ((st = bind_input(L, vi, b, j)))
                return st;
            continue;
        }
        left = vi;
        n_left++;
        if (len < sizeof names) {
            int w = snprintf(names + len, sizeof names - len, "%s\"%s\"", len ? ", " : "",
                             vi->name);
            len += w > 0 ? (size_t)w : 0;
        }
    }
    if (n_left != 1)
        return nh_fail(L->err, NH_EUNSUPPORTED,
                       "the graph has %zu inputs that are not initializers%s%s%s; nnheat "
                       "needs exactly one", n_left, n_left ? " (" : "", names,
                       n_left ? ")" : "");
    return set_computed_input(L, left);
}

static nh_status load_nodes(loader *L)
{
    size_t k;
    nh_status st;

    for (k = 0; k < L->gp->n_node; k++)
        if ((st = load_node(L, L->gp->node[k], k)))
            return st;
    return NH_OK;
}

/* Every graph output is kept (and costed); the first is what `run` writes. */
static nh_status set_output(loader *L)
{
    if (L->gp->n_output == 0)
        return nh_fail(L->err, NH_EFORMAT, "the graph has no output");
    if (L->gp->n_output > NH_MAX_OUTPUTS)
        return nh_fail(L->err, NH_EUNSUPPORTED, "the graph has %zu outputs; nnheat handles "
                       "up to %d", L->gp->n_output, NH_MAX_OUTPUTS);
    for (size_t k = 0; k < L->gp->n_output; k++) {
        const char *name = L->gp->output[k]->name ? L->gp->output[k]->name : "";
        int v = map_get(&L->values, name);

        if (v < 0)
            return nh_fail(L->err, NH_EFORMAT, "graph output \"%s\" is not computed by any "
                           "node", name);
        if (L->g->values[v].is_const)
            return nh_fail(L->err, NH_EUNSUPPORTED, "graph output \"%s\" is a constant",
                           name);
        L->g->outputs[L->g->n_outputs++] = v;
    }
    L->g->output = L->g->outputs[0];
    return NH_OK;
}

static nh_status load_model(const void *data, size_t size, const char *name, const binding *b,
                            nh_graph **out, nh_error *err)
{
    Onnx__ModelProto *mp;
    nh_error local;
    loader L;
    nh_status st;

    if (!err)
        err = &local;
    if (!name)
        name = "model";
    *out = NULL;
    mp = onnx__model_proto__unpack(NULL, size, data);
    if (!mp)
        return nh_fail(err, NH_EFORMAT, "%s: not a valid ONNX model (protobuf parse failed)",
                       name);
    if (!mp->graph) {
        onnx__model_proto__free_unpacked(mp, NULL);
        return nh_fail(err, NH_EFORMAT, "%s: the ONNX model has no graph", name);
    }

    memset(&L, 0, sizeof L);
    L.name = name;
    L.gp = mp->graph;
    L.err = err;
    L.g = nh_graph_create(name, err);
    if (!L.g)
        st = NH_ENOMEM;
    else if ((st = read_opset(&L, mp)) || (st = collect_used(&L)) ||
             (st = load_initializers(&L)) || (st = load_inputs(&L, b)) ||
             (st = load_nodes(&L)) || (st = set_output(&L))) {
        if (!L.prefixed)
            nh_error_prefix(err, "%s", name);
    }
    if (!st) {
        nh_graph_prune(L.g);
        *out = L.g;
        L.g = NULL;
    }

    nh_graph_destroy(L.g);
    map_free(&L.values);
    map_free(&L.used);
    onnx__model_proto__free_unpacked(mp, NULL);
    return st;
}

nh_status nh_onnx_load(const void *data, size_t size, const char *name, nh_graph **out,
                       nh_error *err)
{
    binding none;

    memset(&none, 0, sizeof none);
    return load_model(data, size, name, &none, out, err);
}

nh_status nh_onnx_load_bind(const void *data, size_t size, const char *name,
                            const char *const *bound_names, float *const *bound_values,
                            const int *bound_ndim, const int64_t *const *bound_dims,
                            int n_bound, nh_graph **out, nh_error *err)
{
    binding b;

    b.names = bound_names;
    b.values = bound_values;
    b.ndim = bound_ndim;
    b.dims = bound_dims;
    b.n = n_bound > 0 ? n_bound : 0;
    return load_model(data, size, name, &b, out, err);
}

nh_status nh_onnx_load_tensor(const void *data, size_t size, int *ndim,
                              int64_t dims[NH_MAX_DIMS], float **values, nh_error *err)
{
    Onnx__TensorProto *tp;
    char label[320];
    tensor t;
    int64_t k;
    nh_status st;

    *values = NULL;
    *ndim = 0;
    tp = onnx__tensor_proto__unpack(NULL, size, data);
    if (!tp)
        return nh_fail(err, NH_EFORMAT, "not a valid ONNX tensor (protobuf parse failed)");
    if (tp->name && tp->name[0])
        snprintf(label, sizeof label, "tensor \"%s\"", tp->name);
    else
        snprintf(label, sizeof label, "tensor");
    st = tensor_decode(tp, label, &t, err);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    if (st)
        return st;
    if (t.dtype == NH_DTYPE_INT64) {
        t.f = nh_alloc(err, (size_t)t.count, sizeof *t.f);
        if (!t.f) {
            tensor_free(&t);
            return NH_ENOMEM;
        }
        for (k = 0; k < t.count; k++)
            t.f[k] = (float)t.i[k];
    }
    *ndim = t.ndim;
    memcpy(dims, t.dims, sizeof t.dims);
    *values = t.f;
    free(t.i);
    return NH_OK;
}
