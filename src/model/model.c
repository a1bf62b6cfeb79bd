/* The public model API: loading, describing layers, running. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "model/keras.h"
#include "model/model-impl.h"
#include "model/onnx.h"
#include "nn/split.h"

#include <omp.h>

static const char *const kind_names[] = {"input",   "dense",       "conv", "pool",
                                         "reshape", "elementwise", "add"};

const char *nh_layer_kind_name(nh_layer_kind kind)
{
    return kind <= NH_LAYER_ADD ? kind_names[kind] : "?";
}

void nh_model_destroy(nh_model *model)
{
    if (!model)
        return;
    nh_layers_free(model);
    nh_graph_destroy(model->graph);
    free(model->path);
    free(model);
}

/* Keras files (HDF5, zip, JSON) are told from ONNX protobufs by their
 * first bytes; an architecture file (config) implies Keras. */
static nh_status load(const void *data, size_t size, const char *name, const char *config,
                      nh_model **out, nh_error *err)
{
    nh_model *m;
    nh_status st;

    *out = NULL;
    m = nh_calloc(err, 1, sizeof *m);
    if (!m)
        return NH_ENOMEM;
    m->path = nh_strdup(err, name ? name : "model");
    if (!m->path)
        goto fail;
    if (config || nh_keras_detect(data, size))
        st = nh_keras_load(data, size, m->path, config, &m->graph, err);
    else
        st = nh_onnx_load(data, size, m->path, &m->graph, err);
    if (st != NH_OK)
        goto fail;
    if (nh_graph_infer_shapes(m->graph, err) != NH_OK)
        goto fail; /* its messages already name the file */
    if (nh_layers_build(m, err) != NH_OK) {
        nh_error_prefix(err, "%s", m->path);
        goto fail;
    }
    *out = m;
    return NH_OK;
fail:
    nh_model_destroy(m);
    return err ? err->status : NH_EFORMAT;
}

nh_status nh_model_load_memory(const void *data, size_t size, const char *name,
                               nh_model **out, nh_error *err)
{
    return load(data, size, name, NULL, out, err);
}

nh_status nh_model_load_file_config(const char *path, const char *config_path,
                                    nh_model **out, nh_error *err)
{
    void *data = NULL;
    size_t size = 0;
    nh_status st;

    *out = NULL;
    st = nh_read_file(path, &data, &size, err);
    if (st != NH_OK)
        return st;
    st = load(data, size, path, config_path, out, err);
    free(data);
    return st;
}

nh_status nh_model_load_file(const char *path, nh_model **out, nh_error *err)
{
    return nh_model_load_file_config(path, NULL, out, err);
}

size_t nh_model_layer_count(const nh_model *model)
{
    return model->n_layers;
}

nh_status nh_model_layer(const nh_model *model, size_t index, nh_layer_info *out,
                         nh_error *err)
{
    const nh_layer *l;

    if (index >= model->n_layers)
        return nh_fail(err, NH_EINVAL, "layer %zu out of range (the model has %zu)", index,
                       model->n_layers);
    l = &model->layers[index];
    memset(out, 0, sizeof *out);
    out->name = l->name;
    out->kind = l->kind;
    out->n_ops = (size_t)l->n_nodes;
    out->ops = l->ops;
    out->nodes = l->names;
    out->ndim = l->ndim;
    memcpy(out->shape, l->shape, (size_t)l->ndim * sizeof *l->shape);
    out->neurons = l->neurons;
    out->initial_set = l->initial_set;
    out->n_inputs = l->n_inputs;
    out->inputs = l->inputs;
    return NH_OK;
}

static int value_shape(const nh_graph *g, int v, int64_t shape[NH_MAX_DIMS])
{
    const nh_value *val = &g->values[v];
    int n = val->ndim > 0 ? val->ndim - 1 : 0;

    memcpy(shape, val->dims + 1, (size_t)n * sizeof *shape);
    return n;
}

int nh_model_input_shape(const nh_model *model, int64_t shape[NH_MAX_DIMS])
{
    return value_shape(model->graph, model->graph->input, shape);
}

int nh_model_output_shape(const nh_model *model, int64_t shape[NH_MAX_DIMS])
{
    return value_shape(model->graph, model->graph->output, shape);
}

struct nh_runner {
    const nh_model *model;
    nh_split *split;
    size_t in_size, out_size;
};

static size_t value_size(const nh_model *model, int (*shape_of)(const nh_model *, int64_t *))
{
    int64_t shape[NH_MAX_DIMS];
    int nd = shape_of(model, shape);

    return (size_t)nh_shape_count(nd, shape, 1);
}

nh_status nh_runner_create(const nh_model *model, size_t max_batch, int threads,
                           nh_runner **out, nh_error *err)
{
    nh_runner *r;
    nh_status st;

    *out = NULL;
    if (max_batch < 1)
        return nh_fail(err, NH_EINVAL, "a runner needs a batch of at least 1 sample");
    r = nh_calloc(err, 1, sizeof *r);
    if (!r)
        return NH_ENOMEM;
    r->model = model;
    r->in_size = value_size(model, nh_model_input_shape);
    r->out_size = value_size(model, nh_model_output_shape);
    st = nh_split_create(model->graph, max_batch, threads > 0 ? threads : omp_get_num_procs(),
                         &r->split, err);
    if (st != NH_OK) {
        free(r);
        return st;
    }
    *out = r;
    return NH_OK;
}

void nh_runner_destroy(nh_runner *runner)
{
    if (!runner)
        return;
    nh_split_destroy(runner->split);
    free(runner);
}

nh_status nh_runner_forward(nh_runner *r, const float *input, size_t n, float *output,
                            nh_error *err)
{
    nh_status st;

    if (n == 0)
        return NH_OK;
    st = nh_split_run(r->split, input, n, r->in_size, err);
    for (int c = 0; st == NH_OK && c < nh_split_chunks(r->split); c++) {
        size_t first, count;
        const float *y = nh_split_value(r->split, c, r->model->graph->output, &first, &count);

        memcpy(output + first * r->out_size, y, count * r->out_size * sizeof *output);
    }
    return st;
}

nh_status nh_model_forward(const nh_model *model, const float *input, size_t n,
                           float *output, nh_error *err)
{
    nh_runner *r = NULL;
    nh_status st;

    if (n == 0)
        return NH_OK;
    st = nh_runner_create(model, n, 0, &r, err);
    if (st == NH_OK)
        st = nh_runner_forward(r, input, n, output, err);
    nh_runner_destroy(r);
    return st;
}
