/* nnheat: the least energy a trained neural network must dissipate.
 *
 * The library estimates, from samples run through a network, its Landauer
 * cost (the drop in Shannon entropy from each computation's inputs to its
 * output) and its Mismatch cost (the drop in Kullback-Leibler divergence from
 * an optimal input distribution), per neuron, per layer and in total.
 *
 * Conventions:
 * - Every function that can fail returns an nh_status and fills the nh_error
 *   the caller passes (which may be NULL) with a one-line message naming the
 *   file, layer or field at fault. The library never prints and never exits.
 * - Handles are opaque. Each *_create / *_open / *_load has a *_destroy that
 *   accepts NULL. Pointers returned by accessors stay owned by the handle
 *   and live as long as it does.
 * - Costs are kept in nats; nh_energy_from_nats converts them.
 */
#ifndef NNHEAT_H
#define NNHEAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

typedef enum nh_status {
    NH_OK = 0,
    NH_EINVAL,       /* a bad argument or option */
    NH_EIO,          /* a file could not be opened or read */
    NH_EFORMAT,      /* a file is malformed or truncated */
    NH_EUNSUPPORTED, /* an operator, dtype or feature nnheat does not handle */
    NH_ESHAPE,       /* shapes that do not fit together */
    NH_ENUMERIC,     /* NaN or infinity in data or activations */
    NH_ENOMEM        /* an allocation failed */
} nh_status;

/* Filled by a failing call. The caller owns it (usually on the stack). */
typedef struct nh_error {
    nh_status status;
    char message[1024];
} nh_error;

/* A static string describing a status code. */
const char *nh_strerror(nh_status status);

/* The library's version, such as "0.1.0". */
const char *nh_version(void);

/* ---------------------------------------------------------------- models */

typedef struct nh_model nh_model;

typedef enum nh_layer_kind {
    NH_LAYER_INPUT,
    NH_LAYER_DENSE,
    NH_LAYER_CONV,
    NH_LAYER_POOL,
    NH_LAYER_RESHAPE,
    NH_LAYER_ELEMENTWISE,
    NH_LAYER_ADD
} nh_layer_kind;

/* "input", "dense", "conv", "pool", "reshape", "elementwise" or "add". */
const char *nh_layer_kind_name(nh_layer_kind kind);

#define NH_MAX_DIMS 8

/* A description of one layer. Every pointer is owned by the model. */
typedef struct nh_layer_info {
    const char *name;          /* the name of the layer's first node */
    nh_layer_kind kind;
    size_t n_ops;              /* the operators fused into the layer, in order */
    const char *const *ops;    /* such as {"Conv", "BatchNormalization", "Relu"} */
    const char *const *nodes;  /* the names of those nodes in the model */
    int ndim;                  /* the output shape without the batch axis */
    int64_t shape[NH_MAX_DIMS];
    size_t neurons;            /* product of shape */
    size_t initial_set;        /* size of the largest initial set init(j) */
    size_t n_inputs;           /* layers whose neurons are the initial neurons */
    const size_t *inputs;
} nh_layer_info;

/* Loads a model from a file: ONNX, Keras 3 .keras, legacy Keras .h5 or a
 * TensorFlow.js model.json, told apart by content. On success *out owns the
 * model; free it with nh_model_destroy. Unsupported operators or layers,
 * malformed files and shapes that do not fit are errors naming the node. */
nh_status nh_model_load_file(const char *path, nh_model **out, nh_error *err);

/* As nh_model_load_file, with the architecture of a weights-only Keras .h5
 * taken from the JSON file config_path (a Keras model JSON or a TF.js
 * model.json); config_path may be NULL. */
nh_status nh_model_load_file_config(const char *path, const char *config_path,
                                    nh_model **out, nh_error *err);

/* Same as nh_model_load_file from a buffer the caller keeps ownership of;
 * name is used in messages only. */
nh_status nh_model_load_memory(const void *data, size_t size, const char *name,
                               nh_model **out, nh_error *err);

void nh_model_destroy(nh_model *model);

/* Number of layers, the input (layer 0) included. */
size_t nh_model_layer_count(const nh_model *model);

/* Describes layer index (0 <= index < nh_model_layer_count). */
nh_status nh_model_layer(const nh_model *model, size_t index, nh_layer_info *out,
                         nh_error *err);

/* The shape of one input sample (without the batch axis) into shape[], its
 * rank as the return value. */
int nh_model_input_shape(const nh_model *model, int64_t shape[NH_MAX_DIMS]);

/* The shape of one output sample, as nh_model_input_shape. */
int nh_model_output_shape(const nh_model *model, int64_t shape[NH_MAX_DIMS]);

/* Runs n samples (input: n times the input size, C order) through the model
 * and writes the model's output (n times the output size) into output.
 * Thread-safe for distinct output buffers. */
nh_status nh_model_forward(const nh_model *model, const float *input, size_t n,
                           float *output, nh_error *err);

/* A forward pass kept ready for batches of up to max_batch samples, its
 * buffers allocated once (nh_model_forward allocates them on every call).
 * threads 0 means all cores. The model must outlive the runner; one thread
 * uses a runner at a time. */
typedef struct nh_runner nh_runner;

nh_status nh_runner_create(const nh_model *model, size_t max_batch, int threads,
                           nh_runner **out, nh_error *err);
void nh_runner_destroy(nh_runner *runner);

/* As nh_model_forward, for n <= max_batch samples. */
nh_status nh_runner_forward(nh_runner *runner, const float *input, size_t n, float *output,
                            nh_error *err);

/* --------------------------------------------------------- sample sources */

typedef struct nh_source nh_source;

typedef struct nh_source_options {
    int64_t limit;   /* take at most this many samples; -1 for all [-1] */
    double scale;    /* every value x becomes x * scale + shift [1] */
    double shift;    /* [0] */
    uint64_t seed;   /* seed of generators [0] */
    uint64_t stream; /* stream of generators, so that two sources with one
                        seed differ (input 0, optimal 1) [0] */
} nh_source_options;

void nh_source_options_default(nh_source_options *opt);

/* Opens a sample source described by spec: a generator "normal:MU,SIGMA" or
 * "uniform:A,B" (which needs opt->limit samples and a shape given by
 * nh_source_set_shape), or a file: .npy (versions 1-3, any numeric dtype,
 * either byte order, C or Fortran order), IDX (gzip-compressed or not) or
 * numeric CSV (a first line of names only is a header). Any of them may be
 * gzip-compressed. The first axis counts samples. Files are streamed:
 * reading holds one batch, except a gzip-compressed Fortran-order .npy,
 * which is read whole (up to 256 MiB; larger ones are refused). */
nh_status nh_source_open(const char *spec, const nh_source_options *opt, nh_source **out,
                         nh_error *err);

/* A source over n samples of sample_size floats each that the caller keeps
 * alive while the source is used. */
nh_status nh_source_open_memory(const float *data, size_t n, size_t sample_size,
                                const nh_source_options *opt, nh_source **out,
                                nh_error *err);

void nh_source_destroy(nh_source *src);

/* The spec or path the source was opened with. */
const char *nh_source_name(const nh_source *src);

/* Number of samples the source will give (after the limit), or -1 when a
 * file does not say (CSV). */
int64_t nh_source_count(const nh_source *src);

/* Values per sample, and its shape (rank returned). Generators have none
 * until nh_source_set_shape is called. */
size_t nh_source_sample_size(const nh_source *src);
int nh_source_shape(const nh_source *src, int64_t shape[NH_MAX_DIMS]);

/* Fits the source to a model's input shape: a generator takes the shape; a
 * file must have the same shape or the same number of values per sample
 * (then *reshaped is set to 1 and the samples are read in C order). */
nh_status nh_source_set_shape(nh_source *src, int ndim, const int64_t *shape, int *reshaped,
                              nh_error *err);

/* Reads up to max samples into buf (max times the sample size). *n_read is
 * 0 at the end. Samples are numbered from 0; a NaN or infinite value is an
 * error naming the sample. */
nh_status nh_source_read(nh_source *src, float *buf, size_t max, size_t *n_read,
                         nh_error *err);

/* Starts again from sample 0. */
nh_status nh_source_rewind(nh_source *src, nh_error *err);

/* Skips the first `first` samples and stops after `count` (for splitting a
 * source among workers); call before the first read. */
nh_status nh_source_set_range(nh_source *src, int64_t first, int64_t count, nh_error *err);

/* ----------------------------------------------------------------- costs */

typedef enum nh_estimator {
    NH_ESTIMATOR_CHAO_SHEN, /* coverage-adjusted, Chao & Shen (2003) */
    NH_ESTIMATOR_PLUGIN,
    NH_ESTIMATOR_MILLER_MADOW
} nh_estimator;

typedef enum nh_entropy_mode {
    NH_ENTROPY_DIFFERENTIAL, /* add d ln b: estimates differential entropy */
    NH_ENTROPY_DISCRETE      /* entropy of the values stored at precision b */
} nh_entropy_mode;

typedef enum nh_mismatch_mode {
    NH_MISMATCH_NONE,
    NH_MISMATCH_INDEPENDENT, /* M_j = max(0, sum D_i - D_j) */
    NH_MISMATCH_JOINT        /* M_j = D(joint histogram of init(j)) - D_j, not clipped */
} nh_mismatch_mode;

typedef enum nh_kl_mode {
    NH_KL_COMMON, /* keep bins present in both, renormalise both (thesis) */
    NH_KL_EXACT   /* plug-in KL; every bin of p must be present in q */
} nh_kl_mode;

/* Called now and then during nh_costs_compute with the samples done and the
 * total (total is -1 when unknown). */
typedef void (*nh_progress_fn)(void *data, int64_t done, int64_t total);

typedef struct nh_cost_options {
    double bin_size;           /* b [0.01] */
    nh_estimator estimator;    /* [chao-shen] */
    nh_entropy_mode entropy;   /* [differential] */
    nh_mismatch_mode mismatch; /* [independent] */
    size_t batch_size;         /* samples per forward pass [256] */
    int threads;               /* 0 for all cores [0] */
    nh_progress_fn progress;   /* may be NULL */
    void *progress_data;
    int distributed;           /* nonzero: every MPI rank of MPI_COMM_WORLD calls
                                  nh_costs_compute with its own share of the
                                  samples (nh_source_set_range); counts are merged
                                  on rank 0, which alone gets per-neuron results;
                                  every rank gets the per-layer results and totals
                                  [0] */
} nh_cost_options;

void nh_cost_options_default(nh_cost_options *opt);

/* Checks every field; the message names the first bad one. */
nh_status nh_cost_options_check(const nh_cost_options *opt, nh_error *err);

typedef struct nh_costs nh_costs;

/* Runs every sample of input (and of optimal, unless opt->mismatch is
 * NH_MISMATCH_NONE, when optimal may be NULL) through the model, counts
 * every neuron's histogram and computes the costs. The sources must already
 * fit the model's input (nh_source_set_shape). On success *out owns the
 * results; free them with nh_costs_destroy. */
nh_status nh_costs_compute(const nh_model *model, nh_source *input, nh_source *optimal,
                           const nh_cost_options *opt, nh_costs **out, nh_error *err);

void nh_costs_destroy(nh_costs *costs);

/* Per-layer results, in nats. */
typedef struct nh_layer_costs {
    double landauer;
    double mismatch;
    size_t clipped_landauer; /* neurons whose Landauer difference was < 0 */
    size_t clipped_mismatch;
    double outside_mass_mean; /* share of a neuron's actual mass that fell
                                 outside the bins shared with its optimal
                                 histogram: mean over the layer's neurons */
    double outside_mass_max;  /* and its largest value */
    double coverage_mean;     /* the Good-Turing coverage 1 - f1/n of the actual
                                 samples (f1 bins seen once), mean over the
                                 layer's neurons: well below 1, too few samples
                                 for the bin size */
    double single_bin_share;  /* share of the layer's neurons whose actual
                                 samples all fell in one bin */

    /* Joint Mismatch only (zero otherwise): the joint histograms of the
     * layer (one per distinct initial set), the distinct tuples they hold
     * for the actual samples, the share of actual samples whose tuple was
     * seen once (near 1, the joint divergence estimate means nothing), and
     * the bytes the tuples of both passes take (20 per distinct tuple; the
     * hash tables hold up to a third more). */
    size_t joint_histograms;
    size_t joint_tuples;
    double joint_singleton_share;
    size_t joint_bytes;
} nh_layer_costs;

/* Per-neuron results of one layer, in nats, one value per neuron in the
 * layer's C order (its shape as nh_model_layer gives it). The arrays are
 * owned by costs. Without Mismatch, the Mismatch arrays are NULL. Input and
 * reshape layers have entropies and divergences but no costs (zeros). */
typedef struct nh_neuron_costs {
    const double *landauer;      /* max(0, landauer_diff) */
    const double *mismatch;      /* max(0, mismatch_diff); joint mode: mismatch_diff */
    const double *entropy;       /* S_j */
    const double *divergence;    /* D_j */
    const double *landauer_diff; /* sum of S_i over init(j), minus S_j */
    const double *mismatch_diff; /* sum of D_i minus D_j (joint: D(joint) - D_j) */
    const double *outside_mass;  /* share of the neuron's actual mass outside the bins
                                    its optimal histogram has */
} nh_neuron_costs;

nh_status nh_costs_neurons(const nh_costs *costs, size_t index, nh_neuron_costs *out,
                           nh_error *err);

int64_t nh_costs_samples(const nh_costs *costs);
int64_t nh_costs_optimal_samples(const nh_costs *costs);
size_t nh_costs_layer_count(const nh_costs *costs);
nh_status nh_costs_layer(const nh_costs *costs, size_t index, nh_layer_costs *out,
                         nh_error *err);
void nh_costs_total(const nh_costs *costs, double *landauer, double *mismatch);

/* ------------------------------------------------------------------- MPI */

/* Whether the library was built with MPI. */
int nh_mpi_available(void);

/* This process's rank and the number of ranks of MPI_COMM_WORLD: 0 and 1
 * without MPI or when MPI is not initialised (the caller initialises it). */
void nh_mpi_world(int *rank, int *size);

/* ----------------------------------------------------------------- gates */

/* Costs of a single gate from samples: inputs holds n rows of d values, outputs
 * n values; opt_inputs and opt_outputs the same for m samples of the optimal
 * distribution (both NULL for no Mismatch). Values are binned with bin_size.
 * With joint != 0 the input entropy and divergence come from one joint
 * histogram of the d inputs; otherwise from the sum over the d marginals.
 * Results are in nats and not clipped. */
typedef struct nh_gate_costs {
    double input_entropy, output_entropy;
    double input_divergence, output_divergence;
    double landauer, mismatch;
} nh_gate_costs;

nh_status nh_gate_compute(const double *inputs, const double *outputs, size_t n, size_t d,
                          const double *opt_inputs, const double *opt_outputs, size_t m,
                          double bin_size, int joint, nh_estimator estimator,
                          nh_entropy_mode entropy, nh_kl_mode kl, nh_gate_costs *out,
                          nh_error *err);

/* ----------------------------------------------------------------- units */

#define NH_BOLTZMANN 1.380649e-23      /* J/K, exact */
#define NH_ELEMENTARY 1.602176634e-19  /* C, exact */
#define NH_ROOM_TEMPERATURE 293.15     /* K */

typedef enum nh_unit { NH_UNIT_EV, NH_UNIT_J, NH_UNIT_ZJ, NH_UNIT_KT, NH_UNIT_BITS } nh_unit;

/* "eV", "J", "zJ", "kT" or "bits" (case-insensitive for the first letter of
 * eV/zJ). */
nh_status nh_unit_parse(const char *name, nh_unit *out, nh_error *err);
const char *nh_unit_name(nh_unit unit);

/* nats at the given temperature, in unit. */
double nh_energy_from_nats(double nats, double kelvin, nh_unit unit);

/* ------------------------------------------------------------ heuristics */

/* Heuristic costs for Gaussian inputs (thesis eq. 3.1-3.6): no sample is run.
 * Every neuron is assumed to follow the input's N(mu, sigma^2), and its
 * optimal counterpart N(mu_o, sigma_o^2), so that each carries the entropy
 * S_N = 0.5 ln(2 pi e sigma^2) and the divergence D_N of those normals. A
 * layer of N_f neurons then costs L = N_f f S_N and M = N_f g D_N with
 *   dense, M inputs:               f = g = M - 1
 *   pool, a window of P^2 inputs:  f = P^2 - 1/P, g = f / 3 (P = sqrt of
 *                                  the window's size; global: the channel)
 *   conv, C_in/group channels and a kernel of K^2 (any rank: its element
 *   count) inputs:                 f = g = C_in/group K^2
 *   input, reshape, elementwise, add: f = g = 0.
 * docs/heuristic.md gives the assumptions and how far they hold. */

/* 0.5 ln(2 pi e sigma^2): the entropy of N(mu, sigma^2) in nats. */
double nh_normal_entropy(double sigma);

/* KL divergence D(N(mu, sigma^2) || N(mu_o, sigma_o^2)) in nats. */
double nh_normal_divergence(double mu, double sigma, double mu_o, double sigma_o);

typedef struct nh_heuristic nh_heuristic;

/* Per-layer heuristic results, in nats. */
typedef struct nh_layer_heuristic {
    double landauer;        /* N_f f S_N */
    double mismatch;        /* N_f g D_N */
    double factor;          /* f: entropies S_N each neuron drops */
    double mismatch_factor; /* g: divergences D_N each neuron drops */
} nh_layer_heuristic;

/* Computes the heuristic costs of every layer of model for input
 * N(mu, sigma^2) and optimal input N(mu_o, sigma_o^2) (nnheat's default
 * optimal is N(0, 1)). sigma and sigma_o must be > 0 and every value finite:
 * otherwise NH_EINVAL with a message naming the field. On success *out owns
 * the results, which do not refer to the model afterwards; free them with
 * nh_heuristic_destroy. */
nh_status nh_heuristic_compute(const nh_model *model, double mu, double sigma, double mu_o,
                               double sigma_o, nh_heuristic **out, nh_error *err);

void nh_heuristic_destroy(nh_heuristic *h);

/* Number of layers, as nh_model_layer_count of the model. */
size_t nh_heuristic_layer_count(const nh_heuristic *h);

/* Copies layer index's results into *out. */
nh_status nh_heuristic_layer(const nh_heuristic *h, size_t index, nh_layer_heuristic *out,
                             nh_error *err);

/* Sums over the layers, in nats; either pointer may be NULL. */
void nh_heuristic_total(const nh_heuristic *h, double *landauer, double *mismatch);

/* S_N and D_N, in nats. */
double nh_heuristic_entropy(const nh_heuristic *h);
double nh_heuristic_divergence(const nh_heuristic *h);

#ifdef __cplusplus
}
#endif

#endif
