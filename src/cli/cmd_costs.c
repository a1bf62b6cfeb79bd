/* nnheat costs MODEL -i INPUT: Landauer and Mismatch costs from samples. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/source_open.h"
#include "report/report.h"

static void costs_usage(FILE *f)
{
    fprintf(f,
            "Usage: nnheat costs MODEL -i INPUT [options]\n"
            "\n"
            "Runs the samples of INPUT, and as many optimal samples, through MODEL (ONNX,\n"
            "Keras .keras/.h5, TF.js model.json) and prints the Landauer and Mismatch costs\n"
            "per layer and in total.\n"
            "\n"
            "      --config FILE       the architecture (Keras model JSON or TF.js\n"
            "                          model.json) of a Keras weights-only .h5 MODEL\n"
            "\n"
            "Samples:\n"
            "  -i, --input SPEC        .npy, IDX (.gz or not), .csv, or a generator\n"
            "                          normal:MU,SIGMA / uniform:A,B (needs -n)\n"
            "  -n, --samples N         the first N input samples [all]\n"
            "      --scale X           input x becomes x * X + SHIFT; X may be a fraction\n"
            "                          such as 1/255 [1]\n"
            "      --shift X           [0]\n"
            "      --seed S            seed of the generators [0]\n"
            "  -p, --optimal SPEC      the optimal input distribution [normal:0,1]\n"
            "      --optimal-samples N optimal samples [as many as input samples]\n"
            "      --no-mismatch       Landauer cost only\n"
            "      --mismatch MODE     independent (sum of the initial neurons' divergences)\n"
            "                          or joint (one joint histogram per initial set)\n"
            "                          [independent]\n"
            "\n"
            "Estimation:\n"
            "  -b, --bin-size B        histogram bin size [0.01]\n"
            "  -e, --estimator NAME    chao-shen, plugin or miller-madow [chao-shen]\n"
            "      --entropy MODE      differential (adds ln b per neuron) or discrete\n"
            "                          [differential]\n"
            "\n"
            "Output:\n"
            "  -T, --temperature K     kelvin [293.15]\n"
            "  -u, --unit U            eV, J, zJ, kT or bits [eV]\n"
            "      --json FILE         also write the results as JSON ('-' for stdout)\n"
            "      --heuristic         also the heuristic costs for a normal:MU,SIGMA input\n"
            "                          and a normal optimal, and sampled / heuristic per layer\n"
            "      --per-neuron DIR    write DIR/layerNN_QUANTITY.npy per layer: landauer,\n"
            "                          mismatch, entropy, divergence, landauer_diff,\n"
            "                          mismatch_diff (costs in the unit, the rest in nats)\n"
            "      --csv FILE          the same, one row per neuron\n"
            "  -t, --threads N         threads, 0 for all cores [0]\n"
            "      --batch N           samples per forward pass [256]\n"
            "  -v, --verbose           more messages\n"
            "  -q, --quiet             no messages but errors, no table\n");
}

typedef struct costs_args {
    const char *model, *input, *optimal, *json, *per_neuron, *csv, *config;
    nh_source_options in_opt, opt_opt;
    int64_t optimal_samples;
    int mismatch_set;
    nh_cost_options cost;
    nh_run_info info;
    int heuristic; /* --heuristic */
} costs_args;

enum {
    OPT_SCALE = 256, OPT_SHIFT, OPT_SEED, OPT_OPTIMAL_N, OPT_NO_MISMATCH, OPT_ENTROPY,
    OPT_JSON, OPT_BATCH, OPT_MISMATCH, OPT_PER_NEURON, OPT_CSV,
    OPT_HEURISTIC, OPT_CONFIG
};

static int parse_option(costs_args *a, int c, const char *arg)
{
    nh_error err = {0};
    int64_t v;

    switch (c) {
    case 'i': a->input = arg; return 1;
    case 'p': a->optimal = arg; return 1;
    case 'n': return nh_parse_int64("-n", arg, 1, &a->in_opt.limit);
    case OPT_SCALE: return nh_parse_ratio("--scale", arg, &a->in_opt.scale);
    case OPT_SHIFT: return nh_parse_ratio("--shift", arg, &a->in_opt.shift);
    case OPT_SEED:
        if (!nh_parse_int64("--seed", arg, 0, &v))
            return 0;
        a->in_opt.seed = a->opt_opt.seed = (uint64_t)v;
        return 1;
    case OPT_OPTIMAL_N: return nh_parse_int64("--optimal-samples", arg, 1, &a->optimal_samples);
    case OPT_NO_MISMATCH:
        if (a->mismatch_set) {
            nh_cli_error("--mismatch and --no-mismatch contradict each other");
            return 0;
        }
        a->cost.mismatch = NH_MISMATCH_NONE;
        return 1;
    case OPT_MISMATCH:
        if (nh_mismatch_mode_parse(arg, &a->cost.mismatch, &err) == NH_OK) {
            a->mismatch_set = 1;
            return 1;
        }
        break;
    case 'b': return nh_parse_ratio("--bin-size", arg, &a->cost.bin_size);
    case 'e':
        if (nh_estimator_parse(arg, &a->cost.estimator, &err) == NH_OK)
            return 1;
        break;
    case OPT_ENTROPY:
        if (nh_entropy_mode_parse(arg, &a->cost.entropy, &err) == NH_OK)
            return 1;
        break;
    case 'T': return nh_parse_double("--temperature", arg, &a->info.temperature);
    case 'u':
        if (nh_unit_parse(arg, &a->info.unit, &err) == NH_OK)
            return 1;
        break;
    case OPT_JSON: a->json = arg; return 1;
    case OPT_PER_NEURON: a->per_neuron = arg; return 1;
    case OPT_CSV: a->csv = arg; return 1;
    case OPT_HEURISTIC: a->heuristic = 1; return 1;
    case 't':
        if (!nh_parse_int64("--threads", arg, 0, &v))
            return 0;
        if (v > 4096) {
            nh_cli_bad_value = 1;
            nh_cli_error("--threads: at most 4096, got %lld", (long long)v);
            return 0;
        }
        a->cost.threads = (int)v;
        return 1;
    case OPT_BATCH:
        if (!nh_parse_int64("--batch", arg, 1, &v))
            return 0;
        a->cost.batch_size = (size_t)v;
        return 1;
    case OPT_CONFIG: a->config = arg; return 1;
    case 'v': nh_cli_verbosity = 2; return 1;
    case 'q': nh_cli_verbosity = 0; return 1;
    case 'h': costs_usage(stdout); exit(NH_EXIT_OK);
    default: return 0;
    }
    nh_cli_bad_value = 1;
    nh_cli_error("%s", err.message);
    return 0;
}

static int parse_costs(int argc, char **argv, costs_args *a)
{
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},
        {"optimal", required_argument, NULL, 'p'},
        {"samples", required_argument, NULL, 'n'},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"shift", required_argument, NULL, OPT_SHIFT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"optimal-samples", required_argument, NULL, OPT_OPTIMAL_N},
        {"no-mismatch", no_argument, NULL, OPT_NO_MISMATCH},
        {"mismatch", required_argument, NULL, OPT_MISMATCH},
        {"bin-size", required_argument, NULL, 'b'},
        {"estimator", required_argument, NULL, 'e'},
        {"entropy", required_argument, NULL, OPT_ENTROPY},
        {"temperature", required_argument, NULL, 'T'},
        {"unit", required_argument, NULL, 'u'},
        {"json", required_argument, NULL, OPT_JSON},
        {"per-neuron", required_argument, NULL, OPT_PER_NEURON},
        {"csv", required_argument, NULL, OPT_CSV},
        {"heuristic", no_argument, NULL, OPT_HEURISTIC},
        {"threads", required_argument, NULL, 't'},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    nh_error err = {0};
    int c;

    while ((c = getopt_long(argc, argv, "i:p:n:b:e:T:u:t:vqh", longopts, NULL)) != -1)
        if (!parse_option(a, c, optarg))
            return 0;
    if (optind != argc - 1 || !a->input) {
        nh_cli_error("costs needs one MODEL and -i INPUT");
        return 0;
    }
    a->model = argv[optind];
    if (!(a->info.temperature > 0)) {
        nh_cli_bad_value = 1;
        nh_cli_error("--temperature must be > 0 kelvin, got %g", a->info.temperature);
        return 0;
    }
    if (a->mismatch_set && a->cost.mismatch == NH_MISMATCH_NONE) {
        nh_cli_error("--mismatch and --no-mismatch contradict each other");
        return 0;
    }
    if (a->json && a->csv && strcmp(a->json, "-") == 0 && strcmp(a->csv, "-") == 0) {
        nh_cli_error("--json - and --csv - cannot both write to stdout");
        return 0;
    }
    if (nh_cost_options_check(&a->cost, &err) != NH_OK) {
        nh_cli_bad_value = 1;
        nh_cli_error("%s", err.message);
        return 0;
    }
    return 1;
}

static void print_header(const costs_args *a, const nh_costs *costs)
{
    double kt = nh_energy_from_nats(1.0, a->info.temperature, NH_UNIT_EV);

    printf("model        %s\n", a->model);
    printf("input        %s, %lld samples", a->input, (long long)nh_costs_samples(costs));
    if (a->in_opt.scale != 1 || a->in_opt.shift != 0)
        printf(", x * %g + %g", a->in_opt.scale, a->in_opt.shift);
    printf("\n");
    if (a->info.optimal)
        printf("optimal      %s, %lld samples\n", a->info.optimal,
               (long long)nh_costs_optimal_samples(costs));
    else
        printf("optimal      none (no Mismatch cost)\n");
    printf("bin size     %g\n", a->cost.bin_size);
    printf("temperature  %g K (kT = %.6g eV)\n", a->info.temperature, kt);
    printf("estimator    %s, %s entropies\n", nh_estimator_name(a->cost.estimator),
           nh_entropy_mode_name(a->cost.entropy));
    if (a->cost.mismatch != NH_MISMATCH_NONE)
        printf("mismatch     %s\n", nh_mismatch_mode_name(a->cost.mismatch));
}

/* Warns when the samples are too few for the bin size, or the bin size too
 * large for the values: then the entropies mean little. */
static void warn_quality(const costs_args *a, const nh_model *model, const nh_costs *costs)
{
    char few[256] = "";
    size_t len = 0, single = 0, neurons = 0;

    for (size_t i = 0; i < nh_model_layer_count(model); i++) {
        nh_layer_info li;
        nh_layer_costs lc;

        if (nh_model_layer(model, i, &li, NULL) != NH_OK
            || nh_costs_layer(costs, i, &lc, NULL) != NH_OK)
            continue;
        if (lc.coverage_mean < 0.5 && len < sizeof few)
            len += (size_t)snprintf(few + len, sizeof few - len, len ? ", %zu" : "%zu", i);
        single += (size_t)(lc.single_bin_share * (double)li.neurons + 0.5);
        neurons += li.neurons;
    }
    if (len)
        nh_cli_warn("in layer%s %s, most samples fell in a bin no other sample reached: too "
                    "few samples (%lld) for bin size %g, so entropies are poorly estimated; "
                    "use more samples or a larger bin size", strchr(few, ',') ? "s" : "", few,
                    (long long)nh_costs_samples(costs), a->cost.bin_size);
    if (neurons && single * 10 > neurons * 9)
        nh_cli_warn("bin size %g holds all the values of %zu of %zu neurons in one bin: it is "
                    "larger than their spread, and their entropies say nothing; use a smaller "
                    "bin size", a->cost.bin_size, single, neurons);
}

static void print_table(const costs_args *a, const nh_model *model, const nh_costs *costs)
{
    const char *u = nh_unit_name(a->info.unit);
    double t = a->info.temperature, l, m;
    char lh[32], mh[32], most[256] = "";
    size_t len = 0;

    snprintf(lh, sizeof lh, "Landauer (%s)", u);
    snprintf(mh, sizeof mh, "Mismatch (%s)", u);
    printf("\n%3s  %-24s %-11s %-14s %9s %15s %15s %15s\n", "#", "layer", "kind", "shape",
           "neurons", lh, mh, "clipped L / M");
    for (size_t i = 0; i < nh_model_layer_count(model); i++) {
        nh_layer_info li;
        nh_layer_costs lc;
        char shape[96], clip[40], name[32];

        if (nh_model_layer(model, i, &li, NULL) != NH_OK
            || nh_costs_layer(costs, i, &lc, NULL) != NH_OK)
            continue;
        nh_format_shape(shape, sizeof shape, li.shape, li.ndim);
        nh_cli_display_name(name, sizeof name, li.name, 24);
        snprintf(clip, sizeof clip, "%zu / %zu", lc.clipped_landauer, lc.clipped_mismatch);
        printf("%3zu  %-24s %-11s %-14s %9zu %15.6g %15.6g %15s\n", i, name,
               nh_layer_kind_name(li.kind), shape, li.neurons,
               nh_energy_from_nats(lc.landauer, t, a->info.unit),
               nh_energy_from_nats(lc.mismatch, t, a->info.unit), clip);
        if (2 * lc.clipped_landauer > li.neurons && len < sizeof most)
            len += (size_t)snprintf(most + len, sizeof most - len, len ? ", %zu" : "%zu", i);
    }
    nh_costs_total(costs, &l, &m);
    printf("\ntotal        Landauer %.6g %s   Mismatch %.6g %s   sum %.6g %s\n",
           nh_energy_from_nats(l, t, a->info.unit), u, nh_energy_from_nats(m, t, a->info.unit),
           u, nh_energy_from_nats(l + m, t, a->info.unit), u);
    if (len && a->cost.entropy == NH_ENTROPY_DIFFERENTIAL)
        printf("\nIn layer%s %s, most neurons' Landauer costs were clipped at 0: their\n"
               "inputs' summed differential entropy fell below their own, as it does after\n"
               "a point mass such as a ReLU's zeros (try --entropy discrete) or with too few\n"
               "samples for the bin size.\n", strchr(most, ',') ? "s" : "", most);
    else if (len)
        printf("\nIn layer%s %s, most neurons' Landauer costs were clipped at 0.\n",
               strchr(most, ',') ? "s" : "", most);
}

/* The joint histograms behind a joint Mismatch: how many, how many distinct
 * tuples, how many samples were alone in their bin, and their memory. */
static void print_joint(const nh_model *model, const nh_costs *costs)
{
    size_t len = 0;
    char bad[256] = "";

    printf("\n%3s  %-24s %10s %12s %11s %12s\n", "#", "joint histograms of", "sets",
           "tuples", "singletons", "memory (MB)");
    for (size_t i = 0; i < nh_model_layer_count(model); i++) {
        nh_layer_info li;
        nh_layer_costs lc;

        if (nh_model_layer(model, i, &li, NULL) != NH_OK
            || nh_costs_layer(costs, i, &lc, NULL) != NH_OK || !lc.joint_histograms)
            continue;
        printf("%3zu  %-24s %10zu %12zu %10.1f%% %12.1f\n", i, li.name, lc.joint_histograms,
               lc.joint_tuples, 100 * lc.joint_singleton_share, (double)lc.joint_bytes / 1e6);
        if (lc.joint_singleton_share > 0.5 && len < sizeof bad)
            len += (size_t)snprintf(bad + len, sizeof bad - len, len ? ", %zu" : "%zu", i);
    }
    fflush(stdout);
    if (len)
        nh_cli_warn("in layer%s %s, most samples fell in a tuple of initial bins seen only "
                    "once: their joint divergence estimates mean little; use more samples or a "
                    "larger bin size", strchr(bad, ',') ? "s" : "", bad);
}

/* Under MPI, rank r of k keeps samples [r n / k, (r + 1) n / k). */
static int take_share(nh_source *src)
{
    int rank, size;
    int64_t n, first, last;
    nh_error err = {0};

    nh_mpi_world(&rank, &size);
    if (size == 1)
        return 1;
    if ((n = nh_cli_count_samples(src)) < 0)
        return 0;
    first = n * rank / size;
    last = n * (rank + 1) / size;
    if (nh_source_set_range(src, first, last - first, &err) != NH_OK) {
        nh_cli_error("%s", err.message);
        return 0;
    }
    return 1;
}

/* Opens the input and, unless there is no Mismatch, the optimal source
 * with as many samples as the input by default; each MPI rank keeps its
 * share of both. */
static int open_sources(costs_args *a, const nh_model *model, nh_source **in,
                        nh_source **opt)
{
    int64_t n;

    if (!nh_cli_open_source(model, a->input, &a->in_opt, "input", in))
        return 0;
    if (a->cost.mismatch != NH_MISMATCH_NONE) {
        a->info.optimal = a->optimal ? a->optimal : "normal:0,1";
        n = a->optimal_samples;
        if (n <= 0 && (n = nh_cli_count_samples(*in)) < 0)
            return 0;
        a->opt_opt.limit = n;
        a->opt_opt.stream = 1;
        if (!nh_cli_open_source(model, a->info.optimal, &a->opt_opt, "optimal", opt))
            return 0;
    }
    return take_share(*in) && (!*opt || take_share(*opt));
}

/* Every file the run will write is checked before it starts, so that hours
 * of work are not lost on a typo; none may be the input or the model. */
static int check_outputs(const costs_args *a)
{
    const char *outs[3] = {a->json, a->csv, a->per_neuron};
    const char *names[3] = {"--json", "--csv", "--per-neuron"};

    for (int k = 0; k < 3; k++) {
        if (!outs[k])
            continue;
        if (nh_cli_same_file(a->input, outs[k]) || nh_cli_same_file(a->model, outs[k])
            || (a->optimal && nh_cli_same_file(a->optimal, outs[k]))
            || (a->config && nh_cli_same_file(a->config, outs[k]))
            || (k < 2 && outs[1 - k] && nh_cli_same_path(outs[k], outs[1 - k]))
            || (k == 2 && (nh_cli_inside(a->input, outs[k])
                           || (a->optimal && nh_cli_inside(a->optimal, outs[k]))))) {
            nh_cli_error("%s %s would overwrite the run's own input or another output",
                         names[k], outs[k]);
            return 0;
        }
        if (!nh_cli_check_output(names[k], outs[k]))
            return 0;
    }
    return 1;
}

/* Says when fewer samples were run than asked for. */
static void warn_short(const costs_args *a, const nh_costs *costs)
{
    if (a->in_opt.limit > 0 && nh_costs_samples(costs) < a->in_opt.limit)
        nh_cli_warn("-n %lld asked for more samples than %s holds: ran %lld",
                    (long long)a->in_opt.limit, a->input, (long long)nh_costs_samples(costs));
    if (a->info.optimal && nh_costs_optimal_samples(costs) < a->opt_opt.limit)
        nh_cli_warn("%lld optimal samples asked for, %s holds %lld", (long long)a->opt_opt.limit,
                    a->info.optimal, (long long)nh_costs_optimal_samples(costs));
    nh_cli_info("ran %lld input and %lld optimal samples", (long long)nh_costs_samples(costs),
                (long long)nh_costs_optimal_samples(costs));
}

int nh_cmd_costs(int argc, char **argv)
{
    costs_args a;
    nh_error err = {0};
    nh_model *model = NULL;
    nh_source *in = NULL, *opt = NULL;
    nh_costs *costs = NULL;
    nh_heuristic *heur = NULL;
    nh_progress progress = {nh_now(), 0, 0};
    char *json = NULL;
    int rc = NH_EXIT_FAIL, rank, size;

    memset(&a, 0, sizeof a);
    nh_source_options_default(&a.in_opt);
    nh_source_options_default(&a.opt_opt);
    nh_cost_options_default(&a.cost);
    a.info.temperature = NH_ROOM_TEMPERATURE;
    a.info.unit = NH_UNIT_EV;
    if (!parse_costs(argc, argv, &a)) {
        if (!nh_cli_bad_value)
            costs_usage(stderr);
        return nh_cli_parse_failure();
    }
    a.cost.progress = nh_progress_update;
    a.cost.progress_data = &progress;
    nh_mpi_world(&rank, &size);
    a.cost.distributed = size > 1;
    if (rank != 0) /* rank 0 speaks for all */
        nh_cli_verbosity = 0;

    if (!check_outputs(&a))
        return NH_EXIT_FAIL;
    if (nh_model_load_file_config(a.model, a.config, &model, &err) != NH_OK)
        return nh_cli_fail(&err);
    nh_cli_info("%s: %zu layers", a.model, nh_model_layer_count(model));
    if (a.heuristic && !nh_cli_heuristic_for_costs(model, a.input, &a.in_opt,
            a.cost.mismatch == NH_MISMATCH_NONE ? NULL : a.optimal, &heur))
        goto done;
    a.info.heuristic = heur;
    if (!open_sources(&a, model, &in, &opt))
        goto done;
    if (nh_costs_compute(model, in, opt, &a.cost, &costs, &err) != NH_OK) {
        nh_progress_end(&progress);
        rc = nh_cli_fail(&err);
        goto done;
    }
    nh_progress_end(&progress);
    warn_short(&a, costs);

    a.info.model = a.model;
    a.info.scale = a.in_opt.scale;
    a.info.shift = a.in_opt.shift;
    a.info.seed = a.in_opt.seed;
    a.info.input = a.input;
    a.info.bin_size = a.cost.bin_size;
    a.info.estimator = a.cost.estimator;
    a.info.entropy = a.cost.entropy;
    a.info.mismatch = a.cost.mismatch;
    if (nh_cli_verbosity > 0 && !(a.json && strcmp(a.json, "-") == 0)
        && !(a.csv && strcmp(a.csv, "-") == 0)) {
        print_header(&a, costs);
        print_table(&a, model, costs);
        if (a.cost.mismatch == NH_MISMATCH_JOINT)
            print_joint(model, costs);
        warn_quality(&a, model, costs);
        if (heur)
            nh_cli_heuristic_compare(model, costs, heur, a.info.temperature, a.info.unit,
                                     a.cost.mismatch != NH_MISMATCH_NONE);
    }
    if (rank != 0) {
        rc = NH_EXIT_OK;
        goto done;
    }
    if (a.json) {
        json = nh_report_json(model, costs, &a.info, &err);
        if (!json || nh_write_text(a.json, json, &err) != NH_OK) {
            rc = nh_cli_fail(&err);
            goto done;
        }
    }
    if ((a.per_neuron && nh_report_neuron_npy(a.per_neuron, model, costs, &a.info, &err) != NH_OK)
        || (a.csv && nh_report_neuron_csv(a.csv, model, costs, &a.info, &err) != NH_OK)) {
        rc = nh_cli_fail(&err);
        goto done;
    }
    nh_cli_resources(progress.start);
    rc = NH_EXIT_OK;
done:
    free(json);
    nh_heuristic_destroy(heur);
    nh_costs_destroy(costs);
    nh_source_destroy(in);
    nh_source_destroy(opt);
    nh_model_destroy(model);
    return rc;
}
