/* Heuristic costs for Gaussian inputs (SPEC "Heuristics for Gaussian
 * inputs"; thesis section 3.4, eq. 3.1-3.6).
 *
 * The heuristic assumes that every neuron of the network, like the input,
 * follows N(mu, sigma^2) under the actual distribution and N(mu_o,
 * sigma_o^2) under the optimal one, so that each neuron carries the entropy
 * S_N and the divergence D_N of those normals. A final neuron with m initial
 * neurons then drops (m - 1) S_N of entropy; the per-kind factors below
 * correct that count as the thesis does for pools and convolutions. No
 * sample is run: the costs depend only on the layer shapes. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"

#define NH_TWO_PI 6.283185307179586476925286766559

struct nh_heuristic {
    double entropy;    /* S_N, nats */
    double divergence; /* D_N, nats */
    size_t n_layers;
    nh_layer_heuristic *layer;
    double total_landauer, total_mismatch;
};

double nh_normal_entropy(double sigma)
{
    /* 0.5 ln(2 pi e sigma^2), written so that sigma^2 cannot overflow */
    return 0.5 * (log(NH_TWO_PI) + 1.0) + log(sigma);
}

double nh_normal_divergence(double mu, double sigma, double mu_o, double sigma_o)
{
    double r = sigma / sigma_o, d = (mu - mu_o) / sigma_o;

    /* ratios first, so that large but finite parameters do not overflow */
    return log(sigma_o) - log(sigma) + 0.5 * (r * r + d * d) - 0.5;
}

static nh_status check_param(const char *field, double v, int positive, nh_error *err)
{
    if (!isfinite(v))
        return nh_fail(err, NH_EINVAL, "%s must be finite, got %g", field, v);
    if (positive && !(v > 0))
        return nh_fail(err, NH_EINVAL, "%s must be > 0, got %g", field, v);
    return NH_OK;
}

/* Fills the factors of one layer: L = N_f f S_N and M = N_f g D_N. The
 * window sizes come from the layer's initial_set, which the layer cut
 * computes before padding is left out (and in the model's channel layout):
 * M for dense, the window's P^2 for a pool (the whole channel for a global
 * one), C_in / group times the kernel's element count for conv. */
static void layer_factors(const nh_layer_info *li, nh_layer_heuristic *out)
{
    double m = (double)li->initial_set;

    out->factor = out->mismatch_factor = 0;
    switch (li->kind) {
    case NH_LAYER_DENSE: /* eq. 3.1-3.2: M inputs, one output kept */
        out->factor = out->mismatch_factor = m - 1.0;
        break;
    case NH_LAYER_POOL: /* eq. 3.3-3.4: the output keeps about S_N / P */
        out->factor = m - 1.0 / sqrt(m);
        out->mismatch_factor = out->factor / 3.0;
        break;
    case NH_LAYER_CONV: /* eq. 3.5-3.6: nothing kept, padding counted */
        out->factor = out->mismatch_factor = m;
        break;
    default: /* input, reshape, elementwise, add */
        break;
    }
}

nh_status nh_heuristic_compute(const nh_model *m, double mu, double sigma, double mu_o,
                               double sigma_o, nh_heuristic **out, nh_error *err)
{
    nh_heuristic *h;

    *out = NULL;
    if (check_param("mu (input mean)", mu, 0, err) != NH_OK
        || check_param("sigma (input standard deviation)", sigma, 1, err) != NH_OK
        || check_param("mu_o (optimal mean)", mu_o, 0, err) != NH_OK
        || check_param("sigma_o (optimal standard deviation)", sigma_o, 1, err) != NH_OK)
        return NH_EINVAL;

    h = nh_calloc(err, 1, sizeof *h);
    if (!h)
        return NH_ENOMEM;
    h->n_layers = nh_model_layer_count(m);
    h->layer = nh_calloc(err, h->n_layers ? h->n_layers : 1, sizeof *h->layer);
    if (!h->layer) {
        free(h);
        return NH_ENOMEM;
    }
    h->entropy = nh_normal_entropy(sigma);
    h->divergence = nh_normal_divergence(mu, sigma, mu_o, sigma_o);
    if (!isfinite(h->entropy) || !isfinite(h->divergence)) {
        nh_heuristic_destroy(h);
        return nh_fail(err, NH_EINVAL, "the Gaussian divergence overflows for mean %g, "
                       "standard deviation %g against mean %g, standard deviation %g", mu,
                       sigma, mu_o, sigma_o);
    }

    for (size_t i = 0; i < h->n_layers; i++) {
        nh_layer_heuristic *hl = &h->layer[i];
        nh_layer_info li;
        nh_status st = nh_model_layer(m, i, &li, err);

        if (st != NH_OK) {
            nh_heuristic_destroy(h);
            return st;
        }
        layer_factors(&li, hl);
        hl->landauer = (double)li.neurons * hl->factor * h->entropy;
        hl->mismatch = (double)li.neurons * hl->mismatch_factor * h->divergence;
        h->total_landauer += hl->landauer;
        h->total_mismatch += hl->mismatch;
    }
    *out = h;
    return NH_OK;
}

void nh_heuristic_destroy(nh_heuristic *h)
{
    if (!h)
        return;
    free(h->layer);
    free(h);
}

size_t nh_heuristic_layer_count(const nh_heuristic *h)
{
    return h->n_layers;
}

nh_status nh_heuristic_layer(const nh_heuristic *h, size_t index, nh_layer_heuristic *out,
                             nh_error *err)
{
    if (index >= h->n_layers)
        return nh_fail(err, NH_EINVAL, "layer %zu out of range (%zu layers)", index,
                       h->n_layers);
    *out = h->layer[index];
    return NH_OK;
}

void nh_heuristic_total(const nh_heuristic *h, double *landauer, double *mismatch)
{
    if (landauer)
        *landauer = h->total_landauer;
    if (mismatch)
        *mismatch = h->total_mismatch;
}

double nh_heuristic_entropy(const nh_heuristic *h)
{
    return h->entropy;
}

double nh_heuristic_divergence(const nh_heuristic *h)
{
    return h->divergence;
}
