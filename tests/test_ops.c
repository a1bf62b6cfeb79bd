/* Operator kernels run directly through nh_op_run, against values worked
 * out by hand (or, for larger convolutions, against the textbook formula
 * summed in double); then shape inference and the executor on small
 * hand-built graphs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/graph.h"
#include "nn/exec.h"
#include "nn/ops-impl.h"
#include "node_helpers.h"

#define TOL_REL 1e-5
#define TOL_ABS 1e-6
#define B NH_DIM_BATCH

static nh_error err;


static nh_tensor_view view(const float *data, int ndim, const int64_t *dims)
{
    nh_tensor_view v = {data, ndim, dims};

    return v;
}

static void check_all(const float *got, const float *want, size_t n, double rel, double abs_tol)
{
    for (size_t i = 0; i < n; i++)
        CHECK_CLOSE(got[i], want[i], rel, abs_tol);
}

/* Runs a one-input operator. */
static nh_status run1(const nh_node *n, const float *x, int ndim, const int64_t *dims, float *y,
                      int out_ndim, const int64_t *out_dims)
{
    nh_tensor_view in = view(x, ndim, dims);

    return nh_op_run(n, &in, 1, y, out_ndim, out_dims, &err);
}

/* ------------------------------------------------------------- Gemm */

static void test_gemm_alpha_beta_trans_and_bias_broadcast(void)
{
    nh_node n = make_node(NH_OP_GEMM, "Gemm");
    const float a[] = {1, 2, 3, 4, 5, 6};      /* [2,3] */
    const float bt[] = {1, 0, 1, 0, 1, 0};     /* [2,3], used transposed */
    const float c[] = {10, 20};                /* [2], broadcast over rows */
    const int64_t da[] = {2, 3}, db[] = {2, 3}, dc[] = {2}, dy[] = {2, 2};
    nh_tensor_view in[3] = {view(a, 2, da), view(bt, 2, db), view(c, 1, dc)};
    const float want[] = {13, 14, 25, 20};
    float y[4];

    n.a.alpha = 2;
    n.a.beta = 0.5f;
    n.a.trans_b = 1;
    CHECK_OK(nh_op_run(&n, in, 3, y, 2, dy, &err), &err);
    check_all(y, want, 4, TOL_REL, TOL_ABS);

    /* Same product with A given transposed ([3,2]) and C a [2,1] column. */
    {
        const float at[] = {1, 4, 2, 5, 3, 6}, ccol[] = {1, -1};
        const int64_t dat[] = {3, 2}, dcc[] = {2, 1};
        const float want2[] = {8 + 0.5f, 4 + 0.5f, 20 - 0.5f, 10 - 0.5f};

        n.a.trans_a = 1;
        in[0] = view(at, 2, dat);
        in[2] = view(ccol, 2, dcc);
        CHECK_OK(nh_op_run(&n, in, 3, y, 2, dy, &err), &err);
        check_all(y, want2, 4, TOL_REL, TOL_ABS);
    }

    /* No C at all. */
    n.a.trans_a = 0;
    in[0] = view(a, 2, da);
    CHECK_OK(nh_op_run(&n, in, 2, y, 2, dy, &err), &err);
    CHECK_CLOSE(y[0], 8, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[3], 10, TOL_REL, TOL_ABS);
}

static void test_gemm_rejects_inner_mismatch(void)
{
    nh_node n = make_node(NH_OP_GEMM, "Gemm");
    const float a[6] = {0}, b[8] = {0};
    const int64_t da[] = {2, 3}, db[] = {4, 2}, dy[] = {2, 2};
    nh_tensor_view in[2] = {view(a, 2, da), view(b, 2, db)};
    float y[4];

    CHECK(nh_op_run(&n, in, 2, y, 2, dy, &err) == NH_ESHAPE);
    CHECK(strstr(err.message, "[2,3]") && strstr(err.message, "[4,2]"));
}

/* ----------------------------------------------------------- MatMul */

static void test_matmul_broadcast_and_vectors(void)
{
    nh_node n = make_node(NH_OP_MATMUL, "MatMul");
    const float a[] = {1, 2, 3, 4};             /* [2,1,1,2] */
    const float b[] = {1, 1, 1, 0, 0, 1};       /* [3,2,1] */
    const int64_t da[] = {2, 1, 1, 2}, db[] = {3, 2, 1}, dy[] = {2, 3, 1, 1};
    nh_tensor_view in[2] = {view(a, 4, da), view(b, 3, db)};
    const float want[] = {3, 1, 2, 7, 3, 4};
    float y[6];

    CHECK_OK(nh_op_run(&n, in, 2, y, 4, dy, &err), &err);
    check_all(y, want, 6, TOL_REL, TOL_ABS);

    /* [3] @ [3,2] -> [2] and [2,3] @ [3] -> [2]. */
    {
        const float v[] = {1, 2, 3}, m32[] = {1, 0, 0, 1, 1, 1}, m23[] = {1, 0, 1, 0, 1, 0};
        const int64_t d3[] = {3}, d32[] = {3, 2}, d23[] = {2, 3}, d2[] = {2};
        const float w1[] = {4, 5}, w2[] = {4, 2};

        in[0] = view(v, 1, d3);
        in[1] = view(m32, 2, d32);
        CHECK_OK(nh_op_run(&n, in, 2, y, 1, d2, &err), &err);
        check_all(y, w1, 2, TOL_REL, TOL_ABS);
        in[0] = view(m23, 2, d23);
        in[1] = view(v, 1, d3);
        CHECK_OK(nh_op_run(&n, in, 2, y, 1, d2, &err), &err);
        check_all(y, w2, 2, TOL_REL, TOL_ABS);
    }

    /* Stacked A times one matrix: [2,2,2] @ [2,1]. */
    {
        const float s[] = {1, 2, 3, 4, 5, 6, 7, 8}, col[] = {1, -1};
        const int64_t ds[] = {2, 2, 2}, dcol[] = {2, 1}, dout[] = {2, 2, 1};
        const float w3[] = {-1, -1, -1, -1};

        in[0] = view(s, 3, ds);
        in[1] = view(col, 2, dcol);
        CHECK_OK(nh_op_run(&n, in, 2, y, 3, dout, &err), &err);
        check_all(y, w3, 4, TOL_REL, TOL_ABS);
    }
}

/* ------------------------------------------------------------- Conv */

/* The definition of Conv, summed in double, for 2 spatial axes. */
static void conv2d_reference(const float *x, const int64_t *dx, const float *w, const int64_t *dw,
                             const float *bias, const nh_attrs *a, const int64_t *dy, float *y)
{
    int64_t g = a->group, cg = dx[1] / g, mg = dw[0] / g;

    for (int64_t b = 0; b < dy[0]; b++)
        for (int64_t m = 0; m < dy[1]; m++)
            for (int64_t oh = 0; oh < dy[2]; oh++)
                for (int64_t ow = 0; ow < dy[3]; ow++) {
                    double s = bias ? bias[m] : 0;
                    int64_t gi = m / mg;

                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t kh = 0; kh < dw[2]; kh++)
                            for (int64_t kw = 0; kw < dw[3]; kw++) {
                                int64_t ih = oh * a->strides[0] - a->pads[0] + kh * a->dilations[0];
                                int64_t iw = ow * a->strides[1] - a->pads[1] + kw * a->dilations[1];

                                if (ih < 0 || ih >= dx[2] || iw < 0 || iw >= dx[3])
                                    continue;
                                int64_t xi = ((b * dx[1] + gi * cg + c) * dx[2] + ih) * dx[3] + iw;

                                s += (double)x[xi] * w[((m * cg + c) * dw[2] + kh) * dw[3] + kw];
                            }
                    y[((b * dy[1] + m) * dy[2] + oh) * dy[3] + ow] = (float)s;
                }
}

static void test_conv_1d_groups_dilation_asymmetric_pads(void)
{
    nh_node n = make_node(NH_OP_CONV, "Conv");
    const float x[] = {1, 2, 3, 4, 5, 10, 20, 30, 40, 50}; /* [1,2,5] */
    const float w[] = {1, 3, 2, 1};                        /* [2,1,2] */
    const float bias[] = {0.5f, -1};
    const int64_t dx[] = {1, 2, 5}, dw[] = {2, 1, 2}, db[] = {2}, dy[] = {1, 2, 4};
    nh_tensor_view in[3] = {view(x, 3, dx), view(w, 3, dw), view(bias, 1, db)};
    /* Dilated window {o-1, o+1}: channel 0 is x[o-1] + 3 x[o+1] + 0.5,
     * channel 1 is 2 x[o-1] + x[o+1] - 1, with x[-1] = 0. */
    const float want[] = {6.5f, 10.5f, 14.5f, 18.5f, 19, 49, 79, 109};
    float y[8];

    n.a.n_spatial = 1;
    n.a.kernel[0] = 2;
    n.a.dilations[0] = 2;
    n.a.pads[0] = 1;
    n.a.pads[1] = 0;
    n.a.group = 2;
    CHECK_OK(nh_op_run(&n, in, 3, y, 3, dy, &err), &err);
    check_all(y, want, 8, TOL_REL, TOL_ABS);
}

static void test_conv_2d_against_definition(void)
{
    nh_node n = make_node(NH_OP_CONV, "Conv");
    const int64_t dx[] = {2, 6, 7, 6}, dw[] = {4, 3, 3, 2}, db[] = {4};
    int64_t dy[] = {2, 4, 0, 0};
    float x[2 * 6 * 7 * 6], w[4 * 3 * 3 * 2], bias[4], *y, *ref;
    nh_shape shapes[3] = {{4, {2, 6, 7, 6}}, {4, {4, 3, 3, 2}}, {1, {4}}}, out;
    nh_tensor_view in[3] = {view(x, 4, dx), view(w, 4, dw), view(bias, 1, db)};
    nh_attrs a;

    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)sin(0.37 * (double)i);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        w[i] = (float)cos(0.91 * (double)i);
    for (int i = 0; i < 4; i++)
        bias[i] = 0.25f * (float)i;
    n.a.n_spatial = 2;
    n.a.group = 2;
    n.a.strides[0] = 2;
    n.a.dilations[1] = 2;
    n.a.pads[0] = 2; /* top */
    n.a.pads[1] = 0; /* left */
    n.a.pads[2] = 1; /* bottom */
    n.a.pads[3] = 3; /* right */

    /* Output: H (7 + 3 - 3) / 2 + 1 = 4, W (6 + 3 - 3) / 1 + 1 = 7. */
    a = n.a;
    CHECK_OK(nh_op_shape(&n, &a, shapes, 3, NULL, &out, &err), &err);
    CHECK(out.ndim == 4 && out.d[2] == 4 && out.d[3] == 7);
    dy[2] = 4;
    dy[3] = 7;
    y = calloc(2 * 3 * 7 * 6, sizeof *y); /* the larger of the two outputs */
    ref = calloc(2 * 3 * 7 * 6, sizeof *ref);
    CHECK_OK(nh_op_run(&n, in, 3, y, 4, dy, &err), &err);
    conv2d_reference(x, dx, w, dw, bias, &a, dy, ref);
    check_all(y, ref, 2 * 4 * 4 * 7, 1e-5, 1e-5);

    /* A 1x1 kernel (no im2col) with no bias. */
    {
        const int64_t dw1[] = {3, 6, 1, 1}, dy1[] = {2, 3, 7, 6};

        n = make_node(NH_OP_CONV, "Conv");
        a = n.a;
        a.n_spatial = 2;
        in[1] = view(w, 4, dw1);
        CHECK_OK(nh_op_run(&n, in, 2, y, 4, dy1, &err), &err);
        conv2d_reference(x, dx, w, dw1, NULL, &a, dy1, ref);
        check_all(y, ref, 2 * 3 * 7 * 6, 1e-5, 1e-5);
    }
    free(y);
    free(ref);
}

static void test_conv_3d(void)
{
    nh_node n = make_node(NH_OP_CONV, "Conv");
    float x[18], w[8], y[4];
    const int64_t dx[] = {1, 1, 2, 3, 3}, dw[] = {1, 1, 2, 2, 2}, dy[] = {1, 1, 1, 2, 2};
    nh_tensor_view in[2] = {view(x, 5, dx), view(w, 5, dw)};
    /* x[d][h][w] = 9d + 3h + w; a cube of ones sums 8 values: at (0,0,0)
     * 4 * 9 + 4 * 3 + 4 * 1 = 52; a step along w adds 1 to each of the 8
     * (+8), along h 3 to each (+24). */
    const float want[] = {52, 60, 76, 84};

    for (int i = 0; i < 18; i++)
        x[i] = (float)i;
    for (int i = 0; i < 8; i++)
        w[i] = 1;
    CHECK_OK(nh_op_run(&n, in, 2, y, 5, dy, &err), &err);
    check_all(y, want, 4, 0, 0);
}

static void test_conv_rejects_channels_not_matching_group(void)
{
    nh_node n = make_node(NH_OP_CONV, "Conv");
    nh_shape in[2] = {{4, {B, 6, 5, 5}}, {4, {4, 4, 3, 3}}}, out;
    nh_attrs a;

    n.a.group = 2; /* 6 channels, weights expect 2 x 4 = 8 */
    a = n.a;
    CHECK(nh_op_shape(&n, &a, in, 2, NULL, &out, &err) == NH_ESHAPE);
    CHECK(strstr(err.message, "group 2") != NULL);
}

static void test_conv_same_pads(void)
{
    nh_node n = make_node(NH_OP_CONV, "Conv");
    nh_shape in[2] = {{4, {B, 1, 5, 6}}, {4, {1, 1, 3, 4}}}, out;
    nh_attrs a;

    /* H: out 3, total pad (3-1)2 + 3 - 5 = 2; W: out 3, total (3-1)2 + 4 - 6 = 2. With
     * dilation 2 on W (window 7): total (3-1)2 + 7 - 6 = 5, split 2+3 / 3+2. */
    n.a.auto_pad = NH_PAD_SAME_UPPER;
    n.a.strides[0] = n.a.strides[1] = 2;
    n.a.dilations[1] = 2;
    a = n.a;
    CHECK_OK(nh_op_shape(&n, &a, in, 2, NULL, &out, &err), &err);
    CHECK(out.d[0] == B && out.d[2] == 3 && out.d[3] == 3);
    CHECK(a.pads[0] == 1 && a.pads[2] == 1 && a.pads[1] == 2 && a.pads[3] == 3);
    n.a.auto_pad = NH_PAD_SAME_LOWER;
    a = n.a;
    CHECK_OK(nh_op_shape(&n, &a, in, 2, NULL, &out, &err), &err);
    CHECK(a.pads[1] == 3 && a.pads[3] == 2);
}

/* ------------------------------------------------------------ pools */

static void test_maxpool_ceil_mode(void)
{
    nh_node n = make_node(NH_OP_MAXPOOL, "MaxPool");
    float x[16], y[4];
    const int64_t dx[] = {1, 1, 4, 4}, dy[] = {1, 1, 2, 2}, dy1[] = {1, 1, 1, 1};
    const float want[] = {11, 12, 15, 16};

    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    n.a.n_spatial = 2;
    n.a.kernel[0] = n.a.kernel[1] = 3;
    n.a.strides[0] = n.a.strides[1] = 2;
    n.a.ceil_mode = 1;
    CHECK_OK(run1(&n, x, 4, dx, y, 4, dy), &err);
    check_all(y, want, 4, 0, 0);
    n.a.ceil_mode = 0;
    CHECK_OK(run1(&n, x, 4, dx, y, 4, dy1), &err);
    CHECK(y[0] == 11);

    /* A last window that would start in the end padding is dropped:
     * in 4, kernel 2, stride 2, end pad 1 gives 2 windows, not 3. */
    {
        nh_shape in = {3, {B, 1, 4}}, out;
        nh_attrs a;

        n = make_node(NH_OP_MAXPOOL, "MaxPool");
        n.a.n_spatial = 1;
        n.a.kernel[0] = 2;
        n.a.strides[0] = 2;
        n.a.pads[1] = 1;
        n.a.ceil_mode = 1;
        a = n.a;
        CHECK_OK(nh_op_shape(&n, &a, &in, 1, NULL, &out, &err), &err);
        CHECK(out.d[2] == 2);
    }
}

static void test_maxpool_dilation(void)
{
    nh_node n = make_node(NH_OP_MAXPOOL, "MaxPool");
    const float x[] = {1, 5, 2, 4, 3}, want[] = {2, 5, 3};
    const int64_t dx[] = {1, 1, 5}, dy[] = {1, 1, 3};
    float y[3];

    n.a.n_spatial = 1;
    n.a.kernel[0] = 2;
    n.a.dilations[0] = 2;
    CHECK_OK(run1(&n, x, 3, dx, y, 3, dy), &err);
    check_all(y, want, 3, 0, 0);
}

static void test_avgpool_count_include_pad(void)
{
    nh_node n = make_node(NH_OP_AVGPOOL, "AveragePool");
    float x[9], y[16];
    const int64_t dx[] = {1, 1, 3, 3}, dy[] = {1, 1, 4, 4};

    for (int i = 0; i < 9; i++)
        x[i] = (float)(i + 1);
    n.a.n_spatial = 2;
    n.a.kernel[0] = n.a.kernel[1] = 2;
    for (int i = 0; i < 4; i++)
        n.a.pads[i] = 1;
    n.a.count_include_pad = 1;
    CHECK_OK(run1(&n, x, 4, dx, y, 4, dy), &err);
    CHECK_CLOSE(y[0], 0.25, TOL_REL, TOL_ABS);  /* 1 / 4 */
    CHECK_CLOSE(y[1], 0.75, TOL_REL, TOL_ABS);  /* (1 + 2) / 4 */
    CHECK_CLOSE(y[5], 3, TOL_REL, TOL_ABS);     /* (1 + 2 + 4 + 5) / 4 */
    CHECK_CLOSE(y[15], 2.25, TOL_REL, TOL_ABS); /* 9 / 4 */
    n.a.count_include_pad = 0;
    CHECK_OK(run1(&n, x, 4, dx, y, 4, dy), &err);
    CHECK_CLOSE(y[0], 1, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[1], 1.5, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[5], 3, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[15], 9, TOL_REL, TOL_ABS);
}

static void test_avgpool_ceil_counts_only_the_padded_input(void)
{
    nh_node n = make_node(NH_OP_AVGPOOL, "AveragePool");
    const float x[] = {1, 2, 3, 4};
    const int64_t dx[] = {1, 1, 4}, dy[] = {1, 1, 3};
    float y[3];

    /* Windows start at -1, 1, 3; the last covers 4, the end pad and a
     * position past it, which counts for neither divisor. */
    n.a.n_spatial = 1;
    n.a.kernel[0] = 3;
    n.a.strides[0] = 2;
    n.a.pads[0] = n.a.pads[1] = 1;
    n.a.ceil_mode = 1;
    n.a.count_include_pad = 1;
    CHECK_OK(run1(&n, x, 3, dx, y, 3, dy), &err);
    CHECK_CLOSE(y[0], 1, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[1], 3, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[2], 2, TOL_REL, TOL_ABS);
    n.a.count_include_pad = 0;
    CHECK_OK(run1(&n, x, 3, dx, y, 3, dy), &err);
    CHECK_CLOSE(y[0], 1.5, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[2], 4, TOL_REL, TOL_ABS);
}

static void test_pool_3d_and_global(void)
{
    nh_node n = make_node(NH_OP_AVGPOOL, "AveragePool");
    float x[2 * 8], y[2];
    const int64_t dx[] = {1, 2, 2, 2, 2}, dy[] = {1, 2, 1, 1, 1};

    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    n.a.n_spatial = 3;
    n.a.kernel[0] = n.a.kernel[1] = n.a.kernel[2] = 2;
    CHECK_OK(run1(&n, x, 5, dx, y, 5, dy), &err);
    CHECK_CLOSE(y[0], 3.5, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[1], 11.5, TOL_REL, TOL_ABS);

    n = make_node(NH_OP_GLOBALAVGPOOL, "GlobalAveragePool");
    CHECK_OK(run1(&n, x, 5, dx, y, 5, dy), &err);
    CHECK_CLOSE(y[0], 3.5, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[1], 11.5, TOL_REL, TOL_ABS);
    n = make_node(NH_OP_GLOBALMAXPOOL, "GlobalMaxPool");
    CHECK_OK(run1(&n, x, 5, dx, y, 5, dy), &err);
    CHECK(y[0] == 7 && y[1] == 15);
}

/* --------------------------------------------------- data movement */

static void test_pad_constant_with_crop(void)
{
    nh_node n = make_node(NH_OP_PAD, "Pad");
    const float x[] = {1, 2, 3, 4, 5, 6};
    const int64_t dx[] = {2, 3}, dy[] = {3, 4};
    const float want[] = {9, 9, 9, 9, 2, 3, 9, 9, 5, 6, 9, 9};
    float y[12];

    n.a.n_ints = 4;
    n.a.ints[0] = 1;  /* axis 0 begin */
    n.a.ints[1] = -1; /* axis 1 begin: crop one */
    n.a.ints[2] = 0;  /* axis 0 end */
    n.a.ints[3] = 2;  /* axis 1 end */
    n.a.value = 9;
    CHECK_OK(run1(&n, x, 2, dx, y, 2, dy), &err);
    check_all(y, want, 12, 0, 0);
}

static void test_transpose_flatten_reshape_concat(void)
{
    nh_node n = make_node(NH_OP_TRANSPOSE, "Transpose");
    float x[24], y[24];
    const int64_t dx[] = {2, 3, 4}, dy[] = {3, 4, 2}, df[] = {6, 4}, dbad[] = {5, 4};
    int bad = 0;

    for (int i = 0; i < 24; i++)
        x[i] = (float)i;
    n.a.n_ints = 3;
    n.a.ints[0] = 1;
    n.a.ints[1] = 2;
    n.a.ints[2] = 0;
    CHECK_OK(run1(&n, x, 3, dx, y, 3, dy), &err);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 2; k++)
                bad += y[(i * 4 + j) * 2 + k] != x[(k * 3 + i) * 4 + j];
    CHECK(bad == 0);

    n = make_node(NH_OP_FLATTEN, "Flatten");
    n.a.axis = -1;
    CHECK_OK(run1(&n, x, 3, dx, y, 2, df), &err);
    CHECK(memcmp(x, y, sizeof x) == 0);
    n = make_node(NH_OP_RESHAPE, "Reshape");
    CHECK(run1(&n, x, 3, dx, y, 2, dbad) == NH_ESHAPE);

    {
        const float c1[] = {1, 2}, c2[] = {3, 4, 5, 6};
        const int64_t d1[] = {2, 1}, d2[] = {2, 2}, dc[] = {2, 3};
        nh_tensor_view in[2] = {view(c1, 2, d1), view(c2, 2, d2)};
        const float want[] = {1, 3, 4, 2, 5, 6};

        n = make_node(NH_OP_CONCAT, "Concat");
        n.a.axis = -1;
        CHECK_OK(nh_op_run(&n, in, 2, y, 2, dc, &err), &err);
        check_all(y, want, 6, 0, 0);
    }
}

/* ------------------------------------------------------ elementwise */

static void test_activations(void)
{
    const float x[] = {-100, -2, -0.5f, 0, 0.5f, 2, 100};
    const int64_t dx[] = {7};
    float y[7];
    nh_node n;

    n = make_node(NH_OP_SIGMOID, "Sigmoid");
    CHECK_OK(run1(&n, x, 1, dx, y, 1, dx), &err);
    /* e^-100 is a float denormal, stored to within its spacing 1.4e-45. */
    CHECK_CLOSE(y[0], 3.720075976020836e-44, 0, 1.5e-45);
    CHECK_CLOSE(y[1], 0.11920292202211755, TOL_REL, 0);
    CHECK_CLOSE(y[3], 0.5, TOL_REL, 0);
    CHECK_CLOSE(y[6], 1, TOL_REL, 0);

    n = make_node(NH_OP_SOFTPLUS, "Softplus");
    CHECK_OK(run1(&n, x, 1, dx, y, 1, dx), &err);
    CHECK_CLOSE(y[0], 3.720075976020836e-44, 0, 1.5e-45); /* ln(1 + e^-100) */
    CHECK_CLOSE(y[3], log(2.0), TOL_REL, 0);
    CHECK_CLOSE(y[5], 2.1269280110429727, TOL_REL, 0);
    CHECK_CLOSE(y[6], 100, TOL_REL, 0);

    n = make_node(NH_OP_RELU, "Relu");
    CHECK_OK(run1(&n, x, 1, dx, y, 1, dx), &err);
    CHECK(y[1] == 0 && y[3] == 0 && y[5] == 2);

    n = make_node(NH_OP_LEAKYRELU, "LeakyRelu");
    n.a.alpha = 0.1f;
    CHECK_OK(run1(&n, x, 1, dx, y, 1, dx), &err);
    CHECK_CLOSE(y[1], -0.2, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[5], 2, TOL_REL, TOL_ABS);

    n = make_node(NH_OP_ELU, "Elu");
    n.a.alpha = 2;
    CHECK_OK(run1(&n, x, 1, dx, y, 1, dx), &err);
    CHECK_CLOSE(y[1], 2 * (exp(-2.0) - 1), TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[4], 0.5, TOL_REL, TOL_ABS);

    n = make_node(NH_OP_SELU, "Selu");
    n.a.alpha = 1.67326319217681884765625f;
    n.a.gamma = 1.05070102214813232421875f;
    CHECK_OK(run1(&n, x, 1, dx, y, 1, dx), &err);
    CHECK_CLOSE(y[2], 1.0507010221 * 1.6732631922 * (exp(-0.5) - 1), TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[5], 2 * 1.0507010221, TOL_REL, TOL_ABS);

    n = make_node(NH_OP_HARDSIGMOID, "HardSigmoid");
    n.a.alpha = 0.2f;
    n.a.beta = 0.5f;
    CHECK_OK(run1(&n, x, 1, dx, y, 1, dx), &err);
    CHECK(y[0] == 0 && y[6] == 1);
    CHECK_CLOSE(y[2], 0.4, TOL_REL, TOL_ABS);

    n = make_node(NH_OP_TANH, "Tanh");
    CHECK_OK(run1(&n, x, 1, dx, y, 1, dx), &err);
    CHECK_CLOSE(y[4], tanh(0.5), TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[0], -1, TOL_REL, TOL_ABS);

    n = make_node(NH_OP_CLIP, "Clip");
    n.a.min_value = -1;
    n.a.max_value = 0.75f;
    CHECK_OK(run1(&n, x, 1, dx, y, 1, dx), &err);
    CHECK(y[0] == -1 && y[2] == -0.5f && y[5] == 0.75f);
}

static void test_softmax_both_forms(void)
{
    nh_node n = make_node(NH_OP_SOFTMAX, "Softmax");
    const float x[] = {0, (float)log(2.0), (float)log(3.0), (float)log(4.0)};
    const int64_t dx[] = {1, 2, 2};
    const float single[] = {0.25f, 1 / 3.0f, 0.75f, 2 / 3.0f}, flat[] = {0.1f, 0.2f, 0.3f, 0.4f};
    float y[4];

    n.a.axis = 1; /* opset 13: along axis 1 alone */
    n.a.softmax_single_axis = 1;
    CHECK_OK(run1(&n, x, 3, dx, y, 3, dx), &err);
    check_all(y, single, 4, 1e-6, 1e-7);
    n.a.softmax_single_axis = 0; /* older: flatten [1, 4], one row */
    CHECK_OK(run1(&n, x, 3, dx, y, 3, dx), &err);
    check_all(y, flat, 4, 1e-6, 1e-7);

    {
        const float big[] = {1000, 1001};
        const int64_t db[] = {1, 2};

        n.a.axis = -1;
        n.a.softmax_single_axis = 1;
        CHECK_OK(run1(&n, big, 2, db, y, 2, db), &err);
        CHECK_CLOSE(y[0], 0.2689414213699951, 1e-6, 0);
        CHECK_CLOSE(y[1], 0.7310585786300049, 1e-6, 0);
    }
}

static void test_batchnorm(void)
{
    nh_node n = make_node(NH_OP_BATCHNORM, "BatchNormalization");
    const float x[] = {1, 2, 3, 4, 5, 6, 7, 8}; /* [2,2,2] */
    const float scale[] = {2, 1}, bias[] = {0, 1}, mean[] = {1, 4}, var[] = {4, 1};
    const int64_t dx[] = {2, 2, 2}, dc[] = {2};
    nh_tensor_view in[5] = {view(x, 3, dx), view(scale, 1, dc), view(bias, 1, dc),
                            view(mean, 1, dc), view(var, 1, dc)};
    float y[8];

    n.a.epsilon = 0;
    CHECK_OK(nh_op_run(&n, in, 5, y, 3, dx, &err), &err);
    /* channel 0: (x - 1) / 2 * 2; channel 1: (x - 4) + 1 */
    CHECK_CLOSE(y[0], 0, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[1], 1, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[2], 0, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[3], 1, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[4], 4, TOL_REL, TOL_ABS);
    CHECK_CLOSE(y[7], 5, TOL_REL, TOL_ABS);
}

static void test_binary_broadcasting(void)
{
    nh_node n = make_node(NH_OP_ADD, "Add");
    const float a[] = {1, 2, 3, 4, 5, 6};
    const float row[] = {10, 20, 30}, col[] = {100, 200};
    const int64_t d23[] = {2, 3}, d3[] = {3}, d21[] = {2, 1}, d13[] = {1, 3};
    nh_tensor_view in[2] = {view(a, 2, d23), view(row, 1, d3)};
    float y[6];

    {
        const float want[] = {11, 22, 33, 14, 25, 36};

        CHECK_OK(nh_op_run(&n, in, 2, y, 2, d23, &err), &err);
        check_all(y, want, 6, 0, 0);
    }
    {
        /* [2,1] + [1,3]: both operands broadcast. */
        const float want[] = {110, 120, 130, 210, 220, 230};

        in[0] = view(col, 2, d21);
        in[1] = view(row, 2, d13);
        CHECK_OK(nh_op_run(&n, in, 2, y, 2, d23, &err), &err);
        check_all(y, want, 6, 0, 0);
    }
    {
        const float want[] = {-99, -98, -97, -196, -195, -194};

        n = make_node(NH_OP_SUB, "Sub");
        in[0] = view(a, 2, d23);
        in[1] = view(col, 2, d21);
        CHECK_OK(nh_op_run(&n, in, 2, y, 2, d23, &err), &err);
        check_all(y, want, 6, 0, 0);
    }
    {
        const float want[] = {0.1f, 0.1f, 0.1f, 0.4f, 0.25f, 0.2f};

        n = make_node(NH_OP_DIV, "Div");
        in[0] = view(a, 2, d23);
        in[1] = view(row, 1, d3);
        CHECK_OK(nh_op_run(&n, in, 2, y, 2, d23, &err), &err);
        check_all(y, want, 6, 1e-6, 0);
    }
    {
        /* [2,3,1] * [1,1,2] -> [2,3,2]: the first operand repeats along the
         * last axis, the second along the first two. */
        const float two[] = {1, -1};
        const int64_t d231[] = {2, 3, 1}, d112[] = {1, 1, 2}, d232[] = {2, 3, 2};
        float z[12];

        n = make_node(NH_OP_MUL, "Mul");
        in[0] = view(a, 3, d231);
        in[1] = view(two, 3, d112);
        CHECK_OK(nh_op_run(&n, in, 2, z, 3, d232, &err), &err);
        CHECK(z[0] == 1 && z[1] == -1 && z[10] == 6 && z[11] == -6);
    }
    {
        const int64_t d2[] = {2};

        in[0] = view(a, 2, d23);
        in[1] = view(col, 1, d2);
        CHECK(nh_op_run(&n, in, 2, y, 2, d23, &err) == NH_ESHAPE);
    }
}

/* ------------------------------------------------ shape inference */

static int add_value(nh_graph *g, const char *name, int ndim, const int64_t *dims,
                     const float *data)
{
    int v = nh_graph_add_value(g, name, &err);
    nh_value *val = &g->values[v];
    int64_t count = 1;

    val->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        val->dims[i] = dims[i];
        count *= dims[i] == B ? 1 : dims[i];
    }
    if (data) {
        val->is_const = 1;
        val->f = malloc((size_t)count * sizeof(float));
        memcpy(val->f, data, (size_t)count * sizeof(float));
    }
    return v;
}

/* Appends a node reading in[0..n_in-1] into a new value; returns the node. */
static nh_node *add_node(nh_graph *g, nh_op op, const char *type, int n_in, const int *in,
                         const char *out_name)
{
    int k = nh_graph_add_node(g, op, out_name, type, &err);
    int out = nh_graph_add_value(g, out_name, &err);
    nh_node *n = &g->nodes[k];

    n->n_in = n_in;
    for (int i = 0; i < n_in; i++)
        n->in[i] = in[i];
    n->out = out;
    g->values[out].producer = k;
    g->output = out;
    return n;
}

static nh_graph *graph_with_input(const int64_t *dims, int ndim)
{
    nh_graph *g = nh_graph_create("test", &err);

    g->input = add_value(g, "x", ndim, dims, NULL);
    return g;
}

static nh_status infer_one(nh_op op, const char *type, const int64_t *dx, int ndim,
                           const nh_attrs *a, nh_shape *out)
{
    nh_graph *g = graph_with_input(dx, ndim);
    nh_node *n = add_node(g, op, type, 1, &g->input, "y");
    nh_status st;

    n->a = *a;
    st = nh_graph_infer_shapes(g, &err);
    if (!st) {
        out->ndim = g->values[n->out].ndim;
        memcpy(out->d, g->values[n->out].dims, sizeof out->d);
    }
    nh_graph_destroy(g);
    return st;
}

static void test_shape_reshape_flatten_transpose_keep_the_batch(void)
{
    const int64_t dx[] = {B, 16, 4, 4};
    nh_attrs a;
    nh_shape out;

    nh_attrs_default(&a);
    a.n_ints = 2;
    a.ints[0] = B;
    a.ints[1] = -1;
    CHECK_OK(infer_one(NH_OP_RESHAPE, "Reshape", dx, 4, &a, &out), &err);
    CHECK(out.ndim == 2 && out.d[0] == B && out.d[1] == 256);
    a.ints[0] = -1; /* [-1, 256]: -1 is the batch */
    a.ints[1] = 256;
    CHECK_OK(infer_one(NH_OP_RESHAPE, "Reshape", dx, 4, &a, &out), &err);
    CHECK(out.d[0] == B && out.d[1] == 256);
    a.ints[0] = 0; /* copies the batch */
    a.ints[1] = 255;
    CHECK(infer_one(NH_OP_RESHAPE, "Reshape", dx, 4, &a, &out) == NH_ESHAPE);
    CHECK(strstr(err.message, "[B,16,4,4]") != NULL);
    a.ints[0] = 1; /* [1, 256] holds one sample only */
    a.ints[1] = 256;
    CHECK(infer_one(NH_OP_RESHAPE, "Reshape", dx, 4, &a, &out) == NH_EUNSUPPORTED);
    CHECK(strstr(err.message, "batch") != NULL);
    a.ints[0] = -1; /* [-1, 128] merges the batch: 2B rows */
    a.ints[1] = 128;
    CHECK(infer_one(NH_OP_RESHAPE, "Reshape", dx, 4, &a, &out) == NH_EUNSUPPORTED);

    nh_attrs_default(&a);
    a.axis = 1;
    CHECK_OK(infer_one(NH_OP_FLATTEN, "Flatten", dx, 4, &a, &out), &err);
    CHECK(out.ndim == 2 && out.d[0] == B && out.d[1] == 256);
    a.axis = 0;
    CHECK(infer_one(NH_OP_FLATTEN, "Flatten", dx, 4, &a, &out) == NH_EUNSUPPORTED);
    CHECK(strstr(err.message, "'y'") != NULL);
    a.axis = 2;
    CHECK(infer_one(NH_OP_FLATTEN, "Flatten", dx, 4, &a, &out) == NH_EUNSUPPORTED);

    nh_attrs_default(&a);
    a.n_ints = 4;
    a.ints[0] = 0;
    a.ints[1] = 2;
    a.ints[2] = 3;
    a.ints[3] = -3;
    CHECK_OK(infer_one(NH_OP_TRANSPOSE, "Transpose", dx, 4, &a, &out), &err);
    CHECK(out.d[0] == B && out.d[1] == 4 && out.d[3] == 16);
    a.ints[0] = 1;
    a.ints[3] = 0;
    CHECK(infer_one(NH_OP_TRANSPOSE, "Transpose", dx, 4, &a, &out) == NH_EUNSUPPORTED);

    /* Without a batch axis every shape is static and allowed. */
    {
        const int64_t ds[] = {2, 16, 4, 4};

        CHECK_OK(infer_one(NH_OP_TRANSPOSE, "Transpose", ds, 4, &a, &out), &err);
        CHECK(out.d[0] == 16 && out.d[3] == 2);
        nh_attrs_default(&a);
        a.axis = 0;
        CHECK_OK(infer_one(NH_OP_FLATTEN, "Flatten", ds, 4, &a, &out), &err);
        CHECK(out.d[0] == 1 && out.d[1] == 512);
    }
}

static void test_shape_errors_name_node_and_shapes(void)
{
    const int64_t dx[] = {B, 3}, dw[] = {4, 2};
    const float w[8] = {0};
    nh_graph *g = graph_with_input(dx, 2);
    int in[2] = {g->input, add_value(g, "W", 2, dw, w)};

    add_node(g, NH_OP_GEMM, "Gemm", 2, in, "fc");
    CHECK(nh_graph_infer_shapes(g, &err) == NH_ESHAPE);
    CHECK(strstr(err.message, "'fc'") && strstr(err.message, "[B,3]") &&
          strstr(err.message, "[4,2]") && strstr(err.message, "'W'"));
    nh_graph_destroy(g);

    /* Concat of x [B,3] with Pad(x) [B,5]: on axis 0 the other axis
     * differs; on axis 1 they give [B,8]; x with itself on axis 0 would
     * concatenate samples. */
    g = graph_with_input(dx, 2);
    {
        nh_node *pad = add_node(g, NH_OP_PAD, "Pad", 1, &g->input, "padded");
        nh_node *cat;

        pad->a.n_ints = 4;
        pad->a.ints[3] = 2;
        in[1] = pad->out;
        cat = add_node(g, NH_OP_CONCAT, "Concat", 2, in, "cat");
        cat->a.axis = 0;
        CHECK(nh_graph_infer_shapes(g, &err) == NH_ESHAPE);
        CHECK(strstr(err.message, "'cat'") && strstr(err.message, "[B,5]"));
        cat->a.axis = 1;
        CHECK_OK(nh_graph_infer_shapes(g, &err), &err);
        CHECK(g->values[cat->out].dims[1] == 8);
        cat->in[1] = g->input;
        cat->a.axis = 0;
        CHECK(nh_graph_infer_shapes(g, &err) == NH_EUNSUPPORTED);
    }
    nh_graph_destroy(g);

    /* Broadcasting [B,3] with a constant [4] fails; with [2,1,3] it would
     * move the batch. */
    {
        const int64_t d4[] = {4}, d213[] = {2, 1, 3};
        const float c[6] = {0};

        g = graph_with_input(dx, 2);
        in[1] = add_value(g, "k", 1, d4, c);
        add_node(g, NH_OP_ADD, "Add", 2, in, "sum");
        CHECK(nh_graph_infer_shapes(g, &err) == NH_ESHAPE);
        CHECK(strstr(err.message, "'sum'") && strstr(err.message, "[4]"));
        nh_graph_destroy(g);
        g = graph_with_input(dx, 2);
        in[1] = add_value(g, "k", 3, d213, c);
        add_node(g, NH_OP_ADD, "Add", 2, in, "sum");
        CHECK(nh_graph_infer_shapes(g, &err) == NH_EUNSUPPORTED);
        nh_graph_destroy(g);
    }
}

/* Transpose of a constant weight is computed once and becomes a constant. */
static void test_shape_folds_constant_nodes(void)
{
    const int64_t dx[] = {B, 2}, dw[] = {3, 2};
    const float w[] = {1, 2, 3, 4, 5, 6};
    nh_graph *g = graph_with_input(dx, 2);
    int wv = add_value(g, "W", 2, dw, w);
    nh_node *t = add_node(g, NH_OP_TRANSPOSE, "Transpose", 1, &wv, "Wt");
    int tv = t->out;
    int in[2] = {g->input, tv};
    nh_exec *ex = NULL;
    const float x[] = {1, 1, 1, -1};

    add_node(g, NH_OP_MATMUL, "MatMul", 2, in, "y");
    CHECK_OK(nh_graph_infer_shapes(g, &err), &err);
    CHECK(g->values[tv].is_const && g->values[tv].dims[0] == 2 && g->values[tv].f[1] == 3);
    CHECK_OK(nh_exec_create(g, 4, &ex, &err), &err);
    CHECK_OK(nh_exec_run(ex, x, 2, &err), &err);
    {
        const float want[] = {3, 7, 11, -1, -1, -1};

        check_all(nh_exec_value(ex, g->output), want, 6, 0, 0);
    }
    nh_exec_destroy(ex);
    nh_graph_destroy(g);
}

/* Conv -> Relu -> Flatten -> Gemm -> Softmax on a batch equals the same
 * graph run one sample at a time. */
static void test_exec_batch_equals_single_samples(void)
{
    const int64_t dx[] = {B, 2, 5, 5}, dw[] = {3, 2, 3, 3}, dfc[] = {4, 27}, dbf[] = {4};
    float w[54], fc[108], bfc[4], x[5 * 50], single[4];
    nh_graph *g = graph_with_input(dx, 4);
    nh_exec *ex = NULL;
    nh_node *n;
    int in[3], bad = 0;

    for (int i = 0; i < 54; i++)
        w[i] = (float)sin(i);
    for (int i = 0; i < 108; i++)
        fc[i] = (float)cos(i) * 0.1f;
    for (int i = 0; i < 4; i++)
        bfc[i] = (float)i;
    for (int i = 0; i < 250; i++)
        x[i] = (float)sin(0.3 * i);
    in[0] = g->input;
    in[1] = add_value(g, "W", 4, dw, w);
    n = add_node(g, NH_OP_CONV, "Conv", 2, in, "conv");
    n->a.strides[0] = n->a.strides[1] = 2;
    n->a.auto_pad = NH_PAD_SAME_UPPER;
    in[0] = n->out;
    n = add_node(g, NH_OP_RELU, "Relu", 1, in, "relu");
    in[0] = n->out;
    n = add_node(g, NH_OP_FLATTEN, "Flatten", 1, in, "flat");
    in[0] = n->out;
    in[1] = add_value(g, "fc", 2, dfc, fc);
    in[2] = add_value(g, "bfc", 1, dbf, bfc);
    n = add_node(g, NH_OP_GEMM, "Gemm", 3, in, "fc_out");
    n->a.trans_b = 1;
    in[0] = n->out;
    n = add_node(g, NH_OP_SOFTMAX, "Softmax", 1, in, "prob");
    n->a.axis = -1;
    n->a.softmax_single_axis = 1;

    CHECK_OK(nh_graph_infer_shapes(g, &err), &err);
    CHECK(g->values[g->nodes[0].out].dims[2] == 3 && g->nodes[0].a.pads[0] == 1);
    CHECK_OK(nh_exec_create(g, 5, &ex, &err), &err);
    CHECK(nh_exec_run(ex, x, 6, &err) == NH_EINVAL);
    for (int s = 0; s < 5; s++) {
        CHECK_OK(nh_exec_run(ex, x + 50 * s, 1, &err), &err);
        memcpy(single, nh_exec_value(ex, g->output), sizeof single);
        CHECK_OK(nh_exec_run(ex, x, 5, &err), &err);
        for (int j = 0; j < 4; j++)
            bad += fabsf(nh_exec_value(ex, g->output)[4 * s + j] - single[j]) > 1e-6f;
    }
    CHECK(bad == 0);
    /* Flatten shares the buffer of Relu. */
    CHECK(nh_exec_value(ex, g->nodes[2].out) == nh_exec_value(ex, g->nodes[1].out));
    nh_exec_destroy(ex);
    nh_graph_destroy(g);
}

int main(void)
{
    test_gemm_alpha_beta_trans_and_bias_broadcast();
    test_gemm_rejects_inner_mismatch();
    test_matmul_broadcast_and_vectors();
    test_conv_1d_groups_dilation_asymmetric_pads();
    test_conv_2d_against_definition();
    test_conv_3d();
    test_conv_rejects_channels_not_matching_group();
    test_conv_same_pads();
    test_maxpool_ceil_mode();
    test_maxpool_dilation();
    test_avgpool_count_include_pad();
    test_avgpool_ceil_counts_only_the_padded_input();
    test_pool_3d_and_global();
    test_pad_constant_with_crop();
    test_transpose_flatten_reshape_concat();
    test_activations();
    test_softmax_both_forms();
    test_batchnorm();
    test_binary_broadcasting();
    test_shape_reshape_flatten_transpose_keep_the_batch();
    test_shape_errors_name_node_and_shapes();
    test_shape_folds_constant_nodes();
    test_exec_batch_equals_single_samples();
    return check_summary();
}
