#include "core/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* The file is read in growing chunks rather than sized with fseek/ftell, so
 * that pipes and standard input work too. */
nh_status nh_read_file(const char *path, void **data, size_t *size, nh_error *err)
{
    FILE *f;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    nh_status st = NH_OK;
    int is_stdin = strcmp(path, "-") == 0;

    *data = NULL;
    *size = 0;
    f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return nh_fail(err, NH_EIO, "%s: %s", path, strerror(errno));

    for (;;) {
        size_t got;

        if (cap - len < 2) {
            size_t new_cap = cap ? 2 * cap : 65536;
            char *p = new_cap > cap ? realloc(buf, new_cap) : NULL;

            if (!p) {
                st = nh_fail(err, NH_ENOMEM, "%s: out of memory reading the file", path);
                goto fail;
            }
            buf = p;
            cap = new_cap;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        st = nh_fail(err, NH_EIO, "%s: %s", path, strerror(errno ? errno : EIO));
        goto fail;
    }
    buf[len] = '\0';
    if (!is_stdin)
        fclose(f);
    *data = buf;
    *size = len;
    return NH_OK;

fail:
    if (!is_stdin)
        fclose(f);
    free(buf);
    return st;
}
