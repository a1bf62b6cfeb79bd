/* Costs of a single gate from samples of its inputs and output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "stats/entropy.h"
#include "stats/histogram.h"

/* A row of d bin indices, sorted lexicographically to count tuples. */
typedef struct row {
    const int64_t *k;
    size_t d;
} row;

static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;

    for (size_t i = 0; i < x->d; i++)
        if (x->k[i] != y->k[i])
            return x->k[i] < y->k[i] ? -1 : 1;
    return 0;
}

/* A joint histogram: the distinct rows in order and their counts. */
typedef struct joint_hist {
    int64_t *bins;
    row *rows;
    uint64_t *counts;
    size_t distinct, n;
} joint_hist;

static void joint_free(joint_hist *j)
{
    free(j->bins);
    free(j->rows);
    free(j->counts);
}

static nh_status bin_value(double x, double b, int64_t *k, nh_error *err)
{
    double r = nearbyint(x / b);

    if (!isfinite(x) || fabs(r) > 9.0e15)
        return nh_fail(err, NH_ENUMERIC, "sample value %g cannot be binned with bin size %g",
                       x, b);
    *k = (int64_t)r;
    return NH_OK;
}

static nh_status joint_build(const double *x, size_t n, size_t d, double b, joint_hist *j,
                             nh_error *err)
{
    size_t m = 0;

    memset(j, 0, sizeof *j);
    j->n = n;
    j->bins = nh_alloc(err, n * d > 0 ? n * d : 1, sizeof *j->bins);
    j->rows = nh_alloc(err, n ? n : 1, sizeof *j->rows);
    j->counts = nh_calloc(err, n ? n : 1, sizeof *j->counts);
    if (!j->bins || !j->rows || !j->counts)
        goto fail;
    for (size_t i = 0; i < n * d; i++)
        if (bin_value(x[i], b, &j->bins[i], err) != NH_OK)
            goto fail;
    for (size_t i = 0; i < n; i++)
        j->rows[i] = (row){j->bins + i * d, d};
    qsort(j->rows, n, sizeof *j->rows, row_cmp);

    for (size_t i = 0; i < n; i++) {
        if (i == 0 || row_cmp(&j->rows[i], &j->rows[m - 1]) != 0)
            j->rows[m++] = j->rows[i];
        j->counts[m - 1]++;
    }
    j->distinct = m;
    return NH_OK;
fail:
    joint_free(j);
    return err ? err->status : NH_ENOMEM;
}

/* D(p || q) over two joint histograms, as nh_hist_kl does for 1-D ones:
 * the first pass finds the common rows, the second sums P ln(P/Q). */
static double joint_kl(const joint_hist *p, const joint_hist *q, nh_kl_mode mode)
{
    double pc = 0, qc = 0, sum = 0, pn, qn;
    int missing = 0;

    for (int pass = 0; pass < 2; pass++) {
        size_t i = 0, k = 0;

        while (i < p->distinct) {
            int c = k < q->distinct ? row_cmp(&p->rows[i], &q->rows[k]) : -1;

            if (c > 0) {
                k++;
                continue;
            }
            if (c < 0) {
                missing = 1;
                i++;
                continue;
            }
            if (pass == 0) {
                pc += (double)p->counts[i];
                qc += (double)q->counts[k];
            } else {
                double pp = (double)p->counts[i] / pn, qq = (double)q->counts[k] / qn;

                sum += pp * log(pp / qq);
            }
            i++;
            k++;
        }
        if (pc <= 0 || (mode == NH_KL_EXACT && missing))
            return mode == NH_KL_EXACT ? INFINITY : 0.0;
        pn = mode == NH_KL_EXACT ? (double)p->n : pc;
        qn = mode == NH_KL_EXACT ? (double)q->n : qc;
    }
    return sum > 0 ? sum : 0.0;
}

/* Entropy of the d columns of x (n rows), jointly or summed over marginals;
 * with the optimal samples y (m rows), also the divergence. */
static nh_status columns_stats(const double *x, size_t n, const double *y, size_t m, size_t d,
                               double b, int joint_mode, nh_estimator est, nh_kl_mode kl,
                               double *entropy, double *divergence, nh_error *err)
{
    joint_hist px, qy;
    double *col = NULL, *ycol = NULL;
    size_t parts = joint_mode ? 1 : d, width = joint_mode ? d : 1;

    *entropy = *divergence = 0;
    if (!joint_mode) {
        col = nh_alloc(err, n ? n : 1, sizeof *col);
        ycol = nh_alloc(err, m ? m : 1, sizeof *ycol);
        if (!col || !ycol)
            goto fail;
    }
    for (size_t part = 0; part < parts; part++) {
        const double *xs = x, *ys = y;

        if (!joint_mode) {
            for (size_t i = 0; i < n; i++)
                col[i] = x[i * d + part];
            for (size_t i = 0; y && i < m; i++)
                ycol[i] = y[i * d + part];
            xs = col;
            ys = y ? ycol : NULL;
        }
        if (joint_build(xs, n, width, b, &px, err) != NH_OK)
            goto fail;
        *entropy += nh_entropy_counts(px.counts, px.distinct, est);
        if (ys) {
            if (joint_build(ys, m, width, b, &qy, err) != NH_OK) {
                joint_free(&px);
                goto fail;
            }
            *divergence += joint_kl(&px, &qy, kl);
            joint_free(&qy);
        }
        joint_free(&px);
    }
    free(col);
    free(ycol);
    return NH_OK;
fail:
    free(col);
    free(ycol);
    return err ? err->status : NH_ENOMEM;
}

nh_status nh_gate_compute(const double *inputs, const double *outputs, size_t n, size_t d,
                          const double *opt_inputs, const double *opt_outputs, size_t m,
                          double bin_size, int joint, nh_estimator estimator,
                          nh_entropy_mode entropy, nh_kl_mode kl, nh_gate_costs *out,
                          nh_error *err)
{
    int with_optimal = opt_inputs && opt_outputs;
    nh_status st;

    if (!inputs || !outputs || !out || n == 0 || d == 0)
        return nh_fail(err, NH_EINVAL, "gate: needs at least one sample of at least one input");
    if (!(bin_size > 0) || !isfinite(bin_size))
        return nh_fail(err, NH_EINVAL, "gate: bin size must be > 0, got %g", bin_size);
    if ((opt_inputs || opt_outputs) && (!with_optimal || m == 0))
        return nh_fail(err, NH_EINVAL, "gate: optimal inputs and outputs go together, m > 0");
    memset(out, 0, sizeof *out);

    st = columns_stats(inputs, n, with_optimal ? opt_inputs : NULL, m, d, bin_size, joint,
                       estimator, kl, &out->input_entropy, &out->input_divergence, err);
    if (st == NH_OK)
        st = columns_stats(outputs, n, with_optimal ? opt_outputs : NULL, m, 1, bin_size, 1,
                           estimator, kl, &out->output_entropy, &out->output_divergence, err);
    if (st != NH_OK)
        return st;
    if (entropy == NH_ENTROPY_DIFFERENTIAL) {
        out->input_entropy += (double)d * log(bin_size);
        out->output_entropy += log(bin_size);
    }
    if (with_optimal && (isinf(out->input_divergence) || isinf(out->output_divergence)))
        return nh_fail(err, NH_ENUMERIC, "gate: the optimal samples miss a bin that the "
                       "actual samples hold, so the exact divergence is infinite");
    out->landauer = out->input_entropy - out->output_entropy;
    out->mismatch = out->input_divergence - out->output_divergence;
    return NH_OK;
}
