/* nnheat <command> [options] */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#ifdef NH_HAVE_MPI
#include <mpi.h>
#endif

int nh_cli_verbosity = 1;
int nh_cli_bad_value;

int nh_cli_parse_failure(void)
{
    return nh_cli_bad_value ? NH_EXIT_FAIL : NH_EXIT_USAGE;
}

static void message(const char *tag, const char *fmt, va_list ap)
{
    fprintf(stderr, "nnheat: %s", tag);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void nh_cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message("error: ", fmt, ap);
    va_end(ap);
}

void nh_cli_warn(const char *fmt, ...)
{
    va_list ap;

    if (nh_cli_verbosity < 1)
        return;
    va_start(ap, fmt);
    message("warning: ", fmt, ap);
    va_end(ap);
}

void nh_cli_info(const char *fmt, ...)
{
    va_list ap;

    if (nh_cli_verbosity < 2)
        return;
    va_start(ap, fmt);
    message("", fmt, ap);
    va_end(ap);
}

int nh_cli_fail(const nh_error *err)
{
    nh_cli_error("%s", err->message);
    return NH_EXIT_FAIL;
}

int nh_parse_double(const char *opt, const char *text, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(*out)) {
        nh_cli_bad_value = 1;
        nh_cli_error("%s: '%s' is not a finite number", opt, text);
        return 0;
    }
    return 1;
}

int nh_parse_ratio(const char *opt, const char *text, double *out)
{
    const char *slash = strchr(text, '/');
    char num[64];
    double a, b;

    if (!slash)
        return nh_parse_double(opt, text, out);
    if ((size_t)(slash - text) >= sizeof num) {
        nh_cli_bad_value = 1;
        nh_cli_error("%s: '%s' is not a number or a fraction A/B", opt, text);
        return 0;
    }
    memcpy(num, text, (size_t)(slash - text));
    num[slash - text] = '\0';
    if (!nh_parse_double(opt, num, &a) || !nh_parse_double(opt, slash + 1, &b))
        return 0;
    if (b == 0) {
        nh_cli_bad_value = 1;
        nh_cli_error("%s: '%s' divides by zero", opt, text);
        return 0;
    }
    *out = a / b;
    return 1;
}

int nh_parse_int64(const char *opt, const char *text, int64_t min, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (end == text || *end || errno || v < min) {
        nh_cli_bad_value = 1;
        nh_cli_error("%s: '%s' is not an integer >= %lld", opt, text, (long long)min);
        return 0;
    }
    *out = v;
    return 1;
}

int nh_cli_check_output(const char *what, const char *path)
{
    char dir[4096];
    const char *slash;
    struct stat st;

    if (strcmp(path, "-") == 0)
        return 1;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode) && strcmp(what, "--per-neuron") != 0) {
            nh_cli_error("%s: %s is a directory", what, path);
            return 0;
        }
        if (access(path, W_OK) != 0) {
            nh_cli_error("%s: %s is not writable: %s", what, path, strerror(errno));
            return 0;
        }
        return 1;
    }
    slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (access(dir, W_OK) != 0) {
        nh_cli_error("%s: cannot create %s: directory %s: %s", what, path, dir,
                     strerror(errno));
        return 0;
    }
    return 1;
}

int nh_cli_same_file(const char *in, const char *out)
{
    struct stat a, b;

    return strcmp(out, "-") != 0 && stat(in, &a) == 0 && stat(out, &b) == 0
           && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The canonical path of path's directory joined with its last component. */
static int canonical(const char *path, char *out, size_t size)
{
    char dir[4096], real[4096];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;

    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (!realpath(dir, real))
        return 0;
    return snprintf(out, size, "%s/%s", real, base) < (int)size;
}

int nh_cli_same_path(const char *a, const char *b)
{
    char ca[8192], cb[8192];

    if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return 0;
    return nh_cli_same_file(a, b)
           || (canonical(a, ca, sizeof ca) && canonical(b, cb, sizeof cb) && !strcmp(ca, cb));
}

int nh_cli_inside(const char *file, const char *dir)
{
    char cf[8192], cd[4096];
    const char *slash;

    if (!canonical(file, cf, sizeof cf) || !realpath(dir, cd))
        return 0;
    slash = strrchr(cf, '/');
    return slash && (size_t)(slash - cf) == strlen(cd) && !strncmp(cf, cd, strlen(cd));
}

volatile sig_atomic_t nh_cli_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    nh_cli_interrupted = 1;
}

void nh_cli_catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void nh_cli_display_name(char *out, size_t size, const char *name, size_t width)
{
    size_t n = 0, len = strlen(name);

    if (width >= size)
        width = size - 1;
    for (; n < width && n < len; n++)
        out[n] = (unsigned char)name[n] < 32 || name[n] == 127 ? '?' : name[n];
    if (len > width && width > 0)
        out[width - 1] = '~';
    out[n] = '\0';
}

void nh_format_shape(char *buf, size_t size, const int64_t *shape, int ndim)
{
    size_t len = 0;

    buf[0] = '\0';
    if (ndim == 0)
        snprintf(buf, size, "scalar");
    for (int d = 0; d < ndim && len < size; d++)
        len += (size_t)snprintf(buf + len, size - len, d ? "x%lld" : "%lld",
                                (long long)shape[d]);
}

double nh_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void nh_progress_update(void *data, int64_t done, int64_t total)
{
    nh_progress *p = data;
    double now = nh_now(), elapsed = now - p->start;
    int width = 30, filled;

    if (nh_cli_verbosity < 1 || !isatty(STDERR_FILENO) || elapsed < 1.0)
        return;
    if (p->shown && now - p->last < 0.2 && done != total)
        return;
    p->shown = 1;
    p->last = now;
    if (total <= 0) {
        fprintf(stderr, "\r%lld samples, %.0f s", (long long)done, elapsed);
        return;
    }
    filled = (int)((double)width * (double)done / (double)total);
    fprintf(stderr, "\r[%.*s%*s] %3.0f%%  %.0f s left ", filled,
            "##############################", width - filled, "",
            100.0 * (double)done / (double)total,
            done > 0 ? elapsed * (double)(total - done) / (double)done : 0.0);
}

void nh_progress_end(nh_progress *p)
{
    if (p->shown)
        fprintf(stderr, "\r%*s\r", 60, "");
}

void nh_cli_resources(double start)
{
    struct rusage ru;

    if (nh_cli_verbosity < 1 || getrusage(RUSAGE_SELF, &ru) != 0)
        return;
    fprintf(stderr, "nnheat: real %.2f s, CPU %.2f s, peak memory %.1f MB\n",
            nh_now() - start,
            (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec
                + (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec,
            (double)ru.ru_maxrss / 1024.0);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: nnheat <command> [options]\n"
            "\n"
            "The least energy a trained neural network must dissipate each time it runs.\n"
            "\n"
            "Commands:\n"
            "  costs MODEL -i INPUT   Landauer and Mismatch costs estimated from samples\n"
            "  heuristic MODEL --mean MU --std SIGMA   heuristic costs for Gaussian inputs\n"
            "  info MODEL             the layers nnheat cuts the model into\n"
            "  run MODEL -i INPUT -o OUT.npy   inference only\n"
            "  version                print the version\n"
            "\n"
            "Run 'nnheat <command> --help' for a command's options.\n");
}

/* Under mpirun or srun (their environment says so), every rank runs the
 * command on its share of the samples; plain runs never touch MPI. */
static int launched_by_mpi(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

static int dispatch(int argc, char **argv);

int main(int argc, char **argv)
{
    int rc;

#ifdef NH_HAVE_MPI
    int mpi = launched_by_mpi();

    if (mpi && MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        nh_cli_error("MPI_Init failed");
        return NH_EXIT_FAIL;
    }
    rc = dispatch(argc, argv);
    if (mpi)
        MPI_Finalize();
#else
    if (launched_by_mpi())
        nh_cli_warn("launched by an MPI launcher, but this nnheat was built without MPI: "
                    "every process runs the whole job");
    rc = dispatch(argc, argv);
#endif
    return rc;
}

static int dispatch(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (!cmd) {
        usage(stderr);
        return NH_EXIT_USAGE;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return NH_EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("nnheat %s\n", nh_version());
        return NH_EXIT_OK;
    }
    if (strcmp(cmd, "costs") == 0)
        return nh_cmd_costs(argc - 1, argv + 1);
    if (strcmp(cmd, "info") == 0)
        return nh_cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return nh_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "heuristic") == 0)
        return nh_cmd_heuristic(argc - 1, argv + 1);
    nh_cli_error("unknown command '%s'", cmd);
    usage(stderr);
    return NH_EXIT_USAGE;
}
