/* Loading ONNX models (onnx.proto, read with protobuf-c) into the graph IR.
 *
 * Opsets 7 to 21 of the default domain are read, and older files whose
 * operators all still have the form they have in opset 7 (activations,
 * Conv, pools, MatMul, ... but not Gemm, the arithmetic operators with
 * their legacy broadcast attribute, BatchNormalization or Dropout, which
 * changed in opset 7). Weights and the constants
 * of shape arithmetic become constant values; the shape arithmetic that
 * exporters write around Reshape (Shape, Gather, Unsqueeze, Concat, ...) is
 * evaluated at load time, with NH_DIM_BATCH standing for the batch size.
 * Every attribute is normalised into nh_attrs (see model/graph.h) and
 * constant operator inputs that act as attributes (Clip's bounds, Pad's
 * pads, Reshape's shape) are folded into them, so that such nodes keep only
 * their data input.
 *
 * Every message starts with the name given by the caller and names the node,
 * tensor or input at fault. */
#ifndef NH_MODEL_ONNX_H
#define NH_MODEL_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "model/graph.h"

/* The default-domain opsets nh_onnx_load reads: every supported operator
 * from NH_ONNX_OPSET_FULL to NH_ONNX_OPSET_MAX, only the unchanged ones
 * from NH_ONNX_OPSET_MIN. */
#define NH_ONNX_OPSET_MIN 1
#define NH_ONNX_OPSET_FULL 7
#define NH_ONNX_OPSET_MAX 21

/* Parses the ModelProto in data (size bytes, which the caller keeps) and
 * builds its graph; name is used in messages only. The graph has exactly one
 * computed input (graph inputs that are also initializers are constants),
 * whose first axis is the batch; its output is the first graph output;
 * nodes the output does not depend on are pruned. Shapes of computed values
 * other than the input are left to nh_graph_infer_shapes (the loader runs it
 * on the partial graph only where shape arithmetic needs a static shape).
 * On success *out owns the graph (free it with nh_graph_destroy).
 *
 * Errors: NH_EFORMAT for a file that does not parse, has no graph, or
 * refers to undefined values; NH_EUNSUPPORTED for operators, domains,
 * opsets, dtypes or external data that nnheat does not handle; NH_ENOMEM. */
nh_status nh_onnx_load(const void *data, size_t size, const char *name, nh_graph **out,
                       nh_error *err);

/* As nh_onnx_load, but the graph inputs named in bound_names[0..n_bound-1]
 * become constants holding bound_values[k] (bound_ndim[k] axes of sizes
 * bound_dims[k], C order; the data is copied). The one graph input left is
 * the computed input. An input whose declared element type is an integer
 * type (such as Reshape's shape) takes the floats rounded to int64. A bound
 * name that is not a graph input is NH_EINVAL. Meant for running ONNX's
 * backend node tests, whose operators take several inputs. */
nh_status nh_onnx_load_bind(const void *data, size_t size, const char *name,
                            const char *const *bound_names, float *const *bound_values,
                            const int *bound_ndim, const int64_t *const *bound_dims,
                            int n_bound, nh_graph **out, nh_error *err);

/* Parses a serialised TensorProto (such as the input_0.pb and output_0.pb
 * files of ONNX's backend tests): its shape into *ndim and dims, its data
 * converted to float into *values, a new array of prod(dims) floats (at
 * least one allocated) that the caller frees with free. Integer and boolean
 * tensors are converted too. Errors as nh_onnx_load; messages do not name a
 * file (the caller prefixes it). */
nh_status nh_onnx_load_tensor(const void *data, size_t size, int *ndim,
                              int64_t dims[NH_MAX_DIMS], float **values, nh_error *err);

#endif
