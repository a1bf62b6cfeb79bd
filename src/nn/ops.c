/* Operator kernels on float32 tensors in C order, and nh_op_run, which
 * checks the shapes it is handed against the operator's shape rule
 * (nh_op_shape) before dispatching to a kernel.
 *
 * Semantics are ONNX's over whole tensors: the batch is simply the leading
 * axis. Matrix products go to cblas_sgemm; Conv is im2col then one sgemm
 * per sample and group. Reductions (softmax, average pools, batch-norm
 * factors) are done in double. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/ops-impl.h"

/* What every kernel is given: resolved attributes and concrete shapes. */
typedef struct kernel_args {
    const nh_node *node;
    const nh_attrs *a;
    const nh_tensor_view *in;
    int n_in;
    float *out;
    int out_ndim;
    const int64_t *out_dims;
    nh_error *err;
} kernel_args;

static size_t dims_count(int n, const int64_t *d)
{
    size_t c = 1;

    for (int i = 0; i < n; i++)
        c *= (size_t)d[i];
    return c;
}

static nh_status kernel_fail(const kernel_args *k, nh_status st, const char *what)
{
    return nh_fail(k->err, st, "node '%s' (%s): %s", k->node->name ? k->node->name : "?",
                   k->node->op_type ? k->node->op_type : "?", what);
}

/* BLAS takes int sizes. */
static int blas_fits(int64_t a, int64_t b, int64_t c)
{
    return a <= INT_MAX && b <= INT_MAX && c <= INT_MAX;
}

/* Advances a multi-index over dims[0..n-1] (last axis fastest); returns 0
 * once every index has wrapped around. */
static int index_next(int64_t *idx, const int64_t *dims, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        if (++idx[i] < dims[i])
            return 1;
        idx[i] = 0;
    }
    return 0;
}

/* Strides of view v in the index space of a rank-r output it broadcasts
 * to (right-aligned): 0 on axes it is repeated along. */
static void broadcast_strides(int ndim, const int64_t *dims, int r, int64_t *st)
{
    int64_t s = 1;

    for (int i = r - 1; i >= 0; i--) {
        int j = i - (r - ndim);

        if (j < 0) {
            st[i] = 0;
            continue;
        }
        st[i] = dims[j] == 1 ? 0 : s;
        s *= dims[j];
    }
}

/* ----------------------------------------------------- elementwise */

static float sigmoid(float x)
{
    double e;

    if (x >= 0)
        return (float)(1.0 / (1.0 + exp(-(double)x)));
    e = exp((double)x);
    return (float)(e / (1.0 + e));
}

/* ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), exact for large |x|. */
static float softplus(float x)
{
    double d = x;

    return (float)((d > 0 ? d : 0.0) + log1p(exp(-fabs(d))));
}

/* x Phi(x), Phi the standard normal distribution function; or the tanh
 * approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
static float gelu(float x, int approximate)
{
    double d = x;

    if (approximate)
        return (float)(0.5 * d * (1.0 + tanh(0.7978845608028654 * (d + 0.044715 * d * d * d))));
    return (float)(0.5 * d * (1.0 + erf(d * 0.7071067811865476)));
}

/* Comparisons are written so that NaN passes through, for the NaN check
 * downstream to see it. */
static nh_status run_unary(const kernel_args *k)
{
    const float *x = k->in[0].data;
    float *y = k->out;
    size_t n = dims_count(k->out_ndim, k->out_dims);
    const nh_attrs *a = k->a;

    switch (k->node->op) {
    case NH_OP_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < 0 ? 0.0f : x[i];
        break;
    case NH_OP_LEAKYRELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < 0 ? a->alpha * x[i] : x[i];
        break;
    case NH_OP_ELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < 0 ? (float)(a->alpha * expm1((double)x[i])) : x[i];
        break;
    case NH_OP_SELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] <= 0 ? (float)(a->gamma * a->alpha * expm1((double)x[i]))
                             : a->gamma * x[i];
        break;
    case NH_OP_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = sigmoid(x[i]);
        break;
    case NH_OP_HARDSIGMOID:
        for (size_t i = 0; i < n; i++) {
            float v = a->alpha * x[i] + a->beta;

            y[i] = v < 0 ? 0.0f : v > 1 ? 1.0f : v;
        }
        break;
    case NH_OP_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    case NH_OP_SOFTPLUS:
        for (size_t i = 0; i < n; i++)
            y[i] = softplus(x[i]);
        break;
    case NH_OP_CLIP:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < a->min_value ? a->min_value : x[i] > a->max_value ? a->max_value : x[i];
        break;
    case NH_OP_SOFTSIGN:
        for (size_t i = 0; i < n; i++)
            y[i] = (float)((double)x[i] / (1.0 + fabs((double)x[i])));
        break;
    case NH_OP_SWISH: /* x / (1 + e^-x): 0 (not NaN) where e^-x overflows */
        for (size_t i = 0; i < n; i++)
            y[i] = (float)((double)x[i] / (1.0 + exp(-(double)x[i])));
        break;
    case NH_OP_GELU:
        for (size_t i = 0; i < n; i++)
            y[i] = gelu(x[i], a->approximate);
        break;
    default: /* Identity, Reshape, Flatten: the same values in the same order */
        if (y != x && n)
            memcpy(y, x, n * sizeof *y);
        break;
    }
    return NH_OK;
}

/* One row of a broadcast binary operator, with element strides sa, sb. */
static void binary_row(nh_op op, const float *a, int64_t sa, const float *b, int64_t sb,
                       float *y, int64_t n)
{
    switch (op) {
    case NH_OP_ADD:
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i * sa] + b[i * sb];
        break;
    case NH_OP_SUB:
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i * sa] - b[i * sb];
        break;
    case NH_OP_MUL:
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i * sa] * b[i * sb];
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i * sa] / b[i * sb];
        break;
    }
}

/* Add, Sub, Mul, Div with numpy broadcasting. Adjacent axes along which
 * both operands step alike are merged first, so that the common cases
 * ([N,C,H,W] + [C,1,1], a bias on the last axis) run as long rows. */
static nh_status run_binary(const kernel_args *k)
{
    int r = k->out_ndim, n = 0;
    int64_t sa[NH_MAX_DIMS], sb[NH_MAX_DIMS];
    int64_t dims[NH_MAX_DIMS], ca[NH_MAX_DIMS], cb[NH_MAX_DIMS], idx[NH_MAX_DIMS] = {0};
    size_t total = dims_count(r, k->out_dims);
    const float *xa = k->in[0].data, *xb = k->in[1].data;

    broadcast_strides(k->in[0].ndim, k->in[0].dims, r, sa);
    broadcast_strides(k->in[1].ndim, k->in[1].dims, r, sb);
    for (int i = 0; i < r; i++) {
        if (k->out_dims[i] == 1)
            continue;
        if (n > 0 && ca[n - 1] == sa[i] * k->out_dims[i] && cb[n - 1] == sb[i] * k->out_dims[i]) {
            dims[n - 1] *= k->out_dims[i];
            ca[n - 1] = sa[i];
            cb[n - 1] = sb[i];
            continue;
        }
        dims[n] = k->out_dims[i];
        ca[n] = sa[i];
        cb[n] = sb[i];
        n++;
    }
    if (n == 0) {
        dims[0] = 1;
        ca[0] = cb[0] = 0;
        n = 1;
    }
    if (total == 0)
        return NH_OK;

    for (size_t o = 0; o < total; o += (size_t)dims[n - 1]) {
        int64_t oa = 0, ob = 0;

        for (int i = 0; i < n - 1; i++) {
            oa += idx[i] * ca[i];
            ob += idx[i] * cb[i];
        }
        binary_row(k->node->op, xa + oa, ca[n - 1], xb + ob, cb[n - 1], k->out + o, dims[n - 1]);
        index_next(idx, dims, n - 1);
    }
    return NH_OK;
}

/* Softmax, with the maximum subtracted and the sum in double. The opset-13
 * form normalises along axis alone; the older form flattens the input to
 * [prod(dims[:axis]), prod(dims[axis:])] and normalises each row. */
static nh_status run_softmax(const kernel_args *k)
{
    const int64_t *d = k->in[0].dims;
    int r = k->in[0].ndim, axis = k->a->axis;
    size_t outer = dims_count(axis, d), n, inner;

    if (k->a->softmax_single_axis) {
        n = (size_t)d[axis];
        inner = dims_count(r - axis - 1, d + axis + 1);
    } else {
        n = dims_count(r - axis, d + axis);
        inner = 1;
    }
    for (size_t o = 0; o < outer; o++) {
        for (size_t j = 0; j < inner; j++) {
            const float *x = k->in[0].data + o * n * inner + j;
            float *y = k->out + o * n * inner + j;
            float mx = -INFINITY;
            double sum = 0;

            for (size_t i = 0; i < n; i++)
                if (x[i * inner] > mx)
                    mx = x[i * inner];
            for (size_t i = 0; i < n; i++) {
                double e = exp((double)x[i * inner] - mx);

                y[i * inner] = (float)e;
                sum += e;
            }
            for (size_t i = 0; i < n; i++)
                y[i * inner] = (float)(y[i * inner] / sum);
        }
    }
    return NH_OK;
}

/* Inference batch normalisation: y = (x - mean) / sqrt(var + eps) * scale
 * + bias, per channel (axis 1), folded into y = x s + t. */
static nh_status run_batchnorm(const kernel_args *k)
{
    const int64_t *d = k->in[0].dims;
    size_t nb = (size_t)d[0], ch = (size_t)d[1], plane = dims_count(k->in[0].ndim - 2, d + 2);
    const float *scale = k->in[1].data, *bias = k->in[2].data;
    const float *mean = k->in[3].data, *var = k->in[4].data;

    for (size_t c = 0; c < ch; c++) {
        double s = scale[c] / sqrt((double)var[c] + k->a->epsilon);
        double t = bias[c] - mean[c] * s;

        for (size_t b = 0; b < nb; b++) {
            const float *x = k->in[0].data + (b * ch + c) * plane;
            float *y = k->out + (b * ch + c) * plane;

            for (size_t i = 0; i < plane; i++)
                y[i] = (float)(x[i] * s + t);
        }
    }
    return NH_OK;
}

/* ------------------------------------------------------ data movement */

/* Constant-mode Pad over every axis; negative pads crop. The output is
 * filled with the value, then each input row that lands inside it is
 * copied. */
static nh_status run_pad(const kernel_args *k)
{
    const nh_tensor_view *x = &k->in[0];
    int r = x->ndim;
    const int64_t *pb = k->a->ints;
    int64_t idx[NH_MAX_DIMS] = {0}, ostride[NH_MAX_DIMS];
    size_t total = dims_count(r, k->out_dims), in_total = dims_count(r, x->dims);
    int64_t row, lo, hi;

    for (size_t i = 0; i < total; i++)
        k->out[i] = k->a->value;
    if (in_total == 0 || total == 0)
        return NH_OK;
    ostride[r - 1] = 1;
    for (int i = r - 2; i >= 0; i--)
        ostride[i] = ostride[i + 1] * k->out_dims[i + 1];

    /* The part of the last axis that survives: input positions lo..hi-1. */
    row = x->dims[r - 1];
    lo = pb[r - 1] < 0 ? -pb[r - 1] : 0;
    hi = row;
    if (hi + pb[r - 1] > k->out_dims[r - 1])
        hi = k->out_dims[r - 1] - pb[r - 1];
    for (size_t i = 0; i < in_total; i += (size_t)row) {
        int64_t off = 0;
        int inside = 1;

        for (int j = 0; j < r - 1; j++) {
            int64_t o = idx[j] + pb[j];

            inside &= o >= 0 && o < k->out_dims[j];
            off += o * ostride[j];
        }
        if (inside && hi > lo)
            memcpy(k->out + off + lo + pb[r - 1], x->data + i + lo,
                   (size_t)(hi - lo) * sizeof *k->out);
        index_next(idx, x->dims, r - 1);
    }
    return NH_OK;
}

static nh_status run_transpose(const kernel_args *k)
{
    const nh_tensor_view *x = &k->in[0];
    int r = x->ndim;
    int64_t istride[NH_MAX_DIMS], st[NH_MAX_DIMS], idx[NH_MAX_DIMS] = {0};
    size_t total = dims_count(r, k->out_dims);
    int64_t row;

    if (total == 0)
        return NH_OK;
    if (r == 0) {
        k->out[0] = x->data[0];
        return NH_OK;
    }
    istride[r - 1] = 1;
    for (int i = r - 2; i >= 0; i--)
        istride[i] = istride[i + 1] * x->dims[i + 1];
    for (int i = 0; i < r; i++)
        st[i] = istride[k->a->ints[i]];

    row = k->out_dims[r - 1];
    for (size_t o = 0; o < total; o += (size_t)row) {
        const float *src = x->data;
        float *y = k->out + o;

        for (int i = 0; i < r - 1; i++)
            src += idx[i] * st[i];
        for (int64_t j = 0; j < row; j++)
            y[j] = src[j * st[r - 1]];
        index_next(idx, k->out_dims, r - 1);
    }
    return NH_OK;
}

static nh_status run_concat(const kernel_args *k)
{
    int axis = k->a->axis;
    size_t outer = dims_count(axis, k->out_dims);
    size_t inner = dims_count(k->out_ndim - axis - 1, k->out_dims + axis + 1);
    float *y = k->out;

    for (size_t o = 0; o < outer; o++) {
        for (int j = 0; j < k->n_in; j++) {
            size_t block = (size_t)k->in[j].dims[axis] * inner;

            if (block)
                memcpy(y, k->in[j].data + o * block, block * sizeof *y);
            y += block;
        }
    }
    return NH_OK;
}

/* ---------------------------------------------------- matrix products */

/* C[M x N] = alpha A[M x K] op(B) + beta C with A row-major, untransposed,
 * sent to BLAS in blocks of exactly NH_GEMM_ROWS rows, the last one padded
 * with zero rows. BLAS may pick another kernel (and another summation order)
 * for another M, so a fixed M keeps every sample's result independent of
 * the batch size and of how a batch was split among threads. */
#define NH_GEMM_ROWS 128

static nh_status sgemm_rows(const kernel_args *k, int trans_b, int64_t m, int64_t n,
                            int64_t kk, float alpha, const float *a, int64_t lda,
                            const float *b, int64_t ldb, float beta, float *c)
{
    int64_t full = m / NH_GEMM_ROWS * NH_GEMM_ROWS, rest = m - full;
    CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
    float *pa, *pc;

    for (int64_t r = 0; r < full; r += NH_GEMM_ROWS)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, NH_GEMM_ROWS, (int)n, (int)kk, alpha,
                    a + r * lda, (int)lda, b, (int)ldb, beta, c + r * n, (int)n);
    if (rest == 0)
        return NH_OK;

    pa = calloc((size_t)(NH_GEMM_ROWS * kk), sizeof *pa);
    pc = calloc((size_t)(NH_GEMM_ROWS * n), sizeof *pc);
    if (!pa || !pc) {
        free(pa);
        free(pc);
        return kernel_fail(k, NH_ENOMEM, "out of memory for a matrix block");
    }
    for (int64_t r = 0; r < rest; r++) {
        memcpy(pa + r * kk, a + (full + r) * lda, (size_t)kk * sizeof *pa);
        memcpy(pc + r * n, c + (full + r) * n, (size_t)n * sizeof *pc);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, NH_GEMM_ROWS, (int)n, (int)kk, alpha, pa,
                (int)kk, b, (int)ldb, beta, pc, (int)n);
    memcpy(c + full * n, pc, (size_t)(rest * n) * sizeof *pc);
    free(pa);
    free(pc);
    return NH_OK;
}

/* Y = alpha op(A) op(B) + beta C, C broadcast one way to [M, N]. */
static nh_status run_gemm(const kernel_args *k)
{
    const nh_tensor_view *va = &k->in[0], *vb = &k->in[1];
    const nh_tensor_view *vc = k->n_in > 2 && k->in[2].data ? &k->in[2] : NULL;
    const nh_attrs *a = k->a;
    int64_t m = k->out_dims[0], n = k->out_dims[1];
    int64_t kk = a->trans_a ? va->dims[0] : va->dims[1];
    float beta = 0.0f;

    if (m == 0 || n == 0)
        return NH_OK;
    if (vc && a->beta != 0.0f) {
        int64_t cs[2];

        broadcast_strides(vc->ndim, vc->dims, 2, cs);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                k->out[i * n + j] = a->beta * vc->data[i * cs[0] + j * cs[1]];
        beta = 1.0f;
    }
    if (kk == 0) {
        if (beta == 0.0f)
            memset(k->out, 0, (size_t)(m * n) * sizeof *k->out);
        return NH_OK;
    }
    if (!blas_fits(m, n, kk) || !blas_fits(va->dims[1], vb->dims[1], 1))
        return kernel_fail(k, NH_EUNSUPPORTED, "matrix too large for BLAS");
    if (!a->trans_a)
        return sgemm_rows(k, a->trans_b, m, n, kk, a->alpha, va->data, va->dims[1], vb->data,
                          vb->dims[1], beta, k->out);
    cblas_sgemm(CblasRowMajor, CblasTrans, a->trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)kk, a->alpha, va->data, (int)va->dims[1], vb->data,
                (int)vb->dims[1], beta, k->out, (int)n);
    return NH_OK;
}

/* out[M x N] = a[M x K] b[K x N], row-major and packed. */
static void matmul_one(const float *a, const float *b, float *out, int64_t m, int64_t n,
                       int64_t kk)
{
    if (kk == 0) {
        memset(out, 0, (size_t)(m * n) * sizeof *out);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)kk, 1.0f, a,
                (int)kk, b, (int)n, 0.0f, out, (int)n);
}

/* Numpy matmul: a 1-D A is a row [1, K], a 1-D B a column [K, 1] (the unit
 * axis dropped from the result); stacked leading axes broadcast. When B is
 * a single matrix, A's stacked rows go through one sgemm. */
static nh_status run_matmul(const kernel_args *k)
{
    const nh_tensor_view *va = &k->in[0], *vb = &k->in[1];
    int ra = va->ndim, rb = vb->ndim;
    int64_t m = ra >= 2 ? va->dims[ra - 2] : 1, kk = va->dims[ra - 1];
    int64_t n = rb >= 2 ? vb->dims[rb - 1] : 1;
    int nbatch = k->out_ndim - (ra >= 2) - (rb >= 2);
    int64_t sa[NH_MAX_DIMS], sb[NH_MAX_DIMS], idx[NH_MAX_DIMS] = {0};
    size_t count = dims_count(nbatch, k->out_dims);

    if (dims_count(k->out_ndim, k->out_dims) == 0)
        return NH_OK;
    if (rb <= 2) {
        int64_t rows = (int64_t)dims_count(ra - 1, va->dims);

        if (!blas_fits(rows, n, kk))
            return kernel_fail(k, NH_EUNSUPPORTED, "matrix too large for BLAS");
        if (kk == 0) {
            memset(k->out, 0, (size_t)(rows * n) * sizeof *k->out);
            return NH_OK;
        }
        return sgemm_rows(k, 0, rows, n, kk, 1.0f, va->data, kk, vb->data, n, 0.0f, k->out);
    }
    if (!blas_fits(m, n, kk))
        return kernel_fail(k, NH_EUNSUPPORTED, "matrix too large for BLAS");

    /* Strides counted in whole matrices of A and of B. */
    broadcast_strides(ra > 2 ? ra - 2 : 0, va->dims, nbatch, sa);
    broadcast_strides(rb - 2, vb->dims, nbatch, sb);
    for (size_t i = 0; i < count; i++) {
        int64_t oa = 0, ob = 0;

        for (int j = 0; j < nbatch; j++) {
            oa += idx[j] * sa[j];
            ob += idx[j] * sb[j];
        }
        matmul_one(va->data + oa * m * kk, vb->data + ob * kk * n, k->out + i * m * n, m, n,
                   kk);
        index_next(idx, k->out_dims, nbatch);
    }
    return NH_OK;
}

/* ------------------------------------------------ windows: conv, pools */

/* A window operator over 1 to 3 spatial axes, seen as 3 axes: missing
 * leading axes have size 1, kernel 1, stride 1 and no padding. */
typedef struct window3 {
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
} window3;

static void window3_fill(window3 *w, const nh_attrs *a, const int64_t *in_sp,
                         const int64_t *out_sp, int ns)
{
    int off = 3 - ns;

    for (int i = 0; i < 3; i++) {
        int j = i - off;

        w->in[i] = j >= 0 ? in_sp[j] : 1;
        w->out[i] = j >= 0 ? out_sp[j] : 1;
        w->k[i] = j >= 0 ? a->kernel[j] : 1;
        w->s[i] = j >= 0 ? a->strides[j] : 1;
        w->d[i] = j >= 0 ? a->dilations[j] : 1;
        w->pb[i] = j >= 0 ? a->pads[j] : 0;
        w->pe[i] = j >= 0 ? a->pads[ns + j] : 0;
    }
}

/* The k in [0, kn) with lo <= start + k d < hi are *k0 .. *k1 - 1. */
static int64_t window_range(int64_t start, int64_t kn, int64_t d, int64_t lo, int64_t hi,
                            int64_t *k0, int64_t *k1)
{
    int64_t a = 0, b = kn;

    if (start < lo)
        a = (lo - start + d - 1) / d;
    if (start + (kn - 1) * d >= hi)
        b = hi - 1 - start < 0 ? 0 : (hi - 1 - start) / d + 1;
    if (a > b)
        a = b;
    *k0 = a;
    *k1 = b;
    return b - a;
}

/* The outputs o in [0, n) whose input position o s + off lies in [0, in):
 * o from *lo to *hi - 1. */
static void valid_outputs(int64_t n, int64_t s, int64_t off, int64_t in, int64_t *lo,
                          int64_t *hi)
{
    *lo = off >= 0 ? 0 : (-off + s - 1) / s;
    *hi = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    if (*hi > n)
        *hi = n;
    if (*lo > *hi)
        *lo = *hi;
}

/* One row of im2col for kernel offset (k0, k1, k2) of one channel plane:
 * for each output position, the input value it sees there, 0 in the
 * padding. Along the last axis the valid outputs form one run. */
static void im2col_row(const float *xc, const window3 *w, int64_t k0, int64_t k1, int64_t k2,
                       float *row)
{
    int64_t off2 = k2 * w->d[2] - w->pb[2], lo, hi;

    valid_outputs(w->out[2], w->s[2], off2, w->in[2], &lo, &hi);
    for (int64_t o0 = 0; o0 < w->out[0]; o0++) {
        int64_t i0 = o0 * w->s[0] - w->pb[0] + k0 * w->d[0];

        for (int64_t o1 = 0; o1 < w->out[1]; o1++, row += w->out[2]) {
            int64_t i1 = o1 * w->s[1] - w->pb[1] + k1 * w->d[1];
            const float *xr = xc + (i0 * w->in[1] + i1) * w->in[2] + off2;

            if (i0 < 0 || i0 >= w->in[0] || i1 < 0 || i1 >= w->in[1]) {
                memset(row, 0, (size_t)w->out[2] * sizeof *row);
                continue;
            }
            memset(row, 0, (size_t)lo * sizeof *row);
            if (w->s[2] == 1)
                memcpy(row + lo, xr + lo, (size_t)(hi - lo) * sizeof *row);
            else
                for (int64_t o2 = lo; o2 < hi; o2++)
                    row[o2] = xr[o2 * w->s[2]];
            memset(row + hi, 0, (size_t)(w->out[2] - hi) * sizeof *row);
        }
    }
}

/* Copies the receptive fields of one sample's group of channels (x holds
 * ch planes) into col, one row per (channel, kernel offset), one column per
 * output position. */
static void im2col(const float *x, int64_t ch, const window3 *w, float *col)
{
    int64_t plane = w->in[0] * w->in[1] * w->in[2];
    int64_t opos = w->out[0] * w->out[1] * w->out[2];

    for (int64_t c = 0; c < ch; c++)
        for (int64_t k0 = 0; k0 < w->k[0]; k0++)
            for (int64_t k1 = 0; k1 < w->k[1]; k1++)
                for (int64_t k2 = 0; k2 < w->k[2]; k2++, col += opos)
                    im2col_row(x + c * plane, w, k0, k1, k2, col);
}

static int window3_is_pointwise(const window3 *w)
{
    for (int i = 0; i < 3; i++)
        if (w->k[i] != 1 || w->s[i] != 1 || w->pb[i] || w->pe[i])
            return 0;
    return 1;
}

/* Conv: for each sample and group, Y_g[M/g x P] = W_g[M/g x (C/g K)] .
 * col[(C/g K) x P], K the kernel size and P the output positions; a 1x1
 * kernel with unit strides and no padding uses the input as col. */
static nh_status run_conv(const kernel_args *k)
{
    const nh_tensor_view *x = &k->in[0], *w = &k->in[1];
    const float *bias = k->n_in > 2 ? k->in[2].data : NULL;
    int ns = x->ndim - 2;
    int64_t nb = x->dims[0], ch = x->dims[1], m = w->dims[0], g = k->a->group;
    int64_t cg = ch / g, mg = m / g, kern = 1, plane, opos, rows;
    float *col = NULL;
    window3 win;

    window3_fill(&win, k->a, x->dims + 2, k->out_dims + 2, ns);
    for (int i = 0; i < 3; i++)
        kern *= win.k[i];
    plane = win.in[0] * win.in[1] * win.in[2];
    opos = win.out[0] * win.out[1] * win.out[2];
    rows = cg * kern;
    if (nb == 0 || m == 0 || opos == 0)
        return NH_OK;
    if (!blas_fits(mg, opos, rows))
        return kernel_fail(k, NH_EUNSUPPORTED, "convolution too large for BLAS");
    if (!window3_is_pointwise(&win)) {
        col = nh_alloc(k->err, (size_t)(rows * opos), sizeof *col);
        if (!col)
            return NH_ENOMEM;
    }

    for (int64_t b = 0; b < nb; b++) {
        for (int64_t gi = 0; gi < g; gi++) {
            const float *xg = x->data + (b * ch + gi * cg) * plane;
            const float *wg = w->data + gi * mg * rows;
            float *yg = k->out + (b * m + gi * mg) * opos;
            float beta = 0.0f;

            if (bias) {
                for (int64_t j = 0; j < mg; j++)
                    for (int64_t p = 0; p < opos; p++)
                        yg[j * opos + p] = bias[gi * mg + j];
                beta = 1.0f;
            }
            if (rows == 0) {
                if (!bias)
                    memset(yg, 0, (size_t)(mg * opos) * sizeof *yg);
                continue;
            }
            if (col)
                im2col(xg, cg, &win, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)opos,
                        (int)rows, 1.0f, wg, (int)rows, col ? col : xg, (int)opos, beta, yg,
                        (int)opos);
        }
    }
    free(col);
    return NH_OK;
}

/* The windows along one axis of a pool, per output index o: the start
 * position, the kernel offsets k0[o] .. k1[o] - 1 that fall on the input,
 * and how many of the window's positions lie in the padded input. */
typedef struct pool_axis {
    int64_t *start, *k0, *k1, *padded;
} pool_axis;

/* Fills ax[0..2] for window w from one array (freed by the caller) so that
 * no window is worked out again for every plane. */
static int64_t *pool_axes(const window3 *w, pool_axis *ax, nh_error *err)
{
    int64_t *buf = nh_alloc(err, (size_t)(4 * (w->out[0] + w->out[1] + w->out[2])),
                            sizeof *buf);
    int64_t *p = buf, unused;

    if (!buf)
        return NULL;
    for (int i = 0; i < 3; i++) {
        int64_t n = w->out[i];

        ax[i] = (pool_axis){p, p + n, p + 2 * n, p + 3 * n};
        p += 4 * n;
        for (int64_t o = 0; o < n; o++) {
            ax[i].start[o] = o * w->s[i] - w->pb[i];
            window_range(ax[i].start[o], w->k[i], w->d[i], 0, w->in[i], &ax[i].k0[o],
                         &ax[i].k1[o]);
            ax[i].padded[o] = window_range(ax[i].start[o], w->k[i], w->d[i], -w->pb[i],
                                           w->in[i] + w->pe[i], &unused, &unused);
        }
    }
    return buf;
}

/* One output, at o, of a max (is_max) or average pool over plane x. A
 * window with no input position (only possible with pads as large as the
 * kernel) gives 0. count_include_pad divides by the window clipped to the
 * padded input, otherwise by the input positions it covers. */
static float pool_one(const float *x, const window3 *w, const pool_axis *ax, const int64_t *o,
                      int is_max, int count_include_pad)
{
    int64_t k0[3], k1[3], start[3], real = 1, padded = 1;
    double sum = 0;
    float mx = -INFINITY;

    for (int i = 0; i < 3; i++) {
        start[i] = ax[i].start[o[i]];
        k0[i] = ax[i].k0[o[i]];
        k1[i] = ax[i].k1[o[i]];
        real *= k1[i] - k0[i];
        padded *= ax[i].padded[o[i]];
    }
    if (real == 0)
        return 0.0f;
    for (int64_t a = k0[0]; a < k1[0]; a++) {
        int64_t i0 = start[0] + a * w->d[0];

        for (int64_t b = k0[1]; b < k1[1]; b++) {
            const float *xr = x + (i0 * w->in[1] + start[1] + b * w->d[1]) * w->in[2] +
                              start[2];

            for (int64_t c = k0[2]; c < k1[2]; c++) {
                float v = xr[c * w->d[2]];

                if (v > mx || v != v)
                    mx = v;
                sum += v;
            }
        }
    }
    if (is_max)
        return mx;
    return (float)(sum / (double)(count_include_pad ? padded : real));
}

/* Whether a pool is a plain 2-D max over windows that lie inside the input
 * (no padding, no dilation): then max_pool_2d does it without the general
 * path's bookkeeping, visiting the same values in the same order. */
static int plain_max_2d(const window3 *w)
{
    if (w->in[0] != 1 || w->k[0] != 1 || w->out[0] != 1)
        return 0;
    for (int i = 1; i < 3; i++)
        if (w->pb[i] || w->pe[i] || w->d[i] != 1 || (w->out[i] - 1) * w->s[i] + w->k[i] > w->in[i])
            return 0;
    return 1;
}

static void max_pool_2d(const float *x, float *y, const window3 *w)
{
    for (int64_t oy = 0; oy < w->out[1]; oy++) {
        for (int64_t ox = 0; ox < w->out[2]; ox++) {
            const float *r = x + oy * w->s[1] * w->in[2] + ox * w->s[2];
            float mx = -INFINITY;

            for (int64_t ky = 0; ky < w->k[1]; ky++, r += w->in[2])
                for (int64_t kx = 0; kx < w->k[2]; kx++)
                    if (r[kx] > mx || r[kx] != r[kx])
                        mx = r[kx];
            *y++ = mx;
        }
    }
}

/* MaxPool and AveragePool over [N, C, spatial...]. With count_include_pad
 * an average divides by its window clipped to the padded input (as PyTorch
 * and the ONNX reference do), otherwise by the input positions it covers. */
static nh_status run_pool(const kernel_args *k)
{
    const nh_tensor_view *x = &k->in[0];
    int is_max = k->node->op == NH_OP_MAXPOOL;
    size_t planes = (size_t)(x->dims[0] * x->dims[1]);
    int64_t plane, opos, *buf;
    pool_axis ax[3];
    window3 w;

    window3_fill(&w, k->a, x->dims + 2, k->out_dims + 2, x->ndim - 2);
    plane = w.in[0] * w.in[1] * w.in[2];
    opos = w.out[0] * w.out[1] * w.out[2];
    if (is_max && plain_max_2d(&w)) {
        for (size_t p = 0; p < planes; p++)
            max_pool_2d(x->data + p * (size_t)plane, k->out + p * (size_t)opos, &w);
        return NH_OK;
    }
    buf = pool_axes(&w, ax, k->err);
    if (!buf)
        return NH_ENOMEM;
    for (size_t p = 0; p < planes; p++) {
        const float *xp = x->data + p * (size_t)plane;
        float *y = k->out + p * (size_t)opos;
        int64_t o[3];

        for (o[0] = 0; o[0] < w.out[0]; o[0]++)
            for (o[1] = 0; o[1] < w.out[1]; o[1]++)
                for (o[2] = 0; o[2] < w.out[2]; o[2]++)
                    *y++ = pool_one(xp, &w, ax, o, is_max, k->a->count_include_pad);
    }
    free(buf);
    return NH_OK;
}

static nh_status run_global_pool(const kernel_args *k)
{
    const nh_tensor_view *x = &k->in[0];
    size_t planes = (size_t)(x->dims[0] * x->dims[1]);
    size_t plane = dims_count(x->ndim - 2, x->dims + 2);
    int is_max = k->node->op == NH_OP_GLOBALMAXPOOL;

    for (size_t p = 0; p < planes; p++) {
        const float *xp = x->data + p * plane;
        float mx = -INFINITY;
        double sum = 0;

        for (size_t i = 0; i < plane; i++) {
            if (xp[i] > mx || xp[i] != xp[i])
                mx = xp[i];
            sum += xp[i];
        }
        k->out[p] = plane == 0 ? 0.0f : is_max ? mx : (float)(sum / (double)plane);
    }
    return NH_OK;
}

/* -------------------------------------------------------- dispatcher */

static nh_status run_kernel(const kernel_args *k)
{
    switch (k->node->op) {
    case NH_OP_GEMM: return run_gemm(k);
    case NH_OP_MATMUL: return run_matmul(k);
    case NH_OP_CONV: return run_conv(k);
    case NH_OP_MAXPOOL:
    case NH_OP_AVGPOOL: return run_pool(k);
    case NH_OP_GLOBALAVGPOOL:
    case NH_OP_GLOBALMAXPOOL: return run_global_pool(k);
    case NH_OP_PAD: return run_pad(k);
    case NH_OP_TRANSPOSE: return run_transpose(k);
    case NH_OP_CONCAT: return run_concat(k);
    case NH_OP_SOFTMAX: return run_softmax(k);
    case NH_OP_BATCHNORM: return run_batchnorm(k);
    case NH_OP_ADD:
    case NH_OP_SUB:
    case NH_OP_MUL:
    case NH_OP_DIV: return run_binary(k);
    default: return run_unary(k);
    }
}

/* Operators with a channel axis, which channels_last moves to the end. */
static int has_channels(nh_op op)
{
    return op == NH_OP_CONV || op == NH_OP_MAXPOOL || op == NH_OP_AVGPOOL
           || op == NH_OP_GLOBALAVGPOOL || op == NH_OP_GLOBALMAXPOOL || op == NH_OP_BATCHNORM;
}

/* y[n, c, p] = x[n, p, c] (to_last 0) or y[n, p, c] = x[n, c, p] (to_last 1)
 * for nb samples of ch channels at pos positions. */
static void move_channels(const float *x, float *y, size_t nb, size_t ch, size_t pos,
                          int to_last)
{
    for (size_t b = 0; b < nb; b++, x += ch * pos, y += ch * pos)
        for (size_t c = 0; c < ch; c++)
            for (size_t p = 0; p < pos; p++) {
                if (to_last)
                    y[p * ch + c] = x[c * pos + p];
                else
                    y[c * pos + p] = x[p * ch + c];
            }
}

/* A channels-last operator (Keras) runs as its channels-first kernel on a
 * copy of the input with the channels moved to axis 1, and the result is
 * moved back. Every output value is then computed exactly as the
 * channels-first kernel computes it, so a Keras model and its channels-first
 * ONNX twin give the very same activations (and histograms). A global
 * pool's [N, C, 1...] result already has the memory layout of [N, C]. */
static nh_status run_channels_last(const kernel_args *k)
{
    const nh_tensor_view *x = &k->in[0];
    int r = x->ndim, global = k->node->op == NH_OP_GLOBALAVGPOOL
                              || k->node->op == NH_OP_GLOBALMAXPOOL;
    int64_t in_dims[NH_MAX_DIMS], out_dims[NH_MAX_DIMS];
    nh_tensor_view views[NH_MAX_NODE_INPUTS];
    size_t nb = (size_t)x->dims[0], ch = (size_t)x->dims[r - 1], pos, ch_out, opos;
    float *xt, *yt = NULL;
    nh_attrs a = *k->a;
    kernel_args kt = *k;
    nh_status st;

    pos = dims_count(r - 2, x->dims + 1);
    in_dims[0] = x->dims[0];
    in_dims[1] = x->dims[r - 1];
    memcpy(in_dims + 2, x->dims + 1, (size_t)(r - 2) * sizeof *in_dims);
    out_dims[0] = x->dims[0];
    if (global) {
        ch_out = ch;
        opos = 1;
        out_dims[1] = (int64_t)ch;
        for (int i = 2; i < r; i++)
            out_dims[i] = 1;
    } else {
        ch_out = (size_t)k->out_dims[r - 1];
        opos = dims_count(r - 2, k->out_dims + 1);
        out_dims[1] = k->out_dims[r - 1];
        memcpy(out_dims + 2, k->out_dims + 1, (size_t)(r - 2) * sizeof *out_dims);
    }

    xt = nh_alloc(k->err, nb * ch * pos, sizeof *xt);
    if (xt && !global)
        yt = nh_alloc(k->err, nb * ch_out * opos, sizeof *yt);
    if (!xt || (!global && !yt)) {
        free(xt);
        return NH_ENOMEM;
    }
    move_channels(x->data, xt, nb, ch, pos, 0);
    memcpy(views, k->in, (size_t)k->n_in * sizeof *views);
    views[0] = (nh_tensor_view){xt, r, in_dims};
    a.channels_last = 0;
    kt.a = &a;
    kt.in = views;
    kt.out = global ? k->out : yt;
    kt.out_ndim = r;
    kt.out_dims = out_dims;
    st = run_kernel(&kt);
    if (st == NH_OK && !global)
        move_channels(yt, k->out, nb, ch_out, opos, 1);
    free(xt);
    free(yt);
    return st;
}

/* ------------------------------------------------------ entry point */

static nh_status check_views(const nh_node *node, const nh_tensor_view *in, int n_used,
                             nh_shape *shapes, int out_ndim, const int64_t *out_dims,
                             nh_error *err)
{
    const char *name = node->name ? node->name : "?";

    if (out_ndim < 0 || out_ndim > NH_MAX_DIMS || (out_ndim > 0 && !out_dims))
        return nh_fail(err, NH_EINVAL, "node '%s': output rank %d", name, out_ndim);
    for (int i = 0; i < out_ndim; i++)
        if (out_dims[i] < 0)
            return nh_fail(err, NH_EINVAL, "node '%s': output dim %d is %lld", name, i,
                           (long long)out_dims[i]);
    for (int k = 0; k < n_used; k++) {
        shapes[k].ndim = -1;
        if (!in[k].data)
            continue;
        if (in[k].ndim < 0 || in[k].ndim > NH_MAX_DIMS || (in[k].ndim > 0 && !in[k].dims))
            return nh_fail(err, NH_EINVAL, "node '%s': input %d has rank %d", name, k,
                           in[k].ndim);
        shapes[k].ndim = in[k].ndim;
        for (int i = 0; i < in[k].ndim; i++) {
            if (in[k].dims[i] < 0)
                return nh_fail(err, NH_EINVAL, "node '%s': input %d has dim %d = %lld", name,
                               k, i, (long long)in[k].dims[i]);
            shapes[k].d[i] = in[k].dims[i];
        }
    }
    return NH_OK;
}

/* The shape the operator gives these inputs must be the one handed in;
 * Reshape only keeps the element count (its target may hold the batch
 * marker, which a concrete shape no longer shows). */
static nh_status check_output(const nh_node *node, nh_attrs *a, const nh_shape *shapes,
                              int n_used, int out_ndim, const int64_t *out_dims, nh_error *err)
{
    nh_shape want, got = {.ndim = out_ndim};
    char b1[8 * NH_MAX_DIMS + 24], b2[8 * NH_MAX_DIMS + 24];
    nh_status st;
    int same;

    for (int i = 0; i < out_ndim; i++)
        got.d[i] = out_dims[i];
    if (node->op == NH_OP_RESHAPE) {
        if (n_used < 1 || shapes[0].ndim < 0)
            return nh_fail(err, NH_ESHAPE, "node '%s' (Reshape): no input", node->name);
        want = shapes[0];
        same = nh_shape_elements(&want, 0) == nh_shape_elements(&got, 0);
    } else {
        st = nh_op_shape(node, a, shapes, n_used, NULL, &want, err);
        if (st)
            return st;
        same = want.ndim == got.ndim &&
               !memcmp(want.d, got.d, (size_t)got.ndim * sizeof got.d[0]);
    }
    if (same)
        return NH_OK;
    return nh_fail(err, NH_ESHAPE, "node '%s' (%s): output shape %s given, %s expected",
                   node->name ? node->name : "?", node->op_type ? node->op_type : "?",
                   nh_shape_format(&got, b1, sizeof b1), nh_shape_format(&want, b2, sizeof b2));
}

nh_status nh_op_run(const nh_node *node, const nh_tensor_view *in, int n_in, float *out,
                    int out_ndim, const int64_t *out_dims, nh_error *err)
{
    nh_shape shapes[NH_MAX_NODE_INPUTS];
    nh_attrs a = node->a;
    kernel_args k;
    int n_used;
    nh_status st;

    if (n_in < 0 || n_in > NH_MAX_NODE_INPUTS || (n_in > 0 && !in))
        return nh_fail(err, NH_EINVAL, "node '%s': %d inputs", node->name ? node->name : "?",
                       n_in);
    n_used = nh_op_input_count(node->op, n_in);
    st = check_views(node, in, n_used, shapes, out_ndim, out_dims, err);
    if (!st)
        st = check_output(node, &a, shapes, n_used, out_ndim, out_dims, err);
    if (st)
        return st;

    k = (kernel_args){.node = node, .a = &a, .in = in, .n_in = n_used, .out = out,
                      .out_ndim = out_ndim, .out_dims = out_dims, .err = err};
    if (a.channels_last && has_channels(node->op))
        return run_channels_last(&k);
    return run_kernel(&k);
}
