/* One neuron's histogram: counts of bin indices k = round(x / b).
 *
 * Counts live in a dense window [lo, lo + span) that grows as new bins are
 * seen; a bin that would stretch the window past NH_HIST_MAX_SPAN goes to a
 * small hash table instead, so that one outlier cannot cost megabytes.
 * Counts are integers, so merging histograms is exact. */
#ifndef NH_STATS_HISTOGRAM_H
#define NH_STATS_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "nnheat.h"

#define NH_HIST_MAX_SPAN 65536

typedef struct nh_hist {
    int64_t lo;        /* bin index of counts[0] */
    uint32_t span;     /* bins in the dense window */
    uint32_t *counts;  /* span counts, or NULL before the first bin */
    int64_t *sp_keys;  /* hash table of the bins outside the window */
    uint64_t *sp_counts;
    uint32_t sp_cap, sp_used;
    int64_t n;         /* samples counted */
} nh_hist;

/* Counts bin k once. Returns NH_ENOMEM on allocation failure (the histogram
 * is left as it was). */
nh_status nh_hist_add(nh_hist *h, int64_t k, nh_error *err);

/* The count of bin k. */
uint64_t nh_hist_get(const nh_hist *h, int64_t k);

/* Adds every count of src into dst. */
nh_status nh_hist_merge(nh_hist *dst, const nh_hist *src, nh_error *err);

/* Frees the counts; h is left empty and reusable. */
void nh_hist_clear(nh_hist *h);

/* Calls fn for every occupied bin in increasing bin order, so that sums
 * over bins do not depend on how the counts were laid out or merged. */
typedef void (*nh_hist_visit_fn)(void *data, int64_t k, uint64_t count);
void nh_hist_visit(const nh_hist *h, nh_hist_visit_fn fn, void *data);

/* Serialised counts, independent of layout: n, the number of occupied bins
 * m, then m (bin, count) pairs, all as 64-bit little-endian-in-memory words
 * (the same machine reads them back). */
size_t nh_hist_serial_size(const nh_hist *h);
uint64_t *nh_hist_serialize(const nh_hist *h, uint64_t *out);

/* Adds the counts serialised at in (not past end) into dst; *next gets the
 * word after them. */
nh_status nh_hist_merge_serial(nh_hist *dst, const uint64_t *in, const uint64_t *end,
                               const uint64_t **next, nh_error *err);

/* The occupied bins and those holding exactly one sample. */
void nh_hist_summary(const nh_hist *h, size_t *occupied, size_t *singletons);

/* Bytes held by h. */
size_t nh_hist_bytes(const nh_hist *h);

#endif
