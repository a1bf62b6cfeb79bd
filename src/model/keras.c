/* Keras models: finding the architecture, matching layers to their stored
 * weights, and walking Sequential and functional topologies into a graph.
 * The layers themselves are in keras_layers.c, the file formats in
 * keras_weights.c and tfjs.c. */
#include "model/keras.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "model/hdf5.h"
#include "model/keras-impl.h"

/* -------------------------------------------------------------- store */

void nh_kw_store_free(nh_kw_store *s)
{
    for (size_t i = 0; s->g && i < s->n; i++) {
        for (size_t k = 0; k < s->g[i].n; k++) {
            free(s->g[i].t[k].name);
            free(s->g[i].t[k].data);
        }
        free(s->g[i].t);
        free(s->g[i].name);
    }
    free(s->g);
    free(s->file);
    memset(s, 0, sizeof *s);
}

nh_kw_group *nh_kw_store_add(nh_kw_store *s, const char *name, nh_error *err)
{
    nh_kw_group *g = realloc(s->g, (s->n + 1) * sizeof *g);

    if (!g) {
        nh_fail(err, NH_ENOMEM, "out of memory reading weights");
        return NULL;
    }
    s->g = g;
    g = &s->g[s->n];
    memset(g, 0, sizeof *g);
    g->name = nh_strdup(err, name);
    if (!g->name)
        return NULL;
    s->n++;
    return g;
}

nh_status nh_kw_group_add(nh_kw_group *g, const char *name, int ndim, const int64_t *dims,
                          float *data, nh_error *err)
{
    nh_kw_tensor *t = realloc(g->t, (g->n + 1) * sizeof *t);

    if (!t) {
        free(data);
        return nh_fail(err, NH_ENOMEM, "out of memory reading weights");
    }
    g->t = t;
    t = &g->t[g->n];
    memset(t, 0, sizeof *t);
    t->name = nh_strdup(err, name);
    if (!t->name) {
        free(data);
        return NH_ENOMEM;
    }
    t->ndim = ndim;
    memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->data = data;
    g->n++;
    return NH_OK;
}

static const nh_kw_group *store_find(const nh_kw_store *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->g[i].name, name) == 0)
            return &s->g[i];
    return NULL;
}

/* ------------------------------------------------------- architecture */

void nh_keras_arch_free(nh_keras_arch *a)
{
    cJSON_Delete(a->root);
    free(a->file);
    memset(a, 0, sizeof *a);
}

static const char *json_string(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

nh_status nh_keras_arch_parse(const char *text, size_t len, const char *file,
                              const char *version, nh_keras_arch *a, nh_error *err)
{
    const cJSON *top, *mc, *cls;

    memset(a, 0, sizeof *a);
    a->file = nh_strdup(err, file);
    if (!a->file)
        return NH_ENOMEM;
    a->root = cJSON_ParseWithLength(text, len);
    if (!a->root) {
        const char *at = cJSON_GetErrorPtr();
        long pos = at && at >= text && at <= text + len ? (long)(at - text) : -1;

        nh_keras_arch_free(a);
        return nh_fail(err, NH_EFORMAT, "%s: not valid JSON (near byte %ld)", file, pos);
    }
    top = a->root;
    if (nh_tfjs_is_model_json(top))
        top = cJSON_GetObjectItemCaseSensitive(top, "modelTopology");
    mc = cJSON_GetObjectItemCaseSensitive(top, "model_config");
    a->model = cJSON_IsObject(mc) ? mc : top;
    cls = cJSON_GetObjectItemCaseSensitive(a->model, "class_name");
    if (!cJSON_IsString(cls) || !cJSON_GetObjectItemCaseSensitive(a->model, "config")) {
        nh_keras_arch_free(a);
        return nh_fail(err, NH_EFORMAT, "%s: no Keras model architecture (class_name and "
                       "config) in this JSON", file);
    }

    /* Keras 3 writes "module" into every serialised object. */
    if (!version)
        version = json_string(top, "keras_version");
    if (!version)
        version = json_string(a->root, "keras_version");
    a->keras3 = version ? version[0] == '3' && version[1] == '.'
                        : cJSON_GetObjectItemCaseSensitive(a->model, "module") != NULL;
    return NH_OK;
}

/* ------------------------------------------------------------ matching */

/* One layer of the architecture. */
typedef struct klayer {
    const char *name, *cls;
    const cJSON *config, *inbound;
    const nh_kw_group *w;
    int calls, built; /* inbound nodes (calls), and how many are in the graph */
} klayer;

/* Keras's to_snake_case: drop non-word characters, then "_" before each
 * capitalised word and between a lower-case letter and a capital, as the
 * regular expressions (.)([A-Z][a-z]+) and ([a-z])([A-Z]) do, left to right
 * without overlap; then lower case. */
static void snake_case(const char *cls, char *out, size_t size)
{
    char a[128], b[256];
    size_t n = 0, m = 0, k = 0;

    for (const char *p = cls; *p && n + 1 < sizeof a; p++)
        if (isalnum((unsigned char)*p) || *p == '_')
            a[n++] = *p;
    a[n] = '\0';
    for (size_t i = 0; i < n && m + 3 < sizeof b;) {
        if (i + 2 < n && isupper((unsigned char)a[i + 1]) && islower((unsigned char)a[i + 2])) {
            size_t j = i + 2;

            while (j < n && islower((unsigned char)a[j]))
                j++;
            b[m++] = a[i];
            b[m++] = '_';
            for (size_t t = i + 1; t < j && m + 1 < sizeof b; t++)
                b[m++] = a[t];
            i = j;
        } else {
            b[m++] = a[i++];
        }
    }
    b[m] = '\0';
    for (size_t i = 0; i < m && k + 2 < size; i++) {
        out[k++] = (char)tolower((unsigned char)b[i]);
        if (islower((unsigned char)b[i]) && isupper((unsigned char)b[i + 1]))
            out[k++] = '_';
    }
    out[k] = '\0';
}

/* .keras: the group of a layer is named after its class and its rank among
 * the model's layers of that class (Sequential models leave their
 * InputLayer out of the count, functional ones count it). */
static nh_status match_by_class(klayer *ls, size_t n, const nh_kw_store *s, const char *file,
                                nh_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char key[160], snake[128];
        size_t rank = 0;

        if (!nh_keras_class_has_weights(ls[i].cls))
            continue;
        for (size_t j = 0; j < i; j++)
            rank += strcmp(ls[j].cls, ls[i].cls) == 0;
        snake_case(ls[i].cls, snake, sizeof snake);
        if (rank)
            snprintf(key, sizeof key, "%s_%zu", snake, rank);
        else
            snprintf(key, sizeof key, "%s", snake);
        ls[i].w = store_find(s, key);
        if (!ls[i].w)
            return nh_fail(err, NH_EFORMAT, "%s: layer '%s' (%s): %s has no weights group "
                           "'layers/%s'", file, ls[i].name, ls[i].cls, s->file, key);
    }
    return NH_OK;
}

/* Legacy HDF5 and TF.js: by name when every layer with weights finds its
 * group, else the layers with weights take the non-empty groups in order. */
static nh_status match_by_name(klayer *ls, size_t n, const nh_kw_store *s, const char *file,
                               nh_error *err)
{
    size_t want = 0, have = 0, k = 0;
    int by_name = 1;

    for (size_t i = 0; i < n; i++) {
        if (!nh_keras_class_has_weights(ls[i].cls))
            continue;
        want++;
        ls[i].w = store_find(s, ls[i].name);
        by_name &= ls[i].w != NULL;
    }
    if (by_name)
        return NH_OK;
    for (size_t g = 0; g < s->n; g++)
        have += s->g[g].n > 0;
    if (have != want)
        return nh_fail(err, NH_EFORMAT, "%s: the model has %zu layers with weights, %s holds "
                       "weights for %zu layers (under other names)", file, want, s->file, have);
    for (size_t i = 0; i < n; i++) {
        if (!nh_keras_class_has_weights(ls[i].cls))
            continue;
        while (s->g[k].n == 0)
            k++;
        ls[i].w = &s->g[k++];
    }
    return NH_OK;
}

/* ---------------------------------------------------------- topology */

typedef struct tensor_ref {
    size_t layer;
    int call;
    int value;
} tensor_ref;

typedef struct walk {
    nh_kb b;
    klayer *layers;
    size_t n;
    tensor_ref *refs;
    size_t n_refs;
} walk;

static nh_status ref_add(walk *w, size_t layer, int call, int value)
{
    tensor_ref *r = realloc(w->refs, (w->n_refs + 1) * sizeof *r);

    if (!r)
        return nh_fail(w->b.err, NH_ENOMEM, "out of memory walking the model");
    w->refs = r;
    w->refs[w->n_refs++] = (tensor_ref){layer, call, value};
    return NH_OK;
}

static int layer_index(const walk *w, const char *name)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->layers[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The value of [name, call, tensor], -1 while not yet built, -2 for a
 * reference to no layer or a tensor other than 0. */
static int ref_value(const walk *w, const cJSON *name, const cJSON *call, const cJSON *tensor)
{
    int li;

    if (!cJSON_IsString(name) || !cJSON_IsNumber(call))
        return -2;
    li = layer_index(w, name->valuestring);
    if (li < 0 || (tensor && cJSON_IsNumber(tensor) && tensor->valuedouble != 0))
        return -2;
    for (size_t i = 0; i < w->n_refs; i++)
        if (w->refs[i].layer == (size_t)li && w->refs[i].call == (int)call->valuedouble)
            return w->refs[i].value;
    return -1;
}

/* A tensor reference [name, call, tensor(, kwargs)] of Keras 2, or Keras
 * 3's {"class_name": "__keras_tensor__", "config": {"keras_history":
 * [name, call, tensor]}}. Returns 0 when x is neither. */
static int ref_triple(const cJSON *x, const cJSON **name, const cJSON **call,
                      const cJSON **tensor)
{
    const cJSON *h;

    if (cJSON_IsObject(x)) {
        h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(x, "config"),
                                             "keras_history");
        if (!cJSON_IsArray(h))
            return 0;
        x = h;
    }
    if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) < 2
        || !cJSON_IsString(cJSON_GetArrayItem(x, 0)))
        return 0;
    *name = cJSON_GetArrayItem(x, 0);
    *call = cJSON_GetArrayItem(x, 1);
    *tensor = cJSON_GetArrayItem(x, 2);
    return 1;
}

/* Collects the values of the tensors an inbound node refers to, in order
 * (Keras 3 args may nest them in lists). *ready is cleared when one is not
 * built yet. */
static nh_status collect_inputs(const walk *w, const klayer *l, const cJSON *x, int *in,
                                int *n_in, int *ready)
{
    const cJSON *name, *call, *tensor, *e;

    if (ref_triple(x, &name, &call, &tensor)) {
        int v = ref_value(w, name, call, tensor);

        if (v == -2)
            return nh_fail(w->b.err, NH_EFORMAT, "%s: layer '%s' (%s): input '%s' is not the "
                           "output of a layer", w->b.file, l->name, l->cls,
                           name->valuestring);
        if (v < 0)
            *ready = 0;
        if (*n_in >= NH_MAX_NODE_INPUTS)
            return nh_fail(w->b.err, NH_EUNSUPPORTED, "%s: layer '%s' (%s): more than %d inputs",
                           w->b.file, l->name, l->cls, NH_MAX_NODE_INPUTS);
        in[(*n_in)++] = v;
        return NH_OK;
    }
    if (!cJSON_IsArray(x))
        return NH_OK; /* a constant argument */
    cJSON_ArrayForEach(e, x) {
        nh_status st = collect_inputs(w, l, e, in, n_in, ready);

        if (st)
            return st;
    }
    return NH_OK;
}

/* Builds call c of layer i if all its inputs exist; *built tells. */
static nh_status try_call(walk *w, size_t i, int c, int *built)
{
    klayer *l = &w->layers[i];
    const cJSON *node = cJSON_GetArrayItem(l->inbound, c), *args;
    int in[NH_MAX_NODE_INPUTS], n_in = 0, ready = 1, out;
    nh_kl kl = {l->name, l->cls, l->config, l->w, c};
    nh_status st;

    *built = 0;
    args = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, "args") : node;
    if ((st = collect_inputs(w, l, args, in, &n_in, &ready)) || !ready)
        return st;
    if (n_in == 0)
        return nh_fail(w->b.err, NH_EFORMAT, "%s: layer '%s' (%s): call %d has no input",
                       w->b.file, l->name, l->cls, c);
    if ((st = nh_keras_build_layer(&w->b, &kl, in, n_in, &out))
        || (st = ref_add(w, i, c, out)))
        return st;
    *built = 1;
    return NH_OK;
}

/* Adds the outputs x refers to, in order, to the graph's outputs:
 * output_layers is [[name, call, tensor], ...], one triple, or (Keras 3) a
 * dict or nested lists of them. */
static nh_status functional_outputs(walk *w, const cJSON *x)
{
    nh_graph *g = w->b.g;
    const cJSON *name, *call, *tensor, *e;
    int v;

    if (!ref_triple(x, &name, &call, &tensor)) {
        cJSON_ArrayForEach(e, x) {
            nh_status st = functional_outputs(w, e);

            if (st)
                return st;
        }
        return NH_OK;
    }
    v = ref_value(w, name, call, tensor);
    if (v < 0)
        return nh_fail(w->b.err, NH_EFORMAT, "%s: output '%s' is never computed (its inputs "
                       "are missing)", w->b.file, name->valuestring);
    if (g->n_outputs >= NH_MAX_OUTPUTS)
        return nh_fail(w->b.err, NH_EUNSUPPORTED, "%s: more than %d outputs", w->b.file,
                       NH_MAX_OUTPUTS);
    g->outputs[g->n_outputs++] = v;
    return NH_OK;
}

static nh_status walk_functional(walk *w, const cJSON *config)
{
    int input = -1, progress = 1;
    nh_status st;

    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->layers[i].cls, "InputLayer") != 0)
            continue;
        if (input >= 0)
            return nh_fail(w->b.err, NH_EUNSUPPORTED, "%s: the model has several inputs; nnheat "
                           "runs models of one input", w->b.file);
        if ((st = nh_keras_input(&w->b, w->layers[i].name, w->layers[i].config, NULL, &input))
            || (st = ref_add(w, i, 0, input)))
            return st;
        w->layers[i].built = w->layers[i].calls = 1;
    }
    if (input < 0)
        return nh_fail(w->b.err, NH_EFORMAT, "%s: the model has no InputLayer", w->b.file);
    w->b.g->input = input;

    /* Layers are listed in an order that builds, but a layer used twice may
     * wait for a later one: pass over them until nothing more can be
     * built. */
    while (progress) {
        progress = 0;
        for (size_t i = 0; i < w->n; i++) {
            klayer *l = &w->layers[i];
            int built = 1;

            while (built && l->built < l->calls) {
                if ((st = try_call(w, i, l->built, &built)))
                    return st;
                l->built += built;
                progress |= built;
            }
        }
    }
    /* Every output is kept (and costed); `run` writes the first. */
    if ((st = functional_outputs(w, cJSON_GetObjectItemCaseSensitive(config, "output_layers"))))
        return st;
    if (w->b.g->n_outputs == 0)
        return nh_fail(w->b.err, NH_EFORMAT, "%s: the model has no output_layers", w->b.file);
    w->b.g->output = w->b.g->outputs[0];
    return NH_OK;
}

/* Sequential: each layer reads the one before. Without an InputLayer, the
 * first layer's batch_input_shape (or the model's build_input_shape) is the
 * input, named "FIRST_input" as Keras names it. */
static nh_status walk_sequential(walk *w, const cJSON *config)
{
    const cJSON *fallback = cJSON_GetObjectItemCaseSensitive(config, "build_input_shape");
    int x = -1;
    nh_status st;

    for (size_t i = 0; i < w->n; i++) {
        klayer *l = &w->layers[i];
        nh_kl kl = {l->name, l->cls, l->config, l->w, 0};

        if (strcmp(l->cls, "InputLayer") == 0) {
            if (x >= 0)
                return nh_fail(w->b.err, NH_EFORMAT, "%s: InputLayer '%s' is not the first "
                               "layer", w->b.file, l->name);
            if ((st = nh_keras_input(&w->b, l->name, l->config, fallback, &x)))
                return st;
            w->b.g->input = x;
            continue;
        }
        if (x < 0) {
            char name[300];

            snprintf(name, sizeof name, "%s_input", l->name);
            if ((st = nh_keras_input(&w->b, name, l->config, fallback, &x)))
                return st;
            w->b.g->input = x;
        }
        if ((st = nh_keras_build_layer(&w->b, &kl, &x, 1, &x)))
            return st;
    }
    if (x < 0 || w->b.g->input == x)
        return nh_fail(w->b.err, NH_EFORMAT, "%s: the Sequential model has no layers",
                       w->b.file);
    w->b.g->output = x;
    return NH_OK;
}

/* Lists the layers of the architecture: config.layers (or, in old Keras 2
 * Sequential files, config itself). */
static nh_status list_layers(walk *w, const cJSON *config, int sequential)
{
    const cJSON *layers = config;
    const cJSON *e;
    size_t i = 0;

    if (!cJSON_IsArray(layers))
        layers = cJSON_GetObjectItemCaseSensitive(config, "layers");
    if (!cJSON_IsArray(layers))
        return nh_fail(w->b.err, NH_EFORMAT, "%s: the model config has no list of layers",
                       w->b.file);
    w->n = (size_t)cJSON_GetArraySize(layers);
    w->layers = nh_calloc(w->b.err, w->n, sizeof *w->layers);
    if (!w->layers)
        return NH_ENOMEM;
    cJSON_ArrayForEach(e, layers) {
        klayer *l = &w->layers[i];
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(e, "config");

        l->cls = json_string(e, "class_name");
        l->config = cfg;
        l->name = json_string(cfg, "name");
        if (!l->name)
            l->name = json_string(e, "name");
        if (!l->cls || !cJSON_IsObject(cfg) || !l->name)
            return nh_fail(w->b.err, NH_EFORMAT, "%s: layer %zu has no class_name, config or "
                           "name", w->b.file, i);
        l->inbound = cJSON_GetObjectItemCaseSensitive(e, "inbound_nodes");
        l->calls = cJSON_IsArray(l->inbound) ? cJSON_GetArraySize(l->inbound) : 0;
        if (!sequential && !l->calls && strcmp(l->cls, "InputLayer") != 0)
            return nh_fail(w->b.err, NH_EFORMAT, "%s: layer '%s' (%s) has no inbound_nodes",
                           w->b.file, l->name, l->cls);
        i++;
    }
    return NH_OK;
}

static int is_model_class(const char *cls)
{
    return strcmp(cls, "Sequential") == 0 || strcmp(cls, "Functional") == 0
           || strcmp(cls, "Model") == 0;
}

/* Builds the graph of arch with the weights of store. */
static nh_status build_graph(const nh_keras_arch *arch, const nh_kw_store *store,
                             const char *name, nh_graph **out, nh_error *err)
{
    const char *cls = json_string(arch->model, "class_name");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(arch->model, "config");
    int sequential = strcmp(cls, "Sequential") == 0;
    walk w;
    nh_status st;

    memset(&w, 0, sizeof w);
    w.b = (nh_kb){NULL, name, store->file, arch->keras3, err};
    if (!is_model_class(cls))
        return nh_fail(err, NH_EUNSUPPORTED, "%s: the model's class '%s' is not Sequential or "
                       "Functional", name, cls);
    w.b.g = nh_graph_create(name, err);
    if (!w.b.g)
        return NH_ENOMEM;
    st = list_layers(&w, config, sequential);
    for (size_t i = 0; st == NH_OK && i < w.n; i++)
        if (is_model_class(w.layers[i].cls))
            st = nh_fail(err, NH_EUNSUPPORTED, "%s: layer '%s' (%s): nested models are not "
                         "supported", name, w.layers[i].name, w.layers[i].cls);
    if (st == NH_OK && store->match == NH_KW_MATCH_CLASS) {
        size_t skip = sequential && w.n && strcmp(w.layers[0].cls, "InputLayer") == 0;

        st = match_by_class(w.layers + skip, w.n - skip, store, name, err);
    } else if (st == NH_OK) {
        st = match_by_name(w.layers, w.n, store, name, err);
    }
    if (st == NH_OK)
        st = sequential ? walk_sequential(&w, config) : walk_functional(&w, config);
    if (st == NH_OK) {
        nh_graph_prune(w.b.g);
        st = nh_graph_infer_shapes(w.b.g, err);
    }
    free(w.layers);
    free(w.refs);
    if (st) {
        nh_graph_destroy(w.b.g);
        return st;
    }
    *out = w.b.g;
    return NH_OK;
}

/* ---------------------------------------------------------------- entry */

int nh_keras_detect(const void *data, size_t size)
{
    const unsigned char *p = data;
    size_t i = 0;

    if (size >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
        return 1;
    if (nh_h5_is_hdf5(data, size))
        return 1;
    while (i < size && isspace(p[i]))
        i++;
    return i < size && p[i] == '{';
}

static nh_status read_config(const char *path, nh_keras_arch *arch, nh_error *err)
{
    void *text = NULL;
    size_t len = 0;
    nh_status st = nh_read_file(path, &text, &len, err);

    if (st == NH_OK)
        st = nh_keras_arch_parse(text, len, path, NULL, arch, err);
    free(text);
    return st;
}

/* A JSON model file: a TF.js model.json with its shards. */
static nh_status read_json(const void *data, size_t size, const char *name, nh_keras_arch *arch,
                           nh_kw_store *store, nh_error *err)
{
    cJSON *root = cJSON_ParseWithLength(data, size);
    int tfjs = root && nh_tfjs_is_model_json(root);

    cJSON_Delete(root);
    if (!tfjs)
        return nh_fail(err, NH_EFORMAT, "%s: a JSON file that is not a TF.js model.json (with "
                       "modelTopology and weightsManifest); a Keras architecture JSON holds no "
                       "weights: give it with --config next to a weights file", name);
    return nh_tfjs_read(data, size, name, 1, arch, store, err);
}

nh_status nh_keras_load(const void *data, size_t size, const char *name,
                        const char *config_path, nh_graph **out, nh_error *err)
{
    const unsigned char *p = data;
    nh_keras_arch arch;
    nh_kw_store store;
    nh_status st = NH_OK;

    *out = NULL;
    memset(&arch, 0, sizeof arch);
    memset(&store, 0, sizeof store);
    if (config_path)
        st = read_config(config_path, &arch, err);
    if (st == NH_OK) {
        if (size >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
            st = nh_keras_read_zip(data, size, name, &arch, &store, err);
        else if (nh_h5_is_hdf5(data, size))
            st = nh_keras_read_h5(data, size, name, &arch, &store, err);
        else
            st = read_json(data, size, name, &arch, &store, err);
    }
    if (st == NH_OK)
        st = build_graph(&arch, &store, name, out, err);
    nh_keras_arch_free(&arch);
    nh_kw_store_free(&store);
    return st;
}
