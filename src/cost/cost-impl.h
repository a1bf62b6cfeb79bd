/* Costs: links between layers, and the results kept per neuron. */
#ifndef NH_COST_COST_IMPL_H
#define NH_COST_COST_IMPL_H

#include "nnheat.h"
#include "stats/histogram.h"
#include "stats/joint.h"

/* For every neuron j of layer li: out[j] = sum of in[k][i] over the initial
 * neurons i of j, in[k] holding one value per neuron of the layer's k-th
 * input layer. Input and reshape layers get 0. */
void nh_links_sum(const nh_model *m, size_t li, const double *const *in, double *out);

/* The distinct initial sets of a layer, for joint histograms: set g holds
 * members[offsets[g] .. offsets[g + 1]), flat neuron indices into the
 * layer's inputs laid end to end (input 0's neurons, then input 1's); final
 * neuron j uses set group_of[j]. Input and reshape layers have none. */
typedef struct nh_joint_plan {
    size_t n_groups;
    size_t *offsets;
    size_t *members;
    size_t *group_of;
} nh_joint_plan;

nh_status nh_joint_plan_build(const nh_model *m, size_t li, nh_joint_plan *plan,
                              nh_error *err);
void nh_joint_plan_free(nh_joint_plan *plan);

/* Joint histograms of every layer for one pass: layer[l][g] counts the
 * tuples of set g of plans[l]. */
typedef struct nh_joint_set {
    const nh_model *m;
    const nh_joint_plan *plans; /* one per layer, owned by the caller */
    nh_jhist **layer;
} nh_joint_set;

nh_status nh_joint_set_init(nh_joint_set *js, const nh_model *m, const nh_joint_plan *plans,
                            nh_error *err);
void nh_joint_set_free(nh_joint_set *js);

/* Counts n samples of layer l's sets; in[k] holds the n samples of the
 * layer's k-th input layer (in_neurons[k] values each). */
nh_status nh_joint_count(nh_joint_set *js, size_t l, const float *const *in,
                         const size_t *in_neurons, size_t n, double b, int threads,
                         nh_error *err);

/* Joint Mismatch of layer l: mismatch[j] = D(joint of init(j)) - D_j, and
 * the layer's total and joint statistics into out. */
nh_status nh_joint_mismatch(const nh_joint_set *p, const nh_joint_set *q, size_t l,
                            const double *own_divergence, double *mismatch,
                            nh_layer_costs *out, int threads, nh_error *err);

/* Distributed runs (dist.c). Each is collective: every rank calls it.
 * nh_dist_agree fails on every rank when st failed on any; the merges send
 * every rank's counts to rank 0 and add them there. */
nh_status nh_dist_agree(nh_status st, nh_error *err);
nh_status nh_dist_sum(int64_t *v, int n);
nh_status nh_dist_bcast(void *data, size_t bytes);
nh_status nh_dist_merge_hists(nh_hist *h, size_t count, nh_error *err);
nh_status nh_dist_merge_jhists(nh_jhist *h, size_t count, nh_error *err);

/* Flat index in an input of shape ish (rank ind) broadcast to the output
 * multi-index idx (rank ond), numpy rules, right aligned. */
size_t nh_broadcast_index(const int64_t *idx, int ond, const int64_t *ish, int ind);

/* Per-neuron results of one layer (NULL arrays for none). */
typedef struct nh_neuron_results {
    double *entropy;     /* S_j, nats */
    double *divergence;  /* D_j, nats */
    double *outside;     /* share of p's mass outside the common bins */
    double *landauer;    /* sum S_i - S_j, before clipping */
    double *mismatch;    /* sum D_i - D_j before clipping (joint: D_joint - D_j) */
    double *landauer_cost; /* max(0, landauer) */
    double *mismatch_cost; /* max(0, mismatch); joint mode: mismatch, not clipped */
} nh_neuron_results;

struct nh_costs {
    size_t n_layers;
    int64_t samples, optimal_samples;
    nh_layer_costs *layer;
    nh_neuron_results *neuron;
    double total_landauer, total_mismatch;
};

#endif
