#ifndef NH_CLI_SOURCE_OPEN_H
#define NH_CLI_SOURCE_OPEN_H

#include <stdlib.h>

#include "nnheat.h"

/* Opens spec and fits it to the model's input; prints an error naming what
 * ("input" or "optimal") and returns 0 on failure. */
int nh_cli_open_source(const nh_model *model, const char *spec, const nh_source_options *opt,
                       const char *what, nh_source **out);

/* The number of samples src gives, reading it through when the file does
 * not say; -1 on error (printed). */
int64_t nh_cli_count_samples(nh_source *src);

#endif
