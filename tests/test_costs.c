/* Costs of whole networks through the public API: layer cutting, sampled
 * costs against closed forms, reproducibility. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nnheat.h"

#define MODELS NH_SOURCE_DIR "/tests/data/costs/"

static nh_model *load(const char *name)
{
    nh_model *m = NULL;
    nh_error err = {0};

    CHECK_OK(nh_model_load_file(name, &m, &err), &err);
    return m;
}

static nh_source *generator(const nh_model *m, const char *spec, int64_t n, uint64_t stream)
{
    nh_source_options o;
    nh_source *s = NULL;
    nh_error err = {0};
    int64_t shape[NH_MAX_DIMS];
    int nd = nh_model_input_shape(m, shape), reshaped = 0;

    nh_source_options_default(&o);
    o.limit = n;
    o.stream = stream;
    CHECK_OK(nh_source_open(spec, &o, &s, &err), &err);
    if (s)
        CHECK_OK(nh_source_set_shape(s, nd, shape, &reshaped, &err), &err);
    return s;
}

static nh_costs *run(const nh_model *m, const char *in, const char *opt, int64_t n,
                     const nh_cost_options *o)
{
    nh_source *a = generator(m, in, n, 0), *b = opt ? generator(m, opt, n, 1) : NULL;
    nh_costs *c = NULL;
    nh_error err = {0};

    if (a)
        CHECK_OK(nh_costs_compute(m, a, b, o, &c, &err), &err);
    nh_source_destroy(a);
    nh_source_destroy(b);
    return c;
}

static void expect_layer(const nh_model *m, size_t i, nh_layer_kind kind, size_t neurons,
                         size_t init, const char *first_op)
{
    nh_layer_info li;

    CHECK(nh_model_layer(m, i, &li, NULL) == NH_OK);
    CHECK(li.kind == kind);
    CHECK(li.neurons == neurons);
    CHECK(li.initial_set == init);
    if (first_op)
        CHECK(li.n_ops > 0 && strcmp(li.ops[0], first_op) == 0);
}

static void test_layer_cut(void)
{
    nh_model *m = load(MODELS "conv_pool.onnx");
    nh_layer_info li;

    if (!m)
        return;
    CHECK(nh_model_layer_count(m) == 5);
    expect_layer(m, 0, NH_LAYER_INPUT, 32, 0, NULL);
    expect_layer(m, 1, NH_LAYER_CONV, 64, 9, "Conv"); /* 2 groups: 1 channel x 3x3 */
    expect_layer(m, 2, NH_LAYER_POOL, 16, 4, "MaxPool");
    expect_layer(m, 3, NH_LAYER_RESHAPE, 16, 1, "Flatten");
    expect_layer(m, 4, NH_LAYER_DENSE, 3, 16, "Gemm");
    CHECK(nh_model_layer(m, 1, &li, NULL) == NH_OK && li.n_ops == 2
          && strcmp(li.ops[1], "Relu") == 0);
    CHECK(nh_model_layer(m, 4, &li, NULL) == NH_OK && li.n_ops == 2
          && strcmp(li.ops[1], "Softmax") == 0);
    nh_model_destroy(m);

    /* A DAG: the ReLU output feeds a dense layer and a residual sum. */
    m = load(MODELS "residual.onnx");
    if (!m)
        return;
    CHECK(nh_model_layer_count(m) == 5);
    expect_layer(m, 1, NH_LAYER_DENSE, 3, 3, "MatMul");
    expect_layer(m, 2, NH_LAYER_DENSE, 3, 3, "MatMul");
    expect_layer(m, 3, NH_LAYER_ADD, 3, 2, "Add");
    expect_layer(m, 4, NH_LAYER_ELEMENTWISE, 3, 1, "Sigmoid");
    CHECK(nh_model_layer(m, 3, &li, NULL) == NH_OK && li.n_inputs == 2 && li.inputs[0] == 2
          && li.inputs[1] == 1);
    nh_model_destroy(m);

    /* Every graph output is costed, not only the first. */
    m = load(MODELS "two_outputs.onnx");
    if (!m)
        return;
    CHECK(nh_model_layer_count(m) == 3);
    expect_layer(m, 1, NH_LAYER_ELEMENTWISE, 3, 1, "Relu");
    expect_layer(m, 2, NH_LAYER_ELEMENTWISE, 3, 1, "Sigmoid");
    nh_model_destroy(m);
}

/* Dense 4 -> 2, linear, weights as in make_cost_models.py. With x ~ N(0, I)
 * each output is N(b_j, |w_j|^2), so L_j = 4 S_1 - (S_1 + ln |w_j|); with
 * optimal N(0.5, I), D_in = 0.125 per input and D_out_j = (0.5 sum w_j)^2 /
 * (2 |w_j|^2).
 * Tolerance: with n = 200000 and b = 0.05 the standard error of an entropy
 * is sqrt(0.5 / n) = 0.0016 and of a divergence sqrt(0.25 / n) = 0.0011;
 * five estimates enter each neuron, two neurons the layer: 0.02 nats is
 * about 4 standard errors of the sum, and the estimators' biases (about
 * bins / 2n < 5e-4 each) and binning (b^2 / 24 < 1e-4) are well inside. */
static void test_dense_closed_form(void)
{
    const double w[2][4] = {{0.5, -1.0, 0.25, 2.0}, {1.5, 0.1, -0.3, 0.7}};
    const double s1 = 0.5 * log(2 * 3.141592653589793 * exp(1.0));
    double want_l = 0, want_m = 0, l, m;
    nh_model *model = load(MODELS "dense_linear.onnx");
    nh_cost_options o;
    nh_costs *c;
    nh_layer_costs lc;

    if (!model)
        return;
    for (int j = 0; j < 2; j++) {
        double norm2 = 0, sum = 0;

        for (int k = 0; k < 4; k++) {
            norm2 += w[j][k] * w[j][k];
            sum += w[j][k];
        }
        want_l += 4 * s1 - (s1 + 0.5 * log(norm2));
        want_m += 4 * 0.125 - 0.25 * sum * sum / (2 * norm2);
    }
    nh_cost_options_default(&o);
    o.bin_size = 0.05;
    c = run(model, "normal:0,1", "normal:0.5,1", 200000, &o);
    if (c) {
        nh_costs_total(c, &l, &m);
        CHECK_CLOSE(l, want_l, 0, 0.02);
        CHECK_CLOSE(m, want_m, 0, 0.02);
        CHECK(nh_costs_layer(c, 1, &lc, NULL) == NH_OK && lc.clipped_landauer == 0);
        CHECK(nh_costs_samples(c) == 200000 && nh_costs_optimal_samples(c) == 200000);
        CHECK(nh_costs_layer(c, 0, &lc, NULL) == NH_OK && lc.landauer == 0 && lc.mismatch == 0);
    }
    nh_costs_destroy(c);
    nh_model_destroy(model);
}

/* The same run twice, and with 1 or 2 threads and other batch sizes, gives
 * the very same numbers: counts are integers and entropies are computed
 * once, in a fixed order. */
static void test_reproducible(void)
{
    nh_model *m = load(MODELS "conv_pool.onnx");
    nh_cost_options o;
    nh_costs *c[3];

    if (!m)
        return;
    nh_cost_options_default(&o);
    o.threads = 1;
    c[0] = run(m, "normal:0,1", "normal:0.2,1.5", 5000, &o);
    c[1] = run(m, "normal:0,1", "normal:0.2,1.5", 5000, &o);
    o.threads = 2;
    o.batch_size = 77;
    c[2] = run(m, "normal:0,1", "normal:0.2,1.5", 5000, &o);
    for (int r = 1; r < 3; r++) {
        for (size_t i = 0; c[0] && c[r] && i < nh_costs_layer_count(c[0]); i++) {
            nh_layer_costs a, b;

            nh_costs_layer(c[0], i, &a, NULL);
            nh_costs_layer(c[r], i, &b, NULL);
            CHECK(a.landauer == b.landauer && a.mismatch == b.mismatch);
            CHECK(a.clipped_landauer == b.clipped_landauer);
        }
    }
    if (c[0]) {
        double l, mm;

        nh_costs_total(c[0], &l, &mm);
        CHECK(l > 0 && isfinite(l) && isfinite(mm));
    }
    for (int r = 0; r < 3; r++)
        nh_costs_destroy(c[r]);
    nh_model_destroy(m);
}

/* y = x1 - x2 with b = 1, plug-in, discrete entropies. Actual inputs: 00
 * half the time, 01 and 10 a quarter each; optimal: the four inputs evenly.
 * By hand:
 *   S(x1) = S(x2) = H(3/4, 1/4), S(y) = H(1/2, 1/4, 1/4)  (y in {0, -1, 1});
 *   D(x1) = D(x2) = 3/4 ln(3/2) + 1/4 ln(1/2); y has the same law under both
 *   inputs, so D(y) = 0;
 *   joint: common inputs {00, 01, 10}, optimal renormalised to 1/3 each:
 *   D = 1/2 ln(3/2) + 2 (1/4 ln(3/4)). */
static void test_joint_by_hand(void)
{
    float x[2 * 1000], xo[2 * 1000];
    nh_model *m = load(MODELS "difference.onnx");
    nh_source *in = NULL, *opt = NULL;
    nh_source_options so;
    nh_cost_options o;
    nh_costs *c = NULL;
    nh_layer_costs lc;
    nh_error err = {0};
    double h34 = -(0.75 * log(0.75) + 0.25 * log(0.25));
    double d1 = 0.75 * log(1.5) + 0.25 * log(0.5);
    double joint = 0.5 * log(1.5) + 0.5 * log(0.75);

    if (!m)
        return;
    for (int i = 0; i < 1000; i++) {
        static const float pin[4][2] = {{0, 0}, {0, 0}, {0, 1}, {1, 0}};
        static const float qin[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};

        x[2 * i] = pin[i % 4][0];
        x[2 * i + 1] = pin[i % 4][1];
        xo[2 * i] = qin[i % 4][0];
        xo[2 * i + 1] = qin[i % 4][1];
    }
    nh_source_options_default(&so);
    CHECK_OK(nh_source_open_memory(x, 1000, 2, &so, &in, &err), &err);
    CHECK_OK(nh_source_open_memory(xo, 1000, 2, &so, &opt, &err), &err);
    nh_cost_options_default(&o);
    o.bin_size = 1;
    o.estimator = NH_ESTIMATOR_PLUGIN;
    o.entropy = NH_ENTROPY_DISCRETE;
    for (int mode = 0; mode < 2 && in && opt; mode++) {
        o.mismatch = mode ? NH_MISMATCH_JOINT : NH_MISMATCH_INDEPENDENT;
        nh_source_rewind(in, NULL);
        nh_source_rewind(opt, NULL);
        CHECK_OK(nh_costs_compute(m, in, opt, &o, &c, &err), &err);
        if (!c)
            break;
        CHECK(nh_costs_layer(c, 1, &lc, NULL) == NH_OK);
        CHECK_CLOSE(lc.landauer, 2 * h34 - 1.5 * log(2.0), 0, 1e-12);
        CHECK_CLOSE(lc.mismatch, mode ? joint : 2 * d1, 0, 1e-12);
        if (mode)
            CHECK(lc.joint_histograms == 1 && lc.joint_tuples == 3);
        nh_costs_destroy(c);
        c = NULL;
    }
    nh_source_destroy(in);
    nh_source_destroy(opt);
    nh_model_destroy(m);
}

static void test_bad_options(void)
{
    nh_cost_options o;
    nh_error err = {0};

    nh_cost_options_default(&o);
    o.bin_size = 0;
    CHECK(nh_cost_options_check(&o, &err) == NH_EINVAL && strstr(err.message, "bin size"));
    o.bin_size = -0.1;
    CHECK(nh_cost_options_check(&o, &err) == NH_EINVAL);
    o.bin_size = NAN;
    CHECK(nh_cost_options_check(&o, &err) == NH_EINVAL);
}

int main(void)
{
    test_layer_cut();
    test_dense_closed_form();
    test_reproducible();
    test_joint_by_hand();
    test_bad_options();
    return check_summary();
}
