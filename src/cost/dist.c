/* Splitting a run among MPI ranks: the counts of every rank are merged on
 * rank 0, exactly, since they are integers. Without MPI every function here
 * sees a world of one. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "cost/cost-impl.h"

#ifdef NH_HAVE_MPI
#include <mpi.h>

int nh_mpi_available(void)
{
    return 1;
}

static int mpi_on(void)
{
    int on = 0, done = 0;

    MPI_Initialized(&on);
    MPI_Finalized(&done);
    return on && !done;
}

void nh_mpi_world(int *rank, int *size)
{
    *rank = 0;
    *size = 1;
    if (mpi_on()) {
        MPI_Comm_rank(MPI_COMM_WORLD, rank);
        MPI_Comm_size(MPI_COMM_WORLD, size);
    }
}

nh_status nh_dist_agree(nh_status st, nh_error *err)
{
    int mine = st != NH_OK, any = mine;

    if (!mpi_on())
        return st;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any && !mine)
        return nh_fail(err, NH_EINVAL, "another MPI rank failed (see its message)");
    return st;
}

nh_status nh_dist_sum(int64_t *v, int n)
{
    if (mpi_on())
        MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    return NH_OK;
}

nh_status nh_dist_bcast(void *data, size_t bytes)
{
    if (mpi_on() && bytes)
        MPI_Bcast(data, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
    return NH_OK;
}

/* Sends each rank's serialised words to rank 0, which hands them to merge
 * in rank order. Every rank learns whether all went well. */
static nh_status gather(uint64_t *words, size_t n, void *set, size_t count,
                        nh_status (*merge)(void *, size_t, const uint64_t *, const uint64_t *,
                                           nh_error *),
                        nh_error *err)
{
    int rank, size;
    nh_status st = NH_OK;

    nh_mpi_world(&rank, &size);
    if (rank != 0) {
        uint64_t len = n;

        MPI_Send(&len, 1, MPI_UINT64_T, 0, 1, MPI_COMM_WORLD);
        for (size_t off = 0; off < n; off += 1u << 27)
            MPI_Send(words + off, (int)(n - off < (1u << 27) ? n - off : (1u << 27)),
                     MPI_UINT64_T, 0, 2, MPI_COMM_WORLD);
        return nh_dist_agree(NH_OK, err);
    }
    for (int r = 1; r < size; r++) {
        uint64_t len;
        uint64_t *buf;

        MPI_Recv(&len, 1, MPI_UINT64_T, r, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        buf = malloc((len ? len : 1) * sizeof *buf);
        for (size_t off = 0; off < len; off += 1u << 27) {
            int part = (int)(len - off < (1u << 27) ? len - off : (1u << 27));

            /* receive even without memory, so that the sender is not left
             * waiting; the run then fails on every rank */
            MPI_Recv(buf ? buf + off : words, buf ? part : 0, MPI_UINT64_T, r, 2,
                     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
        if (!buf && st == NH_OK)
            st = nh_fail(err, NH_ENOMEM, "out of memory receiving counts from rank %d", r);
        if (buf && st == NH_OK)
            st = merge(set, count, buf, buf + len, err);
        free(buf);
    }
    return nh_dist_agree(st, err);
}

static nh_status merge_hists(void *set, size_t count, const uint64_t *in, const uint64_t *end,
                             nh_error *err)
{
    nh_hist *h = set;

    for (size_t j = 0; j < count; j++)
        if (nh_hist_merge_serial(&h[j], in, end, &in, err) != NH_OK)
            return err ? err->status : NH_EFORMAT;
    return NH_OK;
}

static nh_status merge_jhists(void *set, size_t count, const uint64_t *in, const uint64_t *end,
                              nh_error *err)
{
    nh_jhist *h = set;

    for (size_t j = 0; j < count; j++)
        if (nh_jhist_merge_serial(&h[j], in, end, &in, err) != NH_OK)
            return err ? err->status : NH_EFORMAT;
    return NH_OK;
}

/* Serialises count histograms of one kind end to end, then gathers. */
typedef struct serial_ops {
    size_t (*size)(const void *set, size_t j);
    uint64_t *(*put)(const void *set, size_t j, uint64_t *out);
    nh_status (*merge)(void *, size_t, const uint64_t *, const uint64_t *, nh_error *);
} serial_ops;

static nh_status serialise_gather(void *set, size_t count, const serial_ops *ops,
                                  nh_error *err)
{
    size_t n = 0;
    uint64_t *words, *w;
    nh_status st;

    for (size_t j = 0; j < count; j++)
        n += ops->size(set, j);
    words = malloc((n ? n : 1) * sizeof *words);
    if (!words)
        return nh_dist_agree(nh_fail(err, NH_ENOMEM, "out of memory serialising counts"),
                             err);
    w = words;
    for (size_t j = 0; j < count; j++)
        w = ops->put(set, j, w);
    st = gather(words, n, set, count, ops->merge, err);
    free(words);
    return st;
}

static size_t hist_size(const void *set, size_t j)
{
    return nh_hist_serial_size((const nh_hist *)set + j);
}

static uint64_t *hist_put(const void *set, size_t j, uint64_t *out)
{
    return nh_hist_serialize((const nh_hist *)set + j, out);
}

static size_t jhist_size(const void *set, size_t j)
{
    return nh_jhist_serial_size((const nh_jhist *)set + j);
}

static uint64_t *jhist_put(const void *set, size_t j, uint64_t *out)
{
    return nh_jhist_serialize((const nh_jhist *)set + j, out);
}

nh_status nh_dist_merge_hists(nh_hist *h, size_t count, nh_error *err)
{
    static const serial_ops ops = {hist_size, hist_put, merge_hists};

    return serialise_gather(h, count, &ops, err);
}

nh_status nh_dist_merge_jhists(nh_jhist *h, size_t count, nh_error *err)
{
    static const serial_ops ops = {jhist_size, jhist_put, merge_jhists};

    return serialise_gather(h, count, &ops, err);
}

#else /* no MPI: a world of one */

int nh_mpi_available(void)
{
    return 0;
}

void nh_mpi_world(int *rank, int *size)
{
    *rank = 0;
    *size = 1;
}

nh_status nh_dist_agree(nh_status st, nh_error *err)
{
    (void)err;
    return st;
}

nh_status nh_dist_sum(int64_t *v, int n)
{
    (void)v;
    (void)n;
    return NH_OK;
}

nh_status nh_dist_bcast(void *data, size_t bytes)
{
    (void)data;
    (void)bytes;
    return NH_OK;
}

nh_status nh_dist_merge_hists(nh_hist *h, size_t count, nh_error *err)
{
    (void)h;
    (void)count;
    (void)err;
    return NH_OK;
}

nh_status nh_dist_merge_jhists(nh_jhist *h, size_t count, nh_error *err)
{
    (void)h;
    (void)count;
    (void)err;
    return NH_OK;
}
#endif
