#include "stats/entropy.h"

#include <math.h>

/* 0 ln 0 = 0, by continuity. */
static double xlogx(double x)
{
    return x > 0 ? x * log(x) : 0.0;
}

typedef struct entropy_acc {
    nh_estimator est;
    double n;
    double coverage;
    double sum;
    uint64_t occupied, singletons;
} entropy_acc;

static void acc_first_pass(entropy_acc *a, uint64_t c)
{
    a->occupied++;
    if (c == 1)
        a->singletons++;
}

static void acc_term(entropy_acc *a, uint64_t c)
{
    double p = (double)c / a->n;

    if (a->est != NH_ESTIMATOR_CHAO_SHEN) {
        a->sum -= xlogx(p);
        return;
    }
    p *= a->coverage;
    /* Horvitz-Thompson weight: the chance a bin of probability p shows up
     * at least once in n draws is 1 - (1 - p)^n. */
    a->sum -= xlogx(p) / -expm1(a->n * log1p(-p));
}

static double acc_result(const entropy_acc *a)
{
    if (a->est == NH_ESTIMATOR_MILLER_MADOW)
        return a->sum + ((double)a->occupied - 1.0) / (2.0 * a->n);
    return a->sum;
}

static void acc_setup(entropy_acc *a)
{
    double f1 = (double)a->singletons;

    if (f1 >= a->n)
        f1 = a->n - 1;
    a->coverage = 1.0 - f1 / a->n;
}

double nh_entropy_counts(const uint64_t *c, size_t m, nh_estimator est)
{
    entropy_acc a = {est, 0, 1, 0, 0, 0};

    for (size_t i = 0; i < m; i++) {
        a.n += (double)c[i];
        if (c[i])
            acc_first_pass(&a, c[i]);
    }
    if (a.n <= 0)
        return 0.0;
    acc_setup(&a);
    for (size_t i = 0; i < m; i++)
        if (c[i])
            acc_term(&a, c[i]);
    return acc_result(&a);
}

static void visit_first(void *data, int64_t k, uint64_t c)
{
    (void)k;
    acc_first_pass(data, c);
}

static void visit_term(void *data, int64_t k, uint64_t c)
{
    (void)k;
    acc_term(data, c);
}

double nh_hist_entropy(const nh_hist *h, nh_estimator est)
{
    entropy_acc a = {est, (double)h->n, 1, 0, 0, 0};

    if (h->n <= 0)
        return 0.0;
    nh_hist_visit(h, visit_first, &a);
    acc_setup(&a);
    nh_hist_visit(h, visit_term, &a);
    return acc_result(&a);
}

typedef struct kl_acc {
    const nh_hist *q;
    double p_common, q_common; /* counts on the common bins */
    double p_norm, q_norm;     /* what p and q are divided by */
    double sum;                /* sum of P ln(P / Q) */
    int missing;               /* p has a bin that q lacks */
} kl_acc;

static void visit_common(void *data, int64_t k, uint64_t cp)
{
    kl_acc *a = data;
    uint64_t cq = nh_hist_get(a->q, k);

    if (!cq) {
        a->missing = 1;
        return;
    }
    a->p_common += (double)cp;
    a->q_common += (double)cq;
}

/* P ln(P/Q) with P and Q each a correctly rounded quotient, so that equal
 * distributions give ln 1 = 0 exactly, not rounding noise around it. */
static void visit_sum(void *data, int64_t k, uint64_t cp)
{
    kl_acc *a = data;
    uint64_t cq = nh_hist_get(a->q, k);
    double p, q;

    if (!cq)
        return;
    p = (double)cp / a->p_norm;
    q = (double)cq / a->q_norm;
    a->sum += p * log(p / q);
}

double nh_hist_kl(const nh_hist *p, const nh_hist *q, nh_kl_mode mode, double *outside)
{
    kl_acc a = {q, 0, 0, 0, 0, 0, 0};

    if (outside)
        *outside = p->n > 0 ? 1.0 : 0.0;
    if (p->n <= 0 || q->n <= 0)
        return 0.0;
    nh_hist_visit(p, visit_common, &a);
    if (outside)
        *outside = 1.0 - a.p_common / (double)p->n;
    if (a.p_common <= 0)
        return mode == NH_KL_EXACT ? INFINITY : 0.0;
    if (mode == NH_KL_EXACT && a.missing)
        return INFINITY;

    a.p_norm = mode == NH_KL_COMMON ? a.p_common : (double)p->n;
    a.q_norm = mode == NH_KL_COMMON ? a.q_common : (double)q->n;
    nh_hist_visit(p, visit_sum, &a);
    /* a divergence is never negative; what is left below 0 is rounding */
    return a.sum > 0 ? a.sum : 0.0;
}
