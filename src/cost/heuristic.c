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
#include "model/model-impl.h"

#define NH_TWO_PI 6.283185307179586476925286766559

struct nh_heuristic {
    double mu, sigma, mu_o, sigma_o;
    double entropy;    /* S_N, nats */
    double divergence; /* D_N, nats */
    size_t n_layers;
    nh_layer_heuristic *layer;
    double total_landauer, total_mismatch;
};

double nh_normal_entropy(double sigma)
{
    return 0.5 * (log(NH_TWO_PI * sigma * sigma) + 1.0); /* 0.5 ln(2 pi e sigma^2) */
}

double nh_normal_divergence(double mu, double sigma, double mu_o, double sigma_o)
{
    double d = mu - mu_o;

    return log(sigma_o / sigma) + (sigma * sigma + d * d) / (2.0 * sigma_o * sigma_o) - 0.5;
}

static nh_status check_param(const char *field, double v, int positive, nh_error *err)
{
    if (!isfinite(v))
        return nh_fail(err, NH_EINVAL, "heuristic: %s must be finite, got %g", field, v);
    if (positive && !(v > 0))
        return nh_fail(err, NH_EINVAL, "heuristic: %s must be > 0, got %g", field, v);
    return NH_OK;
}

static int64_t product(const int64_t *dims, int n)
{
    int64_t p = 1;

    for (int i = 0; i < n; i++)
        p *= dims[i];
    return p;
}

/* The pooling window's size P^2: the kernel's element count, or the whole
 * channel for a global pool (channels-first, as the layer cut assumes). */
static double pool_window(const nh_model *m, const nh_layer *l)
{
    const nh_node *h = &m->graph->nodes[l->head];
    const nh_layer *in = &m->layers[l->inputs[0]];

    if (h->op == NH_OP_MAXPOOL || h->op == NH_OP_AVGPOOL)
        return (double)product(h->a.kernel, h->a.n_spatial);
    return (double)product(in->shape + 1, in->ndim - 1);
}

/* The number of initial neurons a conv neuron reads: C_in / group channels
 * times the kernel's element count (K^2 for a K x K kernel). Padding is
 * ignored, as in eq. 3.5. */
static double conv_window(const nh_model *m, const nh_layer *l)
{
    const nh_node *h = &m->graph->nodes[l->head];
    const nh_layer *in = &m->layers[l->inputs[0]];

    return (double)(in->shape[0] / h->a.group) * (double)product(h->a.kernel, h->a.n_spatial);
}

/* Fills the factors of one layer: L = N_f f S_N and M = N_f g D_N. */
static void layer_factors(const nh_model *m, const nh_layer *l, nh_layer_heuristic *out)
{
    double p2;

    out->factor = out->mismatch_factor = 0;
    switch (l->kind) {
    case NH_LAYER_DENSE: /* eq. 3.1-3.2: M inputs, one output kept */
        out->factor = out->mismatch_factor = (double)l->initial_set - 1.0;
        break;
    case NH_LAYER_POOL: /* eq. 3.3-3.4: the output keeps about S_N / P */
        p2 = pool_window(m, l);
        out->factor = p2 - 1.0 / sqrt(p2);
        out->mismatch_factor = out->factor / 3.0;
        break;
    case NH_LAYER_CONV: /* eq. 3.5-3.6 */
        out->factor = out->mismatch_factor = conv_window(m, l);
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
    h->layer = nh_calloc(err, m->n_layers ? m->n_layers : 1, sizeof *h->layer);
    if (!h->layer) {
        free(h);
        return NH_ENOMEM;
    }
    h->mu = mu;
    h->sigma = sigma;
    h->mu_o = mu_o;
    h->sigma_o = sigma_o;
    h->entropy = nh_normal_entropy(sigma);
    h->divergence = nh_normal_divergence(mu, sigma, mu_o, sigma_o);
    h->n_layers = m->n_layers;

    for (size_t i = 0; i < m->n_layers; i++) {
        nh_layer_heuristic *hl = &h->layer[i];
        double n = (double)m->layers[i].neurons;

        layer_factors(m, &m->layers[i], hl);
        hl->landauer = n * hl->factor * h->entropy;
        hl->mismatch = n * hl->mismatch_factor * h->divergence;
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
