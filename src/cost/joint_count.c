/* Counting joint histograms of initial sets, and the joint Mismatch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "cost/cost-impl.h"
#include "model/model-impl.h"

void nh_joint_set_free(nh_joint_set *js)
{
    for (size_t l = 0; js->layer && l < js->m->n_layers; l++) {
        for (size_t g = 0; js->layer[l] && g < js->plans[l].n_groups; g++)
            nh_jhist_clear(&js->layer[l][g]);
        free(js->layer[l]);
    }
    free(js->layer);
    js->layer = NULL;
}

nh_status nh_joint_set_init(nh_joint_set *js, const nh_model *m, const nh_joint_plan *plans,
                            nh_error *err)
{
    js->m = m;
    js->plans = plans;
    js->layer = nh_calloc(err, m->n_layers, sizeof *js->layer);
    if (!js->layer)
        return NH_ENOMEM;
    for (size_t l = 0; l < m->n_layers; l++) {
        if (!plans[l].n_groups)
            continue;
        js->layer[l] = nh_calloc(err, plans[l].n_groups, sizeof **js->layer);
        if (!js->layer[l])
            return NH_ENOMEM;
    }
    return NH_OK;
}

/* The value of member i (a flat index over the inputs laid end to end) for
 * sample s. */
static float member_value(const float *const *in, const size_t *in_neurons, size_t i,
                          size_t s)
{
    size_t k = 0;

    while (i >= in_neurons[k]) {
        i -= in_neurons[k];
        k++;
    }
    return in[k][s * in_neurons[k] + i];
}

nh_status nh_joint_count(nh_joint_set *js, size_t l, const float *const *in,
                         const size_t *in_neurons, size_t n, double b, int threads,
                         nh_error *err)
{
    const nh_joint_plan *p = &js->plans[l];
    nh_jhist *h = js->layer[l];
    int failed = 0;

    /* Sets are independent: each is counted by one thread, samples in order. */
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads)
    for (size_t g = 0; g < p->n_groups; g++) {
        for (size_t s = 0; s < n; s++) {
            nh_tuple_hash th;

            nh_tuple_hash_start(&th);
            for (size_t t = p->offsets[g]; t < p->offsets[g + 1]; t++) {
                float x = member_value(in, in_neurons, p->members[t], s);

                nh_tuple_hash_add(&th, (int64_t)nearbyint((double)x / b));
            }
            if (nh_jhist_add(&h[g], nh_tuple_hash_finish(&th), NULL) != NH_OK) {
#pragma omp atomic write
                failed = 1;
                break;
            }
        }
    }
    if (failed)
        return nh_fail(err, NH_ENOMEM, "out of memory for the joint histograms of layer %zu "
                       "'%s' (%zu sets); use fewer samples (-n)", l,
                       js->m->layers[l].name, p->n_groups);
    return NH_OK;
}

nh_status nh_joint_mismatch(const nh_joint_set *p, const nh_joint_set *q, size_t l,
                            const double *own_divergence, double *mismatch,
                            nh_layer_costs *out, int threads, nh_error *err)
{
    const nh_joint_plan *plan = &p->plans[l];
    const nh_jhist *hp = p->layer[l], *hq = q->layer[l];
    size_t neurons = p->m->layers[l].neurons, tuples = 0, singles = 0, bytes = 0;
    double *d = malloc(plan->n_groups * sizeof *d), total = 0, samples = 0;

    if (!d)
        return nh_fail(err, NH_ENOMEM, "out of memory for joint divergences");
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads)
    for (size_t g = 0; g < plan->n_groups; g++)
        d[g] = nh_jhist_kl(&hp[g], &hq[g], NULL);

    for (size_t g = 0; g < plan->n_groups; g++) {
        tuples += hp[g].used;
        singles += nh_jhist_singletons(&hp[g]);
        samples += (double)hp[g].n;
        bytes += nh_jhist_bytes(&hp[g]) + nh_jhist_bytes(&hq[g]);
    }
    /* M_j = D(joint of init(j)) - D_j, not clipped (SPEC) */
    for (size_t j = 0; j < neurons; j++) {
        mismatch[j] = d[plan->group_of[j]] - own_divergence[j];
        total += mismatch[j];
    }
    out->mismatch = total;
    out->clipped_mismatch = 0;
    out->joint_histograms = plan->n_groups;
    out->joint_tuples = tuples;
    out->joint_singleton_share = samples > 0 ? (double)singles / samples : 0;
    out->joint_bytes = bytes;
    free(d);
    return NH_OK;
}
