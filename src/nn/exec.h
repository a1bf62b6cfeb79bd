/* Running a graph on batches of samples (float32, batch first, C order). */
#ifndef NH_NN_EXEC_H
#define NH_NN_EXEC_H

#include "model/graph.h"

typedef struct nh_exec nh_exec;

/* Prepares to run g (whose shapes are inferred) on up to max_batch samples
 * at a time: one buffer per computed value. g must outlive the executor.
 * An executor is used by one thread at a time; make one per thread. */
nh_status nh_exec_create(const nh_graph *g, size_t max_batch, nh_exec **out, nh_error *err);
void nh_exec_destroy(nh_exec *ex);

/* Runs n (1 <= n <= max_batch) samples; input holds n times the input
 * sample size. Errors name the node. */
nh_status nh_exec_run(nh_exec *ex, const float *input, size_t n, nh_error *err);

/* After nh_exec_run: value v's data for the n samples of the last run (n
 * times its per-sample size). Constants give their data. */
const float *nh_exec_value(const nh_exec *ex, int v);

/* One operator on explicit tensors (used by nh_exec_run and by tests).
 * in[k] points to input k's data with shape in_dims[k] (rank in_ndim[k]);
 * absent optional inputs are NULL. out has shape out_dims. */
typedef struct nh_tensor_view {
    const float *data;
    int ndim;
    const int64_t *dims;
} nh_tensor_view;

nh_status nh_op_run(const nh_node *node, const nh_tensor_view *in, int n_in, float *out,
                    int out_ndim, const int64_t *out_dims, nh_error *err);

#endif
