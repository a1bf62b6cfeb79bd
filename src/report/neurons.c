/* Per-neuron results: .npy arrays shaped like each layer, and one CSV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "data/npy_write.h"
#include "report/report.h"

/* The per-neuron quantities, in file and column order. Costs are written in
 * the run's unit, entropies and divergences in nats. */
enum { Q_LANDAUER, Q_MISMATCH, Q_ENTROPY, Q_DIVERGENCE, Q_LANDAUER_DIFF, Q_MISMATCH_DIFF, Q_N };

static const char *const quantity_names[Q_N] = {"landauer",   "mismatch",      "entropy",
                                                 "divergence", "landauer_diff", "mismatch_diff"};

static const double *quantity(const nh_neuron_costs *nc, int q)
{
    switch (q) {
    case Q_LANDAUER: return nc->landauer;
    case Q_MISMATCH: return nc->mismatch;
    case Q_ENTROPY: return nc->entropy;
    case Q_DIVERGENCE: return nc->divergence;
    case Q_LANDAUER_DIFF: return nc->landauer_diff;
    default: return nc->mismatch_diff;
    }
}

static int is_energy(int q)
{
    return q != Q_ENTROPY && q != Q_DIVERGENCE;
}

static double value_of(const nh_neuron_costs *nc, int q, size_t j, const nh_run_info *info)
{
    const double *v = quantity(nc, q);

    if (!v)
        return 0.0;
    return is_energy(q) ? nh_energy_from_nats(v[j], info->temperature, info->unit) : v[j];
}

static nh_status make_dir(const char *dir, nh_error *err)
{
    struct stat st;

    if (mkdir(dir, 0777) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
        return NH_OK;
    return nh_fail(err, NH_EIO, "%s: cannot create the directory: %s", dir, strerror(errno));
}

nh_status nh_report_neuron_npy(const char *dir, const nh_model *model, const nh_costs *costs,
                               const nh_run_info *info, nh_error *err)
{
    size_t max = 0, layers = nh_costs_layer_count(costs);
    double *buf;
    nh_status st = make_dir(dir, err);

    if (st != NH_OK)
        return st;
    for (size_t i = 0; i < layers; i++) {
        nh_layer_info li;

        if (nh_model_layer(model, i, &li, err) != NH_OK)
            return err->status;
        if (li.neurons > max)
            max = li.neurons;
    }
    buf = nh_alloc(err, max ? max : 1, sizeof *buf);
    if (!buf)
        return NH_ENOMEM;
    for (size_t i = 0; st == NH_OK && i < layers; i++) {
        nh_layer_info li;
        nh_neuron_costs nc;

        nh_model_layer(model, i, &li, NULL);
        st = nh_costs_neurons(costs, i, &nc, err);
        for (int q = 0; st == NH_OK && q < Q_N; q++) {
            char path[4096];

            if (!quantity(&nc, q))
                continue; /* no Mismatch was computed */
            for (size_t j = 0; j < li.neurons; j++)
                buf[j] = value_of(&nc, q, j, info);
            snprintf(path, sizeof path, "%s/layer%02zu_%s.npy", dir, i, quantity_names[q]);
            st = nh_npy_write_f64(path, li.ndim, li.shape, buf, err);
        }
    }
    free(buf);
    return st;
}

/* "3 14 7": neuron j's index along each axis of shape. */
static void multi_index(char *out, size_t size, size_t j, const int64_t *shape, int ndim)
{
    size_t idx[NH_MAX_DIMS], len = 0;

    for (int d = ndim - 1; d >= 0; d--) {
        idx[d] = j % (size_t)shape[d];
        j /= (size_t)shape[d];
    }
    out[0] = '\0';
    for (int d = 0; d < ndim && len < size; d++)
        len += (size_t)snprintf(out + len, size - len, d ? " %zu" : "%zu", idx[d]);
}

nh_status nh_report_neuron_csv(const char *path, const nh_model *model, const nh_costs *costs,
                               const nh_run_info *info, nh_error *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    nh_status st = NH_OK;
    int bad;

    if (!f)
        return nh_fail(err, NH_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
    fprintf(f, "layer,name,kind,neuron,index");
    for (int q = 0; q < Q_N; q++)
        fprintf(f, ",%s%s", quantity_names[q], is_energy(q) ? "" : "_nats");
    fputc('\n', f);
    for (size_t i = 0; i < nh_costs_layer_count(costs); i++) {
        nh_layer_info li;
        nh_neuron_costs nc;

        st = nh_model_layer(model, i, &li, err);
        if (st == NH_OK)
            st = nh_costs_neurons(costs, i, &nc, err);
        if (st != NH_OK)
            break;
        for (size_t j = 0; j < li.neurons; j++) {
            char idx[128];

            multi_index(idx, sizeof idx, j, li.shape, li.ndim);
            /* a layer name holding a comma or quote is quoted, quotes doubled */
            fprintf(f, "%zu,", i);
            if (strpbrk(li.name, ",\"\n")) {
                fputc('"', f);
                for (const char *c = li.name; *c; c++)
                    fprintf(f, *c == '"' ? "\"\"" : "%c", *c);
                fputc('"', f);
            } else {
                fputs(li.name, f);
            }
            fprintf(f, ",%s,%zu,%s", nh_layer_kind_name(li.kind), j, idx);
            for (int q = 0; q < Q_N; q++) {
                if (quantity(&nc, q))
                    fprintf(f, ",%.17g", value_of(&nc, q, j, info));
                else
                    fputc(',', f);
            }
            fputc('\n', f);
        }
    }
    bad = ferror(f);
    bad |= f == stdout ? fflush(f) != 0 : fclose(f) != 0;
    if (st != NH_OK)
        return st;
    if (bad)
        return nh_fail(err, NH_EIO, "%s: write failed: %s", path, strerror(errno));
    return NH_OK;
}
