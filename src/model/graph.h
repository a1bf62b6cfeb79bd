/* The node graph every model format is loaded into.
 *
 * A graph is a list of values (tensors) and a list of nodes (operators) in
 * topological order. A value is either a constant (weights, shapes: data
 * held here) or computed at run time (the graph input and node outputs).
 * Computed values carry the batch as their first axis; static shapes store
 * it as NH_DIM_BATCH. The loaders (onnx.c, keras.c) fill the graph with
 * attributes already normalised (opset differences resolved, constant
 * inputs such as Clip's bounds or Reshape's shape folded into attributes),
 * so that shape inference and the kernels see one form per operator. */
#ifndef NH_MODEL_GRAPH_H
#define NH_MODEL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "nnheat.h"

/* Marks the batch axis in a static shape, and in a Reshape target shape that
 * was folded from Shape(x)[0] ("keep the batch size"). */
#define NH_DIM_BATCH (-1000000007LL)

#define NH_MAX_NODE_INPUTS 8
#define NH_MAX_OUTPUTS 16
#define NH_MAX_SPATIAL 3

typedef enum nh_dtype { NH_DTYPE_FLOAT, NH_DTYPE_INT64 } nh_dtype;

typedef struct nh_value {
    char *name;
    nh_dtype dtype;
    int ndim;
    int64_t dims[NH_MAX_DIMS]; /* dims[0] == NH_DIM_BATCH for computed values
                                  once shapes are inferred */
    int is_const;
    float *f;    /* constant data when dtype is FLOAT (prod(dims) values) */
    int64_t *i;  /* constant data when dtype is INT64 */
    int producer; /* index of the node computing it, -1 for inputs/consts */
} nh_value;

typedef enum nh_op {
    NH_OP_GEMM,
    NH_OP_MATMUL,
    NH_OP_CONV,
    NH_OP_MAXPOOL,
    NH_OP_AVGPOOL,
    NH_OP_GLOBALAVGPOOL,
    NH_OP_GLOBALMAXPOOL,
    NH_OP_PAD,
    NH_OP_FLATTEN,
    NH_OP_RESHAPE,
    NH_OP_TRANSPOSE,
    NH_OP_IDENTITY, /* also Dropout at inference */
    NH_OP_CONCAT,
    NH_OP_RELU,
    NH_OP_LEAKYRELU,
    NH_OP_ELU,
    NH_OP_SELU,
    NH_OP_SIGMOID,
    NH_OP_HARDSIGMOID,
    NH_OP_TANH,
    NH_OP_SOFTPLUS,
    NH_OP_CLIP,
    NH_OP_SOFTMAX,
    NH_OP_BATCHNORM,
    NH_OP_ADD,
    NH_OP_SUB,
    NH_OP_MUL,
    NH_OP_DIV,
    NH_OP_SOFTSIGN, /* x / (1 + |x|) */
    NH_OP_SWISH,    /* x sigmoid(x), also called SiLU */
    NH_OP_GELU,     /* x Phi(x), or its tanh approximation */
    NH_OP_COUNT
} nh_op;

/* auto_pad of Conv and pools. NOTSET means the pads[] below are used. */
typedef enum nh_auto_pad {
    NH_PAD_NOTSET,
    NH_PAD_VALID,
    NH_PAD_SAME_UPPER,
    NH_PAD_SAME_LOWER
} nh_auto_pad;

/* Attributes after normalisation. Only the fields of the node's operator are
 * meaningful; the loader sets ONNX defaults for absent ones. */
typedef struct nh_attrs {
    /* Gemm: alpha, beta, trans_a, trans_b.
     * LeakyRelu: alpha (0.01). Elu: alpha (1). Selu: alpha (1.67326),
     * gamma (1.0507). HardSigmoid: alpha (0.2), beta (0.5).
     * BatchNormalization: epsilon (1e-5). Clip: min_value, max_value
     * (-inf / +inf when absent). Pad: value. */
    float alpha, beta, gamma, epsilon;
    float min_value, max_value, value;
    int trans_a, trans_b;

    /* Flatten, Concat, Softmax: axis (negative already resolved by shape
     * inference, not by the loader). */
    int axis;
    /* Softmax: 1 for opset >= 13 (along one axis), 0 for the older form
     * (flatten to 2-D at axis, softmax over each row). */
    int softmax_single_axis;

    /* Conv and pools, over n_spatial spatial axes (1 to 3). pads holds the
     * begins then the ends: pads[0..n-1], pads[n..2n-1]. */
    int n_spatial;
    int64_t kernel[NH_MAX_SPATIAL];   /* kernel_shape (Conv: from W if absent) */
    int64_t strides[NH_MAX_SPATIAL];  /* [1] */
    int64_t dilations[NH_MAX_SPATIAL];/* [1] */
    int64_t pads[2 * NH_MAX_SPATIAL]; /* [0] */
    nh_auto_pad auto_pad;
    int64_t group;                    /* Conv [1] */
    int ceil_mode;                    /* pools [0] */
    int count_include_pad;            /* AveragePool [0] */

    /* Reshape target (0 copies the input dim, -1 is inferred, NH_DIM_BATCH
     * is the batch); Transpose perm; Pad pads (begins then ends, over all
     * axes). */
    int n_ints;
    int64_t ints[2 * NH_MAX_DIMS];
    int allowzero; /* Reshape */

    /* Conv, pools, global pools, BatchNormalization: channels on the last
     * axis, [N, D1..Dn, C] (Keras), instead of [N, C, D1..Dn] [0]. Conv
     * weights stay [M, C/group, K1..Kn]. A channels-last global pool drops
     * the spatial axes: its output is [N, C]. */
    int channels_last;
    /* Gelu: 1 for the tanh approximation [0]. */
    int approximate;
} nh_attrs;

typedef struct nh_node {
    nh_op op;
    char *name;     /* never NULL: the loader makes one if the file has none */
    char *op_type;  /* the operator's name in the file, such as "Relu" */
    int n_in;
    int in[NH_MAX_NODE_INPUTS]; /* value indices; -1 for an absent optional */
    int out;                    /* value index */
    nh_attrs a;
} nh_node;

typedef struct nh_graph {
    char *source;     /* file name, for messages */
    nh_value *values;
    int n_values, cap_values;
    nh_node *nodes;
    int n_nodes, cap_nodes;
    int input;        /* the one computed graph input */
    int output;       /* the graph's first output: what `run` writes */
    int n_outputs;    /* every graph output (outputs[0] == output); 0 means
                         output alone */
    int outputs[NH_MAX_OUTPUTS];
} nh_graph;

/* An empty graph; source is copied. */
nh_graph *nh_graph_create(const char *source, nh_error *err);
void nh_graph_destroy(nh_graph *g);

/* Appends a value (name copied) and returns its index, or -1 on failure. */
int nh_graph_add_value(nh_graph *g, const char *name, nh_error *err);

/* Appends a node (name and op_type copied); returns its index or -1. The
 * caller then fills in, out and a. */
int nh_graph_add_node(nh_graph *g, nh_op op, const char *name, const char *op_type,
                      nh_error *err);

/* The index of the value named name, or -1. */
int nh_graph_find_value(const nh_graph *g, const char *name);

/* Fills a with the defaults ONNX gives every attribute. */
void nh_attrs_default(nh_attrs *a);

/* Number of elements of a shape (NH_DIM_BATCH counts as `batch`). */
int64_t nh_shape_count(int ndim, const int64_t *dims, int64_t batch);

/* Static shape inference over the whole graph: sets the dims of every
 * computed value (with dims[0] == NH_DIM_BATCH), resolves negative axes and
 * auto_pad into explicit pads, and checks that inputs fit. Implemented in
 * nn/shape.c. Errors name the node. */
nh_status nh_graph_infer_shapes(nh_graph *g, nh_error *err);

/* Removes nodes whose output no path to a graph output uses and drops their
 * values' data. */
void nh_graph_prune(nh_graph *g);

#endif
