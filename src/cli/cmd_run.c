/* nnheat run MODEL -i INPUT -o OUT.npy: inference only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/source_open.h"
#include "data/npy_write.h"

static void run_usage(FILE *f)
{
    fprintf(f, "Usage: nnheat run MODEL -i INPUT -o OUT.npy [options]\n"
               "\n"
               "Runs the samples of INPUT through MODEL and writes the outputs, one row per\n"
               "sample, as a float32 .npy file.\n"
               "\n"
               "  -i, --input SPEC    .npy, IDX (.gz or not), .csv, or normal:MU,SIGMA /\n"
               "                      uniform:A,B (needs -n)\n"
               "  -o, --output FILE   the .npy file to write\n"
               "  -n, --samples N     the first N samples [all]\n"
               "      --scale X       x becomes x * X + SHIFT; X may be a fraction (1/255) [1]\n"
               "      --shift X       [0]\n"
               "      --seed S        seed of a generator [0]\n"
               "      --batch N       samples per forward pass [256]\n"
               "      --config FILE   the architecture (Keras model JSON or TF.js model.json)\n"
               "                      of a Keras weights-only .h5 MODEL\n"
               "  -q, --quiet         no messages but errors\n");
}

typedef struct run_args {
    const char *model, *input, *output, *config;
    nh_source_options src;
    int64_t batch;
} run_args;

static int parse_run(int argc, char **argv, run_args *a)
{
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'}, {"output", required_argument, NULL, 'o'},
        {"samples", required_argument, NULL, 'n'}, {"scale", required_argument, NULL, 1},
        {"shift", required_argument, NULL, 2}, {"seed", required_argument, NULL, 3},
        {"batch", required_argument, NULL, 4}, {"config", required_argument, NULL, 5},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int64_t v;
    int c;

    nh_source_options_default(&a->src);
    a->batch = 256;
    while ((c = getopt_long(argc, argv, "i:o:n:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': a->input = optarg; break;
        case 'o': a->output = optarg; break;
        case 'n':
            if (!nh_parse_int64("-n", optarg, 1, &a->src.limit))
                return 0;
            break;
        case 1:
            if (!nh_parse_ratio("--scale", optarg, &a->src.scale))
                return 0;
            break;
        case 2:
            if (!nh_parse_ratio("--shift", optarg, &a->src.shift))
                return 0;
            break;
        case 3:
            if (!nh_parse_int64("--seed", optarg, 0, &v))
                return 0;
            a->src.seed = (uint64_t)v;
            break;
        case 4:
            if (!nh_parse_int64("--batch", optarg, 1, &a->batch))
                return 0;
            break;
        case 5: a->config = optarg; break;
        case 'q': nh_cli_verbosity = 0; break;
        case 'h': run_usage(stdout); exit(NH_EXIT_OK);
        default: return 0;
        }
    }
    if (optind != argc - 1 || !a->input || !a->output) {
        nh_cli_error("run needs one MODEL, -i INPUT and -o OUT.npy");
        return 0;
    }
    a->model = argv[optind];
    return 1;
}

int nh_cmd_run(int argc, char **argv)
{
    run_args a = {0};
    nh_error err = {0};
    nh_model *model = NULL;
    nh_source *src = NULL;
    nh_npy_writer *w = NULL;
    nh_runner *runner = NULL;
    float *in = NULL, *out = NULL;
    int64_t shape[NH_MAX_DIMS];
    size_t in_size, out_size, n;
    int nd, rc = NH_EXIT_FAIL, w_opened = 0;

    if (!parse_run(argc, argv, &a)) {
        if (!nh_cli_bad_value)
            run_usage(stderr);
        return nh_cli_parse_failure();
    }
    if (nh_cli_same_file(a.input, a.output) || nh_cli_same_file(a.model, a.output)) {
        nh_cli_error("-o %s would overwrite the run's own input", a.output);
        return NH_EXIT_FAIL;
    }
    if (!nh_cli_check_output("-o", a.output))
        return NH_EXIT_FAIL;
    if (nh_model_load_file_config(a.model, a.config, &model, &err) != NH_OK)
        return nh_cli_fail(&err);
    nh_cli_catch_signals();
    if (!nh_cli_open_source(model, a.input, &a.src, "input", &src))
        goto done;
    nd = nh_model_output_shape(model, shape);
    in_size = nh_source_sample_size(src);
    out_size = 1;
    for (int d = 0; d < nd; d++)
        out_size *= (size_t)shape[d];
    in = malloc((size_t)a.batch * in_size * sizeof *in);
    out = malloc((size_t)a.batch * out_size * sizeof *out);
    if (!in || !out) {
        nh_cli_error("out of memory for a batch of %lld samples", (long long)a.batch);
        goto done;
    }
    if (nh_runner_create(model, (size_t)a.batch, 0, &runner, &err) != NH_OK)
        goto fail;
    if (nh_npy_writer_open(a.output, nd, shape, nh_source_count(src), &w, &err) != NH_OK)
        goto fail;
    w_opened = 1;
    for (;;) {
        if (nh_cli_interrupted) {
            nh_cli_error("interrupted: %s removed", a.output);
            goto done;
        }
        if (nh_source_read(src, in, (size_t)a.batch, &n, &err) != NH_OK)
            goto fail;
        if (n == 0)
            break;
        if (nh_runner_forward(runner, in, n, out, &err) != NH_OK
            || nh_npy_writer_append(w, out, n, &err) != NH_OK)
            goto fail;
    }
    rc = nh_npy_writer_close(w, &err) == NH_OK ? NH_EXIT_OK : nh_cli_fail(&err);
    w = NULL;
    goto done;
fail:
    rc = nh_cli_fail(&err);
done:
    if (w) {
        nh_error ignored;

        nh_npy_writer_close(w, &ignored);
    }
    /* A failed run leaves no half-written output behind. */
    if (rc != NH_EXIT_OK && w_opened && strcmp(a.output, "-") != 0)
        remove(a.output);
    free(in);
    free(out);
    nh_runner_destroy(runner);
    nh_source_destroy(src);
    nh_model_destroy(model);
    return rc;
}
