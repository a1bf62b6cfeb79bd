/* Heuristic costs for Gaussian inputs: the formulas of SPEC.md on small
 * models by hand, argument checks, and the sampled costs of the thesis's
 * two benchmark layers against their heuristics. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nnheat.h"

#define MODELS NH_SOURCE_DIR "/tests/data/heuristic/"

/* 0.5 ln(2 pi e) and k_B T at 293.15 K in eV. */
#define S1 1.4189385332046727
#define KT_EV 0.025261712457978588

static nh_model *load(const char *name)
{
    nh_model *m = NULL;
    nh_error err = {0};

    CHECK_OK(nh_model_load_file(name, &m, &err), &err);
    return m;
}

static nh_heuristic *heuristic(const nh_model *m, double mu, double sigma, double mu_o,
                               double sigma_o)
{
    nh_heuristic *h = NULL;
    nh_error err = {0};

    CHECK_OK(nh_heuristic_compute(m, mu, sigma, mu_o, sigma_o, &h, &err), &err);
    return h;
}

static nh_layer_heuristic layer(const nh_heuristic *h, size_t i)
{
    nh_layer_heuristic lh;
    nh_error err = {0};

    memset(&lh, 0, sizeof lh);
    CHECK_OK(nh_heuristic_layer(h, i, &lh, &err), &err);
    return lh;
}

static void test_normal_closed_forms(void)
{
    /* S of N(., 2^2) = S1 + ln 2; D(N(0.3, 4) || N(-0.2, 2.25)) =
     * ln(1.5/2) + (4 + 0.25)/4.5 - 0.5. */
    CHECK_CLOSE(nh_normal_entropy(1), S1, 1e-15, 0);
    CHECK_CLOSE(nh_normal_entropy(2), 2.1120857137646180, 1e-14, 0);
    CHECK_CLOSE(nh_normal_divergence(0.3, 2, -0.2, 1.5), 0.15676237199266352, 1e-13, 0);
    CHECK_CLOSE(nh_normal_divergence(1.7, 0.4, 1.7, 0.4), 0.0, 0, 1e-15);
    /* The thesis's optimal N(0.5, 1.25^2) against N(0, 1). */
    CHECK_CLOSE(nh_normal_divergence(0, 1, 0.5, 1.25), 0.12314355131420984, 1e-13, 0);
}

/* SPEC: "Heuristic, dense 32 -> 32, N(0, 1) input: 35.5581 eV". That is the
 * Landauer cost 32 * 31 * S1 = 1407.587 nats = 35.55806 eV (with M = 32 in
 * place of M - 1, as the thesis library computes, it would be 36.705 eV).
 * With nnheat's default optimal N(0, 1), D_N = 0, so it is also the sum
 * L + M. */
static void test_dense32(void)
{
    nh_model *m = load(MODELS "dense32.onnx");
    nh_heuristic *h = m ? heuristic(m, 0, 1, 0, 1) : NULL;
    double l, mm;

    if (!h)
        goto done;
    CHECK(nh_heuristic_layer_count(h) == 2);
    CHECK(layer(h, 0).landauer == 0 && layer(h, 0).mismatch == 0);
    CHECK(layer(h, 1).factor == 31 && layer(h, 1).mismatch_factor == 31);
    CHECK_CLOSE(layer(h, 1).landauer, 32 * 31 * S1, 1e-14, 0);
    nh_heuristic_total(h, &l, &mm);
    CHECK_CLOSE(nh_energy_from_nats(l, NH_ROOM_TEMPERATURE, NH_UNIT_EV), 35.5581, 1e-4, 0);
    CHECK_CLOSE(nh_energy_from_nats(l + mm, NH_ROOM_TEMPERATURE, NH_UNIT_EV), 35.5581, 1e-4,
                0);
    CHECK(mm == 0);
    nh_heuristic_destroy(h);

    /* The thesis's optimal N(0.5, 1.25^2): M = 992 D_N = 122.1584 nats. */
    h = heuristic(m, 0, 1, 0.5, 1.25);
    if (h)
        CHECK_CLOSE(layer(h, 1).mismatch, 122.15840290369616, 1e-12, 0);
done:
    nh_heuristic_destroy(h);
    nh_model_destroy(m);
}

/* Every layer kind, with mu = 0.3, sigma = 2, optimal N(-0.2, 1.5^2):
 * S = 2.1120857137646180 and D = 0.15676237199266352 nats. */
static void test_layer_kinds(void)
{
    const double s = 2.1120857137646180, d = 0.15676237199266352;
    const double avg = 2 - 1 / sqrt(2.0), glob = 8 - 1 / sqrt(8.0);
    nh_model *m = load(MODELS "mixed.onnx");
    nh_heuristic *h = m ? heuristic(m, 0.3, 2, -0.2, 1.5) : NULL;
    double l, mm;

    if (!h)
        goto done;
    CHECK(nh_heuristic_layer_count(h) == 9);
    CHECK_CLOSE(nh_heuristic_entropy(h), s, 1e-14, 0);
    CHECK_CLOSE(nh_heuristic_divergence(h), d, 1e-13, 0);
    /* input, elementwise (Sigmoid), reshape (Flatten) and add cost 0 */
    for (size_t i = 0; i < 9; i++)
        if (i == 0 || i == 1 || i == 5 || i == 8)
            CHECK(layer(h, i).landauer == 0 && layer(h, i).mismatch == 0);
    /* conv 6x4x4 = 96 neurons, 2 groups: 2 channels x 3x3 = 18 inputs */
    CHECK(layer(h, 2).factor == 18);
    CHECK_CLOSE(layer(h, 2).landauer, 96 * 18 * s, 1e-13, 0);
    CHECK_CLOSE(layer(h, 2).mismatch, 96 * 18 * d, 1e-13, 0);
    /* AveragePool 2x1: P^2 = 2, P = sqrt 2, 48 neurons; Mismatch / 3 */
    CHECK_CLOSE(layer(h, 3).factor, 1.2928932188134524, 1e-14, 0);
    CHECK_CLOSE(layer(h, 3).landauer, 48 * avg * s, 1e-13, 0);
    CHECK_CLOSE(layer(h, 3).mismatch, 48 * avg * d / 3, 1e-13, 0);
    /* GlobalMaxPool over 2x4: P^2 = 8, 6 neurons */
    CHECK_CLOSE(layer(h, 4).landauer, 6 * glob * s, 1e-13, 0);
    CHECK_CLOSE(layer(h, 4).mismatch, 6 * glob * d / 3, 1e-13, 0);
    /* two dense 6 -> 5 */
    CHECK_CLOSE(layer(h, 6).landauer, 5 * 5 * s, 1e-13, 0);
    CHECK_CLOSE(layer(h, 7).mismatch, 5 * 5 * d, 1e-13, 0);
    nh_heuristic_total(h, &l, &mm);
    CHECK_CLOSE(l, (96 * 18 + 48 * avg + 6 * glob + 50) * s, 1e-13, 0);
    CHECK_CLOSE(mm, (96 * 18 + (48 * avg + 6 * glob) / 3 + 50) * d, 1e-13, 0);
    /* by hand: 1728 + 62.0589 + 45.8787 + 50 = 1885.9376 entropies S */
    CHECK_CLOSE(l, 3983.2617652, 1e-9, 0);
    nh_heuristic_destroy(h);

    /* A 1-D conv, 3 filters of width 3 over 2 channels, 30 neurons: the
     * kernel's element count stands for K^2; padding does not change it. */
    nh_model_destroy(m);
    m = load(MODELS "conv1d.onnx");
    h = m ? heuristic(m, 0, 1, 0, 1) : NULL;
    if (h)
        CHECK_CLOSE(layer(h, 1).landauer, 30 * 6 * S1, 1e-14, 0);
done:
    nh_heuristic_destroy(h);
    nh_model_destroy(m);
}

static void expect_einval(const nh_model *m, double mu, double sigma, double mu_o,
                          double sigma_o, const char *field)
{
    nh_heuristic *h = (nh_heuristic *)&h; /* must be reset to NULL */
    nh_error err = {0};

    CHECK(nh_heuristic_compute(m, mu, sigma, mu_o, sigma_o, &h, &err) == NH_EINVAL);
    CHECK(h == NULL);
    CHECK(err.status == NH_EINVAL && strstr(err.message, field) != NULL);
}

static void test_bad_arguments(void)
{
    nh_model *m = load(MODELS "maxpool2.onnx");
    nh_layer_heuristic lh;
    nh_heuristic *h;
    nh_error err = {0};

    if (!m)
        return;
    expect_einval(m, 0, 0, 0, 1, "sigma (input");
    expect_einval(m, 0, -1, 0, 1, "sigma (input");
    expect_einval(m, 0, NAN, 0, 1, "sigma (input");
    expect_einval(m, 0, INFINITY, 0, 1, "sigma (input");
    expect_einval(m, NAN, 1, 0, 1, "mu (input");
    expect_einval(m, 0, 1, INFINITY, 1, "mu_o");
    expect_einval(m, 0, 1, 0, 0, "sigma_o");
    expect_einval(m, 0, 1, 0, -2, "sigma_o");

    h = heuristic(m, 0, 1, 0, 1);
    if (h) {
        CHECK(nh_heuristic_layer(h, 2, &lh, &err) == NH_EINVAL);
        CHECK(strstr(err.message, "2") != NULL);
    }
    nh_heuristic_total(h, NULL, NULL);
    nh_heuristic_destroy(h);
    nh_heuristic_destroy(NULL);
    nh_model_destroy(m);
}

/* Sampled costs (independent Mismatch, Chao-Shen, b = 0.01, differential
 * entropies) of n N(0, 1) samples, with the thesis's optimal N(0.5, 1.25^2),
 * for layer 1 of model; returns 0 on failure. */
static int sampled(const nh_model *m, int64_t n, nh_layer_costs *out)
{
    int64_t shape[NH_MAX_DIMS];
    int nd = nh_model_input_shape(m, shape), reshaped, ok = 0;
    nh_source_options o;
    nh_cost_options co;
    nh_source *in = NULL, *opt = NULL;
    nh_costs *c = NULL;
    nh_error err = {0};

    nh_source_options_default(&o);
    o.limit = n;
    nh_cost_options_default(&co);
    co.threads = 1; /* the same counts for any thread count; one thread does not
                       spin-wait when the machine is busy */
    CHECK_OK(nh_source_open("normal:0,1", &o, &in, &err), &err);
    o.stream = 1;
    CHECK_OK(nh_source_open("normal:0.5,1.25", &o, &opt, &err), &err);
    if (in && opt && nh_source_set_shape(in, nd, shape, &reshaped, &err) == NH_OK
        && nh_source_set_shape(opt, nd, shape, &reshaped, &err) == NH_OK
        && nh_costs_compute(m, in, opt, &co, &c, &err) == NH_OK)
        ok = nh_costs_layer(c, 1, out, &err) == NH_OK;
    if (!ok)
        fprintf(stderr, "sampled costs failed: %s\n", err.message);
    CHECK(ok);
    nh_costs_destroy(c);
    nh_source_destroy(in);
    nh_source_destroy(opt);
    return ok;
}

/* Dense 32 -> 32, linear, Glorot-uniform weights (seed 2023 in
 * make_models.py), 100,000 samples. The thesis reports the sampled cost and
 * the heuristic agree here, and they do: the weights keep each output's
 * variance s_j^2 = |w_j|^2 near 1 (0.79 to 1.15 here), and the exact
 * Landauer cost sum_j (31 S1 - ln s_j) is 1.0002 times the heuristic. The
 * estimate measured 35.5224 eV against 35.5581 eV (ratio 0.9990); the
 * Mismatch 3.06186 eV against 3.08593 eV (0.9922; exact for these weights
 * 1.0025). */
static void test_dense32_sampled(void)
{
    nh_model *m = load(MODELS "dense32.onnx");
    nh_heuristic *h = m ? heuristic(m, 0, 1, 0.5, 1.25) : NULL;
    nh_layer_costs lc;

    if (h && sampled(m, 100000, &lc)) {
        CHECK_CLOSE(lc.landauer, layer(h, 1).landauer, 0.05, 0);
        CHECK_CLOSE(lc.mismatch, layer(h, 1).mismatch, 0.05, 0);
    }
    nh_heuristic_destroy(h);
    nh_model_destroy(m);
}

/* 2x2 max pooling, stride 2, on 1x8x8, 100,000 samples.
 *
 * Landauer: the heuristic charges 4 - 1/2 = 3.5 S1 per neuron, as if the
 * maximum of four N(0, 1) kept S1/2 of entropy. It keeps 1.0583 nats (the
 * entropy of the density 4 phi Phi^3, by quadrature), so the exact cost is
 * 4 S1 - 1.0583 = 4.6174 nats per neuron, 0.930 times the heuristic. Measured:
 * 1.86352 eV against 2.00731 eV, ratio 0.928: within 15%.
 *
 * Mismatch: the heuristic's D_N / 3 does not fit this case. With optimal
 * N(0.5, 1.25^2) the maximum's divergence grows, to 0.4159 nats against
 * D_N = 0.1231 (by quadrature), so the exact cost is 4 D_N - 0.4159 = 0.0766
 * nats per neuron, 0.533 times the heuristic (and 0.18 times it without the
 * / 3). Measured: 0.0317825 eV against 0.0580686 eV, ratio 0.547. The check
 * below asserts that measured shortfall, not agreement. */
static void test_maxpool_sampled(void)
{
    nh_model *m = load(MODELS "maxpool2.onnx");
    nh_heuristic *h = m ? heuristic(m, 0, 1, 0.5, 1.25) : NULL;
    nh_layer_costs lc;

    if (h && sampled(m, 100000, &lc)) {
        CHECK_CLOSE(lc.landauer, layer(h, 1).landauer, 0.15, 0);
        CHECK_CLOSE(lc.landauer / layer(h, 1).landauer, 0.930, 0, 0.01);
        CHECK_CLOSE(lc.mismatch / layer(h, 1).mismatch, 0.533, 0, 0.05);
    }
    nh_heuristic_destroy(h);
    nh_model_destroy(m);
}

int main(void)
{
    test_normal_closed_forms();
    test_dense32();
    test_layer_kinds();
    test_bad_arguments();
    test_dense32_sampled();
    test_maxpool_sampled();
    return check_summary();
}
