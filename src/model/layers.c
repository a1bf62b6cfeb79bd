/* Cutting a node graph into layers (SPEC "Layers and neurons").
 *
 * Nodes are visited in topological order. A linear stage (Gemm, MatMul,
 * Conv) opens a dense or conv layer, and every per-neuron operation that
 * directly follows it (its input is the layer's current output and nothing
 * else reads that output) is fused into it. Pools and sums of two computed
 * tensors open layers of their own; data movement opens a reshape layer; a
 * per-neuron operation with nothing to fuse into opens an elementwise
 * layer, which later per-neuron operations may join. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model-impl.h"

typedef enum category {
    CAT_LINEAR,
    CAT_NEURON,
    CAT_POOL,
    CAT_MOVE,
    CAT_BINARY
} category;

static int is_computed(const nh_graph *g, int v)
{
    return v >= 0 && !g->values[v].is_const;
}

static int computed_inputs(const nh_graph *g, const nh_node *n)
{
    int count = 0;

    for (int i = 0; i < n->n_in; i++)
        count += is_computed(g, n->in[i]);
    return count;
}

static category categorise(const nh_graph *g, const nh_node *n)
{
    switch (n->op) {
    case NH_OP_GEMM:
    case NH_OP_MATMUL:
    case NH_OP_CONV:
        return CAT_LINEAR;
    case NH_OP_MAXPOOL:
    case NH_OP_AVGPOOL:
    case NH_OP_GLOBALAVGPOOL:
    case NH_OP_GLOBALMAXPOOL:
        return CAT_POOL;
    case NH_OP_PAD:
    case NH_OP_FLATTEN:
    case NH_OP_RESHAPE:
    case NH_OP_TRANSPOSE:
    case NH_OP_IDENTITY:
    case NH_OP_CONCAT:
        return CAT_MOVE;
    case NH_OP_ADD:
    case NH_OP_SUB:
    case NH_OP_MUL:
    case NH_OP_DIV:
        return computed_inputs(g, n) > 1 ? CAT_BINARY : CAT_NEURON;
    default:
        return CAT_NEURON;
    }
}

/* The linear stages need constant weights and the data as first operand, so
 * that every neuron's initial set is a fixed set of input neurons. */
static nh_status check_linear(const nh_graph *g, const nh_node *n, nh_error *err)
{
    if (!is_computed(g, n->in[0]))
        return nh_fail(err, NH_EUNSUPPORTED,
                       "node '%s' (%s): its first input is a constant; nnheat needs the data "
                       "there", n->name, n->op_type);
    for (int i = 1; i < n->n_in; i++)
        if (is_computed(g, n->in[i]))
            return nh_fail(err, NH_EUNSUPPORTED,
                           "node '%s' (%s): input %d is computed; nnheat needs constant "
                           "weights and bias", n->name, n->op_type, i);
    if (n->op == NH_OP_GEMM && n->a.trans_a)
        return nh_fail(err, NH_EUNSUPPORTED,
                       "node '%s' (Gemm): transA=1 on the data mixes samples", n->name);
    return NH_OK;
}

static nh_status add_layer(nh_model *m, nh_layer_kind kind, int node, int value, nh_error *err)
{
    const nh_graph *g = m->graph;
    nh_layer *l = &m->layers[m->n_layers];
    const nh_value *v = &g->values[value];

    memset(l, 0, sizeof *l);
    m->n_layers++; /* counted at once so that nh_layers_free sees it */
    l->kind = kind;
    l->value = value;
    l->head = node;
    l->alias = -1;
    l->name = nh_strdup(err, node >= 0 ? g->nodes[node].name : v->name);
    if (!l->name)
        return NH_ENOMEM;
    if (v->ndim < 1 || v->dims[0] != NH_DIM_BATCH)
        return nh_fail(err, NH_EUNSUPPORTED,
                       "value '%s'%s%s: its first axis is not the batch; nnheat cannot tell "
                       "samples apart", v->name, node >= 0 ? " from node " : "",
                       node >= 0 ? g->nodes[node].name : "");
    l->ndim = v->ndim - 1;
    memcpy(l->shape, v->dims + 1, (size_t)l->ndim * sizeof *l->shape);
    l->neurons = (size_t)nh_shape_count(l->ndim, l->shape, 1);
    m->layer_of_value[value] = (int)m->n_layers - 1;
    return NH_OK;
}

static nh_status layer_append_node(nh_model *m, nh_layer *l, int node, nh_error *err)
{
    size_t n = (size_t)l->n_nodes + 1;
    int *nodes = realloc(l->nodes, n * sizeof *nodes);
    const char **ops, **names;

    if (nodes)
        l->nodes = nodes;
    ops = nodes ? realloc(l->ops, n * sizeof *ops) : NULL;
    if (ops)
        l->ops = ops;
    names = ops ? realloc(l->names, n * sizeof *names) : NULL;
    if (!names)
        return nh_fail(err, NH_ENOMEM, "out of memory cutting layers");
    l->names = names;
    l->nodes[l->n_nodes] = node;
    l->ops[l->n_nodes] = m->graph->nodes[node].op_type;
    l->names[l->n_nodes] = m->graph->nodes[node].name;
    l->n_nodes++;
    return NH_OK;
}

/* Records the layers holding the node's computed inputs as the layer's
 * inputs. */
static nh_status set_inputs(nh_model *m, nh_layer *l, const nh_node *n, nh_error *err)
{
    const nh_graph *g = m->graph;

    l->inputs = nh_alloc(err, (size_t)n->n_in, sizeof *l->inputs);
    if (!l->inputs)
        return NH_ENOMEM;
    for (int i = 0; i < n->n_in; i++) {
        int src;

        if (!is_computed(g, n->in[i]))
            continue;
        src = m->layer_of_value[n->in[i]];
        if (src < 0)
            return nh_fail(err, NH_EUNSUPPORTED,
                           "node '%s' (%s): input '%s' is an intermediate value of a fused "
                           "layer", n->name, n->op_type, g->values[n->in[i]].name);
        l->inputs[l->n_inputs++] = (size_t)src;
    }
    return NH_OK;
}

static int64_t spatial_count(const int64_t *dims, int n)
{
    int64_t c = 1;

    for (int i = 0; i < n; i++)
        c *= dims[i];
    return c;
}

/* |init(j)| at its largest, before padding is left out. */
static size_t initial_set_size(const nh_model *m, const nh_layer *l)
{
    const nh_graph *g = m->graph;
    const nh_layer *in;
    const nh_node *h;

    if (l->kind == NH_LAYER_INPUT)
        return 0;
    if (l->kind == NH_LAYER_ADD)
        return l->n_inputs;
    if (l->kind == NH_LAYER_RESHAPE || l->kind == NH_LAYER_ELEMENTWISE)
        return 1;
    in = &m->layers[l->inputs[0]];
    h = &g->nodes[l->head];
    switch (h->op) {
    case NH_OP_GEMM:
    case NH_OP_MATMUL:
        return in->ndim ? (size_t)in->shape[in->ndim - 1] : 1;
    case NH_OP_CONV: /* channels on axis 0, or last (channels_last) */
        return (size_t)(in->shape[h->a.channels_last ? in->ndim - 1 : 0] / h->a.group
                        * spatial_count(h->a.kernel, h->a.n_spatial));
    case NH_OP_MAXPOOL:
    case NH_OP_AVGPOOL:
        return (size_t)spatial_count(h->a.kernel, h->a.n_spatial);
    default: /* global pools */
        return (size_t)spatial_count(in->shape + !h->a.channels_last, in->ndim - 1);
    }
}

static int is_output(const nh_graph *g, int v)
{
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == v)
            return 1;
    return v == g->output;
}

/* Can node n (a per-neuron operation) join the layer that produced its
 * input? Only if that layer is open for fusion, its current output is the
 * input, and nothing else reads it. */
static int can_fuse(const nh_model *m, const int *readers, int in)
{
    int li = m->layer_of_value[in];
    const nh_layer *l;

    if (li < 0)
        return 0;
    l = &m->layers[li];
    if (l->kind != NH_LAYER_DENSE && l->kind != NH_LAYER_CONV
        && l->kind != NH_LAYER_ELEMENTWISE)
        return 0;
    return l->value == in && readers[in] == 1 && !is_output(m->graph, in);
}

static int first_computed_input(const nh_graph *g, const nh_node *n)
{
    for (int i = 0; i < n->n_in; i++)
        if (is_computed(g, n->in[i]))
            return n->in[i];
    return -1;
}

static nh_status cut_node(nh_model *m, const int *readers, int ni, nh_error *err)
{
    const nh_graph *g = m->graph;
    const nh_node *n = &g->nodes[ni];
    category cat = categorise(g, n);
    int in = first_computed_input(g, n);
    nh_layer_kind kind;
    nh_layer *l;

    if (in < 0)
        return nh_fail(err, NH_EUNSUPPORTED,
                       "node '%s' (%s): every input is a constant", n->name, n->op_type);
    if (cat == CAT_NEURON && can_fuse(m, readers, in)) {
        int li = m->layer_of_value[in];
        const nh_value *v = &g->values[n->out];

        l = &m->layers[li];
        if (layer_append_node(m, l, ni, err) != NH_OK)
            return NH_ENOMEM;
        m->layer_of_value[in] = -1;
        m->layer_of_value[n->out] = li;
        l->value = n->out;
        if (v->ndim < 1 || v->dims[0] != NH_DIM_BATCH)
            return nh_fail(err, NH_EUNSUPPORTED, "node '%s' (%s): its output's first axis "
                           "is not the batch", n->name, n->op_type);
        l->ndim = v->ndim - 1;
        memcpy(l->shape, v->dims + 1, (size_t)l->ndim * sizeof *l->shape);
        l->neurons = (size_t)nh_shape_count(l->ndim, l->shape, 1);
        return NH_OK;
    }
    if (cat == CAT_LINEAR && check_linear(g, n, err) != NH_OK)
        return err->status;

    switch (cat) {
    case CAT_LINEAR: kind = n->op == NH_OP_CONV ? NH_LAYER_CONV : NH_LAYER_DENSE; break;
    case CAT_POOL: kind = NH_LAYER_POOL; break;
    case CAT_MOVE: kind = NH_LAYER_RESHAPE; break;
    case CAT_BINARY: kind = NH_LAYER_ADD; break;
    default: kind = NH_LAYER_ELEMENTWISE; break;
    }
    if (add_layer(m, kind, ni, n->out, err) != NH_OK)
        return err->status;
    l = &m->layers[m->n_layers - 1];
    if (layer_append_node(m, l, ni, err) != NH_OK || set_inputs(m, l, n, err) != NH_OK)
        return err->status;

    /* Flatten, Reshape and Identity keep the values in C order: the layer's
     * histograms are those of its input. */
    if (n->op == NH_OP_FLATTEN || n->op == NH_OP_RESHAPE || n->op == NH_OP_IDENTITY) {
        const nh_layer *src = &m->layers[l->inputs[0]];

        l->alias = src->alias >= 0 ? src->alias : (int)l->inputs[0];
    }
    return NH_OK;
}

nh_status nh_layers_build(nh_model *m, nh_error *err)
{
    nh_graph *g = m->graph;
    int *readers = nh_calloc(err, (size_t)g->n_values, sizeof *readers);
    nh_status st = NH_OK;

    m->layer_of_value = nh_alloc(err, (size_t)g->n_values, sizeof *m->layer_of_value);
    m->layers = nh_calloc(err, (size_t)g->n_nodes + 1, sizeof *m->layers);
    if (!readers || !m->layer_of_value || !m->layers) {
        st = NH_ENOMEM;
        goto done;
    }
    for (int v = 0; v < g->n_values; v++)
        m->layer_of_value[v] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0)
                readers[g->nodes[i].in[k]]++;

    st = add_layer(m, NH_LAYER_INPUT, -1, g->input, err);
    for (int i = 0; st == NH_OK && i < g->n_nodes; i++)
        st = cut_node(m, readers, i, err);
    for (size_t i = 0; st == NH_OK && i < m->n_layers; i++)
        m->layers[i].initial_set = initial_set_size(m, &m->layers[i]);
done:
    free(readers);
    return st;
}

void nh_layers_free(nh_model *m)
{
    for (size_t i = 0; m->layers && i < m->n_layers; i++) {
        free(m->layers[i].name);
        free(m->layers[i].nodes);
        free(m->layers[i].ops);
        free(m->layers[i].names);
        free(m->layers[i].inputs);
    }
    free(m->layers);
    free(m->layer_of_value);
    m->layers = NULL;
    m->layer_of_value = NULL;
    m->n_layers = 0;
}
