#include "stats/histogram.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define EMPTY_KEY INT64_MIN

/* Fibonacci hashing of a bin index into a table of 2^bits slots. */
static uint32_t slot_of(int64_t k, uint32_t cap)
{
    uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ull;

    return (uint32_t)(x >> 32) & (cap - 1);
}

static nh_status sparse_grow(nh_hist *h, nh_error *err)
{
    uint32_t cap = h->sp_cap ? h->sp_cap * 2 : 16;
    int64_t *keys = nh_alloc(err, cap, sizeof *keys);
    uint64_t *counts = nh_calloc(err, cap, sizeof *counts);

    if (!keys || !counts) {
        free(keys);
        free(counts);
        return NH_ENOMEM;
    }
    for (uint32_t i = 0; i < cap; i++)
        keys[i] = EMPTY_KEY;

    for (uint32_t i = 0; i < h->sp_cap; i++) {
        if (h->sp_keys[i] == EMPTY_KEY)
            continue;
        uint32_t s = slot_of(h->sp_keys[i], cap);
        while (keys[s] != EMPTY_KEY)
            s = (s + 1) & (cap - 1);
        keys[s] = h->sp_keys[i];
        counts[s] = h->sp_counts[i];
    }
    free(h->sp_keys);
    free(h->sp_counts);
    h->sp_keys = keys;
    h->sp_counts = counts;
    h->sp_cap = cap;
    return NH_OK;
}

static nh_status sparse_add(nh_hist *h, int64_t k, uint64_t count, nh_error *err)
{
    uint32_t s;

    /* Keep the load factor under 1/2 so that probes stay short. */
    if (2 * (h->sp_used + 1) > h->sp_cap && sparse_grow(h, err) != NH_OK)
        return NH_ENOMEM;
    s = slot_of(k, h->sp_cap);
    while (h->sp_keys[s] != EMPTY_KEY && h->sp_keys[s] != k)
        s = (s + 1) & (h->sp_cap - 1);
    if (h->sp_keys[s] == EMPTY_KEY) {
        h->sp_keys[s] = k;
        h->sp_used++;
    }
    h->sp_counts[s] += count;
    return NH_OK;
}

static uint64_t sparse_get(const nh_hist *h, int64_t k)
{
    uint32_t s;

    if (!h->sp_cap)
        return 0;
    s = slot_of(k, h->sp_cap);
    while (h->sp_keys[s] != EMPTY_KEY) {
        if (h->sp_keys[s] == k)
            return h->sp_counts[s];
        s = (s + 1) & (h->sp_cap - 1);
    }
    return 0;
}

/* Adds c to bin k without moving the window: into the dense count while it
 * has room, the rest into the table. */
static nh_status add_count(nh_hist *h, int64_t k, uint64_t c, nh_error *err)
{
    if (h->counts && k >= h->lo && k - h->lo < (int64_t)h->span) {
        uint64_t room = UINT32_MAX - h->counts[k - h->lo];
        uint64_t move = c < room ? c : room;

        h->counts[k - h->lo] += (uint32_t)move;
        c -= move;
    }
    return c ? sparse_add(h, k, c, err) : NH_OK;
}

/* After the window moved: brings the table's bins that now fall inside the
 * window into it, so that a bin is in the table only while outside the
 * window or while its dense count is saturated. */
static nh_status sparse_rehome(nh_hist *h, nh_error *err)
{
    int64_t *keys = h->sp_keys;
    uint64_t *counts = h->sp_counts;
    uint32_t cap = h->sp_cap;
    nh_status st = NH_OK;

    if (!h->sp_used)
        return NH_OK;
    h->sp_keys = NULL;
    h->sp_counts = NULL;
    h->sp_cap = h->sp_used = 0;
    for (uint32_t i = 0; i < cap && st == NH_OK; i++) {
        int64_t k = keys[i];
        uint64_t c = counts[i];

        if (k == EMPTY_KEY)
            continue;
        st = add_count(h, k, c, err);
    }
    free(keys);
    free(counts);
    return st;
}

/* Widens the dense window to hold k, with slack on the side it grows
 * towards; returns 0 when the window would exceed NH_HIST_MAX_SPAN. */
static int window_grow(nh_hist *h, int64_t k, nh_error *err, nh_status *st)
{
    int64_t lo = h->lo, hi = h->lo + h->span, new_lo, new_hi, grow;
    uint32_t *counts;

    *st = NH_OK;
    if (!h->counts) {
        lo = k;
        hi = k + 1;
    }
    if (k < lo)
        lo = k;
    if (k >= hi)
        hi = k + 1;
    if (hi - lo > NH_HIST_MAX_SPAN)
        return 0;
    grow = (hi - lo) / 2 + 8;
    new_lo = k < h->lo || !h->counts ? lo - grow : lo;
    new_hi = k >= h->lo + h->span || !h->counts ? hi + grow : hi;
    if (new_hi - new_lo > NH_HIST_MAX_SPAN) {
        int64_t extra = (NH_HIST_MAX_SPAN - (hi - lo)) / 2;
        new_lo = lo - extra;
        new_hi = hi + extra;
    }

    counts = nh_calloc(err, (size_t)(new_hi - new_lo), sizeof *counts);
    if (!counts) {
        *st = NH_ENOMEM;
        return 0;
    }
    if (h->counts)
        memcpy(counts + (h->lo - new_lo), h->counts, h->span * sizeof *counts);
    free(h->counts);
    h->counts = counts;
    h->lo = new_lo;
    h->span = (uint32_t)(new_hi - new_lo);
    *st = sparse_rehome(h, err);
    return *st == NH_OK;
}

nh_status nh_hist_add(nh_hist *h, int64_t k, nh_error *err)
{
    nh_status st;

    if (h->counts && k >= h->lo && k - h->lo < (int64_t)h->span
        && h->counts[k - h->lo] != UINT32_MAX) {
        h->counts[k - h->lo]++;
        h->n++;
        return NH_OK;
    }
    if (h->counts && k >= h->lo && k - h->lo < (int64_t)h->span) {
        /* A saturated 32-bit count spills into the hash table. */
        st = sparse_add(h, k, 1, err);
    } else if (window_grow(h, k, err, &st)) {
        h->counts[k - h->lo]++;
    } else if (st == NH_OK) {
        st = sparse_add(h, k, 1, err);
    }
    if (st == NH_OK)
        h->n++;
    return st;
}

uint64_t nh_hist_get(const nh_hist *h, int64_t k)
{
    uint64_t c = 0;

    if (h->counts && k >= h->lo && k - h->lo < (int64_t)h->span)
        c = h->counts[k - h->lo];
    return c + sparse_get(h, k);
}

nh_status nh_hist_merge(nh_hist *dst, const nh_hist *src, nh_error *err)
{
    for (uint32_t i = 0; src->counts && i < src->span; i++)
        if (src->counts[i] && add_count(dst, src->lo + i, src->counts[i], err) != NH_OK)
            return NH_ENOMEM;
    for (uint32_t i = 0; i < src->sp_cap; i++)
        if (src->sp_keys[i] != EMPTY_KEY
            && add_count(dst, src->sp_keys[i], src->sp_counts[i], err) != NH_OK)
            return NH_ENOMEM;
    dst->n += src->n;
    return NH_OK;
}

void nh_hist_clear(nh_hist *h)
{
    free(h->counts);
    free(h->sp_keys);
    free(h->sp_counts);
    memset(h, 0, sizeof *h);
}

typedef struct bin_count {
    int64_t k;
    uint64_t c;
} bin_count;

static int bin_count_cmp(const void *a, const void *b)
{
    const bin_count *x = a, *y = b;

    return x->k < y->k ? -1 : x->k > y->k;
}

/* The table's bins outside the window (a saturated window bin is reported
 * with the window), sorted; *n gets their number. NULL when there are none
 * or memory ran out (then they are visited unsorted). */
static bin_count *sparse_sorted(const nh_hist *h, size_t *n)
{
    bin_count *b;

    *n = 0;
    if (!h->sp_used || !(b = malloc(h->sp_used * sizeof *b)))
        return NULL;
    for (uint32_t i = 0; i < h->sp_cap; i++) {
        int64_t k = h->sp_keys[i];

        if (k == EMPTY_KEY)
            continue;
        if (h->counts && k >= h->lo && k - h->lo < (int64_t)h->span
            && h->counts[k - h->lo] == UINT32_MAX)
            continue;
        b[(*n)++] = (bin_count){k, h->sp_counts[i]};
    }
    qsort(b, *n, sizeof *b, bin_count_cmp);
    return b;
}

void nh_hist_visit(const nh_hist *h, nh_hist_visit_fn fn, void *data)
{
    size_t ns = 0, s = 0;
    bin_count *sp = sparse_sorted(h, &ns);

    if (h->sp_used && !sp) { /* out of memory: same bins, table order */
        for (uint32_t i = 0; i < h->sp_cap; i++)
            if (h->sp_keys[i] != EMPTY_KEY && !(h->counts && h->sp_keys[i] >= h->lo
                                                 && h->sp_keys[i] - h->lo < (int64_t)h->span))
                fn(data, h->sp_keys[i], h->sp_counts[i]);
    }
    /* Bins in increasing order, whatever the layout: sums over them then come
     * out the same after any merge. */
    for (uint32_t i = 0; h->counts && i < h->span; i++) {
        uint64_t c = h->counts[i];

        for (; s < ns && sp[s].k < h->lo + i; s++)
            fn(data, sp[s].k, sp[s].c);
        if (c == UINT32_MAX)
            c += sparse_get(h, h->lo + i);
        if (c)
            fn(data, h->lo + i, c);
    }
    for (; s < ns; s++)
        fn(data, sp[s].k, sp[s].c);
    free(sp);
}

static void count_bins(void *data, int64_t k, uint64_t c)
{
    (void)k;
    (void)c;
    (*(size_t *)data)++;
}

typedef struct summary {
    size_t occupied, singletons;
} summary;

static void add_summary(void *data, int64_t k, uint64_t c)
{
    summary *sm = data;

    (void)k;
    sm->occupied++;
    sm->singletons += c == 1;
}

void nh_hist_summary(const nh_hist *h, size_t *occupied, size_t *singletons)
{
    summary sm = {0, 0};

    nh_hist_visit(h, add_summary, &sm);
    *occupied = sm.occupied;
    *singletons = sm.singletons;
}

size_t nh_hist_serial_size(const nh_hist *h)
{
    size_t m = 0;

    nh_hist_visit(h, count_bins, &m);
    return 2 + 2 * m;
}

static void put_bin(void *data, int64_t k, uint64_t c)
{
    uint64_t **out = data;

    *(*out)++ = (uint64_t)k;
    *(*out)++ = c;
}

uint64_t *nh_hist_serialize(const nh_hist *h, uint64_t *out)
{
    uint64_t *m = out + 1;

    out[0] = (uint64_t)h->n;
    out += 2;
    nh_hist_visit(h, put_bin, &out);
    *m = (uint64_t)(out - m - 1) / 2;
    return out;
}

nh_status nh_hist_merge_serial(nh_hist *dst, const uint64_t *in, const uint64_t *end,
                               const uint64_t **next, nh_error *err)
{
    uint64_t m;

    if (end - in < 2 || (uint64_t)(end - in - 2) / 2 < in[1])
        return nh_fail(err, NH_EFORMAT, "serialised histogram is truncated");
    m = in[1];
    dst->n += (int64_t)in[0];
    in += 2;
    for (uint64_t i = 0; i < m; i++, in += 2)
        if (add_count(dst, (int64_t)in[0], in[1], err) != NH_OK)
            return NH_ENOMEM;
    *next = in;
    return NH_OK;
}

size_t nh_hist_bytes(const nh_hist *h)
{
    return (size_t)h->span * sizeof *h->counts
           + (size_t)h->sp_cap * (sizeof *h->sp_keys + sizeof *h->sp_counts);
}
