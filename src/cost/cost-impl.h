/* Costs: links between layers, and the results kept per neuron. */
#ifndef NH_COST_COST_IMPL_H
#define NH_COST_COST_IMPL_H

#include "nnheat.h"

/* For every neuron j of layer li: out[j] = sum of in[k][i] over the initial
 * neurons i of j, in[k] holding one value per neuron of the layer's k-th
 * input layer. Input and reshape layers get 0. */
void nh_links_sum(const nh_model *m, size_t li, const double *const *in, double *out);

/* Per-neuron results of one layer (NULL arrays for none). */
typedef struct nh_neuron_results {
    double *entropy;     /* S_j, nats */
    double *divergence;  /* D_j, nats */
    double *outside;     /* share of p's mass outside the common bins */
    double *landauer;    /* sum S_i - S_j, before clipping */
    double *mismatch;    /* sum D_i - D_j, before clipping */
} nh_neuron_results;

struct nh_costs {
    size_t n_layers;
    int64_t samples, optimal_samples;
    nh_layer_costs *layer;
    nh_neuron_results *neuron;
    double total_landauer, total_mismatch;
};

#endif
