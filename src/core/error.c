#include "core/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nh_status nh_fail(nh_error *err, nh_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;

        err->status = status;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

void nh_error_prefix(nh_error *err, const char *fmt, ...)
{
    char old[sizeof err->message];
    size_t n, rest;
    va_list ap;

    if (!err)
        return;
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message - 2, fmt, ap);
    va_end(ap);

    /* "prefix: old", cut to fit */
    n = strlen(err->message);
    memcpy(err->message + n, ": ", 3);
    n += 2;
    rest = sizeof err->message - 1 - n;
    if (strlen(old) < rest)
        rest = strlen(old);
    memcpy(err->message + n, old, rest);
    err->message[n + rest] = '\0';
}

void *nh_alloc(nh_error *err, size_t count, size_t size)
{
    void *p;

    if (size && count > SIZE_MAX / size) {
        nh_fail(err, NH_ENOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    p = malloc(count * size > 0 ? count * size : 1);
    if (!p)
        nh_fail(err, NH_ENOMEM, "out of memory allocating %zu bytes", count * size);
    return p;
}

void *nh_calloc(nh_error *err, size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);

    if (!p)
        nh_fail(err, NH_ENOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

char *nh_strdup(nh_error *err, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *p = nh_alloc(err, n, 1);

    if (p)
        memcpy(p, s ? s : "", n);
    return p;
}

const char *nh_strerror(nh_status status)
{
    switch (status) {
    case NH_OK: return "success";
    case NH_EINVAL: return "invalid argument";
    case NH_EIO: return "input/output error";
    case NH_EFORMAT: return "malformed file";
    case NH_EUNSUPPORTED: return "unsupported feature";
    case NH_ESHAPE: return "shape mismatch";
    case NH_ENUMERIC: return "non-finite value";
    case NH_ENOMEM: return "out of memory";
    }
    return "unknown error";
}
