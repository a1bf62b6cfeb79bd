/* Reports of a cost run: the JSON document of `nnheat costs --json`. */
#ifndef NH_REPORT_REPORT_H
#define NH_REPORT_REPORT_H

#include "nnheat.h"

/* What a run was asked to do, echoed in its reports. */
typedef struct nh_run_info {
    const char *model;        /* model path */
    const char *input;        /* input spec */
    const char *optimal;      /* optimal spec, NULL without Mismatch */
    double bin_size;
    double temperature;       /* kelvin */
    nh_unit unit;
    nh_estimator estimator;
    nh_entropy_mode entropy;
    nh_mismatch_mode mismatch;
    const nh_heuristic *heuristic; /* costs --heuristic: added per layer, or NULL */
    double scale, shift;      /* applied to the input */
    uint64_t seed;            /* of the generators */
} nh_run_info;

const char *nh_estimator_name(nh_estimator est);
nh_status nh_estimator_parse(const char *name, nh_estimator *out, nh_error *err);
const char *nh_entropy_mode_name(nh_entropy_mode mode);
nh_status nh_entropy_mode_parse(const char *name, nh_entropy_mode *out, nh_error *err);
const char *nh_mismatch_mode_name(nh_mismatch_mode mode);
nh_status nh_mismatch_mode_parse(const char *name, nh_mismatch_mode *out, nh_error *err);

/* The JSON document of a run, as a NUL-terminated string the caller frees
 * with free(). Costs are converted to info->unit. */
char *nh_report_json(const nh_model *model, const nh_costs *costs, const nh_run_info *info,
                     nh_error *err);

/* The JSON document of `nnheat heuristic`: the schema of nh_report_json
 * with "mismatch_mode": "heuristic", "samples": 0, null bin size and
 * estimator, and the factors of each layer. info->input and info->optimal
 * are the "normal:MU,SIGMA" specs; info->bin_size, estimator, entropy and
 * mismatch are ignored. The caller frees the string with free(). */
char *nh_report_heuristic_json(const nh_model *model, const nh_heuristic *h,
                               const nh_run_info *info, nh_error *err);

/* Per-neuron results: DIR/layerNN_QUANTITY.npy (float64, shaped like layer
 * NN) for landauer, mismatch, entropy, divergence, landauer_diff and
 * mismatch_diff; costs in info->unit, entropies and divergences in nats.
 * DIR is created if needed. */
nh_status nh_report_neuron_npy(const char *dir, const nh_model *model, const nh_costs *costs,
                               const nh_run_info *info, nh_error *err);

/* The same as one CSV row per neuron: layer, name, kind, flat neuron index,
 * multi-index ("3 14 7"), then the quantities ("-" for stdout). */
nh_status nh_report_neuron_csv(const char *path, const nh_model *model, const nh_costs *costs,
                               const nh_run_info *info, nh_error *err);

/* Writes text to path ("-" for stdout). */
nh_status nh_write_text(const char *path, const char *text, nh_error *err);

#endif
