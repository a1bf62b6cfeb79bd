#include "stats/joint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* The finaliser of MurmurHash3 (x64): a bijection that spreads every input
 * bit over the whole word. */
static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

void nh_tuple_hash_start(nh_tuple_hash *h)
{
    h->a = 0x243F6A8885A308D3ull; /* digits of pi: arbitrary, fixed */
    h->b = 0x13198A2E03707344ull;
}

/* Two chains with different multipliers and rotations, each mixing the
 * running state with the next bin, so that the 128 bits are not two copies
 * of one 64-bit hash. */
void nh_tuple_hash_add(nh_tuple_hash *h, int64_t bin)
{
    uint64_t k = (uint64_t)bin;

    h->a = fmix64(h->a ^ (k * 0x87c37b91114253d5ull));
    h->a = (h->a << 27 | h->a >> 37) * 5 + 0x52dce729;
    h->b = fmix64(h->b + (k * 0x4cf5ad432745937full) + 0x38495ab5);
    h->b = (h->b << 31 | h->b >> 33) * 5 + 0x0e5c5b47;
}

nh_key128 nh_tuple_hash_finish(const nh_tuple_hash *h)
{
    nh_key128 key = {fmix64(h->a + h->b), fmix64(h->b ^ (h->a >> 1))};

    if (key.hi == 0 && key.lo == 0) /* (0, 0) marks empty slots */
        key.lo = 1;
    return key;
}

static size_t slot_of(nh_key128 k, size_t cap)
{
    return (size_t)(k.lo ^ (k.hi >> 17)) & (cap - 1);
}

static size_t find(const nh_jhist *h, nh_key128 k)
{
    size_t s = slot_of(k, h->cap);

    while ((h->hi[s] || h->lo[s]) && (h->hi[s] != k.hi || h->lo[s] != k.lo))
        s = (s + 1) & (h->cap - 1);
    return s;
}

static nh_status grow(nh_jhist *h, nh_error *err)
{
    nh_jhist g = {0};

    g.cap = h->cap ? h->cap * 2 : 8;
    g.hi = nh_calloc(err, g.cap, sizeof *g.hi);
    g.lo = nh_calloc(err, g.cap, sizeof *g.lo);
    g.counts = nh_calloc(err, g.cap, sizeof *g.counts);
    if (!g.hi || !g.lo || !g.counts) {
        nh_jhist_clear(&g);
        return NH_ENOMEM;
    }
    for (size_t i = 0; i < h->cap; i++) {
        nh_key128 k = {h->hi[i], h->lo[i]};
        size_t s;

        if (!k.hi && !k.lo)
            continue;
        s = find(&g, k);
        g.hi[s] = k.hi;
        g.lo[s] = k.lo;
        g.counts[s] = h->counts[i];
    }
    g.used = h->used;
    g.n = h->n;
    nh_jhist_clear(h);
    *h = g;
    return NH_OK;
}

static nh_status add_count(nh_jhist *h, nh_key128 key, uint64_t c, nh_error *err)
{
    size_t s;

    /* load factor at most 3/4 */
    if (4 * (h->used + 1) > 3 * h->cap && grow(h, err) != NH_OK)
        return NH_ENOMEM;
    s = find(h, key);
    if (!h->hi[s] && !h->lo[s]) {
        h->hi[s] = key.hi;
        h->lo[s] = key.lo;
        h->used++;
    }
    if (c > UINT32_MAX - h->counts[s])
        return nh_fail(err, NH_EINVAL, "a joint histogram count passed 2^32 - 1");
    h->counts[s] += (uint32_t)c;
    h->n += (int64_t)c;
    return NH_OK;
}

nh_status nh_jhist_add(nh_jhist *h, nh_key128 key, nh_error *err)
{
    return add_count(h, key, 1, err);
}

uint32_t nh_jhist_get(const nh_jhist *h, nh_key128 key)
{
    size_t s;

    if (!h->cap)
        return 0;
    s = find(h, key);
    return h->hi[s] || h->lo[s] ? h->counts[s] : 0;
}

void nh_jhist_clear(nh_jhist *h)
{
    free(h->hi);
    free(h->lo);
    free(h->counts);
    memset(h, 0, sizeof *h);
}

size_t nh_jhist_bytes(const nh_jhist *h)
{
    return h->used * (sizeof *h->hi + sizeof *h->lo + sizeof *h->counts);
}

size_t nh_jhist_singletons(const nh_jhist *h)
{
    size_t n = 0;

    for (size_t i = 0; i < h->cap; i++)
        n += h->counts[i] == 1;
    return n;
}

typedef struct key_count {
    uint64_t hi, lo;
    uint32_t c;
} key_count;

static int key_count_cmp(const void *a, const void *b)
{
    const key_count *x = a, *y = b;

    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The entries of h sorted by key: iteration that does not depend on the
 * order in which tuples were inserted or merged. NULL if h is empty or
 * memory ran out. */
static key_count *sorted_entries(const nh_jhist *h)
{
    key_count *e = h->used ? malloc(h->used * sizeof *e) : NULL;
    size_t n = 0;

    if (!e)
        return NULL;
    for (size_t i = 0; i < h->cap; i++)
        if (h->hi[i] || h->lo[i])
            e[n++] = (key_count){h->hi[i], h->lo[i], h->counts[i]};
    qsort(e, n, sizeof *e, key_count_cmp);
    return e;
}

double nh_jhist_kl(const nh_jhist *p, const nh_jhist *q, double *outside)
{
    double pc = 0, qc = 0, sum = 0;
    key_count *e;

    if (outside)
        *outside = p->n > 0 ? 1.0 : 0.0;
    if (p->n <= 0 || q->n <= 0 || !(e = sorted_entries(p)))
        return 0.0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < p->used; i++) {
            nh_key128 k = {e[i].hi, e[i].lo};
            uint32_t cq = nh_jhist_get(q, k);

            if (!cq)
                continue;
            if (pass == 0) {
                pc += e[i].c;
                qc += cq;
            } else {
                double pp = e[i].c / pc, qq = cq / qc;

                sum += pp * log(pp / qq);
            }
        }
        if (pc <= 0)
            break;
    }
    free(e);
    if (outside)
        *outside = 1.0 - pc / (double)p->n;
    return sum > 0 ? sum : 0.0;
}

size_t nh_jhist_serial_size(const nh_jhist *h)
{
    return 2 + 3 * h->used;
}

uint64_t *nh_jhist_serialize(const nh_jhist *h, uint64_t *out)
{
    *out++ = (uint64_t)h->n;
    *out++ = h->used;
    for (size_t i = 0; i < h->cap; i++) {
        if (!h->hi[i] && !h->lo[i])
            continue;
        *out++ = h->hi[i];
        *out++ = h->lo[i];
        *out++ = h->counts[i];
    }
    return out;
}

nh_status nh_jhist_merge_serial(nh_jhist *dst, const uint64_t *in, const uint64_t *end,
                                const uint64_t **next, nh_error *err)
{
    uint64_t m;

    if (end - in < 2 || (uint64_t)(end - in - 2) / 3 < in[1])
        return nh_fail(err, NH_EFORMAT, "serialised joint histogram is truncated");
    m = in[1];
    in += 2;
    for (uint64_t i = 0; i < m; i++, in += 3) {
        nh_key128 k = {in[0], in[1]};
        nh_status st = add_count(dst, k, in[2], err);

        if (st != NH_OK)
            return st;
    }
    *next = in;
    return NH_OK;
}
