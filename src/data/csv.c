/* Numeric CSV: one sample per row, every row with the same number of fields.
 *
 * The delimiter is the one the first line uses: ',' ';' or tab (a first
 * line that mixes them is an error); a first line with none of them splits
 * at runs of blanks (numpy.savetxt's default), which also covers one value
 * per line. The first line is a header when none of its fields is a
 * number; a first line with some numbers and some text is an error rather
 * than a guess (a typo in the first sample must not drop it silently). A
 * UTF-8 byte order mark is skipped. Fields may be wrapped in double quotes,
 * but a delimiter inside the quotes is not supported. Blank lines are
 * allowed only at the end of the file. The number of samples is not known
 * until the end: nh_source_count gives -1. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "data/source-impl.h"

/* A line longer than this is taken for a file that is not CSV. */
#define NH_CSV_LINE_MAX ((size_t)64 << 20)

typedef struct csv_state {
    gzFile f;
    char *line; /* the current line, without its end of line */
    size_t cap;
    int64_t lineno; /* of the current line, from 1 */
    char delim;     /* ',', ';', '\t', or ' ' for runs of blanks */
    size_t ncols;
    int header;
    int64_t next; /* the sample the next row holds; -1 unknown */
} csv_state;

static void csv_close(void *state)
{
    csv_state *st = state;

    if (st->f)
        gzclose(st->f);
    free(st->line);
    free(st);
}

static nh_status csv_grow(nh_source *src, csv_state *st, nh_error *err)
{
    size_t cap = st->cap ? 2 * st->cap : 4096;
    char *line;

    if (cap > NH_CSV_LINE_MAX)
        return nh_fail(err, NH_EFORMAT, "%s: line %lld is longer than %zu bytes", src->name,
                       (long long)st->lineno + 1, NH_CSV_LINE_MAX);
    line = realloc(st->line, cap);
    if (!line)
        return nh_fail(err, NH_ENOMEM, "%s: out of memory for a line of %zu bytes", src->name,
                       cap);
    st->line = line;
    st->cap = cap;
    return NH_OK;
}

/* Reads the next line into st->line; *eof is set at the end of the file. */
static nh_status csv_getline(nh_source *src, csv_state *st, int *eof, nh_error *err)
{
    size_t n = 0;
    nh_status s;

    *eof = 0;
    for (;;) {
        if (st->cap - n < 2 && (s = csv_grow(src, st, err)) != NH_OK)
            return s;
        if (!gzgets(st->f, st->line + n, (int)(st->cap - n))) {
            int code;
            const char *msg = nh_data_gz_error(st->f, src->name, &code);

            if (code == Z_ERRNO)
                return nh_fail(err, NH_EIO, "%s: read error: %s", src->name, msg);
            if (code == Z_BUF_ERROR)
                return nh_fail(err, NH_EFORMAT, "%s: truncated gzip data after line %lld",
                               src->name, (long long)st->lineno);
            if (code != Z_OK)
                return nh_fail(err, NH_EFORMAT, "%s: damaged gzip data: %s", src->name, msg);
            break;
        }
        n += strlen(st->line + n);
        if ((n > 0 && st->line[n - 1] == '\n') || n + 1 < st->cap)
            break; /* a whole line, or the last one without a newline */
    }
    if (n == 0) {
        *eof = 1;
        return NH_OK;
    }
    while (n > 0 && (st->line[n - 1] == '\n' || st->line[n - 1] == '\r'))
        st->line[--n] = '\0';
    if (st->lineno == 0 && strncmp(st->line, "\xEF\xBB\xBF", 3) == 0)
        memmove(st->line, st->line + 3, n - 2); /* a UTF-8 byte order mark */
    st->lineno++;
    return NH_OK;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int line_is_blank(const char *p)
{
    while (is_blank(*p))
        p++;
    return *p == '\0';
}

/* The next line that is not blank; *eof at the end. A blank line followed
 * by more data is an error. */
static nh_status csv_next_row(nh_source *src, csv_state *st, int *eof, nh_error *err)
{
    int64_t blank = 0;

    for (;;) {
        nh_status s = csv_getline(src, st, eof, err);

        if (s != NH_OK || *eof)
            return s;
        if (!line_is_blank(st->line))
            break;
        if (!blank)
            blank = st->lineno;
    }
    if (blank)
        return nh_fail(err, NH_EFORMAT, "%s: line %lld is empty", src->name, (long long)blank);
    return NH_OK;
}

/* Cuts the next field off *cur (the line, modified in place): returns it
 * without surrounding blanks, or NULL after the last field. */
static char *next_field(const csv_state *st, char **cur)
{
    char *p = *cur, *start, *end;

    if (!p)
        return NULL;
    if (st->delim == ' ') {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            return NULL;
        start = p;
        while (*p && !is_blank(*p))
            p++;
        *cur = *p ? p + 1 : p;
        *p = '\0';
        return start;
    }
    end = strchr(p, st->delim);
    *cur = end ? end + 1 : NULL;
    if (!end)
        end = p + strlen(p);
    while (p < end && is_blank(*p))
        p++;
    while (end > p && is_blank(end[-1]))
        end--;
    if (end - p >= 2 && *p == '"' && end[-1] == '"') { /* "1.5" as some tools write */
        p++;
        end--;
    }
    *end = '\0';
    return p;
}

static size_t count_fields(const csv_state *st, const char *line)
{
    size_t n = 0;

    if (st->delim == ' ') {
        for (const char *p = line; *p;) {
            while (is_blank(*p))
                p++;
            if (*p)
                n++;
            while (*p && !is_blank(*p))
                p++;
        }
        return n;
    }
    for (n = 1; (line = strchr(line, st->delim)); line++)
        n++;
    return n;
}

/* 0 when field is a number (into *v), 1 when it is not, -1 when empty. */
static int parse_number(const char *field, double *v)
{
    char *end;

    if (*field == '\0')
        return -1;
    *v = strtod(field, &end);
    return *end == '\0' ? 0 : 1;
}

/* Parses the current line as a sample into out. */
static nh_status csv_parse_row(nh_source *src, csv_state *st, float *out, nh_error *err)
{
    size_t n = count_fields(st, st->line);
    char *cur = st->line, *field;
    size_t col = 0;

    if (n != st->ncols)
        return nh_fail(err, NH_EFORMAT, "%s: line %lld has %zu fields, expected %zu (as line 1)",
                       src->name, (long long)st->lineno, n, st->ncols);
    while ((field = next_field(st, &cur)) != NULL && col < n) {
        double v = 0;
        int r = parse_number(field, &v);

        if (r < 0)
            return nh_fail(err, NH_EFORMAT, "%s: line %lld, column %zu: empty field", src->name,
                           (long long)st->lineno, col + 1);
        if (r > 0) {
            char shown[64];

            nh_data_quote(shown, sizeof shown, field, strlen(field));
            return nh_fail(err, NH_EFORMAT, "%s: line %lld, column %zu: '%s' is not a number",
                           src->name, (long long)st->lineno, col + 1, shown);
        }
        out[col++] = (float)(v * src->opt.scale + src->opt.shift);
    }
    return NH_OK;
}

/* Goes back to the start and skips the header and `sample` rows. */
static nh_status csv_seek(nh_source *src, int64_t sample, nh_error *err)
{
    csv_state *st = src->state;
    int eof = 0;
    nh_status s;

    if (st->next == sample)
        return NH_OK;
    st->next = -1;
    if (gzrewind(st->f) != 0)
        return nh_fail(err, NH_EIO, "%s: cannot go back to the start", src->name);
    st->lineno = 0;
    if (st->header && (s = csv_getline(src, st, &eof, err)) != NH_OK)
        return s;
    for (int64_t i = 0; i < sample && !eof; i++) {
        s = csv_next_row(src, st, &eof, err);
        if (s != NH_OK)
            return s;
    }
    st->next = sample;
    return NH_OK;
}

static nh_status csv_read(nh_source *src, float *buf, size_t n, size_t *n_read, nh_error *err)
{
    csv_state *st = src->state;
    nh_status s;
    size_t k;

    *n_read = 0;
    s = csv_seek(src, src->pos, err);
    if (s != NH_OK)
        return s;
    st->next = -1;
    for (k = 0; k < n; k++) {
        int eof;

        s = csv_next_row(src, st, &eof, err);
        if (s != NH_OK)
            return s;
        if (eof)
            break;
        s = csv_parse_row(src, st, buf + k * st->ncols, err);
        if (s != NH_OK)
            return s;
    }
    st->next = src->pos + (int64_t)k;
    *n_read = k;
    return NH_OK;
}

static const nh_source_reader csv_reader = {csv_seek, csv_read, csv_close};

/* Picks the delimiter from the first line. */
static nh_status csv_pick_delimiter(nh_source *src, csv_state *st, nh_error *err)
{
    size_t commas = 0, semicolons = 0, tabs = 0;

    for (const char *p = st->line; *p; p++) {
        commas += *p == ',';
        semicolons += *p == ';';
        tabs += *p == '\t';
    }
    if ((commas > 0) + (semicolons > 0) + (tabs > 0) > 1)
        return nh_fail(err, NH_EFORMAT,
                       "%s: line 1 mixes delimiters (%zu ',', %zu ';', %zu tabs); use one",
                       src->name, commas, semicolons, tabs);
    st->delim = commas ? ',' : semicolons ? ';' : tabs ? '\t' : ' ';
    return NH_OK;
}

/* Reads line 1: the delimiter, the field count, and whether it is a header. */
static nh_status csv_read_first_line(nh_source *src, csv_state *st, nh_error *err)
{
    char *cur, *field, first_text[48] = "";
    int eof, col = 0, text = 0, text_col = 0;
    nh_status s;

    s = csv_next_row(src, st, &eof, err);
    if (s != NH_OK)
        return s;
    if (eof)
        return nh_fail(err, NH_EFORMAT, "%s: empty file: expected rows of numbers", src->name);
    if (st->lineno != 1)
        return nh_fail(err, NH_EFORMAT, "%s: line 1 is empty", src->name);
    s = csv_pick_delimiter(src, st, err);
    if (s != NH_OK)
        return s;
    st->ncols = count_fields(st, st->line);
    cur = st->line;
    while ((field = next_field(st, &cur)) != NULL) {
        double v;

        col++;
        if (parse_number(field, &v) > 0) {
            if (!text)
                snprintf(first_text, sizeof first_text, "%.40s", field);
            text++;
            text_col = text_col ? text_col : col;
        }
    }
    if (text == 0 || text == col) {
        st->header = text > 0;
        return NH_OK;
    }
    return nh_fail(err, NH_EFORMAT, "%s: line 1, column %d: '%s' is not a number, but other "
                   "fields of line 1 are: expected a header of names or a row of numbers",
                   src->name, text_col, first_text);
}

nh_status nh_csv_open(nh_source *src, gzFile f, nh_error *err)
{
    csv_state *st;
    int eof = 0;
    nh_status s;

    st = nh_calloc(err, 1, sizeof *st);
    if (!st) {
        gzclose(f);
        return NH_ENOMEM;
    }
    st->f = f;
    st->next = -1;
    s = csv_grow(src, st, err);
    if (s == NH_OK)
        s = csv_read_first_line(src, st, err);
    if (s == NH_OK && st->header)
        s = csv_next_row(src, st, &eof, err);
    if (s == NH_OK && eof)
        s = nh_fail(err, NH_EFORMAT, "%s: no samples: the file has only a header line",
                    src->name);
    if (s != NH_OK) {
        csv_close(st);
        return s;
    }

    src->reader = &csv_reader;
    src->state = st;
    src->file_count = -1;
    src->file_ndim = 1;
    src->file_shape[0] = (int64_t)st->ncols;
    return NH_OK;
}
