/* Generated samples: "normal:MU,SIGMA" and "uniform:A,B".
 *
 * Value j of sample i is a pure function of (seed, stream, i, j): a
 * counter-based generator, so that the samples do not depend on the batch
 * size, on how a source is split among workers, and nh_source_set_range can
 * start anywhere at no cost.
 *
 * The bits come from the SplitMix64 output function (Steele, Lea & Flood,
 * "Fast splittable pseudorandom number generators", OOPSLA 2014; mixing
 * constants of Stafford's variant 13): key = mix(mix(seed) + (stream + 1)
 * G), then sample i has the state h_i = mix(key + (i + 1) G2), and its k-th
 * uniform is mix(h_i + (k + 1) G), the SplitMix64 sequence seeded with h_i.
 * Uniform doubles take the top 53 bits, shifted by half a step so that they
 * lie in the open interval (0, 1). Normal values use Box-Muller on the pair
 * of uniforms (2p, 2p + 1): value 2p takes the cosine and 2p + 1 the sine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/source-impl.h"

#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)  /* 2^64 / golden ratio, odd */
#define GOLDEN2 UINT64_C(0xd1b54a32d192ed03) /* another odd constant, for i */
#define NH_TWO_PI 6.283185307179586476925286766559

typedef enum gen_kind { GEN_NORMAL, GEN_UNIFORM } gen_kind;

typedef struct gen_state {
    gen_kind kind;
    double a, b; /* MU, SIGMA or A, B */
    uint64_t key;
} gen_state;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The k-th uniform of the sample with state h, in (0, 1). */
static double uniform01(uint64_t h, uint64_t k)
{
    return ((double)(mix64(h + (k + 1) * GOLDEN) >> 11) + 0.5) * 0x1p-53;
}

static void gen_close(void *state)
{
    free(state);
}

static nh_status gen_seek(nh_source *src, int64_t sample, nh_error *err)
{
    return NH_OK;
}

/* Fills out[0..size) with the values of sample i (before scale and shift). */
static void gen_sample(const gen_state *g, uint64_t i, double *out, size_t size)
{
    uint64_t h = mix64(g->key + (i + 1) * GOLDEN2);

    if (g->kind == GEN_UNIFORM) {
        for (size_t j = 0; j < size; j++)
            out[j] = g->a + (g->b - g->a) * uniform01(h, j);
        return;
    }
    for (size_t j = 0; j < size; j += 2) {
        double r = sqrt(-2.0 * log(uniform01(h, j)));
        double t = NH_TWO_PI * uniform01(h, j + 1);

        out[j] = g->a + g->b * r * cos(t);
        if (j + 1 < size)
            out[j + 1] = g->a + g->b * r * sin(t);
    }
}

static nh_status gen_read(nh_source *src, float *buf, size_t n, size_t *n_read, nh_error *err)
{
    const gen_state *g = src->state;
    size_t size = src->sample_size;
    double block[256], *values = block;

    *n_read = 0;
    if (size == 0)
        return nh_fail(err, NH_EINVAL,
                       "%s: the generator has no sample shape yet (nh_source_set_shape)",
                       src->name);
    if (size > sizeof block / sizeof block[0] && !(values = nh_alloc(err, size, sizeof *values)))
        return NH_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        float *out = buf + k * size;

        gen_sample(g, (uint64_t)(src->pos + (int64_t)k), values, size);
        for (size_t j = 0; j < size; j++)
            out[j] = (float)(values[j] * src->opt.scale + src->opt.shift);
    }
    if (values != block)
        free(values);
    *n_read = n;
    return NH_OK;
}

static const nh_source_reader gen_reader = {gen_seek, gen_read, gen_close};

int nh_generator_spec(const char *spec)
{
    return strncmp(spec, "normal:", 7) == 0 || strncmp(spec, "uniform:", 8) == 0;
}

/* Parses the number in [s, end) with optional blanks around it. */
static int parse_param(const char *s, const char *end, double *v)
{
    char tmp[64], *stop;
    size_t n;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    n = (size_t)(end - s);
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *v = strtod(tmp, &stop);
    return *stop == '\0' && isfinite(*v);
}

nh_status nh_generator_open(nh_source *src, const char *spec, nh_error *err)
{
    gen_kind kind = strncmp(spec, "normal:", 7) == 0 ? GEN_NORMAL : GEN_UNIFORM;
    const char *args = strchr(spec, ':') + 1, *comma = strchr(args, ',');
    const char *form = kind == GEN_NORMAL ? "normal:MU,SIGMA with finite MU and SIGMA > 0"
                                          : "uniform:A,B with finite A < B";
    double a, b;
    gen_state *g;

    if (!comma || !parse_param(args, comma, &a) ||
        !parse_param(comma + 1, comma + 1 + strlen(comma + 1), &b) ||
        (kind == GEN_NORMAL && !(b > 0)) || (kind == GEN_UNIFORM && !(a < b)))
        return nh_fail(err, NH_EINVAL, "bad generator '%s': expected %s", spec, form);
    if (src->opt.limit < 1)
        return nh_fail(err, NH_EINVAL, "%s: a generator needs a sample count (-n)", spec);

    g = nh_calloc(err, 1, sizeof *g);
    if (!g)
        return NH_ENOMEM;
    g->kind = kind;
    g->a = a;
    g->b = b;
    g->key = mix64(mix64(src->opt.seed) + (src->opt.stream + 1) * GOLDEN);
    src->reader = &gen_reader;
    src->state = g;
    src->is_generator = 1;
    src->file_count = src->opt.limit;
    src->file_ndim = 0;
    return NH_OK;
}
