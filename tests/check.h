/* A tiny test harness: CHECK macros that count, and a summary line
 * "N passed, N failed" that ends every test program. */
#ifndef NH_TESTS_CHECK_H
#define NH_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>

static int nh_checks_passed, nh_checks_failed;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) {                                                                 \
            nh_checks_passed++;                                                     \
        } else {                                                                    \
            nh_checks_failed++;                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

/* |got - want| <= abs_tol + rel_tol * |want| */
#define CHECK_CLOSE(got, want, rel_tol, abs_tol)                                     \
    do {                                                                             \
        double g_ = (got), w_ = (want);                                              \
        if (fabs(g_ - w_) <= (abs_tol) + (rel_tol) * fabs(w_)) {                     \
            nh_checks_passed++;                                                      \
        } else {                                                                     \
            nh_checks_failed++;                                                      \
            fprintf(stderr, "%s:%d: %s = %.10g, expected %.10g (rel %g, abs %g)\n",  \
                    __FILE__, __LINE__, #got, g_, w_, (double)(rel_tol),             \
                    (double)(abs_tol));                                              \
        }                                                                            \
    } while (0)

#define CHECK_OK(call, errp)                                                         \
    do {                                                                             \
        nh_status s_ = (call);                                                       \
        if (s_ == NH_OK) {                                                           \
            nh_checks_passed++;                                                      \
        } else {                                                                     \
            nh_checks_failed++;                                                      \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,     \
                    (errp)->message);                                                \
        }                                                                            \
    } while (0)

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", nh_checks_passed, nh_checks_failed);
    return nh_checks_failed ? 1 : 0;
}

#endif
