/* The batch executor: one buffer per computed value, sized for max_batch
 * samples, filled node by node with nh_op_run. Reshape, Flatten and
 * Identity (Dropout) outputs share their input's buffer, since C order
 * makes their data the same bytes. */
#include "nn/exec.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/ops-impl.h"

struct nh_exec {
    const nh_graph *g;
    size_t max_batch;
    int batched;          /* the graph input's first axis is NH_DIM_BATCH */
    const float **data;   /* per value: its data (owned, shared or constant) */
    float **owned;        /* per value: the buffer this executor allocated */
    size_t n;             /* samples of the last run */
};

/* Elements of one sample of v (all of v when the graph has no batch). */
static size_t sample_size(const nh_value *v)
{
    size_t c = 1;

    for (int i = 0; i < v->ndim; i++)
        if (v->dims[i] != NH_DIM_BATCH)
            c *= (size_t)v->dims[i];
    return c;
}

static int is_alias_op(nh_op op)
{
    return op == NH_OP_RESHAPE || op == NH_OP_FLATTEN || op == NH_OP_IDENTITY;
}

/* Allocates the buffer of computed value v for max_batch samples. */
static nh_status exec_alloc(nh_exec *ex, int v, nh_error *err)
{
    const nh_value *val = &ex->g->values[v];
    size_t per = sample_size(val), n = ex->batched ? ex->max_batch : 1;

    if (per && n > SIZE_MAX / sizeof(float) / per)
        return nh_fail(err, NH_ENOMEM, "value '%s': %zu samples of %zu values overflow",
                       val->name, n, per);
    ex->owned[v] = nh_alloc(err, n * per, sizeof(float));
    if (!ex->owned[v])
        return NH_ENOMEM;
    ex->data[v] = ex->owned[v];
    return NH_OK;
}

nh_status nh_exec_create(const nh_graph *g, size_t max_batch, nh_exec **out, nh_error *err)
{
    nh_exec *ex;
    nh_status st = NH_OK;

    *out = NULL;
    if (!g || g->input < 0 || g->input >= g->n_values || max_batch < 1)
        return nh_fail(err, NH_EINVAL, "executor needs a graph with an input and a batch >= 1");
    ex = nh_calloc(err, 1, sizeof *ex);
    if (!ex)
        return NH_ENOMEM;
    ex->g = g;
    ex->max_batch = max_batch;
    ex->batched = g->values[g->input].ndim > 0 && g->values[g->input].dims[0] == NH_DIM_BATCH;
    ex->data = nh_calloc(err, (size_t)g->n_values, sizeof *ex->data);
    ex->owned = nh_calloc(err, (size_t)g->n_values, sizeof *ex->owned);
    if (!ex->data || !ex->owned) {
        st = NH_ENOMEM;
        goto fail;
    }

    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].is_const)
            ex->data[v] = g->values[v].f;
    st = exec_alloc(ex, g->input, err);
    for (int i = 0; i < g->n_nodes && !st; i++) {
        const nh_node *node = &g->nodes[i];

        if (node->out < 0 || node->out >= g->n_values)
            st = nh_fail(err, NH_EINVAL, "node '%s' has no output", node->name);
        else if (g->values[node->out].is_const || ex->data[node->out])
            continue;
        else if (is_alias_op(node->op) && node->n_in > 0 && node->in[0] >= 0 &&
                 ex->data[node->in[0]] && !g->values[node->in[0]].is_const)
            ex->data[node->out] = ex->data[node->in[0]];
        else
            st = exec_alloc(ex, node->out, err);
    }
    if (st)
        goto fail;
    *out = ex;
    return NH_OK;

fail:
    nh_exec_destroy(ex);
    return st;
}

void nh_exec_destroy(nh_exec *ex)
{
    if (!ex)
        return;
    if (ex->owned)
        for (int v = 0; v < ex->g->n_values; v++)
            free(ex->owned[v]);
    free(ex->owned);
    free(ex->data);
    free(ex);
}

/* v's dims with the batch replaced by n. */
static void concrete_dims(const nh_value *v, size_t n, int64_t *dims)
{
    for (int i = 0; i < v->ndim; i++)
        dims[i] = v->dims[i] == NH_DIM_BATCH ? (int64_t)n : v->dims[i];
}

static nh_status run_node(nh_exec *ex, const nh_node *node, size_t n, nh_error *err)
{
    const nh_graph *g = ex->g;
    nh_tensor_view views[NH_MAX_NODE_INPUTS];
    int64_t dims[NH_MAX_NODE_INPUTS][NH_MAX_DIMS], out_dims[NH_MAX_DIMS];
    const nh_value *ov = &g->values[node->out];
    int n_used = nh_op_input_count(node->op, node->n_in);

    for (int k = 0; k < n_used; k++) {
        const nh_value *v = node->in[k] >= 0 ? &g->values[node->in[k]] : NULL;

        views[k] = (nh_tensor_view){NULL, 0, NULL};
        if (!v)
            continue;
        if (!ex->data[node->in[k]])
            return nh_fail(err, NH_EINVAL, "node '%s': input '%s' has no data", node->name,
                           v->name);
        concrete_dims(v, n, dims[k]);
        views[k] = (nh_tensor_view){ex->data[node->in[k]], v->ndim, dims[k]};
    }
    concrete_dims(ov, n, out_dims);
    return nh_op_run(node, views, n_used, ex->owned[node->out], ov->ndim, out_dims, err);
}

/* A graph inferred without a batch axis (every dim static) runs as one
 * tensor: then n must be 1 and input holds the whole tensor. */
nh_status nh_exec_run(nh_exec *ex, const float *input, size_t n, nh_error *err)
{
    const nh_graph *g = ex->g;
    size_t limit = ex->batched ? ex->max_batch : 1;

    if (n < 1 || n > limit)
        return nh_fail(err, NH_EINVAL, "batch of %zu samples, expected 1 to %zu", n, limit);
    memcpy(ex->owned[g->input], input, n * sample_size(&g->values[g->input]) * sizeof(float));
    ex->n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const nh_node *node = &g->nodes[i];
        nh_status st;

        if (!ex->owned[node->out])
            continue; /* a folded constant, or data shared with the input */
        st = run_node(ex, node, n, err);
        if (st)
            return st;
    }
    ex->n = n;
    return NH_OK;
}

const float *nh_exec_value(const nh_exec *ex, int v)
{
    if (!ex || v < 0 || v >= ex->g->n_values)
        return NULL;
    return ex->data[v];
}
