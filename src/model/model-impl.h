/* The loaded model: its graph and the layers it is cut into. */
#ifndef NH_MODEL_MODEL_IMPL_H
#define NH_MODEL_MODEL_IMPL_H

#include "model/graph.h"

/* One layer: the unit that costs are reported for (SPEC "Layers and
 * neurons"). */
typedef struct nh_layer {
    char *name;
    nh_layer_kind kind;
    int n_nodes;
    int *nodes;          /* graph nodes fused into the layer, in order */
    const char **ops;    /* their op_type strings (owned by the graph) */
    const char **names;  /* their node names (owned by the graph) */
    int value;           /* the graph value holding the layer's neurons */
    int ndim;            /* per-sample shape */
    int64_t shape[NH_MAX_DIMS];
    size_t neurons;
    size_t n_inputs;
    size_t *inputs;      /* layers whose neurons are the initial neurons */
    int head;            /* the node defining the initial sets (the linear
                            stage, pool or binary op), -1 for none */
    size_t initial_set;  /* largest |init(j)| */
    int alias;           /* a layer holding the very same values in the same
                            order (Flatten, Reshape, Identity), or -1 */
} nh_layer;

struct nh_model {
    char *path;
    nh_graph *graph;
    nh_layer *layers;
    size_t n_layers;
    int *layer_of_value; /* the layer whose neurons a value holds, or -1 */
};

/* Cuts m->graph (shapes inferred) into m->layers. Errors name the node. */
nh_status nh_layers_build(nh_model *m, nh_error *err);
void nh_layers_free(nh_model *m);

#endif
