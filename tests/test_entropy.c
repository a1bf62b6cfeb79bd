/* Entropy and divergence estimators against values known in closed form
 * or listed in SPEC.md. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "stats/entropy.h"
#include "stats/histogram.h"

static void test_spec_counts(void)
{
    const uint64_t c[] = {4, 2, 3, 0, 2, 4, 0, 0, 2, 1, 1};
    const uint64_t singles[] = {1, 1, 1, 1, 1};
    size_t m = sizeof c / sizeof c[0];

    /* SPEC.md, "Values to test against", to the 7 digits given there. */
    CHECK_CLOSE(nh_entropy_counts(c, m, NH_ESTIMATOR_CHAO_SHEN), 2.201137, 0, 5e-7);
    CHECK_CLOSE(nh_entropy_counts(c, m, NH_ESTIMATOR_PLUGIN), 1.968382, 0, 5e-7);
    CHECK_CLOSE(nh_entropy_counts(c, m, NH_ESTIMATOR_MILLER_MADOW), 2.152593, 0, 5e-7);
    CHECK_CLOSE(nh_entropy_counts(singles, 5, NH_ESTIMATOR_CHAO_SHEN), 3.486890, 0, 5e-7);
    CHECK(nh_entropy_counts(c, 0, NH_ESTIMATOR_CHAO_SHEN) == 0.0);
}

static nh_hist hist_of_counts(const uint64_t *c, size_t m, int64_t first_bin)
{
    nh_hist h = {0};

    for (size_t i = 0; i < m; i++)
        for (uint64_t k = 0; k < c[i]; k++)
            nh_hist_add(&h, first_bin + (int64_t)i, NULL);
    return h;
}

static void test_histogram_matches_counts(void)
{
    const uint64_t c[] = {4, 2, 3, 0, 2, 4, 0, 0, 2, 1, 1};
    nh_hist h = hist_of_counts(c, 11, -5);

    CHECK(h.n == 19);
    CHECK(nh_hist_get(&h, -5) == 4 && nh_hist_get(&h, 5) == 1 && nh_hist_get(&h, 6) == 0);
    CHECK_CLOSE(nh_hist_entropy(&h, NH_ESTIMATOR_CHAO_SHEN), 2.201137, 0, 5e-7);
    nh_hist_clear(&h);
}

/* Bins far apart go to the hash table; counts, entropy and merging must not
 * notice. */
static void test_sparse_outliers(void)
{
    nh_hist a = {0}, b = {0};
    int64_t far[] = {-4000000000LL, 7, 9000000, 7, 9000000, 123456789};

    for (size_t i = 0; i < 6; i++)
        CHECK(nh_hist_add(&a, far[i], NULL) == NH_OK);
    CHECK(nh_hist_get(&a, 7) == 2 && nh_hist_get(&a, 9000000) == 2);
    CHECK(nh_hist_get(&a, -4000000000LL) == 1);
    for (int64_t k = 0; k < 100; k++)
        CHECK(nh_hist_add(&b, k % 10, NULL) == NH_OK);
    CHECK(nh_hist_merge(&b, &a, NULL) == NH_OK);
    CHECK(b.n == 106 && nh_hist_get(&b, 7) == 12 && nh_hist_get(&b, 9000000) == 2);
    /* bins 0..9 hold 10 each (7 holds 12), then the outliers 2, 1, 1 */
    {
        uint64_t c[] = {10, 10, 10, 10, 10, 10, 10, 12, 10, 10, 2, 1, 1};

        CHECK_CLOSE(nh_hist_entropy(&b, NH_ESTIMATOR_PLUGIN),
                    nh_entropy_counts(c, 13, NH_ESTIMATOR_PLUGIN), 1e-12, 0);
    }
    nh_hist_clear(&a);
    nh_hist_clear(&b);
}

static void test_kl(void)
{
    /* p = (1/2, 1/4, 1/4) on bins 0..2, q = (1/4, 1/4, 1/4, 1/4) on 0..3. */
    const uint64_t pc[] = {2, 1, 1}, qc[] = {1, 1, 1, 1};
    nh_hist p = hist_of_counts(pc, 3, 0), q = hist_of_counts(qc, 4, 0), far = {0};
    double outside;
    /* exact: 1/2 ln 2 + 2 (1/4 ln 1) = 0.5 ln 2 */
    double exact = 0.5 * log(2.0);
    /* common bins 0..2, q renormalised to 1/3 each: 1/2 ln(3/2) + 1/2 ln(3/4) */
    double common = 0.5 * log(1.5) + 0.5 * log(0.75);

    CHECK_CLOSE(nh_hist_kl(&p, &q, NH_KL_EXACT, &outside), exact, 1e-12, 0);
    CHECK_CLOSE(nh_hist_kl(&p, &q, NH_KL_COMMON, &outside), common, 1e-12, 0);
    CHECK(outside == 0.0);
    /* p lacks bin 3 of q: exact D(q || p) is infinite; common drops the bin,
     * q' = 1/3 each: 1/3 ln(2/3) + 2/3 ln(4/3) */
    CHECK(isinf(nh_hist_kl(&q, &p, NH_KL_EXACT, NULL)));
    CHECK_CLOSE(nh_hist_kl(&q, &p, NH_KL_COMMON, &outside),
                log(2.0 / 3.0) / 3.0 + 2.0 * log(4.0 / 3.0) / 3.0, 1e-12, 1e-15);
    CHECK_CLOSE(outside, 0.25, 0, 1e-15);
    /* no common bin: 0 by convention */
    nh_hist_add(&far, 100, NULL);
    CHECK(nh_hist_kl(&far, &p, NH_KL_COMMON, &outside) == 0.0 && outside == 1.0);
    nh_hist_clear(&p);
    nh_hist_clear(&q);
    nh_hist_clear(&far);
}

int main(void)
{
    test_spec_counts();
    test_histogram_matches_counts();
    test_sparse_outliers();
    test_kl();
    return check_summary();
}
