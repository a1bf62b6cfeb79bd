/* TensorFlow.js layers models: model.json holds the Keras architecture
 * (modelTopology) and a weightsManifest, a list of groups, each naming its
 * shard files ("paths", relative to model.json) and the tensors stored in
 * them one after the other ("weights": name, shape, dtype), as
 * little-endian float32 unless quantised. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "model/keras-impl.h"

/* Bounds on what a manifest may ask for. */
#define TFJS_MAX_ELEMENTS (INT64_C(1) << 32)

int nh_tfjs_is_model_json(const cJSON *root)
{
    return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "modelTopology"));
}

/* The directory part of path, with its trailing slash ("" for none). */
static void dir_of(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;

    if (n >= size)
        n = size - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

/* Reads the shards of one manifest group, concatenated, into a new buffer. */
static nh_status read_shards(const cJSON *paths, const char *name, int group,
                             unsigned char **out, size_t *len, nh_error *err)
{
    const cJSON *p;
    unsigned char *buf = NULL;
    size_t n = 0;
    char dir[1024], path[2048];
    nh_status st = NH_OK;

    dir_of(name, dir, sizeof dir);
    if (!cJSON_IsArray(paths))
        return nh_fail(err, NH_EFORMAT, "%s: weightsManifest group %d has no paths", name,
                       group);
    cJSON_ArrayForEach(p, paths) {
        void *data;
        size_t size;
        unsigned char *grown;

        if (!cJSON_IsString(p) || strstr(p->valuestring, "://")) {
            st = nh_fail(err, NH_EUNSUPPORTED, "%s: weightsManifest group %d: shard paths must "
                         "be local file names", name, group);
            break;
        }
        snprintf(path, sizeof path, "%s%s", dir, p->valuestring);
        st = nh_read_file(path, &data, &size, err);
        if (st) {
            nh_error_prefix(err, "%s: weights shard '%s' of the manifest", name,
                            p->valuestring);
            break;
        }
        grown = realloc(buf, n + size + 1);
        if (!grown) {
            free(data);
            st = nh_fail(err, NH_ENOMEM, "out of memory reading weight shards");
            break;
        }
        buf = grown;
        memcpy(buf + n, data, size);
        n += size;
        free(data);
    }
    if (st) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return NH_OK;
}

/* The layer a weight belongs to: the path component before the weight's
 * own name ("dense_4/kernel" -> "dense_4", "sequential/dense/bias" ->
 * "dense"). */
static void layer_of(const char *weight, char *out, size_t size)
{
    const char *end = strrchr(weight, '/'), *start;
    size_t n;

    if (!end) {
        snprintf(out, size, "%s", weight);
        return;
    }
    start = end;
    while (start > weight && start[-1] != '/')
        start--;
    n = (size_t)(end - start);
    if (n >= size)
        n = size - 1;
    memcpy(out, start, n);
    out[n] = '\0';
}

static nh_kw_group *group_for(nh_kw_store *s, const char *layer, nh_error *err)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->g[i].name, layer) == 0)
            return &s->g[i];
    return nh_kw_store_add(s, layer, err);
}

/* One weight spec: its shape and the float32 data at *offset in buf. */
/* Refuses what nnheat does not read before any shard is opened: quantised
 * weights (uint8 or uint16 with min and scale, or float16) and other dtypes. */
static nh_status check_spec(const cJSON *spec, const char *name, int group, nh_error *err)
{
    const cJSON *wname = cJSON_GetObjectItemCaseSensitive(spec, "name");
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(spec, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(spec, "shape");

    if (!cJSON_IsString(wname) || !cJSON_IsArray(shape))
        return nh_fail(err, NH_EFORMAT, "%s: weightsManifest group %d: a weight without name "
                       "or shape", name, group);
    if (cJSON_GetObjectItemCaseSensitive(spec, "quantization"))
        return nh_fail(err, NH_EUNSUPPORTED, "%s: weight '%s' is quantised; nnheat reads "
                       "float32 weights only (convert without quantisation)", name,
                       wname->valuestring);
    if (dtype && (!cJSON_IsString(dtype) || strcmp(dtype->valuestring, "float32") != 0))
        return nh_fail(err, NH_EUNSUPPORTED, "%s: weight '%s' has dtype %s; nnheat reads "
                       "float32 weights only", name, wname->valuestring,
                       cJSON_IsString(dtype) ? dtype->valuestring : "?");
    return NH_OK;
}

/* One weight spec (checked by check_spec): its shape and the float32 data
 * at *offset in buf. */
static nh_status read_weight(const cJSON *spec, const unsigned char *buf, size_t len,
                             size_t *offset, const char *name, int group, nh_kw_store *s,
                             nh_error *err)
{
    const cJSON *wname = cJSON_GetObjectItemCaseSensitive(spec, "name");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(spec, "shape"), *d;
    int64_t dims[NH_MAX_DIMS], count = 1;
    int nd = 0;
    char layer[256];
    nh_kw_group *g;
    float *data;

    cJSON_ArrayForEach(d, shape) {
        if (nd >= NH_MAX_DIMS || !cJSON_IsNumber(d) || d->valuedouble < 0
            || d->valuedouble > (double)TFJS_MAX_ELEMENTS)
            return nh_fail(err, NH_EFORMAT, "%s: weight '%s' has a bad shape", name,
                           wname->valuestring);
        dims[nd] = (int64_t)d->valuedouble;
        count *= dims[nd++];
        if (count > TFJS_MAX_ELEMENTS)
            return nh_fail(err, NH_EFORMAT, "%s: weight '%s' is too large", name,
                           wname->valuestring);
    }
    if ((size_t)count * 4 > len - *offset)
        return nh_fail(err, NH_EFORMAT, "%s: the shards of weightsManifest group %d end "
                       "before weight '%s' (they hold %zu bytes, %zu needed)", name, group,
                       wname->valuestring, len, *offset + (size_t)count * 4);

    data = nh_alloc(err, (size_t)count, sizeof *data);
    if (!data)
        return NH_ENOMEM;
    for (int64_t i = 0; i < count; i++) {
        const unsigned char *p = buf + *offset + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
                     | (uint32_t)p[3] << 24;

        memcpy(&data[i], &u, sizeof u);
    }
    *offset += (size_t)count * 4;
    layer_of(wname->valuestring, layer, sizeof layer);
    g = group_for(s, layer, err);
    if (!g) {
        free(data);
        return NH_ENOMEM;
    }
    return nh_kw_group_add(g, wname->valuestring, nd, dims, data, err);
}

static nh_status read_manifest(const cJSON *manifest, const char *name, nh_kw_store *s,
                               nh_error *err)
{
    const cJSON *group;
    int gi = 0;
    nh_status st = NH_OK;

    if (!cJSON_IsArray(manifest))
        return nh_fail(err, NH_EFORMAT, "%s: no weightsManifest", name);
    cJSON_ArrayForEach(group, manifest) {
        const cJSON *weights = cJSON_GetObjectItemCaseSensitive(group, "weights"), *spec;
        unsigned char *buf = NULL;
        size_t len = 0, offset = 0;

        if (!cJSON_IsArray(weights))
            return nh_fail(err, NH_EFORMAT, "%s: weightsManifest group %d has no weights",
                           name, gi);
        cJSON_ArrayForEach(spec, weights) {
            if ((st = check_spec(spec, name, gi, err)))
                return st;
        }
        st = read_shards(cJSON_GetObjectItemCaseSensitive(group, "paths"), name, gi, &buf, &len,
                         err);
        cJSON_ArrayForEach(spec, weights) {
            if (st)
                break;
            st = read_weight(spec, buf, len, &offset, name, gi, s, err);
        }
        if (st == NH_OK && offset != len)
            st = nh_fail(err, NH_EFORMAT, "%s: the shards of weightsManifest group %d hold %zu "
                         "bytes, the weights listed %zu", name, gi, len, offset);
        free(buf);
        if (st)
            return st;
        gi++;
    }
    return NH_OK;
}

nh_status nh_tfjs_read(const char *text, size_t len, const char *name, int weights_too,
                       nh_keras_arch *arch, nh_kw_store *store, nh_error *err)
{
    cJSON *root;
    nh_status st = NH_OK;

    if (!arch->root && (st = nh_keras_arch_parse(text, len, name, NULL, arch, err)))
        return st;
    if (!weights_too)
        return NH_OK;
    root = cJSON_ParseWithLength(text, len);
    if (!root)
        return nh_fail(err, NH_EFORMAT, "%s: not valid JSON", name);
    store->match = NH_KW_MATCH_NAME;
    store->file = nh_strdup(err, name);
    st = store->file ? read_manifest(cJSON_GetObjectItemCaseSensitive(root, "weightsManifest"),
                                     name, store, err)
                     : NH_ENOMEM;
    cJSON_Delete(root);
    return st;
}
