/* Single-gate costs through the public API: SPEC.md's XOR and linear
 * neuron examples, and the energy units. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "nnheat.h"

static void test_units(void)
{
    nh_unit u;

    /* k_B T ln 2 at 293.15 K: 0.0175101 eV = 2.80542 zJ (SPEC.md) */
    CHECK_CLOSE(nh_energy_from_nats(log(2.0), NH_ROOM_TEMPERATURE, NH_UNIT_EV), 0.0175101, 0,
                5e-8);
    CHECK_CLOSE(nh_energy_from_nats(log(2.0), NH_ROOM_TEMPERATURE, NH_UNIT_ZJ), 2.80542, 0,
                5e-6);
    CHECK_CLOSE(nh_energy_from_nats(1.0, NH_ROOM_TEMPERATURE, NH_UNIT_EV), 0.0252617, 0, 5e-8);
    CHECK_CLOSE(nh_energy_from_nats(log(2.0), 300, NH_UNIT_BITS), 1.0, 1e-15, 0);
    CHECK(nh_energy_from_nats(2.5, 1000, NH_UNIT_KT) == 2.5);
    CHECK(nh_unit_parse("zj", &u, NULL) == NH_OK && u == NH_UNIT_ZJ);
    CHECK(nh_unit_parse("calories", &u, NULL) == NH_EINVAL);
}

/* XOR with inputs uniform over {00, 01, 10}, optimal prior uniform over
 * all four, joint input histogram, plug-in, b = 1. */
static void test_xor(void)
{
    const double in[] = {0, 0, 0, 1, 1, 0}, out[] = {0, 1, 1};
    const double opt_in[] = {0, 0, 0, 1, 1, 0, 1, 1}, opt_out[] = {0, 1, 1, 0};
    nh_gate_costs g;
    nh_error err = {0};

    CHECK_OK(nh_gate_compute(in, out, 3, 2, opt_in, opt_out, 4, 1.0, 1, NH_ESTIMATOR_PLUGIN,
                             NH_ENTROPY_DIFFERENTIAL, NH_KL_EXACT, &g, &err), &err);
    CHECK_CLOSE(g.landauer, 0.462098, 0, 5e-7);
    CHECK_CLOSE(g.mismatch, 0.231049, 0, 5e-7);
    CHECK_CLOSE(g.mismatch, log(2.0) - g.landauer, 0, 1e-12);
    CHECK_CLOSE(nh_energy_from_nats(g.landauer + g.mismatch, NH_ROOM_TEMPERATURE, NH_UNIT_ZJ),
                2.80542, 0, 5e-6);

    /* With the thesis's common-support divergence, every input bin is
     * shared, q is renormalised over them and equals p: D_in = 0. */
    CHECK_OK(nh_gate_compute(in, out, 3, 2, opt_in, opt_out, 4, 1.0, 1, NH_ESTIMATOR_PLUGIN,
                             NH_ENTROPY_DIFFERENTIAL, NH_KL_COMMON, &g, &err), &err);
    CHECK_CLOSE(g.input_divergence, 0.0, 0, 1e-15);

    /* Bad arguments are errors, not numbers. */
    CHECK(nh_gate_compute(in, out, 3, 2, NULL, NULL, 0, 0.0, 1, NH_ESTIMATOR_PLUGIN,
                          NH_ENTROPY_DIFFERENTIAL, NH_KL_EXACT, &g, &err) == NH_EINVAL);
    CHECK(nh_gate_compute(in, out, 0, 2, NULL, NULL, 0, 1.0, 1, NH_ESTIMATOR_PLUGIN,
                          NH_ENTROPY_DIFFERENTIAL, NH_KL_EXACT, &g, &err) == NH_EINVAL);
}

/* A reproducible N(0, 1) stream for the test (splitmix64 + Box-Muller). */
static uint64_t rng_state = 12345;

static double uniform01(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double normal01(void)
{
    return sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01());
}

/* One linear neuron y = w.x, x ~ N(mu, diag(1, 2, 0.1)), independent input
 * entropies: L = 3.01980 nats (SPEC.md). With n samples the standard error
 * of each entropy estimate is about sqrt(Var[ln p] / n) = sqrt(0.5 / n),
 * 0.0011 at n = 400000; four estimates enter L, so 0.01 nats is over 4
 * standard errors, and the binning error at b = 0.01 (about b^2 / 24
 * sigma^2 < 1e-4) is far below it. */
static void test_linear_neuron(void)
{
    const size_t n = 400000;
    const double w[3] = {0.1, -0.2, 0.7}, mu[3] = {0, 1, -0.5};
    const double sd[3] = {1, sqrt(2.0), sqrt(0.1)};
    double *x = malloc(n * 3 * sizeof *x), *y = malloc(n * sizeof *y);
    nh_gate_costs g;
    nh_error err = {0};

    if (!x || !y) {
        CHECK(!"out of memory");
        free(x);
        free(y);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        y[i] = 0;
        for (int k = 0; k < 3; k++) {
            x[i * 3 + k] = mu[k] + sd[k] * normal01();
            y[i] += w[k] * x[i * 3 + k];
        }
    }
    CHECK_OK(nh_gate_compute(x, y, n, 3, NULL, NULL, 0, 0.01, 0, NH_ESTIMATOR_CHAO_SHEN,
                             NH_ENTROPY_DIFFERENTIAL, NH_KL_COMMON, &g, &err), &err);
    CHECK_CLOSE(g.landauer, 3.01980, 0, 0.01);
    CHECK_CLOSE(nh_energy_from_nats(g.landauer, NH_ROOM_TEMPERATURE, NH_UNIT_EV), 0.0762853, 0,
                0.01 * 0.0252617);
    /* The output entropy alone: 0.5 ln(2 pi e var), var = 0.139. */
    CHECK_CLOSE(g.output_entropy, 0.5 * log(2 * 3.141592653589793 * exp(1.0) * 0.139), 0, 0.004);
    free(x);
    free(y);
}

int main(void)
{
    test_units();
    test_xor();
    test_linear_neuron();
    return check_summary();
}
