/* Error values shared by every area of the library.
 *
 * A function that can fail returns an nh_status and, when it fails, writes a
 * one-line message into an nh_error that the caller owns. The message names
 * the file, the node or layer, and what was expected. Nothing here prints. */
#ifndef NH_CORE_ERROR_H
#define NH_CORE_ERROR_H

#include "nnheat.h"

/* Sets err->status and formats err->message; returns the status so that a
 * caller can write `return nh_fail(err, NH_EFORMAT, "...", ...);`.
 * err may be NULL. */
nh_status nh_fail(nh_error *err, nh_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with "prefix: " (for context added on
 * the way up, such as the file name). */
void nh_error_prefix(nh_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Allocation helpers that fail into err with NH_ENOMEM. The size is checked
 * for overflow. */
void *nh_alloc(nh_error *err, size_t count, size_t size);
void *nh_calloc(nh_error *err, size_t count, size_t size);
char *nh_strdup(nh_error *err, const char *s);

#endif
