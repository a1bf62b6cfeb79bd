/* Running a batch split among threads, one executor per thread.
 *
 * BLAS runs single-threaded inside each executor and the threads work on
 * disjoint samples, so every sample's activations are computed by the same
 * sequence of float operations whatever the thread count: results do not
 * depend on how the work is split. */
#ifndef NH_NN_SPLIT_H
#define NH_NN_SPLIT_H

#include "nn/exec.h"

typedef struct nh_split nh_split;

/* Executors for up to max_batch samples at a time over `threads` threads. */
nh_status nh_split_create(const nh_graph *g, size_t max_batch, int threads, nh_split **out,
                          nh_error *err);
void nh_split_destroy(nh_split *s);

/* Runs n samples (input: n times in_size floats). Errors name the node and
 * come from the lowest failing chunk. */
nh_status nh_split_run(nh_split *s, const float *input, size_t n, size_t in_size,
                       nh_error *err);

/* The chunks of the last run, in sample order: chunk c covers *count
 * samples from *first (relative to the batch) and value v's data is
 * returned. */
int nh_split_chunks(const nh_split *s);
const float *nh_split_value(const nh_split *s, int c, int v, size_t *first, size_t *count);

#endif
