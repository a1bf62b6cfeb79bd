/* Private to the Keras loader (keras.c, keras_layers.c, keras_weights.c,
 * tfjs.c): the architecture, the stored weights, and the graph builder.
 *
 * Loading goes in three steps. A format reader (keras_weights.c for `.keras`
 * and HDF5 files, tfjs.c for TF.js) finds the architecture JSON and reads
 * every stored weight tensor into a store, grouped per layer. keras.c then
 * walks the architecture (Sequential or functional) and matches each layer
 * that needs weights to a group. keras_layers.c turns each layer call into
 * graph nodes, checking the weights' shapes against the layer's config. */
#ifndef NH_MODEL_KERAS_IMPL_H
#define NH_MODEL_KERAS_IMPL_H

#include <cjson/cJSON.h>

#include "model/graph.h"

/* ------------------------------------------------------------ weights */

/* One stored weight tensor. */
typedef struct nh_kw_tensor {
    char *name; /* as stored: "dense/kernel:0", "vars/0", "dense_4/kernel" */
    int ndim;
    int64_t dims[NH_MAX_DIMS];
    float *data;
} nh_kw_tensor;

/* The stored weights of one layer, in the order they were stored. */
typedef struct nh_kw_group {
    char *name; /* the layer's name as stored, or the .keras group name */
    size_t n;
    nh_kw_tensor *t;
} nh_kw_group;

typedef enum nh_kw_match {
    /* `.keras` and Keras 3 `.weights.h5`: groups are named after the layer
     * class in snake case and its rank among the layers of that class
     * ("conv2d", "conv2d_1"), whatever the layers are called. */
    NH_KW_MATCH_CLASS,
    /* legacy HDF5 and TF.js: groups are named after the layers; when some
     * layer with weights finds no group of its name (a weights file saved
     * from another instance of the model), the layers with weights take the
     * non-empty groups in order, as Keras's own legacy loader does. */
    NH_KW_MATCH_NAME
} nh_kw_match;

typedef struct nh_kw_store {
    char *file; /* the file holding the weights, for messages */
    nh_kw_match match;
    size_t n;
    nh_kw_group *g;
} nh_kw_store;

void nh_kw_store_free(nh_kw_store *s);

/* Appends an empty group (name copied); NULL on failure. */
nh_kw_group *nh_kw_store_add(nh_kw_store *s, const char *name, nh_error *err);

/* Appends a tensor to g, taking ownership of data (freed on failure too). */
nh_status nh_kw_group_add(nh_kw_group *g, const char *name, int ndim, const int64_t *dims,
                          float *data, nh_error *err);

/* ------------------------------------------------------- architecture */

/* An architecture JSON and what its file says of Keras's version. */
typedef struct nh_keras_arch {
    char *file;          /* where it came from, for messages */
    cJSON *root;         /* owned */
    const cJSON *model;  /* {"class_name": ..., "config": ...} within root */
    int keras3;          /* Keras 3 semantics (hard_sigmoid is relu6(x + 3) / 6) */
} nh_keras_arch;

void nh_keras_arch_free(nh_keras_arch *a);

/* Parses text (len bytes) as a Keras model JSON, a `.keras` config.json, or
 * a TF.js model.json (its modelTopology, in the converter's nested form
 * {"model_config": ...} or the one tfjs writes), and fills a. version, when
 * not NULL, is the Keras version the file's metadata gives. */
nh_status nh_keras_arch_parse(const char *text, size_t len, const char *file,
                              const char *version, nh_keras_arch *a, nh_error *err);

/* --------------------------------------------------------- the formats */

/* A `.keras` zip: config.json, metadata.json and model.weights.h5 (opened
 * from memory). With arch already filled (from --config), only the weights
 * are read. */
nh_status nh_keras_read_zip(const void *data, size_t size, const char *name, nh_keras_arch *arch,
                            nh_kw_store *store, nh_error *err);

/* An HDF5 file: a legacy full model (model_config and model_weights), a
 * legacy weights file (layer_names at the root), or a Keras 3 weights file
 * (a "layers" group). arch is filled from model_config unless already
 * filled; a file without model_config needs it filled. */
nh_status nh_keras_read_h5(const void *data, size_t size, const char *name, nh_keras_arch *arch,
                           nh_kw_store *store, nh_error *err);

/* A TF.js layers model.json (text, len bytes) at path name: its weights
 * manifest and shards, and its architecture unless arch is already filled.
 * With weights_too == 0 only the architecture is read. */
nh_status nh_tfjs_read(const char *text, size_t len, const char *name, int weights_too,
                       nh_keras_arch *arch, nh_kw_store *store, nh_error *err);

/* Whether root is a TF.js model.json (it has a modelTopology). */
int nh_tfjs_is_model_json(const cJSON *root);

/* ------------------------------------------------------------ builder */

/* What building a graph from layer configs needs. */
typedef struct nh_kb {
    nh_graph *g;
    const char *file;  /* the model file, for messages */
    const char *wfile; /* the weights file */
    int keras3;
    nh_error *err;
} nh_kb;

/* One call of a Keras layer. */
typedef struct nh_kl {
    const char *name;
    const char *cls;
    const cJSON *config;
    const nh_kw_group *w; /* its stored weights, NULL for none */
    int call;             /* the call (node index) of a layer used several times */
} nh_kl;

/* Whether layers of class cls hold weights (and so are matched to a group). */
int nh_keras_class_has_weights(const char *cls);

/* Adds the nodes of layer call l reading values in[0..n_in-1] and sets *out
 * to the value it computes. Errors name the file, the layer and its class. */
nh_status nh_keras_build_layer(nh_kb *b, const nh_kl *l, const int *in, int n_in, int *out);

/* Makes the graph input value for a layer whose config gives its batch
 * shape ("batch_shape", "batch_input_shape") or, as a last resort, shape. */
nh_status nh_keras_input(nh_kb *b, const char *name, const cJSON *config,
                         const cJSON *fallback_shape, int *out);

/* A layer-level failure: "FILE: layer 'NAME' (CLASS): message". */
nh_status nh_keras_fail(const nh_kb *b, const nh_kl *l, nh_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
