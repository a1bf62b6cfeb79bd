/* The JSON report, built with cJSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "report/report.h"

static const char *const estimator_names[] = {"chao-shen", "plugin", "miller-madow"};
static const char *const entropy_names[] = {"differential", "discrete"};
static const char *const mismatch_names[] = {"none", "independent", "joint"};

/* The index of name in names[first..last] (case-insensitive), or -1. */
static int name_index(const char *const *names, int first, int last, const char *name)
{
    for (int i = first; i <= last; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *nh_estimator_name(nh_estimator est)
{
    return est <= NH_ESTIMATOR_MILLER_MADOW ? estimator_names[est] : "?";
}

nh_status nh_estimator_parse(const char *name, nh_estimator *out, nh_error *err)
{
    int i = name_index(estimator_names, 0, NH_ESTIMATOR_MILLER_MADOW, name);

    if (i < 0)
        return nh_fail(err, NH_EINVAL, "unknown estimator '%s': expected chao-shen, plugin or "
                       "miller-madow", name);
    *out = (nh_estimator)i;
    return NH_OK;
}

const char *nh_entropy_mode_name(nh_entropy_mode mode)
{
    return mode <= NH_ENTROPY_DISCRETE ? entropy_names[mode] : "?";
}

nh_status nh_entropy_mode_parse(const char *name, nh_entropy_mode *out, nh_error *err)
{
    int i = name_index(entropy_names, 0, NH_ENTROPY_DISCRETE, name);

    if (i < 0)
        return nh_fail(err, NH_EINVAL, "unknown entropy mode '%s': expected differential or "
                       "discrete", name);
    *out = (nh_entropy_mode)i;
    return NH_OK;
}

const char *nh_mismatch_mode_name(nh_mismatch_mode mode)
{
    return mode <= NH_MISMATCH_JOINT ? mismatch_names[mode] : "?";
}

nh_status nh_mismatch_mode_parse(const char *name, nh_mismatch_mode *out, nh_error *err)
{
    int i = name_index(mismatch_names, NH_MISMATCH_INDEPENDENT, NH_MISMATCH_JOINT, name);

    if (i < 0)
        return nh_fail(err, NH_EINVAL, "unknown Mismatch mode '%s': expected independent or "
                       "joint", name);
    *out = (nh_mismatch_mode)i;
    return NH_OK;
}

static cJSON *shape_array(const int64_t *shape, int ndim)
{
    cJSON *a = cJSON_CreateArray();

    for (int d = 0; a && d < ndim; d++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)shape[d]));
    return a;
}

/* "heuristic_landauer" and "heuristic_mismatch" of layer i (costs --heuristic). */
static void add_heuristic_costs(cJSON *o, const nh_heuristic *h, size_t i,
                                const nh_run_info *info)
{
    nh_layer_heuristic lh = {0, 0, 0, 0};

    nh_heuristic_layer(h, i, &lh, NULL);
    cJSON_AddNumberToObject(o, "heuristic_landauer",
                            nh_energy_from_nats(lh.landauer, info->temperature, info->unit));
    cJSON_AddNumberToObject(o, "heuristic_mismatch",
                            nh_energy_from_nats(lh.mismatch, info->temperature, info->unit));
}

static void add_heuristic_total(cJSON *total, const nh_heuristic *h, const nh_run_info *info)
{
    double l, m;

    nh_heuristic_total(h, &l, &m);
    cJSON_AddNumberToObject(total, "heuristic_landauer",
                            nh_energy_from_nats(l, info->temperature, info->unit));
    cJSON_AddNumberToObject(total, "heuristic_mismatch",
                            nh_energy_from_nats(m, info->temperature, info->unit));
}

/* The keys that describe layer i, whatever the report: index, name, kind,
 * ops, shape, neurons, initial_set. */
static cJSON *layer_head(const nh_model *model, size_t i)
{
    nh_layer_info li;
    cJSON *o = cJSON_CreateObject(), *ops = cJSON_CreateArray();

    if (!o || !ops || nh_model_layer(model, i, &li, NULL) != NH_OK) {
        cJSON_Delete(o);
        cJSON_Delete(ops);
        return NULL;
    }
    for (size_t k = 0; k < li.n_ops; k++)
        cJSON_AddItemToArray(ops, cJSON_CreateString(li.ops[k]));
    cJSON_AddNumberToObject(o, "index", (double)i);
    cJSON_AddStringToObject(o, "name", li.name);
    cJSON_AddStringToObject(o, "kind", nh_layer_kind_name(li.kind));
    cJSON_AddItemToObject(o, "ops", ops);
    cJSON_AddItemToObject(o, "shape", shape_array(li.shape, li.ndim));
    cJSON_AddNumberToObject(o, "neurons", (double)li.neurons);
    cJSON_AddNumberToObject(o, "initial_set", (double)li.initial_set);
    return o;
}

static cJSON *layer_object(const nh_model *model, const nh_costs *costs, size_t i,
                           const nh_run_info *info)
{
    nh_layer_costs lc;
    cJSON *o;
    double t = info->temperature;

    if (nh_costs_layer(costs, i, &lc, NULL) != NH_OK || !(o = layer_head(model, i)))
        return NULL;
    cJSON_AddNumberToObject(o, "landauer", nh_energy_from_nats(lc.landauer, t, info->unit));
    cJSON_AddNumberToObject(o, "mismatch", nh_energy_from_nats(lc.mismatch, t, info->unit));
    cJSON_AddNumberToObject(o, "clipped_landauer", (double)lc.clipped_landauer);
    cJSON_AddNumberToObject(o, "clipped_mismatch", (double)lc.clipped_mismatch);
    if (info->mismatch != NH_MISMATCH_NONE) {
        cJSON_AddNumberToObject(o, "outside_mass_mean", lc.outside_mass_mean);
        cJSON_AddNumberToObject(o, "outside_mass_max", lc.outside_mass_max);
    }
    cJSON_AddNumberToObject(o, "coverage_mean", lc.coverage_mean);
    cJSON_AddNumberToObject(o, "single_bin_share", lc.single_bin_share);
    if (info->mismatch == NH_MISMATCH_JOINT) {
        cJSON_AddNumberToObject(o, "joint_histograms", (double)lc.joint_histograms);
        cJSON_AddNumberToObject(o, "joint_tuples", (double)lc.joint_tuples);
        cJSON_AddNumberToObject(o, "joint_singleton_share", lc.joint_singleton_share);
        cJSON_AddNumberToObject(o, "joint_bytes", (double)lc.joint_bytes);
    }
    if (info->heuristic)
        add_heuristic_costs(o, info->heuristic, i, info);
    return o;
}

char *nh_report_json(const nh_model *model, const nh_costs *costs, const nh_run_info *info,
                     nh_error *err)
{
    cJSON *root = cJSON_CreateObject(), *layers = cJSON_CreateArray(), *total;
    double l, m, t = info->temperature;
    char *text = NULL;

    if (!root || !layers)
        goto fail;
    cJSON_AddStringToObject(root, "nnheat", nh_version());
    cJSON_AddStringToObject(root, "model", info->model);
    cJSON_AddStringToObject(root, "input", info->input);
    cJSON_AddNumberToObject(root, "scale", info->scale);
    cJSON_AddNumberToObject(root, "shift", info->shift);
    cJSON_AddNumberToObject(root, "seed", (double)info->seed);
    if (info->optimal)
        cJSON_AddStringToObject(root, "optimal", info->optimal);
    else
        cJSON_AddNullToObject(root, "optimal");
    cJSON_AddNumberToObject(root, "samples", (double)nh_costs_samples(costs));
    cJSON_AddNumberToObject(root, "optimal_samples", (double)nh_costs_optimal_samples(costs));
    cJSON_AddNumberToObject(root, "bin_size", info->bin_size);
    cJSON_AddNumberToObject(root, "temperature", info->temperature);
    cJSON_AddStringToObject(root, "unit", nh_unit_name(info->unit));
    cJSON_AddStringToObject(root, "estimator", nh_estimator_name(info->estimator));
    cJSON_AddStringToObject(root, "entropy_mode", nh_entropy_mode_name(info->entropy));
    cJSON_AddStringToObject(root, "mismatch_mode", nh_mismatch_mode_name(info->mismatch));
    for (size_t i = 0; i < nh_costs_layer_count(costs); i++) {
        cJSON *o = layer_object(model, costs, i, info);

        if (!o)
            goto fail;
        cJSON_AddItemToArray(layers, o);
    }
    cJSON_AddItemToObject(root, "layers", layers);
    layers = NULL;
    nh_costs_total(costs, &l, &m);
    total = cJSON_AddObjectToObject(root, "total");
    if (!total)
        goto fail;
    cJSON_AddNumberToObject(total, "landauer", nh_energy_from_nats(l, t, info->unit));
    cJSON_AddNumberToObject(total, "mismatch", nh_energy_from_nats(m, t, info->unit));
    cJSON_AddNumberToObject(total, "sum", nh_energy_from_nats(l + m, t, info->unit));
    if (info->heuristic)
        add_heuristic_total(total, info->heuristic, info);
    text = cJSON_Print(root);
    if (!text)
        goto fail;
    cJSON_Delete(root);
    return text;
fail:
    cJSON_Delete(root);
    cJSON_Delete(layers);
    nh_fail(err, NH_ENOMEM, "out of memory building the JSON report");
    return NULL;
}

/* One layer of the heuristic report: the keys of layer_object, with no
 * clipping (the heuristic differences are never negative) and no outside
 * mass (there are no histograms). */
static cJSON *heuristic_layer_object(const nh_model *model, const nh_heuristic *h, size_t i,
                                     const nh_run_info *info)
{
    nh_layer_heuristic lh;
    cJSON *o;
    double t = info->temperature;

    if (nh_heuristic_layer(h, i, &lh, NULL) != NH_OK || !(o = layer_head(model, i)))
        return NULL;
    cJSON_AddNumberToObject(o, "landauer", nh_energy_from_nats(lh.landauer, t, info->unit));
    cJSON_AddNumberToObject(o, "mismatch", nh_energy_from_nats(lh.mismatch, t, info->unit));
    cJSON_AddNumberToObject(o, "clipped_landauer", 0);
    cJSON_AddNumberToObject(o, "clipped_mismatch", 0);
    cJSON_AddNumberToObject(o, "factor", lh.factor);
    cJSON_AddNumberToObject(o, "mismatch_factor", lh.mismatch_factor);
    return o;
}

char *nh_report_heuristic_json(const nh_model *model, const nh_heuristic *h,
                               const nh_run_info *info, nh_error *err)
{
    cJSON *root = cJSON_CreateObject(), *layers = cJSON_CreateArray(), *total;
    double l, m, t = info->temperature;
    char *text = NULL;

    if (!root || !layers)
        goto fail;
    cJSON_AddStringToObject(root, "nnheat", nh_version());
    cJSON_AddStringToObject(root, "model", info->model);
    cJSON_AddStringToObject(root, "input", info->input);
    cJSON_AddNumberToObject(root, "scale", 1); /* no samples: nothing scaled or drawn */
    cJSON_AddNumberToObject(root, "shift", 0);
    cJSON_AddNullToObject(root, "seed");
    cJSON_AddStringToObject(root, "optimal", info->optimal);
    cJSON_AddNumberToObject(root, "samples", 0);
    cJSON_AddNumberToObject(root, "optimal_samples", 0);
    cJSON_AddNullToObject(root, "bin_size");
    cJSON_AddNumberToObject(root, "temperature", t);
    cJSON_AddStringToObject(root, "unit", nh_unit_name(info->unit));
    cJSON_AddNullToObject(root, "estimator");
    cJSON_AddStringToObject(root, "entropy_mode", "differential");
    cJSON_AddStringToObject(root, "mismatch_mode", "heuristic");
    cJSON_AddNumberToObject(root, "normal_entropy", nh_heuristic_entropy(h));
    cJSON_AddNumberToObject(root, "normal_divergence", nh_heuristic_divergence(h));
    for (size_t i = 0; i < nh_heuristic_layer_count(h); i++) {
        cJSON *o = heuristic_layer_object(model, h, i, info);

        if (!o)
            goto fail;
        cJSON_AddItemToArray(layers, o);
    }
    cJSON_AddItemToObject(root, "layers", layers);
    layers = NULL;
    nh_heuristic_total(h, &l, &m);
    total = cJSON_AddObjectToObject(root, "total");
    if (!total)
        goto fail;
    cJSON_AddNumberToObject(total, "landauer", nh_energy_from_nats(l, t, info->unit));
    cJSON_AddNumberToObject(total, "mismatch", nh_energy_from_nats(m, t, info->unit));
    cJSON_AddNumberToObject(total, "sum", nh_energy_from_nats(l + m, t, info->unit));
    text = cJSON_Print(root);
    if (!text)
        goto fail;
    cJSON_Delete(root);
    return text;
fail:
    cJSON_Delete(root);
    cJSON_Delete(layers);
    nh_fail(err, NH_ENOMEM, "out of memory building the JSON report");
    return NULL;
}

nh_status nh_write_text(const char *path, const char *text, nh_error *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    int bad;

    if (!f)
        return nh_fail(err, NH_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
    bad = fputs(text, f) < 0 || fputc('\n', f) == EOF;
    bad |= f == stdout ? fflush(f) != 0 : fclose(f) != 0;
    if (bad)
        return nh_fail(err, NH_EIO, "%s: write failed: %s", path, strerror(errno));
    return NH_OK;
}
