/* Entropy and divergence estimators over histograms of counts, in nats. */
#ifndef NH_STATS_ENTROPY_H
#define NH_STATS_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#include "nnheat.h"
#include "stats/histogram.h"

/* Entropy of counts c[0..m-1] (zeros allowed and skipped) with the given
 * estimator, without the d ln b term:
 * - plugin: -sum (c/n) ln (c/n);
 * - miller-madow: plugin + (occupied - 1) / (2n);
 * - chao-shen (Chao & Shen 2003): f1 singletons (f1 = n - 1 when every bin is
 *   a singleton), coverage C = 1 - f1/n, p = C c/n, and
 *   S = -sum p ln p / (1 - (1 - p)^n).
 * Returns 0 for an empty histogram. */
double nh_entropy_counts(const uint64_t *c, size_t m, nh_estimator est);

/* Same over a histogram. */
double nh_hist_entropy(const nh_hist *h, nh_estimator est);

/* KL divergence D(p || q) of two histograms (plug-in frequencies).
 * NH_KL_COMMON keeps the bins present in both, renormalises each over them
 * and sums p ln(p/q): always finite, 0 when no bin is shared. NH_KL_EXACT
 * uses the full frequencies and gives +infinity when p has a bin q lacks.
 * *outside (may be NULL) gets the share of p's mass outside the common bins. */
double nh_hist_kl(const nh_hist *p, const nh_hist *q, nh_kl_mode mode, double *outside);

#endif
