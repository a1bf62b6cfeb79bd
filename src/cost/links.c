/* Sums over initial sets (SPEC "Initial neurons of a final neuron").
 *
 * Initial sets are never listed: a dense layer sums its input once (per row
 * for a batched MatMul), conv and pool layers sum each window once per
 * group and position, and elementwise and add layers follow broadcasting. */
#include <string.h>

#include "cost/cost-impl.h"
#include "model/model-impl.h"

static double sum_range(const double *v, size_t n)
{
    double s = 0;

    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

static void dense_sums(const nh_layer *in, const nh_layer *l, const double *v, double *out)
{
    size_t k = in->ndim ? (size_t)in->shape[in->ndim - 1] : 1;
    size_t m = l->ndim ? (size_t)l->shape[l->ndim - 1] : 1;
    size_t rows = k ? in->neurons / k : 0;

    if (rows == 1 || rows != l->neurons / m) {
        double s = sum_range(v, in->neurons);

        for (size_t j = 0; j < l->neurons; j++)
            out[j] = s;
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        double s = sum_range(v + r * k, k);

        for (size_t j = 0; j < m; j++)
            out[r * m + j] = s;
    }
}

/* Geometry of a windowed layer: input (C, S...), output (F, O...); or
 * (S..., C) and (O..., F) when last is set (channels-last, Keras). */
typedef struct window {
    int ns, last;
    int64_t in_sp[NH_MAX_SPATIAL], out_sp[NH_MAX_SPATIAL];
    int64_t kernel[NH_MAX_SPATIAL], stride[NH_MAX_SPATIAL], dil[NH_MAX_SPATIAL];
    int64_t pad[NH_MAX_SPATIAL];
    int64_t channels, filters, groups;
} window;

/* Sum of v over the window of output position pos (flat over O) in the
 * channels [c0, c0 + cn), padding left out. */
static double window_sum(const window *w, const double *v, int64_t pos, int64_t c0, int64_t cn)
{
    int64_t p[NH_MAX_SPATIAL], kk[NH_MAX_SPATIAL] = {0}, in_count = 1, kcount = 1;
    double s = 0;

    for (int d = w->ns - 1; d >= 0; d--) {
        p[d] = pos % w->out_sp[d];
        pos /= w->out_sp[d];
        in_count *= w->in_sp[d];
        kcount *= w->kernel[d];
    }
    for (int64_t t = 0; t < kcount; t++) {
        int64_t flat = 0, rest = t;
        int inside = 1;

        for (int d = w->ns - 1; d >= 0; d--) {
            kk[d] = rest % w->kernel[d];
            rest /= w->kernel[d];
        }
        for (int d = 0; d < w->ns && inside; d++) {
            int64_t x = p[d] * w->stride[d] - w->pad[d] + kk[d] * w->dil[d];

            inside = x >= 0 && x < w->in_sp[d];
            flat = flat * w->in_sp[d] + x;
        }
        if (!inside)
            continue;
        for (int64_t c = c0; c < c0 + cn; c++)
            s += v[w->last ? flat * w->channels + c : c * in_count + flat];
    }
    return s;
}

static void window_sums(const nh_node *h, const nh_layer *in, const nh_layer *l,
                        const double *v, double *out)
{
    window w;
    int64_t positions = 1, cg, fg;
    int pool = h->op != NH_OP_CONV, sp;

    memset(&w, 0, sizeof w);
    w.ns = h->a.n_spatial;
    w.last = h->a.channels_last;
    sp = w.last ? 0 : 1;
    w.channels = in->shape[w.last ? in->ndim - 1 : 0];
    w.filters = l->shape[w.last ? l->ndim - 1 : 0];
    w.groups = pool ? w.channels : h->a.group;
    for (int d = 0; d < w.ns; d++) {
        w.in_sp[d] = in->shape[sp + d];
        w.out_sp[d] = l->shape[sp + d];
        w.kernel[d] = h->a.kernel[d];
        w.stride[d] = h->a.strides[d];
        w.dil[d] = h->a.dilations[d] > 0 ? h->a.dilations[d] : 1;
        w.pad[d] = h->a.pads[d];
        positions *= w.out_sp[d];
    }
    cg = w.channels / w.groups;
    fg = w.filters / w.groups;
    for (int64_t g = 0; g < w.groups; g++) {
        for (int64_t pos = 0; pos < positions; pos++) {
            double s = window_sum(&w, v, pos, g * cg, cg);

            for (int64_t f = g * fg; f < (g + 1) * fg; f++)
                out[w.last ? pos * w.filters + f : f * positions + pos] = s;
        }
    }
}

/* Channels-last input (S..., C) sums each channel with a stride, in the
 * same order. */
static void global_sums(const nh_node *h, const nh_layer *in, const nh_layer *l,
                        const double *v, double *out)
{
    size_t ch = (size_t)in->shape[h->a.channels_last ? in->ndim - 1 : 0];
    size_t per = ch ? in->neurons / ch : 0;

    for (size_t c = 0; c < l->neurons; c++) {
        double s = 0;

        if (!h->a.channels_last) {
            out[c] = sum_range(v + c * per, per);
            continue;
        }
        for (size_t p = 0; p < per; p++)
            s += v[p * ch + c];
        out[c] = s;
    }
}

size_t nh_broadcast_index(const int64_t *idx, int ond, const int64_t *ish, int ind)
{
    size_t flat = 0;

    for (int d = 0; d < ind; d++) {
        int od = ond - ind + d;
        int64_t i = od >= 0 && ish[d] != 1 ? idx[od] : 0;

        flat = flat * (size_t)ish[d] + (size_t)i;
    }
    return flat;
}

static void broadcast_sums(const nh_model *m, const nh_layer *l, const double *const *in,
                           double *out)
{
    int64_t idx[NH_MAX_DIMS];

    for (size_t j = 0; j < l->neurons; j++) {
        size_t rest = j;
        double s = 0;

        for (int d = l->ndim - 1; d >= 0; d--) {
            idx[d] = (int64_t)(rest % (size_t)l->shape[d]);
            rest /= (size_t)l->shape[d];
        }
        for (size_t k = 0; k < l->n_inputs; k++) {
            const nh_layer *src = &m->layers[l->inputs[k]];

            s += in[k][nh_broadcast_index(idx, l->ndim, src->shape, src->ndim)];
        }
        out[j] = s;
    }
}

void nh_links_sum(const nh_model *m, size_t li, const double *const *in, double *out)
{
    const nh_layer *l = &m->layers[li];
    const nh_layer *src;
    const nh_node *h;

    if (l->kind == NH_LAYER_INPUT || l->kind == NH_LAYER_RESHAPE) {
        memset(out, 0, l->neurons * sizeof *out);
        return;
    }
    if (l->kind == NH_LAYER_ELEMENTWISE || l->kind == NH_LAYER_ADD) {
        broadcast_sums(m, l, in, out);
        return;
    }
    src = &m->layers[l->inputs[0]];
    h = &m->graph->nodes[l->head];
    switch (h->op) {
    case NH_OP_GEMM:
    case NH_OP_MATMUL:
        dense_sums(src, l, in[0], out);
        break;
    case NH_OP_GLOBALAVGPOOL:
    case NH_OP_GLOBALMAXPOOL:
        global_sums(h, src, l, in[0], out);
        break;
    default:
        window_sums(h, src, l, in[0], out);
        break;
    }
}
