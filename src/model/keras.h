/* Loading Keras models into the graph IR: Keras 3 `.keras` zips, legacy
 * HDF5 `.h5` files (full models, or weights with a separate architecture),
 * and TensorFlow.js layers models (`model.json` with `.bin` shards).
 *
 * Tensors keep Keras's channels-last layout: a Conv2D output is
 * [N, H, W, C], and Conv, pool and BatchNormalization nodes carry
 * channels_last. Each Keras layer becomes one or a few nodes named after it
 * (the first one carries the layer's name, so that nnheat's layers are named
 * as in Keras); a layer's `activation` becomes a node of its own, which the
 * layer cut fuses back. Dropout, noise and Random* augmentation layers are
 * Identity nodes, as at inference. */
#ifndef NH_MODEL_KERAS_H
#define NH_MODEL_KERAS_H

#include <stddef.h>

#include "model/graph.h"

/* Whether data looks like a file nh_keras_load reads (an HDF5 file, a zip,
 * or a JSON object) rather than an ONNX protobuf. */
int nh_keras_detect(const void *data, size_t size);

/* Builds the graph of the Keras model in data[0..size). name is the file's
 * path: it names the file in messages, and TF.js weight shards are looked
 * up next to it. config_path, when not NULL, names a JSON file holding the
 * architecture (a Keras model JSON, a `.keras` config.json, or a TF.js
 * model.json) and the file is read for its weights only; it is required for
 * an HDF5 file that holds weights only. On success *out owns the graph
 * (free it with nh_graph_destroy); its shapes are inferred.
 *
 * Errors name the file and the layer: NH_EUNSUPPORTED for a layer class,
 * activation or option nnheat does not handle; NH_EFORMAT for a malformed
 * file, missing weights, or weights whose shape disagrees with the
 * architecture; NH_EINVAL for a weights-only file without config_path. */
nh_status nh_keras_load(const void *data, size_t size, const char *name,
                        const char *config_path, nh_graph **out, nh_error *err);

#endif
