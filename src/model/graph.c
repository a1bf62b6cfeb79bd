/* The node graph: building it, and pruning what the output does not use.
 * Shape inference (nh_graph_infer_shapes) lives in nn/shape.c. */
#include "model/graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

nh_graph *nh_graph_create(const char *source, nh_error *err)
{
    nh_graph *g = nh_calloc(err, 1, sizeof *g);

    if (!g)
        return NULL;
    g->source = nh_strdup(err, source ? source : "");
    if (!g->source) {
        free(g);
        return NULL;
    }
    g->input = -1;
    g->output = -1;
    return g;
}

static void value_free(nh_value *v)
{
    free(v->name);
    free(v->f);
    free(v->i);
    v->name = NULL;
    v->f = NULL;
    v->i = NULL;
}

void nh_graph_destroy(nh_graph *g)
{
    int k;

    if (!g)
        return;
    for (k = 0; k < g->n_values; k++)
        value_free(&g->values[k]);
    for (k = 0; k < g->n_nodes; k++) {
        free(g->nodes[k].name);
        free(g->nodes[k].op_type);
    }
    free(g->values);
    free(g->nodes);
    free(g->source);
    free(g);
}

/* Makes room for one more element in an array of *cap elements of size
 * bytes, doubling it; the array is left unchanged on failure. */
static int grow(void **array, int n, int *cap, size_t size, nh_error *err)
{
    void *p;
    int new_cap;

    if (n < *cap)
        return 0;
    if (*cap > (1 << 28)) {
        nh_fail(err, NH_ENOMEM, "graph too large (%d elements)", n);
        return -1;
    }
    new_cap = *cap ? 2 * *cap : 16;
    p = realloc(*array, (size_t)new_cap * size);
    if (!p) {
        nh_fail(err, NH_ENOMEM, "out of memory growing the graph to %d elements", new_cap);
        return -1;
    }
    *array = p;
    *cap = new_cap;
    return 0;
}

int nh_graph_add_value(nh_graph *g, const char *name, nh_error *err)
{
    nh_value *v;

    if (grow((void **)&g->values, g->n_values, &g->cap_values, sizeof *g->values, err))
        return -1;
    v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = nh_strdup(err, name);
    if (!v->name)
        return -1;
    v->dtype = NH_DTYPE_FLOAT;
    v->producer = -1;
    return g->n_values++;
}

int nh_graph_add_node(nh_graph *g, nh_op op, const char *name, const char *op_type,
                      nh_error *err)
{
    nh_node *n;
    int k;

    if (grow((void **)&g->nodes, g->n_nodes, &g->cap_nodes, sizeof *g->nodes, err))
        return -1;
    n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = nh_strdup(err, name);
    n->op_type = nh_strdup(err, op_type);
    if (!n->name || !n->op_type) {
        free(n->name);
        free(n->op_type);
        return -1;
    }
    for (k = 0; k < NH_MAX_NODE_INPUTS; k++)
        n->in[k] = -1;
    n->out = -1;
    nh_attrs_default(&n->a);
    return g->n_nodes++;
}

/* A linear search: loaders that look names up often keep their own index. */
int nh_graph_find_value(const nh_graph *g, const char *name)
{
    int k;

    for (k = 0; k < g->n_values; k++)
        if (strcmp(g->values[k].name, name) == 0)
            return k;
    return -1;
}

/* Gemm's alpha and beta (1) are the defaults of alpha/beta; operators whose
 * alpha, beta or gamma default differently (LeakyRelu, Elu, Selu,
 * HardSigmoid) get theirs from the loader. Flatten's axis (1) is the
 * default axis. */
void nh_attrs_default(nh_attrs *a)
{
    int k;

    memset(a, 0, sizeof *a);
    a->alpha = 1.0f;
    a->beta = 1.0f;
    a->gamma = 1.0f;
    a->epsilon = 1e-5f;
    a->min_value = -INFINITY;
    a->max_value = INFINITY;
    a->value = 0.0f;
    a->axis = 1;
    for (k = 0; k < NH_MAX_SPATIAL; k++) {
        a->strides[k] = 1;
        a->dilations[k] = 1;
    }
    a->auto_pad = NH_PAD_NOTSET;
    a->group = 1;
}

/* Returns -1 when a dimension other than NH_DIM_BATCH is negative or the
 * product overflows int64. */
int64_t nh_shape_count(int ndim, const int64_t *dims, int64_t batch)
{
    int64_t n = 1;
    int k;

    for (k = 0; k < ndim; k++) {
        int64_t d = dims[k] == NH_DIM_BATCH ? batch : dims[k];

        if (d < 0)
            return -1;
        if (d != 0 && n > INT64_MAX / d)
            return -1;
        n *= d;
    }
    return n;
}

/* Marks the values on some path to g->output (and the input, which stays
 * even if unused), then keeps only those values and the nodes computing
 * them. Value and node indices are renumbered; dropped values' names and
 * data are freed. Nodes are in topological order, so one backward pass
 * finds everything the output depends on. */
void nh_graph_prune(nh_graph *g)
{
    int *vmap, *nmap;
    char *need;
    int k, j, nv = 0, nn = 0;

    if (g->output < 0 || g->output >= g->n_values)
        return;
    need = calloc((size_t)g->n_values + 1, 1);
    vmap = malloc(((size_t)g->n_values + 1) * sizeof *vmap);
    nmap = malloc(((size_t)g->n_nodes + 1) * sizeof *nmap);
    if (!need || !vmap || !nmap)
        goto done; /* pruning is an optimisation: leave the graph whole */

    need[g->output] = 1;
    for (k = 0; k < g->n_outputs; k++)
        need[g->outputs[k]] = 1;
    if (g->input >= 0)
        need[g->input] = 1;
    for (k = g->n_nodes - 1; k >= 0; k--) {
        const nh_node *n = &g->nodes[k];

        if (n->out < 0 || !need[n->out])
            continue;
        for (j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0)
                need[n->in[j]] = 1;
    }

    for (k = 0; k < g->n_values; k++) {
        if (need[k]) {
            vmap[k] = nv;
            g->values[nv++] = g->values[k];
        } else {
            vmap[k] = -1;
            value_free(&g->values[k]);
        }
    }
    for (k = 0; k < g->n_nodes; k++) {
        nh_node n = g->nodes[k];

        if (n.out < 0 || vmap[n.out] < 0) {
            nmap[k] = -1;
            free(n.name);
            free(n.op_type);
            continue;
        }
        nmap[k] = nn;
        n.out = vmap[n.out];
        for (j = 0; j < n.n_in; j++)
            if (n.in[j] >= 0)
                n.in[j] = vmap[n.in[j]];
        g->nodes[nn++] = n;
    }
    for (k = 0; k < nv; k++)
        if (g->values[k].producer >= 0)
            g->values[k].producer = nmap[g->values[k].producer];
    g->n_values = nv;
    g->n_nodes = nn;
    g->output = vmap[g->output];
    for (k = 0; k < g->n_outputs; k++)
        g->outputs[k] = vmap[g->outputs[k]];
    if (g->input >= 0)
        g->input = vmap[g->input];

done:
    free(need);
    free(vmap);
    free(nmap);
}
