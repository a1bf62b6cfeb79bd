/* The nnheat command: shared helpers of its subcommands. */
#ifndef NH_CLI_CLI_H
#define NH_CLI_CLI_H

#include <signal.h>
#include <stdint.h>

#include "nnheat.h"

/* Exit codes: success, usage error, bad input or failed run. */
enum { NH_EXIT_OK = 0, NH_EXIT_USAGE = 1, NH_EXIT_FAIL = 2 };

extern int nh_cli_verbosity; /* 0 quiet, 1 normal, 2 verbose */

/* Set when an option had a bad value (a bin size of 0, an unknown unit):
 * that is bad input (exit 2), where a malformed command line is a usage
 * error (exit 1). */
extern int nh_cli_bad_value;

/* The exit code after a failed parse. */
int nh_cli_parse_failure(void);

int nh_cmd_costs(int argc, char **argv);
int nh_cmd_info(int argc, char **argv);
int nh_cmd_run(int argc, char **argv);
int nh_cmd_heuristic(int argc, char **argv);

/* costs --heuristic (cmd_heuristic.c). nh_cli_parse_normal reads a
 * "normal:MU,SIGMA" spec (1 if it is one, with SIGMA > 0). The second
 * computes the heuristic for a costs run whose input spec (after in_opt's
 * scale and shift) and optimal spec (NULL for N(0, 1)) must be normal
 * generators; it prints an error and returns 0 otherwise. The third prints
 * the heuristic and the ratio sampled / heuristic per layer. */
int nh_cli_parse_normal(const char *spec, double *mu, double *sigma);
int nh_cli_heuristic_for_costs(const nh_model *model, const char *input,
                               const nh_source_options *in_opt, const char *optimal,
                               nh_heuristic **out);
void nh_cli_heuristic_compare(const nh_model *model, const nh_costs *costs,
                              const nh_heuristic *h, double kelvin, nh_unit unit,
                              int mismatch);

/* Messages on stderr tagged with the severity. */
void nh_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nh_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nh_cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints err's message and returns NH_EXIT_FAIL. */
int nh_cli_fail(const nh_error *err);

/* Option values: each prints an error naming the option, sets
 * nh_cli_bad_value and returns 0 when the text is not a valid value. */
int nh_parse_double(const char *opt, const char *text, double *out);
int nh_parse_ratio(const char *opt, const char *text, double *out); /* also "1/255" */
int nh_parse_int64(const char *opt, const char *text, int64_t min, int64_t *out);

/* Whether path can be written (or created) before a long run starts; prints
 * an error naming what and returns 0 if not. "-" is stdout. */
int nh_cli_check_output(const char *what, const char *path);

/* Whether out names the same existing file as in (a run must not write over
 * its own input). */
int nh_cli_same_file(const char *in, const char *out);

/* Whether a and b name the same file, existing or not (same directory and
 * name), and whether file lies directly inside directory dir. */
int nh_cli_same_path(const char *a, const char *b);
int nh_cli_inside(const char *file, const char *dir);

/* Set by SIGINT or SIGTERM once nh_cli_catch_signals ran: a run stops at
 * the next batch and cleans up. */
extern volatile sig_atomic_t nh_cli_interrupted;
void nh_cli_catch_signals(void);

/* name with control characters replaced, cut to width with a '~'. */
void nh_cli_display_name(char *out, size_t size, const char *name, size_t width);

/* A shape as "1x28x28". */
void nh_format_shape(char *buf, size_t size, const int64_t *shape, int ndim);

/* A progress bar with the time left on stderr, shown only when stderr is a
 * terminal and the run has lasted over a second. */
typedef struct nh_progress {
    double start;
    int shown;
    double last;
} nh_progress;

void nh_progress_update(void *data, int64_t done, int64_t total);
void nh_progress_end(nh_progress *p);

/* Seconds since an arbitrary origin (monotonic). */
double nh_now(void);

/* "real 1.2 s, CPU 2.3 s, peak memory 45.6 MB" on stderr. */
void nh_cli_resources(double start);

#endif
