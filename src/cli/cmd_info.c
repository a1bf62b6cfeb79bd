/* nnheat info MODEL: the layers, without running anything. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void info_usage(FILE *f)
{
    fprintf(f, "Usage: nnheat info MODEL [--config FILE]\n"
               "\n"
               "Prints the layers nnheat cuts MODEL (ONNX, Keras .keras/.h5, TF.js model.json)\n"
               "into: kind, the operators fused into each, output shape (without the batch\n"
               "axis), neurons, the size of the largest initial set, and the model's nodes\n"
               "that make up the layer.\n"
               "\n"
               "      --config FILE   the architecture (Keras model JSON or TF.js model.json)\n"
               "                      of a Keras weights-only .h5 MODEL\n");
}

static void print_layer(const nh_layer_info *li, size_t i)
{
    char shape[96], ops[256] = "", nodes[1024] = "";
    size_t len = 0, nlen = 0;

    nh_format_shape(shape, sizeof shape, li->shape, li->ndim);
    for (size_t k = 0; k < li->n_ops && len < sizeof ops; k++)
        len += (size_t)snprintf(ops + len, sizeof ops - len, k ? "+%s" : "%s", li->ops[k]);
    for (size_t k = 0; k < li->n_ops && nlen < sizeof nodes; k++)
        nlen += (size_t)snprintf(nodes + nlen, sizeof nodes - nlen, k ? ", %s" : "%s",
                                 li->nodes[k]);
    printf("%3zu  %-11s %-26s %-14s %10zu %11zu  %s\n", i, nh_layer_kind_name(li->kind),
           li->n_ops ? ops : "-", shape, li->neurons, li->initial_set,
           li->n_ops ? nodes : li->name);
}

int nh_cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                              {"config", required_argument, NULL, 1},
                                              {NULL, 0, NULL, 0}};
    const char *config = NULL;
    nh_error err = {0};
    nh_model *model;
    int64_t shape[NH_MAX_DIMS];
    char buf[96];
    int c;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            info_usage(stdout);
            return NH_EXIT_OK;
        }
        if (c == 1) {
            config = optarg;
            continue;
        }
        info_usage(stderr);
        return NH_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        nh_cli_error("info needs exactly one MODEL");
        info_usage(stderr);
        return NH_EXIT_USAGE;
    }
    if (nh_model_load_file_config(argv[optind], config, &model, &err) != NH_OK)
        return nh_cli_fail(&err);

    printf("model   %s\n", argv[optind]);
    nh_format_shape(buf, sizeof buf, shape, nh_model_input_shape(model, shape));
    printf("input   %s\n", buf);
    nh_format_shape(buf, sizeof buf, shape, nh_model_output_shape(model, shape));
    printf("output  %s\n", buf);
    printf("layers  %zu\n\n", nh_model_layer_count(model));
    printf("%3s  %-11s %-26s %-14s %10s %11s  %s\n", "#", "kind", "operators", "shape",
           "neurons", "initial set", "nodes");
    for (size_t i = 0; i < nh_model_layer_count(model); i++) {
        nh_layer_info li;

        if (nh_model_layer(model, i, &li, &err) != NH_OK) {
            nh_model_destroy(model);
            return nh_cli_fail(&err);
        }
        print_layer(&li, i);
    }
    nh_model_destroy(model);
    return NH_EXIT_OK;
}
