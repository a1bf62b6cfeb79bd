/* Reading a whole file into memory. */
#ifndef NH_CORE_FILE_H
#define NH_CORE_FILE_H

#include <stddef.h>

#include "nnheat.h"

/* Reads the file at path into a new buffer: on success *data (which the
 * caller frees with free) holds *size bytes followed by one zero byte that
 * *size does not count, so that text can be parsed in place. "-" reads
 * standard input. Errors are NH_EIO with a message naming the path and the
 * system's reason. */
nh_status nh_read_file(const char *path, void **data, size_t *size, nh_error *err);

#endif
