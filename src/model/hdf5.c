/* HDF5 files as Keras writes them, read with libhdf5 from memory. */
#include "model/hdf5.h"

#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include <hdf5.h>

#include "core/error.h"

/* Bounds on what a file may ask us to allocate. */
#define H5_MAX_ELEMENTS (INT64_C(1) << 32)
#define H5_MAX_STRINGS (1u << 24)
#define H5_MAX_STRING_BYTES ((size_t)1 << 30)

/* The caller's buffer, which libhdf5's core driver reads in place. */
typedef struct image {
    const void *data;
    size_t size;
} image;

struct nh_h5 {
    char *name;
    hid_t file;
    image im;
    H5E_auto2_t saved_func; /* libhdf5 prints its error stack unless told not */
    void *saved_data;
};

static const unsigned char hdf5_magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

int nh_h5_is_hdf5(const void *data, size_t size)
{
    for (size_t off = 0; off + 8 <= size; off = off ? 2 * off : 512)
        if (memcmp((const unsigned char *)data + off, hdf5_magic, 8) == 0)
            return 1;
    return 0;
}

/* File image callbacks that hand the caller's buffer around instead of
 * copying it (libhdf5's default): "allocating" an image of its size gives
 * the buffer itself, copying it onto itself does nothing, and nothing is
 * freed. The file is opened read-only, so the buffer is never written or
 * resized. (H5LTopen_file_image does the same but leaks its bookkeeping.) */
static void *image_malloc(size_t size, H5FD_file_image_op_t op, void *udata)
{
    const image *im = udata;

    (void)op;
    return size == im->size ? (void *)(uintptr_t)im->data : NULL;
}

static void *image_memcpy(void *dest, const void *src, size_t size, H5FD_file_image_op_t op,
                          void *udata)
{
    const image *im = udata;

    (void)op;
    return dest == im->data && src == im->data && size == im->size ? dest : NULL;
}

static void *image_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)ptr, (void)size, (void)op, (void)udata;
    return NULL;
}

static herr_t image_free(void *ptr, H5FD_file_image_op_t op, void *udata)
{
    (void)ptr, (void)op, (void)udata;
    return 0;
}

static void *udata_copy(void *udata)
{
    return udata;
}

static herr_t udata_free(void *udata)
{
    (void)udata;
    return 0;
}

/* Opens f->im read-only with the core (memory) driver. */
static hid_t open_image(nh_h5 *f)
{
    H5FD_file_image_callbacks_t cb = {image_malloc, image_memcpy, image_realloc, image_free,
                                      udata_copy,   udata_free,   &f->im};
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1;
    char name[64];

    /* The core driver wants a file name, unique among open files. */
    snprintf(name, sizeof name, "nnheat-image-%p", (void *)f);
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0
        && H5Pset_file_image_callbacks(fapl, &cb) >= 0
        && H5Pset_file_image(fapl, (void *)(uintptr_t)f->im.data, f->im.size) >= 0)
        file = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return file;
}

nh_status nh_h5_open(const void *data, size_t size, const char *name, nh_h5 **out,
                     nh_error *err)
{
    nh_h5 *f;

    *out = NULL;
    f = nh_calloc(err, 1, sizeof *f);
    if (!f)
        return NH_ENOMEM;
    f->name = nh_strdup(err, name ? name : "HDF5 file");
    if (!f->name) {
        free(f);
        return NH_ENOMEM;
    }
    f->file = -1;
    H5Eget_auto2(H5E_DEFAULT, &f->saved_func, &f->saved_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    f->im = (image){data, size};
    f->file = size >= 8 ? open_image(f) : -1;
    if (f->file < 0) {
        nh_fail(err, NH_EFORMAT, "%s: not a readable HDF5 file (truncated or corrupt?)",
                f->name);
        nh_h5_close(f);
        return NH_EFORMAT;
    }
    *out = f;
    return NH_OK;
}

void nh_h5_close(nh_h5 *f)
{
    if (!f)
        return;
    if (f->file >= 0)
        H5Fclose(f->file);
    H5Eset_auto2(H5E_DEFAULT, f->saved_func, f->saved_data);
    free(f->name);
    free(f);
}

const char *nh_h5_name(const nh_h5 *f)
{
    return f->name;
}

/* Whether every component of path names a link, and the last an object
 * (H5Lexists needs the parents to exist). */
static int path_valid(hid_t file, const char *path)
{
    char buf[1024];
    size_t n = strlen(path);

    if (n >= sizeof buf)
        return 0;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (H5Lexists(file, buf, H5P_DEFAULT) <= 0)
            return 0;
        buf[i] = path[i];
    }
    return H5Oexists_by_name(file, path, H5P_DEFAULT) > 0;
}

int nh_h5_exists(nh_h5 *f, const char *path)
{
    if (!path[0] || strcmp(path, "/") == 0)
        return 1;
    return path_valid(f->file, path);
}

void nh_h5_strings_free(nh_h5_strings *l)
{
    for (size_t i = 0; l->s && i < l->n; i++)
        free(l->s[i]);
    free(l->s);
    l->s = NULL;
    l->n = 0;
}

/* Appends a copy of the len bytes at s (no terminator needed). */
static nh_status strings_push(nh_h5_strings *l, const char *s, size_t len, nh_error *err)
{
    char **p = realloc(l->s, (l->n + 1) * sizeof *p);
    char *c;

    if (!p)
        return nh_fail(err, NH_ENOMEM, "out of memory reading strings");
    l->s = p;
    c = nh_alloc(err, len + 1, 1);
    if (!c)
        return NH_ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    l->s[l->n++] = c;
    return NH_OK;
}

/* Variable-length strings, converted by libhdf5 into char pointers that it
 * allocates and we reclaim. */
static nh_status read_vlen(hid_t a, hid_t ftype, hid_t space, size_t n, nh_h5_strings *out,
                           nh_error *err)
{
    hid_t mem = H5Tcopy(H5T_C_S1);
    char **buf = nh_calloc(err, n, sizeof *buf);
    nh_status st = NH_OK;

    if (!buf || mem < 0 || H5Tset_size(mem, H5T_VARIABLE) < 0
        || H5Tset_cset(mem, H5Tget_cset(ftype)) < 0) {
        st = buf ? nh_fail(err, NH_EFORMAT, "string type") : NH_ENOMEM;
        goto done;
    }
    if (H5Aread(a, mem, buf) < 0) {
        st = nh_fail(err, NH_EFORMAT, "its strings cannot be read");
        goto done;
    }
    for (size_t i = 0; i < n && st == NH_OK; i++)
        st = strings_push(out, buf[i] ? buf[i] : "", buf[i] ? strlen(buf[i]) : 0, err);
    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, buf);
done:
    free(buf);
    if (mem >= 0)
        H5Tclose(mem);
    return st;
}

/* Fixed-length strings, read as stored: each ends at its first NUL or at
 * its length; space-padded ones lose their trailing spaces. */
static nh_status read_fixed(hid_t a, hid_t ftype, size_t n, nh_h5_strings *out, nh_error *err)
{
    size_t len = H5Tget_size(ftype);
    int spaces = H5Tget_strpad(ftype) == H5T_STR_SPACEPAD;
    char *buf;
    nh_status st = NH_OK;

    if (len == 0 || len > H5_MAX_STRING_BYTES / n)
        return nh_fail(err, NH_EFORMAT, "%zu strings of %zu bytes", n, len);
    buf = nh_alloc(err, n, len);
    if (!buf)
        return NH_ENOMEM;
    if (H5Aread(a, ftype, buf) < 0) {
        free(buf);
        return nh_fail(err, NH_EFORMAT, "its strings cannot be read");
    }
    for (size_t i = 0; i < n && st == NH_OK; i++) {
        const char *s = buf + i * len;
        size_t k = 0;

        while (k < len && s[k])
            k++;
        while (spaces && k > 0 && s[k - 1] == ' ')
            k--;
        st = strings_push(out, s, k, err);
    }
    free(buf);
    return st;
}

/* Appends the strings of attribute attr of object obj to out. */
static nh_status read_attr(hid_t obj, const char *attr, nh_h5_strings *out, nh_error *err)
{
    hid_t a = H5Aopen(obj, attr, H5P_DEFAULT), type = -1, space = -1;
    hssize_t n;
    nh_status st = NH_OK;

    if (a < 0)
        return nh_fail(err, NH_EFORMAT, "cannot be opened");
    type = H5Aget_type(a);
    space = H5Aget_space(a);
    if (type < 0 || space < 0) {
        st = nh_fail(err, NH_EFORMAT, "has no type or dataspace");
        goto done;
    }
    n = H5Sget_simple_extent_type(space) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
    if (n < 0 || (size_t)n > H5_MAX_STRINGS) {
        st = nh_fail(err, NH_EFORMAT, "holds %lld elements", (long long)n);
        goto done;
    }
    if (n == 0)
        goto done;
    if (H5Tget_class(type) != H5T_STRING) {
        st = nh_fail(err, NH_EFORMAT, "holds %lld values that are not strings", (long long)n);
        goto done;
    }
    if (H5Tis_variable_str(type) > 0)
        st = read_vlen(a, type, space, (size_t)n, out, err);
    else
        st = read_fixed(a, type, (size_t)n, out, err);
done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(a);
    return st;
}

static hid_t open_object(nh_h5 *f, const char *path)
{
    if (!nh_h5_exists(f, path))
        return -1;
    return H5Oopen(f->file, path[0] ? path : "/", H5P_DEFAULT);
}

int nh_h5_has_attr(nh_h5 *f, const char *path, const char *attr)
{
    hid_t obj = open_object(f, path);
    char split[256];
    int has;

    if (obj < 0)
        return 0;
    snprintf(split, sizeof split, "%s0", attr);
    has = H5Aexists(obj, attr) > 0 || H5Aexists(obj, split) > 0;
    H5Oclose(obj);
    return has;
}

nh_status nh_h5_attr_strings(nh_h5 *f, const char *path, const char *attr, nh_h5_strings *out,
                             nh_error *err)
{
    hid_t obj = open_object(f, path);
    nh_status st = NH_OK;
    char part[256];

    memset(out, 0, sizeof *out);
    if (obj < 0)
        return nh_fail(err, NH_EFORMAT, "%s: no object '%s'", f->name, path);
    if (H5Aexists(obj, attr) > 0) {
        st = read_attr(obj, attr, out, err);
    } else {
        /* Keras splits an attribute over 64 KiB into attr0, attr1, ... */
        int k = 0;

        for (;; k++) {
            snprintf(part, sizeof part, "%s%d", attr, k);
            if (H5Aexists(obj, part) <= 0)
                break;
            st = read_attr(obj, part, out, err);
            if (st)
                break;
        }
        if (k == 0)
            st = nh_fail(err, NH_EFORMAT, "%s: '%s' has no attribute '%s'", f->name,
                         path[0] ? path : "/", attr);
        else if (st)
            nh_error_prefix(err, "%s: attribute '%s' of '%s'", f->name, part,
                            path[0] ? path : "/");
        H5Oclose(obj);
        if (st)
            nh_h5_strings_free(out);
        return st;
    }
    H5Oclose(obj);
    if (st) {
        nh_error_prefix(err, "%s: attribute '%s' of '%s'", f->name, attr, path[0] ? path : "/");
        nh_h5_strings_free(out);
    }
    return st;
}

nh_status nh_h5_list(nh_h5 *f, const char *path, nh_h5_strings *out, nh_error *err)
{
    hid_t g = nh_h5_exists(f, path) ? H5Gopen2(f->file, path[0] ? path : "/", H5P_DEFAULT) : -1;
    H5G_info_t info;
    nh_status st = NH_OK;

    memset(out, 0, sizeof *out);
    if (g < 0)
        return nh_fail(err, NH_EFORMAT, "%s: no group '%s'", f->name, path);
    if (H5Gget_info(g, &info) < 0 || info.nlinks > H5_MAX_STRINGS) {
        H5Gclose(g);
        return nh_fail(err, NH_EFORMAT, "%s: group '%s' cannot be listed", f->name, path);
    }
    for (hsize_t i = 0; i < info.nlinks && st == NH_OK; i++) {
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0,
                                         H5P_DEFAULT);
        char *name;

        if (len < 0 || (size_t)len > H5_MAX_STRING_BYTES) {
            st = nh_fail(err, NH_EFORMAT, "%s: group '%s': link %llu has no name", f->name,
                         path, (unsigned long long)i);
            break;
        }
        name = nh_alloc(err, (size_t)len + 1, 1);
        if (!name) {
            st = NH_ENOMEM;
            break;
        }
        H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, (size_t)len + 1,
                           H5P_DEFAULT);
        st = strings_push(out, name, (size_t)len, err);
        free(name);
    }
    H5Gclose(g);
    if (st)
        nh_h5_strings_free(out);
    return st;
}

nh_status nh_h5_read_floats(nh_h5 *f, const char *path, int *ndim, int64_t dims[NH_MAX_DIMS],
                            float **data, nh_error *err)
{
    hid_t d = nh_h5_exists(f, path) ? H5Dopen2(f->file, path, H5P_DEFAULT) : -1;
    hid_t space = -1, type = -1;
    hsize_t hd[H5S_MAX_RANK];
    int64_t count = 1;
    H5T_class_t cls;
    nh_status st = NH_OK;
    int r;

    *data = NULL;
    if (d < 0)
        return nh_fail(err, NH_EFORMAT, "%s: no dataset '%s'", f->name, path);
    space = H5Dget_space(d);
    type = H5Dget_type(d);
    r = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (r < 0 || r > NH_MAX_DIMS || type < 0) {
        st = nh_fail(err, r > NH_MAX_DIMS ? NH_EUNSUPPORTED : NH_EFORMAT,
                     "%s: dataset '%s' has rank %d", f->name, path, r);
        goto done;
    }
    H5Sget_simple_extent_dims(space, hd, NULL);
    for (int i = 0; i < r; i++) {
        dims[i] = (int64_t)hd[i];
        if (hd[i] > (hsize_t)H5_MAX_ELEMENTS
            || (hd[i] && count > H5_MAX_ELEMENTS / (int64_t)hd[i])) {
            st = nh_fail(err, NH_EFORMAT, "%s: dataset '%s' is too large", f->name, path);
            goto done;
        }
        count *= (int64_t)hd[i];
    }
    cls = H5Tget_class(type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        st = nh_fail(err, NH_EUNSUPPORTED, "%s: dataset '%s' does not hold numbers", f->name,
                     path);
        goto done;
    }
    *data = nh_alloc(err, (size_t)count, sizeof **data);
    if (!*data) {
        st = NH_ENOMEM;
        goto done;
    }
    if (count > 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) < 0) {
        st = nh_fail(err, NH_EFORMAT, "%s: dataset '%s' cannot be read (truncated or corrupt?)",
                     f->name, path);
        free(*data);
        *data = NULL;
        goto done;
    }
    *ndim = r;
done:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(d);
    return st;
}
