/* Opening the sample sources of a command and fitting them to the model. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/source_open.h"

int nh_cli_open_source(const nh_model *model, const char *spec, const nh_source_options *opt,
                       const char *what, nh_source **out)
{
    nh_error err = {0};
    int64_t shape[NH_MAX_DIMS], have[NH_MAX_DIMS];
    int nd = nh_model_input_shape(model, shape), reshaped = 0, have_nd = 0;

    *out = NULL;
    if (nh_source_open(spec, opt, out, &err) == NH_OK)
        have_nd = nh_source_shape(*out, have);
    if (!*out || nh_source_set_shape(*out, nd, shape, &reshaped, &err) != NH_OK) {
        nh_source_destroy(*out);
        *out = NULL;
        nh_cli_error("%s: %s", what, err.message);
        return 0;
    }
    if (reshaped) {
        char a[96], b[96];

        nh_format_shape(a, sizeof a, have, have_nd);
        nh_format_shape(b, sizeof b, shape, nd);
        nh_cli_warn("%s: samples of %s reshaped to the model's input %s", spec, a, b);
    }
    return 1;
}

int64_t nh_cli_count_samples(nh_source *src)
{
    int64_t n = nh_source_count(src), total = 0;
    size_t size = nh_source_sample_size(src), got;
    float *buf;
    nh_error err = {0};

    if (n >= 0)
        return n;
    /* The file does not say (CSV): read it through once. */
    buf = malloc(256 * size * sizeof *buf);
    if (!buf)
        return -1;
    while (nh_source_read(src, buf, 256, &got, &err) == NH_OK && got > 0)
        total += (int64_t)got;
    free(buf);
    if (err.status != NH_OK || nh_source_rewind(src, &err) != NH_OK) {
        nh_cli_error("%s", err.message);
        return -1;
    }
    return total;
}
