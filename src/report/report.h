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

/* Writes text to path ("-" for stdout). */
nh_status nh_write_text(const char *path, const char *text, nh_error *err);

#endif
