/* landing_read.c - a dropped file's records, one NDJSON line each: format
 * detection, CSV, NDJSON, one JSON array. */
#include "landing_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "bronze.h"
#include "endpoints.h"
#include "files.h"
#include "fsutil.h"
#include "ingest.h"
#include "jsonsplit.h"
#include "layout.h"
#include "log.h"
#include "spool.h"
#include "timeutil.h"

/* ------------------------------------------------------------ reader */

void landing_reader_close(struct landing_reader *r)
{
    csv_reader_close(&r->csv);
    if (r->in != NULL)
        fclose(r->in);
    r->in = NULL;
    buf_free(&r->rec);
}

int landing_reader_open(struct landing_reader *r, int fd, enum landing_format format,
                               size_t max, bool parse_json, char err[ERROR_MAX])
{
    memset(r, 0, sizeof *r);
    r->format = format;
    r->max = max;
    r->parse_json = parse_json;
    int dup_fd = dup(fd);
    if (dup_fd < 0)
        return error_set(err, "dup: %s", strerror(errno));
    if (lseek(dup_fd, 0, SEEK_SET) < 0 || (r->in = fdopen(dup_fd, "r")) == NULL) {
        error_set(err, "read: %s", strerror(errno));
        close(dup_fd);
        return -1;
    }
    if (format == LANDING_CSV) {
        r->csv = csv_reader_open(r->in, err);
        if (r->csv == NULL) {
            landing_reader_close(r);
            return -1;
        }
    }
    return 0;
}

static inline int landing_rec_put(struct landing_reader *r, int c)
{
    if (r->rec.len == r->rec.cap && !buf_reserve(&r->rec, 4096))
        return -1;
    r->rec.data[r->rec.len++] = (char)c;
    return 0;
}

static int landing_next_ndjson(struct landing_reader *r, char err[ERROR_MAX])
{
    for (;;) {
        r->rec.len = 0;
        uint64_t line = r->line + 1;
        bool blank = true, any = false, too_long = false;
        int c;
        while ((c = getc_unlocked(r->in)) != EOF && c != '\n') {
            any = true;
            if (too_long)
                continue;
            if (r->rec.len >= r->max) {
                too_long = true;
                continue;
            }
            if (landing_rec_put(r, c) < 0)
                return error_set(err, "out of memory");
            if (c != ' ' && c != '\t' && c != '\r')
                blank = false;
        }
        if (ferror(r->in))
            return error_set(err, "line %" PRIu64 ": read error: %s", line, strerror(errno));
        if (c == '\n')
            r->line++;
        if (!any && c == EOF)
            return 0;
        if (too_long)
            return error_set(err, "line %" PRIu64 ": record longer than batch_max_bytes (%zu)",
                             line, r->max);
        if (line == 1 && r->rec.len >= 3 && memcmp(r->rec.data, "\xEF\xBB\xBF", 3) == 0) {
            memmove(r->rec.data, r->rec.data + 3, r->rec.len - 3);
            r->rec.len -= 3;
        }
        while (r->rec.len > 0 && r->rec.data[r->rec.len - 1] == '\r')
            r->rec.len--;
        if (!blank)
            return 1;
    }
}

static int landing_json_getc(struct landing_reader *r)
{
    int c = getc_unlocked(r->in);
    if (c == '\n')
        r->line++;
    return c;
}

static int landing_json_skip_blank(struct landing_reader *r)
{
    int c;
    while ((c = landing_json_getc(r)) == ' ' || c == '\t' || c == '\r' || c == '\n')
        ;
    return c;
}

static int landing_next_json(struct landing_reader *r, char err[ERROR_MAX])
{
    int c;
    if (r->json_state == 2)
        return 0;
    if (r->json_state == 0) {
        c = landing_json_skip_blank(r);
        if (c == 0xEF) { /* UTF-8 byte order mark */
            if (landing_json_getc(r) != 0xBB || landing_json_getc(r) != 0xBF)
                return error_set(err, "line 1: a JSON array file must start with '['");
            c = landing_json_skip_blank(r);
        }
        if (c != '[')
            return error_set(err, "line %" PRIu64 ": a JSON array file must start with '['",
                             r->line + 1);
        r->json_state = 1;
        c = landing_json_skip_blank(r);
        if (c == ']')
            goto end_of_array;
        ungetc(c, r->in);
    }
    c = landing_json_skip_blank(r);
    if (c == EOF)
        return error_set(err, "line %" PRIu64 ": unexpected end of file inside the array",
                         r->line + 1);
    ungetc(c, r->in);
    uint64_t start_line = r->line + 1;
    r->rec.len = 0;
    struct jsonsplit split;
    jsonsplit_reset(&split);
    for (;;) {
        c = landing_json_getc(r);
        if (c == EOF)
            return error_set(err, "line %" PRIu64 ": unexpected end of file inside the element "
                                  "starting at line %" PRIu64,
                             r->line + 1, start_line);
        enum jsonsplit_result step = jsonsplit_step(&split, c);
        if (step == JSONSPLIT_OUTSIDE) {
            ungetc(c, r->in);
            if (c == '\n')
                r->line--;
            break;
        }
        bool end_after = step == JSONSPLIT_LAST;
        if (r->rec.len >= r->max)
            return error_set(err, "line %" PRIu64 ": record larger than batch_max_bytes (%zu)",
                             start_line, r->max);
        /* One line per record: newlines between tokens become blanks (a
         * raw newline inside a string is invalid JSON anyway). */
        if (landing_rec_put(r, c == '\n' || c == '\r' ? ' ' : c) < 0)
            return error_set(err, "out of memory");
        if (end_after)
            break;
    }
    if (r->rec.len == 0)
        return error_set(err, "line %" PRIu64 ": expected a value", start_line);
    if (r->parse_json) {
        json_error_t e;
        json_t *v = json_loadb(r->rec.data, r->rec.len, JSON_DECODE_ANY, &e);
        if (v == NULL)
            return error_set(err, "line %" PRIu64 ": invalid JSON element: %s", start_line,
                             e.text);
        json_decref(v);
    }
    c = landing_json_skip_blank(r);
    if (c == ',')
        return 1;
    if (c == EOF)
        return error_set(err, "line %" PRIu64 ": unexpected end of file: the array is not "
                              "closed with ']'",
                         r->line + 1);
    if (c != ']')
        return error_set(err, "line %" PRIu64 ": expected ',' or ']' after an element",
                         r->line + 1);
end_of_array:
    r->json_state = 2;
    c = landing_json_skip_blank(r);
    if (c != EOF)
        return error_set(err, "line %" PRIu64 ": text after the end of the array", r->line + 1);
    return r->rec.len > 0 ? 1 : 0;
}

static int landing_next_csv(struct landing_reader *r, char err[ERROR_MAX])
{
    json_t *row = NULL;
    int rc = csv_reader_next(r->csv, &row, err);
    if (rc <= 0)
        return rc;
    r->rows++;
    r->rec.len = 0;
    size_t n = json_dumpb(row, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (n > r->max) {
        json_decref(row);
        return error_set(err, "row %" PRIu64 ": record larger than batch_max_bytes (%zu)",
                         r->rows, r->max);
    }
    if (!buf_reserve(&r->rec, n)) {
        json_decref(row);
        return error_set(err, "out of memory");
    }
    r->rec.len = json_dumpb(row, r->rec.data, n, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(row);
    return 1;
}

/* 1: r->rec holds the next record, 0: end, -1: the file cannot be read on
 * (err says where). A held record is returned again. */
int landing_reader_next(struct landing_reader *r, char err[ERROR_MAX])
{
    if (r->held) {
        r->held = false;
        return 1;
    }
    switch (r->format) {
    case LANDING_CSV: return landing_next_csv(r, err);
    case LANDING_NDJSON: return landing_next_ndjson(r, err);
    default: return landing_next_json(r, err);
    }
}

enum landing_format landing_detect(int fd, const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot != NULL && strcasecmp(dot, ".csv") == 0)
        return LANDING_CSV;
    if (dot != NULL && (strcasecmp(dot, ".ndjson") == 0 || strcasecmp(dot, ".jsonl") == 0))
        return LANDING_NDJSON;
    unsigned char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    ssize_t i = 0;
    if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i < n && buf[i] == '[')
        return LANDING_JSON;
    if (i < n && buf[i] == '{')
        return LANDING_NDJSON;
    return LANDING_CSV;
}
