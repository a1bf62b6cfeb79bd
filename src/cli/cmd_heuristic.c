/* nnheat heuristic MODEL --mean MU --std SIGMA: heuristic costs for
 * Gaussian inputs, and their comparison with sampled costs for
 * `nnheat costs --heuristic`. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "report/report.h"

static void heuristic_usage(FILE *f)
{
    fprintf(f,
            "Usage: nnheat heuristic MODEL --mean MU --std SIGMA [options]\n"
            "\n"
            "Prints the heuristic Landauer and Mismatch costs of MODEL (ONNX or Keras) per\n"
            "layer and in total, for input N(MU, SIGMA^2) and optimal input\n"
            "N(MU_O, SIGMA_O^2), from the layer shapes alone: no sample is run\n"
            "(docs/heuristic.md).\n"
            "\n"
            "Distributions:\n"
            "      --mean MU              mean of the input (required)\n"
            "      --std SIGMA            standard deviation of the input, > 0 (required)\n"
            "      --optimal-mean MU_O    mean of the optimal input [0]\n"
            "      --optimal-std SIGMA_O  standard deviation of the optimal input, > 0 [1]\n"
            "\n"
            "Output:\n"
            "  -T, --temperature K        kelvin [293.15]\n"
            "  -u, --unit U               eV, J, zJ, kT or bits [eV]\n"
            "      --json FILE            also write the results as JSON ('-' for stdout)\n"
            "      --config FILE          the architecture of a weights-only Keras .h5\n"
            "  -q, --quiet                no messages but errors, no table\n");
}

typedef struct heuristic_args {
    const char *model, *json, *config;
    double mu, sigma, mu_o, sigma_o;
    int has_mu, has_sigma;
    nh_run_info info;
} heuristic_args;

enum { OPT_MEAN = 256, OPT_STD, OPT_OPT_MEAN, OPT_OPT_STD, OPT_JSON, OPT_CONFIG };

static int positive(const char *opt, double v)
{
    if (v > 0)
        return 1;
    nh_cli_bad_value = 1;
    nh_cli_error("%s must be > 0, got %g", opt, v);
    return 0;
}

static int parse_option(heuristic_args *a, int c, const char *arg)
{
    nh_error err = {0};

    switch (c) {
    case OPT_MEAN: a->has_mu = 1; return nh_parse_double("--mean", arg, &a->mu);
    case OPT_STD:
        a->has_sigma = 1;
        return nh_parse_double("--std", arg, &a->sigma) && positive("--std", a->sigma);
    case OPT_OPT_MEAN: return nh_parse_double("--optimal-mean", arg, &a->mu_o);
    case OPT_OPT_STD:
        return nh_parse_double("--optimal-std", arg, &a->sigma_o)
               && positive("--optimal-std", a->sigma_o);
    case 'T':
        return nh_parse_double("--temperature", arg, &a->info.temperature)
               && positive("--temperature", a->info.temperature);
    case 'u':
        if (nh_unit_parse(arg, &a->info.unit, &err) == NH_OK)
            return 1;
        nh_cli_bad_value = 1;
        nh_cli_error("%s", err.message);
        return 0;
    case OPT_JSON: a->json = arg; return 1;
    case OPT_CONFIG: a->config = arg; return 1;
    case 'q': nh_cli_verbosity = 0; return 1;
    case 'h': heuristic_usage(stdout); exit(NH_EXIT_OK);
    default: return 0;
    }
}

static int parse_heuristic(int argc, char **argv, heuristic_args *a)
{
    static const struct option longopts[] = {
        {"mean", required_argument, NULL, OPT_MEAN},
        {"std", required_argument, NULL, OPT_STD},
        {"optimal-mean", required_argument, NULL, OPT_OPT_MEAN},
        {"optimal-std", required_argument, NULL, OPT_OPT_STD},
        {"temperature", required_argument, NULL, 'T'},
        {"unit", required_argument, NULL, 'u'},
        {"json", required_argument, NULL, OPT_JSON},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    while ((c = getopt_long(argc, argv, "T:u:qh", longopts, NULL)) != -1)
        if (!parse_option(a, c, optarg))
            return 0;
    if (optind != argc - 1 || !a->has_mu || !a->has_sigma) {
        nh_cli_error("heuristic needs one MODEL, --mean MU and --std SIGMA");
        return 0;
    }
    a->model = argv[optind];
    return 1;
}

/* x in the fewest digits that read back as x. */
static void format_number(char *buf, size_t size, double x)
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* "normal:MU,SIGMA", as `costs -i` reads it. */
static void format_normal(char *buf, size_t size, double mu, double sigma)
{
    char m[32], s[32];

    format_number(m, sizeof m, mu);
    format_number(s, sizeof s, sigma);
    snprintf(buf, size, "normal:%s,%s", m, s);
}

static void print_heuristic_table(const heuristic_args *a, const nh_model *model,
                                  const nh_heuristic *h)
{
    const char *u = nh_unit_name(a->info.unit);
    double t = a->info.temperature, l, m;
    char lh[32], mh[32];

    printf("model        %s\n", a->model);
    printf("input        %s (entropy S_N = %.6g nats per neuron)\n", a->info.input,
           nh_heuristic_entropy(h));
    printf("optimal      %s (divergence D_N = %.6g nats per neuron)\n", a->info.optimal,
           nh_heuristic_divergence(h));
    printf("temperature  %g K (kT = %.6g eV)\n", t, nh_energy_from_nats(1.0, t, NH_UNIT_EV));
    printf("estimator    heuristic for Gaussian inputs (no samples)\n");

    snprintf(lh, sizeof lh, "Landauer (%s)", u);
    snprintf(mh, sizeof mh, "Mismatch (%s)", u);
    printf("\n%3s  %-24s %-11s %-14s %9s %15s %15s\n", "#", "layer", "kind", "shape", "neurons",
           lh, mh);
    for (size_t i = 0; i < nh_model_layer_count(model); i++) {
        nh_layer_info li;
        nh_layer_heuristic hl;
        char shape[96];

        if (nh_model_layer(model, i, &li, NULL) != NH_OK
            || nh_heuristic_layer(h, i, &hl, NULL) != NH_OK)
            continue;
        nh_format_shape(shape, sizeof shape, li.shape, li.ndim);
        printf("%3zu  %-24s %-11s %-14s %9zu %15.6g %15.6g\n", i, li.name,
               nh_layer_kind_name(li.kind), shape, li.neurons,
               nh_energy_from_nats(hl.landauer, t, a->info.unit),
               nh_energy_from_nats(hl.mismatch, t, a->info.unit));
    }
    nh_heuristic_total(h, &l, &m);
    printf("\ntotal        Landauer %.6g %s   Mismatch %.6g %s   sum %.6g %s\n",
           nh_energy_from_nats(l, t, a->info.unit), u, nh_energy_from_nats(m, t, a->info.unit),
           u, nh_energy_from_nats(l + m, t, a->info.unit), u);
    fflush(stdout);
}

int nh_cmd_heuristic(int argc, char **argv)
{
    heuristic_args a;
    nh_error err = {0};
    nh_model *model = NULL;
    nh_heuristic *h = NULL;
    char input[80], optimal[80], *json = NULL;
    int rc = NH_EXIT_FAIL;

    memset(&a, 0, sizeof a);
    a.sigma_o = 1;
    a.info.temperature = NH_ROOM_TEMPERATURE;
    a.info.unit = NH_UNIT_EV;
    if (!parse_heuristic(argc, argv, &a)) {
        if (!nh_cli_bad_value)
            heuristic_usage(stderr);
        return nh_cli_parse_failure();
    }

    if (a.json && (nh_cli_same_file(a.model, a.json)
                   || (a.config && nh_cli_same_file(a.config, a.json)))) {
        nh_cli_error("--json %s would overwrite the run's own input", a.json);
        return NH_EXIT_FAIL;
    }
    if (a.json && !nh_cli_check_output("--json", a.json))
        return NH_EXIT_FAIL;
    if (nh_model_load_file_config(a.model, a.config, &model, &err) != NH_OK)
        return nh_cli_fail(&err);
    if (nh_heuristic_compute(model, a.mu, a.sigma, a.mu_o, a.sigma_o, &h, &err) != NH_OK) {
        rc = nh_cli_fail(&err);
        goto done;
    }
    format_normal(input, sizeof input, a.mu, a.sigma);
    format_normal(optimal, sizeof optimal, a.mu_o, a.sigma_o);
    a.info.model = a.model;
    a.info.input = input;
    a.info.optimal = optimal;
    if (nh_cli_verbosity > 0 && !(a.json && strcmp(a.json, "-") == 0))
        print_heuristic_table(&a, model, h);
    if (a.json) {
        json = nh_report_heuristic_json(model, h, &a.info, &err);
        if (!json || nh_write_text(a.json, json, &err) != NH_OK) {
            rc = nh_cli_fail(&err);
            goto done;
        }
    }
    rc = NH_EXIT_OK;
done:
    free(json);
    nh_heuristic_destroy(h);
    nh_model_destroy(model);
    return rc;
}

/* ------------------------------------------------ costs --heuristic */

int nh_cli_parse_normal(const char *spec, double *mu, double *sigma)
{
    char *end;

    if (strncmp(spec, "normal:", 7) != 0)
        return 0;
    *mu = strtod(spec + 7, &end);
    if (end == spec + 7 || !isfinite(*mu))
        return 0;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != ',')
        return 0;
    spec = end + 1;
    *sigma = strtod(spec, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    return end != spec && *end == '\0' && isfinite(*sigma) && *sigma > 0;
}

int nh_cli_heuristic_for_costs(const nh_model *model, const char *input,
                               const nh_source_options *in_opt, const char *optimal,
                               nh_heuristic **out)
{
    nh_error err = {0};
    double mu, sigma, mu_o = 0, sigma_o = 1;

    if (!nh_cli_parse_normal(input, &mu, &sigma)) {
        nh_cli_error("--heuristic needs a normal input generator -i normal:MU,SIGMA, got "
                     "'%s'", input);
        return 0;
    }
    if (optimal && !nh_cli_parse_normal(optimal, &mu_o, &sigma_o)) {
        nh_cli_error("--heuristic needs a normal optimal distribution -p normal:MU,SIGMA, "
                     "got '%s'", optimal);
        return 0;
    }

    /* --scale and --shift turn N(mu, sigma^2) into N(mu X + SHIFT, (sigma X)^2). */
    mu = mu * in_opt->scale + in_opt->shift;
    sigma *= fabs(in_opt->scale);
    if (nh_heuristic_compute(model, mu, sigma, mu_o, sigma_o, out, &err) != NH_OK) {
        nh_cli_error("--heuristic: %s", err.message);
        return 0;
    }
    return 1;
}

/* "x / y" to 3 digits, or "-" when y is 0 or x absent. */
static void format_ratio(char *buf, size_t size, double x, double y, int have_x)
{
    if (!have_x || y == 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3f", x / y);
}

void nh_cli_heuristic_compare(const nh_model *model, const nh_costs *costs,
                              const nh_heuristic *h, double kelvin, nh_unit unit,
                              int mismatch)
{
    const char *u = nh_unit_name(unit);
    char lh[40], mh[40];
    double l, m, hl_total, hm_total;

    snprintf(lh, sizeof lh, "heur. L (%s)", u);
    snprintf(mh, sizeof mh, "heur. M (%s)", u);
    printf("\nheuristic for Gaussian inputs: S_N = %.6g, D_N = %.6g nats per neuron\n",
           nh_heuristic_entropy(h), nh_heuristic_divergence(h));
    printf("%3s  %-24s %15s %15s %15s %15s\n", "#", "layer", lh, mh, "sampled/heur L",
           "sampled/heur M");
    for (size_t i = 0; i < nh_model_layer_count(model); i++) {
        nh_layer_info li;
        nh_layer_costs lc;
        nh_layer_heuristic hl;
        char rl[16], rm[16];

        if (nh_model_layer(model, i, &li, NULL) != NH_OK
            || nh_costs_layer(costs, i, &lc, NULL) != NH_OK
            || nh_heuristic_layer(h, i, &hl, NULL) != NH_OK)
            continue;
        format_ratio(rl, sizeof rl, lc.landauer, hl.landauer, 1);
        format_ratio(rm, sizeof rm, lc.mismatch, hl.mismatch, mismatch);
        printf("%3zu  %-24s %15.6g %15.6g %15s %15s\n", i, li.name,
               nh_energy_from_nats(hl.landauer, kelvin, unit),
               nh_energy_from_nats(hl.mismatch, kelvin, unit), rl, rm);
    }
    nh_costs_total(costs, &l, &m);
    nh_heuristic_total(h, &hl_total, &hm_total);
    format_ratio(lh, sizeof lh, l, hl_total, 1);
    format_ratio(mh, sizeof mh, m, hm_total, mismatch);
    printf("\nheuristic    Landauer %.6g %s   Mismatch %.6g %s   sampled/heuristic %s / %s\n",
           nh_energy_from_nats(hl_total, kelvin, unit), u,
           nh_energy_from_nats(hm_total, kelvin, unit), u, lh, mh);
    fflush(stdout);
}
