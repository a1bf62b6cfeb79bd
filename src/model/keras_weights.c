/* Keras files that hold weights in HDF5: `.keras` zips (libzip, read from
 * memory) and HDF5 files in the legacy layout or Keras 3's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "core/error.h"
#include "model/hdf5.h"
#include "model/keras-impl.h"

/* Zip entries larger than this are refused rather than allocated. */
#define ZIP_MAX_ENTRY ((zip_uint64_t)1 << 34)

/* --------------------------------------------------------- HDF5 stores */

/* Keras 3 weights: GROUP/NAME/vars/0, 1, ... for each layer NAME (named by
 * class and rank, see keras-impl.h). Dataset names are indices, listed by
 * HDF5 in text order ("0", "1", "10", "2"), so they are read by number. */
static nh_status read_keras3_store(nh_h5 *f, const char *root, nh_kw_store *s, nh_error *err)
{
    nh_h5_strings layers;
    nh_status st = nh_h5_list(f, root, &layers, err);

    s->match = NH_KW_MATCH_CLASS;
    for (size_t i = 0; st == NH_OK && i < layers.n; i++) {
        char path[512];
        nh_h5_strings vars = {0};
        nh_kw_group *g = nh_kw_store_add(s, layers.s[i], err);

        if (!g) {
            st = NH_ENOMEM;
            break;
        }
        snprintf(path, sizeof path, "%s/%s/vars", root, layers.s[i]);
        if (!nh_h5_exists(f, path))
            continue;
        st = nh_h5_list(f, path, &vars, err);
        for (size_t k = 0; st == NH_OK && k < vars.n; k++) {
            int64_t dims[NH_MAX_DIMS];
            float *data;
            int nd;

            snprintf(path, sizeof path, "%s/%s/vars/%zu", root, layers.s[i], k);
            st = nh_h5_read_floats(f, path, &nd, dims, &data, err);
            if (st == NH_OK) {
                snprintf(path, sizeof path, "vars/%zu", k);
                st = nh_kw_group_add(g, path, nd, dims, data, err);
            }
        }
        nh_h5_strings_free(&vars);
    }
    nh_h5_strings_free(&layers);
    return st;
}

/* Legacy weights under root: its layer_names attribute lists the layer
 * groups, each group's weight_names lists its datasets (paths relative to
 * the group, such as "dense/kernel:0" or "sequential/dense/kernel"). */
static nh_status read_legacy_store(nh_h5 *f, const char *root, nh_kw_store *s, nh_error *err)
{
    nh_h5_strings layers;
    nh_status st = nh_h5_attr_strings(f, root, "layer_names", &layers, err);

    s->match = NH_KW_MATCH_NAME;
    for (size_t i = 0; st == NH_OK && i < layers.n; i++) {
        char path[1024];
        nh_h5_strings names = {0};
        nh_kw_group *g = nh_kw_store_add(s, layers.s[i], err);

        if (!g) {
            st = NH_ENOMEM;
            break;
        }
        snprintf(path, sizeof path, "%s/%s", root, layers.s[i]);
        st = nh_h5_attr_strings(f, path, "weight_names", &names, err);
        for (size_t k = 0; st == NH_OK && k < names.n; k++) {
            int64_t dims[NH_MAX_DIMS];
            float *data;
            int nd;

            snprintf(path, sizeof path, "%s/%s/%s", root, layers.s[i], names.s[k]);
            st = nh_h5_read_floats(f, path, &nd, dims, &data, err);
            if (st == NH_OK)
                st = nh_kw_group_add(g, names.s[k], nd, dims, data, err);
        }
        nh_h5_strings_free(&names);
    }
    nh_h5_strings_free(&layers);
    return st;
}

/* Reads the weights of an open HDF5 file, in whichever layout it has. */
static nh_status read_h5_store(nh_h5 *f, nh_kw_store *s, nh_error *err)
{
    if (nh_h5_exists(f, "model_weights") && nh_h5_has_attr(f, "model_weights", "layer_names"))
        return read_legacy_store(f, "model_weights", s, err);
    if (nh_h5_has_attr(f, "", "layer_names"))
        return read_legacy_store(f, "", s, err);
    if (nh_h5_exists(f, "layers"))
        return read_keras3_store(f, "layers", s, err);
    if (nh_h5_exists(f, "_layer_checkpoint_dependencies"))
        return read_keras3_store(f, "_layer_checkpoint_dependencies", s, err);
    return nh_fail(err, NH_EFORMAT, "%s: no Keras weights (no model_weights group, layer_names "
                   "attribute or layers group)", nh_h5_name(f));
}

/* The architecture from the model_config attribute of a legacy full
 * model, with the Keras version from keras_version. */
static nh_status read_h5_arch(nh_h5 *f, const char *name, nh_keras_arch *arch, nh_error *err)
{
    nh_h5_strings config = {0}, version = {0};
    nh_status st;

    if (!nh_h5_has_attr(f, "", "model_config"))
        return nh_fail(err, NH_EINVAL, "%s holds weights only (no model_config attribute); "
                       "give the architecture separately, as a Keras model JSON or a TF.js "
                       "model.json (nnheat's --config FILE)", name);
    st = nh_h5_attr_strings(f, "", "model_config", &config, err);
    if (st == NH_OK && config.n != 1)
        st = nh_fail(err, NH_EFORMAT, "%s: model_config holds %zu strings", name, config.n);
    if (st == NH_OK && nh_h5_has_attr(f, "", "keras_version"))
        st = nh_h5_attr_strings(f, "", "keras_version", &version, err);
    if (st == NH_OK)
        st = nh_keras_arch_parse(config.s[0], strlen(config.s[0]), name,
                                 version.n ? version.s[0] : NULL, arch, err);
    nh_h5_strings_free(&config);
    nh_h5_strings_free(&version);
    return st;
}

nh_status nh_keras_read_h5(const void *data, size_t size, const char *name, nh_keras_arch *arch,
                           nh_kw_store *store, nh_error *err)
{
    nh_h5 *f;
    nh_status st = nh_h5_open(data, size, name, &f, err);

    if (st)
        return st;
    if (!arch->root)
        st = read_h5_arch(f, name, arch, err);
    if (st == NH_OK) {
        store->file = nh_strdup(err, name);
        st = store->file ? read_h5_store(f, store, err) : NH_ENOMEM;
    }
    nh_h5_close(f);
    return st;
}

/* ----------------------------------------------------------------- zip */

/* Reads zip entry `entry` into a new buffer (with a terminating NUL that
 * *len does not count); NH_EFORMAT naming the entry when it is absent. */
static nh_status zip_read_entry(zip_t *za, const char *zipname, const char *entry, char **out,
                                size_t *len, nh_error *err)
{
    zip_stat_t zs;
    zip_file_t *zf;
    zip_int64_t got;
    char *buf;

    *out = NULL;
    zip_stat_init(&zs);
    if (zip_stat(za, entry, 0, &zs) != 0)
        return nh_fail(err, NH_EFORMAT, "%s: the zip has no '%s' (not a Keras .keras file?)",
                       zipname, entry);
    if (!(zs.valid & ZIP_STAT_SIZE) || zs.size > ZIP_MAX_ENTRY || zs.size >= SIZE_MAX)
        return nh_fail(err, NH_EFORMAT, "%s: '%s' has no usable size", zipname, entry);
    buf = nh_alloc(err, (size_t)zs.size + 1, 1);
    if (!buf)
        return NH_ENOMEM;
    zf = zip_fopen(za, entry, 0);
    got = zf ? zip_fread(zf, buf, zs.size) : -1;
    if (zf)
        zip_fclose(zf);
    if (got < 0 || (zip_uint64_t)got != zs.size) {
        free(buf);
        return nh_fail(err, NH_EFORMAT, "%s: '%s' cannot be read from the zip (corrupt?)",
                       zipname, entry);
    }
    buf[zs.size] = '\0';
    *out = buf;
    *len = (size_t)zs.size;
    return NH_OK;
}

/* The keras_version of metadata.json, copied into version (empty if
 * none). */
static void zip_version(zip_t *za, const char *zipname, char *version, size_t size)
{
    char *text;
    size_t len;
    cJSON *meta;
    const cJSON *v;

    version[0] = '\0';
    if (zip_read_entry(za, zipname, "metadata.json", &text, &len, NULL) != NH_OK)
        return;
    meta = cJSON_ParseWithLength(text, len);
    v = cJSON_GetObjectItemCaseSensitive(meta, "keras_version");
    if (cJSON_IsString(v))
        snprintf(version, size, "%s", v->valuestring);
    cJSON_Delete(meta);
    free(text);
}

/* The weights of a `.keras` zip's model.weights.h5, opened from memory. */
static nh_status zip_weights(zip_t *za, const char *name, nh_kw_store *store, nh_error *err)
{
    char *h5 = NULL, path[1100];
    size_t len;
    nh_h5 *f = NULL;
    nh_status st;

    if (zip_name_locate(za, "model.weights.h5", 0) < 0
        && zip_name_locate(za, "model.weights.json", 0) >= 0)
        return nh_fail(err, NH_EUNSUPPORTED, "%s: weights sharded over several files "
                       "(model.weights.json) are not supported", name);
    st = zip_read_entry(za, name, "model.weights.h5", &h5, &len, err);
    snprintf(path, sizeof path, "%s:model.weights.h5", name);
    if (st == NH_OK)
        st = nh_h5_open(h5, len, path, &f, err);
    if (st == NH_OK) {
        store->file = nh_strdup(err, path);
        st = store->file ? read_h5_store(f, store, err) : NH_ENOMEM;
    }
    nh_h5_close(f);
    free(h5);
    return st;
}

nh_status nh_keras_read_zip(const void *data, size_t size, const char *name, nh_keras_arch *arch,
                            nh_kw_store *store, nh_error *err)
{
    zip_error_t ze;
    zip_source_t *src;
    zip_t *za;
    nh_status st = NH_OK;

    zip_error_init(&ze);
    src = zip_source_buffer_create(data, size, 0, &ze);
    za = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    if (!za) {
        st = nh_fail(err, NH_EFORMAT, "%s: not a readable zip file: %s", name,
                     zip_error_strerror(&ze));
        if (src)
            zip_source_free(src);
        zip_error_fini(&ze);
        return st;
    }
    zip_error_fini(&ze);

    if (!arch->root) {
        char version[64], *text;
        size_t len;

        zip_version(za, name, version, sizeof version);
        st = zip_read_entry(za, name, "config.json", &text, &len, err);
        if (st == NH_OK) {
            char label[1100];

            snprintf(label, sizeof label, "%s:config.json", name);
            st = nh_keras_arch_parse(text, len, label, version[0] ? version : "3", arch, err);
            free(text);
        }
    }
    if (st == NH_OK)
        st = zip_weights(za, name, store, err);
    zip_discard(za); /* read-only: nothing to write back */
    return st;
}
