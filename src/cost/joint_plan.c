/* Initial sets listed once per distinct set, for joint histograms.
 *
 * Final neurons with the same initial set share one joint histogram: every
 * neuron of a dense layer (of one row, for a batched MatMul), every filter
 * of a conv group at one position, one pool window. A plan lists the
 * members of each distinct set once, so its size is that of the input
 * windows, never neurons x set size. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "cost/cost-impl.h"
#include "model/model-impl.h"

void nh_joint_plan_free(nh_joint_plan *p)
{
    free(p->offsets);
    free(p->members);
    free(p->group_of);
    memset(p, 0, sizeof *p);
}

static nh_status plan_alloc(nh_joint_plan *p, size_t groups, size_t members, size_t neurons,
                            nh_error *err)
{
    p->n_groups = groups;
    p->offsets = nh_alloc(err, groups + 1, sizeof *p->offsets);
    p->members = nh_alloc(err, members ? members : 1, sizeof *p->members);
    p->group_of = nh_alloc(err, neurons ? neurons : 1, sizeof *p->group_of);
    if (!p->offsets || !p->members || !p->group_of) {
        nh_joint_plan_free(p);
        return NH_ENOMEM;
    }
    p->offsets[0] = 0;
    return NH_OK;
}

static nh_status plan_dense(const nh_layer *in, const nh_layer *l, nh_joint_plan *p,
                            nh_error *err)
{
    size_t k = in->ndim ? (size_t)in->shape[in->ndim - 1] : 1;
    size_t m = l->ndim ? (size_t)l->shape[l->ndim - 1] : 1;
    size_t rows = k ? in->neurons / k : 0;

    if (rows != l->neurons / m) { /* one set: the whole input */
        rows = 1;
        k = in->neurons;
        m = l->neurons;
    }
    if (plan_alloc(p, rows, rows * k, l->neurons, err) != NH_OK)
        return NH_ENOMEM;
    for (size_t r = 0; r < rows; r++) {
        for (size_t i = 0; i < k; i++)
            p->members[r * k + i] = r * k + i;
        p->offsets[r + 1] = (r + 1) * k;
        for (size_t j = 0; j < m; j++)
            p->group_of[r * m + j] = r;
    }
    return NH_OK;
}

/* Conv and pools: one set per (group, output position); pools have one
 * group per channel. Channels come first (ONNX) or last (Keras). */
static nh_status plan_window(const nh_node *h, const nh_layer *in, const nh_layer *l,
                             nh_joint_plan *p, nh_error *err)
{
    int ns = h->a.n_spatial, pool = h->op != NH_OP_CONV, last = h->a.channels_last;
    int sp = last ? 0 : 1;
    int64_t channels = in->shape[last ? in->ndim - 1 : 0];
    int64_t filters = l->shape[last ? l->ndim - 1 : 0];
    int64_t groups = pool ? channels : h->a.group, cg = channels / groups;
    int64_t fg = filters / groups, positions = 1, in_count = 1, kcount = 1;
    size_t used = 0, g_index = 0;

    for (int d = 0; d < ns; d++) {
        positions *= l->shape[sp + d];
        in_count *= in->shape[sp + d];
        kcount *= h->a.kernel[d];
    }
    if (plan_alloc(p, (size_t)(groups * positions), (size_t)(groups * positions * cg * kcount),
                   l->neurons, err) != NH_OK)
        return NH_ENOMEM;
    for (int64_t g = 0; g < groups; g++) {
        for (int64_t pos = 0; pos < positions; pos++, g_index++) {
            int64_t pidx[NH_MAX_SPATIAL], rest = pos;

            for (int d = ns - 1; d >= 0; d--) {
                pidx[d] = rest % l->shape[sp + d];
                rest /= l->shape[sp + d];
            }
            for (int64_t c = g * cg; c < (g + 1) * cg; c++) {
                for (int64_t t = 0; t < kcount; t++) {
                    int64_t flat = 0, kr = t;
                    int inside = 1;

                    for (int d = ns - 1; d >= 0; d--) {
                        int64_t kk = kr % h->a.kernel[d], dil = h->a.dilations[d];
                        int64_t x = pidx[d] * h->a.strides[d] - h->a.pads[d]
                                    + kk * (dil > 0 ? dil : 1);
                        int64_t stride = 1;

                        kr /= h->a.kernel[d];
                        for (int e = d + 1; e < ns; e++)
                            stride *= in->shape[sp + e];
                        inside = inside && x >= 0 && x < in->shape[sp + d];
                        flat += x * stride;
                    }
                    if (inside)
                        p->members[used++] = (size_t)(last ? flat * channels + c
                                                           : c * in_count + flat);
                }
            }
            p->offsets[g_index + 1] = used;
            for (int64_t f = g * fg; f < (g + 1) * fg; f++)
                p->group_of[last ? pos * filters + f : f * positions + pos] = g_index;
        }
    }
    return NH_OK;
}

static nh_status plan_global(const nh_node *h, const nh_layer *in, const nh_layer *l,
                             nh_joint_plan *p, nh_error *err)
{
    int last = h->a.channels_last;
    size_t ch = (size_t)in->shape[last ? in->ndim - 1 : 0];
    size_t per = ch ? in->neurons / ch : 0;

    if (plan_alloc(p, l->neurons, l->neurons * per, l->neurons, err) != NH_OK)
        return NH_ENOMEM;
    for (size_t c = 0; c < l->neurons; c++) {
        for (size_t i = 0; i < per; i++)
            p->members[c * per + i] = last ? i * ch + c : c * per + i;
        p->offsets[c + 1] = (c + 1) * per;
        p->group_of[c] = c;
    }
    return NH_OK;
}

/* Elementwise and add: each neuron's own (broadcast) inputs; members of the
 * second input are numbered after all neurons of the first. */
static nh_status plan_broadcast(const nh_model *m, const nh_layer *l, nh_joint_plan *p,
                                nh_error *err)
{
    int64_t idx[NH_MAX_DIMS];
    size_t base[NH_MAX_NODE_INPUTS] = {0}, used = 0;

    if (plan_alloc(p, l->neurons, l->neurons * l->n_inputs, l->neurons, err) != NH_OK)
        return NH_ENOMEM;
    for (size_t k = 1; k < l->n_inputs && k < NH_MAX_NODE_INPUTS; k++)
        base[k] = base[k - 1] + m->layers[l->inputs[k - 1]].neurons;
    for (size_t j = 0; j < l->neurons; j++) {
        size_t rest = j;

        for (int d = l->ndim - 1; d >= 0; d--) {
            idx[d] = (int64_t)(rest % (size_t)l->shape[d]);
            rest /= (size_t)l->shape[d];
        }
        for (size_t k = 0; k < l->n_inputs && k < NH_MAX_NODE_INPUTS; k++) {
            const nh_layer *src = &m->layers[l->inputs[k]];

            p->members[used++] = base[k] + nh_broadcast_index(idx, l->ndim, src->shape,
                                                              src->ndim);
        }
        p->offsets[j + 1] = used;
        p->group_of[j] = j;
    }
    return NH_OK;
}

nh_status nh_joint_plan_build(const nh_model *m, size_t li, nh_joint_plan *p, nh_error *err)
{
    const nh_layer *l = &m->layers[li];
    const nh_layer *in;
    const nh_node *h;

    memset(p, 0, sizeof *p);
    if (l->kind == NH_LAYER_INPUT || l->kind == NH_LAYER_RESHAPE)
        return NH_OK;
    if (l->kind == NH_LAYER_ELEMENTWISE || l->kind == NH_LAYER_ADD)
        return plan_broadcast(m, l, p, err);
    in = &m->layers[l->inputs[0]];
    h = &m->graph->nodes[l->head];
    switch (h->op) {
    case NH_OP_GEMM:
    case NH_OP_MATMUL:
        return plan_dense(in, l, p, err);
    case NH_OP_GLOBALAVGPOOL:
    case NH_OP_GLOBALMAXPOOL:
        return plan_global(h, in, l, p, err);
    default:
        return plan_window(h, in, l, p, err);
    }
}
