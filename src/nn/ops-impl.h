/* Private to src/nn: the shape rule of every operator, shared by static
 * shape inference (shape.c, where the batch is the symbol NH_DIM_BATCH) and
 * by nh_op_run (ops.c, which checks the concrete shapes it is handed before
 * it touches any data). Keeping one rule per operator means the kernels
 * never trust a shape that inference would have refused. */
#ifndef NH_NN_OPS_IMPL_H
#define NH_NN_OPS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/exec.h"

/* A shape; ndim == -1 marks an absent optional input. */
typedef struct nh_shape {
    int ndim;
    int64_t d[NH_MAX_DIMS];
} nh_shape;

/* How many of a node's inputs the operator reads: later inputs are ones the
 * loader folded into attributes (Reshape's shape, Clip's bounds, Pad's
 * pads, Dropout's ratio) and are ignored. */
int nh_op_input_count(nh_op op, int n_in);

/* The output shape of node's operator applied to inputs in[0..n_in-1].
 * Dims may be NH_DIM_BATCH, the symbolic batch size. On success a holds the
 * attributes in their resolved form: non-negative axes, explicit pads
 * (auto_pad turned into pads[]), the Transpose perm, the Conv kernel shape,
 * and the Reshape target with 0, -1 and the batch marker replaced.
 * names[k] names input k in messages; names may be NULL.
 * Fails with NH_ESHAPE when the inputs cannot fit whatever the batch size,
 * and NH_EUNSUPPORTED when the result depends on the batch size's value
 * (an operator that moves, merges or contracts the batch axis, or lines it
 * up with an axis of a constant). */
nh_status nh_op_shape(const nh_node *node, nh_attrs *a, const nh_shape *in, int n_in,
                      const char *const *names, nh_shape *out, nh_error *err);

/* Writes a shape such as "[B,3,4]" (B for the batch) into buf; returns buf. */
const char *nh_shape_format(const nh_shape *s, char *buf, size_t size);

/* Number of elements of s with the batch counted as batch. */
int64_t nh_shape_elements(const nh_shape *s, int64_t batch);

#endif
