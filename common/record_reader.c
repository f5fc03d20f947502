/* record_reader.c - NDJSON, JSON array and CSV files as records (see
 * record_reader.h). */
#include "record_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "csv.h"
#include "jsonsplit.h"
#include "strbuf.h"

/* A pretty-printed JSON element may be this much longer than its compact
 * form, which is what max_bytes caps. */
#define RECORD_JSON_SLACK 4

static const char *const record_format_names[] = {
    [RECORD_FORMAT_AUTO] = "auto", [RECORD_FORMAT_NDJSON] = "ndjson",
    [RECORD_FORMAT_JSON] = "json", [RECORD_FORMAT_CSV] = "csv"};

enum record_json_state { JSON_BEFORE, JSON_FIRST, JSON_AFTER_ELEMENT, JSON_AFTER_COMMA,
                         JSON_DONE };

struct record_reader {
    FILE *in;
    enum record_format format;
    size_t max;
    char limit[64];
    struct strbuf rec;
    uint64_t line;       /* '\n' consumed so far (NDJSON, JSON) */
    uint64_t where;      /* line of the last record */
    enum record_json_state json;
    struct csv_reader *csv;
};

const char *record_format_name(enum record_format format)
{
    return format <= RECORD_FORMAT_CSV ? record_format_names[format] : "?";
}

int record_format_from_name(const char *name, enum record_format *out)
{
    for (int f = RECORD_FORMAT_AUTO; f <= RECORD_FORMAT_CSV; f++) {
        if (strcmp(name, record_format_names[f]) == 0) {
            *out = (enum record_format)f;
            return 0;
        }
    }
    return -1;
}

enum record_format record_format_from_extension(const char *name)
{
    const char *dot = name != NULL ? strrchr(name, '.') : NULL;
    if (dot == NULL)
        return RECORD_FORMAT_AUTO;
    if (strcasecmp(dot, ".csv") == 0)
        return RECORD_FORMAT_CSV;
    if (strcasecmp(dot, ".ndjson") == 0 || strcasecmp(dot, ".jsonl") == 0)
        return RECORD_FORMAT_NDJSON;
    return RECORD_FORMAT_AUTO;
}

static bool record_is_blank(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static size_t record_bom_len(const unsigned char *p, size_t len)
{
    return len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static enum record_format record_format_of(int c)
{
    if (c == '[')
        return RECORD_FORMAT_JSON;
    return c == '{' || c == EOF ? RECORD_FORMAT_NDJSON : RECORD_FORMAT_CSV;
}

enum record_format record_format_sniff(const void *head, size_t len)
{
    const unsigned char *p = head;
    size_t i = record_bom_len(p, len);
    while (i < len && record_is_blank(p[i]))
        i++;
    return record_format_of(i < len ? p[i] : EOF);
}

size_t record_skip_bom(const char **body, size_t len)
{
    size_t bom = record_bom_len((const unsigned char *)*body, len);
    *body += bom;
    return len - bom;
}

bool record_next_line(const char **p, const char *end, const char **line, size_t *n,
                      uint64_t *line_no)
{
    while (*p < end) {
        const char *s = *p;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl != NULL ? nl : end;
        *p = nl != NULL ? nl + 1 : end;
        (*line_no)++;
        while (le > s && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
            le--;
        if (le > s) {
            *line = s;
            *n = (size_t)(le - s);
            return true;
        }
    }
    return false;
}

static int record_getc(struct record_reader *r)
{
    int c = getc_unlocked(r->in);
    if (c == '\n')
        r->line++;
    return c;
}

static void record_ungetc(struct record_reader *r, int c)
{
    if (c == EOF)
        return;
    if (c == '\n')
        r->line--;
    ungetc(c, r->in);
}

static int record_skip_blank(struct record_reader *r)
{
    int c;
    while ((c = record_getc(r)) != EOF && record_is_blank(c))
        ;
    return c;
}

static enum record_read record_too_large(struct record_reader *r, char err[ERROR_MAX])
{
    error_set(err, "line %" PRIu64 ": record larger than %s (%zu bytes)", r->where, r->limit,
              r->max);
    return RECORD_READ_TOO_LARGE;
}

static enum record_read record_read_error(struct record_reader *r, char err[ERROR_MAX])
{
    error_set(err, "line %" PRIu64 ": read error: %s", r->line + 1, strerror(errno));
    return RECORD_READ_ERROR;
}

static enum record_read record_next_ndjson(struct record_reader *r, char err[ERROR_MAX])
{
    for (;;) {
        r->rec.len = 0;
        r->where = r->line + 1;
        bool any = false, too_large = false;
        size_t blank_from = 0; /* the line's trailing blanks start here */
        int c;
        while ((c = getc_unlocked(r->in)) != EOF && c != '\n') {
            any = true;
            if (too_large)
                continue;
            if (r->rec.len >= r->max) {
                too_large = true;
                continue;
            }
            char ch = (char)c;
            if (!strbuf_append(&r->rec, &ch, 1))
                return error_set(err, "out of memory");
            if (c != ' ' && c != '\t' && c != '\r')
                blank_from = r->rec.len;
        }
        if (ferror(r->in))
            return record_read_error(r, err);
        if (c == '\n')
            r->line++;
        if (!any && c == EOF)
            return RECORD_READ_END;
        if (too_large)
            return record_too_large(r, err);
        r->rec.len = blank_from;
        if (r->rec.len > 0) {
            r->rec.s[r->rec.len] = '\0';
            return RECORD_READ_OK;
        }
    }
}

/* Up to the next element (or the end of the array). 1 at an element, 0 at
 * the end, -1 error. */
static int record_json_advance(struct record_reader *r, char err[ERROR_MAX])
{
    for (;;) {
        int c = record_skip_blank(r);
        if (ferror(r->in))
            return record_read_error(r, err);
        if (r->json == JSON_DONE) {
            if (c != EOF)
                return error_set(err, "line %" PRIu64 ": text after the end of the JSON array",
                                 r->line + 1);
            return 0;
        }
        if (c == EOF)
            return error_set(err, "line %" PRIu64 ": unexpected end of input: the JSON array "
                                  "is not closed with ']'",
                             r->line + 1);
        if (r->json == JSON_BEFORE) {
            if (c != '[')
                return error_set(err, "line %" PRIu64 ": a JSON array must start with '['",
                                 r->line + 1);
            r->json = JSON_FIRST;
            continue;
        }
        if (r->json == JSON_AFTER_ELEMENT) {
            if (c == ',')
                r->json = JSON_AFTER_COMMA;
            else if (c == ']')
                r->json = JSON_DONE;
            else
                return error_set(err, "line %" PRIu64 ": expected ',' or ']' after an array "
                                      "element",
                                 r->line + 1);
            continue;
        }
        if (c == ']') {
            if (r->json == JSON_AFTER_COMMA)
                return error_set(err, "line %" PRIu64 ": ',' before ']' (trailing comma)",
                                 r->line + 1);
            r->json = JSON_DONE;
            continue;
        }
        record_ungetc(r, c);
        return 1;
    }
}

/* The element's bytes into r->rec (newlines as blanks). */
static enum record_read record_json_element(struct record_reader *r, bool *too_large,
                                            char err[ERROR_MAX])
{
    size_t raw_max = r->max > SIZE_MAX / RECORD_JSON_SLACK ? SIZE_MAX : r->max * RECORD_JSON_SLACK;
    struct jsonsplit split;
    jsonsplit_reset(&split);
    for (;;) {
        int c = record_getc(r);
        if (c == EOF) {
            if (ferror(r->in))
                return record_read_error(r, err);
            return error_set(err, "line %" PRIu64 ": unexpected end of input inside the element "
                                  "that starts at line %" PRIu64,
                             r->line + 1, r->where);
        }
        enum jsonsplit_result step = jsonsplit_step(&split, c);
        if (step == JSONSPLIT_OUTSIDE) {
            record_ungetc(r, c);
            break;
        }
        if (!*too_large && r->rec.len >= raw_max)
            *too_large = true;
        char ch = c == '\n' || c == '\r' ? ' ' : (char)c;
        if (!*too_large && !strbuf_append(&r->rec, &ch, 1))
            return error_set(err, "out of memory");
        if (step == JSONSPLIT_LAST)
            break;
    }
    return RECORD_READ_OK;
}

static enum record_read record_next_json(struct record_reader *r, char err[ERROR_MAX])
{
    int at = record_json_advance(r, err);
    if (at <= 0)
        return at < 0 ? RECORD_READ_ERROR : RECORD_READ_END;
    r->rec.len = 0;
    r->where = r->line + 1;
    bool too_large = false;
    enum record_read rc = record_json_element(r, &too_large, err);
    if (rc != RECORD_READ_OK)
        return rc;
    r->json = JSON_AFTER_ELEMENT;
    if (too_large)
        return record_too_large(r, err);
    json_error_t e;
    json_t *value = json_loadb(r->rec.s, r->rec.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (value == NULL)
        return error_set(err, "line %" PRIu64 ": invalid JSON: %s", r->where, e.text);
    r->rec.len = 0;
    size_t n = json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (n > r->max) {
        json_decref(value);
        return record_too_large(r, err);
    }
    if (!strbuf_reserve(&r->rec, n)) {
        json_decref(value);
        return error_set(err, "out of memory");
    }
    r->rec.len = json_dumpb(value, r->rec.s, n, JSON_COMPACT | JSON_ENCODE_ANY |
                                                    JSON_PRESERVE_ORDER);
    r->rec.s[r->rec.len] = '\0';
    json_decref(value);
    return RECORD_READ_OK;
}

static enum record_read record_next_csv(struct record_reader *r, char err[ERROR_MAX])
{
    json_t *row = NULL;
    int rc = csv_reader_next(r->csv, &row, err);
    if (rc <= 0)
        return rc < 0 ? RECORD_READ_ERROR : RECORD_READ_END;
    r->where = (uint64_t)csv_reader_line(r->csv);
    r->rec.len = 0;
    size_t n = json_dumpb(row, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (n > r->max) {
        json_decref(row);
        return record_too_large(r, err);
    }
    if (!strbuf_reserve(&r->rec, n)) {
        json_decref(row);
        return error_set(err, "out of memory");
    }
    r->rec.len = json_dumpb(row, r->rec.s, n, JSON_COMPACT | JSON_PRESERVE_ORDER);
    r->rec.s[r->rec.len] = '\0';
    json_decref(row);
    return RECORD_READ_OK;
}

/* Drop a byte order mark, skip blanks and look at the first byte that is
 * not: *first (left unread; EOF when none). -1 with err on a read error. */
static int record_open_peek(struct record_reader *r, int *first, char err[ERROR_MAX])
{
    int c = getc_unlocked(r->in);
    if (c == 0xEF) {
        int c2 = getc_unlocked(r->in), c3 = getc_unlocked(r->in);
        if (c2 != 0xBB || c3 != 0xBF)
            return error_set(err, "line 1: starts with bytes that are not UTF-8 text");
        c = getc_unlocked(r->in);
    }
    while (c != EOF && record_is_blank(c)) {
        if (c == '\n')
            r->line++;
        c = getc_unlocked(r->in);
    }
    if (ferror(r->in))
        return record_read_error(r, err);
    if (c != EOF)
        ungetc(c, r->in);
    *first = c;
    return 0;
}

struct record_reader *record_reader_open(FILE *in, enum record_format format, const char *name,
                                         size_t max_bytes, const char *limit_name,
                                         char err[ERROR_MAX])
{
    struct record_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    r->in = in;
    r->max = max_bytes;
    snprintf(r->limit, sizeof r->limit, "%s", limit_name);
    int c = EOF;
    if (record_open_peek(r, &c, err) < 0)
        goto fail;
    if (format == RECORD_FORMAT_AUTO)
        format = record_format_from_extension(name);
    if (format == RECORD_FORMAT_AUTO)
        format = record_format_of(c);
    r->format = format;
    if (format == RECORD_FORMAT_CSV && c != EOF) {
        r->csv = csv_reader_open_at(in, (long)r->line + 1, err);
        if (r->csv == NULL)
            goto fail;
    }
    return r;
fail:
    record_reader_close(&r);
    return NULL;
}

enum record_read record_reader_next(struct record_reader *r, const char **rec, size_t *len,
                                    char err[ERROR_MAX])
{
    enum record_read rc;
    switch (r->format) {
    case RECORD_FORMAT_CSV:
        rc = r->csv != NULL ? record_next_csv(r, err) : RECORD_READ_END;
        break;
    case RECORD_FORMAT_JSON: rc = record_next_json(r, err); break;
    default: rc = record_next_ndjson(r, err); break;
    }
    if (r->rec.failed)
        rc = error_set(err, "out of memory");
    *rec = rc == RECORD_READ_OK ? r->rec.s : NULL;
    *len = rc == RECORD_READ_OK ? r->rec.len : 0;
    return rc;
}

enum record_format record_reader_format(const struct record_reader *r) { return r->format; }

uint64_t record_reader_line(const struct record_reader *r) { return r->where; }

void record_reader_close(struct record_reader **reader)
{
    if (reader == NULL || *reader == NULL)
        return;
    struct record_reader *r = *reader;
    csv_reader_close(&r->csv);
    strbuf_free(&r->rec);
    free(r);
    *reader = NULL;
}
