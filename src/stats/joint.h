/* Joint histograms: counts of tuples of bins, keyed by a 128-bit hash.
 *
 * A tuple of d bin indices (d up to the size of an initial set, thousands)
 * is reduced to a 128-bit hash and only the hash is stored. Two distinct
 * tuples of one histogram share a hash with probability about m^2 / 2^129
 * for m distinct tuples (below 1e-26 for a million), so the counts are
 * those of the tuples for all practical purposes. */
#ifndef NH_STATS_JOINT_H
#define NH_STATS_JOINT_H

#include <stddef.h>
#include <stdint.h>

#include "nnheat.h"

typedef struct nh_key128 {
    uint64_t hi, lo;
} nh_key128;

/* Incremental hash of a tuple: start, add each bin in order, finish. */
typedef struct nh_tuple_hash {
    uint64_t a, b;
} nh_tuple_hash;

void nh_tuple_hash_start(nh_tuple_hash *h);
void nh_tuple_hash_add(nh_tuple_hash *h, int64_t bin);
nh_key128 nh_tuple_hash_finish(const nh_tuple_hash *h);

typedef struct nh_jhist {
    uint64_t *hi, *lo; /* keys; (0, 0) marks an empty slot */
    uint32_t *counts;
    size_t cap, used;
    int64_t n;
} nh_jhist;

/* Counts one tuple. */
nh_status nh_jhist_add(nh_jhist *h, nh_key128 key, nh_error *err);
uint32_t nh_jhist_get(const nh_jhist *h, nh_key128 key);
void nh_jhist_clear(nh_jhist *h);
/* Bytes its tuples take: 20 per distinct tuple, whatever the table's
 * layout (the table keeps up to a third more slots free). */
size_t nh_jhist_bytes(const nh_jhist *h);

/* Tuples seen exactly once. */
size_t nh_jhist_singletons(const nh_jhist *h);

/* D(p || q) over the tuples present in both, each histogram renormalised
 * over them (as nh_hist_kl with NH_KL_COMMON); *outside (may be NULL) gets
 * the share of p's mass on tuples q never saw. */
double nh_jhist_kl(const nh_jhist *p, const nh_jhist *q, double *outside);

/* Serialised counts: n, the number of tuples m, then m (hi, lo, count)
 * words. Merging adds the counts into dst. */
size_t nh_jhist_serial_size(const nh_jhist *h);
uint64_t *nh_jhist_serialize(const nh_jhist *h, uint64_t *out);
nh_status nh_jhist_merge_serial(nh_jhist *dst, const uint64_t *in, const uint64_t *end,
                                const uint64_t **next, nh_error *err);

#endif
