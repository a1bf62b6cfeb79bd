/* From samples to costs: forward passes, histograms, entropies, costs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/error.h"
#include "cost/cost-impl.h"
#include "model/model-impl.h"
#include "nn/split.h"
#include "stats/entropy.h"
#include "stats/histogram.h"

void nh_cost_options_default(nh_cost_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->bin_size = 0.01;
    opt->estimator = NH_ESTIMATOR_CHAO_SHEN;
    opt->entropy = NH_ENTROPY_DIFFERENTIAL;
    opt->mismatch = NH_MISMATCH_INDEPENDENT;
    opt->batch_size = 256;
    opt->threads = 0;
}

nh_status nh_cost_options_check(const nh_cost_options *opt, nh_error *err)
{
    if (!(opt->bin_size > 0) || !isfinite(opt->bin_size))
        return nh_fail(err, NH_EINVAL, "bin size must be a finite number > 0, got %g",
                       opt->bin_size);
    if (opt->estimator > NH_ESTIMATOR_MILLER_MADOW)
        return nh_fail(err, NH_EINVAL, "estimator: unknown value %d", (int)opt->estimator);
    if (opt->entropy > NH_ENTROPY_DISCRETE)
        return nh_fail(err, NH_EINVAL, "entropy mode: unknown value %d", (int)opt->entropy);
    if (opt->mismatch > NH_MISMATCH_JOINT)
        return nh_fail(err, NH_EINVAL, "mismatch mode: unknown value %d", (int)opt->mismatch);
    if (opt->batch_size < 1 || opt->batch_size > 1 << 20)
        return nh_fail(err, NH_EINVAL, "batch size must be in 1..1048576, got %zu",
                       opt->batch_size);
    if (opt->threads < 0)
        return nh_fail(err, NH_EINVAL, "threads must be >= 0 (0 for all cores), got %d",
                       opt->threads);
    return NH_OK;
}

/* Histograms of every layer for one pass (NULL for layers that alias
 * another). */
typedef struct hist_set {
    const nh_model *m;
    nh_hist **layer;
} hist_set;

static void hist_set_free(hist_set *hs)
{
    for (size_t l = 0; hs->layer && l < hs->m->n_layers; l++) {
        for (size_t j = 0; hs->layer[l] && j < hs->m->layers[l].neurons; j++)
            nh_hist_clear(&hs->layer[l][j]);
        free(hs->layer[l]);
    }
    free(hs->layer);
}

static nh_status hist_set_init(hist_set *hs, const nh_model *m, nh_error *err)
{
    hs->m = m;
    hs->layer = nh_calloc(err, m->n_layers, sizeof *hs->layer);
    if (!hs->layer)
        return NH_ENOMEM;
    for (size_t l = 0; l < m->n_layers; l++) {
        if (m->layers[l].alias >= 0)
            continue;
        hs->layer[l] = nh_calloc(err, m->layers[l].neurons, sizeof **hs->layer);
        if (!hs->layer[l])
            return NH_ENOMEM;
    }
    return NH_OK;
}

static const nh_hist *hist_of(const hist_set *hs, const nh_model *m, size_t l)
{
    int a = m->layers[l].alias;

    return hs->layer[a >= 0 ? (size_t)a : l];
}

/* What went wrong first (lowest sample, then lowest neuron) in a parallel
 * count, so that the message does not depend on thread timing. */
typedef struct count_fault {
    nh_status status;
    int64_t sample;
    size_t neuron;
    float value;
} count_fault;

static void fault_note(count_fault *f, nh_status st, int64_t sample, size_t neuron, float x)
{
#pragma omp critical(nh_count_fault)
    {
        if (f->status == NH_OK || sample < f->sample
            || (sample == f->sample && neuron < f->neuron)) {
            f->status = st;
            f->sample = sample;
            f->neuron = neuron;
            f->value = x;
        }
    }
}

/* Counts one batch of a layer's values (n samples x neurons, sample-major)
 * into its histograms, neuron by neuron so that a histogram stays in cache
 * while its values are counted. */
/* round(q) with ties to even, as nearbyint in the default rounding mode:
 * adding and removing 1.5 * 2^52 leaves q rounded to an integer by the
 * addition itself. Exact for |q| < 2^51; larger values go to nearbyint. */
static inline double round_even(double q, double magic)
{
    if (fabs(q) < 2251799813685248.0)
        return (q + magic) - magic;
    return nearbyint(q);
}

/* 1.5 * 2^52, read through a volatile once per layer so that the compiler
 * cannot fold (q + magic) - magic away. */
static volatile double round_magic = 6755399441055744.0;

/* Counts one batch of a layer's values (n samples x neurons, sample-major)
 * into its histograms, neuron by neuron so that a histogram stays in cache
 * while its values are counted. A bin inside the dense window is counted
 * here; anything else goes through nh_hist_add. */
static void count_layer(nh_hist *h, const float *x, size_t n, size_t neurons, double b,
                        int64_t first, int threads, count_fault *fault)
{
    double magic = round_magic;

#pragma omp parallel for schedule(dynamic, 16) num_threads(threads)
    for (size_t j = 0; j < neurons; j++) {
        nh_hist *hj = &h[j];

        for (size_t s = 0; s < n; s++) {
            float v = x[s * neurons + j];
            double r;
            int64_t k;

            if (!isfinite(v)) {
                fault_note(fault, NH_ENUMERIC, first + (int64_t)s, j, v);
                break;
            }
            r = round_even((double)v / b, magic);
            if (fabs(r) > 9.0e15) {
                fault_note(fault, NH_ENUMERIC, first + (int64_t)s, j, v);
                break;
            }
            k = (int64_t)r - hj->lo;
            if (hj->counts && k >= 0 && k < (int64_t)hj->span && hj->counts[k] != UINT32_MAX) {
                hj->counts[k]++;
                hj->n++;
            } else if (nh_hist_add(hj, (int64_t)r, NULL) != NH_OK) {
                fault_note(fault, NH_ENOMEM, first + (int64_t)s, j, v);
                break;
            }
        }
    }
}

static nh_status report_fault(const count_fault *f, const nh_model *m, size_t l,
                              const char *what, double b, nh_error *err)
{
    const nh_layer *layer = &m->layers[l];

    if (f->status == NH_ENOMEM)
        return nh_fail(err, NH_ENOMEM, "out of memory counting layer %zu '%s'", l,
                       layer->name);
    if (!isfinite(f->value))
        return nh_fail(err, NH_ENUMERIC, "layer %zu '%s': neuron %zu is %s at %s sample %lld",
                       l, layer->name, f->neuron,
                       isnan(f->value) ? "NaN" : f->value > 0 ? "+infinity" : "-infinity", what,
                       (long long)f->sample);
    return nh_fail(err, NH_ENUMERIC, "layer %zu '%s': activation %g of neuron %zu at %s sample "
                   "%lld is too large for bin size %g", l, layer->name, (double)f->value,
                   f->neuron, what, (long long)f->sample, b);
}

typedef struct pass {
    const nh_model *m;
    const nh_cost_options *opt;
    nh_split *ex;
    float *buf;
    size_t in_size;
    int threads;
    int64_t done, total; /* for progress, over both passes */
} pass;

/* Counts the joint histograms of every layer that has initial sets, chunk by
 * chunk of the last batch. */
static nh_status count_joint(pass *p, nh_joint_set *js, nh_error *err)
{
    const nh_model *m = p->m;

    for (size_t l = 0; l < m->n_layers; l++) {
        const nh_layer *layer = &m->layers[l];
        const float *in[NH_MAX_NODE_INPUTS];
        size_t neurons[NH_MAX_NODE_INPUTS], first, count = 0;

        if (!js->plans[l].n_groups)
            continue;
        for (int c = 0; c < nh_split_chunks(p->ex); c++) {
            for (size_t k = 0; k < layer->n_inputs && k < NH_MAX_NODE_INPUTS; k++) {
                const nh_layer *src = &m->layers[layer->inputs[k]];

                in[k] = nh_split_value(p->ex, c, src->value, &first, &count);
                neurons[k] = src->neurons;
            }
            if (nh_joint_count(js, l, in, neurons, count, p->opt->bin_size, p->threads, err)
                != NH_OK)
                return err->status;
        }
    }
    return NH_OK;
}

static nh_status count_pass(pass *p, nh_source *src, hist_set *hs, nh_joint_set *js,
                            const char *what, int64_t *samples, nh_error *err)
{
    const nh_model *m = p->m;
    size_t n;

    *samples = 0;
    for (;;) {
        if (nh_source_read(src, p->buf, p->opt->batch_size, &n, err) != NH_OK)
            return err->status;
        if (n == 0)
            break;
        if (nh_split_run(p->ex, p->buf, n, p->in_size, err) != NH_OK)
            return err->status;
        for (size_t l = 0; l < m->n_layers; l++) {
            count_fault fault = {NH_OK, 0, 0, 0};

            if (!hs->layer[l])
                continue;
            for (int c = 0; c < nh_split_chunks(p->ex); c++) {
                size_t first, count;
                const float *x = nh_split_value(p->ex, c, m->layers[l].value, &first, &count);

                count_layer(hs->layer[l], x, count, m->layers[l].neurons, p->opt->bin_size,
                            *samples + (int64_t)first, p->threads, &fault);
                if (fault.status != NH_OK)
                    return report_fault(&fault, m, l, what, p->opt->bin_size, err);
            }
        }
        if (js && count_joint(p, js, err) != NH_OK)
            return err->status;
        *samples += (int64_t)n;
        p->done += (int64_t)n;
        if (p->opt->progress)
            p->opt->progress(p->opt->progress_data, p->done, p->total);
    }
    /* a worker of a distributed run may have no share; the total is checked */
    if (*samples == 0 && !p->opt->distributed)
        return nh_fail(err, NH_EINVAL, "%s: no %s samples", nh_source_name(src), what);
    return NH_OK;
}

static void neuron_results_free(nh_neuron_results *r)
{
    free(r->entropy);
    free(r->divergence);
    free(r->outside);
    free(r->landauer);
    free(r->mismatch);
    free(r->landauer_cost);
    free(r->mismatch_cost);
}

void nh_costs_destroy(nh_costs *costs)
{
    if (!costs)
        return;
    for (size_t l = 0; costs->neuron && l < costs->n_layers; l++)
        neuron_results_free(&costs->neuron[l]);
    free(costs->neuron);
    free(costs->layer);
    free(costs);
}

/* Entropies (and divergences) of every neuron of layer l. */
static nh_status layer_stats(const nh_model *m, size_t l, const hist_set *p, const hist_set *q,
                             const nh_cost_options *opt, int threads, nh_neuron_results *r,
                             nh_layer_costs *lc, nh_error *err)
{
    size_t n = m->layers[l].neurons;
    const nh_hist *hp = hist_of(p, m, l);
    const nh_hist *hq = q ? hist_of(q, m, l) : NULL;
    double ln_b = opt->entropy == NH_ENTROPY_DIFFERENTIAL ? log(opt->bin_size) : 0.0;
    double samples;
    size_t singles = 0, single_bin = 0;

    r->entropy = nh_alloc(err, n, sizeof *r->entropy);
    r->landauer = nh_calloc(err, n, sizeof *r->landauer);
    r->landauer_cost = nh_calloc(err, n, sizeof *r->landauer_cost);
    if (!r->entropy || !r->landauer || !r->landauer_cost)
        return NH_ENOMEM;
    if (hq) {
        r->divergence = nh_alloc(err, n, sizeof *r->divergence);
        r->outside = nh_alloc(err, n, sizeof *r->outside);
        r->mismatch = nh_calloc(err, n, sizeof *r->mismatch);
        r->mismatch_cost = nh_calloc(err, n, sizeof *r->mismatch_cost);
        if (!r->divergence || !r->outside || !r->mismatch || !r->mismatch_cost)
            return NH_ENOMEM;
    }

    /* integer sums: the same whatever the thread count */
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads) \
    reduction(+ : singles, single_bin)
    for (size_t j = 0; j < n; j++) {
        size_t occupied, singletons;

        nh_hist_summary(&hp[j], &occupied, &singletons);
        singles += singletons;
        single_bin += occupied == 1;
        r->entropy[j] = nh_hist_entropy(&hp[j], opt->estimator) + ln_b;
        if (hq)
            r->divergence[j] = nh_hist_kl(&hp[j], &hq[j], NH_KL_COMMON, &r->outside[j]);
    }

    /* every neuron saw every sample: coverage 1 - f1/n, averaged */
    samples = n && hp[0].n > 0 ? (double)hp[0].n * (double)n : 0;
    lc->coverage_mean = samples > 0 ? 1.0 - (double)singles / samples : 0.0;
    lc->single_bin_share = n ? (double)single_bin / (double)n : 0.0;
    return NH_OK;
}

/* diff[j] = sums[j] - own[j], cost[j] = max(0, diff[j]); returns the sum of
 * the costs. */
static double clip_sum(const double *sums, const double *own, double *diff, double *cost,
                       size_t n, size_t *clipped)
{
    double total = 0;

    *clipped = 0;
    for (size_t j = 0; j < n; j++) {
        diff[j] = sums[j] - own[j];
        cost[j] = diff[j] < 0 ? 0.0 : diff[j];
        *clipped += diff[j] < 0;
        total += cost[j];
    }
    return total;
}

/* The joint histograms of both passes, in joint Mismatch mode. */
typedef struct joint_state {
    nh_joint_plan *plans;
    nh_joint_set p, q;
    int threads;
} joint_state;

static nh_status layer_costs(const nh_model *m, size_t l, nh_costs *c, double *sums,
                             const joint_state *joint, nh_error *err)
{
    const nh_layer *layer = &m->layers[l];
    nh_neuron_results *r = &c->neuron[l];
    nh_layer_costs *out = &c->layer[l];
    const double *in[NH_MAX_NODE_INPUTS];

    if (layer->kind == NH_LAYER_INPUT || layer->kind == NH_LAYER_RESHAPE)
        return NH_OK;
    for (size_t k = 0; k < layer->n_inputs && k < NH_MAX_NODE_INPUTS; k++)
        in[k] = c->neuron[layer->inputs[k]].entropy;
    nh_links_sum(m, l, in, sums);
    out->landauer = clip_sum(sums, r->entropy, r->landauer, r->landauer_cost, layer->neurons,
                             &out->clipped_landauer);
    if (!r->divergence)
        return NH_OK;
    if (joint) {
        nh_status st = nh_joint_mismatch(&joint->p, &joint->q, l, r->divergence, r->mismatch,
                                         out, joint->threads, err);

        if (st == NH_OK)
            memcpy(r->mismatch_cost, r->mismatch, layer->neurons * sizeof *r->mismatch);
        return st;
    }

    for (size_t k = 0; k < layer->n_inputs && k < NH_MAX_NODE_INPUTS; k++)
        in[k] = c->neuron[layer->inputs[k]].divergence;
    nh_links_sum(m, l, in, sums);
    out->mismatch = clip_sum(sums, r->divergence, r->mismatch, r->mismatch_cost,
                             layer->neurons, &out->clipped_mismatch);
    return NH_OK;
}

static void outside_summary(const nh_neuron_results *r, size_t n, nh_layer_costs *out)
{
    double sum = 0, max = 0;

    for (size_t j = 0; r->outside && j < n; j++) {
        sum += r->outside[j];
        if (r->outside[j] > max)
            max = r->outside[j];
    }
    out->outside_mass_mean = n ? sum / (double)n : 0;
    out->outside_mass_max = max;
}

static nh_status run_passes(const nh_model *m, nh_source *input, nh_source *optimal,
                            const nh_cost_options *opt, int threads, hist_set *p,
                            hist_set *q, joint_state *joint, nh_costs *c, nh_error *err)
{
    size_t in_size = nh_source_sample_size(input);
    pass ps = {m, opt, NULL, NULL, in_size, threads, 0, 0};
    nh_status st;

    ps.total = nh_source_count(input);
    if (optimal && ps.total >= 0)
        ps.total = nh_source_count(optimal) < 0 ? -1 : ps.total + nh_source_count(optimal);
    st = nh_split_create(m->graph, opt->batch_size, threads, &ps.ex, err);
    if (st != NH_OK)
        return st;
    ps.buf = nh_alloc(err, opt->batch_size, in_size * sizeof *ps.buf);
    if (!ps.buf)
        st = NH_ENOMEM;
    if (st == NH_OK)
        st = count_pass(&ps, input, p, joint ? &joint->p : NULL, "input", &c->samples, err);
    if (st == NH_OK && optimal)
        st = count_pass(&ps, optimal, q, joint ? &joint->q : NULL, "optimal",
                        &c->optimal_samples, err);
    free(ps.buf);
    nh_split_destroy(ps.ex);
    return st;
}

static void joint_free(joint_state *j, const nh_model *m)
{
    if (j->p.layer)
        nh_joint_set_free(&j->p);
    if (j->q.layer)
        nh_joint_set_free(&j->q);
    for (size_t l = 0; j->plans && l < m->n_layers; l++)
        nh_joint_plan_free(&j->plans[l]);
    free(j->plans);
    j->plans = NULL;
}

static nh_status joint_init(joint_state *j, const nh_model *m, nh_error *err)
{
    j->plans = nh_calloc(err, m->n_layers, sizeof *j->plans);
    if (!j->plans)
        return NH_ENOMEM;
    for (size_t l = 0; l < m->n_layers; l++)
        if (nh_joint_plan_build(m, l, &j->plans[l], err) != NH_OK)
            return err->status;
    if (nh_joint_set_init(&j->p, m, j->plans, err) != NH_OK
        || nh_joint_set_init(&j->q, m, j->plans, err) != NH_OK)
        return err->status;
    return NH_OK;
}

static nh_status finish_costs(const nh_model *m, const hist_set *p, const hist_set *q,
                              const joint_state *joint, const nh_cost_options *opt,
                              int threads, nh_costs *c, nh_error *err);

/* Distributed runs: every rank's counts go to rank 0 (collective calls, in
 * the same order on every rank). */
static nh_status merge_ranks(const nh_model *m, hist_set *p, hist_set *q, joint_state *joint,
                             nh_costs *c, nh_error *err)
{
    int64_t n[2] = {c->samples, c->optimal_samples};
    nh_status st = NH_OK;

    nh_dist_sum(n, 2);
    c->samples = n[0];
    c->optimal_samples = n[1];
    if (c->samples == 0 || (q->layer && c->optimal_samples == 0))
        return nh_fail(err, NH_EINVAL, "no samples in any rank");
    for (size_t l = 0; st == NH_OK && l < m->n_layers; l++) {
        if (p->layer[l])
            st = nh_dist_merge_hists(p->layer[l], m->layers[l].neurons, err);
        if (st == NH_OK && q->layer && q->layer[l])
            st = nh_dist_merge_hists(q->layer[l], m->layers[l].neurons, err);
        if (st == NH_OK && joint && joint->p.layer[l])
            st = nh_dist_merge_jhists(joint->p.layer[l], joint->plans[l].n_groups, err);
        if (st == NH_OK && joint && joint->q.layer[l])
            st = nh_dist_merge_jhists(joint->q.layer[l], joint->plans[l].n_groups, err);
    }
    return st;
}

/* Rank 0 computes the costs; the others get its per-layer results. */
static nh_status finish_ranks(const nh_model *m, const hist_set *p, const hist_set *q,
                              const joint_state *joint, const nh_cost_options *opt,
                              int threads, nh_costs *c, nh_error *err)
{
    int rank, size;
    nh_status st = NH_OK;
    double totals[2];

    nh_mpi_world(&rank, &size);
    if (rank == 0)
        st = finish_costs(m, p, q, joint, opt, threads, c, err);
    st = nh_dist_agree(st, err);
    if (st != NH_OK)
        return st;
    totals[0] = c->total_landauer;
    totals[1] = c->total_mismatch;
    nh_dist_bcast(c->layer, m->n_layers * sizeof *c->layer);
    nh_dist_bcast(totals, sizeof totals);
    c->total_landauer = totals[0];
    c->total_mismatch = totals[1];
    return NH_OK;
}

static nh_status check_source(const nh_model *m, nh_source *src, const char *what,
                              nh_error *err)
{
    int64_t shape[NH_MAX_DIMS];
    int nd = nh_model_input_shape(m, shape);

    if (nh_source_sample_size(src) != (size_t)nh_shape_count(nd, shape, 1))
        return nh_fail(err, NH_ESHAPE, "%s source %s: %zu values per sample, the model's "
                       "input has %lld", what, nh_source_name(src),
                       nh_source_sample_size(src), (long long)nh_shape_count(nd, shape, 1));
    return NH_OK;
}

static nh_status finish_costs(const nh_model *m, const hist_set *p, const hist_set *q,
                              const joint_state *joint, const nh_cost_options *opt,
                              int threads, nh_costs *c, nh_error *err)
{
    size_t max_neurons = 0;
    double *sums;
    nh_status st = NH_OK;

    for (size_t l = 0; l < m->n_layers; l++) {
        if (m->layers[l].neurons > max_neurons)
            max_neurons = m->layers[l].neurons;
        st = layer_stats(m, l, p, q, opt, threads, &c->neuron[l], &c->layer[l], err);
        if (st != NH_OK)
            return st;
    }
    sums = nh_alloc(err, max_neurons ? max_neurons : 1, sizeof *sums);
    if (!sums)
        return NH_ENOMEM;
    for (size_t l = 0; l < m->n_layers && st == NH_OK; l++) {
        st = layer_costs(m, l, c, sums, joint, err);
        outside_summary(&c->neuron[l], m->layers[l].neurons, &c->layer[l]);
        c->total_landauer += c->layer[l].landauer;
        c->total_mismatch += c->layer[l].mismatch;
    }
    free(sums);
    return st;
}

nh_status nh_costs_compute(const nh_model *m, nh_source *input, nh_source *optimal,
                           const nh_cost_options *opt, nh_costs **out, nh_error *err)
{
    hist_set p = {m, NULL}, q = {m, NULL};
    joint_state joint = {NULL, {m, NULL, NULL}, {m, NULL, NULL}, 0};
    int use_joint = opt->mismatch == NH_MISMATCH_JOINT;
    nh_costs *c = NULL;
    int threads;
    nh_status st;

    *out = NULL;
    st = nh_cost_options_check(opt, err);
    if (st != NH_OK)
        return st;
    if (opt->mismatch == NH_MISMATCH_NONE)
        optimal = NULL;
    else if (!optimal)
        return nh_fail(err, NH_EINVAL, "the Mismatch cost needs optimal samples");
    if (check_source(m, input, "input", err) != NH_OK
        || (optimal && check_source(m, optimal, "optimal", err) != NH_OK))
        return err->status;
    threads = opt->threads > 0 ? opt->threads : omp_get_num_procs();

    c = nh_calloc(err, 1, sizeof *c);
    if (!c)
        return NH_ENOMEM;
    c->n_layers = m->n_layers;
    c->layer = nh_calloc(err, m->n_layers, sizeof *c->layer);
    c->neuron = nh_calloc(err, m->n_layers, sizeof *c->neuron);
    st = c->layer && c->neuron ? NH_OK : NH_ENOMEM;
    if (st == NH_OK)
        st = hist_set_init(&p, m, err);
    if (st == NH_OK && optimal)
        st = hist_set_init(&q, m, err);
    joint.threads = threads;
    if (st == NH_OK && use_joint)
        st = joint_init(&joint, m, err);
    if (st == NH_OK)
        st = run_passes(m, input, optimal, opt, threads, &p, optimal ? &q : NULL,
                        use_joint ? &joint : NULL, c, err);
    if (opt->distributed) {
        st = nh_dist_agree(st, err);
        if (st == NH_OK)
            st = nh_dist_agree(merge_ranks(m, &p, &q, use_joint ? &joint : NULL, c, err), err);
        if (st == NH_OK)
            st = finish_ranks(m, &p, optimal ? &q : NULL, use_joint ? &joint : NULL, opt,
                              threads, c, err);
    } else if (st == NH_OK) {
        st = finish_costs(m, &p, optimal ? &q : NULL, use_joint ? &joint : NULL, opt, threads,
                          c, err);
    }
    hist_set_free(&p);
    hist_set_free(&q);
    joint_free(&joint, m);
    if (st != NH_OK) {
        nh_costs_destroy(c);
        return st;
    }
    *out = c;
    return NH_OK;
}

int64_t nh_costs_samples(const nh_costs *costs)
{
    return costs->samples;
}

int64_t nh_costs_optimal_samples(const nh_costs *costs)
{
    return costs->optimal_samples;
}

size_t nh_costs_layer_count(const nh_costs *costs)
{
    return costs->n_layers;
}

nh_status nh_costs_layer(const nh_costs *costs, size_t index, nh_layer_costs *out,
                         nh_error *err)
{
    if (index >= costs->n_layers)
        return nh_fail(err, NH_EINVAL, "layer %zu out of range (%zu layers)", index,
                       costs->n_layers);
    *out = costs->layer[index];
    return NH_OK;
}

nh_status nh_costs_neurons(const nh_costs *costs, size_t index, nh_neuron_costs *out,
                           nh_error *err)
{
    const nh_neuron_results *r;

    if (index >= costs->n_layers)
        return nh_fail(err, NH_EINVAL, "layer %zu out of range (%zu layers)", index,
                       costs->n_layers);
    r = &costs->neuron[index];
    if (!r->entropy)
        return nh_fail(err, NH_EINVAL, "per-neuron results are kept by MPI rank 0 only");
    out->landauer = r->landauer_cost;
    out->mismatch = r->mismatch_cost;
    out->entropy = r->entropy;
    out->divergence = r->divergence;
    out->landauer_diff = r->landauer;
    out->mismatch_diff = r->mismatch;
    out->outside_mass = r->outside;
    return NH_OK;
}

void nh_costs_total(const nh_costs *costs, double *landauer, double *mismatch)
{
    if (landauer)
        *landauer = costs->total_landauer;
    if (mismatch)
        *mismatch = costs->total_mismatch;
}
