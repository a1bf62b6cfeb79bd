#include "nn/split.h"

#include <stdlib.h>

#include <cblas.h>

#include "core/error.h"

struct nh_split {
    nh_exec **ex;
    int n_ex;
    size_t per_chunk;
    int chunks;            /* used by the last run */
    size_t first[64], count[64];
};

#define NH_SPLIT_MAX 64

void nh_split_destroy(nh_split *s)
{
    if (!s)
        return;
    for (int i = 0; s->ex && i < s->n_ex; i++)
        nh_exec_destroy(s->ex[i]);
    free(s->ex);
    free(s);
}

nh_status nh_split_create(const nh_graph *g, size_t max_batch, int threads, nh_split **out,
                          nh_error *err)
{
    nh_split *s;

    *out = NULL;
    if (threads < 1)
        threads = 1;
    if (threads > NH_SPLIT_MAX)
        threads = NH_SPLIT_MAX;
    if ((size_t)threads > max_batch)
        threads = (int)max_batch;
    s = nh_calloc(err, 1, sizeof *s);
    if (!s)
        return NH_ENOMEM;
    s->per_chunk = (max_batch + (size_t)threads - 1) / (size_t)threads;
    s->ex = nh_calloc(err, (size_t)threads, sizeof *s->ex);
    if (!s->ex) {
        free(s);
        return NH_ENOMEM;
    }
    s->n_ex = threads;
    for (int i = 0; i < threads; i++) {
        if (nh_exec_create(g, s->per_chunk, &s->ex[i], err) != NH_OK) {
            nh_split_destroy(s);
            return err ? err->status : NH_ENOMEM;
        }
    }
    /* Parallelism comes from the chunks; a threaded BLAS would also make the
     * float sums depend on the thread count. */
    openblas_set_num_threads(1);
    *out = s;
    return NH_OK;
}

nh_status nh_split_run(nh_split *s, const float *input, size_t n, size_t in_size,
                       nh_error *err)
{
    nh_status st[NH_SPLIT_MAX];
    nh_error errs[NH_SPLIT_MAX];
    size_t per = (n + (size_t)s->n_ex - 1) / (size_t)s->n_ex;

    if (per < 1)
        per = 1;
    if (per > s->per_chunk)
        return nh_fail(err, NH_EINVAL, "batch of %zu samples exceeds the %zu prepared", n,
                       s->per_chunk * (size_t)s->n_ex);
    s->chunks = 0;
    for (size_t first = 0; first < n; first += per) {
        s->first[s->chunks] = first;
        s->count[s->chunks] = n - first < per ? n - first : per;
        s->chunks++;
    }

#pragma omp parallel for schedule(static, 1) num_threads(s->chunks)
    for (int c = 0; c < s->chunks; c++) {
        errs[c].status = NH_OK;
        st[c] = nh_exec_run(s->ex[c], input + s->first[c] * in_size, s->count[c], &errs[c]);
    }

    for (int c = 0; c < s->chunks; c++) {
        if (st[c] != NH_OK) {
            if (err)
                *err = errs[c];
            return st[c];
        }
    }
    return NH_OK;
}

int nh_split_chunks(const nh_split *s)
{
    return s->chunks;
}

const float *nh_split_value(const nh_split *s, int c, int v, size_t *first, size_t *count)
{
    *first = s->first[c];
    *count = s->count[c];
    return nh_exec_value(s->ex[c], v);
}
