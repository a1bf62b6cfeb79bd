/* Static shape inference.
 *
 * Every computed value carries the batch as its first axis, written
 * NH_DIM_BATCH ("B" in messages) because its size is only known at run
 * time. The rules below treat B as a symbol: an operator may carry it along
 * axis 0 (elementwise operators, Conv, pools, Gemm on [B,K], Reshape to
 * [B,...]), but an operator whose result would depend on its value (moving
 * the batch off axis 0, merging it with another axis, contracting over it,
 * lining it up with a constant's axis of another size) is refused with
 * NH_EUNSUPPORTED, since nnheat runs every sample on its own.
 *
 * A graph whose input has no batch axis (every dim static) is inferred as
 * one fixed tensor: then nothing is symbolic and every ONNX shape rule
 * applies as written. */
#include "nn/ops-impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define IS_BATCH(d) ((d) == NH_DIM_BATCH)

/* ------------------------------------------------------------- helpers */

const char *nh_shape_format(const nh_shape *s, char *buf, size_t size)
{
    size_t pos = 0;

    if (!size)
        return buf;
    buf[0] = '\0';
    if (s->ndim < 0) {
        snprintf(buf, size, "(absent)");
        return buf;
    }
    for (int i = 0; i <= s->ndim && pos + 1 < size; i++) {
        const char *sep = i ? "," : "[";
        int n;

        if (i == s->ndim)
            n = snprintf(buf + pos, size - pos, "%s]", i ? "" : "[");
        else if (IS_BATCH(s->d[i]))
            n = snprintf(buf + pos, size - pos, "%sB", sep);
        else
            n = snprintf(buf + pos, size - pos, "%s%lld", sep, (long long)s->d[i]);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
    return buf;
}

int64_t nh_shape_elements(const nh_shape *s, int64_t batch)
{
    int64_t n = 1;

    for (int i = 0; i < s->ndim; i++)
        n *= IS_BATCH(s->d[i]) ? batch : s->d[i];
    return n;
}

int nh_op_input_count(nh_op op, int n_in)
{
    int want;

    switch (op) {
    case NH_OP_GEMM:
    case NH_OP_CONV: want = 3; break;
    case NH_OP_MATMUL:
    case NH_OP_ADD:
    case NH_OP_SUB:
    case NH_OP_MUL:
    case NH_OP_DIV: want = 2; break;
    case NH_OP_BATCHNORM: want = 5; break;
    case NH_OP_CONCAT: want = n_in; break;
    default: want = 1; break;
    }
    return n_in < want ? n_in : want;
}

/* Inputs an operator cannot do without. */
static int required_inputs(nh_op op, int n_used)
{
    switch (op) {
    case NH_OP_GEMM:
    case NH_OP_CONV:
    case NH_OP_MATMUL:
    case NH_OP_ADD:
    case NH_OP_SUB:
    case NH_OP_MUL:
    case NH_OP_DIV: return 2;
    case NH_OP_BATCHNORM: return 5;
    case NH_OP_CONCAT: return n_used > 0 ? n_used : 1;
    default: return 1;
    }
}

/* What one call of nh_op_shape works on. */
typedef struct shape_ctx {
    const nh_node *node;
    nh_attrs *a;
    const nh_shape *in;
    int n_in;
    const char *const *names;
    nh_error *err;
    char name_buf[NH_MAX_NODE_INPUTS][24];
    char shape_buf[3][8 * NH_MAX_DIMS + 24];
} shape_ctx;

static nh_status node_fail(shape_ctx *c, nh_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static nh_status node_fail(shape_ctx *c, nh_status st, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nh_fail(c->err, st, "node '%s' (%s): %s", c->node->name ? c->node->name : "?",
                   c->node->op_type ? c->node->op_type : "?", msg);
}

static const char *iname(shape_ctx *c, int k)
{
    if (c->names && c->names[k])
        return c->names[k];
    snprintf(c->name_buf[k], sizeof c->name_buf[k], "input %d", k);
    return c->name_buf[k];
}

/* Input k's shape as text, in one of three rotating buffers. */
static const char *ishape(shape_ctx *c, int slot, const nh_shape *s)
{
    return nh_shape_format(s, c->shape_buf[slot], sizeof c->shape_buf[slot]);
}

static nh_status need_rank(shape_ctx *c, int k, int lo, int hi)
{
    int r = c->in[k].ndim;

    if (r >= lo && r <= hi)
        return NH_OK;
    if (lo == hi)
        return node_fail(c, NH_ESHAPE, "input '%s' has shape %s, expected rank %d", iname(c, k),
                         ishape(c, 0, &c->in[k]), lo);
    return node_fail(c, NH_ESHAPE, "input '%s' has shape %s, expected rank %d to %d",
                     iname(c, k), ishape(c, 0, &c->in[k]), lo, hi);
}

/* Resolves an axis attribute in [-rank, rank - 1] (or [-rank, rank] when
 * one_past is set, as Flatten allows). */
static nh_status resolve_axis(shape_ctx *c, int rank, int one_past)
{
    int hi = one_past ? rank : rank - 1;
    int axis = c->a->axis;

    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis > hi)
        return node_fail(c, NH_ESHAPE, "axis %d is out of range for input '%s' %s", c->a->axis,
                         iname(c, 0), ishape(c, 0, &c->in[0]));
    c->a->axis = axis;
    return NH_OK;
}

/* Product of n dims where B may appear once: *out is B when the product is
 * exactly B, and the function fails when B would be multiplied by another
 * dim (the batch merged with a static axis). */
static int symbolic_product(const int64_t *d, int n, int64_t *out)
{
    int64_t p = 1;
    int batch = 0;

    for (int i = 0; i < n; i++) {
        if (IS_BATCH(d[i]))
            batch++;
        else
            p *= d[i];
    }
    if (batch == 0 || p == 0) {
        *out = p;
        return 0;
    }
    if (batch == 1 && p == 1) {
        *out = NH_DIM_BATCH;
        return 0;
    }
    return -1;
}

/* Numpy broadcasting of dx[0..nx-1] and dy[0..ny-1], right-aligned, into
 * out (rank max(nx, ny)). kx and ky name the inputs in messages. */
static nh_status broadcast_dims(shape_ctx *c, int kx, const int64_t *dx, int nx, int ky,
                                const int64_t *dy, int ny, int64_t *out)
{
    int n = nx > ny ? nx : ny;

    for (int i = 0; i < n; i++) {
        int ix = i - (n - nx), iy = i - (n - ny);
        int64_t x = ix >= 0 ? dx[ix] : 1, y = iy >= 0 ? dy[iy] : 1;

        if (x == y || y == 1)
            out[i] = x;
        else if (x == 1)
            out[i] = y;
        else if (IS_BATCH(x) || IS_BATCH(y))
            return node_fail(c, NH_EUNSUPPORTED,
                             "input '%s' %s and input '%s' %s line the batch axis up with an "
                             "axis of size %lld; they broadcast only for that batch size",
                             iname(c, kx), ishape(c, 0, &c->in[kx]), iname(c, ky),
                             ishape(c, 1, &c->in[ky]), (long long)(IS_BATCH(x) ? y : x));
        else
            return node_fail(c, NH_ESHAPE, "input '%s' %s and input '%s' %s cannot be broadcast",
                             iname(c, kx), ishape(c, 0, &c->in[kx]), iname(c, ky),
                             ishape(c, 1, &c->in[ky]));
    }
    return NH_OK;
}

/* Fills pads[i] and pads[n + i] for one spatial axis of a window operator
 * and returns its output size, or -1 when the window does not fit.
 * ek = (k - 1) d + 1 is the dilated window. SAME: output ceil(in / s) and
 * the total pad split with the odd one at the end (SAME_UPPER) or the
 * begin (SAME_LOWER). With ceil_mode a last window that would start in the
 * end padding is dropped, as PyTorch and later ONNX versions do. */
static int64_t window_output(int64_t in, int64_t k, int64_t s, int64_t d, const nh_attrs *a,
                             int64_t *pb, int64_t *pe)
{
    int64_t ek = (k - 1) * d + 1;
    int64_t span, out;

    if (a->auto_pad == NH_PAD_SAME_UPPER || a->auto_pad == NH_PAD_SAME_LOWER) {
        int64_t total;

        out = (in + s - 1) / s;
        total = (out - 1) * s + ek - in;
        if (total < 0)
            total = 0;
        *pb = a->auto_pad == NH_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        *pe = total - *pb;
        return out;
    }
    if (a->auto_pad == NH_PAD_VALID)
        *pb = *pe = 0;
    span = in + *pb + *pe - ek;
    if (span < 0)
        return -1;
    if (!a->ceil_mode)
        return span / s + 1;
    out = (span + s - 1) / s + 1;
    if ((out - 1) * s >= in + *pb)
        out--;
    return out;
}

/* The axis of the channels in a tensor of rank r: 1, or the last one for
 * channels-last operators (Keras). */
static int channel_axis(const nh_attrs *a, int r)
{
    return a->channels_last ? r - 1 : 1;
}

/* The spatial part shared by Conv and the pools: X is [N, C, D1..Dn], or
 * [N, D1..Dn, C] channels-last. The caller sets the channels of out. */
static nh_status window_shape(shape_ctx *c, const nh_shape *x, nh_shape *out)
{
    nh_attrs *a = c->a;
    int n = a->n_spatial, sp = a->channels_last ? 1 : 2;

    for (int i = 0; i < n; i++) {
        int64_t *pb = &a->pads[i], *pe = &a->pads[n + i];
        int64_t o;

        if (a->strides[i] == 0)
            a->strides[i] = 1;
        if (a->dilations[i] == 0)
            a->dilations[i] = 1;
        if (a->kernel[i] < 1 || a->strides[i] < 1 || a->dilations[i] < 1)
            return node_fail(c, NH_ESHAPE,
                             "spatial axis %d: kernel %lld, stride %lld, dilation %lld must be "
                             ">= 1", i, (long long)a->kernel[i], (long long)a->strides[i],
                             (long long)a->dilations[i]);
        if (a->auto_pad == NH_PAD_NOTSET && (*pb < 0 || *pe < 0))
            return node_fail(c, NH_ESHAPE, "spatial axis %d: negative pads %lld, %lld", i,
                             (long long)*pb, (long long)*pe);
        if (IS_BATCH(x->d[sp + i]))
            return node_fail(c, NH_EUNSUPPORTED,
                             "input '%s' %s has the batch as a spatial axis", iname(c, 0),
                             ishape(c, 0, x));
        o = window_output(x->d[sp + i], a->kernel[i], a->strides[i], a->dilations[i], a, pb, pe);
        if (o < 1)
            return node_fail(c, NH_ESHAPE,
                             "input '%s' %s: spatial axis %d of size %lld with pads %lld+%lld is "
                             "smaller than the kernel %lld (dilation %lld)",
                             iname(c, 0), ishape(c, 0, x), i, (long long)x->d[sp + i],
                             (long long)*pb, (long long)*pe, (long long)a->kernel[i],
                             (long long)a->dilations[i]);
        out->d[sp + i] = o;
    }
    out->ndim = n + 2;
    out->d[0] = x->d[0];
    return NH_OK;
}

/* ----------------------------------------------------- operator rules */

static nh_status shape_gemm(shape_ctx *c, nh_shape *out)
{
    const nh_shape *sa = &c->in[0], *sb = &c->in[1];
    nh_status st;
    int64_t m, ka, kb, n;

    if ((st = need_rank(c, 0, 2, 2)) || (st = need_rank(c, 1, 2, 2)))
        return st;
    m = c->a->trans_a ? sa->d[1] : sa->d[0];
    ka = c->a->trans_a ? sa->d[0] : sa->d[1];
    kb = c->a->trans_b ? sb->d[1] : sb->d[0];
    n = c->a->trans_b ? sb->d[0] : sb->d[1];
    if (IS_BATCH(ka) || IS_BATCH(kb))
        return node_fail(c, NH_EUNSUPPORTED,
                         "the product of '%s' %s (transA=%d) and '%s' %s (transB=%d) sums over "
                         "the batch axis",
                         iname(c, 0), ishape(c, 0, sa), c->a->trans_a, iname(c, 1),
                         ishape(c, 1, sb), c->a->trans_b);
    if (ka != kb)
        return node_fail(c, NH_ESHAPE,
                         "inner dimensions differ: '%s' %s (transA=%d) and '%s' %s (transB=%d)",
                         iname(c, 0), ishape(c, 0, sa), c->a->trans_a, iname(c, 1),
                         ishape(c, 1, sb), c->a->trans_b);
    out->ndim = 2;
    out->d[0] = m;
    out->d[1] = n;
    if (c->n_in < 3 || c->in[2].ndim < 0)
        return NH_OK;

    /* C broadcasts one way, to [M, N]. */
    if ((st = need_rank(c, 2, 0, 2)))
        return st;
    for (int i = 0; i < c->in[2].ndim; i++) {
        int64_t dc = c->in[2].d[i], want = out->d[2 - c->in[2].ndim + i];

        if (dc == want || dc == 1)
            continue;
        return node_fail(c, IS_BATCH(dc) || IS_BATCH(want) ? NH_EUNSUPPORTED : NH_ESHAPE,
                         "input '%s' %s does not broadcast to the product's shape %s",
                         iname(c, 2), ishape(c, 0, &c->in[2]), ishape(c, 1, out));
    }
    return NH_OK;
}

static nh_status shape_matmul(shape_ctx *c, nh_shape *out)
{
    const nh_shape *sa = &c->in[0], *sb = &c->in[1];
    int ra = sa->ndim, rb = sb->ndim, na, nb, n;
    int64_t ka, kb;
    nh_status st;

    if ((st = need_rank(c, 0, 1, NH_MAX_DIMS)) || (st = need_rank(c, 1, 1, NH_MAX_DIMS)))
        return st;
    ka = sa->d[ra - 1];
    kb = rb >= 2 ? sb->d[rb - 2] : sb->d[0];
    if (IS_BATCH(ka) || IS_BATCH(kb))
        return node_fail(c, NH_EUNSUPPORTED, "the product of '%s' %s and '%s' %s sums over the "
                         "batch axis", iname(c, 0), ishape(c, 0, sa), iname(c, 1),
                         ishape(c, 1, sb));
    if (ka != kb)
        return node_fail(c, NH_ESHAPE, "inner dimensions differ: '%s' %s and '%s' %s",
                         iname(c, 0), ishape(c, 0, sa), iname(c, 1), ishape(c, 1, sb));

    /* Stacked dims broadcast; then M if A is a matrix, N if B is. */
    na = ra > 2 ? ra - 2 : 0;
    nb = rb > 2 ? rb - 2 : 0;
    n = na > nb ? na : nb;
    if ((st = broadcast_dims(c, 0, sa->d, na, 1, sb->d, nb, out->d)))
        return st;
    if (ra >= 2)
        out->d[n++] = sa->d[ra - 2];
    if (rb >= 2)
        out->d[n++] = sb->d[rb - 1];
    out->ndim = n;
    return NH_OK;
}

static nh_status shape_conv(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0], *w = &c->in[1];
    nh_attrs *a = c->a;
    int64_t ch, m, g;
    nh_status st;

    if ((st = need_rank(c, 0, 3, 2 + NH_MAX_SPATIAL)))
        return st;
    if (a->n_spatial == 0)
        a->n_spatial = x->ndim - 2;
    if (a->n_spatial != x->ndim - 2)
        return node_fail(c, NH_ESHAPE, "input '%s' %s does not have %d spatial axes",
                         iname(c, 0), ishape(c, 0, x), a->n_spatial);
    if ((st = need_rank(c, 1, x->ndim, x->ndim)))
        return st;
    for (int i = 0; i < a->n_spatial; i++) {
        if (a->kernel[i] == 0)
            a->kernel[i] = w->d[2 + i];
        if (a->kernel[i] != w->d[2 + i])
            return node_fail(c, NH_ESHAPE, "kernel_shape %lld on axis %d differs from weights "
                             "'%s' %s", (long long)a->kernel[i], i, iname(c, 1),
                             ishape(c, 0, w));
    }

    ch = x->d[channel_axis(a, x->ndim)];
    m = w->d[0];
    g = a->group;
    if (IS_BATCH(m) || IS_BATCH(w->d[1]) || IS_BATCH(ch))
        return node_fail(c, NH_EUNSUPPORTED, "weights '%s' %s vary with the batch",
                         iname(c, 1), ishape(c, 0, w));
    if (g < 1 || ch != w->d[1] * g || m % g != 0)
        return node_fail(c, NH_ESHAPE,
                         "input '%s' %s has %lld channels; weights '%s' %s with group %lld "
                         "expect %lld, and %lld filters must divide into the groups",
                         iname(c, 0), ishape(c, 0, x), (long long)ch, iname(c, 1),
                         ishape(c, 1, w), (long long)g, (long long)(w->d[1] * g), (long long)m);
    if (c->n_in > 2 && c->in[2].ndim >= 0 && (c->in[2].ndim != 1 || c->in[2].d[0] != m))
        return node_fail(c, NH_ESHAPE, "bias '%s' %s should be [%lld]", iname(c, 2),
                         ishape(c, 0, &c->in[2]), (long long)m);
    if ((st = window_shape(c, x, out)))
        return st;
    out->d[channel_axis(a, out->ndim)] = m;
    return NH_OK;
}

static nh_status shape_pool(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0];
    nh_status st;

    if ((st = need_rank(c, 0, 3, 2 + NH_MAX_SPATIAL)))
        return st;
    if (c->a->n_spatial != x->ndim - 2)
        return node_fail(c, NH_ESHAPE, "kernel_shape has %d axes for input '%s' %s",
                         c->a->n_spatial, iname(c, 0), ishape(c, 0, x));
    if ((st = window_shape(c, x, out)))
        return st;
    out->d[channel_axis(c->a, x->ndim)] = x->d[channel_axis(c->a, x->ndim)];
    return NH_OK;
}

/* [N, C, D...] to [N, C, 1...]; channels-last [N, D..., C] to [N, C]. */
static nh_status shape_global_pool(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0];
    int last = c->a->channels_last;
    nh_status st = need_rank(c, 0, 2, NH_MAX_DIMS);

    if (st)
        return st;
    *out = *x;
    for (int i = last ? 1 : 2; i < x->ndim - last; i++) {
        if (IS_BATCH(x->d[i]))
            return node_fail(c, NH_EUNSUPPORTED, "input '%s' %s pools over the batch axis",
                             iname(c, 0), ishape(c, 0, x));
        out->d[i] = 1;
    }
    if (last) {
        out->ndim = 2;
        out->d[1] = x->d[x->ndim - 1];
    }
    return NH_OK;
}

static nh_status shape_pad(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0];
    int r = x->ndim;

    if (c->a->n_ints != 2 * r)
        return node_fail(c, NH_ESHAPE, "pads has %d values for input '%s' %s of rank %d",
                         c->a->n_ints, iname(c, 0), ishape(c, 0, x), r);
    out->ndim = r;
    for (int i = 0; i < r; i++) {
        int64_t pb = c->a->ints[i], pe = c->a->ints[r + i];

        if (IS_BATCH(x->d[i])) {
            if (pb || pe)
                return node_fail(c, NH_EUNSUPPORTED, "pads %lld, %lld on the batch axis of '%s'",
                                 (long long)pb, (long long)pe, iname(c, 0));
            out->d[i] = x->d[i];
            continue;
        }
        out->d[i] = x->d[i] + pb + pe;
        if (out->d[i] < 0)
            return node_fail(c, NH_ESHAPE, "pads %lld, %lld on axis %d of '%s' %s leave %lld",
                             (long long)pb, (long long)pe, i, iname(c, 0), ishape(c, 0, x),
                             (long long)out->d[i]);
    }
    return NH_OK;
}

static nh_status shape_flatten(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0];
    nh_status st = resolve_axis(c, x->ndim, 1);
    int axis = c->a->axis;

    if (st)
        return st;
    out->ndim = 2;
    if (symbolic_product(x->d, axis, &out->d[0]) ||
        symbolic_product(x->d + axis, x->ndim - axis, &out->d[1]) || IS_BATCH(out->d[1]))
        return node_fail(c, NH_EUNSUPPORTED, "flattening '%s' %s at axis %d merges the batch "
                         "with other axes", iname(c, 0), ishape(c, 0, x), axis);
    return NH_OK;
}

/* Reshape: 0 copies the input's dim (unless allowzero), -1 is inferred,
 * NH_DIM_BATCH is the batch. A batched input needs a target that keeps the
 * batch as one axis: the marker, a 0 copying it, or a -1 that comes out as
 * the batch. (A file with a fixed batch size writes that size where it
 * means the batch; the loader, which knows the size, turns it into the
 * marker.) */
static nh_status shape_reshape(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0];
    int64_t *t = out->d, in_p = 1, t_p = 1;
    int nt = c->a->n_ints, neg = -1, in_b = 0, t_b = 0;

    if (nt > NH_MAX_DIMS)
        return node_fail(c, NH_ESHAPE, "target shape has %d dims, more than %d", nt,
                         NH_MAX_DIMS);
    for (int i = 0; i < x->ndim; i++) {
        if (IS_BATCH(x->d[i]))
            in_b++;
        else
            in_p *= x->d[i];
    }
    out->ndim = nt;
    for (int i = 0; i < nt; i++) {
        t[i] = c->a->ints[i];
        if (t[i] == 0 && !c->a->allowzero) {
            if (i >= x->ndim)
                return node_fail(c, NH_ESHAPE, "target dim %d is 0 (copy) but '%s' %s has no "
                                 "axis %d", i, iname(c, 0), ishape(c, 0, x), i);
            t[i] = x->d[i];
        } else if (t[i] == -1) {
            if (neg >= 0)
                return node_fail(c, NH_ESHAPE, "target shape has two -1 dims");
            neg = i;
        } else if (t[i] < 0 && !IS_BATCH(t[i])) {
            return node_fail(c, NH_ESHAPE, "target dim %d is %lld", i, (long long)t[i]);
        }
    }
    for (int i = 0; i < nt; i++)
        t_b += IS_BATCH(t[i]);
    for (int i = 0; i < nt; i++) {
        if (i == neg || IS_BATCH(t[i]))
            continue;
        if (t[i] > 0 && t_p > INT64_MAX / t[i])
            return node_fail(c, NH_ESHAPE, "target shape has too many elements");
        t_p *= t[i];
    }

    if (in_b == t_b && neg >= 0) {
        if (t_p == 0 || in_p % t_p != 0)
            goto mismatch;
        t[neg] = in_p / t_p;
    } else if (in_b == t_b) {
        if (t_p != in_p)
            goto mismatch;
    } else if (in_b && neg >= 0 && t_p == in_p) {
        t[neg] = NH_DIM_BATCH;
    } else {
        return node_fail(c, NH_EUNSUPPORTED, "reshaping '%s' %s to target %s does not keep "
                         "the batch as one axis", iname(c, 0), ishape(c, 0, x),
                         ishape(c, 1, out));
    }
    return NH_OK;

mismatch:
    return node_fail(c, NH_ESHAPE, "cannot reshape '%s' %s to target %s: element counts differ",
                     iname(c, 0), ishape(c, 0, x), ishape(c, 1, out));
}

static nh_status shape_transpose(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0];
    int r = x->ndim, seen[NH_MAX_DIMS] = {0};
    nh_attrs *a = c->a;

    if (a->n_ints == 0) {
        for (int i = 0; i < r; i++)
            a->ints[i] = r - 1 - i;
        a->n_ints = r;
    }
    if (a->n_ints != r)
        return node_fail(c, NH_ESHAPE, "perm has %d axes for '%s' %s", a->n_ints, iname(c, 0),
                         ishape(c, 0, x));
    out->ndim = r;
    for (int i = 0; i < r; i++) {
        int64_t p = a->ints[i];

        if (p < 0)
            p += r;
        if (p < 0 || p >= r || seen[p])
            return node_fail(c, NH_ESHAPE, "perm is not a permutation of the %d axes of '%s'",
                             r, iname(c, 0));
        seen[p] = 1;
        a->ints[i] = p;
        out->d[i] = x->d[p];
    }
    return NH_OK;
}

static nh_status shape_concat(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0];
    nh_status st;
    int axis;

    if ((st = need_rank(c, 0, 1, NH_MAX_DIMS)) || (st = resolve_axis(c, x->ndim, 0)))
        return st;
    axis = c->a->axis;
    *out = *x;
    for (int k = 1; k < c->n_in; k++) {
        const nh_shape *y = &c->in[k];

        if (y->ndim != x->ndim)
            return node_fail(c, NH_ESHAPE, "'%s' %s and '%s' %s differ in rank", iname(c, 0),
                             ishape(c, 0, x), iname(c, k), ishape(c, 1, y));
        for (int i = 0; i < x->ndim; i++) {
            if (i == axis || y->d[i] == x->d[i])
                continue;
            return node_fail(c, IS_BATCH(y->d[i]) || IS_BATCH(x->d[i]) ? NH_EUNSUPPORTED
                                                                        : NH_ESHAPE,
                             "'%s' %s and '%s' %s differ on axis %d (concatenating on axis %d)",
                             iname(c, 0), ishape(c, 0, x), iname(c, k), ishape(c, 1, y), i,
                             axis);
        }
        if (IS_BATCH(y->d[axis]) || IS_BATCH(out->d[axis]))
            return node_fail(c, NH_EUNSUPPORTED, "concatenating along the batch axis");
        out->d[axis] += y->d[axis];
    }
    return NH_OK;
}

static nh_status shape_softmax(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0];
    nh_status st;

    if ((st = need_rank(c, 0, 1, NH_MAX_DIMS)) || (st = resolve_axis(c, x->ndim, 0)))
        return st;
    if (IS_BATCH(x->d[0]) && c->a->axis == 0)
        return node_fail(c, NH_EUNSUPPORTED, "softmax over axis 0 of '%s' %s mixes samples",
                         iname(c, 0), ishape(c, 0, x));
    *out = *x;
    return NH_OK;
}

static nh_status shape_batchnorm(shape_ctx *c, nh_shape *out)
{
    const nh_shape *x = &c->in[0];
    nh_status st = need_rank(c, 0, 2, NH_MAX_DIMS);
    int64_t ch;

    if (st)
        return st;
    ch = x->d[channel_axis(c->a, x->ndim)];
    for (int k = 1; k < 5; k++) {
        const nh_shape *p = &c->in[k];

        if (p->ndim != 1 || p->d[0] != ch)
            return node_fail(c, IS_BATCH(ch) || IS_BATCH(p->d[0]) ? NH_EUNSUPPORTED
                                                                  : NH_ESHAPE,
                             "parameter '%s' %s should be [%lld] for '%s' %s", iname(c, k),
                             ishape(c, 0, p), (long long)ch, iname(c, 0),
                             ishape(c, 1, x));
    }
    *out = *x;
    return NH_OK;
}

nh_status nh_op_shape(const nh_node *node, nh_attrs *a, const nh_shape *in, int n_in,
                      const char *const *names, nh_shape *out, nh_error *err)
{
    shape_ctx c = {.node = node, .a = a, .in = in, .n_in = n_in, .names = names, .err = err};
    int need = required_inputs(node->op, n_in);

    if (n_in < need)
        return node_fail(&c, NH_ESHAPE, "has %d inputs, needs %d", n_in, need);
    for (int k = 0; k < need; k++)
        if (in[k].ndim < 0)
            return node_fail(&c, NH_ESHAPE, "input %d is missing", k);
    for (int k = 0; k < n_in; k++)
        if (in[k].ndim > NH_MAX_DIMS)
            return node_fail(&c, NH_ESHAPE, "input %d has rank %d", k, in[k].ndim);

    switch (node->op) {
    case NH_OP_GEMM: return shape_gemm(&c, out);
    case NH_OP_MATMUL: return shape_matmul(&c, out);
    case NH_OP_CONV: return shape_conv(&c, out);
    case NH_OP_MAXPOOL:
    case NH_OP_AVGPOOL: return shape_pool(&c, out);
    case NH_OP_GLOBALAVGPOOL:
    case NH_OP_GLOBALMAXPOOL: return shape_global_pool(&c, out);
    case NH_OP_PAD: return shape_pad(&c, out);
    case NH_OP_FLATTEN: return shape_flatten(&c, out);
    case NH_OP_RESHAPE: return shape_reshape(&c, out);
    case NH_OP_TRANSPOSE: return shape_transpose(&c, out);
    case NH_OP_CONCAT: return shape_concat(&c, out);
    case NH_OP_SOFTMAX: return shape_softmax(&c, out);
    case NH_OP_BATCHNORM: return shape_batchnorm(&c, out);
    case NH_OP_ADD:
    case NH_OP_SUB:
    case NH_OP_MUL:
    case NH_OP_DIV:
        out->ndim = in[0].ndim > in[1].ndim ? in[0].ndim : in[1].ndim;
        return broadcast_dims(&c, 0, in[0].d, in[0].ndim, 1, in[1].d, in[1].ndim, out->d);
    case NH_OP_IDENTITY:
    case NH_OP_RELU:
    case NH_OP_LEAKYRELU:
    case NH_OP_ELU:
    case NH_OP_SELU:
    case NH_OP_SIGMOID:
    case NH_OP_HARDSIGMOID:
    case NH_OP_TANH:
    case NH_OP_SOFTPLUS:
    case NH_OP_CLIP:
    case NH_OP_SOFTSIGN:
    case NH_OP_SWISH:
    case NH_OP_GELU:
        *out = in[0];
        return NH_OK;
    case NH_OP_COUNT:
        break;
    }
    return node_fail(&c, NH_EUNSUPPORTED, "unknown operator %d", (int)node->op);
}

/* --------------------------------------------------------- the graph */

/* Static zero-size stand-in for a constant with no elements (and no data). */
static const float empty_data[1];

/* Evaluates a node whose inputs are all constants and makes its output a
 * constant (folding weight transposes and reshapes that exporters leave in
 * the graph, so that they never count as computed values). */
static nh_status fold_node(nh_graph *g, const nh_node *node, const nh_attrs *a, int n_used,
                           nh_value *ov, nh_error *err)
{
    nh_tensor_view views[NH_MAX_NODE_INPUTS];
    nh_node tmp = *node;
    int64_t count = 1;
    float *data;
    nh_status st;

    for (int i = 0; i < ov->ndim; i++)
        count *= ov->dims[i];
    data = nh_alloc(err, (size_t)count, sizeof *data);
    if (!data)
        return NH_ENOMEM;
    for (int k = 0; k < n_used; k++) {
        const nh_value *v = node->in[k] >= 0 ? &g->values[node->in[k]] : NULL;

        views[k].data = v ? (v->f ? v->f : empty_data) : NULL;
        views[k].ndim = v ? v->ndim : 0;
        views[k].dims = v ? v->dims : NULL;
    }
    tmp.a = *a;
    st = nh_op_run(&tmp, views, n_used, data, ov->ndim, ov->dims, err);
    if (st) {
        free(data);
        return st;
    }
    ov->f = data;
    ov->is_const = 1;
    return NH_OK;
}

/* In a batched graph every computed value must have the batch as its first
 * axis and nowhere else. */
static nh_status check_batch_axis(const nh_node *node, const nh_value *ov, nh_error *err)
{
    nh_shape s = {.ndim = ov->ndim};
    int ok = ov->ndim > 0 && IS_BATCH(ov->dims[0]);
    char buf[8 * NH_MAX_DIMS + 24];

    for (int i = 0; i < ov->ndim; i++) {
        s.d[i] = ov->dims[i];
        if (i > 0 && IS_BATCH(ov->dims[i]))
            ok = 0;
    }
    if (ok)
        return NH_OK;
    return nh_fail(err, NH_EUNSUPPORTED,
                   "node '%s' (%s): output '%s' would have shape %s: the batch is no longer its "
                   "first axis, and samples are run independently",
                   node->name, node->op_type, ov->name ? ov->name : "?",
                   nh_shape_format(&s, buf, sizeof buf));
}

/* Gathers a node's input shapes, checking that each is a float value
 * already known at this point of the walk. */
static nh_status gather_inputs(const nh_graph *g, const nh_node *node, int n_used,
                               const unsigned char *known, nh_shape *in, const char **names,
                               int *all_const, nh_error *err)
{
    *all_const = 1;
    for (int k = 0; k < n_used; k++) {
        int idx = node->in[k];
        const nh_value *v;

        if (idx < 0) {
            in[k].ndim = -1;
            names[k] = "(absent)";
            continue;
        }
        if (idx >= g->n_values)
            return nh_fail(err, NH_EINVAL, "node '%s': input %d refers to value %d of %d",
                           node->name, k, idx, g->n_values);
        v = &g->values[idx];
        names[k] = v->name;
        if (!known[idx])
            return nh_fail(err, NH_EINVAL, "node '%s' (%s): input '%s' is not computed before "
                           "the node", node->name, node->op_type, v->name);
        if (v->dtype != NH_DTYPE_FLOAT)
            return nh_fail(err, NH_EUNSUPPORTED, "node '%s' (%s): input '%s' is int64; only "
                           "float tensors are computed", node->name, node->op_type, v->name);
        if (v->ndim < 0 || v->ndim > NH_MAX_DIMS)
            return nh_fail(err, NH_EINVAL, "node '%s': input '%s' has rank %d", node->name,
                           v->name, v->ndim);
        in[k].ndim = v->ndim;
        memcpy(in[k].d, v->dims, (size_t)v->ndim * sizeof v->dims[0]);
        if (!v->is_const)
            *all_const = 0;
    }
    return NH_OK;
}

static nh_status infer_node(nh_graph *g, int index, int64_t static_batch,
                            unsigned char *known, nh_error *err)
{
    nh_node *node = &g->nodes[index];
    nh_shape in[NH_MAX_NODE_INPUTS], out;
    const char *names[NH_MAX_NODE_INPUTS];
    nh_attrs a = node->a;
    int n_used, all_const;
    nh_value *ov;
    nh_status st;

    if (node->n_in < 0 || node->n_in > NH_MAX_NODE_INPUTS || node->out < 0 ||
        node->out >= g->n_values)
        return nh_fail(err, NH_EINVAL, "node '%s': bad inputs or output", node->name);
    n_used = nh_op_input_count(node->op, node->n_in);
    st = gather_inputs(g, node, n_used, known, in, names, &all_const, err);
    if (st)
        return st;

    /* Without a batch axis, the batch marker in a Reshape target is the
     * graph input's first dim. */
    if (static_batch >= 0 && node->op == NH_OP_RESHAPE)
        for (int i = 0; i < a.n_ints; i++)
            if (IS_BATCH(a.ints[i]))
                a.ints[i] = static_batch;
    st = nh_op_shape(node, &a, in, n_used, names, &out, err);
    if (st)
        return st;

    ov = &g->values[node->out];
    if (ov->is_const) { /* folded by an earlier inference */
        free(ov->f);
        ov->f = NULL;
        ov->is_const = 0;
    }
    ov->dtype = NH_DTYPE_FLOAT;
    ov->ndim = out.ndim;
    memcpy(ov->dims, out.d, sizeof out.d);
    ov->producer = index;
    if (all_const)
        st = fold_node(g, node, &a, n_used, ov, err);
    else if (static_batch < 0)
        st = check_batch_axis(node, ov, err);
    if (st)
        return st;
    node->a = a;
    known[node->out] = 1;
    return NH_OK;
}

nh_status nh_graph_infer_shapes(nh_graph *g, nh_error *err)
{
    unsigned char *known = NULL;
    const nh_value *x;
    int64_t static_batch;
    nh_status st = NH_OK;

    if (!g || g->input < 0 || g->input >= g->n_values || g->output < 0 ||
        g->output >= g->n_values)
        return nh_fail(err, NH_EINVAL, "graph has no input or output");
    x = &g->values[g->input];
    if (x->ndim < 1 || x->ndim > NH_MAX_DIMS)
        return nh_fail(err, NH_EINVAL, "graph input '%s' has rank %d", x->name, x->ndim);
    for (int i = 0; i < x->ndim; i++)
        if ((x->dims[i] < 0 && !(i == 0 && IS_BATCH(x->dims[i]))))
            return nh_fail(err, NH_EINVAL, "graph input '%s' has dim %d = %lld", x->name, i,
                           (long long)x->dims[i]);
    static_batch = IS_BATCH(x->dims[0]) ? -1 : x->dims[0];

    known = nh_calloc(err, (size_t)g->n_values, 1);
    if (!known)
        return NH_ENOMEM;
    for (int v = 0; v < g->n_values; v++)
        known[v] = g->values[v].is_const && g->values[v].producer < 0;
    known[g->input] = 1;
    for (int i = 0; i < g->n_nodes && !st; i++)
        st = infer_node(g, i, static_batch, known, err);
    if (!st && !known[g->output])
        st = nh_fail(err, NH_EINVAL, "graph output '%s' is computed by no node",
                     g->values[g->output].name);
    if (st)
        nh_error_prefix(err, "%s", g->source ? g->source : "graph");
    free(known);
    return st;
}
