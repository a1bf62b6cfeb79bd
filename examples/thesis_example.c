/* The thesis's usage example with nnheat's public API: a 4x4x1 input, 2x2
 * max pooling, flatten, a dense layer of 2; 10,000 samples of N(0, 1) and
 * as many optimal samples of N(0.5, 1.5). Prints the Landauer and Mismatch
 * costs per layer and in total, the Mismatch of each final neuron, and the
 * Gaussian heuristic.
 *
 *     example_thesis_example [MODEL]     (default examples/thesis/model.onnx)
 */
#include <stdio.h>

#include "nnheat.h"

static int fail(const nh_error *err)
{
    fprintf(stderr, "thesis_example: %s\n", err->message);
    return 2;
}

/* A generator source fitted to the model's input. */
static nh_status open_normal(const nh_model *m, const char *spec, uint64_t stream,
                             nh_source **out, nh_error *err)
{
    nh_source_options o;
    int64_t shape[NH_MAX_DIMS];
    int nd = nh_model_input_shape(m, shape), reshaped;
    nh_status st;

    nh_source_options_default(&o);
    o.limit = 10000;
    o.seed = 1;
    o.stream = stream;
    st = nh_source_open(spec, &o, out, err);
    if (st == NH_OK)
        st = nh_source_set_shape(*out, nd, shape, &reshaped, err);
    return st;
}

static void print_costs(const nh_model *m, const nh_costs *c)
{
    double t = NH_ROOM_TEMPERATURE, l, mm;
    size_t last = nh_costs_layer_count(c) - 1;
    nh_neuron_costs nc;

    for (size_t i = 0; i < nh_costs_layer_count(c); i++) {
        nh_layer_info li;
        nh_layer_costs lc;

        nh_model_layer(m, i, &li, NULL);
        nh_costs_layer(c, i, &lc, NULL);
        printf("layer %zu %-14s %-8s Landauer %10.6f eV  Mismatch %10.6f eV\n", i, li.name,
               nh_layer_kind_name(li.kind), nh_energy_from_nats(lc.landauer, t, NH_UNIT_EV),
               nh_energy_from_nats(lc.mismatch, t, NH_UNIT_EV));
    }
    nh_costs_total(c, &l, &mm);
    printf("total Landauer %.6f eV, Mismatch %.6f eV\n", nh_energy_from_nats(l, t, NH_UNIT_EV),
           nh_energy_from_nats(mm, t, NH_UNIT_EV));
    if (nh_costs_neurons(c, last, &nc, NULL) == NH_OK)
        printf("Mismatch per final neuron: %.6f %.6f eV\n",
               nh_energy_from_nats(nc.mismatch[0], t, NH_UNIT_EV),
               nh_energy_from_nats(nc.mismatch[1], t, NH_UNIT_EV));
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "examples/thesis/model.onnx";
    nh_error err = {0};
    nh_model *model = NULL;
    nh_source *in = NULL, *opt = NULL;
    nh_costs *costs = NULL;
    nh_heuristic *h = NULL;
    nh_cost_options o;
    double hl, hm;
    int rc = 2;

    nh_cost_options_default(&o); /* chao-shen, b = 0.01, independent Mismatch */
    if (nh_model_load_file(path, &model, &err) != NH_OK)
        return fail(&err);
    if (open_normal(model, "normal:0,1", 0, &in, &err) != NH_OK
        || open_normal(model, "normal:0.5,1.5", 1, &opt, &err) != NH_OK
        || nh_costs_compute(model, in, opt, &o, &costs, &err) != NH_OK
        || nh_heuristic_compute(model, 0, 1, 0.5, 1.5, &h, &err) != NH_OK) {
        rc = fail(&err);
        goto done;
    }
    print_costs(model, costs);
    nh_heuristic_total(h, &hl, &hm);
    printf("heuristic Landauer %.6f eV, Mismatch %.6f eV\n",
           nh_energy_from_nats(hl, NH_ROOM_TEMPERATURE, NH_UNIT_EV),
           nh_energy_from_nats(hm, NH_ROOM_TEMPERATURE, NH_UNIT_EV));
    rc = 0;
done:
    nh_heuristic_destroy(h);
    nh_costs_destroy(costs);
    nh_source_destroy(in);
    nh_source_destroy(opt);
    nh_model_destroy(model);
    return rc;
}
